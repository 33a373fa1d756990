//! The merge queue as a state machine, apart from git and the gates: it decides what to gate on
//! what, what lands, and what goes back, and the coordinator carries its decisions out.
//!
//! Candidates (finished task branches) queue in the order they finished. They are gated
//! speculatively, the Zuul way: candidate k is gated on the tree it lands on if those ahead of it
//! land, base ⊕ c1 ⊕ ... ⊕ c(k-1), so that several are gated at once; when they pass they land in
//! order, each by compare-and-swap from exactly the tree the next was gated on. A candidate that
//! fails is set aside, the candidates behind it are rebuilt without it, and once everything ahead
//! of it has landed (so that its verdict was taken on base itself) it goes back with its feedback.
//! How far ahead is gated (the window) grows by one per landing and halves on a failure, within
//! `merge_window`.
//!
//! With `batch = N`, the bors way, up to N queued candidates form a group gated as one tree (the
//! last of their chain of merges) and landed with one compare-and-swap; a group that fails is split
//! in halves, and the halves again, until the culprit stands alone, and the rest land.
//!
//! The queue keeps no state that matters across a crash: every candidate is a task in review, so
//! a new queue of the same candidates on the new base is rebuilt after a restart. What it promises
//! (and `tests` check for any sequence of events): base only ever moves from the tree it is at to
//! a tree gated on exactly that tree; candidates land in the order they queued; no candidate lands
//! twice, and none is lost (each lands, goes back, or is still queued).

use std::collections::VecDeque;

/// A candidate: one attempt's branch; the coordinator's id for it (the attempt's).
pub type CandidateId = i64;

/// A gate job the queue asked for; its results carry it, so that results of a job the queue has
/// since given up on (its base changed) are told apart and ignored.
pub type JobId = u64;

/// What the queue asks the coordinator to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<V> {
    /// Merge the members' heads one after the other onto `onto`, report the chain of merge
    /// commits (`merged`), then gate the last of them and report the verdict (`gated`).
    Gate {
        job: JobId,
        onto: String,
        members: Vec<(CandidateId, String)>,
    },
    /// Move base from `from` to the last of the members' commits by compare-and-swap, landing each
    /// member as its own commit of the chain; then report `landed`, `land_deferred`, or, refused,
    /// `base_moved` with the tip found.
    Land {
        from: String,
        members: Vec<(CandidateId, String)>,
    },
    /// Send the candidate back: its gates failed on `onto`, which is base, or it conflicts with it.
    Reject {
        candidate: CandidateId,
        onto: String,
        why: Rejection<V>,
    },
}

/// Why a candidate goes back.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection<V> {
    /// The gates' report.
    Failed(V),
    /// Merging with base conflicts in these paths.
    Conflict(Vec<String>),
}

/// The merge of a job's members failed at one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The index of the member whose merge conflicted.
    pub member: usize,
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How many groups are gated ahead at most (`merge_window`), at least 1.
    pub window: usize,
    /// How many candidates one group holds at most (`batch`), at least 1.
    pub batch: usize,
}

#[derive(Debug, Clone)]
struct Member {
    id: CandidateId,
    head: String,
}

#[derive(Debug, Clone)]
enum Stage<V> {
    /// Not gated yet (or to be gated again).
    Waiting,
    Merging {
        job: JobId,
        onto: String,
    },
    Gating {
        job: JobId,
        onto: String,
        chain: Vec<String>,
    },
    Passed {
        onto: String,
        chain: Vec<String>,
        /// The landing was asked for and not answered yet.
        landing: bool,
    },
    Failed {
        onto: String,
        report: V,
    },
    Conflicted {
        onto: String,
        conflict: Conflict,
    },
}

impl<V> Stage<V> {
    fn onto(&self) -> Option<&str> {
        match self {
            Stage::Waiting => None,
            Stage::Merging { onto, .. }
            | Stage::Gating { onto, .. }
            | Stage::Passed { onto, .. }
            | Stage::Failed { onto, .. }
            | Stage::Conflicted { onto, .. } => Some(onto),
        }
    }

    /// Whether the group will not land as it is: the groups behind it are built without it.
    fn set_aside(&self) -> bool {
        matches!(self, Stage::Failed { .. } | Stage::Conflicted { .. })
    }

    /// The tree the group lands as, once its merges are done.
    fn tip(&self) -> Option<&str> {
        match self {
            Stage::Gating { chain, .. } | Stage::Passed { chain, .. } => {
                chain.last().map(String::as_str)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Group<V> {
    members: Vec<Member>,
    stage: Stage<V>,
}

impl<V> Group<V> {
    fn waiting(members: Vec<Member>) -> Group<V> {
        Group {
            members,
            stage: Stage::Waiting,
        }
    }
}

/// The queue: base as the queue knows it, and the groups of candidates in order.
#[derive(Debug, Clone)]
pub struct MergeQueue<V> {
    base: String,
    groups: VecDeque<Group<V>>,
    settings: Settings,
    /// How many groups may be gated at once now: grows by one per landing, halves on a failure.
    window: usize,
    next_job: JobId,
}

impl<V: Clone> MergeQueue<V> {
    pub fn new(base: &str, settings: Settings) -> MergeQueue<V> {
        let settings = Settings {
            window: settings.window.max(1),
            batch: settings.batch.max(1),
        };
        MergeQueue {
            base: base.to_string(),
            groups: VecDeque::new(),
            settings,
            window: settings.window,
            next_job: 1,
        }
    }

    /// Base as the queue knows it.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// How many groups may be gated at once now.
    pub fn window(&self) -> usize {
        self.window
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The queued candidates in order.
    pub fn candidates(&self) -> Vec<CandidateId> {
        self.groups
            .iter()
            .flat_map(|g| g.members.iter().map(|m| m.id))
            .collect()
    }

    /// Queues a candidate behind the others: in the last group when it is not gated yet and has
    /// room (batches), else in a group of its own.
    pub fn push(&mut self, id: CandidateId, head: &str) {
        let member = Member {
            id,
            head: head.to_string(),
        };
        if let Some(last) = self.groups.back_mut() {
            if matches!(last.stage, Stage::Waiting) && last.members.len() < self.settings.batch {
                last.members.push(member);
                return;
            }
        }
        self.groups.push_back(Group::waiting(vec![member]));
    }

    /// The merges of a job are done: the chain of merge commits, one per member, or where it
    /// conflicted. False when the queue no longer waits for that job.
    pub fn merged(&mut self, job: JobId, outcome: Result<Vec<String>, Conflict>) -> bool {
        let Some(group) = self
            .groups
            .iter_mut()
            .find(|g| matches!(&g.stage, Stage::Merging { job: j, .. } if *j == job))
        else {
            return false;
        };
        let Stage::Merging { onto, .. } = &group.stage else {
            return false;
        };
        let onto = onto.clone();
        group.stage = match outcome {
            Ok(chain) if chain.len() == group.members.len() => Stage::Gating { job, onto, chain },
            // A chain that does not match the members is no answer: gate the group again.
            Ok(_) => Stage::Waiting,
            Err(conflict) => Stage::Conflicted { onto, conflict },
        };
        true
    }

    /// A job's gates are done: passed, or failed with `report`. False when the queue no longer
    /// waits for that job.
    pub fn gated(&mut self, job: JobId, verdict: Result<(), V>) -> bool {
        let Some(group) = self
            .groups
            .iter_mut()
            .find(|g| matches!(&g.stage, Stage::Gating { job: j, .. } if *j == job))
        else {
            return false;
        };
        let Stage::Gating { onto, chain, .. } = &group.stage else {
            return false;
        };
        group.stage = match verdict {
            Ok(()) => Stage::Passed {
                onto: onto.clone(),
                chain: chain.clone(),
                landing: false,
            },
            Err(report) => Stage::Failed {
                onto: onto.clone(),
                report,
            },
        };
        true
    }

    /// Whether the queue waits for the verdict of `job`.
    pub fn awaits(&self, job: JobId) -> bool {
        self.groups
            .iter()
            .any(|g| matches!(&g.stage, Stage::Gating { job: j, .. } if *j == job))
    }

    /// A job ended without a verdict (vane could not run it): its group is gated again. False
    /// when the queue no longer waits for that job.
    pub fn abandon(&mut self, job: JobId) -> bool {
        let Some(group) = self.groups.iter_mut().find(|g| {
            matches!(&g.stage, Stage::Merging { job: j, .. } | Stage::Gating { job: j, .. } if *j == job)
        }) else {
            return false;
        };
        group.stage = Stage::Waiting;
        true
    }

    /// The landing asked for moved base: the head group landed. Returns its members.
    pub fn landed(&mut self) -> Vec<CandidateId> {
        let Some(head) = self.groups.front() else {
            return Vec::new();
        };
        let Stage::Passed {
            chain,
            landing: true,
            ..
        } = &head.stage
        else {
            return Vec::new();
        };
        let Some(tip) = chain.last().cloned() else {
            return Vec::new();
        };
        let ids = head.members.iter().map(|m| m.id).collect();
        self.groups.pop_front();
        self.base = tip;
        self.window = (self.window + 1).min(self.settings.window);
        ids
    }

    /// The landing asked for cannot happen now (a person's checkout is in the way); it is asked
    /// for again by the next `poll`.
    pub fn land_deferred(&mut self) {
        if let Some(Group {
            stage: Stage::Passed { landing, .. },
            ..
        }) = self.groups.front_mut()
        {
            *landing = false;
        }
    }

    /// Base is at `tip`, which the queue did not move it to (a person's commit, or the
    /// compare-and-swap of a landing found it there): everything is gated again on it.
    pub fn base_moved(&mut self, tip: &str) {
        if tip == self.base {
            self.land_deferred();
            return;
        }
        self.base = tip.to_string();
        for group in &mut self.groups {
            group.stage = Stage::Waiting;
        }
    }

    /// Takes a candidate out of the queue (a person blocked its task, or it waits for approval):
    /// its group is gated again without it, and so are those behind. False when it was not queued,
    /// or when its landing is under way (asked for and not answered): it lands then, or, deferred
    /// or refused, can be taken out after.
    pub fn remove(&mut self, id: CandidateId) -> bool {
        let Some(index) = self
            .groups
            .iter()
            .position(|g| g.members.iter().any(|m| m.id == id))
        else {
            return false;
        };
        let group = &mut self.groups[index];
        if matches!(group.stage, Stage::Passed { landing: true, .. }) {
            return false;
        }
        group.members.retain(|m| m.id != id);
        if group.members.is_empty() {
            self.groups.remove(index);
        }
        // Now, not at the next poll: until then their jobs' results would still be taken.
        for group in self.groups.iter_mut().skip(index) {
            group.stage = Stage::Waiting;
        }
        true
    }

    /// What to do next: rejections settled at the head of the queue, the landing of the head
    /// group when it passed on base, and up to `slots` gate jobs, those nearest the head first.
    pub fn poll(&mut self, slots: usize) -> Vec<Action<V>> {
        let mut actions = Vec::new();
        self.settle_head(&mut actions);
        if let Some(head) = self.groups.front_mut() {
            if let Stage::Passed {
                onto,
                chain,
                landing,
            } = &mut head.stage
            {
                if *onto == self.base && !*landing {
                    *landing = true;
                    actions.push(Action::Land {
                        from: onto.clone(),
                        members: head
                            .members
                            .iter()
                            .map(|m| m.id)
                            .zip(chain.iter().cloned())
                            .collect(),
                    });
                }
            }
        }
        self.speculate(slots, &mut actions);
        actions
    }

    /// Settles the failed or conflicted group at the head, whose verdict was taken on base
    /// itself: one candidate goes back; a batch of several is split to find the culprit.
    fn settle_head(&mut self, actions: &mut Vec<Action<V>>) {
        while let Some(head) = self.groups.front() {
            if head.stage.onto() != Some(self.base.as_str()) {
                return;
            }
            match &head.stage {
                Stage::Failed { onto, report } if head.members.len() == 1 => {
                    actions.push(Action::Reject {
                        candidate: head.members[0].id,
                        onto: onto.clone(),
                        why: Rejection::Failed(report.clone()),
                    });
                    self.groups.pop_front();
                }
                Stage::Failed { .. } => {
                    let Some(group) = self.groups.pop_front() else {
                        return;
                    };
                    let mut first = group.members;
                    let second = first.split_off(first.len() / 2);
                    self.groups.push_front(Group::waiting(second));
                    self.groups.push_front(Group::waiting(first));
                }
                Stage::Conflicted { onto, conflict } if conflict.member == 0 => {
                    // The first member conflicts with base itself.
                    actions.push(Action::Reject {
                        candidate: head.members[0].id,
                        onto: onto.clone(),
                        why: Rejection::Conflict(conflict.paths.clone()),
                    });
                    let Some(mut group) = self.groups.pop_front() else {
                        return;
                    };
                    group.members.remove(0);
                    if !group.members.is_empty() {
                        self.groups.push_front(Group::waiting(group.members));
                    }
                }
                Stage::Conflicted { conflict, .. } => {
                    // Those before the conflicting member merge: they go on as a group, and the
                    // member is merged again, alone, on what they land as.
                    let at = conflict.member.min(head.members.len());
                    let Some(group) = self.groups.pop_front() else {
                        return;
                    };
                    let mut first = group.members;
                    let rest = first.split_off(at);
                    self.groups.push_front(Group::waiting(rest));
                    self.groups.push_front(Group::waiting(first));
                }
                _ => return,
            }
            self.window = (self.window / 2).max(1);
        }
    }

    /// Hands out gate jobs: each waiting group within the window whose base is known (base for
    /// the first group that will land, the tip of the one ahead of it for the others). A group
    /// whose base changed since it was built is built again.
    fn speculate(&mut self, mut slots: usize, actions: &mut Vec<Action<V>>) {
        // The tree the next group lands on, if it is known yet.
        let mut expected: Option<String> = Some(self.base.clone());
        // Groups ahead that will land (not set aside), and whether one of them is still gated.
        let mut position = 0usize;
        let mut ahead_in_flight = false;
        for group in self.groups.iter_mut() {
            let built_on = group.stage.onto().map(str::to_string);
            if built_on.is_some() && built_on != expected {
                // Built on a tree that will not be: a group ahead failed, was rebuilt, or base moved.
                group.stage = Stage::Waiting;
            }
            if group.stage.set_aside() {
                continue;
            }
            let full = group.members.len() >= self.settings.batch;
            // A batch still filling waits while one ahead is gated: it gathers what arrives.
            let may_start = full || !ahead_in_flight;
            if matches!(group.stage, Stage::Waiting)
                && position < self.window
                && slots > 0
                && may_start
            {
                if let Some(onto) = &expected {
                    let job = self.next_job;
                    self.next_job += 1;
                    slots -= 1;
                    actions.push(Action::Gate {
                        job,
                        onto: onto.clone(),
                        members: group
                            .members
                            .iter()
                            .map(|m| (m.id, m.head.clone()))
                            .collect(),
                    });
                    group.stage = Stage::Merging {
                        job,
                        onto: onto.clone(),
                    };
                }
            }
            ahead_in_flight |= !matches!(group.stage, Stage::Passed { .. });
            expected = group.stage.tip().map(str::to_string);
            position += 1;
        }
    }
}

#[cfg(test)]
mod tests;
