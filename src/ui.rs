//! All output goes through here: data on stdout, messages on stderr, color only where it belongs.
//!
//! Commands never print directly. Results (a table, a task, JSON) go to stdout so they can be piped;
//! progress, confirmations, warnings and errors go to stderr. `--quiet` silences the messages but never
//! the data or the errors. A closed pipe (`vane events | head`) ends the process quietly.
//!
//! Human text is made printable on the way out ([`printable`]): task titles, what agents and gates
//! print and every other text from outside vane may hold escape sequences that clear a terminal,
//! retitle its window or hide a link, and none of them reaches the terminal (or a file the text is
//! piped to) as such. JSON and other output meant for programs goes out exactly as it is.

use std::borrow::Cow;
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

    /// Whether what goes to stdout is colored (`--color`, `NO_COLOR`, a terminal).
    pub fn color_stdout(&self) -> bool {
        self.color_stdout
    }

    /// Whether what goes to stderr is colored: messages, progress, and the `-v` logs.
    pub fn color_stderr(&self) -> bool {
        self.color_stderr
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

    /// Writes human-readable data to stdout, a line at a time, made printable: only the colors
    /// `paint` adds, and only where stdout is colored, stay escape sequences.
    pub fn data(&self, text: &str) -> io::Result<()> {
        self.data_verbatim(&escape_controls(text, self.color_stdout))
    }

    /// Writes data that another program reads (JSON, a hook's answer to an agent, an exported
    /// roadmap) to stdout exactly as it is: its format escapes what it needs to.
    pub fn data_verbatim(&self, text: &str) -> io::Result<()> {
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
        self.data_verbatim(&text)
    }

    /// A message for the person at the terminal (stderr), made printable; silenced by `--quiet`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln_quietly(&self.for_stderr(text));
        }
    }

    pub fn warn(&self, text: &str) {
        if !self.quiet {
            let label = self
                .err_style(Style::new().yellow().bold())
                .apply_to("warning:");
            eprintln_quietly(&format!("{label} {}", self.for_stderr(text)));
        }
    }

    /// Prints an error with its details and hints, made printable; never silenced.
    pub fn error(&self, message: &str, details: &[String], hints: &[String]) {
        let label = self.err_style(Style::new().red().bold()).apply_to("error:");
        let mut text = format!("{label} {}", self.for_stderr(message));
        for detail in details {
            text.push_str(&format!("\n  {}", self.for_stderr(detail)));
        }
        for hint in hints {
            let label = self.err_style(Style::new().cyan()).apply_to("hint:");
            text.push_str(&format!("\n{label} {}", self.for_stderr(hint)));
        }
        eprintln_quietly(&text);
    }

    /// Text for stderr that bypasses `status` (the live progress lines) made printable as
    /// `status` makes it.
    pub fn for_stderr<'t>(&self, text: &'t str) -> Cow<'t, str> {
        escape_controls(text, self.color_stderr)
    }

    /// Styles text for stdout (no-op without color); the text itself is made printable first.
    pub fn paint(&self, style: Style, text: &str) -> String {
        style
            .force_styling(self.color_stdout)
            .apply_to(printable(text))
            .to_string()
    }

    /// Styles text for stderr (no-op without color); the text itself is made printable first.
    pub fn paint_err(&self, style: Style, text: &str) -> String {
        self.err_style(style).apply_to(printable(text)).to_string()
    }

    fn err_style(&self, style: Style) -> Style {
        style.force_styling(self.color_stderr)
    }
}

/// Text from outside vane made safe to print, for a terminal or a plain file alike: every control
/// character but newline and tab is written out as a visible escape, so that escape sequences in a
/// task title or an agent's output (clearing the screen, setting the window title, an OSC 8 link,
/// a bell, a carriage return that overwrites the line) show as text instead of acting.
///
/// The escapes are those of Rust and C string literals: `\x1b` for C0 controls and DEL (`\x07`,
/// `\x0d`, `\x7f`), `\u{9b}` for the C1 controls U+0080 to U+009F, which some terminals obey as
/// well. They read unambiguously in a log and paste into `printf` as they are; caret notation
/// (`^[`) cannot show C1, and U+FFFD would hide which character it was. A backslash is left as it
/// is, so this is for reading, not a reversible encoding: JSON output, which must stay exact, is
/// never passed through it. Text without controls is returned as it was, without a copy.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape_controls(text, false)
}

/// `printable`, except that with `keep_color` the color and style sequences vane's own `paint`
/// writes (SGR: `ESC [` digits and semicolons `m`) stay. They change colors and nothing else,
/// and where vane paints, the text it paints has been made printable first (`paint`).
fn escape_controls(text: &str, keep_color: bool) -> Cow<'_, str> {
    let Some(first) = text.find(is_escaped_control) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(c) = rest.chars().next() {
        if !is_escaped_control(c) {
            let next = rest.find(is_escaped_control).unwrap_or(rest.len());
            out.push_str(&rest[..next]);
            rest = &rest[next..];
            continue;
        }
        if keep_color && c == '\u{1b}' {
            if let Some(len) = sgr_len(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        match u32::from(c) {
            code @ 0..=0x7f => out.push_str(&format!("\\x{code:02x}")),
            code => out.push_str(&format!("\\u{{{code:x}}}")),
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The controls `printable` escapes: C0 but newline and tab, DEL, and C1.
fn is_escaped_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The length of the SGR sequence (`ESC [ 1;31 m`) `text` starts with, if it starts with one.
fn sgr_len(text: &str) -> Option<usize> {
    let params = text.strip_prefix("\u{1b}[")?;
    let end = params.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (params[end..].starts_with('m')).then_some(2 + end + 1)
}

/// `word` as one word of a POSIX shell's command line, for a command vane shows a person to
/// run: as it is when nothing in it is special to a shell, else single-quoted.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_every_control_but_newline_and_tab() {
        for (text, shown) in [
            ("plain text, é and 中文", "plain text, é and 中文"),
            ("two\nlines\tand a tab", "two\nlines\tand a tab"),
            ("\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J"),
            (
                "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
                "\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\",
            ),
            (
                "bell\x07 cr\r\n nul\0 del\x7f",
                "bell\\x07 cr\\x0d\n nul\\x00 del\\x7f",
            ),
            (
                "c1 csi \u{9b}2J and nel \u{85}",
                "c1 csi \\u{9b}2J and nel \\u{85}",
            ),
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ] {
            assert_eq!(printable(text), shown, "{text:?}");
        }
    }

    #[test]
    fn shell_words_are_quoted_only_when_a_shell_would_split_or_expand_them() {
        for (word, quoted) in [
            ("/tmp/vane-demo-1/greeter", "/tmp/vane-demo-1/greeter"),
            ("/tmp/my demo", "'/tmp/my demo'"),
            ("/tmp/it's", r"'/tmp/it'\''s'"),
            ("$HOME/x", "'$HOME/x'"),
            ("", "''"),
        ] {
            assert_eq!(shell_word(word), quoted, "{word:?}");
        }
    }

    #[test]
    fn printable_text_is_not_copied() {
        assert!(matches!(printable("nothing to do\n"), Cow::Borrowed(_)));
        assert!(matches!(printable("\x1b"), Cow::Owned(_)));
        // Escaping twice changes nothing more: what comes out has no controls.
        let once = printable("\x1b[2J\u{9b}");
        assert_eq!(printable(&once), once);
    }

    #[test]
    fn only_color_sequences_stay_where_color_is_on() {
        let painted = "\x1b[1;31mred\x1b[0m \x1b[38;5;12mblue\x1b[0m";
        assert_eq!(escape_controls(painted, true), painted);
        assert_eq!(
            escape_controls("\x1b[32mok\x1b[0m \x1b[2J\x1b]0;t\x07\x1b[", true),
            "\x1b[32mok\x1b[0m \\x1b[2J\\x1b]0;t\\x07\\x1b["
        );
        assert_eq!(escape_controls(painted, false), printable(painted));
    }

    #[test]
    fn painting_makes_the_text_printable_first() {
        let ui = Ui {
            color_stdout: true,
            color_stderr: true,
            quiet: false,
            verbose: 0,
            json: false,
            stdout_is_terminal: true,
        };
        let painted = ui.paint(Style::new().bold(), "T1 \x1b[2J");
        assert_eq!(painted, "\x1b[1mT1 \\x1b[2J\x1b[0m");
        assert_eq!(ui.for_stderr(&painted), painted);
    }
}
