//! What `vane work` does first: finish or undo what a run that died left half-done, so that a batch
//! resumes where it stood without a manual step (promise 7).
//!
//! In order: stop what the dead run left running (its agents and gates, found by the process group
//! each worker wrote down and by the mark every such process carries, `agent::strays`), so nothing
//! writes into a worktree while it is looked at; finish or void the ref moves it wrote down; finish
//! bringing a person's checkout along; record its unfinished attempts as abandoned (never charged);
//! then make every worktree usable again: work left in one is committed to its task branch, its
//! branch is let go (so a retry may check it out elsewhere), and a worktree that is not this
//! repository's any more (an agent removed its `.git`, the repository was made again at the same
//! path) is taken away, to be made again when needed.

use std::path::{Path, PathBuf};

use super::work::landing::CheckoutFollowed;
use super::Result;
use crate::agent::strays::{self, AgentPid};
use crate::git::{Git, GitError};
use crate::model::RefMovePurpose;
use crate::store::Store;

#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// Attempts whose agent never finished; their tasks are pending again.
    pub abandoned: usize,
    /// Landings whose base ref had moved but whose database record had not: completed now.
    pub landings_completed: usize,
    /// Processes a dead run left running, stopped now.
    pub stopped: usize,
    /// Worktrees that were not this repository's any more, taken away.
    pub worktrees_removed: usize,
}

pub fn recover(
    store: &mut Store,
    git: &Git,
    base: &str,
    worktree_root: &Path,
    keep_out: &[String],
    runs_dir: &Path,
) -> Result<Recovered> {
    let mut recovered = Recovered::default();
    for attempt in store.open_attempts()? {
        let pid_file = runs_dir
            .join(attempt.task.as_str())
            .join(attempt.number.to_string())
            .join(super::work::AGENT_PID_FILE);
        if AgentPid::read(&pid_file).is_some_and(|pid| pid.stop()) {
            recovered.stopped += 1;
        }
    }
    for worktree in vane_worktrees(worktree_root) {
        // A worktree of one `vane gate` or `vane plan` that is still running is that process's.
        let owner = worktree
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(crate::workspace::one_off_worktree_pid);
        if owner.is_some_and(super::lock::process_alive) {
            continue;
        }
        recovered.stopped += strays::stop_marked_under(&worktree);
    }
    // The git commands the dead run had started finish by themselves in a moment; their locks are
    // theirs until then.
    if !strays::wait_for_orphaned_git(&[git.dir(), worktree_root], ORPHANED_GIT_WAIT) {
        tracing::warn!("git commands of a dead run are still running; going on");
    }

    clear_stale_locks(git, base)?;

    let base_ref = format!("refs/heads/{base}");
    for intent in store.open_ref_moves()? {
        let actual = git.rev_parse(&intent.refname)?;
        if actual.as_deref() != Some(intent.new_sha.as_str()) {
            // git never made the move (or someone moved the ref since): the intent is void; a
            // landing's task is still in review and goes through the merge queue again.
            store.abandon_ref_move(intent.id)?;
            continue;
        }
        // The ref moved; the rest did not happen. A person's checkout of the branch may still
        // hold the old files, or some of the new ones (it was being brought along): a landing
        // wrote down a checkout move before the ref moved, finished below; a rollback did not.
        match intent.purpose {
            RefMovePurpose::Land => {
                super::work::landing::finish_landing(store, git, &intent, "recovery")?;
                recovered.landings_completed += 1;
            }
            RefMovePurpose::Rollback => {
                if intent.refname == base_ref {
                    for checkout in git.checkout_paths_of(base)? {
                        finish_checkout(store, git, &checkout, &intent.old_sha, &intent.new_sha)?;
                    }
                }
                let id = intent.checkpoint.unwrap_or_default();
                if let Some(checkpoint) = store.checkpoint(id)? {
                    store.restore_snapshot(&checkpoint, "recovery")?;
                }
                store.finish_rollback(&intent, id, "recovery")?;
            }
        }
    }
    // Checkouts a landing or rollback was bringing along when the run died, or that the merge
    // queue had not brought along yet: their files are at the move's old commit (or partway to
    // its new one), and they are brought to where base is now.
    // Each under its own intent, closed only when done: a recovery killed here finds it again.
    for open in store.open_checkout_moves()? {
        let head = match git.head(&open.workdir) {
            Ok(head) if open.workdir.is_dir() => head,
            _ => {
                store.finish_checkout_move(open.id, false)?;
                continue;
            }
        };
        let followed = super::work::landing::bring_checkout_along(
            store,
            git,
            &open.workdir,
            &open.old_sha,
            &head,
            Some(open.id),
        )?;
        match followed {
            CheckoutFollowed::Done => {}
            CheckoutFollowed::InTheWay(e) => {
                tracing::warn!(checkout = %open.workdir.display(), error = %e, "checkout left as it is: files in the way");
            }
            CheckoutFollowed::Failed(e) => return Err(e.into()),
        }
    }
    recovered.abandoned = store.abandon_open_attempts()?.abandoned.len();

    recovered.worktrees_removed = release_worktrees(git, worktree_root, keep_out)?;
    forget_lost_worktrees(git, worktree_root)?;

    // A checkpoint recorded just before a crash may lack its ref.
    for checkpoint in store.checkpoints()? {
        if git.rev_parse(&checkpoint.refname)?.is_none() {
            super::work::landing::pin(git, &checkpoint)?;
        }
    }
    Ok(recovered)
}

/// How long recovery waits for the git commands of a dead run to finish.
const ORPHANED_GIT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes the `.lock` files a killed vane (or the git it ran) left behind, which would make every
/// later update of that ref or index fail ("Unable to create '...lock': File exists"): those under
/// vane's refs, in the git directories of the worktrees, and on base, `packed-refs`, `HEAD` and the
/// checkouts' indexes, each only when no live process holds it open.
fn clear_stale_locks(git: &Git, base: &str) -> Result<()> {
    for lock in stale_locks(git, base)? {
        tracing::info!(lock = %lock.display(), "removing a lock a dead run left");
        match std::fs::remove_file(&lock) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(super::OrchestratorError::io(&lock, e)),
        }
    }
    Ok(())
}

/// The lock files `clear_stale_locks` removes.
pub(super) fn stale_locks(git: &Git, base: &str) -> Result<Vec<PathBuf>> {
    let common = git.common_dir().to_path_buf();
    let mut locks = vec![
        common.join("packed-refs.lock"),
        common.join(format!("refs/heads/{base}.lock")),
        common.join("index.lock"),
        common.join("HEAD.lock"),
    ];
    for namespace in ["refs/vane", "refs/heads/vane"] {
        collect_locks(&common.join(namespace), &mut locks);
    }
    if let Ok(entries) = std::fs::read_dir(common.join("worktrees")) {
        for entry in entries.flatten() {
            collect_locks(&entry.path(), &mut locks);
        }
    }
    // git holds a lock file open for as long as it holds the lock: one that no process has open
    // was left by a process that died, whoever made it; one that a live process holds is never
    // touched.
    locks.retain(|l| l.exists() && !strays::held_open(l));
    Ok(locks)
}

fn collect_locks(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_locks(&path, out),
            Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "lock") => out.push(path),
            _ => {}
        }
    }
}

/// Brings a checkout the rest of the way from `old` to `new` after a crash. One that holds a change
/// of the person's in the way is left as it is (and they are told by `vane work`'s check of base);
/// a failure underneath fails recovery, with the intent kept for the next try.
fn finish_checkout(
    store: &mut Store,
    git: &Git,
    checkout: &Path,
    old: &str,
    new: &str,
) -> Result<()> {
    let intent = store.record_checkout_move(checkout, old, new)?;
    match git.bring_checkout_along(checkout, old, new) {
        Ok(()) => store.finish_checkout_move(intent.id, true)?,
        Err(GitError::CheckoutInTheWay { paths, .. }) => {
            tracing::warn!(checkout = %checkout.display(), ?paths, "checkout left as it is: files in the way");
            store.finish_checkout_move(intent.id, false)?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Makes every worktree under the root usable by the next task: what an agent left is committed to
/// its task branch and the branch let go; a directory that is not a working tree of this repository
/// is removed (with its registration, if git still has one), to be made again when a worker needs
/// it. Returns how many were removed.
fn release_worktrees(git: &Git, root: &Path, keep_out: &[String]) -> Result<usize> {
    let mut removed = 0;
    for path in vane_worktrees(root) {
        // A `.git` file an agent removed is put back first, so that its work is kept.
        git.repair_worktree(&path)?;
        match git.worktree_git_dir(&path) {
            Ok(_) => {
                save_leftovers(git, &path, keep_out)?;
                if git.current_branch(&path)?.is_some() {
                    let head = git.head(&path)?;
                    git.detach_head(&path, &head)?;
                }
            }
            Err(GitError::ForeignWorktree { found, .. }) => {
                tracing::warn!(path = %path.display(), found, "not a worktree of this repository; removing it");
                std::fs::remove_dir_all(&path)
                    .map_err(|e| super::OrchestratorError::io(&path, e))?;
                git.remove_worktree(&path)?;
                removed += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// Removes the records git keeps of vane's worktrees whose directory is gone (a run killed
/// between taking a broken worktree away and removing its record): a record git cannot read would
/// make every later `git worktree` command fail.
fn forget_lost_worktrees(git: &Git, root: &Path) -> Result<()> {
    let Ok(records) = std::fs::read_dir(git.common_dir().join("worktrees")) else {
        return Ok(());
    };
    let root = crate::git::cli::comparable_path(root);
    for record in records.flatten() {
        let Ok(back) = std::fs::read_to_string(record.path().join("gitdir")) else {
            continue;
        };
        let Some(worktree) = Path::new(back.trim_end()).parent() else {
            continue;
        };
        let worktree = crate::git::cli::comparable_path(worktree);
        let vane_made = worktree.parent() == Some(root.as_path())
            && worktree
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(crate::workspace::is_vane_worktree_name);
        if vane_made && !worktree.exists() {
            tracing::warn!(worktree = %worktree.display(), "forgetting a worktree whose directory is gone");
            git.remove_worktree(&worktree)?;
        }
    }
    Ok(())
}

/// The directories under the worktree root that vane made (see `workspace::is_vane_worktree_name`).
fn vane_worktrees(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(crate::workspace::is_vane_worktree_name)
        })
        .map(|e| e.path())
        .collect()
}

/// The message of the commit that saves what a worktree held on its task branch.
pub(super) const LEFTOVER_MESSAGE: &str =
    "Work left in the worktree by an earlier attempt\n\nVane-Leftover: yes";

/// Before a worktree is reset for another task, whatever it holds on a task branch is committed
/// there (promise 2). A worktree left detached holds a merge result that was gated: nothing to keep.
/// Files copied in by `include` (`keep_out`) are not work, and never committed.
fn save_leftovers(git: &Git, worktree: &Path, keep_out: &[String]) -> Result<()> {
    let gate_pool = worktree
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(crate::workspace::is_gate_worktree_name);
    // What a gate worktree holds is a merge checked out for gating and what the gates left.
    if gate_pool || git.is_clean(worktree)? {
        return Ok(());
    }
    if git
        .current_branch(worktree)?
        .is_some_and(|b| b.starts_with("vane/"))
    {
        git.commit_all_except(worktree, LEFTOVER_MESSAGE, keep_out)?;
    }
    Ok(())
}
