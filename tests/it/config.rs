//! `vane config show` and `vane config check`, and the same messages from every other command.

use crate::common::TestEnv;

const BROKEN: &str = "\
workers = 2
thresold = 0.5
max_attempts = \"three\"

[agents.x]
command = [\"x\"]
parsr = \"text\"

[[gate]]
name = \"tests\"
command = \"true\"
tmeout = 30
";

#[test]
fn show_gives_every_key_with_its_value_and_source() {
    let env = TestEnv::initialised();
    env.write(
        "vane.toml",
        "# ours\nworkers = 2\n\n[agents.claude]\ntimeout = 60\n\n[[gate]]\nname = \"tests\"\ncommand = \"true\"\n",
    );
    let json = env.vane(&["config", "show", "--json"]).success().json();
    assert_eq!(
        json["workers"],
        serde_json::json!({"value": 2, "source": "vane.toml", "line": 2})
    );
    assert_eq!(
        json["default_agent"],
        serde_json::json!({"value": "shell", "source": "default", "line": null})
    );
    assert_eq!(json["base_branch"]["value"], serde_json::Value::Null);
    assert_eq!(json["agents.claude.timeout"]["value"], 60);
    assert_eq!(json["agents.claude.timeout"]["line"], 5);
    assert_eq!(json["agents.claude.parser"]["value"], "claude");
    assert_eq!(json["agents.claude.parser"]["source"], "default");
    assert_eq!(json["agents.shell.command"]["value"][0], "sh");
    assert_eq!(json["gate.tests.command"]["line"], 9);
    assert_eq!(json["gate.tests.timeout"]["value"], 600);
    assert_eq!(json["gate.tests.required"]["value"], true);

    let text = env.vane(&["config", "show"]).success().stdout;
    let line = |key: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line("workers"), ["workers", "vane.toml:2", "2"]);
    assert_eq!(line("max_attempts"), ["max_attempts", "default", "3"]);
    assert_eq!(
        line("gate.tests.name"),
        ["gate.tests.name", "vane.toml:8", "\"tests\""]
    );
    // The columns line up under their headings.
    let header = text.lines().next().unwrap();
    let source_column = header.find("SOURCE").unwrap();
    let value_column = header.find("VALUE").unwrap();
    for row in text.lines().skip(1) {
        let source = &row[source_column..];
        assert!(
            source.starts_with("vane.toml:") || source.starts_with("default"),
            "{row}"
        );
        assert!(row[..value_column].ends_with(' '), "{row}");
        assert!(!row[value_column..].starts_with(' '), "{row}");
    }
}

#[test]
fn show_lists_the_executors_and_where_landings_go() {
    let env = TestEnv::initialised();
    env.write(
        "vane.toml",
        "land_to = \"origin\"\n\n[executor.cluster]\nstart = \"sbatch --wrap {worker}\"\nmax_jobs = 4\n",
    );
    let json = env.vane(&["config", "show", "--json"]).success().json();
    assert_eq!(
        json["land_to"],
        serde_json::json!({"value": "origin", "source": "vane.toml", "line": 1})
    );
    assert_eq!(json["pr_command"]["value"], serde_json::Value::Null);
    assert_eq!(json["executor.cluster.start"]["line"], 4);
    assert_eq!(json["executor.cluster.max_jobs"]["value"], 4);
    assert_eq!(json["executor.cluster.time_limit"]["source"], "default");
    assert_eq!(json["executor.local.max_jobs"]["value"], 8);

    let text = env.vane(&["config", "show"]).success().stdout;
    let row = |key: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("land_to"), "vane.toml:1 \"origin\"");
    assert_eq!(row("pr_command"), "default (not set: no pull requests)");
    assert_eq!(
        row("executor.cluster.start"),
        "vane.toml:4 \"sbatch --wrap {worker}\""
    );
    assert_eq!(
        row("executor.local.start"),
        "default (not set: `vane worker` runs as a process here)"
    );
}

#[test]
fn show_and_check_work_before_init_and_without_a_file() {
    let env = TestEnv::new();
    let run = env.vane(&["config", "check"]).success();
    assert!(run.stdout.contains("which is fine"), "{}", run.stdout);
    let json = env.vane(&["config", "show", "--json"]).success().json();
    assert_eq!(json["workers"]["source"], "default");
}

#[test]
fn check_reports_every_problem_with_its_line_and_a_suggestion() {
    let env = TestEnv::initialised();
    env.write("vane.toml", BROKEN);
    let run = env.vane(&["config", "check"]).failure(1);
    for expected in [
        "has 4 problems",
        "line 2: unknown key \"thresold\"; did you mean \"threshold\"?",
        "line 3: wrong type for `max_attempts`: expected an integer, found a string",
        "line 7: unknown key \"parsr\" in [agents.x]; did you mean \"parser\"?",
        "line 12: unknown key \"tmeout\" in [[gate]]; did you mean \"timeout\"?",
    ] {
        assert!(
            run.stderr.contains(expected),
            "{expected:?} in:\n{}",
            run.stderr
        );
    }

    let run = env.vane(&["config", "check", "--json"]).failure(1);
    let json = run.json();
    assert_eq!(json["ok"], false);
    let problems = json["problems"].as_array().unwrap();
    let found: Vec<(i64, &str)> = problems
        .iter()
        .map(|p| (p["line"].as_i64().unwrap(), p["key"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            (2, "thresold"),
            (3, "max_attempts"),
            (7, "agents.x.parsr"),
            (12, "gate[1].tmeout")
        ]
    );

    // Show refuses the file with the same problems.
    let run = env.vane(&["config", "show"]).failure(1);
    assert!(
        run.stderr.contains("line 7: unknown key \"parsr\""),
        "{}",
        run.stderr
    );
}

#[test]
fn check_says_a_good_file_is_fine_with_what_it_holds() {
    let env = TestEnv::initialised();
    let run = env.vane(&["config", "check"]).success();
    assert_eq!(
        run.stdout.trim(),
        "vane.toml is fine: 0 keys set, 0 agent profiles, 0 gates"
    );
    env.write(
        "vane.toml",
        "workers = 2\nsetup = \"true\"\n[agents.claude]\ntimeout = 5\n[[gate]]\nname = \"a\"\ncommand = \"true\"\n[[gate]]\nname = \"b\"\ncommand = \"true\"\n",
    );
    let run = env.vane(&["config", "check"]).success();
    assert_eq!(
        run.stdout.trim(),
        "vane.toml is fine: 2 keys set, 1 agent profile, 2 gates"
    );
    let json = env.vane(&["config", "check", "--json"]).success().json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["gates"], 2);
    assert_eq!(json["problems"], serde_json::json!([]));
}

#[test]
fn other_commands_refuse_a_broken_file_with_the_same_messages() {
    let env = TestEnv::initialised();
    env.write("vane.toml", BROKEN);
    for args in [&["work"][..], &["gate"][..]] {
        let run = env.vane(args).failure(1);
        assert!(
            run.stderr
                .contains("line 12: unknown key \"tmeout\" in [[gate]]; did you mean \"timeout\"?"),
            "{args:?}:\n{}",
            run.stderr
        );
        assert!(run.stderr.contains("vane config check"), "{}", run.stderr);
    }
    // One problem reads as one line.
    env.write(
        "vane.toml",
        "[[gate]]\nname = \"t\"\ncommand = \"true\"\ntmeout = 3\n",
    );
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr.starts_with(&format!(
            "error: {}: line 4: unknown key \"tmeout\" in [[gate]]; did you mean \"timeout\"?",
            env.repo.join("vane.toml").display()
        )),
        "{}",
        run.stderr
    );
}
