//! The tools `vane mcp` offers: each a name, what it does, the JSON Schema of its arguments, and a
//! synchronous function of the repository and the arguments that answers with a JSON value.

use std::path::Path;

use serde_json::{json, Value};

use super::args::{open, refused, to_json, unknown_task, Arguments, Failure, Outcome, Spec};
use crate::model::{Complexity, DepKind, TaskId, TaskStatus, TaskType};
use crate::store::{NewTask, TaskFilter};

/// The graph's tools, read and add.
pub const TOOLS: &[Spec] = &[
    Spec {
        name: "status",
        description: "How the task graph stands: counts per status, the ready tasks, the blocked \
                      ones with their reasons, each epic's progress and the last checkpoint.",
        schema: no_arguments,
        call: status,
    },
    Spec {
        name: "task_list",
        description: "The tasks, in scheduling order; filter by status, by parent epic, or to the \
                      ready ones.",
        schema: task_list_schema,
        call: task_list,
    },
    Spec {
        name: "task_show",
        description: "One task with its dependencies, dependents and recent events.",
        schema: task_show_schema,
        call: task_show,
    },
    Spec {
        name: "task_add",
        description: "Add a task to the graph (pending). Its agent works on it in the next `vane \
                      work` batch.",
        schema: task_add_schema,
        call: task_add,
    },
];

/// The actor MCP calls are recorded as.
const ACTOR: &str = "mcp";

pub fn no_arguments() -> Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

fn task_list_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": TaskStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                       "description": "Only tasks with this status."},
            "parent": {"type": "string", "description": "Only the tasks of this epic."},
            "ready": {"type": "boolean", "description": "Only tasks ready to start now."},
        },
        "additionalProperties": false,
    })
}

fn task_show_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"id": {"type": "string", "description": "The task's id."}},
        "required": ["id"],
        "additionalProperties": false,
    })
}

fn task_add_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "One line: what the task does."},
            "id": {"type": "string", "description": "Its id (default: T<n>)."},
            "description": {"type": "string", "description": "The brief its agent gets."},
            "type": {"type": "string", "enum": ["epic", "story", "task", "bug"]},
            "complexity": {"type": "integer", "minimum": 1, "maximum": 10},
            "parent": {"type": "string", "description": "The epic it belongs to."},
            "deps": {"type": "array", "items": {"type": "string"},
                     "description": "Tasks it waits for (`blocks`)."},
            "paths": {"type": "array", "items": {"type": "string"},
                      "description": "The paths or globs it expects to touch."},
            "agent": {"type": "string", "description": "The agent profile that works on it."},
            "run": {"type": "string", "description": "The command the `shell` agent runs."},
        },
        "required": ["title"],
        "additionalProperties": false,
    })
}

fn status(dir: &Path, arguments: &Value) -> Outcome {
    Arguments::of(arguments, no_arguments)?;
    let workspace = open(dir)?;
    to_json(workspace.store.status_summary(20).map_err(refused)?)
}

fn task_list(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, task_list_schema)?;
    let statuses = match args.text("status")? {
        Some(status) => vec![status
            .parse::<TaskStatus>()
            .map_err(|e| Failure::Arguments(e.to_string()))?],
        None => Vec::new(),
    };
    let parent = args.id("parent")?;
    let workspace = open(dir)?;
    if let Some(parent) = &parent {
        workspace.store.task(parent).map_err(unknown_task)?;
    }
    let mut tasks = workspace
        .store
        .tasks(&TaskFilter { statuses, parent })
        .map_err(refused)?;
    if args.flag("ready")? {
        let ready = workspace.store.ready_tasks().map_err(refused)?;
        tasks.retain(|t| ready.contains(&t.id));
    }
    Ok(json!({ "tasks": to_json(tasks)? }))
}

fn task_show(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, task_show_schema)?;
    let Some(id) = args.id("id")? else {
        return Err(Failure::Arguments("`id` is required".into()));
    };
    let workspace = open(dir)?;
    to_json(workspace.store.task_detail(&id).map_err(unknown_task)?)
}

fn task_add(dir: &Path, arguments: &Value) -> Outcome {
    let args = Arguments::of(arguments, task_add_schema)?;
    let title = args.text("title")?.unwrap_or_default();
    crate::model::check_title(title).map_err(|why| Failure::Tool(format!("the title {why}")))?;
    let kind = match args.text("type")? {
        Some(kind) => kind
            .parse::<TaskType>()
            .map_err(|e| Failure::Arguments(e.to_string()))?,
        None => TaskType::Task,
    };
    let complexity = args
        .number("complexity")?
        .map(|c| Complexity::new(c).map_err(|e| Failure::Tool(e.to_string())))
        .transpose()?;
    let mut deps = Vec::new();
    for dep in args.texts("deps")? {
        deps.push((
            TaskId::new(dep).map_err(|e| Failure::Tool(e.to_string()))?,
            DepKind::Blocks,
        ));
    }
    let paths = args.texts("paths")?;
    for path in &paths {
        crate::model::check_path_pattern(path)
            .map_err(|why| Failure::Tool(format!("the path `{path}` {why}")))?;
    }
    let task = NewTask {
        id: args.id("id")?,
        title: title.to_string(),
        description: args.text("description")?.unwrap_or_default().to_string(),
        kind,
        complexity,
        parent: args.id("parent")?,
        deps,
        run: args.text("run")?.map(str::to_string),
        agent: args.text("agent")?.map(str::to_string),
        paths,
    };
    let mut workspace = open(dir)?;
    let added = workspace
        .store
        .add_task(&task, ACTOR)
        .map_err(|e| match e {
            crate::store::StoreError::TaskExists(id) => Failure::Tool(format!(
                "a task `{id}` exists already; give another `id`, or none for the next T<n>"
            )),
            other => refused(other),
        })?;
    to_json(added)
}
