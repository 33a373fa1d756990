use console::Style;

use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::CliError;
use crate::model::{short_commit, TaskId};
use crate::orchestrator::gates;

/// Run the quality gates now: on a task's branch merged with the base tip, or on the working tree
///
/// With a task, the gates of vane.toml run on the merge of its branch (`vane/<task>`) with the
/// current base tip, in a worktree made for the purpose, exactly as `vane work` gates it before
/// landing; the results are recorded on the task's latest attempt, and a tree gated before is not
/// gated again. With no task they run on the working tree as it is, uncommitted changes included,
/// and nothing is recorded. Exits 0 when the verdict is a pass, 1 when it falls short.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane gate                 score the working tree as it is
  vane gate T3              score task T3's branch merged with the base tip
  vane gate T3 --json       the same, as JSON (every gate, its score, issues and the verdict)")]
pub struct Args {
    /// The task whose branch to gate; none gates the working tree
    task: Option<TaskId>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let mut workspace = env.workspace()?;
    let config = Config::load(&workspace.location.workdir)?;
    if config.gates.is_empty() {
        return Err(CliError::refused("vane.toml defines no gates").with_hint(
            "add a [[gate]] with a `command` or an `agent`; `vane init` wrote commented examples",
        ));
    }
    let result = gates::gate_on_demand(&mut workspace, &config, args.task.as_ref())?;
    let decision = &result.report.decision;
    if env.ui.json() {
        env.ui.json_value(&result)?;
    } else {
        let what = match (&result.task, &result.commit) {
            (Some(task), Some(commit)) => format!(
                "{task}'s branch merged with the base tip ({})",
                short_commit(commit)
            ),
            _ => format!("the working tree at {}", result.worktree.display()),
        };
        let width = result
            .report
            .gates
            .iter()
            .map(|g| g.record.gate.len())
            .max()
            .unwrap_or(4);
        let mut out = format!("Gates on {what}:\n");
        for gate in &result.report.gates {
            let r = &gate.record;
            // A gate that is not required and scores low lowers the mean; it fails nothing alone.
            let mark = match (r.passed, gate.required) {
                (true, _) => env.ui.paint(Style::new().green(), "pass"),
                (false, true) => env.ui.paint(Style::new().red(), "FAIL"),
                (false, false) => env.ui.paint(Style::new().yellow(), "low "),
            };
            let mut notes = vec![r.dimension.clone(), format!("weight {}", gate.weight)];
            if gate.required {
                notes.push("required".to_string());
            }
            if gate.cached {
                notes.push("cached".to_string());
            } else {
                notes.push(format!("{:.1} s", r.duration_ms as f64 / 1000.0));
            }
            out.push_str(&format!(
                "  {mark}  {:<width$}  {:.2}  ({})\n",
                r.gate,
                r.score,
                notes.join(", ")
            ));
            for issue in &r.issues {
                out.push_str(&format!(
                    "        issue: {}\n",
                    issue.replace('\n', "\n          ")
                ));
            }
            for suggestion in &r.suggestions {
                out.push_str(&format!("        suggestion: {suggestion}\n"));
            }
        }
        let verdict = if decision.passed {
            env.ui.paint(Style::new().green().bold(), "pass")
        } else {
            env.ui.paint(Style::new().red().bold(), "fall short")
        };
        out.push_str(&format!(
            "Verdict: {verdict}: {:.2} overall against the threshold {:.2}",
            decision.overall, decision.threshold
        ));
        if !decision.failed_required.is_empty() {
            out.push_str(&format!(
                "; required gate {} failed",
                decision
                    .failed_required
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        env.ui.data(&out)?;
    }
    if decision.passed {
        Ok(())
    } else {
        Err(CliError::refused(format!(
            "the gates scored {:.2}, short of the threshold {:.2}{}",
            decision.overall,
            decision.threshold,
            if decision.failed_required.is_empty() {
                String::new()
            } else {
                " or with a required gate failing".to_string()
            }
        )))
    }
}
