//! `[[route]]` rules end to end: two profiles of vane.toml, routes that send small bugs to one and
//! the rest to the other, real agents (`sh`) that write which profile ran, `vane work` landing it
//! all; what `vane task show` and `vane work --dry-run` say beforehand, and `vane config check`
//! refusing a route to a profile there is not.

use crate::common::TestEnv;

/// Two profiles, each writing its name into `<task>.txt`, and the routes between them: bugs of
/// complexity 3 or less to `small`, everything else to `big`.
const ROUTED: &str = "\
[agents.small]
command = [\"sh\", \"-c\", \"echo small > \\\"$0.txt\\\"\", \"{task_id}\"]

[agents.big]
command = [\"sh\", \"-c\", \"echo big > \\\"$0.txt\\\"\", \"{task_id}\"]

[[route]]
type = \"bug\"
complexity = \"<=3\"
agent = \"small\"

[[route]]
agent = \"big\"
";

/// A task to add, and the profile it should run with.
struct Case {
    id: &'static str,
    kind: &'static str,
    complexity: Option<&'static str>,
    /// Its own `agent`.
    agent: Option<&'static str>,
    runs: &'static str,
}

const fn case(
    id: &'static str,
    kind: &'static str,
    complexity: Option<&'static str>,
    agent: Option<&'static str>,
    runs: &'static str,
) -> Case {
    Case {
        id,
        kind,
        complexity,
        agent,
        runs,
    }
}

const TASKS: &[Case] = &[
    case("typo", "bug", Some("2"), None, "small"),
    case("crash", "bug", Some("8"), None, "big"),
    // Without a complexity, no complexity condition holds.
    case("unsized", "bug", None, None, "big"),
    case("feature", "story", Some("1"), None, "big"),
    // Its own agent wins over the route it matches.
    case("pinned", "bug", Some("1"), Some("big"), "big"),
];

fn routed_env() -> TestEnv {
    let env = TestEnv::configured(&format!("workers = 2\n{ROUTED}"));
    for task in TASKS {
        let mut args = vec!["task", "add", task.id, "--id", task.id, "--type", task.kind];
        if let Some(complexity) = task.complexity {
            args.extend(["--complexity", complexity]);
        }
        if let Some(agent) = task.agent {
            args.extend(["--agent", agent]);
        }
        env.vane(&args).success();
    }
    env
}

/// The profile of each attempt at `id`, and why it was chosen, read with plain SQLite.
fn attempts(env: &TestEnv, id: &str) -> Vec<(String, Option<String>)> {
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT profile, agent_reason FROM attempts WHERE task_id = ?1 ORDER BY number")
        .unwrap();
    stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn routes_send_each_task_to_its_profile_and_the_tasks_own_agent_wins() {
    let env = routed_env();

    // Before any run: what each task would get, and why.
    let typo = env
        .vane(&["task", "show", "typo", "--json"])
        .success()
        .json();
    assert_eq!(
        typo["next_agent"],
        serde_json::json!({
            "profile": "small",
            "chosen_by": "route 1: type bug, complexity ≤ 3",
            "route": 1,
        })
    );
    // The task's own `agent` is still there, as it was.
    assert_eq!(typo["agent"], serde_json::Value::Null);
    let pinned = env
        .vane(&["task", "show", "pinned", "--json"])
        .success()
        .json();
    assert_eq!(pinned["agent"], "big");
    assert_eq!(pinned["next_agent"]["chosen_by"], "the task's own agent");
    assert_eq!(pinned["next_agent"]["route"], serde_json::Value::Null);
    let shown = env.vane(&["task", "show", "crash"]).success().stdout;
    assert!(
        shown.contains("agent:       big (route 2: any task)"),
        "{shown}"
    );

    // The dry run says the same, and runs nothing.
    let dry = env.vane(&["work", "--dry-run", "--json"]).success().json();
    let mut planned: Vec<(String, String)> = dry["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| {
            (
                a["task"].as_str().unwrap().to_string(),
                a["profile"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    planned.sort();
    let mut expected: Vec<(String, String)> = TASKS
        .iter()
        .map(|task| (task.id.to_string(), task.runs.to_string()))
        .collect();
    expected.sort();
    assert_eq!(planned, expected, "{dry}");
    assert_eq!(
        dry["schedule"].as_array().map(Vec::len),
        Some(TASKS.len()),
        "{dry}"
    );
    let text = env.vane(&["work", "--dry-run"]).success().stdout;
    assert!(text.contains("typo  small (route 1)  typo\n"), "{text}");
    assert!(text.contains("pinned  big  pinned\n"), "{text}");
    assert_eq!(env.count_rows("attempts"), 0);

    // The batch runs each task with its profile, and everything lands.
    env.vane(&["work"]).success();
    for Case { id, runs, .. } in TASKS {
        let task = env.vane(&["task", "show", id, "--json"]).success().json();
        assert_eq!(task["status"], "done", "{id}: {task}");
        let landed = env.git(&env.repo, &["show", &format!("main:{id}.txt")]);
        assert_eq!(landed.trim(), *runs, "{id}");
        let tried = attempts(&env, id);
        assert_eq!(tried.len(), 1, "{id}: {tried:?}");
        assert_eq!(tried[0].0, *runs, "{id}");
    }
    // The attempt keeps which route chose its profile; the task's own choice needs no reason.
    assert_eq!(
        attempts(&env, "typo")[0].1.as_deref(),
        Some("routed to `small` by route 1 (type bug, complexity ≤ 3)")
    );
    assert_eq!(
        attempts(&env, "unsized")[0].1.as_deref(),
        Some("routed to `big` by route 2 (any task)")
    );
    assert_eq!(attempts(&env, "pinned")[0].1, None);
    // And a person sees it in the task's events.
    let shown = env.vane(&["task", "show", "typo"]).success().stdout;
    assert!(
        shown.contains("routed to `small` by route 1 (type bug, complexity ≤ 3)"),
        "{shown}"
    );
}

#[test]
fn config_check_refuses_a_route_to_a_profile_there_is_not() {
    let env = TestEnv::configured(
        "[agents.small]\ncommand = [\"sh\", \"-c\", \"true\"]\n\
         [[route]]\ntype = \"bug\"\nagent = \"smal\"\n",
    );
    let run = env.vane(&["config", "check"]).failure(1);
    assert!(
        run.stderr.contains(
            "line 7: route 1 names the agent profile `smal`, which is neither built in nor \
             defined in vane.toml ([agents.smal]); did you mean \"small\"?"
        ),
        "{}",
        run.stderr
    );
    let json = env.vane(&["config", "check", "--json"]).failure(1).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"][0]["key"], "route[1].agent");
    assert_eq!(json["problems"][0]["line"], 7);
    // `vane work` refuses the same file before it starts anything.
    let run = env.vane(&["work"]).failure(1);
    assert!(run.stderr.contains("route 1 names"), "{}", run.stderr);
    assert_eq!(env.count_rows("attempts"), 0);
}

#[test]
fn config_check_and_show_list_the_routes() {
    let env = TestEnv::configured(ROUTED);
    let run = env.vane(&["config", "check"]).success();
    assert!(run.stdout.contains(", 2 routes"), "{}", run.stdout);
    let shown = env.vane(&["config", "show", "--json"]).success().json();
    assert_eq!(shown["route[1].complexity"]["value"], "<=3");
    assert_eq!(shown["route[1].agent"]["value"], "small");
    assert_eq!(shown["route[2].agent"]["line"], 15);
}

#[test]
fn work_refuses_to_start_when_a_routed_profile_cannot_run() {
    let env = TestEnv::configured(
        "[agents.gone]\ncommand = [\"no-such-agent-program\"]\n\
         [[route]]\ntype = \"bug\"\nagent = \"gone\"\n",
    );
    env.vane(&["task", "add", "x", "--id", "x", "--run", "true"])
        .success();
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr.contains("agent gone") && run.stderr.contains("used by route 1"),
        "{}",
        run.stderr
    );
    assert_eq!(env.count_rows("attempts"), 0);
}
