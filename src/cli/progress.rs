//! What a person sees while a batch runs: on a terminal, one live line per worker (task, agent,
//! elapsed) and one for the batch, with each event printed above them; elsewhere, plain lines.
//! Either way every line is made printable (`ui::printable`) on its way to the terminal.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::orchestrator::Progress;
use crate::ui::{printable, Ui};

pub struct WorkDisplay<'a> {
    ui: &'a Ui,
    live: Option<Live>,
}

struct Live {
    multi: MultiProgress,
    batch: ProgressBar,
    workers: RefCell<BTreeMap<usize, ProgressBar>>,
    tally: RefCell<Tally>,
}

#[derive(Default)]
struct Tally {
    landed: usize,
    sent_back: usize,
    blocked: usize,
}

impl<'a> WorkDisplay<'a> {
    pub fn new(ui: &'a Ui) -> Self {
        let live = ui.live_progress().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let batch = multi.add(ProgressBar::new_spinner());
            batch.set_style(
                ProgressStyle::with_template("{spinner} batch  {elapsed:>4}  {msg}")
                    .expect("a valid template"),
            );
            batch.enable_steady_tick(Duration::from_millis(120));
            Live {
                multi,
                batch,
                workers: RefCell::new(BTreeMap::new()),
                tally: RefCell::new(Tally::default()),
            }
        });
        WorkDisplay { ui, live }
    }

    /// Shows one event: a line (above the live lines on a terminal) and the live lines' new state.
    pub fn show(&self, event: &Progress, line: &str) {
        let Some(live) = &self.live else {
            self.ui.status(line);
            return;
        };
        // Printed as `Ui::status` prints: what an agent or a gate printed cannot act on the terminal.
        let _ = live.multi.println(self.ui.for_stderr(line));
        match event {
            Progress::Started {
                worker,
                task,
                profile,
                attempt,
                ..
            } => {
                let bar = live.worker(*worker);
                bar.reset_elapsed();
                let again = if *attempt > 1 {
                    format!(" attempt {attempt}")
                } else {
                    String::new()
                };
                bar.set_message(format!("{task}  {profile}{again}"));
            }
            Progress::AgentDone { worker, task, .. } => {
                live.worker(*worker)
                    .set_message(format!("{task}  done, queued to land"));
            }
            Progress::Gating { task, .. } => live.batch.set_message(format!("gating {task}")),
            Progress::Landed { .. } => live.tally.borrow_mut().landed += 1,
            Progress::Rejected { .. } => live.tally.borrow_mut().sent_back += 1,
            Progress::Blocked { .. } => live.tally.borrow_mut().blocked += 1,
            _ => {}
        }
        if !matches!(event, Progress::Gating { .. }) {
            let tally = live.tally.borrow();
            live.batch.set_message(format!(
                "{} landed, {} sent back, {} blocked",
                tally.landed, tally.sent_back, tally.blocked
            ));
        }
        if let Progress::Landed { task, .. }
        | Progress::Rejected { task, .. }
        | Progress::Blocked { task, .. } = event
        {
            // The worker of a settled task is free until its next task starts.
            let prefix = format!("{task}  ");
            for bar in live.workers.borrow().values() {
                if bar.message().starts_with(&prefix) {
                    bar.set_message("idle");
                }
            }
        }
    }

    /// Removes the live lines before the summary is printed.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            for bar in live.workers.borrow().values() {
                bar.finish_and_clear();
            }
            live.batch.finish_and_clear();
        }
    }
}

impl Live {
    fn worker(&self, worker: usize) -> ProgressBar {
        self.workers
            .borrow_mut()
            .entry(worker)
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template(&format!(
                        "{{spinner}} w{worker:<4} {{elapsed:>4}}  {{msg}}"
                    ))
                    .expect("a valid template"),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

/// The line that says merging waits for a person's checkout of base: the files in the way, the
/// command that puts them aside (`git stash -u` when git does not track some of them), and how
/// long vane waits. Printed once per pause.
pub(crate) fn describe_pause(ui: &Ui, event: &Progress) -> String {
    let Progress::Paused {
        checkout,
        tasks,
        paths,
        untracked,
        bound,
    } = event
    else {
        return String::new();
    };
    let shown: Vec<String> = paths
        .iter()
        .map(|path| {
            if untracked.contains(path) {
                format!("{} (untracked)", printable(path))
            } else {
                printable(path).into_owned()
            }
        })
        .collect();
    let stash = if untracked.is_empty() {
        "git stash"
    } else {
        "git stash -u"
    };
    let tasks: Vec<&str> = tasks.iter().map(|t| t.as_str()).collect();
    let wait = match bound {
        None => "merging goes on by itself once they are out of the way".to_string(),
        Some(bound) if bound.is_zero() => {
            "the batch stops now (`pause_timeout = 0` in vane.toml)".to_string()
        }
        Some(bound) => format!(
            "merging goes on by itself once they are out of the way, or the batch stops in {} \
             (`pause_timeout` in vane.toml)",
            render_seconds(bound.as_secs())
        ),
    };
    format!(
        "{} landing {} would overwrite what is in the way in {}, the checkout of the base branch: \
         {}. Commit it, or put it aside with `{stash}` there (`git stash pop` brings it back); {wait}.",
        ui.paint_err(console::Style::new().yellow(), "Merging paused:"),
        tasks.join(", "),
        checkout.display(),
        shown.join(", ")
    )
}

/// `90 s`, `10 min`, `2 h`, `3 h 20 min`: a bound as a person reads it.
fn render_seconds(seconds: u64) -> String {
    match (seconds, seconds / 3600, seconds % 3600 / 60) {
        (s, _, _) if s < 120 => format!("{s} s"),
        (s, _, _) if s < 7200 => format!("{} min", s / 60),
        (_, hours, 0) => format!("{hours} h"),
        (_, hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::render_seconds;

    #[test]
    fn bounds_read_as_a_person_says_them() {
        for (seconds, shown) in [
            (0, "0 s"),
            (90, "90 s"),
            (600, "10 min"),
            (7200, "2 h"),
            (12_000, "3 h 20 min"),
        ] {
            assert_eq!(render_seconds(seconds), shown);
        }
    }
}
