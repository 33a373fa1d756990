//! Shell completion that knows the repository: clap_complete's engine, started by the scripts of
//! `vane completions <shell>` as `COMPLETE=<shell> vane -- <words>`, completes subcommands, flags
//! and their fixed values from the command line's definition, and here the values only the
//! repository knows: task ids, checkpoint ids and agent profile names.
//!
//! Which arguments take which is read from their value names, so that a command added later gets
//! the same completions by naming its arguments as the others do: `ID`, `IDS`, `TASK`,
//! `DEPENDS_ON` take task ids, `EPIC` and `TARGET` epic ids, `CHECKPOINT` checkpoint ids, `PROFILE`
//! profile names. `--id`, which names a task that does not exist yet, takes none.

use std::ffi::OsStr;

use clap::builder::StyledStr;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::config::Config;
use crate::model::TaskType;
use crate::store::TaskFilter;
use crate::ui::printable;
use crate::workspace::Workspace;

/// Runs the completion the shell asked for and exits, when `COMPLETE` is set; else returns.
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(command).complete();
}

/// The command line with the repository's values attached to the arguments that take them.
pub fn command() -> clap::Command {
    with_completers(super::command())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Tasks,
    Epics,
    Checkpoints,
    Profiles,
}

/// What an argument takes, by its value name; None for the rest.
fn values_of(arg: &clap::Arg) -> Option<Values> {
    if arg.get_long() == Some("id") {
        return None;
    }
    let name = arg.get_value_names()?.first()?.as_str();
    match name {
        "ID" | "IDS" | "TASK" | "DEPENDS_ON" => Some(Values::Tasks),
        "EPIC" | "TARGET" => Some(Values::Epics),
        "CHECKPOINT" => Some(Values::Checkpoints),
        "PROFILE" => Some(Values::Profiles),
        _ => None,
    }
}

fn with_completers(mut command: clap::Command) -> clap::Command {
    let args: Vec<(clap::Id, Option<Values>)> = command
        .get_arguments()
        .map(|arg| (arg.get_id().clone(), values_of(arg)))
        .collect();
    // `mut_arg` moves the argument to the end, and positionals take their place from the order:
    // every argument is passed through, in order, so that the order stays.
    for (id, values) in args {
        command = command.mut_arg(id, |arg| match values {
            Some(values) => arg.add(ArgValueCompleter::new(move |current: &OsStr| {
                candidates(values, current)
            })),
            None => arg,
        });
    }
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in subcommands {
        command = command.mut_subcommand(name, with_completers);
    }
    command
}

/// The values that start like `current`; in a comma-separated list, like its last item, the
/// items before it kept.
fn candidates(values: Values, current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let (before, last) = match current.rfind(',') {
        Some(at) => current.split_at(at + 1),
        None => ("", current),
    };
    known(values)
        .into_iter()
        .filter(|(value, _)| value.starts_with(last))
        .map(|(value, help)| {
            CompletionCandidate::new(format!("{before}{value}")).help(help.map(StyledStr::from))
        })
        .collect()
}

/// Every value of the kind, with a line about each where there is one; nothing where there is no
/// repository set up for vane here (a completion never fails aloud).
fn known(values: Values) -> Vec<(String, Option<String>)> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    if values == Values::Profiles {
        let config = Workspace::open_to_read(&cwd)
            .ok()
            .and_then(|w| Config::load(&w.location.workdir).ok())
            .unwrap_or_default();
        let mut names: Vec<String> = crate::agent::Profile::BUILTIN
            .iter()
            .map(|name| name.to_string())
            .collect();
        for name in config.agents.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        return names.into_iter().map(|name| (name, None)).collect();
    }
    let Ok(workspace) = Workspace::open_to_read(&cwd) else {
        return Vec::new();
    };
    match values {
        Values::Checkpoints => workspace
            .store
            .checkpoints()
            .unwrap_or_default()
            .into_iter()
            .rev()
            .map(|c| {
                let about = match &c.task {
                    Some(task) => format!("{} {} at {}", c.kind, task, c.sha.short()),
                    None => format!("{} at {}", c.kind, c.sha.short()),
                };
                (c.id.to_string(), Some(about))
            })
            .collect(),
        _ => workspace
            .store
            .tasks(&TaskFilter::default())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| values != Values::Epics || t.kind == TaskType::Epic)
            .map(|t| {
                (
                    t.id.to_string(),
                    Some(printable(&t.title).replace('\t', " ")),
                )
            })
            .collect(),
    }
}
