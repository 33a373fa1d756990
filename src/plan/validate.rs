//! Checking a planner's answer against the schema's rules and the task graph it would join, with
//! every problem reported at once, in words the planner can act on: the problems go back to it
//! verbatim for a second try.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::graph::{Cycle, Graph, Node};
use crate::model::{
    check_path_pattern, check_text, check_title, prefix_within, Complexity, DepKind, TaskId,
    TaskStatus, TaskType,
};
use crate::suggest::did_you_mean;

/// A plan that passed every check: tasks to add as children of the epic, in the planner's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub rationale: Option<String>,
    pub tasks: Vec<PlannedTask>,
}

/// One task of a plan, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTask {
    pub id: TaskId,
    pub title: String,
    pub description: String,
    /// Never `Epic`: a plan's tasks are an epic's children.
    pub kind: TaskType,
    pub complexity: Complexity,
    /// Each target once, in the planner's order; a target is a task of the plan or an existing one.
    pub deps: Vec<(TaskId, DepKind)>,
    /// Path patterns, each accepted by `check_path_pattern`.
    pub paths: Vec<String>,
    /// A profile that `Context::known_profile` accepted; the configured default when absent.
    pub agent: Option<String>,
    pub rationale: Option<String>,
}

/// What the plan is checked against.
pub struct Context<'a> {
    /// Tasks already in the graph, as the graph sees them (kind, status, parent): deps may name
    /// them, and a cycle may run through them.
    pub existing: &'a [Node],
    /// Blocks edges already in the graph, (task, depends_on).
    pub edges: &'a [(TaskId, TaskId)],
    /// The existing epic the plan's tasks become children of, when there is one. It waits for
    /// them, so none of them may block on it.
    pub epic: Option<&'a TaskId>,
    /// Ids of existing tasks the plan may reuse (pending tasks of the epic under `--replace`); any
    /// other existing id is taken. A reused task takes the plan's fields and deps in place of its
    /// own; one the plan does not reuse still counts as an existing task that deps may name.
    pub replaceable: &'a HashSet<TaskId>,
    pub max_tasks: usize,
    /// Whether an agent name is a profile that exists, and why not.
    pub known_profile: &'a dyn Fn(&str) -> Result<(), String>,
}

/// One thing wrong with a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Which task, like ``tasks[2] (`auth-api`)``; none for the plan as a whole.
    pub task: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(task) => write!(f, "{task}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The problems as a numbered list, one a line, for the planner's second try and for the error.
pub fn problems_text<T: std::fmt::Display>(problems: &[T]) -> String {
    problems
        .iter()
        .enumerate()
        .map(|(i, problem)| format!("{}. {problem}\n", i + 1))
        .collect()
}

/// The keys of the answer and of each of its objects, in the schema's order.
const PLAN_KEYS: &[&str] = &["rationale", "tasks"];
const TASK_KEYS: &[&str] = &[
    "id",
    "title",
    "description",
    "type",
    "complexity",
    "deps",
    "paths",
    "agent",
    "rationale",
];
const DEP_KEYS: &[&str] = &["id", "kind"];

/// The task types a plan may use.
const PLAN_TYPES: &[TaskType] = &[TaskType::Story, TaskType::Task, TaskType::Bug];

/// At most this many cycles are spelled out; each one found costs a rebuild of the graph.
const MOST_CYCLES: usize = 5;

/// Checks a planner's answer: its shape (the schema's, though `rationale`, `agent`, `deps` and
/// `paths` may be left out), each field with the same checks as every other way tasks enter, ids
/// new and unique, deps that name a task, the number of tasks, and that the `blocks` deps, with the
/// epic's tree and the existing graph, leave every task able to finish.
///
/// Every problem is reported, not just the first. Cycles are looked for among the tasks and deps
/// that are fine on their own, so that one broken task does not hide a cycle among the others.
pub fn validate(answer: &Value, context: &Context<'_>) -> Result<Plan, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(top) = answer.as_object() else {
        return Err(vec![Problem {
            task: None,
            message: format!(
                "the answer is {}, not a JSON object; answer with one object \
                 {{\"rationale\": ..., \"tasks\": [...]}}",
                describe(answer)
            ),
        }]);
    };
    let mut whole = Findings::default();
    whole.unknown_keys(top, PLAN_KEYS, "the answer's keys");
    let rationale = whole.optional_text(top, "rationale");
    let entries: &[Value] = match top.get("tasks") {
        None => {
            whole.push("missing `tasks`, the list of task objects");
            &[]
        }
        Some(Value::Array(entries)) => {
            if entries.is_empty() {
                whole.push("`tasks` is empty; a plan has at least one task");
            }
            entries
        }
        Some(other) => {
            whole.push(format!(
                "`tasks` is {}, expected an array of task objects",
                describe(other)
            ));
            &[]
        }
    };
    if entries.len() > context.max_tasks {
        whole.push(format!(
            "the plan has {} tasks, more than the {} allowed; merge small tasks, or plan fewer and \
             larger ones",
            entries.len(),
            context.max_tasks
        ));
    }
    problems.extend(whole.into_problems(None));

    let mut known: Known<'_> = HashMap::with_capacity(context.existing.len());
    for node in context.existing {
        known.entry(&node.id).or_insert(node);
    }
    // Ids first, so that a dep may name a task listed after it.
    let ids: Vec<Option<TaskId>> = entries
        .iter()
        .map(|entry| {
            entry
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| TaskId::new(id).ok())
        })
        .collect();
    let mut first_with: HashMap<&TaskId, usize> = HashMap::new();
    for (at, id) in ids.iter().enumerate() {
        if let Some(id) = id {
            first_with.entry(id).or_insert(at);
        }
    }
    let labels: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(at, entry)| label(at, entry))
        .collect();
    let plan = PlanIds {
        ids: &ids,
        first_with: &first_with,
        labels: &labels,
    };

    let mut tasks = Vec::new();
    let mut cycle_candidates = Vec::new();
    for (at, entry) in entries.iter().enumerate() {
        let mut findings = Findings::default();
        let (task, sound) = check_task(at, entry, &plan, &known, context, &mut findings);
        if let Some(sound) = sound {
            cycle_candidates.push(sound);
        }
        problems.extend(findings.into_problems(Some(&labels[at])));
        tasks.extend(task);
    }
    for cycle in cycles(&known, context, &cycle_candidates) {
        problems.push(Problem {
            task: None,
            message: cycle_message(&cycle, context.epic),
        });
    }

    if problems.is_empty() {
        Ok(Plan { rationale, tasks })
    } else {
        Err(problems)
    }
}

/// The problems found in one part of the answer, as messages.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn push(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    fn into_problems(self, task: Option<&String>) -> impl Iterator<Item = Problem> + '_ {
        self.0.into_iter().map(move |message| Problem {
            task: task.cloned(),
            message,
        })
    }

    /// Names each key of `object` that is not one of `allowed`, with the nearest allowed one.
    fn unknown_keys(&mut self, object: &Map<String, Value>, allowed: &[&str], whose: &str) {
        for key in object.keys().filter(|k| !allowed.contains(&k.as_str())) {
            let hint = did_you_mean(key, allowed)
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            self.push(format!(
                "unknown key `{}`{hint}; {whose} are {}",
                shorten(key),
                list(allowed)
            ));
        }
    }

    /// A required string field; `None` (and a problem) when missing or not a string.
    fn required_string<'v>(
        &mut self,
        object: &'v Map<String, Value>,
        key: &str,
        expected: &str,
    ) -> Option<&'v str> {
        match object.get(key) {
            None => {
                self.push(format!("missing `{key}`, {expected}"));
                None
            }
            Some(Value::String(text)) => Some(text),
            Some(other) => {
                self.push(format!(
                    "`{key}` is {}, expected {expected}",
                    describe(other)
                ));
                None
            }
        }
    }

    /// A text that may be null or left out, checked with `check_text`.
    fn optional_text(&mut self, object: &Map<String, Value>, key: &str) -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => {
                if let Err(problem) = check_text(text) {
                    self.push(format!("`{key}` {problem}"));
                }
                Some(text.clone())
            }
            Some(other) => {
                self.push(format!(
                    "`{key}` is {}, expected a string or null",
                    describe(other)
                ));
                None
            }
        }
    }

    /// An array that may be left out (or null) when empty.
    fn optional_array<'v>(
        &mut self,
        object: &'v Map<String, Value>,
        key: &str,
        expected: &str,
    ) -> &'v [Value] {
        match object.get(key) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.push(format!(
                    "`{key}` is {}, expected an array of {expected}",
                    describe(other)
                ));
                &[]
            }
        }
    }
}

/// The existing tasks by id, for deps to name and for the cycle check.
type Known<'a> = HashMap<&'a TaskId, &'a Node>;

/// The plan's ids, read before any task is checked.
struct PlanIds<'p> {
    /// Per task, its id when it is a valid one.
    ids: &'p [Option<TaskId>],
    /// The first task with each id.
    first_with: &'p HashMap<&'p TaskId, usize>,
    labels: &'p [String],
}

/// What of a task can go into the cycle check: a task whose id is its own and new (or reused), with
/// its `blocks` deps on tasks that exist or are planned.
struct Sound {
    at: usize,
    id: TaskId,
    kind: TaskType,
    complexity: Option<Complexity>,
    blocks: Vec<TaskId>,
}

/// Checks one task, pushing a message per problem. Gives the task when it has none, and what of it
/// can go into the cycle check.
fn check_task(
    at: usize,
    entry: &Value,
    plan: &PlanIds<'_>,
    known: &Known<'_>,
    context: &Context<'_>,
    findings: &mut Findings,
) -> (Option<PlannedTask>, Option<Sound>) {
    let Some(object) = entry.as_object() else {
        findings.push(format!(
            "is {}, expected a task object with the keys {}",
            describe(entry),
            list(TASK_KEYS)
        ));
        return (None, None);
    };
    let before = findings.0.len();
    findings.unknown_keys(object, TASK_KEYS, "the keys of a task");

    let id = findings
        .required_string(object, "id", "a string like `auth-api`")
        .and_then(|text| {
            TaskId::new(text)
                .map_err(|e| findings.push(format!("`id`: {e}")))
                .ok()
        });
    // Whether the id is this task's own, so that the cycle check may give it a node.
    let mut own_id = id.is_some();
    if let Some(id) = &id {
        let first = plan.first_with.get(id).copied().unwrap_or(at);
        if first != at {
            own_id = false;
            findings.push(format!(
                "the id `{id}` is already the id of {}; give every task its own id",
                plan.labels[first]
            ));
        } else if let Some(node) = known.get(id) {
            if !context.replaceable.contains(id) {
                own_id = false;
                findings.push(format!(
                    "the id `{id}` is taken by an existing {} ({}); choose a new id",
                    node.kind, node.status
                ));
            }
        }
    }

    let title = findings.required_string(object, "title", "a string of one line");
    if let Some(Err(problem)) = title.map(check_title) {
        findings.push(format!("`title` {problem}"));
    }
    let description = findings.required_string(object, "description", "a string");
    if let Some(Err(problem)) = description.map(check_text) {
        findings.push(format!("`description` {problem}"));
    }

    let types = list(&PLAN_TYPES.iter().map(|t| t.as_str()).collect::<Vec<_>>());
    let kind = findings
        .required_string(object, "type", &format!("one of {types}"))
        .and_then(|text| match text.parse::<TaskType>() {
            Ok(TaskType::Epic) => {
                findings.push(format!(
                    "`type` `epic` is not allowed: the plan's tasks are the epic's children; use \
                     one of {types}"
                ));
                None
            }
            Ok(kind) => Some(kind),
            Err(_) => {
                findings.push(format!("`type` `{}` is not one of {types}", shorten(text)));
                None
            }
        });

    let complexity = check_complexity(object.get("complexity"), findings);

    let mut deps = Vec::new();
    let mut blocks = Vec::new();
    let mut seen: HashMap<TaskId, usize> = HashMap::new();
    let dep_entries =
        findings.optional_array(object, "deps", "{\"id\": ..., \"kind\": ...} objects");
    for (d, dep) in dep_entries.iter().enumerate() {
        let Some((target, dep_kind)) = check_dep(d, dep, findings) else {
            continue;
        };
        let planned = plan.first_with.contains_key(&target);
        if Some(&target) == id.as_ref() {
            findings.push(format!(
                "`deps[{d}]` names the task itself; a task cannot depend on itself"
            ));
        } else if let Some(earlier) = seen.get(&target) {
            findings.push(format!(
                "`deps[{d}]` names `{target}` again (as does `deps[{earlier}]`); list each \
                 dependency once"
            ));
        } else if !planned && !known.contains_key(&target) {
            let plan_ids: Vec<&str> = plan.ids.iter().flatten().map(TaskId::as_str).collect();
            let hint = did_you_mean(target.as_str(), &plan_ids)
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            findings.push(format!(
                "`deps[{d}]` names `{target}`{hint}, which is neither a task of this plan nor an \
                 existing task"
            ));
        } else if dep_kind == DepKind::Blocks && !planned && Some(&target) == context.epic {
            findings.push(format!(
                "`deps[{d}]` blocks on the epic `{target}` itself, which is done only when its \
                 tasks are, this one included; use kind `related`, or drop it"
            ));
        } else {
            seen.insert(target.clone(), d);
            if dep_kind == DepKind::Blocks {
                blocks.push(target.clone());
            }
            deps.push((target, dep_kind));
        }
    }

    let mut paths = Vec::new();
    for (p, path) in findings
        .optional_array(object, "paths", "path patterns (strings)")
        .iter()
        .enumerate()
    {
        match path {
            Value::String(pattern) => match check_path_pattern(pattern) {
                Ok(()) => paths.push(pattern.clone()),
                Err(problem) => {
                    findings.push(format!("`paths[{p}]` `{}` {problem}", shorten(pattern)))
                }
            },
            other => findings.push(format!(
                "`paths[{p}]` is {}, expected a path pattern (a string) like `src/auth/**`",
                describe(other)
            )),
        }
    }

    let agent = match object.get("agent") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => {
            if let Err(why) = (context.known_profile)(name) {
                findings.push(format!("`agent` `{}`: {why}", shorten(name)));
            }
            Some(name.clone())
        }
        Some(other) => {
            findings.push(format!(
                "`agent` is {}, expected the name of an agent profile (a string) or null",
                describe(other)
            ));
            None
        }
    };
    let rationale = findings.optional_text(object, "rationale");

    let sound = match (&id, own_id) {
        (Some(id), true) => Some(Sound {
            at,
            id: id.clone(),
            kind: kind.unwrap_or(TaskType::Task),
            complexity,
            blocks,
        }),
        _ => None,
    };
    let task = match (id, title, description, kind, complexity) {
        (Some(id), Some(title), Some(description), Some(kind), Some(complexity))
            if findings.0.len() == before =>
        {
            Some(PlannedTask {
                id,
                title: title.to_string(),
                description: description.to_string(),
                kind,
                complexity,
                deps,
                paths,
                agent,
                rationale,
            })
        }
        _ => None,
    };
    (task, sound)
}

/// A complexity: a whole number from 1 to 10 (`3.0` passes, as JSON does not tell them apart).
fn check_complexity(value: Option<&Value>, findings: &mut Findings) -> Option<Complexity> {
    const EXPECTED: &str = "a whole number from 1 to 10";
    let number = match value {
        None => {
            findings.push(format!("missing `complexity`, {EXPECTED}"));
            return None;
        }
        Some(Value::Number(number)) => number,
        Some(other) => {
            findings.push(format!(
                "`complexity` is {}, expected {EXPECTED}",
                describe(other)
            ));
            return None;
        }
    };
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
            .map(|f| f as i64)
    });
    match whole {
        Some(n) => Complexity::new(n)
            .map_err(|e| findings.push(format!("`complexity`: {e}")))
            .ok(),
        None => {
            findings.push(format!("`complexity` is {number}, expected {EXPECTED}"));
            None
        }
    }
}

/// One dependency's shape: its target and kind, when both read.
fn check_dep(d: usize, dep: &Value, findings: &mut Findings) -> Option<(TaskId, DepKind)> {
    let Some(object) = dep.as_object() else {
        findings.push(format!(
            "`deps[{d}]` is {}, expected an object like {{\"id\": \"auth-api\", \"kind\": \"blocks\"}}",
            describe(dep)
        ));
        return None;
    };
    let mut own = Findings::default();
    own.unknown_keys(object, DEP_KEYS, "the keys of a dependency");
    let target = own
        .required_string(object, "id", "the id of the task depended on")
        .and_then(|text| TaskId::new(text).map_err(|e| own.push(e.to_string())).ok());
    let kinds = list(&DepKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>());
    let kind = own
        .required_string(object, "kind", &format!("one of {kinds}"))
        .and_then(|text| match text.parse::<DepKind>() {
            Ok(kind) => Some(kind),
            Err(_) => {
                own.push(format!("`kind` `{}` is not one of {kinds}", shorten(text)));
                None
            }
        });
    for message in own.0 {
        findings.push(format!("`deps[{d}]`: {message}"));
    }
    Some((target?, kind?))
}

/// The cycles that the plan's sound tasks and `blocks` deps close with the existing graph, at most
/// `MOST_CYCLES` of them: after each one, a planned edge on it is set aside and the graph rebuilt.
/// The existing graph is taken to be acyclic, as the store keeps it; a cycle with no planned edge on
/// it is still reported, once.
fn cycles(known: &Known<'_>, context: &Context<'_>, sound: &[Sound]) -> Vec<Cycle> {
    let planned_ids: HashSet<&TaskId> = sound.iter().map(|s| &s.id).collect();
    let base_age = context
        .existing
        .iter()
        .map(|n| n.age)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let epic = context.epic.filter(|e| known.contains_key(e));
    let in_graph = |id: &TaskId| known.contains_key(id) || planned_ids.contains(id);

    let mut nodes: Vec<Node> = Vec::with_capacity(known.len() + sound.len());
    let mut placed: HashSet<&TaskId> = HashSet::new();
    for node in context.existing {
        if planned_ids.contains(&node.id) || !placed.insert(&node.id) {
            continue;
        }
        let mut node = node.clone();
        // A parent outside the graph would make `Graph::new` refuse it; the store never has one.
        if node.parent.as_ref().is_some_and(|p| !in_graph(p)) {
            node.parent = None;
        }
        nodes.push(node);
    }
    for s in sound {
        nodes.push(Node {
            id: s.id.clone(),
            kind: s.kind,
            status: TaskStatus::Pending,
            complexity: s.complexity,
            parent: epic.cloned(),
            age: base_age.saturating_add(i64::try_from(s.at).unwrap_or(i64::MAX)),
        });
    }
    // A reused task's own deps are replaced by the plan's.
    let existing_edges: Vec<(TaskId, TaskId)> = context
        .edges
        .iter()
        .filter(|(task, depends_on)| {
            !planned_ids.contains(task) && in_graph(task) && in_graph(depends_on)
        })
        .cloned()
        .collect();
    let mut planned: Vec<(TaskId, TaskId)> = sound
        .iter()
        .flat_map(|s| {
            s.blocks
                .iter()
                .filter(|target| in_graph(target))
                .map(|target| (s.id.clone(), target.clone()))
        })
        .collect();

    let mut found = Vec::new();
    while found.len() < MOST_CYCLES {
        let edges = existing_edges.iter().chain(&planned).cloned().collect();
        // The inputs were filtered to known, distinct tasks; should the graph still refuse them, the
        // fault is not the planner's, and the store's own check will speak.
        let Ok(graph) = Graph::new(nodes.clone(), edges) else {
            break;
        };
        let Some(cycle) = graph.find_cycle() else {
            break;
        };
        let cut = cycle.0.windows(2).find_map(|pair| {
            planned
                .iter()
                .position(|(t, d)| *t == pair[0] && *d == pair[1])
        });
        found.push(cycle);
        match cut {
            Some(at) => {
                planned.remove(at);
            }
            None => break,
        }
    }
    found
}

fn cycle_message(cycle: &Cycle, epic: Option<&TaskId>) -> String {
    let through_epic = epic
        .filter(|e| cycle.0.contains(e))
        .map(|e| format!(" (the epic `{e}` is done only when all its tasks are, these included)"))
        .unwrap_or_default();
    format!(
        "the `blocks` dependencies go round in a circle: {cycle}{through_epic}; each waits for the \
         next, so none of them can ever start. Drop one of these dependencies or make it `related`"
    )
}

/// How a task is named in a problem: ``tasks[2] (`auth-api`)``, or `tasks[2]` without a string id.
fn label(at: usize, entry: &Value) -> String {
    match entry.get("id").and_then(Value::as_str) {
        Some(id) => format!("tasks[{at}] (`{}`)", shorten(id)),
        None => format!("tasks[{at}]"),
    }
}

/// Text from the answer quoted in a problem, cut to a readable length.
fn shorten(text: &str) -> String {
    const MOST: usize = 80;
    let text = text.escape_debug().to_string();
    if text.len() <= MOST {
        text
    } else {
        format!("{}…", prefix_within(&text, MOST))
    }
}

/// What a JSON value is, as a problem says it: "a string", "null".
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Words as a list: "`a`, `b` and `c`".
fn list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
