//! Reading what an agent reported when it finished: its last message, session, cost and tokens.
//!
//! Agents change their output between versions and print other things around it, so every parser
//! is tolerant: it takes what it recognises and leaves the rest `None`. Parsing never fails; output
//! that makes no sense gives an empty report, and the exit code still says how the run went.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::OutputParser;

/// How much of the end of an output file is read: agents' final reports come last, and a run that
/// printed gigabytes must not be read into memory.
const TAIL_BYTES: u64 = 1024 * 1024;

/// The longest message kept from plain-text output, in characters.
const TEXT_MESSAGE_MAX: usize = 500;

/// What an agent said about its run; every field is optional because agents report different things.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentReport {
    /// Whether the agent itself considers the run a success (not whether vane will accept the work).
    pub success: Option<bool>,
    /// The agent's final words, or why it failed.
    pub message: Option<String>,
    /// An id to resume the agent's session with.
    pub session_id: Option<String>,
    pub cost_usd: Option<f64>,
    /// All input tokens, cached ones included.
    pub input_tokens: Option<u64>,
    /// The input tokens read from the model's prompt cache (a part of `input_tokens`).
    pub cached_input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// The model the agent says it ran (the one that did most of the work, when it names several).
    pub model: Option<String>,
}

/// Reads an agent's report from its standard output.
pub fn parse(parser: OutputParser, stdout: &str) -> AgentReport {
    match parser {
        OutputParser::Text => parse_text(stdout),
        OutputParser::ClaudeJson => parse_claude(stdout),
        OutputParser::CodexJsonl => parse_codex(stdout),
        OutputParser::GeminiJson => parse_gemini(stdout),
    }
}

/// Reads an agent's report from the file its standard output went to, looking only at the last MiB.
/// A file that cannot be read gives an empty report.
pub fn parse_file(parser: OutputParser, path: &Path) -> AgentReport {
    match read_tail(path, TAIL_BYTES) {
        Ok(text) => parse(parser, &text),
        Err(e) => {
            tracing::debug!(path = %path.display(), %e, "cannot read agent output");
            AgentReport::default()
        }
    }
}

/// Reads an agent's report from its output files: standard output first, standard error when
/// standard output says nothing recognisable. Some agents report failures only on stderr: Gemini CLI
/// prints its JSON error object there, and a failing shell command usually says why there.
pub fn parse_run(parser: OutputParser, stdout: &Path, stderr: &Path) -> AgentReport {
    let report = parse_file(parser, stdout);
    if report != AgentReport::default() {
        return report;
    }
    parse_file(parser, stderr)
}

/// The last MiB of a file as text (agents' answers come last, and a run may print gigabytes);
/// empty when it cannot be read.
pub fn read_tail_text(path: &Path) -> String {
    read_tail(path, TAIL_BYTES).unwrap_or_default()
}

/// The last `limit` bytes of a file as text, starting at a line boundary when the start was cut.
fn read_tail(path: &Path, limit: u64) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let cut = len > limit;
    if cut {
        file.seek(SeekFrom::Start(len - limit))?;
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(match (cut, text.find('\n')) {
        // The first line is a fragment: half a JSON object would only confuse the parsers.
        (true, Some(newline)) => text[newline + 1..].to_string(),
        _ => text.into_owned(),
    })
}

fn parse_text(stdout: &str) -> AgentReport {
    let message = stdout
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(|line| line.chars().take(TEXT_MESSAGE_MAX).collect());
    AgentReport {
        message,
        ..AgentReport::default()
    }
}

/// `claude -p --output-format json` prints one result object:
/// `{"type":"result","subtype":"success","is_error":false,"result":"...","session_id":"...",
/// "total_cost_usd":0.01,"usage":{"input_tokens":..,"cache_creation_input_tokens":..,
/// "cache_read_input_tokens":..,"output_tokens":..},...}`.
fn parse_claude(stdout: &str) -> AgentReport {
    let Some(result) = last_object(stdout, |o| {
        o.contains_key("result") || o.contains_key("is_error")
    }) else {
        return AgentReport::default();
    };
    let subtype = str_field(&result, "subtype");
    let is_error = result.get("is_error").and_then(Value::as_bool);
    // An API failure is `is_error: true` with subtype "success"; running out of turns is subtype
    // "error_max_turns" (with `is_error` false in some versions). Either one is a failure.
    let failed_subtype = subtype.as_deref().is_some_and(|s| s.starts_with("error"));
    let success = match (is_error, failed_subtype) {
        (_, true) | (Some(true), _) => Some(false),
        (Some(false), false) => Some(true),
        (None, false) => None,
    };
    let message = str_field(&result, "result").or_else(|| subtype.filter(|_| failed_subtype));
    let usage = result.get("usage");
    let input_tokens = usage.and_then(|u| {
        sum_present(
            [
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            ]
            .iter()
            .map(|k| u.get(*k).and_then(Value::as_u64)),
        )
    });
    // `modelUsage` has one entry per model the run used, with its cost.
    let model = result
        .get("modelUsage")
        .and_then(Value::as_object)
        .and_then(|models| {
            models
                .iter()
                .max_by(|a, b| {
                    let cost = |v: &Value| v.get("costUSD").and_then(Value::as_f64).unwrap_or(0.0);
                    cost(a.1).total_cmp(&cost(b.1))
                })
                .map(|(name, _)| name.clone())
        });
    AgentReport {
        success,
        message,
        session_id: str_field(&result, "session_id"),
        // `cost_usd` is what versions before `total_cost_usd` called it.
        cost_usd: result
            .get("total_cost_usd")
            .or_else(|| result.get("cost_usd"))
            .and_then(Value::as_f64),
        input_tokens,
        cached_input_tokens: usage
            .and_then(|u| u.get("cache_read_input_tokens"))
            .and_then(Value::as_u64),
        output_tokens: usage
            .and_then(|u| u.get("output_tokens"))
            .and_then(Value::as_u64),
        model,
    }
}

/// `codex exec --json` prints one event per line: `thread.started` (`thread_id`), `turn.started`,
/// `item.started`/`item.updated`/`item.completed` (`item.type` "agent_message" with `text`, and
/// others), `turn.completed` (`usage`: `input_tokens`, `cached_input_tokens`, `output_tokens`),
/// `turn.failed` (`error.message`) and `error` (`message`).
fn parse_codex(stdout: &str) -> AgentReport {
    let mut report = AgentReport::default();
    let mut agent_message = None;
    let mut turn_failure: Option<String> = None;
    // An `error` event is also sent for a stream error that Codex then retries, so it only counts as
    // a failure when no turn completes after it.
    let mut pending_error: Option<String> = None;
    let mut completed = false;
    let mut usage = (None, None, None);

    for event in stdout.lines().filter_map(json_object) {
        match event.get("type").and_then(Value::as_str) {
            Some("thread.started") => report.session_id = str_field(&event, "thread_id"),
            Some("item.completed") => {
                if let Some(item) = event.get("item").and_then(Value::as_object) {
                    if item.get("type").and_then(Value::as_str) == Some("agent_message") {
                        agent_message = str_field(item, "text").or(agent_message);
                    }
                }
            }
            Some("turn.completed") => {
                completed = true;
                pending_error = None;
                if let Some(u) = event.get("usage") {
                    usage.0 = add(usage.0, u.get("input_tokens").and_then(Value::as_u64));
                    usage.1 = add(usage.1, u.get("output_tokens").and_then(Value::as_u64));
                    usage.2 = add(
                        usage.2,
                        u.get("cached_input_tokens").and_then(Value::as_u64),
                    );
                }
            }
            Some("turn.failed") => {
                turn_failure = Some(
                    event
                        .get("error")
                        .and_then(|e| e.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or("turn failed")
                        .to_string(),
                );
            }
            Some("error") => {
                pending_error = Some(str_field(&event, "message").unwrap_or_default());
            }
            _ => {}
        }
    }

    let failure = turn_failure.or(pending_error);
    report.success = match (&failure, completed) {
        (Some(_), _) => Some(false),
        (None, true) => Some(true),
        (None, false) => None,
    };
    // On failure the reason says more than whatever the agent said before it.
    report.message = match failure.filter(|m| !m.is_empty()) {
        Some(reason) => Some(reason),
        None => agent_message,
    };
    (
        report.input_tokens,
        report.output_tokens,
        report.cached_input_tokens,
    ) = usage;
    report
}

/// `gemini --output-format json` prints one pretty-printed object: `{"session_id": "...",
/// "response": "...", "stats": {"models": {"<model>": {"tokens": {"prompt": .., "candidates": ..,
/// ...}}}, "tools": {..}, "files": {..}}, "error": {"type": "...", "message": "...", "code": ..}}`,
/// every key optional.
fn parse_gemini(stdout: &str) -> AgentReport {
    let Some(output) = last_object(stdout, |o| {
        ["response", "stats", "error", "session_id"]
            .iter()
            .any(|k| o.contains_key(*k))
    }) else {
        return AgentReport::default();
    };
    let response = str_field(&output, "response");
    let error = output.get("error").filter(|e| !e.is_null());
    let success = match (error, &response) {
        (Some(_), _) => Some(false),
        (None, Some(_)) => Some(true),
        (None, None) => None,
    };
    let error_message = error.map(|e| match e.get("message").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None => e.to_string(),
    });
    let models = output
        .get("stats")
        .and_then(|s| s.get("models"))
        .and_then(Value::as_object);
    let tokens = |key: &str| {
        models.and_then(|models| {
            sum_present(models.values().map(|m| {
                m.get("tokens")
                    .and_then(|t| t.get(key))
                    .and_then(Value::as_u64)
            }))
        })
    };
    // The model that took the most prompt tokens did most of the work.
    let model = models.and_then(|models| {
        models
            .iter()
            .max_by_key(|(_, m)| {
                m.get("tokens")
                    .and_then(|t| t.get("prompt"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            })
            .map(|(name, _)| name.clone())
    });
    AgentReport {
        success,
        message: error_message.or(response),
        session_id: str_field(&output, "session_id"),
        cost_usd: None,
        input_tokens: tokens("prompt"),
        cached_input_tokens: tokens("cached"),
        output_tokens: tokens("candidates"),
        model,
    }
}

/// The last JSON object in `text` that `wanted` accepts. Candidates start at a line that begins with
/// `{` in its first column, which finds both one-line objects and pretty-printed ones (whose inner
/// objects are indented) among other output; failing that, the whole text is tried.
fn last_object(
    text: &str,
    wanted: impl Fn(&Map<String, Value>) -> bool,
) -> Option<Map<String, Value>> {
    let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
    let starts: Vec<usize> = line_starts
        .filter(|&i| text[i..].starts_with('{'))
        .collect();
    starts
        .iter()
        .rev()
        .find_map(|&i| first_value(&text[i..]).filter(&wanted))
        .or_else(|| json_object(text).filter(&wanted))
}

/// The JSON object at the start of `text`, ignoring whatever follows it.
fn first_value(text: &str) -> Option<Map<String, Value>> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match values.next() {
        Some(Ok(Value::Object(map))) => Some(map),
        _ => None,
    }
}

/// `text` (surrounding whitespace aside) as one JSON object.
fn json_object(text: &str) -> Option<Map<String, Value>> {
    let text = text.trim();
    if !text.starts_with('{') {
        return None;
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn str_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

fn add(total: Option<u64>, more: Option<u64>) -> Option<u64> {
    match (total, more) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (a, b) => a.or(b),
    }
}

/// The sum of the values that are present; `None` when none is.
fn sum_present(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    values.fold(None, add)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Printed by the real Claude Code 2.1.197 run by vane's `claude` profile against the scripted
    /// API in tests/fixtures (it wrote a file, committed it with Bash, and answered).
    const CLAUDE_SUCCESS: &str = r#"{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":254,"duration_api_ms":80,"ttft_ms":141,"ttft_stream_ms":139,"time_to_request_ms":125,"num_turns":3,"result":"Finished: notes.txt written and committed.","stop_reason":"end_turn","session_id":"31d1028b-3983-478f-92c1-fe4e3cc9dc37","total_cost_usd":0.003,"usage":{"input_tokens":300,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":60,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard"},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":300,"outputTokens":60,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"webSearchRequests":0,"costUSD":0.003,"contextWindow":1000000,"maxOutputTokens":64000}},"permission_denials":[],"terminal_reason":"completed","fast_mode_state":"off","uuid":"1438a4fe-5771-47c4-813a-d68d3e56915e"}
"#;

    #[test]
    fn claude_success() {
        let report = parse(OutputParser::ClaudeJson, CLAUDE_SUCCESS);
        assert_eq!(
            report,
            AgentReport {
                success: Some(true),
                message: Some("Finished: notes.txt written and committed.".into()),
                session_id: Some("31d1028b-3983-478f-92c1-fe4e3cc9dc37".into()),
                cost_usd: Some(0.003),
                input_tokens: Some(300),
                cached_input_tokens: Some(0),
                output_tokens: Some(60),
                model: Some("claude-opus-4-8[1m]".into()),
            }
        );
        // Cached input counts as input.
        let cached = r#"{"type":"result","subtype":"success","is_error":false,"result":"ok","usage":{"input_tokens":12,"cache_creation_input_tokens":5230,"cache_read_input_tokens":20911,"output_tokens":391}}"#;
        assert_eq!(
            parse(OutputParser::ClaudeJson, cached).input_tokens,
            Some(12 + 5230 + 20911)
        );
    }

    #[test]
    fn claude_errors_and_noise_around_the_result() {
        let api_error = "Some warning the CLI printed first\n\
            {\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"duration_ms\":412,\"num_turns\":1,\
            \"result\":\"API Error: 529 {\\\"type\\\":\\\"error\\\",\\\"error\\\":{\\\"type\\\":\\\"overloaded_error\\\"}}\",\
            \"session_id\":\"s-1\",\"total_cost_usd\":0,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}\n\
            trailing junk\n";
        let report = parse(OutputParser::ClaudeJson, api_error);
        assert_eq!(report.success, Some(false));
        assert!(report.message.unwrap().starts_with("API Error: 529"));
        assert_eq!(report.session_id.as_deref(), Some("s-1"));
        assert_eq!(report.cost_usd, Some(0.0));

        let max_turns = r#"{"type":"result","subtype":"error_max_turns","is_error":false,"num_turns":3,"session_id":"s-2","total_cost_usd":0.02}"#;
        let report = parse(OutputParser::ClaudeJson, max_turns);
        assert_eq!(report.success, Some(false));
        assert_eq!(report.message.as_deref(), Some("error_max_turns"));
        assert_eq!(report.input_tokens, None);

        // Pretty-printed, and with an unrelated JSON line after it.
        let pretty = "{\n  \"type\": \"result\",\n  \"is_error\": false,\n  \"result\": \"done\"\n}\n{\"note\":1}\n";
        let report = parse(OutputParser::ClaudeJson, pretty);
        assert_eq!(report.success, Some(true));
        assert_eq!(report.message.as_deref(), Some("done"));
    }

    /// As printed by `codex exec --json` (0.5x and later): one event per line.
    const CODEX_SUCCESS: &str = r#"{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Looking at the repository layout**"}}
{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}
{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"Cargo.toml\nsrc\n","exit_code":0,"status":"completed"}}
{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"Checking the tests first."}}
{"type":"item.completed","item":{"id":"item_3","type":"file_change","changes":[{"path":"/wt/T1/src/lib.rs","kind":"update"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"item_4","type":"agent_message","text":"Fixed the off-by-one in `parse` and added a test."}}
{"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}
"#;

    #[test]
    fn codex_success() {
        let report = parse(OutputParser::CodexJsonl, CODEX_SUCCESS);
        assert_eq!(
            report,
            AgentReport {
                success: Some(true),
                message: Some("Fixed the off-by-one in `parse` and added a test.".into()),
                session_id: Some("0199a213-81c0-7800-8aa1-bbab2a035a53".into()),
                cost_usd: None,
                input_tokens: Some(24763),
                cached_input_tokens: Some(24448),
                output_tokens: Some(122),
                model: None,
            }
        );
    }

    #[test]
    fn codex_failures() {
        let failed = r#"{"type":"thread.started","thread_id":"t-1"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Starting."}}
{"type":"error","message":"stream disconnected before completion: Transport error: error decoding response body"}
{"type":"turn.failed","error":{"message":"stream disconnected before completion: Transport error: error decoding response body"}}
"#;
        let report = parse(OutputParser::CodexJsonl, failed);
        assert_eq!(report.success, Some(false));
        assert_eq!(
            report.message.as_deref(),
            Some("stream disconnected before completion: Transport error: error decoding response body")
        );
        assert_eq!(report.session_id.as_deref(), Some("t-1"));
        assert_eq!(report.input_tokens, None);

        // An error with nothing after it is a failure too.
        let report = parse(
            OutputParser::CodexJsonl,
            "{\"type\":\"thread.started\",\"thread_id\":\"t-2\"}\n{\"type\":\"error\",\"message\":\"unexpected status 401 Unauthorized\"}\n",
        );
        assert_eq!(report.success, Some(false));
        assert_eq!(
            report.message.as_deref(),
            Some("unexpected status 401 Unauthorized")
        );
    }

    /// Printed by the real codex-cli 0.169.0 run by vane's `codex` profile with no reachable API,
    /// until vane's timeout: every `error` is a retry, and no turn ever ends.
    const CODEX_NO_NETWORK: &str = r#"{"type":"thread.started","thread_id":"01a212bb-99ac-7431-8401-8e46d870b1ac"}
{"type":"turn.started"}
{"type":"error","message":"Reconnecting... 2/5 (stream disconnected before completion: failed to lookup address information: Name does not resolve)"}
{"type":"error","message":"Reconnecting... 5/5 (stream disconnected before completion: failed to lookup address information: Name does not resolve)"}
{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Falling back from WebSockets to HTTPS transport. stream disconnected before completion: failed to lookup address information: Name does not resolve"}}
{"type":"error","message":"Reconnecting... waiting for network (Connection failed: error sending request)"}
"#;

    #[test]
    fn codex_that_never_finished() {
        let report = parse(OutputParser::CodexJsonl, CODEX_NO_NETWORK);
        assert_eq!(report.success, Some(false));
        assert_eq!(
            report.message.as_deref(),
            Some("Reconnecting... waiting for network (Connection failed: error sending request)")
        );
        assert_eq!(
            report.session_id.as_deref(),
            Some("01a212bb-99ac-7431-8401-8e46d870b1ac")
        );
        assert_eq!(report.input_tokens, None);
    }

    #[test]
    fn codex_retried_errors_and_several_turns() {
        let text = r#"{"type":"thread.started","thread_id":"t-3"}
{"type":"turn.started"}
{"type":"error","message":"Reconnecting... 1/5"}
{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"First."}}
{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":0,"output_tokens":10}}
not json at all
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Second."}}
{"type":"turn.completed","usage":{"input_tokens":50,"cached_input_tokens":40,"output_tokens":5}}
"#;
        let report = parse(OutputParser::CodexJsonl, text);
        assert_eq!(report.success, Some(true));
        assert_eq!(report.message.as_deref(), Some("Second."));
        assert_eq!(report.input_tokens, Some(150));
        assert_eq!(report.output_tokens, Some(15));
    }

    /// As printed by `gemini -p ... --output-format json`: pretty-printed, after any other output.
    const GEMINI_SUCCESS: &str = r#"Loaded cached credentials.
{
  "session_id": "c0a5f3e2-6d1b-4a8e-9f27-3b5d8e1c4a90",
  "response": "I updated `src/lib.rs` so that `parse` handles empty input, and the tests pass.",
  "stats": {
    "models": {
      "gemini-2.5-pro": {
        "api": {
          "totalRequests": 3,
          "totalErrors": 0,
          "totalLatencyMs": 8412
        },
        "tokens": {
          "input": 13745,
          "prompt": 24401,
          "candidates": 215,
          "total": 24719,
          "cached": 10656,
          "thoughts": 103,
          "tool": 0
        },
        "roles": {}
      },
      "gemini-2.5-flash": {
        "api": {
          "totalRequests": 1,
          "totalErrors": 0,
          "totalLatencyMs": 912
        },
        "tokens": {
          "input": 803,
          "prompt": 803,
          "candidates": 16,
          "total": 857,
          "cached": 0,
          "thoughts": 38,
          "tool": 0
        },
        "roles": {}
      }
    },
    "tools": {
      "totalCalls": 2,
      "totalSuccess": 2,
      "totalFail": 0,
      "totalDurationMs": 131,
      "totalDecisions": {
        "accept": 0,
        "reject": 0,
        "modify": 0,
        "auto_accept": 2
      },
      "byName": {
        "replace": {
          "count": 1,
          "success": 1,
          "fail": 0,
          "durationMs": 12,
          "decisions": {
            "accept": 0,
            "reject": 0,
            "modify": 0,
            "auto_accept": 1
          }
        }
      }
    },
    "files": {
      "totalLinesAdded": 4,
      "totalLinesRemoved": 1
    }
  }
}
"#;

    #[test]
    fn gemini_success() {
        let report = parse(OutputParser::GeminiJson, GEMINI_SUCCESS);
        assert_eq!(
            report,
            AgentReport {
                success: Some(true),
                message: Some(
                    "I updated `src/lib.rs` so that `parse` handles empty input, and the tests pass."
                        .into()
                ),
                session_id: Some("c0a5f3e2-6d1b-4a8e-9f27-3b5d8e1c4a90".into()),
                cost_usd: None,
                input_tokens: Some(24401 + 803),
                cached_input_tokens: Some(10656),
                output_tokens: Some(215 + 16),
                model: Some("gemini-2.5-pro".into()),
            }
        );
    }

    /// Printed on stderr (not stdout) by the real Gemini CLI 0.61.0 run by vane's `gemini` profile,
    /// exit code 41.
    const GEMINI_AUTH_ERROR: &str = r#"Warning: 256-color support not detected. Using a terminal with at least 256-color support is recommended for a better visual experience.
{
  "session_id": "ab33c151-2fac-4fc2-9ef2-082208070b57",
  "error": {
    "type": "Error",
    "message": "Invalid auth method selected.",
    "code": 41
  }
}
"#;

    #[test]
    fn gemini_errors() {
        let report = parse(OutputParser::GeminiJson, GEMINI_AUTH_ERROR);
        assert_eq!(report.success, Some(false));
        assert_eq!(
            report.message.as_deref(),
            Some("Invalid auth method selected.")
        );
        assert_eq!(
            report.session_id.as_deref(),
            Some("ab33c151-2fac-4fc2-9ef2-082208070b57")
        );
        assert_eq!(report.input_tokens, None);

        let partial = r#"{"response": "Partial answer", "stats": {"models": {}}, "error": {"type": "ApiError", "message": "Rate limit exceeded", "code": 429}}"#;
        let report = parse(OutputParser::GeminiJson, partial);
        assert_eq!(report.success, Some(false));
        assert_eq!(report.message.as_deref(), Some("Rate limit exceeded"));
        assert_eq!(report.input_tokens, None);
    }

    #[test]
    fn text_takes_the_last_non_empty_line() {
        let report = parse(
            OutputParser::Text,
            "Applied edit to src/lib.rs\nCommit 3f2a1b9 fix: handle empty input\n  \n\n",
        );
        assert_eq!(
            report,
            AgentReport {
                message: Some("Commit 3f2a1b9 fix: handle empty input".into()),
                ..AgentReport::default()
            }
        );
        let long = format!("{}\n", "é".repeat(800));
        let message = parse(OutputParser::Text, &long).message.unwrap();
        assert_eq!(message.chars().count(), 500);
        assert_eq!(parse(OutputParser::Text, " \n\n"), AgentReport::default());
    }

    #[test]
    fn junk_gives_an_empty_report() {
        let junks = [
            "",
            "\n\n",
            "Error: not logged in",
            "{",
            "{\"type\":\"result\"",
            "[1,2,3]",
            "{\"unrelated\": true}",
            "null",
            "\u{0}\u{1}binary\u{fffd}",
        ];
        for parser in [
            OutputParser::ClaudeJson,
            OutputParser::CodexJsonl,
            OutputParser::GeminiJson,
        ] {
            for junk in junks {
                assert_eq!(
                    parse(parser, junk),
                    AgentReport::default(),
                    "{parser} on {junk:?}"
                );
            }
        }
    }

    #[test]
    fn parse_run_falls_back_to_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        std::fs::write(&out, "").unwrap();
        std::fs::write(&err, GEMINI_AUTH_ERROR).unwrap();
        let report = parse_run(OutputParser::GeminiJson, &out, &err);
        assert_eq!(
            report.message.as_deref(),
            Some("Invalid auth method selected.")
        );

        // What stdout says wins.
        std::fs::write(&out, GEMINI_SUCCESS).unwrap();
        assert_eq!(
            parse_run(OutputParser::GeminiJson, &out, &err).success,
            Some(true)
        );

        std::fs::write(&out, "").unwrap();
        std::fs::write(&err, "error[E0425]: cannot find value `x`\n").unwrap();
        assert_eq!(
            parse_run(OutputParser::Text, &out, &err).message.as_deref(),
            Some("error[E0425]: cannot find value `x`")
        );
    }

    #[test]
    fn parse_file_reads_only_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        // 3 MiB of chatter, then the result: only the result is in the last MiB, and the cut line at
        // the start of the tail is dropped rather than parsed.
        let mut text = String::new();
        let line = format!(
            "{{\"type\":\"result\",\"is_error\":true,\"result\":\"{}\"}}\n",
            "x".repeat(1000)
        );
        while text.len() < 3 * 1024 * 1024 {
            text.push_str(&line);
        }
        text.push_str(CLAUDE_SUCCESS);
        std::fs::write(&path, &text).unwrap();
        let report = parse_file(OutputParser::ClaudeJson, &path);
        assert_eq!(report.success, Some(true));
        assert_eq!(
            report.session_id.as_deref(),
            Some("31d1028b-3983-478f-92c1-fe4e3cc9dc37")
        );

        // A result more than a MiB before the end is not read at all.
        let mut text = CLAUDE_SUCCESS.to_string();
        while text.len() < 2 * 1024 * 1024 {
            text.push_str("progress: still working\n");
        }
        std::fs::write(&path, &text).unwrap();
        assert_eq!(
            parse_file(OutputParser::ClaudeJson, &path),
            AgentReport::default()
        );

        let tail = read_tail(&path, TAIL_BYTES).unwrap();
        assert!(tail.len() <= TAIL_BYTES as usize);
        // The cut line at the start is dropped: the tail starts with a whole line.
        assert!(
            tail.starts_with("progress: still working\n"),
            "{}",
            &tail[..40]
        );

        std::fs::write(&path, "short\n").unwrap();
        assert_eq!(read_tail(&path, TAIL_BYTES).unwrap(), "short\n");

        assert_eq!(
            parse_file(OutputParser::Text, &dir.path().join("missing")),
            AgentReport::default()
        );
    }
}
