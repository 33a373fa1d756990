//! Looking back: every attempt at a task as `vane log` lists it (with its cost, tokens and gate
//! runs), and the causal chain of a batch, an attempt, a task or any correlation id as a tree for
//! `vane trace`, assembled from the event log, the attempts, the gate runs and the landings.
//!
//! Reading only. The tree is put together here from plain rows, by rules that are pure
//! (`attach`, `close`) and tested as such, so that the command line only renders it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::events::{event_from_row, EVENT_COLUMNS};
use super::tasks::get_task;
use super::work::{attempt_from_row, ATTEMPT_COLUMNS};
use super::{batch_correlation, Attempt, Result, Store, StoreError};
use crate::model::{Event, TaskId};

/// One attempt at a task, with how long its agent ran and the gates that scored it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptHistory {
    #[serde(flatten)]
    pub attempt: Attempt,
    /// How long its agent ran; None while it runs (or after a crash, until recovery).
    pub duration_ms: Option<i64>,
    /// Every gate run recorded on it, oldest first.
    pub gates: Vec<GateRun>,
}

/// One gate's result on one candidate of an attempt (a row of `quality_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateRun {
    pub id: i64,
    /// When the result was recorded (the gate had finished).
    pub at: i64,
    #[serde(skip)]
    attempt_id: Option<i64>,
    pub gate: Option<String>,
    pub dimension: String,
    pub score: f64,
    pub passed: Option<bool>,
    pub duration_ms: Option<i64>,
    /// The gate's output, as written when it ran.
    pub log_path: Option<String>,
    /// Taken from the verdict cache (the same tree scored by the same gate before): the row it
    /// reuses; its log is that run's.
    pub cached_from: Option<i64>,
}

/// The attempts `filter` selects (a `WHERE` clause over `attempts`), with their gate runs.
fn read_history(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<AttemptHistory>> {
    let sql =
        format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE {filter} ORDER BY started_at, id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, attempt_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        let attempt = row??;
        out.push(AttemptHistory {
            duration_ms: attempt
                .finished_at
                .map(|end| (end - attempt.started_at).max(0)),
            gates: gate_runs(conn, "attempt_id = ?1", [attempt.id])?,
            attempt,
        });
    }
    Ok(out)
}

fn gate_runs(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<GateRun>> {
    let sql = format!(
        "SELECT id, timestamp, attempt_id, gate, dimension, score, passed, duration_ms, log_path,
                cached_from
         FROM quality_metrics WHERE {filter} ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, |row| {
        Ok(GateRun {
            id: row.get(0)?,
            at: row.get(1)?,
            attempt_id: row.get(2)?,
            gate: row.get(3)?,
            dimension: row.get(4)?,
            score: row.get(5)?,
            passed: row.get(6)?,
            duration_ms: row.get(7)?,
            log_path: row.get(8)?,
            cached_from: row.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn read_events(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Event>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE {filter} ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, event_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        let (mut event, task) = row?;
        event.task = task.map(TaskId::new).transpose()?;
        out.push(event);
    }
    Ok(out)
}

/// What a node of a trace stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// One `vane work` run.
    Batch,
    /// A task, with all its attempts.
    Task,
    /// One attempt at a task: its events, its agent's run, its gate runs, its landing.
    Attempt,
    /// The agent's run within an attempt.
    Agent,
    /// One gate's run on a candidate.
    Gate,
    /// Moving base to land a candidate (the intent written, then git, then done).
    Landing,
    /// One event of the log.
    Event,
    /// The events of a correlation id that is neither a batch, an attempt nor a task.
    Chain,
}

/// A node of a causal chain: when it happened, how long it took, and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceNode {
    pub kind: TraceKind,
    /// `batch-3`, `version#2`, a gate's name, an event's kind, ...
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// How long it took; None for a point in time (an event) or what has not ended.
    pub duration_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<String>,
    /// Who caused an event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// What the node says: an event's data; an attempt's outcome, profile, cost; a gate's score.
    pub data: serde_json::Value,
    pub children: Vec<TraceNode>,
}

impl TraceNode {
    fn new(kind: TraceKind, name: impl Into<String>, at: i64, data: serde_json::Value) -> Self {
        TraceNode {
            kind,
            name: name.into(),
            task: None,
            at,
            duration_ms: None,
            correlation: None,
            actor: None,
            data,
            children: Vec::new(),
        }
    }

    /// When it ended: its start plus its duration, or its start.
    pub fn end(&self) -> i64 {
        self.at + self.duration_ms.unwrap_or(0)
    }

    fn from_event(event: Event) -> Self {
        TraceNode {
            task: event.task,
            correlation: event.correlation,
            actor: event.actor,
            ..TraceNode::new(TraceKind::Event, event.kind, event.at, event.data)
        }
    }
}

/// Puts the children in time order (those at the same moment as they were added) and, unless the
/// node has a duration of its own, makes it last until its last child ended.
fn close(mut node: TraceNode) -> TraceNode {
    node.children.sort_by_key(|c| c.at);
    if node.duration_ms.is_none() {
        if let Some(end) = node.children.iter().map(TraceNode::end).max() {
            node.duration_ms = Some((end - node.at).max(0));
        }
    }
    node
}

/// Which attempt, if any, each event belongs to: the one whose correlation id it carries, else,
/// for an event of the batch's own chain about the attempt's task (its landing, a checkpoint), the
/// latest attempt at that task in that batch started by then. Returns the attempts' events in the
/// order of `attempts`, and the events of none.
fn attach(attempts: &[AttemptHistory], events: Vec<Event>) -> (Vec<Vec<Event>>, Vec<Event>) {
    let mut owned = vec![Vec::new(); attempts.len()];
    let mut rest = Vec::new();
    for event in events {
        let exact = attempts.iter().position(|a| {
            a.attempt.correlation.is_some() && a.attempt.correlation == event.correlation
        });
        let by_batch = || {
            attempts
                .iter()
                .enumerate()
                .filter(|(_, a)| {
                    a.attempt.batch.map(batch_correlation) == event.correlation
                        && event.correlation.is_some()
                        && Some(&a.attempt.task) == event.task.as_ref()
                        && a.attempt.started_at <= event.at
                })
                .max_by_key(|(_, a)| (a.attempt.started_at, a.attempt.id))
                .map(|(i, _)| i)
        };
        match exact.or_else(by_batch) {
            Some(i) => owned[i].push(event),
            None => rest.push(event),
        }
    }
    (owned, rest)
}

impl Store {
    /// Every attempt at `task`, oldest first, with its gate runs.
    pub fn attempt_history(&self, task: &TaskId) -> Result<Vec<AttemptHistory>> {
        get_task(&self.conn, task)?;
        read_history(&self.conn, "task_id = ?1", [task.as_str()])
    }

    /// The causal chain `correlation` names, as a tree: a batch (`batch-3`), an attempt
    /// (`batch-3/version#2`), a task id (of a task removed too, from what the log kept), or any
    /// other correlation id of the event log (`rollback-...`, `import-...`). A batch wins over a
    /// task of the same name. None when it names nothing.
    pub fn trace(&self, correlation: &str) -> Result<Option<TraceNode>> {
        if let Some(batch) = correlation
            .strip_prefix("batch-")
            .and_then(|n| n.parse::<i64>().ok())
        {
            if let Some(node) = self.trace_batch(batch)? {
                return Ok(Some(node));
            }
        }
        let attempt = read_history(&self.conn, "correlation_id = ?1", [correlation])?;
        if let Some(attempt) = attempt.into_iter().next() {
            return self.trace_attempt(attempt).map(Some);
        }
        if let Ok(task) = TaskId::new(correlation) {
            match get_task(&self.conn, &task) {
                Ok(_) => return self.trace_task(&task).map(Some),
                Err(StoreError::TaskNotFound(_)) => {}
                Err(e) => return Err(e),
            }
            // A task removed (`vane task rm`, which only removes one that never started): what
            // the log kept of it.
            let events = read_events(&self.conn, "task_id = ?1", [task.as_str()])?;
            if let Some(first) = events.first() {
                let title = events
                    .iter()
                    .rev()
                    .find_map(|e| e.data.get("title").cloned())
                    .unwrap_or(serde_json::Value::Null);
                let mut root = TraceNode::new(
                    TraceKind::Task,
                    task.as_str(),
                    first.at,
                    serde_json::json!({ "title": title, "status": "removed" }),
                );
                root.task = Some(task);
                root.children = events.into_iter().map(TraceNode::from_event).collect();
                return Ok(Some(close(root)));
            }
        }
        let events = read_events(&self.conn, "correlation_id = ?1", [correlation])?;
        let Some(first) = events.first() else {
            return Ok(None);
        };
        let mut root = TraceNode::new(
            TraceKind::Chain,
            correlation,
            first.at,
            serde_json::json!({}),
        );
        root.correlation = Some(correlation.to_string());
        root.children = events.into_iter().map(TraceNode::from_event).collect();
        Ok(Some(close(root)))
    }

    fn trace_batch(&self, batch: i64) -> Result<Option<TraceNode>> {
        let row = self
            .conn
            .query_row(
                "SELECT started_at, finished_at, pid, base_branch, outcome, budget_usd
                 FROM batches WHERE id = ?1",
                [batch],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<f64>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((started_at, finished_at, pid, base_branch, outcome, budget)) = row else {
            return Ok(None);
        };
        let correlation = batch_correlation(batch);
        let attempts = read_history(&self.conn, "batch_id = ?1", [batch])?;
        let prefix = format!("{correlation}/");
        let events = read_events(
            &self.conn,
            "correlation_id = ?1 OR substr(correlation_id, 1, length(?2)) = ?2",
            params![correlation, prefix],
        )?;
        let (owned, rest) = attach(&attempts, events);
        let mut root = TraceNode::new(
            TraceKind::Batch,
            correlation.clone(),
            started_at,
            serde_json::json!({
                "batch": batch,
                "outcome": outcome,
                "base_branch": base_branch,
                "pid": pid,
                "budget_usd": budget,
            }),
        );
        root.correlation = Some(correlation);
        root.duration_ms = finished_at.map(|end| (end - started_at).max(0));
        root.children = rest.into_iter().map(TraceNode::from_event).collect();
        for (attempt, events) in attempts.into_iter().zip(owned) {
            root.children.push(self.attempt_node(attempt, events)?);
        }
        Ok(Some(close(root)))
    }

    fn trace_attempt(&self, attempt: AttemptHistory) -> Result<TraceNode> {
        // The other attempts at its task in its batch decide which of the batch's events are its.
        let siblings = match attempt.attempt.batch {
            Some(batch) => read_history(
                &self.conn,
                "task_id = ?1 AND batch_id = ?2",
                params![attempt.attempt.task.as_str(), batch],
            )?,
            None => vec![attempt.clone()],
        };
        let events = read_events(
            &self.conn,
            "task_id = ?1 AND (correlation_id = ?2 OR correlation_id = ?3)",
            params![
                attempt.attempt.task.as_str(),
                attempt.attempt.correlation,
                attempt.attempt.batch.map(batch_correlation)
            ],
        )?;
        let (mut owned, _) = attach(&siblings, events);
        let index = siblings
            .iter()
            .position(|a| a.attempt.id == attempt.attempt.id)
            .expect("an attempt is one of the attempts of its task in its batch");
        let events = std::mem::take(&mut owned[index]);
        self.attempt_node(attempt, events)
    }

    fn trace_task(&self, task: &TaskId) -> Result<TraceNode> {
        let stored = get_task(&self.conn, task)?;
        let attempts = read_history(&self.conn, "task_id = ?1", [task.as_str()])?;
        let events = read_events(&self.conn, "task_id = ?1", [task.as_str()])?;
        let (owned, rest) = attach(&attempts, events);
        let mut root = TraceNode::new(
            TraceKind::Task,
            task.as_str(),
            stored.created_at,
            serde_json::json!({ "title": stored.title, "status": stored.status }),
        );
        root.task = Some(task.clone());
        root.children = rest.into_iter().map(TraceNode::from_event).collect();
        // Gate runs on the task with no attempt to record them on (`vane gate` on a branch made
        // by hand).
        for run in gate_runs(
            &self.conn,
            "task_id = ?1 AND attempt_id IS NULL",
            [task.as_str()],
        )? {
            root.children.push(gate_node(run));
        }
        for (attempt, events) in attempts.into_iter().zip(owned) {
            root.children.push(self.attempt_node(attempt, events)?);
        }
        Ok(close(root))
    }

    /// An attempt with its events, its agent's run, its gate runs and the landings of it.
    fn attempt_node(&self, attempt: AttemptHistory, events: Vec<Event>) -> Result<TraceNode> {
        let mut node = TraceNode::new(
            TraceKind::Attempt,
            format!("{}#{}", attempt.attempt.task, attempt.attempt.number),
            attempt.attempt.started_at,
            serde_json::json!({
                "number": attempt.attempt.number,
                "outcome": attempt.attempt.outcome,
                "charged": attempt.attempt.charged,
                "batch": attempt.attempt.batch,
                "worker": attempt.attempt.worker,
                "profile": attempt.attempt.profile,
                "model": attempt.attempt.model,
                "exit_code": attempt.attempt.exit_code,
                "score": attempt.attempt.score,
                "cost_usd": attempt.attempt.cost_usd,
                "cost_source": attempt.attempt.cost_source,
            }),
        );
        node.task = Some(attempt.attempt.task.clone());
        node.correlation = attempt.attempt.correlation.clone();
        node.children = events.into_iter().map(TraceNode::from_event).collect();
        let mut agent = TraceNode::new(
            TraceKind::Agent,
            attempt
                .attempt
                .profile
                .clone()
                .unwrap_or_else(|| "agent".to_string()),
            attempt.attempt.started_at,
            serde_json::json!({
                "worker": attempt.attempt.worker,
                "exit_code": attempt.attempt.exit_code,
                "input_tokens": attempt.attempt.input_tokens,
                "cached_input_tokens": attempt.attempt.cached_input_tokens,
                "output_tokens": attempt.attempt.output_tokens,
                "finished": attempt.attempt.finished_at.is_some(),
            }),
        );
        agent.duration_ms = attempt.duration_ms;
        node.children.push(agent);
        for run in attempt.gates {
            node.children.push(gate_node(run));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, created_at, finished_at, state, refname, new_sha FROM ref_moves r
             WHERE purpose = 'land' AND (attempt_id = ?1 OR (members IS NOT NULL AND EXISTS (
                 SELECT 1 FROM json_each(r.members) m WHERE json_extract(m.value, '$.attempt') = ?1)))
             ORDER BY id",
        )?;
        let landings = stmt.query_map([attempt.attempt.id], |row| {
            let created: i64 = row.get(1)?;
            let finished: Option<i64> = row.get(2)?;
            let mut landing = TraceNode::new(
                TraceKind::Landing,
                "land",
                created,
                serde_json::json!({
                    "ref_move": row.get::<_, i64>(0)?,
                    "state": row.get::<_, String>(3)?,
                    "ref": row.get::<_, String>(4)?,
                    "to": row.get::<_, String>(5)?,
                }),
            );
            landing.duration_ms = finished.map(|end| (end - created).max(0));
            Ok(landing)
        })?;
        for landing in landings {
            node.children.push(landing?);
        }
        Ok(close(node))
    }
}

/// A gate run as a node: it started `duration_ms` before its result was recorded.
fn gate_node(run: GateRun) -> TraceNode {
    let duration = run.duration_ms.map(|d| d.max(0));
    let mut node = TraceNode::new(
        TraceKind::Gate,
        run.gate.clone().unwrap_or_else(|| run.dimension.clone()),
        run.at - duration.unwrap_or(0),
        serde_json::json!({
            "dimension": run.dimension,
            "score": run.score,
            "passed": run.passed,
            "cached": run.cached_from.is_some(),
            "log_path": run.log_path,
        }),
    );
    node.duration_ms = duration;
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: i64, task: &str, number: u32, batch: i64, started_at: i64) -> AttemptHistory {
        AttemptHistory {
            attempt: Attempt {
                id,
                task: TaskId::new(task).unwrap(),
                number,
                batch: Some(batch),
                worker: None,
                profile: None,
                started_at,
                finished_at: None,
                exit_code: None,
                outcome: None,
                base_sha: None,
                head_sha: None,
                session_id: None,
                cost_usd: None,
                cost_source: None,
                input_tokens: None,
                cached_input_tokens: None,
                output_tokens: None,
                model: None,
                message: None,
                feedback: None,
                correlation: Some(format!("batch-{batch}/{task}#{number}")),
                score: None,
                agent_reason: None,
                charged: true,
            },
            duration_ms: None,
            gates: Vec::new(),
        }
    }

    fn event(id: i64, at: i64, task: Option<&str>, correlation: &str) -> Event {
        Event {
            id,
            at,
            kind: "status_changed".to_string(),
            task: task.map(|t| TaskId::new(t).unwrap()),
            actor: None,
            correlation: Some(correlation.to_string()),
            data: serde_json::json!({}),
        }
    }

    #[test]
    fn events_go_to_the_attempt_they_name_or_the_latest_attempt_of_their_task_in_the_batch() {
        let attempts = [
            attempt(1, "a", 1, 1, 100),
            attempt(2, "b", 1, 1, 110),
            attempt(3, "a", 2, 1, 200),
        ];
        let events = vec![
            event(1, 90, None, "batch-1"),
            event(2, 100, Some("a"), "batch-1/a#1"),
            // The batch's landing of a, after its second attempt started.
            event(3, 250, Some("a"), "batch-1"),
            // The batch's event about b, after a's second attempt: still b's.
            event(4, 260, Some("b"), "batch-1"),
            // About a, in another batch: no attempt here.
            event(5, 300, Some("a"), "batch-2"),
            // Before any attempt of its task started.
            event(6, 50, Some("b"), "batch-1"),
        ];
        let (owned, rest) = attach(&attempts, events);
        let ids = |events: &[Event]| events.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&owned[0]), [2]);
        assert_eq!(ids(&owned[1]), [4]);
        assert_eq!(ids(&owned[2]), [3]);
        assert_eq!(ids(&rest), [1, 5, 6]);
    }

    #[test]
    fn a_node_lasts_until_its_last_child_unless_it_knows_its_own_end() {
        let mut node = TraceNode::new(TraceKind::Attempt, "a#1", 100, serde_json::json!({}));
        let mut gate = TraceNode::new(TraceKind::Gate, "tests", 150, serde_json::json!({}));
        gate.duration_ms = Some(30);
        node.children = vec![
            gate,
            TraceNode::new(TraceKind::Event, "late", 170, serde_json::json!({})),
            TraceNode::new(TraceKind::Event, "early", 100, serde_json::json!({})),
        ];
        let closed = close(node.clone());
        assert_eq!(closed.duration_ms, Some(80));
        let names: Vec<&str> = closed.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["early", "tests", "late"]);
        node.duration_ms = Some(10);
        assert_eq!(close(node).duration_ms, Some(10));
    }
}
