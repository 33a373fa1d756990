use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::lifecycle::Mover;
use crate::model::{TaskId, TaskStatus};

/// Release a blocked task so that it is scheduled again
///
/// The task goes back to pending; its earlier attempts and their feedback are kept.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane task retry T4")]
pub struct Args {
    /// The task's id
    id: TaskId,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let current = workspace.store.task(&args.id)?;
    if current.status != TaskStatus::Blocked {
        return Err(CliError::refused(format!(
            "task `{}` is {}, not blocked; only a blocked task can be retried",
            current.id, current.status
        )));
    }
    let task = workspace.store.transition(
        &args.id,
        TaskStatus::Pending,
        Mover::Person,
        Some("retried by hand"),
        &super::person(),
    )?;
    if env.ui.json() {
        env.ui.json_value(&task)?;
    } else {
        env.ui.status(&format!("{} is pending again", task.id));
    }
    Ok(())
}
