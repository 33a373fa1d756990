//! Reading the state: `vane status`, `vane events`, `vane context`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::TestEnv;

#[test]
fn status_shows_counts_ready_blocked_and_epics() {
    let env = TestEnv::initialised();
    let run = env.vane(&["status"]).success();
    assert_eq!(run.stdout, "No tasks yet.\n");
    env.vane(&["task", "add", "Epic", "--id", "e", "--type", "epic"])
        .success();
    env.vane(&["task", "add", "One", "--parent", "e"]).success();
    env.vane(&["task", "add", "Two", "--parent", "e", "--deps", "T1"])
        .success();
    env.vane(&["task", "add", "Three"]).success();
    env.vane(&["task", "block", "T3", "--reason", "needs a decision"])
        .success();
    let run = env.vane(&["status"]).success();
    insta::assert_snapshot!("status", run.stdout);
    let json = env.vane(&["status", "--json"]).success().json();
    assert_eq!(json["total"], 3, "epics are counted apart");
    assert_eq!(json["counts"]["pending"], 2);
    assert_eq!(json["counts"]["blocked"], 1);
    assert_eq!(json["ready_count"], 1);
    assert_eq!(json["blocked"][0]["reason"], "needs a decision");
    assert_eq!(json["epics"][0]["total"], 2);
    assert!(json["last_checkpoint"].is_null());
}

#[test]
fn events_list_filter_and_limit() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "One"]).success();
    env.vane(&["task", "add", "Two", "--deps", "T1"]).success();
    env.vane(&["task", "block", "T2", "--reason", "later"])
        .success();
    let run = env.vane(&["events"]).success();
    insta::assert_snapshot!("events", env.normalize(&run.stdout));
    let all = env
        .vane(&["events", "--json", "--limit", "0"])
        .success()
        .json();
    assert_eq!(all.as_array().unwrap().len(), 5);
    let ids: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    let t2 = env
        .vane(&["events", "--task", "T2", "--json"])
        .success()
        .json();
    assert_eq!(t2.as_array().unwrap().len(), 3);
    let last = env.vane(&["events", "-n", "1", "--json"]).success().json();
    assert_eq!(last[0]["kind"], "status_changed");
    let run = env.vane(&["events", "--task", "T9"]).failure(1);
    assert!(run.stderr.contains("no task `T9`"), "{}", run.stderr);
}

#[test]
fn events_follow_prints_new_events_as_they_are_written() {
    let env = TestEnv::initialised();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vane"))
        .current_dir(&env.repo)
        .env("NO_COLOR", "1")
        .args(["events", "--follow", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read on a thread so that a follower that never prints fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || -> serde_json::Value {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a line from the follower");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next()["kind"], "initialised");
    env.vane(&["task", "add", "Watched", "--id", "w"]).success();
    let event = next();
    assert_eq!(event["kind"], "task_created");
    assert_eq!(event["task"], "w");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn context_entries_are_recorded_and_listed() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "One"]).success();
    env.vane(&[
        "context",
        "add",
        "--type",
        "decision",
        "--topic",
        "auth",
        "Sessions live in signed cookies",
        "--task",
        "T1",
        "--confidence",
        "0.9",
    ])
    .success();
    env.vane(&[
        "context",
        "add",
        "--type",
        "learning",
        "--topic",
        "build",
        "The build needs protoc",
    ])
    .success();
    let run = env.vane(&["context", "list"]).success();
    insta::assert_snapshot!("context_list", env.normalize(&run.stdout));
    let about_t1 = env
        .vane(&["context", "list", "--task", "T1", "--json"])
        .success()
        .json();
    assert_eq!(about_t1.as_array().unwrap().len(), 1);
    assert_eq!(about_t1[0]["related_tasks"][0], "T1");
    let decisions = env
        .vane(&["context", "list", "--type", "learning", "--json"])
        .success()
        .json();
    assert_eq!(decisions[0]["topic"], "build");
    let events = env.count_rows("events");
    for (args, message) in [
        (
            vec!["--type", "decision", "--topic", "x", "y", "--task", "T9"],
            "T9",
        ),
        (
            vec!["--type", "guess", "--topic", "x", "y"],
            "expected one of decision",
        ),
        (
            vec![
                "--type",
                "decision",
                "--topic",
                "x",
                "y",
                "--confidence",
                "1.5",
            ],
            "from 0 to 1",
        ),
    ] {
        let mut full = vec!["context", "add"];
        full.extend(args);
        let run = env.vane(&full);
        assert_ne!(run.code, 0);
        assert!(run.stderr.contains(message), "{full:?}: {}", run.stderr);
    }
    assert_eq!(env.count_rows("events"), events);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let env = TestEnv::new();
    let run = env.vane(&["--help"]).success();
    assert!(
        run.stdout.contains("Examples:") && run.stdout.contains("Exit codes:"),
        "{}",
        run.stdout
    );
    let run = env.vane(&["task", "add", "--help"]).success();
    assert!(run.stdout.contains("Examples:"), "{}", run.stdout);
    let run = env.vane(&["frobnicate"]).failure(2);
    assert!(
        run.stderr.contains("unrecognized subcommand"),
        "{}",
        run.stderr
    );
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "One"]).success();
    let plain = env.vane(&["task", "list"]).success();
    assert!(!plain.stdout.contains('\u{1b}'));
    let colored = env.vane(&["--color", "always", "task", "list"]).success();
    assert!(colored.stdout.contains('\u{1b}'), "{}", colored.stdout);
    let quiet = env.vane(&["-q", "task", "add", "Two"]).success();
    assert_eq!(quiet.stderr, "");
}
