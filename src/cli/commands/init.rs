use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::workspace::Workspace;

/// Set vane up in the current repository
///
/// Creates vane's state (a database, run logs) in the repository's git directory, where git never
/// shows it, and writes a commented `vane.toml` at the root of the working tree unless there is one.
/// Works from any directory of the repository, linked worktrees included. Running it again changes
/// nothing.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane init\n  vane -C ~/src/app init")]
pub struct Args {}

pub fn run(env: &CommandEnv<'_>, _args: Args) -> Result<(), CliError> {
    let report = Workspace::init(&env.cwd)?;
    if env.ui.json() {
        let mut value = serde_json::to_value(&report).map_err(std::io::Error::other)?;
        value["already_set_up"] = report.already_set_up().into();
        env.ui.json_value(&value)?;
        return Ok(());
    }
    if report.already_set_up() {
        env.ui.status(&format!(
            "vane is already set up in {} (state in {}); nothing changed",
            report.workdir.display(),
            report.state_dir.display()
        ));
        return Ok(());
    }
    env.ui
        .status(&format!("Initialised vane in {}", report.workdir.display()));
    env.ui
        .status(&format!("  state:  {}", report.state_dir.display()));
    match &report.config_written {
        Some(path) => env.ui.status(&format!(
            "  config: {} (written; commit it to share it)",
            path.display()
        )),
        None => env.ui.status("  config: vane.toml (kept as it was)"),
    }
    // A hook that cannot be installed does not undo the setup: say so, and how to retry.
    match crate::orchestrator::hooks::install_here(&report.workdir) {
        Ok(hooks) => env.ui.status(&format!(
            "  hooks:  {} in {}{}",
            crate::orchestrator::hooks::GIT_HOOKS.join(", "),
            hooks.dir.display(),
            if hooks.hooks.iter().any(|h| h.kept.is_some()) {
                " (the hooks that were there run first)"
            } else {
                ""
            }
        )),
        Err(e) => env.ui.warn(&format!(
            "git hooks not installed: {e}; `vane hooks install` tries again"
        )),
    }
    env.ui.status(
        "Next: add tasks with `vane task add` or `vane import roadmap.yaml`, then see `vane status`.",
    );
    Ok(())
}
