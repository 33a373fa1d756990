use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use crate::cli::progress::WorkDisplay;
use crate::cli::CommandEnv;
use crate::config::Config;
use crate::dash::{self, Dash, DashError, Exit, Mode};
use crate::error::{CliError, ErrorKind};
use crate::orchestrator::{self, Progress, WorkOptions, WorkSummary};
use crate::workspace::Workspace;

/// Watch the work live: workers, the merge queue, landings, rejections, cost and quality
///
/// A terminal dashboard that works from any terminal while `vane work` runs, and without one
/// running too: each worker's task, agent, attempt, elapsed time and the last line its agent
/// printed; the gate pool and the merge queue (what is gated on what); recent landings and
/// rejections with their reasons; the batch's progress and its cost against its budget; and the
/// quality of each dimension over time. It reads the database and `.git/vane/live.json` four times
/// a second and never takes the work lock.
///
/// Keys: up/down (or tab) select a task, Enter shows its prompt, output, gate logs and diff stat,
/// q or Esc leaves. `b` blocks the selected task (asking for the reason), `r` releases a blocked
/// one and `a` approves one waiting for a person, each after a confirmation: as `vane task block`,
/// `vane task retry` and `vane approve` do. Nothing else changes anything.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane dash                      watch the batch that runs in this repository
  vane work --dash               run a batch with the dashboard in front
  vane dash --once               print the dashboard once, as text")]
pub struct Args {
    /// Print the dashboard once, as text, and exit (no terminal needed)
    #[arg(long)]
    once: bool,

    /// With --once: the width and height to draw at (default: the terminal's, else 120x40)
    #[arg(long, value_name = "COLSxROWS", value_parser = parse_size, requires = "once")]
    size: Option<(u16, u16)>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let config = Config::load(&workspace.location.workdir)?;
    if args.once {
        let (width, height) = args.size.unwrap_or_else(terminal_size);
        let text = dash::snapshot(&workspace, &config, width, height).map_err(cli_error)?;
        env.ui.data_verbatim(&text)?;
        return Ok(());
    }
    refuse_without_terminal("vane dash")?;
    let dash = Dash {
        workspace: &workspace,
        config: &config,
        by: super::task::person(),
    };
    dash::run(&dash, Mode::Watch).map_err(cli_error)?;
    Ok(())
}

/// `vane work --dash`: the batch on a thread of its own, the dashboard in front. Leaving the
/// dashboard (`q`) leaves the batch running to its end with its progress printed as `vane work`
/// prints it; Ctrl-C in the dashboard interrupts the batch as it interrupts `vane work`.
pub fn work(
    env: &CommandEnv<'_>,
    workspace: &mut Workspace,
    config: &Config,
    options: &WorkOptions,
) -> Result<WorkSummary, CliError> {
    refuse_without_terminal("vane work --dash")?;
    // The dashboard's own connection, opened to read; the batch keeps the one it writes with.
    let watching = env.workspace_to_read()?;
    let done = AtomicBool::new(false);
    let failed = AtomicBool::new(false);
    let (events_tx, events) = mpsc::channel::<Progress>();
    let (exit, summary) = std::thread::scope(|scope| {
        let (done, failed) = (&done, &failed);
        let batch = scope.spawn(move || {
            let report = |event: Progress| {
                // Nobody listens once the dashboard and the lines after it are gone.
                let _ = events_tx.send(event);
            };
            let summary = orchestrator::work(workspace, config, options, &report);
            // A batch that failed closes the dashboard, so that its error is read at once.
            failed.store(summary.is_err(), Ordering::SeqCst);
            done.store(true, Ordering::SeqCst);
            summary
        });
        let dash = Dash {
            workspace: &watching,
            config,
            by: super::task::person(),
        };
        let exit = dash::run(&dash, Mode::Attached { done, failed });
        if exit.as_ref().is_ok_and(|e| *e == Exit::Interrupt) || exit.is_err() {
            interrupt();
        }
        let ui = env.ui;
        if !done.load(Ordering::SeqCst) {
            ui.status(match exit {
                Ok(Exit::Interrupt) => "Stopping the batch: its agents are being stopped.",
                Err(_) => "The dashboard failed; stopping the batch.",
                _ => "Left the dashboard; the batch goes on (Ctrl-C stops it).",
            });
        }
        // What came while the dashboard was in front, it showed; from here on, the lines of
        // `vane work`, until the batch ends.
        events.try_iter().for_each(drop);
        let display = WorkDisplay::new(ui);
        for event in &events {
            display.show(&event, &super::work::describe(ui, &event));
        }
        display.finish();
        let summary = batch
            .join()
            .unwrap_or_else(|_| Err(orchestrator::OrchestratorError::WorkerGone(0)));
        (exit, summary)
    });
    exit.map_err(cli_error)?;
    Ok(summary?)
}

/// Interrupts this process's batch as Ctrl-C does outside the dashboard, whose terminal, in raw
/// mode, sends no signal for it.
fn interrupt() {
    // SAFETY: raises a signal in this process; vane's handler (`stop_agents_on_interrupt`) only
    // stores to an atomic.
    unsafe {
        libc::raise(libc::SIGINT);
    }
}

fn refuse_without_terminal(what: &str) -> Result<(), CliError> {
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(CliError::new(
        ErrorKind::Usage,
        format!("{what} needs a terminal: standard input and output are not one"),
    )
    .with_hint("`vane dash --once` prints the dashboard as text; `vane status` says what runs"))
}

fn terminal_size() -> (u16, u16) {
    ratatui::crossterm::terminal::size()
        .ok()
        .filter(|(w, h)| *w > 0 && *h > 0)
        .unwrap_or((120, 40))
}

fn parse_size(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{text}`: expected COLSxROWS, such as 120x40");
    let (w, h) = text.split_once('x').ok_or_else(bad)?;
    let (w, h): (u16, u16) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
    if w < 20 || h < 10 {
        return Err(format!("`{text}`: the dashboard needs at least 20x10"));
    }
    Ok((w, h))
}

fn cli_error(error: DashError) -> CliError {
    match error {
        DashError::Store(e) => e.into(),
        DashError::Orchestrator(e) => e.into(),
        DashError::Terminal(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_columns_by_rows() {
        assert_eq!(parse_size("120x40"), Ok((120, 40)));
        for bad in ["120", "x40", "0x0", "10x5", "wide"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
