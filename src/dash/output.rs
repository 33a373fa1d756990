//! What an agent printed, made readable for one line of the dashboard: the tail of a run's output
//! file, with the JSON lines of Claude Code (`--output-format json`/`stream-json`) and Codex
//! (`exec --json`) turned into their text, or the kind of event they are, and terminal escapes
//! taken out of everything else.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;

/// How much of the end of an output file is read: enough for its last lines.
const TAIL_BYTES: u64 = 64 * 1024;

/// The longest line the dashboard keeps of one event.
const LINE_MAX: usize = 400;

/// The end of a file as text, from a line boundary when its start was cut; empty when it cannot be
/// read (not written yet, gone).
pub fn read_tail(path: &Path) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let cut = len > TAIL_BYTES;
        if cut {
            file.seek(SeekFrom::Start(len - TAIL_BYTES))?;
        }
        let mut bytes = Vec::new();
        file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(match (cut, text.find('\n')) {
            (true, Some(newline)) => text[newline + 1..].to_string(),
            _ => text,
        })
    };
    read().unwrap_or_default()
}

/// The last `count` readable lines of an output, oldest first.
pub fn last_lines(text: &str, count: usize) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .rev()
        .filter_map(readable)
        .take(count)
        .collect();
    lines.reverse();
    lines
}

/// The last readable line of an output, if it has one.
pub fn last_line(text: &str) -> Option<String> {
    text.lines().rev().find_map(readable)
}

/// One line of output as a person reads it; None for a line that says nothing (blank, or an
/// event with nothing to show).
pub fn readable(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let text = if line.starts_with('{') {
        match serde_json::from_str::<Value>(line) {
            Ok(event) => describe_event(&event)?,
            Err(_) => line.to_string(),
        }
    } else {
        line.to_string()
    };
    let text = plain(&text);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    Some(text.chars().take(LINE_MAX).collect())
}

/// A JSON event of an agent in a few words: what it said, or what it did.
fn describe_event(event: &Value) -> Option<String> {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
    match kind {
        // Claude Code's result object, and its stream's messages.
        "result" => text(event.get("result"))
            .or_else(|| text(event.get("subtype")).map(|s| format!("result: {s}"))),
        "assistant" | "user" => {
            let content = event.get("message").and_then(|m| m.get("content"));
            match content {
                Some(Value::Array(parts)) => parts.iter().rev().find_map(describe_part),
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            }
            .or_else(|| Some(kind.to_string()))
        }
        "system" => Some(match text(event.get("subtype")) {
            Some(subtype) => format!("system: {subtype}"),
            None => "system".to_string(),
        }),
        // Codex's events.
        "item.started" | "item.updated" | "item.completed" => {
            let item = event.get("item")?;
            describe_codex_item(item).or_else(|| Some(kind.to_string()))
        }
        "turn.failed" => Some(format!(
            "turn failed: {}",
            event
                .get("error")
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("no reason given")
        )),
        "error" => Some(format!(
            "error: {}",
            text(event.get("message")).unwrap_or_default()
        )),
        "thread.started" | "turn.started" | "turn.completed" => Some(kind.replace('.', " ")),
        // Anything else: its words if it has some, else its kind.
        _ => text(event.get("text"))
            .or_else(|| text(event.get("message")))
            .or_else(|| text(event.get("result")))
            .or_else(|| text(event.get("response")))
            .or_else(|| (!kind.is_empty()).then(|| kind.to_string())),
    }
}

/// One part of a Claude message: its text, the tool it calls, or that a tool answered.
fn describe_part(part: &Value) -> Option<String> {
    match part.get("type").and_then(Value::as_str)? {
        "text" => part
            .get("text")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_string),
        "thinking" => Some("thinking".to_string()),
        "tool_use" => {
            let name = part.get("name").and_then(Value::as_str).unwrap_or("a tool");
            let input = part.get("input");
            let detail = input
                .and_then(|i| {
                    ["command", "file_path", "path", "pattern", "description"]
                        .iter()
                        .find_map(|k| i.get(*k).and_then(Value::as_str))
                })
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            Some(format!("{name}{detail}"))
        }
        "tool_result" => Some("tool result".to_string()),
        _ => None,
    }
}

/// One Codex item: its message, the command it runs, or its kind.
fn describe_codex_item(item: &Value) -> Option<String> {
    let kind = item.get("type").and_then(Value::as_str)?;
    let text = item.get("text").and_then(Value::as_str);
    match kind {
        "agent_message" | "reasoning" => text.map(str::to_string),
        "command_execution" => item
            .get("command")
            .and_then(Value::as_str)
            .map(|c| format!("$ {c}")),
        "file_change" => Some("file change".to_string()),
        other => Some(other.replace('_', " ")),
    }
}

/// Text on one line, without terminal escapes (colours, cursor moves) and control characters.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            match chars.peek() {
                // CSI: parameters and intermediates, then one final byte.
                Some('[') => {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            }
        } else if c == '\t' || c == '\n' || c == '\r' {
            out.push(' ');
        } else if !c.is_control() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_json_lines_read_as_their_text_or_their_kind() {
        let cases = [
            (
                r#"{"type":"assistant","message":{"content":[{"type":"text","text":"Writing the form now."}]}}"#,
                Some("Writing the form now."),
            ),
            (
                r#"{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"cargo test"}}]}}"#,
                Some("Bash: cargo test"),
            ),
            (
                r#"{"type":"user","message":{"content":[{"type":"tool_result","content":"ok"}]}}"#,
                Some("tool result"),
            ),
            (
                r#"{"type":"result","subtype":"success","is_error":false,"result":"Done:\nadded login.html"}"#,
                Some("Done: added login.html"),
            ),
            (
                r#"{"type":"system","subtype":"init","session_id":"s"}"#,
                Some("system: init"),
            ),
            (
                r#"{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"All tests pass."}}"#,
                Some("All tests pass."),
            ),
            (
                r#"{"type":"item.started","item":{"type":"command_execution","command":"bash -lc ls"}}"#,
                Some("$ bash -lc ls"),
            ),
            (
                r#"{"type":"turn.completed","usage":{"input_tokens":5}}"#,
                Some("turn completed"),
            ),
            (
                r#"{"type":"turn.failed","error":{"message":"rate limited"}}"#,
                Some("turn failed: rate limited"),
            ),
            (r#"{"level":"info","message":"hello"}"#, Some("hello")),
            ("\u{1b}[31mred\u{1b}[0m and\tplain", Some("red and plain")),
            ("{not json", Some("{not json")),
            ("   ", None),
            (
                r#"{"type":"assistant","message":{"content":[{"type":"text","text":"  "}]}}"#,
                Some("assistant"),
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(readable(line).as_deref(), expected, "{line}");
        }
    }

    #[test]
    fn the_last_line_skips_what_says_nothing() {
        let text = "first\nsecond\n\n   \n";
        assert_eq!(last_line(text).as_deref(), Some("second"));
        assert_eq!(last_lines("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(last_line(""), None);
    }

    #[test]
    fn escapes_and_controls_are_taken_out() {
        assert_eq!(plain("\u{1b}]0;title\u{7}after"), "after");
        assert_eq!(plain("a\u{8}b\u{1b}[2Kc"), "abc");
    }

    #[test]
    fn the_tail_of_a_large_file_starts_at_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.stdout");
        let mut text = String::new();
        while text.len() < 2 * TAIL_BYTES as usize {
            text.push_str("a line of output that repeats\n");
        }
        text.push_str("the last line\n");
        std::fs::write(&path, &text).unwrap();
        let tail = read_tail(&path);
        assert!(tail.len() <= TAIL_BYTES as usize);
        assert!(tail.starts_with("a line"), "{}", &tail[..40]);
        assert_eq!(last_line(&tail).as_deref(), Some("the last line"));
        assert_eq!(read_tail(&dir.path().join("missing")), "");
    }
}
