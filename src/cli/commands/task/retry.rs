use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::lifecycle::Mover;
use crate::model::{TaskId, TaskStatus, TaskType};

/// Release a blocked task so that it is scheduled again
///
/// The task goes back to pending; its earlier attempts and their feedback are kept.
///
/// After the merge queue finds a task's branch conflicting with the base branch, its next attempt
/// starts from the merge of that branch with the new base, the conflict markers in place, for its
/// agent to resolve. `--fresh` makes the next attempt start from the base branch instead, as a
/// first attempt does (the earlier work stays under `refs/vane/attempts/`). It also works on a
/// task that is not blocked: one waiting for its retry, or one running or waiting to land (then
/// for the attempt after that one).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane task retry T4\n  vane task retry T4 --fresh")]
pub struct Args {
    /// The task's id
    id: TaskId,
    /// Start the next attempt from the base branch, not from the merge with its conflicts
    #[arg(long)]
    fresh: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let current = workspace.store.task(&args.id)?;
    let blocked = current.status == TaskStatus::Blocked;
    if !args.fresh && !blocked {
        return Err(CliError::refused(format!(
            "task `{}` is {}, not blocked; only a blocked task can be retried (`--fresh` makes \
             the next attempt of any unfinished task start from the base branch)",
            current.id, current.status
        )));
    }
    if args.fresh && (current.status == TaskStatus::Done || current.kind == TaskType::Epic) {
        return Err(CliError::refused(format!(
            "task `{}` is {}; only an unfinished task has a next attempt to start afresh",
            current.id,
            if current.kind == TaskType::Epic {
                "an epic"
            } else {
                "done"
            }
        )));
    }
    let person = super::person();
    let mut task = current;
    if blocked {
        task = workspace.store.transition(
            &args.id,
            TaskStatus::Pending,
            Mover::Person,
            Some("retried by hand"),
            &person,
        )?;
    }
    if args.fresh {
        workspace.store.request_fresh_start(&args.id, &person)?;
    }
    if env.ui.json() {
        env.ui.json_value(&task)?;
    } else {
        let message = match (blocked, args.fresh) {
            (true, false) => format!("{} is pending again", task.id),
            (true, true) => format!(
                "{} is pending again; its next attempt starts from the base branch",
                task.id
            ),
            (false, _) => format!(
                "{} is {}; its next attempt starts from the base branch",
                task.id, task.status
            ),
        };
        env.ui.status(&message);
    }
    Ok(())
}
