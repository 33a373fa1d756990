//! `vane task`: the task graph by hand.

pub mod add;
pub mod block;
pub mod dep;
pub mod edit;
pub mod list;
pub mod retry;
pub mod rm;
pub mod show;

use crate::cli::CommandEnv;
use crate::error::CliError;

/// Add, list, show and change tasks
#[derive(Debug, clap::Subcommand)]
pub enum TaskCommand {
    Add(add::Args),
    List(list::Args),
    Show(show::Args),
    Edit(edit::Args),
    Rm(rm::Args),
    #[command(subcommand)]
    Dep(dep::DepCommand),
    Block(block::Args),
    Retry(retry::Args),
}

pub fn run(env: &CommandEnv<'_>, command: TaskCommand) -> Result<(), CliError> {
    match command {
        TaskCommand::Add(args) => add::run(env, args),
        TaskCommand::List(args) => list::run(env, args),
        TaskCommand::Show(args) => show::run(env, args),
        TaskCommand::Edit(args) => edit::run(env, args),
        TaskCommand::Rm(args) => rm::run(env, args),
        TaskCommand::Dep(command) => dep::run(env, command),
        TaskCommand::Block(args) => block::run(env, args),
        TaskCommand::Retry(args) => retry::run(env, args),
    }
}

/// Who a person at the command line is, in the event log.
pub(crate) fn person() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .map_or_else(|| "person".to_string(), |u| format!("person:{u}"))
}
