//! The three things the dashboard changes, each only after a person confirmed it on the prompt
//! line: block a task (`vane task block`), release a blocked one (`vane task retry`) and approve a
//! candidate waiting for a person (`vane approve`), through the same store and orchestrator calls
//! as those commands. Each runs on a connection of its own, opened for writing, on a thread, so
//! that the dashboard keeps drawing while an approval gates and lands.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::model::{TaskId, TaskStatus};
use crate::orchestrator::approval;
use crate::workspace::Workspace;

/// A change a person confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Block { task: TaskId, reason: String },
    Retry { task: TaskId },
    Approve { task: TaskId },
}

impl Action {
    /// What the dashboard says while it runs.
    pub fn doing(&self) -> String {
        match self {
            Action::Block { task, .. } => format!("blocking {task}…"),
            Action::Retry { task } => format!("releasing {task}…"),
            Action::Approve { task } => {
                format!("approving {task}: gating it again on the base branch, then landing…")
            }
        }
    }
}

/// Where and as whom actions run.
#[derive(Debug, Clone)]
pub struct Actor {
    /// A directory of the repository.
    pub workdir: PathBuf,
    /// Who a person at this terminal is in the event log (as `vane task block` says).
    pub by: String,
}

/// Carries out a confirmed action: what happened, in the words of the command that does the same,
/// or why it could not.
pub fn perform(actor: &Actor, action: &Action) -> Result<String, String> {
    perform_in(&actor.workdir, &actor.by, action).map_err(|e| e.to_string())
}

#[derive(Debug, thiserror::Error)]
enum ActionError {
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Orchestrator(#[from] crate::orchestrator::OrchestratorError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

fn perform_in(workdir: &Path, by: &str, action: &Action) -> Result<String, ActionError> {
    let mut workspace = Workspace::open(workdir)?;
    match action {
        Action::Block { task, reason } => {
            let task = workspace.store.block_by_hand(task, reason, by)?;
            Ok(format!("Blocked {}: {}", task.id, reason.trim()))
        }
        Action::Retry { task } => {
            let retried = workspace.store.retry_by_hand(task, false, by)?;
            Ok(format!("{} is pending again", retried.task.id))
        }
        Action::Approve { task } => {
            let config = Config::load(&workspace.location.workdir)?;
            let landed = approval::approve(&mut workspace, &config, task, by)?;
            Ok(format!(
                "Approved and landed {} on {} as {} (checkpoint {})",
                landed.task,
                landed.base,
                landed.sha.short(),
                landed.checkpoint
            ))
        }
    }
}

/// Why a task that is not blocked cannot be retried, as `vane task retry` says it.
pub fn not_blocked(task: &TaskId, status: TaskStatus) -> String {
    format!("task `{task}` is {status}, not blocked; only a blocked task can be retried")
}
