//! The operations of the work loop: `vane work` (scheduler, workers, merge queue), recovery after
//! a crash, rollback to a checkpoint, and the daily upkeep (`vane gc`, `vane doctor`). Uses the
//! parts below (store, git, agent, config) and never the command line or the terminal: what a
//! person should see is reported through `Progress`, or returned.

pub mod approval;
pub mod bootstrap;
pub mod doctor;
pub mod failpoint;
pub mod gates;
pub mod gc;
pub mod guard;
pub mod hooks;
pub mod land;
pub mod lock;
pub mod planner;
pub mod preflight;
pub mod profiles;
pub mod protected;
pub mod recovery;
pub mod rollback;
pub mod work;

use std::path::{Path, PathBuf};

pub use doctor::{doctor, Check};
pub use gc::{gc, GcOptions, GcReport};
pub use rollback::{rollback, RollbackOptions, RollbackSummary};
pub use work::{work, Extended, HeldBack, Landing, Progress, WorkOptions, WorkSummary};

use crate::config::Config;
use crate::workspace::Workspace;

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    #[error(transparent)]
    Agent(#[from] crate::agent::AgentError),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("the base branch `{branch}` is checked out at {checkout} with uncommitted changes")]
    DirtyBase { branch: String, checkout: PathBuf },
    #[error("no base branch: HEAD is detached here and vane.toml sets no `base_branch`")]
    NoBaseConfigured,
    #[error("the base branch `{0}` does not exist")]
    NoBaseBranch(String),
    #[error("no checkpoint {0}")]
    NoCheckpoint(i64),
    #[error("interrupted; the next `vane work` resumes where this one stopped")]
    Interrupted,
    #[error("task `{0}` has landed already")]
    AlreadyLanded(crate::model::TaskId),
    #[error("task `{0}` is in progress")]
    InProgress(crate::model::TaskId),
    #[error("task `{task}` falls short of its gates, so it was not landed: {feedback}")]
    FellShort {
        task: crate::model::TaskId,
        feedback: String,
    },
    #[error("task `{0}` has no branch yet")]
    NoTaskBranch(crate::model::TaskId),
    #[error("the branch of `{task}` conflicts with the base branch in: {paths}")]
    Conflicts {
        task: crate::model::TaskId,
        paths: String,
    },
    #[error("{} is not vane's, and {} is kept there already", .path.display(), .kept.display())]
    HookConflict { path: PathBuf, kept: PathBuf },
    #[error(
        "`include` in vane.toml names {} that git tracks: {}; tracked files are in every worktree \
         already",
        if .0.len() == 1 { "a path" } else { "paths" },
        .0.join(", ")
    )]
    TrackedInclude(Vec<String>),
    /// What would fail every attempt, found before the first claim; never empty.
    #[error(
        "{}, so no task was started: {}",
        preflight::would_fail(.0.len()),
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Unrunnable(Vec<preflight::PreflightProblem>),
    #[error(
        "the worktree root {} is inside the git repository at {}; agents' worktrees must be outside every repository",
        .root.display(),
        .repository.display()
    )]
    WorktreeRootInRepository { root: PathBuf, repository: PathBuf },
    /// Base moved during a batch in a way that no landing and no person's commit explains.
    #[error(
        "the base branch `{branch}` moved to {found} during the batch, and neither a landing nor a person's commit explains it (it was at {expected}); nothing more was started or landed"
    )]
    UnexplainedBaseMove {
        branch: String,
        expected: String,
        found: String,
    },
    #[error("task `{0}` is not waiting for a person's approval")]
    NotAwaitingApproval(crate::model::TaskId),
    /// Merging waited `pause_timeout` for a person's checkout of base, and the batch stopped.
    #[error(
        "merging waited {seconds} s for the checkout of the base branch at {}, where landing would overwrite {}, and stopped as `pause_timeout` in vane.toml says; nothing more was started, and nothing landed ungated",
        .checkout.display(),
        .paths.join(", ")
    )]
    PausedTooLong {
        checkout: PathBuf,
        paths: Vec<String>,
        seconds: u64,
        /// Whether git tracks some of `paths` nowhere there (`git stash -u` puts them aside too).
        untracked: bool,
    },
    #[error("worker {0} stopped unexpectedly")]
    WorkerGone(usize),
    #[error("no executor `{name}`: vane.toml defines {defined}, and `local` is built in")]
    UnknownExecutor { name: String, defined: String },
    /// A remote worker's job or result could not be published, read or pushed.
    #[error("{0}")]
    Remote(String),
    /// vane could not run several attempts in one batch; none of them was charged to its task.
    #[error(
        "vane could not run {} attempts, so the batch stopped starting new ones (nothing was charged to the tasks): {}",
        .0.len(),
        .0.iter().map(|(task, why)| format!("{task}: {why}")).collect::<Vec<_>>().join("; ")
    )]
    Faults(Vec<(crate::model::TaskId, String)>),
    /// The unchanged base fails a gate that a candidate failed: the gate or the base is broken, not
    /// the task.
    #[error(
        "the base branch itself fails the gate{} {}, so no task can pass {}; nothing was charged to `{task}`. The end of the gate's output:\n{output}",
        if .gates.len() == 1 { "" } else { "s" },
        .gates.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", "),
        if .gates.len() == 1 { "it" } else { "them" }
    )]
    BrokenGate {
        gates: Vec<String>,
        task: crate::model::TaskId,
        output: String,
    },
    /// `setup` failed in a gate worktree, so no gate could run there.
    #[error("`setup` failed in a gate worktree: {0}")]
    GateSetup(String),
    #[error(transparent)]
    Profile(#[from] profiles::ProfileError),
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    /// Every answer of the planner was refused; nothing was written.
    #[error(
        "the planner `{profile}` answered {} time{} and no plan was accepted; the problems with its last answer:\n{}",
        .runs.len(),
        if .runs.len() == 1 { "" } else { "s" },
        .runs.last().map(|r| r.problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")).unwrap_or_default()
    )]
    PlanRefused {
        profile: String,
        runs: Vec<planner::PlannerRun>,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl OrchestratorError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        OrchestratorError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = OrchestratorError> = std::result::Result<T, E>;

/// The branch work lands on: the configuration's, else the one checked out here.
pub(crate) fn base_branch(workspace: &Workspace, config: &Config) -> Result<String> {
    config
        .base_branch
        .clone()
        .or_else(|| workspace.location.branch.clone())
        .ok_or(OrchestratorError::NoBaseConfigured)
}

/// The dependencies of `task` that landed, each with the subjects of the commits it brought.
pub(crate) fn landed_dependencies(
    store: &crate::store::Store,
    git: &crate::git::Git,
    task: &crate::model::TaskId,
) -> Result<Vec<crate::prompt::LandedDependency>> {
    let detail = store.task_detail(task)?;
    let mut dependencies = Vec::new();
    for dep in detail
        .dependencies
        .iter()
        .filter(|d| d.status == crate::model::TaskStatus::Done)
    {
        let subjects = match store.task(&dep.id)?.landed_sha {
            Some(sha) => git
                .commit_subjects(&format!("{sha}^1..{sha}^2"))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        dependencies.push(crate::prompt::LandedDependency {
            id: dep.id.clone(),
            title: dep.title.clone(),
            subjects,
        });
    }
    Ok(dependencies)
}
