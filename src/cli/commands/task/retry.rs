use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::model::TaskId;

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
    let retried = workspace
        .store
        .retry_by_hand(&args.id, args.fresh, &super::person())
        .map_err(|e| match e {
            crate::store::StoreError::Refused(why) => CliError::refused(why).with_hint(
                "`vane task retry --fresh <id>` starts the next attempt of an unfinished task \
                 from the base branch",
            ),
            other => other.into(),
        })?;
    let (task, blocked) = (retried.task, retried.released);
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
