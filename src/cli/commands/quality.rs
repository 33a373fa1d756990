use crate::cli::CommandEnv;
use crate::config::Config;
use crate::error::{CliError, ErrorKind};
use crate::quality::report;

/// Show quality over time: per dimension the recent scores, a moving average and the extremes;
/// the share of landed tasks that met the threshold; the tasks with the lowest scores
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane quality
  vane quality --dimension style
  vane quality --since 7d           the last seven days (also h, m, w, or a date: 2026-11-01)
  vane quality --json")]
pub struct Args {
    /// Only this dimension (correctness, style, ...)
    #[arg(long, value_name = "DIMENSION")]
    dimension: Option<String>,

    /// Only scores since then: `7d`, `24h`, `30m`, `2w`, or a date (YYYY-MM-DD, UTC)
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    let workspace = env.workspace_to_read()?;
    let config = Config::load(&workspace.location.workdir)?;
    let since = args
        .since
        .as_deref()
        .map(|s| crate::observe::since::parse_since(s, crate::model::now_millis()))
        .transpose()
        .map_err(|e| CliError::new(ErrorKind::Usage, e.to_string()))?;
    let report =
        workspace
            .store
            .quality_report(args.dimension.as_deref(), since, config.threshold)?;
    if env.ui.json() {
        env.ui.json_value(&report)?;
    } else {
        let mut report = report;
        // Titles are the one text from outside vane in the report; its colours are vane's.
        for task in &mut report.lowest {
            task.title = crate::ui::printable(&task.title).into_owned();
        }
        // The report colours through `console`, which is told what `--color` decided.
        console::set_colors_enabled(env.ui.color_stdout());
        env.ui
            .data(report::render(&report, env.ui.stdout_is_terminal()).trim_end())?;
    }
    Ok(())
}
