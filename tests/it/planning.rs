//! Planning end to end with the real agent CLIs against scripted model APIs (see `real_cli`):
//! `vane plan` turning a goal into a graph that lands, a refused answer sent back in the same
//! session, two refused answers that write nothing, answers found through junk and after a
//! truncated try, the roadmap extending itself during `vane work`, and routing that sends the
//! tasks of one batch to two different CLIs. Only the models' choices are scripted.

use serde_json::{json, Value};

use crate::common::TestEnv;
use crate::real_cli::{
    claude_agent_config, path_with, scenarios, write_codex_config, FakeApi, CLAUDE, CODEX,
    CODEX_AGENT_CONFIG,
};

/// One planned task as the schema asks for it.
fn planned(id: &str, title: &str, deps: &[&str], paths: &[&str]) -> Value {
    json!({
        "id": id,
        "title": title,
        "description": format!("{title}, and nothing else."),
        "type": "task",
        "complexity": 2,
        "deps": deps.iter().map(|d| json!({"id": d, "kind": "blocks"})).collect::<Vec<_>>(),
        "paths": paths,
        "agent": null,
        "rationale": format!("{id} is one small step"),
    })
}

/// The scripted model's structured answer: Claude Code's StructuredOutput tool, called once.
fn structured(plan: Value) -> Value {
    json!({"tool": "StructuredOutput", "input": plan})
}

/// What a scripted Claude Code does for a task: write its file, then say so.
fn writes(file: &str, content: &str) -> Value {
    json!([
        {"tool": "Write", "input": {"file_path": format!("{{cwd}}/{file}"), "content": content}},
        {"text": format!("Wrote {file}.")},
    ])
}

fn commit_config(env: &TestEnv, text: &str) {
    env.write("vane.toml", text);
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
}

fn events_of(env: &TestEnv, kind: &str) -> Vec<Value> {
    let events = env.vane(&["events", "--json"]).success().json();
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

fn tasks(env: &TestEnv) -> Vec<Value> {
    let list = env.vane(&["task", "list", "--json"]).success().json();
    list.as_array()
        .cloned()
        .or_else(|| list["tasks"].as_array().cloned())
        .unwrap_or_default()
}

fn run_with(env: &TestEnv, path: &std::ffi::OsString, args: &[&str]) -> crate::common::Run {
    let output = env
        .vane_command(args)
        .env("PATH", path)
        .output()
        .expect("run vane");
    crate::common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn a_goal_planned_by_the_real_claude_cli_becomes_a_graph_that_lands() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &cli)]);
    let plan = json!({
        "rationale": "Greeting first, then the farewell that quotes it.",
        "tasks": [
            planned("greet", "Write greet.txt", &[], &["greet.txt"]),
            planned("farewell", "Write farewell.txt", &["greet"], &["farewell.txt"]),
        ],
    });
    let api = FakeApi::serving(
        &env,
        &server,
        &scenarios(vec![
            ("# Plan the epic".into(), json!([structured(plan)])),
            ("# Task greet: ".into(), writes("greet.txt", "hello\n")),
            (
                "# Task farewell: ".into(),
                writes("farewell.txt", "goodbye\n"),
            ),
        ]),
    );
    commit_config(
        &env,
        &format!(
            "workers = 2\nmax_attempts = 1\ndefault_agent = \"claude\"\n\n{}",
            claude_agent_config(api.port)
        ),
    );

    // A dry run shows the plan and writes nothing.
    let dry = run_with(
        &env,
        &path,
        &[
            "plan",
            "Say hello, then goodbye",
            "--id",
            "hello",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let dry = dry.json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["tasks"].as_array().map(Vec::len), Some(2), "{dry}");
    assert!(tasks(&env).is_empty(), "a dry run wrote tasks");

    let planned = run_with(
        &env,
        &path,
        &["plan", "Say hello, then goodbye", "--id", "hello", "--json"],
    );
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let planned = planned.json();
    assert_eq!(planned["epic"], "hello");
    assert_eq!(planned["new_epic"], true);
    assert_eq!(planned["planner"], "claude");
    let runs = planned["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{planned}");
    assert_eq!(
        runs[0]["structured"], true,
        "held to the schema by --json-schema"
    );
    assert!(runs[0]["session"].as_str().is_some_and(|s| !s.is_empty()));

    // The graph: the epic from the goal, its two tasks, the dependency, the paths.
    let farewell = env
        .vane(&["task", "show", "farewell", "--json"])
        .success()
        .json();
    assert_eq!(farewell["parent"], "hello", "{farewell}");
    assert_eq!(farewell["paths"], json!(["farewell.txt"]));
    let deps = farewell["dependencies"].to_string();
    assert!(deps.contains("greet"), "{farewell}");
    let epic = env
        .vane(&["task", "show", "hello", "--json"])
        .success()
        .json();
    assert_eq!(epic["type"], "epic");
    assert_eq!(epic["title"], "Say hello, then goodbye");
    let events = events_of(&env, "planned");
    assert_eq!(events.len(), 1, "one planned event");
    let event = events[0].to_string();
    assert!(
        event.contains("Greeting first"),
        "the rationale is kept: {event}"
    );
    assert!(event.contains("claude"), "{event}");

    // What the planner was given: the goal, the repository, the schema; with its tool to answer.
    let requests = api.requests();
    let asked = requests
        .iter()
        .find(|r| {
            r["prompt"]
                .as_str()
                .is_some_and(|p| p.contains("# Plan the epic hello"))
        })
        .unwrap_or_else(|| panic!("no planning request in {requests:#?}"));
    let prompt = asked["prompt"].as_str().unwrap();
    assert!(prompt.contains("Say hello, then goodbye"), "{prompt}");
    assert!(prompt.contains("README.md"), "the layout: {prompt}");
    assert!(
        asked["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "StructuredOutput"),
        "{asked}"
    );
    // Its worktree at the base tip was made for it alone, and is gone.
    let worktrees = env.git(&env.repo, &["worktree", "list", "--porcelain"]);
    assert!(!worktrees.contains("/plan-hello-"), "{worktrees}");

    // And the plan lands, in its order.
    let work = run_with(&env, &path, &["work"]);
    assert_eq!(work.code, 0, "{}", work.stderr);
    assert_eq!(env.git(&env.repo, &["show", "main:greet.txt"]), "hello\n");
    assert_eq!(
        env.git(&env.repo, &["show", "main:farewell.txt"]),
        "goodbye\n"
    );
    let order = env.git(
        &env.repo,
        &[
            "log",
            "--first-parent",
            "--format=%(trailers:key=Vane-Task,valueonly)",
            "main",
        ],
    );
    let order: Vec<&str> = order
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(order, ["farewell", "greet"], "newest first");

    // An epic with tasks is not planned again by accident.
    let again = run_with(&env, &path, &["plan", "hello"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("--replace"), "{}", again.stderr);
}

#[test]
fn a_refused_plan_goes_back_to_claude_in_the_same_session_with_every_problem() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &cli)]);
    // The first answer fits the schema, but its graph is wrong three ways.
    let wrong = json!({
        "rationale": "first try",
        "tasks": [
            planned("a", "Do a", &["b"], &["a.txt"]),
            planned("b", "Do b", &["a", "missing-task"], &["../outside.txt"]),
        ],
    });
    let right = json!({
        "rationale": "second try",
        "tasks": [
            planned("a", "Do a", &[], &["a.txt"]),
            planned("b", "Do b", &["a"], &["b.txt"]),
        ],
    });
    let api = FakeApi::serving(
        &env,
        &server,
        &json!({"scenarios": [
            {"match": "# Plan the epic", "last": "was not accepted", "turns": [structured(right)]},
            {"match": "# Plan the epic", "turns": [structured(wrong)]},
        ]}),
    );
    commit_config(&env, &claude_agent_config(api.port));
    env.vane(&[
        "task",
        "add",
        "Two steps",
        "--id",
        "steps",
        "--type",
        "epic",
    ])
    .success();

    let run = run_with(&env, &path, &["plan", "steps", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = run.json();
    let runs = result["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{result}");
    assert_eq!(runs[1]["resumed"], true);
    assert_eq!(runs[0]["session"], runs[1]["session"], "the same session");
    let problems = runs[0]["problems"].to_string();
    for expected in ["a -> b -> a", "missing-task", "../outside.txt"] {
        assert!(problems.contains(expected), "{expected} in {problems}");
    }
    assert!(runs[1]["problems"].as_array().unwrap().is_empty());

    // The model was told every problem, in the session it answered in.
    let requests = api.requests();
    let retry = requests
        .iter()
        .find(|r| {
            r["latest"]
                .as_str()
                .is_some_and(|l| l.contains("was not accepted"))
        })
        .unwrap_or_else(|| panic!("no retry request in {requests:#?}"));
    let told = retry["latest"].as_str().unwrap();
    for expected in ["a -> b -> a", "missing-task", "../outside.txt"] {
        assert!(told.contains(expected), "{expected} in {told}");
    }
    assert!(
        retry["prompt"]
            .as_str()
            .unwrap()
            .contains("# Plan the epic steps"),
        "resumed: the session's first prompt is the plan's"
    );

    // Only the second plan is in the graph.
    assert_eq!(result["rationale"], "second try");
    let b = env.vane(&["task", "show", "b", "--json"]).success().json();
    assert_eq!(b["parent"], "steps");
    assert_eq!(b["paths"], json!(["b.txt"]));
}

#[test]
fn two_refused_answers_write_nothing_and_say_every_problem() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &cli)]);
    let cyclic = json!({
        "rationale": null,
        "tasks": [
            planned("a", "Do a", &["b"], &[]),
            planned("b", "Do b", &["a"], &[]),
        ],
    });
    let api = FakeApi::serving(
        &env,
        &server,
        &json!({"scenarios": [{"match": "# Plan the epic", "turns": [structured(cyclic)]}]}),
    );
    commit_config(&env, &claude_agent_config(api.port));
    let events_before = env.count_rows("events");

    let run = run_with(&env, &path, &["plan", "Loop forever", "--id", "loop"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("answered 2 times"), "{}", run.stderr);
    assert!(run.stderr.contains("a -> b -> a"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(tasks(&env).is_empty(), "not even the epic was made");
    assert_eq!(env.count_rows("events"), events_before, "no event either");
    assert_eq!(api.requests().len(), 2, "asked twice, no more");
}

#[test]
fn the_real_codex_cli_plans_through_a_truncated_answer_and_junk_around_the_json() {
    let Some((cli, server)) = CODEX.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CODEX, &cli)]);
    let valid = json!({
        "rationale": "one step",
        "tasks": [planned("only", "Do the one thing", &[], &["one.txt"])],
    });
    let api = FakeApi::serving(
        &env,
        &server,
        &json!({"scenarios": [
            {"match": "Plan the epic", "last": "was not accepted", "turns": [
                {"text": format!("Sorry about that. Here it is:\n```json\n{valid}\n```\nAnything else?")},
            ]},
            {"match": "Plan the epic", "turns": [
                {"text": "{\"rationale\": \"one step\", \"tasks\": [{\"id\": \"only\", \"title\": \"Do the"},
            ]},
        ]}),
    );
    write_codex_config(&env, api.port);
    commit_config(&env, CODEX_AGENT_CONFIG);

    let run = run_with(
        &env,
        &path,
        &[
            "plan",
            "One thing",
            "--id",
            "one",
            "--agent",
            "codex",
            "--json",
        ],
    );
    assert_eq!(
        run.code,
        0,
        "{}\nrequests: {:#?}",
        run.stderr,
        api.requests()
    );
    let result = run.json();
    let runs = result["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{result}");
    assert!(
        runs[0]["problems"]
            .to_string()
            .contains("no plan in the answer"),
        "{result}"
    );
    assert_eq!(
        runs[1]["resumed"], true,
        "`codex exec resume` went on: {result}"
    );
    assert_eq!(runs[0]["structured"], true);
    // Codex passed vane's schema on to the model (`--output-schema`).
    let requests = api.requests();
    assert!(
        requests[0]["format"].to_string().contains("json_schema"),
        "{:#?}",
        requests[0]
    );
    let only = env
        .vane(&["task", "show", "only", "--json"])
        .success()
        .json();
    assert_eq!(only["parent"], "one");
    assert_eq!(only["title"], "Do the one thing");
}

#[test]
fn the_roadmap_extends_itself_during_a_batch_and_the_new_tasks_land() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &cli)]);
    let next = json!({
        "rationale": "After the seed, two files that build on it.",
        "tasks": [
            planned("grow", "Write grow.txt", &[], &["grow.txt"]),
            planned("bloom", "Write bloom.txt", &["grow"], &["bloom.txt"]),
        ],
    });
    let api = FakeApi::serving(
        &env,
        &server,
        &scenarios(vec![(
            "# Extend the roadmap".into(),
            json!([structured(next)]),
        )]),
    );
    // Every task is done by `writer`, a shell command that writes the task's file; the planner
    // is Claude Code.
    commit_config(
        &env,
        &format!(
            "workers = 1\nmax_attempts = 1\ndefault_agent = \"writer\"\n\n\
             [agents.writer]\ncommand = [\"sh\", \"-c\", \"echo \\\"$VANE_TASK_ID\\\" > \\\"$VANE_TASK_ID.txt\\\"\"]\n\n\
             [extend]\nevery = 1\npending_below = 3\nmax_new_tasks = 5\nmax_total = 2\nagent = \"claude\"\n\n{}",
            claude_agent_config(api.port)
        ),
    );
    env.vane(&["task", "add", "Plant the seed", "--id", "seed"])
        .success();

    // --no-extend: the seed lands, and no planner is asked.
    let run = run_with(&env, &path, &["work", "--no-extend"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(api.requests().is_empty(), "{:#?}", api.requests());

    env.vane(&["task", "add", "Water it", "--id", "water"])
        .success();
    let run = run_with(&env, &path, &["work"]);
    assert_eq!(
        run.code,
        0,
        "{}\nrequests: {:#?}",
        run.stderr,
        api.requests()
    );
    assert!(
        run.stderr.contains("Roadmap extended with 2 tasks"),
        "{}",
        run.stderr
    );
    for task in ["water", "grow", "bloom"] {
        assert_eq!(
            env.git(&env.repo, &["show", &format!("main:{task}.txt")]),
            format!("{task}\n"),
            "{task} landed"
        );
        let shown = env.vane(&["task", "show", task, "--json"]).success().json();
        assert_eq!(shown["status"], "done", "{shown}");
    }
    let grow = env
        .vane(&["task", "show", "grow", "--json"])
        .success()
        .json();
    assert_eq!(grow["parent"], "extension-1", "{grow}");
    let extended = events_of(&env, "roadmap_extended");
    assert_eq!(extended.len(), 1, "max_total = 2 allows one extension");
    assert!(extended[0]
        .to_string()
        .contains("two files that build on it"));

    // The planner was told how the batch went.
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let prompt = requests[0]["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("2 of 2 tasks are done, 0 pending"),
        "{prompt}"
    );
    assert!(prompt.contains("Water it (water)"), "what landed: {prompt}");
}

#[test]
fn routes_send_the_tasks_of_one_batch_to_two_real_clis() {
    let (Some((claude, claude_server)), Some((codex, codex_server))) =
        (CLAUDE.prerequisites(), CODEX.prerequisites())
    else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &claude), (&CODEX, &codex)]);
    let claude_api = FakeApi::serving_as(
        &env,
        "claude",
        &claude_server,
        &scenarios(vec![(
            "# Task feature: ".into(),
            writes("feature.txt", "from claude\n"),
        )]),
    );
    let codex_api = FakeApi::serving_as(
        &env,
        "codex",
        &codex_server,
        &json!({"scenarios": [{"match": "# Task typo: ", "turns": [
            {"exec": "printf 'from codex\\n' > typo.txt"},
            {"text": "Fixed."},
        ]}]}),
    );
    write_codex_config(&env, codex_api.port);
    commit_config(
        &env,
        &format!(
            "workers = 2\nmax_attempts = 1\ndefault_agent = \"claude\"\n\n\
             [[route]]\ntype = \"bug\"\ncomplexity = \"<=3\"\nagent = \"codex\"\n\n{}\n{CODEX_AGENT_CONFIG}",
            claude_agent_config(claude_api.port)
        ),
    );
    env.vane(&[
        "task",
        "add",
        "Fix the typo",
        "--id",
        "typo",
        "--type",
        "bug",
        "--complexity",
        "2",
    ])
    .success();
    env.vane(&[
        "task",
        "add",
        "Add the feature",
        "--id",
        "feature",
        "--complexity",
        "6",
    ])
    .success();
    let shown = env.vane(&["task", "show", "typo"]).success();
    assert!(shown.stdout.contains("route 1"), "{}", shown.stdout);

    let run = run_with(&env, &path, &["work"]);
    assert_eq!(
        run.code,
        0,
        "{}\nclaude: {:#?}\ncodex: {:#?}",
        run.stderr,
        claude_api.requests(),
        codex_api.requests()
    );
    assert_eq!(
        env.git(&env.repo, &["show", "main:typo.txt"]),
        "from codex\n"
    );
    assert_eq!(
        env.git(&env.repo, &["show", "main:feature.txt"]),
        "from claude\n"
    );
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let profile = |task: &str| -> String {
        conn.query_row(
            "SELECT profile FROM attempts WHERE task_id = ?1",
            [task],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(profile("typo"), "codex");
    assert_eq!(profile("feature"), "claude");
    assert!(claude_api
        .requests()
        .iter()
        .all(|r| !r["prompt"].to_string().contains("# Task typo")));
    assert!(!codex_api.requests().is_empty());
}

#[test]
fn a_learning_left_by_claude_in_one_task_is_in_a_later_tasks_prompt() {
    let Some((cli, server)) = CLAUDE.prerequisites() else {
        return;
    };
    let env = TestEnv::initialised();
    let path = path_with(&env, &[(&CLAUDE, &cli)]);
    let learning = json!({
        "type": "learning",
        "topic": "greetings",
        "content": "Greetings in this repository end with an exclamation mark",
        "confidence": 0.9,
    });
    let api = FakeApi::serving(
        &env,
        &server,
        &scenarios(vec![
            (
                "# Task first: ".into(),
                json!([
                    {"tool": "Bash", "input": {"command": format!(
                        "printf '%s\\n' '{learning}' >> \"$VANE_CONTEXT_FILE\" && echo 'hello!' > first.txt"
                    )}},
                    {"text": "Wrote first.txt, and what I learned."},
                ]),
            ),
            ("# Task second: ".into(), writes("second.txt", "goodbye!\n")),
        ]),
    );
    commit_config(
        &env,
        &format!(
            "workers = 1\nmax_attempts = 1\ndefault_agent = \"claude\"\n\n{}",
            claude_agent_config(api.port)
        ),
    );
    env.vane(&[
        "task",
        "add",
        "Greetings",
        "--id",
        "greetings",
        "--type",
        "epic",
    ])
    .success();
    env.vane(&[
        "task",
        "add",
        "First",
        "--id",
        "first",
        "--parent",
        "greetings",
    ])
    .success();
    env.vane(&[
        "task",
        "add",
        "Second",
        "--id",
        "second",
        "--parent",
        "greetings",
        "--deps",
        "first",
    ])
    .success();

    let run = run_with(&env, &path, &["work"]);
    assert_eq!(
        run.code,
        0,
        "{}\nrequests: {:#?}",
        run.stderr,
        api.requests()
    );
    let requests = api.requests();
    let first = requests
        .iter()
        .find(|r| {
            r["prompt"]
                .as_str()
                .is_some_and(|p| p.contains("# Task first: "))
        })
        .unwrap_or_else(|| panic!("{requests:#?}"));
    assert!(
        first["prompt"]
            .as_str()
            .unwrap()
            .contains("VANE_CONTEXT_FILE"),
        "the prompt says how to leave one"
    );
    // The Bash tool's result: the append worked inside vane's confinement.
    assert!(
        !requests
            .iter()
            .any(|r| r["tool_results"].to_string().contains("ermission denied")),
        "{requests:#?}"
    );
    let second = requests
        .iter()
        .find(|r| {
            r["prompt"]
                .as_str()
                .is_some_and(|p| p.contains("# Task second: "))
        })
        .unwrap_or_else(|| panic!("{requests:#?}"));
    let prompt = second["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("Greetings in this repository end with an exclamation mark"),
        "{prompt}"
    );
    assert!(prompt.contains("from task first, attempt 1"), "{prompt}");
}

/// A planner that is a shell command: it waits `$PLAN_DELAY` seconds (none when unset), then
/// prints the plan committed at `answer.json`, as a model would in prose around it.
const SCRIPTED_PLANNER: &str = "[agents.scripted]\n\
    command = [\"sh\", \"-c\", \"sleep ${{PLAN_DELAY:-0}}; echo 'The plan:'; cat answer.json\"]\n\
    parser = \"text\"\n";

/// Waits for `path` to exist, at most 30 s.
fn wait_for(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits until one of this test's planners runs.
fn wait_for_planner(env: &TestEnv) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while planners_running(env).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no planner started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The processes of this test's planners (their command line names `answer.json`).
fn planners_running(env: &TestEnv) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let home = format!("HOME={}", env.home.display());
        let mine = environ.split(|b| *b == 0).any(|v| v == home.as_bytes());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if mine && String::from_utf8_lossy(&cmdline).contains("answer.json") {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_plan_killed_midway_writes_nothing_and_leaves_nothing_behind() {
    let env = TestEnv::initialised();
    let plan = json!({
        "rationale": "one step",
        "tasks": [planned("step", "Take the step", &[], &["step.txt"])],
    });
    env.write("answer.json", &plan.to_string());
    env.git(&env.repo, &["add", "answer.json"]);
    commit_config(&env, SCRIPTED_PLANNER);

    let mut child = env
        .vane_command(&["plan", "One step", "--id", "one", "--agent", "scripted"])
        .env("PLAN_DELAY", "30")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&env.state_dir().join("runs/plan/one/1/1/prompt.md"));
    wait_for_planner(&env);
    // SAFETY: SIGKILL to the child this test spawned, vane alone: its planner lives on.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert!(
        !planners_running(&env).is_empty(),
        "the planner outlived vane"
    );
    assert!(tasks(&env).is_empty(), "nothing written");

    // The next `vane work` stops what the dead planner left; gc takes its worktree away.
    env.vane(&["work"]).success();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !planners_running(&env).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the stray planner still runs"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    env.vane(&["gc"]).success();
    let worktrees = env.git(&env.repo, &["worktree", "list", "--porcelain"]);
    assert!(!worktrees.contains("/plan-one-"), "{worktrees}");

    // And planning again works.
    env.vane(&["plan", "One step", "--id", "one", "--agent", "scripted"])
        .success();
    let step = env
        .vane(&["task", "show", "step", "--json"])
        .success()
        .json();
    assert_eq!(step["parent"], "one");
}

#[test]
fn a_batch_killed_while_its_roadmap_extends_resumes_and_extends_once() {
    let env = TestEnv::initialised();
    let plan = json!({
        "rationale": "more",
        "tasks": [planned("more", "Write more.txt", &[], &["more.txt"])],
    });
    env.write("answer.json", &plan.to_string());
    env.git(&env.repo, &["add", "answer.json"]);
    commit_config(
        &env,
        &format!(
            "workers = 1\nmax_attempts = 2\ndefault_agent = \"writer\"\n\n\
             [agents.writer]\ncommand = [\"sh\", \"-c\", \"sleep 2; echo \\\"$VANE_TASK_ID\\\" > \\\"$VANE_TASK_ID.txt\\\"\"]\n\n\
             {SCRIPTED_PLANNER}\n[extend]\nevery = 1\npending_below = 5\nmax_total = 1\nagent = \"scripted\"\n"
        ),
    );
    env.vane(&["task", "add", "First", "--id", "first"])
        .success();
    env.vane(&["task", "add", "Second", "--id", "second"])
        .success();

    let mut child = env
        .vane_command(&["work"])
        .env("PLAN_DELAY", "30")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&env.state_dir().join("runs/plan/extension-1/1/1/prompt.md"));
    // The prompt is written before the planner starts: the kill waits until it runs (under load
    // the gap is long enough for a kill to land in it, and no planner would be left to outlive).
    wait_for_planner(&env);
    // SAFETY: SIGKILL to the child this test spawned, vane alone.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert!(
        !planners_running(&env).is_empty(),
        "the planner outlived vane"
    );

    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("Roadmap extended with 1 task"),
        "{}",
        run.stderr
    );
    assert!(
        planners_running(&env).is_empty(),
        "the stray planner was stopped"
    );
    for task in ["first", "second", "more"] {
        let shown = env.vane(&["task", "show", task, "--json"]).success().json();
        assert_eq!(shown["status"], "done", "{shown}");
    }
    assert_eq!(events_of(&env, "roadmap_extended").len(), 1);
    // The attempt the kill cut short was not charged; every task landed with its first charge.
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT task_id, outcome, charged FROM attempts ORDER BY id")
        .unwrap();
    let rows: Vec<(String, Option<String>, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let charged_per_task = |task: &str| rows.iter().filter(|r| r.0 == task && r.2 == 1).count();
    for task in ["first", "second", "more"] {
        assert_eq!(charged_per_task(task), 1, "{rows:?}");
    }
    assert!(
        rows.iter().any(|r| r.0 == "second" && r.2 == 0),
        "the cut-short attempt is there, uncharged: {rows:?}"
    );
}

#[test]
fn a_plan_never_writes_over_a_task_added_while_the_planner_thought() {
    let env = TestEnv::initialised();
    let plan = json!({
        "rationale": null,
        "tasks": [planned("race1", "The plan's title", &[], &[])],
    });
    env.write("answer.json", &plan.to_string());
    env.git(&env.repo, &["add", "answer.json"]);
    commit_config(&env, SCRIPTED_PLANNER);

    let child = env
        .vane_command(&["plan", "Race", "--id", "race", "--agent", "scripted"])
        .env("PLAN_DELAY", "2")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&env.state_dir().join("runs/plan/race/1/1/prompt.md"));
    env.vane(&["task", "add", "Hand-made title", "--id", "race1"])
        .success();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`race1` was added while the planner worked"),
        "{stderr}"
    );
    let race1 = env
        .vane(&["task", "show", "race1", "--json"])
        .success()
        .json();
    assert_eq!(race1["title"], "Hand-made title");
    assert_eq!(race1["parent"], Value::Null);
    assert!(
        env.vane(&["task", "show", "race"]).code != 0,
        "nor the epic"
    );
}

#[test]
fn one_word_that_names_no_epic_is_taken_for_a_mistyped_id() {
    let env = TestEnv::initialised();
    commit_config(&env, SCRIPTED_PLANNER);
    env.vane(&["task", "add", "Sign-in", "--id", "auth", "--type", "epic"])
        .success();
    let run = env
        .vane(&["plan", "autth", "--agent", "scripted"])
        .failure(1);
    assert!(run.stderr.contains("no epic `autth`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `auth`?"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--id"), "{}", run.stderr);
    assert_eq!(tasks(&env).len(), 1, "nothing was made");
}
