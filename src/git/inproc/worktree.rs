//! The work loop's per-task working-tree operations done in process with libgit2: starting a task
//! branch, committing what an agent left, checking a merge result out for the gates, and looking at
//! a person's checkout before base moves. On a small repository each git process these replace
//! costs more than the work (`cargo bench --bench work` shows the git commands per task).
//!
//! Only for repositories where libgit2 writes what git would ([`Plain::probe`]): small, no filter
//! drivers, no hooks these commands would run, no sparse checkout, no `working-tree-encoding`.
//! Everywhere else, and whenever libgit2 fails, the caller uses the git CLI, so this is a speed-up
//! and never a difference in behaviour; `tests` run both and compare.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use git2::{
    build::CheckoutBuilder, IndexAddOption, ObjectType, Oid, Repository, Status, StatusOptions,
};

use super::Attempt;

/// Repositories up to this many index entries have their working trees written in process. Like
/// merges (`IN_PROCESS_MERGE_MAX_FILES`), libgit2 wins by the process start it spares on small
/// trees and loses to git's tuned index code on big ones.
const IN_PROCESS_WORKTREE_MAX_FILES: usize = 1_000;

/// Files larger than this are committed and checked out by the git CLI instead: libgit2 holds a
/// file whole in memory to write its blob, and a blob whole to write its file, where git streams
/// big ones (`core.bigFileThreshold`) in a process of its own; a 1 GB file an agent leaves would
/// otherwise cost vane a gigabyte of memory at its commit and again at every checkout.
const IN_PROCESS_MAX_FILE_BYTES: u64 = 32 << 20;

/// Hooks that the git commands replaced here would run (`commit --no-verify` still runs
/// `prepare-commit-msg` and `post-commit`; `checkout` runs `post-checkout`). With any of them
/// installed the CLI does the work, so the hooks run as before.
const HOOKS_RUN_BY_REPLACED_COMMANDS: &[&str] = &[
    "post-checkout",
    "prepare-commit-msg",
    "post-commit",
    "post-index-change",
    "reference-transaction",
];

/// Whether a repository's working trees may be written in process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plain(pub bool);

impl Plain {
    /// Looks at the repository once: the index size, the configuration and the attribute files that
    /// could make git write a file differently from libgit2, and the hooks directory.
    pub(crate) fn probe(dir: &Path, common_dir: &Path) -> Plain {
        let Ok(repo) = Repository::open(dir) else {
            return Plain(false);
        };
        Plain(probe(&repo, common_dir, Some(IN_PROCESS_WORKTREE_MAX_FILES)).unwrap_or(false))
    }

    /// `probe` whatever the index's size: whether libgit2 writes files as git would here. Moves
    /// that touch only the paths a change touches (bringing a person's checkout along) cost what
    /// the change costs in process, where git's commands each read the whole index.
    pub(crate) fn probe_any_size(dir: &Path, common_dir: &Path) -> bool {
        Repository::open(dir)
            .and_then(|repo| probe(&repo, common_dir, None))
            .unwrap_or(false)
    }
}

fn probe(
    repo: &Repository,
    common_dir: &Path,
    max_files: Option<usize>,
) -> Result<bool, git2::Error> {
    if repo.is_bare() || max_files.is_some_and(|max| repo.index().map_or(0, |i| i.len()) > max) {
        return Ok(false);
    }
    let config = repo.config()?.snapshot()?;
    for key in ["core.sparseCheckout", "commit.gpgsign"] {
        if config.get_bool(key).unwrap_or(false) {
            return Ok(false);
        }
    }
    // A `filter=` attribute whose driver is not configured does nothing in git either; a
    // configured driver (Git LFS installs one globally) is an external program libgit2 never runs.
    let mut drivers = config.entries(Some(r"^filter\..*\.(clean|smudge|process)$"))?;
    if drivers.next().is_some() {
        return Ok(false);
    }
    let hooks = match config.get_path("core.hooksPath") {
        Ok(path) if path.is_absolute() => path,
        Ok(path) => repo.workdir().unwrap_or(common_dir).join(path),
        Err(_) => common_dir.join("hooks"),
    };
    // vane's own shims do nothing for vane's commands; a person's hook kept beside one does.
    let is_vane_shim_alone = |hook: &str| {
        std::fs::read_to_string(hooks.join(hook))
            .is_ok_and(|t| t.contains(super::super::SHIM_MARKER))
            && !hooks
                .join(format!("{hook}{}", super::super::KEPT_SUFFIX))
                .exists()
    };
    if HOOKS_RUN_BY_REPLACED_COMMANDS
        .iter()
        .any(|hook| hooks.join(hook).is_file() && !is_vane_shim_alone(hook))
    {
        return Ok(false);
    }
    // libgit2 knows no `working-tree-encoding`; look in every attributes file git would read.
    let mut attributes: Vec<Vec<u8>> = Vec::new();
    let index = repo.index()?;
    for entry in index.iter() {
        let path = String::from_utf8_lossy(&entry.path);
        if path == ".gitattributes" || path.ends_with("/.gitattributes") {
            attributes.push(repo.find_blob(entry.id)?.content().to_vec());
        }
    }
    let mut files = vec![common_dir.join("info").join("attributes")];
    match config.get_path("core.attributesFile") {
        Ok(path) => files.push(path),
        Err(_) => {
            if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
                files.push(PathBuf::from(dir).join("git").join("attributes"));
            } else if let Some(home) = std::env::var_os("HOME") {
                files.push(PathBuf::from(home).join(".config/git/attributes"));
            }
        }
    }
    attributes.extend(files.iter().filter_map(|file| std::fs::read(file).ok()));
    Ok(!attributes
        .iter()
        .any(|text| String::from_utf8_lossy(text).contains("working-tree-encoding")))
}

/// `git checkout --force -B <branch> <base>` then `git clean -fd`, in `worktree`.
pub(crate) fn start_task_branch(worktree: &Path, branch: &str, base: &str) -> Attempt<()> {
    let result = (|| -> Result<(), git2::Error> {
        let repo = super::open(worktree)?;
        let base = repo.find_commit(Oid::from_str(base)?)?;
        // Force-moving a branch that a worktree has checked out is git's refusal to make.
        repo.branch(branch, &base, true)?;
        force_checkout(&repo, base.as_object())?;
        repo.set_head(&format!("refs/heads/{branch}"))?;
        clean(&repo)
    })();
    done_or_unsupported(result)
}

/// `git checkout --force --detach <commit>` in `worktree`.
pub(crate) fn switch_detached(worktree: &Path, commit: &str) -> Attempt<()> {
    let result = (|| -> Result<(), git2::Error> {
        let repo = super::open(worktree)?;
        let commit = repo.find_commit(Oid::from_str(commit)?)?;
        force_checkout(&repo, commit.as_object())?;
        repo.set_head_detached(commit.id())
    })();
    done_or_unsupported(result)
}

/// `git clean -fd` in `worktree`.
pub(crate) fn clean_worktree(worktree: &Path) -> Attempt<()> {
    done_or_unsupported(super::open(worktree).and_then(|repo| clean(&repo)))
}

/// `git add --all` (then `git reset -- <keep_out>`), then `git commit --no-verify` when the
/// index differs from HEAD: the new commit, or None. `env` is the environment the CLI would run with (over the process's own), and
/// `configured` the `user.name` and `user.email` git resolved; a fixed commit date
/// (`GIT_*_DATE`) is left to the CLI, which parses git's date formats, and so is a change to a
/// file larger than `IN_PROCESS_MAX_FILE_BYTES`.
pub(crate) fn commit_all(
    worktree: &Path,
    message: &str,
    env: &[(OsString, OsString)],
    configured: &(String, String),
    keep_out: &[String],
) -> Attempt<Option<String>> {
    let lookup = |name: &str| -> Option<String> {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .or_else(|| std::env::var(name).ok())
    };
    if lookup("GIT_AUTHOR_DATE").is_some() || lookup("GIT_COMMITTER_DATE").is_some() {
        return Attempt::Unsupported;
    }
    let result = (|| -> Result<Option<String>, git2::Error> {
        let repo = super::open(worktree)?;
        let mut index = repo.index()?;
        index.read(false)?;
        let head = repo.head()?.peel_to_commit()?;
        let kept_out = |path: &Path| keep_out.iter().any(|k| path.starts_with(k));
        // Called for each changed or untracked path before it is read: a negative answer stops
        // `add_all` with an error, and the CLI commits instead.
        let mut skip = |path: &Path, _: &[u8]| {
            if kept_out(path) {
                1
            } else if too_big_to_commit_in_process(worktree, path) {
                tracing::debug!(target: "vane::git", path = %path.display(), "a big file: the git CLI commits it");
                -1
            } else {
                0
            }
        };
        index.add_all(["*"], IndexAddOption::DEFAULT, Some(&mut skip))?;
        index.update_all(["*"], Some(&mut skip))?;
        if !keep_out.is_empty() {
            // What an agent staged there itself goes out again, as `git reset -- <path>` does.
            let head_tree = head.tree()?;
            let staged: Vec<(PathBuf, Oid)> = index
                .iter()
                .map(|e| {
                    (
                        PathBuf::from(String::from_utf8_lossy(&e.path).into_owned()),
                        e.id,
                    )
                })
                .filter(|(path, _)| kept_out(path))
                .collect();
            for (path, id) in staged {
                match head_tree.get_path(&path) {
                    Ok(entry) if entry.id() == id => {}
                    // Restoring HEAD's entry is left to the CLI (the work loop refuses tracked
                    // paths in `include`, so this is rare).
                    Ok(_) => return Err(git2::Error::from_str("a kept-out path that HEAD tracks")),
                    Err(_) => index.remove_path(&path)?,
                }
            }
        }
        let tree = repo.find_tree(index.write_tree()?)?;
        index.write()?;
        if head.tree_id() == tree.id() {
            return Ok(None);
        }
        let signature = |kind: &str| {
            git2::Signature::now(
                &lookup(&format!("GIT_{kind}_NAME")).unwrap_or_else(|| configured.0.clone()),
                &lookup(&format!("GIT_{kind}_EMAIL")).unwrap_or_else(|| configured.1.clone()),
            )
        };
        let author = signature("AUTHOR")?;
        let committer = signature("COMMITTER")?;
        // `commit --file` without an editor cleans up whitespace only (`#` lines stay).
        let message = git2::message_prettify(message, None)?;
        let commit = repo.commit(Some("HEAD"), &author, &committer, &message, &tree, &[&head])?;
        Ok(Some(commit.to_string()))
    })();
    done_or_unsupported(result)
}

/// Whether the file at `path` (from the top of `worktree`) is too big for libgit2 to commit: a
/// regular file larger than `IN_PROCESS_MAX_FILE_BYTES`. A link is committed as the path it
/// names, whatever it points to.
fn too_big_to_commit_in_process(worktree: &Path, path: &Path) -> bool {
    std::fs::symlink_metadata(worktree.join(path))
        .is_ok_and(|meta| meta.is_file() && meta.len() > IN_PROCESS_MAX_FILE_BYTES)
}

/// Fails (so that the CLI does the checkout) when the file of a diff's side `file` is a blob too
/// big for libgit2 to write out: the object's header says its size without reading it.
fn refuse_big_blob(repo: &Repository, file: &git2::DiffFile<'_>) -> Result<(), git2::Error> {
    use git2::FileMode;
    if file.id().is_zero() || !matches!(file.mode(), FileMode::Blob | FileMode::BlobExecutable) {
        return Ok(());
    }
    let (size, _) = repo.odb()?.read_header(file.id())?;
    if size as u64 > IN_PROCESS_MAX_FILE_BYTES {
        tracing::debug!(target: "vane::git", path = ?file.path(), size, "a big file: the git CLI checks it out");
        return Err(git2::Error::from_str(
            "a file too big to check out in process",
        ));
    }
    Ok(())
}

/// Whether a person's checkout (at `old`) can follow its branch to `new`: no change to a tracked
/// file, staged or not, and no untracked file where `new` puts one. Refreshes the index's stat
/// data on the way, as `git update-index --refresh` does, so `git read-tree -m -u` then trusts it.
pub(crate) fn checkout_can_follow(workdir: &Path, old: &str, new: &str) -> Attempt<bool> {
    let result = (|| -> Result<bool, git2::Error> {
        let repo = super::open(workdir)?;
        let mut options = StatusOptions::new();
        options
            .include_untracked(false)
            .include_ignored(false)
            .exclude_submodules(true)
            .update_index(true);
        if repo
            .statuses(Some(&mut options))?
            .iter()
            .any(|entry| entry.status() != Status::CURRENT)
        {
            return Ok(false);
        }
        let old = repo.find_commit(Oid::from_str(old)?)?.tree()?;
        let new = repo.find_commit(Oid::from_str(new)?)?.tree()?;
        let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
        let root = repo
            .workdir()
            .ok_or_else(|| git2::Error::from_str("no working tree"))?;
        let index = repo.index()?;
        for delta in diff.deltas() {
            let Some(path) = delta.new_file().path() else {
                continue;
            };
            if delta.new_file().id().is_zero() {
                continue;
            }
            // An untracked file where `new` puts one, or where it needs one of its directories.
            for part in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
                if index.get_path(part, 0).is_some() {
                    continue;
                }
                if let Ok(meta) = root.join(part).symlink_metadata() {
                    if part == path || !meta.is_dir() {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    })();
    done_or_unsupported(result)
}

/// `git read-tree -m -u <old> <new>` in a person's checkout whose branch just moved from `old` to
/// `new`: the files and index entries that differ between the two are brought to `new`, every
/// other local change stays. Refuses (Unsupported, so that the CLI says why) when a local change
/// would be overwritten: a changed file among those, or an untracked file where `new` puts one.
pub(crate) fn advance_checkout(workdir: &Path, old: &str, new: &str) -> Attempt<()> {
    let result = (|| -> Result<(), git2::Error> {
        let repo = super::open(workdir)?;
        let old = repo.find_commit(Oid::from_str(old)?)?.tree()?;
        let new = repo.find_commit(Oid::from_str(new)?)?;
        let diff = repo.diff_tree_to_tree(Some(&old), Some(&new.tree()?), None)?;
        let mut index = repo.index()?;
        index.read(false)?;
        let mut paths = Vec::new();
        for delta in diff.deltas() {
            let (before, after) = (delta.old_file(), delta.new_file());
            let path = after
                .path()
                .or(before.path())
                .ok_or_else(|| git2::Error::from_str("a change without a path"))?;
            let unchanged = if before.id().is_zero() {
                // Nothing may stand where the file is to go.
                index.get_path(path, 0).is_none() && workdir.join(path).symlink_metadata().is_err()
            } else {
                // The index and the file still hold what `old` has there. Against HEAD, which
                // already names `new`, the index differs; only the working tree counts.
                let in_index = index.get_path(path, 0).map(|e| e.id);
                let wt_flags = Status::WT_MODIFIED
                    | Status::WT_DELETED
                    | Status::WT_TYPECHANGE
                    | Status::WT_RENAMED;
                in_index == Some(before.id()) && !repo.status_file(path)?.intersects(wt_flags)
            };
            if !unchanged {
                return Err(git2::Error::from_str("a local change would be overwritten"));
            }
            refuse_big_blob(&repo, &after)?;
            paths.push(path.to_path_buf());
        }
        if paths.is_empty() {
            return Ok(());
        }
        let mut checkout = CheckoutBuilder::new();
        checkout.force().disable_pathspec_match(true);
        for path in &paths {
            checkout.path(path.as_path());
        }
        repo.checkout_tree(new.as_object(), Some(&mut checkout))
    })();
    done_or_unsupported(result)
}

/// The working trees (main and linked) whose HEAD is `refs/heads/<branch>`, leaving out any whose
/// directory is gone, main first.
pub(crate) fn checkout_paths_of(common_dir: &Path, branch: &str) -> Attempt<Vec<PathBuf>> {
    let wanted = format!("refs/heads/{branch}");
    let result = (|| -> Result<Vec<PathBuf>, git2::Error> {
        let repo = super::open(common_dir)?;
        let mut paths = Vec::new();
        let head_names = |repo: &Repository| -> Result<bool, git2::Error> {
            Ok(repo.find_reference("HEAD")?.symbolic_target() == Some(wanted.as_str()))
        };
        if let Some(workdir) = repo.workdir() {
            if workdir.is_dir() && head_names(&repo)? {
                paths.push(super::super::cli::comparable_path(workdir));
            }
        }
        for name in repo.worktrees()?.iter().flatten() {
            let worktree = repo.find_worktree(name)?;
            if !worktree.path().is_dir() {
                continue;
            }
            let linked = Repository::open_from_worktree(&worktree)?;
            if head_names(&linked)? {
                paths.push(super::super::cli::comparable_path(worktree.path()));
            }
        }
        Ok(paths)
    })();
    done_or_unsupported(result)
}

/// Makes the index and the tracked files hold `target`, whatever they held (untracked files stay).
/// Fails, before it writes anything, when a file it would write is too big for libgit2.
fn force_checkout(repo: &Repository, target: &git2::Object<'_>) -> Result<(), git2::Error> {
    debug_assert_eq!(target.kind(), Some(ObjectType::Commit));
    // A git process may have written the index since this repository was opened.
    let mut index = repo.index()?;
    index.read(false)?;
    // What differs between the index and the target is what gets written (the worktrees this
    // runs in hold no changes: their agent's were committed).
    let tree = target.peel_to_tree()?;
    for delta in repo
        .diff_tree_to_index(Some(&tree), Some(&index), None)?
        .deltas()
    {
        refuse_big_blob(repo, &delta.old_file())?;
    }
    repo.checkout_tree(target, Some(CheckoutBuilder::new().force()))
}

/// `git clean -fd`: removes untracked files, and directories left empty by that, keeping ignored
/// files and nested repositories.
fn clean(repo: &Repository) -> Result<(), git2::Error> {
    let root = repo
        .workdir()
        .ok_or_else(|| git2::Error::from_str("no working tree"))?
        .to_path_buf();
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true);
    let mut directories = Vec::new();
    for entry in repo.statuses(Some(&mut options))?.iter() {
        if !entry.status().contains(Status::WT_NEW) {
            continue;
        }
        let Some(path) = entry.path() else {
            return Err(git2::Error::from_str("a path that is not UTF-8"));
        };
        // libgit2 does not walk into a nested repository; it lists it as a directory, which git
        // clean keeps without a second --force.
        if path.ends_with('/') {
            continue;
        }
        let full = root.join(path);
        std::fs::remove_file(&full).map_err(|e| git2::Error::from_str(&e.to_string()))?;
        directories.extend(Path::new(path).ancestors().skip(1).map(Path::to_path_buf));
    }
    directories.retain(|d| !d.as_os_str().is_empty());
    directories.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    directories.dedup();
    for dir in directories {
        // Only empty ones go: a directory that still holds ignored or tracked files stays.
        let _ = std::fs::remove_dir(root.join(dir));
    }
    Ok(())
}

fn done_or_unsupported<T>(result: Result<T, git2::Error>) -> Attempt<T> {
    match result {
        Ok(value) => Attempt::Done(value),
        Err(e) => {
            tracing::debug!(target: "vane::git", error = %e, "in-process git fell back to the CLI");
            super::forget_open();
            #[cfg(test)]
            tests::FALLBACKS.with(|n| n.set(n.get() + 1));
            Attempt::Unsupported
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::git::cli::testing::{commit, git, isolated_env, write, TestRepo};
    use crate::git::Git;

    thread_local! {
        /// How many in-process operations fell back to the CLI on this thread.
        pub(super) static FALLBACKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Runs the per-task operations the in-process code replaces, on a fresh repository, and
    /// writes down what git then sees: files, index, HEAD, commits.
    fn scenario(in_process: bool) -> Vec<String> {
        let repo = TestRepo::with_files(&[
            ("a.txt", "alpha\n"),
            ("b.txt", "beta\n"),
            (".gitignore", "*.log\n"),
        ]);
        // In-process commits take no fixed date; everything else about the identity stays.
        let env: Vec<(OsString, OsString)> = isolated_env()
            .into_iter()
            .filter(|(k, _)| !k.to_string_lossy().ends_with("_DATE"))
            .collect();
        let mut g = Git::open_with_env(&repo.dir, env).expect("open");
        g.set_in_process_worktrees(in_process);
        let mut seen = Vec::new();
        let look = |what: &str, dir: &Path| {
            let status = git(dir, &["status", "--porcelain", "--ignored", "-unormal"]);
            let files = git(dir, &["ls-files", "--stage"]);
            let head = git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"]);
            let tree = git(dir, &["rev-parse", "HEAD^{tree}"]);
            let last = git(dir, &["log", "-1", "--format=%an <%ae> | %cn <%ce> | %B"]);
            format!("{what}\nstatus:\n{status}\nindex:\n{files}\nhead: {head} {tree}\nlast: {last}")
        };
        let main = g.branch_tip("main").expect("tip").expect("main");
        let w = repo.path("w");
        g.ensure_worktree(&w, &main).expect("worktree");
        write(&w, "junk/x.txt", "untracked\n");
        write(&w, "junk/keep.log", "ignored in an untracked directory\n");
        write(&w, "build.log", "ignored\n");
        write(&w, "a.txt", "changed, to be discarded\n");
        git(&w, &["init", "-q", "nested"]);
        g.start_task_branch(&w, "vane/T1", &main).expect("start");
        seen.push(look("after start_task_branch", &w));
        let nested_kept = w.join("nested/.git").is_dir();
        // (An empty nested repository is one `git add --all` refuses.)
        std::fs::remove_dir_all(w.join("nested")).expect("rm nested");

        write(&w, "a.txt", "alpha, edited\n");
        std::fs::remove_file(w.join("b.txt")).expect("rm");
        write(&w, "dir/new.txt", "new\n");
        write(&w, "run.sh", "#!/bin/sh\n");
        std::fs::set_permissions(w.join("run.sh"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        // Files vane copied in (`include`) stay out, even one the agent staged itself.
        write(&w, ".env", "SECRET=1\n");
        write(&w, "secrets/key", "k\n");
        write(&w, "staged.env", "S=1\n");
        git(&w, &["add", "staged.env"]);
        let keep_out = [".env".to_string(), "secrets".into(), "staged.env".into()];
        let made = g
            .commit_all_except(&w, "# A title\n\nVane-Task: T1\n", &keep_out)
            .expect("commit");
        assert!(made.is_some());
        seen.push(look("after commit_all", &w));
        assert_eq!(
            g.commit_all_except(&w, "again", &keep_out).expect("commit"),
            None
        );
        let head = g.head(&w).expect("head");
        g.detach_head(&w, &head).expect("detach");

        write(&repo.dir, "c.txt", "gamma\n");
        let next = commit(&repo.dir, "Next on main");
        g.switch_detached(&w, &next).expect("switch");
        seen.push(look("after switch_detached", &w));
        write(&w, "left-by-a-gate.txt", "x\n");
        g.checkout_detached(&w, &head).expect("checkout");
        seen.push(look("after checkout_detached", &w));

        let mut follow = Vec::new();
        let task_tip = head.clone();
        let merged = {
            let out = g
                .merge_in_memory(&next, &task_tip, "Land T1")
                .expect("merge");
            match out {
                crate::git::MergeOutcome::Merged { commit, .. } => commit,
                other => panic!("merge: {other:?}"),
            }
        };
        follow.push(
            g.checkout_can_follow(&repo.dir, &next, &merged)
                .expect("can"),
        );
        write(&repo.dir, "a.txt", "a person's edit\n");
        follow.push(
            g.checkout_can_follow(&repo.dir, &next, &merged)
                .expect("can"),
        );
        git(&repo.dir, &["checkout", "--", "a.txt"]);
        write(&repo.dir, "dir/new.txt", "a person's untracked file\n");
        follow.push(
            g.checkout_can_follow(&repo.dir, &next, &merged)
                .expect("can"),
        );
        std::fs::remove_file(repo.dir.join("dir/new.txt")).expect("rm");
        write(&repo.dir, "unrelated.txt", "untracked elsewhere\n");
        follow.push(
            g.checkout_can_follow(&repo.dir, &next, &merged)
                .expect("can"),
        );
        seen.push(format!("can follow: {follow:?}"));
        // The move itself: base goes to the merge, the person's checkout follows it.
        g.update_ref("refs/heads/main", &merged, Some(&next), "land")
            .expect("move main");
        g.advance_refreshed_checkout(&repo.dir, &next, &merged)
            .expect("advance");
        seen.push(look("after advance", &repo.dir));
        seen.push(format!("nested kept: {nested_kept}"));
        seen.push(format!(
            "checkouts of main: {:?}, of vane/T1: {:?}",
            g.checkout_paths_of("main").expect("paths"),
            g.checkout_paths_of("vane/T1").expect("paths")
        ));
        seen
    }

    /// Both paths leave the same files, index, HEAD and commits behind, and the in-process one
    /// really is taken on a repository like this.
    #[test]
    fn in_process_and_cli_worktree_operations_agree() {
        FALLBACKS.with(|n| n.set(0));
        let fast = scenario(true);
        assert_eq!(FALLBACKS.with(|n| n.get()), 0, "every step ran in process");
        let cli = scenario(false);
        for (a, b) in fast.iter().zip(&cli) {
            // Temporary paths differ between the two runs; everything else must not.
            let strip = |s: &str| {
                s.lines()
                    .map(|l| if l.contains("checkouts of") { "" } else { l })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(strip(a), strip(b));
        }
        assert_eq!(fast.len(), cli.len());
        assert!(fast
            .iter()
            .any(|s| s == "can follow: [true, false, false, true]"));
        assert!(fast.iter().any(|s| s == "nested kept: true"));
        let advanced = fast
            .iter()
            .find(|s| s.starts_with("after advance"))
            .expect("advance");
        assert!(
            advanced.contains("status:\n?? unrelated.txt\nindex:"),
            "{advanced}"
        );
        assert!(
            advanced.contains("100755 ") && advanced.contains("\trun.sh"),
            "{advanced}"
        );
        assert!(
            advanced.contains("\tdir/new.txt") && !advanced.contains("\tb.txt"),
            "{advanced}"
        );
        let checkouts = fast
            .iter()
            .find(|s| s.contains("checkouts of"))
            .expect("listed");
        assert!(checkouts.ends_with("of vane/T1: []"), "{checkouts}");
        let committed = fast
            .iter()
            .find(|s| s.starts_with("after commit_all"))
            .expect("committed");
        assert!(
            committed.contains("?? .env\n?? secrets/\n?? staged.env\n"),
            "{committed}"
        );

        let repo = TestRepo::new();
        assert_eq!(Plain::probe(&repo.dir, repo.git.common_dir()), Plain(true));
        let main = repo.git.branch_tip("main").expect("tip").expect("main");
        assert!(matches!(
            start_task_branch(&repo.dir, "vane/T2", &main),
            Attempt::Done(())
        ));
    }

    /// A file bigger than libgit2 should hold in memory sends its commit, and every checkout that
    /// writes it, to the CLI, which streams it.
    #[test]
    fn a_big_file_is_committed_and_checked_out_by_the_cli() {
        let repo = TestRepo::new();
        let env: Vec<(OsString, OsString)> = isolated_env()
            .into_iter()
            .filter(|(k, _)| !k.to_string_lossy().ends_with("_DATE"))
            .collect();
        let identity = ("Test Author".to_string(), "author@example.com".to_string());
        write(&repo.dir, "small.txt", "small\n");
        // Sparse: takes no disk, reads as zeros.
        let big = std::fs::File::create(repo.dir.join("big.bin")).expect("create");
        big.set_len(IN_PROCESS_MAX_FILE_BYTES).expect("size");
        assert!(!too_big_to_commit_in_process(
            &repo.dir,
            Path::new("big.bin")
        ));
        big.set_len(IN_PROCESS_MAX_FILE_BYTES + 1).expect("size");
        assert!(too_big_to_commit_in_process(
            &repo.dir,
            Path::new("big.bin")
        ));
        assert!(!too_big_to_commit_in_process(
            &repo.dir,
            Path::new("small.txt")
        ));
        assert!(!too_big_to_commit_in_process(
            &repo.dir,
            Path::new("missing")
        ));
        std::os::unix::fs::symlink("big.bin", repo.dir.join("link")).expect("link");
        assert!(!too_big_to_commit_in_process(&repo.dir, Path::new("link")));

        assert!(matches!(
            commit_all(&repo.dir, "Big", &env, &identity, &[]),
            Attempt::Unsupported
        ));
        // Nothing was staged on the way.
        assert_eq!(git(&repo.dir, &["diff", "--cached", "--name-only"]), "");

        let mut g = Git::open_with_env(&repo.dir, env.clone()).expect("open");
        g.set_in_process_worktrees(true);
        let commit = g
            .commit_all(&repo.dir, "Big")
            .expect("commit")
            .expect("a commit");
        let size = git(&repo.dir, &["cat-file", "-s", &format!("{commit}:big.bin")]);
        assert_eq!(size.trim(), (IN_PROCESS_MAX_FILE_BYTES + 1).to_string());
        assert_eq!(
            git(
                &repo.dir,
                &["diff-tree", "--name-only", "-r", "--no-commit-id", &commit]
            ),
            "big.bin\nlink\nsmall.txt"
        );

        // A small change is committed in process again.
        write(&repo.dir, "small.txt", "changed\n");
        assert!(matches!(
            commit_all(&repo.dir, "Small", &env, &identity, &[]),
            Attempt::Done(Some(_))
        ));

        // Checking out a commit that brings the big file: the CLI's work too.
        let first = git(&repo.dir, &["rev-list", "--max-parents=0", "HEAD"]);
        let other = repo.dir.parent().expect("parent").join("other");
        git(
            &repo.dir,
            &[
                "worktree",
                "add",
                "--quiet",
                "--detach",
                other.to_str().expect("utf-8"),
                &first,
            ],
        );
        assert!(matches!(
            advance_checkout(&other, &first, &commit),
            Attempt::Unsupported
        ));
        assert!(matches!(
            switch_detached(&other, &commit),
            Attempt::Unsupported
        ));
        assert!(matches!(
            start_task_branch(&other, "vane/big", &commit),
            Attempt::Unsupported
        ));
        assert!(!other.join("big.bin").exists(), "nothing was written");
        g.checkout_detached(&other, &commit).expect("checkout");
        assert_eq!(
            std::fs::metadata(other.join("big.bin")).expect("big").len(),
            IN_PROCESS_MAX_FILE_BYTES + 1
        );
        // From there, a checkout that leaves the big file as it is runs in process.
        let next = git(&repo.dir, &["rev-parse", "HEAD"]);
        assert!(matches!(switch_detached(&other, &next), Attempt::Done(())));
        assert_eq!(
            std::fs::read_to_string(other.join("small.txt")).expect("small"),
            "changed\n"
        );
    }

    #[test]
    fn filters_hooks_and_sparse_checkouts_keep_the_cli() {
        for setup in [
            &["config", "filter.lfs.smudge", "git-lfs smudge -- %f"][..],
            &["config", "core.sparseCheckout", "true"][..],
            &["config", "commit.gpgsign", "true"][..],
        ] {
            let repo = TestRepo::new();
            git(&repo.dir, setup);
            assert_eq!(
                Plain::probe(&repo.dir, repo.git.common_dir()),
                Plain(false),
                "{setup:?}"
            );
        }
        let repo = TestRepo::new();
        write(&repo.dir, ".git/hooks/post-checkout", "#!/bin/sh\n");
        assert_eq!(Plain::probe(&repo.dir, repo.git.common_dir()), Plain(false));
        let repo = TestRepo::new();
        write(
            &repo.dir,
            "sub/.gitattributes",
            "*.txt working-tree-encoding=UTF-16\n",
        );
        commit(&repo.dir, "Encoding");
        assert_eq!(Plain::probe(&repo.dir, repo.git.common_dir()), Plain(false));
    }
}
