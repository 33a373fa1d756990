use super::*;

use std::collections::{BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::Config;

#[test]
fn one_candidate_is_gated_on_base_and_lands() {
    let mut queue: MergeQueue<String> = MergeQueue::new(
        "b0",
        Settings {
            window: 4,
            batch: 1,
        },
    );
    queue.push(1, "h1");
    let actions = queue.poll(4);
    let [Action::Gate { job, onto, members }] = actions.as_slice() else {
        panic!("{actions:?}");
    };
    assert_eq!(onto, "b0");
    assert_eq!(members, &vec![(1, "h1".to_string())]);
    assert!(queue.merged(*job, Ok(vec!["m1".to_string()])));
    assert!(queue.gated(*job, Ok(())));
    let actions = queue.poll(4);
    assert_eq!(
        actions,
        vec![Action::Land {
            from: "b0".to_string(),
            members: vec![(1, "m1".to_string())]
        }]
    );
    assert_eq!(queue.landed(), vec![1]);
    assert_eq!(queue.base(), "m1");
    assert!(queue.is_empty());
}

fn settings(window: usize, batch: usize) -> Settings {
    Settings { window, batch }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The gate jobs among actions: job, onto, members.
fn gates(actions: &[Action<String>]) -> Vec<(JobId, String, Vec<CandidateId>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Gate { job, onto, members } => {
                Some((*job, onto.clone(), members.iter().map(|m| m.0).collect()))
            }
            _ => None,
        })
        .collect()
}

/// The one gate job among actions.
fn one_gate(actions: &[Action<String>]) -> (JobId, String, Vec<CandidateId>) {
    let gates = gates(actions);
    assert_eq!(gates.len(), 1, "{actions:?}");
    gates.into_iter().next().unwrap()
}

fn land(from: &str, members: &[(CandidateId, &str)]) -> Action<String> {
    Action::Land {
        from: from.to_string(),
        members: members.iter().map(|(c, m)| (*c, m.to_string())).collect(),
    }
}

fn failed(candidate: CandidateId, onto: &str, report: &str) -> Action<String> {
    Action::Reject {
        candidate,
        onto: onto.to_string(),
        why: Rejection::Failed(report.to_string()),
    }
}

#[test]
fn a_failure_in_the_middle_of_the_window_is_rejected_once_those_ahead_landed() {
    let mut queue: MergeQueue<String> = MergeQueue::new("b0", settings(3, 1));
    for c in 1..=3 {
        queue.push(c, &head_of(c));
    }
    // Each is gated on the tree the ones ahead land as, once their merges are done.
    let (j1, onto, _) = one_gate(&queue.poll(3));
    assert_eq!(onto, "b0");
    assert!(queue.merged(j1, Ok(strings(&["m1"]))));
    let (j2, onto, ids) = one_gate(&queue.poll(3));
    assert_eq!((onto.as_str(), ids), ("m1", vec![2]));
    assert!(queue.merged(j2, Ok(strings(&["m12"]))));
    let (j3, onto, ids) = one_gate(&queue.poll(3));
    assert_eq!((onto.as_str(), ids), ("m12", vec![3]));
    assert!(queue.merged(j3, Ok(strings(&["m123"]))));
    assert_eq!(queue.poll(3), vec![]);

    // 2 fails (on base ⊕ 1), 1 and 3 pass.
    assert!(queue.gated(j2, Err("2 fails".to_string())));
    assert!(queue.gated(j3, Ok(())));
    assert!(queue.gated(j1, Ok(())));
    // 1 lands; 3 is rebuilt on what 1 lands as, without 2; 2 waits for 1 to land.
    let actions = queue.poll(3);
    assert_eq!(actions[0], land("b0", &[(1, "m1")]));
    let (j4, onto, ids) = one_gate(&actions[1..]);
    assert_eq!((onto.as_str(), ids), ("m1", vec![3]));
    assert_eq!(actions.len(), 2);
    assert!(
        !queue.merged(j3, Ok(strings(&["m123"]))),
        "3's old job is given up"
    );
    assert_eq!(queue.landed(), vec![1]);
    assert_eq!((queue.base(), queue.window()), ("m1", 3));
    assert!(queue.merged(j4, Ok(strings(&["m13"]))));
    assert!(queue.gated(j4, Ok(())));
    // 2's verdict was taken on base itself now: it goes back, and 3 lands.
    assert_eq!(
        queue.poll(3),
        vec![failed(2, "m1", "2 fails"), land("m1", &[(3, "m13")])]
    );
    assert_eq!(queue.window(), 1);
    assert_eq!(queue.landed(), vec![3]);
    assert_eq!((queue.base(), queue.window()), ("m13", 2));
    assert!(queue.is_empty());
}

#[test]
fn a_batch_with_one_culprit_is_bisected_to_it_and_the_rest_land() {
    let mut queue: MergeQueue<String> = MergeQueue::new("b0", settings(2, 4));
    for c in 1..=4 {
        queue.push(c, &head_of(c));
    }
    let (j, onto, ids) = one_gate(&queue.poll(2));
    assert_eq!((onto.as_str(), ids), ("b0", vec![1, 2, 3, 4]));
    assert!(queue.merged(j, Ok(strings(&["a1", "a2", "a3", "a4"]))));
    assert!(queue.gated(j, Err("3 fails".to_string())));
    // Split in halves; the second waits for the first.
    let (j, onto, ids) = one_gate(&queue.poll(2));
    assert_eq!((onto.as_str(), ids), ("b0", vec![1, 2]));
    assert!(queue.merged(j, Ok(strings(&["b1", "b2"]))));
    assert!(queue.gated(j, Ok(())));
    assert_eq!(queue.poll(2), vec![land("b0", &[(1, "b1"), (2, "b2")])]);
    assert_eq!(queue.landed(), vec![1, 2]);
    let (j, onto, ids) = one_gate(&queue.poll(2));
    assert_eq!((onto.as_str(), ids), ("b2", vec![3, 4]));
    assert!(queue.merged(j, Ok(strings(&["c3", "c4"]))));
    assert!(queue.gated(j, Err("3 fails".to_string())));
    let (j, onto, ids) = one_gate(&queue.poll(2));
    assert_eq!((onto.as_str(), ids), ("b2", vec![3]));
    assert!(queue.merged(j, Ok(strings(&["d3"]))));
    assert!(queue.gated(j, Err("3 fails".to_string())));
    // The culprit alone failed on base: it goes back, and 4 is gated on base.
    let actions = queue.poll(2);
    assert_eq!(actions[0], failed(3, "b2", "3 fails"));
    let (j, onto, ids) = one_gate(&actions[1..]);
    assert_eq!((onto.as_str(), ids), ("b2", vec![4]));
    assert!(queue.merged(j, Ok(strings(&["e4"]))));
    assert!(queue.gated(j, Ok(())));
    assert_eq!(queue.poll(2), vec![land("b2", &[(4, "e4")])]);
    assert_eq!(queue.landed(), vec![4]);
    assert_eq!(queue.base(), "e4");
    assert!(queue.is_empty());
}

/// Gates the head candidate alone on base and gives it `verdict`; lands it when it passes.
fn gate_head(queue: &mut MergeQueue<String>, verdict: Result<(), String>) {
    let (j, onto, ids) = gates(&queue.poll(1)).remove(0);
    assert_eq!(onto, queue.base());
    let tip = format!("{onto}+{}", ids[0]);
    assert!(queue.merged(j, Ok(vec![tip.clone()])));
    let passed = verdict.is_ok();
    assert!(queue.gated(j, verdict));
    if passed {
        assert_eq!(
            queue.poll(0),
            vec![Action::Land {
                from: onto,
                members: vec![(ids[0], tip)]
            }]
        );
        assert_eq!(queue.landed(), ids);
    }
}

#[test]
fn the_window_halves_on_a_failure_and_grows_by_one_per_landing() {
    let mut queue: MergeQueue<String> = MergeQueue::new("b0", settings(5, 1));
    for c in 1..=8 {
        queue.push(c, &head_of(c));
    }
    assert_eq!(queue.window(), 5);
    gate_head(&mut queue, Err("1 fails".to_string()));
    // Settled (rejected) at the next poll, which gates 2.
    gate_head(&mut queue, Ok(()));
    // Halved to 2 when 1 went back, and one more for 2's landing.
    assert_eq!(queue.window(), 3);
    gate_head(&mut queue, Err("3 fails".to_string()));
    gate_head(&mut queue, Ok(()));
    assert_eq!(queue.window(), 2);
    for expected in [3, 4, 5, 5] {
        gate_head(&mut queue, Ok(()));
        assert_eq!(queue.window(), expected);
    }
    assert!(queue.is_empty());
}

#[test]
fn base_moved_by_a_person_regates_everything() {
    let mut queue: MergeQueue<String> = MergeQueue::new("b0", settings(3, 1));
    for c in 1..=3 {
        queue.push(c, &head_of(c));
    }
    let (j1, _, _) = one_gate(&queue.poll(3));
    assert!(queue.merged(j1, Ok(strings(&["m1"]))));
    let (j2, _, _) = one_gate(&queue.poll(3));
    assert!(queue.merged(j2, Ok(strings(&["m12"]))));
    let (j3, _, _) = one_gate(&queue.poll(3));
    assert!(queue.gated(j1, Ok(())));
    assert_eq!(queue.poll(3), vec![land("b0", &[(1, "m1")])]);
    // The landing is refused: a person committed p1 on b0.
    queue.base_moved("p1");
    assert_eq!(queue.base(), "p1");
    assert!(queue.landed().is_empty());
    assert!(!queue.gated(j2, Ok(())));
    assert!(!queue.merged(j3, Ok(strings(&["m123"]))));
    let (j4, onto, ids) = one_gate(&queue.poll(3));
    assert_eq!((onto.as_str(), ids), ("p1", vec![1]));
    assert!(queue.merged(j4, Ok(strings(&["p1+1"]))));
    let (j5, onto, ids) = one_gate(&queue.poll(3));
    assert_eq!((onto.as_str(), ids), ("p1+1", vec![2]));
    assert!(queue.merged(j5, Ok(strings(&["p1+1+2"]))));
    let (j6, onto, ids) = one_gate(&queue.poll(3));
    assert_eq!((onto.as_str(), ids), ("p1+1+2", vec![3]));
    assert!(queue.merged(j6, Ok(strings(&["p1+1+2+3"]))));
    for j in [j6, j5, j4] {
        assert!(queue.gated(j, Ok(())));
    }
    assert_eq!(queue.poll(3), vec![land("p1", &[(1, "p1+1")])]);
    assert_eq!(queue.landed(), vec![1]);
    assert_eq!(queue.poll(3), vec![land("p1+1", &[(2, "p1+1+2")])]);
    assert_eq!(queue.landed(), vec![2]);
    assert_eq!(queue.poll(3), vec![land("p1+1+2", &[(3, "p1+1+2+3")])]);
    assert_eq!(queue.landed(), vec![3]);
    assert!(queue.is_empty());
}

#[test]
fn a_candidate_whose_landing_is_under_way_is_not_removed() {
    let mut queue: MergeQueue<String> = MergeQueue::new("b0", settings(2, 2));
    queue.push(1, "h1");
    queue.push(2, "h2");
    let (j, _, _) = one_gate(&queue.poll(2));
    assert!(queue.merged(j, Ok(strings(&["m1", "m12"]))));
    assert!(queue.gated(j, Ok(())));
    let landing = land("b0", &[(1, "m1"), (2, "m12")]);
    assert_eq!(queue.poll(2), vec![landing.clone()]);
    // The coordinator carries the landing out whatever the queue is told meanwhile.
    assert!(!queue.remove(2));
    queue.land_deferred();
    assert_eq!(queue.poll(2), vec![landing]);
    assert_eq!(queue.landed(), vec![1, 2]);
    assert_eq!(queue.base(), "m12");
    // Deferred, it can be taken out.
    queue.push(3, "h3");
    let (j, _, _) = one_gate(&queue.poll(2));
    assert!(queue.merged(j, Ok(strings(&["m123"]))));
    assert!(queue.gated(j, Ok(())));
    assert_eq!(queue.poll(2), vec![land("m12", &[(3, "m123")])]);
    queue.land_deferred();
    assert!(queue.remove(3));
    assert!(queue.is_empty());
    assert_eq!(queue.poll(2), vec![]);
}

#[test]
fn the_jobs_behind_a_removed_candidate_are_given_up_at_once() {
    let mut queue: MergeQueue<String> = MergeQueue::new("b0", settings(3, 1));
    for c in 1..=3 {
        queue.push(c, &head_of(c));
    }
    let (j1, _, _) = one_gate(&queue.poll(3));
    assert!(queue.merged(j1, Ok(strings(&["m1"]))));
    let (j2, _, _) = one_gate(&queue.poll(3));
    assert!(queue.merged(j2, Ok(strings(&["m12"]))));
    let (j3, _, _) = one_gate(&queue.poll(3));
    assert!(queue.remove(2));
    // 1's job goes on; 3's was gated on a tree that holds 2.
    assert!(!queue.merged(j3, Ok(strings(&["m123"]))));
    assert!(!queue.gated(j2, Ok(())));
    assert!(queue.gated(j1, Ok(())));
    let actions = queue.poll(3);
    assert_eq!(actions[0], land("b0", &[(1, "m1")]));
    let (_, onto, ids) = one_gate(&actions[1..]);
    assert_eq!((onto.as_str(), ids), ("m1", vec![3]));
}

/// Job ids start at 1 in every queue: after a crash, a result of the old queue's job can be taken
/// for the new queue's job of the same id, and base would move to a tree gated on another base.
/// The queue cannot tell them apart; the coordinator must drop the results of jobs it asked for
/// before it started (or stop those jobs).
#[test]
fn job_ids_restart_after_a_crash_so_old_results_must_be_dropped_by_the_coordinator() {
    let mut old: MergeQueue<String> = MergeQueue::new("b0", settings(2, 1));
    old.push(1, "h1");
    let (job, onto, _) = one_gate(&old.poll(1));
    assert_eq!(onto, "b0");
    // Crash; meanwhile a person committed p1 on b0. The new queue gates 1 on p1, as job 1 too.
    let mut new: MergeQueue<String> = MergeQueue::new("p1", settings(2, 1));
    new.push(1, "h1");
    let (new_job, onto, _) = one_gate(&new.poll(1));
    assert_eq!((new_job, onto.as_str()), (job, "p1"));
    // The old job's result (1 merged onto b0, as b0+1) is taken for the new job...
    assert!(new.merged(job, Ok(strings(&["b0+1"]))));
    assert!(new.gated(job, Ok(())));
    // ...and base would move from p1 to b0+1, dropping p1.
    assert_eq!(new.poll(1), vec![land("p1", &[(1, "b0+1")])]);
}

/// The queue tells landings apart by nothing: the answer to a landing it has dropped (base moved
/// and the queue was told while the landing was out) is taken for the landing asked for since.
/// So the coordinator tells base moves while a landing is out only as that landing's answer.
#[test]
fn an_answer_to_a_dropped_landing_is_taken_for_the_next() {
    let mut queue: MergeQueue<String> = MergeQueue::new("b0", settings(1, 1));
    queue.push(1, "h1");
    gate_head_without_landing(&mut queue, "b0+1");
    assert_eq!(queue.poll(1), vec![land("b0", &[(1, "b0+1")])]);
    // A person commits p1 and the coordinator tells the queue while the landing is out.
    queue.base_moved("p1");
    gate_head_without_landing(&mut queue, "p1+1");
    assert_eq!(queue.poll(1), vec![land("p1", &[(1, "p1+1")])]);
    // The first landing is refused: base is at p1, which the queue knows. It takes that for a
    // deferral of the second, and asks for it again while it is out.
    queue.base_moved("p1");
    assert_eq!(queue.poll(1), vec![land("p1", &[(1, "p1+1")])]);
}

fn gate_head_without_landing(queue: &mut MergeQueue<String>, tip: &str) {
    let (j, _, _) = one_gate(&queue.poll(1));
    assert!(queue.merged(j, Ok(vec![tip.to_string()])));
    assert!(queue.gated(j, Ok(())));
}

// ---------------------------------------------------------------------------------------------
// A fake git and gates.
//
// A tree is the list of changes merged onto the initial base, in order: candidates (ids > 0) and
// changes people committed to base themselves (ids < 0). Commits are fresh names mapped to trees.
// Merging a candidate onto a commit conflicts when the commit's tree holds a change it conflicts
// with, and the gates fail on a tree that holds a bad candidate or both of a bad pair: both are
// properties of the tree, so that gating or merging the same tree again gives the same answer.
// ---------------------------------------------------------------------------------------------

/// A change in a tree: a candidate (> 0) or a person's commit to base (< 0).
type Change = i64;

struct Git {
    trees: HashMap<String, Vec<Change>>,
    next_commit: u64,
    bad: BTreeSet<CandidateId>,
    bad_pairs: Vec<(CandidateId, CandidateId)>,
    conflicts: HashSet<(Change, Change)>,
}

impl Git {
    fn new(base: &str) -> Git {
        Git {
            trees: HashMap::from([(base.to_string(), Vec::new())]),
            next_commit: 0,
            bad: BTreeSet::new(),
            bad_pairs: Vec::new(),
            conflicts: HashSet::new(),
        }
    }

    fn tree(&self, commit: &str) -> &Vec<Change> {
        self.trees
            .get(commit)
            .unwrap_or_else(|| panic!("no such commit {commit}"))
    }

    fn commit(&mut self, tree: Vec<Change>) -> String {
        self.next_commit += 1;
        let name = format!("c{}", self.next_commit);
        self.trees.insert(name.clone(), tree);
        name
    }

    fn declare_conflict(&mut self, a: Change, b: Change) {
        if a != b {
            self.conflicts.insert((a.min(b), a.max(b)));
        }
    }

    fn conflicting(&self, a: Change, b: Change) -> bool {
        self.conflicts.contains(&(a.min(b), a.max(b)))
    }

    /// Whether merging `c` onto a commit of `tree` conflicts.
    fn conflicts_with(&self, c: CandidateId, tree: &[Change]) -> bool {
        tree.iter().any(|&x| self.conflicting(c, x))
    }

    /// Whether `c` conflicts with anything at all.
    fn conflicts_with_anything(&self, c: CandidateId) -> bool {
        self.conflicts.iter().any(|&(a, b)| a == c || b == c)
    }

    /// The gates' verdict on a tree.
    fn verdict(&self, tree: &[Change]) -> Result<(), String> {
        let has = |c: CandidateId| tree.contains(&c);
        let mut culprits: Vec<String> = self
            .bad
            .iter()
            .filter(|&&c| has(c))
            .map(|c| format!("{c}"))
            .collect();
        culprits.extend(
            self.bad_pairs
                .iter()
                .filter(|&&(a, b)| has(a) && has(b))
                .map(|(a, b)| format!("{a}+{b}")),
        );
        if culprits.is_empty() {
            Ok(())
        } else {
            Err(format!("fails: {}", culprits.join(",")))
        }
    }

    /// Whether a candidate is good on its own and with every other, and conflicts with nothing (no
    /// other candidate, no person's change).
    fn innocent(&self, c: CandidateId) -> bool {
        !self.bad.contains(&c)
            && !self.bad_pairs.iter().any(|&(a, b)| a == c || b == c)
            && !self.conflicts_with_anything(c)
    }

    /// Merges the members one after the other onto `onto`: the chain of merge commits, or the
    /// member whose merge conflicted.
    fn merge(
        &mut self,
        onto: &str,
        members: &[(CandidateId, String)],
    ) -> Result<Vec<String>, Conflict> {
        let mut tree = self.tree(onto).clone();
        let mut chain = Vec::new();
        for (i, (c, head)) in members.iter().enumerate() {
            assert_eq!(head, &head_of(*c), "the head of {c}");
            assert!(
                !tree.contains(c),
                "{c} merged onto a tree that holds it: {tree:?}"
            );
            if self.conflicts_with(*c, &tree) {
                return Err(Conflict {
                    member: i,
                    paths: vec![format!("file{c}")],
                });
            }
            tree.push(*c);
            chain.push(self.commit(tree.clone()));
        }
        Ok(chain)
    }
}

fn head_of(c: CandidateId) -> String {
    format!("h{c}")
}

// ---------------------------------------------------------------------------------------------
// The simulation: the queue driven as the coordinator would drive it, against the fake git, with
// candidates queued at random times, gate jobs reporting in any order (and late, for jobs the
// queue gave up), landings carried out, deferred or refused, people committing to base, removals
// and crashes (a new queue of the candidates still queued, on where base is, while the old queue's
// jobs still report to it). The coordinator keeps two rules the queue cannot check itself (see
// the two tests above that show why): it drops the results of jobs of a queue from before a
// crash, and while a landing is out it tells the queue of base moves only as that landing's
// answer. Checked after every step:
//
// - the queued candidates are those pushed and not landed, rejected or removed, in push order;
// - a gate job is asked for only within the free slots, of queued candidates in order, on base or
//   on base with candidates queued ahead of them; at most `window` groups are gated ahead, and
//   with window 1 everything is gated on base itself;
// - a job's results are not taken once the queue certainly gave it up (base moved, a member or a
//   candidate of its tree is gone);
// - a landing is asked for only when none is out, from the queue's base, of the first queued
//   candidates, as the very commits a job passed on exactly that tree; base only moves by it (or
//   by people), so the trees base is at form a chain; landed candidates land in queue order, once;
// - a candidate goes back for failing only at the head, on base, when it fails alone on base, and
//   for conflicting only when it conflicts with base;
// - the queue knows where base is unless a person moved it and it was not told.
//
// And at the end, when everything was carried out: no candidate is lost, each one that is good
// and conflicts with nothing landed (unless removed), and the number of gate jobs is bounded by
// a polynomial in candidates and disruptions.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Queued,
    Landed,
    Rejected,
    Removed,
}

/// A gate job as the coordinator runs it.
#[derive(Debug)]
struct Job {
    /// Which queue asked for it (a new one after each crash).
    generation: usize,
    id: JobId,
    /// Base moves (known to the queue) before it was asked for.
    epoch: usize,
    onto: String,
    members: Vec<CandidateId>,
    outcome: Result<Vec<String>, Conflict>,
    /// Gated on a tree ahead of base.
    speculative: bool,
    merged_told: bool,
    merged_taken: bool,
    passed_taken: bool,
    done: bool,
}

#[derive(Debug, Clone)]
struct Landing {
    from: String,
    members: Vec<(CandidateId, String)>,
}

/// One step of the coordinator's life, chosen at random; its numbers pick among what is there.
#[derive(Debug, Clone)]
enum Op {
    /// The next candidate finishes and is queued.
    Push,
    /// The coordinator asks what to do and does it (gate jobs start, landings are asked for).
    Poll,
    /// One running gate job moves on: its merges are done, or its gates.
    Advance(usize),
    /// The landing asked for is carried out: 0 lands, or is refused when base moved (told as
    /// `base_moved` with where base is); 1 is deferred; 2 fails by compare-and-swap though base
    /// did not move (told as `base_moved` with the same tip, which the queue takes for a deferral).
    Land(u8),
    /// A person commits to base, with a change that conflicts with a candidate, or not.
    Person(Option<u8>),
    /// The coordinator tells the queue where base is.
    Notify,
    /// A person takes a candidate out (or tries to, one that is not queued any more).
    Remove(usize),
    /// The coordinator crashes and starts again with a new queue; the landing it was carrying out
    /// happened or not.
    Crash(bool),
    /// A job of a queue from before a crash reports.
    Ghost(usize),
}

/// Everything that can happen.
fn chaos() -> BoxedStrategy<Op> {
    prop_oneof![
        6 => Just(Op::Push),
        8 => Just(Op::Poll),
        12 => any::<usize>().prop_map(Op::Advance),
        4 => (0u8..3).prop_map(Op::Land),
        2 => proptest::option::weighted(0.3, any::<u8>()).prop_map(Op::Person),
        2 => Just(Op::Notify),
        2 => any::<usize>().prop_map(Op::Remove),
        1 => any::<bool>().prop_map(Op::Crash),
        2 => any::<usize>().prop_map(Op::Ghost),
    ]
    .boxed()
}

/// No people, removals or crashes: the queue alone, with deep speculation, failures and batches.
fn calm() -> BoxedStrategy<Op> {
    prop_oneof![
        4 => Just(Op::Push),
        8 => Just(Op::Poll),
        16 => any::<usize>().prop_map(Op::Advance),
        4 => (0u8..3).prop_map(Op::Land),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Scenario {
    settings: Settings,
    slots: usize,
    candidates: usize,
    bad: Vec<bool>,
    bad_pairs: Vec<(u8, u8)>,
    conflicts: Vec<(u8, u8)>,
    ops: Vec<Op>,
    /// Picks the order in which the final drain advances jobs.
    seed: u64,
}

/// Settings, up to `most` candidates (some bad, some pairs bad together, some pairs conflicting),
/// and what happens, drawn from `ops`.
fn scenario(most: usize, ops: BoxedStrategy<Op>, steps: usize) -> impl Strategy<Value = Scenario> {
    (
        1usize..=6,
        1usize..=4,
        1usize..=4,
        1usize..=most,
        proptest::collection::vec(proptest::bool::weighted(0.12), most),
        proptest::collection::vec(any::<(u8, u8)>(), 0..=2),
        proptest::collection::vec(any::<(u8, u8)>(), 0..=2),
        proptest::collection::vec(ops, 0..=steps),
        any::<u64>(),
    )
        .prop_map(
            |(window, batch, slots, candidates, bad, bad_pairs, conflicts, ops, seed)| Scenario {
                settings: Settings { window, batch },
                slots,
                candidates,
                bad,
                bad_pairs,
                conflicts,
                ops,
                seed,
            },
        )
}

struct Sim {
    git: Git,
    settings: Settings,
    slots: usize,
    candidates: usize,
    queue: MergeQueue<String>,
    /// Queues from before crashes, to which their jobs still report.
    dead: Vec<MergeQueue<String>>,
    generation: usize,
    /// How many times the queue was told base moved to a new tree.
    epoch: usize,
    /// Where base really is.
    base: String,
    /// A person moved base and the queue was not told yet.
    unseen_move: bool,
    /// Every tree base was at, in order.
    history: Vec<String>,
    status: HashMap<CandidateId, Status>,
    /// The queued candidates in the order they queued.
    order: Vec<CandidateId>,
    pushed: usize,
    jobs: Vec<Job>,
    /// The job whose chain ends in a commit.
    job_of_tip: HashMap<String, usize>,
    /// The landing asked for and not carried out yet.
    landing: Option<Landing>,
    landed: Vec<CandidateId>,
    gates: usize,
    /// How often each interesting thing happened, to check the simulation reaches them.
    seen: HashMap<&'static str, usize>,
    disruptions: usize,
    people: i64,
}

impl Sim {
    fn new(s: &Scenario) -> Sim {
        let mut git = Git::new("b0");
        let n = s.candidates as i64;
        let pick = |x: u8| i64::from(x) % n + 1;
        for (i, &bad) in s.bad.iter().enumerate().take(s.candidates) {
            if bad {
                git.bad.insert(i as i64 + 1);
            }
        }
        for &(a, b) in &s.bad_pairs {
            if pick(a) != pick(b) {
                git.bad_pairs.push((pick(a), pick(b)));
            }
        }
        for &(a, b) in &s.conflicts {
            git.declare_conflict(pick(a), pick(b));
        }
        Sim {
            git,
            settings: s.settings,
            slots: s.slots,
            candidates: s.candidates,
            queue: MergeQueue::new("b0", s.settings),
            dead: Vec::new(),
            generation: 0,
            epoch: 0,
            base: "b0".to_string(),
            unseen_move: false,
            history: vec!["b0".to_string()],
            status: HashMap::new(),
            order: Vec::new(),
            pushed: 0,
            jobs: Vec::new(),
            job_of_tip: HashMap::new(),
            landing: None,
            landed: Vec::new(),
            gates: 0,
            seen: HashMap::new(),
            disruptions: 0,
            people: 0,
        }
    }

    fn saw(&mut self, what: &'static str) {
        *self.seen.entry(what).or_default() += 1;
    }

    fn running(&self) -> Vec<usize> {
        (0..self.jobs.len())
            .filter(|&j| !self.jobs[j].done && self.jobs[j].generation == self.generation)
            .collect()
    }

    fn ghosts(&self) -> Vec<usize> {
        (0..self.jobs.len())
            .filter(|&j| !self.jobs[j].done && self.jobs[j].generation != self.generation)
            .collect()
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Push => self.push(),
            Op::Poll => self.poll(),
            Op::Advance(i) => {
                let running = self.running();
                if !running.is_empty() {
                    self.advance(running[i % running.len()]);
                }
            }
            Op::Land(how) => self.land(how),
            Op::Person(conflict) => self.person(conflict),
            Op::Notify => self.notify(),
            Op::Remove(i) => self.remove(i),
            Op::Crash(landed) => self.crash(landed),
            Op::Ghost(i) => {
                let ghosts = self.ghosts();
                if !ghosts.is_empty() {
                    self.advance(ghosts[i % ghosts.len()]);
                }
            }
        }
        self.check();
    }

    fn push(&mut self) {
        if self.pushed == self.candidates {
            return;
        }
        self.pushed += 1;
        let c = self.pushed as CandidateId;
        self.queue.push(c, &head_of(c));
        self.status.insert(c, Status::Queued);
        self.order.push(c);
    }

    fn poll(&mut self) {
        let free = self.slots.saturating_sub(self.running().len());
        let base = self.queue.base().to_string();
        let mut seen = Vec::new();
        for (i, group) in self.queue.groups.iter().enumerate() {
            if group.stage.set_aside() {
                match i {
                    0 if group.members.len() > 1 && group.stage.onto() == Some(&base) => {
                        seen.push("split at head")
                    }
                    0 => {}
                    _ => seen.push("set aside behind the head"),
                }
            }
        }
        for what in seen {
            self.saw(what);
        }
        let actions = self.queue.poll(free);
        assert_eq!(self.queue.base(), base, "poll moved base");
        let gates = actions
            .iter()
            .filter(|a| matches!(a, Action::Gate { .. }))
            .count();
        assert!(
            gates <= free,
            "{gates} gate jobs for {free} slots: {actions:?}"
        );
        for action in actions {
            match action {
                Action::Gate { job, onto, members } => self.gate(job, onto, members),
                Action::Land { from, members } => self.ask_landing(from, members),
                Action::Reject {
                    candidate,
                    onto,
                    why,
                } => self.reject(candidate, onto, why),
            }
        }
        self.check_window();
    }

    fn gate(&mut self, job: JobId, onto: String, members: Vec<(CandidateId, String)>) {
        self.gates += 1;
        assert!(!members.is_empty() && members.len() <= self.settings.batch);
        assert!(
            self.jobs
                .iter()
                .all(|j| j.generation != self.generation || j.id != job),
            "job {job} asked for twice"
        );
        let ids: Vec<CandidateId> = members.iter().map(|m| m.0).collect();
        for &c in &ids {
            assert_eq!(
                self.status.get(&c),
                Some(&Status::Queued),
                "{c} gated: {ids:?}"
            );
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "out of order: {ids:?}");
        // Gated on base, or on base with candidates queued ahead of them, in order.
        let base_tree = self.git.tree(self.queue.base()).clone();
        let tree = self.git.tree(&onto).clone();
        assert!(
            tree.starts_with(&base_tree),
            "{ids:?} gated on {tree:?}, not on base {base_tree:?}"
        );
        let ahead = &tree[base_tree.len()..];
        assert!(
            ahead.windows(2).all(|w| w[0] < w[1])
                && ahead
                    .iter()
                    .all(|c| *c < ids[0] && self.status.get(c) == Some(&Status::Queued)),
            "{ids:?} gated on {ahead:?} ahead of base"
        );
        if self.settings.window == 1 && self.settings.batch == 1 {
            assert_eq!(onto, self.queue.base(), "window 1 gates on base only");
        }
        let outcome = self.git.merge(&onto, &members);
        let speculative = onto != self.queue.base();
        if let Err(conflict) = &outcome {
            self.saw(if conflict.member > 0 {
                "conflict inside a batch"
            } else {
                "conflict"
            });
        }
        if let Ok(chain) = &outcome {
            self.job_of_tip
                .insert(chain.last().unwrap().clone(), self.jobs.len());
        }
        self.jobs.push(Job {
            generation: self.generation,
            id: job,
            epoch: self.epoch,
            onto,
            members: ids,
            outcome,
            speculative,
            merged_told: false,
            merged_taken: false,
            passed_taken: false,
            done: false,
        });
    }

    /// Whether the queue has certainly given the job up: it asked for it before base moved, or
    /// one of its members or of the candidates it was built on is gone.
    fn given_up(&self, job: &Job) -> bool {
        job.epoch < self.epoch
            || job
                .members
                .iter()
                .any(|c| self.status.get(c) != Some(&Status::Queued))
            || self
                .git
                .tree(&job.onto)
                .iter()
                .any(|c| matches!(self.status.get(c), Some(Status::Rejected | Status::Removed)))
    }

    fn advance(&mut self, j: usize) {
        let ghost = self.jobs[j].generation != self.generation;
        let given_up = self.given_up(&self.jobs[j]);
        let (id, generation) = (self.jobs[j].id, self.jobs[j].generation);
        let queue = if ghost {
            // Only the queue that asked hears of it.
            &mut self.dead[generation]
        } else {
            &mut self.queue
        };
        if !self.jobs[j].merged_told {
            let outcome = self.jobs[j].outcome.clone();
            let taken = queue.merged(id, outcome.clone());
            self.saw(match (ghost, taken) {
                (true, _) => "result of a dead queue's job",
                (false, false) => "stale result ignored",
                (false, true) => "merges taken",
            });
            let job = &mut self.jobs[j];
            assert!(
                ghost || !taken || !given_up,
                "merged taken for a job given up: {job:?}"
            );
            job.merged_told = true;
            job.merged_taken = taken && !ghost;
            job.done = outcome.is_err();
        } else {
            let tip = self.jobs[j].outcome.as_ref().unwrap().last().unwrap();
            let verdict = self.git.verdict(self.git.tree(tip));
            let taken = queue.gated(id, verdict.clone());
            let job = &mut self.jobs[j];
            assert!(
                ghost || !taken || (!given_up && job.merged_taken),
                "gated taken for a job given up: {job:?}"
            );
            job.passed_taken = taken && !ghost && verdict.is_ok();
            job.done = true;
        }
    }

    fn ask_landing(&mut self, from: String, members: Vec<(CandidateId, String)>) {
        assert!(
            self.landing.is_none(),
            "a second landing asked for before the first was answered: {:?} then {members:?}",
            self.landing
        );
        assert_eq!(from, self.queue.base(), "a landing not from base");
        self.check_landing(&from, &members);
        self.landing = Some(Landing { from, members });
    }

    /// What must hold of a landing asked for, and again when it is carried out.
    fn check_landing(&self, from: &str, members: &[(CandidateId, String)]) {
        let ids: Vec<CandidateId> = members.iter().map(|m| m.0).collect();
        let commits: Vec<String> = members.iter().map(|m| m.1.clone()).collect();
        let tip = commits.last().expect("a landing of nothing");
        let j = *self
            .job_of_tip
            .get(tip)
            .unwrap_or_else(|| panic!("landing {tip}, which no job made"));
        let job = &self.jobs[j];
        assert_eq!(
            job.generation, self.generation,
            "landing a job of a dead queue"
        );
        assert_eq!(job.onto, from, "landing {ids:?} gated on another tree");
        assert_eq!(job.members, ids);
        assert_eq!(job.outcome.as_ref().unwrap(), &commits);
        assert!(
            job.passed_taken,
            "landing {ids:?}, which did not pass: {job:?}"
        );
        assert_eq!(self.git.verdict(self.git.tree(tip)), Ok(()));
        let mut tree = self.git.tree(from).clone();
        for (c, commit) in members {
            tree.push(*c);
            assert_eq!(self.git.tree(commit), &tree, "the commit of {c}");
        }
        // No overtaking: they are the first queued, and behind all that landed.
        assert_eq!(&self.order[..ids.len().min(self.order.len())], &ids[..]);
        if let Some(last) = self.landed.last() {
            assert!(*last < ids[0], "{ids:?} landed after {last}");
        }
    }

    /// The coordinator carries out the landing asked for.
    fn land(&mut self, how: u8) {
        let Some(landing) = self.landing.take() else {
            return;
        };
        assert_eq!(landing.from, self.queue.base());
        if how == 1 {
            // A person's checkout is in the way, wherever base is.
            self.queue.land_deferred();
            self.saw("landing deferred");
            return;
        }
        if landing.from != self.base {
            // Refused by compare-and-swap: base is not where it was.
            assert!(self.unseen_move, "base moved under the queue by nobody");
            self.queue.base_moved(&self.base.clone());
            self.unseen_move = false;
            self.epoch += 1;
            self.saw("landing refused");
            return;
        }
        match how {
            2 => {
                self.queue.base_moved(&self.base.clone());
                self.saw("landing failed, base unmoved");
            }
            _ => {
                self.carry_out(&landing);
                let ids: Vec<CandidateId> = landing.members.iter().map(|m| m.0).collect();
                assert_eq!(self.queue.landed(), ids, "landed");
                assert_eq!(self.queue.base(), self.base);
            }
        }
    }

    /// Moves base by compare-and-swap, and the candidates land.
    fn carry_out(&mut self, landing: &Landing) {
        assert_eq!(&landing.from, self.history.last().unwrap());
        assert_eq!(landing.from, self.base);
        self.check_landing(&landing.from, &landing.members);
        for (c, _) in &landing.members {
            self.status.insert(*c, Status::Landed);
            self.landed.push(*c);
        }
        self.order.drain(..landing.members.len());
        if landing.members.len() > 1 {
            self.saw("batch landed");
        }
        if self.jobs[self.job_of_tip[&landing.members.last().unwrap().1]].speculative {
            self.saw("landed as gated ahead");
        }
        self.base = landing.members.last().unwrap().1.clone();
        self.history.push(self.base.clone());
    }

    fn reject(&mut self, c: CandidateId, onto: String, why: Rejection<String>) {
        assert_eq!(onto, self.queue.base(), "{c} rejected on {onto}, not base");
        assert_eq!(
            self.order.first(),
            Some(&c),
            "{c} rejected ahead of its turn"
        );
        let mut tree = self.git.tree(&onto).clone();
        match why {
            Rejection::Failed(report) => {
                self.saw("rejected for failing");
                tree.push(c);
                assert_eq!(
                    self.git.verdict(&tree),
                    Err(report),
                    "{c} rejected, alone on base"
                );
            }
            Rejection::Conflict(_) => {
                self.saw("rejected for conflicting");
                assert!(self.git.conflicts_with(c, &tree), "{c} conflicts with base")
            }
        }
        self.status.insert(c, Status::Rejected);
        self.order.remove(0);
    }

    fn person(&mut self, conflict: Option<u8>) {
        self.people += 1;
        let change = -self.people;
        if let Some(x) = conflict {
            self.git
                .declare_conflict(i64::from(x) % self.candidates as i64 + 1, change);
        }
        let mut tree = self.git.tree(&self.base).clone();
        tree.push(change);
        self.base = self.git.commit(tree);
        self.history.push(self.base.clone());
        self.unseen_move = true;
        self.disruptions += 1;
    }

    /// The coordinator tells the queue where base is; not while a landing is being carried out,
    /// whose answer tells it.
    fn notify(&mut self) {
        if self.landing.is_some() {
            return;
        }
        if self.base != self.queue.base() {
            self.epoch += 1;
        }
        self.queue.base_moved(&self.base.clone());
        self.unseen_move = false;
    }

    fn remove(&mut self, i: usize) {
        if self.pushed == 0 {
            return;
        }
        let c = (i % self.pushed) as CandidateId + 1;
        let queued = self.status.get(&c) == Some(&Status::Queued);
        // A candidate whose landing is under way lands (or is deferred or refused) first.
        let landing = self
            .landing
            .as_ref()
            .is_some_and(|l| l.members.iter().any(|m| m.0 == c));
        let removed = self.queue.remove(c);
        assert_eq!(removed, queued && !landing, "remove {c}");
        if removed {
            self.status.insert(c, Status::Removed);
            self.order.retain(|&x| x != c);
            self.disruptions += 1;
        }
    }

    fn crash(&mut self, landed: bool) {
        if let Some(landing) = self.landing.take() {
            if landed && landing.from == self.base {
                self.carry_out(&landing);
                self.saw("landed in a crash");
            }
        }
        let queue = std::mem::replace(&mut self.queue, MergeQueue::new(&self.base, self.settings));
        self.dead.push(queue);
        self.generation += 1;
        self.epoch += 1;
        self.unseen_move = false;
        for &c in &self.order {
            self.queue.push(c, &head_of(c));
        }
        self.disruptions += 1;
    }

    /// What holds after every step.
    fn check(&self) {
        assert_eq!(self.queue.candidates(), self.order, "the queued candidates");
        assert_eq!(self.queue.candidates().len(), self.order.len());
        assert_eq!(self.queue.is_empty(), self.order.is_empty());
        if !self.unseen_move {
            assert_eq!(self.queue.base(), self.base, "the queue lost track of base");
        }
        assert!((1..=self.settings.window).contains(&self.queue.window()));
        for group in &self.queue.groups {
            assert!(!group.members.is_empty() && group.members.len() <= self.settings.batch);
        }
        for c in 1..=self.pushed as CandidateId {
            assert_eq!(
                self.queue.candidates().contains(&c),
                self.status.get(&c) == Some(&Status::Queued)
            );
        }
    }

    /// At most `window` groups are gated ahead; with window 1 and batch 1, one candidate.
    fn check_window(&mut self) {
        let in_flight = self
            .queue
            .groups
            .iter()
            .filter(|g| {
                matches!(
                    g.stage,
                    Stage::Merging { .. } | Stage::Gating { .. } | Stage::Passed { .. }
                )
            })
            .count();
        if in_flight > 2 {
            self.saw("three or more gated ahead");
        }
        assert!(
            in_flight <= self.settings.window,
            "{in_flight} groups gated ahead, window {}",
            self.settings.window
        );
    }

    /// No more pushes, people or crashes: everything is carried out until the queue is empty.
    fn drain(&mut self, seed: u64) {
        while self.pushed < self.candidates {
            self.push();
        }
        for j in self.ghosts() {
            self.jobs[j].done = true;
        }
        let mut rng = seed | 1;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 20_000, "no end in sight");
            self.poll();
            self.check();
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let running = self.running();
            if self.landing.is_some() && !rng.is_multiple_of(3) {
                self.land(0);
            } else if self.unseen_move && self.landing.is_none() {
                self.notify();
            } else if !running.is_empty() {
                self.advance(running[(rng >> 3) as usize % running.len()]);
            } else if self.landing.is_some() {
                self.land(0);
            } else if self.queue.is_empty() {
                break;
            } else {
                panic!("stuck: {:#?}", self.queue);
            }
            self.check();
        }
    }

    /// What holds at the end.
    fn check_end(&self) {
        for c in 1..=self.candidates as CandidateId {
            let status = self.status[&c];
            assert_ne!(status, Status::Queued, "{c} lost");
            if self.git.innocent(c) {
                assert!(
                    matches!(status, Status::Landed | Status::Removed),
                    "{c}, good, ended {status:?}"
                );
            }
        }
        // Each landing, rejection, split, person's commit, removal or crash wastes at most the
        // jobs gated ahead; bisections add at most n² more.
        let n = self.candidates;
        let bound = (3 * n + 2 * self.disruptions + 1) * (self.settings.window + 1) + n * n;
        assert!(
            self.gates <= bound,
            "{} gate jobs for {n} candidates and {} disruptions",
            self.gates,
            self.disruptions
        );
    }
}

fn run(s: &Scenario) -> Sim {
    let mut sim = Sim::new(s);
    for op in &s.ops {
        sim.step(op);
    }
    sim.drain(s.seed);
    sim.check_end();
    sim
}

proptest! {
    #![proptest_config(Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    })]

    /// The queue keeps its promises under any interleaving of events.
    #[test]
    fn the_queue_keeps_its_promises(s in scenario(9, chaos(), 120)) {
        run(&s);
    }
}

proptest! {
    #![proptest_config(Config {
        cases: 1500,
        failure_persistence: None,
        ..Config::default()
    })]

    /// And left alone, with more candidates and deep speculation.
    #[test]
    fn the_queue_keeps_its_promises_left_alone(s in scenario(14, calm(), 200)) {
        run(&s);
    }
}

/// The simulation reaches what it is meant to check: each of these happens in a few hundred runs
/// (drawn the same way every time).
#[test]
fn the_simulation_reaches_every_case() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (ops, most, steps) in [(chaos(), 9, 120), (calm(), 14, 200)] {
        let strategy = scenario(most, ops, steps);
        for _ in 0..300 {
            let sim = run(&strategy.new_tree(&mut runner).unwrap().current());
            for (what, n) in sim.seen {
                *seen.entry(what).or_default() += n;
            }
        }
    }
    for what in [
        "batch landed",
        "conflict",
        "conflict inside a batch",
        "landed as gated ahead",
        "landed in a crash",
        "landing deferred",
        "landing failed, base unmoved",
        "landing refused",
        "rejected for conflicting",
        "rejected for failing",
        "result of a dead queue's job",
        "set aside behind the head",
        "split at head",
        "stale result ignored",
        "three or more gated ahead",
    ] {
        assert!(
            seen.get(what).copied().unwrap_or(0) >= 5,
            "{what}: {seen:?}"
        );
    }
}
