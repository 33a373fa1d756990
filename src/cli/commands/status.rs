use std::fmt::Write;

use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::model::TaskStatus;
use crate::store::StatusSummary;
use crate::ui::printable;

/// Show where the work stands
///
/// Counts per status, the tasks ready to start (in the order they would start), blocked tasks with
/// their reasons, the progress of each epic and the last checkpoint.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  vane status\n  vane status --json | jq .ready_count")]
pub struct Args {
    /// How many ready, blocked and epic rows to list (the counts are always whole)
    #[arg(long, default_value_t = 10)]
    limit: usize,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let summary = workspace.store.status_summary(args.limit)?;
    if env.ui.json() {
        env.ui.json_value(&summary)?;
        return Ok(());
    }
    print_summary(env, &summary, args.limit)
}

/// The human form of a status summary on stdout.
pub fn print_summary(
    env: &CommandEnv<'_>,
    summary: &StatusSummary,
    limit: usize,
) -> Result<(), CliError> {
    let ui = env.ui;
    let mut out = String::new();
    if summary.total == 0 {
        let _ = writeln!(out, "No tasks yet.");
        ui.data(&out)?;
        ui.status("Add some with `vane task add <title>` or `vane import roadmap.yaml`.");
        return Ok(());
    }
    let parts: Vec<String> = summary
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| {
            format!(
                "{n} {}",
                ui.paint(render::status_style(*s), &s.as_str().replace('_', " "))
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "{} {}: {}",
        summary.total,
        if summary.total == 1 { "task" } else { "tasks" },
        parts.join(", ")
    );
    let more = |shown: usize, total: usize| {
        if total > shown {
            format!("  ... and {} more\n", total - shown)
        } else {
            String::new()
        }
    };
    let _ = writeln!(out, "\nReady ({}):", summary.ready_count);
    if summary.ready.is_empty() {
        let waiting = summary.counts[&TaskStatus::Pending];
        let _ = writeln!(
            out,
            "  none{}",
            if waiting > 0 {
                " (the pending tasks wait for others)"
            } else {
                ""
            }
        );
    } else {
        let rows: Vec<Vec<String>> = summary
            .ready
            .iter()
            .map(|t| vec![format!("  {}", t.id), printable(&t.title).into_owned()])
            .collect();
        out.push_str(&render::table(&rows));
        out.push_str(&more(summary.ready.len(), summary.ready_count));
    }
    if summary.blocked_count > 0 {
        let _ = writeln!(out, "\nBlocked ({}):", summary.blocked_count);
        let rows: Vec<Vec<String>> = summary
            .blocked
            .iter()
            .map(|t| {
                vec![
                    format!("  {}", t.id),
                    printable(&t.title).into_owned(),
                    t.reason
                        .as_deref()
                        .map_or_else(String::new, |r| format!("({})", printable(r))),
                ]
            })
            .collect();
        out.push_str(&render::table(&rows));
        out.push_str(&more(summary.blocked.len(), summary.blocked_count));
    }
    if !summary.epics.is_empty() {
        let _ = writeln!(out, "\nEpics:");
        // Open epics first: those are what a person wants to see.
        let mut epics: Vec<_> = summary.epics.iter().collect();
        epics.sort_by_key(|e| e.complete);
        let rows: Vec<Vec<String>> = epics
            .iter()
            .take(limit)
            .map(|e| {
                let progress = format!("{}/{}", e.done, e.total);
                vec![
                    format!("  {}", e.id),
                    if e.complete {
                        ui.paint(console::Style::new().green(), &format!("{progress} done"))
                    } else {
                        progress
                    },
                    printable(&e.title).into_owned(),
                ]
            })
            .collect();
        out.push_str(&render::table(&rows));
        out.push_str(&more(limit.min(epics.len()), epics.len()));
    }
    match &summary.last_checkpoint {
        Some(c) => {
            let _ = writeln!(
                out,
                "\nLast checkpoint: {} ({}{}) at {}, {}",
                c.id,
                c.kind,
                c.task
                    .as_ref()
                    .map(|t| format!(" of {t}"))
                    .unwrap_or_default(),
                c.sha.short(),
                render::time(c.at)
            );
        }
        None => {
            let _ = writeln!(out, "\nLast checkpoint: none yet");
        }
    }
    ui.data(&out)?;
    Ok(())
}
