//! `vane report`: the seed's success metrics (velocity, quality, autonomy, efficiency,
//! intelligence, reliability) over a window of time, computed from what the database recorded.
//!
//! Everything here is read in one transaction, so that the sections agree with each other. The
//! queries that `vane metrics` shares (landings, batches, hand events) live here too, with the
//! pure rules behind them (which events are a person's, how they group into interventions, the
//! longest stretch of work without one), so that both commands count the same way.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{Result, Store};

/// What the seed asks for each metric, as `vane report` measures it.
pub mod targets {
    /// Velocity: tasks landed per day.
    pub const LANDED_PER_DAY: f64 = 10.0;
    /// Autonomy: hours of batch work without a person's intervention.
    pub const UNATTENDED_HOURS: f64 = 24.0;
    /// Efficiency: agent (worker) seconds per second of batch (coordinator) time, the seed's 1:5.
    pub const WORKERS_PER_COORDINATOR: f64 = 5.0;
}

/// The outcomes of attempts whose work did not land, by the cause `vane metrics` names: the
/// rejections of a candidate at the merge queue or by a person.
pub fn rejection_cause(outcome: &str) -> Option<&'static str> {
    match outcome {
        "gate_failed" => Some("gate"),
        "conflict" => Some("conflict"),
        "rejected" => Some("person"),
        _ => None,
    }
}

/// The window a report covers, in milliseconds since the epoch; both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub from: i64,
    pub until: i64,
}

impl Window {
    /// Everything ever recorded, up to `until`.
    pub fn all(until: i64) -> Window {
        Window {
            from: i64::MIN,
            until,
        }
    }
}

/// The success report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuccessReport {
    /// The start asked for (`--since`), in milliseconds since the epoch.
    pub since: i64,
    /// Where the figures start: `since`, or the first event when the log starts later.
    pub from: i64,
    /// When the report was made.
    pub until: i64,
    /// Days from `from` to `until`.
    pub days: f64,
    pub velocity: Velocity,
    pub quality: Quality,
    pub autonomy: Autonomy,
    pub efficiency: Efficiency,
    pub intelligence: Intelligence,
    pub reliability: Reliability,
    /// Every batch that ran in the window, oldest first.
    pub batches: Vec<BatchLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Velocity {
    /// Tasks landed on base in the window (by the merge queue, `vane land` or `vane approve`;
    /// a rollback that restores a landing is not one).
    pub landed: u64,
    /// `landed` per day of the window (a window shorter than a day counts as one day).
    pub per_day: f64,
    /// Of `landed`, those the merge queue of a batch landed.
    pub landed_in_batches: u64,
    /// The wall time batches ran in the window, in hours.
    pub batch_hours: f64,
    /// `landed_in_batches` per batch hour.
    pub per_batch_hour: Option<f64>,
    pub target_per_day: f64,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionQuality {
    pub dimension: String,
    /// Gate results of this dimension in the window.
    pub scores: usize,
    pub mean: f64,
    /// The moving average of its latest scores (as `vane quality` shows it).
    pub latest_average: f64,
    pub min: f64,
    /// Whether the mean reaches the threshold.
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    pub threshold: f64,
    pub dimensions: Vec<DimensionQuality>,
    /// Landed tasks with an attempt scored in the window.
    pub landed_scored: usize,
    /// Of those, the ones whose last scored attempt reached the threshold.
    pub landed_meeting_threshold: usize,
    pub share_meeting_threshold: Option<f64>,
    /// Every dimension's mean reaches the threshold (and there is at least one).
    pub met: bool,
}

/// One person's command, as the event log shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intervention {
    /// Its first event, in milliseconds since the epoch.
    pub at: i64,
    /// Who: the person's actor (`person:alice`), or the command vane logged as its own
    /// (`vane land`, `vane rollback`).
    pub actor: String,
    /// The task it was about, when it was about one.
    pub task: Option<String>,
    /// The kinds of its events, in order, each once.
    pub events: Vec<String>,
}

/// A stretch of batch work between two interventions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stretch {
    /// The first batch time in it, in milliseconds since the epoch.
    pub from: i64,
    /// The last batch time in it.
    pub to: i64,
    /// Batch time in it (the time between batches is not counted).
    pub seconds: f64,
}

/// A batch and its wall time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchTime {
    pub batch: i64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Autonomy {
    /// A person's commands in the window: hand events, grouped per command.
    pub interventions: u64,
    /// Commands of a coordinating agent (`vane mcp`), grouped the same way; not interventions.
    pub coordinator_actions: u64,
    /// Interventions per actor.
    pub by_actor: BTreeMap<String, u64>,
    /// The longest stretch of batch work without an intervention.
    pub longest_unattended: Option<Stretch>,
    /// Batches during which no person intervened.
    pub unattended_batches: u64,
    /// The longest of those.
    pub longest_unattended_batch: Option<BatchTime>,
    /// The latest interventions, newest last (at most 20).
    pub recent: Vec<Intervention>,
    pub target_hours: f64,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Efficiency {
    /// Time agents ran (attempts started in the window; vane's own failures and attempts a crash
    /// cut short are not agent time).
    pub agent_seconds: f64,
    /// Wall time of the batches in the window: the coordinator's time.
    pub batch_seconds: f64,
    /// `agent_seconds / batch_seconds`: how many workers ran for each coordinator, on average.
    pub workers_per_coordinator: Option<f64>,
    pub target_workers_per_coordinator: f64,
    /// What attempts (the workers) cost.
    pub worker_cost_usd: f64,
    /// What planner runs (`vane plan`, roadmap extension: the coordinator's thinking) cost.
    pub coordinator_cost_usd: f64,
    pub cost_usd: f64,
    /// `cost_usd / velocity.landed`.
    pub cost_per_landed_usd: Option<f64>,
    /// Attempts started in the window that have ended (or wait for the merge queue).
    pub attempts: u64,
    pub landed_attempts: u64,
    /// Attempts that ended without landing.
    pub wasted_attempts: u64,
    /// `wasted_attempts` by outcome (gate_failed, conflict, rejected, failed, timed_out,
    /// unchanged, and vane's own: abandoned, interrupted, vane_error).
    pub wasted_by_cause: BTreeMap<String, u64>,
    /// Of `wasted_attempts`, those not charged to their task (vane's or its environment's fault).
    pub wasted_uncharged: u64,
    pub wasted_cost_usd: f64,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intelligence {
    /// `vane plan` runs (the `planned` events) in the window.
    pub plans: u64,
    /// Tasks they added, and how many of those are done.
    pub planned_tasks: u64,
    pub planned_landed: u64,
    /// Roadmap extensions (`roadmap_extended` events) in the window.
    pub extensions: u64,
    pub extended_tasks: u64,
    pub extended_landed: u64,
    /// Extensions that failed (`roadmap_extension_failed`).
    pub extension_failures: u64,
    /// The roadmap was extended and some of what it added landed.
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reliability {
    /// Batches that ran in the window.
    pub batches: u64,
    /// Ended with their summary, `finished` or `interrupted` (stopped by a signal).
    pub finished: u64,
    pub interrupted: u64,
    /// Ended without their summary: the process died (a crash, a kill).
    pub crashed: u64,
    /// Crashed batches that a later run recovered.
    pub crashes_survived: u64,
    /// The latest batch has not ended: it runs, or it died and nothing has recovered it yet.
    pub open: bool,
    /// Attempts a dead run left, ended by recovery (never charged).
    pub recovered_attempts: u64,
    /// Landings whose base ref had moved before a crash, completed by recovery.
    pub landings_completed_by_recovery: u64,
    /// Rollbacks completed by recovery.
    pub rollbacks_completed_by_recovery: u64,
    /// Rollbacks a person ran (`vane rollback`).
    pub rollbacks: u64,
    /// Checkpoints recorded in the window (each one a point to roll back to).
    pub checkpoints: u64,
    /// What SQLite's `quick_check` says of the database: `ok`, or the first problem.
    pub database: String,
    /// The database is sound and every crash was recovered.
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchLine {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Wall time, to now for one still open.
    pub seconds: f64,
    /// finished, interrupted, crashed, or open.
    pub outcome: String,
    pub landed: u64,
    pub attempts: u64,
    pub agent_seconds: f64,
    pub cost_usd: f64,
    pub budget_usd: Option<f64>,
    pub interventions: u64,
}

impl Store {
    /// The success report from `since` to `until` (milliseconds since the epoch), quality
    /// measured against `threshold`.
    pub fn success_report(&self, since: i64, until: i64, threshold: f64) -> Result<SuccessReport> {
        let tx = self.conn.unchecked_transaction()?;
        let first_event: Option<i64> =
            tx.query_row("SELECT min(timestamp) FROM events", [], |r| r.get(0))?;
        let from = since.max(first_event.unwrap_or(until)).min(until);
        let window = Window { from, until };
        let days = (until - from) as f64 / 86_400_000.0;
        // A window shorter than a day counts as one: an hour's landings are not a day's rate.
        let per_day = |n: f64| n / days.max(1.0);

        let landings = landings(&tx, window)?;
        let batches = batches(&tx, window)?;
        let hand = hand_events(&tx, window)?;
        let (interventions, coordinator_actions) = group_interventions(&hand);
        let attempts = attempt_tally(&tx, window)?;
        let costs = cost_tally(&tx, window)?;

        let landed = landings.len() as u64;
        let clip = |b: &BatchRow| (b.started_at.max(from), b.end(until).min(until));
        let batch_seconds: f64 = batches
            .iter()
            .map(|b| {
                let (start, end) = clip(b);
                (end - start).max(0) as f64 / 1000.0
            })
            .sum();
        let landed_in_batches = landings.iter().filter(|l| l.batch.is_some()).count() as u64;
        let per_batch_hour =
            (batch_seconds > 0.0).then(|| landed_in_batches as f64 / (batch_seconds / 3600.0));
        let velocity = Velocity {
            landed,
            per_day: per_day(landed as f64),
            landed_in_batches,
            batch_hours: batch_seconds / 3600.0,
            per_batch_hour,
            target_per_day: targets::LANDED_PER_DAY,
            met: per_day(landed as f64) >= targets::LANDED_PER_DAY,
        };

        let quality_report = self.quality_report(None, Some(from), threshold)?;
        let dimensions: Vec<DimensionQuality> = quality_report
            .dimensions
            .iter()
            .map(|d| DimensionQuality {
                dimension: d.dimension.clone(),
                scores: d.count,
                mean: d.mean,
                latest_average: d.latest_average,
                min: d.min,
                met: round9(d.mean) >= round9(threshold),
            })
            .collect();
        let quality = Quality {
            threshold,
            met: !dimensions.is_empty() && dimensions.iter().all(|d| d.met),
            dimensions,
            landed_scored: quality_report.landed,
            landed_meeting_threshold: quality_report.landed_meeting_threshold,
            share_meeting_threshold: quality_report.share_meeting_threshold,
        };

        let intervention_times: Vec<i64> = interventions.iter().map(|i| i.at).collect();
        let intervals: Vec<(i64, i64)> = batches.iter().map(clip).collect();
        let longest_unattended = longest_unattended(&intervals, &intervention_times, from, until);
        let mut by_actor = BTreeMap::new();
        for i in &interventions {
            *by_actor.entry(i.actor.clone()).or_insert(0) += 1;
        }
        let during = |b: &BatchRow| {
            let end = b.end(until);
            intervention_times
                .iter()
                .filter(|&&t| t >= b.started_at && t <= end)
                .count() as u64
        };
        let unattended: Vec<&BatchRow> = batches.iter().filter(|b| during(b) == 0).collect();
        let longest_unattended_batch = unattended
            .iter()
            .map(|b| BatchTime {
                batch: b.id,
                seconds: b.seconds(until),
            })
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let autonomy = Autonomy {
            interventions: interventions.len() as u64,
            coordinator_actions,
            by_actor,
            met: longest_unattended
                .as_ref()
                .is_some_and(|s| s.seconds >= targets::UNATTENDED_HOURS * 3600.0),
            longest_unattended,
            unattended_batches: unattended.len() as u64,
            longest_unattended_batch,
            recent: interventions
                .iter()
                .skip(interventions.len().saturating_sub(20))
                .cloned()
                .collect(),
            target_hours: targets::UNATTENDED_HOURS,
        };

        let agent_seconds: f64 = attempts.iter().map(|a| a.agent_seconds).sum();
        let mut wasted_by_cause = BTreeMap::new();
        let (mut wasted, mut wasted_uncharged, mut wasted_cost) = (0, 0, 0.0);
        let (mut ended, mut landed_attempts) = (0, 0);
        for a in &attempts {
            let Some(outcome) = a.outcome.as_deref() else {
                continue;
            };
            ended += a.count;
            match outcome {
                "landed" => landed_attempts += a.count,
                "changed" => {}
                other => {
                    *wasted_by_cause.entry(other.to_string()).or_insert(0) += a.count;
                    wasted += a.count;
                    wasted_cost += a.cost_usd;
                    if !a.charged {
                        wasted_uncharged += a.count;
                    }
                }
            }
        }
        let worker_cost: f64 = costs.iter().filter(|c| c.0 == "attempt").map(|c| c.1).sum();
        let total_cost: f64 = costs.iter().map(|c| c.1).sum();
        let workers_per_coordinator = (batch_seconds > 0.0).then(|| agent_seconds / batch_seconds);
        let efficiency = Efficiency {
            agent_seconds,
            batch_seconds,
            workers_per_coordinator,
            target_workers_per_coordinator: targets::WORKERS_PER_COORDINATOR,
            worker_cost_usd: worker_cost,
            coordinator_cost_usd: total_cost - worker_cost,
            cost_usd: total_cost,
            cost_per_landed_usd: (landed > 0).then(|| total_cost / landed as f64),
            attempts: ended,
            landed_attempts,
            wasted_attempts: wasted,
            wasted_by_cause,
            wasted_uncharged,
            wasted_cost_usd: wasted_cost,
            met: workers_per_coordinator.is_some_and(|w| w >= targets::WORKERS_PER_COORDINATOR),
        };

        let intelligence = intelligence(&tx, window)?;

        let crashed = batches.iter().filter(|b| b.crashed(&batches)).count() as u64;
        let crashes_survived = batches
            .iter()
            .filter(|b| b.crashed(&batches) && b.outcome.is_some())
            .count() as u64;
        let recoveries = recoveries(&tx, window)?;
        let database: String = tx
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .unwrap_or_else(|e| e.to_string());
        let checkpoints: u64 = tx.query_row(
            "SELECT count(*) FROM checkpoints WHERE timestamp BETWEEN ?1 AND ?2",
            params![from, until],
            |r| r.get(0),
        )?;
        let count_outcome = |o: &str| {
            batches
                .iter()
                .filter(|b| b.summarised && b.outcome.as_deref() == Some(o))
                .count() as u64
        };
        let reliability = Reliability {
            batches: batches.len() as u64,
            finished: count_outcome("finished"),
            interrupted: count_outcome("interrupted"),
            crashed,
            crashes_survived,
            open: batches.iter().any(|b| b.open(&batches)),
            recovered_attempts: recoveries.abandoned_attempts,
            landings_completed_by_recovery: recoveries.landings_completed,
            rollbacks_completed_by_recovery: recoveries.rollbacks_completed,
            rollbacks: recoveries.rollbacks,
            checkpoints,
            met: database == "ok" && crashed == crashes_survived,
            database,
        };

        let batch_lines = batches
            .iter()
            .map(|b| {
                let of_batch = || attempts.iter().filter(move |a| a.batch == Some(b.id));
                BatchLine {
                    id: b.id,
                    started_at: b.started_at,
                    finished_at: b.finished_at,
                    seconds: b.seconds(until),
                    outcome: b.state(&batches).to_string(),
                    landed: landings.iter().filter(|l| l.batch == Some(b.id)).count() as u64,
                    attempts: of_batch().map(|a| a.count).sum(),
                    agent_seconds: of_batch().map(|a| a.agent_seconds).sum(),
                    cost_usd: b.cost_usd,
                    budget_usd: b.budget_usd,
                    interventions: during(b),
                }
            })
            .collect();

        Ok(SuccessReport {
            since,
            from,
            until,
            days,
            velocity,
            quality,
            autonomy,
            efficiency,
            intelligence,
            reliability,
            batches: batch_lines,
        })
    }
}

/// Rounds to 9 decimals, as `vane quality` compares scores with the threshold.
fn round9(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

/// A landing of a task on base, from its `status_changed` event.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Landing {
    pub at: i64,
    /// The batch whose merge queue landed it; None for `vane land`, `vane approve`, recovery.
    pub batch: Option<i64>,
}

/// Landings in the window: moves to done other than a rollback's (the state machine has no
/// other way to done), of tasks that are not epics.
pub(super) fn landings(conn: &Connection, w: Window) -> Result<Vec<Landing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.timestamp, e.correlation_id FROM events e JOIN tasks t ON t.id = e.task_id
         WHERE e.event_type = 'status_changed' AND e.timestamp BETWEEN ?1 AND ?2
           AND json_extract(e.data, '$.to') = 'done'
           AND coalesce(json_extract(e.data, '$.by'), '') != 'rollback'
           AND t.type != 'epic'
         ORDER BY e.id",
    )?;
    let rows = stmt.query_map(params![w.from, w.until], |r| {
        let correlation: Option<String> = r.get(1)?;
        Ok(Landing {
            at: r.get(0)?,
            batch: correlation.as_deref().and_then(batch_of_correlation),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `N` of `batch-N` (exactly: `batch-N/<task>#<n>` is an attempt's).
fn batch_of_correlation(correlation: &str) -> Option<i64> {
    correlation.strip_prefix("batch-")?.parse().ok()
}

/// One `vane work` run, with what its end recorded.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BatchRow {
    pub id: i64,
    pub started_at: i64,
    /// When it ended: as its end recorded it, or for one that died, its last event (recovery
    /// records the time it noticed); None while open.
    pub finished_at: Option<i64>,
    /// The row's outcome: set by the batch's end, or `interrupted` by the recovery of a later run.
    pub outcome: Option<String>,
    /// Whether its `batch_finished` event was written: the batch ended by itself.
    pub summarised: bool,
    pub budget_usd: Option<f64>,
    /// What the cost ledger holds for it.
    pub cost_usd: f64,
}

impl BatchRow {
    pub fn end(&self, now: i64) -> i64 {
        self.finished_at.unwrap_or(now).max(self.started_at)
    }

    pub fn seconds(&self, now: i64) -> f64 {
        (self.end(now) - self.started_at) as f64 / 1000.0
    }

    /// Not ended, and the latest: running, or dead and not recovered yet.
    pub fn open(&self, all: &[BatchRow]) -> bool {
        self.outcome.is_none() && all.iter().all(|b| b.id <= self.id)
    }

    /// Ended without its summary: its process died.
    pub fn crashed(&self, all: &[BatchRow]) -> bool {
        !self.summarised && !self.open(all)
    }

    pub fn state(&self, all: &[BatchRow]) -> &str {
        if self.open(all) {
            "open"
        } else if self.crashed(all) {
            "crashed"
        } else {
            self.outcome.as_deref().unwrap_or("crashed")
        }
    }
}

/// The batches that ran in the window, oldest first. The latest batch in the whole database
/// decides which one is open, so it is always read.
pub(super) fn batches(conn: &Connection, w: Window) -> Result<Vec<BatchRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, started_at,
                CASE WHEN summarised THEN finished_at
                     WHEN outcome IS NULL THEN NULL
                     ELSE coalesce(last_event, started_at) END,
                outcome, budget_usd, summarised, cost_usd
         FROM (SELECT b.*,
                 EXISTS (SELECT 1 FROM events e WHERE e.event_type = 'batch_finished'
                         AND e.correlation_id = 'batch-' || b.id) AS summarised,
                 -- `batch-N` and its attempts' `batch-N/<task>#<n>` ('/' sorts just before '0').
                 (SELECT max(e.timestamp) FROM events e
                  WHERE e.correlation_id = 'batch-' || b.id
                     OR (e.correlation_id > 'batch-' || b.id || '/'
                         AND e.correlation_id < 'batch-' || b.id || '0')) AS last_event,
                 (SELECT coalesce(sum(c.cost_usd), 0) FROM cost_ledger c
                  WHERE c.batch_id = b.id) AS cost_usd
               FROM batches b
               WHERE b.started_at <= ?2 AND coalesce(b.finished_at, ?2) >= ?1)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![w.from, w.until], |r| {
        Ok(BatchRow {
            id: r.get(0)?,
            started_at: r.get(1)?,
            finished_at: r.get(2)?,
            outcome: r.get(3)?,
            budget_usd: r.get(4)?,
            summarised: r.get(5)?,
            cost_usd: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Attempts started in the window, counted by batch, outcome and whether they were charged.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AttemptTally {
    pub batch: Option<i64>,
    /// None while the agent runs (or after a crash, until recovery).
    pub outcome: Option<String>,
    pub charged: bool,
    pub count: u64,
    /// Time their agents ran, in seconds (none for vane's own failures and abandoned attempts,
    /// whose end is when vane noticed, not when an agent stopped).
    pub agent_seconds: f64,
    pub cost_usd: f64,
}

pub(super) fn attempt_tally(conn: &Connection, w: Window) -> Result<Vec<AttemptTally>> {
    let mut stmt = conn.prepare_cached(
        "SELECT batch_id, outcome, charged, count(*),
                coalesce(sum(CASE WHEN outcome IN ('abandoned', 'vane_error') THEN 0
                                  ELSE finished_at - started_at END), 0),
                coalesce(sum(cost_usd), 0)
         FROM attempts WHERE started_at BETWEEN ?1 AND ?2
         GROUP BY batch_id, outcome, charged",
    )?;
    let rows = stmt.query_map(params![w.from, w.until], |r| {
        Ok(AttemptTally {
            batch: r.get(0)?,
            outcome: r.get(1)?,
            charged: r.get(2)?,
            count: r.get(3)?,
            agent_seconds: r.get::<_, i64>(4)? as f64 / 1000.0,
            cost_usd: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Spending in the window from the cost ledger, by kind (attempt, plan, extension).
pub(super) fn cost_tally(conn: &Connection, w: Window) -> Result<Vec<(String, f64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, coalesce(sum(cost_usd), 0) FROM cost_ledger
         WHERE at BETWEEN ?1 AND ?2 GROUP BY kind ORDER BY kind",
    )?;
    let rows = stmt.query_map(params![w.from, w.until], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Who wrote an event, as autonomy counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hand {
    /// A person: `person:<user>`, or any actor that is not vane's own.
    Person,
    /// A person's command that vane logs as itself (`vane land`, `vane rollback`).
    Command,
    /// An agent coordinating through `vane mcp`.
    Coordinator,
}

/// Which events are hands' and whose, in SQL: vane (`vane`), its workers (`w1`, `w2/<profile>`),
/// critics (`critic/<gate>`), hooks (`git`, `agent`) are machines; `mcp` is a coordinating agent;
/// every other actor is a person. Events vane writes for a person's `vane land` (the correlation
/// `vane land`) and `vane rollback` (`rollback-…`) are that person's command.
const HAND_OF_EVENT: &str = "CASE
      WHEN e.agent = 'mcp' THEN 'coordinator'
      WHEN e.agent IS NULL OR e.agent IN ('vane', 'git', 'agent') OR e.agent GLOB 'w[0-9]*'
           OR instr(e.agent, '/') > 0 THEN
        CASE WHEN e.correlation_id = 'vane land' OR e.correlation_id GLOB 'rollback-*'
             THEN 'command' ELSE NULL END
      ELSE 'person'
    END";

/// An event of a person, a person's command or a coordinator.
#[derive(Debug, Clone, PartialEq)]
pub struct HandEvent {
    pub id: i64,
    /// The id of the event just before it in the log, whoever wrote it.
    pub previous: Option<i64>,
    pub at: i64,
    pub kind: String,
    pub task: Option<String>,
    pub actor: String,
    pub correlation: Option<String>,
    pub hand: Hand,
}

pub(super) fn hand_events(conn: &Connection, w: Window) -> Result<Vec<HandEvent>> {
    let sql = format!(
        "SELECT id, (SELECT max(p.id) FROM events p WHERE p.id < h.id), timestamp, event_type,
                task_id, agent, correlation_id, hand
         FROM (SELECT e.*, {HAND_OF_EVENT} AS hand FROM events e
               WHERE e.timestamp BETWEEN ?1 AND ?2) h
         WHERE hand IS NOT NULL ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![w.from, w.until], |r| {
        let hand: String = r.get(7)?;
        Ok(HandEvent {
            id: r.get(0)?,
            previous: r.get(1)?,
            at: r.get(2)?,
            kind: r.get(3)?,
            task: r.get(4)?,
            actor: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            correlation: r.get(6)?,
            hand: match hand.as_str() {
                "person" => Hand::Person,
                "coordinator" => Hand::Coordinator,
                _ => Hand::Command,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Groups hand events into commands: one command writes its events one after the other, with
/// nothing between them in the log (`vane approve` and `vane land` hold the work lock; every
/// other command writes in one transaction), sharing a correlation id made for that command or a
/// task. A group is an intervention when a person wrote one of its events, or
/// when it is a person's command vane logged as its own and no coordinator took part; the other
/// groups are a coordinator's actions. Returns the interventions, oldest first, and the number
/// of coordinator actions.
pub fn group_interventions(events: &[HandEvent]) -> (Vec<Intervention>, u64) {
    let mut groups: Vec<Vec<&HandEvent>> = Vec::new();
    for event in events {
        let joins = groups.last().and_then(|g| g.last()).is_some_and(|last| {
            let adjacent = event.previous == Some(last.id);
            let shared = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
            // A batch's and an attempt's ids span many commands, and every `vane land` has the
            // same one: only the ids made for one command (`import-…`, `plan-…`, `rollback-…`)
            // tie its events together.
            let command_correlation = event
                .correlation
                .as_deref()
                .is_some_and(|c| !c.starts_with("batch-") && c != "vane land");
            adjacent
                && ((command_correlation && shared(&event.correlation, &last.correlation))
                    || shared(&event.task, &last.task))
        });
        match groups.last_mut() {
            Some(group) if joins => group.push(event),
            _ => groups.push(vec![event]),
        }
    }
    let mut interventions = Vec::new();
    let mut coordinator = 0;
    for group in groups {
        let person = group.iter().find(|e| e.hand == Hand::Person);
        let by_coordinator = group.iter().any(|e| e.hand == Hand::Coordinator);
        let actor = match person {
            Some(e) => e.actor.clone(),
            None if by_coordinator => {
                coordinator += 1;
                continue;
            }
            None => command_name(group[0]).to_string(),
        };
        let mut kinds: Vec<String> = Vec::new();
        for e in &group {
            if !kinds.contains(&e.kind) {
                kinds.push(e.kind.clone());
            }
        }
        interventions.push(Intervention {
            at: group[0].at,
            actor,
            task: group.iter().find_map(|e| e.task.clone()),
            events: kinds,
        });
    }
    (interventions, coordinator)
}

/// The command behind a hand event vane wrote as itself.
fn command_name(event: &HandEvent) -> &'static str {
    if event.correlation.as_deref() == Some("vane land") {
        "vane land"
    } else {
        "vane rollback"
    }
}

/// The longest stretch of batch time (the `batches` intervals, in milliseconds) between two
/// consecutive interventions, the window's ends standing for interventions at its edges.
pub fn longest_unattended(
    batches: &[(i64, i64)],
    interventions: &[i64],
    from: i64,
    until: i64,
) -> Option<Stretch> {
    let mut intervals: Vec<(i64, i64)> = batches
        .iter()
        .filter(|(start, end)| end > start)
        .copied()
        .collect();
    intervals.sort_unstable();
    // Batches never overlap (the work lock), but a merged union keeps the sum honest regardless.
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut bounds = vec![from];
    let mut times: Vec<i64> = interventions.to_vec();
    times.sort_unstable();
    bounds.extend(times);
    bounds.push(until);
    let mut best: Option<Stretch> = None;
    for pair in bounds.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let mut total = 0;
        let mut first = None;
        let mut last = None;
        for &(start, end) in &merged {
            let (s, e) = (start.max(a), end.min(b));
            if e > s {
                total += e - s;
                first.get_or_insert(s);
                last = Some(e);
            }
        }
        if let (Some(first), Some(last)) = (first, last) {
            let seconds = total as f64 / 1000.0;
            if best.as_ref().is_none_or(|s| seconds > s.seconds) {
                best = Some(Stretch {
                    from: first,
                    to: last,
                    seconds,
                });
            }
        }
    }
    best
}

fn intelligence(conn: &Connection, w: Window) -> Result<Intelligence> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.event_type, count(DISTINCT e.id), count(t.id), coalesce(sum(t.status = 'done'), 0)
         FROM events e
           LEFT JOIN json_each(e.data, '$.tasks') j
           LEFT JOIN tasks t ON t.id = j.value
         WHERE e.event_type IN ('planned', 'roadmap_extended', 'roadmap_extension_failed')
           AND e.timestamp BETWEEN ?1 AND ?2
         GROUP BY e.event_type",
    )?;
    let mut out = Intelligence {
        plans: 0,
        planned_tasks: 0,
        planned_landed: 0,
        extensions: 0,
        extended_tasks: 0,
        extended_landed: 0,
        extension_failures: 0,
        met: false,
    };
    let mut rows = stmt.query(params![w.from, w.until])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let (events, tasks, landed): (u64, u64, u64) = (r.get(1)?, r.get(2)?, r.get(3)?);
        match kind.as_str() {
            "planned" => {
                (out.plans, out.planned_tasks, out.planned_landed) = (events, tasks, landed)
            }
            "roadmap_extended" => {
                (out.extensions, out.extended_tasks, out.extended_landed) = (events, tasks, landed)
            }
            _ => out.extension_failures = events,
        }
    }
    out.met = out.extended_landed > 0;
    Ok(out)
}

/// What recovery after a crash did, and the rollbacks people ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Recoveries {
    pub abandoned_attempts: u64,
    pub landings_completed: u64,
    pub rollbacks_completed: u64,
    pub rollbacks: u64,
}

pub(super) fn recoveries(conn: &Connection, w: Window) -> Result<Recoveries> {
    Ok(conn.query_row(
        "SELECT
           (SELECT count(*) FROM attempts WHERE outcome = 'abandoned'
              AND coalesce(finished_at, started_at) BETWEEN ?1 AND ?2),
           (SELECT count(*) FROM events WHERE event_type = 'checkpoint_recorded'
              AND correlation_id = 'recovery' AND json_extract(data, '$.kind') = 'merge'
              AND timestamp BETWEEN ?1 AND ?2),
           (SELECT count(*) FROM events WHERE event_type = 'rolled_back'
              AND correlation_id = 'recovery' AND timestamp BETWEEN ?1 AND ?2),
           (SELECT count(*) FROM events WHERE event_type = 'rolled_back'
              AND correlation_id GLOB 'rollback-*' AND timestamp BETWEEN ?1 AND ?2)",
        params![w.from, w.until],
        |r| {
            Ok(Recoveries {
                abandoned_attempts: r.get(0)?,
                landings_completed: r.get(1)?,
                rollbacks_completed: r.get(2)?,
                rollbacks: r.get(3)?,
            })
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, task: Option<&str>, actor: &str, correlation: Option<&str>) -> HandEvent {
        let hand = match actor {
            "mcp" => Hand::Coordinator,
            "vane" => Hand::Command,
            _ => Hand::Person,
        };
        HandEvent {
            id,
            previous: Some(id - 1),
            at: id * 1000,
            kind: format!("kind{id}"),
            task: task.map(str::to_string),
            actor: actor.to_string(),
            correlation: correlation.map(str::to_string),
            hand,
        }
    }

    #[test]
    fn a_command_that_writes_several_events_is_one_intervention() {
        let me = "person:ann";
        let events = vec![
            // `vane import`: one correlation over several tasks.
            event(1, Some("a"), me, Some("import-1")),
            event(2, Some("b"), me, Some("import-1")),
            event(3, None, me, Some("import-1")),
            // `vane approve c`: the approval, the landing vane writes, the approval's end.
            event(4, Some("c"), me, None),
            event(5, Some("c"), "vane", Some("vane land")),
            event(6, Some("c"), "vane", Some("vane land")),
            event(7, Some("c"), me, None),
            // `vane task retry a` then `vane task retry b`, one right after the other.
            event(8, Some("a"), me, None),
            event(9, Some("b"), me, None),
            // `vane reject d`: its move carries the attempt's correlation.
            event(10, Some("d"), me, Some("batch-1/d#1")),
            event(11, Some("d"), me, None),
        ];
        let (interventions, coordinator) = group_interventions(&events);
        let at: Vec<i64> = interventions.iter().map(|i| i.at).collect();
        assert_eq!(at, [1000, 4000, 8000, 9000, 10_000]);
        assert_eq!(coordinator, 0);
        assert!(interventions.iter().all(|i| i.actor == me));
        assert_eq!(interventions[1].task.as_deref(), Some("c"));
        assert_eq!(
            interventions[1].events,
            ["kind4", "kind5", "kind6", "kind7"]
        );
    }

    #[test]
    fn events_apart_in_the_log_are_separate_commands_and_a_coordinators_are_not_interventions() {
        let mut later = event(5, Some("a"), "person:ann", None);
        later.previous = Some(4);
        let events = vec![
            event(1, Some("a"), "person:ann", None),
            // A worker's events (2-4) came between: another command.
            later,
            // A coordinator approving through `vane mcp`: its landing is not a person's.
            event(6, Some("c"), "mcp", None),
            event(7, Some("c"), "vane", Some("vane land")),
            // A bare `vane land` and a `vane rollback`.
            event(8, Some("d"), "vane", Some("vane land")),
            event(9, None, "vane", Some("rollback-x")),
            event(10, Some("e"), "vane", Some("rollback-x")),
        ];
        let (interventions, coordinator) = group_interventions(&events);
        let actors: Vec<&str> = interventions.iter().map(|i| i.actor.as_str()).collect();
        assert_eq!(
            actors,
            ["person:ann", "person:ann", "vane land", "vane rollback"]
        );
        assert_eq!(coordinator, 1);
    }

    #[test]
    fn the_longest_unattended_stretch_counts_batch_time_between_interventions() {
        // Batches 0-10 s, 20-50 s, 60-70 s; a person steps in at 30 s.
        let batches = [(0, 10_000), (20_000, 50_000), (60_000, 70_000)];
        let stretch = longest_unattended(&batches, &[30_000], 0, 100_000).unwrap();
        // After the intervention: 20 s of the second batch and 10 s of the third.
        assert_eq!(
            stretch,
            Stretch {
                from: 30_000,
                to: 70_000,
                seconds: 30.0
            }
        );
        let whole = longest_unattended(&batches, &[], 0, 100_000).unwrap();
        assert_eq!(whole.seconds, 50.0);
        assert_eq!(longest_unattended(&[], &[5], 0, 10), None);
    }

    #[test]
    fn only_the_person_actors_are_hands_in_sql() {
        let conn = Connection::open_in_memory().unwrap();
        let cases = [
            ("person:ann", None, Some("person")),
            ("person", None, Some("person")),
            ("vane demo", None, Some("person")),
            ("vane approve", None, Some("person")),
            ("mcp", None, Some("coordinator")),
            ("vane", None, None),
            ("vane", Some("batch-1"), None),
            ("vane", Some("vane land"), Some("command")),
            ("vane", Some("rollback-ab12"), Some("command")),
            ("vane", Some("recovery"), None),
            ("w1", None, None),
            ("w12", None, None),
            ("w1/shell", None, None),
            ("critic/review", None, None),
            ("git", None, None),
            ("agent", None, None),
        ];
        for (actor, correlation, want) in cases {
            let got: Option<String> = conn
                .query_row(
                    &format!(
                        "SELECT {HAND_OF_EVENT} FROM (SELECT ?1 AS agent, ?2 AS correlation_id) e"
                    ),
                    params![actor, correlation],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(got.as_deref(), want, "{actor} {correlation:?}");
        }
    }

    #[test]
    fn batch_correlations_name_their_batch_and_no_attempt() {
        assert_eq!(batch_of_correlation("batch-12"), Some(12));
        assert_eq!(batch_of_correlation("batch-1/a#1"), None);
        assert_eq!(batch_of_correlation("vane land"), None);
        assert_eq!(rejection_cause("conflict"), Some("conflict"));
        assert_eq!(rejection_cause("failed"), None);
    }
}
