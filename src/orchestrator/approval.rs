//! `vane approve` and `vane reject`: a person's decision on a candidate that passed its gates but
//! changes a protected path (see `protected`). It waits in `needs_review`, with the protected diff
//! to look at; approving lands it the checked way (`vane land`: gated again on the current base,
//! compare-and-swap, checkpoint), rejecting sends it back with the person's reason as feedback.

use serde::Serialize;
use serde_json::json;

use super::land::{self, LandSummary};
use super::{OrchestratorError, Result};
use crate::config::Config;
use crate::git::Git;
use crate::lifecycle::Mover;
use crate::model::{TaskId, TaskStatus};
use crate::store::{Store, WORK_LOOP};
use crate::workspace::Workspace;

/// The approval state of a candidate waiting for a person.
pub const WAITING: &str = "waiting";
/// A person approved it: the merge queue lands it despite its protected paths.
pub const APPROVED: &str = "approved";

/// What waits for a person: the protected paths, and their diff.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub task: TaskId,
    pub paths: Vec<String>,
    /// The base tip and the gated merge the paths were found between.
    pub base: String,
    pub merge: String,
    pub diff: String,
}

/// Puts a gated candidate aside for a person, with an event naming the paths.
pub fn wait_for_person(
    store: &mut Store,
    task: &TaskId,
    base: &str,
    merge: &str,
    paths: &[String],
) -> Result<()> {
    store.set_approval(
        task,
        Some(WAITING),
        WORK_LOOP,
        json!({ "approval": WAITING, "paths": paths, "base": base, "merge": merge }),
    )?;
    Ok(())
}

/// The review waiting on `task`, if one is: its protected paths and their diff.
pub fn review(workspace: &Workspace, task: &TaskId) -> Result<Option<Review>> {
    if workspace.store.approval(task)?.as_deref() != Some(WAITING) {
        return Ok(None);
    }
    let Some(event) = workspace
        .store
        .task_detail(task)?
        .events
        .into_iter()
        .rev()
        .find(|e| e.kind == "approval" && e.data["approval"] == WAITING)
    else {
        return Ok(None);
    };
    let text = |key: &str| event.data[key].as_str().unwrap_or_default().to_string();
    let paths: Vec<String> = event.data["paths"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let (base, merge) = (text("base"), text("merge"));
    let git = Git::open(&workspace.location.workdir)?;
    let diff = git.diff_paths(&base, &merge, &paths)?;
    Ok(Some(Review {
        task: task.clone(),
        paths,
        base,
        merge,
        diff,
    }))
}

/// `vane approve`: lands the waiting candidate of `task`, gated again on the current base.
pub fn approve(
    workspace: &mut Workspace,
    config: &Config,
    task: &TaskId,
    by: &str,
) -> Result<LandSummary> {
    require_waiting(&workspace.store, task)?;
    workspace
        .store
        .set_approval(task, Some(APPROVED), by, json!({ "approval": APPROVED }))?;
    let landed = land::land(workspace, config, task)?;
    workspace
        .store
        .set_approval(task, None, by, json!({ "approval": "landed" }))?;
    Ok(landed)
}

/// `vane reject`: sends the waiting candidate of `task` back with `reason` as its feedback.
pub fn reject(workspace: &mut Workspace, task: &TaskId, reason: &str, by: &str) -> Result<()> {
    require_waiting(&workspace.store, task)?;
    let feedback = format!("a person rejected the change: {reason}");
    if let Some(attempt) = workspace.store.attempts(task)?.pop() {
        workspace.store.reject_by_person(&attempt, &feedback, by)?;
    }
    workspace.store.set_approval(
        task,
        None,
        by,
        json!({ "approval": "rejected", "reason": reason }),
    )?;
    Ok(())
}

fn require_waiting(store: &Store, task: &TaskId) -> Result<()> {
    let current = store.task(task)?;
    if current.status != TaskStatus::NeedsReview
        || store.approval(task)?.as_deref() != Some(WAITING)
    {
        return Err(OrchestratorError::NotAwaitingApproval(task.clone()));
    }
    // The move `reject` makes, checked up front so that nothing changes on a refusal.
    crate::lifecycle::check(current.status, TaskStatus::NeedsImprovement, Mover::Person)
        .map_err(|_| OrchestratorError::NotAwaitingApproval(task.clone()))
}
