//! The faults issue's findings, each reproduced: what a kill, a wrecked worktree, a repository made
//! again, a full disk, a file in the way, a hand operation or a broken gate did to a batch, and
//! that vane now finishes the batch without charging a task for what was not its agent's doing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::TestEnv;

fn add(env: &TestEnv, id: &str, run: &str) {
    env.vane(&["task", "add", id, "--id", id, "--run", run])
        .success();
}

fn status(env: &TestEnv, id: &str) -> String {
    env.vane(&["task", "show", id, "--json"]).success().json()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `(number, outcome, charged)` of every attempt at `task`.
fn attempts(env: &TestEnv, task: &str) -> Vec<(i64, Option<String>, bool)> {
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT number, outcome, charged FROM attempts WHERE task_id = ?1 ORDER BY number")
        .unwrap();
    stmt.query_map([task], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The directories under vane's default worktree root for this repository.
fn worktrees(env: &TestEnv) -> Vec<PathBuf> {
    let base = env.home.join(".local/share/vane/worktrees");
    let mut found = Vec::new();
    for repo in std::fs::read_dir(&base).into_iter().flatten().flatten() {
        for wt in std::fs::read_dir(repo.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            found.push(wt.path());
        }
    }
    found.sort();
    found
}

/// Pids of live processes whose environment names a worktree under `root`.
fn marked_processes(root: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let needle = format!("VANE_WORKTREE={}", root.display());
        if environ
            .split(|&b| b == 0)
            .any(|var| var.starts_with(needle.as_bytes()))
        {
            pids.push(pid);
        }
    }
    pids
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn attempts_cut_short_by_kills_are_not_charged() {
    let env = TestEnv::configured("max_attempts = 1\n");
    add(&env, "t", "echo done > t.txt");
    // Three runs die right after claiming: with one attempt allowed, each used to use it up.
    for _ in 0..3 {
        let mut cmd = env.vane_command(&["work"]);
        cmd.env("VANE_FAILPOINT", "after_claim");
        assert!(!cmd.status().unwrap().success());
    }
    env.vane(&["work"]).success();
    assert_eq!(status(&env, "t"), "done");
    let tries = attempts(&env, "t");
    assert_eq!(tries.len(), 4, "{tries:?}");
    assert!(tries[..3]
        .iter()
        .all(|(_, outcome, charged)| outcome.as_deref() == Some("abandoned") && !charged));
}

#[test]
fn task_retry_gives_a_task_that_used_up_its_attempts_a_fresh_budget() {
    let env = TestEnv::configured("");
    add(
        &env,
        "t",
        "if [ -e \"$HOME/ok\" ]; then echo ok > t.txt; else exit 3; fi",
    );
    env.vane(&["work"]).failure(1);
    assert_eq!(status(&env, "t"), "blocked");
    std::fs::write(env.home.join("ok"), "").unwrap();
    env.vane(&["task", "retry", "t"]).success();
    let run = env.vane(&["work"]).success();
    assert!(!run.stderr.contains("gave up"), "{}", run.stderr);
    assert_eq!(status(&env, "t"), "done");
}

#[test]
fn a_task_blocked_by_hand_while_its_agent_runs_stays_blocked_and_the_batch_goes_on() {
    // Unconfined: the agent tells the test it started by writing outside its worktree.
    let env = TestEnv::configured("confine = false\n");
    let flag = env.root.join("started");
    add(
        &env,
        "slow",
        &format!("touch '{}'; sleep 2; echo slow > slow.txt", flag.display()),
    );
    add(&env, "quick", "echo quick > quick.txt");
    let mut child = env.vane_command(&["work"]).spawn().unwrap();
    wait_for("the slow agent to start", || flag.exists());
    env.vane(&["task", "block", "slow", "--reason", "not now"])
        .success();
    let code = child.wait().unwrap().code();
    // vane did not fail on the hand operation; a task a person blocked is theirs to release.
    assert_eq!(code, Some(0));
    assert_eq!(status(&env, "slow"), "blocked");
    assert_eq!(status(&env, "quick"), "done");
    // The agent's work is kept on its branch.
    let files = env.git(&env.repo, &["ls-tree", "--name-only", "vane/slow"]);
    assert!(files.contains("slow.txt"), "{files}");
    assert!(marked_processes(&env.home).is_empty());
}

#[test]
fn an_agent_that_wrecks_its_worktree_fails_one_attempt_and_the_batch_goes_on() {
    let env = TestEnv::configured("workers = 1\n");
    let outside = env.root.join("outside");
    std::fs::create_dir(&outside).unwrap();
    add(
        &env,
        "wreck",
        "rm -rf .git && git init -q . && echo x > x.txt",
    );
    add(&env, "unlink", "rm -f .git; echo y > y.txt");
    add(&env, "fine", "echo fine > fine.txt");
    let before_head = env
        .git(&env.repo, &["rev-parse", "HEAD"])
        .trim()
        .to_string();
    let run = env.vane(&["work"]).failure(1);
    assert!(run.stderr.contains("broke its worktree"), "{}", run.stderr);
    assert_eq!(status(&env, "fine"), "done");
    // Nothing reached the person's checkout but the landing of `fine`.
    assert_eq!(env.git(&env.repo, &["status", "--porcelain"]), "");
    let log = env.git(
        &env.repo,
        &["log", "--format=%s", &format!("{before_head}..main")],
    );
    assert!(!log.contains("wreck") && !log.contains("unlink"), "{log}");
    // Each wrecked attempt was charged (the agent did it), and the worktree was made again.
    assert!(attempts(&env, "wreck").iter().all(|a| a.2));
    // A removed `.git` file is put back, and what the agent left is kept on its branch.
    let kept = env.git(&env.repo, &["ls-tree", "-r", "--name-only", "vane/unlink"]);
    assert!(kept.contains("y.txt"), "{kept}");
    for wt in worktrees(&env) {
        let dot_git = std::fs::read_to_string(wt.join(".git")).unwrap_or_default();
        assert!(
            dot_git.starts_with("gitdir: "),
            "{}: {dot_git}",
            wt.display()
        );
    }
    env.vane(&["doctor"]).success();
}

#[test]
fn worktrees_of_a_repository_made_again_at_the_same_path_are_rebuilt() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt");
    env.vane(&["work"]).success();
    assert!(!worktrees(&env).is_empty());
    // Delete the repository and make a new one at the same path, as a CI job cloning into the
    // same folder does.
    std::fs::remove_dir_all(&env.repo).unwrap();
    std::fs::create_dir(&env.repo).unwrap();
    env.git(&env.repo, &["init", "-q", "-b", "main"]);
    std::fs::write(env.repo.join("README.md"), "# again\n").unwrap();
    env.git(&env.repo, &["add", "README.md"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Initial commit"]);
    env.vane(&["init"]).success();
    add(&env, "b", "echo b > b.txt");
    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("broken worktrees removed"),
        "{}",
        run.stderr
    );
    assert_eq!(status(&env, "b"), "done");
}

#[test]
fn agents_of_a_killed_run_are_stopped_before_their_worktree_is_reused() {
    // Unconfined: the agent tells the test it started by writing outside its worktree.
    let env = TestEnv::configured("workers = 1\nconfine = false\n");
    let flag = env.root.join("started");
    // The agent leaves its group too, as a daemon would: only its mark finds it.
    add(
        &env,
        "hang",
        &format!(
            "touch '{}'; setsid sh -c 'sleep 60; echo late > late.txt' & sleep 60",
            flag.display()
        ),
    );
    let mut child = env.vane_command(&["work"]).spawn().unwrap();
    wait_for("the agent to start", || flag.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !marked_processes(&env.home).is_empty(),
        "the killed run's agent runs on"
    );
    // The next run stops them first; the task is then run again (uncharged) and stays short of
    // landing only because this agent hangs: stop it with a timeout instead.
    env.vane(&["task", "block", "hang", "--reason", "checked"])
        .success();
    env.vane(&["work"]).success();
    assert!(marked_processes(&env.home).is_empty());
    let tries = attempts(&env, "hang");
    assert_eq!(tries.len(), 1);
    assert!(!tries[0].2, "the killed attempt is not charged: {tries:?}");
}

#[test]
fn a_processes_that_escapes_its_group_is_stopped_when_its_agent_ends() {
    let env = TestEnv::configured("");
    add(&env, "daemon", "setsid sh -c 'sleep 60' & echo d > d.txt");
    env.vane(&["work"]).success();
    assert!(marked_processes(&env.home).is_empty());
}

#[test]
fn a_gate_that_the_base_fails_the_same_way_halts_the_batch_and_charges_nothing() {
    let env = TestEnv::configured("[[gate]]\nname = \"lint\"\ncommand = \"sh lint.sh\"\n");
    env.write("lint.sh", "echo 'lint: configuration is broken'; exit 2\n");
    env.git(&env.repo, &["add", "lint.sh"]);
    env.git(&env.repo, &["commit", "-q", "-m", "A broken lint"]);
    add(&env, "a", "echo a > a.txt");
    add(&env, "b", "echo b > b.txt");
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr
            .contains("the base branch itself fails the gate `lint`")
            && run.stderr.contains("configuration is broken"),
        "{}",
        run.stderr
    );
    for id in ["a", "b"] {
        assert_ne!(status(&env, id), "blocked");
        assert!(attempts(&env, id).len() <= 1);
    }
    // Once the gate is fixed, the next batch lands both without running their agents again.
    env.write("lint.sh", "exit 0\n");
    env.git(&env.repo, &["commit", "-q", "-am", "Fix lint"]);
    env.vane(&["work"]).success();
    assert_eq!(status(&env, "a"), "done");
    assert_eq!(status(&env, "b"), "done");
}

#[test]
fn rollback_with_an_untracked_file_in_the_way_changes_nothing() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt");
    env.vane(&["work"]).success();
    let before = env.git(&env.repo, &["rev-parse", "main"]);
    // Checkpoint 1 is the batch start, before `a`; roll to it, then put an untracked `a.txt` in
    // the way of rolling forward again (checkpoint 3 is the pre-rollback one).
    env.vane(&["rollback", "1"]).success();
    std::fs::write(env.repo.join("a.txt"), "mine\n").unwrap();
    let run = env.vane(&["rollback", "3"]).failure(1);
    assert!(run.stderr.contains("a.txt"), "{}", run.stderr);
    assert_ne!(env.git(&env.repo, &["rev-parse", "main"]), before);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("a.txt")).unwrap(),
        "mine\n"
    );
    // vane work is not wedged by it.
    std::fs::remove_file(env.repo.join("a.txt")).unwrap();
    env.vane(&["rollback", "3"]).success();
    assert_eq!(env.git(&env.repo, &["rev-parse", "main"]), before);
    assert_eq!(env.git(&env.repo, &["status", "--porcelain"]), "");
}

/// A tmpfs of `size` mounted at `dir` for the life of the value (root only; None elsewhere).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .ok()?
            .success();
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_never_leaves_a_truncated_file_in_the_persons_checkout() {
    // The person's checkout on a disk of 4 MiB; a task lands a file of 3 MiB while 2 MiB are
    // taken by something else.
    let env = TestEnv::new();
    let disk_dir = env.root.join("disk");
    let Some(_disk) = SmallDisk::mount(&disk_dir, "4m") else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let repo = disk_dir.join("repo");
    std::fs::create_dir(&repo).unwrap();
    env.git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "# small disk\n").unwrap();
    env.git(&repo, &["add", "README.md"]);
    env.git(&repo, &["commit", "-q", "-m", "Initial commit"]);
    env.vane_in(&repo, &["init"]).success();
    env.vane_in(
        &repo,
        &[
            "task",
            "add",
            "big",
            "--id",
            "big",
            "--run",
            "head -c 3000000 /dev/zero | tr '\\0' x > big.txt",
        ],
    )
    .success();
    let filler = disk_dir.join("filler");
    std::fs::write(&filler, vec![b'f'; 2_000_000]).unwrap();
    let run = env.vane_in(&repo, &["work"]);
    assert!(
        run.stderr.contains("could not be brought along")
            && run.stderr.contains("No space left on device"),
        "the disk did not fill as the test means it to:\n{}",
        run.stderr
    );
    // Whatever happened, big.txt in the checkout is whole or absent.
    if let Ok(meta) = std::fs::metadata(repo.join("big.txt")) {
        assert_eq!(meta.len(), 3_000_000, "a truncated file in the checkout");
    }
    let doctor = env.vane_in(&repo, &["doctor"]).failure(1);
    assert!(doctor.stdout.contains("left part way"), "{}", doctor.stdout);
    std::fs::remove_file(&filler).unwrap();
    env.vane_in(&repo, &["work"]).success();
    env.vane_in(&repo, &["doctor"]).success();
    assert_eq!(
        std::fs::metadata(repo.join("big.txt")).unwrap().len(),
        3_000_000
    );
    assert_eq!(
        env.git(&repo, &["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
}

#[test]
fn attempts_vane_cannot_run_are_not_charged_and_stop_the_batch_after_three() {
    let env = TestEnv::configured("workers = 1\nmax_attempts = 1\n");
    let runs = env.state_dir().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    for id in ["a", "b", "c", "d"] {
        add(&env, id, &format!("echo {id} > {id}.txt"));
        // A file where the attempt's run directory goes: vane cannot write the prompt, which is
        // vane's trouble (as a full disk or read-only objects are), never the task's.
        std::fs::write(runs.join(id), "in the way").unwrap();
    }
    let run = env.vane(&["work"]).failure(4);
    assert!(
        run.stderr.contains("vane could not run 3 attempts")
            && run.stderr.contains("nothing was charged"),
        "{}",
        run.stderr
    );
    for id in ["a", "b", "c", "d"] {
        assert_eq!(status(&env, id), "pending", "{id}");
        assert!(attempts(&env, id).iter().all(|a| !a.2), "{id}");
        std::fs::remove_file(runs.join(id)).unwrap();
    }
    env.vane(&["work"]).success();
    for id in ["a", "b", "c", "d"] {
        assert_eq!(status(&env, id), "done", "{id}");
    }
}

#[test]
fn lock_files_a_killed_run_left_are_reported_and_removed() {
    let env = TestEnv::configured("");
    add(&env, "a", "echo a > a.txt");
    let git_dir = env.repo.join(".git");
    std::fs::create_dir_all(git_dir.join("refs/vane/checkpoints")).unwrap();
    // A checkpoint ref whose update was killed, and a lock on base left long ago.
    std::fs::write(git_dir.join("refs/vane/checkpoints/1.lock"), "").unwrap();
    std::fs::write(git_dir.join("refs/heads/main.lock"), "").unwrap();
    let touched = std::process::Command::new("touch")
        .args(["-d", "2020-01-01"])
        .arg(git_dir.join("refs/heads/main.lock"))
        .status()
        .unwrap();
    assert!(touched.success());
    let doctor = env.vane(&["doctor"]).failure(1);
    assert!(
        doctor
            .stdout
            .contains("2 lock files left by a process that died"),
        "{}",
        doctor.stdout
    );
    env.vane(&["work"]).success();
    assert_eq!(status(&env, "a"), "done");
    assert!(!git_dir.join("refs/heads/main.lock").exists());
    env.vane(&["doctor"]).success();
}

#[test]
fn recovery_takes_away_only_the_worktrees_vane_made_under_a_shared_root() {
    let env = TestEnv::configured("worktree_root = \"../shared-root\"\n");
    add(&env, "a", "echo a > a.txt");
    env.vane(&["work"]).success();
    let root = env.root.join("shared-root");
    // Something of the person's beside vane's worktrees, which are not this repository's either.
    let project = root.join("project");
    std::fs::create_dir_all(&project).unwrap();
    env.git(&project, &["init", "-q"]);
    std::fs::write(project.join("notes.txt"), "mine\n").unwrap();
    // And a worker's worktree an agent wrecked.
    std::fs::remove_file(root.join("w1/.git")).unwrap();
    add(&env, "b", "echo b > b.txt");
    env.vane(&["work"]).success();
    assert_eq!(status(&env, "b"), "done");
    assert_eq!(
        std::fs::read_to_string(project.join("notes.txt")).unwrap(),
        "mine\n"
    );
    assert!(project.join(".git").is_dir());
    assert!(std::fs::read_to_string(root.join("w1/.git"))
        .unwrap()
        .starts_with("gitdir: "));
}

#[test]
fn a_worktree_a_kill_left_half_made_is_made_again() {
    let env = TestEnv::configured("workers = 1\n");
    add(&env, "a", "echo a > a.txt");
    env.vane(&["work"]).success();
    // What `git worktree add` leaves when killed between writing the links and HEAD.
    let admin = env.repo.join(".git/worktrees/w1");
    std::fs::write(admin.join("HEAD"), "").unwrap();
    std::fs::remove_file(admin.join("commondir")).unwrap();
    add(&env, "b", "echo b > b.txt");
    let run = env.vane(&["work"]).success();
    assert!(
        run.stderr.contains("broken worktrees removed"),
        "{}",
        run.stderr
    );
    assert_eq!(status(&env, "b"), "done");
    env.vane(&["doctor"]).success();
}
