//! Reading back the batches `vane work` recorded (see `work::start_batch`, `work::finish_batch`):
//! for following a batch started in the background, from another process.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{batch_correlation, Result, Store};

/// One `vane work` run, as its row and its `batch_finished` event record it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Batch {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// The process that ran it.
    pub pid: i64,
    pub base_branch: String,
    /// `finished` or `interrupted`; none while it runs, or after a crash until the next batch.
    pub outcome: Option<String>,
    /// What its `batch_finished` event says it did (landed, blocked, left, ...).
    pub summary: Option<serde_json::Value>,
}

impl Store {
    /// The batch started last, if any.
    pub fn latest_batch(&self) -> Result<Option<Batch>> {
        let Some(mut batch) = self
            .conn
            .query_row(
                "SELECT id, started_at, finished_at, pid, base_branch, outcome
                 FROM batches ORDER BY id DESC LIMIT 1",
                [],
                |row| {
                    Ok(Batch {
                        id: row.get(0)?,
                        started_at: row.get(1)?,
                        finished_at: row.get(2)?,
                        pid: row.get(3)?,
                        base_branch: row.get(4)?,
                        outcome: row.get(5)?,
                        summary: None,
                    })
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        let data: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM events WHERE event_type = 'batch_finished' AND correlation_id = ?1
                 ORDER BY id DESC LIMIT 1",
                params![batch_correlation(batch.id)],
                |row| row.get(0),
            )
            .optional()?;
        batch.summary = data
            .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
            .map(|d| d["summary"].clone());
        Ok(Some(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_batch_carries_the_summary_its_end_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("vane.db"), true).unwrap();
        assert_eq!(store.latest_batch().unwrap(), None);
        let first = store.start_batch("main", None).unwrap();
        store
            .finish_batch(first, "finished", serde_json::json!({"landed": 1}))
            .unwrap();
        let second = store.start_batch("main", None).unwrap();
        let running = store.latest_batch().unwrap().unwrap();
        assert_eq!(running.id, second);
        assert_eq!((running.outcome, running.summary), (None, None));
        store
            .finish_batch(second, "finished", serde_json::json!({"landed": 2}))
            .unwrap();
        let done = store.latest_batch().unwrap().unwrap();
        assert_eq!(done.outcome.as_deref(), Some("finished"));
        assert_eq!(done.summary, Some(serde_json::json!({"landed": 2})));
        assert!(done.finished_at.is_some());
    }
}
