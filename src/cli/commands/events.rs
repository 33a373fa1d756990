use std::time::Duration;

use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::model::{Event, TaskId};
use crate::store::EventFilter;
use crate::ui::printable;

/// Show the event log, oldest first
///
/// Every change vane makes is an event: tasks created, dependencies, status changes with who made
/// them and why, imports, context. The log is append-only. With `--follow`, keeps printing new
/// events as they are written (one JSON object per line with `--json`) until interrupted; with
/// `--follow -n 0`, only those, none of the past, as `tail -f -n 0` does.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane events
  vane events --task T3 --limit 0
  vane events --follow --json | jq .kind
  vane events --follow -n 0          only what happens from now on")]
pub struct Args {
    /// Only the events of this task
    #[arg(long)]
    task: Option<TaskId>,
    /// Show the most recent N events; 0 shows them all, or with `--follow` none
    #[arg(long, short = 'n', default_value_t = 50)]
    limit: usize,
    /// Keep printing events as they are written
    #[arg(long, short)]
    follow: bool,
}

/// How often `--follow` looks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let store = &workspace.store;
    if let Some(task) = &args.task {
        // A task removed (`vane task rm`) is gone from the graph, not from the log.
        if let Err(e) = store.task(task) {
            let kept = EventFilter {
                task: Some(task.clone()),
                after: None,
                limit: Some(1),
            };
            if store.events(&kept)?.is_empty() {
                return Err(e.into());
            }
        }
    }
    let mut filter = EventFilter {
        task: args.task.clone(),
        after: None,
        limit: (args.limit > 0).then_some(args.limit),
    };
    // `--follow -n 0`: none of the past, as `tail -f -n 0`; what comes next starts after the
    // newest event there is now.
    let events = if args.follow && args.limit == 0 {
        Vec::new()
    } else {
        store.events(&filter)?
    };
    if !args.follow {
        if env.ui.json() {
            env.ui.json_value(&events)?;
        } else {
            print(env, &events)?;
        }
        return Ok(());
    }
    print(env, &events)?;
    filter.limit = None;
    filter.after = Some(
        events
            .last()
            .map_or(store.last_event_id()?.unwrap_or(0), |e| e.id),
    );
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        let events = store.events(&filter)?;
        if let Some(last) = events.last() {
            filter.after = Some(last.id);
            print(env, &events)?;
        }
    }
}

fn print(env: &CommandEnv<'_>, events: &[Event]) -> Result<(), CliError> {
    let mut out = String::new();
    for event in events {
        if env.ui.json() {
            out.push_str(&serde_json::to_string(event).map_err(std::io::Error::other)?);
        } else {
            out.push_str(&format!(
                "{}  {}  {}",
                env.ui
                    .paint(console::Style::new().dim(), &format!("#{}", event.id)),
                render::time(event.at),
                printable(&render::event_summary(event))
            ));
        }
        out.push('\n');
    }
    if !out.is_empty() {
        env.ui.data(&out)?;
    }
    Ok(())
}
