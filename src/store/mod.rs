//! The state database: the only code that touches SQLite.
//!
//! One `Store` wraps one connection to `<git common dir>/vane/vane.db`. Opening applies the embedded
//! migrations; every write runs in a `BEGIN IMMEDIATE` transaction so that two vane processes never
//! interleave half-done changes, and every change to a task writes its event in the same transaction.

mod context;
mod events;
mod import;
mod migrations;
mod quality;
mod status;
mod tasks;
mod work;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::graph::{Cycle, GraphError};
use crate::lifecycle::IllegalTransition;
use crate::model::{ParseError, TaskId};

pub use context::NewContextEntry;
pub use events::{EventFilter, NewEvent};
pub use import::{ImportReport, TaskChange};
pub use migrations::{MIGRATIONS, SCHEMA_VERSION};
pub use quality::{GateRecord, QualityRow, StoredGateResult, TaskScore};
pub use status::{CheckpointSummary, EpicProgress, StatusSummary};
pub use tasks::{DependencyView, NewTask, TaskDetail, TaskFilter};
pub use work::{
    batch_correlation, checkpoint_ref, Attempt, AttemptResult, Checkpoint, Claim, Recovery,
    RefMove, SnapshotEntry, WORK_LOOP,
};

/// How long a writer waits for another vane process to finish its transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database at {path} has schema version {found}, newer than this vane knows ({known})"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("no database at {0}")]
    Missing(PathBuf),
    #[error("no task `{0}`")]
    TaskNotFound(TaskId),
    #[error("a task `{0}` exists already")]
    TaskExists(TaskId),
    #[error("`{task}` names an unknown {role} `{missing}`")]
    UnknownReference {
        task: TaskId,
        role: &'static str,
        missing: TaskId,
    },
    #[error("`{task}` does not depend on `{depends_on}`")]
    DependencyNotFound { task: TaskId, depends_on: TaskId },
    #[error("`{task}` already depends on `{depends_on}` ({kind})")]
    DependencyExists {
        task: TaskId,
        depends_on: TaskId,
        kind: crate::model::DepKind,
    },
    #[error("this dependency would close a cycle: {0}")]
    Cycle(Cycle),
    #[error("task `{task}`: {source}")]
    Illegal {
        task: TaskId,
        #[source]
        source: IllegalTransition,
    },
    #[error("the database holds a value vane cannot read: {0}")]
    Corrupt(String),
    #[error("no context entry {0}")]
    ContextNotFound(i64),
}

impl From<GraphError> for StoreError {
    fn from(e: GraphError) -> Self {
        StoreError::Corrupt(format!("the task graph is inconsistent: {e}"))
    }
}

impl From<ParseError> for StoreError {
    fn from(e: ParseError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection to vane's state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the database at `path`, creating it when `create` is set, and migrates it.
    pub fn open(path: &Path, create: bool) -> Result<Store> {
        if !create && !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        migrations::migrate(&mut store.conn, path)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// What `PRAGMA integrity_check` finds: `["ok"]` for a sound database, else one line per problem.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: all of it is written, or none of it.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Gives direct access to the connection, for tests that prove what the database itself refuses.
    #[doc(hidden)]
    pub fn raw_connection(&self) -> &Connection {
        &self.conn
    }
}

/// A fresh id tying together the events of one command or one causal chain.
pub fn new_correlation_id(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(crate::model::now_millis());
    hasher.write_u32(std::process::id());
    format!("{prefix}-{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests;
