//! The task state machine: which status may follow which, and who may make the move.
//!
//! This is the one table of DESIGN.md's state machine. The store's `transition` function consults it
//! before it writes a status, and nothing else writes one, so an illegal move cannot reach the database.

use crate::model::TaskStatus::{self, *};

/// Who asks for a move. The same pair of statuses can be legal for one and not for another: only a
/// rollback may take a task out of `done`, only a person may unblock a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mover {
    /// The work loop: claiming, finishing, gating, landing, retrying, recovering.
    WorkLoop,
    /// A person at the command line (`vane task block`, `vane task retry`).
    Person,
    /// A rollback restoring a checkpoint's snapshot.
    Rollback,
    /// A person landing a task's branch with `vane land`, after its gates passed on the merge.
    Landing,
}

impl Mover {
    pub fn as_str(self) -> &'static str {
        match self {
            Mover::WorkLoop => "work loop",
            Mover::Person => "person",
            Mover::Rollback => "rollback",
            Mover::Landing => "landing by hand",
        }
    }
}

/// A move the table refuses, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move a task from {from} to {to}: {why}")]
pub struct IllegalTransition {
    pub from: TaskStatus,
    pub to: TaskStatus,
    pub why: &'static str,
}

/// Checks one move against the state machine.
pub fn check(from: TaskStatus, to: TaskStatus, mover: Mover) -> Result<(), IllegalTransition> {
    let refuse = |why| Err(IllegalTransition { from, to, why });
    if from == to {
        return refuse("the task is already there");
    }
    match mover {
        // A checkpoint's snapshot may hold any status; restoring it is the one way out of `done`.
        Mover::Rollback => Ok(()),
        Mover::Person => match (from, to) {
            (Done, _) => refuse("a landed task leaves `done` only by rollback"),
            (_, Blocked) => Ok(()),
            (Blocked, Pending) => Ok(()),
            // `vane reject`: a candidate waiting for a person's review is sent back.
            (NeedsReview, NeedsImprovement) => Ok(()),
            _ => refuse(
                "by hand a task can only be blocked, a blocked task retried, or a reviewed one rejected",
            ),
        },
        Mover::Landing => match (from, to) {
            (Pending | NeedsReview | NeedsImprovement | Blocked, Done) => Ok(()),
            (Done, _) => refuse("a landed task leaves `done` only by rollback"),
            _ => refuse("landing by hand only makes a task done"),
        },
        Mover::WorkLoop => match (from, to) {
            (Pending, InProgress)
            | (InProgress, NeedsReview)
            | (InProgress, NeedsImprovement)
            | (NeedsReview, Done)
            | (NeedsReview, NeedsImprovement)
            | (NeedsImprovement, InProgress)
            | (NeedsImprovement, Blocked)
            // A task whose `blocks` dependency is blocked cannot proceed either.
            | (Pending | InProgress | NeedsReview, Blocked)
            // Recovery of an attempt whose process died.
            | (InProgress | NeedsReview, Pending) => Ok(()),
            (Done, _) => refuse("a landed task leaves `done` only by rollback"),
            (Blocked, _) => refuse("a blocked task is released by hand (`vane task retry`)"),
            (_, Done) => refuse("only a task whose gates passed (needs_review) can land"),
            _ => refuse("the work loop has no such step"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table, written out independently of `check`: every (from, to, mover) that is allowed.
    const ALLOWED: &[(TaskStatus, TaskStatus, Mover)] = &[
        (Pending, InProgress, Mover::WorkLoop),
        (InProgress, NeedsReview, Mover::WorkLoop),
        (InProgress, NeedsImprovement, Mover::WorkLoop),
        (NeedsReview, Done, Mover::WorkLoop),
        (NeedsReview, NeedsImprovement, Mover::WorkLoop),
        (NeedsImprovement, InProgress, Mover::WorkLoop),
        (NeedsImprovement, Blocked, Mover::WorkLoop),
        (Pending, Blocked, Mover::WorkLoop),
        (InProgress, Blocked, Mover::WorkLoop),
        (NeedsReview, Blocked, Mover::WorkLoop),
        (InProgress, Pending, Mover::WorkLoop),
        (NeedsReview, Pending, Mover::WorkLoop),
        (Pending, Blocked, Mover::Person),
        (InProgress, Blocked, Mover::Person),
        (NeedsReview, Blocked, Mover::Person),
        (NeedsImprovement, Blocked, Mover::Person),
        (Blocked, Pending, Mover::Person),
        (NeedsReview, NeedsImprovement, Mover::Person),
        (Pending, Done, Mover::Landing),
        (NeedsReview, Done, Mover::Landing),
        (NeedsImprovement, Done, Mover::Landing),
        (Blocked, Done, Mover::Landing),
    ];

    #[test]
    fn every_pair_is_allowed_or_refused_as_the_table_says() {
        let mut checked = 0;
        for &from in TaskStatus::ALL {
            for &to in TaskStatus::ALL {
                for mover in [
                    Mover::WorkLoop,
                    Mover::Person,
                    Mover::Rollback,
                    Mover::Landing,
                ] {
                    let expected = if mover == Mover::Rollback {
                        from != to
                    } else {
                        ALLOWED.contains(&(from, to, mover))
                    };
                    let got = check(from, to, mover);
                    assert_eq!(
                        got.is_ok(),
                        expected,
                        "{from} -> {to} by {}: got {got:?}",
                        mover.as_str()
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 6 * 6 * 4);
    }

    #[test]
    fn refusals_say_why() {
        let err = check(Done, Pending, Mover::Person).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move a task from done to pending: a landed task leaves `done` only by rollback"
        );
        let err = check(Blocked, Blocked, Mover::Person).unwrap_err();
        assert_eq!(err.why, "the task is already there");
        let err = check(Pending, Done, Mover::WorkLoop).unwrap_err();
        assert_eq!(
            err.why,
            "only a task whose gates passed (needs_review) can land"
        );
    }
}
