//! Structured context entries (the seed's decisions, constraints, hypotheses and learnings): what
//! people record with `vane context add`, and what agents and critics leave for the tasks after
//! them (see `learnings`), with where it came from in the entry's `metadata`.

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::json;

use super::events::{append, NewEvent};
use super::tasks::task_exists;
use super::{Result, Store, StoreError};
use crate::model::{
    check_text, check_title, now_millis, ContextEntry, ContextKind, ContextOrigin, TaskId,
    TextProblem, MAX_TITLE_BYTES,
};

/// A context entry about to be written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewContextEntry {
    pub kind: ContextKind,
    pub topic: String,
    pub content: String,
    pub confidence: Option<f64>,
    pub related_tasks: Vec<TaskId>,
    /// Where it came from, when vane records it for an agent or a critic; None for a person's.
    pub origin: Option<ContextOrigin>,
}

impl NewContextEntry {
    /// Why the entry cannot be recorded: a topic that is not one line of text (the checks of a
    /// task's title), content that is blank or holds a NUL byte (no agent could be given it in a
    /// prompt), or a confidence outside 0..1. Every way an entry enters comes here.
    pub fn check(&self) -> std::result::Result<(), String> {
        match check_title(&self.topic) {
            Ok(()) => {}
            Err(TextProblem::Empty) => return Err("the topic is empty".to_string()),
            Err(TextProblem::TooLong { len }) => {
                return Err(format!(
                    "the topic is {len} bytes long; a topic is a word or a few, at most \
                     {MAX_TITLE_BYTES} bytes"
                ))
            }
            Err(TextProblem::LineBreak { at }) => {
                return Err(format!(
                    "the topic has a line break at byte {at}; a topic is one line"
                ))
            }
            Err(problem) => return Err(format!("the topic {problem}")),
        }
        if self.content.trim().is_empty() {
            return Err("the content is empty".to_string());
        }
        if let Err(problem) = check_text(&self.content) {
            return Err(format!("the content {problem}"));
        }
        match self.confidence {
            Some(c) if !(0.0..=1.0).contains(&c) => {
                Err(format!("the confidence {c} is not a number from 0 to 1"))
            }
            _ => Ok(()),
        }
    }
}

impl Store {
    /// Records a context entry; every related task must exist.
    pub fn add_context(&mut self, entry: &NewContextEntry, actor: &str) -> Result<ContextEntry> {
        self.write(|tx| {
            for task in &entry.related_tasks {
                if !task_exists(tx, task)? {
                    return Err(StoreError::UnknownReference {
                        task: task.clone(),
                        role: "task in a context entry",
                        missing: task.clone(),
                    });
                }
            }
            insert(tx, entry, actor, None, None)
        })
    }

    /// Records what an agent or a critic left about `task` (see `record_left`), in one
    /// transaction; returns the entries recorded.
    pub fn add_left_context(
        &mut self,
        task: &TaskId,
        entries: &[NewContextEntry],
        rejected: &[String],
        actor: &str,
        correlation: Option<&str>,
    ) -> Result<Vec<ContextEntry>> {
        self.write(|tx| record_left(tx, Some(task), entries, rejected, actor, correlation))
    }

    /// Context entries, oldest first, optionally of one kind, one topic, or about one task.
    pub fn context_entries(
        &self,
        kind: Option<ContextKind>,
        topic: Option<&str>,
        task: Option<&TaskId>,
    ) -> Result<Vec<ContextEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, timestamp, entry_type, topic, content, related_tasks, confidence, metadata
             FROM context_entries
             WHERE (?1 IS NULL OR entry_type = ?1) AND (?2 IS NULL OR topic = ?2)
               AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(related_tasks) WHERE value = ?3))
             ORDER BY id",
        )?;
        let mut rows = stmt.query(params![
            kind.map(ContextKind::as_str),
            topic,
            task.map(TaskId::as_str)
        ])?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next()? {
            let related: String = row.get(5)?;
            let related_tasks: Vec<TaskId> = serde_json::from_str(&related)
                .map_err(|e| StoreError::Corrupt(format!("context entry related tasks: {e}")))?;
            let metadata: Option<String> = row.get(7)?;
            let origin = metadata
                .map(|m| serde_json::from_str::<ContextOrigin>(&m))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("context entry metadata: {e}")))?;
            entries.push(ContextEntry {
                id: row.get(0)?,
                at: row.get(1)?,
                kind: row.get::<_, String>(2)?.parse()?,
                topic: row.get(3)?,
                content: row.get(4)?,
                related_tasks,
                confidence: row.get(6)?,
                origin,
            });
        }
        Ok(entries)
    }
}

/// Records what an agent or a critic left about `task` (None when it is not known, as for a
/// speculative gate run's critic): the entries, each naming where it came from, and the problems
/// of what was left out as one `context_rejected` event. An entry the store already holds word for
/// word (kind, topic, content and tasks: a retry that learned the same thing again) is not recorded
/// twice; one that names a task that does not exist is left out, with a problem. Returns the
/// entries recorded.
pub(super) fn record_left(
    conn: &Connection,
    task: Option<&TaskId>,
    entries: &[NewContextEntry],
    rejected: &[String],
    actor: &str,
    correlation: Option<&str>,
) -> Result<Vec<ContextEntry>> {
    let mut problems = rejected.to_vec();
    let mut recorded = Vec::new();
    'entries: for entry in entries {
        for related in &entry.related_tasks {
            if !task_exists(conn, related)? {
                problems.push(format!(
                    "the {} on `{}` names the task `{related}`, which does not exist; left out",
                    entry.kind, entry.topic
                ));
                continue 'entries;
            }
        }
        let known = conn
            .prepare_cached(
                "SELECT 1 FROM context_entries
                 WHERE entry_type = ?1 AND topic = ?2 AND content = ?3 AND related_tasks = ?4",
            )?
            .exists(params![
                entry.kind.as_str(),
                entry.topic,
                entry.content,
                json!(entry.related_tasks).to_string(),
            ])?;
        if !known {
            recorded.push(insert(conn, entry, actor, task, correlation)?);
        }
    }
    if !problems.is_empty() {
        append(
            conn,
            &NewEvent {
                kind: "context_rejected",
                task,
                actor,
                correlation,
                data: json!({ "problems": problems }),
            },
        )?;
    }
    Ok(recorded)
}

/// Inserts one entry and its `context_added` event.
fn insert(
    conn: &Connection,
    entry: &NewContextEntry,
    actor: &str,
    task: Option<&TaskId>,
    correlation: Option<&str>,
) -> Result<ContextEntry> {
    let now = now_millis();
    let metadata = entry
        .origin
        .as_ref()
        .map(|o| serde_json::to_string(o).expect("an origin serializes to JSON"));
    conn.execute(
        "INSERT INTO context_entries (timestamp, entry_type, topic, content, related_tasks,
             confidence, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            now,
            entry.kind.as_str(),
            entry.topic,
            entry.content,
            json!(entry.related_tasks).to_string(),
            entry.confidence,
            metadata,
        ],
    )?;
    let id = conn.last_insert_rowid();
    let mut data = json!({ "entry": id, "type": entry.kind, "topic": entry.topic });
    if let Some(origin) = &entry.origin {
        data["origin"] = json!(origin);
    }
    append(
        conn,
        &NewEvent {
            kind: "context_added",
            task,
            actor,
            correlation,
            data,
        },
    )?;
    Ok(ContextEntry {
        id,
        at: now,
        kind: entry.kind,
        topic: entry.topic.clone(),
        content: entry.content.clone(),
        confidence: entry.confidence,
        related_tasks: entry.related_tasks.clone(),
        origin: entry.origin.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContextSource, TaskType};
    use crate::store::{EventFilter, NewTask};

    fn id(s: &str) -> TaskId {
        TaskId::new(s).unwrap()
    }

    fn learning(topic: &str, related: &[&str]) -> NewContextEntry {
        NewContextEntry {
            kind: ContextKind::Learning,
            topic: topic.to_string(),
            content: format!("about {topic}"),
            confidence: Some(0.8),
            related_tasks: related.iter().map(|r| id(r)).collect(),
            origin: Some(ContextOrigin {
                source: ContextSource::Agent,
                task: id("T1"),
                attempt: 2,
                profile: Some("shell".to_string()),
                gate: None,
            }),
        }
    }

    #[test]
    fn what_an_agent_left_is_recorded_once_with_its_origin_and_its_problems() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("vane.db"), true).unwrap();
        store
            .add_task(
                &NewTask {
                    id: Some(id("T1")),
                    title: "One".to_string(),
                    description: String::new(),
                    kind: TaskType::Task,
                    complexity: None,
                    parent: None,
                    deps: Vec::new(),
                    run: None,
                    agent: None,
                    paths: Vec::new(),
                },
                "test",
            )
            .unwrap();
        let entries = [
            learning("build", &[]),
            learning("ghost", &["T9"]),
            learning("tests", &["T1"]),
        ];
        let recorded = store
            .add_left_context(
                &id("T1"),
                &entries,
                &["line 4: is not JSON".to_string()],
                "w1/shell",
                Some("c-1"),
            )
            .unwrap();
        assert_eq!(recorded.len(), 2);
        // The same again (a retry that learned it again) is not recorded twice.
        let again = store
            .add_left_context(&id("T1"), &entries[..1], &[], "w1/shell", None)
            .unwrap();
        assert!(again.is_empty());
        let listed = store.context_entries(None, None, None).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].origin, entries[0].origin, "metadata read back");
        let raw: String = store
            .raw_connection()
            .query_row(
                "SELECT metadata FROM context_entries WHERE id = ?1",
                [listed[0].id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&raw).unwrap(),
            json!({"source": "agent", "task": "T1", "attempt": 2, "profile": "shell"})
        );
        let events = store
            .events(&EventFilter {
                task: Some(id("T1")),
                ..EventFilter::default()
            })
            .unwrap();
        let rejected: Vec<_> = events
            .iter()
            .filter(|e| e.kind == "context_rejected")
            .collect();
        assert_eq!(rejected.len(), 1);
        assert_eq!(
            rejected[0].data["problems"],
            json!([
                "line 4: is not JSON",
                "the learning on `ghost` names the task `T9`, which does not exist; left out"
            ])
        );
        assert_eq!(rejected[0].actor.as_deref(), Some("w1/shell"));
        let added = events.iter().filter(|e| e.kind == "context_added").count();
        assert_eq!(added, 2);
    }

    #[test]
    fn an_entry_is_checked_like_a_title_and_a_description() {
        let ok = NewContextEntry {
            origin: None,
            ..learning("build", &[])
        };
        assert_eq!(ok.check(), Ok(()));
        for (entry, want) in [
            (
                NewContextEntry {
                    topic: " ".to_string(),
                    ..ok.clone()
                },
                "the topic is empty",
            ),
            (
                NewContextEntry {
                    topic: "a\nb".to_string(),
                    ..ok.clone()
                },
                "the topic has a line break at byte 1; a topic is one line",
            ),
            (
                NewContextEntry {
                    content: "\n".to_string(),
                    ..ok.clone()
                },
                "the content is empty",
            ),
            (
                NewContextEntry {
                    confidence: Some(f64::NAN),
                    ..ok.clone()
                },
                "the confidence NaN is not a number from 0 to 1",
            ),
        ] {
            assert_eq!(entry.check(), Err(want.to_string()));
        }
    }
}
