//! The only code that touches git: finding the repository vane runs in, worktrees, branches,
//! merges and refs.
//!
//! Reading a repository (`RepoLocation`, `create_repository`) uses libgit2. Everything that writes a
//! working tree, merges or moves refs goes through `Git` (in `cli`), which runs the git CLI, because
//! only git runs hooks and filters, and its index code is the faster one on big repositories. Where
//! a benchmark showed a git process costing more than the work, `Git` does the same in process with
//! libgit2 (`inproc`): reading and moving refs always; merging, and the work loop's per-task
//! working-tree operations, on small repositories without filter drivers, hooks those commands run,
//! or sparse checkouts. Tests run both paths and compare what git then sees.

mod checkout_move;
pub mod cli;
pub mod conflict;
mod hookstate;
mod inproc;
pub mod integrity;
pub mod merge;
pub mod refs;
pub mod remote;
pub mod worktree;

use std::path::{Path, PathBuf};

pub use cli::Git;
pub use hookstate::{
    commit_index_as_merge, head_summary, merge_heads, vane_branch_tips, KEPT_SUFFIX, SHIM_MARKER,
};
pub use merge::MergeOutcome;
pub use refs::DiffView;
pub use worktree::{attempt_refs, WorktreeInfo, ATTEMPTS_PREFIX, KEPT_PREFIX};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0} is not inside a git repository")]
    NotARepository(PathBuf),
    #[error("{0} is a bare repository")]
    Bare(PathBuf),
    #[error("the repository at {0} has no commit yet")]
    NoCommits(PathBuf),
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A git command failed; `stderr` is what it said, trimmed.
    #[error("`git {args}` failed ({}): {stderr}", exit_status(*.code))]
    Command {
        args: String,
        code: Option<i32>,
        stderr: String,
    },
    /// A compare-and-swap on a ref found it somewhere else than expected; nothing was changed.
    #[error(
        "{refname} moved: expected {}, found {}",
        ref_value(.expected),
        ref_value(.actual)
    )]
    RefMoved {
        refname: String,
        expected: Option<String>,
        actual: Option<String>,
    },
    /// A name given as a commit (a base, a branch to merge) names none.
    #[error("no commit named `{0}`")]
    UnknownRevision(String),
    /// A directory vane was about to run git in is not a working tree of this repository (an agent
    /// deleted or replaced its `.git`, or it belongs to a repository that is gone): git would have
    /// gone looking for a repository above it, so nothing was run.
    #[error("{} is not a working tree of this repository: {found}", .path.display())]
    ForeignWorktree { path: PathBuf, found: String },
    /// Moving a checkout would overwrite what is neither the old commit's nor the new one's: a
    /// local change, or an untracked file where the new commit has one. Nothing was changed.
    #[error("the checkout at {} has files in the way: {}", .workdir.display(), .paths.join(", "))]
    CheckoutInTheWay {
        workdir: PathBuf,
        paths: Vec<String>,
    },
}

fn exit_status(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal, or not started".to_string(),
    }
}

fn ref_value(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("no ref")
}

/// Where a repository's parts are, as seen from one working tree.
#[derive(Debug, Clone)]
pub struct RepoLocation {
    /// The top of the working tree the command runs in (a linked worktree's own root, if in one).
    pub workdir: PathBuf,
    /// The directory shared by all worktrees (`git rev-parse --git-common-dir`).
    pub common_dir: PathBuf,
    /// The branch checked out in this working tree, if any.
    pub branch: Option<String>,
}

impl RepoLocation {
    /// Finds the repository containing `start`. Refuses a bare repository and one without a commit,
    /// since vane's work always starts from a commit on a branch.
    pub fn discover(start: &Path) -> Result<RepoLocation, GitError> {
        let repo = git2::Repository::discover(start).map_err(|e| match e.code() {
            git2::ErrorCode::NotFound => GitError::NotARepository(start.to_path_buf()),
            _ => GitError::Git(e),
        })?;
        let workdir = match repo.workdir() {
            Some(dir) if !repo.is_bare() => dir.to_path_buf(),
            _ => return Err(GitError::Bare(repo.path().to_path_buf())),
        };
        let head = match repo.head() {
            Ok(head) => head,
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
                return Err(GitError::NoCommits(normalize(&workdir)))
            }
            Err(e) => return Err(GitError::Git(e)),
        };
        let branch = if head.is_branch() {
            head.shorthand().map(str::to_string)
        } else {
            None
        };
        Ok(RepoLocation {
            workdir: normalize(&workdir),
            common_dir: normalize(repo.commondir()),
            branch,
        })
    }
}

/// Drops the trailing separator git2 leaves on directories, and resolves symlinks where possible,
/// so that paths compare and print the way a user expects.
fn normalize(path: &Path) -> PathBuf {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    path.components().collect()
}

/// Creates a repository at `dir` on branch `main` whose first commit holds `files`.
/// Used by `vane demo` to make its sample repository; returns the commit id.
pub fn create_repository(
    dir: &Path,
    files: &[(&str, &str)],
    message: &str,
) -> Result<String, GitError> {
    let mut options = git2::RepositoryInitOptions::new();
    options.initial_head("main").mkdir(true);
    let repo = git2::Repository::init_opts(dir, &options)?;
    for (name, content) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| git2::Error::from_str(&e.to_string()))?;
        }
        std::fs::write(&path, content).map_err(|e| git2::Error::from_str(&e.to_string()))?;
    }
    let mut index = repo.index()?;
    for (name, _) in files {
        index.add_path(Path::new(name))?;
    }
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    // The person's identity when git has one; a placeholder otherwise, so the demo runs anywhere.
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("vane demo", "demo@vane.invalid"))?;
    let commit = repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &[])?;
    Ok(commit.to_string())
}
