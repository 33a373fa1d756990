//! `vane land <task>`: a person lands a task's branch by hand, held to the same gates and the same
//! landing as the merge queue: the branch merged with the base tip in memory, gated in a worktree of
//! its own, then base moved to exactly that commit by compare-and-swap, recorded as an intent
//! first, with a checkpoint after.

use serde::Serialize;

use super::gates::{self, GateReport};
use super::lock::WorkLock;
use super::work::landing::{self, LandMove, Landed};
use super::{OrchestratorError, Result};
use crate::config::Config;
use crate::git::Git;
use crate::model::{CommitId, TaskId, TaskStatus};
use crate::store::LandedMember;
use crate::workspace::{self, Workspace};

#[derive(Debug, Clone, Serialize)]
pub struct LandSummary {
    pub task: TaskId,
    pub base: String,
    /// The merge commit base moved to.
    pub sha: CommitId,
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
    let attempt = workspace.store.attempts(id)?.pop();
    let members = [LandedMember {
        task: id.clone(),
        attempt: attempt.map(|a| a.id),
        sha: CommitId::new(merge.clone()),
    }];
    // Each checkout's move is written down before base moves, so that a crash between the two is
    // finished by the next run.
    let mut intents = Vec::with_capacity(checkouts.len());
    for (checkout, _) in &checkouts {
        let intent = workspace
            .store
            .record_checkout_move(checkout, &tip, &merge)?;
        intents.push((checkout.clone(), intent.id));
    }
    let landed = landing::land(
        &mut workspace.store,
        &git,
        &LandMove {
            base: &base,
            from: &tip,
            members: &members,
            reason: &format!("vane: land {id} by hand"),
            correlation: "vane land",
        },
    )?;
    let checkpoint = match landed {
        Landed::Done(checkpoint) => checkpoint,
        Landed::BaseMoved => {
            for (_, intent) in &intents {
                workspace.store.finish_checkout_move(*intent, false)?;
            }
            return Err(crate::git::GitError::RefMoved {
                refname: format!("refs/heads/{base}"),
                actual: git.branch_tip(&base)?,
                expected: Some(tip),
            }
            .into());
        }
    };
    for (checkout, intent) in &intents {
        landing::bring_checkout_along(
            &mut workspace.store,
            &git,
            checkout,
            &tip,
            &merge,
            Some(*intent),
        )?;
    }
    Ok(LandSummary {
        task: id.clone(),
        base,
        sha: CommitId::new(merge),
        checkpoint: checkpoint.id,
        report: gated.report,
    })
}
