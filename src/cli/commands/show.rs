use serde_json::json;

use super::log::{attempt_views, render_attempt, AttemptView};
use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::model::TaskId;

/// Print what an attempt left: its agent's output, its prompt, a gate's log
///
/// By default the latest attempt at the task: a short header (how it ended, what it cost, its
/// files) and the last lines of its agent's output. `--output` prints the agent's output whole,
/// `--stderr` what it wrote to stderr, `--prompt` the prompt it was given, `--gate NAME` the log of
/// that gate's run on it. `vane log` lists the attempts and their files.
#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("what").multiple(false)),
    after_help = "Examples:
  vane show version                       the latest attempt: header and the end of its output
  vane show version --attempt 1 --gate tests
  vane show version --prompt              the prompt its latest attempt was given
  vane show version --output | less       everything its agent printed"
)]
pub struct Args {
    /// The task's id
    task: TaskId,
    /// Which attempt (its number, from 1); default: the latest
    #[arg(long, short, value_name = "N")]
    attempt: Option<u32>,
    /// Print the agent's output (agent.stdout) whole
    #[arg(long, group = "what")]
    output: bool,
    /// Print what the agent wrote to stderr (agent.stderr)
    #[arg(long, group = "what")]
    stderr: bool,
    /// Print the prompt the agent was given (prompt.md)
    #[arg(long, group = "what")]
    prompt: bool,
    /// Print the log of the gate NAME's run on the attempt
    #[arg(long, group = "what", value_name = "NAME")]
    gate: Option<String>,
}

/// The lines of the agent's output the header shows.
const TAIL_LINES: usize = 20;

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let task = workspace.store.task(&args.task)?;
    let views = attempt_views(&workspace, &task.id)?;
    let numbers = || {
        views
            .iter()
            .map(|v| v.attempt.attempt.number.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let view = match args.attempt {
        _ if views.is_empty() => {
            return Err(CliError::refused(format!(
                "task `{}` has no attempts yet (it is {})",
                task.id, task.status
            ))
            .with_hint("`vane work` starts the tasks that are ready; `vane status` shows which"))
        }
        None => views.last().expect("not empty, checked above"),
        Some(n) => views
            .iter()
            .find(|v| v.attempt.attempt.number == n)
            .ok_or_else(|| {
                CliError::refused(format!(
                    "task `{}` has no attempt {n}; its attempts are {}",
                    task.id,
                    numbers()
                ))
                .with_hint(format!("`vane log {}` lists them", task.id))
            })?,
    };
    let number = view.attempt.attempt.number;
    let file = if args.output {
        Some(("agent.stdout", view.files.stdout.clone()))
    } else if args.stderr {
        Some(("agent.stderr", view.files.stderr.clone()))
    } else if args.prompt {
        Some(("prompt.md", view.files.prompt.clone()))
    } else if let Some(gate) = &args.gate {
        let log = view
            .files
            .gate_logs
            .iter()
            .find(|l| l.gate == *gate)
            .ok_or_else(|| no_such_gate(&task.id, view, gate))?;
        Some(("gate log", log.path.clone()))
    } else {
        None
    };
    if let Some((what, path)) = file {
        let text = std::fs::read(&path).map_err(|e| {
            let err = CliError::refused(format!(
                "attempt {number} of `{}` has no {what}: cannot read {}: {e}",
                task.id,
                path.display()
            ));
            if view.files.kept {
                err
            } else {
                err.with_hint(
                    "its run directory was removed (`vane gc --keep-days` removes old ones)",
                )
            }
        })?;
        let text = String::from_utf8_lossy(&text);
        if env.ui.json() {
            env.ui.json_value(&json!({
                "task": task.id,
                "attempt": number,
                "file": path,
                "text": text,
            }))?;
        } else if !text.is_empty() {
            env.ui.data(&text)?;
        } else {
            env.ui.status(&format!("{} is empty", path.display()));
        }
        return Ok(());
    }
    let output = std::fs::read(&view.files.stdout)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = output.lines().collect();
    let tail = &lines[lines.len().saturating_sub(TAIL_LINES)..];
    if env.ui.json() {
        env.ui.json_value(&json!({
            "task": task.id,
            "attempt": view,
            "output_tail": tail,
        }))?;
        return Ok(());
    }
    let mut out = format!(
        "{}  {}  (attempt {number} of {})\n",
        task.id,
        crate::ui::printable(&task.title),
        views.len()
    );
    out.push_str(&render_attempt(env.ui, view));
    out.push('\n');
    if tail.is_empty() {
        out.push_str("Its agent printed nothing on stdout.\n");
    } else {
        let shown = if tail.len() < lines.len() {
            format!(
                "The last {} of {} lines of its output (`--output` prints them all):",
                tail.len(),
                lines.len()
            )
        } else {
            "Its output:".to_string()
        };
        out.push_str(&shown);
        out.push('\n');
        for line in tail {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    env.ui.data(&out)?;
    Ok(())
}

fn no_such_gate(task: &TaskId, view: &AttemptView, gate: &str) -> CliError {
    let number = view.attempt.attempt.number;
    let logs: Vec<&str> = view
        .files
        .gate_logs
        .iter()
        .map(|l| l.gate.as_str())
        .collect();
    let message = if logs.is_empty() {
        format!("attempt {number} of `{task}` has no log of a gate `{gate}`: no gate ran on it")
    } else {
        format!(
            "attempt {number} of `{task}` has no log of a gate `{gate}`; it has logs of {}",
            logs.iter()
                .map(|g| format!("`{g}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    CliError::refused(message).with_hint(format!(
        "`vane log {task}` lists every attempt's gate runs and logs"
    ))
}
