use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::{
    check_path_pattern, check_title, Complexity, DepKind, PathProblem, TaskId, TaskType,
    TextProblem, MAX_TITLE_BYTES,
};
use crate::orchestrator::profiles;
use crate::store::NewTask;

/// Add a task to the graph
///
/// The task starts as pending. Without `--id` it gets the next free id of the form `T<n>`.
/// Dependencies given with `--deps` are of kind `blocks` (the task waits for them); use
/// `vane task dep add --kind` for the others. Paths given with `--paths` say what the task expects
/// to change: `vane work` does not start it while a task whose paths overlap runs or waits to land,
/// since their branches would conflict.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane task add \"Set up the project\" --id setup --run 'cargo init'
  vane task add \"Add a login form\" --parent auth --deps setup --complexity 3
  vane task add \"Rework sign-in\" --paths 'src/auth/**,docs/auth.md'
  vane task add \"Authentication\" --type epic --id auth")]
pub struct Args {
    /// The task's title: one line saying what is to be done
    title: String,

    /// The task's id (letters, digits, `-`, `_`, `.`); generated when absent
    #[arg(long)]
    id: Option<TaskId>,

    /// A longer description, given to the agent
    #[arg(long, short, default_value = "")]
    description: String,

    /// What kind of task it is
    #[arg(long = "type", value_name = "TYPE", default_value = "task", value_parser = parse_type)]
    kind: TaskType,

    /// Estimated complexity, from 1 (trivial) to 10
    #[arg(long)]
    complexity: Option<Complexity>,

    /// Tasks this one waits for, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    deps: Vec<TaskId>,

    /// The epic this task belongs to
    #[arg(long, value_name = "EPIC")]
    parent: Option<TaskId>,

    /// The command the built-in `shell` agent runs for this task (with `sh -c`, in its worktree)
    #[arg(long, value_name = "COMMAND")]
    run: Option<String>,

    /// The agent profile that works on it (default: `default_agent` of vane.toml)
    #[arg(long, value_name = "PROFILE")]
    agent: Option<String>,

    /// Paths it expects to change, comma-separated, from the repository's root: files, folders
    /// (`src/auth/`) and globs (`*`, `?`, `**`); repeatable
    #[arg(long, value_delimiter = ',', value_name = "PATHS", value_parser = parse_path)]
    paths: Vec<String>,
}

/// One item of `--paths`, without the spaces around it (`--paths 'src/a, docs/b'`).
fn parse_path(s: &str) -> Result<String, String> {
    let path = s.trim();
    match check_path_pattern(path) {
        Ok(()) => Ok(path.to_string()),
        Err(PathProblem::Empty) => Err(
            "an empty path (two commas in a row, or one at an end); give paths like \
             `src/auth/**,docs/auth.md`"
                .to_string(),
        ),
        Err(problem) => Err(format!("the path `{path}` {problem}")),
    }
}

/// `paths` in the order given, each once.
fn distinct(paths: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(paths.len());
    for path in paths {
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

fn parse_type(s: &str) -> Result<TaskType, String> {
    s.parse()
        .map_err(|e: crate::model::ParseError| e.to_string())
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let title = args.title.trim();
    check_title(title).map_err(|problem| {
        let message = match problem {
            TextProblem::Empty => "a task needs a title that is not empty".to_string(),
            problem => format!("the title {problem}"),
        };
        CliError::refused(message).with_hint(format!(
            "a title is one line of at most {MAX_TITLE_BYTES} bytes; the details go in \
             `--description`"
        ))
    })?;
    // `--description` and `--run` need no check: no argument can hold the NUL byte that
    // `check_text` refuses (a roadmap's can, and `vane import` checks them).
    let mut workspace = env.workspace()?;
    if let Some(agent) = &args.agent {
        let config = Config::load(&workspace.location.workdir)?;
        profiles::lookup(&config, agent).map_err(|e| {
            CliError::refused(e.to_string()).with_hint(
                "name a built-in profile, or define it in vane.toml under [agents.NAME] with a \
                 `command`",
            )
        })?;
    }
    let task = workspace.store.add_task(
        &NewTask {
            id: args.id,
            title: title.to_string(),
            description: args.description,
            kind: args.kind,
            complexity: args.complexity,
            parent: args.parent,
            deps: args
                .deps
                .into_iter()
                .map(|d| (d, DepKind::Blocks))
                .collect(),
            run: args.run,
            agent: args.agent,
            paths: distinct(args.paths),
        },
        &super::person(),
    )?;
    if env.ui.json() {
        env.ui.json_value(&task)?;
    } else {
        env.ui.status(&format!("Added {}: {}", task.id, task.title));
    }
    Ok(())
}
