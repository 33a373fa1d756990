//! What a person does to a task by hand: block it, or retry it (a blocked task made pending again,
//! and, if asked, its next attempt started from base). One place for `vane task block` and
//! `vane task retry`, the MCP server's `task_block` and `task_retry`, and the dashboard's keys, so
//! that each refuses and records the same.

use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::lifecycle::Mover;
use crate::model::{Task, TaskId, TaskStatus, TaskType};

/// What a retry did.
#[derive(Debug, Clone, Serialize)]
pub struct Retried {
    pub task: Task,
    /// It was blocked, and is pending again.
    pub released: bool,
    /// Its next attempt starts from the base branch.
    pub fresh: bool,
}

impl Store {
    /// Blocks `task` for `reason`, which must say something.
    pub fn block_by_hand(&mut self, task: &TaskId, reason: &str, by: &str) -> Result<Task> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Refused(
                "a block needs a reason that is not empty; say what the task waits for".into(),
            ));
        }
        self.transition(task, TaskStatus::Blocked, Mover::Person, Some(reason), by)
    }

    /// Makes a blocked `task` pending again; with `fresh`, also has its next attempt start from
    /// the base branch (which any unfinished task may ask, blocked or not).
    pub fn retry_by_hand(&mut self, task: &TaskId, fresh: bool, by: &str) -> Result<Retried> {
        let current = self.task(task)?;
        let blocked = current.status == TaskStatus::Blocked;
        if !fresh && !blocked {
            return Err(StoreError::Refused(format!(
                "task `{}` is {}, not blocked; only a blocked task can be retried (a fresh start \
                 makes the next attempt of any unfinished task start from the base branch)",
                current.id, current.status
            )));
        }
        if fresh && (current.status == TaskStatus::Done || current.kind == TaskType::Epic) {
            return Err(StoreError::Refused(format!(
                "task `{}` is {}; only an unfinished task has a next attempt to start afresh",
                current.id,
                if current.kind == TaskType::Epic {
                    "an epic"
                } else {
                    "done"
                }
            )));
        }
        let mut task_now = current;
        if blocked {
            task_now = self.transition(
                task,
                TaskStatus::Pending,
                Mover::Person,
                Some("retried by hand"),
                by,
            )?;
        }
        if fresh {
            self.request_fresh_start(task, by)?;
        }
        Ok(Retried {
            task: task_now,
            released: blocked,
            fresh,
        })
    }
}
