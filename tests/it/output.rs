//! What agents print is escaped before it reaches a terminal and capped before it fills a disk;
//! `vane gc --keep-days` collects old run directories and `vane doctor` says what they take.

use std::path::Path;

use crate::common::{doctor_check, TestEnv};

/// What an agent prints to take over a terminal: a window title (OSC 0 ending in BEL) and a
/// clear screen.
const PWNED: &str = "\x1b]0;pwned\x07\x1b[2J";
/// The same, as vane shows it.
const PWNED_SHOWN: &str = "\\x1b]0;pwned\\x07\\x1b[2J";

#[track_caller]
fn assert_no_controls(what: &str, text: &str) {
    let found: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect();
    assert!(
        found.is_empty(),
        "{what} printed the controls {found:?}:\n{text}"
    );
}

#[test]
fn escape_sequences_from_titles_and_agents_are_shown_escaped() {
    let env = TestEnv::configured("max_attempts = 1\n");
    env.write(
        "roadmap.yaml",
        "tasks:\n  - id: evil\n    title: Evil\n    \
         description: \"Look \\e]8;;https://evil.example\\e\\\\here\\e]8;;\\e\\\\ now\"\n    \
         run: 'printf \"\\033]0;pwned\\007\\033[2J\"; echo; exit 1'\n",
    );
    env.vane(&["import", "roadmap.yaml"]).success();
    // Titles with controls are refused on the way in now; a database from before holds them.
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let title = format!("Evil {PWNED} title");
    conn.execute(
        "UPDATE tasks SET title = ?1 WHERE id = 'evil'",
        [title.as_str()],
    )
    .unwrap();
    drop(conn);

    let work = env.vane(&["work"]).failure(1);
    assert_no_controls("vane work", &work.stderr);
    assert!(
        work.stderr
            .contains(&format!("evil started: Evil {PWNED_SHOWN} title")),
        "{}",
        work.stderr
    );
    assert!(work.stderr.contains(PWNED_SHOWN), "{}", work.stderr);
    // The agent's output itself is kept as it was printed.
    let stdout = std::fs::read_to_string(env.state_dir().join("runs/evil/1/agent.stdout")).unwrap();
    assert_eq!(stdout, format!("{PWNED}\n"));

    let show = env.vane(&["task", "show", "evil"]).success();
    assert_no_controls("vane task show", &show.stdout);
    assert!(
        show.stdout
            .starts_with(&format!("evil  Evil {PWNED_SHOWN} title\n")),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("    Look \\x1b]8;;https://evil.example\\x1b\\here\\x1b]8;;\\x1b\\ now\n"),
        "{}",
        show.stdout
    );
    // The reason quotes the end of what the agent printed, on the next line.
    let reason: Vec<&str> = show
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("reason:"))
        .take(2)
        .collect();
    assert_eq!(reason.get(1), Some(&PWNED_SHOWN), "{}", show.stdout);

    let events = env.vane(&["events"]).success();
    assert_no_controls("vane events", &events.stdout);
    assert!(events.stdout.contains(PWNED_SHOWN), "{}", events.stdout);

    for args in [
        &["status"][..],
        &["task", "list"][..],
        &["task", "list", "--status", "blocked"][..],
        &["checkpoints"][..],
        &["quality"][..],
    ] {
        let run = env.vane(args).success();
        assert_no_controls(&format!("vane {args:?}"), &run.stdout);
        assert_no_controls(&format!("vane {args:?}"), &run.stderr);
    }
    let list = env.vane(&["task", "list"]).success();
    assert!(list.stdout.contains(PWNED_SHOWN), "{}", list.stdout);

    // JSON stays exact.
    let json = env
        .vane(&["task", "show", "evil", "--json"])
        .success()
        .json();
    assert_eq!(json["title"], title.as_str());
    assert!(json["block_reason"].as_str().unwrap().contains(PWNED));
}

#[test]
fn agent_output_beyond_the_log_limit_keeps_its_head_and_tail() {
    let env = TestEnv::configured("log_limit = 65536\n");
    env.vane(&[
        "task",
        "add",
        "Loud",
        "--id",
        "loud",
        "--run",
        "seq 1 200000; echo '{\"result\":\"the last line\"}'; seq 1 5000 >&2; echo done > out.txt",
    ])
    .success();
    let shown = env.vane(&["config", "show"]).success();
    assert!(shown.stdout.contains("log_limit"), "{}", shown.stdout);
    env.vane(&["work"]).success();

    let run_dir = env.state_dir().join("runs/loud/1");
    let stdout = std::fs::read_to_string(run_dir.join("agent.stdout")).unwrap();
    let full: usize = (1..=200_000)
        .map(|n: u32| n.to_string().len() + 1)
        .sum::<usize>()
        + "{\"result\":\"the last line\"}\n".len();
    let dropped = full - 65536;
    assert!(stdout.starts_with("1\n2\n3\n"), "{}", &stdout[..20]);
    assert!(
        stdout.contains(&format!(
            "[vane: {} bytes dropped here]\n",
            grouped(dropped)
        )),
        "no note in {} bytes",
        stdout.len()
    );
    assert!(stdout.ends_with("199999\n200000\n{\"result\":\"the last line\"}\n"));
    assert!(stdout.len() < 65536 + 100, "{}", stdout.len());
    // Each stream has a limit of its own.
    let stderr = std::fs::read_to_string(run_dir.join("agent.stderr")).unwrap();
    assert!(stderr.starts_with("1\n") && stderr.ends_with("4999\n5000\n"));
    assert!(!stderr.contains("dropped"), "5000 short lines fit");
}

/// 1234567 as `1,234,567`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sets the modification time of `path` and everything under it to `days` ago.
fn age(path: &Path, days: u32) {
    let status = std::process::Command::new("find")
        .arg(path)
        .args([
            "-exec",
            "touch",
            "-h",
            "-d",
            &format!("{days} days ago"),
            "{}",
            "+",
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn gc_with_keep_days_removes_old_runs_but_never_the_latest_attempt_of_an_open_task() {
    let env = TestEnv::configured("max_attempts = 2\n");
    for (id, run) in [("landed", "echo a > a.txt"), ("stuck", "echo no; exit 1")] {
        env.vane(&["task", "add", id, "--id", id, "--run", run])
            .success();
    }
    env.vane(&["work"]).failure(1);
    let runs = env.state_dir().join("runs");
    for dir in ["landed/1", "stuck/1", "stuck/2"] {
        assert!(runs.join(dir).join("prompt.md").is_file(), "{dir}");
    }
    let gone = runs.join("gone-task/1");
    std::fs::create_dir_all(&gone).unwrap();
    std::fs::write(gone.join("agent.stdout"), "from a task deleted since\n").unwrap();

    let doctor = env.vane(&["doctor", "--json"]).json();
    let check = doctor_check(doctor.as_array().unwrap(), "worktrees");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("the run directories (prompts, agent output, gate logs) in ")
            && detail.contains(" take "),
        "{detail}"
    );

    // Plain gc leaves runs alone, and so does --keep-days while they are new.
    env.vane(&["gc"]).success();
    env.vane(&["gc", "--keep-days", "3"]).success();
    for dir in ["landed/1", "stuck/1", "stuck/2", "gone-task/1"] {
        assert!(runs.join(dir).is_dir(), "{dir} stays");
    }

    age(&runs, 10);
    let dry = env.vane(&["gc", "--keep-days", "3", "--dry-run"]).success();
    assert!(
        dry.stderr.contains(&format!(
            "Would remove run directory {}",
            runs.join("landed/1").display()
        )),
        "{}",
        dry.stderr
    );
    assert!(runs.join("landed/1").is_dir(), "a dry run removes nothing");

    let report = env
        .vane(&["gc", "--keep-days", "3", "--json"])
        .success()
        .json();
    let mut removed: Vec<String> = report["runs_removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            Path::new(r["path"].as_str().unwrap())
                .strip_prefix(&runs)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    removed.sort();
    assert_eq!(removed, ["gone-task/1", "landed/1", "stuck/1"]);
    assert!(
        !runs.join("landed").exists(),
        "an emptied task directory goes"
    );
    assert!(!runs.join("gone-task").exists());
    assert!(
        runs.join("stuck/2/agent.stdout").is_file(),
        "the latest attempt of a task that is not done stays"
    );
}
