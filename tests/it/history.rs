//! Looking back: `vane log`, `vane show`, `vane diff`, `vane trace` and `vane events --follow -n 0`
//! against real batches, and `vane task edit` and `vane task rm` on tasks that have and have not
//! started.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::common::TestEnv;

const GATE: &str = "[[gate]]\nname = \"tests\"\ncommand = \"grep -q good out.txt || { echo 'out.txt is not good'; exit 1; }\"\n";

/// A batch in which `flaky` fails its gate once, then lands; its agent writes to both streams.
fn flaky_batch() -> TestEnv {
    let env = TestEnv::configured(GATE);
    env.vane(&[
        "task",
        "add",
        "Make out.txt good",
        "--id",
        "flaky",
        "--run",
        "echo \"agent says hi on $VANE_ATTEMPT\"; echo oops >&2; \
         if [ \"$VANE_ATTEMPT\" = 1 ]; then echo bad > out.txt; else echo good > out.txt; fi",
    ])
    .success();
    env.vane(&["work"]).success();
    env
}

#[test]
fn log_lists_every_attempt_with_its_outcome_cost_and_files() {
    let env = flaky_batch();
    // What a priced agent leaves: a cost and its source, and tokens with a cached part.
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    conn.execute(
        "UPDATE attempts SET cost_usd = 0.0123, cost_source = 'agent', input_tokens = 1200,
                             cached_input_tokens = 300, output_tokens = 450
         WHERE task_id = 'flaky' AND number = 1",
        [],
    )
    .unwrap();

    let log = env.vane(&["log", "flaky"]).success().stdout;
    assert!(
        log.starts_with("flaky  Make out.txt good  (done, 2 attempts)"),
        "{log}"
    );
    let first = log.find("attempt 1  gate_failed  charged").expect(&log);
    let second = log.find("attempt 2  landed  charged").expect(&log);
    assert!(first < second, "oldest first:\n{log}");
    assert!(
        log.contains("$0.0123 (reported by the agent), tokens 1200 in (300 cached), 450 out"),
        "{log}"
    );
    assert!(log.contains("out.txt is not good"), "the feedback:\n{log}");
    assert!(log.contains("tests  0.00 failed in"), "{log}");
    for n in ["1", "2"] {
        let runs = env.state_dir().join("runs/flaky").join(n);
        for file in [
            "prompt.md",
            "agent.stdout",
            "agent.stderr",
            "gate-tests.log",
        ] {
            let path = runs.join(file).display().to_string();
            assert!(log.contains(&path), "{path} in\n{log}");
        }
    }

    let json = env.vane(&["log", "flaky", "--json"]).success().json();
    let attempts = json.as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    let one = &attempts[0];
    assert_eq!(one["number"], 1);
    assert_eq!(one["outcome"], "gate_failed");
    assert_eq!(one["charged"], true);
    assert_eq!(one["profile"], "shell");
    assert_eq!(one["cost_source"], "agent");
    assert_eq!(one["cached_input_tokens"], 300);
    assert!(one["duration_ms"].as_i64().unwrap() >= 0);
    assert_eq!(one["gates"][0]["gate"], "tests");
    assert_eq!(one["gates"][0]["passed"], false);
    let gate_log = one["files"]["gate_logs"][0]["path"].as_str().unwrap();
    assert!(
        gate_log.ends_with("runs/flaky/1/gate-tests.log"),
        "{gate_log}"
    );
    assert_eq!(attempts[1]["outcome"], "landed");
    assert_eq!(attempts[1]["cost_usd"], serde_json::Value::Null);

    // The same listing under `vane task show --attempts`.
    let show = env
        .vane(&["task", "show", "flaky", "--attempts"])
        .success()
        .stdout;
    assert!(show.contains("Attempts:"), "{show}");
    assert!(show.contains("  attempt 1  gate_failed  charged"), "{show}");
    let show = env
        .vane(&["task", "show", "flaky", "--attempts", "--json"])
        .success()
        .json();
    assert_eq!(show["attempts"][1]["outcome"], "landed");
    let plain = env
        .vane(&["task", "show", "flaky", "--json"])
        .success()
        .json();
    assert!(plain.get("attempts").is_none(), "only with --attempts");

    env.vane(&["task", "add", "Not yet", "--id", "later"])
        .success();
    let none = env.vane(&["log", "later"]).success().stdout;
    assert!(none.contains("no attempts yet"), "{none}");
    let unknown = env.vane(&["log", "nope"]).failure(1);
    assert!(
        unknown.stderr.contains("no task `nope`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn show_prints_what_an_attempt_left_and_names_what_there_is() {
    let env = flaky_batch();
    let gate = env
        .vane(&["show", "flaky", "--attempt", "1", "--gate", "tests"])
        .success()
        .stdout;
    assert_eq!(gate.trim(), "out.txt is not good");
    let output = env.vane(&["show", "flaky", "--output"]).success().stdout;
    assert_eq!(
        output, "agent says hi on 2\n",
        "the latest attempt's, whole"
    );
    let first = env
        .vane(&["show", "flaky", "-a", "1", "--output"])
        .success()
        .stdout;
    assert_eq!(first, "agent says hi on 1\n");
    let stderr = env.vane(&["show", "flaky", "--stderr"]).success().stdout;
    assert_eq!(stderr, "oops\n");
    let prompt = env.vane(&["show", "flaky", "--prompt"]).success().stdout;
    assert!(
        prompt.starts_with("# Task flaky: Make out.txt good"),
        "{prompt}"
    );
    assert!(
        prompt.contains("out.txt is not good"),
        "the retry's feedback:\n{prompt}"
    );

    let header = env.vane(&["show", "flaky"]).success().stdout;
    assert!(header.contains("(attempt 2 of 2)"), "{header}");
    assert!(header.contains("attempt 2  landed  charged"), "{header}");
    assert!(
        header.contains("    agent says hi on 2"),
        "the tail:\n{header}"
    );
    let json = env.vane(&["show", "flaky", "--json"]).success().json();
    assert_eq!(json["attempt"]["number"], 2);
    assert_eq!(json["output_tail"][0], "agent says hi on 2");
    let json = env
        .vane(&["show", "flaky", "-a", "1", "--gate", "tests", "--json"])
        .success()
        .json();
    assert_eq!(json["text"], "out.txt is not good\n");

    let missing = env.vane(&["show", "flaky", "--attempt", "3"]).failure(1);
    assert!(
        missing
            .stderr
            .contains("task `flaky` has no attempt 3; its attempts are 1, 2"),
        "{}",
        missing.stderr
    );
    let gate = env.vane(&["show", "flaky", "--gate", "lint"]).failure(1);
    assert!(
        gate.stderr
            .contains("has no log of a gate `lint`; it has logs of `tests`"),
        "{}",
        gate.stderr
    );
    env.vane(&["task", "add", "Not yet", "--id", "later"])
        .success();
    let never = env.vane(&["show", "later"]).failure(1);
    assert!(
        never.stderr.contains("task `later` has no attempts yet"),
        "{}",
        never.stderr
    );
    env.vane(&["show", "nope"]).failure(1);
    env.vane(&["show", "flaky", "--output", "--prompt"])
        .failure(2);
}

#[test]
fn diff_shows_the_branch_against_where_it_left_base_then_what_it_landed() {
    // The gate passes base (no feat.txt) and a feat.txt that says ok.
    let env = TestEnv::configured(
        "[[gate]]\nname = \"ok\"\ncommand = \"test ! -f feat.txt || grep -q ok feat.txt\"\n",
    );
    env.vane(&[
        "task",
        "add",
        "A feature",
        "--id",
        "feat",
        "--run",
        "if [ \"$VANE_ATTEMPT\" -ge 3 ]; then echo ok >> feat.txt; \
         else echo \"attempt $VANE_ATTEMPT\" >> feat.txt; fi",
    ])
    .success();
    let never = env.vane(&["diff", "feat"]).failure(1);
    assert!(
        never.stderr.contains("has no branch yet"),
        "{}",
        never.stderr
    );

    // Its first two attempts fail the gate: it is blocked, its branch kept.
    env.vane(&["work"]).failure(1);
    assert_eq!(
        env.vane(&["task", "show", "feat", "--json"])
            .success()
            .json()["status"],
        "blocked"
    );
    // A person's commit on base after the branch left it is not the task's.
    env.write("other.txt", "someone else\n");
    env.git(&env.repo, &["add", "other.txt"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Other work"]);

    let diff = env.vane(&["diff", "feat"]).success().stdout;
    assert!(diff.contains("+++ b/feat.txt"), "{diff}");
    assert!(diff.contains("+attempt 2"), "{diff}");
    assert!(
        !diff.contains("other.txt"),
        "only the task's change:\n{diff}"
    );
    assert!(
        !diff.contains("\u{1b}["),
        "no colour off a terminal:\n{diff}"
    );
    let stat = env.vane(&["diff", "feat", "--stat"]).success().stdout;
    assert!(stat.contains("feat.txt | 1 +"), "{stat}");
    assert!(stat.contains("1 file changed"), "{stat}");
    let limited = env.vane(&["diff", "feat", "--", "README.md"]).success();
    assert_eq!(limited.stdout, "", "a pathspec limits it");
    let json = env.vane(&["diff", "feat", "--json"]).success().json();
    assert_eq!(json["landed"], false);
    assert_eq!(json["base"], "main");
    let coloured = env
        .vane(&["--color", "always", "diff", "feat"])
        .success()
        .stdout;
    assert!(
        coloured.contains("\u{1b}["),
        "--color always colours:\n{coloured}"
    );

    // Retried, it lands; the diff is then what the landing brought to base.
    env.vane(&["task", "retry", "feat"]).success();
    env.vane(&["work"]).success();
    let task = env
        .vane(&["task", "show", "feat", "--json"])
        .success()
        .json();
    assert_eq!(task["status"], "done");
    let landed = env.vane(&["diff", "feat"]).success().stdout;
    assert!(landed.contains("+ok"), "{landed}");
    assert!(!landed.contains("other.txt"), "{landed}");
    let json = env.vane(&["diff", "feat", "--json"]).success().json();
    assert_eq!(json["landed"], true);
    assert_eq!(json["to"], task["landed_sha"]);
    let parent = env.git(
        &env.repo,
        &[
            "rev-parse",
            &format!("{}^1", task["landed_sha"].as_str().unwrap()),
        ],
    );
    assert_eq!(json["from"], parent.trim());
}

#[test]
fn trace_of_a_batch_holds_its_attempts_with_their_spans() {
    let env = flaky_batch();
    let root = env.vane(&["trace", "batch-1", "--json"]).success().json();
    assert_eq!(root["kind"], "batch");
    assert_eq!(root["name"], "batch-1");
    assert_eq!(root["data"]["outcome"], "finished");
    assert!(root["duration_ms"].as_i64().is_some(), "{root:#}");
    let children = root["children"].as_array().unwrap();
    let kinds: Vec<&str> = children
        .iter()
        .filter(|c| c["kind"] == "event")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"batch_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"batch_finished"), "{kinds:?}");
    let attempts: Vec<&serde_json::Value> =
        children.iter().filter(|c| c["kind"] == "attempt").collect();
    let names: Vec<&str> = attempts
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["flaky#1", "flaky#2"]);
    for attempt in &attempts {
        assert!(attempt["duration_ms"].as_i64().is_some(), "{attempt:#}");
        let spans: Vec<&str> = attempt["children"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] != "event")
            .map(|c| c["kind"].as_str().unwrap())
            .collect();
        assert!(
            spans.contains(&"agent") && spans.contains(&"gate"),
            "{spans:?}"
        );
        for span in attempt["children"].as_array().unwrap() {
            if span["kind"] == "agent" || span["kind"] == "gate" {
                assert!(span["duration_ms"].as_i64().is_some(), "{span:#}");
            }
        }
    }
    assert_eq!(attempts[0]["data"]["outcome"], "gate_failed");
    let second = attempts[1]["children"].as_array().unwrap();
    assert!(
        second.iter().any(|c| c["kind"] == "landing"),
        "the landing is the second attempt's: {second:#?}"
    );
    // The batch's own event of the landing went to the attempt that landed.
    assert!(
        second
            .iter()
            .any(|c| c["name"] == "status_changed" && c["data"]["to"] == "done"),
        "{second:#?}"
    );

    let text = env.vane(&["trace", "batch-1"]).success().stdout;
    assert!(text.contains("batch-1  finished"), "{text}");
    assert!(text.contains("├─ flaky#1  gate_failed"), "{text}");
    assert!(text.contains("│  ├─ gate tests  0.00 failed"), "{text}");
    // Each line starts with the time since the batch began.
    let started = text
        .lines()
        .find(|l| l.contains("├─ batch_started"))
        .expect(&text);
    assert!(started.trim_start().starts_with('+'), "{text}");

    let one = env
        .vane(&["trace", "batch-1/flaky#2", "--json"])
        .success()
        .json();
    assert_eq!(one["kind"], "attempt");
    assert_eq!(one["name"], "flaky#2");
    assert!(one["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["kind"] == "landing"));
    let task = env.vane(&["trace", "flaky", "--json"]).success().json();
    assert_eq!(task["kind"], "task");
    let under: Vec<&str> = task["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(under[0], "task_created", "{under:?}");
    assert!(
        under.contains(&"flaky#1") && under.contains(&"flaky#2"),
        "{under:?}"
    );
    let unknown = env.vane(&["trace", "batch-9"]).failure(1);
    assert!(
        unknown.stderr.contains("nothing is called `batch-9`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn events_follow_with_n_0_prints_only_what_comes_next() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Before", "--id", "early"])
        .success();
    let mut child = env
        .vane_command(&["events", "--follow", "-n", "0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // The follower says nothing until something happens; add tasks until it has seen one, so
    // that a slow start cannot pass for a quiet one.
    let mut seen = Vec::new();
    for n in 0..60 {
        env.vane(&["task", "add", "Probe", "--id", &format!("probe{n}")])
            .success();
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            seen.push(line);
            break;
        }
    }
    env.vane(&["task", "add", "After", "--id", "later"])
        .success();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the follower prints the new event");
        let done = line.contains("\"later\"");
        seen.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let events: Vec<serde_json::Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for event in &events {
        assert_eq!(event["kind"], "task_created", "{events:#?}");
        assert_ne!(event["task"], "early", "none of the past: {events:#?}");
    }
    assert!(events[0]["task"]
        .as_str()
        .is_some_and(|t| t.starts_with("probe")));
}

#[test]
fn task_edit_changes_a_task_that_never_started_in_one_piece() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "First", "--id", "a"]).success();
    env.vane(&["task", "add", "Second", "--id", "b"]).success();
    env.vane(&["task", "add", "Third", "--id", "c"]).success();
    let edited = env
        .vane(&[
            "task",
            "edit",
            "a",
            "--title",
            "First, better",
            "-d",
            "More words",
            "--run",
            "echo a > a.txt",
            "--agent",
            "shell",
            "--complexity",
            "3",
            "--paths",
            "a.txt, docs/",
            "--dep",
            "b,c",
            "--json",
        ])
        .success()
        .json();
    assert_eq!(
        edited["changed"],
        serde_json::json!([
            "title",
            "description",
            "complexity",
            "paths",
            "agent",
            "run",
            "dependencies"
        ])
    );
    let task = env.vane(&["task", "show", "a", "--json"]).success().json();
    assert_eq!(task["title"], "First, better");
    assert_eq!(task["description"], "More words");
    assert_eq!(task["run"], "echo a > a.txt");
    assert_eq!(task["agent"], "shell");
    assert_eq!(task["complexity"], 3);
    assert_eq!(task["paths"], serde_json::json!(["a.txt", "docs/"]));
    let deps: Vec<&str> = task["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(deps, ["b", "c"]);

    let run = env
        .vane(&[
            "task", "edit", "a", "--no-dep", "c", "--run", "", "--paths", "",
        ])
        .success();
    assert!(
        run.stderr.contains("Changed a: paths, run, dependencies"),
        "{}",
        run.stderr
    );
    let task = env.vane(&["task", "show", "a", "--json"]).success().json();
    assert_eq!(task["run"], serde_json::Value::Null);
    assert_eq!(task["paths"], serde_json::json!([]));
    assert_eq!(task["dependencies"].as_array().unwrap().len(), 1);
    let same = env.vane(&["task", "edit", "a", "--dep", "b"]).success();
    assert!(same.stderr.contains("nothing changed"), "{}", same.stderr);

    // Refusals change nothing, not even the fields given with what is refused.
    let events = env.count_rows("events");
    let nothing = env.vane(&["task", "edit", "a"]).failure(1);
    assert!(
        nothing.stderr.contains("nothing to change"),
        "{}",
        nothing.stderr
    );
    let unknown = env
        .vane(&["task", "edit", "a", "--title", "Never", "--dep", "zz"])
        .failure(1);
    assert!(
        unknown.stderr.contains("unknown dependency `zz`"),
        "{}",
        unknown.stderr
    );
    let cycle = env.vane(&["task", "edit", "b", "--dep", "a"]).failure(1);
    assert!(cycle.stderr.contains("cycle"), "{}", cycle.stderr);
    let absent = env.vane(&["task", "edit", "a", "--no-dep", "c"]).failure(1);
    assert!(
        absent.stderr.contains("does not depend on `c`"),
        "{}",
        absent.stderr
    );
    let agent = env
        .vane(&["task", "edit", "a", "--agent", "nobody"])
        .failure(1);
    assert!(agent.stderr.contains("nobody"), "{}", agent.stderr);
    env.vane(&["task", "edit", "zz", "--title", "x"]).failure(1);
    assert_eq!(env.count_rows("events"), events);
    assert_eq!(
        env.vane(&["task", "show", "a", "--json"]).success().json()["title"],
        "First, better"
    );
}

#[test]
fn task_edit_and_rm_refuse_a_task_that_started() {
    let env = TestEnv::configured("");
    env.vane(&[
        "task",
        "add",
        "Lands",
        "--id",
        "ok",
        "--run",
        "echo ok > ok.txt",
    ])
    .success();
    env.vane(&["task", "add", "Fails", "--id", "bad", "--run", "exit 1"])
        .success();
    env.vane(&["work"]).failure(1);
    let done = env.vane(&["task", "edit", "ok", "--title", "x"]).failure(1);
    assert!(
        done.stderr
            .contains("task `ok` is done; only a task that has not started can be changed"),
        "{}",
        done.stderr
    );
    // Retried, it is pending again; but its agent was given it twice, which stays on record.
    env.vane(&["task", "retry", "bad"]).success();
    let attempted = env
        .vane(&["task", "edit", "bad", "--run", "true"])
        .failure(1);
    assert!(
        attempted
            .stderr
            .contains("task `bad` has started: it had 2 attempts"),
        "{}",
        attempted.stderr
    );
    let rm = env.vane(&["task", "rm", "bad", "--force"]).failure(1);
    assert!(
        rm.stderr.contains("task `bad` has started"),
        "{}",
        rm.stderr
    );
    env.vane(&["task", "rm", "ok"]).failure(1);
    assert_eq!(
        env.vane(&["task", "show", "bad", "--json"])
            .success()
            .json()["run"],
        "exit 1"
    );
}

#[test]
fn task_rm_removes_what_nothing_needs_and_force_detaches_the_rest() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Base", "--id", "a"]).success();
    env.vane(&["task", "add", "Waits", "--id", "b", "--deps", "a"])
        .success();
    env.vane(&["task", "add", "Epic", "--id", "e", "--type", "epic"])
        .success();
    env.vane(&["task", "add", "Child", "--id", "c", "--parent", "e"])
        .success();
    env.vane(&["task", "add", "Alone", "--id", "lone"])
        .success();

    let run = env.vane(&["task", "rm", "lone"]).success();
    assert!(run.stderr.contains("Removed lone: Alone"), "{}", run.stderr);
    env.vane(&["task", "show", "lone"]).failure(1);

    let refused = env.vane(&["task", "rm", "a"]).failure(1);
    assert!(
        refused
            .stderr
            .contains("task `a` is needed by a task that depends on it (b: blocks)"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    let forced = env
        .vane(&["task", "rm", "a", "--force", "--json"])
        .success()
        .json();
    assert_eq!(forced["detached"], serde_json::json!([["b", "blocks"]]));
    let b = env.vane(&["task", "show", "b", "--json"]).success().json();
    assert_eq!(b["dependencies"], serde_json::json!([]));
    assert_eq!(b["ready"], true);

    let refused = env.vane(&["task", "rm", "e"]).failure(1);
    assert!(
        refused.stderr.contains("belongs to it (c)"),
        "{}",
        refused.stderr
    );
    let forced = env.vane(&["task", "rm", "e", "--force"]).success();
    assert!(
        forced.stderr.contains("c no longer belongs to an epic"),
        "{}",
        forced.stderr
    );
    let c = env.vane(&["task", "show", "c", "--json"]).success().json();
    assert_eq!(c["parent"], serde_json::Value::Null);

    // The log keeps what it said of a removed task, and says that it was removed.
    let events = env
        .vane(&["events", "--task", "a", "--json"])
        .success()
        .json();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"task_created"));
    assert_eq!(kinds.last(), Some(&"task_removed"));
    let removed = events.as_array().unwrap().last().unwrap();
    assert_eq!(removed["data"]["title"], "Base");
    assert_eq!(removed["data"]["detached"], serde_json::json!(["b"]));
    let trace = env.vane(&["trace", "a", "--json"]).success().json();
    assert_eq!(trace["data"]["status"], "removed");
    // Both ends of the graph still agree with what is there: the rest works as before.
    env.vane(&["task", "list"]).success();
    let doctor = env.vane(&["doctor", "--json"]).success().json();
    let problems = crate::common::doctor_problems(doctor.as_array().unwrap());
    assert!(problems.is_empty(), "{problems:?}");
}
