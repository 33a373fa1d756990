//! All output goes through here: data on stdout, messages on stderr, colour only where it belongs.
//!
//! Commands never print directly. Results (a table, a task, JSON) go to stdout so they can be piped;
//! progress, confirmations, warnings and errors go to stderr. `--quiet` silences the messages but never
//! the data or the errors. A closed pipe (`vane events | head`) ends the process quietly.

use std::io::{self, IsTerminal, Write};

use console::Style;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub struct Ui {
    color_stdout: bool,
    color_stderr: bool,
    quiet: bool,
    verbose: u8,
    json: bool,
    stdout_is_terminal: bool,
}

impl Ui {
    pub fn new(color: ColorChoice, quiet: bool, verbose: u8, json: bool) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let pick = |is_terminal: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        };
        let stdout_is_terminal = io::stdout().is_terminal();
        Ui {
            color_stdout: pick(stdout_is_terminal),
            color_stderr: pick(io::stderr().is_terminal()),
            quiet,
            verbose,
            json,
            stdout_is_terminal,
        }
    }

    /// Whether what goes to stdout is coloured (`--color`, `NO_COLOR`, a terminal).
    pub fn color_stdout(&self) -> bool {
        self.color_stdout
    }

    /// Whether results should be JSON rather than text.
    pub fn json(&self) -> bool {
        self.json
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    pub fn stdout_is_terminal(&self) -> bool {
        self.stdout_is_terminal
    }

    /// Whether live progress (bars that redraw) belongs on stderr: a terminal, and not `--quiet`.
    pub fn live_progress(&self) -> bool {
        !self.quiet
            && io::stderr().is_terminal()
            && std::env::var_os("TERM").is_some_and(|t| t != "dumb")
    }

    /// Writes data to stdout, a line at a time.
    pub fn data(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        ignore_broken_pipe(out.write_all(text.as_bytes()).and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        }))?;
        ignore_broken_pipe(out.flush())
    }

    /// Writes a value as pretty JSON to stdout.
    pub fn json_value<T: serde::Serialize>(&self, value: &T) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        self.data(&text)
    }

    /// A message for the person at the terminal (stderr); silenced by `--quiet`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln_quietly(text);
        }
    }

    pub fn warn(&self, text: &str) {
        if !self.quiet {
            let label = self
                .err_style(Style::new().yellow().bold())
                .apply_to("warning:");
            eprintln_quietly(&format!("{label} {text}"));
        }
    }

    /// Prints an error with its details and hints; never silenced.
    pub fn error(&self, message: &str, details: &[String], hints: &[String]) {
        let label = self.err_style(Style::new().red().bold()).apply_to("error:");
        let mut text = format!("{label} {message}");
        for detail in details {
            text.push_str(&format!("\n  {detail}"));
        }
        for hint in hints {
            let label = self.err_style(Style::new().cyan()).apply_to("hint:");
            text.push_str(&format!("\n{label} {hint}"));
        }
        eprintln_quietly(&text);
    }

    /// Styles text for stdout (no-op without colour).
    pub fn paint(&self, style: Style, text: &str) -> String {
        style
            .force_styling(self.color_stdout)
            .apply_to(text)
            .to_string()
    }

    /// Styles text for stderr (no-op without colour).
    pub fn paint_err(&self, style: Style, text: &str) -> String {
        self.err_style(style).apply_to(text).to_string()
    }

    fn err_style(&self, style: Style) -> Style {
        style.force_styling(self.color_stderr)
    }
}

fn eprintln_quietly(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// A reader that went away (`vane events | head`) has all it wanted: stop quietly, as other
/// command-line tools do. Output only happens after a command's changes are committed.
fn ignore_broken_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}
