use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::model::TaskId;

/// Block a task by hand, with the reason
///
/// A blocked task is not scheduled until `vane task retry` releases it. A task that has landed
/// (done) cannot be blocked; use `vane rollback` to undo a landing.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane task block T4 --reason \"waiting for the API keys\"")]
pub struct Args {
    /// The task's id
    id: TaskId,
    /// Why it is blocked; shown by `vane status` and `vane task show`
    #[arg(long)]
    reason: String,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    if args.reason.trim().is_empty() {
        return Err(
            CliError::refused("a block needs a reason that is not empty")
                .with_hint("say what the task waits for: `--reason \"waiting for the API keys\"`"),
        );
    }
    let mut workspace = env.workspace()?;
    let task = workspace
        .store
        .block_by_hand(&args.id, &args.reason, &super::person())?;
    if env.ui.json() {
        env.ui.json_value(&task)?;
    } else {
        env.ui
            .status(&format!("Blocked {}: {}", task.id, args.reason.trim()));
    }
    Ok(())
}
