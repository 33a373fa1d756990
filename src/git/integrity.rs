//! Whether what vane finds on disk is what it made: a directory under the worktree root that is a
//! worktree of this repository, and vane's refs (what tells that vane was used in a repository,
//! whatever its database says).
//!
//! `classify_worktree_dir` only reads the file system: no git process, no repository discovery (a
//! directory whose `.git` an agent removed would send git to whatever repository encloses it).
//! `vane doctor`, `vane gc` and the work loop all judge a worktree with it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cli::comparable_path;
use super::GitError;

/// Where vane keeps the checkpoint refs of a database that was replaced
/// (`vane init --force-new-database`): `<prefix><time>/checkpoints/<n>`.
pub const BROKEN_PREFIX: &str = "refs/vane/broken/";

/// What a directory under the worktree root is, as seen from one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WorktreeState {
    /// A linked worktree of this repository, checked both ways: its `.git` file names
    /// `<common dir>/worktrees/<id>` (`admin`), and that directory's `gitdir` names the `.git`
    /// file back.
    Ours { admin: PathBuf },
    /// The main working tree of this repository (its `.git` is the common directory).
    Main,
    /// Nothing is there.
    Missing,
    /// Something that is not a directory: a file, or a symbolic link (never followed).
    NotADirectory,
    /// A directory without `.git` (an agent ran `rm -rf .git`, or it never was a worktree).
    /// `registered`: this repository's administrative directory that still names it, if any.
    NotAWorktree { registered: Option<PathBuf> },
    /// `.git` is a file that does not name a git directory (`gitdir: <path>`), or cannot be read.
    BrokenGitFile {
        problem: String,
        registered: Option<PathBuf>,
    },
    /// `.git` is a directory, a repository of its own: someone ran `git init` there.
    OwnRepository { registered: Option<PathBuf> },
    /// `.git` names an administrative directory that is gone: the repository it belonged to was
    /// deleted (perhaps made again at the same path), or git pruned the worktree's record.
    Orphaned { admin: PathBuf },
    /// `.git` names an administrative directory of this repository that names another
    /// directory (a copy of a worktree, or one moved by hand).
    Misdirected { admin: PathBuf, claimed_by: PathBuf },
    /// `.git` names an administrative directory outside this repository's `worktrees/`: a
    /// worktree of another repository that still exists.
    OtherRepository { admin: PathBuf },
}

impl WorktreeState {
    pub fn is_ours(&self) -> bool {
        matches!(self, WorktreeState::Ours { .. })
    }

    /// This repository's administrative directory that still names the directory, for a worktree
    /// whose `.git` was removed or replaced: putting a `.git` file back that names it repairs it.
    pub fn registered(&self) -> Option<&Path> {
        match self {
            WorktreeState::NotAWorktree { registered }
            | WorktreeState::BrokenGitFile { registered, .. }
            | WorktreeState::OwnRepository { registered } => registered.as_deref(),
            _ => None,
        }
    }

    /// What was found, in words, for a report: "its `.git` was removed", ...
    pub fn describe(&self) -> String {
        match self {
            WorktreeState::Ours { admin } => {
                format!("a worktree of this repository ({})", admin.display())
            }
            WorktreeState::Main => "the main working tree of this repository".to_string(),
            WorktreeState::Missing => "it is not there".to_string(),
            WorktreeState::NotADirectory => {
                "it is not a directory (a file or a symbolic link)".to_string()
            }
            WorktreeState::NotAWorktree {
                registered: Some(_),
            } => "its `.git` was removed (git still has the worktree's record)".to_string(),
            WorktreeState::NotAWorktree { registered: None } => {
                "it has no `.git` and git knows no worktree there".to_string()
            }
            WorktreeState::BrokenGitFile { problem, .. } => format!("its `.git` file {problem}"),
            WorktreeState::OwnRepository { .. } => {
                "its `.git` is a repository of its own (someone ran `git init` there)".to_string()
            }
            WorktreeState::Orphaned { admin } => format!(
                "its `.git` names {}, which is gone: a worktree of a repository that was \
                 deleted (or made again at the same path)",
                admin.display()
            ),
            WorktreeState::Misdirected { admin, claimed_by } => format!(
                "its `.git` names {}, which belongs to the worktree at {} (a copy?)",
                admin.display(),
                claimed_by.display()
            ),
            WorktreeState::OtherRepository { admin } => {
                format!("a worktree of another repository ({})", admin.display())
            }
        }
    }
}

/// What `dir` is, as seen from the repository whose git common directory is `common_dir`. Reads
/// only: `dir/.git`, the administrative directory it names and, for a broken one, this
/// repository's `worktrees/*/gitdir`. Symbolic links at `dir` or `dir/.git` are not followed.
pub fn classify_worktree_dir(common_dir: &Path, dir: &Path) -> WorktreeState {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(_) => return WorktreeState::Missing,
    };
    if !meta.is_dir() {
        return WorktreeState::NotADirectory;
    }
    let common = comparable_path(common_dir);
    let dot_git = dir.join(".git");
    let registered = || registration_of(&common, &dot_git);
    let meta = match std::fs::symlink_metadata(&dot_git) {
        Ok(meta) => meta,
        Err(_) => {
            return WorktreeState::NotAWorktree {
                registered: registered(),
            }
        }
    };
    if meta.is_dir() {
        if comparable_path(&dot_git) == common {
            return WorktreeState::Main;
        }
        return WorktreeState::OwnRepository {
            registered: registered(),
        };
    }
    if !meta.is_file() {
        return WorktreeState::BrokenGitFile {
            problem: "is a symbolic link, not a file".to_string(),
            registered: registered(),
        };
    }
    let named = match std::fs::read_to_string(&dot_git) {
        Ok(text) => match gitdir_line(&text) {
            Some(named) => named.to_string(),
            None => {
                return WorktreeState::BrokenGitFile {
                    problem: "does not name a git directory (`gitdir: <path>`)".to_string(),
                    registered: registered(),
                }
            }
        },
        Err(e) => {
            return WorktreeState::BrokenGitFile {
                problem: format!("cannot be read: {e}"),
                registered: registered(),
            }
        }
    };
    let admin = comparable_path(&dir.join(named));
    if !admin.is_dir() {
        return WorktreeState::Orphaned { admin };
    }
    if admin.parent() != Some(common.join("worktrees").as_path()) {
        return WorktreeState::OtherRepository { admin };
    }
    match claimed_path(&admin) {
        Some(claimed) if claimed == comparable_path(&dot_git) => WorktreeState::Ours { admin },
        Some(claimed_by) => WorktreeState::Misdirected {
            admin,
            claimed_by: claimed_by
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(claimed_by),
        },
        // An administrative directory without its `gitdir` is no record of a worktree.
        None => WorktreeState::Orphaned { admin },
    }
}

/// The path in a `.git` file's `gitdir: <path>` line.
fn gitdir_line(text: &str) -> Option<&str> {
    let named = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    (!named.is_empty()).then_some(named)
}

/// The `.git` file an administrative directory names in its `gitdir` (relative to the directory,
/// as git writes it with `worktree.useRelativePaths`, or absolute).
fn claimed_path(admin: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(admin.join("gitdir")).ok()?;
    let named = text.trim_end_matches(['\n', '\r']);
    if named.is_empty() {
        return None;
    }
    Some(comparable_path(&admin.join(named)))
}

/// This repository's administrative directory whose `gitdir` names `dot_git`.
fn registration_of(common: &Path, dot_git: &Path) -> Option<PathBuf> {
    let wanted = comparable_path(dot_git);
    std::fs::read_dir(common.join("worktrees"))
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|admin| claimed_path(admin).as_deref() == Some(wanted.as_path()))
}

/// The repository a worktree's `.git` file belongs to: the common directory of the
/// administrative directory it names (`<common>/worktrees/<id>`), whether or not it still exists.
/// None when `dir/.git` is no such file.
pub fn named_common_dir(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if !std::fs::symlink_metadata(&dot_git).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let admin = lexical(&dir.join(gitdir_line(&text)?));
    let worktrees = admin.parent()?;
    (worktrees.file_name()? == "worktrees").then(|| worktrees.parent().map(Path::to_path_buf))?
}

/// `path` with `.` and `..` taken out by reading alone: the path may no longer exist.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// vane's refs in a repository: whether vane was used there, whatever its database says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VaneRefs {
    /// `refs/vane/checkpoints/<n>`, full names.
    pub checkpoints: Vec<String>,
    /// `refs/heads/vane/<task>`, full names.
    pub branches: Vec<String>,
    /// Other refs under `refs/vane/` (earlier attempts, kept work), not counting those kept from
    /// a replaced database (`refs/vane/broken/`).
    pub other: Vec<String>,
}

impl VaneRefs {
    pub fn is_empty(&self) -> bool {
        self.checkpoints.is_empty() && self.branches.is_empty() && self.other.is_empty()
    }

    /// "2 checkpoint refs (refs/vane/checkpoints/*), 1 task branch (vane/*)".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if !self.checkpoints.is_empty() {
            parts.push(format!(
                "{} (refs/vane/checkpoints/*)",
                count(self.checkpoints.len(), "checkpoint ref", "checkpoint refs")
            ));
        }
        if !self.branches.is_empty() {
            parts.push(format!(
                "{} (vane/*)",
                count(self.branches.len(), "task branch", "task branches")
            ));
        }
        if !self.other.is_empty() {
            parts.push(format!(
                "{} under refs/vane/",
                count(self.other.len(), "other ref", "other refs")
            ));
        }
        parts.join(", ")
    }
}

/// Reads vane's refs of the repository whose common directory is `common_dir`, in process.
pub fn vane_refs(common_dir: &Path) -> Result<VaneRefs, GitError> {
    let repo = git2::Repository::open(common_dir)?;
    let mut refs = VaneRefs::default();
    for glob in ["refs/vane/*", "refs/heads/vane/*"] {
        for reference in repo.references_glob(glob)? {
            let reference = reference?;
            let Some(name) = reference.name() else {
                continue;
            };
            let name = name.to_string();
            if name.starts_with("refs/heads/") {
                refs.branches.push(name);
            } else if name.starts_with("refs/vane/checkpoints/") {
                refs.checkpoints.push(name);
            } else if !name.starts_with(BROKEN_PREFIX) {
                refs.other.push(name);
            }
        }
    }
    refs.checkpoints.sort();
    refs.branches.sort();
    refs.other.sort();
    Ok(refs)
}

/// Puts back the `.git` file of the worktree at `dir`, naming `admin`, this repository's record of
/// it (what `WorktreeState::registered` gives for a worktree whose `.git` was removed or broken):
/// the worktree is then whole again, and what it holds can be saved. A symbolic link in its place
/// is removed, never followed.
pub fn restore_git_file(dir: &Path, admin: &Path) -> std::io::Result<()> {
    let dot_git = dir.join(".git");
    if std::fs::symlink_metadata(&dot_git).is_ok_and(|m| !m.is_file()) {
        std::fs::remove_file(&dot_git)?;
    }
    std::fs::write(&dot_git, format!("gitdir: {}\n", admin.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with one commit and a linked worktree at `<tmp>/wt/w1`.
    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        common: PathBuf,
        worktree: PathBuf,
    }

    fn git(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().canonicalize().expect("canonical");
        let repo = root.join("repo");
        std::fs::create_dir(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "main"]);
        std::fs::write(repo.join("a"), "a").expect("write");
        git(&repo, &["add", "a"]);
        git(&repo, &["commit", "-q", "-m", "one"]);
        let worktree = root.join("wt/w1");
        git(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                worktree.to_str().expect("utf-8"),
                "HEAD",
            ],
        );
        Fixture {
            _tmp: tmp,
            common: repo.join(".git"),
            root,
            worktree,
        }
    }

    #[test]
    fn a_worktree_of_this_repository_is_ours() {
        let f = fixture();
        assert_eq!(
            classify_worktree_dir(&f.common, &f.worktree),
            WorktreeState::Ours {
                admin: f.common.join("worktrees/w1")
            }
        );
        assert_eq!(
            classify_worktree_dir(&f.common, &f.root.join("repo")),
            WorktreeState::Main
        );
        assert_eq!(
            named_common_dir(&f.worktree).as_deref(),
            Some(f.common.as_path())
        );
    }

    #[test]
    fn missing_files_and_links_are_told_apart() {
        let f = fixture();
        assert_eq!(
            classify_worktree_dir(&f.common, &f.root.join("wt/none")),
            WorktreeState::Missing
        );
        std::fs::write(f.root.join("wt/file"), "x").expect("write");
        assert_eq!(
            classify_worktree_dir(&f.common, &f.root.join("wt/file")),
            WorktreeState::NotADirectory
        );
        std::os::unix::fs::symlink(&f.worktree, f.root.join("wt/link")).expect("symlink");
        assert_eq!(
            classify_worktree_dir(&f.common, &f.root.join("wt/link")),
            WorktreeState::NotADirectory,
            "a link to a good worktree is not followed"
        );
        let plain = f.root.join("wt/plain");
        std::fs::create_dir(&plain).expect("mkdir");
        assert_eq!(
            classify_worktree_dir(&f.common, &plain),
            WorktreeState::NotAWorktree { registered: None }
        );
    }

    #[test]
    fn a_removed_or_replaced_git_file_is_found_with_its_record() {
        let f = fixture();
        let admin = f.common.join("worktrees/w1");
        let dot_git = f.worktree.join(".git");
        std::fs::remove_file(&dot_git).expect("rm .git");
        let state = classify_worktree_dir(&f.common, &f.worktree);
        assert_eq!(
            state,
            WorktreeState::NotAWorktree {
                registered: Some(admin.clone())
            }
        );
        assert_eq!(state.registered(), Some(admin.as_path()));
        std::fs::write(&dot_git, "garbage\n").expect("write");
        assert!(matches!(
            classify_worktree_dir(&f.common, &f.worktree),
            WorktreeState::BrokenGitFile { registered: Some(ref a), .. } if *a == admin
        ));
        std::fs::remove_file(&dot_git).expect("rm .git");
        git(&f.worktree, &["init", "-q"]);
        assert_eq!(
            classify_worktree_dir(&f.common, &f.worktree),
            WorktreeState::OwnRepository {
                registered: Some(admin)
            }
        );
    }

    #[test]
    fn a_worktree_of_a_deleted_repository_is_orphaned() {
        let f = fixture();
        let repo = f.root.join("repo");
        std::fs::remove_dir_all(&repo).expect("rm repo");
        let state = classify_worktree_dir(&f.common, &f.worktree);
        assert_eq!(
            state,
            WorktreeState::Orphaned {
                admin: f.common.join("worktrees/w1")
            }
        );
        // Made again at the same path: the same common directory, but no record of the worktree.
        std::fs::create_dir(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "main"]);
        assert_eq!(classify_worktree_dir(&f.common, &f.worktree), state);
        assert_eq!(
            named_common_dir(&f.worktree).as_deref(),
            Some(f.common.as_path()),
            "the repository it names, gone or not"
        );
    }

    #[test]
    fn copies_and_other_repositories_are_not_ours() {
        let f = fixture();
        let copy = f.root.join("wt/copy");
        std::fs::create_dir(&copy).expect("mkdir");
        std::fs::copy(f.worktree.join(".git"), copy.join(".git")).expect("copy");
        assert_eq!(
            classify_worktree_dir(&f.common, &copy),
            WorktreeState::Misdirected {
                admin: f.common.join("worktrees/w1"),
                claimed_by: f.worktree.clone()
            }
        );
        let other = f.root.join("other");
        std::fs::create_dir(&other).expect("mkdir");
        assert_eq!(
            classify_worktree_dir(&other.join(".git"), &f.worktree),
            WorktreeState::OtherRepository {
                admin: f.common.join("worktrees/w1")
            }
        );
    }

    #[test]
    fn relative_gitdirs_are_read_as_git_writes_them() {
        let f = fixture();
        let admin = f.common.join("worktrees/w1");
        std::fs::write(
            f.worktree.join(".git"),
            "gitdir: ../../repo/.git/worktrees/w1\n",
        )
        .expect("write");
        std::fs::write(admin.join("gitdir"), "../../../../wt/w1/.git\n").expect("write");
        assert_eq!(
            classify_worktree_dir(&f.common, &f.worktree),
            WorktreeState::Ours { admin }
        );
    }

    #[test]
    fn vane_refs_are_counted_apart_from_the_kept_ones() {
        let f = fixture();
        let repo = f.root.join("repo");
        assert!(vane_refs(&f.common).expect("refs").is_empty());
        git(&repo, &["update-ref", "refs/vane/checkpoints/1", "HEAD"]);
        git(&repo, &["update-ref", "refs/heads/vane/T1", "HEAD"]);
        git(
            &repo,
            &[
                "update-ref",
                "refs/vane/broken/20260101T000000Z/checkpoints/1",
                "HEAD",
            ],
        );
        let refs = vane_refs(&f.common).expect("refs");
        assert_eq!(refs.checkpoints, ["refs/vane/checkpoints/1"]);
        assert_eq!(refs.branches, ["refs/heads/vane/T1"]);
        assert!(refs.other.is_empty(), "{refs:?}");
        assert_eq!(
            refs.describe(),
            "1 checkpoint ref (refs/vane/checkpoints/*), 1 task branch (vane/*)"
        );
    }
}
