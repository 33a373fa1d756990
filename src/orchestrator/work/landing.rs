//! Landing one candidate: merge with the base tip, gate exactly that commit, and move base to it
//! by compare-and-swap, with the checkouts of base brought along and a checkpoint recorded.

use std::path::Path;

use super::{Batch, Landing, Progress, Result};
use crate::agent;
use crate::git::MergeOutcome;
use crate::model::{Task, TaskId, TaskStatus};
use crate::orchestrator::{failpoint, gates, OrchestratorError};
use crate::store::{checkpoint_ref, Attempt};

/// A finished branch waiting for the merge queue, with the worktree to gate it in.
pub(super) struct Queued {
    pub(super) attempt: Attempt,
    pub(super) head: String,
    pub(super) worker: usize,
    /// The worker committed every change in the worktree just now, so it holds no untracked
    /// files; false for a branch recovered from an earlier run.
    pub(super) fresh: bool,
}

pub(super) enum LandResult {
    /// Landed or sent back; the worker is free.
    Settled(TaskId),
    /// Waiting for a person's checkout of base to be clean.
    Paused(Box<Queued>),
}

impl Batch<'_> {
    /// The merge queue's step for one branch: merge with the base tip in memory, gate exactly that
    /// commit, and move base to it by compare-and-swap.
    pub(super) fn land(&mut self, item: Queued) -> Result<LandResult> {
        let task = self.store.task(&item.attempt.task)?;
        if task.status != TaskStatus::NeedsReview {
            // Blocked by hand while it waited: it stays so, its branch kept.
            return Ok(LandResult::Settled(task.id));
        }
        let worktree = self.worktrees[item.worker].clone();
        let mut gated_before = false;
        loop {
            let Some(tip) = self.base_tip()? else {
                // Base moved in a way nobody explains: the branch waits in review.
                return Ok(LandResult::Settled(task.id));
            };
            let message = format!(
                "Land {}: {}\n\nVane-Task: {}\nVane-Attempt: {}",
                task.id, task.title, task.id, item.attempt.number
            );
            let merge = match self.git.merge_in_memory(&tip, &item.head, &message)? {
                MergeOutcome::Merged { tree, .. } if tree == self.git.tree_of(&tip)? => {
                    // The branch adds nothing over base (an agent that reset it behind base, or
                    // undid its own change): nothing to land, and the task is not done.
                    self.reject(
                        &item.attempt,
                        "unchanged",
                        "the branch adds nothing over the base branch (was it reset to an older commit?); the task's change is still to be made",
                    )?;
                    return Ok(LandResult::Settled(task.id));
                }
                MergeOutcome::Merged { commit, .. } => commit,
                MergeOutcome::Conflict { paths } => {
                    let feedback = format!(
                        "merging with the base branch conflicts in: {}; start again from the new base",
                        paths.join(", ")
                    );
                    self.reject(&item.attempt, "conflict", &feedback)?;
                    return Ok(LandResult::Settled(task.id));
                }
            };
            failpoint::hit("before_gates");
            (self.progress)(Progress::Gating {
                task: task.id.clone(),
            });
            if item.fresh && !gated_before {
                self.git.switch_detached(&worktree, &merge)?;
            } else {
                // Recovered, or gated before in this worktree (gates may leave files behind).
                self.git.ensure_worktree(&worktree, &merge)?;
                self.git.checkout_detached(&worktree, &merge)?;
                // The clean took untracked included files away; the gates run beside them, as
                // the agent did.
                self.bootstrap.copy_includes(&worktree)?;
            }
            gated_before = true;
            let verdict = self.run_gates(&task, &item.attempt, &worktree, &merge, &tip)?;
            if agent::interrupted() {
                // A gate stopped by the interrupt says nothing about the branch: it stays in review.
                return Err(OrchestratorError::Interrupted);
            }
            if let Some(report) = verdict {
                let feedback = report.feedback();
                if let Some(halt) =
                    self.base_fails_too(&task, &item.attempt, &report, &worktree, &tip)?
                {
                    // The gate or the base is broken, not the task: it stays in review, its
                    // branch kept, and the batch starts nothing more.
                    self.halted = Some(halt);
                    return Ok(LandResult::Settled(task.id));
                }
                self.reject(&item.attempt, "gate_failed", &feedback)?;
                return Ok(LandResult::Settled(task.id));
            }
            if self.store.approval(&task.id)?.as_deref()
                != Some(crate::orchestrator::approval::APPROVED)
            {
                let touched =
                    crate::orchestrator::protected::touched(self.git, self.config, &tip, &merge)?;
                if !touched.is_empty() {
                    // Gated, but the checks themselves changed: a person decides.
                    crate::orchestrator::approval::wait_for_person(
                        self.store, &task.id, &tip, &merge, &touched,
                    )?;
                    (self.progress)(Progress::AwaitingApproval {
                        task: task.id.clone(),
                        paths: touched,
                    });
                    return Ok(LandResult::Settled(task.id));
                }
            }
            let checkouts = self.git.checkout_paths_of(self.base)?;
            let mut blocked_checkout = None;
            for checkout in &checkouts {
                if !self.git.checkout_can_follow(checkout, &tip, &merge)? {
                    blocked_checkout = Some(checkout.clone());
                    break;
                }
            }
            if let Some(dirty) = &blocked_checkout {
                if self.paused_on.as_ref() != Some(dirty) {
                    (self.progress)(Progress::Paused {
                        checkout: dirty.clone(),
                    });
                    self.paused_on = Some(dirty.clone());
                }
                return Ok(LandResult::Paused(Box::new(item)));
            }
            self.paused_on = None;
            let base_ref = format!("refs/heads/{}", self.base);
            let intent = self.store.record_ref_intent(
                &base_ref,
                &tip,
                &merge,
                "land",
                Some(&item.attempt),
                None,
            )?;
            failpoint::hit("after_ref_intent");
            match self.git.update_ref(
                &base_ref,
                &merge,
                Some(&tip),
                &format!("vane: land {}", task.id),
            ) {
                Ok(()) => {}
                Err(crate::git::GitError::RefMoved { .. }) => {
                    // Base moved under us (a person committed): merge and gate again.
                    self.store.abandon_ref_move(intent.id)?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            failpoint::hit("after_ref_move");
            self.expected_tip = merge.clone();
            for checkout in &checkouts {
                self.bring_checkout_along(checkout, &tip, &merge)?;
            }
            failpoint::hit("after_checkout_advance");
            let checkpoint = self.store.record_landing(&intent, self.correlation)?;
            failpoint::hit("after_landing");
            self.git.update_ref(
                &checkpoint_ref(checkpoint.id),
                &merge,
                None,
                "vane: checkpoint",
            )?;
            failpoint::hit("after_checkpoint_ref");
            (self.progress)(Progress::Landed {
                task: task.id.clone(),
                sha: merge.clone(),
                checkpoint: checkpoint.id,
            });
            self.summary.landed.push(Landing {
                task: task.id.clone(),
                sha: merge,
                checkpoint: checkpoint.id,
            });
            return Ok(LandResult::Settled(task.id));
        }
    }

    /// Brings a person's checkout of base from `old` to `new`, the intent written down first so
    /// that a crash midway is finished by the next run. A change the person made at that moment
    /// makes it refuse, changing nothing; a failure underneath (a full disk) leaves the intent
    /// open for the next run. Either way the person is told, and the batch goes on.
    fn bring_checkout_along(&mut self, checkout: &Path, old: &str, new: &str) -> Result<()> {
        let intent = self.store.record_checkout_move(checkout, old, new)?;
        match self.git.bring_checkout_along(checkout, old, new) {
            Ok(()) => self.store.finish_checkout_move(intent.id, true)?,
            Err(e) => {
                let in_the_way = matches!(e, crate::git::GitError::CheckoutInTheWay { .. });
                if in_the_way {
                    self.store.finish_checkout_move(intent.id, false)?;
                }
                tracing::warn!(checkout = %checkout.display(), error = %e, "checkout not brought along");
                (self.progress)(Progress::CheckoutBehind {
                    checkout: checkout.to_path_buf(),
                    old: old.to_string(),
                    new: new.to_string(),
                    reason: e.to_string(),
                    resumable: !in_the_way,
                });
            }
        }
        Ok(())
    }

    /// After a candidate failed its gates: whether the unchanged base fails every command gate the
    /// candidate failed, in exactly the same way (the same output, numbers set aside): then the
    /// task changed nothing the gate looks at, and the gate or the base is broken (a program that
    /// is not installed, a test that fails on base). Each base tree is gated once; the verdicts are
    /// cached by tree. Returns the error that halts the batch, or None when the task is to blame.
    /// A gate that fails on base differently (it checks for what the task was to add) is the
    /// task's to pass.
    fn base_fails_too(
        &mut self,
        task: &Task,
        attempt: &Attempt,
        candidate: &gates::GateReport,
        worktree: &Path,
        tip: &str,
    ) -> Result<Option<OrchestratorError>> {
        let failed: Vec<&gates::GateResult> = candidate
            .gates
            .iter()
            .filter(|g| !g.record.passed)
            .collect();
        let mut config = self.config.clone();
        config
            .gates
            .retain(|g| g.command.is_some() && failed.iter().any(|f| f.record.gate == g.name));
        // A critic failing, or a candidate short only on the overall score: the task's to answer.
        if config.gates.is_empty() || config.gates.len() != failed.len() {
            return Ok(None);
        }
        self.git.ensure_worktree(worktree, tip)?;
        self.git.checkout_detached(worktree, tip)?;
        self.bootstrap.copy_includes(worktree)?;
        let log_dir = self.state_dir.join("runs").join("base").join(tip);
        let report = gates::run_gates(
            self.git,
            self.store,
            &config,
            &gates::Candidate {
                task: None,
                attempt: None,
                worktree,
                commit: Some(tip),
                base: tip,
                log_dir: log_dir.clone(),
            },
        )?;
        // Recorded once per tree, for the cache; a verdict taken from it is not a new result.
        let fresh: Vec<_> = report
            .records()
            .into_iter()
            .filter(|r| r.cached_from.is_none())
            .collect();
        if !fresh.is_empty() {
            self.store
                .record_gate_results(None, None, &fresh, report.decision.overall)?;
        }
        let same_failure = failed.iter().all(|theirs| {
            report.gates.iter().any(|ours| {
                ours.record.gate == theirs.record.gate
                    && !ours.record.passed
                    && failure_shape(ours.record.log_path.as_deref())
                        == failure_shape(theirs.record.log_path.as_deref())
            })
        });
        if !same_failure {
            return Ok(None);
        }
        let failing: Vec<String> = failed.iter().map(|g| g.record.gate.clone()).collect();
        let output = failing
            .iter()
            .map(|name| gates::tail_text(&log_dir.join(format!("gate-{name}.log")), 10))
            .collect::<Vec<_>>()
            .join("\n");
        tracing::warn!(task = %task.id, attempt = attempt.number, gates = ?failing, "the base fails the gates too");
        Ok(Some(OrchestratorError::BrokenGate {
            gates: failing,
            task: task.id.clone(),
            output,
        }))
    }

    /// Runs the configured gates in the worktree holding the merge result and records every
    /// result; the feedback for the next attempt when the candidate falls short, None when it passed.
    fn run_gates(
        &mut self,
        task: &Task,
        attempt: &Attempt,
        worktree: &Path,
        merge: &str,
        tip: &str,
    ) -> Result<Option<gates::GateReport>> {
        if self.config.gates.is_empty() {
            return Ok(None);
        }
        let log_dir = self
            .state_dir
            .join("runs")
            .join(task.id.as_str())
            .join(attempt.number.to_string());
        let report = gates::run_gates(
            self.git,
            self.store,
            self.config,
            &gates::Candidate {
                task: Some(task),
                attempt: Some(attempt),
                worktree,
                commit: Some(merge),
                base: tip,
                log_dir,
            },
        )?;
        self.store.record_gate_results(
            Some(&task.id),
            Some(attempt.id),
            &report.records(),
            report.decision.overall,
        )?;
        Ok((!report.decision.passed).then_some(report))
    }
}

/// A gate's log as evidence of how it failed, with numbers set aside (durations, counts and
/// addresses differ from run to run even when nothing else does).
fn failure_shape(log: Option<&str>) -> String {
    let text = log
        .map(|path| gates::tail_text(Path::new(path), 40))
        .unwrap_or_default();
    let mut shape = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                shape.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            shape.push(c);
        }
    }
    shape
}
