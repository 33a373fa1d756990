//! Gate results (`quality_metrics`): recording them, the verdict cache keyed by tree and gate, and
//! what `vane quality` reads.

use rusqlite::params;
use serde::Serialize;

use super::{NewContextEntry, Result, Store};
use crate::model::{now_millis, TaskId};
use crate::quality::report;

/// One gate's result on one candidate, as it is recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateRecord {
    pub gate: String,
    pub dimension: String,
    pub score: f64,
    pub passed: bool,
    pub issues: Vec<String>,
    pub suggestions: Vec<String>,
    pub duration_ms: i64,
    pub log_path: Option<String>,
    /// The candidate's tree, when it is a commit (not a person's working tree).
    pub tree: Option<String>,
    /// Which gate configuration scored it (see `orchestrator::gates::gate_key`).
    pub gate_key: String,
    /// The row whose verdict this one reuses, when the same tree was scored by the same gate before.
    pub cached_from: Option<i64>,
    /// What a critic left for later tasks (see `learnings`), recorded as context entries with the
    /// result; never kept with it, so a verdict taken from the cache has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub learnings: Vec<NewContextEntry>,
    /// The critic's learnings left out, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected_learnings: Vec<String>,
}

/// A stored gate result, with its row id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredGateResult {
    pub id: i64,
    pub record: GateRecord,
}

/// A row as `vane quality` reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityRow {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub task: Option<TaskId>,
    pub attempt: Option<u32>,
    pub gate: String,
    pub dimension: String,
    pub score: f64,
}

/// A task's latest overall gate score, and whether it landed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskScore {
    pub task: TaskId,
    pub title: String,
    pub score: f64,
    pub landed: bool,
}

impl Store {
    /// The earliest original (not itself cached) result of the gate `gate_key` on `tree`.
    pub fn cached_gate_result(
        &self,
        tree: &str,
        gate_key: &str,
    ) -> Result<Option<StoredGateResult>> {
        let Ok(key) = super::seal::key_for(&self.path) else {
            // Without the key nothing can be trusted: the gate runs again.
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, gate, dimension, score, passed, details, duration_ms, log_path, seal
             FROM quality_metrics
             WHERE tree = ?1 AND gate_key = ?2 AND cached_from IS NULL
             ORDER BY id",
        )?;
        let rows = stmt.query_map(params![tree, gate_key], |row| {
            let details: Option<String> = row.get(5)?;
            let (issues, suggestions) = split_details(details.as_deref());
            let seal: Option<String> = row.get(8)?;
            Ok((
                seal,
                StoredGateResult {
                    id: row.get(0)?,
                    record: GateRecord {
                        gate: row.get(1)?,
                        dimension: row.get(2)?,
                        score: row.get(3)?,
                        passed: row.get::<_, Option<bool>>(4)?.unwrap_or(false),
                        issues,
                        suggestions,
                        duration_ms: row.get::<_, Option<i64>>(6)?.unwrap_or(0),
                        log_path: row.get(7)?,
                        tree: Some(tree.to_string()),
                        gate_key: gate_key.to_string(),
                        cached_from: None,
                        learnings: Vec::new(),
                        rejected_learnings: Vec::new(),
                    },
                },
            ))
        })?;
        for row in rows {
            let (seal, stored) = row?;
            let r = &stored.record;
            // Only what vane sealed; a row written by anyone else is passed over.
            if seal.as_deref() == Some(&super::seal::seal(&key, tree, gate_key, r.score, r.passed))
            {
                return Ok(Some(stored));
            }
            tracing::warn!(row = stored.id, tree, gate = %r.gate, "a gate verdict without vane's seal; not trusted");
        }
        Ok(None)
    }

    /// Records the results of one gate run (tied to a task and attempt when there are), the
    /// attempt's overall score, and what its critics left for later tasks (from the results that
    /// ran, not those taken from the cache), in one transaction.
    pub fn record_gate_results(
        &mut self,
        task: Option<&TaskId>,
        attempt: Option<i64>,
        results: &[GateRecord],
        overall: f64,
    ) -> Result<()> {
        let now = now_millis();
        let key = super::seal::key_for(&self.path).map_err(|source| super::StoreError::File {
            path: self.path.with_file_name(super::seal::KEY_FILE),
            source,
        })?;
        self.write(|tx| {
            for r in results {
                // A verdict taken from the cache is not sealed again: only what ran is.
                let seal = match (&r.tree, r.cached_from) {
                    (Some(tree), None) => Some(super::seal::seal(&key, tree, &r.gate_key, r.score.clamp(0.0, 1.0), r.passed)),
                    _ => None,
                };
                let details = serde_json::json!({
                    "issues": r.issues,
                    "suggestions": r.suggestions,
                })
                .to_string();
                tx.execute(
                    "INSERT INTO quality_metrics (timestamp, task_id, attempt_id, gate, dimension,
                         score, details, duration_ms, log_path, tree, gate_key, passed, cached_from, seal)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                    params![
                        now,
                        task.map(TaskId::as_str),
                        attempt,
                        r.gate,
                        r.dimension,
                        r.score.clamp(0.0, 1.0),
                        details,
                        r.duration_ms,
                        r.log_path,
                        r.tree,
                        r.gate_key,
                        r.passed,
                        r.cached_from,
                        seal,
                    ],
                )?;
                if r.cached_from.is_none()
                    && !(r.learnings.is_empty() && r.rejected_learnings.is_empty())
                {
                    let about = r
                        .learnings
                        .iter()
                        .find_map(|l| l.origin.as_ref().map(|o| &o.task))
                        .or(task);
                    super::context::record_left(
                        tx,
                        about,
                        &r.learnings,
                        &r.rejected_learnings,
                        &format!("critic/{}", r.gate),
                        None,
                    )?;
                }
            }
            if let Some(attempt) = attempt {
                tx.execute(
                    "UPDATE attempts SET score = ?2 WHERE id = ?1",
                    params![attempt, overall.clamp(0.0, 1.0)],
                )?;
            }
            Ok(())
        })
    }

    /// Gate results, oldest first, of one dimension or all, since a time (milliseconds).
    pub fn quality_rows(
        &self,
        dimension: Option<&str>,
        since: Option<i64>,
    ) -> Result<Vec<QualityRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT q.timestamp, q.task_id, a.number, q.gate, q.dimension, q.score
             FROM quality_metrics q LEFT JOIN attempts a ON a.id = q.attempt_id
             WHERE (?1 IS NULL OR q.dimension = ?1) AND (?2 IS NULL OR q.timestamp >= ?2)
             ORDER BY q.timestamp, q.id",
        )?;
        let rows = stmt.query_map(params![dimension, since], |row| {
            let task: Option<String> = row.get(1)?;
            Ok(QualityRow {
                timestamp: row.get(0)?,
                task: task.and_then(|t| TaskId::new(t).ok()),
                attempt: row.get(2)?,
                gate: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
                dimension: row.get(4)?,
                score: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every task with a scored attempt: the score of its latest scored attempt, and whether it
    /// landed.
    pub fn task_scores(&self, since: Option<i64>) -> Result<Vec<TaskScore>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.id, t.title, a.score, t.status = 'done'
             FROM tasks t JOIN attempts a ON a.task_id = t.id
             WHERE a.score IS NOT NULL AND (?1 IS NULL OR a.started_at >= ?1)
               AND a.number = (SELECT max(b.number) FROM attempts b
                               WHERE b.task_id = t.id AND b.score IS NOT NULL)
             ORDER BY t.id",
        )?;
        let rows = stmt.query_map(params![since], |row| {
            let id: String = row.get(0)?;
            Ok((id, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, score, landed): (String, String, f64, bool) = row?;
            if let Ok(task) = TaskId::new(id) {
                out.push(TaskScore {
                    task,
                    title,
                    score,
                    landed,
                });
            }
        }
        Ok(out)
    }
}

/// The issues and suggestions kept in a row's `details`.
fn split_details(details: Option<&str>) -> (Vec<String>, Vec<String>) {
    let value: serde_json::Value = details
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let list = |key: &str| -> Vec<String> {
        value[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    (list("issues"), list("suggestions"))
}

impl Store {
    /// The quality report (`vane quality`, the MCP `quality` tool): the scores of `dimension` (all
    /// when None) since `since` (milliseconds; all when None), measured against `threshold`.
    pub fn quality_report(
        &self,
        dimension: Option<&str>,
        since: Option<i64>,
        threshold: f64,
    ) -> Result<report::Report> {
        let rows: Vec<report::MetricRow> = self
            .quality_rows(dimension, since)?
            .into_iter()
            .map(|r| report::MetricRow {
                timestamp: r.timestamp / 1000,
                task: r.task.map(|t| t.to_string()),
                attempt: r.attempt,
                gate: r.gate,
                dimension: r.dimension,
                score: r.score,
            })
            .collect();
        let outcomes: Vec<report::TaskOutcome> = self
            .task_scores(since)?
            .into_iter()
            .map(|t| report::TaskOutcome {
                task: t.task.to_string(),
                title: t.title,
                overall: t.score,
                landed: t.landed,
            })
            .collect();
        Ok(report::build(
            &rows,
            &outcomes,
            &report::Options {
                threshold,
                ..report::Options::default()
            },
        ))
    }
}
