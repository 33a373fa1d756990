//! The command line: global flags, dispatch to one file per subcommand, and turning errors into
//! messages and exit codes. No SQL and no git here; commands call the library below and render.

mod commands;
pub mod complete;
pub mod generated;
mod progress;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::error::{CliError, ErrorKind};
use crate::ui::{ColorChoice, Ui};
use crate::workspace::Workspace;

const AFTER_HELP: &str = "\
Examples:
  vane demo                            try vane on a sample repository, no AI needed
  vane init                            set vane up in the current repository
  vane task add \"Add a login form\" --run 'echo form > login.html'
  vane import roadmap.yaml             add or update tasks from a roadmap
  vane plan \"Add sign-in\" --id auth   let a planner agent break a goal into tasks
  vane work                            run a batch: agents in worktrees, gates, landings
  vane status                          what is done, ready and blocked, and a running batch
  vane dash                            watch a running batch live (`vane work --dash` in one go)
  vane rollback 3                      return base and task states to checkpoint 3
  vane gate T3                         score task T3's branch with the quality gates
  vane land T3                         land T3's branch by hand, if its gates pass
  vane quality                         quality scores over time, per dimension
  vane report                          the week against the success metrics (velocity, autonomy, ...)
  vane metrics --listen 127.0.0.1:9464 serve Prometheus metrics computed from the database
  vane events --follow -n 0            watch the event log from now on
  vane log T3                          every attempt at T3: outcome, cost, tokens, files
  vane show T3 --gate tests            print what an attempt left (output, prompt, a gate log)
  vane diff T3                         T3's change: its branch, or what it landed
  vane trace batch-3                   a batch as a tree of what happened, with durations
  vane doctor                          check the configuration, database, refs and locks
  vane gc                              remove worktrees and branches nobody needs any more
  vane config check                    find every problem in vane.toml

Exit codes:
  0  success
  1  the request was refused (bad input, unknown task, a cycle, a forbidden move)
  2  the command line is wrong
  3  vane cannot run here (not a git repository, not set up, newer database)
  4  a failure underneath (database, git, file system)
  130  interrupted; `vane work` resumes where it stopped";

/// Run a batch of coding work through agents in parallel git worktrees, landing only what
/// passes its gates
#[derive(Debug, Parser)]
#[command(name = "vane", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Run as if vane was started in PATH
    #[arg(short = 'C', global = true, value_name = "PATH")]
    directory: Option<PathBuf>,

    /// Print results as JSON on stdout
    #[arg(long, global = true)]
    json: bool,

    /// Print nothing but results and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Say more about what happens (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// When to use color (NO_COLOR in the environment means never, unless `always`)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(commands::init::Args),
    #[command(subcommand)]
    Task(commands::task::TaskCommand),
    Import(commands::import::Args),
    Plan(commands::plan::Args),
    Mcp(commands::mcp::Args),
    Export(commands::export::Args),
    #[command(subcommand)]
    Context(commands::context::ContextCommand),
    Work(commands::work::Args),
    Worker(commands::worker::Args),
    Checkpoints(commands::checkpoints::Args),
    Rollback(commands::rollback::Args),
    Gate(commands::gate::Args),
    Land(commands::land::Args),
    Approve(commands::approve::Args),
    Reject(commands::reject::Args),
    #[command(subcommand)]
    Hooks(commands::hooks::HooksCommand),
    Hook(commands::hooks::HookArgs),
    Quality(commands::quality::Args),
    Report(commands::report::Args),
    Metrics(commands::metrics::Args),
    Status(commands::status::Args),
    Dash(commands::dash::Args),
    Events(commands::events::Args),
    Log(commands::log::Args),
    Show(commands::show::Args),
    Diff(commands::diff::Args),
    Trace(commands::trace::Args),
    Gc(commands::gc::Args),
    Doctor(commands::doctor::Args),
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    Completions(commands::completions::Args),
    Demo(commands::demo::Args),
}

/// What every command gets: the output and where it runs.
pub struct CommandEnv<'a> {
    pub ui: &'a Ui,
    pub cwd: PathBuf,
}

impl CommandEnv<'_> {
    /// Opens the repository's vane workspace, or says why not.
    pub fn workspace(&self) -> Result<Workspace, CliError> {
        Ok(Workspace::open(&self.cwd)?)
    }

    /// Opens the workspace for a command that only reads: read-only when the repository cannot
    /// be written, so that reading works there.
    pub fn workspace_to_read(&self) -> Result<Workspace, CliError> {
        Ok(Workspace::open_to_read(&self.cwd)?)
    }
}

/// The clap definition, for completions and man pages.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs vane with the process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    // A shell asking for completions (`COMPLETE=bash vane -- ...`) gets them, and nothing runs.
    complete::complete_if_asked();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ErrorKind::Usage.exit_code()
            } else {
                0
            });
        }
    };
    let ui = Ui::new(cli.color, cli.quiet, cli.verbose, cli.json);
    init_tracing(cli.verbose, ui.color_stderr());
    match dispatch(cli, &ui) {
        Ok(Some(code)) => code,
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            ui.error(&e.message, &e.details, &e.hints);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs the command; an exit code of its own when it has one (`vane hook`), else None for success.
fn dispatch(cli: Cli, ui: &Ui) -> Result<Option<ExitCode>, CliError> {
    let cwd = std::env::current_dir()?;
    let cwd = match cli.directory {
        Some(dir) => {
            let dir = cwd.join(dir);
            if !dir.is_dir() {
                return Err(CliError::new(
                    ErrorKind::Usage,
                    format!("-C {}: no such directory", dir.display()),
                ));
            }
            dir
        }
        None => cwd,
    };
    let env = CommandEnv { ui, cwd };
    let result = match cli.command {
        Command::Init(args) => commands::init::run(&env, args),
        Command::Task(command) => commands::task::run(&env, command),
        Command::Import(args) => commands::import::run(&env, args),
        Command::Plan(args) => commands::plan::run(&env, args),
        Command::Mcp(args) => commands::mcp::run(&env, args),
        Command::Export(args) => commands::export::run(&env, args),
        Command::Context(command) => commands::context::run(&env, command),
        Command::Work(args) => commands::work::run(&env, args),
        Command::Worker(args) => commands::worker::run(&env, args),
        Command::Checkpoints(args) => commands::checkpoints::run(&env, args),
        Command::Rollback(args) => commands::rollback::run(&env, args),
        Command::Gate(args) => commands::gate::run(&env, args),
        Command::Land(args) => commands::land::run(&env, args),
        Command::Approve(args) => commands::approve::run(&env, args),
        Command::Reject(args) => commands::reject::run(&env, args),
        Command::Hooks(command) => commands::hooks::run(&env, command),
        Command::Hook(args) => return Ok(Some(commands::hooks::run_hook(&env, args))),
        Command::Quality(args) => commands::quality::run(&env, args),
        Command::Report(args) => commands::report::run(&env, args),
        Command::Metrics(args) => commands::metrics::run(&env, args),
        Command::Status(args) => commands::status::run(&env, args),
        Command::Dash(args) => commands::dash::run(&env, args),
        Command::Events(args) => commands::events::run(&env, args),
        Command::Log(args) => commands::log::run(&env, args),
        Command::Show(args) => commands::show::run(&env, args),
        Command::Diff(args) => commands::diff::run(&env, args),
        Command::Trace(args) => commands::trace::run(&env, args),
        Command::Gc(args) => commands::gc::run(&env, args),
        Command::Doctor(args) => commands::doctor::run(&env, args),
        Command::Config(command) => commands::config::run(&env, command),
        Command::Completions(args) => commands::completions::run(&env, args),
        Command::Demo(args) => commands::demo::run(&env, args),
    };
    result.map(|()| None)
}

/// Diagnostics on stderr: warnings by default, more with each `-v`; `VANE_LOG` overrides. Colored
/// only where the rest of stderr is (`--color`, `NO_COLOR`, a terminal).
fn init_tracing(verbose: u8, color: bool) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // The batch's journal (`vane::batch`) is for its file: people see the same as progress lines.
    let filter = tracing_subscriber::EnvFilter::try_from_env("VANE_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("vane={level},vane::batch=off"))
    });
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .with_filter(filter);
    // A running batch's log in `logs/` (see `crate::logs`): one JSON object per line, whatever
    // `-v` says.
    let batch_log = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(crate::logs::BatchLog)
        .with_filter(tracing_subscriber::EnvFilter::new("vane=info"));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(batch_log)
        .try_init();
}
