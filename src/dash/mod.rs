//! `vane dash`: a live terminal dashboard of the work, from any terminal while a batch runs. It
//! reads the database (opened to read) and the batch's `live.json` a few times a second and never
//! takes the work lock; the only changes it makes are the three a person asks for and confirms
//! (`actions`). `state` builds the picture, `render` draws it (a pure function, snapshot-tested),
//! and this module runs the terminal and the keys.

pub mod actions;
pub mod output;
pub mod render;
pub mod state;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Terminal;

use crate::config::Config;
use crate::git::Git;
use crate::model::TaskId;
use crate::store::WatchedTask;
use crate::workspace::Workspace;
use actions::{Action, Actor};
use state::{DashState, Sources, ViewState};

/// How often the picture is read again.
pub const REFRESH: Duration = Duration::from_millis(250);
/// How often an open detail (output tail, gate logs, diff stat) is read again.
const DETAIL_REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Orchestrator(#[from] crate::orchestrator::OrchestratorError),
    #[error("cannot draw on the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

pub type Result<T, E = DashError> = std::result::Result<T, E>;

/// How the dashboard was started.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// `vane dash`: watching a batch that runs elsewhere, or none.
    Watch,
    /// `vane work --dash`: in front of the batch this process runs; `done` once it ended,
    /// `failed` too when it ended with an error.
    Attached {
        done: &'a AtomicBool,
        failed: &'a AtomicBool,
    },
}

/// Why the dashboard closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `q`, Esc, or Ctrl-C when watching; `q` after an attached batch ended.
    Quit,
    /// `q` while the attached batch runs: the batch goes on, its progress printed again.
    Detach,
    /// Ctrl-C while the attached batch runs: stop it as an interrupt does.
    Interrupt,
}

/// What the person is asked, on the last line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asking {
    /// The reason is typed on the prompt line.
    Block {
        task: TaskId,
        reason: String,
    },
    Retry {
        task: TaskId,
    },
    Approve {
        task: TaskId,
    },
}

impl Asking {
    fn prompt(&self) -> String {
        match self {
            Asking::Block { task, reason } => {
                format!("Block `{task}` — why? {reason}▏ (Enter blocks it, Esc cancels)")
            }
            Asking::Retry { task } => {
                format!("Retry `{task}`: pending again, scheduled by the next batch? (y/n)")
            }
            Asking::Approve { task } => {
                format!("Approve `{task}`: gate it again on the current base and land it? (y/n)")
            }
        }
    }
}

/// What a key asks of the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Continue,
    Exit(Exit),
    Perform(Action),
    /// Open (or read again) the detail of this task.
    Detail(TaskId),
}

/// The person's side of the dashboard: selection, detail, prompt; the picture is `state`.
#[derive(Debug, Default)]
struct App {
    state: DashState,
    /// The selected task, kept by id while the list changes under it.
    selected: Option<TaskId>,
    asking: Option<Asking>,
    attached: bool,
    batch_done: bool,
}

impl App {
    /// Takes a new picture, keeping what the person was doing.
    fn take(&mut self, mut fresh: DashState) {
        let view = std::mem::take(&mut self.state.view);
        let index = self
            .selected
            .as_ref()
            .and_then(|id| fresh.tasks.iter().position(|t| t.id == *id))
            .unwrap_or_else(|| view.selected.min(fresh.tasks.len().saturating_sub(1)));
        fresh.view = ViewState {
            selected: index,
            ..view
        };
        self.selected = fresh.tasks.get(index).map(|t| t.id.clone());
        self.state = fresh;
        self.sync_view();
    }

    fn sync_view(&mut self) {
        self.state.view.prompt = self.asking.as_ref().map(Asking::prompt);
        self.state.view.attached = self.attached;
    }

    fn say(&mut self, message: impl Into<String>) {
        self.state.view.message = Some(message.into());
    }

    fn selected_task(&self) -> Option<&WatchedTask> {
        self.state.selected_task()
    }

    /// The task an action is about: the one in detail, else the selected one.
    fn target(&self) -> Option<TaskId> {
        match &self.state.view.detail {
            Some(detail) => Some(detail.task.clone()),
            None => self.selected_task().map(|t| t.id.clone()),
        }
    }

    fn target_task(&self) -> Option<WatchedTask> {
        let id = self.target()?;
        self.state.tasks.iter().find(|t| t.id == id).cloned()
    }

    fn select(&mut self, by: isize) {
        let len = self.state.tasks.len();
        if len == 0 {
            return;
        }
        let at = self.state.view.selected as isize + by;
        let at = at.rem_euclid(len as isize) as usize;
        self.state.view.selected = at;
        self.selected = self.state.tasks.get(at).map(|t| t.id.clone());
    }

    fn scroll(&mut self, by: i32) {
        if let Some(detail) = &mut self.state.view.detail {
            let at = i32::from(detail.scroll) + by;
            detail.scroll = u16::try_from(at.max(0)).unwrap_or(u16::MAX);
        }
    }

    fn quit(&self) -> Step {
        Step::Exit(if self.attached && !self.batch_done {
            Exit::Detach
        } else {
            Exit::Quit
        })
    }

    /// One key; never changes anything outside the dashboard by itself.
    fn key(&mut self, key: KeyEvent) -> Step {
        if key.kind != KeyEventKind::Press {
            return Step::Continue;
        }
        let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C'));
        if ctrl_c {
            return Step::Exit(if self.attached && !self.batch_done {
                Exit::Interrupt
            } else {
                Exit::Quit
            });
        }
        if let Some(asking) = self.asking.take() {
            let step = self.answer(asking, key);
            self.sync_view();
            return step;
        }
        self.state.view.message = None;
        let step = match key.code {
            KeyCode::Char('q') => self.quit(),
            KeyCode::Esc if self.state.view.detail.is_some() => {
                self.state.view.detail = None;
                Step::Continue
            }
            KeyCode::Esc => self.quit(),
            KeyCode::Up | KeyCode::BackTab | KeyCode::Char('k') => {
                if self.state.view.detail.is_some() {
                    self.scroll(-1);
                } else {
                    self.select(-1);
                }
                Step::Continue
            }
            KeyCode::Down | KeyCode::Tab | KeyCode::Char('j') => {
                if self.state.view.detail.is_some() {
                    self.scroll(1);
                } else {
                    self.select(1);
                }
                Step::Continue
            }
            KeyCode::PageUp => {
                self.scroll(-10);
                Step::Continue
            }
            KeyCode::PageDown => {
                self.scroll(10);
                Step::Continue
            }
            KeyCode::Enter | KeyCode::Backspace if self.state.view.detail.is_some() => {
                self.state.view.detail = None;
                Step::Continue
            }
            KeyCode::Enter => match self.selected_task() {
                Some(task) => Step::Detail(task.id.clone()),
                None => Step::Continue,
            },
            KeyCode::Char('b') => {
                match self.target() {
                    Some(task) => {
                        self.asking = Some(Asking::Block {
                            task,
                            reason: String::new(),
                        });
                    }
                    None => self.say("no task is selected"),
                }
                Step::Continue
            }
            KeyCode::Char('r') => {
                match self.target_task() {
                    Some(task) if task.status == crate::model::TaskStatus::Blocked => {
                        self.asking = Some(Asking::Retry { task: task.id });
                    }
                    Some(task) => self.say(actions::not_blocked(&task.id, task.status)),
                    None => self.say("no task is selected"),
                }
                Step::Continue
            }
            KeyCode::Char('a') => {
                match self.target_task() {
                    Some(task)
                        if task.approval.as_deref()
                            == Some(crate::orchestrator::approval::WAITING) =>
                    {
                        self.asking = Some(Asking::Approve { task: task.id });
                    }
                    Some(task) => self.say(format!(
                        "task `{}` is not waiting for a person's approval",
                        task.id
                    )),
                    None => self.say("no task is selected"),
                }
                Step::Continue
            }
            _ => Step::Continue,
        };
        self.sync_view();
        step
    }

    /// A key while a question is asked: typed into a reason, or yes or no.
    fn answer(&mut self, asking: Asking, key: KeyEvent) -> Step {
        match asking {
            Asking::Block { task, mut reason } => match key.code {
                KeyCode::Esc => {
                    self.say("not blocked");
                    Step::Continue
                }
                KeyCode::Enter if reason.trim().is_empty() => {
                    self.say("a block needs a reason that is not empty");
                    self.asking = Some(Asking::Block { task, reason });
                    Step::Continue
                }
                KeyCode::Enter => Step::Perform(Action::Block { task, reason }),
                KeyCode::Backspace => {
                    reason.pop();
                    self.asking = Some(Asking::Block { task, reason });
                    Step::Continue
                }
                KeyCode::Char(c) if !c.is_control() => {
                    reason.push(c);
                    self.asking = Some(Asking::Block { task, reason });
                    Step::Continue
                }
                _ => {
                    self.asking = Some(Asking::Block { task, reason });
                    Step::Continue
                }
            },
            Asking::Retry { task } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Step::Perform(Action::Retry { task }),
                _ => {
                    self.say("nothing changed");
                    Step::Continue
                }
            },
            Asking::Approve { task } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Step::Perform(Action::Approve { task }),
                _ => {
                    self.say("nothing changed");
                    Step::Continue
                }
            },
        }
    }
}

/// What a dashboard reads and acts on.
pub struct Dash<'a> {
    /// Opened to read; the dashboard never writes through it.
    pub workspace: &'a Workspace,
    pub config: &'a Config,
    /// Who acts, when a person confirms an action.
    pub by: String,
}

fn repository_name(workspace: &Workspace) -> String {
    workspace.location.workdir.file_name().map_or_else(
        || "repository".to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The picture of the work now, as text of `width` by `height` (`vane dash --once`).
pub fn snapshot(workspace: &Workspace, config: &Config, width: u16, height: u16) -> Result<String> {
    let state_dir = crate::workspace::state_dir(&workspace.location);
    let sources = Sources {
        store: &workspace.store,
        state_dir: &state_dir,
        config,
        repository: repository_name(workspace),
    };
    let mut app = App::default();
    app.take(state::load(&sources, crate::model::now_millis())?);
    Ok(to_text(&app.state, width, height))
}

/// A state drawn on a `TestBackend`, read back as text: one line a row, trailing spaces cut.
pub fn to_text(state: &DashState, width: u16, height: u16) -> String {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(terminal) => terminal,
        Err(never) => match never {},
    };
    if let Err(never) = terminal.draw(|frame| render::render(frame, state)) {
        match never {}
    }
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Restores the terminal however the dashboard ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the dashboard on this terminal until the person leaves it.
pub fn run(dash: &Dash<'_>, mode: Mode<'_>) -> Result<Exit> {
    let state_dir = crate::workspace::state_dir(&dash.workspace.location);
    let sources = Sources {
        store: &dash.workspace.store,
        state_dir: &state_dir,
        config: dash.config,
        repository: repository_name(dash.workspace),
    };
    let git = Git::open(&dash.workspace.location.workdir).ok();
    let actor = Actor {
        workdir: dash.workspace.location.workdir.clone(),
        by: dash.by.clone(),
    };
    let (done, failed) = match mode {
        Mode::Watch => (None, None),
        Mode::Attached { done, failed } => (Some(done), Some(failed)),
    };
    let mut app = App {
        attached: done.is_some(),
        ..App::default()
    };
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    let mut loaded: Option<Instant> = None;
    let mut detail_loaded: Option<Instant> = None;
    let mut working: Option<mpsc::Receiver<std::result::Result<String, String>>> = None;
    loop {
        app.batch_done = done.is_some_and(|d| d.load(Ordering::SeqCst));
        if app.batch_done
            && (crate::agent::interrupted() || failed.is_some_and(|f| f.load(Ordering::SeqCst)))
        {
            // Stopped from outside (a signal), or failed: what it says is printed once the
            // dashboard is gone.
            return Ok(Exit::Quit);
        }
        if let Some(result) = working.as_ref().and_then(|rx| rx.try_recv().ok()) {
            working = None;
            match result {
                Ok(message) | Err(message) => app.say(message),
            }
            loaded = None;
            detail_loaded = None;
        }
        if loaded.is_none_or(|at| at.elapsed() >= REFRESH) {
            match state::load(&sources, crate::model::now_millis()) {
                Ok(fresh) => app.take(fresh),
                Err(e) => app.say(format!("cannot read the state: {e}")),
            }
            if app.batch_done && app.state.view.message.is_none() {
                app.say("The batch ended: q leaves the dashboard and prints its summary.");
            }
            loaded = Some(Instant::now());
        }
        let open = app
            .state
            .view
            .detail
            .as_ref()
            .map(|d| (d.task.clone(), d.scroll));
        if let Some((task, scroll)) = open {
            if detail_loaded.is_none_or(|at| at.elapsed() >= DETAIL_REFRESH) {
                if let Ok(mut detail) =
                    state::load_detail(&dash.workspace.store, &state_dir, git.as_ref(), &task)
                {
                    detail.scroll = scroll;
                    app.state.view.detail = Some(detail);
                }
                detail_loaded = Some(Instant::now());
            }
        }
        terminal.draw(|frame| render::render(frame, &app.state))?;
        let wait = loaded.map_or(Duration::ZERO, |at| REFRESH.saturating_sub(at.elapsed()));
        if !event::poll(wait)? {
            continue;
        }
        let Event::Key(key) = event::read()? else {
            continue;
        };
        match app.key(key) {
            Step::Continue => {}
            Step::Exit(exit) => return Ok(exit),
            Step::Detail(task) => {
                match state::load_detail(&dash.workspace.store, &state_dir, git.as_ref(), &task) {
                    Ok(detail) => app.state.view.detail = Some(detail),
                    Err(e) => app.say(format!("cannot read {task}: {e}")),
                }
                detail_loaded = Some(Instant::now());
            }
            Step::Perform(action) => {
                if working.is_some() {
                    app.say("one thing at a time: the last action is still running");
                    continue;
                }
                app.say(action.doing());
                let (tx, rx) = mpsc::channel();
                let actor = actor.clone();
                std::thread::spawn(move || {
                    let _ = tx.send(actions::perform(&actor, &action));
                });
                working = Some(rx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskStatus;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn app(attached: bool) -> App {
        let task = |id: &str, status| WatchedTask {
            id: TaskId::new(id).unwrap(),
            title: id.to_string(),
            status,
            block_reason: None,
            approval: None,
            attempts: 0,
            profile: None,
        };
        let mut app = App {
            attached,
            ..App::default()
        };
        app.take(DashState {
            tasks: vec![
                task("a", TaskStatus::InProgress),
                task("b", TaskStatus::Blocked),
                WatchedTask {
                    approval: Some("waiting".into()),
                    ..task("c", TaskStatus::NeedsReview)
                },
            ],
            ..DashState::default()
        });
        app
    }

    #[test]
    fn arrows_and_tab_move_the_selection_round_the_list_and_it_follows_its_task() {
        let mut app = app(false);
        app.key(press(KeyCode::Down));
        assert_eq!(app.state.view.selected, 1);
        app.key(press(KeyCode::Tab));
        app.key(press(KeyCode::Tab));
        assert_eq!(app.state.view.selected, 0, "round the end");
        app.key(press(KeyCode::Up));
        assert_eq!(app.selected.as_ref().map(TaskId::as_str), Some("c"));
        // The list changes under the selection: it stays on its task.
        let mut fresh = app.state.clone();
        fresh.tasks.remove(0);
        fresh.view = ViewState::default();
        app.take(fresh);
        assert_eq!(app.state.view.selected, 1);
        assert_eq!(app.state.selected_task().map(|t| t.id.as_str()), Some("c"));
    }

    #[test]
    fn an_action_is_asked_before_it_is_done_and_refused_where_the_command_would_refuse() {
        let mut app = app(false);
        // `a` is running, not blocked: no question, the command's refusal.
        assert_eq!(app.key(press(KeyCode::Char('r'))), Step::Continue);
        assert!(app.state.view.prompt.is_none());
        assert!(
            app.state
                .view
                .message
                .as_deref()
                .unwrap_or("")
                .contains("not blocked"),
            "{:?}",
            app.state.view.message
        );
        app.key(press(KeyCode::Down));
        assert_eq!(app.key(press(KeyCode::Char('r'))), Step::Continue);
        assert!(app
            .state
            .view
            .prompt
            .as_deref()
            .unwrap_or("")
            .contains("Retry `b`"));
        // Anything but yes leaves it as it is.
        assert_eq!(app.key(press(KeyCode::Char('n'))), Step::Continue);
        assert!(app.state.view.prompt.is_none());
        app.key(press(KeyCode::Char('r')));
        assert_eq!(
            app.key(press(KeyCode::Char('y'))),
            Step::Perform(Action::Retry {
                task: TaskId::new("b").unwrap()
            })
        );
        app.key(press(KeyCode::Down));
        app.key(press(KeyCode::Char('a')));
        assert_eq!(
            app.key(press(KeyCode::Char('y'))),
            Step::Perform(Action::Approve {
                task: TaskId::new("c").unwrap()
            })
        );
    }

    #[test]
    fn a_block_takes_a_typed_reason_and_refuses_an_empty_one() {
        let mut app = app(false);
        app.key(press(KeyCode::Char('b')));
        assert_eq!(
            app.key(press(KeyCode::Enter)),
            Step::Continue,
            "no reason yet"
        );
        assert!(app.state.view.prompt.is_some(), "still asking");
        for c in "waits, q".chars() {
            app.key(press(KeyCode::Char(c)));
        }
        app.key(press(KeyCode::Backspace));
        app.key(press(KeyCode::Char('Q')));
        assert!(app
            .state
            .view
            .prompt
            .as_deref()
            .unwrap_or("")
            .contains("waits, Q"));
        assert_eq!(
            app.key(press(KeyCode::Enter)),
            Step::Perform(Action::Block {
                task: TaskId::new("a").unwrap(),
                reason: "waits, Q".into()
            })
        );
        app.key(press(KeyCode::Char('b')));
        app.key(press(KeyCode::Esc));
        assert!(app.state.view.prompt.is_none(), "Esc cancels");
    }

    #[test]
    fn leaving_an_attached_dashboard_detaches_and_ctrl_c_interrupts() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let mut watching = app(false);
        assert_eq!(
            watching.key(press(KeyCode::Char('q'))),
            Step::Exit(Exit::Quit)
        );
        assert_eq!(watching.key(ctrl_c), Step::Exit(Exit::Quit));
        let mut attached = app(true);
        assert_eq!(
            attached.key(press(KeyCode::Char('q'))),
            Step::Exit(Exit::Detach)
        );
        assert_eq!(attached.key(press(KeyCode::Esc)), Step::Exit(Exit::Detach));
        assert_eq!(attached.key(ctrl_c), Step::Exit(Exit::Interrupt));
        attached.batch_done = true;
        assert_eq!(
            attached.key(press(KeyCode::Char('q'))),
            Step::Exit(Exit::Quit)
        );
    }

    #[test]
    fn enter_opens_the_detail_and_esc_closes_it_before_quitting() {
        let mut app = app(false);
        assert_eq!(
            app.key(press(KeyCode::Enter)),
            Step::Detail(TaskId::new("a").unwrap())
        );
        app.state.view.detail = Some(state::Detail::new(TaskId::new("a").unwrap()));
        app.key(press(KeyCode::Down));
        assert_eq!(app.state.view.detail.as_ref().map(|d| d.scroll), Some(1));
        assert_eq!(app.state.view.selected, 0, "scrolls, does not select");
        assert_eq!(app.key(press(KeyCode::Esc)), Step::Continue);
        assert!(app.state.view.detail.is_none());
        assert_eq!(app.key(press(KeyCode::Esc)), Step::Exit(Exit::Quit));
    }
}
