//! The dashboard's picture of the work, built from the database, `live.json` and the run
//! directories a few times a second, and handed whole to `render`: drawing is a pure function of
//! a `DashState`, which is what lets the tests draw one on ratatui's `TestBackend`.

use std::collections::BTreeMap;
use std::path::Path;

use super::output;
use super::Result;
use crate::config::Config;
use crate::git::Git;
use crate::model::{short_commit, TaskId, TaskStatus};
use crate::orchestrator::work::live::{self, LiveHeld, LiveQueue, LiveState, RejectionKind};
use crate::store::{Store, WatchedTask};

/// How many tasks the task list holds at most.
const TASKS_SHOWN: usize = 200;
/// How many scores of each quality dimension the sparklines draw.
const SCORES_SHOWN: usize = 60;
/// How many lines of each part the detail view shows.
const PROMPT_LINES: usize = 12;
const OUTPUT_LINES: usize = 12;
const GATE_LINES: usize = 6;

/// Everything one frame of the dashboard shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashState {
    /// Milliseconds since the Unix epoch: what elapsed times are measured to.
    pub now: i64,
    /// The repository's folder name.
    pub repository: String,
    /// The running batch, else the latest one.
    pub batch: Option<BatchView>,
    /// The work lock's holder when it is not a batch this dashboard can show (a rollback).
    pub lock_holder: Option<(u32, String)>,
    pub workers: Vec<WorkerView>,
    pub queue: LiveQueue,
    /// Newest first.
    pub landed: Vec<Settled>,
    /// Newest first.
    pub rejected: Vec<Settled>,
    pub held_back: Vec<LiveHeld>,
    /// The checkout of base that merging waits for.
    pub paused_on: Option<String>,
    /// Tasks (epics aside) in each status.
    pub counts: BTreeMap<TaskStatus, usize>,
    pub quality: Vec<Dimension>,
    /// The overall score a task needs to land (`threshold`).
    pub threshold: f64,
    /// The tasks that can be selected: not done.
    pub tasks: Vec<WatchedTask>,
    /// What the person does; kept across refreshes by the dashboard.
    pub view: ViewState,
}

/// The person's side of the dashboard: selection, detail, the prompt line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewState {
    /// Index into `tasks`.
    pub selected: usize,
    pub detail: Option<Detail>,
    /// A question waiting for an answer (a confirmation), shown on the last line.
    pub prompt: Option<String>,
    /// What the last action did, or why it could not.
    pub message: Option<String>,
    /// Run by `vane work --dash`: `q` leaves the batch running rather than ending anything.
    pub attached: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchView {
    pub id: i64,
    pub base: String,
    /// Whether it runs now (its process holds the work lock).
    pub running: bool,
    pub pid: Option<u32>,
    /// When its process took the work lock, as the lock file says.
    pub lock_since: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
    /// Attempts of the batch that landed, and that were sent back.
    pub landed: usize,
    pub sent_back: usize,
    pub spent_usd: f64,
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerView {
    pub worker: usize,
    pub task: Option<TaskId>,
    pub title: Option<String>,
    pub profile: Option<String>,
    pub attempt: Option<u32>,
    pub since: i64,
    /// The last readable line its agent printed.
    pub last_line: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettledKind {
    Landed,
    /// Sent back; `retry` says whether it is tried again.
    Rejected {
        retry: bool,
    },
    Blocked,
    /// vane could not run the attempt.
    Fault,
}

/// A landing or a rejection, from the live file or the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub task: TaskId,
    pub kind: SettledKind,
    /// The landing commit, short; or the outcome (`gate_failed`).
    pub label: String,
    pub reason: Option<String>,
    pub at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    pub name: String,
    /// Oldest first, each 0..1.
    pub scores: Vec<f64>,
}

/// One task looked at closely (Enter).
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub task: TaskId,
    pub title: String,
    pub status: Option<TaskStatus>,
    pub attempt: Option<u32>,
    pub profile: Option<String>,
    pub block_reason: Option<String>,
    /// The feedback its latest attempt got.
    pub feedback: Option<String>,
    pub prompt: Vec<String>,
    pub output: Vec<String>,
    /// Each gate's log: its name and last lines.
    pub gates: Vec<(String, Vec<String>)>,
    pub diff_stat: Vec<String>,
    /// Lines scrolled down.
    pub scroll: u16,
}

impl Detail {
    /// A detail of `task` with nothing read yet.
    pub fn new(task: TaskId) -> Detail {
        Detail {
            task,
            title: String::new(),
            status: None,
            attempt: None,
            profile: None,
            block_reason: None,
            feedback: None,
            prompt: Vec::new(),
            output: Vec::new(),
            gates: Vec::new(),
            diff_stat: Vec::new(),
            scroll: 0,
        }
    }
}

impl DashState {
    pub fn selected_task(&self) -> Option<&WatchedTask> {
        self.tasks.get(self.view.selected)
    }
}

/// Where a dashboard reads from.
pub struct Sources<'a> {
    pub store: &'a Store,
    pub state_dir: &'a Path,
    pub config: &'a Config,
    pub repository: String,
}

/// Builds the picture of the work as it is at `now`, with an empty `view`.
pub fn load(sources: &Sources<'_>, now: i64) -> Result<DashState> {
    let store = sources.store;
    let runs = sources.state_dir.join("runs");
    let running = live::running(sources.state_dir)?;
    let mut state = DashState {
        now,
        repository: sources.repository.clone(),
        counts: store.task_counts()?,
        quality: store
            .recent_quality(SCORES_SHOWN)?
            .into_iter()
            .map(|(name, scores)| Dimension { name, scores })
            .collect(),
        threshold: sources.config.threshold,
        tasks: store
            .watched_tasks(TASKS_SHOWN)?
            .into_iter()
            .map(|task| WatchedTask {
                title: output::plain(&task.title),
                block_reason: task.block_reason.as_deref().map(output::plain),
                ..task
            })
            .collect(),
        ..DashState::default()
    };
    match running {
        Some(live::Running {
            pid,
            since,
            live: Some(live),
        }) => {
            let mut batch = batch_view(store, live.batch)?.unwrap_or_default();
            batch.id = live.batch;
            batch.base.clone_from(&live.base);
            batch.started_at = live.started_at;
            batch.running = true;
            batch.pid = Some(pid);
            batch.lock_since = Some(since);
            state.batch = Some(batch);
            take_live(&mut state, live, &runs);
        }
        running => {
            if let Some(holder) = running {
                state.lock_holder = Some((holder.pid, holder.since));
            }
            state.batch = match store.latest_batch()? {
                Some(latest) => {
                    let mut batch = batch_view(store, latest.id)?.unwrap_or_default();
                    batch.id = latest.id;
                    batch.base = latest.base_branch;
                    batch.started_at = latest.started_at;
                    batch.finished_at = latest.finished_at;
                    batch.outcome = latest.outcome;
                    Some(batch)
                }
                None => None,
            };
            take_database(&mut state, store, sources.config)?;
        }
    }
    Ok(state)
}

/// A batch's counts and spending from the database.
fn batch_view(store: &Store, batch: i64) -> Result<Option<BatchView>> {
    let Some(spending) = store.batch_spending(batch)? else {
        return Ok(None);
    };
    let (landed, sent_back) = store.batch_outcomes(batch)?;
    Ok(Some(BatchView {
        id: batch,
        landed,
        sent_back,
        spent_usd: spending.spent_usd,
        budget_usd: spending.budget_usd,
        ..BatchView::default()
    }))
}

/// Workers, queue, landings and rejections of a running batch, from its live file.
fn take_live(state: &mut DashState, live: LiveState, runs: &Path) {
    state.workers = live
        .workers
        .into_iter()
        .map(|w| {
            let last_line = match (&w.task, w.attempt) {
                (Some(task), Some(attempt)) => {
                    let dir = runs.join(task.as_str()).join(attempt.to_string());
                    output::last_line(&output::read_tail(&dir.join("agent.stdout"))).or_else(|| {
                        output::last_line(&output::read_tail(&dir.join("agent.stderr")))
                    })
                }
                _ => None,
            };
            WorkerView {
                worker: w.worker,
                task: w.task,
                title: w.title.map(|t| output::plain(&t)),
                profile: w.profile,
                attempt: w.attempt,
                since: w.since,
                last_line,
            }
        })
        .collect();
    state.queue = live.queue;
    state.landed = live
        .landed
        .into_iter()
        .map(|l| Settled {
            task: l.task,
            kind: SettledKind::Landed,
            label: format!("{} · checkpoint {}", short_commit(&l.sha), l.checkpoint),
            reason: None,
            at: Some(l.at),
        })
        .collect();
    state.rejected = live
        .rejected
        .into_iter()
        .map(|r| Settled {
            task: r.task,
            kind: match r.kind {
                RejectionKind::Rejected => SettledKind::Rejected { retry: r.retry },
                RejectionKind::Blocked => SettledKind::Blocked,
                RejectionKind::Fault => SettledKind::Fault,
            },
            label: match r.kind {
                RejectionKind::Rejected if r.retry => "sent back".to_string(),
                RejectionKind::Rejected => "rejected".to_string(),
                RejectionKind::Blocked => "blocked".to_string(),
                RejectionKind::Fault => "fault".to_string(),
            },
            reason: Some(r.reason),
            at: Some(r.at),
        })
        .collect();
    state.held_back = live.held_back;
    state.paused_on = live.paused_on.map(|p| p.display().to_string());
}

/// With no batch running: the queue as the database holds it (tasks in review, those waiting for
/// a person), and the latest landings and rejections.
fn take_database(state: &mut DashState, store: &Store, config: &Config) -> Result<()> {
    state.queue = LiveQueue {
        window: config.merge_window,
        gate_pool: config.gate_pool_size(config.workers),
        batch: config.batch,
        ..LiveQueue::default()
    };
    for task in &state.tasks {
        if task.status != TaskStatus::NeedsReview {
            continue;
        }
        if task.approval.as_deref() == Some(crate::orchestrator::approval::WAITING) {
            state.queue.awaiting_approval.push(live::LiveApproval {
                task: task.id.clone(),
                paths: Vec::new(),
                since: 0,
            });
        } else {
            state.queue.candidates.push(live::LiveCandidate {
                task: task.id.clone(),
                title: Some(task.title.clone()),
                state: live::CandidateState::Waiting,
                ahead: 0,
                on: Vec::new(),
                since: 0,
            });
        }
    }
    let (landed, rejected) = store.settled_attempts(live::RECENT)?;
    state.landed = landed
        .into_iter()
        .map(|a| Settled {
            label: a
                .landed_sha
                .as_deref()
                .map_or_else(|| "landed".to_string(), |s| short_commit(s).to_string()),
            task: a.task,
            kind: SettledKind::Landed,
            reason: None,
            at: a.finished_at,
        })
        .collect();
    state.rejected = rejected
        .into_iter()
        .map(|a| Settled {
            task: a.task,
            kind: SettledKind::Rejected { retry: false },
            label: a.outcome.replace('_', " "),
            reason: a.feedback,
            at: a.finished_at,
        })
        .collect();
    Ok(())
}

/// A close look at one task: its latest attempt's prompt, output and gate logs, and what its
/// branch changes.
pub fn load_detail(
    store: &Store,
    state_dir: &Path,
    git: Option<&Git>,
    task: &TaskId,
) -> Result<Detail> {
    let current = store.task(task)?;
    let attempt = store.attempts(task)?.pop();
    let mut detail = Detail {
        title: output::plain(&current.title),
        status: Some(current.status),
        attempt: attempt.as_ref().map(|a| a.number),
        profile: attempt.as_ref().and_then(|a| a.profile.clone()),
        block_reason: current.block_reason.clone(),
        feedback: attempt.as_ref().and_then(|a| a.feedback.clone()),
        ..Detail::new(task.clone())
    };
    if let Some(attempt) = &attempt {
        let dir = state_dir
            .join("runs")
            .join(task.as_str())
            .join(attempt.number.to_string());
        detail.prompt = std::fs::read_to_string(dir.join("prompt.md"))
            .unwrap_or_default()
            .lines()
            .take(PROMPT_LINES)
            .map(output::plain)
            .collect();
        detail.output =
            output::last_lines(&output::read_tail(&dir.join("agent.stdout")), OUTPUT_LINES);
        if detail.output.is_empty() {
            detail.output =
                output::last_lines(&output::read_tail(&dir.join("agent.stderr")), OUTPUT_LINES);
        }
        let logs = crate::orchestrator::gates::gate_logs_in(&dir);
        detail.gates = logs
            .into_iter()
            .map(|(gate, path)| {
                (
                    gate,
                    output::last_lines(&output::read_tail(&path), GATE_LINES),
                )
            })
            .collect();
    }
    let base = attempt
        .as_ref()
        .and_then(|a| a.base_sha.clone())
        .or(current.base_sha.clone());
    let head = current.head_sha.clone().or(current.landed_sha.clone());
    detail.diff_stat = match (git, base, head) {
        (Some(git), Some(base), Some(head)) => match git.diff_stat(&base, &head) {
            Ok(stat) => stat.lines().map(output::plain).collect(),
            Err(e) => vec![format!("(no diff: {e})")],
        },
        _ => Vec::new(),
    };
    Ok(detail)
}

/// A duration in milliseconds as `m:ss`, or `h:mm:ss` past an hour.
pub fn elapsed(millis: i64) -> String {
    let secs = millis.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_times_read_as_minutes_and_hours() {
        assert_eq!(elapsed(0), "0:00");
        assert_eq!(elapsed(65_000), "1:05");
        assert_eq!(elapsed(3_725_000), "1:02:05");
        assert_eq!(elapsed(-5), "0:00");
    }
}
