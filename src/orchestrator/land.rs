//! `vane land <task>`: a person lands a task's branch by hand, held to the same gates and the same
//! landing as the merge queue: the branch merged with the base tip in memory, gated in a worktree of
//! its own, then base moved to exactly that commit by compare-and-swap, recorded as an intent
//! first, with a checkpoint after.

use serde::Serialize;

use super::gates::{self, GateReport};
use super::lock::WorkLock;
use super::{OrchestratorError, Result};
use crate::config::Config;
use crate::git::Git;
use crate::model::{TaskId, TaskStatus};
use crate::store::checkpoint_ref;
use crate::workspace::{self, Workspace};

#[derive(Debug, Clone, Serialize)]
pub struct LandSummary {
    pub task: TaskId,
    pub base: String,
    /// The merge commit base moved to.
    pub sha: String,
    pub checkpoint: i64,
    pub report: GateReport,
}

/// Lands `id`'s branch if its gates pass; refuses, changing nothing on base, if they do not.
pub fn land(workspace: &mut Workspace, config: &Config, id: &TaskId) -> Result<LandSummary> {
    let _lock = WorkLock::acquire(&workspace::state_dir(&workspace.location), "vane land")?;
    let task = workspace.store.task(id)?;
    match task.status {
        TaskStatus::Done => return Err(OrchestratorError::AlreadyLanded(id.clone())),
        TaskStatus::InProgress => return Err(OrchestratorError::InProgress(id.clone())),
        _ => {}
    }
    let git = Git::open(&workspace.location.workdir)?;
    let base = super::base_branch(workspace, config)?;
    let checkouts = git.checkouts_of(&base)?;
    if let Some((dirty, _)) = checkouts.iter().find(|(_, clean)| !clean) {
        return Err(OrchestratorError::DirtyBase {
            branch: base,
            checkout: dirty.clone(),
        });
    }
    let gated = gates::gate_on_demand(workspace, config, Some(id))?;
    let merge = gated
        .commit
        .clone()
        .ok_or_else(|| OrchestratorError::NoTaskBranch(id.clone()))?;
    if !gated.report.decision.passed {
        return Err(OrchestratorError::FellShort {
            task: id.clone(),
            feedback: gated.report.feedback(),
        });
    }
    // The merge's first parent is the tip it was made on: base moves from exactly there.
    let tip = git
        .rev_parse(&format!("{merge}^1"))?
        .ok_or_else(|| OrchestratorError::NoBaseBranch(base.clone()))?;
    let base_ref = format!("refs/heads/{base}");
    let attempt = workspace.store.attempts(id)?.pop();
    let intent = workspace.store.record_task_ref_intent(
        &base_ref,
        &tip,
        &merge,
        "land",
        Some(id),
        attempt.as_ref(),
        None,
    )?;
    if let Err(e) = git.update_ref(
        &base_ref,
        &merge,
        Some(&tip),
        &format!("vane: land {id} by hand"),
    ) {
        workspace.store.abandon_ref_move(intent.id)?;
        return Err(e.into());
    }
    for (checkout, _) in &checkouts {
        if let Err(e) = git.advance_checkout(checkout, &tip, &merge) {
            tracing::warn!(checkout = %checkout.display(), error = %e, "checkout not brought along");
        }
    }
    let checkpoint = workspace.store.record_landing(&intent, "vane land")?;
    git.update_ref(
        &checkpoint_ref(checkpoint.id),
        &merge,
        None,
        "vane: checkpoint",
    )?;
    Ok(LandSummary {
        task: id.clone(),
        base,
        sha: merge,
        checkpoint: checkpoint.id,
        report: gated.report,
    })
}
