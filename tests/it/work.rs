//! `vane work`, checkpoints and rollback, with shell agents that really edit, commit, fail and hang.

use crate::common::{Run, TestEnv};

fn add(env: &TestEnv, id: &str, run: &str, extra: &[&str]) {
    let mut args = vec!["task", "add", id, "--id", id, "--run", run];
    args.extend_from_slice(extra);
    env.vane(&args).success();
}

fn task_json(env: &TestEnv, id: &str) -> serde_json::Value {
    env.vane(&["task", "show", id, "--json"]).success().json()
}

/// How many commits on base's first-parent line landed this task.
fn landings_of(env: &TestEnv, id: &str) -> usize {
    env.git(
        &env.repo,
        &[
            "log",
            "--first-parent",
            "--format=%(trailers:key=Vane-Task,valueonly)",
            "main",
        ],
    )
    .lines()
    .filter(|l| l.trim() == id)
    .count()
}

/// Every done task's landing commit is on base, and every checkpoint's ref holds its commit.
fn assert_database_and_git_agree(env: &TestEnv) {
    let tasks = env.vane(&["task", "list", "--json"]).success().json();
    for task in tasks.as_array().unwrap() {
        if task["status"] == "done" {
            let sha = task["landed_sha"]
                .as_str()
                .expect("a done task has a landing");
            env.git(&env.repo, &["merge-base", "--is-ancestor", sha, "main"]);
        }
    }
    let checkpoints = env.vane(&["checkpoints", "--json"]).success().json();
    for c in checkpoints.as_array().unwrap() {
        let at = env.git(&env.repo, &["rev-parse", c["refname"].as_str().unwrap()]);
        assert_eq!(at.trim(), c["sha"].as_str().unwrap());
    }
}

#[test]
fn a_batch_lands_every_task_through_the_gates() {
    let env = TestEnv::configured("[[gate]]\nname = \"files\"\ncommand = \"test -f a.txt\"\n");
    add(&env, "a", "echo a > a.txt", &[]);
    add(&env, "b", "echo b > b.txt", &["--deps", "a"]);
    add(
        &env,
        "c",
        "echo c > c.txt && git add c.txt && git commit -q -m 'Agent commit'",
        &["--deps", "a"],
    );
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("3 landed, 0 blocked"), "{}", run.stderr);
    for id in ["a", "b", "c"] {
        assert_eq!(task_json(&env, id)["status"], "done");
        assert_eq!(landings_of(&env, id), 1, "{id} landed once");
    }
    // The person's clean checkout of base was brought along.
    for file in ["a.txt", "b.txt", "c.txt"] {
        assert!(env.repo.join(file).is_file(), "{file} in the checkout");
    }
    assert_eq!(env.git(&env.repo, &["status", "--porcelain"]), "");
    // The agent's own commit is kept; the leftover commit carries the trailer.
    let log = env.git(&env.repo, &["log", "--format=%s", "main"]);
    assert!(log.contains("Agent commit"), "{log}");
    let checkpoints = env.vane(&["checkpoints", "--json"]).success().json();
    let kinds: Vec<&str> = checkpoints
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["batch_start", "merge", "merge", "merge"]);
    assert_database_and_git_agree(&env);
    // Worktrees live outside the repository and its .git, one per worker and one per gate
    // worker, reused.
    let worktrees = env.git(&env.repo, &["worktree", "list", "--porcelain"]);
    let paths: Vec<&str> = worktrees
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .collect();
    assert!(paths.len() <= 5, "{worktrees}");
    for path in &paths[1..] {
        assert!(path.starts_with(env.home.to_str().unwrap()), "{path}");
        assert!(!path.contains("/.git/"), "{path}");
    }
    // The prompt of b names what its dependency landed.
    let prompt = std::fs::read_to_string(env.state_dir().join("runs/b/1/prompt.md")).unwrap();
    assert!(
        prompt.contains("# Task b: b") && prompt.contains("- a (a)"),
        "{prompt}"
    );
    // A second run has nothing to do, and records no batch or checkpoint for it.
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("Nothing to do"), "{}", run.stderr);
    assert_eq!(env.count_rows("checkpoints"), 4);
}

#[test]
fn a_failing_gate_sends_the_task_back_with_feedback_and_the_retry_lands() {
    let env = TestEnv::configured("[[gate]]\nname = \"check\"\ncommand = \"grep -q good out.txt || { echo 'out.txt is not good'; exit 1; }\"\n");
    add(
        &env,
        "flaky",
        "if [ \"$VANE_ATTEMPT\" = 1 ]; then echo bad > out.txt; else echo good > out.txt; fi",
        &[],
    );
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("gate `check`"), "{}", run.stderr);
    let task = task_json(&env, "flaky");
    assert_eq!(task["status"], "done");
    let prompt = std::fs::read_to_string(env.state_dir().join("runs/flaky/2/prompt.md")).unwrap();
    assert!(
        prompt.contains("out.txt is not good"),
        "the retry's prompt has the gate's output:\n{prompt}"
    );
    let log = std::fs::read_to_string(env.state_dir().join("runs/flaky/1/gate-check.log")).unwrap();
    assert!(log.contains("out.txt is not good"), "{log}");
    assert_eq!(
        std::fs::read_to_string(env.repo.join("out.txt")).unwrap(),
        "good\n"
    );
    // What landed is exactly the tree that passed: the bad attempt never reached base.
    let history = env.git(
        &env.repo,
        &["log", "-p", "--first-parent", "main", "--", "out.txt"],
    );
    assert!(!history.contains("+bad"), "{history}");
}

#[test]
fn failures_are_retried_then_blocked_with_the_reason() {
    let env = TestEnv::configured("");
    add(&env, "broken", "echo oops >&2; exit 3", &[]);
    add(&env, "idle", "true", &[]);
    add(&env, "after", "echo x > x.txt", &["--deps", "broken"]);
    let run = env.vane(&["work"]).failure(1);
    assert!(run.stderr.contains("did not land"), "{}", run.stderr);
    let broken = task_json(&env, "broken");
    assert_eq!(broken["status"], "blocked");
    let reason = broken["block_reason"].as_str().unwrap();
    assert!(
        reason.contains("gave up after 2 attempts")
            && reason.contains("exited with 3")
            && reason.contains("oops"),
        "{reason}"
    );
    let idle = task_json(&env, "idle");
    assert_eq!(idle["status"], "blocked");
    assert!(idle["block_reason"]
        .as_str()
        .unwrap()
        .contains("without changing anything"));
    assert_eq!(
        task_json(&env, "after")["status"],
        "pending",
        "its dependency never landed"
    );
    // The failed attempts' work is kept on the task branch.
    env.git(&env.repo, &["rev-parse", "--verify", "vane/broken"]);
}

#[test]
fn a_conflict_sends_the_task_back_and_it_retries_from_the_new_base() {
    let env = TestEnv::configured("");
    add(&env, "one", "echo one > same.txt", &[]);
    add(&env, "two", "echo two > same.txt", &[]);
    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("conflicts in: same.txt"),
        "{}",
        run.stderr
    );
    assert_eq!(task_json(&env, "one")["status"], "done");
    assert_eq!(task_json(&env, "two")["status"], "done");
    assert_database_and_git_agree(&env);
}

#[test]
fn an_agent_that_hangs_is_stopped_at_its_timeout() {
    let env = TestEnv::configured("[agents.shell]\ntimeout = 1\n");
    add(&env, "hang", "sleep 600 & sleep 600", &[]);
    let started = std::time::Instant::now();
    env.vane(&["work"]).failure(1);
    assert!(started.elapsed().as_secs() < 60);
    let task = task_json(&env, "hang");
    assert_eq!(task["status"], "blocked");
    assert!(task["block_reason"]
        .as_str()
        .unwrap()
        .contains("did not finish within 1 s"));
}

#[test]
fn work_refuses_a_dirty_checkout_of_base_and_changes_nothing() {
    let env = TestEnv::configured("");
    add(&env, "t", "echo t > t.txt", &[]);
    std::fs::write(env.repo.join("README.md"), "local edit\n").unwrap();
    let run = env.vane(&["work"]).failure(1);
    assert!(run.stderr.contains("uncommitted changes"), "{}", run.stderr);
    assert!(run.stderr.contains("git stash"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("README.md")).unwrap(),
        "local edit\n"
    );
    assert_eq!(task_json(&env, "t")["status"], "pending");
}

#[test]
fn a_second_work_is_refused_while_one_runs() {
    let env = TestEnv::configured("");
    add(&env, "slow", "sleep 5; echo s > s.txt", &[]);
    let mut first = env
        .vane_command(&["work"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first has claimed the task, then try a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while task_json(&env, "slow")["status"] == "pending" {
        assert!(
            std::time::Instant::now() < deadline,
            "the first batch never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr.contains(&format!(
            "another vane is working in this repository (pid {}",
            first.id()
        )),
        "{}",
        run.stderr
    );
    assert!(first.wait().unwrap().success());
    assert_eq!(task_json(&env, "slow")["status"], "done");
}

#[test]
fn dry_run_shows_the_order_and_runs_nothing() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a", &["--complexity", "2"]);
    add(&env, "b", "echo b > b", &["--complexity", "5"]);
    add(&env, "c", "echo c > c", &["--deps", "a"]);
    let run = env.vane(&["work", "--dry-run"]).success();
    assert_eq!(
        run.stdout,
        "Wave 1, starting now on 2 workers:\n  a  shell  a\n  b  shell  b\n\
         Wave 2, once wave 1 has landed:\n  c  shell  c\n"
    );
    assert_eq!(env.count_rows("attempts"), 0);
    assert_eq!(env.count_rows("checkpoints"), 0);
    let run = env.vane(&["work", "--task", "c", "--dry-run"]).success();
    assert_eq!(
        run.stdout,
        "Wave 1, starting now on 2 workers:\n  a  shell  a\n\
         Wave 2, once wave 1 has landed:\n  c  shell  c\n"
    );
}

#[test]
fn task_selection_runs_only_what_is_asked_and_its_dependencies() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a", &[]);
    add(&env, "b", "echo b > b", &["--deps", "a"]);
    add(&env, "other", "echo o > o", &[]);
    env.vane(&["work", "--task", "b"]).success();
    assert_eq!(task_json(&env, "b")["status"], "done");
    assert_eq!(task_json(&env, "other")["status"], "pending");
}

#[test]
fn rollback_and_its_undo_restore_trees_and_states_exactly() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt", &[]);
    env.vane(&["work"]).success();
    add(&env, "b", "echo b > b.txt", &[]);
    env.vane(&["work"]).success();
    let after_b = env.git(&env.repo, &["rev-parse", "main^{tree}"]);
    let states = |env: &TestEnv| env.vane(&["task", "list", "--json"]).success().json();
    let states_after_b = states(&env);
    // Roll back to the checkpoint where a had landed and b had not.
    let checkpoints = env.vane(&["checkpoints", "--json"]).success().json();
    let after_a = checkpoints
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["task"] == "a")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let run = env
        .vane(&["rollback", &after_a.to_string(), "--json"])
        .success();
    let summary = run.json();
    assert!(!env.repo.join("b.txt").exists(), "the checkout went back");
    assert!(env.repo.join("a.txt").exists());
    assert_eq!(task_json(&env, "b")["status"], "pending");
    assert_eq!(task_json(&env, "a")["status"], "done");
    assert_database_and_git_agree(&env);
    // Undo: roll back to the pre-rollback checkpoint.
    let undo = summary["undo_checkpoint"].as_i64().unwrap();
    env.vane(&["rollback", &undo.to_string()]).success();
    assert_eq!(env.git(&env.repo, &["rev-parse", "main^{tree}"]), after_b);
    let restored = states(&env);
    let strip = |v: &serde_json::Value| -> Vec<(String, String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].to_string(),
                    t["status"].to_string(),
                    t["landed_sha"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&restored), strip(&states_after_b));
    assert!(env.repo.join("b.txt").exists());
}

#[test]
fn rollback_refuses_a_dirty_checkout_unless_forced_and_then_keeps_the_changes() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt", &[]);
    env.vane(&["work"]).success();
    std::fs::write(env.repo.join("README.md"), "mine\n").unwrap();
    let run = env.vane(&["rollback", "1"]).failure(1);
    assert!(run.stderr.contains("uncommitted changes"), "{}", run.stderr);
    assert!(env.repo.join("a.txt").exists());
    let run = env.vane(&["rollback", "1", "--force"]).success();
    assert!(run.stderr.contains("git stash pop"), "{}", run.stderr);
    assert!(!env.repo.join("a.txt").exists());
    env.git(&env.repo, &["stash", "pop"]);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("README.md")).unwrap(),
        "mine\n"
    );
    let run = env.vane(&["rollback", "99"]).failure(1);
    assert!(run.stderr.contains("no checkpoint 99"), "{}", run.stderr);
}

/// Runs a batch that aborts at `failpoint`, then a normal one, and checks the promises.
fn crash_and_resume(failpoint: &str) {
    let env = TestEnv::configured("[[gate]]\nname = \"ok\"\ncommand = \"true\"\n");
    add(&env, "a", "echo a > a.txt", &[]);
    add(&env, "b", "echo b > b.txt", &["--deps", "a"]);
    add(&env, "c", "echo c > c.txt; echo untracked > left.txt", &[]);
    // The point between a remote job's publication and its worker's start is on the remote path.
    let work: &[&str] = if failpoint == "after_publish" {
        &["work", "--executor", "local"]
    } else {
        &["work"]
    };
    let crashed = env
        .vane_command(work)
        .env("VANE_FAILPOINT", failpoint)
        .output()
        .unwrap();
    assert!(
        !crashed.status.success(),
        "{failpoint}: the first run must abort"
    );
    assert!(
        String::from_utf8_lossy(&crashed.stderr).contains(&format!("failpoint {failpoint}")),
        "{failpoint}: {}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    let run: Run = env.vane(work);
    assert_eq!(run.code, 0, "{failpoint}: resume failed:\n{}", run.stderr);
    for id in ["a", "b", "c"] {
        assert_eq!(task_json(&env, id)["status"], "done", "{failpoint}: {id}");
        assert_eq!(
            landings_of(&env, id),
            1,
            "{failpoint}: {id} landed exactly once"
        );
    }
    assert_database_and_git_agree(&env);
    assert_eq!(
        env.git(&env.repo, &["status", "--porcelain"]),
        "",
        "{failpoint}"
    );
}

macro_rules! failpoint_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                crash_and_resume(stringify!($name));
            }
        )+

        #[test]
        fn every_failpoint_has_a_test() {
            let tested = [$(stringify!($name)),+];
            assert_eq!(tested.as_slice(), vane::orchestrator::failpoint::FAILPOINTS);
        }
    };
}

mod crash {
    use super::crash_and_resume;

    failpoint_tests!(
        after_claim,
        after_publish,
        after_agent,
        after_finish,
        before_gates,
        after_ref_intent,
        after_ref_move,
        after_checkout_advance,
        after_landing,
        after_checkpoint_ref,
    );
}

#[test]
fn untracked_files_in_the_checkout_do_not_stop_a_batch() {
    // Right after `vane init`, vane.toml is untracked in the person's checkout.
    let env = TestEnv::initialised();
    std::fs::write(env.repo.join("notes.txt"), "my notes\n").unwrap();
    add(&env, "t", "echo t > t.txt", &[]);
    env.vane(&["work"]).success();
    assert!(env.repo.join("t.txt").is_file());
    assert_eq!(
        std::fs::read_to_string(env.repo.join("notes.txt")).unwrap(),
        "my notes\n"
    );
    assert!(env.repo.join("vane.toml").is_file());
}

#[test]
fn merging_pauses_while_the_checkout_of_base_is_dirty_where_the_change_goes_and_goes_on_after() {
    use std::io::{BufRead, BufReader};
    let env = TestEnv::configured("");
    add(
        &env,
        "slow",
        "sleep 2; echo s > s.txt; echo agent > README.md",
        &[],
    );
    let mut child = env
        .vane_command(&["work"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Make the checkout dirty while the agent works.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while task_json(&env, "slow")["status"] == "pending" {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::write(env.repo.join("README.md"), "edited while vane works\n").unwrap();
    // A change where the task changes nothing is no reason to wait.
    std::fs::write(env.repo.join("mine.txt"), "mine\n").unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("vane printed a pause").unwrap();
        seen.push(line.clone());
        if line.contains("Merging paused") {
            break;
        }
    }
    assert_eq!(
        task_json(&env, "slow")["status"],
        "needs_review",
        "{seen:?}"
    );
    assert_eq!(
        env.git(&env.repo, &["rev-parse", "main"]),
        env.git(&env.repo, &["rev-parse", "HEAD"])
    );
    assert!(
        !env.repo.join("s.txt").exists(),
        "base did not move under the dirty checkout"
    );
    // The person puts their change away; merging goes on by itself.
    env.git(&env.repo, &["checkout", "--", "README.md"]);
    for line in lines.by_ref() {
        let _ = line;
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(task_json(&env, "slow")["status"], "done");
    assert!(env.repo.join("s.txt").is_file());
    assert_eq!(
        std::fs::read_to_string(env.repo.join("README.md")).unwrap(),
        "agent\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.repo.join("mine.txt")).unwrap(),
        "mine\n"
    );
}

#[test]
fn ctrl_c_stops_the_agents_too_and_the_next_run_resumes() {
    let env = TestEnv::configured("");
    let marker = env.root.join("go-on");
    let run = format!(
        "if [ -f {} ]; then echo done > t.txt; else sleep 6017; fi",
        marker.display()
    );
    add(&env, "t", &run, &[]);
    let mut child = env
        .vane_command(&["work"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Whether any process runs `sleep 6017`, read from /proc (no pgrep needed).
    let agent_running = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|arg| arg == b"6017"))
                .unwrap_or(false)
        })
    };
    while !agent_running() {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: sends SIGINT to the child this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        !agent_running(),
        "the agent's process group went down with vane"
    );
    std::fs::write(&marker, "").unwrap();
    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("1 attempts abandoned"),
        "{}",
        run.stderr
    );
    let t = task_json(&env, "t");
    assert_eq!(t["status"], "done");
    assert_database_and_git_agree(&env);
}

#[test]
fn dry_run_holds_back_a_task_whose_paths_overlap_one_starting_first() {
    let env = TestEnv::configured("");
    add(
        &env,
        "a",
        "echo a > a",
        &["--complexity", "5", "--paths", "src/auth/**"],
    );
    add(
        &env,
        "b",
        "echo b > b",
        &[
            "--complexity",
            "3",
            "--paths",
            "src/auth/login.rs,docs/b.md",
        ],
    );
    add(&env, "c", "echo c > c", &["--paths", "docs/c.md"]);
    let run = env.vane(&["work", "--dry-run"]).success();
    assert_eq!(
        run.stdout,
        "Wave 1, starting now on 2 workers:\n  a  shell  a\n  c  shell  c\n  \
         b  held behind a (src/auth/login.rs, src/auth/**)  b\n\
         Wave 2, once wave 1 has landed:\n  b  shell  b\n"
    );
    let json = env.vane(&["work", "--dry-run", "--json"]).success().json();
    assert_eq!(json["schedule"], serde_json::json!(["a", "c"]));
    assert_eq!(
        json["held"],
        serde_json::json!([{
            "task": "b",
            "behind": "a",
            "paths": ["src/auth/login.rs", "src/auth/**"],
        }])
    );
    assert_eq!(env.count_rows("attempts"), 0);
    // With `--task b`, only `b` is ready to start, and nothing it overlaps runs.
    let run = env.vane(&["work", "--task", "b", "--dry-run"]).success();
    assert_eq!(
        run.stdout,
        "Wave 1, starting now on 2 workers:\n  b  shell  b\n"
    );
}
