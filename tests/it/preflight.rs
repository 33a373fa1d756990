//! Faults found before any attempt is spent: bad input refused at `vane task add` and `vane import`,
//! and the project's own problems (a profile that cannot start, a gate whose program is missing)
//! reported by `vane config check` and `vane doctor`, and refused by `vane work` with nothing
//! charged to any task.

use serde_json::Value;

use crate::common::{doctor_check, TestEnv};

fn add(env: &TestEnv, id: &str, extra: &[&str]) {
    let mut args = vec![
        "task",
        "add",
        id,
        "--id",
        id,
        "--run",
        "echo done > done.txt",
    ];
    args.extend_from_slice(extra);
    env.vane(&args).success();
}

/// The database's tasks and events, to show that a refusal wrote nothing.
fn written(env: &TestEnv) -> (i64, i64) {
    (env.count_rows("tasks"), env.count_rows("events"))
}

/// Nothing was claimed: no batch, no attempt, the task pending, no claim among its events.
fn assert_nothing_charged(env: &TestEnv, task: &str) {
    assert_eq!(env.count_rows("attempts"), 0);
    assert_eq!(env.count_rows("batches"), 0);
    let shown = env.vane(&["task", "show", task, "--json"]).success().json();
    assert_eq!(shown["status"], "pending", "{shown}");
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["task_created"], "{shown}");
    let worktrees = env.git(&env.repo, &["worktree", "list"]);
    assert_eq!(worktrees.lines().count(), 1, "{worktrees}");
}

/// A program name that is on no PATH: `ruff`, unless this machine has it.
fn missing_linter() -> &'static str {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("ruff").is_file()));
    if on_path {
        "vane-test-no-such-ruff"
    } else {
        "ruff"
    }
}

fn doctor_checks(env: &TestEnv) -> Vec<Value> {
    let run = env.vane(&["doctor", "--json"]).failure(1);
    run.json().as_array().expect("a list of checks").clone()
}

#[test]
fn task_add_refuses_a_title_that_is_not_one_short_line_and_writes_nothing() {
    let env = TestEnv::initialised();
    let before = written(&env);
    let long = "x".repeat(5000);
    for (title, expected) in [
        (
            "Fix\nthe login",
            "error: the title has a line break at byte 3; a title is one line",
        ),
        (
            "Fix \u{1b}[31mred",
            "error: the title has the control character U+001B at byte 4",
        ),
        (
            long.as_str(),
            "error: the title is 5000 bytes long; a title is at most 4096 bytes",
        ),
        ("   ", "error: a task needs a title that is not empty"),
    ] {
        let run = env.vane(&["task", "add", title, "--id", "t"]).failure(1);
        assert!(run.stderr.starts_with(expected), "{}", run.stderr);
        assert!(run.stderr.contains("--description"), "{}", run.stderr);
    }
    // A tab is fine, and the title's surrounding blanks go.
    env.vane(&["task", "add", "  Fix\tthe form \n", "--id", "t"])
        .success();
    let shown = env.vane(&["task", "show", "t", "--json"]).success().json();
    assert_eq!(shown["title"], "Fix\tthe form");
    assert_eq!(written(&env).0, before.0 + 1);
}

#[test]
fn task_add_refuses_an_agent_that_is_neither_built_in_nor_in_vane_toml() {
    let env = TestEnv::configured("[agents.mine]\ncommand = [\"mine\", \"{prompt_file}\"]\n");
    let before = written(&env);
    let run = env
        .vane(&["task", "add", "Fix it", "--id", "t", "--agent", "nobody"])
        .failure(1);
    assert!(
        run.stderr.starts_with(
            "error: no agent profile `nobody`: built in are shell, claude, codex, aider, gemini, \
             and vane.toml defines mine"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("[agents.NAME]"), "{}", run.stderr);
    assert_eq!(written(&env), before);
    // Built-in and defined profiles are fine, whether or not their program is installed here.
    env.vane(&["task", "add", "A", "--id", "a", "--agent", "mine"])
        .success();
    env.vane(&["task", "add", "B", "--id", "b", "--agent", "codex"])
        .success();
}

#[test]
fn import_names_every_bad_entry_and_imports_nothing() {
    let env = TestEnv::configured("[agents.mine]\ncommand = [\"mine\", \"{prompt_file}\"]\n");
    let huge = "y".repeat(200 * 1024);
    env.write(
        "roadmap.yaml",
        &format!(
            "tasks:\n\
             \x20 - {{id: fine, title: Fine, agent: mine}}\n\
             \x20 - {{id: nul, title: \"Fix\\0it\"}}\n\
             \x20 - {{id: huge, title: {huge}}}\n\
             \x20 - {{id: ghost, title: Ghost, agent: nobody}}\n\
             \x20 - {{id: desc, title: Desc, description: \"a\\0b\", run: \"true\\0\"}}\n"
        ),
    );
    let before = written(&env);
    let run = env.vane(&["import", "roadmap.yaml"]).failure(1);
    let expected = "\
error: roadmap.yaml: 5 problems; nothing was imported
  tasks[1] (id `nul`): `title` has a NUL byte at byte 3; no program can be given one
  tasks[2] (id `huge`): `title` is 204800 bytes long; a title is at most 4096 bytes (put the rest in the description)
  tasks[3] (id `ghost`): no agent profile `nobody`: built in are shell, claude, codex, aider, gemini, and vane.toml defines mine
  tasks[4] (id `desc`): `description` has a NUL byte at byte 1; no program can be given one
  tasks[4] (id `desc`): `run` has a NUL byte at byte 4; no program can be given one
";
    assert!(run.stderr.starts_with(expected), "{}", run.stderr);
    assert_eq!(written(&env), before);
    // `--dry-run` says the same.
    env.vane(&["import", "roadmap.yaml", "--dry-run"])
        .failure(1);
}

#[test]
fn a_bad_placeholder_fails_config_check_and_work_refuses_without_an_attempt() {
    let env = TestEnv::configured(
        "default_agent = \"mine\"\n[agents.mine]\n\
         command = [\"sh\", \"-c\", \"cp \\\"$0\\\" out.txt\", \"{promt_file}\"]\n",
    );
    let run = env.vane(&["config", "check"]).failure(1);
    assert!(
        run.stderr.starts_with(
            "error: vane.toml parses, but 1 problem of the project would fail every attempt of \
             `vane work`\n  agent mine (vane.toml line 5, `agents.mine.command`): agent profile \
             `mine`: unknown placeholder `{promt_file}` in argument `{promt_file}`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("fix: change `command` under [agents.mine] in vane.toml"),
        "{}",
        run.stderr
    );
    let report = env.vane(&["config", "check", "--json"]).failure(1).json();
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert_eq!(report["preflight"][0]["key"], "agents.mine.command");
    assert_eq!(report["preflight"][0]["line"], 5);

    env.vane(&["task", "add", "Write it", "--id", "t"])
        .success();
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr.starts_with(
            "error: 1 problem of the project would fail every attempt; nothing was started, and \
             no attempt was charged\n  agent mine (vane.toml line 5, `agents.mine.command`):"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("unknown placeholder `{promt_file}`"));
    assert_nothing_charged(&env, "t");

    // Fixed, the same task runs.
    env.write(
        "vane.toml",
        "default_agent = \"mine\"\n[agents.mine]\n\
         command = [\"sh\", \"-c\", \"cp \\\"$0\\\" out.txt\", \"{prompt_file}\"]\n",
    );
    env.git(&env.repo, &["commit", "-q", "-am", "Fix the placeholder"]);
    env.vane(&["config", "check"]).success();
    env.vane(&["work"]).success();
    let shown = env.vane(&["task", "show", "t", "--json"]).success().json();
    assert_eq!(shown["status"], "done", "{shown}");
}

#[test]
fn a_gate_whose_program_is_missing_stops_work_before_any_attempt_and_doctor_reports_it() {
    let linter = missing_linter();
    let env = TestEnv::configured(&format!(
        "[[gate]]\nname = \"tests\"\ncommand = \"true\"\n\n[[gate]]\nname = \"lint\"\n\
         dimension = \"style\"\ncommand = \"{linter} check src\"\n"
    ));
    add(&env, "t", &[]);
    let run = env.vane(&["work"]).failure(1);
    let detail = format!(
        "gate lint (vane.toml line 10, `gate[2].command`): `{linter} check src` runs `{linter}`, \
         which is not installed (not found on PATH)\n    fix: install `{linter}` or put it on \
         PATH for vane, or change the gate's `command` in vane.toml"
    );
    assert!(run.stderr.contains(&detail), "{}", run.stderr);
    assert_nothing_charged(&env, "t");

    let checks = doctor_checks(&env);
    let lint = doctor_check(&checks, "gate lint");
    assert_eq!(lint["ok"], false, "{lint}");
    assert!(
        lint["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("runs `{linter}`, which is not installed")),
        "{lint}"
    );
    assert!(
        lint["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("install `{linter}`")),
        "{lint}"
    );
    assert_eq!(doctor_check(&checks, "agent shell")["ok"], true);
    env.vane(&["config", "check"]).failure(1);
}

#[test]
fn a_gate_script_must_be_in_the_repository() {
    let env =
        TestEnv::configured("[[gate]]\nname = \"lint\"\ncommand = \"./scripts/lint --all\"\n");
    let run = env.vane(&["config", "check"]).failure(1);
    assert!(
        run.stderr.contains(
            "gate lint (vane.toml line 5, `gate[1].command`): `./scripts/lint --all` runs \
             `./scripts/lint`, which is neither in the base branch nor in the working tree"
        ),
        "{}",
        run.stderr
    );
    let checks = doctor_checks(&env);
    assert_eq!(doctor_check(&checks, "gate lint")["ok"], false);
    // Committed, it is found in the base branch's tree.
    std::fs::create_dir_all(env.repo.join("scripts")).unwrap();
    env.write("scripts/lint", "#!/bin/sh\nexit 0\n");
    env.git(&env.repo, &["add", "scripts/lint"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Add the linter"]);
    env.vane(&["config", "check"]).success();
    let run = env.vane(&["doctor", "--json"]).success();
    let checks = run.json();
    let gates = doctor_check(checks.as_array().unwrap(), "gates");
    assert_eq!(gates["ok"], true, "{gates}");
}

#[test]
fn a_profile_that_cannot_start_stops_work_before_any_worktree() {
    // Tasks name profiles that exist when they are added; then vane.toml loses one and another's
    // program is not installed here.
    let env = TestEnv::configured(
        "[agents.ghost]\ncommand = [\"no-such-agent-here\", \"{prompt_file}\"]\n\
         [agents.gone]\ncommand = [\"sh\", \"-c\", \"true\"]\n",
    );
    add(&env, "t", &["--agent", "ghost"]);
    add(&env, "u", &["--agent", "gone"]);
    env.write(
        "vane.toml",
        "[agents.ghost]\ncommand = [\"no-such-agent-here\", \"{prompt_file}\"]\n",
    );
    env.git(&env.repo, &["commit", "-q", "-am", "Drop a profile"]);
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr.starts_with(
            "error: 2 problems of the project would fail every attempt; nothing was started"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "agent ghost (vane.toml line 2, `agents.ghost.command`): runs `no-such-agent-here`, \
             which is not installed (not found on PATH); used by task `t`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "agent gone: no such profile: it is neither built in nor defined in vane.toml; used \
             by task `u`"
        ),
        "{}",
        run.stderr
    );
    assert_nothing_charged(&env, "t");
    assert_nothing_charged(&env, "u");
    // Tasks left out by hand no longer count.
    env.vane(&["task", "block", "u", "--reason", "no agent for it"])
        .success();
    env.vane(&["task", "block", "t", "--reason", "no agent for it"])
        .success();
    env.vane(&["config", "check"]).success();
}
