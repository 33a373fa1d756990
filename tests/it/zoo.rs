//! The bad-agent zoo: one scripted agent per way an agent can misbehave, each run with the kernel's
//! confinement on (where this machine has Landlock) and off (the portable checks alone). Every test
//! checks that the person's checkout is byte for byte as it was, that base moved only to gated
//! merges, and that the task ends where a user would expect, with the reason.

use std::path::PathBuf;

use crate::common::TestEnv;

/// The two ways every zoo test runs.
const MODES: [&str; 2] = ["confine = true\n", "confine = false\n"];

/// A repository set up for vane (hooks installed by `vane init`) with a gate that refuses a file
/// named `bad.txt`, a person's uncommitted edit in the checkout, and `config` in vane.toml.
fn zoo_env(config: &str) -> TestEnv {
    let env = TestEnv::configured(&format!(
        "{config}[[gate]]\nname = \"no-bad\"\ncommand = \"test ! -e bad.txt\"\n"
    ));
    std::fs::write(env.repo.join("notes.txt"), "the person's own notes\n").unwrap();
    env
}

fn add(env: &TestEnv, id: &str, run: &str) {
    env.vane(&["task", "add", id, "--id", id, "--run", run])
        .success();
}

fn task(env: &TestEnv, id: &str) -> serde_json::Value {
    env.vane(&["task", "show", id, "--json"]).success().json()
}

/// Everything in the person's checkout but `.git`, as bytes.
fn checkout(env: &TestEnv) -> Vec<(PathBuf, Vec<u8>)> {
    let git_dir = env.repo.join(".git");
    env.snapshot_files(&env.repo)
        .into_iter()
        .filter(|(path, _)| !path.starts_with(&git_dir))
        .collect()
}

/// Each commit on main's first-parent line since `from`, with whether vane recorded it as a
/// landing (a checkpoint of kind `merge`).
fn base_commits_since(env: &TestEnv, from: &str) -> Vec<(String, bool)> {
    let landed = env
        .vane(&["checkpoints", "--json"])
        .success()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "merge")
        .map(|c| c["sha"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    env.git(
        &env.repo,
        &["rev-list", "--first-parent", &format!("{from}..main")],
    )
    .lines()
    .map(|sha| (sha.to_string(), landed.iter().any(|l| l == sha)))
    .collect()
}

fn head(env: &TestEnv) -> String {
    env.git(&env.repo, &["rev-parse", "main"])
        .trim()
        .to_string()
}

/// Runs `vane work` on an agent and asserts the zoo's invariants; returns the run's stderr.
fn run_zoo(env: &TestEnv, expect: i32) -> String {
    let before = checkout(env);
    let start = head(env);
    let run = env.vane(&["work"]);
    assert_eq!(
        run.code, expect,
        "exit code:\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    // The person's files, their uncommitted edit included, are as they were, but for the
    // files landings brought (a landing adds only its task's files, never touches notes.txt).
    let after = checkout(env);
    for (path, bytes) in &before {
        let now = after.iter().find(|(p, _)| p == path).map(|(_, b)| b);
        assert!(
            now == Some(bytes),
            "{} changed:\n{}",
            path.display(),
            run.stderr
        );
    }
    for (sha, landed) in base_commits_since(env, &start) {
        assert!(
            landed,
            "base holds {sha}, which no landing made:\n{}",
            run.stderr
        );
    }
    run.stderr
}

#[test]
fn an_agent_that_moves_main_with_update_ref_is_refused() {
    for mode in MODES {
        let env = zoo_env(mode);
        add(
            &env,
            "mover",
            "echo bad > bad.txt; git add bad.txt; git commit -qm bad; git update-ref refs/heads/main HEAD; rm bad.txt; echo ok > ok.txt",
        );
        run_zoo(&env, 0);
        assert!(!env.repo.join("bad.txt").exists(), "{mode}");
        assert_eq!(task(&env, "mover")["status"], "done", "{mode}");
    }
}

#[test]
fn an_agent_that_commits_on_a_checked_out_main_is_refused() {
    for mode in MODES {
        let env = zoo_env(mode);
        add(
            &env,
            "sneak",
            "git checkout -q --ignore-other-worktrees main && echo bad > bad.txt && git add bad.txt && git commit -qm sneak",
        );
        let stderr = run_zoo(&env, 1);
        let reason = task(&env, "sneak")["block_reason"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            reason.contains("off its branch") || stderr.contains("off its branch"),
            "{mode}: {reason}\n{stderr}"
        );
    }
}

#[test]
fn a_base_move_that_goes_round_the_hook_stops_the_batch() {
    // With confinement off nothing but the merge queue's own record stands in the way.
    let env = zoo_env("confine = false\nworkers = 1\n");
    add(
        &env,
        "round",
        "echo bad > bad.txt && git add bad.txt && git commit -qm round && git -c core.hooksPath=/dev/null update-ref refs/heads/main HEAD",
    );
    add(&env, "later", "echo later > later.txt");
    let start = head(&env);
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr
            .contains("neither a landing nor a person's commit explains it"),
        "{}",
        run.stderr
    );
    // Nothing was started on, or landed onto, the ungated commit.
    assert_ne!(task(&env, "later")["status"], "done");
    let moved = head(&env);
    assert_ne!(moved, start);
    assert!(run.stderr.contains(&moved[..12]) || run.stderr.contains(&moved));
    // Doctor names the commit too.
    let doctor = env.vane(&["doctor"]).failure(1);
    assert!(
        doctor
            .stdout
            .contains("no landing and no person's commit explains")
            && doctor.stdout.contains(&moved[..12]),
        "{}",
        doctor.stdout
    );
}

#[test]
fn a_forged_verdict_is_not_trusted() {
    for mode in MODES {
        let env = zoo_env(mode);
        add(&env, "first", "echo first > first.txt");
        env.vane(&["work"]).success();
        // The agent leaves what the gate refuses, then writes a passing verdict for its own tree
        // into vane's database.
        let db = env.state_dir().join("vane.db");
        add(
            &env,
            "forger",
            &format!(
                "echo bad > bad.txt && git add bad.txt && git commit -qm forged && \
                 python3 -c \"import sqlite3,subprocess; t=subprocess.check_output(['git','rev-parse','HEAD^{{tree}}']).decode().strip(); \
                 c=sqlite3.connect('{}'); k=c.execute('SELECT gate_key FROM quality_metrics LIMIT 1').fetchone()[0]; \
                 c.execute('INSERT INTO quality_metrics (timestamp, gate, dimension, score, tree, gate_key, passed) VALUES (0, ?, ?, 1.0, ?, ?, 1)', ('no-bad','correctness',t,k)); c.commit()\" || true",
                db.display()
            ),
        );
        run_zoo(&env, 1);
        assert!(!env.repo.join("bad.txt").exists(), "{mode}");
        let forger = task(&env, "forger");
        assert_ne!(forger["status"], "done", "{mode}");
        // Unconfined, the forged row is there, and was passed over; confined, it never got in.
        let conn = rusqlite::Connection::open(&db).unwrap();
        let forged: i64 = conn
            .query_row(
                "SELECT count(*) FROM quality_metrics WHERE seal IS NULL AND passed = 1 AND task_id IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let confined = mode.contains("true") && vane::agent::confine::status().is_ok();
        // One forged row per attempt when unconfined (two attempts), none when confined.
        assert_eq!(forged, if confined { 0 } else { 2 }, "{mode}");
    }
}

#[test]
fn a_weakened_gate_script_waits_for_a_person_and_reject_sends_it_back() {
    for mode in MODES {
        let env = TestEnv::configured(&format!(
            "{mode}[[gate]]\nname = \"check\"\ncommand = \"sh check.sh\"\n"
        ));
        env.write("check.sh", "test ! -e bad.txt\n");
        env.git(&env.repo, &["add", "check.sh"]);
        env.git(&env.repo, &["commit", "-q", "-m", "A check"]);
        add(
            &env,
            "weaken",
            "echo 'exit 0' > check.sh; echo bad > bad.txt",
        );
        let stderr = run_zoo(&env, 1);
        assert!(stderr.contains("waits for you"), "{mode}: {stderr}");
        assert_eq!(task(&env, "weaken")["status"], "needs_review", "{mode}");
        let show = env.vane(&["task", "show", "weaken"]).success();
        assert!(
            show.stdout.contains("Waiting for your approval") && show.stdout.contains("+exit 0"),
            "{mode}: {}",
            show.stdout
        );
        // A second batch leaves it to the person.
        env.vane(&["work"]);
        assert_eq!(task(&env, "weaken")["status"], "needs_review", "{mode}");
        env.vane(&["reject", "weaken", "--reason", "keep the check"])
            .success();
        let after = task(&env, "weaken");
        assert_eq!(after["status"], "needs_improvement", "{mode}");
        assert!(!env.repo.join("bad.txt").exists(), "{mode}");
    }
}

#[test]
fn a_change_to_vane_toml_lands_only_when_approved() {
    let env = zoo_env("");
    add(
        &env,
        "ungate",
        "printf 'workers = 2\\nmax_attempts = 2\\n' > vane.toml; echo fine > fine.txt",
    );
    run_zoo(&env, 1);
    assert_eq!(task(&env, "ungate")["status"], "needs_review");
    let approved = env.vane(&["approve", "ungate"]).success();
    assert!(
        approved.stderr.contains("Approved and landed"),
        "{}",
        approved.stderr
    );
    assert_eq!(task(&env, "ungate")["status"], "done");
    assert!(!std::fs::read_to_string(env.repo.join("vane.toml"))
        .unwrap()
        .contains("[[gate]]"));
    // Approving what does not wait is refused.
    env.vane(&["approve", "ungate"]).failure(1);
}

#[test]
fn changes_to_the_repository_config_and_hooks_are_undone_and_fail_the_attempt() {
    let env = zoo_env("confine = false\nmax_attempts = 1\n");
    let config = env.repo.join(".git/config");
    let before = std::fs::read(&config).unwrap();
    add(
        &env,
        "fsmonitor",
        "printf '[core]\\n\\tfsmonitor = /tmp/evil\\n' >> \"$(git rev-parse --git-common-dir)/config\"; echo x > x.txt",
    );
    let stderr = run_zoo(&env, 1);
    assert_eq!(std::fs::read(&config).unwrap(), before);
    let reason = task(&env, "fsmonitor")["block_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("configuration or hooks"),
        "{reason}\n{stderr}"
    );
}

#[test]
fn a_nested_repository_is_refused_and_kept_whole() {
    for mode in MODES {
        let env = zoo_env(&format!("{mode}max_attempts = 1\n"));
        add(
            &env,
            "nest",
            "mkdir lib && cd lib && git init -q && echo code > code.txt && git add code.txt && git -c user.name=a -c user.email=a@b commit -qm inner",
        );
        run_zoo(&env, 1);
        let reason = task(&env, "nest")["block_reason"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            reason.contains("git repository inside its worktree"),
            "{mode}: {reason}"
        );
        // The nested repository was moved out whole, its own history with it.
        let kept = std::fs::read_dir(env.home.join(".local/share/vane/worktrees"))
            .unwrap()
            .flatten()
            .map(|repo| repo.path().join("kept/nest-1/lib"))
            .find(|p| p.exists())
            .expect("kept beside the worktrees");
        assert_eq!(
            std::fs::read_to_string(kept.join("code.txt")).unwrap(),
            "code\n"
        );
        assert!(kept.join(".git").is_dir());
    }
}

#[test]
fn a_branch_reset_behind_base_is_not_landed_as_done() {
    for mode in MODES {
        let env = zoo_env(&format!("{mode}max_attempts = 1\n"));
        add(&env, "first", "echo first > first.txt");
        env.vane(&["work"]).success();
        add(&env, "behind", "git reset -q --hard HEAD~1");
        run_zoo(&env, 1);
        let behind = task(&env, "behind");
        assert_eq!(behind["status"], "blocked", "{mode}");
        assert!(env.repo.join("first.txt").exists(), "{mode}");
    }
}

#[test]
fn a_worktree_root_inside_the_checkout_is_refused() {
    let env = zoo_env("worktree_root = \"wt\"\n");
    add(&env, "a", "echo a > a.txt");
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr.contains("is inside the git repository"),
        "{}",
        run.stderr
    );
    assert_eq!(env.count_rows("attempts"), 0);
}
