//! The one error a user sees: what happened, to what, what to do next, and an exit code.
//!
//! Modules keep their own typed errors; this is where they become words. Exit codes are part of the
//! interface and documented in the README and in `vane --help`:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the request was refused: bad input, an unknown task, a cycle, a move the state machine forbids |
//! | 2 | the command line itself is wrong (unknown flag, missing argument) |
//! | 3 | vane cannot run here: not in a git repository, not set up, a database from a newer vane |
//! | 4 | something failed underneath: the database, git, or the file system |
//! | 130 | interrupted (Ctrl-C); `vane work` resumes where it stopped |

use std::fmt;

use crate::config::ConfigError;
use crate::git::GitError;
use crate::orchestrator::preflight::{would_fail, PreflightProblem};
use crate::roadmap::RoadmapError;
use crate::store::StoreError;
use crate::workspace::WorkspaceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input or a refused request; exit 1.
    Refused,
    /// A malformed command line; exit 2.
    Usage,
    /// vane cannot work in this place; exit 3.
    Environment,
    /// A failure underneath vane; exit 4.
    Internal,
    /// Stopped by SIGINT or SIGTERM; exit 130, as shells report a Ctrl-C.
    Interrupted,
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Refused => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Environment => 3,
            ErrorKind::Internal => 4,
            ErrorKind::Interrupted => 130,
        }
    }
}

/// An error on its way to the user.
#[derive(Debug)]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
    /// Further lines that say what went wrong in more detail (one per problem).
    pub details: Vec<String>,
    /// What to do about it.
    pub hints: Vec<String>,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
            details: Vec::new(),
            hints: Vec::new(),
        }
    }

    pub fn refused(message: impl Into<String>) -> Self {
        CliError::new(ErrorKind::Refused, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        CliError::new(ErrorKind::Internal, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::internal(format!("I/O error: {e}"))
    }
}

impl From<GitError> for CliError {
    fn from(e: GitError) -> Self {
        match &e {
            GitError::NotARepository(_) => CliError::new(ErrorKind::Environment, e.to_string())
                .with_hint("run vane inside a git repository, or point at one with `vane -C <path>`"),
            GitError::Bare(_) => CliError::new(ErrorKind::Environment, e.to_string()).with_hint(
                "vane needs a working tree; run it in a clone with a checkout (`git clone <bare> <dir>`)",
            ),
            GitError::NoCommits(_) => CliError::new(ErrorKind::Environment, e.to_string())
                .with_hint("make a first commit (`git commit --allow-empty -m \"Initial commit\"`), then run this again"),
            GitError::RefMoved { .. } => CliError::refused(e.to_string())
                .with_hint("someone moved it meanwhile; run the command again"),
            GitError::CheckoutInTheWay { .. } => CliError::refused(e.to_string()).with_hint(
                "commit, stash or move those files away (`git stash --include-untracked`), then run the command again",
            ),
            GitError::ForeignWorktree { .. } => CliError::internal(e.to_string()).with_hint(
                "`vane doctor` checks every worktree; `vane work` rebuilds a broken one, `vane gc` removes them",
            ),
            GitError::Git(_) | GitError::Command { .. } | GitError::UnknownRevision(_) => {
                CliError::internal(e.to_string())
            }
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            StoreError::NewerSchema { .. } => CliError::new(ErrorKind::Environment, message)
                .with_hint(
                    "use a newer vane with this repository (`vane --version` shows this one)",
                ),
            StoreError::Missing(_) => CliError::new(ErrorKind::Environment, message)
                .with_hint("run `vane init` to set vane up in this repository"),
            StoreError::TaskNotFound(_) | StoreError::ContextNotFound(_) => {
                CliError::refused(message).with_hint("`vane task list` shows the tasks there are")
            }
            StoreError::TaskExists(_) => CliError::refused(message)
                .with_hint("choose another id with `--id`, or leave it out to get a generated one"),
            StoreError::UnknownReference { .. } => CliError::refused(message)
                .with_hint("`vane task list` shows the tasks there are; add the missing one first"),
            StoreError::DependencyNotFound { .. } => CliError::refused(message)
                .with_hint("`vane task show <id>` lists a task's dependencies"),
            StoreError::DependencyExists { .. } => CliError::refused(message).with_hint(
                "to change its kind, remove it with `vane task dep rm` and add it again",
            ),
            StoreError::Cycle(_) => CliError::refused(message).with_hint(
                "a task cannot wait, directly or through others, for itself; drop one of the edges",
            ),
            StoreError::Illegal { .. } | StoreError::Plan(_) | StoreError::Refused(_) => {
                CliError::refused(message)
            }
            StoreError::Unusable { path, .. } => {
                damaged_database(CliError::internal(message), &path)
            }
            StoreError::ReadOnly { path } => read_only(CliError::internal(message), &path),
            StoreError::NoAccess { path, .. } => CliError::internal(message).with_hint(format!(
                "check who owns {} and its permissions (`ls -l`); vane reads it as the user it runs as",
                path.display()
            )),
            StoreError::ReadOnlyOutdated { path, .. } => {
                CliError::internal(message).with_hint(format!(
                    "run any vane command once as a user who may write {} (it migrates the \
                     database); reading works after that",
                    parent_display(&path)
                ))
            }
            StoreError::Sqlite(_) | StoreError::Corrupt(_) | StoreError::File { .. } => {
                CliError::internal(message)
            }
        }
    }
}

/// The hints for a database that cannot be used: restore it, or start over keeping the old one.
fn damaged_database(err: CliError, path: &std::path::Path) -> CliError {
    err.with_hint(format!(
        "if you have a copy of it from before (a backup), put it back at {} while no vane runs",
        path.display()
    ))
    .with_hint(
        "to start over with an empty task graph, `vane init --force-new-database` moves the file \
         aside (to vane.db.broken-<time>) and the checkpoint refs to refs/vane/broken/<time>/, \
         deleting nothing; task branches stay",
    )
}

fn read_only(err: CliError, path: &std::path::Path) -> CliError {
    err.with_hint(format!(
        "commands that only read (`vane status`, `vane task list`, `vane doctor`, ...) work here; \
         to change anything, run vane as a user who may write {}",
        parent_display(path)
    ))
}

fn parent_display(path: &std::path::Path) -> String {
    path.parent().unwrap_or(path).display().to_string()
}

impl From<WorkspaceError> for CliError {
    fn from(e: WorkspaceError) -> Self {
        match e {
            WorkspaceError::Git(e) => e.into(),
            WorkspaceError::Store(e) => e.into(),
            WorkspaceError::NotInitialised { .. } => {
                CliError::new(ErrorKind::Environment, e.to_string())
                    .with_hint("run `vane init` first")
            }
            WorkspaceError::Io { .. } => CliError::internal(e.to_string()),
            WorkspaceError::Damaged {
                ref path,
                ref problem,
                ref refs,
            } => {
                let err = CliError::internal(e.to_string());
                if refs.is_empty() && *problem == crate::store::Unusable::Empty {
                    // An empty file where vane left no trace: nothing was lost, most likely.
                    return err.with_hint(
                        "vane's refs are not here, so it probably never held anything: `vane \
                         init` makes a new database in it (if it did hold tasks, put a backup \
                         back first)",
                    );
                }
                damaged_database(err, path)
            }
            WorkspaceError::SoundDatabase { .. } => CliError::refused(e.to_string()).with_hint(
                "`vane doctor` checks it; to start over anyway, move the file away yourself, then \
                 run `vane init --force-new-database`",
            ),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Invalid { .. } => config_problems(&e).with_hint(
                "`vane config check` lists every problem; `vane init`'s template and the README \
                 describe every key",
            ),
            ConfigError::Read { .. } => CliError::internal(e.to_string()),
        }
    }
}

/// A broken `vane.toml`: one problem in the message, or a count and a line of details for each.
pub fn config_problems(e: &ConfigError) -> CliError {
    match e {
        ConfigError::Invalid { path, problems } if problems.len() > 1 => {
            let mut err = CliError::refused(format!(
                "{} has {} problems",
                path.display(),
                problems.len()
            ));
            for problem in problems {
                err = err.with_detail(problem.to_string());
            }
            err
        }
        _ => CliError::refused(e.to_string()),
    }
}

/// Problems found before `vane work` starts (see `orchestrator::preflight`): one detail each, with
/// where it is and its fix.
pub fn preflight_problems(message: String, problems: &[PreflightProblem]) -> CliError {
    let mut err = CliError::refused(message);
    for problem in problems {
        err = err.with_detail(format!("{problem}\n    fix: {}", problem.fix));
    }
    err
}

impl From<RoadmapError> for CliError {
    fn from(e: RoadmapError) -> Self {
        let mut err = CliError::refused(format!(
            "{}: {} {}; nothing was imported",
            e.file,
            e.problems.len(),
            if e.problems.len() == 1 {
                "problem"
            } else {
                "problems"
            }
        ));
        for problem in &e.problems {
            err = err.with_detail(problem.to_string());
        }
        err.with_hint("the roadmap format is described in docs/roadmap.md")
    }
}

impl From<crate::demo::DemoError> for CliError {
    fn from(e: crate::demo::DemoError) -> Self {
        use crate::demo::DemoError;
        match e {
            DemoError::NotEmpty(_) => CliError::refused(e.to_string()).with_hint(
                "leave the directory out and vane picks a new one under the temporary directory",
            ),
            DemoError::Git(e) => e.into(),
            DemoError::Workspace(e) => e.into(),
            DemoError::Store(e) => e.into(),
            DemoError::Roadmap(e) => e.into(),
            DemoError::Config(e) => e.into(),
            DemoError::Orchestrator(e) => e.into(),
            DemoError::Io { .. } => CliError::internal(e.to_string()),
        }
    }
}

impl From<crate::orchestrator::OrchestratorError> for CliError {
    fn from(e: crate::orchestrator::OrchestratorError) -> Self {
        use crate::orchestrator::lock::LockError;
        use crate::orchestrator::OrchestratorError as E;
        let message = e.to_string();
        match e {
            E::Store(e) => e.into(),
            E::Git(e) => e.into(),
            E::Config(e) => e.into(),
            E::Lock(LockError::Held { .. }) => CliError::refused(message)
                .with_hint("wait for it to finish, or stop it; a lock left by a process that died is taken over"),
            E::DirtyBase { .. } => CliError::refused(message).with_hint(
                "commit or stash them (`git stash`), then run this again; vane never touches uncommitted work",
            ),
            E::NoBaseConfigured => CliError::new(ErrorKind::Environment, message).with_hint(
                "check out the branch work should land on, or set `base_branch` in vane.toml",
            ),
            E::NoBaseBranch(_) => CliError::refused(message)
                .with_hint("set `base_branch` in vane.toml to a branch that exists"),
            E::NoCheckpoint(_) => {
                CliError::refused(message).with_hint("`vane checkpoints` lists them")
            }
            E::AlreadyLanded(_) => CliError::refused(message)
                .with_hint("`vane task show` says where; `vane rollback` can undo a landing"),
            E::InProgress(_) => CliError::refused(message).with_hint(
                "an agent works on it; when no `vane work` runs, one resumes what a crash left",
            ),
            E::FellShort { .. } => CliError::refused(message)
                .with_hint("fix the branch and run `vane land` again; `vane gate <task>` shows the scores"),
            E::NoTaskBranch(_) => CliError::refused(message).with_hint(
                "`vane work` makes it when an agent works on the task; `vane gate` with no task checks the working tree",
            ),
            E::Conflicts { .. } => CliError::refused(message)
                .with_hint("the next attempt starts from the new base; `vane task retry` queues one"),
            E::HookConflict { .. } => CliError::refused(message).with_hint(
                "vane keeps one hook of yours per name; merge the two by hand, or remove one, then run this again",
            ),
            E::TrackedInclude(_) => CliError::refused(message).with_hint(
                "remove them from `include`, which is for files git does not track, such as .env",
            ),
            E::Workspace(e) => e.into(),
            E::Profile(_) => CliError::refused(message).with_hint(
                "`vane doctor` lists the agent profiles and whether each is installed",
            ),
            E::PlanRefused { runs, .. } => CliError::refused(message).with_hint(format!(
                "nothing was written; the planner's prompts and answers are in {}",
                runs.last()
                    .and_then(|r| r.dir.parent())
                    .map_or_else(|| "the runs directory".to_string(), |d| d.display().to_string())
            )),
            E::Unrunnable(problems) => preflight_problems(
                format!(
                    "{}; nothing was started, and no attempt was charged",
                    would_fail(problems.len())
                ),
                &problems,
            )
            .with_hint(
                "fix them and run `vane work` again; `vane config check` and `vane doctor` list \
                 them too",
            ),
            E::Interrupted => CliError::new(ErrorKind::Interrupted, message),
            E::BrokenGate { .. } => CliError::refused(message).with_hint(
                "fix the gate or the base branch (`vane gate` runs the gates on your working tree), then run `vane work` again; the task's branch is kept and is gated again",
            ),
            E::WorktreeRootInRepository { .. } => CliError::refused(message).with_hint(
                "set `worktree_root` in vane.toml to a folder outside every repository (by default vane uses one under ~/.local/share/vane, which must not be inside a repository either)",
            ),
            E::UnexplainedBaseMove { .. } => CliError::refused(message).with_hint(
                "look at the commit (`git show <commit>`): if it is yours, run `vane work` again; if an agent made it, move the branch back (`git update-ref refs/heads/<branch> <expected>`)",
            ),
            E::PausedTooLong { untracked, .. } => CliError::refused(message).with_hint(format!(
                "commit those changes, or put them aside with `{}` (`git stash pop` brings them back), then run `vane work`: what passed its gates waits in review and is gated again before it lands",
                if untracked { "git stash -u" } else { "git stash" }
            )),
            E::NotAwaitingApproval(_) => CliError::refused(message).with_hint(
                "`vane task show <task>` says what it waits for; only a candidate that changes a protected path waits for `vane approve`",
            ),
            E::UnknownExecutor { .. } => CliError::refused(message).with_hint(
                "define it as [executor.NAME] in vane.toml (`vane config show` lists them), or use `--executor local`",
            ),
            E::Remote(_) => CliError::new(ErrorKind::Environment, message).with_hint(
                "check that the remote can be reached (`git ls-remote <remote>`) and written to",
            ),
            E::Faults(_) => CliError::internal(message).with_hint(
                "fix what stopped vane (`vane doctor` checks the repository, the disk and the worktrees), then run `vane work` again",
            ),
            E::Agent(_) | E::Lock(_) | E::WorkerGone(_) | E::GateSetup(_) | E::Io { .. } => {
                CliError::internal(message)
            }
        }
    }
}
