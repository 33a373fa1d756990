//! What `vane metrics` exposes, read from the database in one transaction: counts since the
//! database was made, the current state, and the durations its histograms observe.
//!
//! Counters are counted from what only grows (the append-only event log, attempts that have
//! ended), so that a scrape never sees one go down; what may go down (tasks by status, what is
//! open) is a gauge.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::report::{self, Window};
use super::{Result, Store};
use crate::model::{now_millis, TaskStatus};

/// Everything `vane metrics` shows, as numbers.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MetricsSnapshot {
    /// Tasks other than epics, by status (every status, zeros included).
    pub tasks: BTreeMap<TaskStatus, u64>,
    /// Attempts that have ended, by outcome and whether they were charged to their task; an
    /// attempt whose change waits for the merge queue (`changed`) has not ended.
    pub attempts: Vec<AttemptCount>,
    /// Attempts whose agent runs (or whose run died, until recovery).
    pub attempts_running: u64,
    /// Attempts whose change waits for its verdict (gates, landing, a person's approval).
    pub attempts_awaiting_verdict: u64,
    pub landings: u64,
    /// The time of the latest landing, in milliseconds since the epoch.
    pub last_landing_at: Option<i64>,
    /// What recovery after a crash did.
    pub abandoned_attempts: u64,
    pub landings_completed_by_recovery: u64,
    pub rollbacks_completed_by_recovery: u64,
    pub rollbacks: u64,
    /// Batches that ended, by how: finished, interrupted, crashed.
    pub batches: BTreeMap<String, u64>,
    /// The latest batch, whether it has ended or not.
    pub latest_batch: Option<LatestBatch>,
    /// A person's commands (see `report::group_interventions`).
    pub interventions: u64,
    pub coordinator_actions: u64,
    /// Spending by kind of the cost ledger: attempt, plan, extension.
    pub cost_usd: BTreeMap<String, f64>,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    /// Tasks added by `vane plan` and by roadmap extension.
    pub planned_tasks: u64,
    pub extended_tasks: u64,
    /// How long each agent ran, by profile, in seconds (attempts that have finished, but not
    /// vane's own failures nor attempts a crash cut short).
    pub agent_durations: Vec<(String, f64)>,
    /// How long each gate run took, by gate, in seconds (verdicts taken from the cache did not
    /// run and are not here).
    pub gate_durations: Vec<(String, f64)>,
    /// Gate verdicts by gate, whether it passed, and whether it came from the cache.
    pub gate_verdicts: Vec<GateVerdictCount>,
    /// How long each candidate waited from its agent's end to its verdict, in seconds: landed,
    /// or sent back (a failed gate, a conflict, a person's rejection).
    pub queue_waits: Vec<(Verdict, f64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptCount {
    pub outcome: String,
    pub charged: bool,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateVerdictCount {
    pub gate: String,
    pub passed: bool,
    pub cached: bool,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Landed,
    SentBack,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Landed => "landed",
            Verdict::SentBack => "sent_back",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestBatch {
    pub id: i64,
    /// Running, or dead and not recovered yet.
    pub open: bool,
    pub cost_usd: f64,
    pub budget_usd: Option<f64>,
}

impl Store {
    /// Reads what `vane metrics` exposes.
    pub fn metrics_snapshot(&self) -> Result<MetricsSnapshot> {
        let tx = self.conn.unchecked_transaction()?;
        let window = Window::all(now_millis());
        let mut snapshot = MetricsSnapshot {
            tasks: tasks_by_status(&tx)?,
            ..MetricsSnapshot::default()
        };

        for tally in report::attempt_tally(&tx, window)? {
            match tally.outcome.as_deref() {
                None => snapshot.attempts_running += tally.count,
                Some("changed") => snapshot.attempts_awaiting_verdict += tally.count,
                Some(outcome) => {
                    add_attempts(&mut snapshot.attempts, outcome, tally.charged, tally.count)
                }
            }
        }

        let landings = report::landings(&tx, window)?;
        snapshot.landings = landings.len() as u64;
        snapshot.last_landing_at = landings.iter().map(|l| l.at).max();

        let recoveries = report::recoveries(&tx, window)?;
        snapshot.abandoned_attempts = recoveries.abandoned_attempts;
        snapshot.landings_completed_by_recovery = recoveries.landings_completed;
        snapshot.rollbacks_completed_by_recovery = recoveries.rollbacks_completed;
        snapshot.rollbacks = recoveries.rollbacks;

        let batches = report::batches(&tx, window)?;
        for ended in ["finished", "interrupted", "crashed"] {
            let count = batches
                .iter()
                .filter(|b| b.state(&batches) == ended)
                .count() as u64;
            snapshot.batches.insert(ended.to_string(), count);
        }
        snapshot.latest_batch = batches.last().map(|b| LatestBatch {
            id: b.id,
            open: b.open(&batches),
            cost_usd: b.cost_usd,
            budget_usd: b.budget_usd,
        });

        let (interventions, coordinator) =
            report::group_interventions(&report::hand_events(&tx, window)?);
        snapshot.interventions = interventions.len() as u64;
        snapshot.coordinator_actions = coordinator;

        snapshot.cost_usd = report::cost_tally(&tx, window)?.into_iter().collect();
        (
            snapshot.input_tokens,
            snapshot.cached_input_tokens,
            snapshot.output_tokens,
        ) = tx.query_row(
            "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0),
                    coalesce(sum(output_tokens), 0)
             FROM cost_ledger",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        (snapshot.planned_tasks, snapshot.extended_tasks) = tx.query_row(
            "SELECT coalesce(sum(e.event_type = 'planned'), 0),
                    coalesce(sum(e.event_type = 'roadmap_extended'), 0)
             FROM events e JOIN json_each(e.data, '$.tasks')
             WHERE e.event_type IN ('planned', 'roadmap_extended')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;

        snapshot.agent_durations = pairs(
            &tx,
            "SELECT coalesce(profile, ''), (finished_at - started_at) / 1000.0 FROM attempts
             WHERE finished_at IS NOT NULL AND outcome IS NOT NULL
               AND outcome NOT IN ('abandoned', 'vane_error')
             ORDER BY id",
        )?;
        snapshot.gate_durations = pairs(
            &tx,
            "SELECT coalesce(gate, dimension), coalesce(duration_ms, 0) / 1000.0
             FROM quality_metrics WHERE cached_from IS NULL ORDER BY id",
        )?;
        snapshot.gate_verdicts = gate_verdicts(&tx)?;
        snapshot.queue_waits = queue_waits(&tx)?;
        Ok(snapshot)
    }
}

fn add_attempts(counts: &mut Vec<AttemptCount>, outcome: &str, charged: bool, count: u64) {
    match counts
        .iter_mut()
        .find(|c| c.outcome == outcome && c.charged == charged)
    {
        Some(existing) => existing.count += count,
        None => counts.push(AttemptCount {
            outcome: outcome.to_string(),
            charged,
            count,
        }),
    }
    counts.sort_by(|a, b| (&a.outcome, a.charged).cmp(&(&b.outcome, b.charged)));
}

fn tasks_by_status(conn: &Connection) -> Result<BTreeMap<TaskStatus, u64>> {
    let mut counts: BTreeMap<TaskStatus, u64> = TaskStatus::ALL.iter().map(|s| (*s, 0)).collect();
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*) FROM tasks WHERE type != 'epic' GROUP BY status",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let status: TaskStatus = row.get::<_, String>(0)?.parse()?;
        counts.insert(status, row.get(1)?);
    }
    Ok(counts)
}

/// Rows of (label, seconds).
fn pairs(conn: &Connection, sql: &str) -> Result<Vec<(String, f64)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn gate_verdicts(conn: &Connection) -> Result<Vec<GateVerdictCount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(gate, dimension), coalesce(passed, 0), cached_from IS NOT NULL, count(*)
         FROM quality_metrics GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(GateVerdictCount {
            gate: r.get(0)?,
            passed: r.get(1)?,
            cached: r.get(2)?,
            count: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// From each move into needs_review (the agent finished and left a change) to the move out of it
/// that follows for the same task, when that move is a verdict: done (landed) or
/// needs_improvement (sent back). A recovery's move back to pending, a person's block and a
/// rollback are no verdict.
fn queue_waits(conn: &Connection) -> Result<Vec<(Verdict, f64)>> {
    let mut stmt = conn.prepare_cached(
        // The task's status change before each move out of needs_review, found through the
        // (task_id, id) index: cheaper than a window over every status change.
        "SELECT json_extract(e.data, '$.to'), (e.timestamp - p.timestamp) / 1000.0
         FROM events e
           JOIN events p ON p.id = (SELECT max(q.id) FROM events q
                                    WHERE q.task_id = e.task_id AND q.id < e.id
                                      AND q.event_type = 'status_changed')
         WHERE e.event_type = 'status_changed' AND e.task_id IS NOT NULL
           AND json_extract(e.data, '$.from') = 'needs_review'
           AND json_extract(e.data, '$.to') IN ('done', 'needs_improvement')
           AND coalesce(json_extract(e.data, '$.by'), '') != 'rollback'
           AND json_extract(p.data, '$.to') = 'needs_review'
         ORDER BY e.id",
    )?;
    let rows = stmt.query_map(params![], |r| {
        let to: String = r.get(0)?;
        let verdict = if to == "done" {
            Verdict::Landed
        } else {
            Verdict::SentBack
        };
        Ok((verdict, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
