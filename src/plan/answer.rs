//! Finding a planner's answer in what its agent printed: the plan object, among prose, code fences,
//! earlier drafts and the agent's own JSON envelope.
//!
//! Nothing here judges the plan; `validate` does. These only say which JSON object is the answer,
//! and give `None` when there is none that is whole.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The last top-level JSON object in `text` that has a `"tasks"` key: the plan in a free-text answer,
/// wherever it is (bare, in a ```` ```json ```` fence, after an earlier draft). Objects inside other
/// objects do not count (a task's own keys are no plan), and a plan cut short (the agent stopped
/// midway) is not one, so `None` then.
///
/// The caller passes at most the last MiB of an agent's output; the scan costs a small multiple of
/// the text's length (see `last_object_where`). An object nested more than 16 levels deep is not
/// read, which no plan is.
pub fn last_json_object(text: &str) -> Option<Value> {
    last_object_where(text, |object| object.contains_key("tasks")).map(Value::Object)
}

/// The answer in what `claude -p --output-format json` printed: its result object,
/// `{"type":"result","result":"<text>","structured_output":{..},"session_id":..}`, perhaps after
/// other lines. `structured_output` is the answer when it is an object (Claude Code was given
/// `--json-schema`); otherwise the plan is looked for in the `result` text. When there is no result
/// object at all, the plan is looked for in the whole output, as text.
pub fn from_claude_result(stdout: &str) -> Option<Value> {
    let is_result = |object: &Map<String, Value>| {
        object.get("type").and_then(Value::as_str) == Some("result")
            || object.contains_key("structured_output")
    };
    let Some(result) = last_object_where(stdout, is_result) else {
        return last_json_object(stdout);
    };
    match result.get("structured_output") {
        Some(Value::Object(answer)) => Some(Value::Object(answer.clone())),
        Some(Value::String(text)) => whole_object(text).or_else(|| last_json_object(text)),
        _ => result
            .get("result")
            .and_then(Value::as_str)
            .and_then(last_json_object),
    }
}

/// The answer in what `codex exec --json` printed, one event a line: the text of the last
/// `{"type":"item.completed","item":{"type":"agent_message","text":".."}}`. With `--output-schema`
/// that text is the answer itself, taken whole when it is one JSON object; otherwise the plan is
/// looked for in it as in any text. Output without such an event is searched as text.
pub fn from_codex_jsonl(stdout: &str) -> Option<Value> {
    let message = stdout.lines().rev().find_map(|line| {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        let event: Value = serde_json::from_str(line).ok()?;
        if event.get("type").and_then(Value::as_str) != Some("item.completed") {
            return None;
        }
        let item = event.get("item")?;
        if item.get("type").and_then(Value::as_str) != Some("agent_message") {
            return None;
        }
        item.get("text").and_then(Value::as_str).map(str::to_string)
    });
    match message {
        Some(text) => whole_object(&text).or_else(|| last_json_object(&text)),
        None => last_json_object(stdout),
    }
}

/// `text`, surrounding whitespace aside, when it is exactly one JSON object.
fn whole_object(text: &str) -> Option<Value> {
    match serde_json::from_str(text.trim()) {
        Ok(Value::Object(object)) => Some(Value::Object(object)),
        _ => None,
    }
}

/// The last top-level object in `text` that `wanted` accepts.
///
/// Reads forward from each `{`: an object that parses is a candidate and its inside is skipped
/// (what is nested in it is not top-level); a `{` that starts no whole object is passed by one
/// byte. The cost stays a small multiple of the text's length. A start can only read far when what
/// follows it is the beginning of a JSON value; the starts after it in that stretch are then either
/// short (inside a string, a `{` cannot begin a key) or begin values nested in it, and a start
/// stops reading `MOST_DEPTH` levels down.
fn last_object_where(
    text: &str,
    wanted: impl Fn(&Map<String, Value>) -> bool,
) -> Option<Map<String, Value>> {
    let mut found = None;
    let mut from = 0;
    while let Some(offset) = text[from..].find('{') {
        let start = from + offset;
        let rest = &text[start..];
        // `{` is one byte, so the next byte begins a character.
        let next = start + 1;
        // The cheap checks first: an object's `{` is followed by a key or by `}`, and the depth check
        // keeps nothing, so most junk costs little.
        let after = rest[1..].trim_start_matches([' ', '\t', '\n', '\r']);
        if !after.starts_with(['"', '}']) {
            from = next;
            continue;
        }
        let mut check = serde_json::Deserializer::from_str(rest);
        if Shallow(MOST_DEPTH).deserialize(&mut check).is_err() {
            from = next;
            continue;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match values.next() {
            Some(Ok(Value::Object(object))) => {
                from = start + values.byte_offset();
                if wanted(&object) {
                    found = Some(object);
                }
            }
            _ => from = next,
        }
    }
    found
}

/// How deep, counted from its own `{`, an object may nest and still be read: a plan nests 5 levels
/// deep, Claude Code's result with a plan in it 6.
const MOST_DEPTH: usize = 16;

/// Reads one JSON value without keeping it, failing when it nests more than `.0` levels deep.
#[derive(Clone, Copy)]
struct Shallow(usize);

impl Shallow {
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        match self.0 {
            0 => Err(E::custom("nested too deeply")),
            left => Ok(Shallow(left - 1)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Shallow {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shallow {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while items.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let inner = self.deeper()?;
        while entries.next_key_seed(inner)?.is_some() {
            entries.next_value_seed(inner)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use serde_json::json;

    fn plan(id: &str) -> Value {
        json!({
            "rationale": "one step",
            "tasks": [{
                "id": id, "title": "Add the endpoint", "description": "In `src/api.rs`: {braces} \"quoted\"",
                "type": "task", "complexity": 3,
                "deps": [{"id": "base", "kind": "blocks"}],
                "paths": ["src/api.rs"], "agent": null, "rationale": null
            }]
        })
    }

    #[test]
    fn a_plan_is_found_among_prose_and_a_fence() {
        let text = format!(
            "I looked at the repository. The epic splits in two {{roughly}}.\n\n```json\n{}\n```\n\nLet me know if {{this}} works.",
            serde_json::to_string_pretty(&plan("api")).unwrap()
        );
        assert_eq!(last_json_object(&text), Some(plan("api")));
    }

    #[test]
    fn the_last_of_two_plans_wins() {
        let text = format!(
            "Draft:\n{}\nOn second thought, better:\n{}\n",
            plan("first"),
            plan("second")
        );
        assert_eq!(last_json_object(&text), Some(plan("second")));
    }

    #[test]
    fn a_later_object_without_tasks_does_not_hide_the_plan() {
        let text = format!("{}\nAnd the stats: {{\"tokens\": 12}}", plan("api"));
        assert_eq!(last_json_object(&text), Some(plan("api")));
    }

    #[test]
    fn a_plan_cut_short_is_no_plan() {
        let whole = serde_json::to_string_pretty(&plan("api")).unwrap();
        for end in 0..whole.len() {
            let text = format!("Here it is:\n```json\n{}", &whole[..end]);
            assert_eq!(last_json_object(&text), None, "cut at {end}");
        }
        // A whole draft before a cut one is still the last whole plan.
        let text = format!("{}\n{}", plan("draft"), &whole[..whole.len() / 2]);
        assert_eq!(last_json_object(&text), Some(plan("draft")));
    }

    #[test]
    fn junk_gives_nothing() {
        for junk in [
            "",
            "no json here",
            "{",
            "}{",
            "{{{{",
            "{\"tasks\"",
            "{\"tasks\": [1, 2,}",
            "{'tasks': []}",
            "\"{\\\"tasks\\\": []}\"",
            "{\"nested\": {\"tasks\": []}}",
        ] {
            assert_eq!(last_json_object(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn braces_and_quotes_inside_strings_do_not_confuse_it() {
        let answer = json!({"tasks": [{"id": "a", "description": "match x { Some(y) => \"}\" }, {\"tasks\": 1}"}]});
        let text = format!("prose with a stray }} and {{\n{answer}\ntrailing {{ \"x\"");
        assert_eq!(last_json_object(&text), Some(answer));
    }

    #[test]
    fn a_deeply_nested_or_huge_text_is_read_in_reasonable_time() {
        let deep = "{\"a\":[".repeat(50_000);
        assert_eq!(last_json_object(&deep), None);
        let braces = "{".repeat(1 << 18);
        assert_eq!(last_json_object(&braces), None);
        let strings = format!("{{\"tasks\": \"{}", "{\\\"".repeat(100_000));
        assert_eq!(last_json_object(&strings), None);
        let many = format!("{}{}", "{\"x\": 1} ".repeat(50_000), plan("end"));
        assert_eq!(last_json_object(&many), Some(plan("end")));
    }

    #[test]
    fn claude_structured_output_is_the_answer() {
        let stdout = format!(
            "some warning\n{}\n",
            json!({"type": "result", "subtype": "success", "is_error": false,
                   "result": "Here is the plan.", "structured_output": plan("api"),
                   "session_id": "s-1"})
        );
        assert_eq!(from_claude_result(&stdout), Some(plan("api")));
    }

    #[test]
    fn without_structured_output_claude_s_result_text_is_searched() {
        let result = format!("The plan:\n```json\n{}\n```", plan("api"));
        let stdout = json!({"type": "result", "subtype": "success", "is_error": false,
                            "result": result, "session_id": "s-1"})
        .to_string();
        assert_eq!(from_claude_result(&stdout), Some(plan("api")));
        let null =
            json!({"type": "result", "result": result, "structured_output": null}).to_string();
        assert_eq!(from_claude_result(&null), Some(plan("api")));
    }

    #[test]
    fn claude_failures_and_plain_text_answers() {
        let failed =
            json!({"type": "result", "subtype": "error_max_turns", "is_error": true}).to_string();
        assert_eq!(from_claude_result(&failed), None);
        let no_plan = json!({"type": "result", "result": "I could not plan this."}).to_string();
        assert_eq!(from_claude_result(&no_plan), None);
        // Printed as text (no `--output-format json`): the plan is found all the same.
        assert_eq!(
            from_claude_result(&format!("Plan:\n{}", plan("api"))),
            Some(plan("api"))
        );
        assert_eq!(from_claude_result(""), None);
    }

    #[test]
    fn codex_s_last_agent_message_is_the_answer() {
        let message = |text: &str| {
            json!({"type": "item.completed", "item": {"id": "item_9", "type": "agent_message", "text": text}})
                .to_string()
        };
        let stdout = [
            json!({"type": "thread.started", "thread_id": "t-1"}).to_string(),
            json!({"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "thinking"}}).to_string(),
            message("Looking at the code first."),
            json!({"type": "item.completed", "item": {"id": "item_1", "type": "command_execution",
                   "aggregated_output": plan("from-a-file").to_string(), "exit_code": 0}}).to_string(),
            message(&plan("api").to_string()),
            json!({"type": "turn.completed", "usage": {"input_tokens": 10, "output_tokens": 5}}).to_string(),
        ]
        .join("\n");
        assert_eq!(from_codex_jsonl(&stdout), Some(plan("api")));

        // Without `--output-schema` the message is prose around the plan.
        let prose = format!("Plan below.\n```json\n{}\n```", plan("api"));
        assert_eq!(from_codex_jsonl(&message(&prose)), Some(plan("api")));
        // An object that is the whole message is the answer, for validation to judge.
        assert_eq!(
            from_codex_jsonl(&message("{\"steps\": []}")),
            Some(json!({"steps": []}))
        );
        assert_eq!(from_codex_jsonl(&message("Sorry, no plan.")), None);
        let failed =
            json!({"type": "turn.failed", "error": {"message": "rate limited"}}).to_string();
        assert_eq!(from_codex_jsonl(&failed), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever an agent printed, reading it never panics, and a plan found has tasks.
        #[test]
        fn reading_any_text_never_panics(text in "[{}\\[\\]\":,\\\\a-z0-9 \n`]{0,200}") {
            if let Some(found) = last_json_object(&text) {
                prop_assert!(found.get("tasks").is_some());
            }
            let _ = from_claude_result(&text);
            let _ = from_codex_jsonl(&text);
        }

        /// A plan between any prose is found whole, and any cut of it is not found at all.
        #[test]
        fn a_plan_in_prose_is_found_whole_or_not_at_all(
            before in "[a-z {}\n`]{0,40}",
            after in "[a-z }\n`]{0,40}",
            cut in 0usize..400,
        ) {
            let answer = serde_json::to_string(&plan("api")).unwrap();
            let text = format!("{before}\n{answer}\n{after}");
            prop_assert_eq!(last_json_object(&text), Some(plan("api")));
            let cut = cut.min(answer.len() - 1);
            let text = format!("{before}\n{}", &answer[..cut]);
            prop_assert_eq!(last_json_object(&text), None);
        }
    }
}
