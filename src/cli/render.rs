//! Small pieces of human output shared by several commands.

use console::Style;

use crate::model::TaskStatus;
use crate::ui::Ui;

/// A time as `YYYY-MM-DD HH:MM:SSZ` (UTC), from milliseconds since the Unix epoch.
pub fn time(millis: i64) -> String {
    crate::model::format_time(millis)
}

pub fn status_style(status: TaskStatus) -> Style {
    match status {
        TaskStatus::Done => Style::new().green(),
        TaskStatus::InProgress | TaskStatus::NeedsReview => Style::new().cyan(),
        TaskStatus::NeedsImprovement => Style::new().yellow(),
        TaskStatus::Blocked => Style::new().red(),
        TaskStatus::Pending => Style::new(),
    }
}

/// A status padded to a column, coloured for stdout.
pub fn status(ui: &Ui, status: TaskStatus, width: usize) -> String {
    ui.paint(status_style(status), &format!("{:width$}", status.as_str()))
}

/// Rows of cells as left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(console::measure_text_width(cell));
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - console::measure_text_width(cell) + 2;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One line saying what an event recorded: its task, kind and the gist of its data.
pub fn event_summary(event: &crate::model::Event) -> String {
    let data = &event.data;
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let detail = match event.kind.as_str() {
        "status_changed" => {
            let mut s = format!("{} -> {}", text("from"), text("to"));
            let reason = text("reason");
            if !reason.is_empty() {
                s.push_str(&format!(" ({reason})"));
            }
            s
        }
        "task_created" => text("title").to_string(),
        "dependency_added" | "dependency_removed" => {
            format!("{} ({})", text("depends_on"), text("kind"))
        }
        _ if data.as_object().is_some_and(|o| o.is_empty()) => String::new(),
        _ => data.to_string(),
    };
    let task = event.task.as_ref().map_or("-", |t| t.as_str());
    format!("{task}  {}  {detail}", event.kind)
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(time(0), "1970-01-01 00:00:00Z");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(time(1_795_610_096_789), "2026-11-25 12:34:56Z");
    }

    #[test]
    fn tables_align_columns() {
        let rows = vec![
            vec!["T1".to_string(), "done".to_string(), "A".to_string()],
            vec!["T10".to_string(), "pending".to_string(), "B".to_string()],
        ];
        assert_eq!(table(&rows), "T1   done     A\nT10  pending  B\n");
    }
}
