use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::{CliError, ErrorKind};
use crate::model::now_millis;
use crate::observe::{report, since};

/// Show the seed's success metrics over a window: velocity, quality, autonomy, efficiency,
/// intelligence and reliability, each against its target
///
/// Velocity: tasks landed per day and per batch hour. Quality: each dimension's mean score and
/// the share of landed tasks that met the threshold. Autonomy: the longest stretch of batch work
/// without a person's command, and those commands (interventions). Efficiency: agent time per
/// batch time (workers per coordinator), cost per landed task, attempts wasted by cause.
/// Intelligence: tasks that planning and roadmap extension added, and how many landed.
/// Reliability: batches that crashed and were recovered, what recovery did, the database check.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane report                     the last seven days
  vane report --since 24h
  vane report --since 2026-11-01 --json")]
pub struct Args {
    /// From then on: `7d`, `24h`, `30m`, `2w`, or a date (YYYY-MM-DD, UTC)
    #[arg(long, value_name = "WHEN", default_value = "7d")]
    since: String,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let config = Config::load(&workspace.location.workdir)?;
    let now = now_millis();
    let since = since::parse_since(&args.since, now)
        .map_err(|e| CliError::new(ErrorKind::Usage, e.to_string()))?;
    let report = workspace
        .store
        .success_report(since, now, config.threshold)?;
    if env.ui.json() {
        env.ui.json_value(&report)?;
    } else {
        env.ui.data(report::render(&report).trim_end())?;
    }
    Ok(())
}
