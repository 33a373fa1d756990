//! The live state of a running batch, for other processes to watch (`vane status`, `vane dash`)
//! without the work lock: the coordinator hands every `Progress` to a `LiveFile`, which keeps a
//! snapshot (the workers, the merge queue, recent landings and rejections, held-back tasks) and
//! writes it whole to `<state>/live.json` (a temporary file renamed over it) at most every
//! `THROTTLE`, and at once when the batch starts and ends. The writing happens on a thread of its
//! own, so the coordinator never waits for the file system.
//!
//! A killed vane cannot mark its file finished: readers (`running`) take the file only while the
//! process it names holds the work lock, as `lock::inspect` tells.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Progress;
use crate::config::Config;
use crate::model::{now_millis, TaskId};
use crate::orchestrator::lock::{self, LockState};
use crate::orchestrator::Result;

/// The live file's name in the state directory.
pub const LIVE_FILE: &str = "live.json";

/// The version of the file's format; a reader ignores a file of another.
pub const FORMAT_VERSION: u32 = 1;

/// How many landings and rejections the file keeps (the newest).
pub const RECENT: usize = 20;

/// The least time between two writes while the batch runs.
const THROTTLE: Duration = Duration::from_millis(200);

/// A batch as the person watching sees it, written to `live.json`. Times are milliseconds since
/// the Unix epoch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub version: u32,
    pub batch: i64,
    /// The process that runs the batch (and holds the work lock).
    pub pid: u32,
    pub base: String,
    /// The base tip the batch started from.
    pub tip: String,
    pub started_at: i64,
    pub updated_at: i64,
    /// Set when the batch ended, with its outcome (`finished`, `failed`).
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
    /// How many tasks were ready when the batch started.
    pub ready_at_start: usize,
    /// One per worker, in order; an idle one has no task.
    pub workers: Vec<LiveWorker>,
    pub queue: LiveQueue,
    /// The newest first, at most `RECENT`.
    pub landed: Vec<LiveLanding>,
    /// Candidates sent back, tasks blocked and attempts vane could not run: the newest first, at
    /// most `RECENT`.
    pub rejected: Vec<LiveRejection>,
    /// Ready tasks that wait because their paths overlap a task's that runs or waits to land.
    pub held_back: Vec<LiveHeld>,
    /// The checkout of base with changes that landing waits for, when it waits.
    pub paused_on: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveWorker {
    /// 1 for the first worker, as `[w1]` in `vane work`'s lines.
    pub worker: usize,
    pub task: Option<TaskId>,
    pub title: Option<String>,
    /// The agent profile of the attempt.
    pub profile: Option<String>,
    pub attempt: Option<u32>,
    /// When its attempt started, or when it became idle.
    pub since: i64,
}

/// The merge queue: its settings, and its candidates in the order they land.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveQueue {
    /// Candidates gated ahead speculatively, at most (`merge_window`).
    pub window: usize,
    /// Candidates gated at once (the gate pool's size).
    pub gate_pool: usize,
    /// Candidates landed together with one gate run (`batch`).
    pub batch: usize,
    pub candidates: Vec<LiveCandidate>,
    /// Candidates that passed their gates but change a protected path: a person decides.
    pub awaiting_approval: Vec<LiveApproval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateState {
    /// Its agent left a change; it waits for a gate slot or for the candidates ahead of it.
    Waiting,
    /// A gate job runs (or ran) on base and the candidates in `on`.
    Gating,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveCandidate {
    pub task: TaskId,
    pub title: Option<String>,
    pub state: CandidateState,
    /// How many candidates are ahead of it in its gate job (as `Progress::Gating` says).
    pub ahead: usize,
    /// The candidates its gated tree holds besides base: what it is gated on.
    pub on: Vec<TaskId>,
    /// When it entered the queue, or when its gating started.
    pub since: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveApproval {
    pub task: TaskId,
    pub paths: Vec<String>,
    pub since: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveLanding {
    pub task: TaskId,
    pub sha: String,
    pub checkpoint: i64,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionKind {
    /// Sent back to be tried again (or, without `retry`, the last try).
    Rejected,
    /// Blocked: its attempts are used up.
    Blocked,
    /// vane could not run the attempt; nothing was charged.
    Fault,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveRejection {
    pub task: TaskId,
    pub kind: RejectionKind,
    pub reason: String,
    /// Whether it will be tried again in this batch.
    pub retry: bool,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveHeld {
    pub task: TaskId,
    pub behind: TaskId,
    pub paths: Vec<String>,
    pub since: i64,
}

impl LiveState {
    /// Takes in one event at `now`; what it cannot place (a task the file never heard of) it
    /// places as best it can, since the file is for watching and never decides anything.
    pub fn apply(&mut self, event: &Progress, now: i64, titles: &HashMap<TaskId, String>) {
        self.updated_at = now;
        match event {
            Progress::Started {
                worker,
                task,
                title,
                profile,
                attempt,
            } => {
                let slot = self.worker(*worker);
                *slot = LiveWorker {
                    worker: *worker,
                    task: Some(task.clone()),
                    title: Some(title.clone()),
                    profile: Some(profile.clone()),
                    attempt: Some(*attempt),
                    since: now,
                };
                self.held_back.retain(|h| h.task != *task);
                self.forget(task);
            }
            Progress::AgentDone { worker, task, .. } => {
                let slot = self.worker(*worker);
                *slot = LiveWorker {
                    worker: *worker,
                    since: now,
                    ..LiveWorker::default()
                };
                // Queued if it left a change; a rejection or a fault that follows at once takes
                // it out again.
                self.forget(task);
                self.queue.candidates.push(LiveCandidate {
                    task: task.clone(),
                    title: titles.get(task).cloned(),
                    state: CandidateState::Waiting,
                    ahead: 0,
                    on: Vec::new(),
                    since: now,
                });
            }
            Progress::Gating { task, ahead } => {
                let position = match self.position(task) {
                    Some(position) => position,
                    None => {
                        // Queued before the batch started (a review left by an earlier run).
                        let at = (*ahead).min(self.queue.candidates.len());
                        self.queue.candidates.insert(
                            at,
                            LiveCandidate {
                                task: task.clone(),
                                title: titles.get(task).cloned(),
                                state: CandidateState::Waiting,
                                ahead: 0,
                                on: Vec::new(),
                                since: now,
                            },
                        );
                        at
                    }
                };
                let on: Vec<TaskId> = self.queue.candidates[..position]
                    .iter()
                    .map(|c| c.task.clone())
                    .collect();
                let candidate = &mut self.queue.candidates[position];
                candidate.state = CandidateState::Gating;
                candidate.ahead = *ahead;
                candidate.on = on;
                candidate.since = now;
            }
            Progress::Landed {
                task,
                sha,
                checkpoint,
            } => {
                self.forget(task);
                self.paused_on = None;
                self.landed.insert(
                    0,
                    LiveLanding {
                        task: task.clone(),
                        sha: sha.as_str().to_string(),
                        checkpoint: *checkpoint,
                        at: now,
                    },
                );
                self.landed.truncate(RECENT);
            }
            Progress::Rejected {
                task,
                reason,
                retry,
            } => {
                self.forget(task);
                self.reject(task, RejectionKind::Rejected, reason, *retry, now);
            }
            Progress::Blocked { task, reason } => {
                self.forget(task);
                self.reject(task, RejectionKind::Blocked, reason, false, now);
            }
            Progress::Fault { task, reason } => {
                match self.position(task) {
                    // A gate job vane could not run: the candidate is gated again.
                    Some(at) if self.queue.candidates[at].state == CandidateState::Gating => {
                        self.queue.candidates[at].state = CandidateState::Waiting;
                        self.queue.candidates[at].since = now;
                    }
                    // An attempt vane could not run: its task waits for the next batch.
                    _ => self.forget(task),
                }
                self.reject(task, RejectionKind::Fault, reason, false, now);
            }
            Progress::AwaitingApproval { task, paths } => {
                self.forget(task);
                self.queue.awaiting_approval.push(LiveApproval {
                    task: task.clone(),
                    paths: paths.clone(),
                    since: now,
                });
            }
            Progress::HeldBack {
                task,
                behind,
                paths,
            } => {
                self.held_back.retain(|h| h.task != *task);
                self.held_back.push(LiveHeld {
                    task: task.clone(),
                    behind: behind.clone(),
                    paths: paths.clone(),
                    since: now,
                });
            }
            Progress::Paused { checkout, .. } => self.paused_on = Some(checkout.clone()),
            // The rest (recovery, warnings, the roadmap's extension, checkouts left behind) is
            // told on the terminal and kept in the database; the live picture has no place for it.
            _ => {}
        }
    }

    /// The slot of worker `worker` (1-based), made when the batch reports more than it said.
    fn worker(&mut self, worker: usize) -> &mut LiveWorker {
        let index = match self.workers.iter().position(|w| w.worker == worker) {
            Some(index) => index,
            None => {
                self.workers.push(LiveWorker {
                    worker,
                    ..LiveWorker::default()
                });
                self.workers.sort_by_key(|w| w.worker);
                self.workers
                    .iter()
                    .position(|w| w.worker == worker)
                    .expect("the slot was just added")
            }
        };
        &mut self.workers[index]
    }

    fn position(&self, task: &TaskId) -> Option<usize> {
        self.queue.candidates.iter().position(|c| c.task == *task)
    }

    /// Takes a task out of the queue and the approvals: it settled, or starts again.
    fn forget(&mut self, task: &TaskId) {
        self.queue.candidates.retain(|c| c.task != *task);
        self.queue.awaiting_approval.retain(|a| a.task != *task);
    }

    fn reject(&mut self, task: &TaskId, kind: RejectionKind, reason: &str, retry: bool, now: i64) {
        self.rejected.insert(
            0,
            LiveRejection {
                task: task.clone(),
                kind,
                reason: reason.to_string(),
                retry,
                at: now,
            },
        );
        self.rejected.truncate(RECENT);
    }
}

/// What the coordinator and the writer thread share.
#[derive(Default)]
struct Shared {
    /// None until the batch starts: a run that starts no batch writes nothing.
    state: Option<LiveState>,
    /// Task titles from `Started`, for the queue's candidates.
    titles: HashMap<TaskId, String>,
    /// Changed since the last write.
    dirty: bool,
    stop: bool,
}

/// The coordinator's end of the live file: `observe` every event, `finish` when the batch ends.
pub(crate) struct LiveFile<'a> {
    path: PathBuf,
    config: &'a Config,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl<'a> LiveFile<'a> {
    pub(crate) fn new(state_dir: &Path, config: &'a Config) -> LiveFile<'a> {
        LiveFile {
            path: state_dir.join(LIVE_FILE),
            config,
            shared: Arc::new((Mutex::new(Shared::default()), Condvar::new())),
            writer: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding it (in `apply`) left a snapshot that is at worst incomplete.
        self.shared
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes in one event. The batch's start is written at once; the rest by the writer thread,
    /// at most every `THROTTLE`.
    pub(crate) fn observe(&self, event: &Progress) {
        let now = now_millis();
        if let Progress::BatchStarted {
            batch,
            base,
            tip,
            workers,
            ready,
        } = event
        {
            let state = LiveState {
                version: FORMAT_VERSION,
                batch: *batch,
                pid: std::process::id(),
                base: base.clone(),
                tip: tip.as_str().to_string(),
                started_at: now,
                updated_at: now,
                ready_at_start: *ready,
                workers: (1..=*workers)
                    .map(|worker| LiveWorker {
                        worker,
                        since: now,
                        ..LiveWorker::default()
                    })
                    .collect(),
                queue: LiveQueue {
                    window: self.config.merge_window,
                    gate_pool: self.config.gate_pool_size(*workers),
                    batch: self.config.batch,
                    ..LiveQueue::default()
                },
                ..LiveState::default()
            };
            write_atomically(&self.path, &state);
            self.lock().state = Some(state);
            self.start_writer();
            return;
        }
        let mut shared = self.lock();
        if let Progress::Started { task, title, .. } = event {
            shared.titles.insert(task.clone(), title.clone());
        }
        let Shared {
            state,
            titles,
            dirty,
            ..
        } = &mut *shared;
        if let Some(state) = state {
            state.apply(event, now, titles);
            *dirty = true;
            self.shared.1.notify_one();
        }
    }

    fn start_writer(&self) {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if writer.is_some() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let path = self.path.clone();
        *writer = Some(std::thread::spawn(move || {
            write_while_running(&shared, &path)
        }));
    }

    /// Marks the batch ended with `outcome` and writes it at once; nothing when no batch started.
    pub(crate) fn finish(&self, outcome: &str) {
        {
            let mut shared = self.lock();
            shared.stop = true;
            self.shared.1.notify_one();
        }
        if let Some(writer) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = writer.join();
        }
        let mut shared = self.lock();
        let Some(state) = shared.state.as_mut() else {
            return;
        };
        if state.finished_at.is_some() {
            return;
        }
        let now = now_millis();
        state.finished_at = Some(now);
        state.updated_at = now;
        state.outcome = Some(outcome.to_string());
        for worker in &mut state.workers {
            *worker = LiveWorker {
                worker: worker.worker,
                since: now,
                ..LiveWorker::default()
            };
        }
        write_atomically(&self.path, state);
    }
}

impl Drop for LiveFile<'_> {
    /// A batch that returned early with an error ended all the same.
    fn drop(&mut self) {
        self.finish("failed");
    }
}

/// The writer thread: writes the snapshot when it changed, then rests `THROTTLE`, until stopped.
fn write_while_running(shared: &(Mutex<Shared>, Condvar), path: &Path) {
    let (mutex, changed) = shared;
    let mut guard = mutex.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        while !guard.dirty && !guard.stop {
            guard = changed.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        if guard.stop {
            return;
        }
        guard.dirty = false;
        let snapshot = guard.state.clone();
        drop(guard);
        if let Some(snapshot) = snapshot {
            write_atomically(path, &snapshot);
        }
        guard = mutex.lock().unwrap_or_else(|e| e.into_inner());
        // Rest, unless told to stop: the final state is written by `finish`.
        let (rested, _) = changed
            .wait_timeout_while(guard, THROTTLE, |s| !s.stop)
            .unwrap_or_else(|e| e.into_inner());
        guard = rested;
    }
}

/// Writes the file whole: a reader sees the old snapshot or the new one, never half of one. The
/// file is for watching: a failure to write it is logged, and the batch goes on.
fn write_atomically(path: &Path, state: &LiveState) {
    let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let written = serde_json::to_vec_pretty(state)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&bytes)?;
            file.write_all(b"\n")?;
            Ok(())
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        tracing::warn!(path = %path.display(), %error, "cannot write the live state");
    }
}

/// A batch that runs now: who holds the work lock, and its live state when it has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Running {
    /// The process holding the work lock.
    pub pid: u32,
    /// When it took the lock, and for what, as the lock file says (`2026-01-01 10:00:00Z (vane work)`).
    pub since: String,
    /// Its live state; none for a holder that is no batch (a rollback) or has not started one yet.
    #[serde(flatten)]
    pub live: Option<LiveState>,
}

/// Reads the live file as it is, whatever process wrote it; None when there is none, or it cannot
/// be read as this vane's format.
pub fn read(state_dir: &Path) -> Option<LiveState> {
    let text = std::fs::read(state_dir.join(LIVE_FILE)).ok()?;
    serde_json::from_slice::<LiveState>(&text)
        .ok()
        .filter(|s| s.version == FORMAT_VERSION)
}

/// The batch that runs in this repository now, if one does: the work lock's holder, with the live
/// file when the file is that holder's and not finished. A file left by a vane that was killed (its
/// pid no longer holds the lock) is no running batch. Never takes the lock.
pub fn running(state_dir: &Path) -> Result<Option<Running>> {
    let LockState::Held { pid, started } = lock::inspect(state_dir)? else {
        return Ok(None);
    };
    let pid: u32 = pid.parse().unwrap_or_default();
    let live = read(state_dir).filter(|s| s.pid == pid && s.finished_at.is_none());
    Ok(Some(Running {
        pid,
        since: started,
        live,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AttemptOutcome, CommitId};

    fn id(s: &str) -> TaskId {
        TaskId::new(s).unwrap()
    }

    fn started(worker: usize, task: &str) -> Progress {
        Progress::Started {
            worker,
            task: id(task),
            title: format!("title of {task}"),
            profile: "shell".into(),
            attempt: 1,
        }
    }

    fn done(worker: usize, task: &str) -> Progress {
        Progress::AgentDone {
            worker,
            task: id(task),
            outcome: AttemptOutcome::Changed,
            seconds: 1.0,
        }
    }

    fn batch_started(workers: usize) -> Progress {
        Progress::BatchStarted {
            batch: 7,
            base: "main".into(),
            tip: CommitId::new("a".repeat(40)),
            workers,
            ready: 3,
        }
    }

    fn queue(state: &LiveState) -> Vec<(String, CandidateState, Vec<String>)> {
        state
            .queue
            .candidates
            .iter()
            .map(|c| {
                (
                    c.task.to_string(),
                    c.state,
                    c.on.iter().map(ToString::to_string).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn events_move_tasks_from_workers_through_the_queue_to_landings_and_rejections() {
        let mut state = LiveState {
            workers: vec![
                LiveWorker {
                    worker: 1,
                    ..LiveWorker::default()
                },
                LiveWorker {
                    worker: 2,
                    ..LiveWorker::default()
                },
            ],
            ..LiveState::default()
        };
        let mut titles = HashMap::new();
        titles.insert(id("a"), "title of a".to_string());
        state.apply(&started(1, "a"), 10, &titles);
        state.apply(&started(2, "b"), 11, &titles);
        assert_eq!(state.workers[0].task, Some(id("a")));
        assert_eq!(state.workers[1].since, 11);
        state.apply(&done(1, "a"), 20, &titles);
        state.apply(&done(2, "b"), 21, &titles);
        assert_eq!(state.workers[0].task, None, "idle once its agent finished");
        assert_eq!(
            state.queue.candidates[0].title.as_deref(),
            Some("title of a")
        );
        state.apply(
            &Progress::Gating {
                task: id("a"),
                ahead: 0,
            },
            22,
            &titles,
        );
        state.apply(
            &Progress::Gating {
                task: id("b"),
                ahead: 1,
            },
            23,
            &titles,
        );
        assert_eq!(
            queue(&state),
            [
                ("a".into(), CandidateState::Gating, vec![]),
                ("b".into(), CandidateState::Gating, vec!["a".to_string()]),
            ],
            "b is gated speculatively on a"
        );
        state.apply(
            &Progress::Landed {
                task: id("a"),
                sha: CommitId::new("b".repeat(40)),
                checkpoint: 2,
            },
            30,
            &titles,
        );
        state.apply(
            &Progress::Rejected {
                task: id("b"),
                reason: "gate `check` failed".into(),
                retry: true,
            },
            31,
            &titles,
        );
        assert!(state.queue.candidates.is_empty());
        assert_eq!(state.landed[0].task, id("a"));
        assert_eq!(state.rejected[0].reason, "gate `check` failed");
        assert!(state.rejected[0].retry);
        assert_eq!(state.updated_at, 31);
    }

    #[test]
    fn an_agent_that_left_nothing_never_stays_in_the_queue() {
        let mut state = LiveState::default();
        let titles = HashMap::new();
        state.apply(&started(1, "a"), 1, &titles);
        state.apply(&done(1, "a"), 2, &titles);
        state.apply(
            &Progress::Rejected {
                task: id("a"),
                reason: "unchanged".into(),
                retry: false,
            },
            3,
            &titles,
        );
        state.apply(
            &Progress::Blocked {
                task: id("a"),
                reason: "gave up after 2 attempts".into(),
            },
            3,
            &titles,
        );
        assert!(state.queue.candidates.is_empty());
        let kinds: Vec<RejectionKind> = state.rejected.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [RejectionKind::Blocked, RejectionKind::Rejected]);
        // A fault of an attempt takes its task out; a fault of a gate job gates it again.
        state.apply(&done(1, "b"), 4, &titles);
        state.apply(
            &Progress::Fault {
                task: id("b"),
                reason: "disk full".into(),
            },
            5,
            &titles,
        );
        assert!(state.queue.candidates.is_empty());
        state.apply(&done(1, "c"), 6, &titles);
        state.apply(
            &Progress::Gating {
                task: id("c"),
                ahead: 0,
            },
            7,
            &titles,
        );
        state.apply(
            &Progress::Fault {
                task: id("c"),
                reason: "gate thread died".into(),
            },
            8,
            &titles,
        );
        assert_eq!(
            queue(&state),
            [("c".into(), CandidateState::Waiting, vec![])]
        );
        state.apply(
            &Progress::AwaitingApproval {
                task: id("c"),
                paths: vec!["vane.toml".into()],
            },
            9,
            &titles,
        );
        assert!(state.queue.candidates.is_empty());
        assert_eq!(state.queue.awaiting_approval[0].paths, ["vane.toml"]);
    }

    #[test]
    fn a_candidate_queued_before_the_batch_is_placed_by_how_many_are_ahead() {
        let mut state = LiveState::default();
        let titles = HashMap::new();
        state.apply(&done(1, "b"), 1, &titles);
        state.apply(
            &Progress::Gating {
                task: id("a"),
                ahead: 0,
            },
            2,
            &titles,
        );
        assert_eq!(
            queue(&state),
            [
                ("a".into(), CandidateState::Gating, vec![]),
                ("b".into(), CandidateState::Waiting, vec![]),
            ]
        );
    }

    #[test]
    fn only_the_newest_landings_are_kept() {
        let mut state = LiveState::default();
        let titles = HashMap::new();
        for n in 0..(RECENT as i64 + 5) {
            state.apply(
                &Progress::Landed {
                    task: id(&format!("t{n}")),
                    sha: CommitId::new("c".repeat(40)),
                    checkpoint: n,
                },
                n,
                &titles,
            );
        }
        assert_eq!(state.landed.len(), RECENT);
        assert_eq!(state.landed[0].checkpoint, RECENT as i64 + 4);
    }

    #[test]
    fn the_file_is_written_at_the_start_kept_up_to_date_and_marked_finished() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        let live = LiveFile::new(dir.path(), &config);
        live.observe(&started(1, "early"));
        assert!(
            read(dir.path()).is_none(),
            "nothing before the batch starts"
        );
        live.observe(&batch_started(2));
        let first = read(dir.path()).expect("written at once on the batch's start");
        assert_eq!((first.batch, first.pid), (7, std::process::id()));
        assert_eq!(first.workers.len(), 2);
        assert_eq!(first.queue.window, config.merge_window);
        live.observe(&started(2, "a"));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let now = read(dir.path()).unwrap();
            if now.workers[1].task == Some(id("a")) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never written: {now:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        live.finish("finished");
        let last = read(dir.path()).unwrap();
        assert_eq!(last.outcome.as_deref(), Some("finished"));
        assert!(last.finished_at.is_some());
        assert!(last.workers.iter().all(|w| w.task.is_none()));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != LIVE_FILE)
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file left: {leftovers:?}"
        );
        // Dropped after finishing: the outcome stays.
        drop(live);
        assert_eq!(
            read(dir.path()).unwrap().outcome.as_deref(),
            Some("finished")
        );
    }

    #[test]
    fn a_file_whose_process_holds_no_lock_is_no_running_batch() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        let live = LiveFile::new(dir.path(), &config);
        live.observe(&batch_started(1));
        // Written, not finished, but nobody holds the lock: a vane that was killed.
        std::mem::forget(live);
        assert!(read(dir.path()).is_some_and(|s| s.finished_at.is_none()));
        assert_eq!(running(dir.path()).unwrap(), None);
        let lock = lock::WorkLock::acquire(dir.path(), "vane work").unwrap();
        let running = running(dir.path()).unwrap().expect("the lock is held");
        assert_eq!(running.pid, std::process::id());
        assert!(running.since.contains("(vane work)"), "{}", running.since);
        assert_eq!(running.live.map(|l| l.batch), Some(7));
        drop(lock);
    }
}
