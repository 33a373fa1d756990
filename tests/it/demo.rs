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
    // Counted as `vane status` counts them: tasks, not the epics that hold them.
    assert!(
        run.stderr
            .contains("imported a roadmap of 8 tasks in 2 epics"),
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

    // A directory the person names is theirs: it stays, and the demo says how to go on there
    // with the vane that ran it (a build of this repository, not installed).
    let sample_word = sample.display().to_string();
    assert!(
        run.stderr.contains(&format!(
            "Go on with it: cargo run -- -C {sample_word} checkpoints, then cargo run -- -C \
             {sample_word} task show version"
        )),
        "{}",
        run.stderr
    );
    // The sample is a repository set up for vane like any other.
    let checks = env.vane_in(&sample, &["doctor", "--json"]).success().json();
    assert_eq!(
        crate::common::doctor_problems(checks.as_array().unwrap()),
        Vec::<String>::new()
    );

    // A second demo into the same place is refused and leaves it alone.
    let before = env.snapshot_files(&sample);
    let run = env.vane_in(&env.root, &["demo", "sample"]).failure(1);
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
    assert_eq!(env.snapshot_files(&sample), before);
}

/// `vane demo` with `args`, its temporary directory under `tmp`, and `path` prepended to PATH.
fn demo_in_tmp(
    env: &TestEnv,
    tmp: &std::path::Path,
    path: Option<&std::path::Path>,
    args: &[&str],
) -> (bool, String) {
    std::fs::create_dir_all(tmp).unwrap();
    let mut command = env.vane_command(args);
    command.env("TMPDIR", tmp);
    if let Some(dir) = path {
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        command.env("PATH", std::env::join_paths(dirs).unwrap());
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

#[test]
fn the_demo_removes_its_temporary_repository_unless_asked_to_keep_it() {
    let env = TestEnv::new();
    let tmp = env.root.join("tmp");
    let (ok, stderr) = demo_in_tmp(&env, &tmp, None, &["demo"]);
    assert!(ok, "{stderr}");
    assert_eq!(entries(&tmp), Vec::<std::path::PathBuf>::new(), "{stderr}");
    assert!(
        stderr.contains(
            "Removed the sample repository. To look around in it afterwards: cargo run -- demo --keep"
        ),
        "{stderr}"
    );

    // Kept, with the way to look at it; when the `vane` on PATH is this one, that is `vane`.
    let bin = env.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vane"), bin.join("vane")).unwrap();
    let (ok, stderr) = demo_in_tmp(&env, &tmp, Some(&bin), &["demo", "--keep"]);
    assert!(ok, "{stderr}");
    let folders = entries(&tmp);
    assert_eq!(folders.len(), 1, "{folders:?}");
    let sample = folders[0].join("greeter");
    assert!(sample.join(".git").is_dir(), "{stderr}");
    assert!(
        folders[0].join("greeter-worktrees").is_dir(),
        "its worktrees beside it"
    );
    let shown = format!("Go on with it: vane -C {} checkpoints", sample.display());
    assert!(stderr.contains(&shown), "{stderr}");
    // The command it shows works.
    let run = env
        .vane(&["-C", sample.to_str().unwrap(), "checkpoints", "--json"])
        .success();
    assert_eq!(run.json().as_array().map(Vec::len), Some(12));

    // In JSON, whether it stayed.
    let output = env
        .vane_command(&["demo", "--json"])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["kept"], false, "{json}");
    assert_eq!(entries(&tmp), folders, "only the kept one is left");
}
