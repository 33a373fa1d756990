//! Schema migrations, embedded in the binary and applied in one transaction when the database opens.
//!
//! The version lives in `PRAGMA user_version`, as cargo does it: migration N (1-based) has run when the
//! version is at least N. Shipped migrations are never edited; a change is a new file.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{Result, StoreError};

/// Every migration in order, by file name and text.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial.sql",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        "0002_work_loop.sql",
        include_str!("../../migrations/0002_work_loop.sql"),
    ),
    (
        "0003_quality.sql",
        include_str!("../../migrations/0003_quality.sql"),
    ),
    (
        "0004_faults.sql",
        include_str!("../../migrations/0004_faults.sql"),
    ),
    (
        "0005_merge_queue.sql",
        include_str!("../../migrations/0005_merge_queue.sql"),
    ),
    (
        "0006_costs.sql",
        include_str!("../../migrations/0006_costs.sql"),
    ),
    (
        "0007_remote.sql",
        include_str!("../../migrations/0007_remote.sql"),
    ),
];

/// The schema version this vane writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    // IMMEDIATE takes the write lock first, so two processes opening a new database at once do not
    // both try to apply the same migration; the loser re-reads the version under the lock.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version > found {
            tracing::info!(migration = name, "applying");
            tx.execute_batch(sql)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
