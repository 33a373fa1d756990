//! What vane finds on disk is checked before it is trusted: a database that is empty or unreadable
//! is refused, not replaced; a read-only repository can still be read; worktrees whose `.git` was
//! removed, or that belong to a repository that is gone, are found and collected.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{doctor_check, doctor_problems, Run, TestEnv};

/// A repository set up for vane with `vane.toml` committed (one worker).
fn configured() -> TestEnv {
    let env = TestEnv::initialised();
    commit_config(&env, &env.repo);
    env
}

fn commit_config(env: &TestEnv, repo: &Path) {
    std::fs::write(repo.join("vane.toml"), "workers = 1\nmax_attempts = 1\n").unwrap();
    env.git(repo, &["add", "vane.toml"]);
    env.git(repo, &["commit", "-q", "-m", "Configure vane"]);
}

/// A batch in `repo` in which task `id` lands.
fn land(env: &TestEnv, repo: &Path, id: &str) {
    let run = format!("echo {id} > {id}.txt");
    env.vane_in(repo, &["task", "add", id, "--id", id, "--run", &run])
        .success();
    env.vane_in(repo, &["work"]).success();
}

fn database(env: &TestEnv) -> PathBuf {
    env.state_dir().join("vane.db")
}

fn doctor(env: &TestEnv, code: i32) -> Vec<Value> {
    let run = env.vane(&["doctor", "--json"]).failure(code);
    run.json().as_array().expect("a list of checks").clone()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// The directories of vane's worktrees for `repo`'s repository folder, under the test HOME.
/// The workers' worktrees of every repository (`w<N>`; the gate pool's `g<N>` aside).
fn worktree_dirs(env: &TestEnv) -> Vec<PathBuf> {
    let base = env.home.join(".local/share/vane/worktrees");
    let mut dirs = Vec::new();
    for folder in std::fs::read_dir(&base).unwrap().flatten() {
        for dir in std::fs::read_dir(folder.path()).unwrap().flatten() {
            if dir.file_name().to_string_lossy().starts_with('w') {
                dirs.push(dir.path());
            }
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn an_empty_database_is_refused_while_vane_refs_exist_and_init_can_start_over() {
    let env = configured();
    land(&env, &env.repo, "a");
    assert_eq!(
        env.git(
            &env.repo,
            &[
                "for-each-ref",
                "--format=%(refname)",
                "refs/vane/checkpoints/"
            ]
        ),
        "refs/vane/checkpoints/1\nrefs/vane/checkpoints/2\n",
        "one when the batch started, one for the landing"
    );
    std::fs::write(database(&env), "").unwrap();
    for args in [&["status"][..], &["work"], &["task", "list"]] {
        let run = env.vane(args).failure(4);
        assert!(
            run.stderr.contains("is empty (zero bytes)")
                && run
                    .stderr
                    .contains("2 checkpoint refs (refs/vane/checkpoints/*), 1 task branch")
                && run
                    .stderr
                    .contains("the task graph they belong to is not in it"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("put it back at")
                && run.stderr.contains("vane init --force-new-database"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::metadata(database(&env)).unwrap().len(),
        0,
        "an empty file is never taken for a new database"
    );
    let checks = doctor(&env, 1);
    let found = doctor_check(&checks, "database");
    assert_eq!(found["ok"], false, "{found}");
    assert!(text(&found["detail"]).contains("is empty"), "{found}");
    assert!(
        text(&found["fix"]).contains("vane init --force-new-database"),
        "{found}"
    );
    // Plain init refuses too: vane was used here.
    let run = env.vane(&["init"]).failure(4);
    assert!(
        run.stderr.contains("is empty (zero bytes)"),
        "{}",
        run.stderr
    );
    // The documented way to start over keeps the file and the checkpoint refs aside.
    let run = env.vane(&["init", "--force-new-database"]).success();
    assert!(
        run.stderr
            .contains("Moved the database vane could not use to"),
        "{}",
        run.stderr
    );
    let moved: Vec<String> = std::fs::read_dir(env.state_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("vane.db.broken-"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    let refs = env.git(
        &env.repo,
        &["for-each-ref", "--format=%(refname)", "refs/vane/"],
    );
    assert!(!refs.contains("refs/vane/checkpoints/"), "{refs}");
    let kept: Vec<&str> = refs.lines().collect();
    assert_eq!(kept.len(), 2, "{refs}");
    assert!(
        kept[0].starts_with("refs/vane/broken/") && kept[0].ends_with("/checkpoints/1"),
        "{refs}"
    );
    assert_eq!(env.vane(&["status"]).success().stdout, "No tasks yet.\n");
    // The new graph's first checkpoint finds its name free.
    land(&env, &env.repo, "b");
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    // A sound database is never replaced.
    let run = env.vane(&["init", "--force-new-database"]).failure(1);
    assert!(run.stderr.contains("is sound"), "{}", run.stderr);
}

#[test]
fn an_empty_database_without_refs_is_refused_except_by_init() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.state_dir()).unwrap();
    std::fs::write(database(&env), "").unwrap();
    let run = env.vane(&["status"]).failure(4);
    assert!(
        run.stderr.contains("is empty (zero bytes)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`vane init` makes a new database in it"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::metadata(database(&env)).unwrap().len(), 0);
    env.vane(&["init"]).success();
    assert_eq!(env.vane(&["status"]).success().stdout, "No tasks yet.\n");
}

#[test]
fn a_database_that_is_no_vane_database_is_refused() {
    let env = TestEnv::initialised();
    std::fs::write(
        database(&env),
        "this is not a database, but it is long enough to look like one..",
    )
    .unwrap();
    let run = env.vane(&["status"]).failure(4);
    assert!(run.stderr.contains("cannot be read"), "{}", run.stderr);
    let found = doctor_check(&doctor(&env, 1), "database").clone();
    assert!(text(&found["fix"]).contains(".recover"), "{found}");

    std::fs::remove_file(database(&env)).unwrap();
    let conn = rusqlite::Connection::open(database(&env)).unwrap();
    conn.execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(conn);
    let run = env.vane(&["task", "add", "One"]).failure(4);
    assert!(
        run.stderr.contains("holds no vane schema"),
        "{}",
        run.stderr
    );
    let run = env.vane(&["init"]).failure(4);
    assert!(
        run.stderr.contains("holds no vane schema"),
        "{}",
        run.stderr
    );
    let conn = rusqlite::Connection::open(database(&env)).unwrap();
    let kept: String = conn
        .query_row("SELECT text FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "mine", "nothing was written to it");
}

/// Runs vane as a user who cannot write the repository: `nobody` when the tests run as root (who
/// may write anything), else the test's own user on a repository made read-only. None when that
/// cannot be arranged here.
fn run_read_only(env: &TestEnv, args: &[&str]) -> Option<Run> {
    let command = env.vane_command(args);
    let output = if is_root(env) {
        let mut wrapped = std::process::Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(command.get_program())
            .args(command.get_args())
            .env_clear();
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                wrapped.env(key, value);
            }
        }
        // nobody does not own the repository: git and libgit2 want it named safe.
        let config = env.home.join(".gitconfig");
        wrapped
            .env("GIT_CONFIG_GLOBAL", &config)
            .current_dir(command.get_current_dir().unwrap_or(&env.repo));
        match wrapped.output() {
            Ok(output) => output,
            Err(e) => {
                eprintln!("skipped: cannot run setpriv to drop root ({e})");
                return None;
            }
        }
    } else {
        let mut command = command;
        command.output().expect("run vane")
    };
    Some(Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn is_root(env: &TestEnv) -> bool {
    std::fs::metadata(&env.repo).unwrap().uid() == 0
}

fn chmod(args: &[&str], path: &Path) {
    let status = std::process::Command::new("chmod")
        .args(args)
        .arg(path)
        .status()
        .expect("run chmod");
    assert!(status.success());
}

#[test]
fn a_read_only_repository_can_be_read_and_refuses_writes_clearly() {
    let env = configured();
    env.vane(&["task", "add", "One", "--run", "true"]).success();
    env.vane(&["task", "add", "Two", "--deps", "T1"]).success();
    if is_root(&env) {
        // nobody reads the repository (the temporary directory is the owner's only) and is told
        // that it is safe; it can write nothing of it.
        chmod(&["0755"], &env.root);
        std::fs::write(env.home.join(".gitconfig"), "[safe]\n\tdirectory = *\n").unwrap();
    }
    let git_dir = env.repo.join(".git");
    chmod(&["-R", "a-w"], &git_dir);
    let before = env.snapshot_files(&git_dir);
    let Some(status) = run_read_only(&env, &["status"]) else {
        chmod(&["-R", "u+w"], &git_dir);
        return;
    };
    let status = status.success();
    assert!(status.stdout.contains("2 tasks"), "{}", status.stdout);
    for args in [
        &["task", "list"][..],
        &["task", "show", "T2"],
        &["events"],
        &["checkpoints"],
        &["export"],
        &["config", "show"],
        &["quality"],
        &["status", "--json"],
    ] {
        run_read_only(&env, args).unwrap().success();
    }
    let doctor = run_read_only(&env, &["doctor", "--json"]).unwrap();
    let checks = doctor.json().as_array().unwrap().clone();
    let found = doctor_check(&checks, "database");
    assert_eq!(found["ok"], true, "{found}");
    assert!(text(&found["detail"]).contains("read-only"), "{found}");
    assert!(
        !doctor.stdout.contains("empty task graph"),
        "{}",
        doctor.stdout
    );
    assert_eq!(doctor.code, 0, "{}", doctor.stdout);
    let run = run_read_only(&env, &["task", "add", "Three"])
        .unwrap()
        .failure(4);
    assert!(
        run.stderr.contains("the repository is read-only"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("commands that only read"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("empty task graph"), "{}", run.stderr);
    let run = run_read_only(&env, &["work"]).unwrap().failure(4);
    assert!(
        run.stderr.contains("the repository is read-only"),
        "{}",
        run.stderr
    );
    assert_eq!(env.snapshot_files(&git_dir), before, "nothing was written");
    chmod(&["-R", "u+w"], &git_dir);
    // Writable again, all is as it was.
    env.vane(&["task", "add", "Three"]).success();
}

#[test]
fn doctor_finds_a_worktree_whose_git_file_was_removed_and_gc_collects_it() {
    let env = configured();
    land(&env, &env.repo, "a");
    let dirs = worktree_dirs(&env);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let worktree = &dirs[0];
    let name = format!(
        "worktree {}",
        worktree.file_name().unwrap().to_string_lossy()
    );
    assert!(doctor_check(&doctor(&env, 0), "worktree integrity")["ok"] == true);
    // An agent removes the worktree's `.git` and leaves a file behind.
    std::fs::remove_file(worktree.join(".git")).unwrap();
    std::fs::write(worktree.join("left.txt"), "work\n").unwrap();
    let checks = doctor(&env, 1);
    assert_eq!(doctor_problems(&checks), std::slice::from_ref(&name));
    let found = doctor_check(&checks, &name);
    assert!(
        text(&found["detail"]).contains("its `.git` was removed"),
        "{found}"
    );
    assert!(text(&found["fix"]).contains("vane gc"), "{found}");
    // The fix works: the `.git` file comes back, the work is kept, the worktree goes.
    let report = env.vane(&["gc", "--json"]).success().json();
    assert_eq!(report["repaired"].as_array().unwrap().len(), 1, "{report}");
    assert!(!worktree.exists());
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
}

#[test]
fn doctor_finds_worktrees_of_a_deleted_repository_and_gc_removes_them() {
    let env = configured();
    land(&env, &env.repo, "a");
    let dirs = worktree_dirs(&env);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    // The repository is deleted and made again at the same path: its worktree folder is the same.
    std::fs::remove_dir_all(&env.repo).unwrap();
    std::fs::create_dir(&env.repo).unwrap();
    env.git(&env.repo, &["init", "-q", "-b", "main"]);
    std::fs::write(env.repo.join("README.md"), "# again\n").unwrap();
    env.git(&env.repo, &["add", "README.md"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Again"]);
    env.vane(&["init"]).success();
    commit_config(&env, &env.repo);
    let checks = doctor(&env, 1);
    let name = format!(
        "worktree {}",
        dirs[0].file_name().unwrap().to_string_lossy()
    );
    assert_eq!(doctor_problems(&checks), std::slice::from_ref(&name));
    let found = doctor_check(&checks, &name);
    assert!(
        text(&found["detail"]).contains("a worktree of a repository that was deleted"),
        "{found}"
    );
    assert!(text(&found["fix"]).contains("vane gc"), "{found}");
    let dry = env.vane(&["gc", "--dry-run", "--json"]).success().json();
    assert_eq!(dry["orphans_removed"].as_array().unwrap().len(), 1, "{dry}");
    assert!(dirs[0].exists(), "a dry run changes nothing");
    let run = env.vane(&["gc"]).success();
    assert!(
        run.stderr
            .contains("a worktree of a repository that is gone"),
        "{}",
        run.stderr
    );
    assert!(!dirs[0].exists());
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    // The new repository works from there.
    land(&env, &env.repo, "b");
}

#[test]
fn gc_all_repos_removes_the_worktrees_of_repositories_that_are_gone_and_keeps_the_others() {
    let env = configured();
    land(&env, &env.repo, "a");
    let other = env.root.join("other");
    std::fs::create_dir(&other).unwrap();
    env.git(&other, &["init", "-q", "-b", "main"]);
    std::fs::write(other.join("README.md"), "# other\n").unwrap();
    env.git(&other, &["add", "README.md"]);
    env.git(&other, &["commit", "-q", "-m", "Other"]);
    env.vane_in(&other, &["init"]).success();
    commit_config(&env, &other);
    land(&env, &other, "x");
    let all = worktree_dirs(&env);
    assert_eq!(all.len(), 2, "{all:?}");
    let (gone, live): (Vec<_>, Vec<_>) = all.into_iter().partition(|dir| {
        dir.parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("other-")
    });
    std::fs::remove_dir_all(&other).unwrap();
    // A link in the folder is never followed.
    let base = env.home.join(".local/share/vane/worktrees");
    std::os::unix::fs::symlink(&env.repo, base.join("link")).unwrap();

    let dry = env
        .vane_in(&env.root, &["gc", "--all-repos", "--dry-run", "--json"])
        .success()
        .json();
    let removed: Vec<&str> = dry["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(removed, [gone[0].to_str().unwrap()], "{dry}");
    assert!(gone[0].exists(), "a dry run changes nothing");

    let run = env.vane_in(&env.root, &["gc", "--all-repos"]).success();
    assert!(run.stderr.contains("Removed "), "{}", run.stderr);
    assert!(run.stderr.contains("Freed "), "{}", run.stderr);
    assert!(!gone[0].exists());
    assert!(
        !gone[0].parent().unwrap().exists(),
        "its emptied folder goes too"
    );
    assert!(
        live[0].join(".git").is_file(),
        "a live repository's worktree stays"
    );
    assert!(
        env.repo.join("README.md").is_file(),
        "the link was not followed"
    );
    assert!(base.join("link").exists());
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    let again = env
        .vane_in(&env.root, &["gc", "--all-repos", "--json"])
        .success()
        .json();
    assert_eq!(again["removed"].as_array().unwrap().len(), 0, "{again}");
}

#[test]
fn doctor_finds_a_checkpoint_ref_the_database_does_not_know_and_its_fix_works() {
    let env = configured();
    land(&env, &env.repo, "a");
    let head = env
        .git(&env.repo, &["rev-parse", "HEAD"])
        .trim()
        .to_string();
    // As after putting back an older copy of the database: a later checkpoint's ref stays.
    env.git(&env.repo, &["update-ref", "refs/vane/checkpoints/9", &head]);
    let checks = doctor(&env, 1);
    assert_eq!(doctor_problems(&checks), ["checkpoint ref 9"]);
    let found = doctor_check(&checks, "checkpoint ref 9");
    assert!(
        text(&found["detail"]).contains("names no checkpoint the database knows"),
        "{found}"
    );
    let fix = text(&found["fix"]);
    let commands = fix
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("a command in {fix}"));
    for command in commands.split(" && ") {
        let args: Vec<&str> = command.split(' ').skip(1).collect();
        env.git(&env.repo, &args);
    }
    assert_eq!(doctor_problems(&doctor(&env, 0)), Vec::<String>::new());
    assert_eq!(
        env.git(
            &env.repo,
            &["rev-parse", "refs/vane/broken/unknown/checkpoints/9"]
        )
        .trim(),
        head,
        "the commit is kept under another name"
    );
}

#[test]
fn a_worktree_record_left_unreadable_with_its_directory_gone_is_forgotten_by_recovery() {
    // A run killed while `git worktree add` wrote the record, and the next one killed between
    // taking the broken worktree's directory away and removing the record (found by the
    // randomized kill test).
    let env = configured();
    land(&env, &env.repo, "a");
    let dirs = worktree_dirs(&env);
    let record = env.repo.join(".git/worktrees/w1");
    std::fs::write(record.join("commondir"), "").unwrap();
    std::fs::remove_file(record.join("HEAD")).unwrap();
    std::fs::remove_dir_all(&dirs[0]).unwrap();
    land(&env, &env.repo, "b");
    assert!(env.repo.join("b.txt").is_file());
    env.git(&env.repo, &["fsck", "--no-progress"]);
    env.git(&env.repo, &["worktree", "list"]);
}
