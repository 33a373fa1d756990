use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::{
    check_path_pattern, check_title, Complexity, DepKind, PathProblem, TaskId, TextProblem,
    MAX_TITLE_BYTES,
};
use crate::orchestrator::profiles;
use crate::store::{EditError, Started, TaskEdit, TaskUpdate};

/// Change a task that has not started yet
///
/// Only a task that is pending and was never attempted changes: once an agent was given a task,
/// what it was given is part of the record (add a new task for the changed work instead). Each
/// option replaces what the task has; an empty `--run`, `--agent` or `--paths` clears it.
/// `--dep` adds dependencies of kind `blocks` (`vane task dep add --kind` adds the others) and
/// `--no-dep` removes dependencies of any kind. All of it is one change, with its events: a
/// dependency that is unknown or closes a cycle changes nothing.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane task edit T3 --title \"Add a sign-in form\" --complexity 4
  vane task edit T3 --run 'echo form > login.html' --paths 'login.html'
  vane task edit T3 --agent ''            the configured default works on it
  vane task edit T5 --dep T3,T4 --no-dep T2")]
pub struct Args {
    /// The task's id
    id: TaskId,

    /// A new title: one line saying what is to be done
    #[arg(long)]
    title: Option<String>,

    /// A new description, given to the agent
    #[arg(long, short)]
    description: Option<String>,

    /// The command the built-in `shell` agent runs; empty clears it
    #[arg(long, value_name = "COMMAND")]
    run: Option<String>,

    /// The agent profile that works on it; empty: `default_agent` of vane.toml
    #[arg(long, value_name = "PROFILE")]
    agent: Option<String>,

    /// Estimated complexity, from 1 (trivial) to 10
    #[arg(long)]
    complexity: Option<Complexity>,

    /// The paths it expects to change, comma-separated, in place of those it has; empty declares
    /// none
    #[arg(long, value_name = "PATHS")]
    paths: Option<String>,

    /// Tasks it should wait for, comma-separated; repeatable
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    dep: Vec<TaskId>,

    /// Tasks it should no longer depend on, comma-separated; repeatable
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    no_dep: Vec<TaskId>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let title = args
        .title
        .as_deref()
        .map(|title| {
            let title = title.trim();
            check_title(title)
                .map(|()| title.to_string())
                .map_err(|problem| {
                    let message = match problem {
                        TextProblem::Empty => "a task needs a title that is not empty".to_string(),
                        problem => format!("the title {problem}"),
                    };
                    CliError::refused(message).with_hint(format!(
                    "a title is one line of at most {MAX_TITLE_BYTES} bytes; the details go in \
                     `--description`"
                ))
                })
        })
        .transpose()?;
    let paths = args.paths.as_deref().map(parse_paths).transpose()?;
    let cleared = |value: Option<String>| value.map(|v| Some(v).filter(|v| !v.trim().is_empty()));
    let edit = TaskEdit {
        update: TaskUpdate {
            title,
            description: args.description,
            complexity: args.complexity,
            paths,
            agent: cleared(args.agent.map(|a| a.trim().to_string())),
        },
        run: cleared(args.run),
        add_deps: args.dep.into_iter().map(|d| (d, DepKind::Blocks)).collect(),
        remove_deps: args.no_dep,
    };
    if edit == TaskEdit::default() {
        return Err(CliError::refused("nothing to change").with_hint(
            "give at least one of --title, --description, --run, --agent, --complexity, \
             --paths, --dep, --no-dep",
        ));
    }
    if let Some(both) = edit
        .add_deps
        .iter()
        .find(|(d, _)| edit.remove_deps.contains(d))
    {
        return Err(CliError::refused(format!(
            "`{}` is given to both --dep and --no-dep",
            both.0
        )));
    }
    let mut workspace = env.workspace()?;
    if let Some(Some(agent)) = &edit.update.agent {
        let config = Config::load(&workspace.location.workdir)?;
        profiles::lookup(&config, agent).map_err(|e| {
            CliError::refused(e.to_string()).with_hint(
                "name a built-in profile, or define it in vane.toml under [agents.NAME] with a \
                 `command`",
            )
        })?;
    }
    let (task, changed) = workspace
        .store
        .edit_unstarted_task(&args.id, &edit, &super::person())
        .map_err(|e| match e {
            EditError::Started(started) => refused_started(started),
            EditError::Store(e) => e.into(),
        })?;
    if env.ui.json() {
        env.ui
            .json_value(&serde_json::json!({ "task": task, "changed": changed }))?;
    } else if changed.is_empty() {
        env.ui
            .status(&format!("{} is as it was: nothing changed", task.id));
    } else {
        env.ui
            .status(&format!("Changed {}: {}", task.id, changed.join(", ")));
    }
    Ok(())
}

/// The refusal of a change to a task that has started, with what to do instead.
pub(super) fn refused_started(started: Started) -> CliError {
    CliError::refused(started.to_string()).with_hint(
        "add a new task for the changed work (`vane task add`), and `vane task block` this one \
         if it should not run again",
    )
}

/// `--paths`: comma-separated, each checked, each once; empty declares none.
fn parse_paths(text: &str) -> Result<Vec<String>, CliError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<String> = Vec::new();
    for path in text.split(',').map(str::trim) {
        match check_path_pattern(path) {
            Ok(()) => {}
            Err(PathProblem::Empty) => {
                return Err(CliError::refused(
                    "--paths holds an empty path (two commas in a row, or one at an end)",
                )
                .with_hint("give paths like `src/auth/**,docs/auth.md`, or '' to declare none"))
            }
            Err(problem) => return Err(CliError::refused(format!("the path `{path}` {problem}"))),
        }
        if !paths.iter().any(|p| p == path) {
            paths.push(path.to_string());
        }
    }
    Ok(paths)
}
