//! The gate pool: threads that each own a gate worktree (`<root>/g<N>`), apart from the agents'.
//! A gate job builds a candidate's chain of merges on the tree the merge queue gives it, reports
//! the chain, checks its last commit out, runs the gates there, and reports the verdict; when a
//! candidate fails, the job also gates the tree it was built on, so that a gate that fails on base
//! too (a broken gate, not a broken change) is told apart. The threads read cached verdicts through
//! a connection of their own and never write the database: the coordinator records what they report.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use super::merge_queue::{CandidateId, Conflict, JobId};
use super::Event;
use crate::config::Config;
use crate::git::{Git, MergeOutcome};
use crate::model::Task;
use crate::orchestrator::bootstrap::Bootstrap;
use crate::orchestrator::{failpoint, gates, Result};
use crate::store::{Attempt, Store};

/// One candidate of a gate job.
#[derive(Debug, Clone)]
pub(super) struct GateMember {
    pub(super) candidate: CandidateId,
    pub(super) head: String,
    pub(super) task: Task,
    pub(super) attempt: Attempt,
}

/// What a gate thread is asked to do.
pub(super) struct GateJob {
    pub(super) job: JobId,
    pub(super) onto: String,
    pub(super) members: Vec<GateMember>,
    /// Whether `onto` is base itself, a tree no gate of this queue may have passed (the batch's
    /// start, a person's commit): then a failure is also gated there, to tell a broken gate apart.
    /// A speculative `onto` is the tip of candidates that land only after passing every gate.
    pub(super) onto_is_base: bool,
}

/// What a gate thread reports, through the coordinator's one channel.
pub(super) enum GateEvent {
    /// The chain of merges is built (one commit per member), or conflicted at a member. Members
    /// whose merge changed nothing (their branch adds nothing over the tree below) are named.
    Merged {
        job: JobId,
        outcome: std::result::Result<Vec<String>, Conflict>,
        unchanged: Vec<CandidateId>,
    },
    /// The gates ran on the chain's last commit.
    Gated(Box<Gated>),
    /// The job ended without a verdict: its merges conflicted (error None), or vane could not run
    /// it (a git failure, a full disk, a failing `setup`).
    Ended {
        slot: usize,
        job: JobId,
        error: Option<String>,
    },
}

/// A gate job's verdict.
pub(super) struct Gated {
    pub(super) slot: usize,
    pub(super) job: JobId,
    /// The last member's, whose run directory holds the logs.
    pub(super) task: Task,
    pub(super) attempt: Attempt,
    pub(super) report: gates::GateReport,
    /// When the candidate failed only command gates: the same gates on the tree it was built
    /// on, and whether that fails every one of them the same way.
    pub(super) below: Option<Below>,
}

/// The gates that failed a candidate, run on the tree below it.
#[derive(Debug)]
pub(super) struct Below {
    pub(super) report: gates::GateReport,
    /// The failing gates fail there the same way: the gate or base is broken, not the change.
    pub(super) fails_the_same: bool,
    /// The failing gates' names and the end of their output on the tree below.
    pub(super) gates: Vec<String>,
    pub(super) output: String,
}

/// The gate threads of a batch.
pub(super) struct GatePool {
    senders: Vec<mpsc::Sender<GateJob>>,
    handles: Vec<std::thread::JoinHandle<()>>,
    idle: Vec<usize>,
    /// Jobs handed out whose verdict (or failure) has not come back.
    pub(super) in_flight: usize,
}

/// What every gate thread shares.
pub(super) struct GateContext {
    pub(super) git: Git,
    pub(super) config: Arc<Config>,
    pub(super) bootstrap: Bootstrap,
    pub(super) database: PathBuf,
    pub(super) runs: PathBuf,
}

impl GatePool {
    /// Starts `size` gate threads, with worktrees `<root>/g1` ... `<root>/g<size>`.
    pub(super) fn start(
        size: usize,
        root: &Path,
        context: &Arc<GateContext>,
        events: &mpsc::Sender<Event>,
    ) -> GatePool {
        let mut pool = GatePool {
            senders: Vec::new(),
            handles: Vec::new(),
            idle: (0..size).rev().collect(),
            in_flight: 0,
        };
        for slot in 0..size {
            let (tx, rx) = mpsc::channel::<GateJob>();
            pool.senders.push(tx);
            let worktree = root.join(format!("g{}", slot + 1));
            let context = Arc::clone(context);
            let events = events.clone();
            pool.handles.push(std::thread::spawn(move || {
                // Opened by the thread, on first use: a connection is not shared between threads.
                let mut store: Option<Store> = None;
                for job in rx {
                    let job_id = job.job;
                    if let Err(e) = run(&context, &mut store, slot, &worktree, job, &events) {
                        let broken = Event::Gate(GateEvent::Ended {
                            slot,
                            job: job_id,
                            error: Some(e.to_string()),
                        });
                        if events.send(broken).is_err() {
                            break;
                        }
                    }
                }
            }));
        }
        pool
    }

    /// A free gate thread's number, if one is free.
    pub(super) fn free_slots(&self) -> usize {
        self.idle.len()
    }

    /// Hands a job to a free thread; false when none is free.
    pub(super) fn send(&mut self, job: GateJob) -> bool {
        let Some(slot) = self.idle.pop() else {
            return false;
        };
        if self.senders[slot].send(job).is_err() {
            return false;
        }
        self.in_flight += 1;
        true
    }

    /// A thread reported its job's end: it is free again.
    pub(super) fn finished(&mut self, slot: usize) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if !self.idle.contains(&slot) {
            self.idle.push(slot);
        }
    }

    /// Lets the threads finish their jobs and end.
    pub(super) fn stop(&mut self) {
        self.senders.clear();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

fn run(
    context: &GateContext,
    store: &mut Option<Store>,
    slot: usize,
    worktree: &Path,
    job: GateJob,
    events: &mpsc::Sender<Event>,
) -> Result<()> {
    let git = &context.git;
    let mut chain = Vec::with_capacity(job.members.len());
    let mut unchanged = Vec::new();
    let mut below = job.onto.clone();
    for (index, member) in job.members.iter().enumerate() {
        let message = format!(
            "Land {}: {}\n\nVane-Task: {}\nVane-Attempt: {}",
            member.task.id, member.task.title, member.task.id, member.attempt.number
        );
        match git.merge_in_memory(&below, &member.head, &message)? {
            MergeOutcome::Merged { commit, tree } => {
                if tree == git.tree_of(&below)? {
                    unchanged.push(member.candidate);
                }
                chain.push(commit.clone());
                below = commit;
            }
            MergeOutcome::Conflict { paths } => {
                let conflict = Conflict {
                    member: index,
                    paths,
                };
                let merged = GateEvent::Merged {
                    job: job.job,
                    outcome: Err(conflict),
                    unchanged,
                };
                let _ = events.send(Event::Gate(merged));
                let _ = events.send(Event::Gate(GateEvent::Ended {
                    slot,
                    job: job.job,
                    error: None,
                }));
                return Ok(());
            }
        }
    }
    let tip = below;
    let _ = events.send(Event::Gate(GateEvent::Merged {
        job: job.job,
        outcome: Ok(chain),
        unchanged,
    }));
    failpoint::hit("before_gates");
    let Some(last) = job.members.last() else {
        return Ok(());
    };
    if context.config.gates.is_empty() {
        // No gates: nothing to check out or set up; the chain lands as it is.
        let gated = GateEvent::Gated(Box::new(Gated {
            slot,
            job: job.job,
            task: last.task.clone(),
            attempt: last.attempt.clone(),
            report: gates::GateReport::ungated(context.config.threshold),
            below: None,
        }));
        let _ = events.send(Event::Gate(gated));
        return Ok(());
    }
    let store = match store {
        Some(store) => store,
        None => store.insert(Store::open(&context.database, false)?),
    };
    let report = gate_tree(
        context,
        store,
        &context.config,
        worktree,
        &tip,
        &job.onto,
        Some(last),
    )?;
    let below = if report.decision.passed || !job.onto_is_base {
        None
    } else {
        below_verdict(context, store, worktree, &report, &job.onto)?
    };
    let gated = GateEvent::Gated(Box::new(Gated {
        slot,
        job: job.job,
        task: last.task.clone(),
        attempt: last.attempt.clone(),
        report,
        below,
    }));
    let _ = events.send(Event::Gate(gated));
    Ok(())
}

/// Checks `commit` out in the gate worktree (beside the files `include` copies in, as the agent
/// had them, and after `setup`) and runs `config`'s gates on it.
fn gate_tree(
    context: &GateContext,
    store: &Store,
    config: &Config,
    worktree: &Path,
    commit: &str,
    below: &str,
    member: Option<&GateMember>,
) -> Result<gates::GateReport> {
    if context.git.ensure_worktree(worktree, commit)? {
        context.bootstrap.forget_setup(worktree)?;
    }
    // Gates may leave files behind: the clean takes them away, so each run sees exactly its tree.
    context.git.checkout_detached(worktree, commit)?;
    context.bootstrap.copy_includes(worktree)?;
    if let Some(feedback) = context.bootstrap.ensure_setup(worktree)? {
        return Err(crate::orchestrator::OrchestratorError::GateSetup(feedback));
    }
    let log_dir = match member {
        Some(m) => context
            .runs
            .join(m.task.id.as_str())
            .join(m.attempt.number.to_string()),
        None => context.runs.join("base").join(commit),
    };
    gates::run_gates(
        &context.git,
        store,
        config,
        &gates::Candidate {
            task: member.map(|m| &m.task),
            attempt: member.map(|m| &m.attempt),
            worktree,
            commit: Some(commit),
            base: below,
            log_dir,
        },
    )
}

/// After a candidate failed its gates: whether the tree it was built on fails every command gate
/// the candidate failed, in exactly the same way (the same output, numbers set aside): then the
/// change did not cause it, and the gate or the base is broken (a program that is not installed, a
/// test that fails on base). None when a critic failed it, or it fell short only on the overall
/// score: those are the change's to answer. A gate that fails below differently (it checks for
/// what the task was to add) is the change's to pass.
fn below_verdict(
    context: &GateContext,
    store: &Store,
    worktree: &Path,
    candidate: &gates::GateReport,
    below: &str,
) -> Result<Option<Below>> {
    let failed: Vec<&gates::GateResult> = candidate
        .gates
        .iter()
        .filter(|g| !g.record.passed)
        .collect();
    let mut config = (*context.config).clone();
    config
        .gates
        .retain(|g| g.command.is_some() && failed.iter().any(|f| f.record.gate == g.name));
    if config.gates.is_empty() || config.gates.len() != failed.len() {
        return Ok(None);
    }
    let report = gate_tree(context, store, &config, worktree, below, below, None)?;
    let fails_the_same = failed.iter().all(|theirs| {
        report.gates.iter().any(|ours| {
            ours.record.gate == theirs.record.gate
                && !ours.record.passed
                && failure_shape(ours.record.log_path.as_deref())
                    == failure_shape(theirs.record.log_path.as_deref())
        })
    });
    let names: Vec<String> = failed.iter().map(|g| g.record.gate.clone()).collect();
    let log_dir = context.runs.join("base").join(below);
    let output = names
        .iter()
        .map(|name| gates::tail_text(&gates::gate_log(&log_dir, name), 10))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Some(Below {
        report,
        fails_the_same,
        gates: names,
        output,
    }))
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
