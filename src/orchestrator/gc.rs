//! `vane gc`: take away what vane left that nobody needs any more (the workers' worktrees, the
//! branches of tasks that landed, registrations of worktrees whose directory is gone) without
//! losing work that has not landed (promise 2).
//!
//! Before a worktree goes, what it holds that is on no ref is kept: uncommitted changes on a task
//! branch are committed there, as recovery does; a detached HEAD (with its uncommitted changes
//! committed on top) whose commits no ref reaches is kept under `refs/vane/attempts/<task>/<n>`,
//! or `refs/vane/kept/<worktree>/<n>` when its commits name no task. A branch is deleted only when
//! its task is done and its tip is on base, by compare-and-swap.
//!
//! With `--keep-days`, run directories (`runs/` in vane's state directory: prompts, what agents
//! printed, gate logs) not written to within that many days go too: those of tasks that are done
//! or gone, those of a task's earlier attempts, and vane's own (gates of a base tip, setup logs of
//! worktrees that are gone); the latest attempt of a task that is not done always stays. Without
//! it they all stay: they are what a person reads to find out why a task went as it did, and each
//! is bounded by `log_limit`. Batch logs (`logs/`) go with them, all but the latest batch's.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::lock::{self, LockError, LockState, WorkLock};
use super::recovery::LEFTOVER_MESSAGE;
use super::{OrchestratorError, Result};
use crate::config::Config;
use crate::git::cli::comparable_path;
use crate::git::integrity::{classify_worktree_dir, named_common_dir, WorktreeState};
use crate::git::{attempt_refs, Git, GitError, WorktreeInfo, KEPT_PREFIX};
use crate::model::{short_commit, CheckpointKind, CommitId, TaskId, TaskStatus};
use crate::store::{Checkpoint, TaskFilter};
use crate::workspace::{self, Workspace};

#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Report what would be done, and change nothing.
    pub dry_run: bool,
    /// Keep the worktrees used within this many days; 0 removes them all.
    pub keep_days: u32,
    /// Also remove the run directories not written to within this many days (see the module's
    /// comment); None leaves every run directory alone.
    pub runs_keep_days: Option<u32>,
    /// Also prune the checkpoints older than the newest N that nothing needs (see
    /// `checkpoints_to_keep`); None keeps them all.
    pub keep_checkpoints: Option<usize>,
}

/// What `vane gc` did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub base: String,
    pub worktree_root: PathBuf,
    /// Work kept before its worktree went.
    pub saved: Vec<SavedWork>,
    pub worktrees_removed: Vec<RemovedWorktree>,
    pub worktrees_kept: Vec<KeptWorktree>,
    pub branches_deleted: Vec<DeletedRef>,
    /// Refs of earlier attempts whose commits are on base.
    pub refs_deleted: Vec<DeletedRef>,
    /// Branches of done tasks that stay, with the reason.
    pub branches_kept: Vec<KeptBranch>,
    /// Worktrees whose directory was gone: only git's record of them was dropped.
    pub registrations_pruned: Vec<PathBuf>,
    /// Worktrees whose `.git` file was removed or broken (by an agent): it was put back, naming
    /// git's record of the worktree, before the worktree went as any other.
    pub repaired: Vec<PathBuf>,
    /// Directories under the worktree root of a repository that is gone (their `.git` names a
    /// worktree record that no longer exists): removed whole, having nothing git could keep.
    pub orphans_removed: Vec<RemovedWorktree>,
    /// Run directories (or setup logs) removed from `runs/`, with `--keep-days`.
    pub runs_removed: Vec<RemovedWorktree>,
    /// Batch logs removed from `logs/`, with `--keep-days`: those of batches before the latest,
    /// not written to within that many days.
    pub logs_removed: Vec<RemovedWorktree>,
    /// Checkpoints pruned with `--keep-checkpoints`: their refs deleted and their rows forgotten.
    pub checkpoints_pruned: Vec<PrunedCheckpoint>,
    /// Checkpoints older than the newest N that stay all the same, with why.
    pub checkpoints_kept: Vec<KeptCheckpoint>,
    /// The disk space the removed worktrees and run directories took (allocated blocks, as `du`
    /// counts).
    pub bytes_freed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrunedCheckpoint {
    pub id: i64,
    pub kind: CheckpointKind,
    pub task: Option<TaskId>,
    pub sha: CommitId,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptCheckpoint {
    pub id: i64,
    pub reason: String,
}

impl GcReport {
    /// Whether there was nothing to do.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
            && self.worktrees_removed.is_empty()
            && self.branches_deleted.is_empty()
            && self.refs_deleted.is_empty()
            && self.registrations_pruned.is_empty()
            && self.orphans_removed.is_empty()
            && self.runs_removed.is_empty()
            && self.logs_removed.is_empty()
            && self.checkpoints_pruned.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SavedWork {
    pub worktree: PathBuf,
    pub kind: SavedKind,
    /// The branch or ref that holds the work now.
    pub into: String,
    /// The commit kept; None in a dry run, where it is not made.
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedKind {
    /// Uncommitted changes, committed onto the task branch checked out there.
    Uncommitted,
    /// The commits of a detached HEAD (uncommitted changes committed on top), kept under a ref.
    Detached,
}

/// A directory removed (a worktree, or a run directory), and the disk it took.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedWorktree {
    pub path: PathBuf,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptWorktree {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeletedRef {
    pub name: String,
    /// Where it pointed.
    pub sha: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptBranch {
    pub branch: String,
    pub reason: String,
}

pub fn gc(workspace: &mut Workspace, config: &Config, options: &GcOptions) -> Result<GcReport> {
    let state_dir = workspace::state_dir(&workspace.location);
    // Workers need their worktrees: nothing is taken while a batch runs, and no batch starts while
    // this runs. A dry run only looks, so it does not take the lock (whose file it would write).
    let _lock = if options.dry_run {
        if let LockState::Held { pid, started } = lock::inspect(&state_dir)? {
            return Err(LockError::Held { pid, started }.into());
        }
        None
    } else {
        Some(WorkLock::acquire(&state_dir, "vane gc")?)
    };
    let git = Git::open(&workspace.location.workdir)?;
    let base = super::base_branch(workspace, config)?;
    let base_tip = git
        .branch_tip(&base)?
        .ok_or_else(|| OrchestratorError::NoBaseBranch(base.clone()))?;
    let root = comparable_path(&crate::workspace::worktree_root(workspace, config));
    let common_dir = &workspace.location.common_dir;
    let mut report = GcReport {
        dry_run: options.dry_run,
        base: base.clone(),
        worktree_root: root.clone(),
        ..GcReport::default()
    };
    let sweep = Sweep {
        git: &git,
        dry_run: options.dry_run,
        keep_for: Duration::from_secs(u64::from(options.keep_days) * 86_400),
        here: comparable_path(&workspace.location.workdir),
        now: SystemTime::now(),
        keep_out: &config.include,
    };
    // The worktrees that stay; a branch checked out in one of them is not deleted.
    let mut staying = Vec::new();
    let mut registered = HashSet::new();
    for (index, info) in git.list_worktrees()?.into_iter().enumerate() {
        let path = comparable_path(&info.path);
        registered.insert(path.clone());
        let gone = std::fs::symlink_metadata(&path).is_err();
        let ours = index > 0 && path.parent() == Some(root.as_path());
        // The main worktree is never touched; another one of the person's only when git itself
        // calls it prunable (unlocked, its directory gone).
        if !(ours || (index > 0 && info.prunable && gone)) {
            staying.push(info);
            continue;
        }
        if !gone {
            let mend = mend_git_file(common_dir, &path);
            if let Err(reason) = &mend {
                report.worktrees_kept.push(KeptWorktree {
                    path,
                    reason: reason.clone(),
                });
                staying.push(info);
                continue;
            }
            if let Some(reason) = sweep.reason_to_keep(&path) {
                report.worktrees_kept.push(KeptWorktree { path, reason });
                staying.push(info);
                continue;
            }
            if let Ok(Some(admin)) = mend {
                report.repaired.push(path.clone());
                if options.dry_run {
                    // Without its `.git` git cannot say what it holds; the real run looks.
                    let bytes = disk_usage(&path);
                    report.bytes_freed += bytes;
                    report
                        .worktrees_removed
                        .push(RemovedWorktree { path, bytes });
                    continue;
                }
                crate::git::integrity::restore_git_file(&path, &admin)
                    .map_err(|e| OrchestratorError::io(&path.join(".git"), e))?;
            }
        }
        if !sweep.release(&info, &path, gone, &mut report)? {
            staying.push(info);
        }
    }
    sweep_orphans(common_dir, &root, &registered, &sweep, &mut report)?;
    let checked_out: HashSet<String> = staying.iter().filter_map(|w| w.branch.clone()).collect();
    for task in workspace.store.tasks(&TaskFilter {
        statuses: vec![TaskStatus::Done],
        parent: None,
    })? {
        sweep.landed_branch(&task.id, &base, &base_tip, &checked_out, &mut report)?;
    }
    if let Some(days) = options.runs_keep_days {
        let runs = Runs {
            dir: state_dir.join("runs"),
            logs: state_dir.join("logs"),
            older_than: Duration::from_secs(u64::from(days) * 86_400),
            worktree_root: &root,
        };
        runs.sweep(workspace, &sweep, &mut report)?;
    }
    if let Some(keep) = options.keep_checkpoints {
        prune_checkpoints(workspace, &sweep, &base, keep, &mut report)?;
    }
    Ok(report)
}

/// Why a checkpoint stays whatever its age.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Needed {
    /// Among the newest N.
    Recent,
    /// It was recorded by the landing of these done tasks: rolling back to it undoes every later
    /// landing, and `vane doctor` holds each done task's landing to it.
    Landing(Vec<TaskId>),
    /// The first batch start: where vane's history on base begins, which `vane doctor` reads
    /// base's history from, and the way back to before anything vane landed.
    FirstBatchStart,
    /// A landing or rollback that a crash cut short names it: recovery finishes it from there.
    Unfinished,
}

impl Needed {
    /// Why it stays, for the report; None for the newest N, which need no reason.
    fn reason(&self, base: &str) -> Option<String> {
        match self {
            Needed::Recent => None,
            Needed::Landing(tasks) => Some(format!(
                "the landing of {}, which {} done",
                tasks
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if tasks.len() == 1 { "is" } else { "are" }
            )),
            Needed::FirstBatchStart => Some(format!(
                "the first batch start, where vane's history on {base} begins"
            )),
            Needed::Unfinished => Some(
                "an unfinished landing or rollback needs it; `vane work` finishes it".to_string(),
            ),
        }
    }
}

/// Which of `checkpoints` (oldest first) stay, by id, and why: the newest `keep`, the one each
/// done task's landing recorded (`landings`: checkpoint id to the done tasks it landed), the
/// first batch start, and those an unfinished ref move names (`unfinished`). The rest may go.
fn checkpoints_to_keep(
    checkpoints: &[Checkpoint],
    landings: &HashMap<i64, Vec<TaskId>>,
    unfinished: &HashSet<i64>,
    keep: usize,
) -> HashMap<i64, Needed> {
    let mut needed = HashMap::new();
    for checkpoint in checkpoints.iter().rev().take(keep) {
        needed.insert(checkpoint.id, Needed::Recent);
    }
    for checkpoint in checkpoints {
        if needed.contains_key(&checkpoint.id) {
            continue;
        }
        let why = if let Some(tasks) = landings.get(&checkpoint.id) {
            Needed::Landing(tasks.clone())
        } else if unfinished.contains(&checkpoint.id) {
            Needed::Unfinished
        } else {
            continue;
        };
        needed.insert(checkpoint.id, why);
    }
    if let Some(first) = checkpoints
        .iter()
        .find(|c| c.kind == CheckpointKind::BatchStart)
    {
        needed.entry(first.id).or_insert(Needed::FirstBatchStart);
    }
    needed
}

/// The checkpoint each done task's landing recorded, as checkpoint id to tasks: the first merge
/// checkpoint whose snapshot has the task done at the landing commit it has now (a candidate
/// landed with others shares their checkpoint).
fn landing_checkpoints(
    workspace: &Workspace,
    checkpoints: &[Checkpoint],
) -> Result<HashMap<i64, Vec<TaskId>>> {
    let mut wanted: HashMap<TaskId, String> = workspace
        .store
        .tasks(&TaskFilter {
            statuses: vec![TaskStatus::Done],
            parent: None,
        })?
        .into_iter()
        .filter_map(|task| task.landed_sha.map(|sha| (task.id, sha)))
        .collect();
    let mut landings: HashMap<i64, Vec<TaskId>> = HashMap::new();
    for summary in checkpoints
        .iter()
        .filter(|c| c.kind == CheckpointKind::Merge)
    {
        if wanted.is_empty() {
            break;
        }
        let Some(checkpoint) = workspace.store.checkpoint(summary.id)? else {
            continue;
        };
        for entry in &checkpoint.snapshot {
            let landed_here = entry.status == TaskStatus::Done
                && wanted.get(&entry.id) == entry.landed_sha.as_ref();
            if landed_here {
                wanted.remove(&entry.id);
                landings
                    .entry(checkpoint.id)
                    .or_default()
                    .push(entry.id.clone());
            }
        }
    }
    Ok(landings)
}

/// `--keep-checkpoints N`: deletes the ref of every checkpoint `checkpoints_to_keep` lets go, by
/// compare-and-swap, then forgets those whose ref is gone, in one transaction. A ref deleted
/// before a crash leaves a checkpoint whose ref is missing, which `vane work` pins again, and
/// `vane gc` prunes the next time.
fn prune_checkpoints(
    workspace: &mut Workspace,
    sweep: &Sweep<'_>,
    base: &str,
    keep: usize,
    report: &mut GcReport,
) -> Result<()> {
    let checkpoints = workspace.store.checkpoints()?;
    let landings = landing_checkpoints(workspace, &checkpoints)?;
    let unfinished: HashSet<i64> = workspace
        .store
        .open_ref_moves()?
        .into_iter()
        .filter_map(|m| m.checkpoint)
        .collect();
    let needed = checkpoints_to_keep(&checkpoints, &landings, &unfinished, keep);
    let mut forget = Vec::new();
    for checkpoint in checkpoints {
        if let Some(why) = needed.get(&checkpoint.id) {
            if let Some(reason) = why.reason(base) {
                report.checkpoints_kept.push(KeptCheckpoint {
                    id: checkpoint.id,
                    reason,
                });
            }
            continue;
        }
        let at = sweep.git.rev_parse(&checkpoint.refname)?;
        if let Some(at) = &at {
            if at != checkpoint.sha.as_str() {
                report.checkpoints_kept.push(KeptCheckpoint {
                    id: checkpoint.id,
                    reason: format!(
                        "{} points at {}, not at its commit: `vane doctor` looks into it",
                        checkpoint.refname,
                        short_commit(at)
                    ),
                });
                continue;
            }
            if let Some(reason) = sweep.delete(&checkpoint.refname, at)? {
                report.checkpoints_kept.push(KeptCheckpoint {
                    id: checkpoint.id,
                    reason,
                });
                continue;
            }
        }
        report.checkpoints_pruned.push(PrunedCheckpoint {
            id: checkpoint.id,
            kind: checkpoint.kind,
            task: checkpoint.task.clone(),
            sha: checkpoint.sha.clone(),
        });
        forget.push(checkpoint);
    }
    if !sweep.dry_run {
        workspace.store.forget_checkpoints(&forget, "vane gc")?;
    }
    Ok(())
}

/// The directory that holds every run's files, and what may go from it.
struct Runs<'a> {
    dir: PathBuf,
    /// Where each batch's log is (`crate::logs`).
    logs: PathBuf,
    /// Entries written to more recently than this stay.
    older_than: Duration,
    /// Where the worktrees whose setup logs are in `runs/setup` live.
    worktree_root: &'a Path,
}

/// Removes `entry` (nothing in a dry run) and counts the space it took as freed.
fn remove_counted(
    entry: PathBuf,
    sweep: &Sweep<'_>,
    report: &mut GcReport,
) -> Result<RemovedWorktree> {
    let bytes = disk_usage(&entry);
    if !sweep.dry_run {
        remove_entry(&entry)?;
    }
    report.bytes_freed += bytes;
    Ok(RemovedWorktree { path: entry, bytes })
}

/// Where `setup` leaves a log and a marker per worktree (`bootstrap`).
const SETUP_RUNS: &str = "setup";

impl Runs<'_> {
    /// Removes the run directories that may go: under `runs/<task>/`, an attempt's directory
    /// (`<n>`) unless it is the latest attempt of a task that is not done, and every other entry
    /// (a gate run without an attempt, vane's own `base/<tip>`, a task that is gone); in
    /// `runs/setup`, the log and marker of a worktree that is gone. Only what was not written to
    /// within `older_than`; a directory left empty goes too. Symbolic links are removed as links.
    fn sweep(&self, workspace: &Workspace, sweep: &Sweep<'_>, report: &mut GcReport) -> Result<()> {
        let statuses: std::collections::HashMap<TaskId, TaskStatus> = workspace
            .store
            .tasks(&TaskFilter::default())?
            .into_iter()
            .map(|task| (task.id, task.status))
            .collect();
        for top in sorted_entries(&self.dir) {
            let Some(name) = top.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            if !std::fs::symlink_metadata(&top).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let task = TaskId::new(name.as_str())
                .ok()
                .and_then(|id| statuses.get(&id).map(|status| (id, *status)));
            // The attempt whose files stay whatever their age: the latest of a task not done.
            let latest = match &task {
                Some((id, status)) if *status != TaskStatus::Done => workspace
                    .store
                    .attempts(id)?
                    .last()
                    .map(|attempt| attempt.number),
                _ => None,
            };
            let mut left = 0;
            for entry in sorted_entries(&top) {
                let entry_name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let keep = match entry_name.parse::<u32>() {
                    Ok(number) if task.is_some() => Some(number) == latest,
                    _ if name == SETUP_RUNS => self.worktree_stays(entry_name, report),
                    _ => false,
                };
                if keep || !self.old_enough(&entry, sweep.now) {
                    left += 1;
                    continue;
                }
                let removed = remove_counted(entry, sweep, report)?;
                report.runs_removed.push(removed);
            }
            if left == 0 && !sweep.dry_run {
                // Only if empty: a run that started meanwhile keeps it.
                let _ = std::fs::remove_dir(&top);
            }
        }
        self.sweep_logs(workspace, sweep, report)
    }

    /// Removes the logs of batches before the latest that were not written to within
    /// `older_than`. The latest batch's stays: it may be running, or be the one to look at.
    fn sweep_logs(
        &self,
        workspace: &Workspace,
        sweep: &Sweep<'_>,
        report: &mut GcReport,
    ) -> Result<()> {
        let latest = workspace.store.latest_batch()?.map(|b| b.id);
        for entry in sorted_entries(&self.logs) {
            let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(batch) = crate::logs::batch_of(name) else {
                continue;
            };
            if Some(batch) >= latest || !self.old_enough(&entry, sweep.now) {
                continue;
            }
            let removed = remove_counted(entry, sweep, report)?;
            report.logs_removed.push(removed);
        }
        Ok(())
    }

    /// Whether the worktree a setup log or marker (`w1.log`, `w1.ok`) belongs to is there and
    /// stays: its marker saves running setup again.
    fn worktree_stays(&self, file: &str, report: &GcReport) -> bool {
        let Some((worktree, _)) = file.rsplit_once('.') else {
            return true;
        };
        let path = self.worktree_root.join(worktree);
        path.exists() && !report.worktrees_removed.iter().any(|w| w.path == path)
    }

    /// Whether nothing under `path` was written to within `older_than`.
    fn old_enough(&self, path: &Path, now: SystemTime) -> bool {
        let newest = last_written(path);
        // A time in the future (a clock that moved) counts as just now.
        now.duration_since(newest).unwrap_or(Duration::ZERO) >= self.older_than
    }
}

/// The newest modification time of `path` and everything under it; symbolic links are not
/// followed. What cannot be read counts as written now, so that it stays.
fn last_written(path: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack = vec![path.to_path_buf()];
    while let Some(next) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&next) else {
            return SystemTime::now();
        };
        newest = newest.max(meta.modified().unwrap_or_else(|_| SystemTime::now()));
        if meta.is_dir() {
            match std::fs::read_dir(&next) {
                Ok(entries) => stack.extend(entries.flatten().map(|entry| entry.path())),
                Err(_) => return SystemTime::now(),
            }
        }
    }
    newest
}

/// Removes a directory with everything in it, or a file, or a symbolic link (never followed).
fn remove_entry(path: &Path) -> Result<()> {
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    let result = if is_dir {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    result.map_err(|source| OrchestratorError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// What every step of one gc run needs.
struct Sweep<'a> {
    git: &'a Git,
    dry_run: bool,
    /// Worktrees used more recently than this are kept.
    keep_for: Duration,
    /// Where vane runs: never removed under its feet.
    here: PathBuf,
    now: SystemTime,
    /// Files vane copied in (`include`): not work, never committed.
    keep_out: &'a [String],
}

impl Sweep<'_> {
    /// Why a worktree of vane's, whose directory is there, stays; None when it may go.
    fn reason_to_keep(&self, path: &Path) -> Option<String> {
        if self.here.starts_with(path) {
            return Some("vane gc runs inside it".to_string());
        }
        if let Some(pid) = gate_worktree_pid(path) {
            if lock::process_alive(pid) {
                let command = if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("plan-"))
                {
                    "vane plan"
                } else {
                    "vane gate"
                };
                return Some(format!("`{command}` (pid {pid}) is using it"));
            }
        }
        if !self.keep_for.is_zero() {
            let age = last_used(path).and_then(|used| self.now.duration_since(used).ok());
            // A time in the future (a clock that moved) counts as just now.
            let age = age.unwrap_or(Duration::ZERO);
            if age < self.keep_for {
                return Some(format!(
                    "used {} ago, within --keep-days {}",
                    render_age(age),
                    self.keep_for.as_secs() / 86_400
                ));
            }
        }
        None
    }

    /// Keeps what the worktree holds that no ref holds, then removes it (or only its registration,
    /// when its directory is gone). False when it has to stay.
    fn release(
        &self,
        info: &WorktreeInfo,
        path: &Path,
        gone: bool,
        report: &mut GcReport,
    ) -> Result<bool> {
        let mut head = info.head.clone();
        // The task whose work a detached HEAD holds, read before anything is committed on top.
        let task = match (&info.branch, &head) {
            (None, Some(head)) => self
                .git
                .trailer(head, "Vane-Task")?
                .and_then(|t| TaskId::new(t).ok()),
            _ => None,
        };
        let mut dirty_detached = false;
        let gate_pool = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(crate::workspace::is_gate_worktree_name);
        if !gone && !gate_pool && !self.git.is_clean(path)? {
            match info.branch.as_deref() {
                Some(branch) if branch.starts_with("vane/") => {
                    let commit = if self.dry_run {
                        None
                    } else {
                        self.git
                            .commit_all_except(path, LEFTOVER_MESSAGE, self.keep_out)?
                    };
                    report.saved.push(SavedWork {
                        worktree: path.to_path_buf(),
                        kind: SavedKind::Uncommitted,
                        into: branch.to_string(),
                        commit,
                    });
                }
                Some(branch) => {
                    // Not vane's branch: committing there would change the person's history.
                    report.worktrees_kept.push(KeptWorktree {
                        path: path.to_path_buf(),
                        reason: format!(
                            "it has uncommitted changes on `{branch}`, which is not a task branch; \
                             commit or stash them, or remove the worktree yourself"
                        ),
                    });
                    return Ok(false);
                }
                None => {
                    dirty_detached = true;
                    if !self.dry_run {
                        if let Some(commit) =
                            self.git
                                .commit_all_except(path, LEFTOVER_MESSAGE, self.keep_out)?
                        {
                            head = Some(commit);
                        }
                    }
                }
            }
        }
        if info.branch.is_none() && !gate_pool {
            if let Some(head) = &head {
                if dirty_detached || self.git.holds_unkept_commits(head)? {
                    let prefix = match &task {
                        Some(task) => attempt_refs(task.as_str()),
                        None => format!("{KEPT_PREFIX}{}/", ref_safe_name(path)),
                    };
                    let (into, commit) = if self.dry_run {
                        let tip = (!dirty_detached).then_some(head.as_str());
                        (self.git.kept_name(&prefix, tip)?, None)
                    } else {
                        (self.git.keep_commit(&prefix, head)?, Some(head.clone()))
                    };
                    report.saved.push(SavedWork {
                        worktree: path.to_path_buf(),
                        kind: SavedKind::Detached,
                        into,
                        commit,
                    });
                }
            }
        }
        let bytes = if gone { 0 } else { disk_usage(path) };
        if !self.dry_run {
            self.git.unlock_worktree(path)?;
            self.git.remove_worktree(path)?;
        }
        if gone {
            report.registrations_pruned.push(path.to_path_buf());
        } else {
            report.worktrees_removed.push(RemovedWorktree {
                path: path.to_path_buf(),
                bytes,
            });
            report.bytes_freed += bytes;
        }
        Ok(true)
    }

    /// Deletes the branch of a done task when its tip is on base, and the refs of its earlier
    /// attempts whose commits are on base.
    fn landed_branch(
        &self,
        task: &TaskId,
        base: &str,
        base_tip: &str,
        checked_out: &HashSet<String>,
        report: &mut GcReport,
    ) -> Result<()> {
        let branch = task.branch();
        if let Some(tip) = self.git.branch_tip(&branch)? {
            let reason = if checked_out.contains(&branch) {
                Some("it is checked out in a worktree".to_string())
            } else if !self.git.is_ancestor(&tip, base_tip)? {
                Some(format!("it has commits that are not on {base}"))
            } else {
                self.delete(&format!("refs/heads/{branch}"), &tip)?
            };
            match reason {
                None => report.branches_deleted.push(DeletedRef {
                    name: branch,
                    sha: tip,
                }),
                Some(reason) => report.branches_kept.push(KeptBranch { branch, reason }),
            }
        }
        for (name, sha) in self.git.refs_under(&attempt_refs(task.as_str()))? {
            if self.git.is_ancestor(&sha, base_tip)? && self.delete(&name, &sha)?.is_none() {
                report.refs_deleted.push(DeletedRef { name, sha });
            }
        }
        Ok(())
    }

    /// Deletes `refname` if it still points at `sha`; the reason it stays otherwise.
    fn delete(&self, refname: &str, sha: &str) -> Result<Option<String>> {
        if self.dry_run {
            return Ok(None);
        }
        match self.git.delete_ref(refname, sha) {
            Ok(()) => Ok(None),
            Err(GitError::RefMoved { .. }) => Ok(Some("it moved while vane gc ran".to_string())),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether a registered worktree of vane's can be released as it is (`Ok(None)`), needs its
/// `.git` file put back first, naming git's record of it (`Ok(Some(admin))`: an agent removed or
/// broke it), or has to stay (`Err(reason)`: its `.git` is a repository of its own, which may hold
/// an agent's commits, or it is not this repository's).
fn mend_git_file(common_dir: &Path, path: &Path) -> Result<Option<PathBuf>, String> {
    match classify_worktree_dir(common_dir, path) {
        WorktreeState::Ours { .. } => Ok(None),
        state @ (WorktreeState::NotAWorktree { .. } | WorktreeState::BrokenGitFile { .. }) => {
            match state.registered() {
                Some(admin) => Ok(Some(admin.to_path_buf())),
                None => Err(state.describe()),
            }
        }
        state @ WorktreeState::OwnRepository { .. } => Err(format!(
            "{}, which may hold an agent's commits: look at them (`git -C {dir} log --all`), \
             then `rm -rf {dir}/.git` and run `vane gc` again",
            state.describe(),
            dir = path.display()
        )),
        state => Err(state.describe()),
    }
}

/// Removes the directories under the worktree root that no worktree record of this repository
/// names and whose `.git` names a record that is gone (a repository deleted, or made again at the
/// same path: the root is keyed by path). Every other stranger is kept and named.
fn sweep_orphans(
    common_dir: &Path,
    root: &Path,
    registered: &HashSet<PathBuf>,
    sweep: &Sweep<'_>,
    report: &mut GcReport,
) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(());
    };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    dirs.sort();
    for path in dirs {
        if registered.contains(&path) || registered.contains(&comparable_path(&path)) {
            continue;
        }
        match classify_worktree_dir(common_dir, &path) {
            WorktreeState::Ours { .. } | WorktreeState::Missing => {}
            WorktreeState::Orphaned { .. } if !sweep.here.starts_with(&path) => {
                let bytes = disk_usage(&path);
                if !sweep.dry_run {
                    remove_tree(&path)?;
                }
                report.bytes_freed += bytes;
                report.orphans_removed.push(RemovedWorktree { path, bytes });
            }
            state => report.worktrees_kept.push(KeptWorktree {
                reason: format!(
                    "{}; git knows no worktree there, so vane leaves it to you",
                    state.describe()
                ),
                path,
            }),
        }
    }
    Ok(())
}

/// Removes a directory and everything in it; a symbolic link inside is removed, never followed.
fn remove_tree(path: &Path) -> Result<()> {
    std::fs::remove_dir_all(path).map_err(|source| OrchestratorError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// What `vane gc --all-repos` did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AllReposReport {
    pub dry_run: bool,
    /// The folder holding every repository's worktree folder.
    pub root: PathBuf,
    pub removed: Vec<OrphanFolder>,
    pub kept: Vec<KeptWorktree>,
    /// Repository folders left empty and removed.
    pub folders_removed: Vec<PathBuf>,
    pub bytes_freed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrphanFolder {
    pub path: PathBuf,
    /// The git directory of the repository it belonged to, which is gone (or made again).
    pub repository: Option<PathBuf>,
    pub bytes: u64,
}

/// `vane gc --all-repos`: under the default worktree folder of every repository, removes the
/// worktrees whose `.git` names a worktree record that is gone (their repository deleted, or made
/// again at the same path), and the repository folders that leaves empty. A worktree whose record
/// exists (its repository is there) is never touched, nor anything that is not a directory with a
/// `.git` file; symbolic links are never followed. Needs no repository and takes no lock: no batch
/// can use a worktree its repository has lost.
pub fn gc_all_repos(dry_run: bool) -> Result<AllReposReport> {
    let root = comparable_path(&crate::workspace::default_worktrees_base());
    let mut report = AllReposReport {
        dry_run,
        root: root.clone(),
        ..AllReposReport::default()
    };
    let here = std::env::current_dir()
        .map(|d| comparable_path(&d))
        .unwrap_or_default();
    for folder in sorted_entries(&root) {
        if !std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
            report.kept.push(KeptWorktree {
                path: folder,
                reason: "not a directory (a symbolic link is never followed)".to_string(),
            });
            continue;
        }
        let mut left = 0;
        for path in sorted_entries(&folder) {
            let repository = named_common_dir(&path);
            let state = match &repository {
                Some(common) => classify_worktree_dir(common, &path),
                None => classify_worktree_dir(&folder.join(".no-repository"), &path),
            };
            match state {
                WorktreeState::Orphaned { .. } if !here.starts_with(&path) => {
                    let bytes = disk_usage(&path);
                    if !dry_run {
                        remove_tree(&path)?;
                    }
                    report.bytes_freed += bytes;
                    report.removed.push(OrphanFolder {
                        path,
                        repository,
                        bytes,
                    });
                }
                // A worktree of a repository that is there: not ours to judge.
                WorktreeState::Ours { .. } => left += 1,
                WorktreeState::Missing => {}
                state => {
                    left += 1;
                    report.kept.push(KeptWorktree {
                        reason: state.describe(),
                        path,
                    });
                }
            }
        }
        if left == 0
            && report
                .removed
                .iter()
                .any(|r| r.path.parent() == Some(&folder))
        {
            if !dry_run {
                // Only if empty: a worktree made meanwhile stays.
                if std::fs::remove_dir(&folder).is_err() {
                    continue;
                }
            }
            report.folders_removed.push(folder);
        }
    }
    Ok(report)
}

/// The entries of a directory, sorted; none when it cannot be read.
fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// The pid in the name of a worktree `vane gate <task>` or a planner makes for itself
/// (`gate-<task>-<pid>`, `plan-<epic>-<pid>`).
fn gate_worktree_pid(path: &Path) -> Option<i32> {
    crate::workspace::one_off_worktree_pid(path.file_name()?.to_str()?)
}

/// When a worktree was last used: the newest change to its HEAD or index, which git rewrites at
/// every checkout and commit, in the worktree's administrative directory (the one its `.git` file
/// names). Reading files there (`git status` without writing) does not count.
pub(super) fn last_used(worktree: &Path) -> Option<SystemTime> {
    let link = std::fs::read_to_string(worktree.join(".git")).ok()?;
    let admin = worktree.join(link.trim().strip_prefix("gitdir:")?.trim());
    ["HEAD", "index"]
        .iter()
        .filter_map(|file| std::fs::metadata(admin.join(file)).ok()?.modified().ok())
        .max()
}

/// The disk space the files under `path` take, in bytes of allocated blocks (as `du` counts them);
/// symbolic links are not followed. What cannot be read counts as nothing.
pub(super) fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        total += meta.blocks() * 512;
        if !meta.is_dir() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        stack.extend(entries.flatten().map(|entry| entry.path()));
    }
    total
}

/// A worktree's directory name made fit for a ref name component.
fn ref_safe_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "worktree".to_string()
    } else {
        safe
    }
}

/// A duration as a person says it: `40 s`, `12 min`, `5 h`, `3 days`.
fn render_age(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7_199 => format!("{} min", secs / 60),
        7_200..=172_799 => format!("{} h", secs / 3_600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(id: i64, kind: CheckpointKind) -> Checkpoint {
        Checkpoint {
            id,
            at: id,
            batch: "batch-1".to_string(),
            kind,
            task: None,
            sha: CommitId::new(format!("{id:040}")),
            refname: crate::store::checkpoint_ref(id),
            notes: None,
            snapshot: Vec::new(),
        }
    }

    #[test]
    fn old_checkpoints_stay_for_a_done_landing_the_first_batch_start_or_an_unfinished_move() {
        use CheckpointKind::{BatchStart, Merge, PreRollback};
        let checkpoints: Vec<Checkpoint> = [
            BatchStart,
            Merge,
            Merge,
            BatchStart,
            Merge,
            PreRollback,
            BatchStart,
            Merge,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, kind)| checkpoint(i as i64 + 1, kind))
        .collect();
        let task = |id: &str| TaskId::new(id).expect("an id");
        let landings = HashMap::from([(2, vec![task("a")]), (5, vec![task("b"), task("c")])]);
        let unfinished = HashSet::from([6]);
        let kept = |keep: usize| -> Vec<(i64, Needed)> {
            let needed = checkpoints_to_keep(&checkpoints, &landings, &unfinished, keep);
            let mut kept: Vec<(i64, Needed)> = needed.into_iter().collect();
            kept.sort_by_key(|(id, _)| *id);
            kept
        };
        assert_eq!(
            kept(2),
            [
                (1, Needed::FirstBatchStart),
                (2, Needed::Landing(vec![task("a")])),
                (5, Needed::Landing(vec![task("b"), task("c")])),
                (6, Needed::Unfinished),
                (7, Needed::Recent),
                (8, Needed::Recent),
            ]
        );
        // Checkpoint 3 (a landing of a task that is no longer done) and 4 (a later batch start)
        // go, whatever N says short of all.
        assert_eq!(
            kept(0).iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [1, 2, 5, 6]
        );
        assert_eq!(kept(8).len(), 8);
        assert_eq!(Needed::Recent.reason("main"), None);
        assert_eq!(
            Needed::Landing(vec![task("b"), task("c")])
                .reason("main")
                .as_deref(),
            Some("the landing of `b`, `c`, which are done")
        );
    }

    #[test]
    fn names_and_ages() {
        assert_eq!(
            gate_worktree_pid(Path::new("/r/gate-my-task-4242")),
            Some(4242)
        );
        assert_eq!(gate_worktree_pid(Path::new("/r/w1")), None);
        assert_eq!(gate_worktree_pid(Path::new("/r/gate-x-y")), None);
        assert_eq!(gate_worktree_pid(Path::new("/r/plan-auth-77")), Some(77));
        assert_eq!(ref_safe_name(Path::new("/r/w 1.old")), "w_1_old");
        assert_eq!(render_age(Duration::from_secs(5)), "5 s");
        assert_eq!(render_age(Duration::from_secs(600)), "10 min");
        assert_eq!(render_age(Duration::from_secs(3 * 3600)), "3 h");
        assert_eq!(render_age(Duration::from_secs(4 * 86_400)), "4 days");
    }

    #[test]
    fn disk_usage_counts_files_below_without_following_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = disk_usage(dir.path());
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/a"), vec![7u8; 10_000]).expect("write");
        let full = disk_usage(dir.path());
        assert!(full >= empty + 10_000, "{empty} -> {full}");
        std::os::unix::fs::symlink("/usr", dir.path().join("link")).expect("symlink");
        assert!(disk_usage(dir.path()) < full + 4096 * 4);
    }
}
