use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::TaskId;
use crate::orchestrator::approval;

/// Land a change to the checks themselves, after looking at it
///
/// A candidate that passed its gates but changes a protected path (vane.toml, a script a gate
/// runs, a glob of `protected`) waits in needs_review; `vane task show <task>` shows the protected
/// diff. Approving lands it as `vane land` does: merged with the current base tip, gated again on
/// exactly that merge, then base moved by compare-and-swap, with a checkpoint.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane task show T3        look at what T3 changes in the checks
  vane approve T3          land it
  vane reject T3 --reason \"keep the lint threshold\"")]
pub struct Args {
    /// The task whose change waits for approval
    task: TaskId,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let config = Config::load(&workspace.location.workdir)?;
    let summary = approval::approve(&mut workspace, &config, &args.task, &super::task::person())?;
    if env.ui.json() {
        env.ui.json_value(&summary)?;
        return Ok(());
    }
    env.ui.status(&format!(
        "Approved and landed {} on {} as {} (checkpoint {})",
        summary.task,
        summary.base,
        summary.sha.short(),
        summary.checkpoint
    ));
    Ok(())
}
