//! `vane demo`: the newcomer's first command.

use crate::common::TestEnv;

#[test]
fn demo_makes_a_sample_repository_with_a_roadmap_ready_to_work() {
    let env = TestEnv::new();
    let run = env.vane_in(&env.root, &["demo", "sample"]).success();
    assert!(run.stdout.contains("8 tasks: 8 pending"), "{}", run.stdout);
    assert!(
        run.stderr.contains("Created a sample repository at"),
        "{}",
        run.stderr
    );
    let sample = env.root.join("sample");
    let log = env.git(&sample, &["log", "--format=%s"]);
    assert_eq!(log, "Start the greeter\n");
    assert!(sample.join(".git/vane/vane.db").is_file());
    let status = env.vane_in(&sample, &["status", "--json"]).success().json();
    assert_eq!(status["total"], 8);
    assert_eq!(status["ready_count"], 4);
    let task = env
        .vane_in(&sample, &["task", "show", "usage", "--json"])
        .success()
        .json();
    assert!(task["run"].as_str().unwrap().contains("README.md"));

    // A second demo into the same place is refused and leaves it alone.
    let before = env.snapshot_files(&sample);
    let run = env.vane_in(&env.root, &["demo", "sample"]).failure(1);
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
    assert_eq!(env.snapshot_files(&sample), before);
}
