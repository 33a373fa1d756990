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
