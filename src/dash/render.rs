//! Drawing one frame of the dashboard: a pure function of a `DashState`, so that a test draws it
//! on ratatui's `TestBackend` and reads the screen back as text.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, LineGauge, List, ListItem, ListState, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use super::state::{elapsed, DashState, Detail, SettledKind};
use crate::model::TaskStatus;
use crate::orchestrator::work::live::CandidateState;

/// Draws the dashboard, or the detail of the selected task, with the key line at the bottom.
pub fn render(frame: &mut Frame, state: &DashState) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    render_header(frame, header, state);
    match &state.view.detail {
        Some(detail) => render_detail(frame, body, detail),
        None => render_panes(frame, body, state),
    }
    render_footer(frame, footer, state);
}

/// The gauges' bars: thick for what is done or spent, so that it reads without colour too.
const FILLED: &str = "━";
const UNFILLED: &str = "─";

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn pane(title: String) -> Block<'static> {
    Block::bordered().title(Span::styled(title, bold()))
}

fn render_header(frame: &mut Frame, area: Rect, state: &DashState) {
    let block = pane(format!(" vane dash · {} ", state.repository));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [about, gauges] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(batch_line(state)), about);

    let [progress, cost] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(gauges);
    let done = state.counts.get(&TaskStatus::Done).copied().unwrap_or(0);
    let total: usize = state.counts.values().sum();
    let ratio = if total == 0 {
        0.0
    } else {
        done as f64 / total as f64
    };
    frame.render_widget(
        LineGauge::default()
            .ratio(ratio)
            .label(format!("tasks {done}/{total} done "))
            .filled_symbol(FILLED)
            .unfilled_symbol(UNFILLED)
            .filled_style(Style::new().fg(Color::Green))
            .unfilled_style(dim()),
        progress,
    );
    let spent = state.batch.as_ref().map_or(0.0, |b| b.spent_usd);
    match state.batch.as_ref().and_then(|b| b.budget_usd) {
        Some(budget) => {
            let ratio = if budget > 0.0 {
                (spent / budget).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let colour = if ratio >= 0.9 {
                Color::Red
            } else if ratio >= 0.7 {
                Color::Yellow
            } else {
                Color::Cyan
            };
            frame.render_widget(
                LineGauge::default()
                    .ratio(ratio)
                    .label(format!(" cost ${spent:.2} of ${budget:.2} "))
                    .filled_symbol(FILLED)
                    .unfilled_symbol(UNFILLED)
                    .filled_style(Style::new().fg(colour))
                    .unfilled_style(dim()),
                cost,
            );
        }
        None => frame.render_widget(
            Paragraph::new(format!(" cost ${spent:.2}, no budget")),
            cost,
        ),
    }
}

/// The batch in one line: which, where, how long, who holds the lock.
fn batch_line(state: &DashState) -> Line<'static> {
    let Some(batch) = &state.batch else {
        return match &state.lock_holder {
            Some((pid, since)) => Line::from(format!(
                "no batch yet · pid {pid} holds the work lock since {since}"
            )),
            None => Line::from("no batch yet: `vane work` starts one"),
        };
    };
    let mut spans = vec![Span::styled(
        format!("batch {} on {}", batch.id, batch.base),
        bold(),
    )];
    let counts = Span::raw(format!(
        " · {} landed, {} sent back",
        batch.landed, batch.sent_back
    ));
    if batch.running {
        spans.push(Span::styled(
            format!(" · running {}", elapsed(state.now - batch.started_at)),
            Style::new().fg(Color::Green),
        ));
        spans.push(counts);
        if let Some(pid) = batch.pid {
            spans.push(Span::raw(format!(" · pid {pid}")));
        }
        if let Some(since) = &batch.lock_since {
            spans.push(Span::styled(format!(", lock since {since}"), dim()));
        }
    } else {
        let how = match (&batch.outcome, batch.finished_at) {
            (Some(outcome), Some(at)) => format!(" · {outcome} {}", crate::model::format_time(at)),
            _ => " · stopped without finishing".to_string(),
        };
        spans.push(Span::styled(how, dim()));
        spans.push(counts);
        if let Some((pid, since)) = &state.lock_holder {
            spans.push(Span::raw(format!(
                " · pid {pid} holds the work lock since {since}"
            )));
        }
    }
    Line::from(spans)
}

fn render_panes(frame: &mut Frame, area: Rect, state: &DashState) {
    let worker_rows = (state.workers.len() * 2).max(1);
    let queue_rows = state.queue.candidates.len()
        + state.queue.awaiting_approval.len()
        + state.held_back.len()
        + usize::from(state.paused_on.is_some());
    let top = u16::try_from(worker_rows.max(queue_rows.max(1)) + 2)
        .unwrap_or(u16::MAX)
        .clamp(4, (area.height / 2).max(4));
    let quality = u16::try_from(state.quality.len().clamp(1, 4) + 2).unwrap_or(6);
    let [top_area, middle, bottom] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Min(4),
        Constraint::Length(quality),
    ])
    .areas(area);
    let [workers, queue] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(top_area);
    render_workers(frame, workers, state);
    render_queue(frame, queue, state);
    let [tasks, settled] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(middle);
    render_tasks(frame, tasks, state);
    let [landed, rejected] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(settled);
    render_landed(frame, landed, state);
    render_rejected(frame, rejected, state);
    render_quality(frame, bottom, state);
}

fn render_workers(frame: &mut Frame, area: Rect, state: &DashState) {
    let mut lines = Vec::new();
    for worker in &state.workers {
        let label = Span::styled(format!("w{:<2} ", worker.worker), dim());
        let Some(task) = &worker.task else {
            lines.push(Line::from(vec![
                label,
                Span::styled(format!("idle {}", elapsed(state.now - worker.since)), dim()),
            ]));
            continue;
        };
        let mut spans = vec![
            label,
            Span::styled(task.to_string(), bold()),
            Span::raw("  "),
            Span::styled(
                worker.profile.clone().unwrap_or_else(|| "agent".into()),
                Style::new().fg(Color::Cyan),
            ),
        ];
        if let Some(attempt) = worker.attempt {
            spans.push(Span::raw(format!(" #{attempt}")));
        }
        spans.push(Span::raw(format!(
            "  {}",
            elapsed(state.now - worker.since)
        )));
        if let Some(title) = &worker.title {
            spans.push(Span::styled(format!("  {title}"), dim()));
        }
        lines.push(Line::from(spans));
        lines.push(Line::from(vec![
            Span::raw("    › "),
            Span::raw(worker.last_line.clone().unwrap_or_default()),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no batch running", dim()));
    }
    frame.render_widget(
        Paragraph::new(lines).block(pane(format!(" Workers ({}) ", state.workers.len()))),
        area,
    );
}

fn render_queue(frame: &mut Frame, area: Rect, state: &DashState) {
    let queue = &state.queue;
    let title = format!(
        " Merge queue · window {} · gate pool {}{} ",
        queue.window,
        queue.gate_pool,
        if queue.batch > 1 {
            format!(" · batches of {}", queue.batch)
        } else {
            String::new()
        }
    );
    let width = queue
        .candidates
        .iter()
        .map(|c| c.task.as_str().chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for (n, candidate) in queue.candidates.iter().enumerate() {
        let (what, style) = match candidate.state {
            CandidateState::Gating if candidate.on.is_empty() => {
                ("gating on base".to_string(), Style::new().fg(Color::Yellow))
            }
            CandidateState::Gating => (
                format!(
                    "gating on base + {}",
                    candidate
                        .on
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" + ")
                ),
                Style::new().fg(Color::Magenta),
            ),
            CandidateState::Waiting => ("waiting".to_string(), dim()),
        };
        let mut spans = vec![
            Span::styled(format!("{:>2} ", n + 1), dim()),
            Span::styled(format!("{:<width$}", candidate.task.as_str()), bold()),
            Span::raw("  "),
            Span::styled(what, style),
        ];
        if candidate.since > 0 {
            spans.push(Span::styled(
                format!("  {}", elapsed(state.now - candidate.since)),
                dim(),
            ));
        }
        lines.push(Line::from(spans));
    }
    for waiting in &queue.awaiting_approval {
        let paths = if waiting.paths.is_empty() {
            String::new()
        } else {
            format!(": {}", waiting.paths.join(", "))
        };
        lines.push(Line::from(vec![
            Span::styled(" ? ", Style::new().fg(Color::Yellow)),
            Span::styled(waiting.task.to_string(), bold()),
            Span::raw(format!("  awaiting approval{paths}")),
        ]));
    }
    for held in &state.held_back {
        lines.push(Line::from(vec![
            Span::styled(" ‖ ", dim()),
            Span::styled(held.task.to_string(), bold()),
            Span::styled(
                format!("  held behind {} ({})", held.behind, held.paths.join(", ")),
                dim(),
            ),
        ]));
    }
    if let Some(checkout) = &state.paused_on {
        lines.push(Line::styled(
            format!(" merging paused: {checkout} has changes in the way"),
            Style::new().fg(Color::Red),
        ));
    }
    if lines.is_empty() {
        lines.push(Line::styled("empty", dim()));
    }
    frame.render_widget(Paragraph::new(lines).block(pane(title)), area);
}

fn status_style(status: TaskStatus) -> Style {
    match status {
        TaskStatus::InProgress => Style::new().fg(Color::Cyan),
        TaskStatus::NeedsReview => Style::new().fg(Color::Magenta),
        TaskStatus::NeedsImprovement => Style::new().fg(Color::Yellow),
        TaskStatus::Blocked => Style::new().fg(Color::Red),
        TaskStatus::Done => Style::new().fg(Color::Green),
        TaskStatus::Pending => Style::new(),
    }
}

fn render_tasks(frame: &mut Frame, area: Rect, state: &DashState) {
    let width = state
        .tasks
        .iter()
        .map(|t| t.id.as_str().chars().count())
        .max()
        .unwrap_or(0);
    let items: Vec<ListItem> = state
        .tasks
        .iter()
        .map(|task| {
            let mut status = task.status.as_str().replace('_', " ");
            if task.approval.as_deref() == Some(crate::orchestrator::approval::WAITING) {
                status = "approval".to_string();
            }
            ListItem::new(Line::from(vec![
                Span::raw(format!("{:<width$} ", task.id.as_str())),
                Span::styled(format!("{status:<17} "), status_style(task.status)),
                Span::raw(task.title.clone()),
            ]))
        })
        .collect();
    let title = format!(" Tasks ({}) ", state.tasks.len());
    if items.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("every task is done", dim())).block(pane(title)),
            area,
        );
        return;
    }
    let list = List::new(items)
        .block(pane(title))
        .highlight_symbol("› ")
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut selection = ListState::default().with_selected(Some(state.view.selected));
    frame.render_stateful_widget(list, area, &mut selection);
}

fn ago(state: &DashState, at: Option<i64>) -> String {
    at.filter(|at| *at > 0)
        .map(|at| format!("{} ago", elapsed(state.now - at)))
        .unwrap_or_default()
}

fn render_landed(frame: &mut Frame, area: Rect, state: &DashState) {
    let lines: Vec<Line> = if state.landed.is_empty() {
        vec![Line::styled("nothing yet", dim())]
    } else {
        state
            .landed
            .iter()
            .map(|l| {
                Line::from(vec![
                    Span::styled("✓ ", Style::new().fg(Color::Green)),
                    Span::styled(l.task.to_string(), bold()),
                    Span::raw(format!("  {}", l.label)),
                    Span::styled(format!("  {}", ago(state, l.at)), dim()),
                ])
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(lines).block(pane(" Landed ".to_string())),
        area,
    );
}

/// A reason on one line: its first line, and its last when there are more (a gate's output ends
/// with what went wrong).
fn gist(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    match lines.next_back() {
        Some(last) => format!("{} {last}", first.trim_end_matches(':')),
        None => first.to_string(),
    }
}

fn render_rejected(frame: &mut Frame, area: Rect, state: &DashState) {
    let lines: Vec<Line> = if state.rejected.is_empty() {
        vec![Line::styled("nothing yet", dim())]
    } else {
        state
            .rejected
            .iter()
            .map(|r| {
                let (mark, colour) = match r.kind {
                    SettledKind::Blocked | SettledKind::Fault => ("✗ ", Color::Red),
                    SettledKind::Rejected { retry: true } => ("↻ ", Color::Yellow),
                    SettledKind::Rejected { retry: false } | SettledKind::Landed => {
                        ("! ", Color::Yellow)
                    }
                };
                Line::from(vec![
                    Span::styled(mark, Style::new().fg(colour)),
                    Span::styled(r.task.to_string(), bold()),
                    Span::styled(format!("  {}", r.label), Style::new().fg(colour)),
                    Span::raw(
                        r.reason
                            .as_deref()
                            .map(|why| format!(": {}", super::output::plain(&gist(why))))
                            .unwrap_or_default(),
                    ),
                ])
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(lines).block(pane(" Rejected ".to_string())),
        area,
    );
}

fn render_quality(frame: &mut Frame, area: Rect, state: &DashState) {
    let block = pane(format!(
        " Quality per dimension · threshold {:.2} ",
        state.threshold
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.quality.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no gate has scored anything yet", dim())),
            inner,
        );
        return;
    }
    let rows =
        Layout::vertical(vec![Constraint::Length(1); state.quality.len().min(4)]).split(inner);
    for (dimension, row) in state.quality.iter().zip(rows.iter()) {
        let [name, line, numbers] = Layout::horizontal([
            Constraint::Length(14),
            Constraint::Min(8),
            Constraint::Length(22),
        ])
        .areas(*row);
        frame.render_widget(Paragraph::new(dimension.name.clone()), name);
        // The newest scores that fit, on a scale of 0 to 100.
        let fit = usize::from(line.width);
        let skip = dimension.scores.len().saturating_sub(fit);
        let data: Vec<u64> = dimension.scores[skip..]
            .iter()
            .map(|s| (s.clamp(0.0, 1.0) * 100.0).round() as u64)
            .collect();
        let last = dimension.scores.last().copied().unwrap_or(0.0);
        let mean = dimension.scores.iter().sum::<f64>() / dimension.scores.len().max(1) as f64;
        let colour = if last >= state.threshold {
            Color::Green
        } else {
            Color::Yellow
        };
        frame.render_widget(
            Sparkline::default()
                .data(&data)
                .max(100)
                .style(Style::new().fg(colour)),
            line,
        );
        frame.render_widget(
            Paragraph::new(format!(" last {last:.2} mean {mean:.2}")),
            numbers,
        );
    }
}

fn render_detail(frame: &mut Frame, area: Rect, detail: &Detail) {
    let heading = |text: String| Line::styled(text, bold().fg(Color::Cyan));
    let mut lines = Vec::new();
    let mut about = vec![Span::styled(
        detail
            .status
            .map_or_else(|| "unknown".to_string(), |s| s.as_str().replace('_', " ")),
        detail.status.map_or_else(Style::new, status_style),
    )];
    match detail.attempt {
        Some(n) => about.push(Span::raw(format!(
            " · attempt {n}{}",
            detail
                .profile
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        ))),
        None => about.push(Span::raw(" · no attempt yet")),
    }
    lines.push(Line::from(about));
    if let Some(reason) = &detail.block_reason {
        lines.push(Line::from(format!(
            "blocked: {}",
            super::output::plain(reason)
        )));
    }
    if let Some(feedback) = &detail.feedback {
        lines.push(Line::from(format!(
            "feedback: {}",
            super::output::plain(&gist(feedback))
        )));
    }
    let mut section = |title: String, body: &[String], empty: &str| {
        lines.push(Line::raw(""));
        lines.push(heading(title));
        if body.is_empty() {
            lines.push(Line::styled(empty.to_string(), dim()));
        }
        for line in body {
            lines.push(Line::raw(line.clone()));
        }
    };
    section("Prompt".to_string(), &detail.prompt, "no prompt yet");
    section(
        "Output, the last lines".to_string(),
        &detail.output,
        "nothing printed",
    );
    if detail.gates.is_empty() {
        section("Gates".to_string(), &[], "no gate log yet");
    }
    for (gate, log) in &detail.gates {
        section(format!("Gate `{gate}`"), log, "an empty log");
    }
    section(
        "Diff stat".to_string(),
        &detail.diff_stat,
        "no commit on the task branch yet",
    );
    frame.render_widget(
        Paragraph::new(lines)
            .block(pane(format!(" {} · {} ", detail.task, detail.title)))
            .wrap(Wrap { trim: false })
            .scroll((detail.scroll, 0)),
        area,
    );
}

fn render_footer(frame: &mut Frame, area: Rect, state: &DashState) {
    let line = if let Some(prompt) = &state.view.prompt {
        Line::styled(
            prompt.clone(),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )
    } else if let Some(message) = &state.view.message {
        Line::raw(message.clone())
    } else {
        let quit = if state.view.attached {
            "q leave, the batch goes on · ctrl-c stops it"
        } else {
            "q quit"
        };
        let keys = if state.view.detail.is_some() {
            "esc back · ↑↓ scroll"
        } else {
            "↑↓/tab select · enter detail"
        };
        Line::styled(
            format!(" {keys} · b block · r retry · a approve · {quit}"),
            dim(),
        )
    };
    frame.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dash::state::{BatchView, Dimension, Settled, ViewState, WorkerView};
    use crate::model::TaskId;
    use crate::orchestrator::work::live::{LiveApproval, LiveCandidate, LiveHeld, LiveQueue};
    use crate::store::WatchedTask;

    const NOW: i64 = 1_767_225_600_000;

    fn id(s: &str) -> TaskId {
        TaskId::new(s).unwrap()
    }

    fn watched(task: &str, status: TaskStatus, title: &str) -> WatchedTask {
        WatchedTask {
            id: id(task),
            title: title.to_string(),
            status,
            block_reason: None,
            approval: None,
            attempts: 1,
            profile: Some("shell".into()),
        }
    }

    /// A batch in full swing: two workers, a queue with a speculative gate, landings, rejections,
    /// a budget and two quality dimensions.
    fn busy() -> DashState {
        let mut counts: std::collections::BTreeMap<TaskStatus, usize> =
            TaskStatus::ALL.iter().map(|s| (*s, 0)).collect();
        counts.insert(TaskStatus::Done, 3);
        counts.insert(TaskStatus::InProgress, 2);
        counts.insert(TaskStatus::NeedsReview, 2);
        counts.insert(TaskStatus::Pending, 3);
        DashState {
            now: NOW,
            repository: "shop".into(),
            batch: Some(BatchView {
                id: 4,
                base: "main".into(),
                running: true,
                pid: Some(4242),
                lock_since: Some("2026-01-01 00:00:00Z (vane work)".into()),
                started_at: NOW - 133_000,
                finished_at: None,
                outcome: None,
                landed: 3,
                sent_back: 1,
                spent_usd: 1.25,
                budget_usd: Some(5.0),
            }),
            lock_holder: None,
            workers: vec![
                WorkerView {
                    worker: 1,
                    task: Some(id("login")),
                    title: Some("Add a login form".into()),
                    profile: Some("claude".into()),
                    attempt: Some(2),
                    since: NOW - 42_000,
                    last_line: Some("Bash: cargo test".into()),
                },
                WorkerView {
                    worker: 2,
                    since: NOW - 5_000,
                    ..WorkerView::default()
                },
            ],
            queue: LiveQueue {
                window: 8,
                gate_pool: 2,
                batch: 1,
                candidates: vec![
                    LiveCandidate {
                        task: id("cart"),
                        title: Some("Cart".into()),
                        state: CandidateState::Gating,
                        ahead: 0,
                        on: vec![],
                        since: NOW - 3_000,
                    },
                    LiveCandidate {
                        task: id("search"),
                        title: Some("Search".into()),
                        state: CandidateState::Gating,
                        ahead: 1,
                        on: vec![id("cart")],
                        since: NOW - 2_000,
                    },
                ],
                awaiting_approval: vec![LiveApproval {
                    task: id("ci"),
                    paths: vec!["vane.toml".into()],
                    since: NOW - 60_000,
                }],
            },
            landed: vec![
                Settled {
                    task: id("header"),
                    kind: SettledKind::Landed,
                    label: "3f2a9c1b2d4e · checkpoint 7".into(),
                    reason: None,
                    at: Some(NOW - 10_000),
                },
                Settled {
                    task: id("footer"),
                    kind: SettledKind::Landed,
                    label: "9e8d7c6b5a41 · checkpoint 6".into(),
                    reason: None,
                    at: Some(NOW - 70_000),
                },
            ],
            rejected: vec![
                Settled {
                    task: id("login"),
                    kind: SettledKind::Rejected { retry: true },
                    label: "sent back".into(),
                    reason: Some(
                        "gate `tests` failed:\n2 tests failed\nFAILED login::submit".into(),
                    ),
                    at: Some(NOW - 50_000),
                },
                Settled {
                    task: id("legacy"),
                    kind: SettledKind::Blocked,
                    label: "blocked".into(),
                    reason: Some("gave up after 3 attempts; the last: unchanged".into()),
                    at: Some(NOW - 90_000),
                },
            ],
            held_back: vec![LiveHeld {
                task: id("theme"),
                behind: id("header"),
                paths: vec!["src/ui/**".into()],
                since: NOW - 1_000,
            }],
            paused_on: None,
            counts,
            quality: vec![
                Dimension {
                    name: "correctness".into(),
                    scores: vec![0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 0.95],
                },
                Dimension {
                    name: "style".into(),
                    scores: vec![0.9, 0.7, 0.8, 0.6],
                },
            ],
            threshold: 0.85,
            tasks: vec![
                watched("login", TaskStatus::InProgress, "Add a login form"),
                watched("cart", TaskStatus::NeedsReview, "Cart"),
                watched("search", TaskStatus::NeedsReview, "Search"),
                WatchedTask {
                    approval: Some("waiting".into()),
                    ..watched("ci", TaskStatus::NeedsReview, "Tighten the CI gate")
                },
                WatchedTask {
                    block_reason: Some("gave up".into()),
                    ..watched("legacy", TaskStatus::Blocked, "Port the legacy page")
                },
                watched("theme", TaskStatus::Pending, "Dark theme"),
            ],
            view: ViewState {
                selected: 1,
                ..ViewState::default()
            },
        }
    }

    fn draw(state: &DashState, width: u16, height: u16) -> String {
        crate::dash::to_text(state, width, height)
    }

    #[test]
    fn a_busy_batch_shows_workers_the_queue_settled_tasks_budget_and_quality() {
        let screen = draw(&busy(), 110, 30);
        insta::assert_snapshot!("dash_busy", screen);
    }

    #[test]
    fn the_speculative_gate_names_what_it_is_gated_on() {
        let screen = draw(&busy(), 110, 30);
        assert!(screen.contains("search  gating on base + cart"), "{screen}");
        assert!(screen.contains("cart    gating on base "), "{screen}");
        assert!(screen.contains("cost $1.25 of $5.00"), "{screen}");
        assert!(screen.contains("tasks 3/10 done"), "{screen}");
    }

    #[test]
    fn the_detail_view_shows_prompt_output_gate_logs_and_diff_stat() {
        let mut state = busy();
        state.view.detail = Some(Detail {
            task: id("login"),
            title: "Add a login form".into(),
            status: Some(TaskStatus::InProgress),
            attempt: Some(2),
            profile: Some("claude".into()),
            block_reason: None,
            feedback: Some("gate `tests` failed:\n2 tests failed".into()),
            prompt: vec![
                "# Task login: Add a login form".into(),
                String::new(),
                "Add a form.".into(),
            ],
            output: vec!["Writing the form now.".into(), "Bash: cargo test".into()],
            gates: vec![("tests".into(), vec!["test login::submit ... FAILED".into()])],
            diff_stat: vec![
                " login.html | 12 ++++++++++++".into(),
                " 1 file changed, 12 insertions(+)".into(),
            ],
            scroll: 0,
        });
        let screen = draw(&state, 80, 30);
        insta::assert_snapshot!("dash_detail", screen);
    }

    #[test]
    fn the_last_line_asks_before_an_action_and_says_how_to_leave() {
        let mut state = busy();
        let keys = draw(&state, 110, 30);
        assert!(
            keys.contains("b block · r retry · a approve · q quit"),
            "{keys}"
        );
        state.view.attached = true;
        let attached = draw(&state, 110, 30);
        assert!(
            attached.contains("q leave, the batch goes on"),
            "{attached}"
        );
        state.view.prompt = Some("Retry `legacy`? y/n".into());
        let asking = draw(&state, 110, 30);
        assert!(
            asking
                .lines()
                .last()
                .unwrap_or("")
                .contains("Retry `legacy`? y/n"),
            "{asking}"
        );
    }

    #[test]
    fn with_no_batch_the_dashboard_says_how_to_start_one() {
        let state = DashState {
            now: NOW,
            repository: "shop".into(),
            ..DashState::default()
        };
        let screen = draw(&state, 80, 24);
        assert!(
            screen.contains("no batch yet: `vane work` starts one"),
            "{screen}"
        );
        assert!(screen.contains("no batch running"), "{screen}");
        assert!(screen.contains("every task is done"), "{screen}");
        assert!(
            screen.contains("no gate has scored anything yet"),
            "{screen}"
        );
    }

    #[test]
    fn a_tiny_terminal_draws_without_panicking() {
        for (w, h) in [(1, 1), (10, 5), (30, 8)] {
            draw(&busy(), w, h);
        }
    }
}
