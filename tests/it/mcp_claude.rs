//! The real Claude Code CLI as vane's coordinator: started with `--mcp-config` and
//! `--strict-mcp-config` on `vane mcp`, its model scripted through the scripted Messages API, it
//! reads the graph, submits a plan, starts work, follows it, and the tasks land. The request log
//! shows the tool results the model was given.

use serde_json::{json, Value};

use crate::common::TestEnv;
use crate::real_cli::{claude_agent_config, path_with, FakeApi, CLAUDE};

fn planned(id: &str, deps: &[&str]) -> Value {
    json!({
        "id": id, "title": format!("Write {id}.txt"), "description": "", "type": "task",
        "complexity": 1, "deps": deps.iter().map(|d| json!({"id": d, "kind": "blocks"})).collect::<Vec<_>>(),
        "paths": [format!("{id}.txt")], "agent": null, "rationale": null,
    })
}

#[test]
fn claude_code_coordinates_a_batch_through_vane_mcp_and_the_plan_lands() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &cli)]);
    let plan = json!({"rationale": "Two files, the second after the first.",
                      "tasks": [planned("hello", &[]), planned("world", &["hello"])]});
    let follow = json!({"tool": "mcp__vane__work_status", "input": {}, "delay_ms": 1500});
    let api = FakeApi::serving(
        &env,
        &server,
        &json!({"scenarios": [{"match": "Coordinate", "turns": [
            {"tool": "mcp__vane__task_list", "input": {}},
            {"tool": "mcp__vane__plan_submit", "input": {
                "epic": {"goal": "Greet the world", "id": "greet"}, "plan": plan}},
            {"tool": "mcp__vane__work_start", "input": {}},
            follow.clone(), follow.clone(), follow.clone(), follow,
            {"text": "The batch ran."},
        ]}]}),
    );
    // The tasks are done by a shell command; the coordinator is Claude Code.
    env.write(
        "vane.toml",
        &format!(
            "workers = 2\nmax_attempts = 1\ndefault_agent = \"writer\"\n\n\
             [agents.writer]\ncommand = [\"sh\", \"-c\", \"echo \\\"$VANE_TASK_ID\\\" > \\\"$VANE_TASK_ID.txt\\\"\"]\n\n{}",
            claude_agent_config(api.port)
        ),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    let config = env.root.join("mcp.json");
    std::fs::write(
        &config,
        json!({"mcpServers": {"vane": {"type": "stdio", "command": env!("CARGO_BIN_EXE_vane"),
               "args": ["-C", env.repo.display().to_string(), "mcp"]}}})
        .to_string(),
    )
    .unwrap();

    let output = std::process::Command::new(&cli)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", &env.home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env(
            "ANTHROPIC_BASE_URL",
            format!("http://127.0.0.1:{}", api.port),
        )
        .env("ANTHROPIC_API_KEY", "test")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .current_dir(&env.repo)
        .args(["-p", "Coordinate the batch", "--output-format", "json"])
        .arg("--mcp-config")
        .arg(&config)
        .args(["--strict-mcp-config", "--allowedTools", "mcp__vane__*"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run claude");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let requests = api.requests();
    assert!(output.status.success(), "{stdout}\n{requests:#?}");

    // What the model was given, call by call.
    let results: Vec<String> = requests
        .iter()
        .map(|r| r["tool_results"].to_string())
        .collect();
    assert!(
        results[1].contains("tasks"),
        "the graph was read: {}",
        results[1]
    );
    assert!(
        results[2].contains("greet"),
        "the plan was written: {}",
        results[2]
    );
    assert!(results[3].contains("pid"), "work started: {}", results[3]);
    assert!(
        results.iter().any(|r| r.contains("running")),
        "work_status was followed: {results:#?}"
    );

    // The batch it started runs to its end; both planned tasks land.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let hello = env
            .vane(&["task", "show", "hello", "--json"])
            .success()
            .json();
        let world = env
            .vane(&["task", "show", "world", "--json"])
            .success()
            .json();
        if hello["status"] == "done" && world["status"] == "done" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not landed: {hello}\n{world}\n{requests:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(env.git(&env.repo, &["show", "main:world.txt"]), "world\n");
    let epic = env
        .vane(&["task", "show", "world", "--json"])
        .success()
        .json();
    assert_eq!(epic["parent"], "greet");
}
