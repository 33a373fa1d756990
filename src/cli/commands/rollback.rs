use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::orchestrator::{self, RollbackOptions};

/// Return the base branch and every task's state to a checkpoint
///
/// Records a checkpoint of the present first, so the rollback itself is undone with
/// `vane rollback <that checkpoint>`. The base branch moves by compare-and-swap; a clean checkout
/// of it is updated; a checkout with uncommitted changes is refused unless `--force`, which first
/// saves them with `git stash` (get them back with `git stash pop`).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane checkpoints              find the checkpoint
  vane rollback 4
  vane rollback 9               undo it (9 being the pre-rollback checkpoint it printed)")]
pub struct Args {
    /// The checkpoint's number (`vane checkpoints` lists them)
    checkpoint: i64,

    /// Stash uncommitted changes in a checkout of the base branch instead of refusing
    #[arg(long)]
    force: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let config = Config::load(&workspace.location.workdir)?;
    let summary = orchestrator::rollback(
        &mut workspace,
        &config,
        args.checkpoint,
        &RollbackOptions { force: args.force },
    )?;
    if env.ui.json() {
        env.ui.json_value(&summary)?;
        return Ok(());
    }
    for checkout in &summary.stashed {
        env.ui.status(&format!(
            "Saved the uncommitted changes of {} with `git stash` (`git stash pop` brings them back)",
            checkout.display()
        ));
    }
    env.ui.status(&format!(
        "Rolled {} back to checkpoint {} ({} -> {}); {} tasks changed state\nUndo with: vane rollback {}",
        summary.base,
        summary.checkpoint,
        summary.from.short(),
        summary.to.short(),
        summary.tasks_changed.len(),
        summary.undo_checkpoint
    ));
    for (checkout, why) in &summary.checkouts_behind {
        env.ui.warn(&format!(
            "{} was not brought along ({why}); the next `vane work` finishes it",
            checkout.display()
        ));
    }
    Ok(())
}
