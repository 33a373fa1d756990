//! Quality gates with scores: weights, the threshold, required gates, JSON score lines, critics,
//! the verdict cache, retries with the verdict as feedback, escalation, `vane gate`, `vane quality`.

use crate::common::TestEnv;

/// A repository set up for vane, with `vane.toml` (workers 2, the given attempts and the rest)
/// committed.
fn quality_env(config: &str) -> TestEnv {
    let env = TestEnv::initialised();
    env.write("vane.toml", &format!("workers = 2\n{config}"));
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    env
}

fn add(env: &TestEnv, id: &str, run: &str, extra: &[&str]) {
    let mut args = vec!["task", "add", id, "--id", id, "--run", run];
    args.extend_from_slice(extra);
    env.vane(&args).success();
}

fn status_of(env: &TestEnv, id: &str) -> serde_json::Value {
    env.vane(&["task", "show", id, "--json"]).success().json()
}

/// (number, profile, outcome, score, agent_reason) of one attempt.
type AttemptRow = (u32, String, String, Option<f64>, Option<String>);

/// A task's attempts, read with plain SQLite.
fn attempts(env: &TestEnv, id: &str) -> Vec<AttemptRow> {
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT number, profile, coalesce(outcome, ''), score, agent_reason
             FROM attempts WHERE task_id = ?1 ORDER BY number",
        )
        .unwrap();
    stmt.query_map([id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A gate that prints the JSON in `file` of the candidate as its score line.
fn json_gate(name: &str, file: &str, extra: &str) -> String {
    format!("[[gate]]\nname = \"{name}\"\ncommand = \"cat {file}\"\nscore = \"json\"\n{extra}\n")
}

#[test]
fn a_score_of_0_84_falls_short_of_0_85_and_0_85_lands() {
    let env = quality_env(&format!(
        "max_attempts = 2\n{}",
        json_gate("review", "s.json", "dimension = \"style\"")
    ));
    add(
        &env,
        "short",
        "echo '{\"score\": 0.84, \"issues\": [\"names are vague\"]}' > s.json",
        &[],
    );
    add(
        &env,
        "enough",
        "echo '{\"score\": 0.85}' > s.json",
        &["--deps", "short"],
    );
    env.vane(&["work"]).failure(1);
    let short = status_of(&env, "short");
    assert_eq!(short["status"], "blocked");
    let reason = short["block_reason"].as_str().unwrap();
    assert!(
        reason.contains("0.84") && reason.contains("names are vague"),
        "{reason}"
    );
    // Both attempts of `short` were scored; `enough` waited for it and so never ran.
    let scores: Vec<Option<f64>> = attempts(&env, "short").iter().map(|a| a.3).collect();
    assert_eq!(scores, vec![Some(0.84), Some(0.84)]);
    env.vane(&["task", "dep", "rm", "enough", "short"])
        .success();
    env.vane(&["work"]).success();
    assert_eq!(status_of(&env, "enough")["status"], "done");
    // Three results of the tasks' candidates, and one of the base: gated once when `short` first
    // fell short, to tell a broken gate from a task that falls short (it failed differently).
    assert_eq!(env.count_rows("quality_metrics"), 4);
}

#[test]
fn weights_change_the_verdict() {
    let gates = |a: f64, b: f64| {
        format!(
            "{}{}",
            json_gate("tests", "a.json", &format!("weight = {a}")),
            json_gate("lint", "b.json", &format!("weight = {b}"))
        )
    };
    let env = quality_env(&gates(3.0, 1.0));
    env.write("a.json", "{\"score\": 1.0}\n");
    env.write("b.json", "{\"score\": 0.5}\n");
    // (3 * 1.0 + 1 * 0.5) / 4 = 0.875
    let run = env.vane(&["gate", "--json"]).success();
    assert_eq!(run.json()["decision"]["passed"], true);
    let overall = run.json()["decision"]["overall"].as_f64().unwrap();
    assert!((overall - 0.875).abs() < 1e-9, "{overall}");
    // (1 * 1.0 + 3 * 0.5) / 4 = 0.625
    env.write("vane.toml", &format!("workers = 2\n{}", gates(1.0, 3.0)));
    let run = env.vane(&["gate"]).failure(1);
    assert!(
        run.stdout.contains("Verdict: fall short: 0.62"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_required_gate_that_fails_fails_the_task_beside_high_scores() {
    let config = |required: bool| {
        format!(
            "[[gate]]\nname = \"secrets\"\ncommand = \"! grep -q KEY app.txt\"\ndimension = \"security\"\nweight = 0.1\nrequired = {required}\n{}",
            json_gate("quality", "q.json", "weight = 10")
        )
    };
    let env = quality_env(&config(true));
    env.write("app.txt", "KEY=hunter2\n");
    env.write("q.json", "{\"score\": 1.0}\n");
    let run = env.vane(&["gate", "--json"]).failure(1);
    let decision = &run.json()["decision"];
    assert!(decision["overall"].as_f64().unwrap() > 0.99, "{decision}");
    assert_eq!(decision["failed_required"], serde_json::json!(["secrets"]));
    env.write("vane.toml", &format!("workers = 2\n{}", config(false)));
    env.vane(&["gate"]).success();
}

#[test]
fn gates_that_time_out_crash_or_print_junk_score_zero_and_say_why() {
    let env = quality_env(
        "[[gate]]\nname = \"slow\"\ncommand = \"sleep 30\"\ntimeout = 1\n\
         [[gate]]\nname = \"junk\"\ncommand = \"echo hello; echo world\"\nscore = \"json\"\n\
         [[gate]]\nname = \"big\"\ncommand = \"echo '{\\\"score\\\": 1.5}'\"\nscore = \"json\"\n\
         [[gate]]\nname = \"word\"\ncommand = \"echo '{\\\"score\\\": \\\"high\\\"}'\"\nscore = \"json\"\n\
         [[gate]]\nname = \"crash\"\ncommand = \"kill -9 $$\"\nscore = \"json\"\n\
         [[gate]]\nname = \"fine\"\ncommand = \"echo '{\\\"score\\\": 1}'\"\nscore = \"json\"\nparallel = true\n",
    );
    let run = env.vane(&["gate", "--json"]).failure(1);
    let gates = run.json()["gates"].as_array().unwrap().clone();
    let issue = |name: &str| -> (f64, String) {
        let gate = gates.iter().find(|g| g["gate"] == name).unwrap();
        (gate["score"].as_f64().unwrap(), gate["issues"].to_string())
    };
    let expectations = [
        ("slow", "timed out after 1 s"),
        ("junk", "gate `junk` printed no score line; last output: "),
        ("big", "outside 0..1"),
        ("word", "not a number"),
        ("crash", "killed by a signal"),
    ];
    for (name, says) in expectations {
        let (score, issues) = issue(name);
        assert_eq!(score, 0.0, "{name}");
        assert!(issues.contains(says), "{name}: {issues}");
    }
    assert_eq!(issue("fine").0, 1.0);
    assert!(
        issue("junk").1.contains("world"),
        "the last output is shown"
    );
}

#[test]
fn a_retry_gets_the_verdict_as_feedback_and_lands_on_attempt_2() {
    let env = quality_env(&json_gate(
        "review",
        "s.json",
        "dimension = \"code_elegance\"",
    ));
    add(
        &env,
        "tidy",
        "if [ \"$VANE_ATTEMPT\" = 1 ]; then \
           echo '{\"score\": 0.5, \"issues\": [\"the loop is duplicated\"], \"suggestions\": [\"extract a function\"]}' > s.json; \
         else echo '{\"score\": 0.95}' > s.json; fi",
        &[],
    );
    env.vane(&["work"]).success();
    assert_eq!(status_of(&env, "tidy")["status"], "done");
    let prompt = std::fs::read_to_string(env.state_dir().join("runs/tidy/2/prompt.md")).unwrap();
    for says in [
        "0.50",
        "the loop is duplicated",
        "extract a function",
        "code_elegance",
    ] {
        assert!(
            prompt.contains(says),
            "the retry's prompt has `{says}`:\n{prompt}"
        );
    }
    let outcomes: Vec<String> = attempts(&env, "tidy").into_iter().map(|a| a.2).collect();
    assert_eq!(outcomes, vec!["gate_failed", "landed"]);
}

#[test]
fn escalation_moves_later_attempts_to_the_stronger_profile() {
    let env = quality_env(
        "max_attempts = 3\nescalate_after = 1\nescalate_to = \"strong\"\n\
         [agents.weak]\ncommand = [\"sh\", \"-c\", \"echo weak > who.txt\"]\n\
         [agents.strong]\ncommand = [\"sh\", \"-c\", \"echo strong > who.txt\"]\n\
         [[gate]]\nname = \"strong-only\"\ncommand = \"grep -q strong who.txt\"\n",
    );
    env.vane(&["task", "add", "hard", "--id", "hard", "--agent", "weak"])
        .success();
    env.vane(&["work"]).success();
    assert_eq!(status_of(&env, "hard")["status"], "done");
    let tried = attempts(&env, "hard");
    assert_eq!(tried.len(), 2);
    assert_eq!((tried[0].1.as_str(), tried[0].4.as_deref()), ("weak", None));
    assert_eq!(tried[1].1, "strong");
    let reason = tried[1].4.as_deref().unwrap();
    assert!(
        reason.contains("escalated to `strong`") && reason.contains("escalate_after = 1"),
        "{reason}"
    );
    // A person sees it in the task's events.
    let shown = env.vane(&["task", "show", "hard"]).success().stdout;
    assert!(shown.contains("escalated to `strong`"), "{shown}");
}

#[test]
fn the_same_tree_is_never_gated_twice() {
    let counter = tempfile::NamedTempFile::new().unwrap();
    // Unconfined: the gate counts its runs in a file outside its worktree.
    let env = quality_env(&format!(
        "confine = false\n[[gate]]\nname = \"count\"\ncommand = \"echo run >> '{}'\"\n",
        counter.path().display()
    ));
    add(&env, "one", "echo one > one.txt", &[]);
    env.vane(&["work"]).success();
    assert_eq!(
        std::fs::read_to_string(counter.path())
            .unwrap()
            .lines()
            .count(),
        1
    );
    // The branch merged with base again gives the tree that was gated when it landed.
    let run = env.vane(&["gate", "one", "--json"]).success();
    assert_eq!(run.json()["gates"][0]["cached"], true);
    assert_eq!(
        std::fs::read_to_string(counter.path())
            .unwrap()
            .lines()
            .count(),
        1
    );
    // A new gate configuration is a new question.
    env.write(
        "vane.toml",
        &format!(
            "workers = 2\nconfine = false\n[[gate]]\nname = \"count\"\ncommand = \"echo again >> '{}'\"\n",
            counter.path().display()
        ),
    );
    let run = env.vane(&["gate", "one", "--json"]).success();
    assert_eq!(run.json()["gates"][0]["cached"], false);
    assert_eq!(
        std::fs::read_to_string(counter.path())
            .unwrap()
            .lines()
            .count(),
        2
    );
}

#[test]
fn a_script_critic_reviews_the_diff_and_its_verdict_is_found_in_noisy_output() {
    let env = quality_env(
        "[agents.critic]\ncommand = [\"sh\", \"-c\", \"echo 'Looking at the change...'; \
           if grep -q 'hello from the task' {prompt_file}; \
           then echo 'Verdict: {{\\\"score\\\": 0.9, \\\"suggestions\\\": [\\\"say more\\\"]}} -- done'; \
           else echo 'no diff'; fi\"]\n\
         [agents.mute]\ncommand = [\"sh\", \"-c\", \"echo 'I have no opinion'\"]\n\
         [[gate]]\nname = \"review\"\nagent = \"critic\"\ndimension = \"code_elegance\"\n",
    );
    add(&env, "greet", "echo 'hello from the task' > greet.txt", &[]);
    env.vane(&["work"]).success();
    assert_eq!(status_of(&env, "greet")["status"], "done");
    let quality = env.vane(&["quality", "--json"]).success().json();
    let dims = quality["dimensions"].as_array().unwrap();
    assert_eq!(dims.len(), 1);
    assert_eq!(dims[0]["dimension"], "code_elegance");
    assert_eq!(dims[0]["recent"], serde_json::json!([0.9]));

    // A critic that answers nothing scores 0, and says so.
    env.write(
        "vane.toml",
        "workers = 2\n[agents.mute]\ncommand = [\"sh\", \"-c\", \"echo 'I have no opinion'\"]\n\
         [[gate]]\nname = \"review\"\nagent = \"mute\"\n",
    );
    let run = env.vane(&["gate", "--json"]).failure(1);
    let issues = run.json()["gates"][0]["issues"].to_string();
    assert!(
        issues.contains("answered no verdict") && issues.contains("I have no opinion"),
        "{issues}"
    );
}

#[test]
fn quality_shows_trends_and_the_share_that_met_the_threshold() {
    let env = quality_env(&json_gate("review", "s.json", "dimension = \"style\""));
    for (id, score) in [("a", "0.9"), ("b", "1.0"), ("c", "0.95")] {
        add(
            &env,
            id,
            &format!("echo '{{\"score\": {score}}}' > s.json; echo {id} > {id}.txt"),
            &[],
        );
    }
    let empty = env.vane(&["quality"]).success();
    assert!(
        empty.stdout.contains("No quality scores yet"),
        "{}",
        empty.stdout
    );
    env.vane(&["work", "--workers", "1"]).success();
    let plain = env.vane(&["quality"]).success();
    assert!(plain.stdout.contains("style"), "{}", plain.stdout);
    assert!(
        plain
            .stdout
            .contains("Landed tasks meeting the threshold: 3 of 3"),
        "{}",
        plain.stdout
    );
    let report = env
        .vane(&["quality", "--dimension", "style", "--json"])
        .success()
        .json();
    assert_eq!(report["dimensions"][0]["count"], 3);
    let none = env
        .vane(&["quality", "--dimension", "security", "--json"])
        .success()
        .json();
    assert_eq!(none["dimensions"], serde_json::json!([]));
    env.vane(&["quality", "--since", "yesterday"]).failure(2);
}

#[test]
fn gate_config_mistakes_are_refused_with_the_reason() {
    let env = TestEnv::initialised();
    for (config, says) in [
        (
            "[[gate]]\nname = \"x\"\n",
            "needs a `command` to run or an `agent`",
        ),
        (
            "[[gate]]\nname = \"x\"\ncommand = \"true\"\nagent = \"claude\"\n",
            "has both",
        ),
        (
            "[[gate]]\nname = \"x\"\ncommand = \"true\"\nweight = -1\n",
            "weight",
        ),
        ("threshold = 1.5\n", "`threshold` is 1.5"),
        (
            "escalate_after = 2\n",
            "`escalate_after` needs `escalate_to`",
        ),
        (
            "[[gate]]\nname = \"x\"\ncommand = \"true\"\nscore = \"maybe\"\n",
            "line 4",
        ),
    ] {
        env.write("vane.toml", config);
        let run = env.vane(&["gate"]).failure(1);
        assert!(run.stderr.contains(says), "{config}: {}", run.stderr);
    }
}

#[test]
fn parallel_gates_run_at_the_same_time() {
    // Each gate says it started, then waits for the other: they both pass only when they overlap.
    let dir = tempfile::tempdir().unwrap();
    let gate = |me: &str, other: &str| {
        format!(
            "[[gate]]\nname = \"{me}\"\nparallel = true\ntimeout = 20\n\
             command = \"touch '{d}/{me}'; i=0; while [ ! -e '{d}/{other}' ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; test -e '{d}/{other}'\"\n",
            d = dir.path().display()
        )
    };
    // Unconfined: the gates meet through flag files outside their worktree.
    let env = quality_env(&format!(
        "confine = false\n{}{}",
        gate("left", "right"),
        gate("right", "left")
    ));
    let run = env.vane(&["gate", "--json"]).success();
    let gates = run.json()["gates"].clone();
    assert_eq!(gates[0]["passed"], true, "{gates}");
    assert_eq!(gates[1]["passed"], true, "{gates}");
}
