//! The coordinator's part in remote work: which executor a task goes to, handing a job to a
//! local thread or the runner, taking back the jobs an earlier run published, and what becomes of
//! a job's refs once its attempt is recorded, or of refs that match no job.

use std::collections::VecDeque;

use super::runner::{Order, RemoteEvent, Runner};
use super::{ref_key, Executor};
use crate::config::Config;
use crate::git::Git;
use crate::model::{AttemptOutcome, Task, TaskId};
use crate::orchestrator::work::worker_pool::{Job, Pool};
use crate::orchestrator::work::{Batch, Progress, WorkOptions};
use crate::orchestrator::{OrchestratorError, Result};
use crate::store::{Attempt, AttemptResult, Store};

/// The executors of a batch: the one `--executor` names, those routes name, and those of jobs an
/// earlier run published, each resolved once.
pub(in crate::orchestrator::work) struct BatchExecutors {
    pub(in crate::orchestrator::work) executors: Vec<Executor>,
    /// The index of `--executor`'s.
    pub(in crate::orchestrator::work) batch: Option<usize>,
}

/// Resolves the executors a batch may use; an unknown name is refused before anything starts.
pub(in crate::orchestrator::work) fn batch_executors(
    git: &Git,
    config: &Config,
    options: &WorkOptions,
    store: &Store,
) -> Result<BatchExecutors> {
    let mut names: Vec<String> = Vec::new();
    names.extend(options.executor.clone());
    names.extend(config.routes.iter().filter_map(|r| r.executor.clone()));
    for (_, job) in store.open_remote_jobs()? {
        if config.executor(&job.executor).is_some() {
            names.push(job.executor);
        }
    }
    let mut executors: Vec<Executor> = Vec::new();
    for name in names {
        if executors.iter().all(|e| e.name != name) {
            executors.push(Executor::resolve(&name, config, git)?);
        }
    }
    let batch = options
        .executor
        .as_ref()
        .and_then(|name| executors.iter().position(|e| e.name == *name));
    Ok(BatchExecutors { executors, batch })
}

impl Batch<'_> {
    /// The executor `task` runs on: its route's, else the batch's; None for a local thread.
    pub(in crate::orchestrator::work) fn executor_for(&self, task: &Task) -> Option<usize> {
        let routed = match self.config.route(task).1 {
            crate::routing::Choice::Route { index, .. } => self
                .config
                .routes
                .get(index)
                .and_then(|r| r.executor.as_deref())
                .and_then(|name| self.executors.iter().position(|e| e.name == name)),
            _ => None,
        };
        routed.or(self.batch_executor)
    }

    /// The executor of `slot`, when a remote worker runs it.
    pub(in crate::orchestrator::work) fn slot_executor(&self, slot: usize) -> Option<&Executor> {
        self.slots
            .get(slot)
            .copied()
            .flatten()
            .and_then(|e| self.executors.get(e))
    }

    /// Sends a claimed job to its slot: a local thread, or the runner.
    pub(in crate::orchestrator::work) fn hand_out(
        &self,
        workers: &Pool,
        runner: Option<&Runner>,
        slot: usize,
        job: Job,
    ) -> Result<()> {
        match (self.slots.get(slot).copied().flatten(), runner) {
            (Some(executor), Some(runner)) => runner
                .orders
                .send(Order::Dispatch {
                    slot,
                    executor,
                    attempt: job.attempt,
                    work: Box::new(job.work),
                    setup: self.config.setup.clone(),
                })
                .map_err(|_| OrchestratorError::WorkerGone(slot + 1)),
            _ => workers
                .job_senders
                .get(slot)
                .ok_or(OrchestratorError::WorkerGone(slot + 1))?
                .send(job)
                .map_err(|_| OrchestratorError::WorkerGone(slot + 1)),
        }
    }

    /// Hands the runner the jobs an earlier run published and did not collect, each in a slot of
    /// its executor (beyond `max_jobs` when there are more); returns their tasks. A job whose
    /// executor vane.toml no longer defines is recorded lost.
    pub(in crate::orchestrator::work) fn adopt(
        &mut self,
        runner: &Runner,
        idle: &mut VecDeque<usize>,
    ) -> Result<Vec<TaskId>> {
        let mut adopted = Vec::new();
        for (attempt, job) in self.store.open_remote_jobs()? {
            let Some(executor) = self.executors.iter().position(|e| e.name == job.executor) else {
                let reason = format!(
                    "its job was published to executor `{}`, which vane.toml no longer defines",
                    job.executor
                );
                self.store.release_attempt(
                    &attempt,
                    &AttemptResult {
                        feedback: Some(reason.clone()),
                        ..AttemptResult::new(AttemptOutcome::Lost)
                    },
                    &reason,
                )?;
                self.store.settle_remote_job(attempt.id, "lost", None)?;
                continue;
            };
            let slot = match idle.iter().position(|s| self.slots[*s] == Some(executor)) {
                Some(at) => idle.remove(at).unwrap_or(at),
                None => {
                    self.slots.push(Some(executor));
                    self.slots.len() - 1
                }
            };
            let run_dir = self
                .state_dir
                .join("runs")
                .join(attempt.task.as_str())
                .join(attempt.number.to_string());
            tracing::info!(task = %attempt.task, attempt = attempt.number, "collecting the result of a job an earlier run published");
            adopted.push(attempt.task.clone());
            runner
                .orders
                .send(Order::Adopt {
                    slot,
                    executor,
                    attempt,
                    job,
                    run_dir,
                })
                .map_err(|_| OrchestratorError::WorkerGone(slot + 1))?;
        }
        Ok(adopted)
    }

    /// Once a remote attempt is recorded: its job marked collected or lost, and its refs cleared
    /// away on the remote.
    pub(in crate::orchestrator::work) fn settle_remote(
        &mut self,
        runner: &Runner,
        executor: usize,
        attempt: &Attempt,
        outcome: AttemptOutcome,
        result_commit: Option<String>,
    ) -> Result<()> {
        let state = if result_commit.is_some() {
            "collected"
        } else {
            "lost"
        };
        if outcome == AttemptOutcome::Interrupted {
            return Ok(());
        }
        self.store
            .settle_remote_job(attempt.id, state, result_commit.as_deref())?;
        let _ = runner.orders.send(Order::Forget {
            executor,
            task: attempt.task.clone(),
            attempt: attempt.number,
        });
        Ok(())
    }

    /// What the runner found besides results: refs no waiting job explains (cleared away when
    /// they are this repository's own, of an attempt already recorded; refused otherwise), and
    /// results it refused.
    pub(in crate::orchestrator::work) fn remote_event(
        &mut self,
        runner: &Runner,
        event: RemoteEvent,
    ) -> Result<()> {
        match event {
            RemoteEvent::Unmatched {
                executor,
                refname,
                sha,
            } => {
                let is_result = refname.starts_with("refs/vane/results/");
                let Some((task, number)) = ref_key(&refname) else {
                    return Ok(());
                };
                let attempt = self.store.attempt_numbered(&task, number)?;
                let job = match &attempt {
                    Some(a) => self.store.remote_job(a.id)?,
                    None => None,
                };
                let refuse = |reason: String| Order::Refuse {
                    executor,
                    refname: refname.clone(),
                    sha: sha.clone(),
                    reason,
                };
                let order = match (attempt, job) {
                    // Still open: the runner waits for it (or is about to).
                    (Some(a), Some(_)) if a.outcome.is_none() => None,
                    (Some(a), Some(job)) => {
                        let ours = !is_result || job.result_sha.as_deref() == Some(sha.as_str());
                        if ours {
                            Some(Order::Forget {
                                executor,
                                task: task.clone(),
                                attempt: a.number,
                            })
                        } else if is_result {
                            Some(refuse(format!(
                                "attempt {number} of `{task}` is over ({}); no result of it is waited for",
                                job.state
                            )))
                        } else {
                            None
                        }
                    }
                    (Some(_), None) if is_result => Some(refuse(format!(
                        "attempt {number} of `{task}` ran on this machine, not on a remote worker"
                    ))),
                    (None, _) if is_result => Some(refuse(match self.store.task(&task) {
                        Ok(_) => format!("`{task}` has no attempt {number}"),
                        Err(_) => format!("there is no task `{task}`"),
                    })),
                    // A job ref this repository never wrote: someone else's, left alone.
                    _ => None,
                };
                if let Some(order) = order {
                    let _ = runner.orders.send(order);
                }
            }
            RemoteEvent::Refused {
                remote,
                refname,
                sha,
                kept_as,
                reason,
            } => {
                self.store.record_refused_result(
                    &remote,
                    &refname,
                    &sha,
                    kept_as.as_deref(),
                    &reason,
                )?;
                (self.progress)(Progress::ResultRefused {
                    refname,
                    reason,
                    kept_as,
                });
            }
        }
        Ok(())
    }
}
