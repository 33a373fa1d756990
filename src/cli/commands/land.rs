use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::TaskId;
use crate::orchestrator::land;

/// Land a task's branch by hand, held to its gates: the way to merge work done beside vane
///
/// Merges `vane/<task>` with the base tip in memory, runs the gates of vane.toml on exactly that
/// merge (in a worktree made for it), and only when they pass moves the base branch to it, by
/// compare-and-swap, with a checkpoint after, as `vane work` lands. A clean checkout of base is
/// brought along; a checkout with uncommitted changes is refused first. The task becomes done. A
/// merge that falls short changes nothing and exits 1 with the verdict.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane land T3              gate T3's branch merged with base, and land it if it passes
  vane land T3 --json")]
pub struct Args {
    /// The task whose branch (`vane/<task>`) to land
    task: TaskId,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let config = Config::load(&workspace.location.workdir)?;
    let summary = land::land(&mut workspace, &config, &args.task)?;
    if env.ui.json() {
        env.ui.json_value(&summary)?;
        return Ok(());
    }
    env.ui.status(&format!(
        "Landed {} on {} as {} (checkpoint {}); the gates scored {:.2} against {:.2}",
        summary.task,
        summary.base,
        summary.sha.short(),
        summary.checkpoint,
        summary.report.decision.overall,
        summary.report.decision.threshold
    ));
    Ok(())
}
