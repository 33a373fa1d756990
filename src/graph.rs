//! The task graph: which tasks are complete, which may start, where the dependencies go round in a
//! circle, and which ready work to hand out first.
//!
//! Pure computation over plain data; the store loads tasks and `blocks` edges and asks questions here.
//!
//! Everything is phrased over a *wait-for* graph. Every task `x` has a node for "x is complete"; a task
//! with children has a second node `x^` for "x may start", because an epic's start and its completion
//! wait for different things (its start waits for its own dependencies, its completion for its
//! children). Edges mean "waits for":
//!
//! - `t` depends on `d`: `start(t) -> d`;
//! - `c` is a child of `p`: `p -> c` (completion waits for children) and `start(c) -> start(p)`
//!   (a child inherits the dependencies of its ancestors).
//!
//! A cycle there is a set of tasks that can never all finish. Every traversal is iterative because
//! graphs reach 100,000 tasks with chains 10,000 long, far deeper than the call stack allows.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;

use crate::model::{Complexity, TaskId, TaskStatus, TaskType};

/// A task as far as the graph is concerned.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: TaskId,
    pub kind: TaskType,
    pub status: TaskStatus,
    pub complexity: Option<Complexity>,
    pub parent: Option<TaskId>,
    /// Creation order: smaller is older, and no two tasks share one.
    pub age: i64,
}

/// Why a set of tasks and edges does not make a graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// An edge or a parent names an id that is not among the tasks.
    #[error("unknown task `{0}`")]
    UnknownTask(TaskId),
    #[error("duplicate task `{0}`")]
    DuplicateTask(TaskId),
}

/// A cycle, spelled out: each task waits for the next, and the first is repeated at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<TaskId>);

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// Marks a wait-node slot that has not been reached yet.
const NONE: u32 = u32::MAX;

/// Tasks, their tree, and the wait-for graph, with completeness and readiness worked out once.
///
/// Wait-nodes `0..len()` are the completion nodes of the tasks in input order; the start nodes of tasks
/// with children follow. Adjacency is stored flat (offsets into one array) so that 100,000 tasks cost a
/// handful of allocations rather than one per task.
#[derive(Debug, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<TaskId, usize>,
    /// `children[child_start[i]..child_start[i + 1]]` are task `i`'s children, oldest first.
    child_start: Vec<u32>,
    children: Vec<u32>,
    /// Per task: the wait-node at which it may start.
    start: Vec<u32>,
    /// Per wait-node: the task it belongs to.
    owner: Vec<u32>,
    /// `out[out_start[w]..out_start[w + 1]]` are what wait-node `w` waits for.
    out_start: Vec<u32>,
    out: Vec<u32>,
    /// Parallel to `out`: whether the edge is a `blocks` dependency rather than a parent link; used to
    /// begin a reported cycle at a dependency someone added, which is what a person would fix.
    out_blocks: Vec<bool>,
    complete: Vec<bool>,
    satisfied: Vec<bool>,
}

fn ix(i: usize) -> u32 {
    u32::try_from(i).expect("a graph holds fewer than 2^32 wait-nodes and edges")
}

impl Graph {
    /// Builds the graph from tasks and `(task, depends_on)` blocks edges.
    ///
    /// Parent links that loop are accepted here and show up as a cycle from `find_cycle`, since that is
    /// how the caller reports every other impossible arrangement.
    pub fn new(nodes: Vec<Node>, blocks: Vec<(TaskId, TaskId)>) -> Result<Graph, GraphError> {
        let n = nodes.len();
        let mut index = HashMap::with_capacity(n);
        for (i, node) in nodes.iter().enumerate() {
            if index.insert(node.id.clone(), i).is_some() {
                return Err(GraphError::DuplicateTask(node.id.clone()));
            }
        }
        let lookup = |id: &TaskId| {
            index
                .get(id)
                .copied()
                .ok_or_else(|| GraphError::UnknownTask(id.clone()))
        };
        let parent = nodes
            .iter()
            .map(|node| node.parent.as_ref().map(lookup).transpose())
            .collect::<Result<Vec<Option<usize>>, _>>()?;
        let deps = blocks
            .iter()
            .map(|(task, depends_on)| Ok((lookup(task)?, lookup(depends_on)?)))
            .collect::<Result<Vec<(usize, usize)>, GraphError>>()?;

        let mut child_start = vec![0u32; n + 1];
        for p in parent.iter().flatten() {
            child_start[p + 1] += 1;
        }
        for i in 0..n {
            child_start[i + 1] += child_start[i];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0u32; child_start[n] as usize];
        for (c, p) in parent.iter().enumerate() {
            if let Some(p) = *p {
                children[fill[p] as usize] = ix(c);
                fill[p] += 1;
            }
        }
        for i in 0..n {
            let slice = &mut children[child_start[i] as usize..child_start[i + 1] as usize];
            slice.sort_unstable_by_key(|&c| nodes[c as usize].age);
        }

        let mut owner: Vec<u32> = (0..ix(n)).collect();
        let mut start = owner.clone();
        for i in 0..n {
            if child_start[i + 1] > child_start[i] {
                start[i] = ix(owner.len());
                owner.push(ix(i));
            }
        }

        let mut edges = Vec::with_capacity(deps.len() + 2 * children.len());
        for &(t, d) in &deps {
            edges.push((start[t], ix(d), true));
        }
        for (c, p) in parent.iter().enumerate() {
            if let Some(p) = *p {
                edges.push((ix(p), ix(c), false));
                edges.push((start[c], start[p], false));
            }
        }
        let m = owner.len();
        let mut out_start = vec![0u32; m + 1];
        for &(from, _, _) in &edges {
            out_start[from as usize + 1] += 1;
        }
        for w in 0..m {
            out_start[w + 1] += out_start[w];
        }
        let mut fill = out_start.clone();
        let mut out = vec![0u32; edges.len()];
        let mut out_blocks = vec![false; edges.len()];
        for &(from, to, is_blocks) in &edges {
            let slot = fill[from as usize] as usize;
            out[slot] = to;
            out_blocks[slot] = is_blocks;
            fill[from as usize] += 1;
        }

        // Complete is the least fixed point of its definition: a task becomes complete when done, an epic
        // when its last child does. Epics in a parent loop therefore stay incomplete instead of vouching
        // for each other.
        let mut complete = vec![false; n];
        let mut incomplete_children: Vec<u32> = (0..n)
            .map(|i| child_start[i + 1] - child_start[i])
            .collect();
        let mut queue: Vec<usize> = (0..n)
            .filter(|&i| nodes[i].status == TaskStatus::Done)
            .collect();
        for &i in &queue {
            complete[i] = true;
        }
        while let Some(i) = queue.pop() {
            if let Some(p) = parent[i] {
                incomplete_children[p] -= 1;
                if incomplete_children[p] == 0 && !complete[p] && nodes[p].kind == TaskType::Epic {
                    complete[p] = true;
                    queue.push(p);
                }
            }
        }

        // Satisfaction flows down from the roots; a task whose ancestry loops is never reached and so
        // never satisfied, as nothing can sensibly start inside such a tangle.
        let mut own_deps_met = vec![true; n];
        for &(t, d) in &deps {
            if !complete[d] {
                own_deps_met[t] = false;
            }
        }
        let mut satisfied = vec![false; n];
        let mut stack: Vec<usize> = (0..n).filter(|&i| parent[i].is_none()).collect();
        for &i in &stack {
            satisfied[i] = own_deps_met[i];
        }
        while let Some(p) = stack.pop() {
            for &c in &children[child_start[p] as usize..child_start[p + 1] as usize] {
                let c = c as usize;
                satisfied[c] = satisfied[p] && own_deps_met[c];
                stack.push(c);
            }
        }

        Ok(Graph {
            nodes,
            index,
            child_start,
            children,
            start,
            owner,
            out_start,
            out,
            out_blocks,
            complete,
            satisfied,
        })
    }

    /// The number of tasks.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, id: &TaskId) -> Option<&Node> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    fn edges(&self, w: usize) -> std::ops::Range<usize> {
        self.out_start[w] as usize..self.out_start[w + 1] as usize
    }

    fn child_indices(&self, i: usize) -> &[u32] {
        &self.children[self.child_start[i] as usize..self.child_start[i + 1] as usize]
    }

    /// Some cycle of the wait-for graph, or `None` when every task can eventually finish.
    ///
    /// The cycle begins at the task owning its oldest `blocks` dependency, so the same graph is always
    /// reported the same way and the report starts where a person would cut.
    pub fn find_cycle(&self) -> Option<Cycle> {
        let m = self.owner.len();
        // 0: unseen, 1: on the current path, 2: finished.
        let mut state = vec![0u8; m];
        let mut path: Vec<(u32, u32)> = Vec::new();
        for root in 0..m {
            if state[root] != 0 {
                continue;
            }
            state[root] = 1;
            path.push((ix(root), self.out_start[root]));
            while let Some(top) = path.last_mut() {
                let w = top.0 as usize;
                if (top.1 as usize) < self.edges(w).end {
                    let e = top.1 as usize;
                    top.1 += 1;
                    let v = self.out[e] as usize;
                    match state[v] {
                        0 => {
                            state[v] = 1;
                            path.push((ix(v), self.out_start[v]));
                        }
                        1 => {
                            let at = path
                                .iter()
                                .rposition(|&(x, _)| x as usize == v)
                                .expect("a node marked on-path is on the path");
                            // Each frame's cursor has moved just past the edge taken out of it.
                            let walk: Vec<(u32, bool)> = path[at..]
                                .iter()
                                .map(|&(x, next)| (x, self.out_blocks[next as usize - 1]))
                                .collect();
                            return Some(self.spell(&self.rotate(&walk)));
                        }
                        _ => {}
                    }
                } else {
                    state[w] = 2;
                    path.pop();
                }
            }
        }
        None
    }

    /// Rotates a closed walk (each node with whether the edge leaving it is a dependency) to begin at
    /// the oldest task whose dependency is on it, or at the oldest task if none is.
    fn rotate(&self, walk: &[(u32, bool)]) -> Vec<u32> {
        let age = |w: u32| self.nodes[self.owner[w as usize] as usize].age;
        let begin = walk
            .iter()
            .enumerate()
            .min_by_key(|&(_, &(w, is_blocks))| (!is_blocks, age(w)))
            .map_or(0, |(i, _)| i);
        walk[begin..]
            .iter()
            .chain(&walk[..begin])
            .map(|&(w, _)| w)
            .collect()
    }

    /// Turns a closed walk over wait-nodes into task ids, merging a task's two nodes when they meet.
    fn spell(&self, walk: &[u32]) -> Cycle {
        let mut ids: Vec<TaskId> = Vec::with_capacity(walk.len() + 1);
        for &w in walk {
            let id = &self.nodes[self.owner[w as usize] as usize].id;
            if ids.last() != Some(id) {
                ids.push(id.clone());
            }
        }
        if ids.len() > 1 && ids.first() == ids.last() {
            ids.pop();
        }
        if let Some(first) = ids.first().cloned() {
            ids.push(first);
        }
        Cycle(ids)
    }

    /// The cycle that adding "`task` depends on `depends_on`" would close, beginning with `task`; `None`
    /// when the edge is safe to add or names an unknown task (which `new` would refuse anyway).
    ///
    /// The new edge runs from `start(task)` to `depends_on`, so it closes a cycle exactly when
    /// `depends_on` already waits, perhaps indirectly, for `start(task)`. The search is breadth-first so
    /// the reported cycle is a shortest one, and only touches what `depends_on` waits for.
    pub fn cycle_if_added(&self, task: &TaskId, depends_on: &TaskId) -> Option<Cycle> {
        let t = *self.index.get(task)?;
        let d = *self.index.get(depends_on)?;
        let target = self.start[t];
        let from = ix(d);
        let mut came_from: HashMap<u32, u32> = HashMap::new();
        came_from.insert(from, NONE);
        let mut queue = VecDeque::from([from]);
        while let Some(w) = queue.pop_front() {
            if w == target {
                let mut back = vec![w];
                let mut at = w;
                while at != from {
                    at = came_from[&at];
                    back.push(at);
                }
                // `back` runs target ..= from; the cycle is target, then from onwards to just before target.
                let mut walk = vec![target];
                walk.extend(back[1..].iter().rev());
                return Some(self.spell(&walk));
            }
            for e in self.edges(w as usize) {
                let v = self.out[e];
                if let Entry::Vacant(slot) = came_from.entry(v) {
                    slot.insert(w);
                    queue.push_back(v);
                }
            }
        }
        None
    }

    /// Per wait-node: the length of the longest chain of nodes waiting on it.
    ///
    /// Nodes on a cycle get 0, since a chain around a cycle has no longest length; they still count as
    /// one link for whatever they wait for, so work beneath a cycle keeps a sensible order. Strongly
    /// connected components (iterative Tarjan) find the cycles and come out in reverse topological
    /// order, which is the order the longest-chain pass needs.
    fn wait_priorities(&self) -> Vec<u32> {
        let m = self.owner.len();
        let mut index = vec![NONE; m];
        let mut low = vec![0u32; m];
        let mut on_stack = vec![false; m];
        let mut cyclic = vec![false; m];
        let mut component: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, u32)> = Vec::new();
        // Nodes as their components complete: whatever a node waits for comes before it.
        let mut order: Vec<u32> = Vec::with_capacity(m);
        let mut next = 0u32;
        for root in 0..m {
            if index[root] != NONE {
                continue;
            }
            index[root] = next;
            low[root] = next;
            next += 1;
            component.push(ix(root));
            on_stack[root] = true;
            calls.push((ix(root), self.out_start[root]));
            while let Some(frame) = calls.last_mut() {
                let w = frame.0 as usize;
                if (frame.1 as usize) < self.edges(w).end {
                    let v = self.out[frame.1 as usize] as usize;
                    frame.1 += 1;
                    if index[v] == NONE {
                        index[v] = next;
                        low[v] = next;
                        next += 1;
                        component.push(ix(v));
                        on_stack[v] = true;
                        calls.push((ix(v), self.out_start[v]));
                    } else if on_stack[v] {
                        low[w] = low[w].min(index[v]);
                        if v == w {
                            cyclic[w] = true;
                        }
                    }
                } else {
                    calls.pop();
                    if let Some(&(caller, _)) = calls.last() {
                        let caller = caller as usize;
                        low[caller] = low[caller].min(low[w]);
                    }
                    if low[w] == index[w] {
                        let first = order.len();
                        loop {
                            let x = component
                                .pop()
                                .expect("a component's root is still on the stack");
                            on_stack[x as usize] = false;
                            order.push(x);
                            if x as usize == w {
                                break;
                            }
                        }
                        if order.len() - first > 1 {
                            for &x in &order[first..] {
                                cyclic[x as usize] = true;
                            }
                        }
                    }
                }
            }
        }

        let mut priority = vec![0u32; m];
        for &w in order.iter().rev() {
            let w = w as usize;
            let link = priority[w] + 1;
            for e in self.edges(w) {
                let v = self.out[e] as usize;
                if !cyclic[v] && priority[v] < link {
                    priority[v] = link;
                }
            }
        }
        priority
    }

    /// Every task's priority, in input order: the length of the longest chain of wait-for nodes ending
    /// at its completion, so tasks that much else waits on, along long chains, come first.
    ///
    /// If the graph has a cycle, tasks on it get 0 rather than an endless chain.
    pub fn priorities(&self) -> Vec<(TaskId, u32)> {
        let priority = self.wait_priorities();
        self.nodes
            .iter()
            .zip(priority)
            .map(|(node, p)| (node.id.clone(), p))
            .collect()
    }

    /// Done, or an epic with at least one child and every child complete; false for unknown ids.
    pub fn is_complete(&self, id: &TaskId) -> bool {
        self.index.get(id).is_some_and(|&i| self.complete[i])
    }

    /// Pending, not an epic, and every dependency of it and of its ancestors complete.
    pub fn is_ready(&self, id: &TaskId) -> bool {
        self.index.get(id).is_some_and(|&i| self.ready_at(i))
    }

    fn ready_at(&self, i: usize) -> bool {
        let node = &self.nodes[i];
        node.status == TaskStatus::Pending && node.kind != TaskType::Epic && self.satisfied[i]
    }

    /// The ready tasks, best first: highest priority, then most complex, then oldest.
    pub fn ready(&self) -> Vec<TaskId> {
        let priority = self.wait_priorities();
        let mut ready: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.ready_at(i))
            .collect();
        ready.sort_unstable_by_key(|&i| {
            let node = &self.nodes[i];
            (
                Reverse(priority[i]),
                Reverse(node.complexity.map_or(0, Complexity::get)),
                node.age,
            )
        });
        ready
            .into_iter()
            .map(|i| self.nodes[i].id.clone())
            .collect()
    }

    /// A task's direct children, oldest first; empty for unknown ids.
    pub fn children(&self, id: &TaskId) -> Vec<TaskId> {
        self.index.get(id).map_or_else(Vec::new, |&i| {
            self.child_indices(i)
                .iter()
                .map(|&c| self.nodes[c as usize].id.clone())
                .collect()
        })
    }

    /// `(complete direct children, direct children)`; `(0, 0)` for unknown ids.
    pub fn epic_progress(&self, id: &TaskId) -> (usize, usize) {
        self.index.get(id).map_or((0, 0), |&i| {
            let kids = self.child_indices(i);
            let done = kids.iter().filter(|&&c| self.complete[c as usize]).count();
            (done, kids.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    use TaskStatus::{Done, Pending};
    use TaskType::{Bug, Epic, Story, Task};

    fn id(s: &str) -> TaskId {
        TaskId::new(s).unwrap()
    }

    fn ids(list: &[&str]) -> Vec<TaskId> {
        list.iter().map(|s| id(s)).collect()
    }

    /// A pending plain task; tests adjust the fields they care about.
    fn task(name: &str, age: i64) -> Node {
        Node {
            id: id(name),
            kind: Task,
            status: Pending,
            complexity: None,
            parent: None,
            age,
        }
    }

    fn epic(name: &str, age: i64) -> Node {
        Node {
            kind: Epic,
            ..task(name, age)
        }
    }

    fn under(mut node: Node, parent: &str) -> Node {
        node.parent = Some(id(parent));
        node
    }

    fn done(mut node: Node) -> Node {
        node.status = Done;
        node
    }

    fn graph(nodes: Vec<Node>, blocks: &[(&str, &str)]) -> Graph {
        let blocks = blocks.iter().map(|(t, d)| (id(t), id(d))).collect();
        Graph::new(nodes, blocks).unwrap()
    }

    fn cycle(g: &Graph) -> Option<String> {
        g.find_cycle().map(|c| c.to_string())
    }

    fn priority(g: &Graph, name: &str) -> u32 {
        g.priorities()
            .into_iter()
            .find(|(t, _)| t == &id(name))
            .unwrap()
            .1
    }

    #[test]
    fn unknown_and_duplicate_tasks_are_refused() {
        let err = Graph::new(vec![task("A", 1)], vec![(id("A"), id("B"))]).unwrap_err();
        assert_eq!(err, GraphError::UnknownTask(id("B")));
        let err = Graph::new(vec![under(task("A", 1), "E")], vec![]).unwrap_err();
        assert_eq!(err, GraphError::UnknownTask(id("E")));
        let err = Graph::new(vec![task("A", 1), task("A", 2)], vec![]).unwrap_err();
        assert_eq!(err, GraphError::DuplicateTask(id("A")));
        assert_eq!(err.to_string(), "duplicate task `A`");
    }

    #[test]
    fn cycles_are_spelled_by_task() {
        let plain = graph(
            vec![task("T3", 1), task("T5", 2)],
            &[("T3", "T5"), ("T5", "T3")],
        );
        assert_eq!(cycle(&plain).as_deref(), Some("T3 -> T5 -> T3"));

        let selfish = graph(vec![task("T1", 1)], &[("T1", "T1")]);
        assert_eq!(selfish.find_cycle(), Some(Cycle(ids(&["T1", "T1"]))));

        let on_own_epic = graph(vec![epic("E", 1), under(task("T", 2), "E")], &[("T", "E")]);
        assert_eq!(cycle(&on_own_epic).as_deref(), Some("T -> E -> T"));

        let on_own_child = graph(vec![under(task("T", 1), "E"), epic("E", 2)], &[("E", "T")]);
        assert_eq!(cycle(&on_own_child).as_deref(), Some("E -> T -> E"));

        // E^ -> E -> c -> E^: the epic's two nodes meet, and it is named once.
        let epic_on_itself = graph(vec![epic("E", 1), under(task("c", 2), "E")], &[("E", "E")]);
        assert_eq!(cycle(&epic_on_itself).as_deref(), Some("E -> c -> E"));

        let parent_loop = graph(
            vec![under(epic("A", 1), "B"), under(epic("B", 2), "A")],
            &[],
        );
        assert!(parent_loop.find_cycle().is_some());
        assert!(!parent_loop.is_complete(&id("A")));

        // Siblings may wait for each other, and outsiders for the epic: long waits, not cycles.
        let fine = graph(
            vec![
                epic("E", 1),
                under(task("a", 2), "E"),
                under(task("b", 3), "E"),
                task("x", 4),
            ],
            &[("b", "a"), ("x", "E"), ("x", "b")],
        );
        assert_eq!(fine.find_cycle(), None);
    }

    #[test]
    fn cycle_if_added_names_the_cycle_from_the_new_dependent() {
        let g = graph(vec![task("T3", 1), task("T5", 2)], &[("T5", "T3")]);
        assert_eq!(
            g.cycle_if_added(&id("T3"), &id("T5")),
            Some(Cycle(ids(&["T3", "T5", "T3"])))
        );
        assert_eq!(g.cycle_if_added(&id("T5"), &id("T3")), None);
        assert_eq!(
            g.cycle_if_added(&id("T1"), &id("T1")),
            None,
            "unknown ids are for `new` to refuse"
        );
        assert_eq!(
            g.cycle_if_added(&id("T3"), &id("T3")),
            Some(Cycle(ids(&["T3", "T3"])))
        );
        assert_eq!(g.find_cycle(), None, "asking must not add the edge");

        let nested = graph(
            vec![epic("E", 1), under(task("T", 2), "E"), task("X", 3)],
            &[("X", "T")],
        );
        assert_eq!(
            nested
                .cycle_if_added(&id("T"), &id("E"))
                .map(|c| c.to_string()),
            Some("T -> E -> T".into())
        );
        assert_eq!(
            nested
                .cycle_if_added(&id("E"), &id("X"))
                .map(|c| c.to_string()),
            Some("E -> X -> T -> E".into())
        );
        assert_eq!(nested.cycle_if_added(&id("X"), &id("E")), None);
    }

    #[test]
    fn epics_complete_when_all_their_children_do() {
        let g = graph(
            vec![
                epic("empty", 1),
                epic("outer", 2),
                under(epic("inner", 3), "outer"),
                under(done(task("a", 4)), "inner"),
                under(done(task("b", 5)), "outer"),
                epic("half", 6),
                under(done(task("c", 7)), "half"),
                under(task("d", 8), "half"),
                epic("hollow", 9),
                under(epic("void", 10), "hollow"),
                done(epic("closed", 11)),
                Node {
                    kind: Story,
                    ..task("story", 12)
                },
                under(done(task("e", 13)), "story"),
            ],
            &[],
        );
        assert!(
            !g.is_complete(&id("empty")),
            "an empty epic is not complete"
        );
        assert!(g.is_complete(&id("inner")));
        assert!(g.is_complete(&id("outer")), "nested epics complete upwards");
        assert!(!g.is_complete(&id("half")));
        assert!(!g.is_complete(&id("hollow")), "its only child is empty");
        assert!(g.is_complete(&id("closed")), "done is done");
        assert!(
            !g.is_complete(&id("story")),
            "only an epic is complete through its children"
        );
        assert!(!g.is_complete(&id("nobody")));
        assert_eq!(g.epic_progress(&id("half")), (1, 2));
        assert_eq!(g.epic_progress(&id("outer")), (2, 2));
        assert_eq!(g.epic_progress(&id("empty")), (0, 0));
        assert_eq!(g.children(&id("half")), ids(&["c", "d"]));
    }

    #[test]
    fn tasks_inherit_the_dependencies_of_their_ancestors() {
        let nodes = |a1_done: bool| {
            let a1 = under(task("a1", 2), "A");
            vec![
                epic("A", 1),
                if a1_done { done(a1) } else { a1 },
                epic("B", 3),
                under(epic("B1", 4), "B"),
                under(task("b", 5), "B1"),
                task("free", 6),
            ]
        };
        let blocked = graph(nodes(false), &[("B", "A")]);
        assert!(!blocked.is_ready(&id("b")), "grandparent B waits for A");
        assert_eq!(blocked.ready(), ids(&["a1", "free"]));

        let unblocked = graph(nodes(true), &[("B", "A")]);
        assert!(unblocked.is_complete(&id("A")));
        assert!(unblocked.is_ready(&id("b")));
        assert!(!unblocked.is_ready(&id("B")), "epics are never ready");
        assert!(!unblocked.is_ready(&id("a1")), "done is not pending");
    }

    #[test]
    fn priority_is_the_longest_chain_waiting_on_a_task() {
        let chain = graph(
            vec![task("A", 1), task("B", 2), task("C", 3)],
            &[("B", "A"), ("C", "B")],
        );
        let got: Vec<u32> = chain.priorities().into_iter().map(|(_, p)| p).collect();
        assert_eq!(got, vec![2, 1, 0]);

        // X waits for E, whose completion waits for c: c is the one to start.
        let through_epic = graph(
            vec![epic("E", 1), under(task("c", 2), "E"), task("X", 3)],
            &[("X", "E")],
        );
        assert_eq!(priority(&through_epic, "X"), 0);
        assert_eq!(priority(&through_epic, "E"), 1);
        assert_eq!(priority(&through_epic, "c"), 2);

        // On a cycle there is no longest chain: its tasks get 0, and what they wait for still counts them.
        let looped = graph(
            vec![task("T1", 1), task("T2", 2), task("T3", 3), task("W", 4)],
            &[("T1", "T2"), ("T2", "T1"), ("T1", "T3"), ("W", "T1")],
        );
        assert_eq!(priority(&looped, "T1"), 0);
        assert_eq!(priority(&looped, "T2"), 0);
        assert_eq!(priority(&looped, "T3"), 1);
    }

    #[test]
    fn ready_orders_by_priority_then_complexity_then_age() {
        let mut hard = task("hard", 5);
        hard.complexity = Some(Complexity::new(8).unwrap());
        let mut easy = task("easy", 1);
        easy.complexity = Some(Complexity::new(2).unwrap());
        let mut key = task("key", 6);
        key.complexity = Some(Complexity::new(1).unwrap());
        let g = graph(
            vec![
                task("young", 4),
                task("old", 3),
                easy,
                hard,
                key,
                task("after", 7),
            ],
            &[("after", "key")],
        );
        assert_eq!(g.ready(), ids(&["key", "hard", "easy", "old", "young"]));
    }

    #[test]
    fn deep_graphs_do_not_exhaust_the_stack() {
        let n = 100_000;
        let name = |i: usize| format!("t{i}");
        let mut nodes: Vec<Node> = (0..n).map(|i| task(&name(i), i as i64)).collect();
        // Ten thousand epics nested in one another, the innermost holding the chain's head.
        for (i, node) in nodes.iter_mut().enumerate().take(10_000) {
            node.kind = Epic;
            if i > 0 {
                node.parent = Some(id(&name(i - 1)));
            }
        }
        nodes[10_000].parent = Some(id(&name(9_999)));
        let blocks: Vec<(TaskId, TaskId)> = (10_001..n)
            .map(|i| (id(&name(i)), id(&name(i - 1))))
            .collect();
        let g = Graph::new(nodes, blocks).unwrap();
        assert_eq!(g.find_cycle(), None);
        let priorities = g.priorities();
        assert_eq!(priorities[n - 1].1, 0);
        assert_eq!(priorities[10_000].1, (n - 10_001) as u32);
        assert_eq!(g.ready(), ids(&["t10000"]));
        assert!(g
            .cycle_if_added(&id(&name(10_000)), &id(&name(n - 1)))
            .is_some());
        assert!(g.cycle_if_added(&id("t0"), &id(&name(n - 1))).is_some());
    }

    // ---- property tests against a naive transcription of the definitions ----

    /// The definitions of the module doc, written as directly as possible, with recursion.
    struct Naive {
        nodes: Vec<Node>,
        deps: Vec<Vec<usize>>,
        children: Vec<Vec<usize>>,
        parent: Vec<Option<usize>>,
        /// Wait-for edges between `(task, is_start_node)` pairs.
        waits: HashMap<(usize, bool), Vec<(usize, bool)>>,
    }

    impl Naive {
        fn new(nodes: &[Node], blocks: &[(TaskId, TaskId)]) -> Naive {
            let at = |t: &TaskId| nodes.iter().position(|n| &n.id == t).unwrap();
            let n = nodes.len();
            let mut deps = vec![Vec::new(); n];
            for (t, d) in blocks {
                deps[at(t)].push(at(d));
            }
            let parent: Vec<Option<usize>> =
                nodes.iter().map(|x| x.parent.as_ref().map(at)).collect();
            let mut children = vec![Vec::new(); n];
            for (c, p) in parent.iter().enumerate() {
                if let Some(p) = p {
                    children[*p].push(c);
                }
            }
            let start = |i: usize| (i, !children[i].is_empty());
            let mut waits: HashMap<(usize, bool), Vec<(usize, bool)>> = HashMap::new();
            for (t, ds) in deps.iter().enumerate() {
                for &d in ds {
                    waits.entry(start(t)).or_default().push((d, false));
                }
            }
            for (c, p) in parent.iter().enumerate() {
                if let Some(p) = *p {
                    waits.entry((p, false)).or_default().push((c, false));
                    waits.entry(start(c)).or_default().push(start(p));
                }
            }
            Naive {
                nodes: nodes.to_vec(),
                deps,
                children,
                parent,
                waits,
            }
        }

        fn wait_nodes(&self) -> Vec<(usize, bool)> {
            let mut all: Vec<(usize, bool)> = (0..self.nodes.len()).map(|i| (i, false)).collect();
            all.extend(
                (0..self.nodes.len())
                    .filter(|&i| !self.children[i].is_empty())
                    .map(|i| (i, true)),
            );
            all
        }

        fn next(&self, w: (usize, bool)) -> &[(usize, bool)] {
            self.waits.get(&w).map_or(&[], Vec::as_slice)
        }

        fn complete(&self, i: usize) -> bool {
            self.nodes[i].status == Done
                || (self.nodes[i].kind == Epic
                    && !self.children[i].is_empty()
                    && self.children[i].iter().all(|&c| self.complete(c)))
        }

        fn satisfied(&self, i: usize) -> bool {
            self.deps[i].iter().all(|&d| self.complete(d))
                && self.parent[i].is_none_or(|p| self.satisfied(p))
        }

        fn ready(&self) -> HashSet<TaskId> {
            (0..self.nodes.len())
                .filter(|&i| {
                    self.nodes[i].status == Pending
                        && self.nodes[i].kind != Epic
                        && self.satisfied(i)
                })
                .map(|i| self.nodes[i].id.clone())
                .collect()
        }

        /// Whether `to` can be reached from `from` along at least one edge.
        fn reaches(&self, from: (usize, bool), to: (usize, bool)) -> bool {
            let mut seen = HashSet::new();
            let mut todo: Vec<(usize, bool)> = self.next(from).to_vec();
            while let Some(w) = todo.pop() {
                if w == to {
                    return true;
                }
                if seen.insert(w) {
                    todo.extend_from_slice(self.next(w));
                }
            }
            false
        }

        fn has_cycle(&self) -> bool {
            self.wait_nodes().into_iter().any(|w| self.reaches(w, w))
        }

        /// Whether the spelled cycle is some closed walk of the wait-for graph: from one of the first
        /// task's nodes, stepping through each named task in turn (moving between a task's own two nodes
        /// for free), and back to the node it began at.
        fn is_walk(&self, cycle: &[TaskId]) -> bool {
            let at = |t: &TaskId| self.nodes.iter().position(|n| &n.id == t).unwrap();
            let tasks: Vec<usize> = cycle.iter().map(at).collect();
            let within = |set: HashSet<(usize, bool)>| {
                let mut set = set;
                for w in set.clone() {
                    set.extend(self.next(w).iter().filter(|v| v.0 == w.0));
                }
                set
            };
            self.wait_nodes()
                .into_iter()
                .filter(|w| w.0 == tasks[0])
                .any(|begin| {
                    let mut here = within(HashSet::from([begin]));
                    for &t in &tasks[1..] {
                        let step: HashSet<(usize, bool)> = here
                            .iter()
                            .flat_map(|&w| self.next(w).iter().copied())
                            .filter(|v| v.0 == t)
                            .collect();
                        here = within(step);
                    }
                    here.contains(&begin)
                })
        }

        fn priority(&self, w: (usize, bool), memo: &mut HashMap<(usize, bool), u32>) -> u32 {
            if let Some(&p) = memo.get(&w) {
                return p;
            }
            let waiting: Vec<(usize, bool)> = self
                .wait_nodes()
                .into_iter()
                .filter(|&p| self.next(p).contains(&w))
                .collect();
            let p = waiting
                .into_iter()
                .map(|p| 1 + self.priority(p, memo))
                .max()
                .unwrap_or(0);
            memo.insert(w, p);
            p
        }

        /// Tasks that can become complete at all: a childless epic never does, nor an epic over one.
        fn completable(&self, i: usize) -> bool {
            self.nodes[i].kind != Epic
                || (!self.children[i].is_empty()
                    && self.children[i].iter().all(|&c| self.completable(c)))
        }
    }

    #[derive(Debug, Clone)]
    struct Case {
        nodes: Vec<Node>,
        edges: Vec<(TaskId, TaskId)>,
    }

    /// Up to 30 tasks of every kind and status, parents always epics created earlier (so parent links
    /// never loop), listed in shuffled order, and up to 60 arbitrary blocks edges.
    fn cases() -> impl Strategy<Value = Case> {
        (1..=30usize).prop_flat_map(|n| {
            let kind =
                prop_oneof![2 => Just(Epic), 1 => Just(Story), 2 => Just(Task), 1 => Just(Bug)];
            let status = proptest::sample::select(TaskStatus::ALL.to_vec());
            let complexity = proptest::option::of(1..=10i64);
            let parent = proptest::option::weighted(0.7, 0..1000usize);
            (
                proptest::collection::vec((kind, status, complexity, parent), n),
                proptest::collection::vec((0..n, 0..n), 0..=2 * n),
                Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
                Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            )
                .prop_map(|(specs, edges, ages, order)| {
                    let name = |i: usize| id(&format!("T{i}"));
                    let mut epics = Vec::new();
                    let mut nodes = Vec::new();
                    for (i, (kind, status, complexity, parent)) in specs.into_iter().enumerate() {
                        let parent = parent
                            .filter(|_| !epics.is_empty())
                            .map(|p| name(epics[p % epics.len()]));
                        nodes.push(Node {
                            id: name(i),
                            kind,
                            status,
                            complexity: complexity.map(|c| Complexity::new(c).unwrap()),
                            parent,
                            age: ages[i] as i64 * 10,
                        });
                        if kind == Epic {
                            epics.push(i);
                        }
                    }
                    Case {
                        nodes: order.iter().map(|&i| nodes[i].clone()).collect(),
                        edges: edges.into_iter().map(|(t, d)| (name(t), name(d))).collect(),
                    }
                })
        })
    }

    fn all_pending(mut case: Case) -> Case {
        for node in &mut case.nodes {
            node.status = Pending;
        }
        case
    }

    /// Adds the case's edges one at a time, keeping those `cycle_if_added` allows.
    fn acyclic_edges(case: &Case) -> Vec<(TaskId, TaskId)> {
        let mut kept = Vec::new();
        let mut g = Graph::new(case.nodes.clone(), Vec::new()).unwrap();
        for edge in &case.edges {
            if g.cycle_if_added(&edge.0, &edge.1).is_none() {
                kept.push(edge.clone());
                g = Graph::new(case.nodes.clone(), kept.clone()).unwrap();
            }
        }
        kept
    }

    proptest! {
        #[test]
        fn cycle_if_added_keeps_the_graph_acyclic_and_reports_real_cycles(case in cases()) {
            let mut kept: Vec<(TaskId, TaskId)> = Vec::new();
            let mut g = Graph::new(case.nodes.clone(), Vec::new()).unwrap();
            for (t, d) in &case.edges {
                let mut with = kept.clone();
                with.push((t.clone(), d.clone()));
                let naive = Naive::new(&case.nodes, &with);
                match g.cycle_if_added(t, d) {
                    Some(c) => {
                        prop_assert!(naive.has_cycle());
                        prop_assert_eq!(c.0.first(), Some(t));
                        prop_assert_eq!(c.0.last(), Some(t));
                        prop_assert!(naive.is_walk(&c.0), "{} is not a cycle", c);
                    }
                    None => {
                        prop_assert!(!naive.has_cycle(), "missed a cycle adding {} -> {}", t, d);
                        kept = with;
                        g = Graph::new(case.nodes.clone(), kept.clone()).unwrap();
                    }
                }
            }
            prop_assert_eq!(g.find_cycle(), None);
        }

        #[test]
        fn find_cycle_finds_real_cycles_exactly_when_there_are_some(case in cases()) {
            let g = Graph::new(case.nodes.clone(), case.edges.clone()).unwrap();
            let naive = Naive::new(&case.nodes, &case.edges);
            match g.find_cycle() {
                Some(c) => {
                    prop_assert!(naive.is_walk(&c.0), "{} is not a cycle", c);
                    prop_assert_eq!(c.0.first(), c.0.last());
                }
                None => prop_assert!(!naive.has_cycle()),
            }
        }

        #[test]
        fn working_through_ready_tasks_finishes_everything(case in cases()) {
            let case = all_pending(case);
            let naive = Naive::new(&case.nodes, &[]);
            let at = |t: &TaskId| case.nodes.iter().position(|n| &n.id == t).unwrap();
            // A dependency on an epic that can never complete would block forever by design.
            let edges: Vec<(TaskId, TaskId)> = case
                .edges
                .iter()
                .filter(|(_, d)| naive.completable(at(d)))
                .cloned()
                .collect();
            let edges = acyclic_edges(&Case { nodes: case.nodes.clone(), edges });
            let mut nodes = case.nodes.clone();
            let mut seen = HashSet::new();
            let mut g = Graph::new(nodes.clone(), edges.clone()).unwrap();
            for _ in 0..=nodes.len() {
                let ready = g.ready();
                if ready.is_empty() {
                    break;
                }
                for t in ready {
                    prop_assert!(seen.insert(t.clone()), "{} was ready twice", t);
                    nodes[at(&t)].status = Done;
                }
                g = Graph::new(nodes.clone(), edges.clone()).unwrap();
            }
            let naive = Naive::new(&nodes, &edges);
            for (i, node) in nodes.iter().enumerate() {
                if node.kind == Epic {
                    prop_assert_eq!(g.is_complete(&node.id), naive.completable(i), "{}", node.id);
                } else {
                    prop_assert_eq!(node.status, Done, "{} never ran", node.id);
                }
            }
        }

        #[test]
        fn ready_and_complete_agree_with_the_definitions(case in cases()) {
            let g = Graph::new(case.nodes.clone(), case.edges.clone()).unwrap();
            let naive = Naive::new(&case.nodes, &case.edges);
            let ready = g.ready();
            prop_assert_eq!(ready.iter().cloned().collect::<HashSet<_>>(), naive.ready());
            prop_assert_eq!(ready.len(), naive.ready().len());
            for (i, node) in case.nodes.iter().enumerate() {
                prop_assert_eq!(g.is_complete(&node.id), naive.complete(i), "{}", node.id);
                prop_assert_eq!(g.is_ready(&node.id), naive.ready().contains(&node.id));
                let kids = &naive.children[i];
                prop_assert_eq!(
                    g.epic_progress(&node.id),
                    (kids.iter().filter(|&&c| naive.complete(c)).count(), kids.len())
                );
            }
            let priority: HashMap<TaskId, u32> = g.priorities().into_iter().collect();
            let key = |t: &TaskId| {
                let node = g.node(t).unwrap();
                (Reverse(priority[t]), Reverse(node.complexity.map_or(0, Complexity::get)), node.age)
            };
            for pair in ready.windows(2) {
                prop_assert!(key(&pair[0]) < key(&pair[1]));
            }
        }

        #[test]
        fn priorities_are_longest_waiting_chains(case in cases()) {
            let edges = acyclic_edges(&case);
            let g = Graph::new(case.nodes.clone(), edges.clone()).unwrap();
            let naive = Naive::new(&case.nodes, &edges);
            let priority: HashMap<TaskId, u32> = g.priorities().into_iter().collect();
            let mut memo = HashMap::new();
            for (i, node) in case.nodes.iter().enumerate() {
                prop_assert_eq!(priority[&node.id], naive.priority((i, false), &mut memo), "{}", node.id);
            }
            for (t, d) in &edges {
                if g.node(t).unwrap().kind != Epic {
                    prop_assert!(priority[d] > priority[t], "{} waits for {}", t, d);
                }
            }
        }
    }
}
