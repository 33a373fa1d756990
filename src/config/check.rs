//! Checking the text of a `vane.toml` key by key, so that every problem is reported at once with
//! its line: unknown keys (with the nearest known key as a suggestion), values of the wrong type,
//! and the rules that tie keys together. `Config::parse`, which every command uses, and
//! `vane config check` both come here, so a broken file reads the same whichever found it.
//!
//! The walk over the parsed document comes first because serde stops at the first problem and
//! words type errors in Rust's terms (`expected u32`). Serde still builds the `Config` afterwards;
//! the tables of known keys below are held to the structs' fields by a test.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Component, Path};

use serde::Serialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{Config, ScoreMode, LOCAL_EXECUTOR, PARSERS};
use crate::agent::Profile;
use crate::model::TaskType;
use crate::routing::{check_route_path, ComplexityRange, RANGE_FORMS};
use crate::suggest::did_you_mean;

/// One thing wrong with a `vane.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The line it is on, from 1; None for a problem of the whole file.
    pub line: Option<usize>,
    /// The key it concerns, dotted: `workers`, `agents.claude.timeout`, `gate[2].timeout` (the
    /// `[[gate]]` and `[[route]]` tables by position, from 1), `include[1]`, `extend.every`,
    /// `executor.cluster.start`.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Where each key of a `vane.toml` was written: its line.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// By the dotted key of `Problem::key`; tables by their own name (`agents.claude`, `gate[1]`).
    lines: HashMap<String, usize>,
}

impl Sources {
    /// The line of a top-level key.
    pub fn top(&self, key: &str) -> Option<usize> {
        self.lines.get(key).copied()
    }

    /// The line of a key of `[agents.NAME]`.
    pub fn agent(&self, name: &str, key: &str) -> Option<usize> {
        self.lines.get(&agent_key(name, key)).copied()
    }

    /// The line of a key of the `index`th `[[gate]]` (from 0); `[[gate]]` itself for `None`.
    pub fn gate(&self, index: usize, key: Option<&str>) -> Option<usize> {
        let table = gate_table(index);
        match key {
            Some(key) => self.lines.get(&format!("{table}.{key}")).copied(),
            None => self.lines.get(&table).copied(),
        }
    }

    /// The line of a key of the `index`th `[[route]]` (from 0); `[[route]]` itself for `None`.
    pub fn route(&self, index: usize, key: Option<&str>) -> Option<usize> {
        let table = route_table(index);
        match key {
            Some(key) => self.lines.get(&format!("{table}.{key}")).copied(),
            None => self.lines.get(&table).copied(),
        }
    }

    /// The line of a key of `[extend]`; `[extend]` itself for `None`.
    pub fn extend(&self, key: Option<&str>) -> Option<usize> {
        match key {
            Some(key) => self.lines.get(&format!("extend.{key}")).copied(),
            None => self.lines.get("extend").copied(),
        }
    }

    /// The line of a key of `[executor.NAME]`; `[executor.NAME]` itself for `None`.
    pub fn executor(&self, name: &str, key: Option<&str>) -> Option<usize> {
        let table = executor_table(name);
        match key {
            Some(key) => self.lines.get(&format!("{table}.{key}")).copied(),
            None => self.lines.get(&table).copied(),
        }
    }

    /// The line of the `index`th entry (from 0) of `include`.
    pub fn include(&self, index: usize) -> Option<usize> {
        self.lines
            .get(&format!("include[{}]", index + 1))
            .or_else(|| self.lines.get("include"))
            .copied()
    }

    fn note(&mut self, key: String, line: usize) {
        self.lines.insert(key, line);
    }
}

fn agent_key(name: &str, key: &str) -> String {
    format!("agents.{name}.{key}")
}

fn gate_table(index: usize) -> String {
    format!("gate[{}]", index + 1)
}

fn route_table(index: usize) -> String {
    format!("route[{}]", index + 1)
}

fn executor_table(name: &str) -> String {
    format!("executor.{name}")
}

/// The outcome of checking a `vane.toml`.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The configuration, when there is no problem.
    pub config: Option<Config>,
    /// Every problem, in the order of the file.
    pub problems: Vec<Problem>,
    pub sources: Sources,
}

/// What a key holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    /// An integer from 0 to this.
    Count(u64),
    /// An integer or a float.
    Number,
    Flag,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// An array of strings.
    Texts,
    /// A table of strings.
    TextTable,
    /// `[agents.NAME]` tables.
    Agents,
    /// `[[gate]]` tables.
    Gates,
    /// `[[route]]` tables.
    Routes,
    /// The `[extend]` table.
    Extend,
    /// The `[budget]` table.
    Budget,
    /// `[prices."MODEL"]` tables.
    Prices,
    /// `[executor.NAME]` tables.
    Executors,
    /// A task type, or an array of them.
    TaskTypes,
    /// A range of complexities: `"<=3"`, `">=7"`, `"4-6"`, `"5"`, or an integer.
    Range,
    /// An array of path patterns, as tasks declare them.
    Patterns,
}

#[derive(Debug)]
struct Key {
    name: &'static str,
    kind: Kind,
}

const fn key(name: &'static str, kind: Kind) -> Key {
    Key { name, kind }
}

const SCORE_MODES: &[&str] = &["exit", "json"];

/// The top-level keys, in the order `vane config show` lists them.
const TOP_KEYS: &[Key] = &[
    key("base_branch", Kind::Text),
    key("workers", Kind::Count(u32::MAX as u64)),
    key("gate_workers", Kind::Count(u32::MAX as u64)),
    key("merge_window", Kind::Count(u32::MAX as u64)),
    key("batch", Kind::Count(u32::MAX as u64)),
    key("pause_timeout", Kind::Count(u64::MAX)),
    key("default_agent", Kind::Text),
    key("max_attempts", Kind::Count(u32::MAX as u64)),
    key("worktree_root", Kind::Text),
    key("include", Kind::Texts),
    key("setup", Kind::Text),
    key("protected", Kind::Texts),
    key("log_limit", Kind::Count(u64::MAX)),
    key("confine", Kind::Flag),
    key("threshold", Kind::Number),
    key("escalate_after", Kind::Count(u32::MAX as u64)),
    key("escalate_to", Kind::Text),
    key("planner", Kind::Text),
    key("land_to", Kind::Text),
    key("pr_command", Kind::Text),
    key("agents", Kind::Agents),
    key("gate", Kind::Gates),
    key("route", Kind::Routes),
    key("extend", Kind::Extend),
    key("budget", Kind::Budget),
    key("prices", Kind::Prices),
    key("executor", Kind::Executors),
];

const AGENT_KEYS: &[Key] = &[
    key("command", Kind::Texts),
    key("env", Kind::TextTable),
    key("timeout", Kind::Count(u64::MAX)),
    key("parser", Kind::Choice(PARSERS)),
    key("writable", Kind::Texts),
    key("model", Kind::Text),
];

const GATE_KEYS: &[Key] = &[
    key("name", Kind::Text),
    key("dimension", Kind::Text),
    key("command", Kind::Text),
    key("agent", Kind::Text),
    key("weight", Kind::Number),
    key("required", Kind::Flag),
    key("timeout", Kind::Count(u64::MAX)),
    key("score", Kind::Choice(SCORE_MODES)),
    key("parallel", Kind::Flag),
    key("fast", Kind::Flag),
];

const ROUTE_KEYS: &[Key] = &[
    key("type", Kind::TaskTypes),
    key("complexity", Kind::Range),
    key("paths", Kind::Patterns),
    key("agent", Kind::Text),
    key("executor", Kind::Text),
];

const EXTEND_KEYS: &[Key] = &[
    key("every", Kind::Count(u32::MAX as u64)),
    key("pending_below", Kind::Count(u32::MAX as u64)),
    key("done_above", Kind::Number),
    key("max_new_tasks", Kind::Count(u32::MAX as u64)),
    key("max_total", Kind::Count(u32::MAX as u64)),
    key("agent", Kind::Text),
];

const BUDGET_KEYS: &[Key] = &[
    key("batch_usd", Kind::Number),
    key("task_usd", Kind::Number),
];

const PRICE_KEYS: &[Key] = &[
    key("input", Kind::Number),
    key("cached_input", Kind::Number),
    key("output", Kind::Number),
];

const EXECUTOR_KEYS: &[Key] = &[
    key("start", Kind::Text),
    key("cancel", Kind::Text),
    key("max_jobs", Kind::Count(u32::MAX as u64)),
    key("time_limit", Kind::Count(u64::MAX)),
    key("remote", Kind::Text),
    key("vane", Kind::Text),
];

/// The placeholders of an executor's `start`.
const START_PLACEHOLDERS: &[&str] = &["worker", "task", "attempt", "job_ref", "remote"];

/// The placeholders of an executor's `cancel`: those of `start` and the handle it printed.
const CANCEL_PLACEHOLDERS: &[&str] = &["worker", "task", "attempt", "job_ref", "remote", "handle"];

/// The placeholders of `pr_command`.
const PR_PLACEHOLDERS: &[&str] = &["branch", "task", "title", "base", "remote"];

/// The keys of a table, for suggestions and for `vane config show`.
pub(super) fn names(table: Table) -> Vec<&'static str> {
    let keys = match table {
        Table::Top => TOP_KEYS,
        Table::Gate => GATE_KEYS,
        Table::Route => ROUTE_KEYS,
        Table::Extend => EXTEND_KEYS,
        Table::Budget => BUDGET_KEYS,
        Table::Executor => EXECUTOR_KEYS,
    };
    keys.iter().map(|k| k.name).collect()
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    Top,
    Gate,
    Route,
    Extend,
    Budget,
    Executor,
}

/// The task types a route's `type` may name.
fn task_types() -> Vec<&'static str> {
    TaskType::ALL.iter().map(|t| t.as_str()).collect()
}

/// `unknown value "jsno" for `parser` in [agents.claude]; did you mean "json"?`, or the values
/// there are when none is near.
fn unknown_value(word: &str, key: &str, label: &str, options: &[&str]) -> String {
    format!(
        "unknown value \"{word}\" for `{key}`{label}; {}",
        match did_you_mean(word, options) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!("expected one of {}", options.join(", ")),
        }
    )
}

/// Where in the file a table is, for messages and for keys.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    Top,
    Agent(&'a str),
    /// The index of the `[[gate]]`, from 0.
    Gate(usize),
    /// The index of the `[[route]]`, from 0.
    Route(usize),
    Extend,
    Budget,
    Price(&'a str),
    Executor(&'a str),
}

impl Scope<'_> {
    /// ` in [agents.NAME]`, ` in [[gate]]`, or nothing at the top level.
    fn label(&self) -> String {
        match self {
            Scope::Top => String::new(),
            Scope::Agent(name) => format!(" in [agents.{name}]"),
            Scope::Gate(_) => " in [[gate]]".to_string(),
            Scope::Route(_) => " in [[route]]".to_string(),
            Scope::Extend => " in [extend]".to_string(),
            Scope::Budget => " in [budget]".to_string(),
            Scope::Price(model) => format!(" in [prices.\"{model}\"]"),
            Scope::Executor(name) => format!(" in [{}]", executor_table(name)),
        }
    }

    fn key(&self, key: &str) -> String {
        match self {
            Scope::Top => key.to_string(),
            Scope::Agent(name) => agent_key(name, key),
            Scope::Gate(index) => format!("{}.{key}", gate_table(*index)),
            Scope::Route(index) => format!("{}.{key}", route_table(*index)),
            Scope::Extend => format!("extend.{key}"),
            Scope::Budget => format!("budget.{key}"),
            Scope::Price(model) => format!("prices.{model}.{key}"),
            Scope::Executor(name) => format!("{}.{key}", executor_table(name)),
        }
    }
}

/// `unknown key "tmeout" in [[gate]]; did you mean "timeout"?`, or the keys there are when none is
/// near. `table` is a scope's label.
fn unknown_key(word: &str, table: &str, known: &[&str]) -> String {
    match did_you_mean(word, known) {
        Some(near) => format!("unknown key \"{word}\"{table}; did you mean \"{near}\"?"),
        None => format!(
            "unknown key \"{word}\"{table}; the keys{} are {}",
            if table.is_empty() {
                " at the top"
            } else {
                " there"
            },
            known.join(", ")
        ),
    }
}

/// A TOML type with its article, as a person says it.
fn a_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

struct Walker<'t> {
    text: &'t str,
    problems: Vec<Problem>,
    sources: Sources,
}

impl Walker<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        line_at(self.text, span.start)
    }

    fn problem(&mut self, line: Option<usize>, key: Option<String>, message: String) {
        self.problems.push(Problem { line, key, message });
    }

    fn table(&mut self, table: &DeTable<'_>, keys: &[Key], scope: Scope<'_>) {
        for (name, value) in table.iter() {
            let name_text: &str = name.get_ref();
            let line = self.line(name.span());
            let path = scope.key(name_text);
            match keys.iter().find(|k| k.name == name_text) {
                None => {
                    let known: Vec<&str> = keys.iter().map(|k| k.name).collect();
                    let message = unknown_key(name_text, &scope.label(), &known);
                    self.problem(Some(line), Some(path), message);
                }
                Some(key) => {
                    self.sources.note(path.clone(), line);
                    self.value(key, value, scope, &path, line);
                }
            }
        }
    }

    fn value(
        &mut self,
        key: &Key,
        value: &Spanned<DeValue<'_>>,
        scope: Scope<'_>,
        path: &str,
        line: usize,
    ) {
        let v = value.get_ref();
        let label = scope.label();
        let wrong = |expected: &str| {
            format!(
                "wrong type for `{}`{label}: expected {expected}, found {}",
                key.name,
                a_type(v)
            )
        };
        let problem = match key.kind {
            Kind::Text => (!matches!(v, DeValue::String(_))).then(|| wrong("a string")),
            Kind::Count(max) => match v {
                DeValue::Integer(i) => match u64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) if n <= max => None,
                    _ => Some(format!(
                        "wrong value for `{}`{label}: expected an integer from 0 to {max}, found {i}",
                        key.name
                    )),
                },
                _ => Some(wrong("an integer")),
            },
            Kind::Number => {
                (!matches!(v, DeValue::Integer(_) | DeValue::Float(_))).then(|| wrong("a number"))
            }
            Kind::Flag => {
                (!matches!(v, DeValue::Boolean(_))).then(|| wrong("a boolean (true or false)"))
            }
            Kind::Choice(options) => match v {
                DeValue::String(s) if options.contains(&s.as_ref()) => None,
                DeValue::String(s) => Some(unknown_value(s, key.name, &label, options)),
                _ => Some(wrong(&format!("a string: {}", options.join(", ")))),
            },
            Kind::TaskTypes => {
                let types = task_types();
                match v {
                    DeValue::String(s) if types.contains(&s.as_ref()) => None,
                    DeValue::String(s) => Some(unknown_value(s, key.name, &label, &types)),
                    DeValue::Array(items) if items.is_empty() => Some(format!(
                        "`{}`{label} is an empty list, which no task matches; give one type or \
                         more ({}), or remove the key",
                        key.name,
                        types.join(", ")
                    )),
                    DeValue::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let item_line = self.line(item.span());
                            let message = match item.get_ref() {
                                DeValue::String(s) if types.contains(&s.as_ref()) => continue,
                                DeValue::String(s) => unknown_value(s, key.name, &label, &types),
                                other => format!(
                                    "wrong type for item {} of `{}`{label}: expected a string: \
                                     {}, found {}",
                                    i + 1,
                                    key.name,
                                    types.join(", "),
                                    a_type(other)
                                ),
                            };
                            self.problem(
                                Some(item_line),
                                Some(format!("{path}[{}]", i + 1)),
                                message,
                            );
                        }
                        None
                    }
                    _ => Some(wrong(&format!(
                        "a type ({}) or an array of them",
                        types.join(", ")
                    ))),
                }
            }
            Kind::Range => {
                let read = match v {
                    DeValue::String(s) => Some(s.parse::<ComplexityRange>()),
                    DeValue::Integer(i) => Some(
                        i64::from_str_radix(i.as_str(), i.radix())
                            .map_err(|_| format!("{i} is not a complexity, which is from 1 to 10"))
                            .and_then(ComplexityRange::exactly),
                    ),
                    _ => None,
                };
                match read {
                    Some(Ok(_)) => None,
                    Some(Err(reason)) => Some(format!(
                        "wrong value for `{}`{label}: {reason}; write {RANGE_FORMS}",
                        key.name
                    )),
                    None => Some(wrong(&format!("a range of complexities ({RANGE_FORMS})"))),
                }
            }
            Kind::Patterns => match v {
                DeValue::Array(items) if items.is_empty() => Some(format!(
                    "`{}`{label} is an empty list, which no task matches; give one glob or more, \
                     or remove the key",
                    key.name
                )),
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let item_line = self.line(item.span());
                        self.sources.note(format!("{path}[{}]", i + 1), item_line);
                        let message = match item.get_ref() {
                            DeValue::String(s) => match check_route_path(s) {
                                Ok(()) => continue,
                                Err(reason) => {
                                    format!("wrong value for `{}`{label}: {reason}", key.name)
                                }
                            },
                            other => format!(
                                "wrong type for item {} of `{}`{label}: expected a string, found {}",
                                i + 1,
                                key.name,
                                a_type(other)
                            ),
                        };
                        self.problem(Some(item_line), Some(format!("{path}[{}]", i + 1)), message);
                    }
                    None
                }
                _ => Some(wrong("an array of globs")),
            },
            Kind::Texts => match v {
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let item_line = self.line(item.span());
                        self.sources.note(format!("{path}[{}]", i + 1), item_line);
                        if !matches!(item.get_ref(), DeValue::String(_)) {
                            let message = format!(
                                "wrong type for item {} of `{}`{label}: expected a string, found {}",
                                i + 1,
                                key.name,
                                a_type(item.get_ref())
                            );
                            self.problem(
                                Some(item_line),
                                Some(format!("{path}[{}]", i + 1)),
                                message,
                            );
                        }
                    }
                    None
                }
                _ => Some(wrong("an array of strings")),
            },
            Kind::TextTable => match v {
                DeValue::Table(table) => {
                    for (name, item) in table.iter() {
                        if !matches!(item.get_ref(), DeValue::String(_)) {
                            let name_text: &str = name.get_ref();
                            let message = format!(
                                "wrong type for `{}.{name_text}`{label}: expected a string, found {}",
                                key.name,
                                a_type(item.get_ref())
                            );
                            let item_line = self.line(name.span());
                            self.problem(
                                Some(item_line),
                                Some(format!("{path}.{name_text}")),
                                message,
                            );
                        }
                    }
                    None
                }
                _ => Some(wrong("a table of strings")),
            },
            Kind::Agents => match v {
                DeValue::Table(profiles) => {
                    for (name, profile) in profiles.iter() {
                        let name_text: &str = name.get_ref();
                        let profile_line = self.line(name.span());
                        let table_key = format!("agents.{name_text}");
                        self.sources.note(table_key.clone(), profile_line);
                        match profile.get_ref() {
                            DeValue::Table(keys) => {
                                self.table(keys, AGENT_KEYS, Scope::Agent(name_text))
                            }
                            other => {
                                let message = format!(
                                    "wrong type for `agents.{name_text}`: expected a table of \
                                     profile keys ([agents.{name_text}]), found {}",
                                    a_type(other)
                                );
                                self.problem(Some(profile_line), Some(table_key), message);
                            }
                        }
                    }
                    None
                }
                _ => Some(wrong("a table of agent profiles ([agents.NAME])")),
            },
            Kind::Gates => match v {
                DeValue::Array(gates) => {
                    for (index, gate) in gates.iter().enumerate() {
                        let gate_line = self.line(gate.span());
                        self.sources.note(gate_table(index), gate_line);
                        match gate.get_ref() {
                            DeValue::Table(keys) => {
                                self.table(keys, GATE_KEYS, Scope::Gate(index));
                                if !keys.iter().any(|(k, _)| k.get_ref() == "name") {
                                    self.problem(
                                        Some(gate_line),
                                        Some(gate_table(index)),
                                        "this [[gate]] has no `name`; every gate needs one"
                                            .to_string(),
                                    );
                                }
                            }
                            other => {
                                let message = format!(
                                    "wrong type for item {} of `gate`: expected a table \
                                     ([[gate]]), found {}",
                                    index + 1,
                                    a_type(other)
                                );
                                self.problem(Some(gate_line), Some(gate_table(index)), message);
                            }
                        }
                    }
                    None
                }
                _ => Some(wrong("an array of tables ([[gate]])")),
            },
            Kind::Routes => match v {
                DeValue::Array(routes) => {
                    for (index, route) in routes.iter().enumerate() {
                        let route_line = self.line(route.span());
                        self.sources.note(route_table(index), route_line);
                        match route.get_ref() {
                            DeValue::Table(keys) => {
                                self.table(keys, ROUTE_KEYS, Scope::Route(index));
                                if !keys.iter().any(|(k, _)| k.get_ref() == "agent") {
                                    self.problem(
                                        Some(route_line),
                                        Some(route_table(index)),
                                        "this [[route]] has no `agent`; every route names the \
                                         profile it picks"
                                            .to_string(),
                                    );
                                }
                            }
                            other => {
                                let message = format!(
                                    "wrong type for item {} of `route`: expected a table \
                                     ([[route]]), found {}",
                                    index + 1,
                                    a_type(other)
                                );
                                self.problem(Some(route_line), Some(route_table(index)), message);
                            }
                        }
                    }
                    None
                }
                _ => Some(wrong("an array of tables ([[route]])")),
            },
            Kind::Extend => match v {
                DeValue::Table(keys) => {
                    self.table(keys, EXTEND_KEYS, Scope::Extend);
                    None
                }
                _ => Some(wrong("a table ([extend])")),
            },
            Kind::Budget => match v {
                DeValue::Table(keys) => {
                    self.table(keys, BUDGET_KEYS, Scope::Budget);
                    None
                }
                _ => Some(wrong("a table ([budget])")),
            },
            Kind::Prices => match v {
                DeValue::Table(models) => {
                    for (model, price) in models.iter() {
                        let model_text: &str = model.get_ref();
                        let model_line = self.line(model.span());
                        let table_key = format!("prices.{model_text}");
                        self.sources.note(table_key.clone(), model_line);
                        match price.get_ref() {
                            DeValue::Table(keys) => {
                                self.table(keys, PRICE_KEYS, Scope::Price(model_text));
                                for needed in ["input", "output"] {
                                    if !keys.iter().any(|(k, _)| k.get_ref() == needed) {
                                        self.problem(
                                            Some(model_line),
                                            Some(table_key.clone()),
                                            format!(
                                                "[prices.\"{model_text}\"] has no `{needed}`; a \
                                                 price gives `input` and `output` (USD per \
                                                 million tokens)"
                                            ),
                                        );
                                    }
                                }
                            }
                            other => {
                                let message = format!(
                                    "wrong type for `prices.{model_text}`: expected a table \
                                     (input, cached_input, output), found {}",
                                    a_type(other)
                                );
                                self.problem(Some(model_line), Some(table_key), message);
                            }
                        }
                    }
                    None
                }
                _ => Some(wrong("a table of model prices ([prices.\"MODEL\"])")),
            },
            Kind::Executors => match v {
                DeValue::Table(executors) => {
                    for (name, executor) in executors.iter() {
                        let name_text: &str = name.get_ref();
                        let executor_line = self.line(name.span());
                        let table_key = executor_table(name_text);
                        self.sources.note(table_key.clone(), executor_line);
                        match executor.get_ref() {
                            DeValue::Table(keys) => {
                                self.table(keys, EXECUTOR_KEYS, Scope::Executor(name_text))
                            }
                            other => {
                                let message = format!(
                                    "wrong type for `{table_key}`: expected a table of executor \
                                     keys ([{table_key}]), found {}",
                                    a_type(other)
                                );
                                self.problem(Some(executor_line), Some(table_key), message);
                            }
                        }
                    }
                    None
                }
                _ => Some(wrong("a table of executors ([executor.NAME])")),
            },
        };
        if let Some(message) = problem {
            self.problem(Some(line), Some(path.to_string()), message);
        }
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    crate::model::prefix_within(text, offset)
        .matches('\n')
        .count()
        + 1
}

pub(super) fn check(text: &str) -> Checked {
    let mut walker = Walker {
        text,
        problems: Vec::new(),
        sources: Sources::default(),
    };
    // After a syntax error the rest of the file is guesswork: report the first one only.
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(e) => {
            walker.problems.push(Problem {
                line: e.span().map(|span| line_at(text, span.start)),
                key: None,
                message: e.message().trim().to_string(),
            });
            return walker.finish(None);
        }
    };
    walker.table(document.get_ref(), TOP_KEYS, Scope::Top);
    if !walker.problems.is_empty() {
        return walker.finish(None);
    }
    // The walk found nothing; serde should agree. Should it not (a key the tables above lack),
    // its message is reworded in the same terms.
    let mut config: Config = match toml::from_str(text) {
        Ok(config) => config,
        Err(e) => {
            walker.problems.push(Problem {
                line: e.span().map(|span| line_at(text, span.start)),
                key: None,
                message: reword_serde(e.message().trim()),
            });
            return walker.finish(None);
        }
    };
    validate(&mut config, &walker.sources, &mut walker.problems);
    walker.finish(Some(config))
}

impl Walker<'_> {
    fn finish(mut self, config: Option<Config>) -> Checked {
        self.problems.sort_by_key(|p| p.line.unwrap_or(0));
        Checked {
            config: config.filter(|_| self.problems.is_empty()),
            problems: self.problems,
            sources: self.sources,
        }
    }
}

/// Serde's `unknown field `tmeout`, expected one of `name`, `dimension`, ...` in the words of
/// `unknown_key`, with a suggestion from the fields it lists; other messages as they are.
fn reword_serde(message: &str) -> String {
    if let Some((field, expected)) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return match did_you_mean(field, &known) {
            Some(near) => format!("unknown key \"{field}\"; did you mean \"{near}\"?"),
            None => format!(
                "unknown key \"{field}\"; expected one of {}",
                known.join(", ")
            ),
        };
    }
    message.to_string()
}

/// The rules that tie keys together, once every key has a value of its type. Normalises the
/// `include` paths on the way.
fn validate(config: &mut Config, sources: &Sources, problems: &mut Vec<Problem>) {
    let mut add = |line: Option<usize>, key: String, message: String| {
        problems.push(Problem {
            line,
            key: Some(key),
            message,
        });
    };
    if config.workers == 0 {
        add(
            sources.top("workers"),
            "workers".into(),
            "`workers` must be at least 1".into(),
        );
    }
    for (name, value) in [
        ("gate_workers", config.gate_workers.unwrap_or(1)),
        ("merge_window", config.merge_window),
        ("batch", config.batch),
    ] {
        if value == 0 {
            add(
                sources.top(name),
                name.into(),
                format!("`{name}` must be at least 1"),
            );
        }
    }
    for (name, value) in [
        ("batch_usd", config.budget.batch_usd),
        ("task_usd", config.budget.task_usd),
    ] {
        if let Some(value) = value.filter(|v| !v.is_finite() || *v < 0.0) {
            add(
                sources.top(&format!("budget.{name}")),
                format!("budget.{name}"),
                format!("`{name}` in [budget] is {value}; a budget is 0 USD or more"),
            );
        }
    }
    for (model, price) in &config.prices {
        let figures = [
            ("input", Some(price.input)),
            ("cached_input", price.cached_input),
            ("output", Some(price.output)),
        ];
        for (name, value) in figures {
            if let Some(value) = value.filter(|v| !v.is_finite() || *v < 0.0) {
                let key = format!("prices.{model}.{name}");
                add(
                    sources.top(&key),
                    key,
                    format!(
                        "`{name}` in [prices.\"{model}\"] is {value}; a price is 0 USD or more"
                    ),
                );
            }
        }
    }
    if config.max_attempts == 0 {
        add(
            sources.top("max_attempts"),
            "max_attempts".into(),
            "`max_attempts` must be at least 1".into(),
        );
    }
    for (name, agent) in &config.agents {
        for (index, entry) in agent.writable.iter().enumerate() {
            if let Err(reason) = crate::agent::confine::check_declared(entry) {
                let key = format!("{}[{}]", agent_key(name, "writable"), index + 1);
                add(
                    sources
                        .lines
                        .get(&key)
                        .copied()
                        .or(sources.agent(name, "writable")),
                    key,
                    format!(
                        "[agents.{name}] `writable` entry \"{entry}\" {reason}; give an absolute \
                         path or one under your home, such as \"~/.{name}/\""
                    ),
                );
            }
        }
        match &agent.command {
            Some(command) if command.is_empty() => add(
                sources.agent(name, "command"),
                agent_key(name, "command"),
                format!("[agents.{name}] `command` needs at least the program to run"),
            ),
            None if Profile::builtin(name).is_none() => add(
                sources.top(&format!("agents.{name}")),
                format!("agents.{name}"),
                format!(
                    "[agents.{name}] defines a new agent profile and needs a `command`; the \
                     built-in profiles are {}",
                    Profile::BUILTIN.join(", ")
                ),
            ),
            _ => {}
        }
    }
    if !(0.0..=1.0).contains(&config.threshold) {
        add(
            sources.top("threshold"),
            "threshold".into(),
            format!(
                "`threshold` is {}; it must be between 0 and 1",
                config.threshold
            ),
        );
    }
    match (&config.escalate_after, &config.escalate_to) {
        (Some(0), _) => add(
            sources.top("escalate_after"),
            "escalate_after".into(),
            "`escalate_after` must be at least 1".into(),
        ),
        (Some(_), None) => add(
            sources.top("escalate_after"),
            "escalate_after".into(),
            "`escalate_after` needs `escalate_to`, the profile later attempts move to".into(),
        ),
        (None, Some(_)) => add(
            sources.top("escalate_to"),
            "escalate_to".into(),
            "`escalate_to` needs `escalate_after`, the number of failed attempts after which it \
             takes over"
                .into(),
        ),
        _ => {}
    }
    if config.setup.as_deref().is_some_and(|s| s.trim().is_empty()) {
        add(
            sources.top("setup"),
            "setup".into(),
            "`setup` is empty; give the command to run, or remove the key".into(),
        );
    }
    let mut cleaned = Vec::new();
    for (index, entry) in config.include.iter().enumerate() {
        match clean_include(entry) {
            Ok(path) => cleaned.push(path),
            Err(reason) => add(
                sources.include(index),
                format!("include[{}]", index + 1),
                format!("`include` entry \"{entry}\" {reason}"),
            ),
        }
    }
    config.include = cleaned;
    let mut seen = std::collections::HashSet::new();
    for (index, gate) in config.gates.iter().enumerate() {
        let at = |key: &str| sources.gate(index, Some(key)).or(sources.gate(index, None));
        let table = gate_table(index);
        let name = gate.name.trim();
        if name.is_empty() {
            add(
                at("name"),
                format!("{table}.name"),
                "every [[gate]] needs a `name`".into(),
            );
            continue;
        }
        if !seen.insert(gate.name.as_str()) {
            add(
                at("name"),
                format!("{table}.name"),
                format!("two gates are named `{}`", gate.name),
            );
        }
        match (&gate.command, &gate.agent) {
            (Some(command), None) if !command.trim().is_empty() => {}
            (None, Some(agent)) if !agent.trim().is_empty() => {
                if gate.score == Some(ScoreMode::Exit) {
                    add(
                        at("score"),
                        format!("{table}.score"),
                        format!(
                            "gate `{name}` runs an agent, which answers with a verdict: \
                             `score = \"exit\"` does not apply; remove it"
                        ),
                    );
                }
            }
            (Some(_), Some(_)) => add(
                at("agent"),
                table.clone(),
                format!("gate `{name}` has both `command` and `agent`; give one"),
            ),
            _ => add(
                sources.gate(index, None),
                table.clone(),
                format!(
                    "gate `{name}` needs a `command` to run or an `agent` to review the change"
                ),
            ),
        }
        if !gate.weight.is_finite() || gate.weight < 0.0 {
            add(
                at("weight"),
                format!("{table}.weight"),
                format!(
                    "gate `{name}` has weight {}; a weight is a number of 0 or more",
                    gate.weight
                ),
            );
        }
        if gate.dimension.trim().is_empty() {
            add(
                at("dimension"),
                format!("{table}.dimension"),
                format!("gate `{name}` has an empty `dimension`"),
            );
        }
    }
    if config
        .land_to
        .as_deref()
        .is_some_and(|s| s.trim().is_empty())
    {
        add(
            sources.top("land_to"),
            "land_to".into(),
            "`land_to` is empty; give a remote (a git remote's name, a URL or a path), or remove \
             the key"
                .into(),
        );
    }
    if let Some(command) = &config.pr_command {
        if config.land_to.is_none() {
            add(
                sources.top("pr_command"),
                "pr_command".into(),
                "`pr_command` needs `land_to`, the remote each landed task's branch is pushed to"
                    .into(),
            );
        }
        if command.trim().is_empty() {
            add(
                sources.top("pr_command"),
                "pr_command".into(),
                "`pr_command` is empty; give the command that opens a pull request, or remove the \
                 key"
                .into(),
            );
        }
        for message in template_problems(command, PR_PLACEHOLDERS) {
            add(
                sources.top("pr_command"),
                "pr_command".into(),
                format!("`pr_command` {message}"),
            );
        }
    }
    for (name, executor) in &config.executors {
        let table = executor_table(name);
        let at = |key: &str| {
            sources
                .executor(name, Some(key))
                .or(sources.executor(name, None))
        };
        match executor.start.as_deref() {
            None if name != LOCAL_EXECUTOR => add(
                sources.executor(name, None),
                table.clone(),
                format!(
                    "[{table}] has no `start`; an executor other than `local` needs the command \
                     that starts a worker, such as \"sbatch --parsable --wrap {{worker}}\""
                ),
            ),
            Some(start) if start.trim().is_empty() => add(
                at("start"),
                format!("{table}.start"),
                format!("`start` in [{table}] is empty; give the command that starts a worker"),
            ),
            _ => {}
        }
        for (key, template, known) in [
            ("start", &executor.start, START_PLACEHOLDERS),
            ("cancel", &executor.cancel, CANCEL_PLACEHOLDERS),
        ] {
            for message in template.iter().flat_map(|t| template_problems(t, known)) {
                add(
                    at(key),
                    format!("{table}.{key}"),
                    format!("`{key}` in [{table}] {message}"),
                );
            }
        }
        for (key, value) in [
            ("max_jobs", executor.max_jobs as u64),
            ("time_limit", executor.time_limit),
        ] {
            if value == 0 {
                add(
                    at(key),
                    format!("{table}.{key}"),
                    format!("`{key}` in [{table}] must be at least 1"),
                );
            }
        }
    }
    if let Some(planner) = &config.planner {
        if let Some(message) = unknown_profile(config, planner) {
            add(
                sources.top("planner"),
                "planner".into(),
                format!("`planner` names {message}"),
            );
        }
    }
    for (index, route) in config.routes.iter().enumerate() {
        let n = index + 1;
        let at = |key: &str| {
            sources
                .route(index, Some(key))
                .or(sources.route(index, None))
        };
        if route.agent.trim().is_empty() {
            add(
                at("agent"),
                format!("{}.agent", route_table(index)),
                format!("route {n} has an empty `agent`; name the profile it picks"),
            );
        } else if let Some(message) = unknown_profile(config, &route.agent) {
            add(
                at("agent"),
                format!("{}.agent", route_table(index)),
                format!("route {n} names {message}"),
            );
        }
        match route.executor.as_deref() {
            Some(executor) if executor.trim().is_empty() => add(
                at("executor"),
                format!("{}.executor", route_table(index)),
                format!(
                    "route {n} has an empty `executor`; name the executor it sends its tasks to, \
                     or remove the key"
                ),
            ),
            Some(executor) => {
                if let Some(message) = unknown_executor(config, executor) {
                    add(
                        at("executor"),
                        format!("{}.executor", route_table(index)),
                        format!("route {n} names {message}"),
                    );
                }
            }
            None => {}
        }
        if let Some(earlier) = config.routes[..index]
            .iter()
            .position(|e| route.shadowed_by(e))
        {
            let first = &config.routes[earlier];
            let why = if first.is_catch_all() {
                "has no condition and matches every task".to_string()
            } else {
                format!("({}) matches every task this one would", first.describe())
            };
            add(
                sources.route(index, None),
                route_table(index),
                format!(
                    "route {n} ({}) is never reached: route {} before it {why}; move it above \
                     route {}, or remove it",
                    route.describe(),
                    earlier + 1,
                    earlier + 1
                ),
            );
        }
    }
    if let Some(extend) = &config.extend {
        let at = |key: &str| sources.extend(Some(key)).or(sources.extend(None));
        for (name, value) in [
            ("every", extend.every as usize),
            ("max_new_tasks", extend.max_new_tasks),
            ("max_total", extend.max_total),
        ] {
            if value == 0 {
                add(
                    at(name),
                    format!("extend.{name}"),
                    format!("`{name}` in [extend] must be at least 1"),
                );
            }
        }
        if !(0.0..=1.0).contains(&extend.done_above) {
            add(
                at("done_above"),
                "extend.done_above".into(),
                format!(
                    "`done_above` in [extend] is {}; it is a share of the tasks, between 0 and 1",
                    extend.done_above
                ),
            );
        }
        if let Some(message) = extend
            .agent
            .as_deref()
            .and_then(|agent| unknown_profile(config, agent))
        {
            add(
                at("agent"),
                "extend.agent".into(),
                format!("`agent` in [extend] names {message}"),
            );
        }
    }
}

/// `the agent profile `codx`, which is neither built in nor defined in vane.toml; did you mean
/// "codex"?`, to follow who names it; None for a profile there is. A profile `[agents.NAME]`
/// defines without a `command` has its own problem, and is not reported again.
fn unknown_profile(config: &Config, name: &str) -> Option<String> {
    if config.profile(name).is_some() || config.agents.contains_key(name) {
        return None;
    }
    let mut known: Vec<&str> = Profile::BUILTIN.to_vec();
    known.extend(config.agents.keys().map(String::as_str));
    let hint = match did_you_mean(name, &known) {
        Some(near) => format!("did you mean \"{near}\"?"),
        None => format!("the profiles are {}", known.join(", ")),
    };
    Some(format!(
        "the agent profile `{name}`, which is neither built in nor defined in vane.toml \
         ([agents.{name}]); {hint}"
    ))
}

/// `the executor `clustr`, which is neither `local` nor defined in vane.toml; did you mean
/// "cluster"?`, to follow who names it; None for an executor there is.
fn unknown_executor(config: &Config, name: &str) -> Option<String> {
    if config.executor(name).is_some() {
        return None;
    }
    let mut known: Vec<&str> = vec![LOCAL_EXECUTOR];
    known.extend(
        config
            .executors
            .keys()
            .map(String::as_str)
            .filter(|n| *n != LOCAL_EXECUTOR),
    );
    let hint = match did_you_mean(name, &known) {
        Some(near) => format!("did you mean \"{near}\"?"),
        None => format!("the executors are {}", known.join(", ")),
    };
    Some(format!(
        "the executor `{name}`, which is neither `local` nor defined in vane.toml \
         ([executor.{name}]); {hint}"
    ))
}

/// What is wrong with a command template whose placeholders must be among `known`, each as words
/// to follow the key (`has the unknown placeholder `{tsk}`; did you mean "{task}"?`): every
/// unknown placeholder, and a brace that opens or closes none. `{{` and `}}` are literal braces.
fn template_problems(template: &str, known: &[&str]) -> Vec<String> {
    let literal = "write `{{` and `}}` for literal braces";
    let mut problems = Vec::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => {
                            problems.push(format!("has a `{{` that is never closed; {literal}"));
                            return problems;
                        }
                    }
                }
                if known.contains(&name.as_str()) {
                    continue;
                }
                let hint = match did_you_mean(&name, known) {
                    Some(near) => format!("did you mean \"{{{near}}}\"?"),
                    None => {
                        let listed: Vec<String> =
                            known.iter().map(|k| format!("{{{k}}}")).collect();
                        format!("the placeholders are {} ({literal})", listed.join(", "))
                    }
                };
                problems.push(format!("has the unknown placeholder `{{{name}}}`; {hint}"));
            }
            '}' => problems.push(format!("has a `}}` that closes no placeholder; {literal}")),
            _ => {}
        }
    }
    problems
}

/// An `include` entry as a `/`-separated path from the repository root, or why it cannot be one.
fn clean_include(entry: &str) -> Result<String, String> {
    let path = Path::new(entry);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(
                    "goes up with `..`; an included path must stay inside the repository".into(),
                )
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(
                    "is absolute; give a path from the repository root, such as \".env\"".into(),
                )
            }
        }
    }
    match parts.first().map(String::as_str) {
        None => Err("names no file; give a path from the repository root, such as \".env\"".into()),
        Some(".git") => Err("is inside .git, which is not part of the working tree".into()),
        Some(_) => Ok(parts.join("/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        let checked = check(text);
        assert_eq!(checked.config.is_some(), checked.problems.is_empty());
        checked.problems.iter().map(|p| p.to_string()).collect()
    }

    /// The fields serde knows in a table, read from its unknown-field message.
    fn serde_fields(text: &str) -> Vec<String> {
        let err = toml::from_str::<Config>(text).expect_err("an unknown field");
        let message = err.message().to_string();
        let (_, expected) = message.split_once(", expected").expect("a list");
        let mut fields: Vec<String> = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        fields.sort();
        fields
    }

    fn sorted(keys: &[Key]) -> Vec<String> {
        let mut names: Vec<String> = keys.iter().map(|k| k.name.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_tables_of_keys_are_the_structs_fields() {
        assert_eq!(serde_fields("zzz = 1\n"), sorted(TOP_KEYS));
        assert_eq!(
            serde_fields("[agents.shell]\nzzz = 1\n"),
            sorted(AGENT_KEYS)
        );
        assert_eq!(
            serde_fields("[[gate]]\nname = \"a\"\nzzz = 1\n"),
            sorted(GATE_KEYS)
        );
        assert_eq!(
            serde_fields("[[route]]\nagent = \"shell\"\nzzz = 1\n"),
            sorted(ROUTE_KEYS)
        );
        assert_eq!(serde_fields("[extend]\nzzz = 1\n"), sorted(EXTEND_KEYS));
        assert_eq!(serde_fields("[budget]\nzzz = 1\n"), sorted(BUDGET_KEYS));
        assert_eq!(
            serde_fields("[prices.m]\ninput = 1\noutput = 1\nzzz = 1\n"),
            sorted(PRICE_KEYS)
        );
        assert_eq!(
            serde_fields("[executor.x]\nzzz = 1\n"),
            sorted(EXECUTOR_KEYS)
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_a_suggestion() {
        let text = "\
wokers = 2
max_attempts = \"three\"

[agents.shell]
timout = 5

[agents.claude]
parser = \"jsno\"

[[gate]]
name = \"tests\"
command = \"true\"
tmeout = 3

[[gate]]
command = \"true\"
weight = \"heavy\"
";
        assert_eq!(
            problems(text),
            vec![
                "line 1: unknown key \"wokers\"; did you mean \"workers\"?",
                "line 2: wrong type for `max_attempts`: expected an integer, found a string",
                "line 5: unknown key \"timout\" in [agents.shell]; did you mean \"timeout\"?",
                "line 8: unknown value \"jsno\" for `parser` in [agents.claude]; expected one of \
                 text, claude, codex, gemini",
                "line 13: unknown key \"tmeout\" in [[gate]]; did you mean \"timeout\"?",
                "line 15: this [[gate]] has no `name`; every gate needs one",
                "line 17: wrong type for `weight` in [[gate]]: expected a number, found a string",
            ]
        );
        let keys: Vec<Option<String>> = check(text).problems.into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "wokers",
                "max_attempts",
                "agents.shell.timout",
                "agents.claude.parser",
                "gate[1].tmeout",
                "gate[2]",
                "gate[2].weight"
            ]
            .map(|k| Some(k.to_string()))
        );
    }

    #[test]
    fn types_and_values() {
        for (text, expected) in [
            (
                "workers = -1\n",
                "line 1: wrong value for `workers`: expected an integer from 0 to 4294967295, found -1",
            ),
            (
                "threshold = \"high\"\n",
                "line 1: wrong type for `threshold`: expected a number, found a string",
            ),
            (
                "include = \".env\"\n",
                "line 1: wrong type for `include`: expected an array of strings, found a string",
            ),
            (
                "include = [\".env\",\n  3]\n",
                "line 2: wrong type for item 2 of `include`: expected a string, found an integer",
            ),
            (
                "[agents.shell]\nenv = { A = 1 }\n",
                "line 2: wrong type for `env.A` in [agents.shell]: expected a string, found an integer",
            ),
            (
                "agents = 3\n",
                "line 1: wrong type for `agents`: expected a table of agent profiles ([agents.NAME]), found an integer",
            ),
            (
                "[[gate]]\nname = \"a\"\ncommand = \"true\"\nscore = \"jsn\"\n",
                "line 4: unknown value \"jsn\" for `score` in [[gate]]; did you mean \"json\"?",
            ),
            (
                "[[gate]]\nname = \"a\"\ncommand = \"true\"\nparallel = \"yes\"\n",
                "line 4: wrong type for `parallel` in [[gate]]: expected a boolean (true or false), found a string",
            ),
            (
                "colour = true\n",
                "line 1: unknown key \"colour\"; the keys at the top are base_branch, workers, \
                 gate_workers, merge_window, batch, pause_timeout, default_agent, max_attempts, worktree_root, include, setup, protected, \
                 log_limit, confine, threshold, escalate_after, escalate_to, planner, land_to, \
                 pr_command, agents, gate, route, extend, budget, prices, executor",
            ),
            ("workers = [\n", "line 1: unclosed array, expected `]`"),
        ] {
            assert_eq!(problems(text), vec![expected.to_string()], "{text}");
        }
    }

    #[test]
    fn rules_between_keys_are_all_reported() {
        let text = "\
workers = 0
threshold = 2.0
escalate_after = 2
setup = \" \"
include = [\"/etc/passwd\", \"../x\", \".\", \".git/config\", \"./config/\"]

[agents.mine]
timeout = 3

[[gate]]
name = \"a\"

[[gate]]
name = \"a\"
command = \"true\"
agent = \"claude\"
";
        assert_eq!(
            problems(text),
            vec![
                "line 1: `workers` must be at least 1",
                "line 2: `threshold` is 2; it must be between 0 and 1",
                "line 3: `escalate_after` needs `escalate_to`, the profile later attempts move to",
                "line 4: `setup` is empty; give the command to run, or remove the key",
                "line 5: `include` entry \"/etc/passwd\" is absolute; give a path from the \
                 repository root, such as \".env\"",
                "line 5: `include` entry \"../x\" goes up with `..`; an included path must stay \
                 inside the repository",
                "line 5: `include` entry \".\" names no file; give a path from the repository \
                 root, such as \".env\"",
                "line 5: `include` entry \".git/config\" is inside .git, which is not part of \
                 the working tree",
                "line 7: [agents.mine] defines a new agent profile and needs a `command`; the \
                 built-in profiles are shell, claude, codex, aider, gemini",
                "line 10: gate `a` needs a `command` to run or an `agent` to review the change",
                "line 14: two gates are named `a`",
                "line 16: gate `a` has both `command` and `agent`; give one",
            ]
        );
    }

    #[test]
    fn writable_paths_must_be_absolute_or_under_home() {
        assert_eq!(
            problems("[agents.claude]\nwritable = [\"~/.npm/\",\n  \"cache\"]\n"),
            [
                "line 3: [agents.claude] `writable` entry \"cache\" is neither absolute nor under \
              `~/`; give an absolute path or one under your home, such as \"~/.claude/\""
            ]
        );
        assert_eq!(
            problems("confine = \"no\"\n"),
            ["line 1: wrong type for `confine`: expected a boolean (true or false), found a string"]
        );
        assert!(problems(
            "confine = false\n[agents.x]\ncommand = [\"x\"]\nwritable = [\"/opt/x\"]\n"
        )
        .is_empty());
    }

    #[test]
    fn include_paths_are_normalised() {
        let checked = check("include = [\"./config/\", \".env\", \"a//b\"]\n");
        assert_eq!(
            checked.config.expect("fine").include,
            ["config", ".env", "a/b"]
        );
    }

    #[test]
    fn sources_give_the_line_of_every_key() {
        let text = "\
workers = 2
include = [
  \".env\",
  \"local\",
]

[agents.claude]
timeout = 60

[[gate]]
name = \"tests\"
command = \"true\"
";
        let checked = check(text);
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        let s = &checked.sources;
        assert_eq!(s.top("workers"), Some(1));
        assert_eq!(s.top("threshold"), None);
        assert_eq!(s.include(1), Some(4));
        assert_eq!(s.agent("claude", "timeout"), Some(8));
        assert_eq!(s.gate(0, None), Some(10));
        assert_eq!(s.gate(0, Some("command")), Some(12));
        assert_eq!(s.gate(0, Some("timeout")), None);
    }

    #[test]
    fn route_keys_are_checked_with_their_lines() {
        let text = "\
[[route]]
typ = \"bug\"
agent = \"shell\"

[[route]]
type = \"bgu\"
complexity = \"<=11\"
paths = [\"docs/**\",
  \"/etc\"]

[[route]]
type = [\"bug\", 3]
complexity = true
paths = []
agent = 7

[[route]]
type = []
complexity = 0
";
        assert_eq!(
            problems(text),
            vec![
                "line 2: unknown key \"typ\" in [[route]]; did you mean \"type\"?",
                "line 5: this [[route]] has no `agent`; every route names the profile it picks",
                "line 6: unknown value \"bgu\" for `type` in [[route]]; did you mean \"bug\"?",
                "line 7: wrong value for `complexity` in [[route]]: 11 is not a complexity, which \
                 is from 1 to 10; write \"<=3\", \">=7\", \"4-6\" or \"5\"",
                "line 9: wrong value for `paths` in [[route]]: the path \"/etc\" starts with `/`; \
                 write it from the repository's root, like `src/auth/**`",
                "line 12: wrong type for item 2 of `type` in [[route]]: expected a string: epic, \
                 story, task, bug, found an integer",
                "line 13: wrong type for `complexity` in [[route]]: expected a range of \
                 complexities (\"<=3\", \">=7\", \"4-6\" or \"5\"), found a boolean",
                "line 14: `paths` in [[route]] is an empty list, which no task matches; give one \
                 glob or more, or remove the key",
                "line 15: wrong type for `agent` in [[route]]: expected a string, found an integer",
                "line 17: this [[route]] has no `agent`; every route names the profile it picks",
                "line 18: `type` in [[route]] is an empty list, which no task matches; give one \
                 type or more (epic, story, task, bug), or remove the key",
                "line 19: wrong value for `complexity` in [[route]]: 0 is not a complexity, which \
                 is from 1 to 10; write \"<=3\", \">=7\", \"4-6\" or \"5\"",
            ]
        );
        let keys: Vec<Option<String>> = check(text).problems.into_iter().map(|p| p.key).collect();
        assert_eq!(keys[0].as_deref(), Some("route[1].typ"));
        assert_eq!(keys[1].as_deref(), Some("route[2]"));
        assert_eq!(keys[4].as_deref(), Some("route[2].paths[2]"));
        assert_eq!(keys[5].as_deref(), Some("route[3].type[2]"));
        assert_eq!(
            problems("route = 3\n"),
            ["line 1: wrong type for `route`: expected an array of tables ([[route]]), found an \
              integer"]
        );
    }

    #[test]
    fn a_route_must_name_a_profile_there_is() {
        let text = "\
[agents.small]
command = [\"sh\", \"-c\", \"true\"]

[[route]]
type = \"bug\"
agent = \"smal\"

[[route]]
agent = \"nobody-at-all\"

[[route]]
agent = \" \"
";
        assert_eq!(
            problems(text),
            vec![
                "line 6: route 1 names the agent profile `smal`, which is neither built in nor \
                 defined in vane.toml ([agents.smal]); did you mean \"small\"?",
                "line 9: route 2 names the agent profile `nobody-at-all`, which is neither built \
                 in nor defined in vane.toml ([agents.nobody-at-all]); the profiles are shell, \
                 claude, codex, aider, gemini, small",
                "line 11: route 3 (any task) is never reached: route 2 before it has no condition \
                 and matches every task; move it above route 2, or remove it",
                "line 12: route 3 has an empty `agent`; name the profile it picks",
            ]
        );
        let keys: Vec<Option<String>> = check(text).problems.into_iter().map(|p| p.key).collect();
        assert_eq!(keys[0].as_deref(), Some("route[1].agent"));
        assert_eq!(keys[2].as_deref(), Some("route[3]"));
        // Built-in profiles and those vane.toml defines are fine.
        assert!(problems(
            "[agents.small]\ncommand = [\"x\"]\n[[route]]\nagent = \"small\"\n\
             [[route]]\nagent = \"codex\"\n"
        )
        .iter()
        .all(|p| !p.contains("names the agent profile")));
    }

    #[test]
    fn a_route_after_one_that_takes_all_its_tasks_is_unreachable() {
        let text = "\
[[route]]
type = [\"bug\", \"task\"]
complexity = \"<=5\"
agent = \"codex\"

[[route]]
type = \"bug\"
complexity = \"2-3\"
agent = \"claude\"

[[route]]
type = \"bug\"
agent = \"claude\"

[[route]]
agent = \"shell\"

[[route]]
paths = [\"docs/**\"]
agent = \"aider\"
";
        assert_eq!(
            problems(text),
            vec![
                "line 6: route 2 (type bug, complexity 2-3) is never reached: route 1 before it \
                 (type bug or task, complexity ≤ 5) matches every task this one would; move it \
                 above route 1, or remove it",
                "line 18: route 5 (paths docs/**) is never reached: route 4 before it has no \
                 condition and matches every task; move it above route 4, or remove it",
            ]
        );
        // A catch-all last is fine: it takes what the others leave.
        assert_eq!(
            problems(
                "[[route]]\ntype = \"bug\"\nagent = \"codex\"\n[[route]]\nagent = \"claude\"\n"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_planner_and_the_extension_are_checked() {
        let text = "\
planner = \"claud\"

[extend]
every = 0
done_above = 1.5
max_new_tasks = 0
max_total = 0
agent = \"gemni\"
pending_belw = 3
";
        assert_eq!(
            problems(text),
            vec![
                "line 9: unknown key \"pending_belw\" in [extend]; did you mean \"pending_below\"?"
            ]
        );
        let text = text.replace("pending_belw = 3\n", "pending_below = 3\n");
        assert_eq!(
            problems(&text),
            vec![
                "line 1: `planner` names the agent profile `claud`, which is neither built in nor \
                 defined in vane.toml ([agents.claud]); did you mean \"claude\"?",
                "line 4: `every` in [extend] must be at least 1",
                "line 5: `done_above` in [extend] is 1.5; it is a share of the tasks, between 0 \
                 and 1",
                "line 6: `max_new_tasks` in [extend] must be at least 1",
                "line 7: `max_total` in [extend] must be at least 1",
                "line 8: `agent` in [extend] names the agent profile `gemni`, which is neither \
                 built in nor defined in vane.toml ([agents.gemni]); did you mean \"gemini\"?",
            ]
        );
        let keys: Vec<Option<String>> = check(&text).problems.into_iter().map(|p| p.key).collect();
        assert_eq!(keys[1].as_deref(), Some("extend.every"));
        assert_eq!(
            problems("extend = 5\n"),
            ["line 1: wrong type for `extend`: expected a table ([extend]), found an integer"]
        );
        assert_eq!(
            problems("[extend]\ndone_above = \"most\"\n"),
            ["line 2: wrong type for `done_above` in [extend]: expected a number, found a string"]
        );
        let checked = check("[extend]\nevery = 2\n");
        assert_eq!(checked.sources.extend(None), Some(1));
        assert_eq!(checked.sources.extend(Some("every")), Some(2));
        assert_eq!(
            checked.config.expect("fine").extend.map(|e| e.every),
            Some(2)
        );
    }

    #[test]
    fn executors_are_checked_with_their_lines() {
        let text = "\
[executor.cluster]
start = \"sbatch --parsable --wrap {worker} --job-name {tsk}\"
cancel = \"scancel {handel} {{literal}}\"
max_jobs = 0
time_limit = 0
remot = \"origin\"

[executor.grid]
cancel = \"qdel {handle}\"

[executor.local]
max_jobs = 2

[executor.odd]
start = \"run ${HOME}/x {worker\"
vane = 3
";
        assert_eq!(
            problems(text),
            vec![
                "line 6: unknown key \"remot\" in [executor.cluster]; did you mean \"remote\"?",
                "line 16: wrong type for `vane` in [executor.odd]: expected a string, found an \
                 integer",
            ]
        );
        let text = text
            .replace("remot = ", "remote = ")
            .replace("vane = 3", "vane = \"/opt/vane\"");
        assert_eq!(
            problems(&text),
            vec![
                "line 2: `start` in [executor.cluster] has the unknown placeholder `{tsk}`; did \
                 you mean \"{task}\"?",
                "line 3: `cancel` in [executor.cluster] has the unknown placeholder `{handel}`; \
                 did you mean \"{handle}\"?",
                "line 4: `max_jobs` in [executor.cluster] must be at least 1",
                "line 5: `time_limit` in [executor.cluster] must be at least 1",
                "line 8: [executor.grid] has no `start`; an executor other than `local` needs the \
                 command that starts a worker, such as \"sbatch --parsable --wrap {worker}\"",
                "line 15: `start` in [executor.odd] has the unknown placeholder `{HOME}`; the \
                 placeholders are {worker}, {task}, {attempt}, {job_ref}, {remote} (write `{{` \
                 and `}}` for literal braces)",
                "line 15: `start` in [executor.odd] has a `{` that is never closed; write `{{` \
                 and `}}` for literal braces",
            ]
        );
        let keys: Vec<Option<String>> = check(&text).problems.into_iter().map(|p| p.key).collect();
        assert_eq!(keys[0].as_deref(), Some("executor.cluster.start"));
        assert_eq!(keys[4].as_deref(), Some("executor.grid"));
        assert_eq!(
            problems("executor = 3\n"),
            [
                "line 1: wrong type for `executor`: expected a table of executors \
              ([executor.NAME]), found an integer"
            ]
        );
        assert_eq!(
            problems("[executor]\ncluster = \"sbatch\"\n"),
            [
                "line 2: wrong type for `executor.cluster`: expected a table of executor keys \
              ([executor.cluster]), found a string"
            ]
        );
        assert_eq!(
            problems("[executor.x]\nstart = \"a } b\"\n"),
            [
                "line 2: `start` in [executor.x] has a `}` that closes no placeholder; write `{{` \
              and `}}` for literal braces"
            ]
        );
    }

    #[test]
    fn a_route_must_name_an_executor_there_is() {
        let text = "\
[executor.cluster]
start = \"sbatch --wrap {worker}\"

[[route]]
type = \"bug\"
agent = \"shell\"
executor = \"clustr\"

[[route]]
type = \"task\"
agent = \"shell\"
executor = \"nowhere-at-all\"

[[route]]
type = \"story\"
agent = \"shell\"
executor = \"\"

[[route]]
type = \"epic\"
agent = \"shell\"
executor = 7
";
        assert_eq!(
            problems(text),
            [
                "line 22: wrong type for `executor` in [[route]]: expected a string, found an \
              integer"
            ]
        );
        let text = text.replace("executor = 7", "executor = \"local\"");
        assert_eq!(
            problems(&text),
            vec![
                "line 7: route 1 names the executor `clustr`, which is neither `local` nor \
                 defined in vane.toml ([executor.clustr]); did you mean \"cluster\"?",
                "line 12: route 2 names the executor `nowhere-at-all`, which is neither `local` \
                 nor defined in vane.toml ([executor.nowhere-at-all]); the executors are local, \
                 cluster",
                "line 17: route 3 has an empty `executor`; name the executor it sends its tasks \
                 to, or remove the key",
            ]
        );
        let keys: Vec<Option<String>> = check(&text).problems.into_iter().map(|p| p.key).collect();
        assert_eq!(keys[0].as_deref(), Some("route[1].executor"));
        // `local` is built in; an executor vane.toml defines is fine.
        let checked = check(
            "[executor.cluster]\nstart = \"x {worker}\"\n[[route]]\ntype = \"bug\"\n\
             agent = \"shell\"\nexecutor = \"cluster\"\n[[route]]\nagent = \"shell\"\n\
             executor = \"local\"\n",
        );
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        let config = checked.config.expect("fine");
        assert_eq!(config.routes[0].executor.as_deref(), Some("cluster"));
        assert_eq!(checked.sources.route(0, Some("executor")), Some(6));
    }

    #[test]
    fn pull_requests_need_land_to_and_known_placeholders() {
        assert_eq!(
            problems("pr_command = \"gh pr create --head {branch} --title {titel}\"\n"),
            vec![
                "line 1: `pr_command` needs `land_to`, the remote each landed task's branch is \
                 pushed to",
                "line 1: `pr_command` has the unknown placeholder `{titel}`; did you mean \
                 \"{title}\"?",
            ]
        );
        assert_eq!(
            problems("land_to = \"origin\"\npr_command = \"open {pr}\"\n"),
            [
                "line 2: `pr_command` has the unknown placeholder `{pr}`; the placeholders are \
              {branch}, {task}, {title}, {base}, {remote} (write `{{` and `}}` for literal \
              braces)"
            ]
        );
        assert_eq!(
            problems("land_to = \" \"\npr_command = \"\"\n"),
            vec![
                "line 1: `land_to` is empty; give a remote (a git remote's name, a URL or a \
                 path), or remove the key",
                "line 2: `pr_command` is empty; give the command that opens a pull request, or \
                 remove the key",
            ]
        );
        assert_eq!(
            problems("land_to = 1\n"),
            ["line 1: wrong type for `land_to`: expected a string, found an integer"]
        );
    }

    #[test]
    fn a_cluster_that_lands_by_pull_requests_is_fine() {
        let text = "\
land_to = \"origin\"
pr_command = \"gh pr create --base {base} --head {branch} --title {title} --body '{{}}' {remote} {task}\"

[executor.cluster]
start = \"sbatch --parsable --job-name vane-{task}-{attempt} --wrap {worker} {job_ref} {remote}\"
cancel = \"scancel {handle}\"
max_jobs = 64
time_limit = 3600
remote = \"origin\"
vane = \"/opt/vane/bin/vane\"

[executor.local]
max_jobs = 2

[[route]]
type = \"bug\"
agent = \"shell\"
executor = \"cluster\"
";
        let checked = check(text);
        assert!(checked.problems.is_empty(), "{:?}", checked.problems);
        let s = &checked.sources;
        assert_eq!(s.top("pr_command"), Some(2));
        assert_eq!(s.executor("cluster", None), Some(4));
        assert_eq!(s.executor("cluster", Some("cancel")), Some(6));
        assert_eq!(s.executor("local", Some("start")), None);
        let config = checked.config.expect("fine");
        assert_eq!(config.land_to.as_deref(), Some("origin"));
        let cluster = config.executor("cluster").expect("defined");
        assert_eq!((cluster.max_jobs, cluster.time_limit), (64, 3600));
        assert_eq!(config.executor("local").map(|l| l.max_jobs), Some(2));
        // What a table leaves out has its default.
        let checked = check("[executor.c]\nstart = \"x {worker}\"\n");
        let c = checked
            .config
            .expect("fine")
            .executor("c")
            .expect("defined");
        assert_eq!((c.max_jobs, c.time_limit), (8, 7200));
    }

    #[test]
    fn serde_messages_get_the_same_suggestion() {
        assert_eq!(
            reword_serde("unknown field `tmeout`, expected one of `name`, `timeout`, `score`"),
            "unknown key \"tmeout\"; did you mean \"timeout\"?"
        );
        assert_eq!(
            reword_serde("unknown field `zz`, expected `a` or `b`"),
            "unknown key \"zz\"; expected one of a, b"
        );
        assert_eq!(reword_serde("something else"), "something else");
    }
}
