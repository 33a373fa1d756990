//! The git operations done in process with libgit2, where a benchmark shows that starting a git
//! process costs more than the work: reading and moving refs, merging small trees, and (in
//! `worktree`, only for repositories where libgit2 writes files as git would) the per-task
//! working-tree operations. Every caller falls back to the git CLI when libgit2 cannot do it (a
//! repository format it does not know, say), so this is a speed-up and never a difference in
//! behaviour.

pub(crate) mod worktree;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use git2::{ErrorCode, Oid, Repository};

/// How many repositories (a working tree each) one thread keeps open: the coordinator uses the
/// person's checkout and every worker's worktree, a worker its own.
const OPEN_PER_THREAD: usize = 8;

thread_local! {
    /// Repositories opened on this thread, newest last. Opening one reads its configuration
    /// files, and an open one keeps its object cache (the commits a merge-base walk parses): both
    /// cost more than the work on a small repository. What libgit2 caches it checks against the
    /// files (the index, packed refs, configuration), so a git process writing meanwhile is seen.
    static OPEN: RefCell<Vec<(PathBuf, Rc<Repository>)>> = const { RefCell::new(Vec::new()) };
}

/// The repository whose working tree (or git directory) is `dir`, opened once per thread.
pub(crate) fn open(dir: &Path) -> Result<Rc<Repository>, git2::Error> {
    static SETTINGS: std::sync::Once = std::sync::Once::new();
    SETTINGS.call_once(|| {
        // vane only writes trees of objects it just read or wrote; checking that each one
        // exists re-reads them all.
        git2::opts::strict_object_creation(false);
    });
    if let Some(repo) = OPEN.with(|open| {
        let open = open.borrow();
        open.iter()
            .find(|(d, _)| d == dir)
            .map(|(_, r)| Rc::clone(r))
    }) {
        return Ok(repo);
    }
    let repo = Rc::new(Repository::open(dir)?);
    OPEN.with(|open| {
        let mut open = open.borrow_mut();
        if open.len() >= OPEN_PER_THREAD {
            open.remove(0);
        }
        open.push((dir.to_path_buf(), Rc::clone(&repo)));
    });
    Ok(repo)
}

/// Closes this thread's repositories, after a failure (a worktree removed and made again, say):
/// the next use opens them afresh.
pub(crate) fn forget_open() {
    OPEN.with(|open| open.borrow_mut().clear());
}

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
    let Ok(repo) = open(dir) else {
        return Attempt::Unsupported;
    };
    let found = match repo.revparse_single(rev) {
        Ok(object) => Attempt::Done(Some(object.id().to_string())),
        Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {
            Attempt::Done(None)
        }
        Err(_) => {
            forget_open();
            Attempt::Unsupported
        }
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
    let (Ok(repo), Ok(new)) = (open(dir), Oid::from_str(new)) else {
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
        Err(_) => {
            forget_open();
            Attempt::Unsupported
        }
    }
}

/// Points a worktree's HEAD at `commit`, detached, touching neither its index nor its files.
pub(crate) fn detach_head(worktree: &Path, commit: &str) -> Attempt<()> {
    let (Ok(repo), Ok(oid)) = (open(worktree), Oid::from_str(commit)) else {
        return Attempt::Unsupported;
    };
    match repo.set_head_detached(oid) {
        Ok(()) => Attempt::Done(()),
        Err(_) => {
            forget_open();
            Attempt::Unsupported
        }
    }
}

/// Repositories up to this many index entries merge faster in process: `cargo bench --bench
/// git_merge` measured libgit2 at 0.1 ms against 3.0 ms for `git merge-tree` on 10 files, about
/// even at 2,000, and 75.9 ms against 3.0 ms on 20,000.
const IN_PROCESS_MERGE_MAX_FILES: usize = 1_000;

/// `Git::merge_in_memory` with libgit2, for small repositories whose merge libgit2 does as git
/// would: no commit signing and no custom merge drivers (`merge=` in `.gitattributes`).
pub(crate) fn merge(
    dir: &Path,
    ours: &str,
    theirs: &str,
    message: &str,
) -> Attempt<super::MergeOutcome> {
    let Ok(repo) = open(dir) else {
        return Attempt::Unsupported;
    };
    let result = (|| -> Result<Option<super::MergeOutcome>, git2::Error> {
        if repo.config()?.get_bool("commit.gpgsign").unwrap_or(false) {
            return Ok(None);
        }
        let mut index = repo.index()?;
        index.read(false)?;
        if index.len() > IN_PROCESS_MERGE_MAX_FILES {
            return Ok(None);
        }
        let ours = repo.find_commit(Oid::from_str(ours)?)?;
        let theirs = repo.find_commit(Oid::from_str(theirs)?)?;
        for commit in [&ours, &theirs] {
            if let Ok(entry) = commit.tree()?.get_path(Path::new(".gitattributes")) {
                let blob = repo.find_blob(entry.id())?;
                if String::from_utf8_lossy(blob.content()).contains("merge=") {
                    return Ok(None);
                }
            }
        }
        let mut index = repo.merge_commits(&ours, &theirs, None)?;
        if index.has_conflicts() {
            let mut paths: Vec<String> = index
                .conflicts()?
                .filter_map(Result::ok)
                .filter_map(|c| c.our.or(c.their).or(c.ancestor))
                .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
                .collect();
            paths.sort();
            paths.dedup();
            return Ok(Some(super::MergeOutcome::Conflict { paths }));
        }
        let tree = repo.find_tree(index.write_tree_to(&repo)?)?;
        let signature = signature(&repo)?;
        let commit = repo.commit(
            None,
            &signature,
            &signature,
            message,
            &tree,
            &[&ours, &theirs],
        )?;
        Ok(Some(super::MergeOutcome::Merged {
            commit: commit.to_string(),
            tree: tree.id().to_string(),
        }))
    })();
    match result {
        Ok(Some(outcome)) => Attempt::Done(outcome),
        Ok(None) => Attempt::Unsupported,
        Err(_) => {
            forget_open();
            Attempt::Unsupported
        }
    }
}

/// The committer git would use: `GIT_COMMITTER_NAME`/`EMAIL` when set, else the configuration,
/// else vane's fallback identity (as the CLI runner passes it).
fn signature(repo: &Repository) -> Result<git2::Signature<'static>, git2::Error> {
    let configured = repo.signature().ok();
    let name = std::env::var("GIT_COMMITTER_NAME")
        .ok()
        .or_else(|| {
            configured
                .as_ref()
                .and_then(|s| s.name().map(str::to_string))
        })
        .unwrap_or_else(|| "vane".to_string());
    let email = std::env::var("GIT_COMMITTER_EMAIL")
        .ok()
        .or_else(|| {
            configured
                .as_ref()
                .and_then(|s| s.email().map(str::to_string))
        })
        .unwrap_or_else(|| "vane@localhost".to_string());
    git2::Signature::now(&name, &email)
}

/// One path that differs between two commits' trees: its name, and the mode and id it has in the
/// second (None where it is gone there).
pub(crate) struct TreeChange {
    pub path: String,
    pub new: Option<(i32, Oid)>,
}

/// The paths that differ between the trees of `from` and `to`, with what `to` has there. On a
/// small change libgit2 compares the trees in microseconds, where a `git diff` costs a process.
pub(crate) fn tree_changes(dir: &Path, from: &str, to: &str) -> Attempt<Vec<TreeChange>> {
    let (Ok(repo), Ok(from), Ok(to)) = (open(dir), Oid::from_str(from), Oid::from_str(to)) else {
        return Attempt::Unsupported;
    };
    let result = (|| -> Result<Vec<TreeChange>, git2::Error> {
        let old = repo.find_commit(from)?.tree()?;
        let new = repo.find_commit(to)?.tree()?;
        let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
        let mut changes = Vec::new();
        for delta in diff.deltas() {
            // Without rename detection each delta has one path, the same on both sides.
            let Some(path) = delta.new_file().path().or_else(|| delta.old_file().path()) else {
                continue;
            };
            let file = delta.new_file();
            changes.push(TreeChange {
                path: path.to_string_lossy().into_owned(),
                new: (!file.id().is_zero()).then(|| (i32::from(file.mode()), file.id())),
            });
        }
        Ok(changes)
    })();
    // Bound first: the diff borrows `repo`, which must outlive it.
    #[allow(clippy::let_and_return)]
    let attempt = match result {
        Ok(changes) => Attempt::Done(changes),
        Err(_) => {
            forget_open();
            Attempt::Unsupported
        }
    };
    attempt
}

/// Whether `dir`'s repository has the commit `id`.
pub(crate) fn has_commit(dir: &Path, id: Oid) -> Attempt<bool> {
    let Ok(repo) = open(dir) else {
        return Attempt::Unsupported;
    };
    let found = repo.find_commit(id).is_ok();
    Attempt::Done(found)
}
