use std::fmt::Write;

use console::Style;

use super::log::duration;
use crate::cli::{render, CommandEnv};
use crate::error::CliError;
use crate::model::short_commit;
use crate::store::{TraceKind, TraceNode};
use crate::ui::{printable, Ui};

/// Show the causal chain of a batch, an attempt or a task as a tree, with durations
///
/// Built from the event log, the attempts, the gate runs and the landings. A batch (`batch-3`)
/// shows its own events and every attempt it ran; an attempt (`batch-3/version#2`, its
/// correlation id) its claim, its agent's run, its gate runs, its status changes and its landing;
/// a task id every attempt at it and its other events. Any other correlation id of the event log
/// (`vane events --json` shows them: a rollback's, an import's) shows its events. Each line starts
/// with the time since the root began; spans (a batch, an attempt, an agent's run, a gate, a
/// landing) say how long they took. `--json` gives the tree.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane trace batch-1                  a whole batch
  vane trace 'batch-1/version#2'      one attempt
  vane trace version                  every attempt at a task
  vane trace batch-1 --json | jq '.children[] | select(.kind == \"attempt\") | .duration_ms'")]
pub struct Args {
    /// A batch (`batch-N`), an attempt (`batch-N/<task>#<n>`), a task id, or another correlation id
    correlation: String,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let Some(root) = workspace.store.trace(&args.correlation)? else {
        return Err(CliError::refused(format!(
            "nothing is called `{}`: no batch, attempt, task or correlation id of the event log",
            args.correlation
        ))
        .with_hint(
            "give a batch (`batch-3`), an attempt (`batch-3/version#2`) or a task id; \
             `vane events --json` shows every event's correlation id",
        ));
    };
    if env.ui.json() {
        env.ui.json_value(&root)?;
        return Ok(());
    }
    let mut lines = Vec::new();
    walk(env.ui, &root, None, &root, "", &mut lines);
    let width = lines.iter().map(|(at, _)| at.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (at, text) in &lines {
        let _ = writeln!(
            out,
            "{}  {text}",
            env.ui.paint(Style::new().dim(), &format!("{at:>width$}"))
        );
    }
    env.ui.data(&out)?;
    Ok(())
}

/// Lines of the tree, each as (the time since the root began, the branch drawing and the label).
/// `parent` is None for the root, else the node's parent and whether the node is its last child.
fn walk(
    ui: &Ui,
    root: &TraceNode,
    parent: Option<(&TraceNode, bool)>,
    node: &TraceNode,
    indent: &str,
    lines: &mut Vec<(String, String)>,
) {
    let last = parent.map(|(_, last)| last);
    let (branch, below) = match last {
        None => (String::new(), String::new()),
        Some(true) => (format!("{indent}└─ "), format!("{indent}   ")),
        Some(false) => (format!("{indent}├─ "), format!("{indent}│  ")),
    };
    // The root says when it began; every other line, how long after.
    let (offset, began) = match last {
        None => (String::new(), format!("  from {}", render::time(node.at))),
        Some(_) => (format!("+{}", duration(node.at - root.at)), String::new()),
    };
    let label = label(ui, parent.map(|(p, _)| p), node);
    lines.push((offset, format!("{branch}{label}{began}")));
    for (i, child) in node.children.iter().enumerate() {
        let last = i + 1 == node.children.len();
        walk(ui, root, Some((node, last)), child, &below, lines);
    }
}

/// One node in a line: what it is, how it ended, how long it took.
fn label(ui: &Ui, parent: Option<&TraceNode>, node: &TraceNode) -> String {
    let data = &node.data;
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let took = node
        .duration_ms
        .map(|ms| format!("  {}", duration(ms)))
        .unwrap_or_default();
    let bold = Style::new().bold();
    match node.kind {
        TraceKind::Batch => format!(
            "{}  {}{took}  on {}",
            ui.paint(bold, &node.name),
            outcome_word(ui, data.get("outcome").and_then(|v| v.as_str()), "running"),
            printable(text("base_branch"))
        ),
        TraceKind::Task => format!(
            "{}  {}  {}{took}",
            ui.paint(bold, &node.name),
            printable(text("title")),
            text("status")
        ),
        TraceKind::Chain => format!("{}{took}", ui.paint(bold, &node.name)),
        TraceKind::Attempt => {
            let mut s = format!(
                "{}  {}{took}",
                ui.paint(bold, &node.name),
                outcome_word(ui, data.get("outcome").and_then(|v| v.as_str()), "running")
            );
            if data.get("charged") == Some(&serde_json::Value::Bool(false)) {
                s.push_str("  not charged");
            }
            let on = [text("profile"), text("worker")]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" on ");
            if !on.is_empty() {
                let _ = write!(s, "  ({})", printable(&on));
            }
            if let Some(usd) = data.get("cost_usd").and_then(|v| v.as_f64()) {
                let _ = write!(s, "  ${usd:.4}");
            }
            s
        }
        TraceKind::Agent => {
            let mut s = format!("agent {}{took}", printable(&node.name));
            if data.get("finished") == Some(&serde_json::Value::Bool(false)) {
                s.push_str("  still running, or cut short");
            }
            if let Some(code) = data.get("exit_code").and_then(|v| v.as_i64()) {
                let _ = write!(s, "  exit {code}");
            }
            let tokens = |key: &str| data.get(key).and_then(|v| v.as_i64());
            if let (Some(input), Some(output)) = (tokens("input_tokens"), tokens("output_tokens")) {
                let _ = write!(s, "  {input} tokens in, {output} out");
            }
            s
        }
        TraceKind::Gate => {
            let score = data.get("score").and_then(|v| v.as_f64()).unwrap_or(0.0);
            let verdict = match data.get("passed").and_then(|v| v.as_bool()) {
                Some(true) => ui.paint(Style::new().green(), "passed"),
                Some(false) => ui.paint(Style::new().red(), "failed"),
                None => "scored".to_string(),
            };
            let cached = if data.get("cached") == Some(&serde_json::Value::Bool(true)) {
                "  (from the cache)"
            } else {
                ""
            };
            format!(
                "gate {}  {score:.2} {verdict}{took}{cached}",
                printable(&node.name)
            )
        }
        TraceKind::Landing => {
            let refname = text("ref");
            let to = short_commit(text("to"));
            let state = match text("state") {
                "done" => String::new(),
                other => format!("  ({other})"),
            };
            format!(
                "land{took}  {} -> {to}{state}",
                printable(refname.strip_prefix("refs/heads/").unwrap_or(refname))
            )
        }
        TraceKind::Event => {
            // An event about a task says which, unless it sits under that task's own node.
            let about = match &node.task {
                Some(task) if parent.and_then(|p| p.task.as_ref()) != Some(task) => {
                    format!("{task}  ")
                }
                _ => String::new(),
            };
            let detail = event_detail(&node.name, data);
            let detail = detail.lines().next().unwrap_or("");
            format!("{about}{}  {}", node.name, printable(detail))
                .trim_end()
                .to_string()
        }
    }
}

fn outcome_word(ui: &Ui, outcome: Option<&str>, none: &str) -> String {
    match outcome {
        Some(word @ ("landed" | "finished")) => ui.paint(Style::new().green(), word),
        Some(word @ ("changed" | "unchanged")) => ui.paint(Style::new().cyan(), word),
        Some(word @ ("abandoned" | "interrupted" | "vane_error")) => {
            ui.paint(Style::new().dim(), word)
        }
        Some(word) => ui.paint(Style::new().red(), word),
        None => ui.paint(Style::new().cyan(), none),
    }
}

/// The gist of an event's data, on one line where it can be.
fn event_detail(kind: &str, data: &serde_json::Value) -> String {
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).unwrap_or("");
    match kind {
        "status_changed" => {
            let mut s = format!("{} -> {}", text("from"), text("to"));
            let reason = text("reason");
            if !reason.is_empty() {
                let _ = write!(s, " ({})", reason.lines().next().unwrap_or(""));
            }
            s
        }
        "checkpoint_recorded" => format!(
            "checkpoint {} ({}) at {}",
            data.get("checkpoint")
                .map(|v| v.to_string())
                .unwrap_or_default(),
            text("kind"),
            short_commit(text("sha"))
        ),
        "batch_started" => format!("on {}", text("base_branch")),
        "batch_finished" => match data.get("summary") {
            Some(summary) => format!("{} ({summary})", text("outcome")),
            None => text("outcome").to_string(),
        },
        "task_created" => text("title").to_string(),
        "dependency_added" | "dependency_removed" => {
            format!("{} ({})", text("depends_on"), text("kind"))
        }
        _ if data.as_object().is_some_and(|o| o.is_empty()) => String::new(),
        _ => {
            let mut s = data.to_string();
            if s.len() > 120 {
                let cut = (0..=117)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                s.truncate(cut);
                s.push_str("...");
            }
            s
        }
    }
}
