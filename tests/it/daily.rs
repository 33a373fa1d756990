//! `vane doctor` and `vane gc`: every broken state the tests can make is found and explained, and
//! collecting never loses work that has not landed.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{doctor_check, doctor_problems, TestEnv};

fn add(env: &TestEnv, id: &str, run: &str, extra: &[&str]) {
    let mut args = vec!["task", "add", id, "--id", id, "--run", run];
    args.extend_from_slice(extra);
    env.vane(&args).success();
}

/// A batch in which `a` and `b` land.
fn landed_env() -> TestEnv {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt", &[]);
    add(&env, "b", "echo b > b.txt", &[]);
    env.vane(&["work"]).success();
    env
}

/// `vane doctor --json`, expected to end with `code`.
fn doctor(env: &TestEnv, code: i32) -> Vec<Value> {
    let run = env.vane(&["doctor", "--json"]).failure(code);
    let checks = run.json().as_array().expect("a list of checks").clone();
    for check in &checks {
        assert!(
            check["check"].is_string() && check["detail"].is_string(),
            "{check}"
        );
        if check["ok"] == false {
            assert!(
                check["fix"].is_string(),
                "a problem comes with a fix: {check}"
            );
        }
    }
    checks
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// The worktrees git lists besides the main one.
/// The workers' worktrees (`w<N>`), not the gate pool's (`g<N>`).
fn worker_worktrees(env: &TestEnv) -> Vec<PathBuf> {
    env.git(&env.repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .skip(1)
        .map(PathBuf::from)
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('w'))
        })
        .collect()
}

fn checkpoint_sha(env: &TestEnv, id: i64) -> String {
    let checkpoints = env.vane(&["checkpoints", "--json"]).success().json();
    checkpoints
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()["sha"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn doctor_passes_on_a_healthy_repository_after_a_batch() {
    let env = landed_env();
    let checks = doctor(&env, 0);
    assert_eq!(doctor_problems(&checks), Vec::<String>::new());
    for name in [
        "config",
        "agent shell",
        "database",
        "schema",
        "landings",
        "checkpoints",
        "ref moves",
        "work lock",
        "worktrees",
        "hooks",
    ] {
        doctor_check(&checks, name);
    }
    assert!(text(&doctor_check(&checks, "landings")["detail"])
        .contains("2 done tasks, every landing on main"));
    assert!(text(&doctor_check(&checks, "hooks")["detail"])
        .contains("post-commit, pre-merge-commit, reference-transaction installed"));
    // The worker worktrees are there and no batch runs: collecting them is suggested.
    assert!(text(&doctor_check(&checks, "worktrees")["fix"]).contains("vane gc"));
    // One line per check on stdout.
    let run = env.vane(&["doctor"]).success();
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("ok")).count(),
        checks.len()
    );
    assert!(
        run.stderr
            .contains(&format!("All {} checks passed", checks.len())),
        "{}",
        run.stderr
    );
}

#[test]
fn doctor_finds_a_missing_checkpoint_ref_and_work_puts_it_back() {
    let env = landed_env();
    let sha = checkpoint_sha(&env, 2);
    env.git(&env.repo, &["update-ref", "-d", "refs/vane/checkpoints/2"]);
    let checks = doctor(&env, 1);
    assert_eq!(doctor_problems(&checks), ["checkpoint 2"]);
    let found = doctor_check(&checks, "checkpoint 2");
    assert!(
        text(&found["detail"]).contains("refs/vane/checkpoints/2 is missing"),
        "{found}"
    );
    assert!(text(&found["fix"]).contains("vane work"), "{found}");
    assert!(
        text(&found["fix"]).contains(&format!("git update-ref refs/vane/checkpoints/2 {sha}")),
        "{found}"
    );
    // The human form says it too, and the exit status.
    let run = env.vane(&["doctor"]).failure(1);
    assert!(
        run.stdout.contains("problem  checkpoint 2"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("1 of"), "{}", run.stderr);
    // The fix it names works.
    env.vane(&["work"]).success();
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    assert_eq!(
        env.git(&env.repo, &["rev-parse", "refs/vane/checkpoints/2"])
            .trim(),
        sha
    );
}

#[test]
fn doctor_finds_a_landing_that_is_no_longer_on_base() {
    let env = landed_env();
    let start = checkpoint_sha(&env, 1);
    // Base moved back by hand, past both landings.
    env.git(&env.repo, &["reset", "-q", "--hard", &start]);
    let checks = doctor(&env, 1);
    assert_eq!(doctor_problems(&checks), ["landing a", "landing b"]);
    let found = doctor_check(&checks, "landing a");
    assert!(text(&found["detail"]).contains("not on main"), "{found}");
    assert!(text(&found["fix"]).contains("`vane rollback 1`"), "{found}");
    assert!(text(&found["fix"]).contains("git merge"), "{found}");
    // Following the fix: the task states match base again.
    env.vane(&["rollback", "1"]).success();
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
}

#[test]
fn doctor_finds_an_agent_whose_program_is_missing() {
    let ghost = "[agents.ghost]\ncommand = [\"no-such-program-xyz\", \"{prompt_file}\"]\n";
    let env = TestEnv::configured(&format!("{ghost}[agents.nobody]\ncommand = [\"true\"]\n"));
    add(&env, "t", "true", &["--agent", "ghost"]);
    add(&env, "u", "true", &["--agent", "nobody"]);
    // vane.toml loses a profile that a task names.
    env.write("vane.toml", ghost);
    let checks = doctor(&env, 1);
    assert_eq!(doctor_problems(&checks), ["agent ghost", "agent nobody"]);
    let ghost = doctor_check(&checks, "agent ghost");
    assert!(
        text(&ghost["detail"]).contains("`no-such-program-xyz`, which is not installed"),
        "{ghost}"
    );
    assert!(text(&ghost["detail"]).contains("task `t`"), "{ghost}");
    assert!(text(&ghost["fix"]).contains("[agents.ghost]"), "{ghost}");
    let nobody = doctor_check(&checks, "agent nobody");
    assert!(
        text(&nobody["detail"]).contains("no such profile"),
        "{nobody}"
    );
    assert!(text(&nobody["fix"]).contains("[agents.nobody]"), "{nobody}");
    assert_eq!(doctor_check(&checks, "agent shell")["ok"], true);
}

#[test]
fn doctor_explains_a_broken_vane_toml() {
    let env = TestEnv::initialised();
    env.write("vane.toml", "workers = 2\nwrokers = 3\n");
    let checks = doctor(&env, 1);
    assert_eq!(doctor_problems(&checks), ["config"]);
    let found = doctor_check(&checks, "config");
    assert!(text(&found["detail"]).contains("line 2"), "{found}");
    assert!(text(&found["detail"]).contains("wrokers"), "{found}");
    // The rest is still checked.
    doctor_check(&checks, "database");
    doctor_check(&checks, "work lock");
    env.write("vane.toml", "workers = [\n");
    let checks = doctor(&env, 1);
    assert!(text(&doctor_check(&checks, "config")["detail"]).contains("vane.toml"));
}

#[test]
fn doctor_finds_a_stale_lock_and_names_a_live_holder() {
    let env = landed_env();
    // What lock.rs writes, naming a process that cannot exist (beyond Linux's largest pid).
    std::fs::write(
        env.state_dir().join("work.lock"),
        "99999999 2026-01-01 00:00:00Z (vane work)\n",
    )
    .unwrap();
    let checks = doctor(&env, 1);
    assert_eq!(doctor_problems(&checks), ["work lock"]);
    let found = doctor_check(&checks, "work lock");
    assert!(text(&found["detail"]).contains("pid 99999999"), "{found}");
    assert!(
        text(&found["detail"]).contains("stopped without finishing"),
        "{found}"
    );
    assert!(text(&found["fix"]).contains("vane work"), "{found}");
    // The fix: the next run takes the lock over, and empties it when done.
    env.vane(&["work"]).success();
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    // A live holder is named, and is no problem.
    let lock = vane::orchestrator::lock::WorkLock::acquire(&env.state_dir(), "vane work").unwrap();
    let checks = doctor(&env, 0);
    let found = doctor_check(&checks, "work lock");
    assert!(
        text(&found["detail"]).contains(&format!("held by pid {}", std::process::id())),
        "{found}"
    );
    drop(lock);
}

#[test]
fn doctor_finds_what_a_crash_left_and_work_repairs_it() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt", &[]);
    let crashed = env
        .vane_command(&["work"])
        .env("VANE_FAILPOINT", "after_ref_move")
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    let checks = doctor(&env, 1);
    // The landing had written down the move of the person's checkout, which follows once the
    // queue drains.
    assert_eq!(
        doctor_problems(&checks),
        ["ref moves", "checkout moves", "work lock"]
    );
    let moves = doctor_check(&checks, "ref moves");
    assert!(
        text(&moves["detail"]).contains("land of refs/heads/main (a)"),
        "{moves}"
    );
    assert!(text(&moves["fix"]).contains("vane work"), "{moves}");
    env.vane(&["work"]).success();
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
}

#[test]
fn gc_removes_worktrees_and_landed_branches_and_reports_the_space() {
    let env = landed_env();
    let worktrees = worker_worktrees(&env);
    assert_eq!(worktrees.len(), 2, "one per worker");
    // Kept while used within --keep-days; the landed branches go all the same.
    let kept = env
        .vane(&["gc", "--keep-days", "1", "--json"])
        .success()
        .json();
    assert_eq!(
        kept["worktrees_removed"].as_array().unwrap().len(),
        0,
        "{kept}"
    );
    assert_eq!(
        kept["worktrees_kept"].as_array().unwrap().len(),
        2,
        "{kept}"
    );
    assert!(
        text(&kept["worktrees_kept"][0]["reason"]).contains("within --keep-days 1"),
        "{kept}"
    );
    let deleted: Vec<&str> = kept["branches_deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["vane/a", "vane/b"]);
    assert_eq!(env.git(&env.repo, &["branch", "--list", "vane/*"]), "");

    let run = env.vane(&["gc"]).success();
    assert!(run.stderr.contains("Removed worktree"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Freed ") && run.stderr.contains("KiB: 2 worktrees removed"),
        "{}",
        run.stderr
    );
    assert_eq!(worker_worktrees(&env), Vec::<PathBuf>::new());
    for path in &worktrees {
        assert!(!path.exists(), "{} removed", path.display());
    }
    // Checkpoints stay; doctor is content; a new batch makes its worktrees again.
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    add(&env, "c", "echo c > c.txt", &[]);
    env.vane(&["work"]).success();
    let again = env.vane(&["gc", "--json"]).success().json();
    assert!(again["bytes_freed"].as_u64().unwrap() > 0, "{again}");
    assert_eq!(
        again["worktrees_removed"].as_array().unwrap().len(),
        1,
        "{again}"
    );
    let run = env.vane(&["gc"]).success();
    assert!(run.stderr.contains("Nothing to collect"), "{}", run.stderr);
}

#[test]
fn gc_keeps_work_that_has_not_landed() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt", &[]);
    add(&env, "t", "echo half > half.txt; exit 3", &[]);
    env.vane(&["work"]).failure(1);
    let worktrees = worker_worktrees(&env);
    assert_eq!(worktrees.len(), 2);
    // A person (or an agent interrupted mid-task) left changes in a worktree on t's branch ...
    let on_branch = &worktrees[0];
    env.git(on_branch, &["checkout", "-q", "vane/t"]);
    std::fs::write(on_branch.join("wip.txt"), "work in progress\n").unwrap();
    // ... and a commit on a detached HEAD in the other, on no branch.
    let detached = &worktrees[1];
    env.git(detached, &["checkout", "-q", "--detach", "main"]);
    std::fs::write(detached.join("loose.txt"), "loose\n").unwrap();
    env.git(detached, &["add", "loose.txt"]);
    env.git(detached, &["commit", "-q", "-m", "A commit on no branch"]);
    let loose = env.git(detached, &["rev-parse", "HEAD"]).trim().to_string();
    // A worktree of the person's whose directory is gone.
    let extra = env.root.join("extra");
    env.git(
        &env.repo,
        &["worktree", "add", "-q", "--detach", extra.to_str().unwrap()],
    );
    std::fs::remove_dir_all(&extra).unwrap();
    // An earlier attempt at a, on base, and one that is not.
    let a_tip = env
        .git(&env.repo, &["rev-parse", "vane/a"])
        .trim()
        .to_string();
    env.git(&env.repo, &["update-ref", "refs/vane/attempts/a/1", &a_tip]);
    let unlanded = env
        .git(
            &env.repo,
            &["commit-tree", "main^{tree}", "-p", "main", "-m", "Unlanded"],
        )
        .trim()
        .to_string();
    env.git(
        &env.repo,
        &["update-ref", "refs/vane/attempts/a/2", &unlanded],
    );

    let report = env.vane(&["gc", "--json"]).success().json();
    // t's work is on its branch, which stays: t did not land.
    assert_eq!(
        env.git(&env.repo, &["show", "vane/t:wip.txt"]),
        "work in progress\n"
    );
    assert_eq!(env.git(&env.repo, &["show", "vane/t:half.txt"]), "half\n");
    let saved = report["saved"].as_array().unwrap();
    assert!(
        saved
            .iter()
            .any(|s| s["kind"] == "uncommitted" && s["into"] == "vane/t"),
        "{report}"
    );
    // The detached commit names no task: it is kept under the name of its worktree.
    let name = detached.file_name().unwrap().to_str().unwrap();
    let kept = format!("refs/vane/kept/{name}/1");
    assert!(
        saved.iter().any(|s| s["kind"] == "detached"
            && s["into"] == kept.as_str()
            && s["commit"] == loose.as_str()),
        "{report}"
    );
    assert_eq!(
        env.git(&env.repo, &["show", &format!("{kept}:loose.txt")]),
        "loose\n"
    );
    assert_eq!(
        report["registrations_pruned"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert!(
        text(&report["registrations_pruned"][0]).ends_with("/extra"),
        "{report}"
    );
    let deleted: Vec<&str> = report["branches_deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["vane/a"]);
    assert_eq!(report["refs_deleted"][0]["name"], "refs/vane/attempts/a/1");
    assert_eq!(
        report["refs_deleted"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    env.git(
        &env.repo,
        &["rev-parse", "--verify", "-q", "refs/vane/attempts/a/2"],
    );
    env.git(&env.repo, &["rev-parse", "--verify", "-q", "vane/t"]);
    assert_eq!(worker_worktrees(&env), Vec::<PathBuf>::new());
}

#[test]
fn gc_keeps_the_commits_of_a_detached_head_under_a_ref() {
    let env = landed_env();
    // A worker's worktree is left detached at what it gated last: a landing of a or b.
    let worktree = worker_worktrees(&env)[0].clone();
    let task = env
        .git(
            &worktree,
            &["log", "-1", "--format=%(trailers:key=Vane-Task,valueonly)"],
        )
        .trim()
        .to_string();
    assert!(task == "a" || task == "b", "{task}");
    // Uncommitted changes there are committed on top and kept, beside the task's attempts.
    std::fs::write(worktree.join("later.txt"), "later\n").unwrap();
    std::fs::write(worktree.join("a.txt"), "changed\n").unwrap();
    let report = env.vane(&["gc", "--json"]).success().json();
    let saved = report["saved"].as_array().unwrap();
    assert_eq!(saved.len(), 1, "{report}");
    assert_eq!(saved[0]["kind"], "detached");
    let kept = text(&saved[0]["into"]).to_string();
    assert_eq!(kept, format!("refs/vane/attempts/{task}/1"));
    assert_eq!(
        env.git(&env.repo, &["show", &format!("{kept}:later.txt")]),
        "later\n"
    );
    assert_eq!(
        env.git(&env.repo, &["show", &format!("{kept}:a.txt")]),
        "changed\n"
    );
    assert!(!worktree.exists());
    // A second gc keeps it: it is not on base.
    env.vane(&["gc"]).success();
    env.git(&env.repo, &["rev-parse", "--verify", "-q", &kept]);
}

/// Everything a gc could change: refs, worktree registrations, and the files of the repository
/// and of the worktrees.
fn snapshot(env: &TestEnv) -> (String, String, Vec<(PathBuf, Vec<u8>)>) {
    let refs = env.git(
        &env.repo,
        &["for-each-ref", "--format=%(objectname) %(refname)"],
    );
    let worktrees = env.git(&env.repo, &["worktree", "list", "--porcelain"]);
    let mut files = env.snapshot_files(&env.repo);
    files.extend(env.snapshot_files(&env.home));
    // SQLite's own files come and go as the database is opened; the rows are compared instead.
    files.retain(|(path, _)| !path.starts_with(env.state_dir()));
    (refs, worktrees, files)
}

#[test]
fn gc_dry_run_says_what_it_would_do_and_changes_nothing() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt", &[]);
    add(&env, "t", "echo half > half.txt; exit 3", &[]);
    env.vane(&["work"]).failure(1);
    let worktree = worker_worktrees(&env)[0].clone();
    env.git(&worktree, &["checkout", "-q", "vane/t"]);
    std::fs::write(worktree.join("wip.txt"), "work in progress\n").unwrap();
    let before = snapshot(&env);
    let events = env.count_rows("events");
    let run = env.vane(&["gc", "--dry-run"]).success();
    assert!(
        run.stderr.contains("Would commit the uncommitted changes"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Would remove worktree"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Would delete branch vane/a"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing was changed (--dry-run)"),
        "{}",
        run.stderr
    );
    let json = env.vane(&["gc", "--dry-run", "--json"]).success().json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(
        json["worktrees_removed"].as_array().unwrap().len(),
        2,
        "{json}"
    );
    assert!(json["bytes_freed"].as_u64().unwrap() > 0);
    assert_eq!(snapshot(&env), before);
    assert_eq!(env.count_rows("events"), events);
    // The real run does what the dry run said.
    let done = env.vane(&["gc", "--json"]).success().json();
    for key in ["branches_deleted", "refs_deleted", "registrations_pruned"] {
        assert_eq!(done[key], json[key], "{key}");
    }
    assert_eq!(done["saved"][0]["into"], json["saved"][0]["into"]);
}

#[test]
fn gc_refuses_while_the_work_lock_is_held() {
    let env = landed_env();
    let worktrees = worker_worktrees(&env);
    let lock = vane::orchestrator::lock::WorkLock::acquire(&env.state_dir(), "vane work").unwrap();
    for args in [&["gc"][..], &["gc", "--dry-run"][..]] {
        let run = env.vane(args).failure(1);
        assert!(
            run.stderr.contains(&format!(
                "another vane is working in this repository (pid {}",
                std::process::id()
            )),
            "{}",
            run.stderr
        );
    }
    assert_eq!(worker_worktrees(&env), worktrees);
    env.git(&env.repo, &["rev-parse", "--verify", "-q", "vane/a"]);
    drop(lock);
    env.vane(&["gc"]).success();
    assert_eq!(worker_worktrees(&env), Vec::<PathBuf>::new());
}

#[test]
fn doctor_finds_hooks_that_are_missing_or_not_vanes() {
    let env = TestEnv::initialised();
    let hooks_check = |env: &TestEnv, code: i32| -> serde_json::Value {
        let run = if code == 0 {
            env.vane(&["doctor", "--json"]).success()
        } else {
            env.vane(&["doctor", "--json"]).failure(code)
        };
        run.json()
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "hooks")
            .cloned()
            .unwrap()
    };
    assert_eq!(hooks_check(&env, 0)["ok"], true);
    env.vane(&["hooks", "uninstall"]).success();
    let check = hooks_check(&env, 1);
    assert_eq!(check["ok"], false);
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("vane hooks install"),
        "{check}"
    );
    std::fs::write(env.repo.join(".git/hooks/post-commit"), "#!/bin/sh\n").unwrap();
    let check = hooks_check(&env, 1);
    assert!(
        check["detail"].as_str().unwrap().contains("post-commit"),
        "{check}"
    );
    env.vane(&["hooks", "install"]).success();
    assert_eq!(hooks_check(&env, 0)["ok"], true);
}

#[test]
fn gc_never_commits_the_files_vane_copied_in() {
    let env = TestEnv::configured("include = [\".env\"]\n");
    env.write(".env", "SECRET=1\n");
    add(&env, "a", "cat .env > seen.txt", &[]);
    env.vane(&["work"]).success();
    // A worktree on a task branch with work in progress and its copy of .env.
    let worktree = &worker_worktrees(&env)[0];
    assert!(worktree.join(".env").is_file());
    env.git(worktree, &["checkout", "-q", "-b", "vane/wip"]);
    std::fs::write(worktree.join("wip.txt"), "wip\n").unwrap();
    env.vane(&["gc"]).success();
    let saved = env.git(&env.repo, &["show", "--stat", "--format=%s", "vane/wip"]);
    assert!(saved.contains("wip.txt"), "{saved}");
    let everywhere = env.git(&env.repo, &["log", "--all", "--format=%H", "--", ".env"]);
    assert_eq!(everywhere.trim(), "", "no commit holds .env");
}

#[test]
fn gc_keeps_nothing_of_what_gates_left_in_the_gate_pools_worktrees() {
    // The gate leaves a file behind in its worktree, as a build would.
    let env = TestEnv::configured(
        "[[gate]]\nname = \"build\"\ncommand = \"echo built > build-output.txt\"\n",
    );
    add(&env, "a", "echo a > a.txt", &[]);
    env.vane(&["work"]).success();
    let root = env.home.join(".local/share/vane/worktrees");
    let gate_worktree = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|repo| repo.path().join("g1"))
        .find(|g1| g1.is_dir())
        .expect("a gate worktree");
    assert!(gate_worktree.join("build-output.txt").is_file());
    let report = env.vane(&["gc", "--json"]).success().json();
    assert!(!gate_worktree.exists(), "{report}");
    assert_eq!(report["saved"], serde_json::json!([]), "{report}");
    let kept = env.git(&env.repo, &["for-each-ref", "refs/vane/kept/"]);
    assert_eq!(kept, "", "gate leftovers kept as work: {kept}");
}

// Daily use (issue 14): what a newcomer meets in the first days.

fn task_status(env: &TestEnv, id: &str) -> String {
    let task = env.vane(&["task", "show", id, "--json"]).success().json();
    text(&task["status"]).to_string()
}

/// The ids of `vane checkpoints --json`.
fn checkpoint_ids(env: &TestEnv, extra: &[&str]) -> Vec<i64> {
    let mut args = vec!["checkpoints", "--json"];
    args.extend_from_slice(extra);
    env.vane(&args)
        .success()
        .json()
        .as_array()
        .expect("a list of checkpoints")
        .iter()
        .map(|c| c["id"].as_i64().expect("an id"))
        .collect()
}

#[test]
fn a_dry_run_shows_every_wave_with_each_tasks_profile() {
    let env = TestEnv::configured(
        "[agents.small]\ncommand = [\"true\"]\n\n[[route]]\ntype = \"bug\"\nagent = \"small\"\n",
    );
    add(
        &env,
        "a",
        "echo a > a",
        &["--complexity", "3", "--paths", "src/a/**"],
    );
    add(
        &env,
        "b",
        "echo b > b",
        &["--complexity", "5", "--paths", "src/a/x.rs"],
    );
    add(&env, "e", "echo e > e", &["--complexity", "1"]);
    add(
        &env,
        "c",
        "echo c > c",
        &["--deps", "a", "--type", "bug", "--complexity", "2"],
    );
    let run = env.vane(&["work", "--dry-run"]).success();
    assert_eq!(
        run.stdout,
        "Wave 1, starting now on 2 workers:\n  a  shell  a\n  e  shell  e\n  b  held behind a \
         (src/a/x.rs, src/a/**)  b\nWave 2, once wave 1 has landed:\n  b  shell  b\n  c  small \
         (route 1)  c\n"
    );
    let json = env.vane(&["work", "--dry-run", "--json"]).success().json();
    assert_eq!(json["workers"], 2, "{json}");
    let waves = json["waves"].as_array().expect("waves");
    let ids = |wave: &Value| -> Vec<String> {
        wave["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| text(&t["task"]).to_string())
            .collect()
    };
    assert_eq!(waves.len(), 2, "{json}");
    assert_eq!(waves[0]["wave"], 1);
    assert_eq!(ids(&waves[0]), ["a", "e"]);
    assert_eq!(waves[0]["held"][0]["task"], "b", "{json}");
    assert_eq!(waves[0]["held"][0]["behind"], "a", "{json}");
    assert_eq!(ids(&waves[1]), ["b", "c"]);
    let c = &waves[1]["tasks"][1];
    assert_eq!(
        (text(&c["profile"]), &c["route"], text(&c["chosen_by"])),
        ("small", &serde_json::json!(1), "route 1: type bug"),
        "{json}"
    );
    // One worker: one task a wave, in the order the batch would start them.
    let json = env
        .vane(&["work", "--dry-run", "--json", "--workers", "1"])
        .success()
        .json();
    let waves: Vec<Vec<String>> = json["waves"].as_array().unwrap().iter().map(ids).collect();
    assert_eq!(waves, [["a"], ["b"], ["c"], ["e"]], "{json}");
    // Nothing ran, nothing was recorded.
    assert_eq!(env.count_rows("attempts"), 0);
    assert_eq!(env.count_rows("checkpoints"), 0);
}

/// Runs `vane work` in the background with `edit` made to the person's checkout while the agent
/// of `task` works; returns how it ended and what it printed, killing it after a minute.
fn work_while_the_checkout_changes(
    env: &TestEnv,
    task: &str,
    edit: &dyn Fn(&TestEnv),
) -> (i32, String) {
    use std::io::Read;
    let mut child = env
        .vane_command(&["work"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while task_status(env, task) == "pending" {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    edit(env);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("vane work is still waiting: {}", reader.join().unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (status.code().unwrap_or(-1), reader.join().unwrap())
}

#[test]
fn the_merging_pause_names_the_files_in_the_way_once_and_its_bound_stops_the_batch() {
    let env = TestEnv::configured("pause_timeout = 3\n");
    add(
        &env,
        "slow",
        "sleep 2; echo agent > README.md; echo s > s.txt",
        &[],
    );
    let base = env.git(&env.repo, &["rev-parse", "main"]);
    let (code, stderr) = work_while_the_checkout_changes(&env, "slow", &|env| {
        env.write("README.md", "edited while vane works\n");
        env.write("s.txt", "mine, untracked\n");
    });
    assert_eq!(code, 1, "{stderr}");
    let pauses: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Merging paused"))
        .collect();
    assert_eq!(pauses.len(), 1, "said once: {stderr}");
    let pause = pauses[0];
    for part in [
        "landing slow would overwrite",
        &env.repo.display().to_string(),
        "README.md, s.txt (untracked)",
        "`git stash -u`",
        "the batch stops in 3 s (`pause_timeout` in vane.toml)",
    ] {
        assert!(pause.contains(part), "{part:?} in {pause}");
    }
    assert!(
        stderr.contains("error: merging waited 3 s for the checkout of the base branch"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing landed ungated"), "{stderr}");
    assert!(stderr.contains("hint: commit those changes, or put them aside with `git stash -u`"));
    // Nothing landed; the person's files are as they left them; the task waits in review.
    assert_eq!(env.git(&env.repo, &["rev-parse", "main"]), base);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("s.txt")).unwrap(),
        "mine, untracked\n"
    );
    assert_eq!(task_status(&env, "slow"), "needs_review");
    // Following the hint: the next batch gates it again and lands it.
    env.git(&env.repo, &["stash", "-u"]);
    env.vane(&["work"]).success();
    assert_eq!(task_status(&env, "slow"), "done");
    assert_eq!(env.git(&env.repo, &["show", "main:s.txt"]), "s\n");
}

#[test]
fn a_pause_with_only_tracked_changes_in_the_way_suggests_git_stash() {
    let env = TestEnv::configured("pause_timeout = 0\n");
    add(&env, "slow", "sleep 1; echo agent > README.md", &[]);
    let (code, stderr) = work_while_the_checkout_changes(&env, "slow", &|env| {
        env.write("README.md", "edited while vane works\n");
    });
    assert_eq!(code, 1, "{stderr}");
    let pause = stderr
        .lines()
        .find(|l| l.contains("Merging paused"))
        .unwrap_or_else(|| panic!("a pause: {stderr}"));
    assert!(
        pause.contains("the checkout of the base branch: README.md."),
        "{pause}"
    );
    assert!(pause.contains("`git stash` there"), "{pause}");
    assert!(pause.contains("the batch stops now"), "{pause}");
    assert!(
        stderr.contains("put them aside with `git stash` ("),
        "{stderr}"
    );
    assert_eq!(task_status(&env, "slow"), "needs_review");
}

#[test]
fn work_with_nothing_to_do_records_no_checkpoint() {
    let env = TestEnv::configured("");
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("Nothing to do"), "{}", run.stderr);
    assert_eq!(env.count_rows("checkpoints"), 0);
    add(&env, "a", "echo a > a.txt", &[]);
    env.vane(&["work"]).success();
    let after_a_batch = env.count_rows("checkpoints");
    assert_eq!(after_a_batch, 2, "the batch start and the landing");
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("Nothing to do"), "{}", run.stderr);
    assert_eq!(env.count_rows("checkpoints"), after_a_batch);
    assert_eq!(env.count_rows("batches"), 1);
    // A candidate that waits for a person's `vane approve` is not the batch's to do either.
    add(&env, "gate", "echo '# more' >> vane.toml", &[]);
    env.vane(&["work"]).failure(1);
    assert_eq!(task_status(&env, "gate"), "needs_review");
    let waiting = env.count_rows("checkpoints");
    let run = env.vane(&["work"]).failure(1);
    assert!(run.stderr.contains("Nothing to do"), "{}", run.stderr);
    assert_eq!(env.count_rows("checkpoints"), waiting);
    assert_eq!(env.count_rows("batches"), 2);
}

#[test]
fn checkpoints_takes_the_newest_n() {
    let env = landed_env();
    assert_eq!(checkpoint_ids(&env, &[]), [1, 2, 3]);
    assert_eq!(checkpoint_ids(&env, &["-n", "2"]), [2, 3]);
    assert_eq!(checkpoint_ids(&env, &["--limit", "9"]), [1, 2, 3]);
    let run = env.vane(&["checkpoints", "-n", "1"]).success();
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(rows[0].starts_with("ID"), "{}", run.stdout);
    assert!(rows[1].starts_with("3 "), "{}", run.stdout);
    // None asked for is no news of there being none.
    let run = env.vane(&["checkpoints", "-n", "0"]).success();
    assert!(!run.stderr.contains("No checkpoints yet"), "{}", run.stderr);
}

#[test]
fn gc_keep_checkpoints_prunes_old_ones_but_never_a_done_tasks_landing() {
    let env = landed_env(); // 1 batch start, 2 landing of a, 3 of b
    add(&env, "c", "echo c > c.txt", &[]);
    env.vane(&["work"]).success(); // 4 batch start, 5 c
    add(&env, "d", "echo d > d.txt", &[]);
    env.vane(&["work"]).success(); // 6 batch start, 7 d
    assert_eq!(checkpoint_ids(&env, &[]), [1, 2, 3, 4, 5, 6, 7]);
    let refs = || env.git(&env.repo, &["for-each-ref", "refs/vane/checkpoints/"]);
    let before = refs();
    let dry = env
        .vane(&["gc", "--keep-checkpoints", "1", "--dry-run", "--json"])
        .success()
        .json();
    let pruned = |report: &Value| -> Vec<i64> {
        report["checkpoints_pruned"]
            .as_array()
            .expect("pruned")
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(pruned(&dry), [4, 6], "{dry}");
    assert_eq!(refs(), before, "a dry run changes nothing");
    let run = env.vane(&["gc", "--keep-checkpoints", "1"]).success();
    assert!(
        run.stderr.contains("Pruned checkpoint 4 (batch_start at"),
        "{}",
        run.stderr
    );
    // a and b landed in one batch, in the order their priorities gave.
    for id in ["a", "b"] {
        assert!(
            run.stderr
                .contains(&format!("the landing of `{id}`, which is done")),
            "{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("Keeping checkpoint 2: the landing of"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Keeping checkpoint 1: the first batch start"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("2 checkpoints pruned"),
        "{}",
        run.stderr
    );
    assert_eq!(checkpoint_ids(&env, &[]), [1, 2, 3, 5, 7]);
    for id in [4, 6] {
        let gone = env.git_try(
            &env.repo,
            &[
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/vane/checkpoints/{id}"),
            ],
        );
        assert_ne!(gone.code, 0, "refs/vane/checkpoints/{id} deleted");
    }
    // The event log keeps what went; doctor and the next batch are content; a landing's
    // checkpoint still takes base back.
    let events = env.vane(&["events", "--json"]).success().json();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "checkpoints_pruned"),
        "{events}"
    );
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    env.vane(&["work"]).success();
    assert_eq!(checkpoint_ids(&env, &[]), [1, 2, 3, 5, 7]);
    env.vane(&["rollback", "3"]).success();
    assert_eq!(task_status(&env, "c"), "pending");
    assert!(!env.repo.join("c.txt").exists());
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    // Once c and d are no longer done, their landings may go; the rollback's own checkpoint
    // (its undo) is the newest, and stays.
    let report = env
        .vane(&["gc", "--keep-checkpoints", "1", "--json"])
        .success()
        .json();
    assert_eq!(pruned(&report), [5, 7], "{report}");
    assert_eq!(checkpoint_ids(&env, &[]), [1, 2, 3, 8]);
    env.vane(&["rollback", "8"]).success();
    assert_eq!(task_status(&env, "d"), "done");
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
}

#[test]
fn logs_carry_no_color_codes_where_stderr_is_not_a_terminal_or_color_is_off() {
    // `vane init` logs the migrations it applies (INFO, with -v); stderr is a pipe here.
    for args in [&["-v", "--color", "never", "init"][..], &["-v", "init"][..]] {
        let env = TestEnv::new();
        let output = env
            .vane_command(args)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("INFO"), "{args:?}: a log line: {stderr}");
        assert!(!stderr.contains('\u{1b}'), "{args:?}: {stderr:?}");
    }
    // Asked for, they have it.
    let env = TestEnv::new();
    let output = env
        .vane_command(&["-v", "--color", "always", "init"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains('\u{1b}'));
}

/// What the completion scripts get from `COMPLETE=fish vane -- <words>`: each candidate.
fn completions(env: &TestEnv, words: &[&str]) -> Vec<String> {
    let mut args = vec!["--", "vane"];
    args.extend_from_slice(words);
    let output = env
        .vane_command(&args)
        .env("COMPLETE", "fish")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect()
}

/// The values among `completions`, sorted: not the flags offered beside them.
fn completed_values(env: &TestEnv, words: &[&str]) -> Vec<String> {
    let mut values: Vec<String> = completions(env, words)
        .into_iter()
        .filter(|c| !c.starts_with('-'))
        .collect();
    values.sort();
    values
}

#[test]
fn completions_offer_task_ids_checkpoints_and_profiles() {
    let env = TestEnv::configured("[agents.mine]\ncommand = [\"true\"]\n");
    add(&env, "login", "echo l > l.txt", &[]);
    add(&env, "logout", "echo o > o.txt", &[]);
    add(&env, "signup", "echo s > s.txt", &[]);
    assert_eq!(
        completed_values(&env, &["task", "show", ""]),
        ["login", "logout", "signup"]
    );
    assert_eq!(
        completed_values(&env, &["task", "show", "log"]),
        ["login", "logout"]
    );
    assert_eq!(completed_values(&env, &["work", "--task", "s"]), ["signup"]);
    assert_eq!(
        completed_values(&env, &["task", "add", "x", "--deps", "login,s"]),
        ["login,signup"]
    );
    let profiles = completed_values(&env, &["task", "add", "x", "--agent", ""]);
    for profile in ["shell", "claude", "codex", "mine"] {
        assert!(
            profiles.iter().any(|p| p == profile),
            "{profile} in {profiles:?}"
        );
    }
    // A new id is not one of those there are.
    assert_eq!(
        completed_values(&env, &["task", "add", "x", "--id", "l"]),
        Vec::<String>::new()
    );
    env.vane(&["work"]).success();
    let checkpoints = completed_values(&env, &["rollback", ""]);
    assert!(
        checkpoints.contains(&"1".to_string()) && checkpoints.contains(&"4".to_string()),
        "{checkpoints:?}"
    );
    // Subcommands and flags still come from the command line.
    assert!(completions(&env, &["chec"]).contains(&"checkpoints".to_string()));
    assert!(completions(&env, &["gc", "--keep-c"]).contains(&"--keep-checkpoints".to_string()));
    // `vane completions` prints the script that asks vane.
    let script = env.vane(&["completions", "bash"]).success().stdout;
    assert!(script.contains("COMPLETE=\"bash\""), "{script}");
}
