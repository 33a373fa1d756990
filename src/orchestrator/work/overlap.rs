//! Conflict-aware scheduling: which ready tasks to start now and which to hold back because they
//! would touch what a running task touches.
//!
//! Two branches that change the same file conflict at the merge queue, and the conflict costs a
//! second run of the agent to resolve it. Waiting for the first to land costs less, so a task whose
//! footprint (the paths it declared, and the ones its earlier attempts touched) overlaps that of a
//! task running or waiting to land is not started until that one is out of the way.
//!
//! Patterns are paths from the repository's root, compared by `paths::overlaps`. Everything here is
//! pure.

use serde::Serialize;

use crate::model::TaskId;
use crate::paths::overlaps;

/// What a task is expected to touch: its declared paths and the ones its earlier attempts touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    pub task: TaskId,
    pub paths: Vec<String>,
}

/// A ready task not started because its footprint overlaps that of `behind`, a task running,
/// waiting to land, or started before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    pub task: TaskId,
    pub behind: TaskId,
    /// The overlapping patterns: the held task's first, then those of `behind`.
    pub paths: Vec<String>,
}

/// What `plan_starts` decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Starts {
    /// The tasks to start, in the order given.
    pub start: Vec<TaskId>,
    /// Every ready task not started because of an overlap, in the order given.
    pub held: Vec<Held>,
}

/// Of `ready` (highest priority first), the tasks to start in `slots` free workers, given `busy`
/// (tasks running or waiting to land): a task whose footprint overlaps a busy task's, or that of a
/// task started earlier in this call, is held back (it would conflict; waiting for the earlier one
/// to land costs less than a conflicting run and the run that resolves it). An empty footprint
/// overlaps nothing.
///
/// Once the slots are used up no more tasks start, but the rest are still checked: one that
/// overlaps is listed as held, since it would wait even with a free worker; one that does not is
/// simply not started, and not listed. A task is held behind the first footprint it overlaps, busy
/// ones before those started here.
pub fn plan_starts(ready: &[Footprint], busy: &[Footprint], slots: usize) -> Starts {
    let mut starts = Starts::default();
    // Busy footprints, then those of the tasks started here, in that order.
    let mut taken: Vec<&Footprint> = busy.iter().collect();
    for candidate in ready {
        let blocker = taken.iter().find_map(|other| {
            if other.task == candidate.task {
                return None;
            }
            let paths = overlapping(&candidate.paths, &other.paths);
            (!paths.is_empty()).then(|| (other.task.clone(), paths))
        });
        match blocker {
            Some((behind, paths)) => starts.held.push(Held {
                task: candidate.task.clone(),
                behind,
                paths,
            }),
            None if starts.start.len() < slots => {
                starts.start.push(candidate.task.clone());
                taken.push(candidate);
            }
            None => {}
        }
    }
    starts
}

/// The patterns of `ours` that overlap one of `theirs`, then those of `theirs` that overlap one of
/// `ours`, each once; empty when the two footprints are disjoint.
fn overlapping(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut note = |pattern: &String| {
        if !found.contains(pattern) {
            found.push(pattern.clone());
        }
    };
    for a in ours {
        if theirs.iter().any(|b| overlaps(a, b)) {
            note(a);
        }
    }
    for b in theirs {
        if ours.iter().any(|a| overlaps(a, b)) {
            note(b);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> TaskId {
        TaskId::new(text).unwrap()
    }

    fn footprint(task: &str, paths: &[&str]) -> Footprint {
        Footprint {
            task: id(task),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn ids(list: &[&str]) -> Vec<TaskId> {
        list.iter().map(|t| id(t)).collect()
    }

    fn held(task: &str, behind: &str, paths: &[&str]) -> Held {
        Held {
            task: id(task),
            behind: id(behind),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn a_task_overlapping_a_busy_one_is_held_behind_it() {
        let ready = [
            footprint("login", &["src/auth/login.rs"]),
            footprint("billing", &["src/billing/**"]),
        ];
        let busy = [footprint("auth", &["src/auth/**", "docs/auth.md"])];
        assert_eq!(
            plan_starts(&ready, &busy, 4),
            Starts {
                start: ids(&["billing"]),
                held: vec![held("login", "auth", &["src/auth/login.rs", "src/auth/**"])],
            }
        );
    }

    #[test]
    fn a_task_overlapping_one_started_before_it_is_held_behind_that_one() {
        let ready = [
            footprint("a", &["src/auth/**"]),
            footprint("b", &["docs/"]),
            footprint("c", &["src/auth/form.rs", "docs/auth.md"]),
        ];
        assert_eq!(
            plan_starts(&ready, &[], 4),
            Starts {
                start: ids(&["a", "b"]),
                held: vec![held("c", "a", &["src/auth/form.rs", "src/auth/**"])],
            }
        );
    }

    #[test]
    fn busy_tasks_come_before_those_started_in_the_same_call() {
        let ready = [footprint("a", &["x/1"]), footprint("b", &["x/**"])];
        let busy = [footprint("running", &["x"])];
        let starts = plan_starts(&ready, &busy, 4);
        assert!(starts.start.is_empty());
        assert_eq!(
            starts.held,
            vec![
                held("a", "running", &["x/1", "x"]),
                held("b", "running", &["x/**", "x"]),
            ]
        );
    }

    #[test]
    fn an_empty_footprint_overlaps_nothing() {
        let ready = [
            footprint("a", &[]),
            footprint("b", &[]),
            footprint("c", &["src/**"]),
        ];
        let busy = [footprint("d", &[]), footprint("e", &["**"])];
        let starts = plan_starts(&ready, &busy, 4);
        assert_eq!(starts.start, ids(&["a", "b"]));
        assert_eq!(starts.held, vec![held("c", "e", &["src/**", "**"])]);
    }

    #[test]
    fn tasks_past_the_free_slots_are_not_held_unless_they_overlap() {
        let ready = [
            footprint("a", &["a/"]),
            footprint("b", &["b/"]),
            footprint("c", &["c/"]),
            footprint("d", &["a/x.rs"]),
        ];
        let starts = plan_starts(&ready, &[], 1);
        assert_eq!(starts.start, ids(&["a"]));
        assert_eq!(starts.held, vec![held("d", "a", &["a/x.rs", "a/"])]);
        // Not started for want of a worker, `b` holds nothing back.
        let ready = [footprint("b", &["b/"]), footprint("b2", &["b/"])];
        assert_eq!(plan_starts(&ready, &[], 0), Starts::default());
    }

    #[test]
    fn a_task_is_not_held_behind_itself() {
        let ready = [footprint("a", &["src/"])];
        let busy = [footprint("a", &["src/"])];
        assert_eq!(plan_starts(&ready, &busy, 1).start, ids(&["a"]));
    }
}
