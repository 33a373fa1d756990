//! The batch's structured log: every `Progress` event as a tracing event with its `correlation`
//! (`batch-<N>`, or `batch-<N>/<task>#<n>` for an attempt's) and `task`, which the CLI's JSON layer
//! writes to the batch's file in `logs/` (see `crate::logs`).

use std::cell::RefCell;
use std::collections::HashMap;

use super::Progress;
use crate::model::TaskId;

/// Follows the batch's events; knows each running attempt's number to name its correlation.
#[derive(Default)]
pub(super) struct Journal {
    batch: RefCell<Option<String>>,
    attempts: RefCell<HashMap<TaskId, u32>>,
}

impl Journal {
    pub(super) fn observe(&self, event: &Progress) {
        if let Progress::BatchStarted { batch, .. } = event {
            *self.batch.borrow_mut() = Some(super::batch_correlation(*batch));
        }
        if let Progress::Started { task, attempt, .. } = event {
            self.attempts.borrow_mut().insert(task.clone(), *attempt);
        }
        let batch = self.batch.borrow().clone().unwrap_or_default();
        let of = |task: &TaskId| match self.attempts.borrow().get(task) {
            Some(n) => format!("{batch}/{task}#{n}"),
            None => batch.clone(),
        };
        match event {
            Progress::Recovered {
                abandoned,
                landings_completed,
                stopped,
                worktrees_removed,
            } => tracing::info!(
                target: "vane::batch",
                abandoned,
                landings_completed,
                stopped,
                worktrees_removed,
                "recovered what a run before left"
            ),
            Progress::BatchStarted {
                base,
                tip,
                workers,
                ready,
                ..
            } => tracing::info!(
                target: "vane::batch",
                correlation = %batch,
                base = %base,
                tip = %tip,
                workers,
                ready,
                "batch started"
            ),
            Progress::Started {
                worker,
                task,
                profile,
                attempt,
                ..
            } => tracing::info!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                worker,
                profile = %profile,
                attempt,
                "attempt started"
            ),
            Progress::AgentDone {
                task,
                outcome,
                seconds,
                ..
            } => tracing::info!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                outcome = %outcome,
                seconds,
                "agent finished"
            ),
            Progress::Gating { task, ahead } => tracing::info!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                ahead,
                "gating"
            ),
            Progress::Landed {
                task,
                sha,
                checkpoint,
            } => tracing::info!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                sha = %sha,
                checkpoint,
                "landed"
            ),
            Progress::Rejected {
                task,
                reason,
                retry,
            } => tracing::warn!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                retry,
                reason = %reason,
                "rejected"
            ),
            Progress::Blocked { task, reason } => tracing::warn!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                reason = %reason,
                "blocked"
            ),
            Progress::Fault { task, reason } => tracing::warn!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                reason = %reason,
                "vane could not run the attempt"
            ),
            Progress::HeldBack {
                task,
                behind,
                paths,
            } => tracing::info!(
                target: "vane::batch",
                correlation = %batch,
                task = %task,
                behind = %behind,
                paths = ?paths,
                "held back"
            ),
            Progress::AwaitingApproval { task, paths } => tracing::info!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                paths = ?paths,
                "awaiting approval"
            ),
            Progress::BudgetReached {
                spent_usd,
                budget_usd,
            } => tracing::warn!(
                target: "vane::batch",
                correlation = %batch,
                spent_usd,
                budget_usd,
                "budget spent"
            ),
            Progress::Pushed {
                remote,
                branch,
                tip,
                landed,
            } => tracing::info!(
                target: "vane::batch",
                correlation = %batch,
                remote = %remote,
                branch = %branch,
                tip = %tip,
                landed,
                "pushed"
            ),
            Progress::PushRefused {
                remote,
                branch,
                found,
                reason,
            } => tracing::warn!(
                target: "vane::batch",
                correlation = %batch,
                remote = %remote,
                branch = %branch,
                found = found.as_ref().map_or("", |f| f.as_str()),
                reason = %reason,
                "not pushed"
            ),
            Progress::PullRequest {
                task,
                remote,
                output,
                ok,
            } => tracing::info!(
                target: "vane::batch",
                correlation = %of(task),
                task = %task,
                remote = %remote,
                ok,
                output = %output,
                "pull request"
            ),
            other => tracing::info!(
                target: "vane::batch",
                correlation = %batch,
                event = ?other,
                "batch event"
            ),
        }
    }
}
