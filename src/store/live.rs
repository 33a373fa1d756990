//! What `vane dash` reads of the database while a batch runs, a few times a second: each query
//! bounded (a limit, an index) so that refreshing stays cheap on a large graph. Only reads.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Result, Store};
use crate::model::{TaskId, TaskStatus};

/// A task worth watching: not done, not an epic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchedTask {
    pub id: TaskId,
    pub title: String,
    pub status: TaskStatus,
    pub block_reason: Option<String>,
    /// `waiting` while a person's approval is asked for (see `orchestrator::approval`).
    pub approval: Option<String>,
    /// Attempts so far, and the profile of the latest.
    pub attempts: u32,
    pub profile: Option<String>,
}

/// A batch's budget and what it spent (its rows of the cost ledger, `batch_spent`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatchSpending {
    pub budget_usd: Option<f64>,
    pub spent_usd: f64,
}

/// An attempt that settled: landed, or sent back with its feedback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettledAttempt {
    pub task: TaskId,
    pub number: u32,
    pub outcome: String,
    pub feedback: Option<String>,
    /// The commit that landed it, for a landing.
    pub landed_sha: Option<String>,
    pub finished_at: Option<i64>,
}

impl Store {
    /// Tasks that are not done (epics aside): running first, then waiting to land, to be tried
    /// again, blocked, and pending by priority; at most `limit`.
    pub fn watched_tasks(&self, limit: usize) -> Result<Vec<WatchedTask>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.title, t.status, t.block_reason, t.approval,
                    (SELECT count(*) FROM attempts a WHERE a.task_id = t.id),
                    (SELECT a.profile FROM attempts a WHERE a.task_id = t.id
                     ORDER BY a.number DESC LIMIT 1)
             FROM tasks t
             WHERE t.status != 'done' AND t.type != 'epic'
             ORDER BY CASE t.status
                        WHEN 'in_progress' THEN 0
                        WHEN 'needs_review' THEN 1
                        WHEN 'needs_improvement' THEN 2
                        WHEN 'blocked' THEN 3
                        ELSE 4
                      END,
                      t.priority DESC, t.rowid
             LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, u32>(5)?,
                row.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, title, status, block_reason, approval, attempts, profile) = row?;
            out.push(WatchedTask {
                id: TaskId::new(id)?,
                title,
                status: status.parse()?,
                block_reason,
                approval,
                attempts,
                profile,
            });
        }
        Ok(out)
    }

    /// How many tasks (epics aside) are in each status; every status is there, zeros included.
    pub fn task_counts(&self) -> Result<BTreeMap<TaskStatus, usize>> {
        let mut counts: BTreeMap<TaskStatus, usize> =
            TaskStatus::ALL.iter().map(|s| (*s, 0)).collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT status, count(*) FROM tasks WHERE type != 'epic' GROUP BY status",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (status, n) = row?;
            counts.insert(status.parse()?, usize::try_from(n).unwrap_or(0));
        }
        Ok(counts)
    }

    /// The budget of batch `batch` and the sum of its spending in the cost ledger; None when
    /// there is no such batch.
    pub fn batch_spending(&self, batch: i64) -> Result<Option<BatchSpending>> {
        let Some(budget_usd) = self
            .conn
            .query_row(
                "SELECT budget_usd FROM batches WHERE id = ?1",
                params![batch],
                |row| row.get::<_, Option<f64>>(0),
            )
            .optional()?
        else {
            return Ok(None);
        };
        Ok(Some(BatchSpending {
            budget_usd,
            spent_usd: self.batch_spent(batch)?.usd,
        }))
    }

    /// How many attempts of batch `batch` landed, and how many were sent back or failed.
    pub fn batch_outcomes(&self, batch: i64) -> Result<(usize, usize)> {
        let (landed, sent_back): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(outcome = 'landed'), 0),
                    coalesce(sum(outcome IN ('unchanged', 'failed', 'timed_out', 'conflict',
                                             'gate_failed', 'rejected')), 0)
             FROM attempts WHERE batch_id = ?1",
            params![batch],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok((
            usize::try_from(landed).unwrap_or(0),
            usize::try_from(sent_back).unwrap_or(0),
        ))
    }

    /// The latest attempts that landed (`landed`) or were sent back (the rest), newest first, at
    /// most `limit` of each kind.
    pub fn settled_attempts(
        &self,
        limit: usize,
    ) -> Result<(Vec<SettledAttempt>, Vec<SettledAttempt>)> {
        let query = |landed: bool| -> Result<Vec<SettledAttempt>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT a.task_id, a.number, a.outcome, a.feedback, t.landed_sha, a.finished_at
                 FROM attempts a JOIN tasks t ON t.id = a.task_id
                 WHERE a.outcome IS NOT NULL
                   AND ((?1 AND a.outcome = 'landed')
                        OR (NOT ?1 AND a.outcome IN ('unchanged', 'failed', 'timed_out',
                                                     'conflict', 'gate_failed', 'rejected')))
                 ORDER BY a.finished_at DESC, a.id DESC
                 LIMIT ?2",
            )?;
            let rows = stmt.query_map(
                params![landed, i64::try_from(limit).unwrap_or(i64::MAX)],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, u32>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<i64>>(5)?,
                    ))
                },
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (task, number, outcome, feedback, landed_sha, finished_at) = row?;
                out.push(SettledAttempt {
                    task: TaskId::new(task)?,
                    number,
                    outcome,
                    feedback,
                    landed_sha: landed_sha.filter(|_| landed),
                    finished_at,
                });
            }
            Ok(out)
        };
        Ok((query(true)?, query(false)?))
    }

    /// The last `per_dimension` gate scores of each quality dimension, oldest first, by dimension.
    pub fn recent_quality(&self, per_dimension: usize) -> Result<Vec<(String, Vec<f64>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT dimension, score FROM (
                 SELECT dimension, score, id,
                        row_number() OVER (PARTITION BY dimension ORDER BY id DESC) AS n
                 FROM quality_metrics)
             WHERE n <= ?1
             ORDER BY dimension, id",
        )?;
        let rows = stmt.query_map(
            params![i64::try_from(per_dimension).unwrap_or(i64::MAX)],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, f64>(1)?)),
        )?;
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        for row in rows {
            let (dimension, score) = row?;
            match out.last_mut() {
                Some((last, scores)) if *last == dimension => scores.push(score),
                _ => out.push((dimension, vec![score])),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskType;
    use crate::store::{GateRecord, NewTask};

    fn task(id: &str) -> NewTask {
        NewTask {
            id: Some(TaskId::new(id).unwrap()),
            title: format!("Task {id}"),
            description: String::new(),
            kind: TaskType::Task,
            complexity: None,
            parent: None,
            deps: Vec::new(),
            run: None,
            agent: None,
            paths: Vec::new(),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("vane.db"), true).unwrap();
        (dir, store)
    }

    fn record(dimension: &str, score: f64) -> GateRecord {
        GateRecord {
            gate: format!("{dimension}-gate"),
            dimension: dimension.to_string(),
            score,
            passed: true,
            issues: Vec::new(),
            suggestions: Vec::new(),
            duration_ms: 1,
            log_path: None,
            tree: None,
            gate_key: "k".to_string(),
            cached_from: None,
            learnings: Vec::new(),
            rejected_learnings: Vec::new(),
        }
    }

    #[test]
    fn recent_quality_keeps_the_last_scores_of_each_dimension_oldest_first() {
        let (_dir, mut store) = store();
        for score in [0.1, 0.2, 0.3, 0.4] {
            store
                .record_gate_results(None, None, &[record("style", score)], score)
                .unwrap();
        }
        store
            .record_gate_results(None, None, &[record("correctness", 1.0)], 1.0)
            .unwrap();
        assert_eq!(
            store.recent_quality(3).unwrap(),
            [
                ("correctness".to_string(), vec![1.0]),
                ("style".to_string(), vec![0.2, 0.3, 0.4]),
            ]
        );
    }

    #[test]
    fn watched_tasks_put_blocked_before_pending_and_leave_out_what_is_done() {
        let (_dir, mut store) = store();
        for id in ["a", "b", "c"] {
            store.add_task(&task(id), "test").unwrap();
        }
        store
            .transition(
                &TaskId::new("b").unwrap(),
                TaskStatus::Blocked,
                crate::lifecycle::Mover::Person,
                Some("waits for keys"),
                "person",
            )
            .unwrap();
        let watched = store.watched_tasks(10).unwrap();
        let ids: Vec<&str> = watched.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        assert_eq!(watched[0].block_reason.as_deref(), Some("waits for keys"));
        assert_eq!(store.watched_tasks(1).unwrap().len(), 1);
        let counts = store.task_counts().unwrap();
        assert_eq!(
            (counts[&TaskStatus::Pending], counts[&TaskStatus::Blocked]),
            (2, 1)
        );
    }

    #[test]
    fn a_batch_spends_what_its_ledger_rows_add_up_to() {
        let (_dir, mut store) = store();
        assert_eq!(store.batch_spending(1).unwrap(), None);
        let batch = store.start_batch("main", Some(2.5)).unwrap();
        assert_eq!(
            store.batch_spending(batch).unwrap(),
            Some(BatchSpending {
                budget_usd: Some(2.5),
                spent_usd: 0.0
            })
        );
        assert_eq!(store.batch_outcomes(batch).unwrap(), (0, 0));
        let (landed, sent_back) = store.settled_attempts(5).unwrap();
        assert!(landed.is_empty() && sent_back.is_empty());
    }
}
