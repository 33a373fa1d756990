//! The tools `vane mcp` offers: each a name, what it does, the JSON Schema of its arguments, and a
//! synchronous function of the repository and the arguments that answers with a JSON value.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::model::{Complexity, DepKind, TaskId, TaskStatus, TaskType};
use crate::store::{NewTask, StoreError, TaskFilter};
use crate::workspace::Workspace;

/// Why a call did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The arguments do not fit the tool's schema: a protocol error (-32602).
    Arguments(String),
    /// The tool ran and refused, or failed: a tool error, with a message a model can act on.
    Tool(String),
}

type Outcome = Result<Value, Failure>;

/// One tool.
pub struct Spec {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: fn() -> Value,
    pub call: fn(&Path, &Value) -> Outcome,
}

impl Spec {
    pub fn describe(&self) -> rmcp::model::Tool {
        let schema = match (self.schema)() {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        rmcp::model::Tool::new(self.name, self.description, Arc::new(schema))
    }
}

/// Every tool, in the order `tools/list` shows them.
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

fn no_arguments() -> Value {
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

/// The arguments of a call, read against its schema; every problem is a protocol error.
struct Arguments<'a>(&'a serde_json::Map<String, Value>);

impl<'a> Arguments<'a> {
    fn of(value: &'a Value, schema: fn() -> Value) -> Result<Arguments<'a>, Failure> {
        let map = value
            .as_object()
            .ok_or_else(|| Failure::Arguments("the arguments must be a JSON object".into()))?;
        let schema = schema();
        let known = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for key in map.keys() {
            if !known.contains_key(key) {
                let names: Vec<&str> = known.keys().map(String::as_str).collect();
                return Err(Failure::Arguments(format!(
                    "unknown argument `{key}`; the arguments are {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
            }
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = required.as_str() {
                if !map.contains_key(name) {
                    return Err(Failure::Arguments(format!("`{name}` is required")));
                }
            }
        }
        Ok(Arguments(map))
    }

    fn text(&self, name: &str) -> Result<Option<&'a str>, Failure> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(Failure::Arguments(format!(
                "`{name}` must be a string, not {other}"
            ))),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, Failure> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(other) => Err(Failure::Arguments(format!(
                "`{name}` must be true or false, not {other}"
            ))),
        }
    }

    fn number(&self, name: &str) -> Result<Option<i64>, Failure> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| {
                Failure::Arguments(format!("`{name}` must be a whole number, not {value}"))
            }),
        }
    }

    fn texts(&self, name: &str) -> Result<Vec<String>, Failure> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_string).ok_or_else(|| {
                        Failure::Arguments(format!("`{name}` must be a list of strings"))
                    })
                })
                .collect(),
            Some(other) => Err(Failure::Arguments(format!(
                "`{name}` must be a list of strings, not {other}"
            ))),
        }
    }

    /// A task id: its syntax is the model's to fix, so a tool error.
    fn id(&self, name: &str) -> Result<Option<TaskId>, Failure> {
        self.text(name)?
            .map(|text| TaskId::new(text).map_err(|e| Failure::Tool(e.to_string())))
            .transpose()
    }
}

/// What the store's refusal tells a model.
fn refused(e: impl Into<crate::error::CliError>) -> Failure {
    let e: crate::error::CliError = e.into();
    let mut message = e.message;
    for hint in e.hints {
        message.push_str(&format!("; {hint}"));
    }
    Failure::Tool(message)
}

fn unknown_task(e: StoreError) -> Failure {
    match e {
        StoreError::TaskNotFound(id) => Failure::Tool(format!(
            "task `{id}` does not exist; `task_list` shows the ids"
        )),
        other => refused(other),
    }
}

fn open(dir: &Path) -> Result<Workspace, Failure> {
    Workspace::open(dir).map_err(refused)
}

fn to_json(value: impl serde::Serialize) -> Outcome {
    serde_json::to_value(value).map_err(|e| Failure::Tool(e.to_string()))
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
    let added = workspace.store.add_task(&task, ACTOR).map_err(refused)?;
    to_json(added)
}
