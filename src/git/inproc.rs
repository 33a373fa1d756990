//! The few git operations done in process with libgit2, where a benchmark shows that starting a
//! git process costs more than the work: reading and moving refs. Nothing here writes a working
//! tree (libgit2 runs no filters or hooks). Every caller falls back to the git CLI when libgit2
//! cannot do it (a repository format it does not know, say), so this is a speed-up and never a
//! difference in behaviour.

use std::path::Path;

use git2::{ErrorCode, Oid, Repository};

/// What an in-process attempt came to.
pub(crate) enum Attempt<T> {
    Done(T),
    /// A compare-and-swap whose expected value did not hold; nothing changed.
    Moved,
    /// libgit2 could not do it; use the CLI.
    Unsupported,
}

/// The object `rev` names, as a full id; None when it names nothing.
pub(crate) fn rev_parse(dir: &Path, rev: &str) -> Attempt<Option<String>> {
    // Options and ranges are the CLI's business (`--all` must not parse as a name here either).
    if rev.starts_with('-') || rev.contains("..") {
        return Attempt::Unsupported;
    }
    let Ok(repo) = Repository::open(dir) else {
        return Attempt::Unsupported;
    };
    let found = match repo.revparse_single(rev) {
        Ok(object) => Attempt::Done(Some(object.id().to_string())),
        Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {
            Attempt::Done(None)
        }
        Err(_) => Attempt::Unsupported,
    };
    found
}

/// Moves `refname` to `new` if it is at `expected_old` (must not exist when None), atomically.
pub(crate) fn update_ref(
    dir: &Path,
    refname: &str,
    new: &str,
    expected_old: Option<&str>,
    reason: &str,
) -> Attempt<()> {
    let (Ok(repo), Ok(new)) = (Repository::open(dir), Oid::from_str(new)) else {
        return Attempt::Unsupported;
    };
    if new.to_string().len() != 40 {
        return Attempt::Unsupported;
    }
    let result = match expected_old {
        Some(old) => match Oid::from_str(old) {
            Ok(old) => repo.reference_matching(refname, new, true, old, reason),
            Err(_) => return Attempt::Unsupported,
        },
        None => repo.reference(refname, new, false, reason),
    };
    match result {
        Ok(_) => Attempt::Done(()),
        Err(e)
            if matches!(
                e.code(),
                ErrorCode::Modified | ErrorCode::Exists | ErrorCode::NotFound
            ) =>
        {
            Attempt::Moved
        }
        Err(_) => Attempt::Unsupported,
    }
}

/// Points a worktree's HEAD at `commit`, detached, touching neither its index nor its files.
pub(crate) fn detach_head(worktree: &Path, commit: &str) -> Attempt<()> {
    let (Ok(repo), Ok(oid)) = (Repository::open(worktree), Oid::from_str(commit)) else {
        return Attempt::Unsupported;
    };
    match repo.set_head_detached(oid) {
        Ok(()) => Attempt::Done(()),
        Err(_) => Attempt::Unsupported,
    }
}
