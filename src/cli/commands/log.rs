//! `vane log`: every attempt at a task, and where its files are. The listing is shared with
//! `vane task show --attempts`, and the files with `vane show`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use console::Style;
use serde::Serialize;

use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::model::{AttemptOutcome, TaskId};
use crate::prices::CostSource;
use crate::store::AttemptHistory;
use crate::ui::{printable, Ui};
use crate::workspace::{self, Workspace};

/// Show every attempt at a task: how it ended, what it cost, and where its files are
///
/// Oldest first, each attempt with its number, agent profile, outcome, whether it was charged
/// (counted toward `max_attempts`), how long its agent ran, its cost (and whether the agent
/// reported it or vane priced its tokens), its tokens (input, the cached part of it, output), its
/// gate runs, the feedback it was sent back with, and the paths of its prompt, its agent's output
/// and its gate logs. `vane show` prints those files.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane log version
  vane log version --json | jq '.[].cost_usd'
  vane show version --attempt 1 --gate tests     print a gate log the listing names")]
pub struct Args {
    /// The task's id
    task: TaskId,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let task = workspace.store.task(&args.task)?;
    let views = attempt_views(&workspace, &args.task)?;
    if env.ui.json() {
        env.ui.json_value(&views)?;
        return Ok(());
    }
    let ui = env.ui;
    let mut out = format!(
        "{}  {}  ({}, {})\n",
        ui.paint(Style::new().bold(), task.id.as_str()),
        printable(&task.title),
        render::status(ui, task.status, 0),
        match views.len() {
            0 => "no attempts yet".to_string(),
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        }
    );
    if !views.is_empty() {
        out.push('\n');
        out.push_str(&render_attempts(ui, &views));
    }
    ui.data(&out)?;
    Ok(())
}

/// An attempt with the files its run left.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AttemptView {
    #[serde(flatten)]
    pub attempt: AttemptHistory,
    pub files: RunFiles,
}

/// Where an attempt's run directory and its files are (`.git/vane/runs/<task>/<n>/`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunFiles {
    pub dir: PathBuf,
    /// Whether the directory is there still (`vane gc --keep-days` removes old ones).
    pub kept: bool,
    pub prompt: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// Each gate's log: the paths its runs recorded, then any other `gate-<name>.log` there.
    pub gate_logs: Vec<GateLog>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct GateLog {
    pub gate: String,
    pub path: PathBuf,
}

/// Every attempt at `task`, oldest first, with its files.
pub(crate) fn attempt_views(
    workspace: &Workspace,
    task: &TaskId,
) -> Result<Vec<AttemptView>, CliError> {
    let runs = workspace::state_dir(&workspace.location).join("runs");
    Ok(workspace
        .store
        .attempt_history(task)?
        .into_iter()
        .map(|attempt| {
            let dir = runs
                .join(attempt.attempt.task.as_str())
                .join(attempt.attempt.number.to_string());
            let files = run_files(dir, &attempt);
            AttemptView { attempt, files }
        })
        .collect())
}

fn run_files(dir: PathBuf, attempt: &AttemptHistory) -> RunFiles {
    let mut gate_logs: Vec<GateLog> = Vec::new();
    for run in &attempt.gates {
        let (Some(gate), Some(path)) = (&run.gate, &run.log_path) else {
            continue;
        };
        let log = GateLog {
            gate: gate.clone(),
            path: PathBuf::from(path),
        };
        if !gate_logs.contains(&log) {
            gate_logs.push(log);
        }
    }
    let found: Vec<GateLog> = crate::orchestrator::gates::gate_logs_in(&dir)
        .into_iter()
        .map(|(gate, path)| GateLog { gate, path })
        .filter(|log| !gate_logs.iter().any(|l| l.gate == log.gate))
        .collect();
    gate_logs.extend(found);
    RunFiles {
        kept: dir.is_dir(),
        prompt: dir.join("prompt.md"),
        stdout: dir.join("agent.stdout"),
        stderr: dir.join("agent.stderr"),
        gate_logs,
        dir,
    }
}

/// The attempts as blocks of `label: value` lines, for `vane log` and `vane task show --attempts`.
pub(crate) fn render_attempts(ui: &Ui, views: &[AttemptView]) -> String {
    let mut out = String::new();
    for (i, view) in views.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_attempt(ui, view));
    }
    out
}

/// One attempt: a heading line, then what it ran, cost, scored and left.
pub(crate) fn render_attempt(ui: &Ui, view: &AttemptView) -> String {
    let a = &view.attempt;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {}",
        ui.paint(
            Style::new().bold(),
            &format!("attempt {}", a.attempt.number)
        ),
        outcome(ui, a),
        if a.attempt.charged {
            "charged".to_string()
        } else {
            ui.paint(Style::new().dim(), "not charged")
        }
    );
    let mut line = |label: &str, value: &str| {
        let mut lines = value.lines();
        let _ = writeln!(
            out,
            "  {label:<10}{}",
            printable(lines.next().unwrap_or(""))
        );
        for rest in lines {
            let _ = writeln!(out, "  {:<10}{}", "", printable(rest));
        }
    };
    let mut ran = vec![a
        .attempt
        .profile
        .clone()
        .unwrap_or_else(|| "agent".to_string())];
    if let Some(worker) = &a.attempt.worker {
        ran.push(format!("on {worker}"));
    }
    if let Some(batch) = a.attempt.batch {
        ran.push(format!("in batch {batch}"));
    }
    ran.push(format!("at {}", render::time(a.attempt.started_at)));
    ran.push(match a.duration_ms {
        Some(ms) => format!("for {}", duration(ms)),
        None => "not finished".to_string(),
    });
    if let Some(code) = a.attempt.exit_code {
        ran.push(format!("exit {code}"));
    }
    line("ran:", &ran.join(", "));
    if let Some(reason) = &a.attempt.agent_reason {
        line("why:", reason);
    }
    if let Some(model) = &a.attempt.model {
        line("model:", model);
    }
    line("cost:", &cost(a));
    if let Some(score) = a.attempt.score {
        line("score:", &format!("{score:.2}"));
    }
    for (i, run) in a.gates.iter().enumerate() {
        let verdict = match run.passed {
            Some(true) => "passed",
            Some(false) => "failed",
            None => "scored",
        };
        let mut text = format!(
            "{}  {:.2} {verdict}",
            run.gate.as_deref().unwrap_or(&run.dimension),
            run.score
        );
        if let Some(ms) = run.duration_ms {
            let _ = write!(text, " in {}", duration(ms));
        }
        if run.cached_from.is_some() {
            text.push_str(" (a verdict from the cache)");
        }
        line(if i == 0 { "gates:" } else { "" }, &text);
    }
    if let Some(feedback) = &a.attempt.feedback {
        line("feedback:", feedback);
    }
    if let Some(message) = &a.attempt.message {
        line("message:", message);
    }
    let files = &view.files;
    let gone = |path: &Path| {
        if path.exists() {
            path.display().to_string()
        } else {
            format!("{} (not there)", path.display())
        }
    };
    line("prompt:", &gone(&files.prompt));
    line("stdout:", &gone(&files.stdout));
    line("stderr:", &gone(&files.stderr));
    for log in &files.gate_logs {
        line("gate log:", &format!("{}  {}", log.gate, gone(&log.path)));
    }
    if !files.kept {
        line(
            "",
            "its run directory was removed (`vane gc --keep-days` removes old ones)",
        );
    }
    out
}

/// How an attempt ended, coloured: `running` while its agent runs.
pub(crate) fn outcome(ui: &Ui, a: &AttemptHistory) -> String {
    let Some(outcome) = a.attempt.outcome else {
        let word = if a.attempt.finished_at.is_some() {
            "unfinished"
        } else {
            "running"
        };
        return ui.paint(Style::new().cyan(), word);
    };
    let style = match outcome {
        AttemptOutcome::Landed => Style::new().green(),
        AttemptOutcome::Changed | AttemptOutcome::Unchanged => Style::new().cyan(),
        AttemptOutcome::Abandoned | AttemptOutcome::Interrupted | AttemptOutcome::VaneError => {
            Style::new().dim()
        }
        _ => Style::new().red(),
    };
    ui.paint(style, outcome.as_str())
}

/// `$0.0123 (reported by the agent), 1200 tokens in (300 cached), 450 out`, or what is known.
pub(crate) fn cost(a: &AttemptHistory) -> String {
    let mut parts = Vec::new();
    match (a.attempt.cost_usd, a.attempt.cost_source) {
        (Some(usd), Some(CostSource::Agent)) => {
            parts.push(format!("${usd:.4} (reported by the agent)"))
        }
        (Some(usd), Some(CostSource::Prices)) => {
            parts.push(format!("${usd:.4} (its tokens at the prices)"))
        }
        (Some(usd), None) => parts.push(format!("${usd:.4}")),
        (None, _) => parts.push("unknown".to_string()),
    }
    if a.attempt.input_tokens.is_some() || a.attempt.output_tokens.is_some() {
        let count = |n: Option<i64>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
        let mut tokens = format!("tokens {} in", count(a.attempt.input_tokens));
        if let Some(cached) = a.attempt.cached_input_tokens {
            let _ = write!(tokens, " ({cached} cached)");
        }
        let _ = write!(tokens, ", {} out", count(a.attempt.output_tokens));
        parts.push(tokens);
    }
    parts.join(", ")
}

/// A span of milliseconds as a person reads it: `36 ms`, `4.2 s`, `3m 05s`, `1h 02m`.
pub(crate) fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h {:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration(36), "36 ms");
        assert_eq!(duration(4_230), "4.2 s");
        assert_eq!(duration(185_000), "3m 05s");
        assert_eq!(duration(3_720_000), "1h 02m");
        assert_eq!(duration(-5), "0 ms");
    }
}
