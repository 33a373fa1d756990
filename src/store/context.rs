//! Structured context entries (the seed's decisions, constraints, hypotheses and learnings).

use rusqlite::params;
use serde_json::json;

use super::events::{append, NewEvent};
use super::tasks::task_exists;
use super::{Result, Store, StoreError};
use crate::model::{now_millis, ContextEntry, ContextKind, TaskId};

/// A context entry about to be written.
#[derive(Debug, Clone)]
pub struct NewContextEntry {
    pub kind: ContextKind,
    pub topic: String,
    pub content: String,
    pub confidence: Option<f64>,
    pub related_tasks: Vec<TaskId>,
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
            let now = now_millis();
            tx.execute(
                "INSERT INTO context_entries (timestamp, entry_type, topic, content, related_tasks, confidence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    now,
                    entry.kind.as_str(),
                    entry.topic,
                    entry.content,
                    json!(entry.related_tasks).to_string(),
                    entry.confidence,
                ],
            )?;
            let id = tx.last_insert_rowid();
            append(
                tx,
                &NewEvent {
                    kind: "context_added",
                    task: None,
                    actor,
                    correlation: None,
                    data: json!({ "entry": id, "type": entry.kind, "topic": entry.topic }),
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
            })
        })
    }

    /// Context entries, oldest first, optionally of one kind, one topic, or about one task.
    pub fn context_entries(
        &self,
        kind: Option<ContextKind>,
        topic: Option<&str>,
        task: Option<&TaskId>,
    ) -> Result<Vec<ContextEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, timestamp, entry_type, topic, content, related_tasks, confidence
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
            entries.push(ContextEntry {
                id: row.get(0)?,
                at: row.get(1)?,
                kind: row.get::<_, String>(2)?.parse()?,
                topic: row.get(3)?,
                content: row.get(4)?,
                related_tasks,
                confidence: row.get(6)?,
            });
        }
        Ok(entries)
    }
}
