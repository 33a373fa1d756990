//! The summary behind `vane status`: counts, the ready set, blocked tasks, epics and the last checkpoint.
//!
//! Built from a handful of aggregate queries so that it stays fast on a database of 100,000 tasks.

use std::collections::{BTreeMap, HashMap};

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::model::{CheckpointKind, CommitId, TaskId, TaskStatus};

#[derive(Debug, Clone, Serialize)]
pub struct TaskBrief {
    pub id: TaskId,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EpicProgress {
    pub id: TaskId,
    pub title: String,
    /// Direct children that are complete.
    pub done: usize,
    pub total: usize,
    pub complete: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointSummary {
    pub id: i64,
    pub at: i64,
    pub kind: CheckpointKind,
    pub sha: CommitId,
    pub task: Option<TaskId>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusSummary {
    /// Tasks other than epics (an epic's state is its tasks'; see `epics`).
    pub total: usize,
    pub counts: BTreeMap<TaskStatus, usize>,
    pub ready_count: usize,
    /// The first few ready tasks, in the order the scheduler would take them.
    pub ready: Vec<TaskBrief>,
    pub blocked_count: usize,
    pub blocked: Vec<TaskBrief>,
    pub epics: Vec<EpicProgress>,
    pub last_checkpoint: Option<CheckpointSummary>,
}

impl Store {
    /// Summarises the graph; `list_limit` caps the ready and blocked lists (the counts stay whole).
    pub fn status_summary(&self, list_limit: usize) -> Result<StatusSummary> {
        let mut counts: BTreeMap<TaskStatus, usize> =
            TaskStatus::ALL.iter().map(|s| (*s, 0)).collect();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT status, count(*) FROM tasks WHERE type != 'epic' GROUP BY status",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let status: TaskStatus = row.get::<_, String>(0)?.parse()?;
                counts.insert(status, row.get::<_, i64>(1)? as usize);
            }
        }
        let total = counts.values().sum();

        let ready_ids = self.ready_tasks()?;
        let mut title_of = self
            .conn
            .prepare_cached("SELECT title FROM tasks WHERE id = ?1")?;
        let mut ready = Vec::new();
        for id in ready_ids.iter().take(list_limit) {
            ready.push(TaskBrief {
                title: title_of.query_row([id.as_str()], |r| r.get(0))?,
                id: id.clone(),
                reason: None,
            });
        }

        let mut blocked = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, title, block_reason FROM tasks WHERE status = 'blocked'
                 ORDER BY updated_at DESC, rowid LIMIT ?1",
            )?;
            let mut rows = stmt.query([list_limit as i64])?;
            while let Some(row) = rows.next()? {
                blocked.push(TaskBrief {
                    id: TaskId::new(row.get::<_, String>(0)?)?,
                    title: row.get(1)?,
                    reason: row.get(2)?,
                });
            }
        }

        Ok(StatusSummary {
            total,
            counts: counts.clone(),
            ready_count: ready_ids.len(),
            ready,
            blocked_count: counts[&TaskStatus::Blocked],
            blocked,
            epics: self.epic_progress()?,
            last_checkpoint: self.last_checkpoint()?,
        })
    }

    /// Every epic with how many of its direct children are complete; a child epic counts as
    /// complete when all of its own children are.
    pub fn epic_progress(&self) -> Result<Vec<EpicProgress>> {
        struct Row {
            id: String,
            title: String,
            parent: Option<String>,
            done_status: bool,
        }
        let mut epics = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, title, parent_id, status FROM tasks WHERE type = 'epic' ORDER BY rowid",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                epics.push(Row {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    parent: row.get(2)?,
                    done_status: row.get::<_, String>(3)? == "done",
                });
            }
        }
        if epics.is_empty() {
            return Ok(Vec::new());
        }
        // (children, children with status done) per parent.
        let mut tally: HashMap<String, (usize, usize)> = HashMap::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT parent_id, count(*), sum(status = 'done') FROM tasks
                 WHERE parent_id IS NOT NULL GROUP BY parent_id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                tally.insert(
                    row.get(0)?,
                    (
                        row.get::<_, i64>(1)? as usize,
                        row.get::<_, i64>(2)? as usize,
                    ),
                );
            }
        }
        let index: HashMap<&str, usize> = epics
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), i))
            .collect();
        let mut child_epics: Vec<Vec<usize>> = vec![Vec::new(); epics.len()];
        for (i, epic) in epics.iter().enumerate() {
            if let Some(&p) = epic.parent.as_deref().and_then(|p| index.get(p)) {
                child_epics[p].push(i);
            }
        }
        // A child epic that is complete without being marked done counts as done for its parent.
        fn resolve(
            i: usize,
            epics: &[Row],
            child_epics: &[Vec<usize>],
            tally: &HashMap<String, (usize, usize)>,
            memo: &mut Vec<Option<(usize, bool)>>,
        ) -> (usize, bool) {
            if let Some(known) = memo[i] {
                return known;
            }
            let (total, mut done) = tally.get(&epics[i].id).copied().unwrap_or((0, 0));
            for &child in &child_epics[i] {
                if !epics[child].done_status && resolve(child, epics, child_epics, tally, memo).1 {
                    done += 1;
                }
            }
            let value = (done, epics[i].done_status || (total > 0 && done == total));
            memo[i] = Some(value);
            value
        }
        let mut memo = vec![None; epics.len()];
        let mut out = Vec::new();
        for (i, epic) in epics.iter().enumerate() {
            let total = tally.get(&epic.id).map_or(0, |t| t.0);
            let (done, complete) = resolve(i, &epics, &child_epics, &tally, &mut memo);
            out.push(EpicProgress {
                id: TaskId::new(epic.id.clone())?,
                title: epic.title.clone(),
                done,
                total,
                complete,
            });
        }
        Ok(out)
    }

    pub fn last_checkpoint(&self) -> Result<Option<CheckpointSummary>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, timestamp, kind, git_sha, task_id FROM checkpoints ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, at, kind, sha, task)| {
            Ok(CheckpointSummary {
                id,
                at,
                kind: kind.parse().map_err(|e| {
                    StoreError::Corrupt(format!("the kind of checkpoint {id}: {e}"))
                })?,
                sha: CommitId::new(sha),
                task: task.map(TaskId::new).transpose()?,
            })
        })
        .transpose()
    }
}
