//! The JSON Schema a planner answers in: what `vane plan --schema` prints, and what Claude Code's
//! `--json-schema` and Codex's `--output-schema` are given.
//!
//! Written for the strictest reader, OpenAI's strict structured outputs: every object forbids other
//! keys and lists all of its keys as required (an optional one is nullable instead), and there is no
//! `oneOf`, `anyOf` or `default`. Limits that reader cannot enforce (an id's length, a title on one
//! line) are stated in the descriptions, which models read, and checked by `validate`.

use serde_json::{json, Value};

use crate::model::TaskId;

/// The schema of a planner's answer, as JSON.
pub fn schema() -> Value {
    let nullable_text =
        |description: &str| json!({"type": ["string", "null"], "description": description});
    let dependency = json!({
        "type": "object",
        "description": "A task this one relates to.",
        "additionalProperties": false,
        "required": ["id", "kind"],
        "properties": {
            "id": {
                "type": "string",
                "description": "The id of another task of this plan, or of a task that already exists.",
            },
            "kind": {
                "type": "string",
                "enum": ["blocks", "related", "suggested"],
                "description": "`blocks`: this task cannot start before that one is done (the only kind \
                                the scheduler waits for; never in a circle). `related`: they touch the same \
                                subject. `suggested`: better after it, but not required.",
            },
        },
    });
    let task = json!({
        "type": "object",
        "description": "One task: a piece of work one coding agent can finish and land on its own, in \
                        one branch, with the tests passing.",
        "additionalProperties": false,
        "required": ["id", "title", "description", "type", "complexity", "deps", "paths", "agent", "rationale"],
        "properties": {
            "id": {
                "type": "string",
                "pattern": id_pattern(),
                "description": format!(
                    "A short readable id, unique in the plan and new to the project, like `auth-api`: \
                     at most {} characters, letters, digits, `-`, `_` and `.`, starting with a letter \
                     or a digit, no `..`, not ending in `.` or `.lock` (it becomes the branch `vane/<id>`).",
                    TaskId::MAX_LEN
                ),
            },
            "title": {
                "type": "string",
                "description": "One line saying what the task does, in the imperative: `Add the login endpoint`.",
            },
            "description": {
                "type": "string",
                "description": "The brief the agent working on the task gets: what to do, where, and how \
                                to know it is done. Several lines are fine.",
            },
            "type": {
                "type": "string",
                "enum": ["story", "task", "bug"],
                "description": "`story`: a change a user notices. `task`: other work (refactoring, tooling, \
                                tests). `bug`: a fix of something broken.",
            },
            "complexity": {
                "type": "integer",
                "enum": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
                "description": "How hard the task is, from 1 (trivial) to 10 (hardest).",
            },
            "deps": {
                "type": "array",
                "description": "The tasks this one depends on or relates to; empty when none.",
                "items": dependency,
            },
            "paths": {
                "type": "array",
                "description": "The files it expects to touch, as paths or globs from the repository's \
                                root, like `src/auth/**` or `docs/*.md` (no leading `/`, no `..`); tasks \
                                whose paths overlap do not run at the same time. Empty when unknown.",
                "items": {"type": "string"},
            },
            "agent": nullable_text(
                "The name of the agent profile to work on it, or null for the configured default.",
            ),
            "rationale": nullable_text("Why this task exists and is cut this way, or null."),
        },
    });
    // No `$schema` key: Claude Code 2.1 drops its StructuredOutput tool for a schema that names
    // one (seen with draft 2020-12), and the planner then has no way to answer.
    json!({
        "title": "vane plan",
        "description": "An epic broken into tasks for coding agents working in parallel.",
        "type": "object",
        "additionalProperties": false,
        "required": ["rationale", "tasks"],
        "properties": {
            "rationale": nullable_text("Why the plan is cut this way, or null."),
            "tasks": {
                "type": "array",
                "description": "The tasks of the epic, each small enough for one agent; a task may \
                                depend on tasks listed before or after it.",
                "minItems": 1,
                "items": task,
            },
        },
    })
}

/// The schema as pretty-printed JSON, ending in a newline.
pub fn schema_text() -> String {
    // `{:#}` is serde_json's pretty printing, which cannot fail on a `Value`.
    format!("{:#}\n", schema())
}

/// A regular expression for `TaskId::new`'s rules that every schema reader understands (no
/// lookaround): dot-separated parts, so no `..` and no trailing `.`, the first starting with a letter
/// or a digit. The length and the `.lock` ending are left to the description and to `validate`.
fn id_pattern() -> &'static str {
    r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every schema object below `value`, with where it is.
    fn walk<'a>(at: String, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        match value {
            Value::Object(map) => {
                out.push((at.clone(), value));
                for (key, inner) in map {
                    walk(format!("{at}.{key}"), inner, out);
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    walk(format!("{at}[{i}]"), inner, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_object_is_closed_and_requires_all_of_its_keys_as_strict_mode_wants() {
        let schema = schema();
        let mut nodes = Vec::new();
        walk("$".to_string(), &schema, &mut nodes);
        let mut objects = 0;
        for (at, node) in &nodes {
            for banned in ["oneOf", "anyOf", "allOf", "default", "not", "$ref"] {
                assert!(node.get(banned).is_none(), "{at} has `{banned}`");
            }
            if node.get("type") == Some(&json!("object")) {
                objects += 1;
                assert_eq!(node["additionalProperties"], json!(false), "{at}");
                let properties = node["properties"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{at} has no properties"));
                let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
                let mut required: Vec<&str> = node["required"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{at} has no required"))
                    .iter()
                    .map(|k| k.as_str().unwrap())
                    .collect();
                keys.sort_unstable();
                required.sort_unstable();
                assert_eq!(keys, required, "{at}");
                for (key, property) in properties {
                    assert!(
                        property["description"].is_string(),
                        "{at}.{key} has no description"
                    );
                }
            }
        }
        assert_eq!(objects, 3, "the answer, a task and a dependency");
    }

    #[test]
    fn the_words_of_the_schema_are_the_words_vane_reads() {
        use crate::model::{DepKind, TaskType};
        let schema = schema();
        let task = &schema["properties"]["tasks"]["items"];
        let types: Vec<&str> = TaskType::ALL
            .iter()
            .filter(|t| **t != TaskType::Epic)
            .map(|t| t.as_str())
            .collect();
        assert_eq!(task["properties"]["type"]["enum"], json!(types));
        let kinds: Vec<&str> = DepKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            task["properties"]["deps"]["items"]["properties"]["kind"]["enum"],
            json!(kinds)
        );
        assert_eq!(
            task["properties"]["id"]["pattern"],
            json!(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
        );
    }

    #[test]
    fn the_text_is_the_schema_pretty_printed() {
        let text = schema_text();
        assert!(!text.contains("$schema"), "{text}");
        assert!(text.ends_with("}\n"));
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), schema());
    }
}
