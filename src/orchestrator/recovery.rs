//! What `vane work` does first: finish or undo what a run that died left half-done, so that a batch
//! resumes where it stood without a manual step (promise 7).

use std::path::Path;

use super::Result;
use crate::git::Git;
use crate::store::{checkpoint_ref, Store};

#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// Attempts whose agent never finished; their tasks are pending again.
    pub abandoned: usize,
    /// Landings whose base ref had moved but whose database record had not: completed now.
    pub landings_completed: usize,
}

pub fn recover(
    store: &mut Store,
    git: &Git,
    base: &str,
    worktree_root: &Path,
    keep_out: &[String],
) -> Result<Recovered> {
    let mut recovered = Recovered::default();
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
        // hold the old files (it was to be brought along right after the move).
        if intent.refname == base_ref {
            for (checkout, clean) in git.checkouts_of(base)? {
                if !clean {
                    git.advance_stale_checkout(&checkout, &intent.old_sha, &intent.new_sha)?;
                }
            }
        }
        match intent.purpose.as_str() {
            "land" => {
                let checkpoint = store.record_landing(&intent, "recovery")?;
                git.update_ref(
                    &checkpoint.refname,
                    &intent.new_sha,
                    None,
                    "vane: checkpoint",
                )?;
                recovered.landings_completed += 1;
            }
            _ => {
                let id = intent.checkpoint.unwrap_or_default();
                if let Some(checkpoint) = store.checkpoint(id)? {
                    store.restore_snapshot(&checkpoint, "recovery")?;
                }
                store.finish_rollback(&intent, id, "recovery")?;
            }
        }
    }
    recovered.abandoned = store.abandon_open_attempts()?.abandoned.len();
    // Work an agent left in a worktree is committed to its task branch before anything resets it.
    if let Ok(entries) = std::fs::read_dir(worktree_root) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.join(".git").exists() {
                save_leftovers(git, &path, keep_out)?;
            }
        }
    }
    // A checkpoint recorded just before a crash may lack its ref.
    for checkpoint in store.checkpoints()? {
        if git.rev_parse(&checkpoint.refname)?.is_none() {
            git.update_ref(
                &checkpoint_ref(checkpoint.id),
                &checkpoint.sha,
                None,
                "vane: checkpoint",
            )?;
        }
    }
    Ok(recovered)
}

/// The message of the commit that saves what a worktree held on its task branch.
pub(super) const LEFTOVER_MESSAGE: &str =
    "Work left in the worktree by an earlier attempt\n\nVane-Leftover: yes";

/// Before a worktree is reset for another task, whatever it holds on a task branch is committed
/// there (promise 2). A worktree left detached holds a merge result that was gated: nothing to keep.
/// Files copied in by `include` (`keep_out`) are not work, and never committed.
fn save_leftovers(git: &Git, worktree: &Path, keep_out: &[String]) -> Result<()> {
    if git.is_clean(worktree)? {
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
