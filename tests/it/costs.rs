//! The cost ledger and budgets, with agents that report what they cost as Claude Code does, or
//! only their tokens as Codex does; and the batch's log of JSON lines.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::common::TestEnv;

/// A script standing in for an agent: it writes `<task>.txt` (or fails, when the task's id starts
/// with `fail`) and prints `report`. Saved as `name` in a folder of its own, so that a script
/// called `claude` is taken for Claude Code.
fn agent_script(env: &TestEnv, name: &str, report: &str) -> PathBuf {
    let dir = env.root.join("agents");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let text = format!(
        "#!/bin/sh\n\
         for a in \"$@\"; do [ \"$a\" = -- ] && break; printf '%s ' \"$a\"; done >> \"{log}\"\n\
         echo >> \"{log}\"\n\
         echo \"$VANE_TASK_ID\" > \"$VANE_TASK_ID.txt\"\n\
         cat <<'EOF'\n{report}\nEOF\n\
         case \"$VANE_TASK_ID\" in fail*) exit 1 ;; esac\n",
        log = env.root.join("argv").join(format!("{name}.argv")).display()
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

const CLAUDE_REPORT: &str = r#"{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-1","total_cost_usd":0.4,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":50,"output_tokens":20},"modelUsage":{"claude-sonnet-4-5":{"costUSD":0.4}}}"#;

fn claude_config(env: &TestEnv, extra: &str) -> String {
    let script = agent_script(env, "claude", CLAUDE_REPORT);
    format!(
        "workers = 1\nmax_attempts = 5\ndefault_agent = \"metered\"\n{extra}\n\
         [agents.metered]\ncommand = [\"{}\", \"-p\", \"--\", \"{{prompt}}\"]\nparser = \"claude\"\n\
         writable = [\"{}/\"]\n",
        script.display(),
        env.root.join("argv").display()
    )
}

fn add(env: &TestEnv, id: &str) {
    env.vane(&["task", "add", id, "--id", id]).success();
}

/// An attempt's row in the ledger.
#[derive(Debug)]
struct Spending {
    task: String,
    cost: Option<f64>,
    source: Option<String>,
    model: Option<String>,
    cached: Option<i64>,
}

fn attempts(env: &TestEnv) -> Vec<Spending> {
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT task_id, cost_usd, cost_source, model, cached_input_tokens FROM attempts \
             ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Spending {
            task: r.get(0)?,
            cost: r.get(1)?,
            source: r.get(2)?,
            model: r.get(3)?,
            cached: r.get(4)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn a_batch_budget_stops_new_attempts_once_spent_and_says_so() {
    let env = TestEnv::configured("");
    std::fs::write(env.repo.join("vane.toml"), claude_config(&env, "")).unwrap();
    env.git(&env.repo, &["commit", "-qam", "A metered agent"]);
    for id in ["t1", "t2", "t3", "t4", "t5"] {
        add(&env, id);
    }
    // 0.40 an attempt: after three, 1.20 is spent of 1.00, and the fourth never starts.
    let run = env.vane(&["work", "--budget", "1"]).failure(1);
    assert!(
        run.stderr.contains("spent $1.20 of its $1.00 budget"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("$1.20 of $1.00"), "{}", run.stderr);
    assert!(
        run.stderr.contains("the budget was spent"),
        "{}",
        run.stderr
    );
    let recorded = attempts(&env);
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    for row in &recorded {
        assert_eq!(row.cost, Some(0.4));
        assert_eq!(row.source.as_deref(), Some("agent"));
        assert_eq!(row.model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(row.cached, Some(50));
    }
    let status = env.vane(&["status", "--json"]).success().json();
    assert_eq!(status["counts"]["done"], 3, "{status}");
    assert_eq!(status["counts"]["pending"], 2, "{status}");
    // The batch keeps its budget; the next batch has none and lands the rest.
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let budget: Option<f64> = conn
        .query_row("SELECT budget_usd FROM batches WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(budget, Some(1.0));
    env.vane(&["work"]).success();
    assert_eq!(attempts(&env).len(), 5);
}

#[test]
fn claude_code_is_given_what_is_left_of_the_budget() {
    let env = TestEnv::configured("");
    std::fs::write(env.repo.join("vane.toml"), claude_config(&env, "")).unwrap();
    env.git(&env.repo, &["commit", "-qam", "A metered agent"]);
    add(&env, "t1");
    add(&env, "t2");
    env.vane(&["work", "--budget", "1.5"]).success();
    let argv = std::fs::read_to_string(env.root.join("argv").join("claude.argv")).unwrap();
    let caps: Vec<&str> = argv
        .lines()
        .map(|line| {
            line.split("--max-budget-usd ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or_else(|| panic!("no cap in {line}"))
        })
        .collect();
    // The whole budget for the first; what the first left for the second.
    assert_eq!(caps, ["1.5000", "1.1000"], "{argv}");
}

#[test]
fn a_task_over_its_budget_is_blocked_and_retry_renews_it() {
    let env = TestEnv::configured("");
    std::fs::write(
        env.repo.join("vane.toml"),
        claude_config(&env, "[budget]\ntask_usd = 0.7\n"),
    )
    .unwrap();
    env.git(&env.repo, &["commit", "-qam", "A metered agent"]);
    add(&env, "fail-often");
    env.vane(&["work"]).failure(1);
    // Two failed attempts spent 0.80 of 0.70: no third, though max_attempts is 5.
    assert_eq!(attempts(&env).len(), 2);
    let task = env
        .vane(&["task", "show", "fail-often", "--json"])
        .success()
        .json();
    assert_eq!(task["status"], "blocked", "{task}");
    let reason = task["block_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("spent $0.80 of its $0.70 budget"), "{task}");
    env.vane(&["task", "retry", "fail-often"]).success();
    env.vane(&["work"]).failure(1);
    assert_eq!(attempts(&env).len(), 4);
}

#[test]
fn tokens_are_priced_when_the_agent_reports_no_cost() {
    let env = TestEnv::configured("");
    let report = r#"{"type":"thread.started","thread_id":"th-1"}
{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"done"}}
{"type":"turn.completed","usage":{"input_tokens":1000000,"cached_input_tokens":400000,"output_tokens":100000}}"#;
    let script = agent_script(&env, "codex-like", report);
    std::fs::write(
        env.repo.join("vane.toml"),
        format!(
            "workers = 1\ndefault_agent = \"metered\"\n\
             [agents.metered]\ncommand = [\"{}\"]\nparser = \"codex\"\nmodel = \"gpt-5-codex\"\n\
             [agents.custom]\ncommand = [\"{}\"]\nparser = \"codex\"\nmodel = \"house-model\"\n\
             [prices.\"house-model\"]\ninput = 2.0\noutput = 20.0\n",
            script.display(),
            script.display()
        ),
    )
    .unwrap();
    env.git(&env.repo, &["commit", "-qam", "A metered agent"]);
    add(&env, "listed");
    env.vane(&["task", "add", "own", "--id", "own", "--agent", "custom"])
        .success();
    env.vane(&["work"]).success();
    let recorded = attempts(&env);
    let cost_of = |task: &str| {
        let row = recorded
            .iter()
            .find(|r| r.task == task)
            .expect("an attempt");
        assert_eq!(row.source.as_deref(), Some("prices"), "{row:?}");
        row.cost.expect("a cost")
    };
    // gpt-5-codex at list prices: 0.6 M input at 1.25, 0.4 M cached at 0.125, 0.1 M output at 10.
    assert!((cost_of("listed") - (0.75 + 0.05 + 1.0)).abs() < 1e-9);
    // vane.toml's price, with cached input at the input price as none is given.
    assert!((cost_of("own") - (2.0 + 2.0)).abs() < 1e-9);
    // `vane config show` lists the prices it uses, vane.toml's with their line.
    let shown = env.vane(&["config", "show", "--json"]).success().json();
    let text = shown.to_string();
    assert!(text.contains("prices.house-model"), "{text}");
    assert!(text.contains("prices.gpt-5-codex"), "{text}");
}

#[test]
fn budgets_and_prices_that_cannot_be_are_refused_with_their_line() {
    let env = TestEnv::configured("");
    std::fs::write(
        env.repo.join("vane.toml"),
        "[budget]\nbatch_usd = -1\ntask_sud = 2\n[prices.\"m\"]\ninput = 1\n",
    )
    .unwrap();
    let run = env.vane(&["config", "check"]).failure(1);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("did you mean \"task_usd\""), "{text}");
    assert!(text.contains("has no `output`"), "{text}");
    let run = env.vane(&["work", "--budget", "lots"]).failure(2);
    assert!(
        run.stderr.contains("not an amount of USD"),
        "{}",
        run.stderr
    );
}

#[test]
fn each_batch_writes_its_log_as_json_lines() {
    let env = TestEnv::configured("");
    env.vane(&["task", "add", "a", "--id", "a", "--run", "echo a > a.txt"])
        .success();
    env.vane(&["task", "add", "b", "--id", "b", "--run", "exit 3"])
        .success();
    env.vane(&["work"]).failure(1);
    let log = env.state_dir().join("logs").join("batch-1.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
    }
    let started = lines
        .iter()
        .find(|l| l["message"] == "attempt started" && l["task"] == "a")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(started["correlation"], "batch-1/a#1");
    assert_eq!(started["level"], "INFO");
    assert!(lines
        .iter()
        .any(|l| l["message"] == "landed" && l["task"] == "a"));
    assert!(lines
        .iter()
        .any(|l| l["message"] == "rejected" && l["task"] == "b" && l["level"] == "WARN"));
    // Nothing of it on stderr without -v, and no second batch wrote to the first's file.
    env.vane(&["task", "retry", "b"]).success();
    env.vane(&["work"]).failure(1);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), text);
    assert!(env.state_dir().join("logs").join("batch-2.jsonl").exists());
}

#[test]
fn gc_with_keep_days_removes_old_batch_logs_but_never_the_latest() {
    let env = TestEnv::configured("");
    env.vane(&["task", "add", "a", "--id", "a", "--run", "echo a > a.txt"])
        .success();
    env.vane(&["work"]).success();
    env.vane(&["task", "add", "b", "--id", "b", "--run", "echo b > b.txt"])
        .success();
    env.vane(&["work"]).success();
    let logs = env.state_dir().join("logs");
    let (first, second) = (logs.join("batch-1.jsonl"), logs.join("batch-2.jsonl"));
    assert!(first.is_file() && second.is_file());
    // New logs stay; old ones go, but the latest batch's whatever its age.
    env.vane(&["gc", "--keep-days", "3"]).success();
    assert!(first.is_file());
    for log in [&first, &second] {
        let status = std::process::Command::new("touch")
            .args(["-d", "10 days ago"])
            .arg(log)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let dry = env.vane(&["gc", "--keep-days", "3", "--dry-run"]).success();
    assert!(
        dry.stderr
            .contains(&format!("Would remove batch log {}", first.display())),
        "{}",
        dry.stderr
    );
    assert!(first.is_file(), "a dry run removes nothing");
    let report = env
        .vane(&["gc", "--keep-days", "3", "--json"])
        .success()
        .json();
    let removed: Vec<&str> = report["logs_removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(removed, [first.display().to_string()]);
    assert!(!first.exists());
    assert!(second.is_file());
}
