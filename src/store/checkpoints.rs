//! Forgetting checkpoints: `vane gc --keep-checkpoints` deletes the refs of old checkpoints nobody
//! needs, and their rows go here, so that neither `vane doctor` nor `vane work` (which re-creates a
//! missing checkpoint ref) finds a checkpoint without its ref. The event log keeps what they were.

use rusqlite::params;
use serde_json::json;

use super::events::{append, NewEvent};
use super::work::Checkpoint;
use super::{Result, Store};

impl Store {
    /// Forgets `checkpoints`, whose refs are gone: their rows go, the finished ref moves that named
    /// them keep the move without its checkpoint, and one `checkpoints_pruned` event lists each
    /// (id, kind, task, commit, ref), all in one transaction. A checkpoint that an unfinished ref
    /// move names (recovery needs it) is refused by the database, and nothing changes.
    pub fn forget_checkpoints(&mut self, checkpoints: &[Checkpoint], actor: &str) -> Result<()> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for checkpoint in checkpoints {
                tx.execute(
                    "UPDATE ref_moves SET checkpoint_id = NULL
                     WHERE checkpoint_id = ?1 AND state != 'intent'",
                    params![checkpoint.id],
                )?;
                tx.execute(
                    "DELETE FROM checkpoints WHERE id = ?1",
                    params![checkpoint.id],
                )?;
            }
            let pruned: Vec<serde_json::Value> = checkpoints
                .iter()
                .map(|c| {
                    json!({
                        "checkpoint": c.id,
                        "kind": c.kind,
                        "task": c.task,
                        "sha": c.sha,
                        "ref": c.refname,
                    })
                })
                .collect();
            append(
                tx,
                &NewEvent {
                    kind: "checkpoints_pruned",
                    task: None,
                    actor,
                    correlation: None,
                    data: json!({ "checkpoints": pruned }),
                },
            )?;
            Ok(())
        })
    }
}
