//! Preflight: the problems of the project that would fail every attempt, found before one is spent.
//!
//! An agent profile that does not exist, whose command line cannot be built (`{promt}` for
//! `{prompt}`), or whose program is not installed, and a gate whose program is missing, are vane's
//! or the project's to fix, never a task's (promise 9): charged to attempts, they would block every
//! task in turn with the same reason. So `vane work` refuses to start with all of them listed
//! (`refuse_unrunnable`), and `vane config check` and `vane doctor` report the same list. The work
//! loop's check at claim time stays, for what changes while a batch runs.
//!
//! `check` is pure but for what it asks of a `Lookup` (is this program installed, is this file in
//! the repository), so that its rules are tested with tables.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::{OrchestratorError, Result};
use crate::agent::{AgentError, Profile, TemplateVars};
use crate::config::{Config, Sources};
use crate::git::{Git, RepoLocation};
use crate::model::{Task, TaskStatus, TaskType};
use crate::store::{Store, TaskFilter};
use crate::workspace::Workspace;

/// One problem that would fail every attempt that meets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightProblem {
    /// What it concerns, as `vane doctor` names its checks: `agent claude`, `gate lint`.
    pub subject: String,
    /// What is wrong, and for a profile who uses it.
    pub message: String,
    /// The key of vane.toml it comes from, dotted as `vane config check` names keys
    /// (`agents.mine.command`, `gate[2].command`, `default_agent`); none for a task's own `agent`.
    pub key: Option<String>,
    /// The line of that key in vane.toml, when known.
    pub line: Option<usize>,
    /// What to do about it.
    pub fix: String,
}

impl PreflightProblem {
    /// Where in vane.toml: `vane.toml line 8, `agents.mine.command``, or nothing.
    pub fn location(&self) -> Option<String> {
        let file = crate::config::FILE_NAME;
        match (self.line, &self.key) {
            (Some(line), Some(key)) => Some(format!("{file} line {line}, `{key}`")),
            (None, Some(key)) => Some(format!("{file} `{key}`")),
            (Some(line), None) => Some(format!("{file} line {line}")),
            (None, None) => None,
        }
    }
}

impl fmt::Display for PreflightProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location() {
            Some(location) => write!(f, "{} ({location}): {}", self.subject, self.message),
            None => write!(f, "{}: {}", self.subject, self.message),
        }
    }
}

/// `N problems of the project would fail every attempt`, to head a list of them.
pub fn would_fail(count: usize) -> String {
    match count {
        1 => "1 problem of the project would fail every attempt".to_string(),
        n => format!("{n} problems of the project would fail every attempt"),
    }
}

/// What the checks ask of the machine and the repository.
pub trait Lookup {
    /// Whether `program` can be started: a bare name found on PATH, or an absolute path to an
    /// executable file.
    fn program_installed(&self, program: &str) -> bool;
    /// Whether `path` (relative to the repository root, `/`-separated) is in the base branch's
    /// tree or in the working tree.
    fn in_repository(&self, path: &str) -> bool;
}

/// Who makes `vane work` start a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileUse {
    DefaultAgent,
    EscalateTo,
    /// A critic gate, by its index in the configuration (from 0).
    Critic {
        index: usize,
        gate: String,
    },
    /// A `[[route]]`, by its index in the configuration (from 0).
    Route(usize),
    /// `[extend]`: the planner that extends the roadmap while a batch runs.
    Extend,
    Task(crate::model::TaskId),
}

impl ProfileUse {
    /// The key of vane.toml that names the profile, and its line.
    fn key(&self, sources: Option<&Sources>) -> (Option<String>, Option<usize>) {
        match self {
            ProfileUse::DefaultAgent => (
                Some("default_agent".to_string()),
                sources.and_then(|s| s.top("default_agent")),
            ),
            ProfileUse::EscalateTo => (
                Some("escalate_to".to_string()),
                sources.and_then(|s| s.top("escalate_to")),
            ),
            ProfileUse::Critic { index, .. } => (
                Some(format!("gate[{}].agent", index + 1)),
                sources.and_then(|s| s.gate(*index, Some("agent"))),
            ),
            ProfileUse::Route(index) => (
                Some(format!("route[{}].agent", index + 1)),
                sources.and_then(|s| s.route(*index, Some("agent"))),
            ),
            // Named by `[extend]`'s `agent`, else by `planner`, else by default.
            ProfileUse::Extend => {
                let at = |key: &str, line: Option<usize>| (Some(key.to_string()), line);
                match sources {
                    Some(s) if s.extend(Some("agent")).is_some() => {
                        at("extend.agent", s.extend(Some("agent")))
                    }
                    Some(s) if s.top("planner").is_some() => at("planner", s.top("planner")),
                    _ => at("extend", sources.and_then(|s| s.extend(None))),
                }
            }
            ProfileUse::Task(_) => (None, None),
        }
    }
}

impl fmt::Display for ProfileUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileUse::DefaultAgent => f.write_str("default_agent"),
            ProfileUse::EscalateTo => f.write_str("escalate_to"),
            ProfileUse::Critic { gate, .. } => write!(f, "gate `{gate}`"),
            ProfileUse::Route(index) => write!(f, "route {}", index + 1),
            ProfileUse::Extend => f.write_str("[extend]"),
            ProfileUse::Task(id) => write!(f, "task `{id}`"),
        }
    }
}

/// Every profile `vane work` may start with these tasks, each with who uses it: `default_agent`,
/// `escalate_to`, the critic gates' `agent`, each `[[route]]`'s `agent` (a task added while the
/// batch runs may match any), the planner of `[extend]`, and the tasks' own `agent` (epics run no
/// agent).
pub fn profiles_in_use(config: &Config, tasks: &[Task]) -> BTreeMap<String, Vec<ProfileUse>> {
    let mut uses: BTreeMap<String, Vec<ProfileUse>> = BTreeMap::new();
    uses.entry(config.default_agent.clone())
        .or_default()
        .push(ProfileUse::DefaultAgent);
    if let Some(name) = &config.escalate_to {
        uses.entry(name.clone())
            .or_default()
            .push(ProfileUse::EscalateTo);
    }
    for (index, gate) in config.gates.iter().enumerate() {
        if let Some(name) = &gate.agent {
            uses.entry(name.clone())
                .or_default()
                .push(ProfileUse::Critic {
                    index,
                    gate: gate.name.clone(),
                });
        }
    }
    for (index, route) in config.routes.iter().enumerate() {
        uses.entry(route.agent.clone())
            .or_default()
            .push(ProfileUse::Route(index));
    }
    if let Some(name) = config.extend_agent() {
        uses.entry(name.to_string())
            .or_default()
            .push(ProfileUse::Extend);
    }
    for task in tasks.iter().filter(|t| t.kind != TaskType::Epic) {
        if let Some(name) = &task.agent {
            uses.entry(name.clone())
                .or_default()
                .push(ProfileUse::Task(task.id.clone()));
        }
    }
    uses
}

/// Who uses a profile, for a message: up to four, then how many more.
pub fn describe_uses(uses: &[ProfileUse]) -> String {
    const SHOWN: usize = 4;
    let words: Vec<String> = uses.iter().map(ToString::to_string).collect();
    if words.len() <= SHOWN {
        return words.join(", ");
    }
    format!(
        "{} and {} more",
        words[..SHOWN].join(", "),
        words.len() - SHOWN
    )
}

/// Every problem that would fail every attempt: of each profile in use (see `profiles_in_use`),
/// and of each command gate's program. `sources` gives the lines of vane.toml, when known.
pub fn check(
    config: &Config,
    sources: Option<&Sources>,
    tasks: &[Task],
    lookup: &dyn Lookup,
) -> Vec<PreflightProblem> {
    let mut problems = Vec::new();
    for (name, uses) in profiles_in_use(config, tasks) {
        check_profile(config, sources, &name, &uses, lookup, &mut problems);
    }
    for (index, gate) in config.gates.iter().enumerate() {
        if let Some(command) = &gate.command {
            check_gate(config, sources, index, command, lookup, &mut problems);
        }
    }
    problems
}

fn check_profile(
    config: &Config,
    sources: Option<&Sources>,
    name: &str,
    uses: &[ProfileUse],
    lookup: &dyn Lookup,
    problems: &mut Vec<PreflightProblem>,
) {
    let used_by = describe_uses(uses);
    let subject = format!("agent {name}");
    // Where vane.toml names the profile, for a profile it does not define: the first use written
    // there, else the first with a key (`default_agent` has its default).
    let keys: Vec<_> = uses.iter().map(|u| u.key(sources)).collect();
    let (use_key, use_line) = keys
        .iter()
        .find(|(key, line)| key.is_some() && line.is_some())
        .or_else(|| keys.iter().find(|(key, _)| key.is_some()))
        .cloned()
        .unwrap_or((None, None));
    let tasks_use_it = uses.iter().any(|u| matches!(u, ProfileUse::Task(_)));
    let Some(profile) = config.profile(name) else {
        let mut fix = format!(
            "define it in vane.toml under [agents.{name}] with a `command`, or name a built-in \
             profile ({}) instead",
            Profile::BUILTIN.join(", ")
        );
        if tasks_use_it {
            fix.push_str(
                "; a pending task takes another `agent` from `vane import`, and `vane task block` \
                 leaves one out",
            );
        }
        problems.push(PreflightProblem {
            subject,
            message: format!(
                "no such profile: it is neither built in nor defined in vane.toml; used by \
                 {used_by}"
            ),
            key: use_key,
            line: use_line,
            fix,
        });
        return;
    };
    // Where its command line is written, when vane.toml writes it; else where it is named.
    let configured = config
        .agents
        .get(name)
        .and_then(|a| a.command.as_ref())
        .is_some();
    let (key, line) = if configured {
        (
            Some(format!("agents.{name}.command")),
            sources.and_then(|s| s.agent(name, "command")),
        )
    } else {
        (use_key, use_line)
    };
    let here = (key, line);
    let mut push = |at: &(Option<String>, Option<usize>), message: String, fix: String| {
        problems.push(PreflightProblem {
            subject: subject.clone(),
            message,
            key: at.0.clone(),
            line: at.1,
            fix,
        });
    };
    let change_command = format!("change `command` under [agents.{name}] in vane.toml");

    // The command line, built as an attempt builds it: a worker's attempt has a task's `run`
    // (whether a given task has one is the claim's to say), a critic none.
    let works = uses.iter().any(|u| !matches!(u, ProfileUse::Critic { .. }));
    let critic = uses
        .iter()
        .find(|u| matches!(u, ProfileUse::Critic { .. }))
        .map(|u| u.key(sources));
    let mut built = None;
    if works {
        if let Err(e) = profile.argv(&sample_vars(Some("true"))) {
            built = Some(e.to_string());
            push(
                &here,
                format!("{e}; used by {used_by}"),
                change_command.clone(),
            );
        }
    }
    if let Some(critic) = critic {
        match profile.read_only().argv(&sample_vars(None)) {
            Err(AgentError::NoRunCommand { .. }) => push(
                if configured { &here } else { &critic },
                format!(
                    "its command line needs `{{run}}`, a task's own command, which a critic \
                     gate has none of; used by {used_by}"
                ),
                format!(
                    "give the critic gate a profile that reviews (built in: claude, codex, \
                     aider, gemini), or make it a `command` gate; or {change_command}"
                ),
            ),
            Err(e) if built.as_deref() != Some(e.to_string().as_str()) => {
                push(
                    &here,
                    format!("{e}; used by {used_by}"),
                    change_command.clone(),
                );
            }
            _ => {}
        }
    }

    // A program written with a placeholder is known only at attempt time.
    if profile.program.contains('{') {
        return;
    }
    let program = &profile.program;
    let (message, fix) = match find_program(program, lookup) {
        Found::Yes | Found::CannotTell => return,
        Found::NotOnPath => (
            format!("runs `{program}`, which is not installed (not found on PATH)"),
            format!("install `{program}` or put it on PATH, or {change_command}"),
        ),
        Found::NotAFile => (
            format!("runs `{program}`, which is not an executable file"),
            format!("make `{program}` executable, or {change_command}"),
        ),
        Found::NotInRepository => (
            format!(
                "runs `{program}`, which is neither in the base branch nor in the working tree \
                 (agents run at the root of a worktree)"
            ),
            format!("commit `{program}`, or {change_command}"),
        ),
    };
    push(&here, format!("{message}; used by {used_by}"), fix);
}

fn check_gate(
    config: &Config,
    sources: Option<&Sources>,
    index: usize,
    command: &str,
    lookup: &dyn Lookup,
    problems: &mut Vec<PreflightProblem>,
) {
    let Some(program) = first_program(command) else {
        return;
    };
    let gate = &config.gates[index];
    let found = find_program(&program, lookup);
    // `setup` runs in every new worktree before its first task, and may make what a gate runs
    // (`./node_modules/.bin/eslint`): a path in the repository is then not for preflight to judge.
    if found == Found::NotInRepository && config.setup.is_some() {
        return;
    }
    let change = "or change the gate's `command` in vane.toml".to_string();
    let (message, fix) = match found {
        Found::Yes | Found::CannotTell => return,
        Found::NotOnPath => (
            format!("runs `{program}`, which is not installed (not found on PATH)"),
            format!("install `{program}` or put it on PATH for vane, {change}"),
        ),
        Found::NotAFile => (
            format!("runs `{program}`, which is not an executable file"),
            format!("make `{program}` executable, {change}"),
        ),
        Found::NotInRepository => (
            format!(
                "runs `{program}`, which is neither in the base branch nor in the working tree \
                 (gates run at the root of a worktree holding the candidate)"
            ),
            format!("commit `{program}`, {change}"),
        ),
    };
    problems.push(PreflightProblem {
        subject: format!("gate {}", gate.name),
        message: if command.trim() == program {
            message
        } else {
            format!("`{}` {message}", command.trim())
        },
        key: Some(format!("gate[{}].command", index + 1)),
        line: sources.and_then(|s| s.gate(index, Some("command")).or(s.gate(index, None))),
        fix,
    });
}

/// Values for building a command line once, to see that it can be built.
fn sample_vars(run: Option<&str>) -> TemplateVars<'_> {
    TemplateVars {
        prompt: "the prompt",
        prompt_file: Path::new("/vane/runs/T1/1/prompt.md"),
        task_id: "T1",
        worktree: Path::new("/vane/worktrees/w1"),
        run,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Yes,
    /// A bare name found in no directory on PATH.
    NotOnPath,
    /// An absolute path that is no executable file.
    NotAFile,
    /// A path relative to the worktree that the repository does not hold.
    NotInRepository,
    /// A path that leaves the repository (`../tool`): where it leads depends on the worktree.
    CannotTell,
}

/// Where a program run at the root of a worktree would come from.
fn find_program(program: &str, lookup: &dyn Lookup) -> Found {
    if !program.contains('/') {
        return if lookup.program_installed(program) {
            Found::Yes
        } else {
            Found::NotOnPath
        };
    }
    let path = Path::new(program);
    if path.is_absolute() {
        return if lookup.program_installed(program) {
            Found::Yes
        } else {
            Found::NotAFile
        };
    }
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return Found::CannotTell,
        }
    }
    if parts.is_empty() || lookup.in_repository(&parts.join("/")) {
        Found::Yes
    } else {
        Found::NotInRepository
    }
}

/// Words `sh` runs without looking for a program: builtins and reserved words. A command that
/// starts with one is not judged (`cd sub && make` may be fine).
const SHELL_WORDS: &[&str] = &[
    ".", ":", "[", "[[", "{", "alias", "bg", "break", "case", "cd", "continue", "declare", "do",
    "done", "echo", "elif", "else", "esac", "eval", "exit", "export", "false", "fg", "fi", "for",
    "function", "getopts", "hash", "if", "jobs", "kill", "let", "local", "printf", "pwd", "read",
    "readonly", "return", "select", "set", "shift", "source", "test", "then", "time", "times",
    "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "until", "wait",
    "while",
];

/// The program the first simple command of a shell command line runs, which runs whatever the
/// rest does: its first word after any `NAME=value` assignments (and after `!`, `exec` or
/// `command`), unquoted. None when it is a builtin or a reserved word, or when it cannot be told
/// without running the shell: an expansion (`$LINTER`, `$(...)`, a glob, `~`), a subshell, a
/// redirection first.
pub fn first_program(command: &str) -> Option<String> {
    let mut rest = command;
    loop {
        rest = skip_blanks_and_comments(rest);
        let (word, after) = shell_word(rest)?;
        rest = after;
        match word {
            Word::Assignment => continue,
            Word::Literal(text) if matches!(text.as_str(), "!" | "exec" | "command") => {
                // `command -v x` and `exec -a name x` take options: then nothing is said.
                if skip_blanks_and_comments(rest).starts_with('-') {
                    return None;
                }
                continue;
            }
            Word::Literal(text) if text.is_empty() || SHELL_WORDS.contains(&text.as_str()) => {
                return None
            }
            Word::Literal(text) => return Some(text),
        }
    }
}

enum Word {
    /// `NAME=value`: an assignment for the command that follows.
    Assignment,
    /// A word with its quotes removed, holding no expansion.
    Literal(String),
}

fn skip_blanks_and_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start_matches([' ', '\t', '\n']);
        if let Some(rest) = text.strip_prefix("\\\n") {
            text = rest;
        } else if text.starts_with('#') {
            text = text.find('\n').map_or("", |at| &text[at..]);
        } else {
            return text;
        }
    }
}

/// The shell word at the start of `text`, and what follows it; None when it cannot be read
/// without running the shell (see `first_program`).
fn shell_word(text: &str) -> Option<(Word, &str)> {
    let is_name = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut literal = String::new();
    // Whether all of the word so far was unquoted, for `NAME=` and for a leading `~`.
    let mut plain = true;
    let mut assignment = false;
    let mut expands = false;
    let mut chars = text.char_indices().peekable();
    let mut end = text.len();
    while let Some((at, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => {
                end = at;
                break;
            }
            '\\' => {
                plain = false;
                match chars.next() {
                    Some((_, '\n')) | None => {}
                    Some((_, next)) => literal.push(next),
                }
            }
            '\'' => {
                plain = false;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => literal.push(c),
                        None => return None,
                    }
                }
            }
            '"' => {
                plain = false;
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c @ ('$' | '`' | '"' | '\\'))) => literal.push(c),
                            Some((_, '\n')) => {}
                            Some((_, c)) => {
                                literal.push('\\');
                                literal.push(c);
                            }
                            None => return None,
                        },
                        Some((_, '`')) => return None,
                        Some((_, '$')) => {
                            if chars.peek().is_some_and(|(_, c)| *c == '(') {
                                return None;
                            }
                            expands = true;
                        }
                        Some((_, c)) => literal.push(c),
                        None => return None,
                    }
                }
            }
            // Command substitution may hold blanks and quotes of its own: the word's end is the
            // shell's to find.
            '`' => return None,
            '$' => {
                if chars.peek().is_some_and(|(_, c)| *c == '(') {
                    return None;
                }
                expands = true;
            }
            '=' if plain && !assignment && is_name(&literal) => {
                assignment = true;
                literal.push(c);
            }
            '*' | '?' | '[' if !assignment => {
                expands = true;
                literal.push(c);
            }
            '~' if plain && literal.is_empty() => {
                expands = true;
                literal.push(c);
            }
            c => literal.push(c),
        }
    }
    if end == 0 {
        // An operator first: a subshell, a redirection, an empty command.
        return None;
    }
    let rest = &text[end..];
    if assignment {
        return Some((Word::Assignment, rest));
    }
    if expands {
        return None;
    }
    Some((Word::Literal(literal), rest))
}

/// The machine and the repository as they are.
struct RepositoryLookup {
    workdir: PathBuf,
    git: Option<Git>,
    /// The tip of the base branch, when there is one.
    base: Option<String>,
}

impl RepositoryLookup {
    fn new(location: &RepoLocation, config: &Config) -> RepositoryLookup {
        let git = Git::open(&location.workdir).ok();
        let branch = config
            .base_branch
            .clone()
            .or_else(|| location.branch.clone());
        let base = match (&git, branch) {
            (Some(git), Some(branch)) => git.branch_tip(&branch).ok().flatten(),
            _ => None,
        };
        RepositoryLookup {
            workdir: location.workdir.clone(),
            git,
            base,
        }
    }
}

impl Lookup for RepositoryLookup {
    fn program_installed(&self, program: &str) -> bool {
        crate::agent::program_available(program)
    }

    fn in_repository(&self, path: &str) -> bool {
        if self.workdir.join(path).exists() {
            return true;
        }
        match (&self.git, &self.base) {
            (Some(git), Some(base)) => git
                .rev_parse(&format!("{base}:{path}"))
                .ok()
                .flatten()
                .is_some(),
            _ => false,
        }
    }
}

/// The tasks `vane work` may start an agent for: not done, not blocked (a person releases those
/// with `vane task retry`), and not epics.
pub fn startable_tasks(store: &Store) -> Result<Vec<Task>> {
    let tasks = store.tasks(&TaskFilter {
        statuses: vec![
            TaskStatus::Pending,
            TaskStatus::InProgress,
            TaskStatus::NeedsReview,
            TaskStatus::NeedsImprovement,
        ],
        parent: None,
    })?;
    Ok(tasks
        .into_iter()
        .filter(|t| t.kind != TaskType::Epic)
        .collect())
}

/// Every problem of the repository at `location` with `config`, for its startable tasks when
/// vane is set up there (`store`), for the configuration alone when not.
pub fn check_repository(
    location: &RepoLocation,
    config: &Config,
    store: Option<&Store>,
) -> Result<Vec<PreflightProblem>> {
    let tasks = match store {
        Some(store) => startable_tasks(store)?,
        None => Vec::new(),
    };
    Ok(check_tasks(location, config, &tasks))
}

/// Every problem of the repository at `location` with `config` and these tasks. The lines of
/// vane.toml are read again, and given when the file holds this very configuration.
pub fn check_tasks(
    location: &RepoLocation,
    config: &Config,
    tasks: &[Task],
) -> Vec<PreflightProblem> {
    let sources = Config::load_checked(&location.workdir)
        .ok()
        .filter(|loaded| loaded.checked.config.as_ref() == Some(config))
        .map(|loaded| loaded.checked.sources);
    let lookup = RepositoryLookup::new(location, config);
    check(config, sources.as_ref(), tasks, &lookup)
}

/// Refuses, with every problem listed, when a profile `vane work` would start or a gate it would
/// run cannot start: nothing is claimed, so no attempt is charged for it. For the work loop,
/// before its first claim.
pub fn refuse_unrunnable(workspace: &Workspace, config: &Config) -> Result<()> {
    let problems = check_repository(&workspace.location, config, Some(&workspace.store))?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(OrchestratorError::Unrunnable(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeLookup {
        installed: &'static [&'static str],
        files: &'static [&'static str],
    }

    impl Lookup for FakeLookup {
        fn program_installed(&self, program: &str) -> bool {
            self.installed.contains(&program)
        }
        fn in_repository(&self, path: &str) -> bool {
            self.files.contains(&path)
        }
    }

    const SH_ONLY: FakeLookup = FakeLookup {
        installed: &["sh"],
        files: &[],
    };

    fn task(id: &str, agent: Option<&str>, kind: TaskType) -> Task {
        Task {
            kind,
            run: Some("true".to_string()),
            agent: agent.map(str::to_string),
            ..Task::example(id)
        }
    }

    /// The problems of a vane.toml and tasks, each as `subject (location): message | fix`.
    fn problems(toml: &str, tasks: &[Task], lookup: &FakeLookup) -> Vec<String> {
        let checked = Config::check(toml);
        let config = checked.config.expect("the test's vane.toml is fine");
        check(&config, Some(&checked.sources), tasks, lookup)
            .iter()
            .map(|p| format!("{p} | {}", p.fix))
            .collect()
    }

    #[test]
    fn a_runnable_project_has_no_problems() {
        let toml = "\
default_agent = \"mine\"
[agents.mine]
command = [\"mine\", \"--prompt-file\", \"{prompt_file}\", \"{{literal}}\"]
[[gate]]
name = \"tests\"
command = \"RUST_LOG=debug cargo test\"
[[gate]]
name = \"lint\"
command = \"./scripts/lint --all\"
[[gate]]
name = \"builtin\"
command = \"cd sub && make\"
[[gate]]
name = \"expansion\"
command = \"$LINTER src\"
";
        let lookup = FakeLookup {
            installed: &["sh", "mine", "cargo"],
            files: &["scripts/lint"],
        };
        let tasks = [task("t", Some("shell"), TaskType::Task)];
        assert_eq!(problems(toml, &tasks, &lookup), Vec::<String>::new());
    }

    #[test]
    fn each_problem_names_its_profile_or_gate_where_it_is_written_and_a_fix() {
        let cases: &[(&str, &[Task], &str)] = &[
            (
                "default_agent = \"mine\"\n[agents.mine]\ncommand = [\"mine\", \"{promt}\"]\n",
                &[],
                "agent mine (vane.toml line 3, `agents.mine.command`): agent profile `mine`: \
                 unknown placeholder `{promt}` in argument `{promt}`; the placeholders are \
                 {prompt}, {prompt_file}, {task_id}, {worktree} and {run} (write `{{` and `}}` \
                 for literal braces); used by default_agent | change `command` under \
                 [agents.mine] in vane.toml",
            ),
            (
                "[agents.mine]\ncommand = [\"mine\", \"--x={prompt\"]\n",
                &[task("t", Some("mine"), TaskType::Task)],
                "agent mine (vane.toml line 2, `agents.mine.command`): agent profile `mine`: \
                 unmatched `{` in argument `--x={prompt` (write `{{` and `}}` for literal \
                 braces); used by task `t` | change `command` under [agents.mine] in vane.toml",
            ),
            (
                "",
                &[task("t", Some("nobody"), TaskType::Task)],
                "agent nobody: no such profile: it is neither built in nor defined in vane.toml; \
                 used by task `t` | define it in vane.toml under [agents.nobody] with a \
                 `command`, or name a built-in profile (shell, claude, codex, aider, gemini) \
                 instead; a pending task takes another `agent` from `vane import`, and `vane \
                 task block` leaves one out",
            ),
            (
                "workers = 2\ndefault_agent = \"claude\"\n",
                &[],
                "agent claude (vane.toml line 2, `default_agent`): runs `claude`, which is not \
                 installed (not found on PATH); used by default_agent | install `claude` or put \
                 it on PATH, or change `command` under [agents.claude] in vane.toml",
            ),
            (
                "escalate_after = 2\nescalate_to = \"codex\"\n",
                &[],
                "agent codex (vane.toml line 2, `escalate_to`): runs `codex`, which is not \
                 installed (not found on PATH); used by escalate_to | install `codex` or put it \
                 on PATH, or change `command` under [agents.codex] in vane.toml",
            ),
            (
                "[agents.local]\ncommand = [\"./bin/agent\", \"{prompt_file}\"]\n",
                &[task("t", Some("local"), TaskType::Task)],
                "agent local (vane.toml line 2, `agents.local.command`): runs `./bin/agent`, \
                 which is neither in the base branch nor in the working tree (agents run at the \
                 root of a worktree); used by task `t` | commit `./bin/agent`, or change \
                 `command` under [agents.local] in vane.toml",
            ),
            (
                "[agents.abs]\ncommand = [\"/opt/nothing/agent\"]\n",
                &[task("t", Some("abs"), TaskType::Task)],
                "agent abs (vane.toml line 2, `agents.abs.command`): runs `/opt/nothing/agent`, \
                 which is not an executable file; used by task `t` | make `/opt/nothing/agent` \
                 executable, or change `command` under [agents.abs] in vane.toml",
            ),
            (
                "[[gate]]\nname = \"review\"\nagent = \"shell\"\n",
                &[],
                "agent shell (vane.toml line 3, `gate[1].agent`): its command line needs \
                 `{run}`, a task's own command, which a critic gate has none of; used by \
                 default_agent, gate `review` | give the critic gate a profile that reviews \
                 (built in: claude, codex, aider, gemini), or make it a `command` gate; or \
                 change `command` under [agents.shell] in vane.toml",
            ),
            (
                "[[gate]]\nname = \"lint\"\ndimension = \"style\"\ncommand = \"ruff check src\"\n",
                &[],
                "gate lint (vane.toml line 4, `gate[1].command`): `ruff check src` runs `ruff`, \
                 which is not installed (not found on PATH) | install `ruff` or put it on PATH \
                 for vane, or change the gate's `command` in vane.toml",
            ),
            (
                "[[gate]]\nname = \"a\"\ncommand = \"true\"\n[[gate]]\nname = \"lint\"\n\
                 command = \"./scripts/lint\"\n",
                &[],
                "gate lint (vane.toml line 6, `gate[2].command`): runs `./scripts/lint`, which is neither in the base branch nor in the working tree \
                 (gates run at the root of a worktree holding the candidate) | commit \
                 `./scripts/lint`, or change the gate's `command` in vane.toml",
            ),
        ];
        let lookup = FakeLookup {
            installed: &["sh", "mine"],
            files: &[],
        };
        for (toml, tasks, expected) in cases {
            assert_eq!(problems(toml, tasks, &lookup), [*expected], "{toml}");
        }
    }

    #[test]
    fn what_cannot_be_judged_before_running_is_left_to_the_attempt() {
        for toml in [
            // `setup` may make what the gate runs.
            "setup = \"npm ci\"\n[[gate]]\nname = \"l\"\ncommand = \"./node_modules/.bin/eslint\"\n",
            // Out of the repository: where it leads depends on the worktree.
            "[[gate]]\nname = \"l\"\ncommand = \"../tools/lint\"\n",
            // A program that is a placeholder.
            "default_agent = \"w\"\n[agents.w]\ncommand = [\"{worktree}/bin/agent\"]\n",
        ] {
            assert_eq!(problems(toml, &[], &SH_ONLY), Vec::<String>::new(), "{toml}");
        }
    }

    #[test]
    fn a_profile_is_checked_once_with_every_user_named() {
        let tasks: Vec<Task> = (1..=6)
            .map(|i| task(&format!("t{i}"), Some("ghost"), TaskType::Task))
            .chain([task("epic", Some("ghost"), TaskType::Epic)])
            .collect();
        let found = problems("", &tasks, &SH_ONLY);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("used by task `t1`, task `t2`, task `t3`, task `t4` and 2 more"),
            "{found:?}"
        );
        // An epic runs no agent.
        let found = problems("", &[task("e", Some("ghost"), TaskType::Epic)], &SH_ONLY);
        assert_eq!(found, Vec::<String>::new());
        // A profile broken in two ways says both.
        let found = problems(
            "default_agent = \"two\"\n[agents.two]\ncommand = [\"two\", \"{nope}\"]\n",
            &[],
            &SH_ONLY,
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("unknown placeholder `{nope}`"),
            "{found:?}"
        );
        assert!(
            found[1].contains("runs `two`, which is not installed"),
            "{found:?}"
        );
    }

    #[test]
    fn the_profiles_of_routes_and_of_the_extension_are_checked_too() {
        let not_installed = |program: &str, at: &str, user: &str| {
            format!(
                "agent {program} (vane.toml {at}): runs `{program}`, which is not installed (not \
                 found on PATH); used by {user} | install `{program}` or put it on PATH, or \
                 change `command` under [agents.{program}] in vane.toml"
            )
        };
        for (toml, expected) in [
            (
                "[[route]]\ntype = \"bug\"\nagent = \"codex\"\n[[route]]\nagent = \"codex\"\n",
                not_installed("codex", "line 3, `route[1].agent`", "route 1, route 2"),
            ),
            (
                "[extend]\nevery = 2\n",
                not_installed("claude", "line 1, `extend`", "[extend]"),
            ),
            (
                "planner = \"gemini\"\n[extend]\n",
                not_installed("gemini", "line 1, `planner`", "[extend]"),
            ),
            (
                "planner = \"gemini\"\n[extend]\nagent = \"aider\"\n",
                not_installed("aider", "line 3, `extend.agent`", "[extend]"),
            ),
        ] {
            assert_eq!(problems(toml, &[], &SH_ONLY), [expected], "{toml}");
        }
        // Without [extend], the planner is `vane plan`'s alone: not for `vane work` to check.
        assert_eq!(
            problems("planner = \"gemini\"\n", &[], &SH_ONLY),
            Vec::<String>::new()
        );
        let checked = Config::check("[[route]]\nagent = \"codex\"\n");
        let uses = profiles_in_use(&checked.config.expect("fine"), &[]);
        assert_eq!(uses["codex"], [ProfileUse::Route(0)]);
    }

    #[test]
    fn without_sources_the_key_is_still_named() {
        let config = Config {
            default_agent: "claude".to_string(),
            ..Config::default()
        };
        let found = check(&config, None, &[], &SH_ONLY);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key.as_deref(), Some("default_agent"));
        assert_eq!(found[0].line, None);
        assert!(
            found[0]
                .to_string()
                .starts_with("agent claude (vane.toml `default_agent`): "),
            "{}",
            found[0]
        );
    }

    #[test]
    fn the_first_program_of_a_shell_command() {
        let cases: &[(&str, Option<&str>)] = &[
            ("ruff check src", Some("ruff")),
            ("  cargo test", Some("cargo")),
            ("RUST_LOG=debug cargo test", Some("cargo")),
            (
                "FOO=1 BAR='a b' ./scripts/lint --fix",
                Some("./scripts/lint"),
            ),
            ("HOME=$HOME/x ruff", Some("ruff")),
            ("\"./my script\" x", Some("./my script")),
            ("'ruff' check", Some("ruff")),
            ("ru\\ff check", Some("ruff")),
            ("ruff;echo done", Some("ruff")),
            ("ruff>out.txt", Some("ruff")),
            ("ruff|tee log", Some("ruff")),
            ("# lint first\nruff check", Some("ruff")),
            ("\\\n  ruff check", Some("ruff")),
            ("! grep -rq TODO .", Some("grep")),
            ("exec ruff check", Some("ruff")),
            ("command ruff check", Some("ruff")),
            ("command -v ruff && ruff check", None),
            ("cd sub && make", None),
            ("test -f a.txt", None),
            ("[ -f a.txt ]", None),
            ("true", None),
            ("echo '{\"score\": 1}'", None),
            ("if true; then ruff; fi", None),
            ("{ ruff; }", None),
            ("(cd x && ruff)", None),
            ("$LINTER src", None),
            ("\"$LINTER\" src", None),
            ("`which ruff` check", None),
            ("FOO=$(date +%s) ruff", None),
            ("./node_modules/.bin/*lint", None),
            ("~/bin/lint", None),
            (">log ruff", None),
            ("FOO=1", None),
            ("", None),
            ("   \n\t", None),
            ("'unclosed", None),
        ];
        for (command, expected) in cases {
            assert_eq!(
                first_program(command).as_deref(),
                *expected,
                "for {command:?}"
            );
        }
    }

    #[test]
    fn programs_are_found_where_an_attempt_would_look_for_them() {
        let lookup = FakeLookup {
            installed: &["ruff", "/usr/bin/env"],
            files: &["scripts/lint", "bin"],
        };
        for (program, found) in [
            ("ruff", Found::Yes),
            ("mypy", Found::NotOnPath),
            ("/usr/bin/env", Found::Yes),
            ("/usr/bin/nothing", Found::NotAFile),
            ("./scripts/lint", Found::Yes),
            ("scripts/lint", Found::Yes),
            ("./scripts/./lint", Found::Yes),
            ("./scripts/other", Found::NotInRepository),
            ("../scripts/lint", Found::CannotTell),
        ] {
            assert_eq!(find_program(program, &lookup), found, "{program}");
        }
    }
}
