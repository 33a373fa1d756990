use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::model::{DepKind, TaskId};

/// Add or remove a dependency between two tasks
#[derive(Debug, clap::Subcommand)]
pub enum DepCommand {
    Add(AddArgs),
    Rm(RmArgs),
}

/// Make a task depend on another
///
/// `blocks` (the default) makes the task wait until the other is done; `related` and `suggested`
/// only give its agent context. A dependency that would close a cycle is refused, with the cycle.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane task dep add T5 T3                 T5 waits for T3
  vane task dep add T5 T4 --kind related")]
pub struct AddArgs {
    /// The task that depends
    task: TaskId,
    /// The task it depends on
    depends_on: TaskId,
    /// The kind of dependency
    #[arg(long, default_value = "blocks", value_parser = parse_kind)]
    kind: DepKind,
}

/// Remove a dependency
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane task dep rm T5 T3")]
pub struct RmArgs {
    /// The task that depends
    task: TaskId,
    /// The task it depends on
    depends_on: TaskId,
}

fn parse_kind(s: &str) -> Result<DepKind, String> {
    s.parse()
        .map_err(|e: crate::model::ParseError| e.to_string())
}

pub fn run(env: &CommandEnv<'_>, command: DepCommand) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let (task, depends_on, kind, added) = match command {
        DepCommand::Add(args) => {
            workspace.store.add_dependency(
                &args.task,
                &args.depends_on,
                args.kind,
                &super::person(),
            )?;
            (args.task, args.depends_on, args.kind, true)
        }
        DepCommand::Rm(args) => {
            let kind = workspace.store.remove_dependency(
                &args.task,
                &args.depends_on,
                &super::person(),
            )?;
            (args.task, args.depends_on, kind, false)
        }
    };
    if env.ui.json() {
        env.ui.json_value(&serde_json::json!({
            "task": task, "depends_on": depends_on, "kind": kind,
            "change": if added { "added" } else { "removed" },
        }))?;
    } else if added {
        env.ui
            .status(&format!("{task} now depends on {depends_on} ({kind})"));
    } else {
        env.ui.status(&format!(
            "{task} no longer depends on {depends_on} ({kind})"
        ));
    }
    Ok(())
}
