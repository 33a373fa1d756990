//! The append-only event log: every change writes one event, in the transaction that makes the change.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Result, Store};
use crate::model::{now_millis, Event, TaskId};

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub task: Option<&'a TaskId>,
    pub actor: &'a str,
    pub correlation: Option<&'a str>,
    pub data: serde_json::Value,
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub task: Option<TaskId>,
    /// Only events with an id above this one (for following the log).
    pub after: Option<i64>,
    /// The most recent N of the matching events.
    pub limit: Option<usize>,
}

/// Appends one event. Callers pass the transaction their change runs in.
pub(super) fn append(conn: &Connection, event: &NewEvent<'_>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO events (timestamp, event_type, task_id, agent, data, correlation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        now_millis(),
        event.kind,
        event.task.map(TaskId::as_str),
        event.actor,
        event.data.to_string(),
        event.correlation,
    ])?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<(Event, Option<String>)> {
    let data: String = row.get(5)?;
    let task: Option<String> = row.get(3)?;
    Ok((
        Event {
            id: row.get(0)?,
            at: row.get(1)?,
            kind: row.get(2)?,
            task: None,
            actor: row.get(4)?,
            correlation: row.get(6)?,
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)),
        },
        task,
    ))
}

pub(super) const EVENT_COLUMNS: &str =
    "id, timestamp, event_type, task_id, agent, data, correlation_id";

impl Store {
    /// Appends an event that belongs to no other change (for example a command's own record).
    pub fn append_event(&mut self, event: &NewEvent<'_>) -> Result<i64> {
        self.write(|tx| append(tx, event))
    }

    /// Reads events in the order they were written, oldest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<Event>> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id > ?1");
        if filter.task.is_some() {
            sql.push_str(" AND task_id = ?2");
        }
        // The newest N, then turned back into log order.
        sql.push_str(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let after = filter.after.unwrap_or(0);
        let rows = match &filter.task {
            Some(task) => stmt.query_map(params![after, task.as_str()], event_from_row)?,
            None => stmt.query_map(params![after], event_from_row)?,
        };
        let mut events = Vec::new();
        for row in rows {
            let (mut event, task) = row?;
            event.task = task.map(TaskId::new).transpose()?;
            events.push(event);
        }
        events.reverse();
        Ok(events)
    }

    /// The id of the newest event, if any.
    pub fn last_event_id(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT max(id) FROM events", [], |r| r.get(0))
            .optional()?
            .flatten())
    }
}
