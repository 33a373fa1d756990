//! The tools that change and follow the graph beyond adding to it: changing, blocking and
//! retrying tasks, dependencies, plans, context, the quality and event logs, checkpoints, the
//! protected-path review, and starting and following `vane work` in the background. Each does what
//! its `vane` command does, through the same store and orchestrator functions.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::args::{open, refused, to_json, unknown_task, Arguments, Failure, Outcome, Spec};
use super::tools::no_arguments;
use crate::config::Config;
use crate::model::{
    check_path_pattern, check_text, check_title, Complexity, ContextKind, DepKind, TaskId,
    TaskStatus, TaskType,
};
use crate::orchestrator::lock::{self, LockState};
use crate::orchestrator::planner::{self, PlanOptions, Proposal};
use crate::orchestrator::{approval, profiles};
use crate::store::{
    EventFilter, NewContextEntry, PlanEpic, Store, TaskFilter, TaskUpdate, UpdateError,
};
use crate::workspace::{self, Workspace};

/// The graph's tools that change it, follow it, and run it.
pub const TOOLS: &[Spec] = &[
    Spec {
        name: "task_update",
        description: "Change a pending task: its title, description, complexity, paths or agent. \
                      Only a pending task changes; once an agent has worked on it, it is refused.",
        schema: task_update_schema,
        call: task_update,
    },
    Spec {
        name: "task_block",
        description: "Block a task by hand, with the reason; it is not scheduled until \
                      `task_retry` releases it. A task that has landed cannot be blocked.",
        schema: task_block_schema,
        call: task_block,
    },
    Spec {
        name: "task_retry",
        description: "Release a blocked task: it is pending again, with a fresh budget of \
                      attempts. With `fresh`, its next attempt starts from the base branch, not \
                      from the merge with its conflicts (this works on any unfinished task).",
        schema: task_retry_schema,
        call: task_retry,
    },
    Spec {
        name: "dep_add",
        description: "Make a task depend on another. `blocks` (the default) makes it wait until \
                      the other is done; `related` and `suggested` only give its agent context. \
                      A dependency that would close a cycle is refused, with the cycle.",
        schema: dep_add_schema,
        call: dep_add,
    },
    Spec {
        name: "plan_submit",
        description:
            "Write a plan into the graph: the tasks of an epic (an existing one, or a new \
                      one made from a goal), in the shape `vane plan --schema` prints. It is \
                      checked as a planner's answer is (ids, dependencies, cycles, complexity, \
                      paths, profiles, the number of tasks); a refused plan comes back with every \
                      problem listed and nothing written.",
        schema: plan_submit_schema,
        call: plan_submit,
    },
    Spec {
        name: "context_add",
        description: "Record a decision, constraint, hypothesis or learning; the agents of the \
                      tasks it names get it in their prompts.",
        schema: context_add_schema,
        call: context_add,
    },
    Spec {
        name: "context_list",
        description: "The context entries, oldest first; filter by type, topic or task.",
        schema: context_list_schema,
        call: context_list,
    },
    Spec {
        name: "quality",
        description: "Quality over time: per gate dimension the recent scores, a moving average \
                      and the extremes; the share of landed tasks that met the threshold; the \
                      tasks with the lowest scores.",
        schema: quality_schema,
        call: quality,
    },
    Spec {
        name: "events",
        description: "The event log, oldest first: tasks created and changed, status changes \
                      with who made them and why, batches, landings. Pass the last id seen as \
                      `since` to read only what is new.",
        schema: events_schema,
        call: events,
    },
    Spec {
        name: "checkpoints",
        description: "The checkpoints: the base branch after every landing, at every batch start \
                      and before every rollback.",
        schema: no_arguments,
        call: checkpoints,
    },
    Spec {
        name: "approve",
        description: "Land a candidate that changes a protected path (vane.toml, a gate's script) \
                      and waits in needs_review: it is merged with the current base tip, gated \
                      again on exactly that merge, then landed with a checkpoint. `task_show` \
                      shows what waits.",
        schema: approve_schema,
        call: approve,
    },
    Spec {
        name: "reject",
        description: "Send back a candidate that changes a protected path and waits in \
                      needs_review: it goes to needs_improvement, and its next attempt's prompt \
                      carries the reason.",
        schema: reject_schema,
        call: reject,
    },
    Spec {
        name: "work_start",
        description: "Start `vane work` in the background: agents work on ready tasks in \
                      parallel worktrees, and what passes the gates lands. Answers with its pid \
                      and log at once; `work_status` follows it. Refused while a batch runs.",
        schema: work_start_schema,
        call: work_start,
    },
    Spec {
        name: "work_status",
        description: "Whether a batch is running and who runs it, the latest batch and what it \
                      did, the tasks per status, and the end of the newest background log.",
        schema: no_arguments,
        call: work_status,
    },
];

/// The actor MCP calls are recorded as.
const ACTOR: &str = "mcp";

/// How many events `events` answers with when `limit` is not given.
const DEFAULT_EVENTS: i64 = 50;

/// How many tasks a plan may hold when `max_tasks` is not given, and at most (as `vane plan`).
const DEFAULT_PLAN_TASKS: i64 = 12;
const MOST_PLAN_TASKS: i64 = 500;

/// How long `work_start` waits for the batch to take the work lock (or to end) before answering.
const START_WAIT: Duration = Duration::from_secs(10);

/// How many lines of the newest background log `work_status` and `work_start` show.
const LOG_LINES: usize = 20;

/// The background logs, `<state>/runs/mcp-work-<n>.log`.
const LOG_PREFIX: &str = "mcp-work-";
const LOG_SUFFIX: &str = ".log";

fn id_schema(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn task_update_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": id_schema("The pending task's id."),
            "title": {"type": "string", "description": "One line: what the task does."},
            "description": {"type": "string", "description": "The brief its agent gets."},
            "complexity": {"type": "integer", "minimum": 1, "maximum": 10},
            "paths": {"type": "array", "items": {"type": "string"},
                      "description": "In place of its paths or globs; an empty list declares none."},
            "agent": {"type": "string",
                      "description": "The agent profile that works on it; an empty string leaves \
                                      it to the configured default."},
        },
        "required": ["id"],
        "additionalProperties": false,
    })
}

fn task_block_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": id_schema("The task's id."),
            "reason": {"type": "string", "description": "What it waits for; shown by `status` \
                                                         and `task_show`."},
        },
        "required": ["id", "reason"],
        "additionalProperties": false,
    })
}

fn task_retry_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": id_schema("The task's id."),
            "fresh": {"type": "boolean",
                      "description": "Start its next attempt from the base branch, not from the \
                                      merge with its conflicts."},
        },
        "required": ["id"],
        "additionalProperties": false,
    })
}

fn dep_add_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": id_schema("The task that depends."),
            "depends_on": id_schema("The task it depends on."),
            "kind": {"type": "string", "enum": DepKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                     "description": "`blocks` (the default): it waits; `related`, `suggested`: \
                                     context for its agent."},
        },
        "required": ["task", "depends_on"],
        "additionalProperties": false,
    })
}

fn plan_submit_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "epic": {
                "description": "The epic the plan's tasks belong to: an existing epic's id, or a \
                                new epic made from a goal.",
                "anyOf": [
                    {"type": "string", "description": "An existing epic's id."},
                    {
                        "type": "object",
                        "properties": {
                            "goal": {"type": "string", "description": "The new epic's title: \
                                                                        the goal, on one line."},
                            "id": id_schema("The new epic's id."),
                            "description": {"type": "string"},
                        },
                        "required": ["goal", "id"],
                        "additionalProperties": false,
                    },
                ],
            },
            "plan": crate::plan::schema(),
            "replace": {"type": "boolean",
                        "description": "Plan an epic that has tasks again: its pending tasks are \
                                        replaced (their ids may be reused), the rest kept."},
            "add": {"type": "boolean",
                    "description": "Add the plan's tasks to an epic that has tasks already."},
            "max_tasks": {"type": "integer", "minimum": 1, "maximum": MOST_PLAN_TASKS,
                          "description": format!("The most tasks the plan may hold (default \
                                                  {DEFAULT_PLAN_TASKS}).")},
        },
        "required": ["epic", "plan"],
        "additionalProperties": false,
    })
}

fn context_kinds() -> Vec<&'static str> {
    ContextKind::ALL.iter().map(|k| k.as_str()).collect()
}

fn context_add_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": context_kinds()},
            "topic": {"type": "string", "description": "What it is about, one word or a few."},
            "content": {"type": "string", "description": "What it says."},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                           "description": "How sure it is, from 0 to 1."},
            "tasks": {"type": "array", "items": {"type": "string"},
                      "description": "The tasks it concerns."},
        },
        "required": ["type", "topic", "content"],
        "additionalProperties": false,
    })
}

fn context_list_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": context_kinds(),
                     "description": "Only entries of this type."},
            "topic": {"type": "string", "description": "Only entries on this topic."},
            "task": id_schema("Only entries that concern this task."),
        },
        "additionalProperties": false,
    })
}

fn quality_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "dimension": {"type": "string",
                          "description": "Only this dimension (correctness, style, ...)."},
        },
        "additionalProperties": false,
    })
}

fn events_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "since": {"type": "integer", "minimum": 0,
                      "description": "Only events with an id above this one."},
            "task": id_schema("Only the events of this task."),
            "correlation": {"type": "string",
                            "description": "Only the events of this correlation id (a batch is \
                                            `batch-<n>`)."},
            "limit": {"type": "integer", "minimum": 0,
                      "description": format!("The most recent N matching events (default \
                                              {DEFAULT_EVENTS}); 0 answers with them all.")},
        },
        "additionalProperties": false,
    })
}

fn approve_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"task": id_schema("The task whose change waits for approval.")},
        "required": ["task"],
        "additionalProperties": false,
    })
}

fn reject_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "task": id_schema("The task whose change waits for approval."),
            "reason": {"type": "string", "description": "Why, for the task's next attempt."},
        },
        "required": ["task", "reason"],
        "additionalProperties": false,
    })
}

fn work_start_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "workers": {"type": "integer", "minimum": 1, "maximum": u16::MAX,
                        "description": "How many agents work at once (default: `workers` of \
                                        vane.toml)."},
            "tasks": {"type": "array", "items": {"type": "string"},
                      "description": "Only these tasks and what they need."},
            "max_tasks": {"type": "integer", "minimum": 0, "description": "Start at most N tasks."},
        },
        "additionalProperties": false,
    })
}

/// A task id the schema requires.
fn required_id(args: &Arguments<'_>, name: &str) -> Result<TaskId, Failure> {
    args.id(name)?
        .ok_or_else(|| Failure::Arguments(format!("`{name}` is required")))
}

/// A whole number the schema bounds: outside the bounds is a protocol error.
fn bounded(args: &Arguments<'_>, name: &str, min: i64, max: i64) -> Result<Option<i64>, Failure> {
    match args.number(name)? {
        Some(n) if !(min..=max).contains(&n) => Err(Failure::Arguments(format!(
            "`{name}` must be from {min} to {max}, not {n}"
        ))),
        other => Ok(other),
    }
}

fn open_to_read(dir: &Path) -> Result<Workspace, Failure> {
    Workspace::open_to_read(dir).map_err(refused)
}

fn load_config(workspace: &Workspace) -> Result<Config, Failure> {
    Config::load(&workspace.location.workdir).map_err(refused)
}

/// Fails with the message a model reads when the task does not exist.
fn existing(store: &Store, id: &TaskId) -> Result<crate::model::Task, Failure> {
    store.task(id).map_err(unknown_task)
}

fn task_update(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, task_update_schema)?;
    let id = required_id(&args, "id")?;
    let title = args.text("title")?.map(str::trim);
    if let Some(title) = title {
        check_title(title).map_err(|why| Failure::Tool(format!("the title {why}")))?;
    }
    let description = args.text("description")?;
    if let Some(description) = description {
        check_text(description).map_err(|why| Failure::Tool(format!("the description {why}")))?;
    }
    let complexity = args
        .number("complexity")?
        .map(|c| Complexity::new(c).map_err(|e| Failure::Tool(e.to_string())))
        .transpose()?;
    let paths = match arguments.get("paths") {
        None | Some(Value::Null) => None,
        Some(_) => {
            let mut paths: Vec<String> = Vec::new();
            for path in args.texts("paths")? {
                let path = path.trim().to_string();
                check_path_pattern(&path)
                    .map_err(|why| Failure::Tool(format!("the path `{path}` {why}")))?;
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
            Some(paths)
        }
    };
    let agent = args
        .text("agent")?
        .map(|a| Some(a.trim().to_string()).filter(|a| !a.is_empty()));
    let update = TaskUpdate {
        title: title.map(str::to_string),
        description: description.map(str::to_string),
        complexity,
        paths,
        agent,
    };
    if update == TaskUpdate::default() {
        return Err(Failure::Tool(
            "nothing to change: give at least one of title, description, complexity, paths, agent"
                .into(),
        ));
    }
    let mut workspace = open(dir)?;
    if let Some(Some(agent)) = &update.agent {
        profiles::lookup(&load_config(&workspace)?, agent).map_err(|e| {
            Failure::Tool(format!(
                "{e}; name a built-in profile, or one defined in vane.toml under [agents.NAME]"
            ))
        })?;
    }
    match workspace.store.update_pending_task(&id, &update, ACTOR) {
        Ok((task, changed)) => Ok(json!({ "task": to_json(task)?, "changed": changed })),
        Err(UpdateError::NotPending { id, status }) => Err(Failure::Tool(format!(
            "task `{id}` is {status}; only a pending task can be changed{}",
            match status {
                TaskStatus::Blocked => "; `task_retry` makes it pending again",
                _ => "",
            }
        ))),
        Err(UpdateError::Store(e)) => Err(unknown_task(e)),
    }
}

fn task_block(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, task_block_schema)?;
    let id = required_id(&args, "id")?;
    let reason = args.text("reason")?.unwrap_or_default();
    if reason.trim().is_empty() {
        // Said before anything opens: the model can fix it whatever the repository.
        return Err(Failure::Tool(
            "a block needs a reason that is not empty; say what the task waits for".into(),
        ));
    }
    let mut workspace = open(dir)?;
    let task = workspace
        .store
        .block_by_hand(&id, reason, ACTOR)
        .map_err(unknown_task)?;
    to_json(task)
}

fn task_retry(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, task_retry_schema)?;
    let id = required_id(&args, "id")?;
    let fresh = args.flag("fresh")?;
    let mut workspace = open(dir)?;
    let retried = workspace
        .store
        .retry_by_hand(&id, fresh, ACTOR)
        .map_err(unknown_task)?;
    Ok(json!({ "task": to_json(retried.task)?, "released": retried.released, "fresh": fresh }))
}

fn dep_add(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, dep_add_schema)?;
    let task = required_id(&args, "task")?;
    let depends_on = required_id(&args, "depends_on")?;
    let kind = match args.text("kind")? {
        Some(kind) => kind
            .parse::<DepKind>()
            .map_err(|e| Failure::Arguments(e.to_string()))?,
        None => DepKind::Blocks,
    };
    let mut workspace = open(dir)?;
    workspace
        .store
        .add_dependency(&task, &depends_on, kind, ACTOR)
        .map_err(unknown_task)?;
    Ok(json!({"task": task, "depends_on": depends_on, "kind": kind, "change": "added"}))
}

fn plan_submit(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, plan_submit_schema)?;
    let replace = args.flag("replace")?;
    let add = args.flag("add")?;
    if replace && add {
        return Err(Failure::Tool(
            "`replace` and `add` exclude each other: `replace` plans the epic's pending tasks \
             again, `add` keeps them and adds the plan's"
                .into(),
        ));
    }
    let max_tasks = bounded(&args, "max_tasks", 1, MOST_PLAN_TASKS)?.unwrap_or(DEFAULT_PLAN_TASKS);
    let plan = &arguments["plan"];
    if !plan.is_object() {
        return Err(Failure::Arguments(format!(
            "`plan` must be an object {{\"rationale\": ..., \"tasks\": [...]}}, not {plan}"
        )));
    }
    let epic = epic_argument(&arguments["epic"])?;
    let mut workspace = open(dir)?;
    let epic = plan_epic(&workspace.store, &epic, replace, add)?;
    let config = load_config(&workspace)?;
    let options = PlanOptions {
        profile: ACTOR,
        // Checked against 1..=500 above.
        max_tasks: usize::try_from(max_tasks).unwrap_or(DEFAULT_PLAN_TASKS as usize),
        replace,
        progress: None,
    };
    let checked = planner::check_plan(
        &workspace.store,
        &config,
        epic.id().as_str(),
        &options,
        plan,
    )
    .map_err(refused)?;
    let plan = checked.map_err(|problems| {
        Failure::Tool(format!(
            "the plan was refused and nothing was written; {} problem{}:\n{}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            crate::plan::problems_text(&problems).trim_end()
        ))
    })?;
    let proposal = Proposal {
        plan,
        profile: ACTOR.to_string(),
        runs: Vec::new(),
    };
    let applied = proposal
        .apply(
            &mut workspace.store,
            epic.clone(),
            replace,
            "planned",
            ACTOR,
            None,
        )
        .map_err(refused)?;
    Ok(json!({
        "epic": epic.id(),
        "new_epic": matches!(epic, PlanEpic::New { .. }),
        "tasks": proposal.plan.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        "changes": to_json(&applied.changes)?,
        "replaced": applied.replaced,
        "event": applied.event,
    }))
}

/// The `epic` of `plan_submit`, read before anything opens.
#[derive(Debug, Clone, PartialEq)]
enum EpicArgument<'a> {
    Existing(&'a str),
    Goal {
        goal: &'a str,
        id: &'a str,
        description: &'a str,
    },
}

fn epic_argument(value: &Value) -> Result<EpicArgument<'_>, Failure> {
    let goal = match value {
        Value::String(id) => return Ok(EpicArgument::Existing(id)),
        Value::Object(goal) => goal,
        other => {
            return Err(Failure::Arguments(format!(
                "`epic` must be an epic's id or {{\"goal\": ..., \"id\": ...}}, not {other}"
            )))
        }
    };
    if let Some(key) = goal
        .keys()
        .find(|k| !["goal", "id", "description"].contains(&k.as_str()))
    {
        return Err(Failure::Arguments(format!(
            "unknown key `epic.{key}`; a new epic is {{\"goal\", \"id\", \"description\"}}"
        )));
    }
    let text = |key: &str| match goal.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str())),
        Some(other) => Err(Failure::Arguments(format!(
            "`epic.{key}` must be a string, not {other}"
        ))),
    };
    let (Some(goal_text), Some(id)) = (text("goal")?, text("id")?) else {
        return Err(Failure::Arguments(
            "a new epic needs `epic.goal` and `epic.id`".into(),
        ));
    };
    Ok(EpicArgument::Goal {
        goal: goal_text,
        id,
        description: text("description")?.unwrap_or_default(),
    })
}

/// The epic `plan_submit` plans: one that exists (refused when it has tasks, unless `replace` or
/// `add`), or a new one made from a goal; as `vane plan` resolves its target.
fn plan_epic(
    store: &Store,
    epic: &EpicArgument<'_>,
    replace: bool,
    add: bool,
) -> Result<PlanEpic, Failure> {
    match *epic {
        EpicArgument::Existing(id) => existing_epic(store, id, replace, add),
        EpicArgument::Goal {
            goal,
            id,
            description,
        } => new_epic(store, goal, id, description, replace || add),
    }
}

fn existing_epic(store: &Store, id: &str, replace: bool, add: bool) -> Result<PlanEpic, Failure> {
    let id = TaskId::new(id).map_err(|e| Failure::Tool(e.to_string()))?;
    let task = match store.task(&id) {
        Ok(task) => task,
        Err(crate::store::StoreError::TaskNotFound(_)) => {
            let epics: Vec<String> = store
                .tasks(&TaskFilter::default())
                .map_err(refused)?
                .into_iter()
                .filter(|t| t.kind == TaskType::Epic)
                .map(|t| t.id.to_string())
                .collect();
            let names: Vec<&str> = epics.iter().map(String::as_str).collect();
            let near = crate::suggest::did_you_mean(id.as_str(), &names)
                .map(|near| format!("did you mean `{near}`? "))
                .unwrap_or_default();
            return Err(Failure::Tool(format!(
                "no epic `{id}`; {near}to make a new epic, give `epic` as {{\"goal\": \"...\", \
                 \"id\": \"{id}\"}}"
            )));
        }
        Err(e) => return Err(refused(e)),
    };
    if task.kind != TaskType::Epic {
        return Err(Failure::Tool(format!(
            "`{id}` is a {}, not an epic: a plan breaks an epic into tasks; to plan its goal, \
             give `epic` as {{\"goal\": ..., \"id\": ...}}",
            task.kind
        )));
    }
    let children = store
        .tasks(&TaskFilter {
            parent: Some(id.clone()),
            ..Default::default()
        })
        .map_err(refused)?;
    if !children.is_empty() && !replace && !add {
        let pending = children
            .iter()
            .filter(|t| t.status == TaskStatus::Pending)
            .count();
        return Err(Failure::Tool(format!(
            "the epic `{id}` has {} task{} already ({pending} pending); `replace` plans it again \
             (only pending tasks are replaced), `add` adds to them",
            children.len(),
            if children.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(PlanEpic::Existing(id))
}

fn new_epic(
    store: &Store,
    goal: &str,
    id: &str,
    description: &str,
    again: bool,
) -> Result<PlanEpic, Failure> {
    if again {
        return Err(Failure::Tool(
            "`replace` and `add` are for an epic that exists; a new epic is planned without them"
                .into(),
        ));
    }
    let title = goal.trim();
    check_title(title).map_err(|why| Failure::Tool(format!("the goal {why}")))?;
    check_text(description).map_err(|why| Failure::Tool(format!("the description {why}")))?;
    let id = TaskId::new(id).map_err(|e| Failure::Tool(e.to_string()))?;
    if store.task(&id).is_ok() {
        return Err(Failure::Tool(format!(
            "a task `{id}` exists already; to plan that epic, give `epic` as \"{id}\""
        )));
    }
    Ok(PlanEpic::New {
        id,
        title: title.to_string(),
        description: description.to_string(),
    })
}

fn context_add(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, context_add_schema)?;
    let kind = args
        .text("type")?
        .unwrap_or_default()
        .parse::<ContextKind>()
        .map_err(|e| Failure::Arguments(e.to_string()))?;
    let confidence = match arguments.get("confidence") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_f64().ok_or_else(|| {
            Failure::Arguments(format!("`confidence` must be a number, not {value}"))
        })?),
    };
    let mut tasks = Vec::new();
    for task in args.texts("tasks")? {
        tasks.push(TaskId::new(task).map_err(|e| Failure::Tool(e.to_string()))?);
    }
    let entry = NewContextEntry {
        kind,
        topic: args.text("topic")?.unwrap_or_default().trim().to_string(),
        content: args.text("content")?.unwrap_or_default().trim().to_string(),
        confidence,
        related_tasks: tasks,
        origin: None,
    };
    entry
        .check()
        .map_err(|problem| Failure::Tool(format!("cannot record the {kind}: {problem}")))?;
    let mut workspace = open(dir)?;
    to_json(
        workspace
            .store
            .add_context(&entry, ACTOR)
            .map_err(refused)?,
    )
}

fn context_list(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, context_list_schema)?;
    let kind = args
        .text("type")?
        .map(|k| {
            k.parse::<ContextKind>()
                .map_err(|e| Failure::Arguments(e.to_string()))
        })
        .transpose()?;
    let task = args.id("task")?;
    let workspace = open_to_read(dir)?;
    if let Some(task) = &task {
        existing(&workspace.store, task)?;
    }
    let entries = workspace
        .store
        .context_entries(kind, args.text("topic")?, task.as_ref())
        .map_err(refused)?;
    Ok(json!({ "entries": to_json(entries)? }))
}

fn quality(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, quality_schema)?;
    let workspace = open_to_read(dir)?;
    let config = load_config(&workspace)?;
    to_json(
        workspace
            .store
            .quality_report(args.text("dimension")?, None, config.threshold)
            .map_err(refused)?,
    )
}

fn events(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, events_schema)?;
    let since = bounded(&args, "since", 0, i64::MAX)?;
    let limit = bounded(&args, "limit", 0, i64::MAX)?.unwrap_or(DEFAULT_EVENTS);
    let limit = usize::try_from(limit).ok().filter(|l| *l > 0);
    let task = args.id("task")?;
    let correlation = args.text("correlation")?;
    let workspace = open_to_read(dir)?;
    if let Some(task) = &task {
        existing(&workspace.store, task)?;
    }
    // The store filters by task and id; a correlation is looked for among what it returns.
    let mut events = workspace
        .store
        .events(&EventFilter {
            task,
            after: since,
            limit: if correlation.is_some() { None } else { limit },
        })
        .map_err(refused)?;
    if let Some(correlation) = correlation {
        events.retain(|e| e.correlation.as_deref() == Some(correlation));
        if let Some(limit) = limit {
            let extra = events.len().saturating_sub(limit);
            events.drain(..extra);
        }
    }
    let last = events.last().map(|e| e.id);
    Ok(json!({ "events": to_json(events)?, "last_id": last }))
}

fn checkpoints(dir: &Path, arguments: &Value) -> Outcome {
    Arguments::of(arguments, no_arguments)?;
    let workspace = open_to_read(dir)?;
    let checkpoints = workspace.store.checkpoints().map_err(refused)?;
    Ok(json!({ "checkpoints": to_json(checkpoints)? }))
}

fn approve(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, approve_schema)?;
    let task = required_id(&args, "task")?;
    let mut workspace = open(dir)?;
    awaiting_approval(&workspace.store, &task)?;
    let config = load_config(&workspace)?;
    to_json(approval::approve(&mut workspace, &config, &task, ACTOR).map_err(refused)?)
}

fn reject(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, reject_schema)?;
    let task = required_id(&args, "task")?;
    let reason = args.text("reason")?.unwrap_or_default().trim();
    if reason.is_empty() {
        return Err(Failure::Tool(
            "a rejection needs a reason that is not empty: the task's next attempt is told it"
                .into(),
        ));
    }
    let mut workspace = open(dir)?;
    awaiting_approval(&workspace.store, &task)?;
    approval::reject(&mut workspace, &task, reason, ACTOR).map_err(refused)?;
    Ok(json!({ "task": task, "rejected": true, "reason": reason }))
}

/// Refuses, in the tools' words, a task that does not wait in needs_review; `approval` checks
/// the rest (that the review is still open).
fn awaiting_approval(store: &Store, id: &TaskId) -> Result<(), Failure> {
    let task = existing(store, id)?;
    if task.status != TaskStatus::NeedsReview {
        return Err(Failure::Tool(format!(
            "task `{id}` is not waiting for a person's approval (it is {}); only a candidate that \
             passed its gates but changes a protected path waits in needs_review; `task_show` \
             says where the task stands",
            task.status
        )));
    }
    Ok(())
}

fn work_start(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, work_start_schema)?;
    let workers = bounded(&args, "workers", 1, i64::from(u16::MAX))?;
    let max_tasks = bounded(&args, "max_tasks", 0, i64::MAX)?;
    let mut tasks = Vec::new();
    for task in args.texts("tasks")? {
        tasks.push(TaskId::new(task).map_err(|e| Failure::Tool(e.to_string()))?);
    }
    let workspace = open(dir)?;
    for task in &tasks {
        existing(&workspace.store, task)?;
    }
    let state_dir = workspace::state_dir(&workspace.location);
    if let LockState::Held { pid, started } = lock_state(&state_dir)? {
        return Err(Failure::Tool(format!(
            "a batch is running already (pid {pid}, started {started}); `work_status` follows \
             it, and `work_start` works once it has finished"
        )));
    }
    let mut command_line = vec!["work".to_string()];
    if let Some(workers) = workers {
        command_line.extend(["--workers".to_string(), workers.to_string()]);
    }
    if let Some(max_tasks) = max_tasks {
        command_line.extend(["--max-tasks".to_string(), max_tasks.to_string()]);
    }
    for task in &tasks {
        command_line.extend(["--task".to_string(), task.to_string()]);
    }
    let (log_path, log) = new_log(&state_dir.join("runs"))?;
    let io = |what: &str, e: std::io::Error| Failure::Tool(format!("cannot {what}: {e}"));
    let program = vane_executable().map_err(|e| io("find the vane executable", e))?;
    let mut child = Command::new(&program)
        .args(&command_line)
        .current_dir(&workspace.location.workdir)
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| io(&format!("write {}", log_path.display()), e))?,
        )
        .stderr(log)
        // Its own process group: a signal meant for the MCP server and its client is not for it.
        .process_group(0)
        .spawn()
        .map_err(|e| io(&format!("start {}", program.display()), e))?;
    let pid = child.id();
    // Answer once the batch holds the work lock (so that a second `work_start` is refused), or
    // has ended already (nothing to do, a refusal, or a batch that quick).
    let deadline = Instant::now() + START_WAIT;
    let exit = loop {
        if let Some(status) = child.try_wait().map_err(|e| io("follow `vane work`", e))? {
            break Some(status);
        }
        let holds = matches!(lock_state(&state_dir)?, LockState::Held { pid: holder, .. }
                             if holder == pid.to_string());
        if holds || Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if exit.is_none() {
        // Reaped when it ends, so that it leaves no zombie behind while the server lives on.
        std::thread::spawn(move || child.wait());
    }
    let mut answer = json!({
        "pid": pid,
        "log": log_path,
        "command": command_line,
        "running": exit.is_none(),
    });
    if let Some(status) = exit {
        answer["exit_code"] = json!(status.code());
        answer["log_tail"] = json!(log_tail(&log_path));
    }
    Ok(answer)
}

fn work_status(dir: &Path, arguments: &Value) -> Outcome {
    Arguments::of(arguments, no_arguments)?;
    let workspace = open_to_read(dir)?;
    let state_dir = workspace::state_dir(&workspace.location);
    let lock = match lock_state(&state_dir)? {
        LockState::Free => json!({"running": false}),
        LockState::Held { pid, started } => {
            json!({"running": true, "pid": pid, "started": started})
        }
        LockState::Stale { pid, started } => json!({
            "running": false,
            "stopped": {"pid": pid, "started": started,
                        "note": "it stopped without finishing; the next batch resumes its work"},
        }),
    };
    let summary = workspace.store.status_summary(0).map_err(refused)?;
    let log = newest_log(&state_dir.join("runs"));
    Ok(json!({
        "running": lock["running"],
        "lock": lock,
        "latest_batch": to_json(workspace.store.latest_batch().map_err(refused)?)?,
        "counts": to_json(&summary.counts)?,
        "ready": summary.ready_count,
        "blocked": summary.blocked_count,
        "log": log,
        "log_tail": log.as_deref().map(log_tail),
    }))
}

/// This vane, to run `vane work` with. A binary replaced while the server runs (an upgrade, a
/// rebuild) is named `<path> (deleted)` by Linux; the one now at the path is taken then.
fn vane_executable() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    if exe.exists() {
        return Ok(exe);
    }
    Ok(exe
        .to_str()
        .and_then(|path| path.strip_suffix(" (deleted)"))
        .map(PathBuf::from)
        .filter(|path| path.exists())
        .unwrap_or(exe))
}

fn lock_state(state_dir: &Path) -> Result<LockState, Failure> {
    lock::inspect(state_dir).map_err(|e| Failure::Tool(e.to_string()))
}

/// The number of a background log from its file name: `mcp-work-<n>.log`.
fn log_number(name: &str) -> Option<u32> {
    name.strip_prefix(LOG_PREFIX)?
        .strip_suffix(LOG_SUFFIX)?
        .parse()
        .ok()
}

fn log_numbers(runs: &Path) -> impl Iterator<Item = u32> {
    std::fs::read_dir(runs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| log_number(e.file_name().to_str()?))
}

/// A new background log, the first number not used yet; made with `create_new`, so that two
/// calls at once never share one.
fn new_log(runs: &Path) -> Result<(PathBuf, File), Failure> {
    let failed = |e: std::io::Error| Failure::Tool(format!("cannot write {}: {e}", runs.display()));
    std::fs::create_dir_all(runs).map_err(failed)?;
    let mut number = log_numbers(runs).max().unwrap_or(0) + 1;
    loop {
        let path = runs.join(format!("{LOG_PREFIX}{number}{LOG_SUFFIX}"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => number += 1,
            Err(e) => return Err(failed(e)),
        }
    }
}

fn newest_log(runs: &Path) -> Option<PathBuf> {
    let number = log_numbers(runs).max()?;
    Some(runs.join(format!("{LOG_PREFIX}{number}{LOG_SUFFIX}")))
}

/// The last lines of a log, read from its end.
fn log_tail(path: &Path) -> Vec<String> {
    const TAIL_BYTES: u64 = 64 * 1024;
    let mut text = Vec::new();
    if let Ok(mut file) = File::open(path) {
        let length = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES)));
        let _ = file.read_to_end(&mut text);
    }
    last_lines(&String::from_utf8_lossy(&text), LOG_LINES)
}

fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_forbids_other_keys_and_requires_only_what_it_describes() {
        for spec in TOOLS {
            let schema = (spec.schema)();
            assert_eq!(schema["type"], "object", "{}", spec.name);
            assert_eq!(schema["additionalProperties"], false, "{}", spec.name);
            let properties = schema["properties"].as_object().unwrap();
            for required in schema["required"].as_array().into_iter().flatten() {
                assert!(
                    properties.contains_key(required.as_str().unwrap()),
                    "{}: {required}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn arguments_that_do_not_fit_are_protocol_errors_before_anything_opens() {
        let nowhere = Path::new("/nonexistent/vane-mcp");
        let cases = [
            ("task_update", json!({"title": "No id"})),
            ("task_block", json!({"id": "a"})),
            ("task_retry", json!({"id": "a", "fresh": "yes"})),
            (
                "dep_add",
                json!({"task": "a", "depends_on": "b", "kind": "after"}),
            ),
            ("plan_submit", json!({"epic": "e", "plan": []})),
            ("plan_submit", json!({"epic": 3, "plan": {}})),
            (
                "context_add",
                json!({"type": "rumour", "topic": "t", "content": "c"}),
            ),
            (
                "context_add",
                json!({"type": "decision", "topic": "t", "content": "c",
                                   "confidence": "high"}),
            ),
            ("events", json!({"limit": -1})),
            ("work_start", json!({"workers": 0})),
            ("checkpoints", json!({"all": true})),
        ];
        for (name, arguments) in cases {
            let spec = TOOLS.iter().find(|t| t.name == name).unwrap();
            let outcome = (spec.call)(nowhere, &arguments);
            assert!(
                matches!(outcome, Err(Failure::Arguments(_))),
                "{name} {arguments}: {outcome:?}"
            );
        }
    }

    #[test]
    fn what_the_model_can_fix_is_a_tool_error_before_anything_opens() {
        let nowhere = Path::new("/nonexistent/vane-mcp");
        let cases = [
            ("task_update", json!({"id": "a"}), "nothing to change"),
            (
                "task_update",
                json!({"id": "a", "complexity": 11}),
                "complexity",
            ),
            (
                "task_update",
                json!({"id": "a", "paths": ["/etc"]}),
                "the path `/etc`",
            ),
            ("task_block", json!({"id": "a", "reason": "  "}), "a reason"),
            (
                "plan_submit",
                json!({"epic": "e", "plan": {}, "replace": true, "add": true}),
                "exclude each other",
            ),
            (
                "context_add",
                json!({"type": "decision", "topic": "t", "content": " "}),
                "the content is empty",
            ),
            ("reject", json!({"task": "a", "reason": ""}), "a reason"),
        ];
        for (name, arguments, said) in cases {
            let spec = TOOLS.iter().find(|t| t.name == name).unwrap();
            match (spec.call)(nowhere, &arguments) {
                Err(Failure::Tool(message)) => {
                    assert!(message.contains(said), "{name}: {message}")
                }
                other => panic!("{name} {arguments}: {other:?}"),
            }
        }
    }

    #[test]
    fn background_logs_are_numbered_and_the_newest_is_found() {
        assert_eq!(log_number("mcp-work-12.log"), Some(12));
        assert_eq!(log_number("mcp-work-.log"), None);
        assert_eq!(log_number("mcp-work-3.txt"), None);
        assert_eq!(log_number("plan"), None);
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        assert_eq!(newest_log(&runs), None);
        let (first, _) = new_log(&runs).unwrap();
        let (second, _) = new_log(&runs).unwrap();
        assert!(first.ends_with("mcp-work-1.log"), "{}", first.display());
        assert!(second.ends_with("mcp-work-2.log"), "{}", second.display());
        assert_eq!(newest_log(&runs), Some(second));
    }

    #[test]
    fn a_log_tail_is_its_last_lines() {
        assert_eq!(last_lines("a\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(last_lines("a", 5), ["a"]);
        assert!(last_lines("", 5).is_empty());
    }
}
