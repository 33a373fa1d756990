//! `vane init`, and where vane refuses to run.

use crate::common::TestEnv;

#[test]
fn init_creates_the_state_and_a_commented_config() {
    let env = TestEnv::new();
    let run = env.vane(&["init"]).success();
    insta::assert_snapshot!("init_first_run", env.normalize(&run.stderr));
    assert!(env.state_dir().join("vane.db").is_file());
    assert!(env.state_dir().join("runs").is_dir());
    let config = std::fs::read_to_string(env.repo.join("vane.toml")).unwrap();
    assert!(config.starts_with("# vane.toml"), "{config}");
    // The state lives in the git directory: git shows only the config as new.
    let status = env.git(
        &env.repo,
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert_eq!(status, "?? vane.toml\n");
}

#[test]
fn a_second_init_says_so_and_changes_nothing() {
    let env = TestEnv::new();
    env.vane(&["init"]).success();
    std::fs::write(env.repo.join("vane.toml"), "workers = 2\n").unwrap();
    let events = env.count_rows("events");
    let run = env.vane(&["init"]).success();
    assert!(
        run.stderr.contains("already set up") && run.stderr.contains("nothing changed"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(env.repo.join("vane.toml")).unwrap(),
        "workers = 2\n"
    );
    assert_eq!(env.count_rows("events"), events);
    let json = env.vane(&["init", "--json"]).success().json();
    assert_eq!(json["already_set_up"], true);
    assert_eq!(json["database_created"], false);
}

#[test]
fn init_never_overwrites_an_existing_config() {
    let env = TestEnv::new();
    env.write("vane.toml", "# ours\nworkers = 8\n");
    let run = env.vane(&["init"]).success();
    assert!(run.stderr.contains("kept as it was"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("vane.toml")).unwrap(),
        "# ours\nworkers = 8\n"
    );
}

#[test]
fn init_works_from_a_subdirectory_and_from_a_linked_worktree() {
    let env = TestEnv::new();
    let sub = env.repo.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    env.vane_in(&sub, &["init"]).success();
    assert!(env.state_dir().join("vane.db").is_file());
    assert!(env.repo.join("vane.toml").is_file());
    assert!(!sub.join("vane.toml").exists());

    // A linked worktree shares the state of the repository it belongs to.
    let linked = env.root.join("linked");
    env.git(
        &env.repo,
        &[
            "worktree",
            "add",
            "-q",
            linked.to_str().unwrap(),
            "-b",
            "side",
        ],
    );
    env.vane(&[
        "task",
        "add",
        "Made in the main worktree",
        "--id",
        "main-task",
    ])
    .success();
    let run = env.vane_in(&linked, &["init"]).success();
    assert!(run.stderr.contains(".git/vane"), "{}", run.stderr);
    assert!(
        !linked.join(".git").is_dir(),
        "a linked worktree's .git is a file"
    );
    let list = env
        .vane_in(&linked, &["task", "list", "--json"])
        .success()
        .json();
    assert_eq!(list[0]["id"], "main-task");
}

#[test]
fn dash_c_runs_as_if_started_there() {
    let env = TestEnv::new();
    env.vane_in(&env.root, &["-C", "repo", "init"]).success();
    assert!(env.state_dir().join("vane.db").is_file());
    let run = env
        .vane_in(&env.root, &["-C", "nowhere", "status"])
        .failure(2);
    assert!(run.stderr.contains("no such directory"), "{}", run.stderr);
}

#[test]
fn init_refuses_outside_a_repository_and_writes_nothing() {
    let env = TestEnv::new();
    let outside = env.root.join("plain");
    std::fs::create_dir_all(&outside).unwrap();
    let run = env.vane_in(&outside, &["init"]).failure(3);
    insta::assert_snapshot!("init_outside_repository", env.normalize(&run.stderr));
    assert!(env.snapshot_files(&outside).is_empty());
}

#[test]
fn init_refuses_a_bare_repository_and_writes_nothing() {
    let env = TestEnv::new();
    let bare = env.root.join("bare.git");
    env.git(&env.root, &["clone", "-q", "--bare", "repo", "bare.git"]);
    let before = env.snapshot_files(&bare);
    let run = env.vane_in(&bare, &["init"]).failure(3);
    assert!(
        run.stderr.contains("is a bare repository"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert_eq!(env.snapshot_files(&bare), before);
}

#[test]
fn init_refuses_a_repository_without_a_commit_and_writes_nothing() {
    let env = TestEnv::new();
    let empty = env.root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    env.git(&empty, &["init", "-q"]);
    let before = env.snapshot_files(&empty);
    let run = env.vane_in(&empty, &["init"]).failure(3);
    insta::assert_snapshot!("init_no_commit", env.normalize(&run.stderr));
    assert_eq!(env.snapshot_files(&empty), before);
}

#[test]
fn commands_before_init_say_to_run_init() {
    let env = TestEnv::new();
    for args in [&["status"][..], &["task", "list"], &["events"]] {
        let run = env.vane(args).failure(3);
        assert!(run.stderr.contains("vane is not set up"), "{}", run.stderr);
        assert!(
            run.stderr.contains("hint: run `vane init` first"),
            "{}",
            run.stderr
        );
    }
    assert!(!env.state_dir().exists(), "reading commands create nothing");
}

#[test]
fn a_database_from_a_newer_vane_is_refused() {
    let env = TestEnv::initialised();
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let run = env.vane(&["status"]).failure(3);
    assert!(
        run.stderr
            .contains("schema version 999, newer than this vane knows"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: use a newer vane"),
        "{}",
        run.stderr
    );
}
