//! The built-in `claude` profile end to end: the real Claude Code CLI (npm `@anthropic-ai/claude-code`)
//! runs in vane's worktrees and talks to a scripted stand-in for the Anthropic Messages API on
//! loopback (`tests/fixtures/fake-anthropic-api.py`, part of the repository, so a clone runs it).
//! Only the model's choices are scripted: the CLI's flags, its tools writing the files, its JSON
//! result and vane's reading of it are all real.
//!
//! The CLI is looked for at `$VANE_CLAUDE_BIN`, else at `.tools/claude/node_modules/.bin/claude`
//! (`npm install --prefix .tools/claude @anthropic-ai/claude-code`, which `.ci/run` does). Without it
//! the test says so and passes, except under CI (`CI` set), where it must run.

use std::path::Path;

use crate::common::TestEnv;
use crate::real_cli::{claude_agent_config, path_with, scenarios, FakeApi, CLAUDE};

/// One task and what the scripted model does for it: write one file with the Write tool, commit it
/// with the Bash tool if `commit` is set, then say it is done.
struct Scripted {
    id: &'static str,
    file: &'static str,
    content: &'static str,
    commit: Option<&'static str>,
}

impl Scripted {
    fn turns(&self) -> Vec<serde_json::Value> {
        let mut turns = vec![serde_json::json!({
            "tool": "Write",
            "input": {"file_path": format!("{{cwd}}/{}", self.file), "content": self.content}
        })];
        if let Some(subject) = self.commit {
            turns.push(serde_json::json!({
                "tool": "Bash",
                "input": {"command": format!("git add {} && git commit -q -m '{subject}'", self.file)}
            }));
        }
        turns.push(serde_json::json!({"text": self.answer()}));
        turns
    }

    fn answer(&self) -> String {
        format!("Wrote {}.", self.file)
    }
}

fn script(tasks: &[Scripted]) -> serde_json::Value {
    scenarios(
        tasks
            .iter()
            // vane's prompt starts with `# Task <id>: <title>`.
            .map(|t| (format!("# Task {}: ", t.id), serde_json::json!(t.turns())))
            .collect(),
    )
}

struct AttemptRow {
    task: String,
    outcome: Option<String>,
    session_id: Option<String>,
    cost_usd: Option<f64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    message: Option<String>,
}

fn attempts(env: &TestEnv) -> Vec<AttemptRow> {
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT task_id, outcome, session_id, cost_usd, input_tokens, output_tokens, message
             FROM attempts ORDER BY task_id, number",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(AttemptRow {
            task: r.get(0)?,
            outcome: r.get(1)?,
            session_id: r.get(2)?,
            cost_usd: r.get(3)?,
            input_tokens: r.get(4)?,
            output_tokens: r.get(5)?,
            message: r.get(6)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A PATH whose first directory holds only `claude`, the real CLI.
fn path_with_claude(env: &TestEnv, cli: &Path) -> std::ffi::OsString {
    path_with(env, &[(&CLAUDE, cli)])
}

#[test]
fn a_claude_critic_gate_scores_a_change_with_the_real_claude_code_cli() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with_claude(&env, &cli);
    // The critic's prompt starts with `# Review`; the scripted model answers in prose around the
    // verdict, as a model would.
    let verdict = "The change does what the task asks.\n\n\
        {\"score\": 0.92, \"issues\": [], \"suggestions\": [\"say why in the file\"]}";
    let api = FakeApi::serving(
        &env,
        &server,
        &scenarios(vec![(
            "# Review".to_string(),
            serde_json::json!([{ "text": verdict }]),
        )]),
    );
    env.write(
        "vane.toml",
        &format!(
            "workers = 1\nmax_attempts = 1\n\n{}\n[[gate]]\nname = \"review\"\nagent = \"claude\"\n\
             dimension = \"code_elegance\"\n",
            claude_agent_config(api.port)
        ),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    env.vane(&[
        "task",
        "add",
        "Greet",
        "--id",
        "greet",
        "--run",
        "echo 'hello, critic' > greet.txt",
    ])
    .success();
    let output = env
        .vane_command(&["work"])
        .env("PATH", &path)
        .output()
        .expect("run vane work");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = std::fs::read_to_string(env.state_dir().join("runs/greet/1/gate-review.log"))
        .unwrap_or_default();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stderr}\ncritic output:\n{log}"
    );
    let task = env
        .vane(&["task", "show", "greet", "--json"])
        .success()
        .json();
    assert_eq!(task["status"], "done");
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let (score, details): (f64, String) = conn
        .query_row(
            "SELECT score, details FROM quality_metrics WHERE gate = 'review'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(score, 0.92);
    assert!(details.contains("say why in the file"), "{details}");
    // The critic was shown the diff, and ran read-only.
    let requests = api.requests();
    let review = requests
        .iter()
        .find(|r| r["prompt"].as_str().is_some_and(|p| p.contains("# Review")))
        .unwrap_or_else(|| panic!("no review request in {requests:#?}"));
    let prompt = review["prompt"].as_str().unwrap();
    assert!(prompt.contains("+hello, critic"), "{prompt}");
    let asked = std::fs::read_to_string(env.state_dir().join("runs/greet/1/gate-review.prompt.md"))
        .unwrap();
    assert!(asked.contains("Do not edit any file"), "{asked}");
}

#[test]
fn the_claude_profile_lands_two_tasks_with_the_real_claude_code_cli() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with_claude(&env, &cli);

    // One leaves its file for vane to commit; the other commits it itself, through the Bash tool
    // that the profile allows.
    let tasks = [
        Scripted {
            id: "hello",
            file: "hello.txt",
            content: "hello from claude\n",
            commit: None,
        },
        Scripted {
            id: "world",
            file: "world.txt",
            content: "world from claude\n",
            commit: Some("Add world.txt"),
        },
    ];
    let api = FakeApi::serving(&env, &server, &script(&tasks));

    // Only the environment is configured: the command line is the built-in profile's. One attempt
    // each, so that a failure shows its own reason rather than a retry's.
    env.write(
        "vane.toml",
        &format!(
            "workers = 2\nmax_attempts = 1\n\n{}",
            claude_agent_config(api.port)
        ),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    for t in &tasks {
        let title = format!("Write {}", t.file);
        env.vane(&["task", "add", &title, "--id", t.id, "--agent", "claude"])
            .success();
    }

    let started = std::time::Instant::now();
    let output = env
        .vane_command(&["work"])
        .env("PATH", &path)
        .output()
        .expect("run vane work");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let agent_output = |id: &str, name: &str| {
        std::fs::read_to_string(env.state_dir().join(format!("runs/{id}/1/{name}")))
            .unwrap_or_else(|e| format!("({e})"))
    };
    let diagnosis = || {
        let mut text = format!("vane work stderr:\n{stderr}\n");
        for t in &tasks {
            for name in ["agent.stdout", "agent.stderr"] {
                text.push_str(&format!("{} {name}:\n{}\n", t.id, agent_output(t.id, name)));
            }
        }
        text
    };
    assert_eq!(output.status.code(), Some(0), "{}", diagnosis());
    assert!(stderr.contains("2 landed, 0 blocked"), "{}", diagnosis());
    eprintln!("vane work with the real Claude Code CLI took {elapsed:.1?}");

    let landings = env.git(
        &env.repo,
        &[
            "log",
            "--first-parent",
            "--format=%(trailers:key=Vane-Task,valueonly)",
            "main",
        ],
    );
    for t in &tasks {
        let task = env.vane(&["task", "show", t.id, "--json"]).success().json();
        assert_eq!(task["status"], "done", "{task}");
        // What Claude's Write tool made in the worktree is on base, and in the person's checkout.
        let on_base = env.git(&env.repo, &["show", &format!("main:{}", t.file)]);
        assert_eq!(on_base, t.content);
        let checkout = std::fs::read_to_string(env.repo.join(t.file)).unwrap();
        assert_eq!(checkout, t.content);
        assert_eq!(
            landings.lines().filter(|l| l.trim() == t.id).count(),
            1,
            "{} landed once with a Vane-Task trailer:\n{landings}",
            t.id
        );
    }
    let subjects = env.git(&env.repo, &["log", "--format=%s", "main"]);
    assert!(
        subjects.lines().any(|s| s == "Add world.txt"),
        "the commit Claude made is kept:\n{subjects}"
    );
    assert_eq!(env.git(&env.repo, &["status", "--porcelain"]), "");

    // vane's prompt reached the model, which was asked again after each tool call ran.
    let requests = api.requests();
    for t in &tasks {
        let header = format!("# Task {}: ", t.id);
        let turns: Vec<u64> = requests
            .iter()
            .filter(|r| r["prompt"].as_str().is_some_and(|p| p.contains(&header)))
            .filter_map(|r| r["turn"].as_u64())
            .collect();
        let every = (0..t.turns().len() as u64).collect::<Vec<_>>();
        assert!(
            every.iter().all(|n| turns.contains(n)),
            "{}: turns {turns:?} in the request log, not all of {every:?}:\n{requests:#?}",
            t.id
        );
    }

    // Each attempt recorded what Claude's JSON result said.
    let rows = attempts(&env);
    assert_eq!(rows.len(), 2);
    for (row, t) in rows.iter().zip(&tasks) {
        assert_eq!(row.task, t.id);
        assert_eq!(row.outcome.as_deref(), Some("landed"));
        assert_eq!(row.message.as_deref(), Some(t.answer().as_str()));
        let session = row.session_id.as_deref().expect("a session id");
        assert_eq!(session.len(), 36, "a UUID: {session}");
        let stdout = agent_output(t.id, "agent.stdout");
        let result: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("Claude's stdout is not one JSON result ({e}):\n{stdout}"));
        assert_eq!(result["session_id"], session);
        assert!(row.cost_usd.is_some(), "a cost");
        assert_eq!(row.cost_usd, result["total_cost_usd"].as_f64());
        assert!(row.input_tokens.is_some_and(|t| t > 0), "input tokens");
        assert!(row.output_tokens.is_some_and(|t| t > 0), "output tokens");
        // Nothing the scripted model asked for, the Bash commit included, was refused.
        assert_eq!(
            result["permission_denials"],
            serde_json::json!([]),
            "{result}"
        );
    }
}

/// Claude Code's hooks, as vane wires them: every tool call becomes an event of the attempt, and a
/// Stop while the worktree holds changes that the fast checks reject is held back once.
#[test]
fn claude_code_hooks_record_tool_calls_and_hold_back_a_premature_stop() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with_claude(&env, &cli);
    // Write a draft, stop; told the check fails, write the final text, stop again.
    let turns = serde_json::json!([
        {"tool": "Write", "input": {"file_path": "{cwd}/notes.txt", "content": "draft\n"}},
        {"text": "Done."},
        {"tool": "Write", "input": {"file_path": "{cwd}/notes.txt", "content": "final\n"}},
        {"text": "Done, with the final text."},
    ]);
    let api = FakeApi::serving(
        &env,
        &server,
        &scenarios(vec![("# Task notes: ".to_string(), turns)]),
    );
    env.write(
        "vane.toml",
        &format!(
            "workers = 1\nmax_attempts = 1\n\n{}\n[[gate]]\nname = \"final\"\n\
             command = \"grep -q final notes.txt\"\nfast = true\n",
            claude_agent_config(api.port)
        ),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    env.vane(&[
        "task",
        "add",
        "Write the notes",
        "--id",
        "notes",
        "--agent",
        "claude",
    ])
    .success();
    let output = env
        .vane_command(&["work"])
        .env("PATH", &path)
        .output()
        .expect("run vane work");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let agent = std::fs::read_to_string(env.state_dir().join("runs/notes/1/agent.stdout"))
        .unwrap_or_default();
    assert_eq!(output.status.code(), Some(0), "{stderr}\nagent:\n{agent}");
    assert_eq!(
        env.git(&env.repo, &["show", "main:notes.txt"]),
        "final\n",
        "what landed is what passed the check"
    );

    let events = env
        .vane(&["events", "--task", "notes", "--limit", "0", "--json"])
        .success()
        .json();
    let of_kind = |kind: &str| -> Vec<serde_json::Value> {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind)
            .cloned()
            .collect()
    };
    let tools = of_kind("agent_tool");
    let writes: Vec<_> = tools
        .iter()
        .filter(|e| e["data"]["tool"] == "Write")
        .collect();
    assert_eq!(writes.len(), 2, "{tools:#?}");
    for write in &writes {
        assert!(
            write["data"]["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("notes.txt")),
            "{write}"
        );
        assert_eq!(write["data"]["outcome"], "ok");
        assert_eq!(write["data"]["attempt"], 1);
    }
    let held = of_kind("agent_stop_held");
    assert_eq!(held.len(), 1, "held back exactly once: {held:#?}");
    assert!(held[0]["data"]["reason"]
        .as_str()
        .unwrap()
        .contains("gate `final`"));
    // After the held-back stop, the model was asked again (its third turn wrote the final text).
    let requests = api.requests();
    let turns: Vec<u64> = requests.iter().filter_map(|r| r["turn"].as_u64()).collect();
    assert_eq!(turns, vec![0, 1, 2, 3], "{requests:#?}");
}
