use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::model::{TaskId, TaskStatus};
use crate::store::TaskFilter;
use crate::ui::printable;

/// List tasks, in the order the scheduler would take them
///
/// Order: priority (the longest chain of tasks waiting on it), then complexity, then age.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane task list
  vane task list --status pending,blocked
  vane task list --ready --json")]
pub struct Args {
    /// Only tasks with one of these statuses, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = parse_status)]
    status: Vec<TaskStatus>,

    /// Only tasks that a worker could start now
    #[arg(long, conflicts_with = "status")]
    ready: bool,

    /// Only the tasks of this epic
    #[arg(long, value_name = "EPIC")]
    parent: Option<TaskId>,
}

fn parse_status(s: &str) -> Result<TaskStatus, String> {
    s.parse()
        .map_err(|e: crate::model::ParseError| e.to_string())
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let store = &workspace.store;
    let tasks = if args.ready {
        let mut ready = store.ready_task_rows()?;
        if let Some(parent) = &args.parent {
            ready.retain(|t| t.parent.as_ref() == Some(parent));
        }
        ready
    } else {
        store.tasks(&TaskFilter {
            statuses: args.status,
            parent: args.parent,
        })?
    };
    if env.ui.json() {
        env.ui.json_value(&tasks)?;
        return Ok(());
    }
    if tasks.is_empty() {
        env.ui.status("No tasks match.");
        return Ok(());
    }
    let mut rows = vec![vec![
        "ID".to_string(),
        "STATUS".to_string(),
        "TYPE".to_string(),
        "PRI".to_string(),
        "CX".to_string(),
        "TITLE".to_string(),
    ]];
    for task in &tasks {
        rows.push(vec![
            env.ui.paint(console::Style::new().bold(), task.id.as_str()),
            render::status(env.ui, task.status, 0),
            task.kind.to_string(),
            task.priority.to_string(),
            task.complexity
                .map_or_else(|| "-".to_string(), |c| c.to_string()),
            printable(&task.title).into_owned(),
        ]);
    }
    env.ui.data(&render::table(&rows))?;
    Ok(())
}
