//! `vane work`: one batch. Workers run agents in their own worktrees; the coordinator (this thread)
//! owns the database, hands out ready tasks, and lands finished branches through the merge queue one
//! at a time, moving base only by compare-and-swap after the gates passed on exactly that tree.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::bootstrap::Bootstrap;
use super::failpoint;
use super::gates;

use super::lock::WorkLock;

use super::recovery;
use super::{OrchestratorError, Result};
use crate::agent;
use crate::config::Config;
use crate::git::Git;
use crate::model::{AttemptOutcome, CheckpointKind, CommitId, Task, TaskId, TaskStatus};

use crate::store::{batch_correlation, Attempt, LandedMember, Store, TaskFilter};
use crate::workspace::{self, Workspace};

pub(super) mod landing;
pub(super) mod merge_queue;
pub(super) mod overlap;
pub use overlap::Held as HeldBack;
mod extension;
mod gate_pool;
mod journal;
pub mod live;
mod publish;
pub mod remote;
mod scheduler;
mod worker_pool;

pub use extension::Extended;
use gate_pool::{Below, GateContext, GateEvent, GateJob, GateMember, GatePool, Gated};
use landing::{CheckoutFollowed, LandMove, Landed};
use merge_queue::{Action, CandidateId, JobId, MergeQueue, Rejection, Settings};
pub use scheduler::Wave;
use scheduler::{forecast, has_work, schedule, select};
use worker_pool::{run_job, Done, Job, Pool};

/// What the coordinator hears, from the workers and the gate pool alike.
enum Event {
    Agent(Box<Done>),
    Gate(GateEvent),
    Remote(remote::runner::RemoteEvent),
}

/// What `vane work` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct WorkOptions {
    pub workers: Option<usize>,
    /// Only these tasks and what they need; all when empty.
    pub tasks: Vec<TaskId>,
    pub max_tasks: Option<usize>,
    pub dry_run: bool,
    /// Leave the roadmap as it is for this batch, whatever `[extend]` says (`--no-extend`).
    pub no_extend: bool,
    /// What the batch may spend in USD (`--budget`), over `[budget] batch_usd`.
    pub budget_usd: Option<f64>,
    /// The executor the batch's attempts run on (`--executor`), unless a route names another;
    /// None: this machine's worker threads.
    pub executor: Option<String>,
    /// The remote base is pushed to after landings (`--land-to`), over `land_to` of vane.toml.
    pub land_to: Option<String>,
}

impl WorkOptions {
    /// How many agents work at once: `--workers`, else `workers` of vane.toml; at least 1.
    pub fn worker_count(&self, config: &Config) -> usize {
        self.workers.unwrap_or(config.workers).max(1)
    }
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
        tip: CommitId,
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
        outcome: AttemptOutcome,
        seconds: f64,
    },
    /// A candidate is gated: on base, or speculatively on base and the candidates ahead of it.
    Gating {
        task: TaskId,
        /// How many candidates are ahead of it in the queue (its tree holds theirs).
        ahead: usize,
    },
    Landed {
        task: TaskId,
        sha: CommitId,
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
    /// A ready task waits: its paths overlap those of a task that runs or waits to land.
    HeldBack {
        task: TaskId,
        behind: TaskId,
        /// The overlapping paths.
        paths: Vec<String>,
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
    /// Merging waits: landing `tasks` would overwrite what is in the way in a person's checkout
    /// of base. Reported once per pause.
    Paused {
        checkout: PathBuf,
        tasks: Vec<TaskId>,
        /// The paths in the way, from the checkout's root.
        paths: Vec<String>,
        /// Those of `paths` git does not track there (`git stash` alone leaves them).
        untracked: Vec<String>,
        /// How long merging waits before the batch stops (`pause_timeout`); None: as long as it
        /// takes.
        bound: Option<Duration>,
    },
    /// The roadmap's extension (`[extend]`): a planner asked, its tasks added, or its failure.
    Extension(Extended),
    /// A result on a remote matched no waiting job (an unknown task, an old attempt, a forged
    /// ref), or did not hold as a record of its job: kept aside, never landed.
    ResultRefused {
        refname: String,
        reason: String,
        /// Where it is kept in this repository, when it could be fetched.
        kept_as: Option<String>,
    },
    /// The batch spent its budget: no attempt starts any more; running ones finish and land.
    BudgetReached {
        spent_usd: f64,
        budget_usd: f64,
    },
    /// Base moved, but a person's checkout of it changed at that moment and was left as it was.
    CheckoutBehind {
        checkout: PathBuf,
        old: CommitId,
        new: CommitId,
        /// Why, in git's words or the file system's.
        reason: String,
        /// Whether the next `vane work` finishes it (a failure underneath), rather than the person
        /// (a change of theirs in the way).
        resumable: bool,
    },
    /// What landed went to `land_to`: `branch` of `remote` is at `tip` now.
    Pushed {
        remote: String,
        branch: String,
        tip: CommitId,
        /// The landings the push carried (0: ones an earlier batch left here).
        landed: usize,
    },
    /// `branch` was not pushed to `remote`: someone else pushed (`found`, the tip there now), the
    /// remote has commits that are not here, it refused, or it could not be reached. The landings
    /// stay here and nothing there is overwritten; for base, pushing is off for the rest of the
    /// batch.
    PushRefused {
        remote: String,
        branch: String,
        found: Option<CommitId>,
        reason: String,
    },
    /// `pr_command` ran for a landed task whose branch was pushed; `output` is the last line it
    /// printed (often the pull request's URL), or why it failed.
    PullRequest {
        task: TaskId,
        remote: String,
        output: String,
        ok: bool,
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
    /// The order a dry run would start the ready tasks in; those it holds back are in `held`.
    pub schedule: Vec<TaskId>,
    /// The ready tasks a dry run holds back, with the task whose paths theirs overlap.
    pub held: Vec<HeldBack>,
    /// A dry run's forecast, wave by wave: what starts now, then what starts once that landed.
    pub waves: Vec<Wave>,
    pub seconds: f64,
    pub cost_usd: f64,
    /// The batch's budget, when it has one.
    pub budget_usd: Option<f64>,
    /// Whether the budget stopped the batch from starting attempts.
    pub budget_reached: bool,
    /// The tip of base last pushed to `land_to`, when the batch pushed.
    pub pushed: Option<String>,
    /// Why the batch's landings were not pushed to `land_to` (or stopped being), when they were
    /// not.
    pub push_refused: Option<String>,
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
    pub sha: CommitId,
    pub checkpoint: i64,
}

/// Where a worker writes its agent's process group, in the attempt's run directory (see
/// `agent::strays`).
pub(crate) const AGENT_PID_FILE: &str = "agent.pid";

/// After this many of a task's remote workers were lost in one batch, it waits for the next.
const LOST_BEFORE_WAITING: usize = 3;

/// How often the coordinator looks for a planner's answer while one is at work.
const EXTENSION_POLL: Duration = Duration::from_millis(200);

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
        let workers = options.worker_count(config);
        let (schedule, held) = schedule(&workspace.store, selection.as_ref(), workers)?;
        let waves = forecast(
            &workspace.store,
            selection.as_ref(),
            workers,
            options.max_tasks,
        )?;
        return Ok(WorkSummary {
            base,
            schedule,
            held,
            waves,
            ..WorkSummary::default()
        });
    }

    let _lock = WorkLock::acquire(&state_dir, "vane work")?;
    // What another process watches (`vane status`, `vane dash`): every event, in `live.json`.
    let live = live::LiveFile::new(&state_dir, config);
    // And the batch's log of JSON lines (`logs/`).
    let journal = journal::Journal::default();
    let observed = |event: Progress| {
        live.observe(&event);
        journal.observe(&event);
        progress(event);
    };
    let progress: &dyn Fn(Progress) = &observed;
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
    let extending = !options.no_extend && selection.is_none();
    if extending {
        super::preflight::refuse_unrunnable(workspace, config)?;
    } else {
        // The roadmap's planner does not run in this batch: whether it is installed is not asked.
        let without = Config {
            extend: None,
            ..config.clone()
        };
        super::preflight::refuse_unrunnable(workspace, &without)?;
    }
    let executors = remote::batch_executors(&git, config, options, &workspace.store)?;
    // An unreachable `land_to` is refused before anything starts.
    let publisher = match options.land_to.as_ref().or(config.land_to.as_ref()) {
        Some(remote) => Some(publish::Publisher::open(
            &git,
            remote,
            config.pr_command.as_deref(),
            &base,
            &tip,
        )?),
        None => None,
    };
    let store = &mut workspace.store;
    let budget_usd = options.budget_usd.or(config.budget.batch_usd);
    let batch = store.start_batch(&base, budget_usd)?;
    let correlation = batch_correlation(batch);
    if let Err(e) = crate::logs::begin(&state_dir.join("logs"), batch) {
        // The log is for looking back; a batch runs without it.
        tracing::warn!(%e, "cannot open the batch's log in logs/");
    }
    let _log = LogEnd;
    landing::checkpoint(
        store,
        &git,
        CheckpointKind::BatchStart,
        &tip,
        &correlation,
        None,
    )?;

    if config.gates.is_empty() {
        progress(Progress::NoGates);
    }
    if config.confine {
        if let Some(why) = agent::confine::unconfined_notice() {
            progress(Progress::Unconfined { why });
        }
    }
    // This machine's worker threads, unless the batch goes to an executor; then each executor's
    // jobs.
    let workers = if options.executor.is_some() {
        0
    } else {
        options.worker_count(config)
    };
    let mut slots: Vec<Option<usize>> = vec![None; workers];
    for (index, executor) in executors.executors.iter().enumerate() {
        slots.extend(std::iter::repeat_n(Some(index), executor.max_jobs()));
    }
    progress(Progress::BatchStarted {
        batch,
        base: base.clone(),
        tip: CommitId::new(tip.clone()),
        workers: slots.len(),
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
            budget_usd,
            ..WorkSummary::default()
        },
        prices: config.price_table(),
        worktree_root: worktree_root.clone(),
        behind: None,
        held: HashSet::new(),
        extension: extension::Extension::new(config, workspace.location.workdir.clone(), extending),
        paused_on: None,
        faults: Vec::new(),
        halted: None,
        expected_tip: tip.clone(),
        guarded: std::sync::Arc::new(crate::orchestrator::guard::Guarded::capture(&git)?),
        executors: executors.executors,
        batch_executor: executors.batch,
        slots,
        lost: HashMap::new(),
        publisher,
    };
    let outcome = run
        .announce_land_to()
        .and_then(|()| run.drive(batch, selection.as_ref(), options.max_tasks));
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
    live.finish(label);
    outcome.map(|()| summary)
}

/// Stops writing the batch's log when the batch ends, however it ends.
struct LogEnd;

impl Drop for LogEnd {
    fn drop(&mut self) {
        crate::logs::end();
    }
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
    /// Where the workers' and the gate pool's worktrees are.
    worktree_root: PathBuf,
    summary: WorkSummary,
    /// The dirty checkout of base that merging waits for, once reported, and since when.
    paused_on: Option<(PathBuf, Instant)>,
    /// Attempts vane could not run in this batch, with why; their tasks wait for the next batch.
    faults: Vec<(TaskId, String)>,
    /// Why the batch stopped starting attempts early (a broken gate), if it did.
    halted: Option<OrchestratorError>,
    /// Where base should be: the batch's start, then each landing's merge, or a person's move.
    expected_tip: String,
    /// The repository's config and hooks as the batch found them.
    guarded: std::sync::Arc<crate::orchestrator::guard::Guarded>,
    /// The person's checkouts of base, when landings moved base since they were brought along.
    behind: Option<Behind>,
    /// Tasks held back for overlapping another, once reported.
    held: HashSet<TaskId>,
    /// The roadmap's extension, when `[extend]` is on for this batch.
    extension: Option<extension::Extension>,
    /// Prices the tokens of agents that report no cost.
    prices: crate::prices::Prices,
    /// The executors this batch's remote workers run on.
    executors: Vec<remote::Executor>,
    /// The executor of tasks no route sends elsewhere (`--executor`); None: local threads.
    batch_executor: Option<usize>,
    /// What runs each slot: a local worker thread (None; the first slots) or an executor's job.
    slots: Vec<Option<usize>>,
    /// Remote workers lost in this batch, per task: after a few, the task waits for the next.
    lost: HashMap<TaskId, usize>,
    /// Where landings are pushed (`land_to`), when anywhere.
    publisher: Option<publish::Publisher>,
}

impl Batch<'_> {
    fn drive(
        &mut self,
        batch: i64,
        selection: Option<&HashSet<TaskId>>,
        max_tasks: Option<usize>,
    ) -> Result<()> {
        let (events_tx, events) = mpsc::channel::<Event>();
        let mut workers = Pool {
            job_senders: Vec::new(),
            handles: Vec::new(),
            in_flight: 0,
        };
        for (index, path) in self.worktrees.iter().enumerate() {
            let (job_tx, job_rx) = mpsc::channel::<Job>();
            workers.job_senders.push(job_tx);
            let events_tx = events_tx.clone();
            let git = self.git.clone();
            let bootstrap = self.bootstrap.clone();
            let path = path.clone();
            workers.handles.push(std::thread::spawn(move || {
                for job in job_rx {
                    let done = run_job(&git, &bootstrap, index, &path, job);
                    if events_tx.send(Event::Agent(Box::new(done))).is_err() {
                        break;
                    }
                }
            }));
        }
        let context = Arc::new(GateContext {
            git: self.git.clone(),
            config: Arc::new(self.config.clone()),
            bootstrap: self.bootstrap.clone(),
            database: self.store.path().to_path_buf(),
            runs: self.state_dir.join("runs"),
        });
        let gate_workers = self.config.gate_pool_size(self.slots.len());
        let mut gate_pool =
            GatePool::start(gate_workers, &self.worktree_root, &context, &events_tx);
        let runner = (!self.executors.is_empty())
            .then(|| remote::runner::Runner::start(self.git, self.executors.clone(), &events_tx));
        drop(events_tx);
        let result = self.coordinate(
            &mut workers,
            runner.as_ref(),
            &mut gate_pool,
            &events,
            batch,
            selection,
            max_tasks,
        );
        if result.is_err() && (workers.in_flight > 0 || gate_pool.in_flight > 0) {
            // vane never leaves agents or gates running behind it: stop them as an interrupt
            // would, and wait for their threads. The attempts stay open; the next run records
            // them as abandoned, uncharged, and keeps what they left on their branches.
            agent::request_stop();
            drain(&mut workers, &mut gate_pool, &events);
        }
        workers.job_senders.clear();
        for handle in workers.handles.drain(..) {
            let _ = handle.join();
        }
        if let Some(runner) = runner {
            runner.stop();
        }
        gate_pool.stop();
        if let Some(extension) = &mut self.extension {
            if extension.running() && result.is_err() {
                agent::request_stop();
            }
            extension.join();
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

    /// The coordinator's loop: hands out ready work, takes in the workers' and the gates'
    /// reports, and carries out what the merge queue decides, until nothing is ready, running or
    /// queued. It never waits for an agent, a gate or a merge: those run on the pools' threads.
    /// Stops starting attempts once the batch is halted (a broken gate) or vane itself failed too
    /// often.
    #[allow(clippy::too_many_arguments)]
    fn coordinate(
        &mut self,
        workers: &mut Pool,
        runner: Option<&remote::runner::Runner>,
        gate_pool: &mut GatePool,
        events: &mpsc::Receiver<Event>,
        batch: i64,
        selection: Option<&HashSet<TaskId>>,
        max_tasks: Option<usize>,
    ) -> Result<()> {
        let mut queue: MergeQueue<Arc<FailedGates>> = MergeQueue::new(
            &self.expected_tip,
            Settings {
                window: self.config.merge_window,
                batch: self.config.batch,
            },
        );
        let mut queued: HashMap<CandidateId, Attempt> = HashMap::new();
        // The task each gate job in flight is for (its last member's).
        let mut gate_jobs: HashMap<JobId, TaskId> = HashMap::new();
        for (attempt, head) in self.recovered_reviews()? {
            queue.push(attempt.id, &head);
            queued.insert(attempt.id, attempt);
        }
        let mut idle: VecDeque<usize> = (0..self.slots.len()).collect();
        let mut running: HashSet<TaskId> = HashSet::new();
        let mut claimed = 0usize;
        if let Some(runner) = runner {
            // Jobs an earlier run published: their results are collected, not run again.
            for task in self.adopt(runner, &mut idle)? {
                running.insert(task);
                workers.in_flight += 1;
            }
            let _ = runner.orders.send(remote::runner::Order::Armed);
        }
        loop {
            if agent::interrupted() {
                // Stop: the running agents are being taken down; what they leave is recovered by
                // the next run (their attempts stay open, their tasks go back to pending).
                drain(workers, gate_pool, events);
                return Err(OrchestratorError::Interrupted);
            }
            let halted = self.halted.is_some()
                || self.faults.len() >= FAULTS_BEFORE_STOPPING
                || self.budget_spent();
            // Hand out ready work first, so that idle workers never wait for the merge queue.
            let may_claim = !halted && max_tasks.is_none_or(|max| claimed < max);
            if may_claim && !idle.is_empty() {
                let mut busy: Vec<TaskId> = running.iter().cloned().collect();
                busy.extend(queued.values().map(|a| a.task.clone()));
                let candidates = self.candidates(selection, &busy, idle.len())?;
                for task in candidates {
                    if idle.is_empty() || max_tasks.is_some_and(|max| claimed >= max) {
                        break;
                    }
                    // A slot of the task's executor; the task waits when none is free.
                    let wanted = self.executor_for(&task);
                    let Some(worker) = idle
                        .iter()
                        .position(|s| self.slots[*s] == wanted)
                        .and_then(|at| idle.remove(at))
                    else {
                        continue;
                    };
                    match self.start(batch, worker, &task)? {
                        Some(job) => {
                            running.insert(task.id.clone());
                            claimed += 1;
                            workers.in_flight += 1;
                            self.hand_out(workers, runner, worker, job)?;
                        }
                        None => idle.push_front(worker),
                    }
                }
            }
            let mut acted = false;
            let mut paused = false;
            if self.halted.is_none() {
                if let Some(tip) = self.base_tip()? {
                    if tip != queue.base() {
                        // A person committed on base: everything queued is gated again on it.
                        queue.base_moved(&tip);
                    }
                }
            }
            if self.halted.is_none() {
                for action in queue.poll(gate_pool.free_slots()) {
                    acted = true;
                    match action {
                        Action::Gate { job, onto, members } => {
                            tracing::debug!(
                                job,
                                onto,
                                window = queue.window(),
                                candidates = members.len(),
                                "gate job"
                            );
                            let order = queue.candidates();
                            let ahead = members
                                .first()
                                .and_then(|(first, _)| order.iter().position(|c| c == first))
                                .unwrap_or(0);
                            let members = self.gate_members(&queued, &members)?;
                            if let Some(last) = members.last() {
                                (self.progress)(Progress::Gating {
                                    task: last.task.id.clone(),
                                    ahead,
                                });
                                gate_jobs.insert(job, last.task.id.clone());
                            }
                            let onto_is_base = onto == queue.base();
                            let job_sent = gate_pool.send(GateJob {
                                job,
                                onto,
                                members,
                                onto_is_base,
                            });
                            if !job_sent {
                                // A gate thread is gone: vane's failure, not the candidates'.
                                queue.abandon(job);
                                gate_jobs.remove(&job);
                                return Err(OrchestratorError::WorkerGone(0));
                            }
                        }
                        Action::Land { from, members } => {
                            if !self.land(&mut queue, &mut queued, &from, &members)? {
                                paused = true;
                            }
                        }
                        Action::Reject {
                            candidate,
                            onto,
                            why,
                        } => {
                            if let Some(attempt) = queued.remove(&candidate) {
                                self.settle_rejection(&attempt, &onto, why)?;
                            }
                        }
                    }
                }
            }
            // The person's checkouts follow once the queue is drained, or every few seconds
            // while it keeps landing.
            if self.behind.as_ref().is_some_and(|b| {
                queue.is_empty() || self.halted.is_some() || b.since.elapsed() >= CHECKOUT_LAG
            }) {
                self.bring_checkouts_along()?;
            }
            let settled = queue.is_empty() || self.halted.is_some();
            if settled {
                // What landed since the last push goes to `land_to`: one push per drained queue.
                self.publish_landings()?;
            }
            let dry = !acted && workers.in_flight == 0 && gate_pool.in_flight == 0 && settled;
            if self.extend(batch, dry && self.halted.is_none())? {
                // New tasks joined the batch: they are handed out at the top of the loop.
                continue;
            }
            let extending = self.extension.as_ref().is_some_and(|e| e.running());
            // A landing may have made tasks ready: they are handed out at the top of the loop.
            if dry && !extending {
                self.bring_checkouts_along()?;
                return Ok(());
            }
            let wait = if acted && !paused {
                // Something moved: take in only the reports already there, then go round again.
                Duration::ZERO
            } else if paused {
                self.pause_wait()
            } else if let Some(behind) = &self.behind {
                CHECKOUT_LAG.saturating_sub(behind.since.elapsed())
            } else {
                Duration::from_secs(3600)
            };
            // The planner answers on a channel of its own: looked at a few times a second.
            let wait = if extending {
                wait.min(EXTENSION_POLL)
            } else {
                wait
            };
            let event = match events.recv_timeout(wait) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(OrchestratorError::WorkerGone(0));
                }
            };
            match event {
                Event::Agent(done) => {
                    workers.in_flight -= 1;
                    running.remove(&done.attempt.task);
                    idle.push_back(done.worker);
                    if agent::interrupted() {
                        continue;
                    }
                    let remote_job = self.slots.get(done.worker).copied().flatten().map(|e| {
                        (
                            e,
                            done.attempt.clone(),
                            done.result.outcome,
                            done.result_commit.clone(),
                        )
                    });
                    if let Some((attempt, head)) = self.finished(*done)? {
                        queue.push(attempt.id, &head);
                        queued.insert(attempt.id, attempt);
                    }
                    if let (Some((executor, attempt, outcome, commit)), Some(runner)) =
                        (remote_job, runner)
                    {
                        self.settle_remote(runner, executor, &attempt, outcome, commit)?;
                    }
                }
                Event::Remote(event) => {
                    if let Some(runner) = runner {
                        self.remote_event(runner, event)?;
                    }
                }
                Event::Gate(GateEvent::Merged {
                    job,
                    outcome,
                    unchanged,
                }) => {
                    for candidate in unchanged {
                        if let Some(attempt) = queued.remove(&candidate) {
                            queue.remove(candidate);
                            // The branch adds nothing over base (an agent that reset it behind
                            // base, or undid its own change): nothing to land, and the task is not
                            // done.
                            self.reject(
                                &attempt,
                                AttemptOutcome::Unchanged,
                                "the branch adds nothing over the base branch (was it reset to an older commit?); the task's change is still to be made",
                            )?;
                        }
                    }
                    queue.merged(job, outcome);
                }
                Event::Gate(GateEvent::Gated(gated)) => {
                    let Gated {
                        slot,
                        job,
                        task,
                        attempt,
                        report,
                        below,
                    } = *gated;
                    gate_pool.finished(slot);
                    gate_jobs.remove(&job);
                    if agent::interrupted() {
                        // A gate stopped by the interrupt says nothing about the candidate.
                        continue;
                    }
                    self.record_verdict(&queue, job, &task, &attempt, &report, below.as_ref())?;
                    let verdict = if report.decision.passed {
                        Ok(())
                    } else {
                        Err(Arc::new(FailedGates { report, below }))
                    };
                    queue.gated(job, verdict);
                }
                Event::Gate(GateEvent::Ended { slot, job, error }) => {
                    gate_pool.finished(slot);
                    let task = gate_jobs.remove(&job);
                    if let (Some(error), Some(task)) = (error, task) {
                        // vane's failure, not the candidate's: it is gated again, and after a
                        // few of these the batch stops.
                        if queue.abandon(job) {
                            tracing::warn!(job, error, "a gate job failed; gating again");
                            (self.progress)(Progress::Fault {
                                task: task.clone(),
                                reason: error.clone(),
                            });
                            self.faults.push((task, error));
                            if self.faults.len() >= FAULTS_BEFORE_STOPPING && self.halted.is_none()
                            {
                                self.halted = Some(OrchestratorError::Faults(self.faults.clone()));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the batch has spent its budget; says so once when it first has.
    fn budget_spent(&mut self) -> bool {
        let Some(budget) = self.summary.budget_usd else {
            return false;
        };
        if self.summary.cost_usd < budget {
            return false;
        }
        if !self.summary.budget_reached {
            self.summary.budget_reached = true;
            (self.progress)(Progress::BudgetReached {
                spent_usd: self.summary.cost_usd,
                budget_usd: budget,
            });
        }
        true
    }

    /// What an attempt of `task` may still spend: the least of what is left of the batch's budget
    /// and of the task's; None when neither has one.
    pub(super) fn budget_left(&self, task: &TaskId) -> Result<Option<f64>> {
        let batch = self
            .summary
            .budget_usd
            .map(|budget| budget - self.summary.cost_usd);
        let task = match self.config.budget.task_usd {
            Some(budget) => Some(budget - self.store.task_spent(task)?.usd),
            None => None,
        };
        Ok(match (batch, task) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Checks the roadmap's health when a check is due and takes in a planner's answer; true
    /// when new tasks joined the batch. `dry`: the batch has nothing else left to do.
    fn extend(&mut self, batch: i64, dry: bool) -> Result<bool> {
        let Some(extension) = &mut self.extension else {
            return Ok(false);
        };
        let mut added = false;
        if let Some(extended) = extension.collect(self.store, batch)? {
            if let Extended::Added { cost_usd, .. } = &extended {
                added = true;
                // The planner's cost is the batch's too.
                self.summary.cost_usd += cost_usd.unwrap_or(0.0);
            }
            (self.progress)(Progress::Extension(extended));
        }
        // A planner costs too: none starts once the budget is spent.
        if self.halted.is_none() && !self.summary.budget_reached {
            if let Some(planning) = extension.check(self.store, self.summary.landed.len(), dry)? {
                (self.progress)(Progress::Extension(planning));
            }
        }
        Ok(added)
    }

    /// The members of a gate job, with their tasks and attempts.
    fn gate_members(
        &self,
        queued: &HashMap<CandidateId, Attempt>,
        members: &[(CandidateId, String)],
    ) -> Result<Vec<GateMember>> {
        let mut out = Vec::with_capacity(members.len());
        for (candidate, head) in members {
            let Some(attempt) = queued.get(candidate) else {
                continue;
            };
            out.push(GateMember {
                candidate: *candidate,
                head: head.clone(),
                task: self.store.task(&attempt.task)?,
                attempt: attempt.clone(),
            });
        }
        Ok(out)
    }

    /// Records a gate job's results: on the candidate's attempt when the queue still waited for
    /// the job, else only for the cache (a speculative verdict on a tree that will not land says
    /// nothing about the candidate). Verdicts taken from the cache are not recorded again.
    fn record_verdict(
        &mut self,
        queue: &MergeQueue<Arc<FailedGates>>,
        job: JobId,
        task: &Task,
        attempt: &Attempt,
        report: &gates::GateReport,
        below: Option<&Below>,
    ) -> Result<()> {
        let current = queue.awaits(job);
        if report.gates.is_empty() {
            // Nothing was gated (vane.toml has no gate).
        } else if current {
            self.store.record_gate_results(
                Some(&task.id),
                Some(attempt.id),
                &report.records(),
                report.decision.overall,
            )?;
        } else {
            record_fresh(self.store, report)?;
        }
        if let Some(below) = below {
            record_fresh(self.store, &below.report)?;
        }
        Ok(())
    }

    /// Tasks in needs_review when the batch starts were finished by an earlier run that stopped
    /// before landing them: queued again.
    fn recovered_reviews(&mut self) -> Result<Vec<(Attempt, String)>> {
        let mut queue = Vec::new();
        for task in self.store.tasks(&TaskFilter {
            statuses: vec![TaskStatus::NeedsReview],
            parent: None,
        })? {
            if self.store.approval(&task.id)?.as_deref()
                == Some(crate::orchestrator::approval::WAITING)
            {
                // A person's to decide (`vane approve` or `vane reject`).
                continue;
            }
            let attempt = self.store.attempts(&task.id)?.pop();
            match (attempt, &task.head_sha) {
                (Some(attempt), Some(head)) => queue.push((attempt, head.clone())),
                _ => {
                    self.store
                        .give_up(&task.id, "in review with no recorded attempt")?;
                }
            }
        }
        Ok(queue)
    }

    /// Records a worker's report; returns the attempt and branch head to queue when the agent
    /// left a change.
    fn finished(&mut self, done: Done) -> Result<Option<(Attempt, String)>> {
        failpoint::hit("after_agent");
        let run_dir = self
            .state_dir
            .join("runs")
            .join(done.attempt.task.as_str())
            .join(done.attempt.number.to_string());
        crate::orchestrator::hooks::import_inbox(self.store, &done.attempt, &run_dir)?;
        // What the agent left for later tasks in its context file, whatever the outcome.
        crate::learnings::record_attempt(self.store, &done.attempt, &run_dir)?;
        let mut done = done;
        let cost = self.prices.cost(
            done.result.cost_usd,
            crate::prices::Tokens {
                input: done.result.input_tokens.and_then(|t| u64::try_from(t).ok()),
                cached_input: done
                    .result
                    .cached_input_tokens
                    .and_then(|t| u64::try_from(t).ok()),
                output: done
                    .result
                    .output_tokens
                    .and_then(|t| u64::try_from(t).ok()),
            },
            done.result.model.as_deref(),
        );
        (done.result.cost_usd, done.result.cost_source) = (cost.usd, cost.source);
        self.summary.cost_usd += cost.usd.unwrap_or(0.0);
        (self.progress)(Progress::AgentDone {
            worker: done.worker + 1,
            task: done.attempt.task.clone(),
            outcome: done.result.outcome,
            seconds: done.seconds,
        });
        if self.store.task(&done.attempt.task)?.status != TaskStatus::InProgress {
            // A person moved the task while its agent ran (`vane task block`): their move stands,
            // and the agent's work stays on the task branch.
            self.store
                .record_attempt_only(&done.attempt, &done.result)?;
            return Ok(None);
        }
        if !done.result.charged {
            let reason = done
                .result
                .feedback
                .clone()
                .unwrap_or_else(|| done.result.outcome.to_string());
            self.store
                .release_attempt(&done.attempt, &done.result, &reason)?;
            (self.progress)(Progress::Fault {
                task: done.attempt.task.clone(),
                reason: reason.clone(),
            });
            if matches!(
                done.result.outcome,
                AttemptOutcome::Lost | AttemptOutcome::Abandoned
            ) {
                // A lost worker (a node that died, a job cancelled by someone), or a job a dead
                // run claimed and never published: the task runs again in this batch, unless its
                // workers keep getting lost.
                let lost = self.lost.entry(done.attempt.task.clone()).or_default();
                *lost += 1;
                if *lost < LOST_BEFORE_WAITING {
                    return Ok(None);
                }
            }
            // Not tried again in this batch: the next `vane work` will, once the trouble is gone.
            self.faults.push((done.attempt.task.clone(), reason));
            return Ok(None);
        }
        if let (true, Some(head)) = (done.changed, done.result.head_sha.clone()) {
            self.store.finish_attempt(
                &done.attempt,
                &done.result,
                TaskStatus::NeedsReview,
                None,
            )?;
            failpoint::hit("after_finish");
            return Ok(Some((done.attempt, head)));
        }
        let reason = done
            .result
            .feedback
            .clone()
            .unwrap_or_else(|| done.result.outcome.to_string());
        self.store.finish_attempt(
            &done.attempt,
            &done.result,
            TaskStatus::NeedsImprovement,
            Some(&reason),
        )?;
        failpoint::hit("after_finish");
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

    fn reject(&mut self, attempt: &Attempt, outcome: AttemptOutcome, feedback: &str) -> Result<()> {
        self.store.reject(attempt, outcome, feedback)?;
        self.after_rejection(attempt, feedback)
    }

    /// A candidate the queue sends back, its verdict taken on base itself: rejected with its
    /// feedback, or, when base fails its gates the same way, kept in review and the batch halted.
    fn settle_rejection(
        &mut self,
        attempt: &Attempt,
        onto: &str,
        why: Rejection<Arc<FailedGates>>,
    ) -> Result<()> {
        if self.store.task(&attempt.task)?.status != TaskStatus::NeedsReview {
            // Blocked by hand while it waited: it stays so, its branch kept.
            return Ok(());
        }
        match why {
            Rejection::Conflict(paths) => {
                let feedback = format!(
                    "merging with the base branch conflicts in: {}; its next attempt starts from the merge, with the conflict markers in place",
                    paths.join(", ")
                );
                self.reject(attempt, AttemptOutcome::Conflict, &feedback)
            }
            Rejection::Failed(failed) => {
                if let Some(below) = failed.below.as_ref().filter(|b| b.fails_the_same) {
                    // The gate or the base is broken, not the task: it stays in review, its
                    // branch kept, and the batch starts nothing more.
                    tracing::warn!(task = %attempt.task, onto, gates = ?below.gates, "the base fails the gates too");
                    self.halted = Some(OrchestratorError::BrokenGate {
                        gates: below.gates.clone(),
                        task: attempt.task.clone(),
                        output: below.output.clone(),
                    });
                    return Ok(());
                }
                self.reject(
                    attempt,
                    AttemptOutcome::GateFailed,
                    &failed.report.feedback(),
                )
            }
        }
    }
}

/// A candidate's failed verdict, as the merge queue carries it.
#[derive(Debug)]
struct FailedGates {
    report: gates::GateReport,
    below: Option<Below>,
}

/// How long a person's checkout of base may lag behind while the queue keeps landing.
const CHECKOUT_LAG: Duration = Duration::from_secs(2);

/// Records the results of a report that ran (not those taken from the cache) for the cache only.
fn record_fresh(store: &mut Store, report: &gates::GateReport) -> Result<()> {
    let fresh: Vec<_> = report
        .records()
        .into_iter()
        .filter(|r| r.cached_from.is_none())
        .collect();
    if !fresh.is_empty() {
        store.record_gate_results(None, None, &fresh, report.decision.overall)?;
    }
    Ok(())
}

/// Waits for every agent and gate job in flight to report, after a stop was asked for.
fn drain(workers: &mut Pool, gate_pool: &mut GatePool, events: &mpsc::Receiver<Event>) {
    while workers.in_flight > 0 || gate_pool.in_flight > 0 {
        match events.recv_timeout(Duration::from_secs(60)) {
            Ok(Event::Agent(_)) => workers.in_flight = workers.in_flight.saturating_sub(1),
            Ok(Event::Gate(GateEvent::Gated(gated))) => gate_pool.finished(gated.slot),
            Ok(Event::Gate(GateEvent::Ended { slot, .. })) => gate_pool.finished(slot),
            Ok(Event::Gate(GateEvent::Merged { .. })) => {}
            Ok(Event::Remote(_)) => {}
            Err(_) => return,
        }
    }
}

impl Batch<'_> {
    /// Merging waits for `checkout`, where `in_the_way` stands between base at `from` and the
    /// landing of `landing`: said once per pause, and once the pause lasted `pause_timeout`, the
    /// batch stops starting and landing (what passed its gates waits in review for the next
    /// batch, which gates it again).
    fn pause(
        &mut self,
        checkout: &Path,
        from: &str,
        landing: &[LandedMember],
        in_the_way: Vec<String>,
    ) -> Result<()> {
        let bound = self.config.pause_bound();
        let since = match &self.paused_on {
            Some((paused, since)) if paused == checkout => *since,
            _ => {
                let tracked = self.git.tracked_among(from, &in_the_way)?;
                let untracked: Vec<String> = in_the_way
                    .iter()
                    .filter(|p| !tracked.contains(p))
                    .cloned()
                    .collect();
                (self.progress)(Progress::Paused {
                    checkout: checkout.to_path_buf(),
                    tasks: landing.iter().map(|m| m.task.clone()).collect(),
                    paths: in_the_way.clone(),
                    untracked,
                    bound,
                });
                let now = Instant::now();
                self.paused_on = Some((checkout.to_path_buf(), now));
                now
            }
        };
        let Some(bound) = bound else {
            return Ok(());
        };
        if since.elapsed() >= bound && self.halted.is_none() {
            let tracked = self.git.tracked_among(from, &in_the_way)?;
            let untracked = in_the_way.iter().any(|p| !tracked.contains(p));
            self.halted = Some(OrchestratorError::PausedTooLong {
                checkout: checkout.to_path_buf(),
                paths: in_the_way,
                seconds: bound.as_secs(),
                untracked,
            });
        }
        Ok(())
    }

    /// How long the coordinator waits before it looks at a paused landing again: a couple of
    /// seconds, or what is left of `pause_timeout`.
    fn pause_wait(&self) -> Duration {
        let again = Duration::from_secs(2);
        match (&self.paused_on, self.config.pause_bound()) {
            (Some((_, since)), Some(bound)) => again.min(bound.saturating_sub(since.elapsed())),
            _ => again,
        }
    }
}

impl Batch<'_> {
    /// Lands what the merge queue asks for, once its last checks pass: base is still where the
    /// group was gated on, every member is still in review, none changes a protected path that
    /// no person approved, and the person's checkouts of base can follow. False when the landing
    /// waits for a dirty checkout.
    fn land(
        &mut self,
        queue: &mut MergeQueue<Arc<FailedGates>>,
        queued: &mut HashMap<CandidateId, Attempt>,
        from: &str,
        members: &[(CandidateId, String)],
    ) -> Result<bool> {
        let Some(tip) = self.base_tip()? else {
            // Base moved in a way nobody explains: the batch halts; the candidates wait in review.
            return Ok(true);
        };
        if tip != from {
            queue.base_moved(&tip);
            return Ok(true);
        }
        // Whatever stops the landing below answers it first: it is out until then.
        let mut landing = Vec::with_capacity(members.len());
        let mut below = from.to_string();
        for (candidate, sha) in members {
            let Some(attempt) = queued.get(candidate).cloned() else {
                queue.land_deferred();
                queue.remove(*candidate);
                return Ok(true);
            };
            let task = self.store.task(&attempt.task)?;
            if task.status != TaskStatus::NeedsReview {
                // Blocked by hand while it waited: it stays so, its branch kept.
                queue.land_deferred();
                queue.remove(*candidate);
                queued.remove(candidate);
                return Ok(true);
            }
            if self.store.approval(&task.id)?.as_deref()
                != Some(crate::orchestrator::approval::APPROVED)
            {
                let touched =
                    crate::orchestrator::protected::touched(self.git, self.config, &below, sha)?;
                if !touched.is_empty() {
                    // Gated, but the checks themselves changed: a person decides.
                    crate::orchestrator::approval::wait_for_person(
                        self.store, &task.id, &below, sha, &touched,
                    )?;
                    (self.progress)(Progress::AwaitingApproval {
                        task: task.id.clone(),
                        paths: touched,
                    });
                    queue.land_deferred();
                    queue.remove(*candidate);
                    queued.remove(candidate);
                    return Ok(true);
                }
            }
            landing.push(LandedMember {
                task: task.id.clone(),
                attempt: Some(attempt.id),
                sha: CommitId::new(sha.clone()),
            });
            below = sha.clone();
        }
        let to = below;
        let checkouts = self.git.checkout_paths_of(self.base)?;
        let files_at = self
            .behind
            .as_ref()
            .map_or_else(|| from.to_string(), |b| b.files_at.clone());
        let mut blocked = false;
        for checkout in &checkouts {
            blocked |= !self
                .git
                .checkout_blockers(checkout, &files_at, &to)?
                .is_empty();
        }
        if blocked && self.behind.is_some() {
            // Where the checks cannot look past the files alone (git's own, which compare the
            // index with HEAD), a checkout that lags behind looks changed: brought along first.
            self.bring_checkouts_along()?;
        }
        for checkout in checkouts.iter().filter(|_| blocked) {
            let in_the_way = self.git.checkout_blockers(checkout, from, &to)?;
            if !in_the_way.is_empty() {
                self.pause(checkout, from, &landing, in_the_way)?;
                queue.land_deferred();
                return Ok(false);
            }
        }
        self.paused_on = None;
        // The checkouts follow later (once per drained queue); where their files are and where
        // they are to go is written down before base moves, for recovery to finish.
        match &mut self.behind {
            Some(behind) => {
                for (_, intent) in &behind.intents {
                    self.store.retarget_checkout_move(*intent, &to)?;
                }
            }
            None => {
                let mut intents = Vec::with_capacity(checkouts.len());
                for checkout in checkouts {
                    let intent = self.store.record_checkout_move(&checkout, from, &to)?;
                    intents.push((checkout, intent.id));
                }
                self.behind = Some(Behind {
                    files_at: from.to_string(),
                    since: Instant::now(),
                    intents,
                });
            }
        }
        let names: Vec<&str> = landing.iter().map(|m| m.task.as_str()).collect();
        let reason = format!("vane: land {}", names.join(", "));
        let landed = landing::land(
            self.store,
            self.git,
            &LandMove {
                base: self.base,
                from,
                members: &landing,
                reason: &reason,
                correlation: self.correlation,
            },
        )?;
        match landed {
            Landed::BaseMoved => {
                // Base moved under us (a person committed): gated again on the new tip.
                if let Some(tip) = self.base_tip()? {
                    queue.base_moved(&tip);
                }
            }
            Landed::Done(checkpoint) => {
                self.expected_tip = to;
                queue.landed();
                for member in landing {
                    if let Some(attempt) = member.attempt {
                        queued.remove(&attempt);
                    }
                    (self.progress)(Progress::Landed {
                        task: member.task.clone(),
                        sha: member.sha.clone(),
                        checkpoint: checkpoint.id,
                    });
                    self.summary.landed.push(Landing {
                        task: member.task,
                        sha: member.sha,
                        checkpoint: checkpoint.id,
                    });
                }
            }
        }
        Ok(true)
    }

    /// Brings the person's checkouts of base to where base is now, under the intents written
    /// before the landings; a change of theirs in the way, or a failure underneath, is reported,
    /// and the batch goes on.
    fn bring_checkouts_along(&mut self) -> Result<()> {
        let Some(behind) = self.behind.take() else {
            return Ok(());
        };
        let tip = self.expected_tip.clone();
        let mut still_behind = Vec::new();
        for (checkout, intent) in behind.intents {
            let followed = landing::bring_checkout_along(
                self.store,
                self.git,
                &checkout,
                &behind.files_at,
                &tip,
                Some(intent),
            )?;
            let (error, resumable) = match followed {
                CheckoutFollowed::Done => continue,
                CheckoutFollowed::InTheWay(e) => (e, false),
                CheckoutFollowed::Failed(e) => {
                    // Its files are where they were, under the same open intent: tried again
                    // after the next landing, or by the next run.
                    still_behind.push((checkout.clone(), intent));
                    (e, true)
                }
            };
            tracing::warn!(checkout = %checkout.display(), error = %error, "checkout not brought along");
            (self.progress)(Progress::CheckoutBehind {
                checkout,
                old: CommitId::new(behind.files_at.clone()),
                new: CommitId::new(tip.clone()),
                reason: error.to_string(),
                resumable,
            });
        }
        if !still_behind.is_empty() {
            self.behind = Some(Behind {
                files_at: behind.files_at,
                since: Instant::now(),
                intents: still_behind,
            });
        }
        failpoint::hit("after_checkout_advance");
        Ok(())
    }
}

/// The person's checkouts of base while the queue lands faster than they are brought along.
struct Behind {
    /// The commit their files are at.
    files_at: String,
    /// When the first landing since they were last brought along moved base.
    since: Instant,
    /// Each checkout, with its open checkout move.
    intents: Vec<(PathBuf, i64)>,
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
