//! Quality-gate score report: per-dimension trends and landing verdicts.
//!
//! [`build`] turns gate results and task outcomes into a [`Report`], which
//! serialises for `--json`; [`render`] turns a report into text for a person.

use std::collections::BTreeMap;

use serde::Serialize;

/// Sentence printed instead of a report when there are no scores at all.
const EMPTY_MESSAGE: &str =
    "No quality scores yet: they are recorded when `vane work` or `vane gate` runs gates.";

/// Sparkline levels, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One gate result.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// When the gate ran, in unix seconds.
    pub timestamp: i64,
    /// Task the gate ran for, if any.
    pub task: Option<String>,
    /// Attempt number within the task, if any.
    pub attempt: Option<u32>,
    /// Gate name.
    pub gate: String,
    /// Quality dimension the gate scores.
    pub dimension: String,
    /// Score, nominally in 0..1.
    pub score: f64,
}

/// One task's landing verdict: the overall score of the attempt that landed
/// (or of the last attempt) and whether the task landed.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutcome {
    /// Task id.
    pub task: String,
    /// Task title.
    pub title: String,
    /// Overall score of the attempt that landed, or of the last attempt.
    pub overall: f64,
    /// Whether the task landed.
    pub landed: bool,
}

/// Scores of one dimension over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionTrend {
    /// Dimension name.
    pub dimension: String,
    /// Number of scores.
    pub count: usize,
    /// The last `recent_count` scores in time order, oldest first.
    pub recent: Vec<f64>,
    /// Simple moving average over `window` scores, one value per score in
    /// time order; the first `window - 1` values average what exists so far.
    pub moving_average: Vec<f64>,
    /// The last moving-average value.
    pub latest_average: f64,
    /// Mean of all scores.
    pub mean: f64,
    /// Lowest score.
    pub min: f64,
    /// Highest score.
    pub max: f64,
    /// Timestamp of the earliest score, in unix seconds.
    pub first_at: i64,
    /// Timestamp of the latest score, in unix seconds.
    pub last_at: i64,
}

/// A task listed among the lowest overall scores; fields as in [`TaskOutcome`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LowTask {
    pub task: String,
    pub title: String,
    pub overall: f64,
    pub landed: bool,
}

/// Quality report over the rows and outcomes given to [`build`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Score a landed task must reach to count as meeting the threshold.
    pub threshold: f64,
    /// Moving-average window used for `moving_average` (at least 1).
    pub window: usize,
    /// One trend per dimension, sorted by dimension name.
    pub dimensions: Vec<DimensionTrend>,
    /// Number of outcomes that landed.
    pub landed: usize,
    /// Number of landed outcomes whose overall score is at least `threshold`,
    /// both rounded to 9 decimals before comparing.
    pub landed_meeting_threshold: usize,
    /// `landed_meeting_threshold / landed`; `None` when nothing landed.
    pub share_meeting_threshold: Option<f64>,
    /// Up to `lowest_count` outcomes, landed or not, ascending by overall
    /// score, ties by task id.
    pub lowest: Vec<LowTask>,
}

/// Parameters for [`build`].
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Score a landed task must reach to count as meeting the threshold.
    pub threshold: f64,
    /// How many of the latest scores each trend keeps in `recent`.
    pub recent_count: usize,
    /// Moving-average window; 0 is treated as 1.
    pub window: usize,
    /// How many of the lowest-scoring tasks to list.
    pub lowest_count: usize,
}

impl Default for Options {
    /// Threshold 0.85, 20 recent scores, window 5, 5 lowest tasks.
    fn default() -> Self {
        Options {
            threshold: 0.85,
            recent_count: 20,
            window: 5,
            lowest_count: 5,
        }
    }
}

/// Rounds to 9 decimals, so that a score such as `0.85 - 1e-12` meets 0.85.
fn round9(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

/// Builds a report. `rows` may come in any order: they are sorted by
/// timestamp, keeping input order among equal timestamps.
pub fn build(rows: &[MetricRow], outcomes: &[TaskOutcome], options: &Options) -> Report {
    let window = options.window.max(1);
    let mut sorted: Vec<&MetricRow> = rows.iter().collect();
    sorted.sort_by_key(|row| row.timestamp);

    let mut by_dimension: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
    for row in sorted {
        by_dimension
            .entry(row.dimension.as_str())
            .or_default()
            .push((row.timestamp, row.score));
    }
    let dimensions = by_dimension
        .into_iter()
        .map(|(dimension, points)| trend(dimension, &points, options.recent_count, window))
        .collect();

    let threshold = round9(options.threshold);
    let landed = outcomes.iter().filter(|o| o.landed).count();
    let landed_meeting_threshold = outcomes
        .iter()
        .filter(|o| o.landed && round9(o.overall) >= threshold)
        .count();
    let share_meeting_threshold =
        (landed > 0).then(|| landed_meeting_threshold as f64 / landed as f64);

    let mut ranked: Vec<&TaskOutcome> = outcomes.iter().collect();
    ranked.sort_by(|a, b| {
        a.overall
            .total_cmp(&b.overall)
            .then_with(|| a.task.cmp(&b.task))
    });
    let lowest = ranked
        .into_iter()
        .take(options.lowest_count)
        .map(|o| LowTask {
            task: o.task.clone(),
            title: o.title.clone(),
            overall: o.overall,
            landed: o.landed,
        })
        .collect();

    Report {
        threshold: options.threshold,
        window,
        dimensions,
        landed,
        landed_meeting_threshold,
        share_meeting_threshold,
        lowest,
    }
}

/// Summarises one dimension's `(timestamp, score)` points, already in time order.
fn trend(
    dimension: &str,
    points: &[(i64, f64)],
    recent_count: usize,
    window: usize,
) -> DimensionTrend {
    let scores: Vec<f64> = points.iter().map(|&(_, score)| score).collect();
    let moving_average: Vec<f64> = (0..scores.len())
        .map(|i| {
            let start = (i + 1).saturating_sub(window);
            let part = &scores[start..=i];
            part.iter().sum::<f64>() / part.len() as f64
        })
        .collect();
    let count = scores.len();
    DimensionTrend {
        dimension: dimension.to_string(),
        count,
        recent: scores[count.saturating_sub(recent_count)..].to_vec(),
        latest_average: moving_average.last().copied().unwrap_or(0.0),
        moving_average,
        mean: scores.iter().sum::<f64>() / count.max(1) as f64,
        min: scores.iter().copied().fold(f64::INFINITY, f64::min),
        max: scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        first_at: points.first().map_or(0, |p| p.0),
        last_at: points.last().map_or(0, |p| p.0),
    }
}

/// Draws one bar per value, each clamped into 0..1 and scaled on that fixed
/// range (0 is '▁', 1 is '█'); NaN draws as '▁'. Empty input gives "".
pub fn sparkline(values: &[f64]) -> String {
    values
        .iter()
        .map(|&v| {
            let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
            BARS[(v * (BARS.len() - 1) as f64).round() as usize]
        })
        .collect()
}

/// Text for a person, each line ending in '\n'. With `terminal` true, the
/// recent column is a sparkline and the average is styled green when it meets
/// the threshold, yellow otherwise (`console` decides whether colour shows).
/// With `terminal` false, recent scores print as numbers with 2 decimals and
/// the text has no colour codes or sparkline characters. A report without
/// dimensions renders as a single sentence saying no scores exist yet.
pub fn render(report: &Report, terminal: bool) -> String {
    if report.dimensions.is_empty() {
        return format!("{EMPTY_MESSAGE}\n");
    }
    let n = report.dimensions.len();
    let mut out = format!(
        "Quality, {n} dimension{}, threshold {}\n\n",
        if n == 1 { "" } else { "s" },
        report.threshold
    );

    let name_width = report
        .dimensions
        .iter()
        .map(|d| d.dimension.chars().count())
        .chain(["dimension".len()])
        .max()
        .unwrap_or(0);
    let avg_header = format!("avg({})", report.window);
    let avg_width = avg_header.len();
    out.push_str(&format!(
        "{:<name_width$}  gates  mean  {avg_header}  min   max   recent\n",
        "dimension"
    ));
    for d in &report.dimensions {
        let average = format!("{:<avg_width$}", format!("{:.2}", d.latest_average));
        let (average, recent) = if terminal {
            let styled = if round9(d.latest_average) >= round9(report.threshold) {
                console::style(average).green()
            } else {
                console::style(average).yellow()
            };
            (styled.to_string(), sparkline(&d.recent))
        } else {
            let numbers: Vec<String> = d.recent.iter().map(|v| format!("{v:.2}")).collect();
            (average, numbers.join(" "))
        };
        out.push_str(&format!(
            "{:<name_width$}  {:>5}  {:.2}  {average}  {:.2}  {:.2}  {recent}\n",
            d.dimension, d.count, d.mean, d.min, d.max
        ));
    }

    out.push('\n');
    match report.share_meeting_threshold {
        Some(share) => out.push_str(&format!(
            "Landed tasks meeting the threshold: {} of {} ({:.0}%)\n",
            report.landed_meeting_threshold,
            report.landed,
            share * 100.0
        )),
        None => out.push_str("Landed tasks meeting the threshold: no tasks have landed yet\n"),
    }
    if !report.lowest.is_empty() {
        out.push_str("Lowest scores:\n");
        let task_width = report
            .lowest
            .iter()
            .map(|t| t.task.chars().count())
            .max()
            .unwrap_or(0);
        for t in &report.lowest {
            let status = if t.landed { "landed" } else { "not landed" };
            out.push_str(&format!(
                "  {:<task_width$}  {:.2}  {status:<10}  {}\n",
                t.task, t.overall, t.title
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(timestamp: i64, dimension: &str, score: f64) -> MetricRow {
        MetricRow {
            timestamp,
            task: Some("T1".into()),
            attempt: Some(1),
            gate: "gate".into(),
            dimension: dimension.into(),
            score,
        }
    }

    /// Rows for one dimension, one per score, at timestamps 0, 1, 2, ...
    fn series(dimension: &str, scores: &[f64]) -> Vec<MetricRow> {
        let rows = scores.iter().enumerate();
        rows.map(|(i, &score)| row(i as i64, dimension, score))
            .collect()
    }

    fn outcome(task: &str, overall: f64, landed: bool) -> TaskOutcome {
        TaskOutcome {
            task: task.into(),
            title: format!("Title of {task}"),
            overall,
            landed,
        }
    }

    fn options(recent_count: usize, window: usize, lowest_count: usize) -> Options {
        Options {
            threshold: 0.85,
            recent_count,
            window,
            lowest_count,
        }
    }

    fn is_bar(c: char) -> bool {
        ('▁'..='█').contains(&c)
    }

    #[test]
    fn orders_by_timestamp_then_input_order() {
        let rows = [
            row(30, "a", 0.3),
            row(10, "a", 0.1),
            row(20, "a", 0.2),
            row(20, "a", 0.25),
        ];
        let report = build(&rows, &[], &Options::default());
        let d = &report.dimensions[0];
        assert_eq!(d.recent, vec![0.1, 0.2, 0.25, 0.3]);
        assert_eq!((d.first_at, d.last_at, d.count), (10, 30, 4));
        assert_eq!((d.min, d.max), (0.1, 0.3));
    }

    #[test]
    fn dimensions_sorted_and_recent_truncated() {
        let mut rows = series("zeta", &[0.0, 0.2, 0.4]);
        rows.extend(series("alpha", &[0.1, 0.3]));
        let report = build(&rows, &[], &options(2, 5, 5));
        let names: Vec<&str> = report
            .dimensions
            .iter()
            .map(|d| d.dimension.as_str())
            .collect();
        assert_eq!(names, ["alpha", "zeta"]);
        assert_eq!(report.dimensions[1].recent, vec![0.2, 0.4]);
    }

    #[test]
    fn moving_average_by_hand() {
        let rows = series("a", &[0.2, 0.4, 0.6, 0.8, 1.0]);
        let d = &build(&rows, &[], &options(20, 3, 5)).dimensions[0];
        // 0.2; (0.2+0.4)/2; (0.2+0.4+0.6)/3; (0.4+0.6+0.8)/3; (0.6+0.8+1.0)/3
        let expected = [0.2, 0.3, 0.4, 0.6, 0.8];
        assert_eq!(d.moving_average.len(), expected.len());
        for (got, want) in d.moving_average.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{got} != {want}");
        }
        assert!((d.latest_average - 0.8).abs() < 1e-12);
        assert!((d.mean - 0.6).abs() < 1e-12);
    }

    #[test]
    fn share_counts_exact_threshold_as_meeting() {
        let outcomes = [
            outcome("T1", 0.85, true),
            outcome("T2", 0.85 - 1e-12, true), // rounds to 0.85
            outcome("T3", 0.849, true),
            outcome("T4", 1.0, false),
        ];
        let report = build(&[], &outcomes, &Options::default());
        assert_eq!((report.landed, report.landed_meeting_threshold), (3, 2));
        assert_eq!(report.share_meeting_threshold, Some(2.0 / 3.0));
        let none = build(&[], &[outcome("T1", 1.0, false)], &Options::default());
        assert_eq!(none.share_meeting_threshold, None);
    }

    #[test]
    fn lowest_ascending_ties_by_task_and_truncated() {
        let outcomes = [
            outcome("T3", 0.5, true),
            outcome("T9", 0.9, true),
            outcome("T2", 0.5, false),
            outcome("T1", 0.7, true),
            outcome("T0", 0.95, true),
        ];
        let report = build(&[], &outcomes, &options(20, 5, 3));
        let ids: Vec<&str> = report.lowest.iter().map(|t| t.task.as_str()).collect();
        assert_eq!(ids, ["T2", "T3", "T1"]);
        assert!(!report.lowest[0].landed);
    }

    #[test]
    fn render_plain_has_no_bars_or_escapes() {
        let rows = series("correctness", &[0.5, 1.0]);
        let report = build(&rows, &[outcome("T7", 0.62, true)], &Options::default());
        let text = render(&report, false);
        assert!(!text.chars().any(is_bar), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        let expected_lines = [
            "Quality, 1 dimension, threshold 0.85\n",
            "avg(5)",
            "0.50 1.00\n",
            "Landed tasks meeting the threshold: 0 of 1 (0%)\n",
            "  T7  0.62  landed      Title of T7\n",
        ];
        for expected in expected_lines {
            assert!(text.contains(expected), "{expected:?} not in {text}");
        }
    }

    #[test]
    fn render_terminal_draws_sparkline_of_recent() {
        let rows = series("style", &[0.0, 0.2, 0.4, 0.5, 0.7, 0.9, 1.0]);
        let text = render(&build(&rows, &[], &options(4, 5, 5)), true);
        let line = text
            .lines()
            .find(|l| l.starts_with("style"))
            .unwrap_or_default();
        assert_eq!(line.chars().filter(|&c| is_bar(c)).count(), 4, "{text}");
        assert!(line.ends_with(&sparkline(&[0.5, 0.7, 0.9, 1.0])), "{text}");
    }

    #[test]
    fn render_empty_report_is_one_sentence() {
        let report = build(&[], &[outcome("T1", 0.9, true)], &Options::default());
        let sentence =
            "No quality scores yet: they are recorded when `vane work` or `vane gate` runs gates.\n";
        assert_eq!(render(&report, false), sentence);
        assert_eq!(render(&report, true), sentence);
    }

    #[test]
    fn sparkline_extremes_and_clamping() {
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[0.0, 1.0]), "▁█");
        assert_eq!(sparkline(&[-1.0, 2.0, f64::NAN]), "▁█▁");
        assert_eq!(sparkline(&[0.5]).chars().count(), 1);
    }

    #[test]
    fn report_serialises() {
        let report = build(&[row(1, "a", 0.9)], &[], &Options::default());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["dimensions"][0]["dimension"], "a");
        assert_eq!(json["share_meeting_threshold"], serde_json::Value::Null);
    }
}
