//! `vane rollback <n>`: return the base branch and every task's state to a checkpoint. It records a
//! pre-rollback checkpoint first, so a rollback is undone by rolling back to that one.

use std::path::PathBuf;

use serde::Serialize;

use super::lock::WorkLock;
use super::work::landing::{self, CheckoutFollowed};
use super::{OrchestratorError, Result};
use crate::config::Config;
use crate::git::Git;
use crate::model::{CheckpointKind, CommitId, RefMovePurpose, TaskId};
use crate::workspace::{self, Workspace};

#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    /// Save the uncommitted changes of a checkout of base (as a git stash) instead of refusing.
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackSummary {
    pub checkpoint: i64,
    /// Roll back to this one to undo the rollback.
    pub undo_checkpoint: i64,
    pub base: String,
    pub from: CommitId,
    pub to: CommitId,
    pub tasks_changed: Vec<TaskId>,
    /// Checkouts whose changes were saved with `git stash` (`git stash pop` brings them back).
    pub stashed: Vec<PathBuf>,
    /// Checkouts of base that could not be brought along, with why; `vane work` finishes them.
    pub checkouts_behind: Vec<(PathBuf, String)>,
}

pub fn rollback(
    workspace: &mut Workspace,
    config: &Config,
    id: i64,
    options: &RollbackOptions,
) -> Result<RollbackSummary> {
    let _lock = WorkLock::acquire(&workspace::state_dir(&workspace.location), "vane rollback")?;
    let git = Git::open(&workspace.location.workdir)?;
    let base = super::base_branch(workspace, config)?;
    let store = &mut workspace.store;
    let checkpoint = store
        .checkpoint(id)?
        .ok_or(OrchestratorError::NoCheckpoint(id))?;
    let checkouts = git.checkouts_of(&base)?;
    let mut stashed = Vec::new();
    for (checkout, clean) in &checkouts {
        if *clean {
            continue;
        }
        if !options.force {
            return Err(OrchestratorError::DirtyBase {
                branch: base,
                checkout: checkout.clone(),
            });
        }
        git.stash(checkout, &format!("vane rollback to checkpoint {id}"))?;
        stashed.push(checkout.clone());
    }
    let tip = git
        .branch_tip(&base)?
        .ok_or_else(|| OrchestratorError::NoBaseBranch(base.clone()))?;
    let to = checkpoint.sha.as_str();
    // Everything in the way of the checkouts' move, untracked files included, is found before any
    // ref moves: a rollback either happens whole or not at all.
    for (checkout, _) in &checkouts {
        let paths = git.checkout_blockers(checkout, &tip, to)?;
        if !paths.is_empty() {
            return Err(crate::git::GitError::CheckoutInTheWay {
                workdir: checkout.clone(),
                paths,
            }
            .into());
        }
    }
    let correlation = crate::store::new_correlation_id("rollback");
    let undo = landing::checkpoint(
        store,
        &git,
        CheckpointKind::PreRollback,
        &tip,
        &correlation,
        Some(&format!("before rolling back to checkpoint {id}")),
    )?;
    let base_ref = format!("refs/heads/{base}");
    let intent = store.record_ref_intent(
        &base_ref,
        &tip,
        to,
        RefMovePurpose::Rollback,
        None,
        Some(id),
    )?;
    if tip != to {
        git.update_ref(
            &base_ref,
            to,
            Some(&tip),
            &format!("vane: rollback to checkpoint {id}"),
        )?;
    }
    // The task states follow base whatever happens to the checkouts below: base has moved.
    let tasks_changed = store.restore_snapshot(&checkpoint, &correlation)?;
    let mut behind = Vec::new();
    if tip != to {
        for (checkout, _) in &checkouts {
            match landing::bring_checkout_along(store, &git, checkout, &tip, to, None)? {
                CheckoutFollowed::Done => {}
                // Left open on a failure underneath: the next `vane work` finishes it.
                CheckoutFollowed::InTheWay(e) | CheckoutFollowed::Failed(e) => {
                    behind.push((checkout.clone(), e.to_string()))
                }
            }
        }
    }
    store.finish_rollback(&intent, id, &correlation)?;
    Ok(RollbackSummary {
        checkpoint: id,
        undo_checkpoint: undo.id,
        base,
        from: CommitId::new(tip),
        to: checkpoint.sha.clone(),
        tasks_changed,
        stashed,
        checkouts_behind: behind,
    })
}
