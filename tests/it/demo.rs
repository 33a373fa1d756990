//! `vane demo`: the newcomer's first command runs the whole loop.

use crate::common::TestEnv;

#[test]
fn demo_runs_a_batch_with_a_retry_then_a_rollback_and_its_undo() {
    let env = TestEnv::new();
    let run = env.vane_in(&env.root, &["demo", "sample"]).success();
    assert!(run.stdout.contains("8 tasks: 8 done"), "{}", run.stdout);
    assert!(
        run.stderr.contains("Created a sample repository at"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("version started: Add a --version flag (shell, attempt 2)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("== vane rollback 1\n"),
        "{}",
        run.stderr
    );
    let sample = env.root.join("sample");
    // Worktrees went beside the sample, not into the person's data directory.
    assert!(env.root.join("sample-worktrees").is_dir());
    // After the undo, base holds every task's work again, and the checkout is clean.
    for file in ["LICENSE", "CONTRIBUTING.md", "FLAGS.md", "CHANGELOG.md"] {
        assert!(sample.join(file).is_file(), "{file}");
    }
    assert_eq!(env.git(&sample, &["status", "--porcelain"]), "");
    let greet = std::fs::read_to_string(sample.join("greet.sh")).unwrap();
    assert!(
        greet.contains("--version") && greet.contains("--shout"),
        "{greet}"
    );
    let version = env
        .vane_in(&sample, &["task", "show", "version", "--json"])
        .success()
        .json();
    assert_eq!(version["status"], "done");
    let checkpoints = env
        .vane_in(&sample, &["checkpoints", "--json"])
        .success()
        .json();
    let kinds: Vec<&str> = checkpoints
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "merge").count(), 8);
    assert_eq!(kinds.iter().filter(|k| **k == "pre_rollback").count(), 2);

    // A second demo into the same place is refused and leaves it alone.
    let before = env.snapshot_files(&sample);
    let run = env.vane_in(&env.root, &["demo", "sample"]).failure(1);
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
    assert_eq!(env.snapshot_files(&sample), before);
}
