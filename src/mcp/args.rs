//! What every tool shares: how a call fails, how its arguments are read against its schema, and
//! how the store's refusals reach the model.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::model::TaskId;
use crate::store::StoreError;
use crate::workspace::Workspace;

/// Why a call did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The arguments do not fit the tool's schema: a protocol error (-32602).
    Arguments(String),
    /// The tool ran and refused, or failed: a tool error, with a message a model can act on.
    Tool(String),
}

pub type Outcome = Result<Value, Failure>;

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

/// The arguments of a call, read against its schema; every problem is a protocol error.
pub struct Arguments<'a>(&'a serde_json::Map<String, Value>);

impl<'a> Arguments<'a> {
    pub fn of(value: &'a Value, schema: fn() -> Value) -> Result<Arguments<'a>, Failure> {
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

    pub fn text(&self, name: &str) -> Result<Option<&'a str>, Failure> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(Failure::Arguments(format!(
                "`{name}` must be a string, not {other}"
            ))),
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, Failure> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(other) => Err(Failure::Arguments(format!(
                "`{name}` must be true or false, not {other}"
            ))),
        }
    }

    pub fn number(&self, name: &str) -> Result<Option<i64>, Failure> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| {
                Failure::Arguments(format!("`{name}` must be a whole number, not {value}"))
            }),
        }
    }

    pub fn texts(&self, name: &str) -> Result<Vec<String>, Failure> {
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
    pub fn id(&self, name: &str) -> Result<Option<TaskId>, Failure> {
        self.text(name)?
            .map(|text| TaskId::new(text).map_err(|e| Failure::Tool(e.to_string())))
            .transpose()
    }
}

/// What the store's refusal tells a model.
pub fn refused(e: impl Into<crate::error::CliError>) -> Failure {
    let e: crate::error::CliError = e.into();
    let mut message = e.message;
    for hint in e.hints {
        message.push_str(&format!("; {hint}"));
    }
    Failure::Tool(message)
}

pub fn unknown_task(e: StoreError) -> Failure {
    match e {
        StoreError::TaskNotFound(id) => Failure::Tool(format!(
            "task `{id}` does not exist; `task_list` shows the ids"
        )),
        other => refused(other),
    }
}

pub fn open(dir: &Path) -> Result<Workspace, Failure> {
    Workspace::open(dir).map_err(refused)
}

pub fn to_json(value: impl serde::Serialize) -> Outcome {
    serde_json::to_value(value).map_err(|e| Failure::Tool(e.to_string()))
}
