//! Git hooks: installed beside a person's own (which keep running, first) into the directory git
//! really uses, taken out exactly; a commit on a task branch becomes an event at once; a merge made
//! by hand is held to the task's gates; a missing vane never breaks git.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::TestEnv;

fn events_of(env: &TestEnv, task: &str, kind: &str) -> Vec<serde_json::Value> {
    let all = env
        .vane(&["events", "--task", task, "--limit", "0", "--json"])
        .success()
        .json();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

fn write_hook(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn init_installs_the_hooks_where_git_runs_them_and_keeps_the_persons_own() {
    let env = TestEnv::new();
    // The person's hooks live in a directory of their own, named by core.hooksPath.
    env.git(&env.repo, &["config", "core.hooksPath", ".githooks"]);
    let mine = env.repo.join(".githooks/post-commit");
    let log = env.root.join("mine.log");
    let original = format!("#!/bin/sh\necho \"mine ran\" >> '{}'\n", log.display());
    write_hook(&mine, &original);
    env.vane(&["init"]).success();
    let status = env.vane(&["hooks", "status", "--json"]).success().json();
    assert_eq!(
        status["dir"],
        env.repo.join(".githooks").display().to_string()
    );
    for hook in status["hooks"].as_array().unwrap() {
        assert_eq!(hook["state"], "installed", "{hook}");
    }
    assert!(std::fs::read_to_string(&mine)
        .unwrap()
        .contains("vane-managed-hook"));
    assert_eq!(
        std::fs::read_to_string(env.repo.join(".githooks/post-commit.vane-kept")).unwrap(),
        original
    );
    // Their hook still runs on every commit.
    env.write("a.txt", "a\n");
    env.git(&env.repo, &["add", "a.txt"]);
    env.git(&env.repo, &["commit", "-q", "-m", "A commit"]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "mine ran\n");

    // Uninstalling puts back exactly what was there.
    env.vane(&["hooks", "uninstall"]).success();
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), original);
    assert_eq!(
        std::fs::metadata(&mine).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(!env.repo.join(".githooks/post-commit.vane-kept").exists());
    assert!(!env.repo.join(".githooks/pre-merge-commit").exists());
    // Installing twice is the same as once.
    env.vane(&["hooks", "install"]).success();
    env.vane(&["hooks", "install"]).success();
    env.vane(&["hooks", "uninstall"]).success();
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), original);
}

#[test]
fn a_commit_on_a_task_branch_is_an_event_at_once() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Do it", "--id", "T1", "--run", "true"])
        .success();
    // As an agent such as Aider does: commit on the task branch, in a worktree of its own.
    let worktree = env.root.join("agent-worktree");
    env.git(
        &env.repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "vane/T1",
            worktree.to_str().unwrap(),
        ],
    );
    std::fs::write(worktree.join("work.txt"), "work\n").unwrap();
    env.git(&worktree, &["add", "work.txt"]);
    env.git(&worktree, &["commit", "-q", "-m", "Agent's own commit"]);
    let commits = events_of(&env, "T1", "commit");
    assert_eq!(commits.len(), 1, "{commits:?}");
    assert_eq!(commits[0]["data"]["subject"], "Agent's own commit");
    let sha = env.git(&worktree, &["rev-parse", "HEAD"]);
    assert_eq!(commits[0]["data"]["sha"], sha.trim());
    // Commits elsewhere are not a task's.
    env.write("other.txt", "x\n");
    env.git(&env.repo, &["add", "other.txt"]);
    env.git(&env.repo, &["commit", "-q", "-m", "On main"]);
    assert_eq!(events_of(&env, "T1", "commit").len(), 1);
}

/// A repository whose gate refuses any `.txt` file with a TODO, and two tasks whose branches were
/// made by hand off main: `bad` adds a file with a TODO, `good` one without.
fn hand_made_branches() -> TestEnv {
    let env = TestEnv::initialised();
    env.write(
        "vane.toml",
        "[[gate]]\nname = \"no-todo\"\ncommand = \"! grep -rq TODO --include=*.txt .\"\n",
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    for (id, text) in [("bad", "TODO: finish\n"), ("good", "finished\n")] {
        env.vane(&["task", "add", id, "--id", id, "--run", "true"])
            .success();
        env.git(
            &env.repo,
            &["checkout", "-q", "-b", &format!("vane/{id}"), "main"],
        );
        env.write(&format!("{id}.txt"), text);
        env.git(&env.repo, &["add", "."]);
        env.git(&env.repo, &["commit", "-q", "-m", id]);
        env.git(&env.repo, &["checkout", "-q", "main"]);
    }
    env
}

#[test]
fn a_merge_made_by_hand_is_held_to_the_gates() {
    let env = hand_made_branches();
    let main_before = env.git(&env.repo, &["rev-parse", "main"]);
    let merge = |branch: &str| {
        let mut git = std::process::Command::new("git");
        git.current_dir(&env.repo)
            .args(["merge", "--no-ff", "-q", "-m", "Merge by hand", branch])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", &env.home)
            .env("GIT_AUTHOR_NAME", "P")
            .env("GIT_AUTHOR_EMAIL", "p@example.com")
            .env("GIT_COMMITTER_NAME", "P")
            .env("GIT_COMMITTER_EMAIL", "p@example.com");
        git.output().unwrap()
    };
    let refused = merge("vane/bad");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("falls short of its gates") && stderr.contains("no-todo"),
        "{stderr}"
    );
    assert_eq!(env.git(&env.repo, &["rev-parse", "main"]), main_before);
    env.git(&env.repo, &["merge", "--abort"]);
    // The verdict is recorded on the task.
    assert!(env.count_rows("quality_metrics") >= 1);

    let passed = merge("vane/good");
    let stderr = String::from_utf8_lossy(&passed.stderr);
    assert!(passed.status.success(), "{stderr}");
    assert!(
        stderr.contains("the gates pass the merge of good"),
        "{stderr}"
    );
    assert_ne!(env.git(&env.repo, &["rev-parse", "main"]), main_before);
}

#[test]
fn the_shims_never_break_git_without_vane_and_say_so_once() {
    let env = TestEnv::initialised();
    // The shim names the vane that installed it; make that one disappear, and keep vane off PATH.
    let hook = env.repo.join(".git/hooks/post-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    let vane = env!("CARGO_BIN_EXE_vane");
    std::fs::write(&hook, text.replace(vane, "/nonexistent/vane")).unwrap();
    let commit = |name: &str| {
        env.write(name, "x\n");
        env.git(&env.repo, &["add", name]);
        let out = std::process::Command::new("git")
            .current_dir(&env.repo)
            .args(["commit", "-q", "-m", name])
            .env("PATH", "/usr/bin:/bin")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "P")
            .env("GIT_AUTHOR_EMAIL", "p@example.com")
            .env("GIT_COMMITTER_NAME", "P")
            .env("GIT_COMMITTER_EMAIL", "p@example.com")
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = commit("one.txt");
    assert!(
        first.contains("needs vane, which is not installed"),
        "{first}"
    );
    let second = commit("two.txt");
    assert_eq!(second, "", "said only once");
}

#[test]
fn agent_hooks_record_events_and_never_fail_the_agent() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Do it", "--id", "T1", "--run", "true"])
        .success();
    let hook = |name: &str, args: &[&str], stdin: &str, task: Option<&str>| {
        let mut command = env.vane_command(&["hook", name]);
        command.args(args);
        if let Some(task) = task {
            command.env("VANE_TASK_ID", task).env("VANE_ATTEMPT", "1");
        }
        command.stdin(std::process::Stdio::piped());
        command.stdout(std::process::Stdio::piped());
        command.stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // Codex passes its notification as the last argument.
    let notify = r#"{"type":"agent-turn-complete","turn-id":"1","last-assistant-message":"Added the parser."}"#;
    assert!(hook("codex-notify", &[notify], "", Some("T1"))
        .status
        .success());
    let turns = events_of(&env, "T1", "agent_turn");
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["data"]["message"], "Added the parser.");
    // Claude Code writes its payload on stdin.
    let tool = r#"{"session_id":"s","tool_name":"Bash","tool_input":{"command":"cargo test"},"tool_response":{"is_error":true}}"#;
    assert!(hook("claude-post-tool-use", &[], tool, Some("T1"))
        .status
        .success());
    let tools = events_of(&env, "T1", "agent_tool");
    assert_eq!(tools[0]["data"]["tool"], "Bash");
    assert_eq!(tools[0]["data"]["outcome"], "error");
    // Junk, an unknown task, an unknown hook: the agent goes on (exit 0), nothing is recorded.
    for (name, stdin, task) in [
        ("claude-post-tool-use", "not json", Some("T1")),
        ("claude-post-tool-use", tool, Some("NOPE")),
        ("claude-stop", "{}", None),
        ("no-such-hook", "", Some("T1")),
    ] {
        let out = hook(name, &[], stdin, task);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
    assert_eq!(events_of(&env, "T1", "agent_tool").len(), 1);
}

#[test]
fn vane_land_lands_a_branch_made_by_hand_only_when_its_gates_pass() {
    // Work done by hand on task branches that base has not moved past (a fast-forward for git).
    let env = hand_made_branches();
    let before = env.git(&env.repo, &["rev-parse", "main"]);
    let refused = env.vane(&["land", "bad"]).failure(1);
    assert!(
        refused.stderr.contains("falls short of its gates"),
        "{}",
        refused.stderr
    );
    assert_eq!(env.git(&env.repo, &["rev-parse", "main"]), before);
    let bad = env
        .vane(&["task", "show", "bad", "--json"])
        .success()
        .json();
    assert_eq!(bad["status"], "pending");

    let landed = env.vane(&["land", "good", "--json"]).success().json();
    let sha = landed["sha"].as_str().unwrap();
    assert_eq!(env.git(&env.repo, &["rev-parse", "main"]).trim(), sha);
    // Exactly the merge that passed, with base's old tip as its first parent, and the person's
    // checkout brought along.
    assert_eq!(
        env.git(&env.repo, &["rev-parse", &format!("{sha}^1")]),
        before
    );
    assert_eq!(
        std::fs::read_to_string(env.repo.join("good.txt")).unwrap(),
        "finished\n"
    );
    assert_eq!(env.git(&env.repo, &["status", "--porcelain"]), "");
    let good = env
        .vane(&["task", "show", "good", "--json"])
        .success()
        .json();
    assert_eq!(good["status"], "done");
    assert_eq!(good["landed_sha"], sha);
    let checkpoint = landed["checkpoint"].as_i64().unwrap();
    let at = env.git(
        &env.repo,
        &["rev-parse", &format!("refs/vane/checkpoints/{checkpoint}")],
    );
    assert_eq!(at.trim(), sha);
    // Landed once is enough.
    env.vane(&["land", "good"]).failure(1);
    // And `vane rollback` undoes it like any landing.
    let cps = env.vane(&["checkpoints", "--json"]).success().json();
    assert!(cps
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == checkpoint));
}
