use std::fmt::Write;

use crate::cli::{render, CommandEnv};
use crate::dash::state::elapsed;
use crate::error::CliError;
use crate::model::TaskStatus;
use crate::orchestrator::work::live::{self, CandidateState};
use crate::store::StatusSummary;
use crate::ui::printable;

/// Show where the work stands
///
/// Counts per status, the tasks ready to start (in the order they would start), blocked tasks with
/// their reasons, the progress of each epic and the last checkpoint; and, while a batch runs, who
/// holds the work lock, each worker's task, agent, attempt and elapsed time, and the merge queue
/// (`vane dash` shows it live).
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
    // The batch that runs now, from its live file and the work lock (never taken).
    let running = live::running(&crate::workspace::state_dir(&workspace.location))?;
    if env.ui.json() {
        // `running`, beside the summary: the lock's holder and its live state, null when none.
        let mut value = serde_json::to_value(&summary).map_err(std::io::Error::other)?;
        if let Some(object) = value.as_object_mut() {
            let running = serde_json::to_value(&running).map_err(std::io::Error::other)?;
            object.insert("running".to_string(), running);
        }
        env.ui.json_value(&value)?;
        return Ok(());
    }
    if let Some(running) = &running {
        print_running(env, running)?;
    }
    print_summary(env, &summary, args.limit)
}

/// The running batch in a few lines: who holds the lock, each worker, the merge queue.
fn print_running(env: &CommandEnv<'_>, running: &live::Running) -> Result<(), CliError> {
    let now = crate::model::now_millis();
    let mut out = String::new();
    let Some(batch) = &running.live else {
        let _ = writeln!(
            out,
            "Running: pid {} holds the work lock since {}\n",
            running.pid,
            printable(&running.since)
        );
        env.ui.data(&out)?;
        return Ok(());
    };
    let _ = writeln!(
        out,
        "Running: batch {} on {} for {}; pid {} holds the work lock since {}",
        batch.batch,
        printable(&batch.base),
        elapsed(now - batch.started_at),
        running.pid,
        printable(&running.since)
    );
    let rows: Vec<Vec<String>> = batch
        .workers
        .iter()
        .map(|w| match &w.task {
            Some(task) => vec![
                format!("  w{}", w.worker),
                task.to_string(),
                printable(w.profile.as_deref().unwrap_or("agent")).into_owned(),
                format!("attempt {}", w.attempt.unwrap_or(1)),
                elapsed(now - w.since),
                printable(w.title.as_deref().unwrap_or("")).into_owned(),
            ],
            None => vec![
                format!("  w{}", w.worker),
                "idle".to_string(),
                String::new(),
                String::new(),
                elapsed(now - w.since),
            ],
        })
        .collect();
    out.push_str(&render::table(&rows));
    let queue = &batch.queue;
    if !queue.candidates.is_empty() || !queue.awaiting_approval.is_empty() {
        let _ = writeln!(
            out,
            "  Merge queue (window {}, gate pool {}):",
            queue.window, queue.gate_pool
        );
        let mut rows: Vec<Vec<String>> = queue
            .candidates
            .iter()
            .map(|c| {
                let what = match c.state {
                    CandidateState::Waiting => "waiting".to_string(),
                    CandidateState::Gating if c.on.is_empty() => "gating on base".to_string(),
                    CandidateState::Gating => format!(
                        "gating on base + {}",
                        c.on.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" + ")
                    ),
                };
                vec![format!("    {}", c.task), what, elapsed(now - c.since)]
            })
            .collect();
        rows.extend(queue.awaiting_approval.iter().map(|a| {
            vec![
                format!("    {}", a.task),
                format!("awaiting approval ({})", printable(&a.paths.join(", "))),
            ]
        }));
        out.push_str(&render::table(&rows));
    }
    out.push('\n');
    env.ui.data(&out)?;
    Ok(())
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
