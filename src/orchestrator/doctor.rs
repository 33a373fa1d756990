//! `vane doctor`: checks that vane can work here and that its state is whole (the configuration,
//! the agents and gate programs `vane work` would start, the database, that the database and git
//! agree, the work lock, the worktrees), and says what to do about each problem it finds. It only reads (opening the
//! database migrates it, as every command does): every fix is left to the person, or to the
//! command it names.

use std::path::Path;

use serde::Serialize;

use super::lock::{self, LockError, LockState};
use super::preflight;
use super::Result;
use crate::config::{self, Config};
use crate::git::cli::comparable_path;
use crate::git::integrity::{classify_worktree_dir, vane_refs, WorktreeState, BROKEN_PREFIX};
use crate::git::{Git, RepoLocation};
use crate::model::{format_bytes, short_commit, CheckpointKind, TaskStatus};
use crate::store::{Store, StoreError, TaskFilter, Unusable, SCHEMA_VERSION};
use crate::workspace::{self, DATABASE_FILE};

/// Worktrees taking more disk than this are worth a `vane gc` even while a batch may want them.
const WORKTREES_WORTH_GC: u64 = 1 << 30;

/// One finding: what was checked, whether it is well, and what to do when it is not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What was checked: `config`, `agent claude`, `database`, `checkpoint 3`, ...
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// What to do about a problem; on a check that passed, a suggestion (or nothing).
    pub fix: Option<String>,
}

impl Check {
    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn problem(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            check: check.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Runs every check on the repository containing `start`. Fails only when that is no repository
/// vane could work in at all; everything else is a finding.
pub fn doctor(start: &Path) -> Result<Vec<Check>> {
    let location = RepoLocation::discover(start)?;
    let state_dir = workspace::state_dir(&location);
    let mut checks = Vec::new();
    let config = check_config(&location, &mut checks);
    let store = open_store(&location, &state_dir.join(DATABASE_FILE), &mut checks);
    if let Some(config) = &config {
        check_runnable(&location, config, store.as_ref(), &mut checks);
    }
    checks.push(check_confinement(config.as_ref()));
    let lock = lock::inspect(&state_dir);
    let batch_running = matches!(lock, Ok(LockState::Held { .. }));
    let git = match Git::open(&location.workdir) {
        Ok(git) => Some(git),
        Err(e) => {
            checks.push(Check::problem(
                "git",
                format!("cannot run git here: {e}"),
                "check that git is installed and that `git status` works in this repository",
            ));
            None
        }
    };
    if let Some(store) = &store {
        check_database(store, &mut checks);
        if let Some(git) = &git {
            let base = config
                .as_ref()
                .and_then(|c| c.base_branch.clone())
                .or_else(|| location.branch.clone());
            if let Some(base) = &base {
                checks.push(check_base_history(store, git, base, &state_dir));
            }
            check_agreement(store, git, base, &mut checks);
            check_checkpoint_refs(store, git, &mut checks);
        }
        check_ref_moves(store, batch_running, &mut checks);
        check_checkout_moves(store, batch_running, &mut checks);
        if let (Some(git), false) = (&git, batch_running) {
            let base = config
                .as_ref()
                .and_then(|c| c.base_branch.clone())
                .or_else(|| location.branch.clone())
                .unwrap_or_default();
            checks.push(check_stale_locks(git, &base));
        }
    }
    checks.push(check_lock(lock, &state_dir));
    if let Some(git) = &git {
        let root = crate::workspace::worktree_root_of(&location, &config.unwrap_or_default());
        checks.push(check_worktrees(git, &root, batch_running));
        check_worktree_integrity(&location, &root, &mut checks);
    }
    checks.push(check_hooks(&location));
    Ok(checks)
}

/// Informational: whether agents and gates run confined by the kernel (Landlock), and why not. Not
/// a problem either way: where the kernel cannot, vane's other checks hold.
fn check_confinement(config: Option<&Config>) -> Check {
    const NAME: &str = "confinement";
    if config.is_some_and(|c| !c.confine) {
        return Check::ok(
            NAME,
            "off (`confine = false` in vane.toml): agents and gates run unconfined",
        );
    }
    match crate::agent::confine::status() {
        Ok(abi) => Check::ok(
            NAME,
            format!(
                "agents and gates run confined ({abi}): they write only to their worktree, what a \
                 commit on their own branch needs, a private TMPDIR and what their profile \
                 declares{}",
                abi.gap().map(|gap| format!("; {gap}")).unwrap_or_default()
            ),
        ),
        Err(why) => Check {
            check: NAME.to_string(),
            ok: true,
            detail: format!("agents and gates run unconfined: {why}"),
            fix: Some(
                "vane relies on its other checks (the reference-transaction hook, the merge \
                 queue's compare-and-swap); a kernel with Landlock (Linux 5.19 or later) confines \
                 agents"
                    .to_string(),
            ),
        },
    }
}

fn check_config(location: &RepoLocation, checks: &mut Vec<Check>) -> Option<Config> {
    match Config::load(&location.workdir) {
        Ok(config) => {
            let detail = if location.workdir.join(config::FILE_NAME).is_file() {
                format!(
                    "{} parses: {} gate{}, {} agent profile{} defined or changed",
                    config::FILE_NAME,
                    config.gates.len(),
                    plural(config.gates.len()),
                    config.agents.len(),
                    plural(config.agents.len()),
                )
            } else {
                format!("no {}; the defaults apply", config::FILE_NAME)
            };
            checks.push(Check::ok("config", detail));
            Some(config)
        }
        Err(e) => {
            checks.push(Check::problem(
                "config",
                e.to_string(),
                format!(
                    "correct {} where the message says; the file `vane init` writes describes \
                     every key (see the README); the agent checks wait until it parses",
                    config::FILE_NAME
                ),
            ));
            None
        }
    }
}

/// What `vane work` checks before its first claim (see `preflight`): one check per agent profile
/// it may start, and one per gate whose program is missing.
fn check_runnable(
    location: &RepoLocation,
    config: &Config,
    store: Option<&Store>,
    checks: &mut Vec<Check>,
) {
    let tasks = match store.map(preflight::startable_tasks).transpose() {
        Ok(tasks) => tasks.unwrap_or_default(),
        Err(e) => {
            checks.push(Check::problem(
                "agents",
                format!("cannot read the tasks' agent profiles: {e}"),
                "see the database check",
            ));
            Vec::new()
        }
    };
    let problems = preflight::check_tasks(location, config, &tasks);
    for (name, uses) in preflight::profiles_in_use(config, &tasks) {
        let subject = format!("agent {name}");
        let mine: Vec<_> = problems.iter().filter(|p| p.subject == subject).collect();
        if mine.is_empty() {
            let program = config.profile(&name).map(|p| p.program).unwrap_or_default();
            checks.push(Check::ok(
                subject,
                format!(
                    "runs `{program}`, installed; used by {}",
                    preflight::describe_uses(&uses)
                ),
            ));
        }
        for problem in mine {
            checks.push(preflight_check(problem));
        }
    }
    let gate_problems: Vec<_> = problems
        .iter()
        .filter(|p| p.subject.starts_with("gate "))
        .collect();
    let commands = config.gates.iter().filter(|g| g.command.is_some()).count();
    if gate_problems.is_empty() && commands > 0 {
        checks.push(Check::ok(
            "gates",
            format!(
                "the program{} of {commands} command gate{} can start",
                plural(commands),
                plural(commands)
            ),
        ));
    }
    for problem in gate_problems {
        checks.push(preflight_check(problem));
    }
}

fn preflight_check(problem: &preflight::PreflightProblem) -> Check {
    let detail = match problem.location() {
        Some(location) => format!("{} ({location})", problem.message),
        None => problem.message.clone(),
    };
    Check::problem(problem.subject.clone(), detail, problem.fix.clone())
}

/// Opens the database as a reading command does (read-only when the repository cannot be
/// written); a database that is gone or cannot be used is weighed against vane's refs.
fn open_store(location: &RepoLocation, path: &Path, checks: &mut Vec<Check>) -> Option<Store> {
    let refs = || vane_refs(&location.common_dir).unwrap_or_default();
    match Store::open_to_read(path) {
        Ok(store) => Some(store),
        Err(StoreError::Missing(_)) => {
            let refs = refs();
            checks.push(if refs.is_empty() {
                Check::problem(
                    "database",
                    format!(
                        "vane is not set up in this repository: no {}",
                        path.display()
                    ),
                    "run `vane init`",
                )
            } else {
                Check::problem(
                    "database",
                    format!(
                        "there is no {}, but this repository has vane's refs ({}): the task \
                         graph they belong to is gone",
                        path.display(),
                        refs.describe()
                    ),
                    lost_database_fix(path),
                )
            });
            None
        }
        Err(StoreError::Unusable { problem, .. }) => {
            let refs = refs();
            let mut detail = format!("{} {problem}", path.display());
            if !refs.is_empty() {
                detail.push_str(&format!(
                    ", but this repository has vane's refs ({}): the task graph they belong to \
                     is not in it",
                    refs.describe()
                ));
            }
            let fix = match problem {
                Unusable::Empty if refs.is_empty() => "vane's refs are not here, so it \
                     probably never held anything: `vane init` makes a new database in it (if it \
                     did hold tasks, put a backup back first)"
                    .to_string(),
                Unusable::Unreadable(_) => damaged_database_fix(path),
                _ => lost_database_fix(path),
            };
            checks.push(Check::problem("database", detail, fix));
            None
        }
        Err(e @ StoreError::NewerSchema { .. }) => {
            checks.push(Check::problem(
                "schema",
                e.to_string(),
                "use a newer vane with this repository (`vane --version` shows this one)",
            ));
            None
        }
        Err(e @ StoreError::NoAccess { .. }) => {
            checks.push(Check::problem(
                "database",
                e.to_string(),
                format!(
                    "check who owns {} and its permissions (`ls -l`)",
                    path.display()
                ),
            ));
            None
        }
        Err(e @ StoreError::ReadOnlyOutdated { .. }) => {
            checks.push(Check::problem(
                "schema",
                e.to_string(),
                format!(
                    "run any vane command once as a user who may write {} (it migrates the \
                     database)",
                    path.parent().unwrap_or(path).display()
                ),
            ));
            None
        }
        Err(e) => {
            checks.push(Check::problem(
                "database",
                format!("cannot open {}: {e}", path.display()),
                damaged_database_fix(path),
            ));
            None
        }
    }
}

fn damaged_database_fix(path: &Path) -> String {
    format!(
        "keep a copy of {path}, then recover what SQLite can read: \
         `sqlite3 {path} .recover | sqlite3 recovered.db` and put recovered.db in its place; \
         or start over with an empty task graph: `vane init --force-new-database` moves the file \
         aside (to vane.db.broken-<time>) and the checkpoint refs to refs/vane/broken/<time>/",
        path = path.display()
    )
}

fn lost_database_fix(path: &Path) -> String {
    format!(
        "put a copy from before (a backup) back at {}, while no vane runs; or start over with an \
         empty task graph: `vane init --force-new-database` moves the file aside (to \
         vane.db.broken-<time>) and the checkpoint refs to refs/vane/broken/<time>/, deleting \
         nothing",
        path.display()
    )
}

fn check_database(store: &Store, checks: &mut Vec<Check>) {
    checks.push(match store.integrity_check() {
        Ok(lines) if lines == ["ok"] => Check::ok(
            "database",
            format!(
                "{}: integrity check passed{}",
                store.path().display(),
                if store.is_read_only() {
                    " (opened read-only: this repository cannot be written by this user)"
                } else {
                    ""
                }
            ),
        ),
        Ok(lines) => Check::problem(
            "database",
            format!(
                "{}: the integrity check found problems: {}",
                store.path().display(),
                lines.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
            ),
            damaged_database_fix(store.path()),
        ),
        Err(e) => Check::problem(
            "database",
            format!(
                "{}: the integrity check failed: {e}",
                store.path().display()
            ),
            damaged_database_fix(store.path()),
        ),
    });
    checks.push(match store.schema_version() {
        Ok(version) if version == SCHEMA_VERSION => Check::ok(
            "schema",
            format!("version {version}, the one this vane writes"),
        ),
        Ok(version) => Check::problem(
            "schema",
            format!("version {version}, where this vane writes {SCHEMA_VERSION}"),
            "run any vane command that opens the database (`vane status`): it migrates it",
        ),
        Err(e) => Check::problem(
            "schema",
            format!("cannot read the schema version: {e}"),
            damaged_database_fix(store.path()),
        ),
    });
}

/// Promise 4: every done task's landing is on base, and every checkpoint's ref holds its commit.
fn check_agreement(store: &Store, git: &Git, base: Option<String>, checks: &mut Vec<Check>) {
    let Some(base) = base else {
        checks.push(Check::problem(
            "base",
            "HEAD is detached here and vane.toml sets no `base_branch`, so there is no base \
             branch to check the landings against",
            "check out the branch work lands on, or set `base_branch` in vane.toml",
        ));
        return;
    };
    let tip = match git.branch_tip(&base) {
        Ok(Some(tip)) => tip,
        Ok(None) => {
            checks.push(Check::problem(
                "base",
                format!("the base branch `{base}` does not exist"),
                "set `base_branch` in vane.toml to a branch that exists",
            ));
            return;
        }
        Err(e) => {
            checks.push(Check::problem(
                "base",
                format!("cannot read `{base}`: {e}"),
                "check the repository with `git fsck`",
            ));
            return;
        }
    };
    let checkpoints = match store.checkpoints() {
        Ok(checkpoints) => checkpoints,
        Err(e) => {
            checks.push(Check::problem(
                "checkpoints",
                format!("cannot read the checkpoints: {e}"),
                damaged_database_fix(store.path()),
            ));
            Vec::new()
        }
    };
    let done = match store.tasks(&TaskFilter {
        statuses: vec![TaskStatus::Done],
        parent: None,
    }) {
        Ok(done) => done,
        Err(e) => {
            checks.push(Check::problem(
                "landings",
                format!("cannot read the done tasks: {e}"),
                damaged_database_fix(store.path()),
            ));
            Vec::new()
        }
    };
    // When base sits exactly at a checkpoint, rolling back to it changes no commit on base and
    // sets the task states to match it: the cure for a base moved back on purpose.
    let rollback_to = checkpoints
        .iter()
        .rev()
        .find(|c| c.sha.as_str() == tip)
        .map(|c| c.id);
    let mut landing_problems = 0;
    for task in &done {
        let id = &task.id;
        let problem = match &task.landed_sha {
            None => Some((
                format!("`{id}` is done, but no landing commit is recorded"),
                "roll back to a checkpoint from before it was done (`vane checkpoints`, \
                 `vane rollback <n>`); it becomes pending and lands again"
                    .to_string(),
            )),
            Some(sha) => match on_base(git, sha, &tip) {
                Ok(Landing::OnBase) => None,
                Ok(Landing::Gone) => Some((
                    format!(
                        "`{id}` is done, but its landing commit {} is not in the repository",
                        short_commit(sha)
                    ),
                    "roll back to a checkpoint from before it landed (`vane checkpoints`, \
                     `vane rollback <n>`); it becomes pending and lands again"
                        .to_string(),
                )),
                Ok(Landing::NotOnBase) => Some((
                    format!(
                        "`{id}` is done, but its landing commit {} is not on {base}: {base} \
                         was moved back or rewritten outside vane",
                        short_commit(sha)
                    ),
                    match rollback_to {
                        Some(n) => format!(
                            "if {base} was moved back on purpose, `vane rollback {n}` (the \
                             checkpoint {base} is at now) makes the task states match it and \
                             `{id}` lands again in the next batch; if by mistake, `git merge {}` \
                             on {base} brings the landing back",
                            short_commit(sha)
                        ),
                        None => format!(
                            "if {base} was moved back by mistake, `git merge {}` on {base} brings \
                             the landing back; otherwise roll back to a checkpoint from before it \
                             landed (`vane checkpoints`, `vane rollback <n>`), which makes `{id}` \
                             pending again",
                            short_commit(sha)
                        ),
                    },
                )),
                Err(e) => Some((
                    format!("cannot check the landing of `{id}`: {e}"),
                    "check the repository with `git fsck`".to_string(),
                )),
            },
        };
        if let Some((detail, fix)) = problem {
            landing_problems += 1;
            checks.push(Check::problem(format!("landing {id}"), detail, fix));
        }
    }
    if landing_problems == 0 {
        checks.push(Check::ok(
            "landings",
            format!(
                "{} done task{}, every landing on {base}",
                done.len(),
                plural(done.len())
            ),
        ));
    }
    let mut checkpoint_problems = 0;
    for checkpoint in &checkpoints {
        let (id, refname, sha) = (checkpoint.id, &checkpoint.refname, checkpoint.sha.as_str());
        let problem = match git.rev_parse(refname) {
            Ok(Some(at)) if at == sha => None,
            Ok(Some(at)) => Some((
                format!(
                    "{refname} points at {}, not at the checkpoint's commit {}",
                    short_commit(&at),
                    short_commit(sha)
                ),
                format!("`git update-ref {refname} {sha}` puts it back"),
            )),
            Ok(None) => Some(match on_base(git, sha, &tip) {
                Ok(Landing::Gone) => (
                    format!(
                        "{refname} is missing, and its commit {} is gone from the repository",
                        short_commit(sha)
                    ),
                    format!(
                        "nothing brings the commit back: a rollback to checkpoint {id} is no \
                         longer possible (the other checkpoints are unaffected)"
                    ),
                ),
                _ => (
                    format!(
                        "{refname} is missing; git may drop its commit {}",
                        short_commit(sha)
                    ),
                    format!(
                        "run `vane work`, which re-creates missing checkpoint refs when it \
                         starts, or now: `git update-ref {refname} {sha}`"
                    ),
                ),
            }),
            Err(e) => Some((
                format!("cannot read {refname}: {e}"),
                "check the repository with `git fsck`".to_string(),
            )),
        };
        if let Some((detail, fix)) = problem {
            checkpoint_problems += 1;
            checks.push(Check::problem(format!("checkpoint {id}"), detail, fix));
        }
    }
    if checkpoint_problems == 0 {
        checks.push(Check::ok(
            "checkpoints",
            format!(
                "{} checkpoint{}, each ref in place",
                checkpoints.len(),
                plural(checkpoints.len())
            ),
        ));
    }
}

enum Landing {
    OnBase,
    NotOnBase,
    /// The commit is not in the repository.
    Gone,
}

fn on_base(git: &Git, sha: &str, tip: &str) -> Result<Landing, crate::git::GitError> {
    if git.rev_parse(&format!("{sha}^{{commit}}"))?.is_none() {
        return Ok(Landing::Gone);
    }
    Ok(if git.is_ancestor(sha, tip)? {
        Landing::OnBase
    } else {
        Landing::NotOnBase
    })
}

/// The other half of promise 4: every checkpoint ref names a checkpoint the database knows. One
/// that it does not (a database put back from an older copy) holds the name the next checkpoint
/// takes, and the landing that makes that checkpoint would fail.
fn check_checkpoint_refs(store: &Store, git: &Git, checks: &mut Vec<Check>) {
    const PREFIX: &str = "refs/vane/checkpoints/";
    let refs = match git.refs_under(PREFIX) {
        Ok(refs) => refs,
        Err(e) => {
            checks.push(Check::problem(
                "checkpoint refs",
                format!("cannot list {PREFIX}*: {e}"),
                "check the repository with `git fsck`",
            ));
            return;
        }
    };
    let known: std::collections::HashSet<String> = match store.checkpoints() {
        Ok(checkpoints) => checkpoints.into_iter().map(|c| c.refname).collect(),
        // check_agreement said so already.
        Err(_) => return,
    };
    let mut unknown = 0;
    for (refname, sha) in &refs {
        if known.contains(refname) {
            continue;
        }
        unknown += 1;
        let n = refname.strip_prefix(PREFIX).unwrap_or(refname);
        let kept = format!("{BROKEN_PREFIX}unknown/checkpoints/{n}");
        checks.push(Check::problem(
            format!("checkpoint ref {n}"),
            format!(
                "{refname} (at {}) names no checkpoint the database knows (was the database \
                 put back from an older copy?); the next checkpoint with that number could not \
                 be recorded",
                short_commit(sha)
            ),
            format!(
                "if the database is the right one, keep the commit under another name and free \
                 the name: `git update-ref {kept} {sha} && git update-ref -d {refname} {sha}`; if \
                 a newer copy of the database exists, put that back instead"
            ),
        ));
    }
    if unknown == 0 {
        checks.push(Check::ok(
            "checkpoint refs",
            format!(
                "{} under {PREFIX}, each a checkpoint the database knows",
                refs.len()
            ),
        ));
    }
}

/// Every directory under the worktree root is a worktree of this repository (checked both ways):
/// not one whose `.git` an agent removed or replaced, nor one of a repository that is gone.
fn check_worktree_integrity(location: &RepoLocation, root: &Path, checks: &mut Vec<Check>) {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            checks.push(Check::problem(
                "worktree integrity",
                format!("cannot read {}: {e}", root.display()),
                format!("check that {} can be read", root.display()),
            ));
            return;
        }
    };
    let mut dirs: Vec<_> = entries.flatten().map(|entry| entry.path()).collect();
    dirs.sort();
    let mut sound = 0;
    for dir in &dirs {
        let state = classify_worktree_dir(&location.common_dir, dir);
        let fix = match &state {
            WorktreeState::Ours { .. } => {
                sound += 1;
                continue;
            }
            WorktreeState::Missing => continue,
            WorktreeState::NotAWorktree {
                registered: Some(_),
            }
            | WorktreeState::BrokenGitFile {
                registered: Some(_),
                ..
            } => "`vane work` rebuilds it; or `vane gc` puts its `.git` file back, keeps its \
                  uncommitted changes on its task branch and removes it"
                .to_string(),
            WorktreeState::OwnRepository { .. } => format!(
                "the repository made there may hold an agent's commits: look at them \
                 (`git -C {dir} log --all`), then `rm -rf {dir}/.git`; `vane work` then rebuilds \
                 the worktree, or `vane gc` removes it keeping its uncommitted changes",
                dir = dir.display()
            ),
            WorktreeState::Orphaned { .. } => "`vane gc` removes it (`vane gc --all-repos` does \
                 so for every repository that is gone); `vane work` makes a new worktree"
                .to_string(),
            WorktreeState::NotAWorktree { registered: None }
            | WorktreeState::BrokenGitFile {
                registered: None, ..
            }
            | WorktreeState::Misdirected { .. }
            | WorktreeState::NotADirectory => format!(
                "git knows no worktree there, so vane leaves it alone: look at what it holds, \
                 then remove it (`rm -rf {}`); `vane work` makes a new worktree",
                dir.display()
            ),
            WorktreeState::OtherRepository { .. } | WorktreeState::Main => format!(
                "it is not this repository's to remove: move it out of {}, or give this \
                 repository a `worktree_root` of its own in vane.toml",
                root.display()
            ),
        };
        checks.push(Check::problem(
            format!(
                "worktree {}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ),
            format!("{}: {}", dir.display(), state.describe()),
            fix,
        ));
    }
    if sound == dirs.len() {
        checks.push(Check::ok(
            "worktree integrity",
            format!(
                "{sound} under {}, each a worktree of this repository",
                root.display()
            ),
        ));
    }
}

/// Ref moves written down before git made them and never marked finished: a landing or rollback
/// stopped halfway. `vane work` settles them first thing; while it runs they are its own.
fn check_ref_moves(store: &Store, batch_running: bool, checks: &mut Vec<Check>) {
    checks.push(match store.open_ref_moves() {
        Ok(moves) if moves.is_empty() => Check::ok("ref moves", "none unfinished"),
        Ok(moves) => {
            let list = moves
                .iter()
                .map(|m| match &m.task {
                    Some(task) => format!("{} of {} ({})", m.purpose, m.refname, task),
                    None => format!("{} of {}", m.purpose, m.refname),
                })
                .collect::<Vec<_>>();
            if batch_running {
                Check::ok(
                    "ref moves",
                    format!(
                        "{} in progress ({}): a batch is running",
                        moves.len(),
                        list_some(&list)
                    ),
                )
            } else {
                Check::problem(
                    "ref moves",
                    format!(
                        "{} ref move{} written down but never finished ({}): a landing or \
                         rollback stopped halfway",
                        moves.len(),
                        plural(moves.len()),
                        list_some(&list)
                    ),
                    "run `vane work`: before anything else it completes each move git made \
                     and voids each one git did not",
                )
            }
        }
        Err(e) => Check::problem(
            "ref moves",
            format!("cannot read them: {e}"),
            damaged_database_fix(store.path()),
        ),
    });
}

/// Lock files a killed vane (or its git) left, which make every later update of that ref or index
/// fail; only looked for while no batch runs, since a running one holds some for a moment.
fn check_stale_locks(git: &Git, base: &str) -> Check {
    match super::recovery::stale_locks(git, base) {
        Ok(locks) if locks.is_empty() => Check::ok("lock files", "none left behind"),
        Ok(locks) => {
            let list: Vec<String> = locks.iter().map(|l| l.display().to_string()).collect();
            Check::problem(
                "lock files",
                format!(
                    "{} lock file{} left by a process that died: {}",
                    locks.len(),
                    plural(locks.len()),
                    list_some(&list)
                ),
                "run `vane work`: it removes the ones a dead run of vane left before anything else",
            )
        }
        Err(e) => Check::problem(
            "lock files",
            format!("cannot look for them: {e}"),
            "see the database check",
        ),
    }
}

/// Commits on base since vane's first batch that neither a landing or rollback of vane's (a
/// checkpoint) nor a person's move (written down by the `reference-transaction` hook) explains:
/// what an agent that went round every check would leave.
fn check_base_history(store: &Store, git: &Git, base: &str, state_dir: &Path) -> Check {
    let found = (|| -> Result<Vec<String>> {
        let checkpoints = store.checkpoints()?;
        let Some(first) = checkpoints
            .iter()
            .find(|c| c.kind == CheckpointKind::BatchStart)
        else {
            return Ok(Vec::new());
        };
        let Some(tip) = git.branch_tip(base)? else {
            return Ok(Vec::new());
        };
        let mut explained: std::collections::HashSet<String> =
            checkpoints.iter().map(|c| c.sha.to_string()).collect();
        explained.extend(
            store
                .tasks(&TaskFilter::default())?
                .into_iter()
                .filter_map(|t| t.landed_sha),
        );
        // A landing a crash cut short is vane's too (the ref moves check reports it).
        explained.extend(store.open_ref_moves()?.into_iter().map(|m| m.new_sha));
        for (old, new) in super::hooks::person_moves(state_dir, &format!("refs/heads/{base}")) {
            if git.rev_parse(&format!("{new}^{{commit}}"))?.is_some() {
                explained.insert(new.clone());
                if git.rev_parse(&format!("{old}^{{commit}}"))?.is_some() {
                    explained.extend(git.first_parent_commits(&old, &new)?);
                }
            }
        }
        Ok(git
            .first_parent_commits(first.sha.as_str(), &tip)?
            .into_iter()
            .filter(|c| !explained.contains(c))
            .collect())
    })();
    match found {
        Ok(unexplained) if unexplained.is_empty() => Check::ok(
            "base history",
            format!("every commit on {base} since vane's first batch is a landing or a person's"),
        ),
        Ok(unexplained) => {
            let short: Vec<String> = unexplained
                .iter()
                .map(|c| short_commit(c).to_string())
                .collect();
            Check::problem(
                "base history",
                format!(
                    "{} commit{} on {base} that no landing and no person's commit explains: {}",
                    unexplained.len(),
                    plural(unexplained.len()),
                    list_some(&short)
                ),
                format!(
                    "look at each (`git show <commit>`): a commit of yours made without vane's hooks \
                     is fine; one an agent made went round the gates: move {base} back with \
                     `vane rollback <checkpoint>`"
                ),
            )
        }
        Err(e) => Check::problem(
            "base history",
            format!("cannot read it: {e}"),
            "see the git and database checks",
        ),
    }
}

/// Checkouts of base that vane began to bring along and never finished: a crash or a full disk
/// midway. Every file in them is whole (see `git::checkout_move`); `vane work` finishes the move.
fn check_checkout_moves(store: &Store, batch_running: bool, checks: &mut Vec<Check>) {
    checks.push(match store.open_checkout_moves() {
        Ok(moves) if moves.is_empty() => Check::ok("checkout moves", "none unfinished"),
        Ok(moves) if batch_running => Check::ok(
            "checkout moves",
            format!("{} in progress: a batch is running", moves.len()),
        ),
        Ok(moves) => {
            let list: Vec<String> = moves
                .iter()
                .map(|m| {
                    format!(
                        "{} from {} to {}",
                        m.workdir.display(),
                        short_commit(&m.old_sha),
                        short_commit(&m.new_sha)
                    )
                })
                .collect();
            Check::problem(
                "checkout moves",
                format!(
                    "{} checkout{} of the base branch left part way ({}): the branch moved, and \
                     bringing the files along stopped (a crash, or a full disk)",
                    moves.len(),
                    plural(moves.len()),
                    list_some(&list)
                ),
                "make room on the disk if it is full, then run `vane work`: it finishes bringing \
                 each checkout along before anything else",
            )
        }
        Err(e) => Check::problem(
            "checkout moves",
            format!("cannot read them: {e}"),
            damaged_database_fix(store.path()),
        ),
    });
}

fn check_lock(lock: Result<LockState, LockError>, state_dir: &Path) -> Check {
    let path = state_dir.join("work.lock");
    match lock {
        Ok(LockState::Free) => Check::ok("work lock", "free: no batch is running"),
        Ok(LockState::Held { pid, started }) => Check::ok(
            "work lock",
            format!("held by pid {pid}, started {started}: a batch is running"),
        ),
        Ok(LockState::Stale { pid, started }) => Check::problem(
            "work lock",
            format!(
                "{} names pid {pid} (started {started}), which no longer holds it: that run \
                 stopped without finishing",
                path.display()
            ),
            "run `vane work`: it takes the lock over and recovers what that run left \
             (unfinished attempts and landings, work in its worktrees)",
        ),
        Err(e) => Check::problem(
            "work lock",
            e.to_string(),
            format!("check that {} can be read", path.display()),
        ),
    }
}

/// Informational: how many of vane's worktrees there are and the disk they take, and the disk the
/// run directories take (prompts, agent output, gate logs), with a suggestion to collect them when
/// no batch needs them or when they grow big.
fn check_worktrees(git: &Git, root: &Path, batch_running: bool) -> Check {
    /// Run directories taking more than this are worth a `vane gc --keep-days`.
    const RUNS_WORTH_GC: u64 = 1 << 30;
    let worktrees = match git.list_worktrees() {
        Ok(worktrees) => worktrees,
        Err(e) => {
            return Check::problem(
                "worktrees",
                format!("cannot list the worktrees: {e}"),
                "check that `git worktree list` works here",
            )
        }
    };
    let root = comparable_path(root);
    let ours = worktrees
        .iter()
        .skip(1)
        .filter(|w| comparable_path(&w.path).parent() == Some(root.as_path()))
        .count();
    let gone = worktrees.iter().filter(|w| w.prunable).count();
    let bytes = if root.is_dir() {
        super::gc::disk_usage(&root)
    } else {
        0
    };
    let mut detail = if ours == 0 {
        format!("none under {}", root.display())
    } else {
        format!(
            "{ours} under {}, taking {}",
            root.display(),
            format_bytes(bytes)
        )
    };
    if gone > 0 {
        detail.push_str(&format!(
            "; {gone} registration{} of worktrees whose directory is gone",
            plural(gone)
        ));
    }
    let runs = git.common_dir().join(workspace::STATE_DIR).join("runs");
    let run_bytes = if runs.is_dir() {
        super::gc::disk_usage(&runs)
    } else {
        0
    };
    detail.push_str(&format!(
        "; the run directories (prompts, agent output, gate logs) in {} take {}",
        runs.display(),
        format_bytes(run_bytes)
    ));
    let mut check = Check::ok("worktrees", detail);
    if (ours > 0 && !batch_running) || bytes > WORKTREES_WORTH_GC || gone > 0 {
        check.fix = Some(if batch_running {
            "when the batch is over, `vane gc` removes them (keeping any work that has not landed)"
                .to_string()
        } else {
            "`vane gc` removes them, keeping any work that has not landed; the next `vane work` \
             makes new ones"
                .to_string()
        });
    }
    if run_bytes > RUNS_WORTH_GC && !batch_running {
        let collect = "`vane gc --keep-days 7` also removes the run directories not written to in \
                       a week, of tasks that are done and of earlier attempts";
        check.fix = Some(match check.fix.take() {
            Some(fix) => format!("{fix}; {collect}"),
            None => collect.to_string(),
        });
    }
    check
}

/// Whether vane's hook shims are in the directory git runs hooks from (`core.hooksPath`
/// honoured), and whether a hook of the person's sits where a shim should be.
fn check_hooks(location: &RepoLocation) -> Check {
    use super::hooks::{self, HookState};
    let report = match Git::open(&location.workdir).map_err(super::OrchestratorError::from) {
        Ok(git) => hooks::status(&git),
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            return Check::problem(
                "hooks",
                format!("cannot read the hooks directory: {e}"),
                "check that git works here (`git rev-parse --git-path hooks`)",
            )
        }
    };
    let missing: Vec<String> = report
        .hooks
        .iter()
        .filter(|h| h.state == HookState::Missing)
        .map(|h| h.name.clone())
        .collect();
    let foreign: Vec<String> = report
        .hooks
        .iter()
        .filter(|h| h.state == HookState::Foreign)
        .map(|h| h.name.clone())
        .collect();
    if !foreign.is_empty() {
        return Check::problem(
            "hooks",
            format!(
                "{} in {} {} not vane's",
                foreign.join(", "),
                report.dir.display(),
                if foreign.len() == 1 { "is" } else { "are" }
            ),
            "`vane hooks install` keeps yours beside vane's (as <name>.vane-kept, run first)",
        );
    }
    if !missing.is_empty() {
        return Check::problem(
            "hooks",
            format!(
                "{} not installed in {}",
                missing.join(", "),
                report.dir.display()
            ),
            "`vane hooks install`",
        );
    }
    let kept = report.hooks.iter().filter(|h| h.kept.is_some()).count();
    Check::ok(
        "hooks",
        format!(
            "{} installed in {}{}",
            hooks::GIT_HOOKS.join(", "),
            report.dir.display(),
            if kept > 0 {
                format!("; {kept} of yours kept and run first")
            } else {
                String::new()
            }
        ),
    )
}

/// Up to four items, then how many more.
fn list_some(items: &[String]) -> String {
    const SHOWN: usize = 4;
    if items.len() <= SHOWN {
        return items.join(", ");
    }
    format!(
        "{} and {} more",
        items[..SHOWN].join(", "),
        items.len() - SHOWN
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<String> = (1..=6).map(|i| format!("t{i}")).collect();
        assert_eq!(list_some(&items[..2]), "t1, t2");
        assert_eq!(list_some(&items), "t1, t2, t3, t4 and 2 more");
    }
}
