//! Planning: an agent breaks an epic into a graph of tasks and answers in JSON. This is the pure
//! part: the schema the answer is asked in (`schema`), finding the answer in what the agent printed
//! (`answer`), checking it against the task graph it would join (`validate`), and what the planner
//! is told (`prompt`).
//!
//! Planners fail most on their answer, JSON that does not parse or does not fit, so the checks come
//! first: every problem is found at once and worded for the planner, which gets them back verbatim
//! for a second try. Running the agent and storing the plan happen elsewhere; nothing here does I/O.

mod answer;
pub mod prompt;
mod schema;
mod validate;

#[cfg(test)]
mod tests;

pub use answer::{from_claude_result, from_codex_jsonl, last_json_object};
pub use schema::{schema, schema_text};
pub use validate::{problems_text, validate, Context, Plan, PlannedTask, Problem};
