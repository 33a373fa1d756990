//! `vane import` and `vane export`.

use crate::common::TestEnv;

const ROADMAP: &str = r#"
epics:
  - id: auth
    title: Authentication
    description: Sign-in for the web app
    deps: [setup]
    tasks:
      - id: auth-form
        title: Add the login form
        complexity: 3
        deps: [auth-api, {id: setup, kind: related}]
        run: "echo form > login.html"
        paths: [src/auth/form.rs, templates/]
      - id: auth-api
        title: Add the login endpoint
        complexity: 5
        agent: shell
tasks:
  - id: setup
    title: Set up the project
    run: "git init"
    paths: "ci/, Makefile"
  - id: deploy
    title: Deploy
    type: bug
    deps: [auth]
"#;

#[test]
fn import_adds_the_graph_and_reports_it() {
    let env = TestEnv::initialised();
    env.write("roadmap.yaml", ROADMAP);
    let run = env.vane(&["import", "roadmap.yaml"]).success();
    insta::assert_snapshot!("import_first", run.stderr);
    let tasks = env.vane(&["task", "list", "--json"]).success().json();
    assert_eq!(tasks.as_array().unwrap().len(), 5);
    let form = env
        .vane(&["task", "show", "auth-form", "--json"])
        .success()
        .json();
    assert_eq!(form["parent"], "auth");
    assert_eq!(form["run"], "echo form > login.html");
    assert_eq!(
        form["paths"],
        serde_json::json!(["src/auth/form.rs", "templates/"])
    );
    let deps: Vec<(String, String)> = form["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Dependencies are listed in the order their tasks were created.
    assert_eq!(
        deps,
        [
            ("auth-api".into(), "blocks".into()),
            ("setup".into(), "related".into())
        ]
    );
    // Only setup is ready: auth's tasks inherit the epic's dependency on it.
    let ready = env
        .vane(&["task", "list", "--ready", "--json"])
        .success()
        .json();
    assert_eq!(ready.as_array().unwrap().len(), 1);
    assert_eq!(ready[0]["id"], "setup");
}

#[test]
fn reimport_updates_pending_tasks_and_never_touches_started_ones() {
    let env = TestEnv::initialised();
    env.write("roadmap.yaml", ROADMAP);
    env.vane(&["import", "roadmap.yaml"]).success();
    let run = env.vane(&["import", "roadmap.yaml"]).success();
    assert!(
        run.stderr.contains("0 added, 0 updated, 5 unchanged"),
        "{}",
        run.stderr
    );

    // A task that has started is left as it is, whatever the roadmap now says.
    let conn = rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap();
    conn.execute(
        "UPDATE tasks SET status = 'in_progress' WHERE id = 'auth-api'",
        [],
    )
    .unwrap();
    let changed = ROADMAP
        .replace("Add the login form", "Add the sign-in form")
        .replace("Add the login endpoint", "Add the sign-in endpoint")
        .replace("deps: [auth]", "deps: [auth, setup]")
        + "  - id: monitor\n    title: Add monitoring\n    deps: [deploy]\n";
    env.write("roadmap.yaml", &changed);
    let dry = env.vane(&["import", "roadmap.yaml", "--dry-run"]).success();
    assert!(dry.stderr.starts_with("Would import"), "{}", dry.stderr);
    assert_eq!(
        env.vane(&["task", "list", "--json"])
            .success()
            .json()
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let run = env.vane(&["import", "roadmap.yaml"]).success();
    insta::assert_snapshot!("import_again", run.stderr);
    let form = env
        .vane(&["task", "show", "auth-form", "--json"])
        .success()
        .json();
    assert_eq!(form["title"], "Add the sign-in form");
    let api = env
        .vane(&["task", "show", "auth-api", "--json"])
        .success()
        .json();
    assert_eq!(api["title"], "Add the login endpoint");
    let deploy = env
        .vane(&["task", "show", "deploy", "--json"])
        .success()
        .json();
    assert_eq!(deploy["dependencies"].as_array().unwrap().len(), 2);
    let json = env
        .vane(&["import", "roadmap.yaml", "--json"])
        .success()
        .json();
    assert_eq!(json["changes"][2]["change"], "kept");
}

#[test]
fn a_malformed_roadmap_names_file_entry_and_problem_and_writes_nothing() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Existing", "--id", "old"])
        .success();
    let events = env.count_rows("events");
    env.write(
        "bad.yaml",
        "tasks:\n  - id: a\n    title: A\n    deps: [ghost]\n  - id: a\n    title: Again\n  - id: b\n    title: B\n    complexity: 12\n    deps: [old]\n",
    );
    let run = env.vane(&["import", "bad.yaml"]).failure(1);
    insta::assert_snapshot!("import_malformed", run.stderr);
    assert_eq!(env.count_rows("events"), events);
    assert_eq!(env.count_rows("tasks"), 1);

    env.write("syntax.yaml", "tasks:\n  - id: a\n    title: [unclosed\n");
    let run = env.vane(&["import", "syntax.yaml"]).failure(1);
    assert!(
        run.stderr.contains("syntax.yaml") && run.stderr.contains("line"),
        "{}",
        run.stderr
    );

    let run = env.vane(&["import", "missing.yaml"]).failure(1);
    assert!(
        run.stderr.contains("cannot read missing.yaml"),
        "{}",
        run.stderr
    );
    assert_eq!(env.count_rows("tasks"), 1);
}

#[test]
fn a_cycle_through_stored_tasks_is_refused_whole() {
    let env = TestEnv::initialised();
    env.vane(&["task", "add", "Stored", "--id", "stored"])
        .success();
    env.write("one.yaml", "tasks:\n  - id: new\n    title: New\n");
    env.vane(&["import", "one.yaml"]).success();
    env.vane(&["task", "dep", "add", "stored", "new"]).success();
    env.write(
        "two.yaml",
        "tasks:\n  - id: new\n    title: New\n    deps: [stored]\n  - id: other\n    title: Other\n",
    );
    let run = env.vane(&["import", "two.yaml"]).failure(1);
    assert!(
        run.stderr
            .contains("two.yaml: this dependency would close a cycle:")
            && run.stderr.contains("nothing was imported"),
        "{}",
        run.stderr
    );
    assert_eq!(env.count_rows("tasks"), 2, "`other` was not added either");
}

#[test]
fn export_then_import_rebuilds_the_same_graph() {
    let env = TestEnv::initialised();
    env.write("roadmap.yaml", ROADMAP);
    env.vane(&["import", "roadmap.yaml"]).success();
    env.vane(&[
        "task",
        "add",
        "Loose end",
        "--description",
        "line one\nline: two",
        "--deps",
        "deploy",
        "--paths",
        "docs/loose.md",
    ])
    .success();
    env.vane(&[
        "task",
        "dep",
        "add",
        "T1",
        "auth-form",
        "--kind",
        "suggested",
    ])
    .success();
    let yaml = env.vane(&["export"]).success().stdout;
    let json = env.vane(&["export", "--format", "json"]).success().stdout;
    assert!(yaml.contains("  paths:\n  - ci/\n  - Makefile\n"), "{yaml}");
    let graph = |env: &TestEnv| {
        let mut tasks = env.vane(&["task", "list", "--json"]).success().json();
        let mut shown = Vec::new();
        for task in tasks.as_array_mut().unwrap() {
            let id = task["id"].as_str().unwrap().to_string();
            let detail = env.vane(&["task", "show", &id, "--json"]).success().json();
            shown.push((
                id,
                detail["title"].clone(),
                detail["description"].clone(),
                detail["type"].clone(),
                detail["parent"].clone(),
                detail["complexity"].clone(),
                detail["run"].clone(),
                detail["agent"].clone(),
                detail["priority"].clone(),
                detail["dependencies"].clone(),
                detail["paths"].clone(),
            ));
        }
        shown
    };
    let original = graph(&env);
    for (name, text) in [("export.yaml", &yaml), ("export.json", &json)] {
        let copy = TestEnv::initialised();
        copy.write(name, text);
        copy.vane(&["import", name]).success();
        assert_eq!(graph(&copy), original, "import of {name} differs:\n{text}");
        assert_eq!(copy.vane(&["export"]).success().stdout, yaml);
    }
    let stdin = TestEnv::initialised();
    stdin.vane_with_stdin(&["import", "-"], &yaml).success();
    assert_eq!(graph(&stdin), original);
}
