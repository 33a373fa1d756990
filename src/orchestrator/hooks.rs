//! Hooks: vane's git hook shims (installing them beside what a person had, and taking them out
//! again exactly), and what runs when a hook fires (`vane hook <name>`): git's `post-commit`,
//! `pre-merge-commit` and `reference-transaction`, Claude Code's `PostToolUse` and `Stop`, Codex's
//! `notify`.
//!
//! A hook never breaks what called it on a vane error: it says so on stderr and lets git or the
//! agent go on. Only a verdict refuses (a merge that falls short of the gates, a Stop with changes
//! the fast checks reject).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use super::gates::{self, Candidate};
use super::{OrchestratorError, Result};
use crate::config::Config;
use crate::git::{Git, KEPT_SUFFIX, SHIM_MARKER};
use crate::model::TaskId;
use crate::store::NewEvent;
use crate::workspace::{self, Workspace, WorkspaceError};

/// The git hooks vane installs.
pub const GIT_HOOKS: &[&str] = &["post-commit", "pre-merge-commit", "reference-transaction"];

/// Set in an agent's environment: the file its hooks append what they saw to, one JSON object a
/// line, since a confined agent (and everything it starts, its hooks too) cannot write vane's
/// database. The work loop records the lines as the attempt's events once the agent ends.
pub const INBOX_ENV: &str = "VANE_HOOK_INBOX";

/// The directory of an attempt's hook inbox, writable to its agent.
pub fn inbox_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("hooks")
}

/// The inbox file of an attempt.
pub fn inbox(run_dir: &Path) -> PathBuf {
    inbox_dir(run_dir).join("events.jsonl")
}

/// The kinds of event an agent's hooks may report: what the agent did, never a verdict or a state.
const INBOX_KINDS: &[&str] = &["agent_tool", "agent_stop_held", "agent_turn", "commit"];

/// At most this many lines of an inbox are recorded (an agent could write without end).
const INBOX_MAX_LINES: usize = 10_000;

/// At most this much of an inbox is read.
const INBOX_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Records what the hooks of `attempt`'s agent wrote to its inbox, as events of the attempt, and
/// empties it. Lines that are not events of the kinds hooks report are left out.
pub fn import_inbox(
    store: &mut crate::store::Store,
    attempt: &crate::store::Attempt,
    run_dir: &Path,
) -> Result<()> {
    let path = inbox(run_dir);
    let Ok(Some(bytes)) = crate::agent::read_left_file(&path, INBOX_MAX_BYTES) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines().take(INBOX_MAX_LINES) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(kind) = event["kind"].as_str().filter(|k| INBOX_KINDS.contains(k)) else {
            continue;
        };
        store.append_event(&NewEvent {
            kind,
            task: Some(&attempt.task),
            actor: if kind == "agent_stop_held" {
                "vane"
            } else {
                "agent"
            },
            correlation: attempt.correlation.as_deref(),
            data: event["data"].clone(),
        })?;
    }
    std::fs::remove_file(&path).map_err(|e| OrchestratorError::io(&path, e))?;
    Ok(())
}

/// Records an event a hook saw: into the agent's inbox when the hook runs inside an agent (see
/// `INBOX_ENV`), else into the database.
fn record(workspace: &mut Workspace, event: &NewEvent<'_>) -> Result<()> {
    if let Some(inbox) = std::env::var_os(INBOX_ENV) {
        let line = json!({ "kind": event.kind, "data": event.data }).to_string() + "\n";
        let path = PathBuf::from(inbox);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| OrchestratorError::io(dir, e))?;
        }
        return std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()))
            .map_err(|e| OrchestratorError::io(&path, e));
    }
    workspace.store.append_event(event)?;
    Ok(())
}

/// Where the `reference-transaction` hook writes down the branch moves a person makes, in vane's
/// state directory: one line `<unix ms> <old> <new> <ref>` each.
pub const PERSON_MOVES_FILE: &str = "person-moves.log";

/// The shim every git hook is (`hooks/vane-hook.sh`); `@VANE@` becomes the path of the vane that
/// installed it.
const SHIM: &str = include_str!("../../hooks/vane-hook.sh");

/// Set in the environment of vane's own git commands: the shims then do nothing (vane records its
/// own commits itself).
pub const INTERNAL_ENV: &str = "VANE_INTERNAL_GIT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookState {
    /// vane's shim is there.
    Installed,
    /// Nothing is there.
    Missing,
    /// A hook that is not vane's is there.
    Foreign,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookStatus {
    pub name: String,
    pub path: PathBuf,
    pub state: HookState,
    /// The person's own hook, kept beside vane's and run before it.
    pub kept: Option<PathBuf>,
    /// What `install` or `uninstall` did to it, if anything.
    pub action: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HooksReport {
    /// The directory git runs hooks from (`core.hooksPath` or `.git/hooks`).
    pub dir: PathBuf,
    pub hooks: Vec<HookStatus>,
}

/// Whether `path` holds one of vane's shims.
pub fn is_shim(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains(SHIM_MARKER))
}

fn state_of(dir: &Path, name: &str, action: Option<String>) -> HookStatus {
    let path = dir.join(name);
    let kept = dir.join(format!("{name}{KEPT_SUFFIX}"));
    let state = if !path.exists() {
        HookState::Missing
    } else if is_shim(&path) {
        HookState::Installed
    } else {
        HookState::Foreign
    };
    HookStatus {
        name: name.to_string(),
        path,
        state,
        kept: kept.exists().then_some(kept),
        action,
    }
}

/// Where each hook stands.
pub fn status(git: &Git) -> Result<HooksReport> {
    let dir = git.hooks_dir()?;
    let hooks = GIT_HOOKS.iter().map(|n| state_of(&dir, n, None)).collect();
    Ok(HooksReport { dir, hooks })
}

/// Installs the shims; a hook that was there keeps running, first, from `<name>.vane-kept`.
/// Installing again only refreshes vane's shims. `vane` is the executable the shims call.
pub fn install(git: &Git, vane: &Path) -> Result<HooksReport> {
    let dir = git.hooks_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| OrchestratorError::io(&dir, e))?;
    let shim = SHIM.replace("@VANE@", &shell_quote(&vane.display().to_string()));
    let mut hooks = Vec::new();
    for name in GIT_HOOKS {
        let path = dir.join(name);
        let kept = dir.join(format!("{name}{KEPT_SUFFIX}"));
        let action = match state_of(&dir, name, None).state {
            HookState::Installed => "refreshed",
            HookState::Missing => "installed",
            HookState::Foreign if kept.exists() => {
                return Err(OrchestratorError::HookConflict { path, kept });
            }
            HookState::Foreign => {
                std::fs::rename(&path, &kept).map_err(|e| OrchestratorError::io(&path, e))?;
                "installed; the hook that was there runs first"
            }
        };
        write_executable(&path, &shim)?;
        hooks.push(state_of(&dir, name, Some(action.to_string())));
    }
    Ok(HooksReport { dir, hooks })
}

/// `install` in the repository at `workdir`, with shims that call this very vane (what `vane init`
/// does).
pub fn install_here(workdir: &Path) -> Result<HooksReport> {
    let git = Git::open(workdir)?;
    let vane = std::env::current_exe().map_err(|e| OrchestratorError::io(workdir, e))?;
    install(&git, &vane)
}

/// Takes vane's shims out and puts back what was there before; a hook that is not vane's is left
/// alone.
pub fn uninstall(git: &Git) -> Result<HooksReport> {
    let dir = git.hooks_dir()?;
    let mut hooks = Vec::new();
    for name in GIT_HOOKS {
        let path = dir.join(name);
        let kept = dir.join(format!("{name}{KEPT_SUFFIX}"));
        let action = match state_of(&dir, name, None).state {
            HookState::Foreign => "not vane's; left alone".to_string(),
            state => {
                if state == HookState::Installed {
                    std::fs::remove_file(&path).map_err(|e| OrchestratorError::io(&path, e))?;
                }
                if kept.exists() {
                    std::fs::rename(&kept, &path).map_err(|e| OrchestratorError::io(&kept, e))?;
                    "removed; the hook that was there before is back".to_string()
                } else if state == HookState::Installed {
                    "removed".to_string()
                } else {
                    "was not installed".to_string()
                }
            }
        };
        hooks.push(state_of(&dir, name, Some(action)));
    }
    Ok(HooksReport { dir, hooks })
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Named for this process: two vanes installing at once never rename each other's file.
    let tmp = path.with_extension(format!("vane-tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| OrchestratorError::io(&tmp, e))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| OrchestratorError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| OrchestratorError::io(path, e))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

// ---------------------------------------------------------------------------------------------
// What runs when a hook fires

/// What a hook run ends with.
pub struct HookOutcome {
    pub exit_code: u8,
    /// For the caller of the hook to read on stdout (Claude Code reads a Stop decision there).
    pub stdout: Option<String>,
}

impl HookOutcome {
    fn go_on() -> HookOutcome {
        HookOutcome {
            exit_code: 0,
            stdout: None,
        }
    }
}

/// The hooks `vane hook` knows.
pub const HOOK_NAMES: &[&str] = &[
    "git-post-commit",
    "git-pre-merge-commit",
    "git-reference-transaction",
    "claude-post-tool-use",
    "claude-stop",
    "codex-notify",
];

/// Runs hook `name` in `cwd`; `args` are what the caller passed, `stdin` what it wrote.
pub fn run_hook(name: &str, args: &[String], cwd: &Path, stdin: &mut dyn Read) -> HookOutcome {
    if name == "git-reference-transaction" {
        // Before anything else, and without the database: it runs on every ref update.
        return reference_transaction(args, cwd, stdin);
    }
    if std::env::var_os(INTERNAL_ENV).is_some() && name.starts_with("git-") {
        return HookOutcome::go_on();
    }
    // Inside an agent the database is read, never written (its events go to the inbox): a
    // confined agent could not write it anyway.
    let opened = if std::env::var_os(INBOX_ENV).is_some() {
        Workspace::open_to_read(cwd)
    } else {
        Workspace::open(cwd)
    };
    let mut workspace = match opened {
        Ok(workspace) => workspace,
        Err(WorkspaceError::NotInitialised { .. }) | Err(WorkspaceError::Git(_)) => {
            say_once(
                cwd,
                "vane: this repository is not set up for vane (`vane init`); hooks do nothing here",
            );
            return HookOutcome::go_on();
        }
        Err(e) => {
            eprintln!("vane: hook {name}: {e}; going on");
            return HookOutcome::go_on();
        }
    };
    let result = match name {
        "git-post-commit" => post_commit(&mut workspace),
        "git-pre-merge-commit" => pre_merge_commit(&mut workspace),
        "claude-post-tool-use" => read_json(stdin).and_then(|p| tool_used(&mut workspace, &p)),
        "claude-stop" => read_json(stdin).and_then(|p| stop(&mut workspace, &p)),
        "codex-notify" => {
            let payload = args
                .last()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or(Value::Null);
            codex_notify(&mut workspace, &payload)
        }
        other => {
            eprintln!(
                "vane: no hook `{other}`; vane knows {}",
                HOOK_NAMES.join(", ")
            );
            Ok(HookOutcome::go_on())
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("vane: hook {name}: {e}; going on");
        HookOutcome::go_on()
    })
}

/// `reference-transaction`: inside an agent (its environment names its task), any ref update
/// other than its own branch `vane/<task>`, its worktree's own refs and pseudo-refs is refused
/// before git makes it, so that an agent's `git update-ref refs/heads/main` or a commit on a
/// checked-out `main` fails. Outside agents and vane, the branch moves a person makes are written
/// down once made, so that the merge queue can tell them from a move of base that went round
/// this hook (which stops the queue).
fn reference_transaction(args: &[String], cwd: &Path, stdin: &mut dyn Read) -> HookOutcome {
    let phase = args.first().map(String::as_str).unwrap_or("");
    let mut text = String::new();
    if stdin
        .take(16 * 1024 * 1024)
        .read_to_string(&mut text)
        .is_err()
    {
        return HookOutcome::go_on();
    }
    let updates: Vec<(&str, &str, &str)> = text
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            Some((parts.next()?, parts.next()?, parts.next()?))
        })
        .collect();
    if let Ok(task) = std::env::var("VANE_TASK_ID") {
        if phase != "prepared" {
            return HookOutcome::go_on();
        }
        let own = format!("refs/heads/vane/{task}");
        let refused: Vec<&str> = updates
            .iter()
            .map(|(_, _, refname)| *refname)
            .filter(|r| *r != own && r.starts_with("refs/") && !r.starts_with("refs/worktree/"))
            .collect();
        if refused.is_empty() {
            return HookOutcome::go_on();
        }
        eprintln!(
            "vane: an agent may move only its own branch `vane/{task}`; refused: {}",
            refused.join(", ")
        );
        return HookOutcome {
            exit_code: 1,
            stdout: None,
        };
    }
    if std::env::var_os(INTERNAL_ENV).is_some() || phase != "committed" {
        return HookOutcome::go_on();
    }
    let branches: Vec<_> = updates
        .iter()
        .filter(|(_, _, r)| r.starts_with("refs/heads/") && !r.starts_with("refs/heads/vane/"))
        .collect();
    if branches.is_empty() {
        return HookOutcome::go_on();
    }
    let Ok(location) = crate::git::RepoLocation::discover(cwd) else {
        return HookOutcome::go_on();
    };
    let state = workspace::state_dir(&location);
    if !state.is_dir() {
        return HookOutcome::go_on();
    }
    let now = crate::model::now_millis();
    let lines: String = branches
        .iter()
        .map(|(old, new, r)| format!("{now} {old} {new} {r}\n"))
        .collect();
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.join(PERSON_MOVES_FILE))
        .and_then(|mut f| std::io::Write::write_all(&mut f, lines.as_bytes()));
    if let Err(e) = appended {
        eprintln!("vane: cannot write down a branch move ({e}); going on");
    }
    HookOutcome::go_on()
}

/// The moves of `refname` a person made, as the `reference-transaction` hook wrote them down:
/// `(old, new)`, oldest first.
pub fn person_moves(state_dir: &Path, refname: &str) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(state_dir.join(PERSON_MOVES_FILE)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            let (_, old, new, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            (name == refname).then(|| (old.to_string(), new.to_string()))
        })
        .collect()
}

/// Prints `message` the first time only (per repository), so that a missing piece does not
/// repeat on every commit.
fn say_once(cwd: &Path, message: &str) {
    let Ok(repo) = git2::Repository::discover(cwd) else {
        return;
    };
    let marker = repo.commondir().join("vane-hook-not-set-up");
    if !marker.exists() {
        eprintln!("{message}");
        let _ = std::fs::write(&marker, "");
    }
}

fn read_json(stdin: &mut dyn Read) -> Result<Value> {
    let mut text = String::new();
    stdin
        .take(16 * 1024 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| OrchestratorError::io(Path::new("<stdin>"), e))?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The task (and attempt) an agent hook belongs to: vane puts them in the agent's environment.
fn agent_task(workspace: &Workspace) -> Option<(TaskId, Option<u32>)> {
    let task = TaskId::new(std::env::var("VANE_TASK_ID").ok()?).ok()?;
    workspace.store.task(&task).ok()?;
    let attempt = std::env::var("VANE_ATTEMPT")
        .ok()
        .and_then(|a| a.parse().ok());
    Some((task, attempt))
}

/// `post-commit`: a commit on a `vane/<task>` branch becomes an event of that task at once.
fn post_commit(workspace: &mut Workspace) -> Result<HookOutcome> {
    let Some(task) = workspace
        .location
        .branch
        .as_deref()
        .and_then(|b| b.strip_prefix("vane/"))
        .and_then(|id| TaskId::new(id).ok())
    else {
        return Ok(HookOutcome::go_on());
    };
    if workspace.store.task(&task).is_err() {
        return Ok(HookOutcome::go_on());
    }
    let (sha, subject) = crate::git::head_summary(&workspace.location.workdir)?;
    record(
        workspace,
        &NewEvent {
            kind: "commit",
            task: Some(&task),
            actor: "git",
            correlation: None,
            data: json!({ "sha": sha, "subject": subject, "branch": task.branch() }),
        },
    )?;
    Ok(HookOutcome::go_on())
}

/// `pre-merge-commit`: a merge of a `vane/<task>` branch made by hand runs the task's gates on
/// exactly the merge about to be committed; a merge that falls short is refused with the verdict.
fn pre_merge_commit(workspace: &mut Workspace) -> Result<HookOutcome> {
    let merging = crate::git::merge_heads(&workspace.location.workdir)?;
    let branches = crate::git::vane_branch_tips(&workspace.location.workdir)?;
    let Some((task, _)) = branches.into_iter().find(|(_, tip)| merging.contains(tip)) else {
        return Ok(HookOutcome::go_on());
    };
    let config = Config::load(&workspace.location.workdir)?;
    if config.gates.is_empty() {
        return Ok(HookOutcome::go_on());
    }
    if let (Some(base), Some(here)) = (&config.base_branch, &workspace.location.branch) {
        if base != here {
            return Ok(HookOutcome::go_on());
        }
    }
    let git = Git::open(&workspace.location.workdir)?;
    let head = git.head(&workspace.location.workdir)?;
    let candidate = crate::git::commit_index_as_merge(&workspace.location.workdir, &merging)?;
    let result = gates::gate_commit(workspace, &git, &config, &task, &candidate, &head)?;
    let decision = &result.report.decision;
    if decision.passed {
        eprintln!(
            "vane: the gates pass the merge of {task} ({:.2} against {:.2})",
            decision.overall, decision.threshold
        );
        return Ok(HookOutcome::go_on());
    }
    eprintln!(
        "vane: the merge of {task} falls short of its gates, so git will not commit it:\n{}\n\
         (`git merge --abort` gives it up; `vane gate {task}` runs the gates again)",
        result.report.feedback()
    );
    Ok(HookOutcome {
        exit_code: 1,
        stdout: None,
    })
}

/// Claude Code's `PostToolUse`: each tool call becomes an event of the attempt.
fn tool_used(workspace: &mut Workspace, payload: &Value) -> Result<HookOutcome> {
    if !payload.is_object() {
        eprintln!(
            "vane: hook claude-post-tool-use: the payload is not a JSON object; nothing recorded"
        );
        return Ok(HookOutcome::go_on());
    }
    let Some((task, attempt)) = agent_task(workspace) else {
        return Ok(HookOutcome::go_on());
    };
    let input = &payload["tool_input"];
    let file = ["file_path", "path", "notebook_path"]
        .iter()
        .find_map(|k| input[*k].as_str());
    let command = input["command"].as_str().map(|c| truncate(c, 200));
    let response = &payload["tool_response"];
    let failed = response["success"] == Value::Bool(false)
        || response["is_error"] == Value::Bool(true)
        || response["error"].is_string();
    record(
        workspace,
        &NewEvent {
            kind: "agent_tool",
            task: Some(&task),
            actor: "agent",
            correlation: None,
            data: json!({
                "attempt": attempt,
                "tool": payload["tool_name"].as_str().unwrap_or("?"),
                "file": file,
                "command": command,
                "outcome": if failed { "error" } else { "ok" },
                "session": payload["session_id"].as_str(),
            }),
        },
    )?;
    Ok(HookOutcome::go_on())
}

/// Claude Code's `Stop`: while the worktree holds uncommitted changes that the fast checks (gates
/// with `fast = true`) reject, the agent is sent back to work, once per stop (Claude Code marks a
/// stop that follows a hook's refusal with `stop_hook_active`, and that one goes through).
fn stop(workspace: &mut Workspace, payload: &Value) -> Result<HookOutcome> {
    let Some((task, attempt)) = agent_task(workspace) else {
        return Ok(HookOutcome::go_on());
    };
    if payload["stop_hook_active"] == Value::Bool(true) {
        return Ok(HookOutcome::go_on());
    }
    let mut config = Config::load(&workspace.location.workdir)?;
    config.gates.retain(|g| g.fast);
    if config.gates.is_empty() {
        return Ok(HookOutcome::go_on());
    }
    let worktree = std::env::var_os("VANE_WORKTREE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.location.workdir.clone());
    let git = Git::open(&worktree)?;
    if git.is_clean(&worktree)? {
        return Ok(HookOutcome::go_on());
    }
    let head = git.head(&worktree)?;
    let log_dir = match std::env::var_os(INBOX_ENV) {
        // Beside the inbox, the one place of vane's a confined agent may write.
        Some(inbox) => PathBuf::from(inbox)
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            .join("stop-checks"),
        None => workspace::state_dir(&workspace.location)
            .join("runs")
            .join(task.as_str())
            .join(attempt.map_or("stop".to_string(), |a| a.to_string()))
            .join("stop-checks"),
    };
    let report = gates::run_gates(
        &git,
        &workspace.store,
        &config,
        &Candidate {
            task: None,
            attempt: None,
            worktree: &worktree,
            commit: None,
            base: &head,
            log_dir,
        },
    )?;
    if report.decision.passed {
        return Ok(HookOutcome::go_on());
    }
    let reason = format!(
        "Not done yet: the worktree has uncommitted changes that the fast checks reject. {}",
        report.feedback()
    );
    record(
        workspace,
        &NewEvent {
            kind: "agent_stop_held",
            task: Some(&task),
            actor: "vane",
            correlation: None,
            data: json!({ "attempt": attempt, "reason": reason }),
        },
    )?;
    Ok(HookOutcome {
        exit_code: 0,
        stdout: Some(json!({ "decision": "block", "reason": reason }).to_string()),
    })
}

/// Codex's `notify`: a finished turn becomes an event of the attempt.
fn codex_notify(workspace: &mut Workspace, payload: &Value) -> Result<HookOutcome> {
    let Some((task, attempt)) = agent_task(workspace) else {
        return Ok(HookOutcome::go_on());
    };
    record(
        workspace,
        &NewEvent {
            kind: "agent_turn",
            task: Some(&task),
            actor: "agent",
            correlation: None,
            data: json!({
                "attempt": attempt,
                "type": payload["type"].as_str(),
                "message": payload["last-assistant-message"].as_str().map(|m| truncate(m, 500)),
            }),
        },
    )?;
    Ok(HookOutcome::go_on())
}

/// `text`, cut to at most `max` bytes (on a character boundary) with `...` when it was longer.
fn truncate(text: &str, max: usize) -> String {
    let kept = crate::model::prefix_within(text, max);
    if kept.len() == text.len() {
        text.to_string()
    } else {
        format!("{kept}...")
    }
}

/// What an agent profile run by vane gets so that its hooks reach vane: for Claude Code a settings
/// file (passed with `--settings`, so neither the worktree's files nor the person's own settings
/// change) holding the `PostToolUse` and `Stop` hooks; for Codex its `notify` program. Other
/// agents are left as they are. `argv` is the expanded command line.
pub fn wire_agent_hooks(argv: &mut Vec<String>, run_dir: &Path, vane: &Path) -> Result<()> {
    let program = argv
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let vane_command =
        |hook: &str| format!("{} hook {hook}", shell_quote(&vane.display().to_string()));
    match program.as_str() {
        "claude" => {
            let settings = json!({
                "hooks": {
                    "PostToolUse": [{
                        "matcher": "*",
                        "hooks": [{"type": "command", "command": vane_command("claude-post-tool-use")}]
                    }],
                    "Stop": [{
                        "hooks": [{"type": "command", "command": vane_command("claude-stop")}]
                    }]
                }
            });
            let path = run_dir.join("claude-settings.json");
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&settings).unwrap_or_default(),
            )
            .map_err(|e| OrchestratorError::io(&path, e))?;
            argv.splice(1..1, ["--settings".to_string(), path.display().to_string()]);
        }
        "codex" => {
            let notify = json!([vane.display().to_string(), "hook", "codex-notify"]);
            let at = if argv.get(1).map(String::as_str) == Some("exec") {
                2
            } else {
                1
            };
            argv.splice(at..at, ["-c".to_string(), format!("notify={notify}")]);
        }
        _ => {}
    }
    Ok(())
}
