//! The state database: the only code that touches SQLite.
//!
//! One `Store` wraps one connection to `<git common dir>/vane/vane.db`. Opening applies the embedded
//! migrations; every write runs in a `BEGIN IMMEDIATE` transaction so that two vane processes never
//! interleave half-done changes, and every change to a task writes its event in the same transaction.

mod batches;
mod checkpoints;
mod context;
mod costs;
mod events;
mod hand;
mod history;
mod import;
mod live;
mod metrics;
mod migrations;
mod plan;
mod quality;
mod remote;
mod report;
mod seal;
mod status;
mod tasks;
mod update;
mod work;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::graph::{Cycle, GraphError};
use crate::lifecycle::IllegalTransition;
use crate::model::{ParseError, TaskId};

pub use batches::Batch;
pub use context::NewContextEntry;
pub use costs::{NewCost, Spent};
pub use events::{EventFilter, NewEvent};
pub use hand::Retried;
pub use history::{AttemptHistory, GateRun, TraceKind, TraceNode};
pub use import::{ImportReport, TaskChange};
pub use live::{BatchSpending, SettledAttempt, WatchedTask};
pub use metrics::{AttemptCount, GateVerdictCount, LatestBatch, MetricsSnapshot, Verdict};
pub use migrations::{MIGRATIONS, SCHEMA_VERSION};
pub use plan::{PlanApplied, PlanConflict, PlanEpic, PlanToApply};
pub use quality::{GateRecord, QualityRow, StoredGateResult, TaskScore};
pub use remote::{job_ref, result_ref, RemoteClaim, RemoteJob};
pub use report::{
    group_interventions, longest_unattended, rejection_cause, targets, Hand, HandEvent,
    Intervention, Stretch, SuccessReport,
};
pub use status::{CheckpointSummary, EpicProgress, StatusSummary};
pub use tasks::{DependencyView, NewTask, TaskDetail, TaskFilter};
pub use update::{EditError, Removal, RemoveError, Started, TaskEdit, TaskUpdate, UpdateError};
pub use work::{
    batch_correlation, checkpoint_ref, Attempt, AttemptResult, Checkpoint, Claim, LandedMember,
    Recovery, RefMove, SnapshotEntry, WORK_LOOP,
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
    /// A file the store keeps beside the database (the verdict key) cannot be read or written.
    #[error("cannot use {}: {source}", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is there, but it is no vane database: never taken for a new one.
    #[error("the database at {} {problem}", .path.display())]
    Unusable { path: PathBuf, problem: Unusable },
    /// The file is there but this user may not read it.
    #[error("cannot read the database at {}: {reason}", .path.display())]
    NoAccess { path: PathBuf, reason: String },
    /// The database cannot be written (the repository is read-only to this user); opening it for
    /// reading works.
    #[error("the repository is read-only: vane cannot write its database at {}", .path.display())]
    ReadOnly { path: PathBuf },
    /// A read-only database older than this vane: reading it needs a migration, which writes.
    #[error(
        "the database at {} is read-only and has schema version {found}, older than this vane \
         reads ({known}); migrating it needs to write",
        .path.display()
    )]
    ReadOnlyOutdated {
        path: PathBuf,
        found: i64,
        known: i64,
    },
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
    /// A person's request that the task's state does not allow, in words that say why.
    #[error("{0}")]
    Refused(String),
    #[error("no context entry {0}")]
    ContextNotFound(i64),
    #[error(transparent)]
    Plan(#[from] plan::PlanConflict),
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

/// Why a database file that is there cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// There is no file (only said of a repository where vane's refs show it was used).
    Missing,
    /// The file has zero bytes.
    Empty,
    /// A SQLite database without vane's schema.
    NoSchema,
    /// SQLite cannot read it (not a database, or damaged): what SQLite said.
    Unreadable(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Missing => f.write_str("is missing"),
            Unusable::Empty => f.write_str("is empty (zero bytes)"),
            Unusable::NoSchema => f.write_str("holds no vane schema"),
            Unusable::Unreadable(reason) => write!(f, "cannot be read: {reason}"),
        }
    }
}

/// A connection to vane's state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Opened with `SQLITE_OPEN_READ_ONLY`: every write is refused with `StoreError::ReadOnly`.
    read_only: bool,
}

impl Store {
    /// Opens the database at `path` for reading and writing, creating it when `create` is set,
    /// and migrates it. Without `create`, a file that is empty, holds no vane schema or cannot be
    /// read is refused (`StoreError::Unusable`), never taken for a new database; with it (`vane
    /// init`), only an empty one is filled. A database this user cannot write is
    /// `StoreError::ReadOnly` when it can be read.
    pub fn open(path: &Path, create: bool) -> Result<Store> {
        match Store::open_writable(path, create) {
            Err(e) if may_be_read_only(&e) => match Store::open_read_only(path) {
                Ok(_) => Err(StoreError::ReadOnly {
                    path: path.to_path_buf(),
                }),
                Err(read @ StoreError::Unusable { .. }) => Err(read),
                Err(_) => Err(no_access(path).unwrap_or(e)),
            },
            other => other,
        }
    }

    /// Opens the database at `path` for a command that only reads: as `open`, or read-only when
    /// it cannot be written. A read-only open never migrates nor writes.
    pub fn open_to_read(path: &Path) -> Result<Store> {
        match Store::open(path, false) {
            Err(StoreError::ReadOnly { .. }) => Store::open_read_only(path),
            other => other,
        }
    }

    fn open_writable(path: &Path, create: bool) -> Result<Store> {
        if !create && !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags)?;
        // SQLite opens a file it cannot write read-only without a word.
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
            });
        }
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Read before anything writes: setting the journal mode writes the header of an empty file.
        probe(&conn, path, create)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            read_only: false,
        };
        migrations::migrate(&mut store.conn, path)?;
        Ok(store)
    }

    /// `SQLITE_OPEN_READ_ONLY`. A database in WAL mode needs its `-shm` file to be read that way;
    /// when it is not there and cannot be made (a read-only directory), the file is read as it is
    /// (`immutable=1`), which is exact as long as no `-wal` file holds changes it lacks.
    fn open_read_only(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let plain = Connection::open_with_flags(path, flags).and_then(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?;
            Ok(conn)
        });
        let conn = match plain {
            Ok(conn) => conn,
            Err(e) if cannot_write(&e) && !wal_holds_changes(path) => Connection::open_with_flags(
                immutable_uri(path),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )?,
            Err(e) => return Err(unreadable(e, path)),
        };
        probe(&conn, path, false)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            return Err(StoreError::ReadOnlyOutdated {
                path: path.to_path_buf(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            read_only: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the database was opened read-only (see `open_to_read`).
    pub fn is_read_only(&self) -> bool {
        self.read_only
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
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
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

/// Refuses what is no vane database before anything writes to it: a file with no schema (an
/// empty one too, unless `create`), or one SQLite cannot read.
fn probe(conn: &Connection, path: &Path, create: bool) -> Result<()> {
    let read = |e: rusqlite::Error| unreadable(e, path);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(read)?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .map_err(read)?;
    let unusable = |problem| {
        Err(StoreError::Unusable {
            path: path.to_path_buf(),
            problem,
        })
    };
    if version == 0 {
        if tables > 0 {
            return unusable(Unusable::NoSchema);
        }
        if !create {
            let empty = std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
            return unusable(if empty {
                Unusable::Empty
            } else {
                Unusable::NoSchema
            });
        }
    } else if tables == 0 {
        return unusable(Unusable::NoSchema);
    }
    Ok(())
}

/// What SQLite says of a file that is no database, or a damaged one, as `Unusable`.
fn unreadable(e: rusqlite::Error, path: &Path) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Unusable {
            path: path.to_path_buf(),
            problem: Unusable::Unreadable(e.to_string()),
        },
        _ => StoreError::Sqlite(e),
    }
}

/// The errors of a database (or directory) this user cannot write.
fn cannot_write(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied)
    )
}

fn may_be_read_only(e: &StoreError) -> bool {
    match e {
        StoreError::ReadOnly { .. } => true,
        StoreError::Sqlite(e) => cannot_write(e),
        _ => false,
    }
}

/// `StoreError::NoAccess` when the file is there and the file system refuses to open it.
fn no_access(path: &Path) -> Option<StoreError> {
    match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(StoreError::NoAccess {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        _ => None,
    }
}

/// Whether `<path>-wal` holds changes that reading the file alone would miss.
fn wal_holds_changes(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0)
}

/// `file:<path>?immutable=1`, the path percent-encoded as SQLite's URIs want it.
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
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
