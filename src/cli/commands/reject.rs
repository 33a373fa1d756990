use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::model::TaskId;
use crate::orchestrator::approval;

/// Send back a change to the checks themselves, with the reason as feedback
///
/// For a candidate waiting for `vane approve` (it changes a protected path): the task goes to
/// needs_improvement, and its next attempt's prompt carries the reason.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane reject T3 --reason \"do not lower the coverage threshold; add tests instead\"")]
pub struct Args {
    /// The task whose change waits for approval
    task: TaskId,
    /// Why, for the task's next attempt
    #[arg(long)]
    reason: String,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    approval::reject(
        &mut workspace,
        &args.task,
        &args.reason,
        &super::task::person(),
    )?;
    if env.ui.json() {
        env.ui.json_value(
            &serde_json::json!({ "task": args.task, "rejected": true, "reason": args.reason }),
        )?;
    } else {
        env.ui.status(&format!(
            "{} goes back for another attempt, with your reason",
            args.task
        ));
    }
    Ok(())
}
