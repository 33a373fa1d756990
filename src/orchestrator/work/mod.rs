//! `vane work`: one batch. Workers run agents in their own worktrees; the coordinator (this thread)
//! owns the database, hands out ready tasks, and lands finished branches through the merge queue one
//! at a time, moving base only by compare-and-swap after the gates passed on exactly that tree.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::bootstrap::Bootstrap;
use super::failpoint;

use super::lock::WorkLock;

use super::recovery;
use super::{OrchestratorError, Result};
use crate::agent;
use crate::config::Config;
use crate::git::Git;
use crate::model::{TaskId, TaskStatus};

use crate::store::{batch_correlation, Attempt, Store, TaskFilter};
use crate::workspace::{self, Workspace};

mod landing;
mod scheduler;
mod worker_pool;

use landing::{LandResult, Queued};
use scheduler::{has_work, schedule, select};
use worker_pool::{run_job, Done, Job, Pool};

/// What `vane work` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct WorkOptions {
    pub workers: Option<usize>,
    /// Only these tasks and what they need; all when empty.
    pub tasks: Vec<TaskId>,
    pub max_tasks: Option<usize>,
    pub dry_run: bool,
}

/// Something worth telling the person watching.
#[derive(Debug, Clone)]
pub enum Progress {
    Recovered {
        abandoned: usize,
        landings_completed: usize,
        /// Processes a dead run left running, stopped.
        stopped: usize,
        /// Worktrees that were not this repository's any more, removed to be made again.
        worktrees_removed: usize,
    },
    BatchStarted {
        batch: i64,
        base: String,
        tip: String,
        workers: usize,
        ready: usize,
    },
    Started {
        worker: usize,
        task: TaskId,
        title: String,
        profile: String,
        attempt: u32,
    },
    AgentDone {
        worker: usize,
        task: TaskId,
        outcome: String,
        seconds: f64,
    },
    Gating {
        task: TaskId,
    },
    Landed {
        task: TaskId,
        sha: String,
        checkpoint: i64,
    },
    Rejected {
        task: TaskId,
        reason: String,
        retry: bool,
    },
    Blocked {
        task: TaskId,
        reason: String,
    },
    /// vane.toml has no `[[gate]]`: whatever an agent leaves lands unchecked.
    NoGates,
    /// Confinement is asked for, but this kernel cannot confine; the portable checks hold alone.
    Unconfined {
        why: String,
    },
    /// A candidate passed its gates but changes a protected path: it waits for `vane approve`.
    AwaitingApproval {
        task: TaskId,
        paths: Vec<String>,
    },
    /// vane could not run an attempt (its own failure, or the environment's); the task is pending
    /// again and nothing was charged.
    Fault {
        task: TaskId,
        reason: String,
    },
    Paused {
        checkout: PathBuf,
    },
    /// Base moved, but a person's checkout of it changed at that moment and was left as it was.
    CheckoutBehind {
        checkout: PathBuf,
        old: String,
        new: String,
        /// Why, in git's words or the file system's.
        reason: String,
        /// Whether the next `vane work` finishes it (a failure underneath), rather than the person
        /// (a change of theirs in the way).
        resumable: bool,
    },
}

/// How a batch ended.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkSummary {
    pub batch: Option<i64>,
    pub base: String,
    pub landed: Vec<Landing>,
    pub needs_improvement: Vec<TaskId>,
    /// Tasks this batch blocked, with the reason.
    pub blocked: Vec<(TaskId, String)>,
    /// Selected tasks that are neither done nor blocked when the batch ends.
    pub left: Vec<TaskId>,
    /// The order a dry run would start the ready tasks in.
    pub schedule: Vec<TaskId>,
    pub seconds: f64,
    pub cost_usd: f64,
}

impl WorkSummary {
    /// Whether every selected task landed.
    pub fn all_landed(&self) -> bool {
        self.blocked.is_empty() && self.left.is_empty() && self.needs_improvement.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Landing {
    pub task: TaskId,
    pub sha: String,
    pub checkpoint: i64,
}

/// The outcome of an attempt that vane or its environment cut short; never charged to the task.
pub(crate) const VANE_ERROR: &str = "vane_error";

/// Where a worker writes its agent's process group, in the attempt's run directory (see
/// `agent::strays`).
pub(crate) const AGENT_PID_FILE: &str = "agent.pid";

/// After this many attempts that vane itself could not run in one batch, the batch stops starting
/// new ones: the trouble is the machine's or vane's, and every further attempt would meet it too.
const FAULTS_BEFORE_STOPPING: usize = 3;

/// Runs one batch to its end.
pub fn work(
    workspace: &mut Workspace,
    config: &Config,
    options: &WorkOptions,
    progress: &dyn Fn(Progress),
) -> Result<WorkSummary> {
    let started = Instant::now();
    let state_dir = workspace::state_dir(&workspace.location);
    let git = Git::open(&workspace.location.workdir)?;
    let base = super::base_branch(workspace, config)?;
    let tip = git
        .branch_tip(&base)?
        .ok_or_else(|| OrchestratorError::NoBaseBranch(base.clone()))?;
    let bootstrap = Bootstrap {
        checkout: workspace.location.workdir.clone(),
        include: config.include.clone(),
        setup: config.setup.clone(),
        setup_dir: state_dir.join("runs").join("setup"),
        log_limit: config.log_limit(),
    };
    bootstrap.refuse_tracked(&git, &tip)?;
    let selection = select(&workspace.store, &options.tasks)?;
    if options.dry_run {
        let schedule = schedule(&workspace.store, selection.as_ref())?;
        return Ok(WorkSummary {
            base,
            schedule,
            ..WorkSummary::default()
        });
    }

    let _lock = WorkLock::acquire(&state_dir, "vane work")?;
    let worktree_root = workspace::worktree_root(workspace, config);
    refuse_root_in_a_repository(&worktree_root)?;
    let recovered = recovery::recover(
        &mut workspace.store,
        &git,
        &base,
        &worktree_root,
        &config.include,
        &state_dir.join("runs"),
    )?;
    if recovered.abandoned > 0
        || recovered.landings_completed > 0
        || recovered.stopped > 0
        || recovered.worktrees_removed > 0
    {
        progress(Progress::Recovered {
            abandoned: recovered.abandoned,
            landings_completed: recovered.landings_completed,
            stopped: recovered.stopped,
            worktrees_removed: recovered.worktrees_removed,
        });
    }
    for (checkout, clean) in git.checkouts_of(&base)? {
        if !clean {
            return Err(OrchestratorError::DirtyBase {
                branch: base,
                checkout,
            });
        }
    }
    let tip = git.branch_tip(&base)?.unwrap_or(tip);
    if !has_work(&workspace.store, selection.as_ref())? {
        // Nothing to start, retry or land: no batch, no checkpoint.
        let mut summary = WorkSummary {
            base,
            seconds: started.elapsed().as_secs_f64(),
            ..WorkSummary::default()
        };
        finish_summary(&mut workspace.store, &mut summary, selection.as_ref())?;
        return Ok(summary);
    }
    // A profile that cannot start or a gate whose program is missing would fail every attempt:
    // refused before any is charged.
    super::preflight::refuse_unrunnable(workspace, config)?;
    let store = &mut workspace.store;
    let batch = store.start_batch(&base)?;
    let correlation = batch_correlation(batch);
    let checkpoint = store.add_checkpoint("batch_start", None, &tip, &correlation, None)?;
    git.update_ref(&checkpoint.refname, &tip, None, "vane: batch start")?;

    if config.gates.is_empty() {
        progress(Progress::NoGates);
    }
    if config.confine {
        if let Some(why) = agent::confine::unconfined_notice() {
            progress(Progress::Unconfined { why });
        }
    }
    let workers = options.workers.unwrap_or(config.workers).max(1);
    progress(Progress::BatchStarted {
        batch,
        base: base.clone(),
        tip: tip.clone(),
        workers,
        ready: store.ready_tasks()?.len(),
    });

    let mut run = Batch {
        store,
        git: &git,
        config,
        bootstrap: &bootstrap,
        state_dir: &state_dir,
        base: &base,
        correlation: &correlation,
        progress,
        worktrees: (1..=workers)
            .map(|i| worktree_root.join(format!("w{i}")))
            .collect(),
        summary: WorkSummary {
            batch: Some(batch),
            base: base.clone(),
            ..WorkSummary::default()
        },
        paused_on: None,
        faults: Vec::new(),
        halted: None,
        expected_tip: tip.clone(),
        guarded: std::sync::Arc::new(crate::orchestrator::guard::Guarded::capture(&git)?),
    };
    let outcome = run.drive(batch, selection.as_ref(), options.max_tasks);
    let mut summary = run.summary;
    summary.seconds = started.elapsed().as_secs_f64();
    finish_summary(&mut workspace.store, &mut summary, selection.as_ref())?;
    let label = if outcome.is_ok() {
        "finished"
    } else {
        "failed"
    };
    workspace.store.finish_batch(
        batch,
        label,
        serde_json::json!({
            "landed": summary.landed.len(),
            "blocked": summary.blocked.len(),
            "left": summary.left.len(),
        }),
    )?;
    outcome.map(|()| summary)
}

/// The coordinator's state for one batch.
pub(super) struct Batch<'a> {
    store: &'a mut Store,
    git: &'a Git,
    config: &'a Config,
    bootstrap: &'a Bootstrap,
    state_dir: &'a Path,
    base: &'a str,
    correlation: &'a str,
    progress: &'a dyn Fn(Progress),
    worktrees: Vec<PathBuf>,
    summary: WorkSummary,
    /// The dirty checkout of base that merging waits for, once reported.
    paused_on: Option<PathBuf>,
    /// Attempts vane could not run in this batch, with why; their tasks wait for the next batch.
    faults: Vec<(TaskId, String)>,
    /// Why the batch stopped starting attempts early (a broken gate), if it did.
    halted: Option<OrchestratorError>,
    /// Where base should be: the batch's start, then each landing's merge, or a person's move.
    expected_tip: String,
    /// The repository's config and hooks as the batch found them.
    guarded: std::sync::Arc<crate::orchestrator::guard::Guarded>,
}

impl Batch<'_> {
    fn drive(
        &mut self,
        batch: i64,
        selection: Option<&HashSet<TaskId>>,
        max_tasks: Option<usize>,
    ) -> Result<()> {
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let mut pool = Pool {
            job_senders: Vec::new(),
            handles: Vec::new(),
            done_rx,
            in_flight: 0,
        };
        for (index, path) in self.worktrees.iter().enumerate() {
            let (job_tx, job_rx) = mpsc::channel::<Job>();
            pool.job_senders.push(job_tx);
            let done_tx = done_tx.clone();
            let git = self.git.clone();
            let bootstrap = self.bootstrap.clone();
            let path = path.clone();
            pool.handles.push(std::thread::spawn(move || {
                for job in job_rx {
                    let done = run_job(&git, &bootstrap, index, &path, job);
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            }));
        }
        drop(done_tx);
        let result = self.coordinate(&mut pool, batch, selection, max_tasks);
        if result.is_err() && pool.in_flight > 0 {
            // vane never leaves agents running behind it: stop them as an interrupt would, and
            // wait for their workers. Their attempts stay open; the next run records them as
            // abandoned, uncharged, and keeps what they left on their branches.
            agent::request_stop();
            while pool.in_flight > 0 && pool.done_rx.recv_timeout(Duration::from_secs(60)).is_ok() {
                pool.in_flight -= 1;
            }
        }
        pool.job_senders.clear();
        for handle in pool.handles.drain(..) {
            let _ = handle.join();
        }
        result?;
        match self.halted.take() {
            Some(halt) => Err(halt),
            None if self.faults.len() >= FAULTS_BEFORE_STOPPING => {
                Err(OrchestratorError::Faults(self.faults.clone()))
            }
            None => Ok(()),
        }
    }

    /// The coordinator's loop: hands out ready work, takes in the workers' reports, and lands
    /// finished branches, until nothing is ready or running. Stops starting attempts once the batch
    /// is halted (a broken gate) or vane itself failed too often.
    fn coordinate(
        &mut self,
        pool: &mut Pool,
        batch: i64,
        selection: Option<&HashSet<TaskId>>,
        max_tasks: Option<usize>,
    ) -> Result<()> {
        let mut queue: VecDeque<Queued> = self.recovered_reviews()?;
        // Branches recovered from an earlier run are gated in the first worktree: keep it for them.
        let mut idle: VecDeque<usize> = (0..self.worktrees.len())
            .filter(|w| !queue.iter().any(|q| q.worker == *w))
            .collect();
        let mut running: HashSet<TaskId> = queue.iter().map(|q| q.attempt.task.clone()).collect();
        let mut claimed = 0usize;
        loop {
            if agent::interrupted() {
                // Stop: the running agents are being taken down; what they leave is recovered by
                // the next run (their attempts stay open, their tasks go back to pending).
                while pool.in_flight > 0
                    && pool.done_rx.recv_timeout(Duration::from_secs(60)).is_ok()
                {
                    pool.in_flight -= 1;
                }
                return Err(OrchestratorError::Interrupted);
            }
            let halted = self.halted.is_some() || self.faults.len() >= FAULTS_BEFORE_STOPPING;
            // Hand out ready work first, so that idle workers never wait for the merge queue.
            let may_claim = !halted && max_tasks.is_none_or(|max| claimed < max);
            if may_claim && !idle.is_empty() {
                let candidates = self.candidates(selection, &running)?;
                for task in candidates {
                    if idle.is_empty() || max_tasks.is_some_and(|max| claimed >= max) {
                        break;
                    }
                    let worker = idle.pop_front().expect("checked not empty");
                    match self.start(batch, worker, &task)? {
                        Some(job) => {
                            running.insert(task.id.clone());
                            claimed += 1;
                            pool.in_flight += 1;
                            pool.job_senders[worker]
                                .send(job)
                                .map_err(|_| OrchestratorError::WorkerGone(worker + 1))?;
                        }
                        None => idle.push_front(worker),
                    }
                }
            }
            if pool.in_flight == 0 && (queue.is_empty() || self.halted.is_some()) {
                return Ok(());
            }
            // Then land one branch; the next turn of the loop hands its worker new work, and
            // starts the tasks that the landing made ready.
            let mut paused = false;
            let mut settled = false;
            if self.halted.is_none() {
                if let Some(item) = queue.pop_front() {
                    let worker = item.worker;
                    match self.land(item)? {
                        LandResult::Settled(task) => {
                            settled = true;
                            running.remove(&task);
                            // A worktree that another queued branch is to be gated in stays
                            // reserved.
                            if !idle.contains(&worker) && !queue.iter().any(|q| q.worker == worker)
                            {
                                idle.push_back(worker);
                            }
                        }
                        LandResult::Paused(item) => {
                            queue.push_front(*item);
                            paused = true;
                        }
                    }
                }
            }
            let wait = if paused {
                Duration::from_secs(2)
            } else if settled || (!queue.is_empty() && self.halted.is_none()) {
                // A worker came free and tasks may have become ready, or more waits to land: only
                // take in the reports that are already there, then go round again.
                Duration::ZERO
            } else {
                Duration::from_secs(3600)
            };
            match pool.done_rx.recv_timeout(wait) {
                Ok(_) if agent::interrupted() => pool.in_flight -= 1,
                Ok(done) => {
                    pool.in_flight -= 1;
                    if let Some(item) = self.finished(done, &mut idle, &mut running)? {
                        queue.push_back(item);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(OrchestratorError::WorkerGone(0));
                }
            }
        }
    }

    /// Tasks in needs_review when the batch starts were finished by an earlier run that stopped
    /// before landing them: queue them again, gated in the first worktree.
    fn recovered_reviews(&mut self) -> Result<VecDeque<Queued>> {
        let mut queue = VecDeque::new();
        for task in self.store.tasks(&TaskFilter {
            statuses: vec![TaskStatus::NeedsReview],
            parent: None,
        })? {
            if self.store.approval(&task.id)?.as_deref() == Some(super::approval::WAITING) {
                // A person's to decide (`vane approve` or `vane reject`).
                continue;
            }
            let attempt = self.store.attempts(&task.id)?.pop();
            match (attempt, &task.head_sha) {
                (Some(attempt), Some(head)) => queue.push_back(Queued {
                    attempt,
                    head: head.clone(),
                    worker: 0,
                    fresh: false,
                }),
                _ => {
                    self.store
                        .give_up(&task.id, "in review with no recorded attempt")?;
                }
            }
        }
        Ok(queue)
    }

    /// Records a worker's report; returns the branch to queue when the agent left a change.
    fn finished(
        &mut self,
        done: Done,
        idle: &mut VecDeque<usize>,
        running: &mut HashSet<TaskId>,
    ) -> Result<Option<Queued>> {
        failpoint::hit("after_agent");
        let run_dir = self
            .state_dir
            .join("runs")
            .join(done.attempt.task.as_str())
            .join(done.attempt.number.to_string());
        crate::orchestrator::hooks::import_inbox(self.store, &done.attempt, &run_dir)?;
        self.summary.cost_usd += done.result.cost_usd.unwrap_or(0.0);
        (self.progress)(Progress::AgentDone {
            worker: done.worker + 1,
            task: done.attempt.task.clone(),
            outcome: done.result.outcome.clone(),
            seconds: done.seconds,
        });
        if self.store.task(&done.attempt.task)?.status != TaskStatus::InProgress {
            // A person moved the task while its agent ran (`vane task block`): their move stands,
            // and the agent's work stays on the task branch.
            self.store
                .record_attempt_only(&done.attempt, &done.result)?;
            running.remove(&done.attempt.task);
            idle.push_back(done.worker);
            return Ok(None);
        }
        if !done.result.charged {
            let reason = done
                .result
                .feedback
                .clone()
                .unwrap_or_else(|| done.result.outcome.clone());
            self.store
                .release_attempt(&done.attempt, &done.result, &reason)?;
            running.remove(&done.attempt.task);
            idle.push_back(done.worker);
            (self.progress)(Progress::Fault {
                task: done.attempt.task.clone(),
                reason: reason.clone(),
            });
            // Not tried again in this batch: the next `vane work` will, once the trouble is gone.
            self.faults.push((done.attempt.task.clone(), reason));
            return Ok(None);
        }
        if done.changed {
            let head = done
                .result
                .head_sha
                .clone()
                .expect("a changed attempt has a head");
            self.store.finish_attempt(
                &done.attempt,
                &done.result,
                TaskStatus::NeedsReview,
                None,
            )?;
            failpoint::hit("after_finish");
            return Ok(Some(Queued {
                attempt: done.attempt,
                head,
                worker: done.worker,
                fresh: true,
            }));
        }
        let reason = done
            .result
            .feedback
            .clone()
            .unwrap_or_else(|| done.result.outcome.clone());
        self.store.finish_attempt(
            &done.attempt,
            &done.result,
            TaskStatus::NeedsImprovement,
            Some(&reason),
        )?;
        failpoint::hit("after_finish");
        running.remove(&done.attempt.task);
        idle.push_back(done.worker);
        self.after_rejection(&done.attempt, &reason)?;
        Ok(None)
    }

    /// After a task fell short: blocked when its attempts are used up, otherwise it will be retried.
    fn after_rejection(&mut self, attempt: &Attempt, reason: &str) -> Result<()> {
        let charged = self.store.charged_attempts(&attempt.task)?;
        let retry = charged < self.config.max_attempts;
        (self.progress)(Progress::Rejected {
            task: attempt.task.clone(),
            reason: reason.to_string(),
            retry,
        });
        if !retry {
            self.block(
                &attempt.task,
                &format!("gave up after {charged} attempts; the last: {reason}"),
            )?;
        }
        Ok(())
    }

    fn block(&mut self, task: &TaskId, reason: &str) -> Result<()> {
        self.store.give_up(task, reason)?;
        self.summary
            .blocked
            .push((task.clone(), reason.to_string()));
        (self.progress)(Progress::Blocked {
            task: task.clone(),
            reason: reason.to_string(),
        });
        Ok(())
    }

    /// The base tip, checked against what the batch knows of it: where it started, the landings
    /// it made, and the moves a person made (written down by the `reference-transaction` hook).
    /// A move nothing explains (an agent that went round the hook and the kernel's confinement)
    /// halts the batch with the commit named, and None is returned: nothing is started on, or
    /// landed onto, a tree that no gate passed.
    fn base_tip(&mut self) -> Result<Option<String>> {
        let tip = self
            .git
            .branch_tip(self.base)?
            .ok_or_else(|| OrchestratorError::NoBaseBranch(self.base.to_string()))?;
        if tip == self.expected_tip {
            return Ok(Some(tip));
        }
        let refname = format!("refs/heads/{}", self.base);
        let by_person = crate::orchestrator::hooks::person_moves(self.state_dir, &refname)
            .iter()
            .any(|(_, new)| *new == tip);
        if by_person {
            self.expected_tip = tip.clone();
            return Ok(Some(tip));
        }
        tracing::warn!(tip, expected = %self.expected_tip, "base moved, and nothing explains it");
        if self.halted.is_none() {
            self.halted = Some(OrchestratorError::UnexplainedBaseMove {
                branch: self.base.to_string(),
                expected: self.expected_tip.clone(),
                found: tip,
            });
        }
        Ok(None)
    }

    fn reject(&mut self, attempt: &Attempt, outcome: &str, feedback: &str) -> Result<()> {
        self.store.reject(attempt, outcome, feedback)?;
        self.after_rejection(attempt, feedback)
    }
}

/// Refuses a worktree root inside a repository (the person's working tree, or any other, such as
/// a dotfiles repository in the home directory): an agent's git, or an agent's files, would then
/// reach that repository as soon as anything in a worktree went wrong.
pub(crate) fn refuse_root_in_a_repository(root: &Path) -> Result<()> {
    match workspace::enclosing_repository(root) {
        Some(repository) => Err(OrchestratorError::WorktreeRootInRepository {
            root: crate::git::cli::comparable_path(root),
            repository,
        }),
        None => Ok(()),
    }
}

fn finish_summary(
    store: &mut Store,
    summary: &mut WorkSummary,
    selection: Option<&HashSet<TaskId>>,
) -> Result<()> {
    let landed: HashMap<&TaskId, ()> = summary.landed.iter().map(|l| (&l.task, ())).collect();
    let mut left = Vec::new();
    let mut improving = Vec::new();
    for task in store.tasks(&TaskFilter::default())? {
        if selection.is_some_and(|s| !s.contains(&task.id)) || landed.contains_key(&task.id) {
            continue;
        }
        match task.status {
            // Blocked in this batch: already in the summary; blocked before: a person's call.
            TaskStatus::Done | TaskStatus::Blocked => {}
            TaskStatus::NeedsImprovement => improving.push(task.id),
            _ if task.kind == crate::model::TaskType::Epic => {}
            _ => left.push(task.id),
        }
    }
    summary.left = left;
    summary.needs_improvement = improving;
    Ok(())
}
