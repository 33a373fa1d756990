//! The checks of a plan, one problem kind at a time, and random task graphs against them.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::graph::Node;
use crate::model::{Complexity, DepKind, TaskId, TaskStatus, TaskType};

fn id(text: &str) -> TaskId {
    TaskId::new(text).unwrap()
}

fn node(name: &str, kind: TaskType, status: TaskStatus, parent: Option<&str>, age: i64) -> Node {
    Node {
        id: id(name),
        kind,
        status,
        complexity: None,
        parent: parent.map(id),
        age,
    }
}

fn known_profile(name: &str) -> Result<(), String> {
    match name {
        "claude" | "codex" => Ok(()),
        _ => Err(format!(
            "there is no agent profile `{name}`; the profiles are `claude` and `codex`"
        )),
    }
}

/// The graph a plan joins, owned, and the context over it.
struct Fixture {
    existing: Vec<Node>,
    edges: Vec<(TaskId, TaskId)>,
    epic: Option<TaskId>,
    replaceable: HashSet<TaskId>,
    max_tasks: usize,
}

impl Fixture {
    /// An epic with a done and a pending task, and a task outside it.
    fn standard() -> Self {
        Fixture {
            existing: vec![
                node("epic", TaskType::Epic, TaskStatus::Pending, None, 1),
                node("setup", TaskType::Task, TaskStatus::Done, Some("epic"), 2),
                node(
                    "old-draft",
                    TaskType::Task,
                    TaskStatus::Pending,
                    Some("epic"),
                    3,
                ),
                node("other", TaskType::Bug, TaskStatus::InProgress, None, 4),
            ],
            edges: vec![(id("old-draft"), id("setup"))],
            epic: Some(id("epic")),
            replaceable: HashSet::from([id("old-draft")]),
            max_tasks: 10,
        }
    }

    fn validate(&self, answer: &Value) -> Result<Plan, Vec<Problem>> {
        let context = Context {
            existing: &self.existing,
            edges: &self.edges,
            epic: self.epic.as_ref(),
            replaceable: &self.replaceable,
            max_tasks: self.max_tasks,
            known_profile: &known_profile,
        };
        validate(answer, &context)
    }

    fn problems(&self, answer: &Value) -> Vec<String> {
        match self.validate(answer) {
            Ok(plan) => panic!("accepted: {plan:?}"),
            Err(problems) => problems.iter().map(Problem::to_string).collect(),
        }
    }
}

/// A well-formed task object.
fn task(name: &str) -> Value {
    json!({
        "id": name,
        "title": format!("Do {name}"),
        "description": format!("All of {name}.\nWith tests."),
        "type": "task",
        "complexity": 3,
        "deps": [],
        "paths": [],
        "agent": null,
        "rationale": null,
    })
}

/// `value` with `key` set.
fn with(mut value: Value, key: &str, field: Value) -> Value {
    value[key] = field;
    value
}

fn without(mut value: Value, key: &str) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.remove(key);
    }
    value
}

fn plan_of(tasks: Vec<Value>) -> Value {
    json!({"rationale": null, "tasks": tasks})
}

fn deps(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(id, kind)| json!({"id": id, "kind": kind}))
            .collect(),
    )
}

#[test]
fn a_well_formed_plan_is_accepted_as_given() {
    let answer = json!({
        "rationale": "API first, then the form.",
        "tasks": [
            with(
                with(task("auth-form"), "deps", deps(&[("auth-api", "blocks"), ("setup", "related")])),
                "paths",
                json!(["src/ui/login/**", "docs/auth.md"]),
            ),
            with(with(with(task("auth-api"), "type", json!("story")), "agent", json!("codex")),
                 "rationale", json!("The form needs it.")),
            with(with(task("old-draft"), "complexity", json!(10.0)), "deps", deps(&[("other", "suggested")])),
        ]
    });
    let plan = Fixture::standard().validate(&answer).unwrap();
    assert_eq!(plan.rationale.as_deref(), Some("API first, then the form."));
    assert_eq!(
        plan.tasks[0],
        PlannedTask {
            id: id("auth-form"),
            title: "Do auth-form".to_string(),
            description: "All of auth-form.\nWith tests.".to_string(),
            kind: TaskType::Task,
            complexity: Complexity::new(3).unwrap(),
            deps: vec![
                (id("auth-api"), DepKind::Blocks),
                (id("setup"), DepKind::Related)
            ],
            paths: vec!["src/ui/login/**".to_string(), "docs/auth.md".to_string()],
            agent: None,
            rationale: None,
        }
    );
    assert_eq!(plan.tasks[1].kind, TaskType::Story);
    assert_eq!(plan.tasks[1].agent.as_deref(), Some("codex"));
    assert_eq!(
        plan.tasks[1].rationale.as_deref(),
        Some("The form needs it.")
    );
    // A pending task of the epic is reused under `--replace`.
    assert_eq!(plan.tasks[2].id, id("old-draft"));
    assert_eq!(plan.tasks[2].complexity.get(), 10);
}

#[test]
fn nullable_and_empty_fields_may_be_left_out() {
    let bare = ["deps", "paths", "agent", "rationale"]
        .iter()
        .fold(task("a"), |t, key| without(t, key));
    let plan = Fixture::standard()
        .validate(&json!({"tasks": [bare]}))
        .unwrap();
    assert_eq!(plan.rationale, None);
    assert!(plan.tasks[0].deps.is_empty() && plan.tasks[0].paths.is_empty());
}

#[test]
fn the_answer_is_an_object_with_a_list_of_tasks() {
    let graph = Fixture::standard();
    assert_eq!(
        graph.problems(&json!([task("a")])),
        ["the answer is an array, not a JSON object; answer with one object {\"rationale\": ..., \"tasks\": [...]}"]
    );
    assert_eq!(
        graph.problems(&json!("plan")),
        ["the answer is a string, not a JSON object; answer with one object {\"rationale\": ..., \"tasks\": [...]}"]
    );
    assert_eq!(
        graph.problems(&json!({"rationale": null})),
        ["missing `tasks`, the list of task objects"]
    );
    assert_eq!(
        graph.problems(&json!({"tasks": {"a": task("a")}})),
        ["`tasks` is an object, expected an array of task objects"]
    );
    assert_eq!(
        graph.problems(&json!({"tasks": []})),
        ["`tasks` is empty; a plan has at least one task"]
    );
    assert_eq!(
        graph.problems(&json!({"tasks": [task("a")], "rationale": 3})),
        ["`rationale` is a number, expected a string or null"]
    );
    assert_eq!(
        graph.problems(&plan_of(vec![json!("a"), json!(null)])),
        [
            "tasks[0]: is a string, expected a task object with the keys `id`, `title`, `description`, `type`, `complexity`, `deps`, `paths`, `agent` and `rationale`",
            "tasks[1]: is null, expected a task object with the keys `id`, `title`, `description`, `type`, `complexity`, `deps`, `paths`, `agent` and `rationale`",
        ]
    );
}

#[test]
fn unknown_keys_are_named_with_the_keys_allowed() {
    let answer = json!({
        "task": [],
        "tasks": [
            with(with(task("a"), "titel", json!("x")), "deps", json!([{"id": "other", "kind": "blocks", "why": "x"}])),
        ],
    });
    assert_eq!(
        Fixture::standard().problems(&answer),
        [
            "unknown key `task` (did you mean `tasks`?); the answer's keys are `rationale` and `tasks`",
            "tasks[0] (`a`): unknown key `titel` (did you mean `title`?); the keys of a task are `id`, `title`, `description`, `type`, `complexity`, `deps`, `paths`, `agent` and `rationale`",
            "tasks[0] (`a`): `deps[0]`: unknown key `why`; the keys of a dependency are `id` and `kind`",
        ]
    );
}

#[test]
fn missing_and_mistyped_fields_say_what_is_expected() {
    let missing = ["id", "title", "description", "type", "complexity"]
        .iter()
        .fold(task("a"), |t, key| without(t, key));
    assert_eq!(
        Fixture::standard().problems(&plan_of(vec![missing])),
        [
            "tasks[0]: missing `id`, a string like `auth-api`",
            "tasks[0]: missing `title`, a string of one line",
            "tasks[0]: missing `description`, a string",
            "tasks[0]: missing `type`, one of `story`, `task` and `bug`",
            "tasks[0]: missing `complexity`, a whole number from 1 to 10",
        ]
    );
    let mistyped = json!({
        "id": 7, "title": ["x"], "description": null, "type": 1, "complexity": "3",
        "deps": "b", "paths": "src/**", "agent": 1, "rationale": false,
    });
    assert_eq!(
        Fixture::standard().problems(&plan_of(vec![mistyped])),
        [
            "tasks[0]: `id` is a number, expected a string like `auth-api`",
            "tasks[0]: `title` is an array, expected a string of one line",
            "tasks[0]: `description` is null, expected a string",
            "tasks[0]: `type` is a number, expected one of `story`, `task` and `bug`",
            "tasks[0]: `complexity` is a string, expected a whole number from 1 to 10",
            "tasks[0]: `deps` is a string, expected an array of {\"id\": ..., \"kind\": ...} objects",
            "tasks[0]: `paths` is a string, expected an array of path patterns (strings)",
            "tasks[0]: `agent` is a number, expected the name of an agent profile (a string) or null",
            "tasks[0]: `rationale` is a boolean, expected a string or null",
        ]
    );
}

#[test]
fn ids_are_valid_branch_names_unique_in_the_plan_and_new() {
    let answer = plan_of(vec![
        task("a b"),
        task("a"),
        task("a"),
        task("setup"),
        task("epic"),
        task("x.lock"),
    ]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        [
            "tasks[0] (`a b`): `id`: invalid task id `a b`: an id holds only letters, digits, `-`, `_` and `.` (it becomes a branch name)",
            "tasks[2] (`a`): the id `a` is already the id of tasks[1] (`a`); give every task its own id",
            "tasks[3] (`setup`): the id `setup` is taken by an existing task (done); choose a new id",
            "tasks[4] (`epic`): the id `epic` is taken by an existing epic (pending); choose a new id",
            "tasks[5] (`x.lock`): `id`: invalid task id `x.lock`: git refuses branch names with `..`, or ending in `.` or `.lock`",
        ]
    );
}

#[test]
fn titles_and_descriptions_get_the_checks_of_every_task() {
    let answer = plan_of(vec![
        with(task("a"), "title", json!("Two\nlines")),
        with(task("b"), "title", json!("  ")),
        with(task("c"), "description", json!("nul\u{0}")),
        with(task("d"), "title", json!("x".repeat(5000))),
    ]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        [
            "tasks[0] (`a`): `title` has a line break at byte 3; a title is one line (put the rest in the description)",
            "tasks[1] (`b`): `title` is empty",
            "tasks[2] (`c`): `description` has a NUL byte at byte 3; no program can be given one",
            "tasks[3] (`d`): `title` is 5000 bytes long; a title is at most 4096 bytes (put the rest in the description)",
        ]
    );
}

#[test]
fn a_planned_task_is_a_story_a_task_or_a_bug_never_an_epic() {
    let answer = plan_of(vec![
        with(task("a"), "type", json!("epic")),
        with(task("b"), "type", json!("feature")),
        with(task("c"), "type", json!("bug")),
    ]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        [
            "tasks[0] (`a`): `type` `epic` is not allowed: the plan's tasks are the epic's children; use one of `story`, `task` and `bug`",
            "tasks[1] (`b`): `type` `feature` is not one of `story`, `task` and `bug`",
        ]
    );
}

#[test]
fn complexity_is_a_whole_number_from_1_to_10() {
    let answer = plan_of(vec![
        with(task("a"), "complexity", json!(0)),
        with(task("b"), "complexity", json!(11)),
        with(task("c"), "complexity", json!(3.5)),
        with(task("d"), "complexity", json!(-1e300)),
        with(task("e"), "complexity", json!(u64::MAX)),
        with(task("f"), "complexity", json!(7.0)),
    ]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        [
            "tasks[0] (`a`): `complexity`: invalid complexity `0`: expected a whole number from 1 to 10",
            "tasks[1] (`b`): `complexity`: invalid complexity `11`: expected a whole number from 1 to 10",
            "tasks[2] (`c`): `complexity` is 3.5, expected a whole number from 1 to 10",
            "tasks[3] (`d`): `complexity` is -1e+300, expected a whole number from 1 to 10",
            "tasks[4] (`e`): `complexity` is 18446744073709551615, expected a whole number from 1 to 10",
        ]
    );
}

#[test]
fn deps_name_another_task_once_with_a_known_kind() {
    let answer = plan_of(vec![
        with(
            task("auth-api"),
            "deps",
            json!([
                {"id": "auth-api", "kind": "blocks"},
                {"id": "auth-form", "kind": "related"},
                {"id": "auth-form", "kind": "blocks"},
                {"id": "auth-from", "kind": "blocks"},
                {"id": "setup", "kind": "needs"},
                {"id": "bad id", "kind": "blocks"},
                {"kind": "blocks"},
                "other",
                {"id": "epic", "kind": "blocks"},
                {"id": "epic", "kind": "related"},
                {"id": "old-draft", "kind": "blocks"},
            ]),
        ),
        task("auth-form"),
    ]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        [
            "tasks[0] (`auth-api`): `deps[0]` names the task itself; a task cannot depend on itself",
            "tasks[0] (`auth-api`): `deps[2]` names `auth-form` again (as does `deps[1]`); list each dependency once",
            "tasks[0] (`auth-api`): `deps[3]` names `auth-from` (did you mean `auth-form`?), which is neither a task of this plan nor an existing task",
            "tasks[0] (`auth-api`): `deps[4]`: `kind` `needs` is not one of `blocks`, `related` and `suggested`",
            "tasks[0] (`auth-api`): `deps[5]`: invalid task id `bad id`: an id holds only letters, digits, `-`, `_` and `.` (it becomes a branch name)",
            "tasks[0] (`auth-api`): `deps[6]`: missing `id`, the id of the task depended on",
            "tasks[0] (`auth-api`): `deps[7]` is a string, expected an object like {\"id\": \"auth-api\", \"kind\": \"blocks\"}",
            "tasks[0] (`auth-api`): `deps[8]` blocks on the epic `epic` itself, which is done only when its tasks are, this one included; use kind `related`, or drop it",
        ]
    );
}

#[test]
fn paths_stay_inside_the_repository() {
    let answer = plan_of(vec![with(
        task("a"),
        "paths",
        json!(["src/**", "/etc/passwd", "../up", "src\\win", 3, "", "docs/"]),
    )]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        [
            "tasks[0] (`a`): `paths[1]` `/etc/passwd` starts with `/`; write it from the repository's root, like `src/auth/**`",
            "tasks[0] (`a`): `paths[2]` `../up` has `..`; a path stays inside the repository",
            "tasks[0] (`a`): `paths[3]` `src\\\\win` has a `\\` at byte 3; separate folders with `/`",
            "tasks[0] (`a`): `paths[4]` is a number, expected a path pattern (a string) like `src/auth/**`",
            "tasks[0] (`a`): `paths[5]` `` is empty",
        ]
    );
}

#[test]
fn an_agent_is_a_profile_that_exists() {
    let answer = plan_of(vec![
        with(task("a"), "agent", json!("gpt")),
        with(task("b"), "agent", json!("claude")),
    ]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        ["tasks[0] (`a`): `agent` `gpt`: there is no agent profile `gpt`; the profiles are `claude` and `codex`"]
    );
}

#[test]
fn a_plan_holds_at_most_max_tasks() {
    let mut graph = Fixture::standard();
    graph.max_tasks = 2;
    let answer = plan_of(vec![task("a"), task("b"), task("c")]);
    assert_eq!(
        graph.problems(&answer),
        ["the plan has 3 tasks, more than the 2 allowed; merge small tasks, or plan fewer and larger ones"]
    );
}

#[test]
fn a_circle_of_blocks_deps_in_the_plan_is_spelled_out() {
    let answer = plan_of(vec![
        with(task("a"), "deps", deps(&[("c", "blocks")])),
        with(task("b"), "deps", deps(&[("a", "blocks")])),
        with(task("c"), "deps", deps(&[("b", "blocks")])),
        // Only `blocks` makes anyone wait: these are no circle.
        with(task("d"), "deps", deps(&[("e", "related")])),
        with(task("e"), "deps", deps(&[("d", "suggested")])),
    ]);
    assert_eq!(
        Fixture::standard().problems(&answer),
        ["the `blocks` dependencies go round in a circle: a -> c -> b -> a; each waits for the next, so none of them can ever start. Drop one of these dependencies or make it `related`"]
    );
}

#[test]
fn every_circle_is_reported_not_just_the_first() {
    let answer = plan_of(vec![
        with(task("a"), "deps", deps(&[("b", "blocks")])),
        with(task("b"), "deps", deps(&[("a", "blocks")])),
        with(task("c"), "deps", deps(&[("d", "blocks")])),
        with(task("d"), "deps", deps(&[("c", "blocks")])),
    ]);
    let problems = Fixture::standard().problems(&answer);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("a -> b -> a"), "{problems:?}");
    assert!(problems[1].contains("c -> d -> c"), "{problems:?}");
}

#[test]
fn a_circle_through_the_epic_and_the_existing_graph_is_found() {
    // `other` waits for the epic, which waits for its tasks: one of them cannot wait for `other`.
    let mut graph = Fixture::standard();
    graph.edges.push((id("other"), id("epic")));
    let answer = plan_of(vec![with(task("a"), "deps", deps(&[("other", "blocks")]))]);
    assert_eq!(
        graph.problems(&answer),
        ["the `blocks` dependencies go round in a circle: other -> epic -> a -> other (the epic `epic` is done only when all its tasks are, these included); each waits for the next, so none of them can ever start. Drop one of these dependencies or make it `related`"]
    );
    // Without an epic, the same plan is fine.
    graph.epic = None;
    assert!(graph.validate(&answer).is_ok());
}

#[test]
fn a_reused_task_brings_no_deps_of_its_own_but_keeps_those_on_it() {
    let mut graph = Fixture::standard();
    graph.epic = None;
    // `other` waits for `old-draft`; the plan reuses `old-draft` and makes it wait for `other`.
    graph.edges.push((id("other"), id("old-draft")));
    let answer = plan_of(vec![with(
        task("old-draft"),
        "deps",
        deps(&[("other", "blocks")]),
    )]);
    let problems = graph.problems(&answer);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("other -> old-draft -> other"),
        "{problems:?}"
    );

    // `old-draft` waits for `other`, which waits for `old-two`. Reused, `old-draft` waits for
    // nothing, so `old-two` may wait for it.
    let mut graph = Fixture::standard();
    graph.existing.push(node(
        "old-two",
        TaskType::Task,
        TaskStatus::Pending,
        Some("epic"),
        5,
    ));
    graph.replaceable.insert(id("old-two"));
    graph.edges = vec![(id("old-draft"), id("other")), (id("other"), id("old-two"))];
    let answer = plan_of(vec![
        task("old-draft"),
        with(task("old-two"), "deps", deps(&[("old-draft", "blocks")])),
    ]);
    assert!(graph.validate(&answer).is_ok());
    // Had it kept its dep, that would be a circle.
    let answer = plan_of(vec![
        with(task("old-draft"), "deps", deps(&[("other", "blocks")])),
        with(task("old-two"), "deps", deps(&[("old-draft", "blocks")])),
    ]);
    let problems = graph.problems(&answer);
    assert!(
        problems[0].contains("other -> old-two -> old-draft -> other"),
        "{problems:?}"
    );
}

#[test]
fn a_circle_among_sound_tasks_is_reported_beside_a_broken_task() {
    let answer = plan_of(vec![
        with(task("a"), "deps", deps(&[("b", "blocks")])),
        with(
            task("b"),
            "deps",
            deps(&[("a", "blocks"), ("ghost", "blocks")]),
        ),
        with(task("c"), "complexity", json!(0)),
    ]);
    let problems = Fixture::standard().problems(&answer);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("tasks[1] (`b`): `deps[1]` names `ghost`"));
    assert!(problems[1].starts_with("tasks[2] (`c`): `complexity`"));
    assert!(problems[2].contains("a -> b -> a"));
}

#[test]
fn every_problem_is_reported_at_once_as_a_numbered_list() {
    let answer = json!({
        "extra": 1,
        "tasks": [
            with(with(task("a"), "type", json!("epic")), "complexity", json!(99)),
            with(task("a"), "title", json!("")),
        ],
    });
    let problems = Fixture::standard().validate(&answer).unwrap_err();
    assert_eq!(
        problems_text(&problems),
        "1. unknown key `extra`; the answer's keys are `rationale` and `tasks`\n\
         2. tasks[0] (`a`): `type` `epic` is not allowed: the plan's tasks are the epic's children; use one of `story`, `task` and `bug`\n\
         3. tasks[0] (`a`): `complexity`: invalid complexity `99`: expected a whole number from 1 to 10\n\
         4. tasks[1] (`a`): the id `a` is already the id of tasks[0] (`a`); give every task its own id\n\
         5. tasks[1] (`a`): `title` is empty\n"
    );
    assert_eq!(problems_text::<Problem>(&[]), "");
}

#[test]
fn quoted_text_is_cut_and_escaped() {
    let long = "a".repeat(300);
    let problems =
        Fixture::standard().problems(&plan_of(vec![with(task(&long), "type", json!("x\ny"))]));
    assert!(
        problems[0].starts_with(&format!("tasks[0] (`{}…`): `id`", "a".repeat(80))),
        "{problems:?}"
    );
    assert!(
        problems[1].ends_with("`type` `x\\ny` is not one of `story`, `task` and `bug`"),
        "{problems:?}"
    );
}

#[test]
fn broken_existing_data_does_not_panic() {
    // Duplicates and dangling references the store never holds: the cycle check copes.
    let graph = Fixture {
        existing: vec![
            node("x", TaskType::Task, TaskStatus::Pending, Some("gone"), 1),
            node("x", TaskType::Task, TaskStatus::Done, None, 2),
        ],
        edges: vec![(id("x"), id("vanished")), (id("gone"), id("x"))],
        epic: Some(id("nowhere")),
        replaceable: HashSet::new(),
        max_tasks: 0,
    };
    let problems = graph.problems(&plan_of(vec![with(
        task("a"),
        "deps",
        deps(&[("x", "blocks")]),
    )]));
    assert_eq!(problems.len(), 1, "{problems:?}");
}

// ---------------------------------------------------------------------------------------------
// Random graphs.

/// A way the generated plan is made wrong, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    /// Two planned tasks block on each other.
    BackEdge,
    /// An existing task blocks on the epic and a planned task blocks on it.
    ThroughEpic,
    UnknownDep,
    DuplicateId,
    TakenId,
    SelfDep,
}

impl Flaw {
    fn is_cycle(self) -> bool {
        matches!(self, Flaw::BackEdge | Flaw::ThroughEpic)
    }
}

#[derive(Debug, Clone)]
struct Scenario {
    graph_existing: Vec<(String, TaskStatus)>,
    existing_edges: Vec<(String, String)>,
    tasks: Vec<(String, Vec<(String, DepKind)>)>,
    flaw: Flaw,
}

/// Reads small numbers off a list of random bytes, as many as asked for.
struct Dice<'a>(std::slice::Iter<'a, u8>);

impl Dice<'_> {
    fn roll(&mut self, sides: u8) -> u8 {
        self.0.next().copied().unwrap_or(0) % sides
    }
    fn chance(&mut self, in_four: u8) -> bool {
        self.roll(4) < in_four
    }
}

/// Builds a scenario: `planned` tasks `p0..` as children of `epic`, `existing` tasks `e0..` beside
/// it, deps only backwards (acyclic) but for related/suggested ones, then the flaw.
fn scenario(planned: usize, existing: usize, bytes: &[u8], flaw: Flaw) -> Scenario {
    let mut dice = Dice(bytes.iter());
    let kinds = [DepKind::Blocks, DepKind::Related, DepKind::Suggested];
    let graph_existing: Vec<(String, TaskStatus)> = (0..existing)
        .map(|e| {
            let status = [
                TaskStatus::Done,
                TaskStatus::Pending,
                TaskStatus::InProgress,
            ][usize::from(dice.roll(3))];
            (format!("e{e}"), status)
        })
        .collect();
    let mut existing_edges = Vec::new();
    for a in 0..existing {
        for b in 0..a {
            if dice.chance(1) {
                existing_edges.push((format!("e{a}"), format!("e{b}")));
            }
        }
    }
    let mut tasks: Vec<(String, Vec<(String, DepKind)>)> = Vec::new();
    for p in 0..planned {
        let mut deps = Vec::new();
        for q in 0..planned {
            if q < p && dice.chance(2) {
                deps.push((format!("p{q}"), kinds[usize::from(dice.roll(3))]));
            } else if q > p && dice.chance(1) {
                deps.push((format!("p{q}"), kinds[1 + usize::from(dice.roll(2))]));
            }
        }
        for e in 0..existing {
            if dice.chance(1) {
                deps.push((format!("e{e}"), kinds[usize::from(dice.roll(3))]));
            }
        }
        if dice.chance(1) {
            deps.push(("epic".to_string(), DepKind::Related));
        }
        tasks.push((format!("p{p}"), deps));
    }
    let pick = |dice: &mut Dice<'_>, n: usize| usize::from(dice.roll(u8::try_from(n).unwrap()));
    let set_dep = |deps: &mut Vec<(String, DepKind)>, target: String| {
        deps.retain(|(t, _)| *t != target);
        deps.push((target, DepKind::Blocks));
    };
    let flaw = match flaw {
        Flaw::BackEdge if planned >= 2 => {
            let a = pick(&mut dice, planned);
            let b = (a + 1 + pick(&mut dice, planned - 1)) % planned;
            set_dep(&mut tasks[a].1, format!("p{b}"));
            set_dep(&mut tasks[b].1, format!("p{a}"));
            flaw
        }
        Flaw::ThroughEpic if existing >= 1 => {
            let e = pick(&mut dice, existing);
            existing_edges.push((format!("e{e}"), "epic".to_string()));
            let p = pick(&mut dice, planned);
            set_dep(&mut tasks[p].1, format!("e{e}"));
            flaw
        }
        Flaw::UnknownDep => {
            let p = pick(&mut dice, planned);
            tasks[p]
                .1
                .push(("ghost".to_string(), kinds[usize::from(dice.roll(3))]));
            flaw
        }
        Flaw::DuplicateId if planned >= 2 => {
            let a = pick(&mut dice, planned);
            let b = (a + 1 + pick(&mut dice, planned - 1)) % planned;
            tasks[b].0 = tasks[a].0.clone();
            // Deps on the renamed task now name nothing or the other one; drop them so the only
            // flaw left is the duplicate.
            let gone = format!("p{b}");
            for (_, deps) in &mut tasks {
                deps.retain(|(t, _)| *t != gone);
            }
            let own = tasks[b].0.clone();
            tasks[b].1.retain(|(t, _)| *t != own);
            flaw
        }
        Flaw::TakenId => {
            let p = pick(&mut dice, planned);
            let taken = if existing > 0 {
                format!("e{}", pick(&mut dice, existing))
            } else {
                "epic".to_string()
            };
            let old = std::mem::replace(&mut tasks[p].0, taken);
            for (_, deps) in &mut tasks {
                deps.retain(|(t, _)| *t != old);
            }
            flaw
        }
        Flaw::SelfDep => {
            let p = pick(&mut dice, planned);
            let own = tasks[p].0.clone();
            tasks[p].1.push((own, DepKind::Related));
            flaw
        }
        _ => Flaw::None,
    };
    Scenario {
        graph_existing,
        existing_edges,
        tasks,
        flaw,
    }
}

fn flaws() -> impl Strategy<Value = Flaw> {
    prop_oneof![
        3 => Just(Flaw::None),
        2 => Just(Flaw::BackEdge),
        1 => Just(Flaw::ThroughEpic),
        1 => Just(Flaw::UnknownDep),
        1 => Just(Flaw::DuplicateId),
        1 => Just(Flaw::TakenId),
        1 => Just(Flaw::SelfDep),
    ]
}

fn scenarios() -> impl Strategy<Value = Scenario> {
    (
        1usize..8,
        0usize..4,
        prop::collection::vec(any::<u8>(), 128),
        flaws(),
    )
        .prop_map(|(planned, existing, bytes, flaw)| scenario(planned, existing, &bytes, flaw))
}

impl Scenario {
    fn fixture(&self) -> Fixture {
        let mut existing = vec![node("epic", TaskType::Epic, TaskStatus::Pending, None, 0)];
        for (at, (name, status)) in self.graph_existing.iter().enumerate() {
            existing.push(node(name, TaskType::Task, *status, None, at as i64 + 1));
        }
        Fixture {
            existing,
            edges: self
                .existing_edges
                .iter()
                .map(|(a, b)| (id(a), id(b)))
                .collect(),
            epic: Some(id("epic")),
            replaceable: HashSet::new(),
            max_tasks: 20,
        }
    }

    fn answer(&self) -> Value {
        let tasks = self
            .tasks
            .iter()
            .enumerate()
            .map(|(at, (name, deps))| {
                let kind = ["story", "task", "bug"][at % 3];
                let deps: Vec<Value> = deps
                    .iter()
                    .map(|(target, kind)| json!({"id": target, "kind": kind.as_str()}))
                    .collect();
                json!({
                    "id": name,
                    "title": format!("Task {at}"),
                    "description": "",
                    "type": kind,
                    "complexity": at % 10 + 1,
                    "deps": deps,
                    "paths": [format!("src/m{at}/**")],
                    "agent": if at % 2 == 0 { json!(null) } else { json!("claude") },
                    "rationale": null,
                })
            })
            .collect();
        json!({"rationale": "generated", "tasks": Value::Array(tasks)})
    }
}

/// Any JSON, with the words of a plan more likely than chance would make them.
fn any_json() -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        prop::sample::select(vec![
            "tasks",
            "id",
            "title",
            "description",
            "type",
            "complexity",
            "deps",
            "paths",
            "agent",
            "rationale",
            "kind",
            "blocks",
            "related",
            "epic",
            "task",
            "bug",
            "story",
            "a",
            "b",
            "epic",
            "e0",
            "claude",
            "src/**",
            "/abs",
            "..",
            "",
            "a b",
            "x\ny",
        ])
        .prop_map(str::to_string),
        ".{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..14).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word.clone(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A generated plan is accepted exactly when it is acyclic and well-formed; accepted, it comes
    /// back as it was written; with a cycle, the cycle is named, and only then.
    #[test]
    fn a_random_graph_is_accepted_exactly_when_it_is_sound(s in scenarios()) {
        let graph = s.fixture();
        match graph.validate(&s.answer()) {
            Ok(plan) => {
                prop_assert_eq!(s.flaw, Flaw::None);
                let got: Vec<(String, Vec<(String, DepKind)>)> = plan
                    .tasks
                    .iter()
                    .map(|t| {
                        (t.id.to_string(), t.deps.iter().map(|(d, k)| (d.to_string(), *k)).collect())
                    })
                    .collect();
                prop_assert_eq!(got, s.tasks.clone());
                prop_assert_eq!(plan.rationale.as_deref(), Some("generated"));
            }
            Err(problems) => {
                prop_assert_ne!(s.flaw, Flaw::None, "{:?}", problems);
                let circles: Vec<&Problem> = problems.iter().filter(|p| p.message.contains("circle")).collect();
                prop_assert_eq!(!circles.is_empty(), s.flaw.is_cycle(), "{:?}", problems);
                if s.flaw.is_cycle() {
                    prop_assert_eq!(circles.len(), problems.len(), "{:?}", problems);
                }
            }
        }
    }

    /// No answer makes validation panic, and what it accepts has the shape it promised.
    #[test]
    fn any_json_is_judged_without_panicking(
        value in any_json(),
        tasks in prop::collection::vec(any_json(), 0..4),
    ) {
        let graph = Fixture::standard();
        for answer in [value.clone(), json!({"tasks": value}), json!({"tasks": tasks})] {
            match graph.validate(&answer) {
                Ok(plan) => {
                    prop_assert_eq!(Some(plan.tasks.len()), answer["tasks"].as_array().map(Vec::len));
                    prop_assert!(plan.tasks.len() <= graph.max_tasks);
                }
                Err(problems) => {
                    prop_assert!(!problems.is_empty());
                    prop_assert!(!problems_text(&problems).is_empty());
                }
            }
        }
    }

    /// Random values in the fields of an otherwise sound task never panic either.
    #[test]
    fn any_field_value_is_judged_without_panicking(
        key in prop::sample::select(vec!["id", "title", "description", "type", "complexity", "deps", "paths", "agent", "rationale"]),
        value in any_json(),
    ) {
        let answer = plan_of(vec![with(task("a"), key, value), with(task("b"), "deps", deps(&[("a", "blocks")]))]);
        let _ = Fixture::standard().validate(&answer);
    }
}
