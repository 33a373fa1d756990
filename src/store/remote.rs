//! What the coordinator records of the attempts remote workers run (`remote_jobs`), and of the
//! results it refused (`refused_results`). The row of a job is written in its claim's transaction
//! (see `Claim::remote`), so that recovery can tell an attempt whose worker may still be at work,
//! and whose result is collected later, from one that died with the run.

use rusqlite::{params, OptionalExtension};
use serde_json::json;

use super::events::{append, NewEvent};
use super::work::{read_attempts_in, ATTEMPT_COLUMNS, WORK_LOOP};
use super::{Result, Store};
use crate::model::{now_millis, TaskId};

use super::Attempt;

/// What a claim for a remote worker records beside the attempt.
#[derive(Debug, Clone, Copy)]
pub struct RemoteClaim<'a> {
    pub executor: &'a str,
    pub remote: &'a str,
    /// Milliseconds since the epoch after which the job is given up.
    pub deadline: i64,
}

/// A job published for a remote worker, as `remote_jobs` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJob {
    pub attempt_id: i64,
    pub executor: String,
    pub remote: String,
    pub job_ref: String,
    pub submitted_at: i64,
    pub deadline: i64,
    pub state: String,
    pub result_sha: Option<String>,
}

/// The ref a job for attempt `number` of `task` is published on.
pub fn job_ref(task: &TaskId, number: u32) -> String {
    format!("refs/vane/jobs/{task}/{number}")
}

/// The ref the result of attempt `number` of `task` comes back on.
pub fn result_ref(task: &TaskId, number: u32) -> String {
    format!("refs/vane/results/{task}/{number}")
}

pub(super) fn insert_remote_job(
    tx: &rusqlite::Transaction<'_>,
    attempt: &Attempt,
    claim: &RemoteClaim<'_>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO remote_jobs (attempt_id, executor, remote, job_ref, submitted_at, deadline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            attempt.id,
            claim.executor,
            claim.remote,
            job_ref(&attempt.task, attempt.number),
            now_millis(),
            claim.deadline
        ],
    )?;
    Ok(())
}

fn read_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<RemoteJob> {
    Ok(RemoteJob {
        attempt_id: row.get(0)?,
        executor: row.get(1)?,
        remote: row.get(2)?,
        job_ref: row.get(3)?,
        submitted_at: row.get(4)?,
        deadline: row.get(5)?,
        state: row.get(6)?,
        result_sha: row.get(7)?,
    })
}

const JOB_COLUMNS: &str =
    "attempt_id, executor, remote, job_ref, submitted_at, deadline, state, result_sha";

impl Store {
    /// The attempts a remote worker may still be running: open, with a job published for them,
    /// oldest first. A coordinator that starts collects their results instead of running them
    /// again.
    pub fn open_remote_jobs(&self) -> Result<Vec<(Attempt, RemoteJob)>> {
        let attempts = read_attempts_in(
            &self.conn,
            &format!(
                "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE outcome IS NULL \
                 AND id IN (SELECT attempt_id FROM remote_jobs) ORDER BY id"
            ),
            [],
        )?;
        let mut out = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            if let Some(job) = self.remote_job(attempt.id)? {
                out.push((attempt, job));
            }
        }
        Ok(out)
    }

    /// The job of attempt `attempt_id`, when a remote worker ran it.
    pub fn remote_job(&self, attempt_id: i64) -> Result<Option<RemoteJob>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM remote_jobs WHERE attempt_id = ?1"),
                [attempt_id],
                read_job,
            )
            .optional()?)
    }

    /// Attempt `number` of `task`, when there is one.
    pub fn attempt_numbered(&self, task: &TaskId, number: u32) -> Result<Option<Attempt>> {
        Ok(read_attempts_in(
            &self.conn,
            &format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE task_id = ?1 AND number = ?2"),
            params![task.as_str(), number],
        )?
        .pop())
    }

    /// Marks a remote job `collected` (with the result commit) or `lost`, once its attempt is
    /// recorded.
    pub fn settle_remote_job(
        &mut self,
        attempt_id: i64,
        state: &str,
        result_sha: Option<&str>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE remote_jobs SET state = ?2, result_sha = ?3 WHERE attempt_id = ?1",
                params![attempt_id, state, result_sha],
            )?;
            Ok(())
        })
    }

    /// Records a result ref that matched no waiting job, and where it was kept aside.
    pub fn record_refused_result(
        &mut self,
        remote: &str,
        refname: &str,
        sha: &str,
        kept_as: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO refused_results (at, remote, refname, sha, kept_as, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![now_millis(), remote, refname, sha, kept_as, reason],
            )?;
            append(
                tx,
                &NewEvent {
                    kind: "result_refused",
                    task: None,
                    actor: WORK_LOOP,
                    correlation: None,
                    data: json!({
                        "remote": remote,
                        "ref": refname,
                        "sha": sha,
                        "kept_as": kept_as,
                        "reason": reason,
                    }),
                },
            )?;
            Ok(())
        })
    }
}
