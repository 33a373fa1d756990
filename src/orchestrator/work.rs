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
use super::gates;
use super::lock::WorkLock;
use super::profiles;
use super::recovery;
use super::{OrchestratorError, Result};
use crate::agent::{self, Invocation, Profile, TemplateVars};
use crate::config::Config;
use crate::git::{Git, MergeOutcome, RepoLocation};
use crate::model::{Task, TaskId, TaskStatus};
use crate::prompt::{self, EarlierAttempt, LandedDependency, PromptInput};
use crate::store::{
    batch_correlation, checkpoint_ref, Attempt, AttemptResult, Claim, Store, TaskFilter,
};
use crate::workspace::{self, Workspace};

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
pub(super) const VANE_ERROR: &str = "vane_error";

/// The outcome of an attempt stopped because vane was interrupted; never charged to the task.
const INTERRUPTED: &str = "interrupted";

/// Where a worker writes its agent's process group, in the attempt's run directory (see
/// `agent::strays`).
pub(super) const AGENT_PID_FILE: &str = "agent.pid";

/// The message of the commit that keeps what an agent left in a worktree whose `.git` it removed.
const LEFTOVER_AFTER_WRECK: &str =
    "Work left by an attempt that removed its worktree's .git\n\nVane-Leftover: yes";

/// After this many attempts that vane itself could not run in one batch, the batch stops starting
/// new ones: the trouble is the machine's or vane's, and every further attempt would meet it too.
const FAULTS_BEFORE_STOPPING: usize = 3;

/// A task handed to a worker.
struct Job {
    /// The repository's config and hooks as the batch found them, checked after the agent.
    guarded: std::sync::Arc<super::guard::Guarded>,
    attempt: Attempt,
    task: Task,
    profile: Profile,
    base_sha: String,
    run_dir: PathBuf,
    prompt_file: PathBuf,
    prompt: String,
    /// How much of each of the agent's output streams its log keeps.
    log_limit: Option<u64>,
}

/// What a worker reports back.
struct Done {
    worker: usize,
    attempt: Attempt,
    result: AttemptResult,
    changed: bool,
    seconds: f64,
}

/// The worker threads of a batch and what the coordinator knows of them.
struct Pool {
    job_senders: Vec<mpsc::Sender<Job>>,
    handles: Vec<std::thread::JoinHandle<()>>,
    done_rx: mpsc::Receiver<Done>,
    /// Jobs handed to workers whose report has not come back.
    in_flight: usize,
}

/// A finished branch waiting for the merge queue, with the worktree to gate it in.
struct Queued {
    attempt: Attempt,
    head: String,
    worker: usize,
    /// The worker committed every change in the worktree just now, so it holds no untracked
    /// files; false for a branch recovered from an earlier run.
    fresh: bool,
}

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
    let base = base_branch(workspace, config)?;
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
    let worktree_root = worktree_root(workspace, config);
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
        guarded: std::sync::Arc::new(super::guard::Guarded::capture(&git)?),
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
struct Batch<'a> {
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
    guarded: std::sync::Arc<super::guard::Guarded>,
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

    /// Ready tasks and tasks to retry, highest priority first, within the selection.
    fn candidates(
        &mut self,
        selection: Option<&HashSet<TaskId>>,
        running: &HashSet<TaskId>,
    ) -> Result<Vec<Task>> {
        let mut tasks = self.store.ready_task_rows()?;
        tasks.extend(self.store.tasks(&TaskFilter {
            statuses: vec![TaskStatus::NeedsImprovement],
            parent: None,
        })?);
        tasks.retain(|t| {
            !running.contains(&t.id)
                && selection.is_none_or(|s| s.contains(&t.id))
                && !self.faults.iter().any(|(id, _)| *id == t.id)
        });
        tasks.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(b.complexity.cmp(&a.complexity))
                .then(a.created_at.cmp(&b.created_at))
        });
        Ok(tasks)
    }

    /// Claims a task for a worker and prepares its job; None when the task cannot run (it is
    /// blocked with the reason instead).
    fn start(&mut self, batch: i64, worker: usize, task: &Task) -> Result<Option<Job>> {
        let attempts = self.store.attempts(&task.id)?;
        // Only what the agents did counts: attempts vane cut short, and those before a
        // `vane task retry`, do not.
        let charged = self.store.charged_attempts(&task.id)?;
        if charged >= self.config.max_attempts {
            let reason = format!(
                "gave up after {charged} attempts; the last: {}",
                attempts
                    .iter()
                    .rev()
                    .find(|a| a.charged)
                    .and_then(|a| a.feedback.clone())
                    .unwrap_or_else(|| "no details".to_string())
            );
            self.block(&task.id, &reason)?;
            return Ok(None);
        }
        let (chosen, agent_reason) = match (self.config.escalate_after, &self.config.escalate_to) {
            (Some(after), Some(stronger)) if charged >= after => (
                profiles::resolve(self.config, stronger),
                Some(format!(
                    "escalated to `{stronger}`: {charged} earlier attempt{} fell short (escalate_after = {after})",
                    if charged == 1 { "" } else { "s" }
                )),
            ),
            _ => (profiles::for_task(self.config, task), None),
        };
        let profile = match chosen {
            Ok(profile) => profile,
            Err(e) => {
                self.block(&task.id, &e.to_string())?;
                return Ok(None);
            }
        };
        if profile.name == "shell" && task.run.is_none() {
            self.block(
                &task.id,
                "the shell agent runs a task's `run` command, and this task has none",
            )?;
            return Ok(None);
        }
        let Some(base_sha) = self.base_tip()? else {
            return Ok(None);
        };
        // The event of the claim says why this attempt, and why its agent (so `vane task show`
        // and `vane events` show an escalation).
        let note = match (&agent_reason, attempts.is_empty()) {
            (Some(reason), _) => Some(format!(
                "retrying with the feedback of the last attempt; {reason}"
            )),
            (None, false) => Some("retrying with the feedback of the last attempt".to_string()),
            (None, true) => None,
        };
        let worker_name = format!("w{}", worker + 1);
        let attempt = self.store.claim(
            &task.id,
            &Claim {
                batch,
                worker: &worker_name,
                profile: &profile.name,
                base_sha: &base_sha,
                note: note.as_deref(),
                agent_reason: agent_reason.as_deref(),
            },
        )?;
        failpoint::hit("after_claim");
        let run_dir = self
            .state_dir
            .join("runs")
            .join(task.id.as_str())
            .join(attempt.number.to_string());
        // The worker writes the prompt into the run directory: files made here would cost the
        // merge queue's thread, which every landing waits for.
        let prompt = self.prompt(task, &attempts, attempt.number)?;
        let prompt_file = run_dir.join("prompt.md");
        (self.progress)(Progress::Started {
            worker: worker + 1,
            task: task.id.clone(),
            title: task.title.clone(),
            profile: profile.name.clone(),
            attempt: attempt.number,
        });
        Ok(Some(Job {
            guarded: std::sync::Arc::clone(&self.guarded),
            attempt,
            task: task.clone(),
            profile,
            base_sha,
            run_dir,
            prompt_file,
            prompt,
            log_limit: self.config.log_limit(),
        }))
    }

    fn prompt(&self, task: &Task, earlier: &[Attempt], number: u32) -> Result<String> {
        let epic = match &task.parent {
            Some(parent) => Some(self.store.task(parent)?),
            None => None,
        };
        let detail = self.store.task_detail(&task.id)?;
        let mut dependencies = Vec::new();
        for dep in detail
            .dependencies
            .iter()
            .filter(|d| d.status == TaskStatus::Done)
        {
            let landed = self.store.task(&dep.id)?.landed_sha;
            let subjects = match landed {
                Some(sha) => self
                    .git
                    .commit_subjects(&format!("{sha}^1..{sha}^2"))
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            dependencies.push(LandedDependency {
                id: dep.id.clone(),
                title: dep.title.clone(),
                subjects,
            });
        }
        let context = self.store.context_entries(None, None, None)?;
        let earlier: Vec<EarlierAttempt> = earlier
            .iter()
            .map(|a| EarlierAttempt {
                number: a.number,
                outcome: a
                    .outcome
                    .clone()
                    .unwrap_or_else(|| "unfinished".to_string()),
                feedback: a.feedback.clone(),
            })
            .collect();
        Ok(prompt::build(&PromptInput {
            task,
            epic: epic.as_ref(),
            dependencies: &dependencies,
            context: &context,
            earlier: &earlier,
            attempt: number,
        }))
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
        super::hooks::import_inbox(self.store, &done.attempt, &run_dir)?;
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

    /// The merge queue's step for one branch: merge with the base tip in memory, gate exactly that
    /// commit, and move base to it by compare-and-swap.
    fn land(&mut self, item: Queued) -> Result<LandResult> {
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
            if self.store.approval(&task.id)?.as_deref() != Some(super::approval::APPROVED) {
                let touched = super::protected::touched(self.git, self.config, &tip, &merge)?;
                if !touched.is_empty() {
                    // Gated, but the checks themselves changed: a person decides.
                    super::approval::wait_for_person(self.store, &task.id, &tip, &merge, &touched)?;
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
        let by_person = super::hooks::person_moves(self.state_dir, &refname)
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

    fn reject(&mut self, attempt: &Attempt, outcome: &str, feedback: &str) -> Result<()> {
        self.store.reject(attempt, outcome, feedback)?;
        self.after_rejection(attempt, feedback)
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

enum LandResult {
    /// Landed or sent back; the worker is free.
    Settled(TaskId),
    /// Waiting for a person's checkout of base to be clean.
    Paused(Box<Queued>),
}

/// A worker's whole job: prepare the worktree for the task, run the agent, commit what it left.
fn run_job(git: &Git, bootstrap: &Bootstrap, worker: usize, worktree: &Path, job: Job) -> Done {
    let started = Instant::now();
    let attempt = job.attempt.clone();
    let result = run_job_inner(git, bootstrap, worktree, &job).unwrap_or_else(|e| AttemptResult {
        // vane's failure (or the environment's: a full disk, read-only objects), not the agent's.
        outcome: VANE_ERROR.to_string(),
        feedback: Some(format!("vane could not run the attempt: {e}")),
        charged: false,
        ..AttemptResult::default()
    });
    let changed = result.outcome == "changed";
    Done {
        worker,
        attempt,
        result,
        changed,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn run_job_inner(
    git: &Git,
    bootstrap: &Bootstrap,
    worktree: &Path,
    job: &Job,
) -> Result<AttemptResult> {
    std::fs::create_dir_all(&job.run_dir).map_err(|e| OrchestratorError::io(&job.run_dir, e))?;
    std::fs::write(&job.prompt_file, &job.prompt)
        .map_err(|e| OrchestratorError::io(&job.prompt_file, e))?;
    // What a crashed run left in this worktree was committed by recovery before the batch began,
    // and this worker's own last job committed all its agent left: nothing here is unsaved.
    if git.ensure_worktree(worktree, &job.base_sha)? {
        // Made again (or for the first time): whatever was set up before is gone.
        bootstrap.forget_setup(worktree)?;
    }
    git.start_task_branch(worktree, &job.task.id.branch(), &job.base_sha)?;
    // Every task, after the clean of `start_task_branch`: a change to them reaches the next task.
    bootstrap.copy_includes(worktree)?;
    if let Some(feedback) = bootstrap.ensure_setup(worktree)? {
        // Let go of the branch, as after an agent, so that a retry may check it out elsewhere.
        git.detach_head(worktree, &job.base_sha)?;
        return Ok(AttemptResult {
            outcome: "failed".to_string(),
            feedback: Some(feedback),
            ..AttemptResult::default()
        });
    }
    let vars = TemplateVars {
        prompt: &job.prompt,
        prompt_file: &job.prompt_file,
        task_id: job.task.id.as_str(),
        worktree,
        run: job.task.run.as_deref(),
    };
    let confined = job.profile.confine && agent::confine::status().is_ok();
    let mut argv = if confined {
        job.profile.inside_confinement().argv(&vars)?
    } else {
        job.profile.argv(&vars)?
    };
    // Agents with hooks report what they do as they do it (see `hooks::wire_agent_hooks`).
    if let Ok(vane) = std::env::current_exe() {
        super::hooks::wire_agent_hooks(&mut argv, &job.run_dir, &vane)?;
    }
    let mut env: Vec<(String, String)> = job.profile.env.clone().into_iter().collect();
    env.extend([
        ("VANE_TASK_ID".to_string(), job.task.id.to_string()),
        ("VANE_TASK_TITLE".to_string(), job.task.title.clone()),
        (
            "VANE_PROMPT_FILE".to_string(),
            job.prompt_file.display().to_string(),
        ),
        ("VANE_WORKTREE".to_string(), worktree.display().to_string()),
        ("VANE_BASE_SHA".to_string(), job.base_sha.clone()),
        ("VANE_ATTEMPT".to_string(), job.attempt.number.to_string()),
        (
            super::hooks::INBOX_ENV.to_string(),
            super::hooks::inbox(&job.run_dir).display().to_string(),
        ),
    ]);
    let stdout = job.run_dir.join("agent.stdout");
    let outcome = agent::run(&Invocation {
        argv,
        env,
        cwd: worktree.to_path_buf(),
        stdout: stdout.clone(),
        stderr: job.run_dir.join("agent.stderr"),
        timeout: job.profile.timeout,
        pid_file: Some(job.run_dir.join(AGENT_PID_FILE)),
        confine: agent_confinement(git, worktree, job)?,
        log_limit: job.log_limit,
    })?;
    if outcome.interrupted {
        // Stopped with vane: says nothing about the task; the attempt is not charged.
        return Ok(AttemptResult {
            outcome: INTERRUPTED.to_string(),
            feedback: Some("vane was stopped while the agent ran".to_string()),
            charged: false,
            ..AttemptResult::default()
        });
    }
    // What left the agent's process group (`setsid`, a daemon) is stopped too, before anything
    // else touches the worktree.
    let strays = agent::strays::stop_marked_under(worktree);
    if strays > 0 {
        tracing::info!(worktree = %worktree.display(), strays, "stopped processes the agent left running");
    }
    let branch = job.task.id.branch();
    if let Err(crate::git::GitError::ForeignWorktree { found, .. }) = git.worktree_git_dir(worktree)
    {
        // The agent wrecked its worktree: that is its doing, so the attempt counts. A `.git` file
        // it removed is put back and what it left is kept on its branch; a worktree it replaced
        // with a repository of its own is made again before its next use.
        let kept = git.repair_worktree(worktree)?
            && git.current_branch(worktree)?.as_deref() == Some(branch.as_str());
        let mut head_sha = None;
        if kept {
            git.commit_all_except(worktree, LEFTOVER_AFTER_WRECK, &bootstrap.include)?;
            let head = git.head(worktree)?;
            git.detach_head(worktree, &head)?;
            head_sha = Some(head);
        }
        return Ok(AttemptResult {
            outcome: "failed".to_string(),
            feedback: Some(format!(
                "the agent broke its worktree ({found}); {}. Never remove or replace `.git`",
                if kept {
                    "its `.git` was put back and what it left is kept on its branch"
                } else {
                    "nothing it did could be kept"
                }
            )),
            head_sha,
            ..AttemptResult::default()
        });
    }
    let report = agent::parse_run(
        job.profile.parser,
        &stdout,
        &job.run_dir.join("agent.stderr"),
    );
    if git.current_branch(worktree)?.as_deref() != Some(branch.as_str()) {
        // The agent switched its worktree to another branch, or detached it: what it left is not
        // committed anywhere (it could be base), and the worktree lets go of whatever it holds.
        let head = git.head(worktree)?;
        git.detach_head(worktree, &head)?;
        return Ok(AttemptResult {
            outcome: "failed".to_string(),
            feedback: Some(format!(
                "the agent left its worktree off its branch `{branch}`; work only on that branch"
            )),
            ..AttemptResult::default()
        });
    }
    let message = format!(
        "{}\n\nVane-Task: {}\nVane-Attempt: {}",
        job.task.title, job.task.id, job.attempt.number
    );
    // Whatever the agent left is kept on its branch, whether it succeeded or not.
    // Never the files `include` copied in (see `bootstrap`).
    git.commit_all_except(worktree, &message, &bootstrap.include)?;
    let head = git.head(worktree)?;
    // Let go of the branch, so that a retry may check it out in another worker's worktree.
    git.detach_head(worktree, &head)?;
    let mut result = AttemptResult {
        exit_code: outcome.exit_code,
        head_sha: Some(head.clone()),
        session_id: report.session_id.clone(),
        cost_usd: report.cost_usd,
        input_tokens: report.input_tokens.map(|t| t as i64),
        output_tokens: report.output_tokens.map(|t| t as i64),
        message: report.message.clone(),
        ..AttemptResult::default()
    };
    let changed = job.guarded.restore_changes();
    if !changed.is_empty() {
        return Ok(AttemptResult {
            outcome: "failed".to_string(),
            feedback: Some(format!(
                "the agent changed the repository's own configuration or hooks ({}); they were \
                 put back. An agent works only in its worktree and on its branch",
                changed.join(", ")
            )),
            ..result
        });
    }
    let dangling = git.dangling_gitlinks(&job.base_sha, &head)?;
    // A repository the agent made inside its worktree is what a gitlink to a commit nothing else
    // holds comes from (committing everything records one as such).
    let nested: Vec<PathBuf> = dangling
        .iter()
        .map(PathBuf::from)
        .filter(|path| std::fs::symlink_metadata(worktree.join(path).join(".git")).is_ok())
        .collect();
    if !nested.is_empty() {
        // Never landed as gitlinks to commits nothing holds: moved out of the worktree whole,
        // beside it, for the person to look at, and the attempt fails saying so.
        let kept = keep_nested(worktree, &job.task.id, job.attempt.number, &nested)?;
        return Ok(AttemptResult {
            outcome: "failed".to_string(),
            feedback: Some(format!(
                "the agent made a git repository inside its worktree ({}); vane never lands one \
                 (it would be a link to a commit nothing holds). It was moved to {}; put the \
                 files in the task's own tree instead",
                nested
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                kept.display()
            )),
            ..result
        });
    }
    if !dangling.is_empty() {
        return Ok(AttemptResult {
            outcome: "failed".to_string(),
            feedback: Some(format!(
                "the branch adds {} as a gitlink to a commit this repository does not have (a \
                 nested repository added with `git add`); commit its files instead",
                dangling.join(", ")
            )),
            ..result
        });
    }
    let failed = outcome.exit_code != Some(0) || report.success == Some(false);
    if outcome.timed_out {
        result.outcome = "timed_out".to_string();
        result.feedback = Some(format!(
            "the agent did not finish within {} s and was stopped",
            job.profile.timeout.as_secs()
        ));
    } else if failed {
        result.outcome = "failed".to_string();
        result.feedback = Some(format!(
            "the agent {}; the end of its output:\n{}",
            match outcome.exit_code {
                Some(code) if code != 0 => format!("exited with {code}"),
                Some(_) => "reported an error".to_string(),
                None => "was killed by a signal".to_string(),
            },
            tail_both(&job.run_dir)
        ));
    } else if head == job.base_sha {
        result.outcome = "unchanged".to_string();
        result.feedback = Some("the agent finished without changing anything".to_string());
    } else {
        result.outcome = "changed".to_string();
    }
    Ok(result)
}

/// Moves the nested repositories an agent made out of its worktree, whole, to
/// `<worktree root>/kept/<task>-<attempt>/<path>` (the same file system, so a rename), where no
/// clean of the worktree reaches them and `vane gc` leaves them. Returns that folder.
fn keep_nested(
    worktree: &Path,
    task: &TaskId,
    attempt: u32,
    nested: &[PathBuf],
) -> Result<PathBuf> {
    let root = worktree.parent().unwrap_or(worktree);
    let kept = root.join("kept").join(format!("{task}-{attempt}"));
    for path in nested {
        let to = kept.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| OrchestratorError::io(parent, e))?;
        }
        let from = worktree.join(path);
        std::fs::rename(&from, &to).map_err(|e| OrchestratorError::io(&from, e))?;
    }
    Ok(kept)
}

fn tail_both(run_dir: &Path) -> String {
    let out = gates::tail_text(&run_dir.join("agent.stdout"), 10);
    let err = gates::tail_text(&run_dir.join("agent.stderr"), 10);
    [out, err]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The branch work lands on: the configuration's, else the one checked out here.
pub(super) fn base_branch(workspace: &Workspace, config: &Config) -> Result<String> {
    config
        .base_branch
        .clone()
        .or_else(|| workspace.location.branch.clone())
        .ok_or(OrchestratorError::NoBaseConfigured)
}

/// Where the workers' worktrees live: `worktree_root` of the configuration, else under the user's
/// data directory, one folder per repository (outside every `.git`, which Claude Code will not write
/// into, and outside the user's working tree).
pub fn worktree_root(workspace: &Workspace, config: &Config) -> PathBuf {
    worktree_root_of(&workspace.location, config)
}

/// `worktree_root` for a repository vane may not be set up in (`vane doctor` asks).
pub fn worktree_root_of(location: &RepoLocation, config: &Config) -> PathBuf {
    if let Some(root) = &config.worktree_root {
        return location.workdir.join(root);
    }
    let common = &location.common_dir;
    let name = common
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repository".to_string());
    super::gc::default_worktrees_base().join(format!(
        "{name}-{:08x}",
        fnv1a(common.to_string_lossy().as_bytes())
    ))
}

/// Refuses a worktree root inside a repository (the person's working tree, or any other, such as
/// a dotfiles repository in the home directory): an agent's git, or an agent's files, would then
/// reach that repository as soon as anything in a worktree went wrong.
pub(super) fn refuse_root_in_a_repository(root: &Path) -> Result<()> {
    let absolute = crate::git::cli::comparable_path(root);
    for dir in absolute.ancestors() {
        if std::fs::symlink_metadata(dir.join(".git")).is_ok() {
            return Err(OrchestratorError::WorktreeRootInRepository {
                root: absolute.clone(),
                repository: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Whether `name`, a directory under the worktree root, is one vane makes there: `w<N>` for its
/// workers, `gate-<task>-<pid>` for `vane gate` and `vane land`. Only those are ever taken away or
/// have their processes stopped: `worktree_root` may name a folder that holds other things too.
pub(super) fn is_vane_worktree_name(name: &str) -> bool {
    let worker = name
        .strip_prefix('w')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    worker || name.starts_with("gate-")
}

/// A stable hash (std's is seeded per process), so a repository keeps its worktree folder.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The tasks `--task` selects, with everything they wait for; None for all.
fn select(store: &Store, wanted: &[TaskId]) -> Result<Option<HashSet<TaskId>>> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut selected = HashSet::new();
    let mut stack: Vec<TaskId> = wanted.to_vec();
    while let Some(id) = stack.pop() {
        if !selected.insert(id.clone()) {
            continue;
        }
        let detail = store.task_detail(&id)?;
        for dep in &detail.dependencies {
            if dep.kind == crate::model::DepKind::Blocks {
                stack.push(dep.id.clone());
            }
        }
        stack.extend(detail.children.iter().map(|c| c.id.clone()));
        if let Some(parent) = &detail.task.parent {
            // The epic's own dependencies are inherited by its tasks.
            for dep in store.task_detail(parent)?.dependencies {
                if dep.kind == crate::model::DepKind::Blocks {
                    stack.push(dep.id);
                }
            }
        }
    }
    Ok(Some(selected))
}

/// Whether a batch would have anything to do: a ready task, one to retry, or one to land.
fn has_work(store: &Store, selection: Option<&HashSet<TaskId>>) -> Result<bool> {
    let selected = |id: &TaskId| selection.is_none_or(|s| s.contains(id));
    if store.ready_tasks()?.iter().any(selected) {
        return Ok(true);
    }
    let waiting = store.tasks(&TaskFilter {
        statuses: vec![TaskStatus::NeedsImprovement, TaskStatus::NeedsReview],
        parent: None,
    })?;
    Ok(waiting.iter().any(|t| selected(&t.id)))
}

/// The ready tasks in the order a batch would start them.
fn schedule(store: &Store, selection: Option<&HashSet<TaskId>>) -> Result<Vec<TaskId>> {
    Ok(store
        .ready_tasks()?
        .into_iter()
        .filter(|id| selection.is_none_or(|s| s.contains(id)))
        .collect())
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

/// What the agent of `job` may write when it runs confined (DESIGN.md, "Agents are not trusted"):
/// its worktree, what a commit on its own branch needs in the git directory, `<run>/tmp` (its
/// TMPDIR), and what its profile declares. None with `confine = false`.
fn agent_confinement(git: &Git, worktree: &Path, job: &Job) -> Result<Option<agent::Confinement>> {
    if !job.profile.confine {
        return Ok(None);
    }
    let admin = git.worktree_git_dir(worktree)?;
    Ok(Some(
        agent::Confinement::to_worktree(worktree, &job.run_dir.join("tmp"))
            .with_commits(&admin, git.common_dir())
            .with_declared(&job.profile.writable)
            // Where its hooks write what they saw, for the work loop to record (see `hooks`).
            .with_declared(&[format!(
                "{}/",
                super::hooks::inbox_dir(&job.run_dir).display()
            )]),
    ))
}
