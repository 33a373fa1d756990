//! `vane mcp`'s tools beyond reading and adding, spoken to as an MCP client does: changing,
//! blocking and retrying tasks, dependencies, plans, context, the logs, the protected-path review,
//! and `vane work` started in the background and followed to its end. What MCP writes, the CLI
//! reads, and the refusals are tool errors a model can act on.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::TestEnv;
use crate::mcp::Client;

fn show(env: &TestEnv, id: &str) -> Value {
    env.vane(&["task", "show", id, "--json"]).success().json()
}

/// Asks `work_status` until no batch runs, and answers with its last answer.
fn wait_for_the_batch(client: &mut Client) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = client.ok("work_status", json!({}));
        if status["running"] == false {
            return status;
        }
        assert!(Instant::now() < deadline, "the batch did not end: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn every_state_tool_is_listed_with_a_closed_schema() {
    let env = TestEnv::initialised();
    let mut client = Client::start(&env);
    let listed = client.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap();
    for wanted in [
        "task_update",
        "task_block",
        "task_retry",
        "dep_add",
        "plan_submit",
        "context_add",
        "context_list",
        "quality",
        "events",
        "checkpoints",
        "approve",
        "reject",
        "work_start",
        "work_status",
    ] {
        let tool = tools
            .iter()
            .find(|t| t["name"] == wanted)
            .unwrap_or_else(|| panic!("{wanted} is not listed"));
        assert_eq!(tool["inputSchema"]["additionalProperties"], false, "{tool}");
    }
}

#[test]
fn a_pending_task_is_changed_blocked_and_retried_and_a_blocked_one_is_not_changed() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Old title", "--id", "a"])
        .success();
    let mut client = Client::start(&env);
    let updated = client.ok(
        "task_update",
        json!({"id": "a", "title": "New title", "complexity": 4, "paths": ["src/**"]}),
    );
    assert_eq!(updated["changed"], json!(["title", "complexity", "paths"]));
    let shown = show(&env, "a");
    assert_eq!(shown["title"], "New title");
    assert_eq!(shown["complexity"], 4);
    assert_eq!(shown["paths"], json!(["src/**"]));
    let unknown = client.refused("task_update", json!({"id": "a", "agent": "nobody"}));
    assert!(unknown.contains("nobody"), "{unknown}");
    let missing = client.refused("task_update", json!({"id": "T9", "title": "x"}));
    assert!(
        missing.contains("task `T9` does not exist; `task_list` shows the ids"),
        "{missing}"
    );

    let blocked = client.ok(
        "task_block",
        json!({"id": "a", "reason": "waiting for keys"}),
    );
    assert_eq!(blocked["status"], "blocked");
    assert_eq!(show(&env, "a")["block_reason"], "waiting for keys");
    let refused = client.refused("task_update", json!({"id": "a", "title": "Again"}));
    assert!(
        refused.contains("task `a` is blocked; only a pending task can be changed"),
        "{refused}"
    );
    assert_eq!(show(&env, "a")["title"], "New title", "nothing changed");

    let retried = client.ok("task_retry", json!({"id": "a"}));
    assert_eq!(retried["task"]["status"], "pending");
    assert_eq!(retried["released"], true);
    let not_blocked = client.refused("task_retry", json!({"id": "a"}));
    assert!(
        not_blocked.contains("is pending, not blocked"),
        "{not_blocked}"
    );
    let fresh = client.ok("task_retry", json!({"id": "a", "fresh": true}));
    assert_eq!(fresh["fresh"], true);
    assert_eq!(show(&env, "a")["fresh_start"], true);
    assert_eq!(
        client.protocol_error("task_block", json!({"id": "a"})),
        -32602
    );
}

#[test]
fn a_dependency_is_added_and_one_closing_a_cycle_is_refused_with_the_cycle() {
    let env = TestEnv::initialised();
    for id in ["a", "b"] {
        env.vane(&["task", "add", id, "--id", id]).success();
    }
    let mut client = Client::start(&env);
    let added = client.ok("dep_add", json!({"task": "b", "depends_on": "a"}));
    assert_eq!(
        added,
        json!({"task": "b", "depends_on": "a", "kind": "blocks", "change": "added"})
    );
    let shown = show(&env, "b");
    assert_eq!(shown["dependencies"][0]["id"], "a", "{shown}");
    let cycle = client.refused("dep_add", json!({"task": "a", "depends_on": "b"}));
    assert!(
        cycle.contains("this dependency would close a cycle") && cycle.contains("a -> b -> a"),
        "{cycle}"
    );
    client.ok(
        "dep_add",
        json!({"task": "a", "depends_on": "b", "kind": "related"}),
    );
    let unknown = client.refused("dep_add", json!({"task": "a", "depends_on": "zz"}));
    assert!(unknown.contains("`zz`"), "{unknown}");
    assert_eq!(
        client.protocol_error(
            "dep_add",
            json!({"task": "a", "depends_on": "b", "kind": "x"})
        ),
        -32602
    );
}

#[test]
fn a_plan_is_written_as_vane_plan_writes_one_and_a_plan_with_a_cycle_is_refused_whole() {
    let env = TestEnv::initialised();
    let mut client = Client::start(&env);
    let task = |id: &str, deps: Value| {
        json!({"id": id, "title": format!("Do {id}"), "description": "", "type": "task",
               "complexity": 2, "deps": deps, "paths": [], "agent": null, "rationale": null})
    };
    let planned = client.ok(
        "plan_submit",
        json!({
            "epic": {"goal": "Add sign-in", "id": "auth"},
            "plan": {"rationale": "two steps", "tasks": [
                task("api", json!([])),
                task("form", json!([{"id": "api", "kind": "blocks"}])),
            ]},
        }),
    );
    assert_eq!(planned["epic"], "auth");
    assert_eq!(planned["new_epic"], true);
    assert_eq!(planned["tasks"], json!(["api", "form"]));
    assert_eq!(show(&env, "auth")["type"], "epic");
    assert_eq!(show(&env, "form")["parent"], "auth");
    let events = env.vane(&["events", "--json"]).success().json();
    let plan_event = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "planned")
        .expect("a planned event");
    assert_eq!(plan_event["data"]["planner"], "mcp", "{plan_event}");

    // Planned already: refused unless `add` or `replace`, as `vane plan` does.
    let again = client.refused(
        "plan_submit",
        json!({"epic": "auth", "plan": {"rationale": null, "tasks": [task("docs", json!([]))]}}),
    );
    assert!(again.contains("has 2 tasks already"), "{again}");
    client.ok(
        "plan_submit",
        json!({"epic": "auth", "add": true,
               "plan": {"rationale": null, "tasks": [task("docs", json!([]))]}}),
    );
    assert_eq!(show(&env, "docs")["parent"], "auth");

    let before = env.count_rows("tasks");
    let cycle = client.refused(
        "plan_submit",
        json!({
            "epic": {"goal": "Go round", "id": "round"},
            "plan": {"rationale": null, "tasks": [
                task("x", json!([{"id": "y", "kind": "blocks"}])),
                task("y", json!([{"id": "x", "kind": "blocks"}])),
                task("", json!([])),
            ]},
        }),
    );
    assert!(
        cycle.contains("nothing was written") && cycle.contains("go round in a circle: "),
        "{cycle}"
    );
    assert!(
        cycle.contains("x -> y -> x") || cycle.contains("y -> x -> y"),
        "{cycle}"
    );
    // Every problem, numbered: the empty id too.
    assert!(
        cycle.contains("\n1. ") && cycle.contains("\n2. "),
        "{cycle}"
    );
    assert_eq!(env.count_rows("tasks"), before, "nothing was written");

    let not_epic = client.refused(
        "plan_submit",
        json!({"epic": "api", "plan": {"rationale": null, "tasks": [task("z", json!([]))]}}),
    );
    assert!(not_epic.contains("not an epic"), "{not_epic}");
    assert_eq!(
        client.protocol_error("plan_submit", json!({"epic": "auth", "plan": "tasks"})),
        -32602
    );
}

#[test]
fn context_is_recorded_and_listed_and_the_logs_are_read_with_their_filters() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "A", "--id", "a"]).success();
    env.vane(&["task", "add", "B", "--id", "b"]).success();
    let mut client = Client::start(&env);
    let entry = client.ok(
        "context_add",
        json!({"type": "decision", "topic": "auth", "content": "Sessions in cookies",
               "confidence": 0.8, "tasks": ["a"]}),
    );
    assert_eq!(entry["kind"], "decision", "{entry}");
    client.ok(
        "context_add",
        json!({"type": "hypothesis", "topic": "perf", "content": "N+1 queries"}),
    );
    let listed = env.vane(&["context", "list", "--json"]).success().json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let for_a = client.ok("context_list", json!({"task": "a"}));
    assert_eq!(for_a["entries"].as_array().unwrap().len(), 1, "{for_a}");
    let decisions = client.ok(
        "context_list",
        json!({"type": "hypothesis", "topic": "perf"}),
    );
    assert_eq!(decisions["entries"][0]["content"], "N+1 queries");
    let unknown = client.refused(
        "context_add",
        json!({"type": "decision", "topic": "t", "content": "c", "tasks": ["zz"]}),
    );
    assert!(unknown.contains("`zz`"), "{unknown}");
    assert_eq!(
        client.protocol_error(
            "context_add",
            json!({"type": "rumour", "topic": "t", "content": "c"})
        ),
        -32602
    );

    let all = client.ok("events", json!({"limit": 0}));
    let ids: Vec<i64> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 4, "{all}");
    let last = all["last_id"].as_i64().unwrap();
    assert_eq!(last, *ids.last().unwrap());
    let newer = client.ok("events", json!({"since": last}));
    assert_eq!(newer["events"], json!([]));
    let one = client.ok("events", json!({"limit": 1}));
    assert_eq!(one["events"][0]["id"], last);
    let of_b = client.ok("events", json!({"task": "b"}));
    assert!(
        of_b["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["task"] == "b"),
        "{of_b}"
    );
    let none = client.ok("events", json!({"correlation": "batch-1"}));
    assert_eq!(none["events"], json!([]));

    let checkpoints = client.ok("checkpoints", json!({}));
    assert_eq!(checkpoints["checkpoints"], json!([]));
    let quality = client.ok("quality", json!({}));
    assert_eq!(quality["dimensions"], json!([]), "{quality}");
    assert!(quality["threshold"].is_number(), "{quality}");
}

#[test]
fn a_change_to_the_checks_is_approved_through_mcp_and_what_does_not_wait_is_refused() {
    let env = TestEnv::configured("[[gate]]\nname = \"no-bad\"\ncommand = \"test ! -e bad.txt\"\n");
    env.vane(&[
        "task",
        "add",
        "ungate",
        "--id",
        "ungate",
        "--run",
        "printf 'workers = 2\\nmax_attempts = 2\\n' > vane.toml; echo fine > fine.txt",
    ])
    .success();
    env.vane(&["task", "add", "plain", "--id", "plain"])
        .success();
    let mut client = Client::start(&env);
    for (tool, reason) in [("approve", None), ("reject", Some("no"))] {
        let arguments = |task: &str| match reason {
            Some(reason) => json!({"task": task, "reason": reason}),
            None => json!({"task": task}),
        };
        let refused = client.refused(tool, arguments("plain"));
        assert!(
            refused.contains("task `plain` is not waiting for a person's approval"),
            "{tool}: {refused}"
        );
        let missing = client.refused(tool, arguments("T9"));
        assert!(missing.contains("does not exist"), "{tool}: {missing}");
    }
    env.vane(&["work", "--task", "ungate"]).failure(1);
    assert_eq!(show(&env, "ungate")["status"], "needs_review");
    let approved = client.ok("approve", json!({"task": "ungate"}));
    assert_eq!(approved["task"], "ungate", "{approved}");
    assert_eq!(show(&env, "ungate")["status"], "done");
    let checkpoints = client.ok("checkpoints", json!({}));
    assert!(
        checkpoints["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["task"] == "ungate"),
        "{checkpoints}"
    );
    let again = client.refused("approve", json!({"task": "ungate"}));
    assert!(again.contains("not waiting"), "{again}");
}

#[test]
fn work_started_through_mcp_runs_in_the_background_and_lands_the_task() {
    let env = TestEnv::configured("");
    let mut client = Client::start(&env);
    client.ok(
        "task_add",
        json!({"title": "Write x", "id": "x", "run": "echo x > x.txt"}),
    );
    let started = client.ok("work_start", json!({"workers": 1, "tasks": ["x"]}));
    assert!(started["pid"].as_u64().unwrap() > 0, "{started}");
    let log = started["log"].as_str().unwrap().to_string();
    assert!(log.ends_with("runs/mcp-work-1.log"), "{log}");

    let status = wait_for_the_batch(&mut client);
    assert_eq!(status["latest_batch"]["outcome"], "finished", "{status}");
    assert_eq!(status["counts"]["done"], 1, "{status}");
    assert_eq!(status["log"], log.as_str());
    let tail = status["log_tail"].as_array().unwrap();
    assert!(
        tail.iter().any(|l| l.as_str().unwrap().contains("landed")),
        "{status}"
    );
    assert_eq!(show(&env, "x")["status"], "done");
    let landed = client.refused("task_update", json!({"id": "x", "title": "Rewrite x"}));
    assert!(landed.contains("task `x` is done"), "{landed}");
    assert!(
        env.repo.join("x.txt").is_file(),
        "the checkout was brought along"
    );
    let batch = status["latest_batch"]["id"].as_i64().unwrap();
    let events = client.ok("events", json!({"correlation": format!("batch-{batch}")}));
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"batch_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"batch_finished"), "{kinds:?}");
    let missing = client.refused("work_start", json!({"tasks": ["T9"]}));
    assert!(missing.contains("does not exist"), "{missing}");
}

#[test]
fn work_start_is_refused_while_a_batch_runs() {
    let env = TestEnv::configured("");
    env.vane(&[
        "task",
        "add",
        "slow",
        "--id",
        "slow",
        "--run",
        "sleep 3; echo s > s.txt",
    ])
    .success();
    let mut client = Client::start(&env);
    let first = client.ok("work_start", json!({}));
    assert_eq!(first["running"], true, "{first}");
    let pid = first["pid"].as_u64().unwrap().to_string();
    let refused = client.refused("work_start", json!({}));
    assert!(
        refused.contains(&format!("a batch is running already (pid {pid}")),
        "{refused}"
    );
    let status = client.ok("work_status", json!({}));
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["lock"]["pid"], pid.as_str(), "{status}");
    let status = wait_for_the_batch(&mut client);
    assert_eq!(status["latest_batch"]["outcome"], "finished", "{status}");
    assert_eq!(show(&env, "slow")["status"], "done");
    // Free again: the next one starts (and finds nothing to do).
    let next = client.ok("work_start", json!({}));
    assert!(
        next["log"].as_str().unwrap().ends_with("mcp-work-2.log"),
        "{next}"
    );
    wait_for_the_batch(&mut client);
}
