//! `vane hooks`: vane's git hook shims, and the hidden `vane hook <name>` they (and the agents'
//! hooks) call.

use std::path::Path;

use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::git::Git;
use crate::orchestrator::hooks::{self, HookState, HooksReport};

/// Manage vane's git hooks: record agents' commits as they happen, gate merges made by hand
///
/// vane installs `post-commit` (a commit on a `vane/<task>` branch becomes an event of that task at
/// once) and `pre-merge-commit` (a merge of a `vane/<task>` branch made by hand runs the task's
/// gates on exactly that merge, and a merge that falls short is refused with the verdict). They go
/// into the directory git really runs hooks from (`core.hooksPath` if set). A hook that was there
/// is kept as `<name>.vane-kept` and runs first; `uninstall` puts it back exactly.
#[derive(Debug, clap::Subcommand)]
#[command(after_help = "Examples:
  vane hooks status
  vane hooks install
  vane hooks uninstall")]
pub enum HooksCommand {
    /// Install the hooks (`vane init` does it too); installing again refreshes them
    Install,
    /// Take vane's hooks out and put back what was there before
    Uninstall,
    /// Show where each hook stands
    Status,
}

pub fn run(env: &CommandEnv<'_>, command: HooksCommand) -> Result<(), CliError> {
    let workspace = env.workspace()?;
    let workdir = &workspace.location.workdir;
    let report = match command {
        HooksCommand::Install => hooks::install_here(workdir)?,
        HooksCommand::Uninstall => hooks::uninstall(&Git::open(workdir)?)?,
        HooksCommand::Status => hooks::status(&Git::open(workdir)?)?,
    };
    print_report(env, &report)
}

fn print_report(env: &CommandEnv<'_>, report: &HooksReport) -> Result<(), CliError> {
    if env.ui.json() {
        env.ui.json_value(report)?;
        return Ok(());
    }
    let mut rows = vec![vec![
        "HOOK".to_string(),
        "STATE".to_string(),
        "NOTE".to_string(),
    ]];
    for hook in &report.hooks {
        let state = match hook.state {
            HookState::Installed => "installed",
            HookState::Missing => "not installed",
            HookState::Foreign => "not vane's",
        };
        let mut note = hook.action.clone().unwrap_or_default();
        if let Some(kept) = &hook.kept {
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(&format!("yours runs first: {}", file_name(kept)));
        }
        rows.push(vec![hook.name.clone(), state.to_string(), note]);
    }
    env.ui.data(&format!(
        "Hooks in {}\n{}",
        report.dir.display(),
        render::table(&rows).trim_end()
    ))?;
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Run one of vane's hooks (called by the git hook shims and by agents' hook settings)
#[derive(Debug, clap::Args)]
#[command(hide = true)]
pub struct HookArgs {
    /// git-post-commit, git-pre-merge-commit, claude-post-tool-use, claude-stop or codex-notify
    name: String,
    /// What the caller passed (Codex's `notify` passes its JSON last)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Runs the hook and exits with its code; never an error of vane's own (a hook must not break git
/// or an agent).
pub fn run_hook(env: &CommandEnv<'_>, args: HookArgs) -> std::process::ExitCode {
    let mut stdin = std::io::stdin().lock();
    let outcome = hooks::run_hook(&args.name, &args.args, &env.cwd, &mut stdin);
    if let Some(text) = outcome.stdout {
        let _ = env.ui.data_verbatim(&text);
    }
    std::process::ExitCode::from(outcome.exit_code)
}
