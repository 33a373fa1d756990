use console::Style;

use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::orchestrator;

/// Check that vane can work here and that its state is whole, with a fix for each problem
///
/// Checks that vane.toml parses; that every agent profile vane may start (the default, the
/// escalation, critic gates', and those of tasks not done and not blocked) exists, its command
/// line can be built and its program is installed; that each command gate's program is there;
/// the database's integrity and schema version; that the database and git agree (every done
/// task's landing commit is on the base branch, every checkpoint's ref holds its commit); ref moves
/// a crash left unfinished; the work lock (who holds it, or a holder that died); and the disk
/// vane's worktrees take. Prints one line per check; the exit status is 0 when all is well, 1 when
/// any check found a problem. Changes nothing.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane doctor
  vane doctor --json            a list of {check, ok, detail, fix}

Exit status: 0 when every check passed, 1 when any found a problem.")]
pub struct Args {}

pub fn run(env: &CommandEnv<'_>, _args: Args) -> Result<(), CliError> {
    let checks = orchestrator::doctor(&env.cwd)?;
    if env.ui.json() {
        env.ui.json_value(&checks)?;
    } else {
        let width = checks.iter().map(|c| c.check.len()).max().unwrap_or(0);
        let mut out = String::new();
        for check in &checks {
            let label = if check.ok {
                env.ui.paint(Style::new().green(), "ok     ")
            } else {
                env.ui.paint(Style::new().red().bold(), "problem")
            };
            out.push_str(&format!(
                "{label}  {:<width$}  {}\n",
                check.check, check.detail
            ));
            if let Some(fix) = &check.fix {
                let word = if check.ok { "hint:" } else { "fix:" };
                out.push_str(&format!("{:9}{:width$}  {word} {fix}\n", "", ""));
            }
        }
        env.ui.data(&out)?;
    }
    let problems = checks.iter().filter(|c| !c.ok).count();
    if problems > 0 {
        return Err(CliError::refused(format!(
            "{problems} of {} checks found a problem",
            checks.len()
        ))
        .with_hint("each problem above comes with its fix"));
    }
    env.ui
        .status(&format!("All {} checks passed", checks.len()));
    Ok(())
}
