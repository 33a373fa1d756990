//! What agents and critics leave for the tasks after them: an agent appends context entries to
//! the file `$VANE_CONTEXT_FILE` names (one JSON object a line), a critic adds `learnings` to its
//! verdict, and vane checks them here and records them, with where they came from, for the
//! prompts of later tasks (see `prompt::build`).
//!
//! Reading is pure and never fails: a line that is not a good entry is left out and reported
//! (`line 3: ...`), never fatal to the attempt. What an agent writes is capped (`MAX_ENTRIES` an
//! attempt, `MAX_CONTENT_BYTES` an entry, the first `MAX_FILE_BYTES` of the file), since an agent
//! may write without end.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::model::{ContextKind, ContextOrigin, ContextSource, TaskId};
use crate::store::{Attempt, NewContextEntry, Store};

/// Set in an agent's environment: the file it may append context entries to.
pub const CONTEXT_FILE_ENV: &str = "VANE_CONTEXT_FILE";

/// At most this many entries are taken from one attempt (or one critic's verdict).
pub const MAX_ENTRIES: usize = 20;

/// The longest content of an entry, in bytes: a finding, not a report.
pub const MAX_CONTENT_BYTES: usize = 4096;

/// Only the start of the file is read, this many bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// At most this many problems are told one by one; the rest are counted.
const MAX_PROBLEMS: usize = 20;

/// The fields an entry may have.
const FIELDS: &[&str] = &["type", "topic", "content", "confidence", "tasks"];

/// The directory of an attempt's context file, writable to its agent when it runs confined (a
/// directory rather than the file alone, so that a tool that writes by renaming works too).
pub fn context_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("context")
}

/// The context file of an attempt.
pub fn context_file(run_dir: &Path) -> PathBuf {
    context_dir(run_dir).join("entries.jsonl")
}

/// Reads the context entries of an agent's file: one JSON object a line, of the form
/// `{"type": "learning", "topic": "...", "content": "...", "confidence": 0.8, "tasks": ["T3"]}`
/// (`confidence` and `tasks` optional). Returns the good entries, at most `MAX_ENTRIES`, with no
/// related task but those the line names (the caller scopes them, see `scope`) and no origin, and
/// a problem for each line left out (`line 3: ...`). Blank lines are skipped.
pub fn read_entries(text: &str) -> (Vec<NewContextEntry>, Vec<String>) {
    let mut reading = Reading::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let place = format!("line {}", index + 1);
        let entry = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => read_entry(&map, None),
            Ok(_) => Err("is not a JSON object".to_string()),
            Err(e) => Err(format!("is not JSON ({e})")),
        };
        if !reading.take(&place, entry) {
            break;
        }
    }
    reading.finish()
}

/// Reads the `learnings` of a critic's verdict, as `read_entries` reads lines: objects with a
/// `topic`, a `content`, and optionally a `confidence`, a `type` (a learning when absent) and
/// `tasks`. Problems name the item (`learning 2: ...`).
pub fn read_learnings(items: &[Value]) -> (Vec<NewContextEntry>, Vec<String>) {
    let mut reading = Reading::default();
    for (index, item) in items.iter().enumerate() {
        let place = format!("learning {}", index + 1);
        let entry = match item {
            Value::Object(map) => read_entry(map, Some(ContextKind::Learning)),
            _ => Err("is not a JSON object".to_string()),
        };
        if !reading.take(&place, entry) {
            break;
        }
    }
    reading.finish()
}

/// The entries and problems of one read, with the caps.
#[derive(Default)]
struct Reading {
    entries: Vec<NewContextEntry>,
    problems: Vec<String>,
    /// Problems past `MAX_PROBLEMS`, counted only.
    untold: usize,
}

impl Reading {
    /// Takes one line's entry or problem; false once `MAX_ENTRIES` are taken and another good
    /// entry comes (the rest is left out, said once).
    fn take(&mut self, place: &str, entry: Result<NewContextEntry, String>) -> bool {
        match entry {
            Ok(_) if self.entries.len() == MAX_ENTRIES => {
                self.problems.push(format!(
                    "{place} and after: more than {MAX_ENTRIES} entries; the rest was left out"
                ));
                return false;
            }
            Ok(entry) => self.entries.push(entry),
            Err(_) if self.problems.len() >= MAX_PROBLEMS => self.untold += 1,
            Err(why) => self.problems.push(format!("{place}: {why}")),
        }
        true
    }

    fn finish(mut self) -> (Vec<NewContextEntry>, Vec<String>) {
        if self.untold > 0 {
            self.problems
                .push(format!("and {} more left out", self.untold));
        }
        (self.entries, self.problems)
    }
}

/// One entry from a JSON object; `kind` is taken when the object has no `type`.
fn read_entry(
    map: &Map<String, Value>,
    kind: Option<ContextKind>,
) -> Result<NewContextEntry, String> {
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "has the field `{unknown}`; an entry has only {}",
            FIELDS.join(", ")
        ));
    }
    let text = |field: &str| -> Result<Option<&str>, String> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("has a `{field}` that is not a string ({other})")),
        }
    };
    let kind = match (text("type")?, kind) {
        (Some(word), _) => word.parse::<ContextKind>().map_err(|_| {
            format!(
                "has the type `{word}`; it is one of decision, constraint, hypothesis, learning"
            )
        })?,
        (None, Some(kind)) => kind,
        (None, None) => return Err("has no `type`".to_string()),
    };
    let topic = text("topic")?.ok_or("has no `topic`")?.trim();
    let content = text("content")?.ok_or("has no `content`")?.trim();
    if content.len() > MAX_CONTENT_BYTES {
        return Err(format!(
            "has content of {} bytes; an entry holds at most {MAX_CONTENT_BYTES}",
            content.len()
        ));
    }
    let confidence = match map.get("confidence") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => return Err(format!("has a confidence that is not a number ({other})")),
    };
    let related_tasks = match map.get("tasks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => TaskId::new(s.as_str()).map_err(|e| format!("has {e}")),
                other => Err(format!("has a task that is not a task id ({other})")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("has `tasks` that are not a list ({other})")),
    };
    let entry = NewContextEntry {
        kind,
        topic: topic.to_string(),
        content: content.to_string(),
        confidence,
        related_tasks,
        origin: None,
    };
    entry.check().map(|()| entry)
}

/// The tasks an entry left at `task` concerns: its epic, so that its siblings see it, or with no
/// epic the whole project (no task); and the tasks the entry names, with `task` itself when there
/// is no epic (so that its own retries still see it).
pub fn scope(named: &[TaskId], task: &TaskId, epic: Option<&TaskId>) -> Vec<TaskId> {
    let mut tasks: Vec<TaskId> = Vec::new();
    let own = match epic {
        Some(epic) => Some(epic),
        None if !named.is_empty() => Some(task),
        None => None,
    };
    for id in own.into_iter().chain(named) {
        if !tasks.contains(id) {
            tasks.push(id.clone());
        }
    }
    tasks
}

/// The start of a file (at most `MAX_FILE_BYTES`, invalid UTF-8 replaced), and whether there was
/// more; None when there is no file.
pub fn read_start(path: &Path) -> std::io::Result<Option<(String, bool)>> {
    let Some(mut bytes) = crate::agent::read_left_file(path, MAX_FILE_BYTES + 1)? else {
        return Ok(None);
    };
    let cut = bytes.len() as u64 > MAX_FILE_BYTES;
    bytes.truncate(MAX_FILE_BYTES as usize);
    Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), cut)))
}

/// Records what the agent of `attempt` left in its context file (`context_file(run_dir)`), once
/// the agent has ended: the good entries, scoped with `scope` and naming where they came from, and
/// a `context_rejected` event for what was left out. Whatever the attempt's outcome: a failure's
/// finding is often the most useful one, and an agent vane stopped (an interrupt) still wrote
/// down what it found before; a line torn by the stop is left out like any other bad line.
/// Returns how many entries were recorded.
pub fn record_attempt(
    store: &mut Store,
    attempt: &Attempt,
    run_dir: &Path,
) -> crate::store::Result<usize> {
    let path = context_file(run_dir);
    let (entries, problems) = match read_start(&path) {
        Ok(None) => return Ok(0),
        Ok(Some((text, cut))) => {
            let (entries, mut problems) = read_entries(&text);
            if cut {
                problems.push(format!(
                    "the file is larger than {} KiB; only its start was read",
                    MAX_FILE_BYTES / 1024
                ));
            }
            (entries, problems)
        }
        Err(e) => (
            Vec::new(),
            vec![format!("cannot read {}: {e}", path.display())],
        ),
    };
    if entries.is_empty() && problems.is_empty() {
        return Ok(0);
    }
    let epic = store.task(&attempt.task)?.parent;
    let origin = ContextOrigin {
        source: ContextSource::Agent,
        task: attempt.task.clone(),
        attempt: attempt.number,
        profile: attempt.profile.clone(),
        gate: None,
    };
    let entries: Vec<NewContextEntry> = entries
        .into_iter()
        .map(|entry| NewContextEntry {
            related_tasks: scope(&entry.related_tasks, &attempt.task, epic.as_ref()),
            origin: Some(origin.clone()),
            ..entry
        })
        .collect();
    if !problems.is_empty() {
        tracing::warn!(
            task = %attempt.task,
            attempt = attempt.number,
            ?problems,
            "lines of an agent's context file were left out"
        );
    }
    let actor = format!(
        "{}/{}",
        attempt.worker.as_deref().unwrap_or("agent"),
        attempt.profile.as_deref().unwrap_or("agent")
    );
    let recorded = store.add_left_context(
        &attempt.task,
        &entries,
        &problems,
        &actor,
        attempt.correlation.as_deref(),
    )?;
    Ok(recorded.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> TaskId {
        TaskId::new(s).unwrap()
    }

    /// The one problem of a single line, or "ok".
    fn problem(line: &str) -> String {
        let (entries, problems) = read_entries(line);
        match (entries.len(), problems.as_slice()) {
            (1, []) => "ok".to_string(),
            (0, [one]) => one.clone(),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn good_lines_become_entries() {
        let text = concat!(
            r#"{"type": "learning", "topic": " tests ", "content": "Run `make check`", "confidence": 0.8}"#,
            "\n\n   \n",
            r#"{"type": "constraint", "topic": "api", "content": "No breaking\nchanges", "tasks": ["T3", "b-2"]}"#,
            "\n",
            r#"{"type": "decision", "topic": "db", "content": "SQLite", "confidence": null, "tasks": null}"#,
        );
        let (entries, problems) = read_entries(text);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].kind, ContextKind::Learning);
        assert_eq!(entries[0].topic, "tests", "trimmed");
        assert_eq!(entries[0].confidence, Some(0.8));
        assert_eq!(entries[1].content, "No breaking\nchanges");
        assert_eq!(entries[1].related_tasks, [id("T3"), id("b-2")]);
        assert_eq!(
            (entries[2].kind, entries[2].confidence),
            (ContextKind::Decision, None)
        );
        assert!(entries.iter().all(|e| e.origin.is_none()));
    }

    #[test]
    fn each_kind_of_bad_line_is_told_with_its_number() {
        let ok = r#""topic": "t", "content": "c""#;
        for (line, want) in [
            ("not json".to_string(), "line 1: is not JSON"),
            ("[1, 2]".to_string(), "line 1: is not a JSON object"),
            ("\"learning\"".to_string(), "line 1: is not a JSON object"),
            (format!("{{{ok}}}"), "line 1: has no `type`"),
            (
                format!(r#"{{"type": "guess", {ok}}}"#),
                "line 1: has the type `guess`; it is one of",
            ),
            (
                format!(r#"{{"type": 3, {ok}}}"#),
                "line 1: has a `type` that is not a string",
            ),
            (
                r#"{"type": "learning", "content": "c"}"#.to_string(),
                "line 1: has no `topic`",
            ),
            (
                r#"{"type": "learning", "topic": "t"}"#.to_string(),
                "line 1: has no `content`",
            ),
            (
                r#"{"type": "learning", "topic": "  ", "content": "c"}"#.to_string(),
                "line 1: the topic is empty",
            ),
            (
                r#"{"type": "learning", "topic": "t", "content": " \n "}"#.to_string(),
                "line 1: the content is empty",
            ),
            (
                r#"{"type": "learning", "topic": "a\nb", "content": "c"}"#.to_string(),
                "line 1: the topic has a line break at byte 1",
            ),
            (
                r#"{"type": "learning", "topic": "a\u0007", "content": "c"}"#.to_string(),
                "line 1: the topic has the control character U+0007",
            ),
            (
                r#"{"type": "learning", "topic": "t", "content": "a\u0000b"}"#.to_string(),
                "line 1: the content has a NUL byte at byte 1",
            ),
            (
                format!(r#"{{"type": "learning", {ok}, "confidence": 1.5}}"#),
                "line 1: the confidence 1.5 is not a number from 0 to 1",
            ),
            (
                format!(r#"{{"type": "learning", {ok}, "confidence": -0.1}}"#),
                "line 1: the confidence -0.1",
            ),
            (
                format!(r#"{{"type": "learning", {ok}, "confidence": "high"}}"#),
                "line 1: has a confidence that is not a number",
            ),
            (
                format!(r#"{{"type": "learning", {ok}, "tasks": "T1"}}"#),
                "line 1: has `tasks` that are not a list",
            ),
            (
                format!(r#"{{"type": "learning", {ok}, "tasks": ["no way"]}}"#),
                "line 1: has invalid task id `no way`",
            ),
            (
                format!(r#"{{"type": "learning", {ok}, "tasks": [7]}}"#),
                "line 1: has a task that is not a task id (7)",
            ),
            (
                format!(r#"{{"type": "learning", {ok}, "confidance": 0.5}}"#),
                "line 1: has the field `confidance`; an entry has only type, topic",
            ),
            (
                format!(
                    r#"{{"type": "learning", "topic": "t", "content": "{}"}}"#,
                    "x".repeat(MAX_CONTENT_BYTES + 1)
                ),
                "line 1: has content of 4097 bytes; an entry holds at most 4096",
            ),
        ] {
            let got = problem(&line);
            assert!(got.starts_with(want), "{line}\n gave {got}\n want {want}");
        }
        let at_the_limit = format!(
            r#"{{"type": "learning", "topic": "t", "content": "{}"}}"#,
            "x".repeat(MAX_CONTENT_BYTES)
        );
        assert_eq!(problem(&at_the_limit), "ok");
    }

    #[test]
    fn bad_lines_are_left_out_and_the_good_ones_kept() {
        let good = r#"{"type": "learning", "topic": "t", "content": "c"}"#;
        let text = format!("{good}\njunk\n\n{good}\n{{\"type\": \"learning\"");
        let (entries, problems) = read_entries(&text);
        assert_eq!(entries.len(), 2);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 2: "), "{problems:?}");
        assert!(
            problems[1].starts_with("line 5: is not JSON"),
            "{problems:?}"
        );
    }

    #[test]
    fn entries_and_problems_are_capped() {
        let good = r#"{"type": "learning", "topic": "t", "content": "c"}"#;
        let text = vec![good; MAX_ENTRIES + 5].join("\n");
        let (entries, problems) = read_entries(&text);
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert_eq!(
            problems,
            [format!(
                "line {} and after: more than {MAX_ENTRIES} entries; the rest was left out",
                MAX_ENTRIES + 1
            )]
        );
        let junk = vec!["junk"; 100].join("\n");
        let (entries, problems) = read_entries(&junk);
        assert!(entries.is_empty());
        assert_eq!(problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(problems.last().unwrap(), "and 80 more left out");
    }

    #[test]
    fn huge_input_is_read_quickly_and_safely() {
        // Many junk lines, then good ones: all junk is counted, the good ones kept.
        let good = r#"{"type": "learning", "topic": "t", "content": "c"}"#;
        let text = format!(
            "{}{good}\n",
            "{\"a\": [1, 2, {\"b\": \"x\"}]}\n".repeat(40_000)
        );
        let started = std::time::Instant::now();
        let (entries, problems) = read_entries(&text);
        assert_eq!(entries.len(), 1);
        assert_eq!(problems.last().unwrap(), "and 39980 more left out");
        // One line of a megabyte, and deep nesting serde_json refuses: problems, not panics.
        let (entries, problems) = read_entries(&"x".repeat(1 << 20));
        assert!(entries.is_empty() && problems.len() == 1);
        let (entries, problems) = read_entries(&"[".repeat(100_000));
        assert!(entries.is_empty() && problems.len() == 1, "{problems:?}");
        assert!(started.elapsed().as_secs() < 10);
    }

    #[test]
    fn only_the_start_of_a_huge_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.jsonl");
        assert!(read_start(&path).unwrap().is_none());
        let good = r#"{"type": "learning", "topic": "t", "content": "c"}"#;
        let line = format!("{good}\n");
        let lines = (MAX_FILE_BYTES as usize) / line.len() + 10;
        std::fs::write(&path, line.repeat(lines)).unwrap();
        let (text, cut) = read_start(&path).unwrap().unwrap();
        assert!(cut);
        assert_eq!(text.len() as u64, MAX_FILE_BYTES);
        std::fs::write(&path, &line).unwrap();
        assert_eq!(read_start(&path).unwrap().unwrap(), (line, false));
    }

    #[test]
    fn a_critics_learnings_default_to_learnings() {
        let items: Vec<Value> = serde_json::from_str(
            r#"[{"topic": "style", "content": "Prefer iterators", "confidence": 0.7},
                {"type": "constraint", "topic": "api", "content": "Keep v1"},
                "a plain string",
                {"topic": "x"}]"#,
        )
        .unwrap();
        let (entries, problems) = read_learnings(&items);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].kind, ContextKind::Learning);
        assert_eq!(entries[0].confidence, Some(0.7));
        assert_eq!(entries[1].kind, ContextKind::Constraint);
        assert_eq!(
            problems,
            [
                "learning 3: is not a JSON object",
                "learning 4: has no `content`"
            ]
        );
    }

    #[test]
    fn an_entry_concerns_the_epic_or_the_project_and_what_it_names() {
        let (t, e, other) = (id("T1"), id("E"), id("T9"));
        assert_eq!(scope(&[], &t, Some(&e)), std::slice::from_ref(&e));
        assert_eq!(scope(&[], &t, None), Vec::<TaskId>::new());
        assert_eq!(
            scope(&[other.clone(), e.clone()], &t, Some(&e)),
            [e.clone(), other.clone()]
        );
        assert_eq!(scope(std::slice::from_ref(&other), &t, None), [t, other]);
    }
}
