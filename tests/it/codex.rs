//! The built-in `codex` profile end to end: the real Codex CLI (npm `@openai/codex`) runs in vane's
//! worktrees, confined as vane confines agents by default, and talks to a scripted stand-in for the
//! OpenAI Responses API on loopback (`tests/fixtures/fake-openai-responses.py`, part of the
//! repository, so a clone runs it). Only the model's choices are scripted: the CLI's flags, its
//! sandboxed shell writing the files, its JSON lines and vane's reading of them are all real.
//!
//! The CLI is looked for at `$VANE_CODEX_BIN`, else at `.tools/codex/node_modules/.bin/codex`
//! (`npm install --prefix .tools/codex @openai/codex`, which `.ci/run` does). Without it the test
//! says so and passes, except under CI (`CI` set), where it must run.

use std::path::Path;

use crate::common::TestEnv;
use crate::real_cli::{path_with, write_codex_config, FakeApi, CODEX};

/// A PATH whose first directory holds only `codex`, the real CLI.
fn path_with_codex(env: &TestEnv, cli: &Path) -> std::ffi::OsString {
    path_with(env, &[(&CODEX, cli)])
}

#[test]
fn the_codex_profile_lands_a_change_with_the_real_codex_cli_confined() {
    let Some((cli, server)) = CODEX.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with_codex(&env, &cli);

    // Codex's tool is its shell: write the file, then look at it; then say it is done.
    let answer = "Wrote hello.txt.";
    let turns = serde_json::json!([
        {"exec": "printf 'hello from codex\\n' > hello.txt"},
        {"exec": "cat hello.txt"},
        {"text": answer},
    ]);
    let api = FakeApi::serving(
        &env,
        &server,
        &serde_json::json!({"scenarios": [
            // vane's prompt starts with `# Task <id>: <title>`.
            {"match": "# Task hello: ", "turns": turns},
            {"match": ".*", "turns": [{"text": "No scenario matched."}]},
        ]}),
    );
    write_codex_config(&env, api.port);

    // The default confinement is kept: no `confine` key in vane.toml. One attempt, so that a
    // failure shows its own reason rather than a retry's.
    env.write(
        "vane.toml",
        "workers = 1\nmax_attempts = 1\n\n[agents.codex]\ntimeout = 300\n\
         env = { FAKE_OPENAI_KEY = \"test\" }\n",
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    env.vane(&[
        "task",
        "add",
        "Write hello.txt",
        "--id",
        "hello",
        "--agent",
        "codex",
    ])
    .success();

    let started = std::time::Instant::now();
    let output = env
        .vane_command(&["work"])
        .env("PATH", &path)
        .output()
        .expect("run vane work");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let agent_output = |name: &str| {
        std::fs::read_to_string(env.state_dir().join(format!("runs/hello/1/{name}")))
            .unwrap_or_else(|e| format!("({e})"))
    };
    let diagnosis = || {
        format!(
            "vane work stderr:\n{stderr}\nagent.stdout:\n{}\nagent.stderr:\n{}\nrequests:\n{:#?}",
            agent_output("agent.stdout"),
            agent_output("agent.stderr"),
            api.requests()
        )
    };
    // Each command's result, as Codex sent it back to the model: a command that Codex's own
    // sandbox could not start (its bubblewrap needs user namespaces and mounts) says so here.
    let requests = api.requests();
    let results: Vec<&str> = requests
        .last()
        .and_then(|r| r["outputs"].as_array())
        .map(|o| o.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(results.len(), 2, "{}", diagnosis());
    for result in &results {
        assert!(
            result.contains("Process exited with code 0"),
            "a command failed in Codex's sandbox:\n{result}\n{}",
            diagnosis()
        );
    }
    assert_eq!(output.status.code(), Some(0), "{}", diagnosis());
    assert!(stderr.contains("1 landed, 0 blocked"), "{}", diagnosis());
    eprintln!("vane work with the real Codex CLI took {elapsed:.1?}");

    // What Codex's shell wrote in the worktree is on base, landed once, and in the checkout.
    let task = env
        .vane(&["task", "show", "hello", "--json"])
        .success()
        .json();
    assert_eq!(task["status"], "done", "{task}");
    assert_eq!(
        env.git(&env.repo, &["show", "main:hello.txt"]),
        "hello from codex\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.repo.join("hello.txt")).unwrap(),
        "hello from codex\n"
    );
    let landings = env.git(
        &env.repo,
        &[
            "log",
            "--first-parent",
            "--format=%(trailers:key=Vane-Task,valueonly)",
            "main",
        ],
    );
    assert_eq!(
        landings.lines().filter(|l| l.trim() == "hello").count(),
        1,
        "landed once with a Vane-Task trailer:\n{landings}"
    );
    assert_eq!(env.git(&env.repo, &["status", "--porcelain"]), "");

    // vane's prompt reached the model, which was asked again after each command ran.
    let asked: Vec<u64> = requests
        .iter()
        .filter(|r| {
            r["prompt"]
                .as_str()
                .is_some_and(|p| p.contains("# Task hello: "))
        })
        .filter_map(|r| r["turn"].as_u64())
        .collect();
    assert_eq!(asked, [0, 1, 2], "{requests:#?}");

    // Both commands ran, inside Codex's sandbox inside vane's confinement, and succeeded.
    let stdout = agent_output("agent.stdout");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let commands: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .map(|e| &e["item"])
        .collect();
    assert_eq!(commands.len(), 2, "{stdout}");
    for command in &commands {
        assert_eq!(command["exit_code"], 0, "{command}");
    }
    assert_eq!(commands[1]["aggregated_output"], "hello from codex\n");

    // The attempt recorded what Codex's JSON lines said.
    let thread = events
        .iter()
        .find(|e| e["type"] == "thread.started")
        .and_then(|e| e["thread_id"].as_str())
        .unwrap_or_else(|| panic!("no thread.started in Codex's output:\n{stdout}"));
    let usage = &events
        .iter()
        .find(|e| e["type"] == "turn.completed")
        .unwrap_or_else(|| panic!("no turn.completed in Codex's output:\n{stdout}"))["usage"];
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let attempts: i64 = conn
        .query_row("SELECT count(*) FROM attempts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(attempts, 1, "one attempt");
    let (task_id, outcome, session, message): (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = conn
        .query_row(
            "SELECT task_id, outcome, session_id, message FROM attempts",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let (cost, input, output_tokens): (Option<f64>, Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT cost_usd, input_tokens, output_tokens FROM attempts",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(task_id, "hello");
    assert_eq!(outcome.as_deref(), Some("landed"));
    assert_eq!(message.as_deref(), Some(answer));
    assert_eq!(session.as_deref(), Some(thread));
    assert_eq!(thread.len(), 36, "a UUID: {thread}");
    // The fake reports 100 input and 20 output tokens for each of the three requests; Codex sums
    // them for the turn, and reports no cost.
    assert_eq!(input, usage["input_tokens"].as_i64());
    assert_eq!(output_tokens, usage["output_tokens"].as_i64());
    assert_eq!(input, Some(300));
    assert_eq!(output_tokens, Some(60));
    assert_eq!(cost, None);
}
