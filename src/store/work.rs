//! What the work loop records: batches, attempts, the intent log of ref moves, checkpoints, and the
//! recovery of what a crashed run left behind. Each function is one transaction, so that a kill at
//! any moment leaves either the state before it or the state after it.

use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::events::{append, NewEvent};
use super::tasks::{get_task, transition};
use super::{Result, Store, StoreError};
use crate::lifecycle::Mover;
use crate::model::{
    now_millis, AttemptOutcome, CheckpointKind, CommitId, RefMovePurpose, Task, TaskId, TaskStatus,
};
use crate::prices::CostSource;

/// The actor name of the work loop in the event log.
pub const WORK_LOOP: &str = "vane";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub id: i64,
    pub task: TaskId,
    pub number: u32,
    pub batch: Option<i64>,
    pub worker: Option<String>,
    pub profile: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i32>,
    /// None while its agent runs (or after a crash, until recovery).
    pub outcome: Option<AttemptOutcome>,
    pub base_sha: Option<String>,
    pub head_sha: Option<String>,
    pub session_id: Option<String>,
    pub cost_usd: Option<f64>,
    /// Where `cost_usd` came from: the agent's report, or its tokens at the price of its model.
    pub cost_source: Option<CostSource>,
    pub input_tokens: Option<i64>,
    /// The part of `input_tokens` read from the model's prompt cache.
    pub cached_input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    /// The model the agent ran, as it said or its profile's `model` says.
    pub model: Option<String>,
    pub message: Option<String>,
    pub feedback: Option<String>,
    pub correlation: Option<String>,
    /// The overall gate score of its candidate, once gated.
    pub score: Option<f64>,
    /// Why its agent profile was chosen, when not simply the task's own (escalation).
    pub agent_reason: Option<String>,
    /// Whether it counts toward `max_attempts`: false when vane's crash, an interrupt, a broken
    /// environment or a broken gate cut it short (promise 9).
    pub charged: bool,
}

pub(super) const ATTEMPT_COLUMNS: &str =
    "id, task_id, number, batch_id, worker, profile, started_at, \
    finished_at, exit_code, outcome, base_sha, head_sha, session_id, cost_usd, input_tokens, \
    output_tokens, message, feedback, correlation_id, score, agent_reason, charged, cost_source, \
    cached_input_tokens, model";

pub(super) fn attempt_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Attempt>> {
    let id: i64 = row.get(0)?;
    let task: String = row.get(1)?;
    let outcome: Option<String> = row.get(9)?;
    let task = match TaskId::new(task) {
        Ok(task) => task,
        Err(e) => return Ok(Err(StoreError::Corrupt(format!("attempt {id}: {e}")))),
    };
    let outcome = match outcome.map(|o| o.parse::<AttemptOutcome>()).transpose() {
        Ok(outcome) => outcome,
        Err(e) => {
            return Ok(Err(StoreError::Corrupt(format!(
                "the outcome of attempt {id} at `{task}`: {e}"
            ))))
        }
    };
    Ok(Ok(Attempt {
        id,
        task,
        number: row.get(2)?,
        batch: row.get(3)?,
        worker: row.get(4)?,
        profile: row.get(5)?,
        started_at: row.get(6)?,
        finished_at: row.get(7)?,
        exit_code: row.get(8)?,
        outcome,
        base_sha: row.get(10)?,
        head_sha: row.get(11)?,
        session_id: row.get(12)?,
        cost_usd: row.get(13)?,
        input_tokens: row.get(14)?,
        output_tokens: row.get(15)?,
        message: row.get(16)?,
        feedback: row.get(17)?,
        correlation: row.get(18)?,
        score: row.get(19)?,
        agent_reason: row.get(20)?,
        charged: row.get(21)?,
        cost_source: row
            .get::<_, Option<String>>(22)?
            .as_deref()
            .and_then(CostSource::parse),
        cached_input_tokens: row.get(23)?,
        model: row.get(24)?,
    }))
}

pub(super) fn read_attempts_in(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, attempt_from_row)?;
    rows.map(|row| row?).collect()
}

/// How an agent's run ended, as the work loop records it on the attempt.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub exit_code: Option<i32>,
    pub outcome: AttemptOutcome,
    pub head_sha: Option<String>,
    pub session_id: Option<String>,
    pub cost_usd: Option<f64>,
    pub cost_source: Option<CostSource>,
    pub input_tokens: Option<i64>,
    pub cached_input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub model: Option<String>,
    pub message: Option<String>,
    pub feedback: Option<String>,
    /// Whether the attempt counts toward `max_attempts` (see `Attempt::charged`).
    pub charged: bool,
    /// The paths the attempt changed, as its commit on the task branch shows them; None when not
    /// known (it left no commit), which keeps what an earlier write recorded.
    pub touched: Option<Vec<String>>,
}

impl AttemptResult {
    /// A result that ended with `outcome` and nothing else known yet; charged as the outcome is
    /// (see `AttemptOutcome::is_charged`).
    pub fn new(outcome: AttemptOutcome) -> Self {
        AttemptResult {
            exit_code: None,
            outcome,
            head_sha: None,
            session_id: None,
            cost_usd: None,
            cost_source: None,
            input_tokens: None,
            cached_input_tokens: None,
            output_tokens: None,
            model: None,
            message: None,
            feedback: None,
            charged: outcome.is_charged(),
            touched: None,
        }
    }
}

/// A person's checkout being brought from one commit to another (see `checkout_moves`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckoutMove {
    pub id: i64,
    pub workdir: std::path::PathBuf,
    pub old_sha: String,
    pub new_sha: String,
}

/// What a claim records on the new attempt.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub batch: i64,
    /// The worker taking it (`w1`, ...).
    pub worker: &'a str,
    /// The agent profile it runs with.
    pub profile: &'a str,
    pub base_sha: &'a str,
    /// Why, for the event (a retry, an escalation).
    pub note: Option<&'a str>,
    /// Why this profile, when not simply the task's own.
    pub agent_reason: Option<&'a str>,
    /// The job a remote worker runs it as, recorded with the attempt; None for a local worker.
    pub remote: Option<super::remote::RemoteClaim<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefMove {
    pub id: i64,
    pub refname: String,
    pub old_sha: String,
    pub new_sha: String,
    pub purpose: RefMovePurpose,
    pub task: Option<TaskId>,
    pub attempt: Option<i64>,
    pub checkpoint: Option<i64>,
    /// The candidates a landing of several lands, in order, each as its commit of the chain that
    /// ends at `new_sha`; empty for a move of one task (`task`, `attempt`).
    pub members: Vec<LandedMember>,
}

/// One candidate of a landing of several (a batch of the merge queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandedMember {
    pub task: TaskId,
    pub attempt: Option<i64>,
    /// Its merge commit in the chain; the last member's is the tree that was gated.
    pub sha: CommitId,
}

/// One task's state as a checkpoint remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub id: TaskId,
    pub status: TaskStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub landed_sha: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    pub id: i64,
    pub at: i64,
    pub batch: String,
    pub kind: CheckpointKind,
    pub task: Option<TaskId>,
    pub sha: CommitId,
    pub refname: String,
    pub notes: Option<String>,
    #[serde(skip)]
    pub snapshot: Vec<SnapshotEntry>,
}

/// What recovery found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recovery {
    /// Attempts whose process died, now recorded as abandoned; their tasks are pending again.
    pub abandoned: Vec<(TaskId, u32)>,
}

fn snapshot(conn: &Connection) -> Result<Vec<SnapshotEntry>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, status, landed_sha FROM tasks ORDER BY rowid")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(SnapshotEntry {
            id: TaskId::new(row.get::<_, String>(0)?)?,
            status: row.get::<_, String>(1)?.parse()?,
            landed_sha: row.get(2)?,
        });
    }
    Ok(out)
}

fn insert_checkpoint(
    conn: &Connection,
    kind: CheckpointKind,
    task: Option<&TaskId>,
    sha: &str,
    batch: &str,
    notes: Option<&str>,
) -> Result<Checkpoint> {
    let entries = snapshot(conn)?;
    let text = serde_json::to_string(&entries)
        .map_err(|e| StoreError::Corrupt(format!("snapshot: {e}")))?;
    let now = now_millis();
    conn.prepare_cached(
        "INSERT INTO checkpoints (timestamp, session_id, kind, task_id, git_sha, ref_name, state_snapshot, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7)",
    )?
    .execute(params![now, batch, kind.as_str(), task.map(TaskId::as_str), sha, text, notes])?;
    let id = conn.last_insert_rowid();
    let refname = checkpoint_ref(id);
    conn.execute(
        "UPDATE checkpoints SET ref_name = ?2 WHERE id = ?1",
        params![id, refname],
    )?;
    append(
        conn,
        &NewEvent {
            kind: "checkpoint_recorded",
            task,
            actor: WORK_LOOP,
            correlation: Some(batch),
            data: json!({ "checkpoint": id, "kind": kind, "sha": sha }),
        },
    )?;
    Ok(Checkpoint {
        id,
        at: now,
        batch: batch.to_string(),
        kind,
        task: task.cloned(),
        sha: CommitId::new(sha),
        refname,
        notes: notes.map(str::to_string),
        snapshot: entries,
    })
}

/// The ref that keeps a checkpoint's commit alive.
pub fn checkpoint_ref(id: i64) -> String {
    format!("refs/vane/checkpoints/{id}")
}

impl Store {
    /// Records the start of a batch, with its budget in USD if it has one.
    pub fn start_batch(&mut self, base_branch: &str, budget_usd: Option<f64>) -> Result<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO batches (started_at, pid, base_branch, budget_usd)
                 VALUES (?1, ?2, ?3, ?4)",
                params![now_millis(), std::process::id(), base_branch, budget_usd],
            )?;
            let id = tx.last_insert_rowid();
            append(
                tx,
                &NewEvent {
                    kind: "batch_started",
                    task: None,
                    actor: WORK_LOOP,
                    correlation: Some(&batch_correlation(id)),
                    data: json!({
                        "batch": id,
                        "base_branch": base_branch,
                        "pid": std::process::id(),
                        "budget_usd": budget_usd,
                    }),
                },
            )?;
            Ok(id)
        })
    }

    pub fn finish_batch(
        &mut self,
        id: i64,
        outcome: &str,
        summary: serde_json::Value,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE batches SET finished_at = ?2, outcome = ?3 WHERE id = ?1",
                params![id, now_millis(), outcome],
            )?;
            append(
                tx,
                &NewEvent {
                    kind: "batch_finished",
                    task: None,
                    actor: WORK_LOOP,
                    correlation: Some(&batch_correlation(id)),
                    data: json!({ "batch": id, "outcome": outcome, "summary": summary }),
                },
            )?;
            Ok(())
        })
    }

    /// Claims a task for a worker: pending or needs_improvement becomes in_progress and a new attempt
    /// row is opened, in one transaction, so that a task is never claimed twice.
    pub fn claim(&mut self, id: &TaskId, claim: &Claim<'_>) -> Result<Attempt> {
        let Claim {
            batch,
            worker,
            profile,
            base_sha,
            note,
            agent_reason,
            remote,
        } = *claim;
        self.write(|tx| {
            let number: u32 = tx.query_row(
                "SELECT coalesce(max(number), 0) + 1 FROM attempts WHERE task_id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )?;
            let correlation = format!("{}/{}#{number}", batch_correlation(batch), id);
            transition(
                tx,
                id,
                TaskStatus::InProgress,
                Mover::WorkLoop,
                note,
                worker,
                Some(&correlation),
            )?;
            // A fresh start asked for (`vane task retry --fresh`) is this attempt's: cleared.
            tx.execute(
                "UPDATE tasks SET branch = ?2, base_sha = ?3, assigned_to = ?4, fresh_start = 0
                 WHERE id = ?1",
                params![id.as_str(), id.branch(), base_sha, worker],
            )?;
            tx.execute(
                "INSERT INTO attempts (task_id, number, batch_id, worker, profile, started_at, base_sha, correlation_id, agent_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![id.as_str(), number, batch, worker, profile, now_millis(), base_sha, correlation, agent_reason],
            )?;
            let attempt_id = tx.last_insert_rowid();
            let attempt = read_attempts_in(
                tx,
                &format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE id = ?1"),
                [attempt_id],
            )?
            .remove(0);
            if let Some(remote) = &remote {
                super::remote::insert_remote_job(tx, &attempt, remote)?;
            }
            Ok(attempt)
        })
    }

    /// Records how an attempt's agent ended and moves the task to `to` (needs_review when it left a
    /// change, needs_improvement otherwise), in one transaction.
    pub fn finish_attempt(
        &mut self,
        attempt: &Attempt,
        result: &AttemptResult,
        to: TaskStatus,
        reason: Option<&str>,
    ) -> Result<Task> {
        self.write(|tx| {
            record_result_and_head(tx, attempt, result)?;
            let worker = attempt.worker.as_deref().unwrap_or(WORK_LOOP);
            transition(
                tx,
                &attempt.task,
                to,
                Mover::WorkLoop,
                reason,
                worker,
                attempt.correlation.as_deref(),
            )
        })
    }

    /// A branch that fell short at the merge queue (a conflict, a failed gate): the task goes to
    /// needs_improvement with the feedback on its attempt.
    pub fn reject(
        &mut self,
        attempt: &Attempt,
        outcome: AttemptOutcome,
        feedback: &str,
    ) -> Result<Task> {
        self.write(|tx| {
            tx.execute(
                "UPDATE attempts SET outcome = ?2, feedback = ?3 WHERE id = ?1",
                params![attempt.id, outcome.as_str(), feedback],
            )?;
            let current = get_task(tx, &attempt.task)?;
            if current.status != TaskStatus::NeedsReview {
                // A person moved it while it was gated (`vane task block`): their move stands.
                return Ok(current);
            }
            transition(
                tx,
                &attempt.task,
                TaskStatus::NeedsImprovement,
                Mover::WorkLoop,
                Some(feedback),
                WORK_LOOP,
                attempt.correlation.as_deref(),
            )
        })
    }

    /// `vane reject`: a person sends a reviewed candidate back, the reason as its feedback.
    pub fn reject_by_person(
        &mut self,
        attempt: &Attempt,
        feedback: &str,
        by: &str,
    ) -> Result<Task> {
        self.write(|tx| {
            tx.execute(
                "UPDATE attempts SET outcome = ?2, feedback = ?3 WHERE id = ?1",
                params![attempt.id, AttemptOutcome::Rejected.as_str(), feedback],
            )?;
            transition(
                tx,
                &attempt.task,
                TaskStatus::NeedsImprovement,
                Mover::Person,
                Some(feedback),
                by,
                attempt.correlation.as_deref(),
            )
        })
    }

    /// Moves a task the work loop gives up on (attempts used up, no agent) to blocked.
    pub fn give_up(&mut self, id: &TaskId, reason: &str) -> Result<Task> {
        self.write(|tx| {
            transition(
                tx,
                id,
                TaskStatus::Blocked,
                Mover::WorkLoop,
                Some(reason),
                WORK_LOOP,
                None,
            )
        })
    }

    pub fn attempts(&self, task: &TaskId) -> Result<Vec<Attempt>> {
        read_attempts_in(
            &self.conn,
            &format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE task_id = ?1 ORDER BY number"),
            [task.as_str()],
        )
    }

    /// Whether the task's next attempt starts from the base branch even after a conflict, instead
    /// of from the merge of its branch with base (`vane task retry --fresh`); cleared by the claim
    /// of that attempt.
    pub fn fresh_start(&self, task: &TaskId) -> Result<bool> {
        super::tasks::fresh_start(&self.conn, task)
    }

    /// Asks for the task's next attempt to start from the base branch (see `fresh_start`), with
    /// its event, in one transaction.
    pub fn request_fresh_start(&mut self, task: &TaskId, actor: &str) -> Result<()> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tasks SET fresh_start = 1 WHERE id = ?1",
                [task.as_str()],
            )?;
            if changed == 0 {
                return Err(StoreError::TaskNotFound(task.clone()));
            }
            append(
                tx,
                &NewEvent {
                    kind: "fresh_start_requested",
                    task: Some(task),
                    actor,
                    correlation: None,
                    data: json!({}),
                },
            )?;
            Ok(())
        })
    }

    /// Writes down a ref move before git makes it; with `attempt`, the move lands its task.
    pub fn record_ref_intent(
        &mut self,
        refname: &str,
        old: &str,
        new: &str,
        purpose: RefMovePurpose,
        attempt: Option<&Attempt>,
        checkpoint: Option<i64>,
    ) -> Result<RefMove> {
        let members: Vec<LandedMember> = attempt
            .map(|a| LandedMember {
                task: a.task.clone(),
                attempt: Some(a.id),
                sha: CommitId::new(new),
            })
            .into_iter()
            .collect();
        self.record_move_intent(refname, old, new, purpose, &members, checkpoint)
    }

    /// Writes down a move of `refname` from `old` to `new` before it is made, landing `members` in
    /// order (the last one's commit is `new`), so that recovery can finish or void it.
    pub fn record_move_intent(
        &mut self,
        refname: &str,
        old: &str,
        new: &str,
        purpose: RefMovePurpose,
        members: &[LandedMember],
        checkpoint: Option<i64>,
    ) -> Result<RefMove> {
        let last = members.last();
        let task = last.map(|m| &m.task);
        let attempt_id = last.and_then(|m| m.attempt);
        let recorded = if members.len() > 1 {
            Some(serde_json::to_string(members).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        } else {
            None
        };
        self.write(|tx| {
            tx.execute(
                "INSERT INTO ref_moves (created_at, refname, old_sha, new_sha, purpose, task_id, attempt_id, checkpoint_id, members)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    now_millis(),
                    refname,
                    old,
                    new,
                    purpose.as_str(),
                    task.map(TaskId::as_str),
                    attempt_id,
                    checkpoint,
                    recorded
                ],
            )?;
            Ok(RefMove {
                id: tx.last_insert_rowid(),
                refname: refname.to_string(),
                old_sha: old.to_string(),
                new_sha: new.to_string(),
                purpose,
                task: task.cloned(),
                attempt: attempt_id,
                checkpoint,
                members: members.to_vec(),
            })
        })
    }

    /// Ref moves written down but not yet marked done or abandoned.
    pub fn open_ref_moves(&self) -> Result<Vec<RefMove>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, refname, old_sha, new_sha, purpose, task_id, attempt_id, checkpoint_id, members
             FROM ref_moves WHERE state = 'intent' ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let task = row
                .get::<_, Option<String>>(5)?
                .map(TaskId::new)
                .transpose()?;
            let id: i64 = row.get(0)?;
            let attempt: Option<i64> = row.get(6)?;
            let new_sha: String = row.get(3)?;
            let purpose = row
                .get::<_, String>(4)?
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("the purpose of ref move {id}: {e}")))?;
            let members = match row.get::<_, Option<String>>(8)? {
                Some(json) => serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("ref move members: {e}")))?,
                None => task
                    .iter()
                    .map(|task| LandedMember {
                        task: task.clone(),
                        attempt,
                        sha: CommitId::new(new_sha.clone()),
                    })
                    .collect(),
            };
            out.push(RefMove {
                id,
                refname: row.get(1)?,
                old_sha: row.get(2)?,
                new_sha,
                purpose,
                task,
                attempt,
                checkpoint: row.get(7)?,
                members,
            });
        }
        Ok(out)
    }

    pub fn abandon_ref_move(&mut self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE ref_moves SET state = 'abandoned', finished_at = ?2 WHERE id = ?1",
                params![id, now_millis()],
            )?;
            Ok(())
        })
    }

    /// Completes a landing whose base ref has moved: the ref move is done, the task is done with its
    /// landing commit, and a merge checkpoint is recorded, in one transaction.
    pub fn record_landing(&mut self, ref_move: &RefMove, batch: &str) -> Result<Checkpoint> {
        self.write(|tx| {
            let last = ref_move
                .members
                .last()
                .ok_or_else(|| StoreError::Corrupt(format!("ref move {} has no task", ref_move.id)))?;
            for member in &ref_move.members {
                let task = &member.task;
                if let Some(attempt) = member.attempt {
                    tx.execute(
                        "UPDATE attempts SET outcome = ?2 WHERE id = ?1",
                        params![attempt, AttemptOutcome::Landed.as_str()],
                    )?;
                }
                tx.execute(
                    "UPDATE tasks SET landed_sha = ?2, assigned_to = NULL WHERE id = ?1",
                    params![task.as_str(), member.sha.as_str()],
                )?;
                let current = get_task(tx, task)?;
                if current.status != TaskStatus::Done {
                    // The merge queue lands what it gated (needs_review); any other task landing
                    // here was landed by a person with `vane land`, after its gates passed.
                    let mover = if current.status == TaskStatus::NeedsReview {
                        Mover::WorkLoop
                    } else {
                        Mover::Landing
                    };
                    transition(
                        tx,
                        task,
                        TaskStatus::Done,
                        mover,
                        Some(&format!("landed as {}", member.sha)),
                        WORK_LOOP,
                        Some(batch),
                    )?;
                }
            }
            let checkpoint = insert_checkpoint(
                tx,
                CheckpointKind::Merge,
                Some(&last.task),
                &ref_move.new_sha,
                batch,
                None,
            )?;
            tx.execute(
                "UPDATE ref_moves SET state = 'done', finished_at = ?2, checkpoint_id = ?3 WHERE id = ?1",
                params![ref_move.id, now_millis(), checkpoint.id],
            )?;
            Ok(checkpoint)
        })
    }

    /// Records a checkpoint of the current states at `sha`.
    pub fn add_checkpoint(
        &mut self,
        kind: CheckpointKind,
        task: Option<&TaskId>,
        sha: &str,
        batch: &str,
        notes: Option<&str>,
    ) -> Result<Checkpoint> {
        self.write(|tx| insert_checkpoint(tx, kind, task, sha, batch, notes))
    }

    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.read_checkpoints("SELECT id, timestamp, session_id, kind, task_id, git_sha, ref_name, notes, '[]' FROM checkpoints ORDER BY id", [])
    }

    pub fn checkpoint(&self, id: i64) -> Result<Option<Checkpoint>> {
        Ok(self
            .read_checkpoints(
                "SELECT id, timestamp, session_id, kind, task_id, git_sha, ref_name, notes, state_snapshot
                 FROM checkpoints WHERE id = ?1",
                [id],
            )?
            .pop())
    }

    fn read_checkpoints(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Checkpoint>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(args)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let snapshot: String = row.get(8)?;
            let kind = row
                .get::<_, String>(3)?
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("the kind of checkpoint {id}: {e}")))?;
            out.push(Checkpoint {
                id,
                at: row.get(1)?,
                batch: row.get(2)?,
                kind,
                task: row
                    .get::<_, Option<String>>(4)?
                    .map(TaskId::new)
                    .transpose()?,
                sha: CommitId::new(row.get::<_, String>(5)?),
                refname: row.get(6)?,
                notes: row.get(7)?,
                snapshot: serde_json::from_str(&snapshot)
                    .map_err(|e| StoreError::Corrupt(format!("checkpoint snapshot: {e}")))?,
            });
        }
        Ok(out)
    }

    /// Restores the task states of a checkpoint's snapshot (a rollback). Tasks made after the
    /// checkpoint keep their state, except that one which had landed is pending again, since its
    /// work is no longer on base. Returns the tasks whose state changed.
    pub fn restore_snapshot(
        &mut self,
        checkpoint: &Checkpoint,
        correlation: &str,
    ) -> Result<Vec<TaskId>> {
        self.write(|tx| {
            let wanted: std::collections::HashMap<&TaskId, &SnapshotEntry> =
                checkpoint.snapshot.iter().map(|e| (&e.id, e)).collect();
            let now = snapshot(tx)?;
            let mut changed = Vec::new();
            for current in &now {
                let (status, landed) = match wanted.get(&current.id) {
                    Some(entry) => (entry.status, entry.landed_sha.clone()),
                    None if current.status == TaskStatus::Done => (TaskStatus::Pending, None),
                    None => continue,
                };
                if status == current.status && landed == current.landed_sha {
                    continue;
                }
                if status != current.status {
                    transition(
                        tx,
                        &current.id,
                        status,
                        Mover::Rollback,
                        Some(&format!("rollback to checkpoint {}", checkpoint.id)),
                        WORK_LOOP,
                        Some(correlation),
                    )?;
                }
                tx.execute(
                    "UPDATE tasks SET landed_sha = ?2, assigned_to = NULL WHERE id = ?1",
                    params![current.id.as_str(), landed],
                )?;
                changed.push(current.id.clone());
            }
            Ok(changed)
        })
    }

    /// Completes a rollback's ref move and logs it.
    pub fn finish_rollback(
        &mut self,
        ref_move: &RefMove,
        checkpoint: i64,
        correlation: &str,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE ref_moves SET state = 'done', finished_at = ?2, checkpoint_id = ?3 WHERE id = ?1",
                params![ref_move.id, now_millis(), checkpoint],
            )?;
            append(
                tx,
                &NewEvent {
                    kind: "rolled_back",
                    task: None,
                    actor: WORK_LOOP,
                    correlation: Some(correlation),
                    data: json!({
                        "checkpoint": checkpoint,
                        "ref": ref_move.refname,
                        "from": ref_move.old_sha,
                        "to": ref_move.new_sha,
                    }),
                },
            )?;
            Ok(())
        })
    }

    /// How many of the task's attempts count toward `max_attempts`: finished, charged, and after
    /// the last `vane task retry`.
    pub fn charged_attempts(&self, task: &TaskId) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM attempts a JOIN tasks t ON t.id = a.task_id
             WHERE a.task_id = ?1 AND a.charged = 1 AND a.outcome IS NOT NULL
               AND a.number > t.budget_from",
            [task.as_str()],
            |r| r.get(0),
        )?)
    }

    /// Attempts whose agent has not finished (or whose run died before recording it).
    pub fn open_attempts(&self) -> Result<Vec<Attempt>> {
        read_attempts_in(
            &self.conn,
            &format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE outcome IS NULL ORDER BY id"),
            [],
        )
    }

    /// Ends an attempt that vane, not its agent, cut short (vane's own error, a broken environment):
    /// recorded with its outcome and feedback, not charged, and the task back to pending, unless a
    /// person blocked it meanwhile.
    pub fn release_attempt(
        &mut self,
        attempt: &Attempt,
        result: &AttemptResult,
        reason: &str,
    ) -> Result<Task> {
        self.write(|tx| {
            let uncharged = AttemptResult {
                charged: false,
                ..result.clone()
            };
            record_result(tx, attempt.id, &uncharged)?;
            let task = get_task(tx, &attempt.task)?;
            if matches!(
                task.status,
                TaskStatus::InProgress | TaskStatus::NeedsReview
            ) {
                return transition(
                    tx,
                    &attempt.task,
                    TaskStatus::Pending,
                    Mover::WorkLoop,
                    Some(reason),
                    attempt.worker.as_deref().unwrap_or(WORK_LOOP),
                    attempt.correlation.as_deref(),
                );
            }
            Ok(task)
        })
    }

    /// Records an attempt's result without moving its task: a person moved it meanwhile (blocked it
    /// while its agent ran), and their move stands.
    pub fn record_attempt_only(&mut self, attempt: &Attempt, result: &AttemptResult) -> Result<()> {
        self.write(|tx| record_result_and_head(tx, attempt, result))
    }

    /// Whether `task`'s candidate waits for a person because it changes a protected path
    /// (`Some("waiting")`), or a person approved it (`Some("approved")`).
    pub fn approval(&self, task: &TaskId) -> Result<Option<String>> {
        Ok(self.conn.query_row(
            "SELECT approval FROM tasks WHERE id = ?1",
            [task.as_str()],
            |r| r.get(0),
        )?)
    }

    /// Sets the approval state of `task`, with an event saying why (the protected paths, or who
    /// approved), in one transaction.
    pub fn set_approval(
        &mut self,
        task: &TaskId,
        approval: Option<&str>,
        actor: &str,
        data: serde_json::Value,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE tasks SET approval = ?2 WHERE id = ?1",
                params![task.as_str(), approval],
            )?;
            append(
                tx,
                &NewEvent {
                    kind: "approval",
                    task: Some(task),
                    actor,
                    correlation: None,
                    data,
                },
            )?;
            Ok(())
        })
    }

    /// Writes down that a person's checkout is about to be brought from `old` to `new`.
    pub fn record_checkout_move(
        &mut self,
        workdir: &std::path::Path,
        old: &str,
        new: &str,
    ) -> Result<CheckoutMove> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO checkout_moves (created_at, workdir, old_sha, new_sha) VALUES (?1, ?2, ?3, ?4)",
                params![now_millis(), workdir.to_string_lossy(), old, new],
            )?;
            Ok(CheckoutMove {
                id: tx.last_insert_rowid(),
                workdir: workdir.to_path_buf(),
                old_sha: old.to_string(),
                new_sha: new.to_string(),
            })
        })
    }

    /// Moves the target of an open checkout move: base is about to move further before the
    /// checkout is brought along (the merge queue brings it along once per drained queue).
    pub fn retarget_checkout_move(&mut self, id: i64, new: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE checkout_moves SET new_sha = ?2 WHERE id = ?1 AND state = 'intent'",
                params![id, new],
            )?;
            Ok(())
        })
    }

    /// Marks a checkout move done (`true`) or given up (`false`: the checkout changed under it).
    pub fn finish_checkout_move(&mut self, id: i64, done: bool) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE checkout_moves SET state = ?2, finished_at = ?3 WHERE id = ?1",
                params![id, if done { "done" } else { "abandoned" }, now_millis()],
            )?;
            Ok(())
        })
    }

    /// Checkout moves written down but never finished, oldest first.
    pub fn open_checkout_moves(&self) -> Result<Vec<CheckoutMove>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, workdir, old_sha, new_sha FROM checkout_moves WHERE state = 'intent' ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CheckoutMove {
                id: r.get(0)?,
                workdir: std::path::PathBuf::from(r.get::<_, String>(1)?),
                old_sha: r.get(2)?,
                new_sha: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Recovery of a run that died: every attempt whose agent had not finished is recorded as
    /// abandoned and its task goes back to pending, in one transaction. (A task in needs_review has a
    /// finished, committed attempt: the work loop queues it for merging again instead.)
    pub fn abandon_open_attempts(&mut self) -> Result<Recovery> {
        self.write(|tx| {
            let open = read_attempts_in(
                tx,
                // A remote worker's attempt outlives the run: its result is collected by the next.
                &format!(
                    "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE outcome IS NULL \
                     AND id NOT IN (SELECT attempt_id FROM remote_jobs)"
                ),
                [],
            )?;
            let mut recovery = Recovery::default();
            for attempt in open {
                tx.execute(
                    "UPDATE attempts SET outcome = ?3, charged = 0, finished_at = coalesce(finished_at, ?2),
                        feedback = coalesce(feedback, 'the run working on it stopped before it finished')
                     WHERE id = ?1",
                    params![attempt.id, now_millis(), AttemptOutcome::Abandoned.as_str()],
                )?;
                let task = get_task(tx, &attempt.task)?;
                if matches!(task.status, TaskStatus::InProgress | TaskStatus::NeedsReview) {
                    transition(
                        tx,
                        &attempt.task,
                        TaskStatus::Pending,
                        Mover::WorkLoop,
                        Some("recovered: the run working on it stopped"),
                        WORK_LOOP,
                        attempt.correlation.as_deref(),
                    )?;
                }
                recovery.abandoned.push((attempt.task, attempt.number));
            }
            // Batches left without an outcome ended with their process.
            tx.execute(
                "UPDATE batches SET outcome = 'interrupted', finished_at = ?1 WHERE outcome IS NULL",
                [now_millis()],
            )?;
            Ok(recovery)
        })
    }
}

/// `record_result`, and the task's branch head when the attempt left one.
fn record_result_and_head(conn: &Connection, attempt: &Attempt, r: &AttemptResult) -> Result<()> {
    record_result(conn, attempt.id, r)?;
    if let Some(head) = &r.head_sha {
        conn.execute(
            "UPDATE tasks SET head_sha = ?2 WHERE id = ?1",
            params![attempt.task.as_str(), head],
        )?;
    }
    Ok(())
}

fn record_result(conn: &Connection, attempt: i64, r: &AttemptResult) -> Result<()> {
    conn.execute(
        "UPDATE attempts SET finished_at = ?2, exit_code = ?3, outcome = ?4, head_sha = ?5,
            session_id = ?6, cost_usd = ?7, input_tokens = ?8, output_tokens = ?9, message = ?10,
            feedback = ?11, charged = ?12, touched = coalesce(?13, touched), cost_source = ?14,
            cached_input_tokens = ?15, model = ?16
         WHERE id = ?1",
        params![
            attempt,
            now_millis(),
            r.exit_code,
            r.outcome.as_str(),
            r.head_sha,
            r.session_id,
            r.cost_usd,
            r.input_tokens,
            r.output_tokens,
            r.message,
            r.feedback,
            r.charged,
            r.touched.as_deref().map(touched_text),
            r.cost_source.map(CostSource::as_str),
            r.cached_input_tokens,
            r.model,
        ],
    )?;
    Ok(())
}

/// `attempts.touched` as stored: a JSON array, `[]` for an attempt known to have touched nothing.
fn touched_text(paths: &[String]) -> String {
    serde_json::Value::from(paths).to_string()
}

/// The correlation id of a batch's events.
pub fn batch_correlation(batch: i64) -> String {
    format!("batch-{batch}")
}
