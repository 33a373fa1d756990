//! `vane mcp` as real MCP clients meet it. The official Python SDK (`mcp` on PyPI, the version
//! `.ci/run` installs in `.tools/mcp-venv`) drives it through tests/fixtures/mcp-client.py, in
//! both ways a session starts: the `initialize` handshake of the 2025 revisions, and the
//! 2026-07-28 revision's `server/discover`. And Claude Code and Codex take the configuration
//! `vane mcp config` prints.
//!
//! Other tools join the server over time; a test that needs one checks it only when `tools/list`
//! shows it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::common::TestEnv;
use crate::real_cli::{path_with, CLAUDE, CODEX};

/// The ways the client starts a session, and the protocol version each must agree on.
const ERAS: [(&str, &str); 2] = [("handshake", "2025-11-25"), ("discover", "2026-07-28")];

/// The Python that has the SDK: `$VANE_MCP_PYTHON`, else `.tools/mcp-venv/bin/python`; None
/// (after saying why) when it is missing outside CI. Under CI (`CI` set) a missing one fails.
fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VANE_MCP_PYTHON") {
        // Asked for by name: a wrong path is a mistake to report, not a reason to skip.
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "VANE_MCP_PYTHON is {}, which is not a file",
            path.display()
        );
        return Some(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/mcp-venv/bin/python");
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "the MCP Python SDK's venv is not at {} (create it with `python3 -m venv .tools/mcp-venv \
         && .tools/mcp-venv/bin/pip install mcp==2.3.0`, or point VANE_MCP_PYTHON at a python \
         that has `mcp`)",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("CI must run the MCP SDK tests: {why}");
    }
    eprintln!("note: skipping an MCP Python SDK test: {why}");
    None
}

/// What the client saw in one session.
struct Session {
    connected: Value,
    tools: Vec<(String, Value)>,
    results: Vec<Value>,
}

impl Session {
    fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn has(&self, tool: &str) -> bool {
        self.tools.iter().any(|(name, _)| name == tool)
    }

    fn schema(&self, tool: &str) -> &Value {
        &self
            .tools
            .iter()
            .find(|(name, _)| name == tool)
            .unwrap_or_else(|| panic!("no tool `{tool}` in {:?}", self.names()))
            .1
    }
}

fn call(tool: &str, arguments: Value) -> Value {
    json!({"tool": tool, "arguments": arguments})
}

/// Starts `vane mcp` in the repository from the SDK's client, in the sealed environment, and makes
/// `calls` in one session.
fn session(env: &TestEnv, python: &Path, era: &str, calls: &[Value]) -> Session {
    let script = env.root.join(format!("mcp-calls-{era}.json"));
    std::fs::write(&script, Value::from(calls.to_vec()).to_string()).unwrap();
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mcp-client.py");
    // The server gets the client's environment: the one every vane of these tests runs in.
    let sealed = env.vane_command(&[]);
    let mut command = Command::new(python);
    command.env_clear();
    for (key, value) in sealed.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let output = command
        .current_dir(&env.root)
        .arg(&client)
        .args(["--era", era])
        .arg(env!("CARGO_BIN_EXE_vane"))
        .arg(&env.repo)
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the MCP client failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = stdout.lines().map(|line| {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("the client prints JSON lines ({e}): {line:?}"))
    });
    let connected = lines.next().expect("the client says how it connected")["connected"].clone();
    let mut tools = Vec::new();
    let mut results = Vec::new();
    for line in lines {
        match line["listed"].as_str() {
            Some(name) => tools.push((name.to_string(), line["inputSchema"].clone())),
            None => results.push(line),
        }
    }
    assert_eq!(
        results.len(),
        calls.len(),
        "one result per call: {results:#?}"
    );
    Session {
        connected,
        tools,
        results,
    }
}

#[track_caller]
fn assert_tool_error(result: &Value, says: &str) {
    assert_eq!(result["isError"], true, "a tool error: {result}");
    let text = result["text"].as_str().unwrap_or_default();
    assert!(text.contains(says), "{says:?} in {result}");
}

#[track_caller]
fn assert_protocol_error(result: &Value) {
    assert_eq!(
        result["protocol_error"]["code"], -32602,
        "invalid params: {result}"
    );
    assert!(
        !result["protocol_error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "a protocol error says why: {result}"
    );
}

#[test]
fn the_python_sdk_connects_in_both_eras_and_every_tool_it_lists_has_an_object_schema() {
    let Some(python) = python() else { return };
    let env = TestEnv::initialised();
    for (era, version) in ERAS {
        let session = session(&env, &python, era, &[]);
        assert_eq!(session.connected["protocolVersion"], version, "{era}");
        assert_eq!(session.connected["serverInfo"]["name"], "vane", "{era}");
        let names = session.names();
        for wanted in ["status", "task_list", "task_show", "task_add"] {
            assert!(names.contains(&wanted), "{era}: {names:?}");
        }
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{era}: names repeat: {names:?}");
        for (name, schema) in &session.tools {
            assert_eq!(schema["type"], "object", "{era}: {name}: {schema}");
            let properties = schema
                .get("properties")
                .map(|p| p.as_object().expect("`properties` is an object"));
            for required in schema["required"].as_array().into_iter().flatten() {
                let required = required.as_str().expect("`required` lists names");
                assert!(
                    properties.is_some_and(|p| p.contains_key(required)),
                    "{era}: {name} requires `{required}`, which it does not describe: {schema}"
                );
            }
        }
    }
}

#[test]
fn a_task_the_python_sdk_adds_is_in_the_list_it_reads_next() {
    let Some(python) = python() else { return };
    let env = TestEnv::initialised();
    for (era, _) in ERAS {
        let id = format!("docs-{era}");
        let session = session(
            &env,
            &python,
            era,
            &[
                call("task_add", json!({"title": "Write the docs", "id": id})),
                call("task_list", json!({})),
            ],
        );
        let added = &session.results[0];
        assert_eq!(added["isError"], false, "{era}: {added}");
        assert_eq!(added["structuredContent"]["id"], id.as_str(), "{era}");
        let listed = &session.results[1];
        let ids: Vec<&str> = listed["structuredContent"]["tasks"]
            .as_array()
            .unwrap_or_else(|| panic!("{era}: {listed}"))
            .iter()
            .filter_map(|t| t["id"].as_str())
            .collect();
        assert!(ids.contains(&id.as_str()), "{era}: {ids:?}");
    }
    // The command line reads what the SDK wrote, through the same store.
    let listed = env.vane(&["task", "list", "--json"]).success().json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
}

#[test]
fn an_unknown_task_is_a_tool_error_the_python_sdk_reads() {
    let Some(python) = python() else { return };
    let env = TestEnv::initialised();
    for (era, _) in ERAS {
        let session = session(
            &env,
            &python,
            era,
            &[call("task_show", json!({"id": "T9"}))],
        );
        assert_tool_error(&session.results[0], "task `T9` does not exist");
    }
}

#[test]
fn an_unknown_tool_is_a_protocol_error_for_the_python_sdk_and_the_session_goes_on() {
    let Some(python) = python() else { return };
    let env = TestEnv::initialised();
    for (era, _) in ERAS {
        let session = session(
            &env,
            &python,
            era,
            &[call("task_destroy", json!({})), call("status", json!({}))],
        );
        assert_protocol_error(&session.results[0]);
        assert_eq!(
            session.results[1]["isError"], false,
            "{era}: {:?}",
            session.results
        );
    }
}

#[test]
fn arguments_of_the_wrong_type_are_a_protocol_error_for_the_python_sdk() {
    let Some(python) = python() else { return };
    let env = TestEnv::initialised();
    for (era, _) in ERAS {
        let session = session(
            &env,
            &python,
            era,
            &[
                call("task_list", json!({"ready": "yes"})),
                call("task_show", json!({"id": 7})),
                call("task_add", json!({"title": "Docs", "complexity": "high"})),
                call("task_add", json!({"title": "Docs", "deps": "T1"})),
                call("task_show", json!({})),
                call("status", json!({"verbose": true})),
            ],
        );
        for result in &session.results {
            assert_protocol_error(result);
        }
    }
    // Nothing a refused call carried was written.
    let listed = env.vane(&["task", "list", "--json"]).success().json();
    assert_eq!(listed, json!([]));
}

/// A task of a plan that waits for another.
fn cyclic_plan_task(id: &str, waits_for: &str) -> Value {
    json!({
        "id": id, "title": format!("Task {id}"), "description": "", "type": "task",
        "complexity": 2, "deps": [{"id": waits_for, "kind": "blocks"}], "paths": [],
        "agent": null, "rationale": null,
    })
}

#[test]
fn the_file_and_plan_tools_refuse_a_path_out_of_the_repository_and_a_cycle() {
    let Some(python) = python() else { return };
    let env = TestEnv::initialised();
    let listing = session(&env, &python, "handshake", &[]);
    let mut calls = Vec::new();
    let mut checks: Vec<(&str, &str)> = Vec::new();
    if listing.has("file_read") {
        let schema = listing.schema("file_read");
        assert!(schema["properties"]["path"].is_object(), "{schema}");
        for path in ["../etc/passwd", "/etc/passwd"] {
            calls.push(call("file_read", json!({"path": path})));
            checks.push(("file_read", path));
        }
    }
    if listing.has("plan_submit") {
        calls.push(call(
            "task_add",
            json!({"title": "Authentication", "id": "auth", "type": "epic"}),
        ));
        checks.push(("task_add", "the epic"));
        // An epic and a plan in the form `vane plan --schema` gives, its tasks waiting for each
        // other.
        let plan = json!({
            "rationale": "a and b wait for each other",
            "tasks": [cyclic_plan_task("a", "b"), cyclic_plan_task("b", "a")],
        });
        let arguments = json!({"epic": "auth", "plan": plan});
        let schema = listing.schema("plan_submit");
        for key in ["epic", "plan"] {
            assert!(schema["properties"][key].is_object(), "{key}: {schema}");
        }
        calls.push(call("plan_submit", arguments));
        checks.push(("plan_submit", "a cycle"));
    }
    if calls.is_empty() {
        eprintln!("note: neither file_read nor plan_submit is served yet; nothing to check");
        return;
    }
    let session = session(&env, &python, "handshake", &calls);
    for (result, (tool, what)) in session.results.iter().zip(&checks) {
        match *tool {
            "file_read" => {
                assert_eq!(result["isError"], true, "{what} is refused: {result}");
                assert!(
                    !result["text"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("root:"),
                    "{what} is not read: {result}"
                );
            }
            "plan_submit" => assert_tool_error(result, "circle"),
            _ => assert_eq!(result["isError"], false, "{what}: {result}"),
        }
    }
    if listing.has("plan_submit") {
        // The refused plan wrote nothing: the epic is all there is.
        let listed = env.vane(&["task", "list", "--json"]).success().json();
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    }
}

/// A real CLI's command in the sealed environment, its PATH holding the CLI and nothing of the
/// tester's home.
fn real_cli_command(env: &TestEnv, path: &std::ffi::OsStr, program: &str) -> Command {
    let sealed = env.vane_command(&[]);
    let mut command = Command::new(program);
    command.env_clear();
    for (key, value) in sealed.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    command
        .env("PATH", path)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1");
    command
}

#[track_caller]
fn run_ok(command: &mut Command) -> String {
    let output = command.output().expect("the real CLI starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn claude_code_connects_to_vane_as_vane_mcp_config_adds_it_in_both_forms() {
    let Some((cli, _)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &cli)]);
    let vane = env!("CARGO_BIN_EXE_vane");

    // The command line, run in the repository as it says.
    let line = env.vane(&["mcp", "config"]).success().stdout;
    assert_eq!(line.trim(), format!("claude mcp add vane -- {vane} mcp"));
    run_ok(
        real_cli_command(&env, &path, "sh")
            .current_dir(&env.repo)
            .args(["-c", line.trim()]),
    );
    let listed = run_ok(
        real_cli_command(&env, &path, "claude")
            .current_dir(&env.repo)
            .args(["mcp", "list"]),
    );
    assert!(
        listed.contains(&format!("vane: {vane} mcp - ✔ Connected")),
        "{listed}"
    );

    // The file, given to Claude Code outside the repository: `-C` takes the server there.
    let file = env
        .vane(&["mcp", "config", "--client", "json"])
        .success()
        .json();
    let server = &file["mcpServers"]["vane"];
    assert_eq!(server["command"], vane, "{file}");
    let outside = env.root.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    run_ok(
        real_cli_command(&env, &path, "claude")
            .current_dir(&outside)
            .args(["mcp", "add-json", "vane", &server.to_string()]),
    );
    let listed = run_ok(
        real_cli_command(&env, &path, "claude")
            .current_dir(&outside)
            .args(["mcp", "list"]),
    );
    assert!(
        listed.contains("vane: ") && listed.contains("✔ Connected"),
        "{listed}"
    );
}

#[test]
fn codex_reads_the_server_table_vane_mcp_config_prints() {
    let Some((cli, _)) = CODEX.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CODEX, &cli)]);
    let table = env
        .vane(&["mcp", "config", "--client", "codex"])
        .success()
        .stdout;
    let codex_home = env.home.join(".codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::write(codex_home.join("config.toml"), &table).unwrap();
    let shown = run_ok(
        real_cli_command(&env, &path, "codex")
            .current_dir(&env.root)
            .args(["mcp", "get", "vane", "--json"]),
    );
    let shown: Value = serde_json::from_str(&shown).unwrap_or_else(|e| panic!("{e}: {shown}"));
    let transport = &shown["transport"];
    assert_eq!(transport["type"], "stdio", "{shown}");
    assert_eq!(transport["command"], env!("CARGO_BIN_EXE_vane"), "{shown}");
    assert_eq!(transport["args"], json!(["mcp"]), "{shown}");
    assert_eq!(transport["cwd"], env.repo.to_str().unwrap(), "{shown}");

    let described = env
        .vane(&["mcp", "config", "--client", "codex", "--json"])
        .success()
        .json();
    assert_eq!(described["config"], table.as_str());
    assert_eq!(described["cwd"], env.repo.to_str().unwrap());
}
