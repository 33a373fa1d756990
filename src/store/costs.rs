//! The cost ledger: what attempts and planners spent, and how much of a budget is left.
//!
//! Attempts keep their own cost on their row (`attempts.cost_usd`, `cost_source`); planner runs,
//! which are no attempt, are rows of `costs`. The view `cost_ledger` puts both together.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{Result, Store};
use crate::model::{now_millis, TaskId};
use crate::prices::CostSource;

/// A planner's run about to be written to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCost {
    /// `plan` (`vane plan`) or `extension` (the roadmap's extension in a batch).
    pub kind: &'static str,
    pub batch: Option<i64>,
    pub profile: Option<String>,
    pub model: Option<String>,
    pub input_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub cost_source: Option<CostSource>,
    /// The planner's session, to find its run by.
    pub correlation: Option<String>,
}

pub(super) fn record(tx: &Connection, cost: &NewCost, task: Option<&TaskId>) -> Result<()> {
    let tokens = |t: Option<u64>| t.and_then(|t| i64::try_from(t).ok());
    tx.prepare_cached(
        "INSERT INTO costs (at, kind, batch_id, task_id, profile, model, input_tokens,
            cached_input_tokens, output_tokens, cost_usd, cost_source, correlation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        now_millis(),
        cost.kind,
        cost.batch,
        task.map(TaskId::as_str),
        cost.profile,
        cost.model,
        tokens(cost.input_tokens),
        tokens(cost.cached_input_tokens),
        tokens(cost.output_tokens),
        cost.cost_usd,
        cost.cost_source.map(CostSource::as_str),
        cost.correlation,
    ])?;
    Ok(())
}

/// What a batch, a task or the whole ledger spent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spent {
    pub usd: f64,
    /// Rows with a cost.
    pub priced: u64,
    /// Rows without one (an agent that reports neither cost nor tokens of a priced model).
    pub unpriced: u64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
}

const SPENT_COLUMNS: &str = "coalesce(sum(cost_usd), 0), count(cost_usd), \
    count(*) - count(cost_usd), coalesce(sum(input_tokens), 0), \
    coalesce(sum(cached_input_tokens), 0), coalesce(sum(output_tokens), 0)";

fn spent_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Spent> {
    Ok(Spent {
        usd: row.get(0)?,
        priced: row.get::<_, i64>(1)? as u64,
        unpriced: row.get::<_, i64>(2)? as u64,
        input_tokens: row.get(3)?,
        cached_input_tokens: row.get(4)?,
        output_tokens: row.get(5)?,
    })
}

impl Store {
    /// What the batch spent: its attempts and its planners.
    pub fn batch_spent(&self, batch: i64) -> Result<Spent> {
        Ok(self.conn.query_row(
            &format!("SELECT {SPENT_COLUMNS} FROM cost_ledger WHERE batch_id = ?1"),
            [batch],
            spent_from_row,
        )?)
    }

    /// What the task's attempts spent since its budget was last renewed (`vane task retry`),
    /// counting only the attempts it is charged for: vane's own failures never use a task's
    /// budget, as they never use its attempts.
    pub fn task_spent(&self, task: &TaskId) -> Result<Spent> {
        Ok(self.conn.query_row(
            &format!(
                "SELECT {SPENT_COLUMNS} FROM attempts a JOIN tasks t ON t.id = a.task_id
                 WHERE a.task_id = ?1 AND a.charged = 1 AND a.number > t.budget_from"
            ),
            [task.as_str()],
            spent_from_row,
        )?)
    }

    /// What the whole ledger holds since `since` (milliseconds since the epoch).
    pub fn spent_since(&self, since: i64) -> Result<Spent> {
        Ok(self.conn.query_row(
            &format!("SELECT {SPENT_COLUMNS} FROM cost_ledger WHERE at >= ?1"),
            [since],
            spent_from_row,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_adds_attempts_and_planners() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("vane.db"), true).expect("open store");
        let batch = store.start_batch("main", Some(5.0)).expect("batch");
        let cost = NewCost {
            kind: "extension",
            batch: Some(batch),
            profile: Some("claude".into()),
            model: Some("claude-sonnet-4-5".into()),
            input_tokens: Some(100),
            cached_input_tokens: Some(40),
            output_tokens: Some(10),
            cost_usd: Some(0.25),
            cost_source: Some(CostSource::Agent),
            correlation: None,
        };
        store.write(|tx| record(tx, &cost, None)).expect("recorded");
        let unpriced = NewCost {
            cost_usd: None,
            cost_source: None,
            ..cost.clone()
        };
        store
            .write(|tx| record(tx, &unpriced, None))
            .expect("recorded");
        let spent = store.batch_spent(batch).expect("spent");
        assert_eq!(spent.usd, 0.25);
        assert_eq!((spent.priced, spent.unpriced), (1, 1));
        assert_eq!(spent.cached_input_tokens, 80);
        assert_eq!(
            store.batch_spent(batch + 1).expect("spent"),
            Spent::default()
        );
    }
}
