//! What agents and critics leave for later tasks: an agent appends context entries to
//! `$VANE_CONTEXT_FILE` (writable under Landlock), a critic adds `learnings` to its verdict; vane
//! records the good ones with where they came from, reports the bad ones, and later prompts carry
//! them.

use crate::common::TestEnv;

fn add(env: &TestEnv, id: &str, run: &str, extra: &[&str]) {
    let mut args = vec!["task", "add", id, "--id", id, "--run", run];
    args.extend_from_slice(extra);
    env.vane(&args).success();
}

fn prompt(env: &TestEnv, task: &str, attempt: u32) -> String {
    std::fs::read_to_string(
        env.state_dir()
            .join("runs")
            .join(task)
            .join(attempt.to_string())
            .join("prompt.md"),
    )
    .unwrap()
}

/// The events of one kind, from `vane events --json`.
fn events_of(env: &TestEnv, kind: &str) -> Vec<serde_json::Value> {
    let run = env.vane(&["events", "--json"]).success();
    let all: Vec<serde_json::Value> = match run.json() {
        serde_json::Value::Array(all) => all,
        other => panic!("not a list of events: {other}"),
    };
    all.into_iter().filter(|e| e["kind"] == kind).collect()
}

#[test]
fn a_learning_an_agent_leaves_reaches_the_prompt_of_the_next_task_of_its_epic() {
    let confined = vane::agent::confine::status().is_ok();
    let env = TestEnv::configured("workers = 1\n");
    env.vane(&["task", "add", "Sign-in", "--id", "auth", "--type", "epic"])
        .success();
    // The report of what the agent could write is committed, for the test to read from main.
    let first = r#"
        printf '%s\n' \
          '{"type": "learning", "topic": "build", "content": "Run make twice: the first run only generates", "confidence": 0.8}' \
          'this line is no JSON' >> "$VANE_CONTEXT_FILE" && echo 'wrote the context file' >> report.txt
        run_dir=$(dirname "$(dirname "$VANE_CONTEXT_FILE")")
        if ( echo x > "$run_dir/intruder" ) 2>/dev/null; then echo 'WROTE the run directory'; else echo 'refused the run directory'; fi >> report.txt
        echo one > one.txt && git add one.txt report.txt && git commit -q -m 'Add one'
    "#;
    add(&env, "one", first, &["--parent", "auth"]);
    add(
        &env,
        "two",
        "echo two > two.txt",
        &["--parent", "auth", "--deps", "one"],
    );
    add(&env, "elsewhere", "echo x > x.txt", &["--deps", "two"]);

    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("3 landed, 0 blocked"), "{}", run.stderr);

    let report = env.git(&env.repo, &["show", "main:report.txt"]);
    assert!(report.contains("wrote the context file\n"), "{report}");
    if confined {
        // Confined: the context file is writable, the rest of the run directory is not.
        assert!(report.contains("refused the run directory\n"), "{report}");
    } else {
        eprintln!("note: Landlock is not available; the agent ran unconfined");
    }

    // The next task of the epic is told, with where it came from; a task outside it is not.
    let second = prompt(&env, "two", 1);
    assert!(
        second.contains(
            "- learning on build (from task one, attempt 1, confidence 0.80): Run make twice: \
             the first run only generates"
        ),
        "{second}"
    );
    assert!(second.contains("$VANE_CONTEXT_FILE"), "{second}");
    assert!(!prompt(&env, "elsewhere", 1).contains("Run make twice"));

    let entries = env.vane(&["context", "list", "--json"]).success().json();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let entry = &entries[0];
    assert_eq!(entry["kind"], "learning");
    assert_eq!(entry["topic"], "build");
    assert_eq!(entry["confidence"], 0.8);
    assert_eq!(entry["related_tasks"], serde_json::json!(["auth"]));
    assert_eq!(entry["origin"]["source"], "agent");
    assert_eq!(entry["origin"]["task"], "one");
    assert_eq!(entry["origin"]["attempt"], 1);
    let profile = entry["origin"]["profile"].as_str().expect("a profile");
    let text = env.vane(&["context", "list"]).success().stdout;
    assert!(
        text.contains(&format!("tasks auth  from task one, attempt 1 ({profile})")),
        "{text}"
    );

    // The junk line is reported and stopped nothing.
    let rejected = events_of(&env, "context_rejected");
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert_eq!(rejected[0]["task"], "one");
    let problems = rejected[0]["data"]["problems"].to_string();
    assert!(problems.contains("line 2: is not JSON"), "{problems}");
    let added = events_of(&env, "context_added");
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["data"]["origin"]["task"], "one");
}

#[test]
fn a_failed_attempt_leaves_its_learning_for_its_own_retry() {
    let env = TestEnv::configured("workers = 1\nmax_attempts = 2\n");
    add(
        &env,
        "flaky",
        r#"if [ "$VANE_ATTEMPT" = 1 ]; then
             echo '{"type": "constraint", "topic": "ci", "content": "The network is off in tests"}' >> "$VANE_CONTEXT_FILE"
             exit 1
           fi
           echo ok > ok.txt"#,
        &[],
    );
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("1 landed, 0 blocked"), "{}", run.stderr);
    let retry = prompt(&env, "flaky", 2);
    assert!(
        retry.contains(
            "- constraint on ci (from task flaky, attempt 1): The network is off in tests"
        ),
        "{retry}"
    );
    // No epic: it concerns the whole project.
    let entries = env.vane(&["context", "list", "--json"]).success().json();
    assert_eq!(entries[0]["related_tasks"], serde_json::json!([]));
    assert!(events_of(&env, "context_rejected").is_empty());
}

#[test]
fn a_critics_learnings_are_recorded_and_reach_later_prompts() {
    let env = TestEnv::initialised();
    env.write(
        "vane.toml",
        "workers = 1\n[agents.critic]\ncommand = [\"sh\", \"critic.sh\"]\n\
         [[gate]]\nname = \"review\"\nagent = \"critic\"\n",
    );
    env.write(
        "critic.sh",
        r#"echo 'Looking at the change...'
echo '{"score": 0.9, "issues": [], "learnings": [{"topic": "naming", "content": "Files are named after the task", "confidence": 0.6}, {"topic": "", "content": "x"}]}'
"#,
    );
    env.git(&env.repo, &["add", "vane.toml", "critic.sh"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    add(&env, "first", "echo 1 > first.txt", &[]);
    add(&env, "second", "echo 2 > second.txt", &["--deps", "first"]);
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("2 landed, 0 blocked"), "{}", run.stderr);

    let entries = env.vane(&["context", "list", "--json"]).success().json();
    let entries = entries.as_array().unwrap();
    // The second review learned the same again, for the same tasks: recorded once.
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["topic"], "naming");
    assert_eq!(entries[0]["origin"]["source"], "critic");
    assert_eq!(entries[0]["origin"]["gate"], "review");
    assert_eq!(entries[0]["origin"]["profile"], "critic");
    assert_eq!(entries[0]["origin"]["task"], "first");
    let second = prompt(&env, "second", 1);
    assert!(
        second.contains(
            "- learning on naming (from the critic `review` of task first, attempt 1, \
             confidence 0.60): Files are named after the task"
        ),
        "{second}"
    );
    let rejected = events_of(&env, "context_rejected");
    assert_eq!(rejected.len(), 2, "one for each review: {rejected:#?}");
    let problems = rejected[0]["data"]["problems"].to_string();
    assert!(
        problems.contains("critic `review`: learning 2: the topic is empty"),
        "{problems}"
    );
    // The critic was told about the field.
    let critic_prompt =
        std::fs::read_to_string(env.state_dir().join("runs/first/1/gate-review.prompt.md"))
            .unwrap();
    assert!(critic_prompt.contains("\"learnings\""), "{critic_prompt}");
}

#[test]
fn an_agent_that_swaps_its_context_file_for_a_fifo_or_a_link_neither_blocks_nor_leaks() {
    let env = TestEnv::configured("workers = 1\n");
    let secret = env.home.join("secret.jsonl");
    std::fs::write(
        &secret,
        "{\"type\": \"learning\", \"topic\": \"secret\", \"content\": \"the user's own file\"}\n",
    )
    .unwrap();
    // A FIFO with no writer would block a plain open for good; a link points at a file of the
    // user's, in the form of a valid entry, that the agent could not read itself.
    add(
        &env,
        "fifo",
        r#"rm -f "$VANE_CONTEXT_FILE" && mkfifo "$VANE_CONTEXT_FILE" && echo f > f.txt"#,
        &[],
    );
    add(
        &env,
        "link",
        &format!(
            r#"rm -f "$VANE_CONTEXT_FILE" && ln -s '{}' "$VANE_CONTEXT_FILE" && echo l > l.txt"#,
            secret.display()
        ),
        &[],
    );
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("2 landed, 0 blocked"), "{}", run.stderr);
    let rejected = events_of(&env, "context_rejected");
    let said: Vec<String> = rejected.iter().map(|e| e["data"].to_string()).collect();
    assert!(
        said.iter().any(|s| s.contains("not a regular file")),
        "{said:?}"
    );
    assert!(said.iter().any(|s| s.contains("symbolic link")), "{said:?}");
    let context = env.vane(&["context", "list", "--json"]).success();
    assert!(
        !context.stdout.contains("the user's own file"),
        "{}",
        context.stdout
    );
}
