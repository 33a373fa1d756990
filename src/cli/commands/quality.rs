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
        .map(|s| parse_since(s, crate::model::now_millis()))
        .transpose()?;
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

/// Milliseconds since the epoch for `--since`: a span back from `now` or a UTC date.
fn parse_since(text: &str, now: i64) -> Result<i64, CliError> {
    let bad = || {
        CliError::new(
            ErrorKind::Usage,
            format!("--since {text}: expected a span such as 7d, 24h, 30m or 2w, or a date such as 2026-11-01"),
        )
    };
    let text = text.trim();
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let number: i64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        let seconds = match unit {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        return Ok(now - number.max(0) * seconds * 1000);
    }
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_spans_and_dates() {
        let now = 1_000_000_000_000;
        assert_eq!(parse_since("7d", now).unwrap(), now - 7 * 86_400_000);
        assert_eq!(parse_since("30m", now).unwrap(), now - 30 * 60_000);
        assert_eq!(parse_since("2w", now).unwrap(), now - 14 * 86_400_000);
        assert_eq!(parse_since("1970-01-02", now).unwrap(), 86_400_000);
        assert_eq!(parse_since("2026-11-25", now).unwrap(), 1_795_564_800_000);
        for bad in ["7x", "d", "yesterday", "2026-13-01", "2026-11"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }
}
