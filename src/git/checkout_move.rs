//! Bringing a person's checkout from one commit to another, so that a kill, a full disk or a file in
//! the way never leaves it half moved with no way back (promise 1).
//!
//! `git read-tree -m -u` writes each file in place: a disk that fills mid-file leaves it truncated,
//! and a kill between the files and the index leaves files of the new commit beside an index of the
//! old one. Here everything in the way is found before any file changes; each file is then written
//! to a temporary name beside it and renamed over it, whole or not at all; the index follows last.
//! Every step is idempotent: a path that already holds what the new commit has is skipped, so a
//! move cut short anywhere is finished by running it again (crash recovery does).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use git2::{FileMode, ObjectType, Oid, Repository};

use super::cli::Git;
use super::GitError;

/// What a path holds: a blob and whether it is executable or a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    blob: Oid,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Executable,
    Link,
}

/// One change to make to a file of the checkout.
enum Step {
    Remove(PathBuf),
    Write(PathBuf, Entry),
}

impl Git {
    /// Moves the checkout at `workdir`, whose branch went from `old` to `new`, to `new`: its files
    /// and its index. Fails with `CheckoutInTheWay`, changing nothing, when a path the move touches
    /// holds something that is neither `old`'s nor `new`'s (a local change, an untracked file in
    /// the way). A checkout left part way by an earlier call is finished.
    ///
    /// Repositories whose files git writes through filters (see `in_process_worktrees`) take
    /// `git read-tree -m -u`, which git writes in place.
    pub fn bring_checkout_along(
        &self,
        workdir: &Path,
        old: &str,
        new: &str,
    ) -> Result<(), GitError> {
        self.worktree_git_dir(workdir)?;
        let old = self.resolve_commit(old)?;
        let new = self.resolve_commit(new)?;
        if !self.in_process_checkout_moves() {
            return self.advance_checkout(workdir, &old, &new);
        }
        let repo = Repository::open(workdir)?;
        let Some(plan) = plan(&repo, workdir, &old, &new)? else {
            return self.advance_checkout(workdir, &old, &new);
        };
        for step in &plan.steps {
            apply(&repo, workdir, step)?;
        }
        // The index last, every changed path (also those a move cut short had already written),
        // with the stat data of the files just written; libgit2 writes it whole (a lock file,
        // then a rename).
        let mut index = repo.index()?;
        for (path, present) in &plan.paths {
            if *present {
                index.add_path(path)?;
            } else if index.get_path(path, 0).is_some() {
                index.remove_path(path)?;
            }
        }
        index.write()?;
        Ok(())
    }
}

impl Git {
    /// What stands in the way of moving the checkout at `workdir` from `old` to `new`, found before
    /// any ref or file moves: the paths that hold something neither commit has (untracked files
    /// included). Empty when the move can go ahead.
    pub fn checkout_blockers(
        &self,
        workdir: &Path,
        old: &str,
        new: &str,
    ) -> Result<Vec<String>, GitError> {
        self.worktree_git_dir(workdir)?;
        let old = self.resolve_commit(old)?;
        let new = self.resolve_commit(new)?;
        if self.in_process_checkout_moves() {
            let repo = Repository::open(workdir)?;
            match plan(&repo, workdir, &old, &new) {
                Ok(Some(_)) => return Ok(Vec::new()),
                Err(GitError::CheckoutInTheWay { paths, .. }) => return Ok(paths),
                Err(e) => return Err(e),
                Ok(None) => {}
            }
        }
        Ok(if self.checkout_can_follow(workdir, &old, &new)? {
            Vec::new()
        } else {
            vec!["(local changes or untracked files that `git read-tree -m -u` refuses to overwrite)".to_string()]
        })
    }
}

/// What a move changes: the steps on the files, removals first (a file may give way to a
/// directory), and every path the two commits differ in, with whether `new` has it.
struct Plan {
    steps: Vec<Step>,
    paths: Vec<(PathBuf, bool)>,
}

/// The plan that moves the files from `old` to `new`; None when the move touches a submodule,
/// which the CLI handles.
fn plan(repo: &Repository, workdir: &Path, old: &str, new: &str) -> Result<Option<Plan>, GitError> {
    let old_tree = repo.find_commit(Oid::from_str(old)?)?.tree()?;
    let new_tree = repo.find_commit(Oid::from_str(new)?)?.tree()?;
    let diff = repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), None)?;
    let mut removals = Vec::new();
    let mut writes = Vec::new();
    let mut paths = Vec::new();
    let mut in_the_way = Vec::new();
    for delta in diff.deltas() {
        let (Some(before), Some(after)) =
            (entry_of(&delta.old_file()), entry_of(&delta.new_file()))
        else {
            return Ok(None);
        };
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .map(Path::to_path_buf)
            .ok_or_else(|| git2::Error::from_str("a change without a path"))?;
        paths.push((path.clone(), after.is_some()));
        // A temporary file of a move that was killed before its rename.
        let _ = fs::remove_file(temporary_name(&workdir.join(&path)));
        let now = state_of(&workdir.join(&path));
        if now == Ok(after) {
            continue;
        }
        if now != Ok(before) {
            in_the_way.push(path.display().to_string());
            continue;
        }
        match after {
            None => removals.push(Step::Remove(path)),
            Some(entry) => writes.push(Step::Write(path, entry)),
        }
    }
    if !in_the_way.is_empty() {
        in_the_way.sort();
        return Err(GitError::CheckoutInTheWay {
            workdir: workdir.to_path_buf(),
            paths: in_the_way,
        });
    }
    removals.extend(writes);
    Ok(Some(Plan {
        steps: removals,
        paths,
    }))
}

/// What a side of a change holds: None inside for a path absent there; None outside for a
/// submodule, which this module leaves to git.
fn entry_of(file: &git2::DiffFile<'_>) -> Option<Option<Entry>> {
    if file.id().is_zero() {
        return Some(None);
    }
    let kind = match file.mode() {
        FileMode::Blob | FileMode::BlobGroupWritable => Kind::File,
        FileMode::BlobExecutable => Kind::Executable,
        FileMode::Link => Kind::Link,
        FileMode::Unreadable => Kind::File,
        FileMode::Tree | FileMode::Commit => return None,
    };
    Some(Some(Entry {
        blob: file.id(),
        kind,
    }))
}

/// What the path holds on disk now: Ok(None) when nothing is there, Err(()) for what no commit
/// could hold (a directory where a file goes, an unreadable file).
fn state_of(path: &Path) -> Result<Option<Entry>, ()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(()),
    };
    if meta.file_type().is_symlink() {
        use std::os::unix::ffi::OsStrExt;
        let target = fs::read_link(path).map_err(|_| ())?;
        let blob =
            Oid::hash_object(ObjectType::Blob, target.as_os_str().as_bytes()).map_err(|_| ())?;
        return Ok(Some(Entry {
            blob,
            kind: Kind::Link,
        }));
    }
    if !meta.is_file() {
        return Err(());
    }
    let blob = Oid::hash_file(ObjectType::Blob, path).map_err(|_| ())?;
    let kind = if meta.permissions().mode() & 0o111 != 0 {
        Kind::Executable
    } else {
        Kind::File
    };
    Ok(Some(Entry { blob, kind }))
}

fn apply(repo: &Repository, workdir: &Path, step: &Step) -> Result<(), GitError> {
    match step {
        Step::Remove(path) => {
            let full = workdir.join(path);
            match fs::remove_file(&full) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&full, e)),
            }
            // Directories the removal emptied go too, as git's would.
            let mut dir = full.parent();
            while let Some(d) = dir.filter(|d| *d != workdir && d.starts_with(workdir)) {
                if fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
            Ok(())
        }
        Step::Write(path, entry) => {
            let full = workdir.join(path);
            let parent = full.parent().unwrap_or(workdir);
            fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
            let tmp = temporary_name(&full);
            let (size, _) = repo.odb()?.read_header(entry.blob)?;
            let written = if size > STREAMED_BLOB_BYTES && entry.kind != Kind::Link {
                // Streamed by git, never held in vane's memory whole (a 1 GB file an agent left).
                stream_blob(repo, entry, &tmp)
            } else {
                let blob = repo.find_blob(entry.blob)?;
                write_whole(&tmp, blob.content(), entry.kind)
            };
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                return Err(io_error(&full, e));
            }
            fs::rename(&tmp, &full).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                io_error(&full, e)
            })
        }
    }
}

/// Blobs larger than this are written by `git cat-file`, streamed, rather than read into memory.
const STREAMED_BLOB_BYTES: usize = 32 << 20;

/// Writes a big blob to `tmp` through `git cat-file blob`, which streams it, with its mode.
fn stream_blob(repo: &Repository, entry: &Entry, tmp: &Path) -> std::io::Result<()> {
    let _ = fs::remove_file(tmp);
    let file = fs::File::create(tmp)?;
    let status = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo.path())
        .args(["cat-file", "blob", &entry.blob.to_string()])
        .env("VANE_INTERNAL_GIT", "1")
        .stdin(std::process::Stdio::null())
        .stdout(file)
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "`git cat-file blob {}` failed ({status})",
            entry.blob
        )));
    }
    let mode = if entry.kind == Kind::Executable {
        0o755
    } else {
        0o644
    };
    fs::set_permissions(tmp, fs::Permissions::from_mode(mode))
}

/// Where the new content of `path` is written before it is renamed over it. One name per path:
/// only one vane moves a checkout at a time (it holds the work lock), and a name left by a killed
/// run is found and removed by the next.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.vane-tmp"))
}

/// Writes a file (or a symlink) under a temporary name, ready to be renamed.
fn write_whole(tmp: &Path, content: &[u8], kind: Kind) -> std::io::Result<()> {
    let _ = fs::remove_file(tmp);
    if kind == Kind::Link {
        use std::os::unix::ffi::OsStrExt;
        return std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(content), tmp);
    }
    // Not flushed to disk, as git does not flush the files it checks out: the rename makes it
    // whole or absent for every process, which is what a kill or a full disk can reach.
    let mut file = fs::File::create(tmp)?;
    file.write_all(content)?;
    let mode = if kind == Kind::Executable {
        0o755
    } else {
        0o644
    };
    fs::set_permissions(tmp, fs::Permissions::from_mode(mode))
}

fn io_error(path: &Path, e: std::io::Error) -> GitError {
    GitError::Command {
        args: format!("write {}", path.display()),
        code: None,
        stderr: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::cli::testing::*;

    #[test]
    fn a_checkout_is_moved_and_a_move_cut_short_is_finished() {
        let repo = TestRepo::new();
        let old = git(&repo.dir, &["rev-parse", "HEAD"]);
        write(&repo.dir, "a.txt", "alpha two\n");
        write(&repo.dir, "dir/new.txt", "new\n");
        std::fs::remove_file(repo.dir.join("b.txt")).expect("rm");
        let new = commit(&repo.dir, "Second");
        git(&repo.dir, &["update-ref", "refs/heads/main", &old]);
        git(&repo.dir, &["reset", "--hard", "-q", &old]);
        // As if a move had been cut short: one file of the new commit is already there.
        write(&repo.dir, "dir/new.txt", "new\n");
        git(&repo.dir, &["update-ref", "refs/heads/main", &new]);
        repo.git
            .bring_checkout_along(&repo.dir, &old, &new)
            .expect("moved");
        assert_eq!(read(&repo.dir, "a.txt"), "alpha two\n");
        assert!(!repo.dir.join("b.txt").exists());
        assert_eq!(git(&repo.dir, &["status", "--porcelain"]), "");
        // Running it again changes nothing.
        repo.git
            .bring_checkout_along(&repo.dir, &old, &new)
            .expect("again");
        assert_eq!(git(&repo.dir, &["status", "--porcelain"]), "");
    }

    #[test]
    fn an_untracked_file_in_the_way_stops_the_move_before_anything_changes() {
        let repo = TestRepo::new();
        let old = git(&repo.dir, &["rev-parse", "HEAD"]);
        write(&repo.dir, "a.txt", "alpha two\n");
        write(&repo.dir, "c.txt", "from the commit\n");
        let new = commit(&repo.dir, "Second");
        git(&repo.dir, &["update-ref", "refs/heads/main", &old]);
        git(&repo.dir, &["reset", "--hard", "-q", &old]);
        write(&repo.dir, "c.txt", "the person's own\n");
        git(&repo.dir, &["update-ref", "refs/heads/main", &new]);
        let err = repo
            .git
            .bring_checkout_along(&repo.dir, &old, &new)
            .expect_err("in the way");
        assert!(err.to_string().contains("c.txt"), "{err}");
        assert_eq!(read(&repo.dir, "c.txt"), "the person's own\n");
        assert_eq!(read(&repo.dir, "a.txt"), "alpha\n", "nothing was written");
    }
}
