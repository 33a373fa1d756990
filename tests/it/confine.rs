//! Kernel confinement (Landlock) of agents end to end: a `shell` agent that tries to write where no
//! agent may is refused by the kernel each time, whatever vane's other checks would catch later,
//! while an ordinary agent that edits, commits and uses a temporary file still lands; and
//! `confine = false` turns it off.

use crate::common::{doctor_check, TestEnv};

/// Whether this kernel can confine; says so and skips when it cannot.
fn landlock() -> bool {
    match vane::agent::confine::status() {
        Ok(_) => true,
        Err(why) => {
            eprintln!("note: skipping a confinement test: {why}");
            false
        }
    }
}

fn add(env: &TestEnv, id: &str, run: &str) {
    env.vane(&["task", "add", id, "--id", id, "--run", run])
        .success();
}

#[test]
fn a_confined_agent_cannot_write_outside_its_worktree_and_branch() {
    if !landlock() {
        return;
    }
    let env = TestEnv::configured("workers = 1\nmax_attempts = 1\n");
    let checkout = env.repo.display().to_string();
    // Each attempt prints `refused <what>` when it fails and `WROTE <what>` when it does not; the
    // report is the task's change, so it lands for the test to read.
    let attempts = [
        ("checkout", format!("echo x >> '{checkout}/README.md'")),
        ("new file in checkout", format!("echo x > '{checkout}/intruder'")),
        ("remove in checkout", format!("rm -f '{checkout}/README.md'")),
        ("other worktree", "mkdir ../intruder && echo x > ../intruder/f".to_string()),
        ("config", "echo x >> \"$common/config\"".to_string()),
        ("hook", "echo x > \"$common/hooks/pre-commit\"".to_string()),
        ("packed-refs", "echo x >> \"$common/packed-refs\"".to_string()),
        ("vane state", "echo x > \"$common/vane/intruder\"".to_string()),
        ("vane database", "echo x >> \"$common/vane/vane.db\"".to_string()),
        (
            "main",
            "git update-ref refs/heads/main HEAD && test \"$(git rev-parse main)\" = \"$(git rev-parse HEAD)\""
                .to_string(),
        ),
        ("tmp outside TMPDIR", "echo x > /tmp/vane-confine-intruder-$$".to_string()),
    ];
    let mut script = String::from(
        "common=$(git rev-parse --git-common-dir)\n\
         echo y > y.txt && git add y.txt && git commit -q -m 'Agent commit'\n",
    );
    for (what, command) in &attempts {
        script.push_str(&format!(
            "if ( {command} ) 2>/dev/null; then echo 'WROTE {what}'; else echo 'refused {what}'; fi >> report.txt\n"
        ));
    }
    add(&env, "hostile", &script);
    let before = env.snapshot_files(&env.repo);
    let main_before = env.git(&env.repo, &["rev-parse", "main"]);
    let config_before = std::fs::read(env.repo.join(".git/config")).unwrap();

    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("1 landed, 0 blocked"), "{}", run.stderr);

    let report = env.git(&env.repo, &["show", "main:report.txt"]);
    for (what, _) in &attempts {
        assert!(
            report.contains(&format!("refused {what}\n")),
            "not refused: {what}\n{report}"
        );
    }
    assert!(!report.contains("WROTE"), "{report}");
    // The landing is the only move of main, and brought only the task's files into the checkout.
    let first_parents = env.git(
        &env.repo,
        &[
            "rev-list",
            "--first-parent",
            &format!("{}..main", main_before.trim()),
        ],
    );
    assert_eq!(first_parents.lines().count(), 1, "{first_parents}");
    let after = env.snapshot_files(&env.repo);
    let unchanged =
        |files: &[(std::path::PathBuf, Vec<u8>)]| -> Vec<(std::path::PathBuf, Vec<u8>)> {
            files
                .iter()
                .filter(|(path, _)| {
                    let relative = path.strip_prefix(&env.repo).unwrap();
                    // What vane itself writes (its state, git's own bookkeeping) and the landing's
                    // files aside, every file of the checkout is byte for byte as it was.
                    !relative.starts_with(".git")
                        && !["y.txt", "report.txt"]
                            .iter()
                            .any(|f| relative == std::path::Path::new(f))
                })
                .cloned()
                .collect()
        };
    assert_eq!(unchanged(&before), unchanged(&after));
    assert!(!env.repo.join("intruder").exists());
    assert_eq!(
        std::fs::read(env.repo.join(".git/config")).unwrap(),
        config_before
    );
    assert!(!env.repo.join(".git/hooks/pre-commit").exists());
    assert!(!env.repo.join(".git/packed-refs").exists());
    assert!(!env.state_dir().join("intruder").exists());
    // The agent's own commit is on its branch, and landed.
    let log = env.git(&env.repo, &["log", "--format=%s", "main"]);
    assert!(log.contains("Agent commit"), "{log}");
    assert_eq!(env.git(&env.repo, &["status", "--porcelain"]), "");
}

#[test]
fn a_confined_agent_edits_commits_and_uses_its_temporary_directory() {
    if !landlock() {
        return;
    }
    let env = TestEnv::configured(
        "workers = 1\n[[gate]]\nname = \"tmp\"\ncommand = \"t=$(mktemp) && echo ok > \\\"$t\\\" && test -s from-tmp.txt\"\n",
    );
    add(
        &env,
        "ordinary",
        "t=$(mktemp) && echo \"$TMPDIR\" > \"$t\" && cp \"$t\" from-tmp.txt && \
         mkdir -p src/deep && echo code > src/deep/lib.txt && mv src/deep/lib.txt src/lib.txt && \
         echo more >> README.md && git add -A && git commit -q -m 'Edit and commit'",
    );
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("1 landed, 0 blocked"), "{}", run.stderr);
    let tmp = env.git(&env.repo, &["show", "main:from-tmp.txt"]);
    let run_dir = env.state_dir().join("runs/ordinary/1");
    assert_eq!(tmp.trim(), run_dir.join("tmp").display().to_string());
    assert!(
        !run_dir.join("tmp").exists(),
        "the temporary directory is gone"
    );
    assert_eq!(env.git(&env.repo, &["show", "main:src/lib.txt"]), "code\n");
    assert_eq!(
        env.git(&env.repo, &["show", "main:README.md"]),
        "# sample\nmore\n"
    );
    let log = env.git(&env.repo, &["log", "--format=%s", "main"]);
    assert!(log.contains("Edit and commit"), "{log}");

    let doctor = env.vane(&["doctor", "--json"]).json();
    let check = doctor_check(doctor.as_array().unwrap(), "confinement");
    assert_eq!(check["ok"], true);
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("run confined (Landlock ABI"), "{detail}");
}

#[test]
fn confine_false_runs_agents_unconfined() {
    let env = TestEnv::configured("workers = 1\nconfine = false\n");
    let outside = env.root.join("outside.txt");
    add(
        &env,
        "free",
        &format!(
            "echo free > '{}' && echo done > done.txt",
            outside.display()
        ),
    );
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("1 landed, 0 blocked"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "free\n");

    let doctor = env.vane(&["doctor", "--json"]).json();
    let check = doctor_check(doctor.as_array().unwrap(), "confinement");
    assert!(
        check["detail"].as_str().unwrap().starts_with("off"),
        "{check}"
    );
}
