//! The real Codex CLI as vane's coordinator: `[mcp_servers.vane]` in its configuration runs
//! `vane mcp`, the scripted Responses API calls vane's tools by their namespace (`mcp__vane`), and
//! the plan it submits lands through the batch it starts.

use serde_json::{json, Value};

use crate::common::TestEnv;
use crate::real_cli::{path_with, FakeApi, CODEX};

fn planned(id: &str) -> Value {
    json!({"id": id, "title": format!("Write {id}.txt"), "description": "", "type": "task",
           "complexity": 1, "deps": [], "paths": [format!("{id}.txt")], "agent": null,
           "rationale": null})
}

#[test]
fn codex_coordinates_a_batch_through_vane_mcp_and_the_plan_lands() {
    let Some((cli, server)) = CODEX.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CODEX, &cli)]);
    let call = |tool: &str, arguments: Value| json!({"call": tool, "namespace": "mcp__vane", "arguments": arguments});
    let api = FakeApi::serving(
        &env,
        &server,
        &json!({"scenarios": [{"match": "Coordinate", "turns": [
            call("task_list", json!({})),
            call("plan_submit", json!({"epic": {"goal": "Say hi", "id": "hi"},
                                       "plan": {"rationale": null, "tasks": [planned("hi-file")]}})),
            call("work_start", json!({})),
            {"text": "Started."},
        ]}]}),
    );
    env.write(
        "vane.toml",
        "workers = 1\nmax_attempts = 1\ndefault_agent = \"writer\"\n\n\
         [agents.writer]\ncommand = [\"sh\", \"-c\", \"echo hi > \\\"$VANE_TASK_ID.txt\\\"\"]\n",
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    let home = env.home.join(".codex");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "model = \"gpt-5-codex\"\nmodel_provider = \"fake\"\n\n[model_providers.fake]\n\
             name = \"fake\"\nbase_url = \"http://127.0.0.1:{}/v1\"\nwire_api = \"responses\"\n\
             env_key = \"FAKE_OPENAI_KEY\"\n\n[mcp_servers.vane]\ncommand = {:?}\n\
             args = [\"-C\", {:?}, \"mcp\"]\n\
             # vane's tools check every path and confine every command themselves.\n\
             default_tools_approval_mode = \"approve\"\n",
            api.port,
            env!("CARGO_BIN_EXE_vane"),
            env.repo.display().to_string()
        ),
    )
    .unwrap();

    let output = std::process::Command::new(&cli)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", &env.home)
        .env("CODEX_HOME", &home)
        .env("FAKE_OPENAI_KEY", "test")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .current_dir(&env.repo)
        .args([
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--sandbox",
            "read-only",
        ])
        .args(["--", "Coordinate the batch"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run codex");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let requests = api.requests();
    assert!(output.status.success(), "{stdout}\n{requests:#?}");
    // Each tool result, as Codex gave it to the model.
    let outputs: Vec<String> = requests.iter().map(|r| r["outputs"].to_string()).collect();
    assert!(outputs[1].contains("tasks"), "{outputs:#?}");
    assert!(
        outputs[2].contains("hi-file"),
        "the plan was written: {outputs:#?}"
    );
    assert!(outputs[3].contains("pid"), "work started: {outputs:#?}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let task = env
            .vane(&["task", "show", "hi-file", "--json"])
            .success()
            .json();
        if task["status"] == "done" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not landed: {task}\n{stdout}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(env.git(&env.repo, &["show", "main:hi-file.txt"]), "hi\n");
}
