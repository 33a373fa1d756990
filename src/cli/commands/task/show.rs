use std::fmt::Write;

use crate::cli::{render, CommandEnv};
use crate::config::Config;
use crate::error::CliError;
use crate::model::{TaskId, TaskStatus, TaskType};
use crate::orchestrator::profiles;
use crate::store::DependencyView;
use crate::ui::printable;

/// Show a task with its dependencies, dependents and events
///
/// With `--attempts`, every attempt at it too, as `vane log` lists them.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  vane task show T3\n  vane task show T3 --attempts\n  vane task show auth --json"
)]
pub struct Args {
    /// The task's id
    id: TaskId,
    /// List its attempts: outcome, cost, tokens, feedback and files (as `vane log` does)
    #[arg(long)]
    attempts: bool,
}

/// The most recent events a human view shows; `--json` has them all.
const EVENTS_SHOWN: usize = 20;

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let detail = workspace.store.task_detail(&args.id)?;
    // The profile its next attempt would run with, and who chose it; none for an epic, which runs
    // no agent, or a task that is done. A vane.toml with problems says nothing here: `vane config
    // check` is where they are told.
    let config = Config::load(&workspace.location.workdir).ok();
    let charged = workspace.store.charged_attempts(&detail.task.id)?;
    let next = config
        .as_ref()
        .filter(|_| !matches!(detail.task.kind, TaskType::Epic))
        .filter(|_| detail.task.status != TaskStatus::Done)
        .map(|config| profiles::next_agent(config, &detail.task, charged));
    let attempts = if args.attempts {
        Some(crate::cli::commands::log::attempt_views(
            &workspace,
            &detail.task.id,
        )?)
    } else {
        None
    };
    if env.ui.json() {
        let mut value = serde_json::to_value(&detail).map_err(std::io::Error::other)?;
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "next_agent".to_string(),
                match &next {
                    Some(next) => serde_json::json!({
                        "profile": next.profile,
                        "chosen_by": next.chosen_by(),
                        "route": next.route(),
                    }),
                    None => serde_json::Value::Null,
                },
            );
            if let Some(attempts) = &attempts {
                object.insert(
                    "attempts".to_string(),
                    serde_json::to_value(attempts).map_err(std::io::Error::other)?,
                );
            }
        }
        env.ui.json_value(&value)?;
        return Ok(());
    }
    let task = &detail.task;
    let ui = env.ui;
    let mut out = String::new();
    let bold = console::Style::new().bold();
    let _ = writeln!(
        out,
        "{}  {}",
        ui.paint(bold.clone(), task.id.as_str()),
        printable(&task.title)
    );
    let ready = if detail.ready { " (ready)" } else { "" };
    let _ = writeln!(
        out,
        "status:      {}{ready}",
        render::status(ui, task.status, 0)
    );
    if let Some(reason) = &task.block_reason {
        let _ = writeln!(out, "reason:      {}", printable(reason));
    }
    let _ = writeln!(out, "type:        {}", task.kind);
    if let Some(c) = task.complexity {
        let _ = writeln!(out, "complexity:  {c}");
    }
    let _ = writeln!(out, "priority:    {}", task.priority);
    if let Some(parent) = &task.parent {
        let _ = writeln!(out, "epic:        {parent}");
    }
    match (&next, &task.agent) {
        (Some(next), _) => {
            let _ = writeln!(
                out,
                "agent:       {} ({})",
                printable(next.profile),
                printable(&next.chosen_by())
            );
        }
        (None, Some(agent)) => {
            let _ = writeln!(out, "agent:       {}", printable(agent));
        }
        (None, None) => {}
    }
    if let Some(run) = &task.run {
        let _ = writeln!(out, "run:         {}", printable(run));
    }
    // What the scheduler keeps apart: the paths declared, and those its attempts touched.
    for (label, paths) in [
        ("paths:       ", &task.paths),
        ("touched:     ", &detail.learned_paths),
    ] {
        if !paths.is_empty() {
            let _ = writeln!(out, "{label}{}", printable(&paths.join(", ")));
        }
    }
    for (label, value) in [
        ("branch:      ", &task.branch),
        ("base:        ", &task.base_sha),
        ("head:        ", &task.head_sha),
        ("landed:      ", &task.landed_sha),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "{label}{value}");
        }
    }
    if detail.fresh_start {
        let _ = writeln!(
            out,
            "next start:  from the base branch, not from a merge (`vane task retry --fresh`)"
        );
    }
    let _ = writeln!(out, "created:     {}", render::time(task.created_at));
    if !task.description.is_empty() {
        let _ = writeln!(out);
        for line in task.description.lines() {
            let _ = writeln!(out, "    {}", printable(line));
        }
    }
    if let Some(review) = crate::orchestrator::approval::review(&workspace, &task.id)? {
        let _ = writeln!(
            out,
            "\nWaiting for your approval: it passed its gates, and changes {}, which decide what \
             lands (`vane approve {}` lands it, `vane reject {} --reason ...` sends it back):",
            review.paths.join(", "),
            task.id,
            task.id
        );
        for line in review.diff.lines() {
            let _ = writeln!(out, "    {}", printable(line));
        }
    }
    let section = |out: &mut String, title: &str, items: &[DependencyView], kinds: bool| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{title}:");
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|d| {
                let mut row = vec![format!("  {}", d.id), render::status(ui, d.status, 0)];
                if kinds {
                    row.push(d.kind.to_string());
                }
                row.push(printable(&d.title).into_owned());
                row
            })
            .collect();
        out.push_str(&render::table(&rows));
    };
    section(&mut out, "Depends on", &detail.dependencies, true);
    section(&mut out, "Needed by", &detail.dependents, true);
    section(&mut out, "Tasks", &detail.children, false);
    if !detail.events.is_empty() {
        let _ = writeln!(out, "\nEvents:");
        let hidden = detail.events.len().saturating_sub(EVENTS_SHOWN);
        if hidden > 0 {
            let _ = writeln!(
                out,
                "  ... {hidden} earlier (`vane events --task {} --limit 0` shows them all)",
                task.id
            );
        }
        for event in &detail.events[hidden..] {
            let _ = writeln!(
                out,
                "  {}  {}",
                render::time(event.at),
                printable(&render::event_summary(event))
            );
        }
    }
    if let Some(attempts) = &attempts {
        if attempts.is_empty() {
            let _ = writeln!(out, "\nAttempts: none yet");
        } else {
            let _ = writeln!(out, "\nAttempts:");
            for line in crate::cli::commands::log::render_attempts(ui, attempts).lines() {
                let _ = writeln!(out, "{}{line}", if line.is_empty() { "" } else { "  " });
            }
        }
    }
    ui.data(&out)?;
    Ok(())
}
