//! The merge queue with real git and gates that take time: candidates gated speculatively and
//! landed in order, a failure in the middle of the window, a batch bisected to its culprit, and
//! tasks whose declared paths overlap held back. Every gate writes what it saw (the task files in
//! its tree) and how it ended to a log outside the repository.

use std::collections::BTreeSet;

use crate::common::TestEnv;

/// A repository set up with `config` and a gate that logs `start <files>`, sleeps `seconds`,
/// then fails when the tree holds a `bad-*` file (logging `fail <files>`) and passes otherwise
/// (`pass <files>`); `<files>` are the tree's task files (`t*.txt`) and bad files, sorted. Unconfined, so that
/// the gate may write its log outside the worktree.
fn queue_env(config: &str, seconds: &str) -> TestEnv {
    let env = TestEnv::initialised();
    let log = env.root.join("gates.log").display().to_string();
    let gate = [
        "s=$(ls t*.txt bad-* 2>/dev/null | tr '\\n' ' ')",
        &format!("echo \"start $s\" >> {log}"),
        &format!("sleep {seconds}"),
        &format!("if ls bad-* >/dev/null 2>&1; then echo \"fail $s\" >> {log}; exit 1; fi"),
        &format!("echo \"pass $s\" >> {log}"),
    ]
    .join("\n");
    env.write(
        "vane.toml",
        &format!(
            "max_attempts = 2\nconfine = false\n{config}\n[[gate]]\nname = \"logged\"\ncommand = '''\n{gate}\n'''\n"
        ),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    env
}

/// The gate log as (event, files) lines.
fn gate_log(env: &TestEnv) -> Vec<(String, BTreeSet<String>)> {
    std::fs::read_to_string(env.root.join("gates.log"))
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            let event = words.next().unwrap_or_default().to_string();
            (
                event,
                words
                    .map(|w| w.trim_end_matches(".txt").to_string())
                    .collect(),
            )
        })
        .collect()
}

/// A task that sleeps, writes `<id>.txt`, and on its first attempt also `bad-<id>` when `bad`.
fn add(env: &TestEnv, id: &str, sleep: &str, bad: bool, extra: &[&str]) {
    let mut run = format!("sleep {sleep}; echo {id} > {id}.txt");
    if bad {
        run.push_str(&format!(
            "; if [ \"$VANE_ATTEMPT\" = 1 ]; then touch bad-{id}; fi"
        ));
    }
    let mut args = vec!["task", "add", id, "--id", id, "--run", &run];
    args.extend_from_slice(extra);
    env.vane(&args).success();
}

fn task_json(env: &TestEnv, id: &str) -> serde_json::Value {
    env.vane(&["task", "show", id, "--json"]).success().json()
}

/// The attempts of a task, in order: (outcome, feedback), read from the database.
fn attempts(env: &TestEnv, id: &str) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(outcome, ''), coalesce(feedback, '') FROM attempts
             WHERE task_id = ?1 ORDER BY number",
        )
        .unwrap();
    stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn outcomes(env: &TestEnv, id: &str) -> Vec<String> {
    attempts(env, id).into_iter().map(|(o, _)| o).collect()
}

/// The task files in a commit's tree.
fn files_at(env: &TestEnv, commit: &str) -> BTreeSet<String> {
    env.git(&env.repo, &["ls-tree", "--name-only", commit])
        .lines()
        .filter_map(|f| {
            f.strip_prefix('t')
                .map(|_| f.trim_end_matches(".txt").to_string())
        })
        .filter(|f| !f.is_empty())
        .collect()
}

/// Base's first-parent line from the batch's start, oldest first, without the start.
fn landings(env: &TestEnv, since: &str) -> Vec<String> {
    let mut commits: Vec<String> = env
        .git(
            &env.repo,
            &["rev-list", "--first-parent", &format!("{since}..main")],
        )
        .lines()
        .map(str::to_string)
        .collect();
    commits.reverse();
    commits
}

/// The most gate runs that were going on at once, by the log.
fn most_at_once(log: &[(String, BTreeSet<String>)]) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for (event, _) in log {
        if event == "start" {
            now += 1;
            most = most.max(now);
        } else {
            now = now.saturating_sub(1);
        }
    }
    most
}

/// Every tree base moved to passed a gate run on exactly that tree.
fn assert_every_landing_passed(env: &TestEnv, start: &str, log: &[(String, BTreeSet<String>)]) {
    let passed: Vec<&BTreeSet<String>> = log
        .iter()
        .filter(|(e, _)| e == "pass")
        .map(|(_, files)| files)
        .collect();
    let checkpoints = env.vane(&["checkpoints", "--json"]).success().json();
    for checkpoint in checkpoints.as_array().unwrap() {
        if checkpoint["kind"] != "merge" {
            continue;
        }
        let sha = checkpoint["sha"].as_str().unwrap();
        let files = files_at(env, sha);
        assert!(
            passed.contains(&&files),
            "base moved to {sha} holding {files:?}, which no gate passed: {log:?}"
        );
    }
    let on_base = env.git(
        &env.repo,
        &[
            "log",
            "--format=%H",
            &format!("{start}..main"),
            "--",
            "bad-*",
        ],
    );
    assert!(on_base.trim().is_empty(), "a bad file landed: {on_base}");
}

#[test]
fn candidates_are_gated_speculatively_and_land_in_order_each_as_it_was_gated() {
    let env = queue_env("workers = 4\nmerge_window = 8\ngate_workers = 4\n", "1");
    let start = env
        .git(&env.repo, &["rev-parse", "main"])
        .trim()
        .to_string();
    for (id, sleep) in [("t1", "0.1"), ("t2", "0.2"), ("t3", "0.3"), ("t4", "0.4")] {
        add(&env, id, sleep, false, &[]);
    }
    let run = env.vane(&["work"]).success();
    let log = gate_log(&env);
    // Gated at once, each on base and the candidates ahead of it ...
    assert!(most_at_once(&log) >= 2, "{log:?}\n{}", run.stderr);
    assert!(run.stderr.contains("ahead of it"), "{}", run.stderr);
    // ... and landed one after the other, each on the one before: base's first-parent line holds
    // every task exactly once, each landing adding one task's file to the tree before it.
    let landed = landings(&env, &start);
    assert_eq!(landed.len(), 4, "{landed:?}");
    let mut before = files_at(&env, &start);
    for commit in &landed {
        let after = files_at(&env, commit);
        assert_eq!(
            after.len(),
            before.len() + 1,
            "{commit}: {before:?} -> {after:?}"
        );
        assert!(after.is_superset(&before));
        before = after;
    }
    assert_every_landing_passed(&env, &start, &log);
    // No tree gated twice: four candidates, four gate runs.
    assert_eq!(
        log.iter().filter(|(e, _)| e == "start").count(),
        4,
        "{log:?}"
    );
}

#[test]
fn a_failure_in_the_middle_of_the_window_goes_back_and_the_ones_behind_land_without_it() {
    let env = queue_env("workers = 4\nmerge_window = 8\ngate_workers = 4\n", "1");
    let start = env
        .git(&env.repo, &["rev-parse", "main"])
        .trim()
        .to_string();
    add(&env, "t1", "0.1", false, &[]);
    add(&env, "t2", "0.2", true, &[]);
    add(&env, "t3", "0.3", false, &[]);
    add(&env, "t4", "0.4", false, &[]);
    let run = env.vane(&["work"]).success();
    let log = gate_log(&env);
    for id in ["t1", "t2", "t3", "t4"] {
        assert_eq!(
            task_json(&env, id)["status"],
            "done",
            "{id}: {}",
            run.stderr
        );
    }
    // t2 went back with its gate's feedback, and its retry landed.
    assert_eq!(
        outcomes(&env, "t2"),
        ["gate_failed", "landed"],
        "{}",
        run.stderr
    );
    let (_, feedback) = &attempts(&env, "t2")[0];
    assert!(feedback.contains("`logged`"), "{feedback}");
    for id in ["t1", "t3", "t4"] {
        assert_eq!(outcomes(&env, id), ["landed"], "{id}");
    }
    assert_every_landing_passed(&env, &start, &log);
    assert!(
        log.iter()
            .any(|(e, files)| e == "fail" && files.contains("t2")),
        "{log:?}"
    );
}

#[test]
fn a_batch_that_fails_is_bisected_to_its_culprit_and_the_rest_land() {
    // One group is gated at a time (merge_window = 1): while t0 is gated alone (slowly: its tree
    // holds none of the others), t1..t4 finish and gather into one batch of four, which fails for
    // t3's bad file.
    let env = queue_env(
        "workers = 5\nmerge_window = 1\nbatch = 4\ngate_workers = 2\n",
        "$(if [ -e t0.txt ] && ! ls t[1-4].txt >/dev/null 2>&1; then echo 4; else echo 0.5; fi)",
    );
    let start = env
        .git(&env.repo, &["rev-parse", "main"])
        .trim()
        .to_string();
    add(&env, "t0", "0", false, &[]);
    for id in ["t1", "t2", "t3", "t4"] {
        add(&env, id, "1", id == "t3", &[]);
    }
    let run = env.vane(&["work"]).success();
    let log = gate_log(&env);
    for id in ["t0", "t1", "t2", "t3", "t4"] {
        assert_eq!(
            task_json(&env, id)["status"],
            "done",
            "{id}: {}",
            run.stderr
        );
    }
    // A batch of several was gated as one tree, and failed for t3's file ...
    assert!(
        log.iter()
            .any(|(e, files)| e == "fail" && files.contains("t3") && files.len() >= 3),
        "{log:?}\n{}",
        run.stderr
    );
    // ... and was split until t3 stood alone: it went back and landed on its retry, the others
    // landed on their first attempt, some of them together with one move of base (fewer moves
    // than tasks); and no tree was gated twice (a half whose tree was gated before took the
    // cached verdict).
    assert_eq!(outcomes(&env, "t3"), ["gate_failed", "landed"], "{log:?}");
    for id in ["t0", "t1", "t2", "t4"] {
        assert_eq!(outcomes(&env, id), ["landed"], "{id}: {log:?}");
    }
    let checkpoints = env.vane(&["checkpoints", "--json"]).success().json();
    let moves = checkpoints
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "merge")
        .count();
    assert!(moves < 5, "{moves} moves of base for 5 tasks: {log:?}");
    let starts: Vec<&BTreeSet<String>> = log
        .iter()
        .filter(|(e, _)| e == "start")
        .map(|(_, f)| f)
        .collect();
    let distinct: BTreeSet<&BTreeSet<String>> = starts.iter().copied().collect();
    assert_eq!(distinct.len(), starts.len(), "a tree gated twice: {log:?}");
    assert_every_landing_passed(&env, &start, &log);
}

#[test]
fn tasks_whose_declared_paths_overlap_do_not_run_at_once() {
    let env = queue_env("workers = 2\n", "0.2");
    env.write("shared.md", "base\n");
    env.git(&env.repo, &["add", "shared.md"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Add shared.md"]);
    for id in ["p1", "p2"] {
        let run = format!("sleep 0.3; echo {id} >> shared.md");
        env.vane(&[
            "task",
            "add",
            id,
            "--id",
            id,
            "--run",
            &run,
            "--paths",
            "shared.md",
        ])
        .success();
    }
    let dry = env.vane(&["work", "--dry-run", "--json"]).success().json();
    assert_eq!(dry["held"][0]["task"], "p2", "{dry}");
    assert_eq!(dry["held"][0]["behind"], "p1", "{dry}");
    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("p2 waits for p1 to land"),
        "{}",
        run.stderr
    );
    // Neither conflicted: p2 started on the base p1 landed on.
    assert_eq!(outcomes(&env, "p1"), ["landed"]);
    assert_eq!(outcomes(&env, "p2"), ["landed"]);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("shared.md")).unwrap(),
        "base\np1\np2\n"
    );
}
