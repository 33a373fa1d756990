use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::model::TaskId;
use crate::store::RemoveError;

/// Remove a task that has not started yet
///
/// Only a task that is pending and was never attempted is removed: one that started keeps its
/// attempts, gate runs and landings as history (`vane task block` sets it aside). A task that
/// others depend on or belong to (an epic's) is refused unless `--force`, which removes their
/// dependencies on it and takes them out of it, and names them. The event log keeps what it
/// said of the task and records a `task_removed` event; a rollback does not bring the task back.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane task rm T7
  vane task rm T3 --force       T5, which waited for T3, no longer does")]
pub struct Args {
    /// The task's id
    id: TaskId,
    /// Remove it even if other tasks depend on it or belong to it, detaching them
    #[arg(long)]
    force: bool,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let removal = workspace
        .store
        .remove_unstarted_task(&args.id, args.force, &super::person())
        .map_err(|e| {
            match e {
            RemoveError::Started(started) => CliError::refused(started.to_string()).with_hint(
                "a task that started stays, with its attempts, as history; `vane task block` keeps \
                 one that has not finished from running again",
            ),
            e @ RemoveError::Needed { .. } => CliError::refused(e.to_string()).with_hint(
                "`--force` removes it anyway, and their dependencies on it with it; `vane task \
                 dep rm` removes one dependency by hand",
            ),
            RemoveError::Store(e) => e.into(),
        }
        })?;
    if env.ui.json() {
        env.ui.json_value(&removal)?;
        return Ok(());
    }
    let mut text = format!("Removed {}: {}", removal.task.id, removal.task.title);
    if !removal.detached.is_empty() {
        let names: Vec<&str> = removal.detached.iter().map(|(t, _)| t.as_str()).collect();
        text.push_str(&format!(
            "\n{} no longer depend{} on it",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" }
        ));
    }
    if !removal.orphaned.is_empty() {
        let names: Vec<&str> = removal.orphaned.iter().map(TaskId::as_str).collect();
        text.push_str(&format!(
            "\n{} no longer belong{} to an epic",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" }
        ));
    }
    env.ui.status(&text);
    Ok(())
}
