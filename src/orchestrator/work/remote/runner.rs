//! The coordinator's side of remote workers: one thread that publishes each job and starts its
//! worker (each on a short thread of its own, as an executor's `start` may take seconds), watches
//! the remotes for results with one `git ls-remote` per remote and poll, however many jobs wait,
//! collects each result into this repository, and reports it as a local worker would. A job whose
//! ref vanished, whose worker ended without a result, or that outlived its time limit is cancelled
//! and reported lost (never charged). What matches no waiting job is handed to the coordinator,
//! which owns the database, to be refused or cleared away.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::executor::{read_handle, write_whole, JobNames, HANDLE_FILE, STARTING_FILE};
use super::{push_ref, read_result, ref_key, write_job, Executor, PUBLISH_PATIENCE};
use crate::git::Git;
use crate::model::{now_millis, AttemptOutcome, TaskId};
use crate::orchestrator::work::worker_pool::{Done, Work};
use crate::orchestrator::work::Event;
use crate::orchestrator::{OrchestratorError, Result};
use crate::store::{job_ref, result_ref, Attempt, AttemptResult, RemoteJob};

/// The first pause between two looks at a remote, and after anything changed.
const MIN_POLL: Duration = Duration::from_millis(150);
/// The longest pause between two looks while nothing changes.
const MAX_POLL: Duration = Duration::from_secs(3);
/// The longest pause while a remote cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the thread looks at whether vane is being stopped.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// What the coordinator asks of the runner.
pub(in crate::orchestrator::work) enum Order {
    /// Publish the job of an attempt just claimed and start its worker.
    Dispatch {
        slot: usize,
        executor: usize,
        attempt: Attempt,
        work: Box<Work>,
        setup: Option<String>,
    },
    /// Collect the result of a job that an earlier run published.
    Adopt {
        slot: usize,
        executor: usize,
        attempt: Attempt,
        job: RemoteJob,
        run_dir: PathBuf,
    },
    /// Every adoption is sent: refs that match no waiting job are reported from now on.
    Armed,
    /// The attempt is recorded: its job and result refs can go.
    Forget {
        executor: usize,
        task: TaskId,
        attempt: u32,
    },
    /// Keep this result aside here and take it off the remote.
    Refuse {
        executor: usize,
        refname: String,
        sha: String,
        reason: String,
    },
    /// From a dispatch thread: the job is published and its worker started.
    Started {
        key: Key,
        executor: usize,
        job_sha: String,
        handle: String,
    },
    /// From a dispatch thread: the job could not be published or started.
    StartFailed { key: Key, error: String },
    /// The batch is over: clear away what is left, and end.
    Shutdown,
}

/// What the runner tells the coordinator besides finished attempts.
#[derive(Debug)]
pub(in crate::orchestrator::work) enum RemoteEvent {
    /// A ref under `refs/vane/` of a remote that no waiting job explains.
    Unmatched {
        executor: usize,
        refname: String,
        sha: String,
    },
    /// A result kept aside (under `kept_as` here) and taken off the remote.
    Refused {
        remote: String,
        refname: String,
        sha: String,
        kept_as: Option<String>,
        reason: String,
    },
}

type Key = (TaskId, u32);

/// A job the runner waits for.
struct Waiting {
    slot: usize,
    executor: usize,
    attempt: Attempt,
    run_dir: PathBuf,
    base_sha: String,
    job_sha: Option<String>,
    handle: Option<String>,
    /// The worker was started (or may have been, for a job an earlier run published).
    started: bool,
    /// Published by an earlier run, whose dispatch may have stopped anywhere.
    adopted: bool,
    /// Published by an earlier run that never started its worker (or whose worker is known not
    /// to run): started once a look at the remote found no result of it.
    pending_start: bool,
    /// Milliseconds since the epoch.
    deadline: i64,
    began: Instant,
    /// Result commits refused for this job, not looked at again.
    refused: HashSet<String>,
    /// Polls that found its local worker ended without a result.
    ended_polls: u32,
}

/// The runner's thread and the way to reach it.
pub(in crate::orchestrator::work) struct Runner {
    pub(in crate::orchestrator::work) orders: mpsc::Sender<Order>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Runner {
    pub(in crate::orchestrator::work) fn start(
        git: &Git,
        executors: Vec<Executor>,
        events: &mpsc::Sender<Event>,
    ) -> Runner {
        let (orders, inbox) = mpsc::channel();
        let mut state = State {
            git: git.clone(),
            executors,
            events: events.clone(),
            own: orders.clone(),
            waiting: HashMap::new(),
            forget: BTreeMap::new(),
            armed: false,
            reported: HashSet::new(),
            unreachable: HashSet::new(),
        };
        let handle = std::thread::spawn(move || state.run(&inbox));
        Runner {
            orders,
            handle: Some(handle),
        }
    }

    /// Lets the thread finish what it still has to clear away on the remotes, and waits for it.
    pub(in crate::orchestrator::work) fn stop(mut self) {
        // The thread holds a sender of its own (for the dispatch threads): told, not hung up on.
        let _ = self.orders.send(Order::Shutdown);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

struct State {
    git: Git,
    executors: Vec<Executor>,
    events: mpsc::Sender<Event>,
    /// For the dispatch threads' answers.
    own: mpsc::Sender<Order>,
    waiting: HashMap<Key, Waiting>,
    /// Refs to delete, per executor.
    forget: BTreeMap<usize, BTreeSet<String>>,
    armed: bool,
    /// Unmatched refs already reported, with their value.
    reported: HashSet<(String, String)>,
    /// Remotes the last look could not reach (said once per outage).
    unreachable: HashSet<String>,
}

impl State {
    fn run(&mut self, inbox: &mpsc::Receiver<Order>) {
        let mut interval = MIN_POLL;
        let mut next_poll = Instant::now();
        loop {
            let wait = if self.waiting.is_empty() && self.forget.is_empty() {
                STOP_CHECK
            } else {
                next_poll
                    .saturating_duration_since(Instant::now())
                    .min(STOP_CHECK)
            };
            match inbox.recv_timeout(wait) {
                Ok(Order::Shutdown) => {
                    self.stop_all("vane stopped while the worker ran");
                    self.clear_away();
                    return;
                }
                Ok(order) => {
                    if self.take(order) {
                        interval = MIN_POLL;
                        next_poll = next_poll.min(Instant::now() + MIN_POLL);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.stop_all("vane stopped while the worker ran");
                    self.clear_away();
                    return;
                }
            }
            if crate::agent::stopping() && !self.waiting.is_empty() {
                self.stop_all("vane was stopped while the remote worker ran");
                continue;
            }
            if Instant::now() < next_poll {
                continue;
            }
            let (changed, reachable) = self.poll();
            self.clear_away();
            interval = match (changed, reachable) {
                (true, _) => MIN_POLL,
                (false, true) => (interval * 3 / 2).min(MAX_POLL),
                (false, false) => (interval * 2).min(MAX_BACKOFF),
            };
            next_poll = Instant::now() + interval;
        }
    }

    /// Takes one order; true when a look at the remotes is due soon.
    fn take(&mut self, order: Order) -> bool {
        match order {
            Order::Dispatch {
                slot,
                executor,
                attempt,
                work,
                setup,
            } => {
                let key = (attempt.task.clone(), attempt.number);
                let deadline = now_millis() + self.executors[executor].time_limit_ms();
                self.waiting.insert(
                    key.clone(),
                    Waiting {
                        slot,
                        executor,
                        attempt,
                        run_dir: work.run_dir.clone(),
                        base_sha: work.base_sha.clone(),
                        job_sha: None,
                        handle: None,
                        started: false,
                        adopted: false,
                        pending_start: false,
                        deadline,
                        began: Instant::now(),
                        refused: HashSet::new(),
                        ended_polls: 0,
                    },
                );
                let git = self.git.clone();
                let index = executor;
                let executor = self.executors[executor].clone();
                let own = self.own.clone();
                std::thread::spawn(move || {
                    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        publish_and_start(&git, &executor, &work, setup.as_deref())
                    }))
                    .unwrap_or_else(|_| {
                        Err(OrchestratorError::Remote(
                            "publishing the job failed unexpectedly".to_string(),
                        ))
                    });
                    let answer = match started {
                        Ok((job_sha, handle)) => Order::Started {
                            key,
                            executor: index,
                            job_sha,
                            handle,
                        },
                        Err(e) => Order::StartFailed {
                            key,
                            error: e.to_string(),
                        },
                    };
                    let _ = own.send(answer);
                });
                false
            }
            Order::Adopt {
                slot,
                executor,
                attempt,
                job,
                run_dir,
            } => {
                let key = (attempt.task.clone(), attempt.number);
                let job_sha = self.git.rev_parse(&job.job_ref).ok().flatten();
                let handle = read_handle(&run_dir);
                let started = handle.is_some() || run_dir.join(STARTING_FILE).exists();
                let age = u64::try_from(now_millis().saturating_sub(job.submitted_at)).unwrap_or(0);
                let began = Instant::now()
                    .checked_sub(Duration::from_millis(age))
                    .unwrap_or_else(Instant::now);
                let base_sha = attempt.base_sha.clone().unwrap_or_default();
                let Some(job_sha) = job_sha else {
                    // Claimed by a run that died before it wrote the job: nothing ever ran it.
                    let w = Waiting {
                        slot,
                        executor,
                        attempt,
                        run_dir,
                        base_sha,
                        job_sha: None,
                        handle: None,
                        started: false,
                        adopted: true,
                        pending_start: false,
                        deadline: job.deadline,
                        began,
                        refused: HashSet::new(),
                        ended_polls: 0,
                    };
                    self.report(
                        w,
                        AttemptResult {
                            feedback: Some(
                                "the run that claimed it stopped before it published its job"
                                    .to_string(),
                            ),
                            ..AttemptResult::new(AttemptOutcome::Abandoned)
                        },
                        None,
                    );
                    return false;
                };
                // Whether a worker may run it: asked for (its handle), or perhaps (asked for,
                // no handle written), unless the local executor finds no such worker.
                let may_run = handle.is_some()
                    || (started && !self.executors[executor].ended(None, &key.0, key.1));
                self.waiting.insert(
                    key,
                    Waiting {
                        slot,
                        executor,
                        attempt,
                        run_dir,
                        base_sha,
                        job_sha: Some(job_sha),
                        handle,
                        started: may_run,
                        adopted: may_run,
                        pending_start: !may_run,
                        deadline: job.deadline,
                        began,
                        refused: HashSet::new(),
                        ended_polls: 0,
                    },
                );
                true
            }
            Order::Armed => {
                self.armed = true;
                true
            }
            Order::Forget {
                executor,
                task,
                attempt,
            } => {
                let list = self.forget.entry(executor).or_default();
                list.insert(job_ref(&task, attempt));
                list.insert(result_ref(&task, attempt));
                true
            }
            Order::Refuse {
                executor,
                refname,
                sha,
                reason,
            } => {
                self.keep_aside(executor, &refname, &sha, &reason);
                false
            }
            Order::Started {
                key,
                executor,
                job_sha,
                handle,
            } => {
                match self.waiting.get_mut(&key) {
                    Some(w) => {
                        w.job_sha = Some(job_sha);
                        w.handle = Some(handle);
                        w.started = true;
                    }
                    None => {
                        // Given up while it was being started (vane is stopping): stopped now.
                        let job = job_ref(&key.0, key.1);
                        self.executors[executor].cancel(
                            &JobNames {
                                task: &key.0,
                                attempt: key.1,
                                job_ref: &job,
                            },
                            Some(&handle),
                        );
                        self.forget.entry(executor).or_default().insert(job);
                    }
                }
                true
            }
            Order::Shutdown => false,
            Order::StartFailed { key, error } => {
                if let Some(w) = self.waiting.remove(&key) {
                    self.report(
                        w,
                        AttemptResult {
                            feedback: Some(error),
                            ..AttemptResult::new(AttemptOutcome::VaneError)
                        },
                        None,
                    );
                }
                false
            }
        }
    }

    /// One look at every remote that has jobs waiting: collects what arrived, gives up on what
    /// vanished or ran out of time. Returns (something changed, every remote answered).
    fn poll(&mut self) -> (bool, bool) {
        let mut changed = false;
        let mut reachable = true;
        let mut remotes: Vec<usize> = self.waiting.values().map(|w| w.executor).collect();
        remotes.extend(self.forget.keys().copied());
        if self.armed {
            // After a restart, what an earlier run left on the remote is looked at once.
            remotes.extend(0..self.executors.len());
        }
        remotes.sort_unstable();
        remotes.dedup_by_key(|e| self.executors[*e].remote.clone());
        for executor in remotes {
            let remote = self.executors[executor].remote.clone();
            let refs = match self.git.ls_remote(&remote, &["refs/vane/*"]) {
                Ok(refs) => {
                    if self.unreachable.remove(&remote) {
                        tracing::info!(remote, "the remote answers again");
                    }
                    refs
                }
                Err(e) => {
                    if self.unreachable.insert(remote.clone()) {
                        tracing::warn!(remote, error = %e, "cannot reach the remote; trying again");
                    }
                    reachable = false;
                    changed |= self.give_up_late(&remote);
                    continue;
                }
            };
            changed |= self.look(&remote, &refs);
        }
        (changed, reachable)
    }

    /// What one listing of `remote` says of the jobs waiting on it.
    fn look(&mut self, remote: &str, refs: &BTreeMap<String, String>) -> bool {
        let mut changed = false;
        let keys: Vec<Key> = self
            .waiting
            .iter()
            .filter(|(_, w)| self.executors[w.executor].remote == remote)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let result = result_ref(&key.0, key.1);
            let job = job_ref(&key.0, key.1);
            let Some(w) = self.waiting.get(&key) else {
                continue;
            };
            if let Some(sha) = refs.get(&result).filter(|sha| !w.refused.contains(*sha)) {
                changed = true;
                let sha = sha.clone();
                self.collect(&key, &sha);
                continue;
            }
            if self.waiting[&key].pending_start {
                // No result came: its dispatch goes on from where the dead run left it.
                self.start_adopted(&key);
                continue;
            }
            let w = &self.waiting[&key];
            let executor = &self.executors[w.executor];
            let why = if !w.started && !w.adopted {
                // Being published and started by its dispatch thread.
                None
            } else if w.job_sha.is_some() && !refs.contains_key(&job) {
                Some(format!("its job {job} vanished from {remote}"))
            } else if now_millis() > w.deadline {
                Some(format!(
                    "its worker sent no result within {} s",
                    executor.time_limit_ms() / 1000
                ))
            } else if executor.ended(w.handle.as_deref(), &key.0, key.1) {
                // Looked at again: a result pushed just before the worker ended shows next time.
                let polls = self.waiting.get_mut(&key).map_or(0, |w| {
                    w.ended_polls += 1;
                    w.ended_polls
                });
                (polls >= 3).then(|| "its worker ended without sending a result".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                changed = true;
                self.lose(&key, &why);
            }
        }
        if self.armed {
            for (refname, sha) in refs {
                let Some(key) = ref_key(refname) else {
                    continue;
                };
                if self.waiting.contains_key(&key) {
                    continue;
                }
                if self.forget.values().any(|refs| refs.contains(refname)) {
                    continue;
                }
                if self.reported.insert((refname.clone(), sha.clone())) {
                    let executor = self
                        .executors
                        .iter()
                        .position(|e| e.remote == remote)
                        .unwrap_or(0);
                    let _ = self.events.send(Event::Remote(RemoteEvent::Unmatched {
                        executor,
                        refname: refname.clone(),
                        sha: sha.clone(),
                    }));
                }
            }
        }
        changed
    }

    /// Starts the worker of a job an earlier run published and never started, on a thread.
    fn start_adopted(&mut self, key: &Key) {
        let Some(w) = self.waiting.get_mut(key) else {
            return;
        };
        w.pending_start = false;
        let Some(job_sha) = w.job_sha.clone() else {
            return;
        };
        let git = self.git.clone();
        let index = w.executor;
        let executor = self.executors[index].clone();
        let own = self.own.clone();
        let (key, dir) = (key.clone(), w.run_dir.clone());
        std::thread::spawn(move || {
            let answer = match start_published(&git, &executor, &key.0, key.1, &job_sha, &dir) {
                Ok(handle) => Order::Started {
                    key,
                    executor: index,
                    job_sha,
                    handle,
                },
                Err(e) => Order::StartFailed {
                    key,
                    error: e.to_string(),
                },
            };
            let _ = own.send(answer);
        });
    }

    /// Jobs of an unreachable remote past their time limit are given up all the same.
    fn give_up_late(&mut self, remote: &str) -> bool {
        let late: Vec<Key> = self
            .waiting
            .iter()
            .filter(|(_, w)| {
                self.executors[w.executor].remote == remote && now_millis() > w.deadline
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in &late {
            self.lose(
                key,
                &format!(
                    "its worker sent no result within its time limit ({remote} cannot be reached)"
                ),
            );
        }
        !late.is_empty()
    }

    /// Fetches, checks and reports the result `sha` of a waiting job; one that does not hold is
    /// kept aside, and the job waits on.
    fn collect(&mut self, key: &Key, sha: &str) {
        let Some(w) = self.waiting.get(key) else {
            return;
        };
        let refname = result_ref(&key.0, key.1);
        let remote = self.executors[w.executor].remote.clone();
        let checked = self
            .git
            .fetch(&remote, &[format!("+{refname}:{refname}")])
            .map_err(OrchestratorError::from)
            .and_then(|()| self.check(w, sha));
        match checked {
            Ok(result) => {
                let Some(w) = self.waiting.remove(key) else {
                    return;
                };
                self.report(w, result, Some(sha.to_string()));
            }
            Err(OrchestratorError::Git(e)) => {
                // The fetch failed (the remote went away between two commands): tried again.
                tracing::warn!(remote, error = %e, "cannot fetch a result; trying again");
            }
            Err(e) => {
                let executor = w.executor;
                if let Some(w) = self.waiting.get_mut(key) {
                    w.refused.insert(sha.to_string());
                }
                self.keep_aside(executor, &refname, sha, &e.to_string());
            }
        }
    }

    /// The result of `w` that `sha` records, once it holds: a record of this job, made on the job's
    /// base; its run files are written to the run directory and the task branch moved to its work.
    fn check(&self, w: &Waiting, sha: &str) -> Result<AttemptResult> {
        let refuse = |why: String| Err(OrchestratorError::Remote(why));
        let read = read_result(&self.git, sha)?;
        let record = &read.record;
        if record.task != w.attempt.task || record.attempt != w.attempt.number {
            return refuse(format!(
                "it is a record of {} attempt {}",
                record.task, record.attempt
            ));
        }
        let Some(job) = &w.job_sha else {
            return refuse("no job of this attempt was published".to_string());
        };
        if record.job != *job || !read.parents.contains(job) {
            return refuse(format!("it is not a result of job {job}"));
        }
        let mut result = record.to_result()?;
        if let Some(head) = &record.head_sha {
            if read.parents.first() != Some(head) {
                return refuse("its work is not its first parent".to_string());
            }
            if !self.git.is_ancestor(&w.base_sha, head)? {
                return refuse(format!(
                    "its work {head} is not built on the job's base {}",
                    w.base_sha
                ));
            }
            result.touched = Some(self.git.changed_paths(&w.base_sha, head)?);
        }
        for (name, bytes) in &read.files {
            let path = w.run_dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| OrchestratorError::io(parent, e))?;
            }
            std::fs::write(&path, bytes).map_err(|e| OrchestratorError::io(&path, e))?;
        }
        if let Some(head) = &record.head_sha {
            let branch = format!("refs/heads/{}", w.attempt.task.branch());
            let current = self.git.rev_parse(&branch)?;
            self.git.update_ref(
                &branch,
                head,
                current.as_deref(),
                "vane: the work of a remote worker",
            )?;
        }
        Ok(result)
    }

    /// Gives up on a job: its worker is cancelled, its job ref deleted (a worker that has not
    /// fetched it yet finds nothing to do), and its attempt reported lost.
    fn lose(&mut self, key: &Key, why: &str) {
        let Some(w) = self.waiting.remove(key) else {
            return;
        };
        self.cancel(&w);
        // A local worker's log says what became of it.
        let log = crate::orchestrator::gates::tail_text(&w.run_dir.join("worker.log"), 3);
        let why = if log.trim().is_empty() {
            why.to_string()
        } else {
            format!("{why} (its log ends: {})", log.trim())
        };
        let why = why.as_str();
        tracing::warn!(task = %key.0, attempt = key.1, why, "remote worker lost");
        self.report(
            w,
            AttemptResult {
                feedback: Some(format!(
                    "the remote worker was lost: {why}; the attempt is not charged"
                )),
                ..AttemptResult::new(AttemptOutcome::Lost)
            },
            None,
        );
    }

    fn cancel(&mut self, w: &Waiting) {
        let executor = &self.executors[w.executor];
        let job = job_ref(&w.attempt.task, w.attempt.number);
        executor.cancel(
            &JobNames {
                task: &w.attempt.task,
                attempt: w.attempt.number,
                job_ref: &job,
            },
            w.handle.as_deref(),
        );
        self.forget.entry(w.executor).or_default().insert(job);
    }

    /// vane is stopping: every worker is cancelled and its job taken back, so that the next run
    /// finds it lost at once instead of waiting for its time limit.
    fn stop_all(&mut self, why: &str) {
        let keys: Vec<Key> = self.waiting.keys().cloned().collect();
        for key in keys {
            if let Some(w) = self.waiting.remove(&key) {
                self.cancel(&w);
                self.report(
                    w,
                    AttemptResult {
                        feedback: Some(why.to_string()),
                        ..AttemptResult::new(AttemptOutcome::Interrupted)
                    },
                    None,
                );
            }
        }
        self.clear_away();
    }

    fn report(&self, w: Waiting, result: AttemptResult, result_commit: Option<String>) {
        let changed = result.outcome == AttemptOutcome::Changed && result.head_sha.is_some();
        let _ = self.events.send(Event::Agent(Box::new(Done {
            worker: w.slot,
            attempt: w.attempt,
            result,
            changed,
            seconds: w.began.elapsed().as_secs_f64(),
            result_commit,
        })));
    }

    /// Keeps a result aside under `refs/vane/refused/` here and deletes it on the remote, if it
    /// is still that commit there.
    fn keep_aside(&mut self, executor: usize, refname: &str, sha: &str, reason: &str) {
        let remote = self.executors[executor].remote.clone();
        let kept = refname.strip_prefix("refs/vane/").map(|rest| {
            format!(
                "refs/vane/refused/{rest}-{}",
                crate::model::short_commit(sha)
            )
        });
        let kept_as = kept.filter(|kept| {
            self.git
                .fetch(&remote, &[format!("+{refname}:{kept}")])
                .is_ok()
        });
        let deleted = self.git.push(
            &remote,
            &[format!(":{refname}")],
            &[&format!("--force-with-lease={refname}:{sha}")],
        );
        if let Err(e) = deleted {
            tracing::warn!(remote, refname, error = %e, "cannot delete a refused result");
        }
        let _ = self.events.send(Event::Remote(RemoteEvent::Refused {
            remote,
            refname: refname.to_string(),
            sha: sha.to_string(),
            kept_as,
            reason: reason.to_string(),
        }));
    }

    /// Deletes the refs of recorded attempts: one push per remote, and their copies here.
    fn clear_away(&mut self) {
        for (executor, refs) in std::mem::take(&mut self.forget) {
            let remote = self.executors[executor].remote.clone();
            let specs: Vec<String> = refs.iter().map(|r| format!(":{r}")).collect();
            // A ref already gone is refused as such, and the others are deleted all the same.
            match self.git.push(&remote, &specs, &[]) {
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(remote, error = %e, "cannot clear away refs; trying later");
                    self.forget.insert(executor, refs);
                    continue;
                }
            }
            for r in refs {
                if let Ok(Some(sha)) = self.git.rev_parse(&r) {
                    let _ = self.git.delete_ref(&r, &sha);
                }
            }
        }
    }
}

/// Writes the job of `work` here, publishes it on the executor's remote and starts its worker;
/// returns the job commit and the worker's handle.
fn publish_and_start(
    git: &Git,
    executor: &Executor,
    work: &Work,
    setup: Option<&str>,
) -> Result<(String, String)> {
    std::fs::create_dir_all(&work.run_dir).map_err(|e| OrchestratorError::io(&work.run_dir, e))?;
    std::fs::write(&work.prompt_file, &work.prompt)
        .map_err(|e| OrchestratorError::io(&work.prompt_file, e))?;
    let job_sha = write_job(git, work, setup)?;
    let job = job_ref(&work.task.id, work.number);
    // Here first: a run that dies after the push still knows which commit it published.
    let current = git.rev_parse(&job)?;
    git.update_ref(&job, &job_sha, current.as_deref(), "vane: publish a job")?;
    push_ref(
        git,
        &executor.remote,
        &job_sha,
        &job,
        true,
        Instant::now() + PUBLISH_PATIENCE,
    )?;
    crate::orchestrator::failpoint::hit("after_publish");
    let handle = start_worker(executor, &work.task.id, work.number, &job, &work.run_dir)?;
    Ok((job_sha, handle))
}

/// Publishes a job written before (again, if it was) and starts its worker; returns the handle.
fn start_published(
    git: &Git,
    executor: &Executor,
    task: &TaskId,
    number: u32,
    job_sha: &str,
    run_dir: &std::path::Path,
) -> Result<String> {
    let job = job_ref(task, number);
    push_ref(
        git,
        &executor.remote,
        job_sha,
        &job,
        true,
        Instant::now() + PUBLISH_PATIENCE,
    )?;
    start_worker(executor, task, number, &job, run_dir)
}

/// Asks the executor for a worker, writing down before that it may start and after it what its
/// handle is.
fn start_worker(
    executor: &Executor,
    task: &TaskId,
    number: u32,
    job: &str,
    run_dir: &std::path::Path,
) -> Result<String> {
    std::fs::create_dir_all(run_dir).map_err(|e| OrchestratorError::io(run_dir, e))?;
    write_whole(run_dir.join(STARTING_FILE), "")?;
    let handle = executor.start(
        &JobNames {
            task,
            attempt: number,
            job_ref: job,
        },
        run_dir,
    )?;
    write_whole(run_dir.join(HANDLE_FILE), &handle)?;
    Ok(handle)
}
