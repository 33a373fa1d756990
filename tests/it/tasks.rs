//! `vane task`: adding, listing, showing, dependencies, block and retry.

use crate::common::TestEnv;

fn graph_env() -> TestEnv {
    let env = TestEnv::initialised();
    env.vane(&[
        "task",
        "add",
        "Set up the project",
        "--id",
        "setup",
        "--run",
        "echo > a",
    ])
    .success();
    env.vane(&[
        "task",
        "add",
        "Authentication",
        "--id",
        "auth",
        "--type",
        "epic",
    ])
    .success();
    env.vane(&[
        "task",
        "add",
        "Login form",
        "--parent",
        "auth",
        "--deps",
        "setup",
        "--complexity",
        "3",
    ])
    .success();
    env.vane(&[
        "task",
        "add",
        "Logout",
        "--parent",
        "auth",
        "--complexity",
        "5",
    ])
    .success();
    env.vane(&["task", "add", "Deploy", "--deps", "auth", "--type", "bug"])
        .success();
    env
}

#[test]
fn tasks_get_readable_ids_and_list_in_scheduling_order() {
    let env = graph_env();
    let run = env.vane(&["task", "list"]).success();
    insta::assert_snapshot!("task_list", run.stdout);
    let ready = env
        .vane(&["task", "list", "--ready", "--json"])
        .success()
        .json();
    let ids: Vec<&str> = ready
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    // setup has the longest chain waiting on it; of the two roots left, Logout is more complex.
    assert_eq!(ids, ["setup", "T2"]);
    let pending = env
        .vane(&["task", "list", "--status", "pending,blocked", "--json"])
        .success()
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 5);
}

#[test]
fn task_show_has_dependencies_dependents_and_events() {
    let env = graph_env();
    let run = env.vane(&["task", "show", "T1"]).success();
    insta::assert_snapshot!("task_show", env.normalize(&run.stdout));
    let json = env
        .vane(&["task", "show", "auth", "--json"])
        .success()
        .json();
    assert_eq!(json["type"], "epic");
    assert_eq!(json["children"].as_array().unwrap().len(), 2);
    assert_eq!(json["dependents"][0]["id"], "T3");
    assert_eq!(json["ready"], false);
    let run = env.vane(&["task", "show", "nope"]).failure(1);
    assert!(run.stderr.contains("no task `nope`"), "{}", run.stderr);
}

#[test]
fn a_cycle_is_refused_with_the_cycle_spelled_out_and_nothing_written() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "three", "--id", "T3"]).success();
    env.vane(&["task", "add", "five", "--id", "T5", "--deps", "T3"])
        .success();
    let events = env.count_rows("events");
    let run = env.vane(&["task", "dep", "add", "T3", "T5"]).failure(1);
    insta::assert_snapshot!("cycle_refused", run.stderr);
    assert_eq!(env.count_rows("events"), events);
    assert_eq!(env.count_rows("task_dependencies"), 1);
}

#[test]
fn dependencies_are_added_and_removed_with_kinds() {
    let env = graph_env();
    env.vane(&["task", "dep", "add", "T3", "T2", "--kind", "related"])
        .success();
    let run = env.vane(&["task", "dep", "add", "T3", "T2"]).failure(1);
    assert!(
        run.stderr.contains("already depends on `T2` (related)"),
        "{}",
        run.stderr
    );
    let run = env.vane(&["task", "dep", "add", "T3", "ghost"]).failure(1);
    assert!(
        run.stderr.contains("unknown dependency `ghost`"),
        "{}",
        run.stderr
    );
    let run = env
        .vane(&["task", "dep", "add", "T3", "T2", "--kind", "sometimes"])
        .failure(2);
    assert!(
        run.stderr
            .contains("expected one of blocks, related, suggested"),
        "{}",
        run.stderr
    );
    let run = env.vane(&["task", "dep", "rm", "T3", "T2"]).success();
    assert!(
        run.stderr.contains("T3 no longer depends on T2 (related)"),
        "{}",
        run.stderr
    );
    let run = env.vane(&["task", "dep", "rm", "T3", "T2"]).failure(1);
    assert!(
        run.stderr.contains("`T3` does not depend on `T2`"),
        "{}",
        run.stderr
    );

    // Removing the only blocker makes a task ready.
    env.vane(&["task", "dep", "rm", "T1", "setup"]).success();
    let ready = env
        .vane(&["task", "list", "--ready", "--json"])
        .success()
        .json();
    assert!(ready.as_array().unwrap().iter().any(|t| t["id"] == "T1"));
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let env = graph_env();
    let events = env.count_rows("events");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["task", "add", "x", "--id", "setup"],
            1,
            "a task `setup` exists already",
        ),
        (
            &["task", "add", "x", "--id", "bad id"],
            2,
            "invalid task id `bad id`",
        ),
        (
            &["task", "add", "x", "--complexity", "11"],
            2,
            "expected a whole number from 1 to 10",
        ),
        (
            &["task", "add", "x", "--type", "chore"],
            2,
            "expected one of epic, story, task, bug",
        ),
        (
            &["task", "add", "x", "--parent", "ghost"],
            1,
            "unknown parent `ghost`",
        ),
        (
            &["task", "add", "x", "--deps", "setup,ghost"],
            1,
            "unknown dependency `ghost`",
        ),
        (&["task", "add", "  "], 1, "needs a title"),
        (
            &["task", "add", "x", "--parent", "auth", "--deps", "auth"],
            1,
            "would close a cycle",
        ),
        (
            &["task", "block", "T1", "--reason", " "],
            1,
            "needs a reason",
        ),
        (&["task", "retry", "T1"], 1, "is pending, not blocked"),
        (
            &["task", "list", "--status", "finished"],
            2,
            "invalid status `finished`",
        ),
    ];
    for (args, code, message) in cases {
        let run = env.vane(args).failure(*code);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    assert_eq!(env.count_rows("events"), events);
    assert_eq!(env.count_rows("tasks"), 5);
}

#[test]
fn block_and_retry_move_a_task_and_log_why() {
    let env = graph_env();
    let run = env
        .vane(&[
            "task",
            "block",
            "T2",
            "--reason",
            "waiting for the API keys",
        ])
        .success();
    assert!(
        run.stderr.contains("Blocked T2: waiting for the API keys"),
        "{}",
        run.stderr
    );
    let task = env.vane(&["task", "show", "T2", "--json"]).success().json();
    assert_eq!(task["status"], "blocked");
    assert_eq!(task["block_reason"], "waiting for the API keys");
    let last = task["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "status_changed");
    assert_eq!(last["actor"], "person:tester");
    assert_eq!(last["data"]["by"], "person");
    let run = env
        .vane(&["task", "block", "T2", "--reason", "again"])
        .failure(1);
    assert!(run.stderr.contains("already there"), "{}", run.stderr);
    env.vane(&["task", "retry", "T2"]).success();
    let task = env.vane(&["task", "show", "T2", "--json"]).success().json();
    assert_eq!(task["status"], "pending");
    assert!(task["block_reason"].is_null());
}

#[test]
fn an_epic_is_done_when_all_its_tasks_are() {
    let env = graph_env();
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    // The work loop lands tasks; here the rows are set as it would leave them.
    conn.execute(
        "UPDATE tasks SET status = 'done' WHERE id IN ('setup', 'T1')",
        [],
    )
    .unwrap();
    let status = env.vane(&["status", "--json"]).success().json();
    assert_eq!(status["epics"][0]["done"], 1);
    assert_eq!(status["epics"][0]["complete"], false);
    assert!(status["ready"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["id"] != "T3"));
    conn.execute("UPDATE tasks SET status = 'done' WHERE id = 'T2'", [])
        .unwrap();
    let status = env.vane(&["status", "--json"]).success().json();
    assert_eq!(status["epics"][0]["complete"], true);
    assert_eq!(
        status["ready"][0]["id"], "T3",
        "Deploy waited for the whole epic"
    );
}

#[test]
fn task_show_keeps_a_long_history_short_for_people_but_not_for_scripts() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Busy", "--id", "busy"]).success();
    for _ in 0..12 {
        env.vane(&["task", "block", "busy", "--reason", "again"])
            .success();
        env.vane(&["task", "retry", "busy"]).success();
    }
    let run = env.vane(&["task", "show", "busy"]).success();
    assert!(
        run.stdout
            .contains("... 5 earlier (`vane events --task busy --limit 0`"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.matches("status_changed").count(), 20);
    let json = env
        .vane(&["task", "show", "busy", "--json"])
        .success()
        .json();
    assert_eq!(json["events"].as_array().unwrap().len(), 25);
}

#[test]
fn tasks_added_at_the_same_time_all_land_with_distinct_ids() {
    let env = TestEnv::initialised();
    let children: Vec<_> = (0..8)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_vane"))
                .current_dir(&env.repo)
                .env("NO_COLOR", "1")
                .args(["task", "add", &format!("Parallel {i}")])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tasks = env.vane(&["task", "list", "--json"]).success().json();
    let mut ids: Vec<String> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"]);
    assert_eq!(env.count_rows("events"), 1 + 8);
}

#[test]
fn declared_paths_are_stored_shown_and_checked() {
    let env = TestEnv::initialised();
    env.vane(&[
        "task",
        "add",
        "Rework sign-in",
        "--id",
        "auth",
        "--paths",
        "src/auth/**, docs/auth.md",
        "--paths",
        "src/auth/**,templates/",
    ])
    .success();
    let json = env
        .vane(&["task", "show", "auth", "--json"])
        .success()
        .json();
    assert_eq!(
        json["paths"],
        serde_json::json!(["src/auth/**", "docs/auth.md", "templates/"])
    );
    assert_eq!(json["learned_paths"], serde_json::json!([]));
    let list = env.vane(&["task", "list", "--json"]).success().json();
    assert_eq!(list[0]["paths"], json["paths"]);
    let show = env.vane(&["task", "show", "auth"]).success();
    assert!(
        show.stdout
            .contains("\npaths:       src/auth/**, docs/auth.md, templates/\n"),
        "{}",
        show.stdout
    );
    env.vane(&["task", "add", "No paths", "--id", "plain"])
        .success();
    let json = env
        .vane(&["task", "show", "plain", "--json"])
        .success()
        .json();
    assert_eq!(json["paths"], serde_json::json!([]));
    let show = env.vane(&["task", "show", "plain"]).success();
    assert!(!show.stdout.contains("paths:"), "{}", show.stdout);

    for (paths, message) in [
        ("/etc/passwd", "the path `/etc/passwd` starts with `/`"),
        ("src/../../x", "the path `src/../../x` has `..`"),
        ("src\\auth", "the path `src\\auth` has a `\\` at byte 3"),
        (
            "src,,docs",
            "an empty path (two commas in a row, or one at an end)",
        ),
        ("src,", "an empty path"),
    ] {
        let run = env
            .vane(&["task", "add", "Bad", "--paths", paths])
            .failure(2);
        assert!(run.stderr.contains(message), "{paths}: {}", run.stderr);
    }
    assert_eq!(
        env.vane(&["task", "list", "--json"])
            .success()
            .json()
            .as_array()
            .unwrap()
            .len(),
        2,
        "nothing is written on refusal"
    );
}
