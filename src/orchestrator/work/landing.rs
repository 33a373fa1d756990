//! Landing: base moves to a tree that passed its gates on exactly the tree base is at. One way for
//! every landing (the merge queue, `vane land`, `vane approve`) and for finishing one after a crash:
//! the intent is written down first, base moves by compare-and-swap, the landing is recorded with
//! its checkpoint, and the checkpoint's ref is pinned. The person's checkouts of base are brought
//! along after, each move written down before a file is touched.

use std::path::Path;

use crate::git::{Git, GitError};
use crate::model::{CheckpointKind, RefMovePurpose};
use crate::orchestrator::{failpoint, Result};
use crate::store::{Checkpoint, LandedMember, Store};

/// A landing to make.
pub(crate) struct LandMove<'a> {
    /// The base branch.
    pub(crate) base: &'a str,
    /// The tip base is at, on which the tree to land was gated.
    pub(crate) from: &'a str,
    /// The candidates, in order; the last one's commit is the tree that passed.
    pub(crate) members: &'a [LandedMember],
    /// For the reflog.
    pub(crate) reason: &'a str,
    /// The batch (or command) the landing belongs to.
    pub(crate) correlation: &'a str,
}

/// How a landing went.
pub(crate) enum Landed {
    /// Base moved; the landing is recorded with this checkpoint.
    Done(Checkpoint),
    /// Base was not at `from` any more (a person's commit): nothing moved, nothing was recorded.
    BaseMoved,
}

/// Lands `request`: the intent, the compare-and-swap, the record, the checkpoint's ref.
pub(crate) fn land(store: &mut Store, git: &Git, request: &LandMove<'_>) -> Result<Landed> {
    let Some(last) = request.members.last() else {
        return Ok(Landed::BaseMoved);
    };
    let base_ref = format!("refs/heads/{}", request.base);
    let intent = store.record_move_intent(
        &base_ref,
        request.from,
        last.sha.as_str(),
        RefMovePurpose::Land,
        request.members,
        None,
    )?;
    failpoint::hit("after_ref_intent");
    match git.update_ref(
        &base_ref,
        last.sha.as_str(),
        Some(request.from),
        request.reason,
    ) {
        Ok(()) => {}
        Err(GitError::RefMoved { .. }) => {
            store.abandon_ref_move(intent.id)?;
            return Ok(Landed::BaseMoved);
        }
        // Whether the ref moved is not known: the intent stays open, and recovery looks.
        Err(e) => return Err(e.into()),
    }
    failpoint::hit("after_ref_move");
    Ok(Landed::Done(finish_landing(
        store,
        git,
        &intent,
        request.correlation,
    )?))
}

/// Records a landing whose ref moved, and pins its checkpoint: right after the move, or in
/// recovery when a crash came between the two.
pub(crate) fn finish_landing(
    store: &mut Store,
    git: &Git,
    intent: &crate::store::RefMove,
    correlation: &str,
) -> Result<Checkpoint> {
    let checkpoint = store.record_landing(intent, correlation)?;
    failpoint::hit("after_landing");
    pin(git, &checkpoint)?;
    failpoint::hit("after_checkpoint_ref");
    Ok(checkpoint)
}

/// Records a checkpoint of the task states at `sha` and pins it with its ref, so that `git gc`
/// keeps the commit for as long as the checkpoint exists.
pub(crate) fn checkpoint(
    store: &mut Store,
    git: &Git,
    kind: CheckpointKind,
    sha: &str,
    correlation: &str,
    notes: Option<&str>,
) -> Result<Checkpoint> {
    let checkpoint = store.add_checkpoint(kind, None, sha, correlation, notes)?;
    pin(git, &checkpoint)?;
    Ok(checkpoint)
}

/// Points a checkpoint's ref at its commit.
pub(crate) fn pin(git: &Git, checkpoint: &Checkpoint) -> Result<()> {
    git.update_ref(
        &checkpoint.refname,
        checkpoint.sha.as_str(),
        None,
        "vane: checkpoint",
    )?;
    Ok(())
}

/// How bringing a checkout along went.
pub(crate) enum CheckoutFollowed {
    Done,
    /// A change of the person's is in the way: left as it was, intent closed.
    InTheWay(GitError),
    /// A failure underneath (a full disk): the intent stays open for the next run.
    Failed(GitError),
}

/// Brings a person's checkout of base from `old` to `new`, under the open checkout move
/// `intent` (or one written now), closing it when done or when the person's change is in the way.
pub(crate) fn bring_checkout_along(
    store: &mut Store,
    git: &Git,
    checkout: &Path,
    old: &str,
    new: &str,
    intent: Option<i64>,
) -> Result<CheckoutFollowed> {
    let id = match intent {
        Some(id) => {
            store.retarget_checkout_move(id, new)?;
            id
        }
        None => store.record_checkout_move(checkout, old, new)?.id,
    };
    match git.bring_checkout_along(checkout, old, new) {
        Ok(()) => {
            store.finish_checkout_move(id, true)?;
            Ok(CheckoutFollowed::Done)
        }
        Err(e @ GitError::CheckoutInTheWay { .. }) => {
            store.finish_checkout_move(id, false)?;
            Ok(CheckoutFollowed::InTheWay(e))
        }
        Err(e) => Ok(CheckoutFollowed::Failed(e)),
    }
}
