//! `vane mcp`'s file, command, git and artifact tools over stdio, against tasks that really ran:
//! a done one, blocked ones whose branch is only in git, and one whose branch a worker's worktree
//! has checked out (as while its agent works). Every way out of the worktree is refused as a tool
//! error the model can read.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use crate::common::TestEnv;
use crate::mcp::Client;

fn add(env: &TestEnv, id: &str, run: &str) {
    env.vane(&["task", "add", id, "--id", id, "--run", run])
        .success();
}

fn status(env: &TestEnv, id: &str) -> String {
    let task = env.vane(&["task", "show", id, "--json"]).success().json();
    task["status"].as_str().unwrap().to_string()
}

/// The worker's worktree `w1` under vane's default worktree root.
fn worker_worktree(env: &TestEnv) -> PathBuf {
    let list = env.git(&env.repo, &["worktree", "list", "--porcelain"]);
    list.lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from)
        .find(|p| p.file_name().is_some_and(|n| n == "w1"))
        .unwrap_or_else(|| panic!("no w1 worktree: {list}"))
}

/// One `done` task, two blocked ones (`held`, `idle`) whose branches hold a file each, and `held`'s
/// branch checked out again in the worker's worktree, as while its agent works on it.
fn ran_tasks() -> (TestEnv, PathBuf) {
    let env = TestEnv::configured("workers = 1\nmax_attempts = 1\n");
    add(&env, "done", "echo x > x.txt");
    add(&env, "held", "echo half > half.txt; exit 1");
    add(&env, "idle", "echo idle > idle.txt; exit 1");
    env.vane(&["work"]);
    assert_eq!(status(&env, "done"), "done");
    assert_eq!(status(&env, "held"), "blocked");
    assert_eq!(status(&env, "idle"), "blocked");
    let worktree = worker_worktree(&env);
    env.git(&worktree, &["checkout", "-q", "vane/held"]);
    (env, worktree)
}

fn entry_paths(listed: &Value) -> Vec<String> {
    listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn files_are_read_from_a_worktree_from_a_branch_and_from_the_base_tip() {
    let (env, worktree) = ran_tasks();
    let mut client = Client::start(&env);
    let listed = client.request("tools/list", json!({}));
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for wanted in [
        "file_read",
        "file_write",
        "file_list",
        "exec_command",
        "git_diff",
        "git_log",
        "git_show",
        "artifact_put",
        "artifact_get",
    ] {
        assert!(names.contains(&wanted), "{names:?}");
    }

    let read = client.ok("file_read", json!({"task": "held", "path": "half.txt"}));
    assert_eq!(read["content"], "half\n");
    assert_eq!(
        Path::new(read["read_from"]["worktree"].as_str().unwrap()),
        worktree.canonicalize().unwrap()
    );
    // A task whose branch no worktree holds is read from git.
    let read = client.ok("file_read", json!({"task": "idle", "path": "idle.txt"}));
    assert_eq!(read["content"], "idle\n");
    assert_eq!(read["read_from"]["ref"], "vane/idle");
    let read = client.ok("file_read", json!({"task": "done", "path": "x.txt"}));
    assert_eq!(read["content"], "x\n");
    // Without a task, the base tip, paged by offset and limit.
    let read = client.ok(
        "file_read",
        json!({"path": "README.md", "offset": 2, "limit": 3}),
    );
    assert_eq!(read["content"], "sam");
    assert_eq!(read["read_from"]["ref"], "main");
    assert_eq!(read["next_offset"], 5);
    assert_eq!(read["size"], 9);
    let missing = client.refused("file_read", json!({"path": "half.txt"}));
    assert!(missing.contains("does not exist in `main`"), "{missing}");

    let listed = client.ok("file_list", json!({"task": "held"}));
    let paths = entry_paths(&listed);
    assert!(paths.contains(&"half.txt".to_string()), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains(".git")), "{paths:?}");
    let listed = client.ok("file_list", json!({"task": "idle"}));
    // `done` landed before `idle` started.
    assert_eq!(
        entry_paths(&listed),
        ["README.md", "idle.txt", "vane.toml", "x.txt"]
    );
    let listed = client.ok("file_list", json!({}));
    assert!(entry_paths(&listed).contains(&"x.txt".to_string()));

    let log = client.ok("git_log", json!({"task": "idle"}));
    assert_eq!(log["range"], "main..vane/idle");
    let commits = log["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 1, "{log}");
    assert_eq!(commits[0]["subject"], "idle");
    let log = client.ok("git_log", json!({"limit": 50}));
    let subjects: Vec<&str> = log["commits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["subject"].as_str())
        .collect();
    assert!(subjects.contains(&"Initial commit"), "{subjects:?}");

    let diff = client.ok("git_diff", json!({"task": "idle"}));
    assert_eq!(diff["files"], json!(["idle.txt"]));
    assert!(diff["diff"].as_str().unwrap().contains("+idle"), "{diff}");
    // A task that landed: what its landing brought.
    let diff = client.ok("git_diff", json!({"task": "done"}));
    assert_eq!(diff["files"], json!(["x.txt"]), "{diff}");
    let landed = client.ok("git_log", json!({"task": "done"}));
    let subjects: Vec<&str> = landed["commits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["subject"].as_str())
        .collect();
    assert!(subjects.contains(&"done"), "{landed}");
    let none = client.refused("git_diff", json!({"task": "idle", "uncommitted": true}));
    assert!(none.contains("has no worktree now"), "{none}");

    let shown = client.ok("git_show", json!({"rev": "vane/idle"}));
    assert_eq!(shown["type"], "commit");
    assert!(
        shown["text"].as_str().unwrap().contains("idle.txt"),
        "{shown}"
    );
    let tip = commits[0]["sha"].as_str().unwrap();
    let shown = client.ok("git_show", json!({"rev": &tip[..10]}));
    assert_eq!(shown["id"], tip);
    let shown = client.ok("git_show", json!({"rev": "main"}));
    assert_eq!(shown["type"], "commit");
    for rev in [
        "HEAD",
        "main~1",
        "refs/heads/other",
        "vane/held:half.txt",
        "--output=/tmp/x",
    ] {
        let refused = client.refused("git_show", json!({"rev": rev}));
        assert!(refused.contains("shows nothing else"), "{rev}: {refused}");
    }
}

#[test]
fn paths_that_leave_the_worktree_are_refused() {
    let (env, worktree) = ran_tasks();
    std::os::unix::fs::symlink("/etc", worktree.join("etc")).unwrap();
    std::os::unix::fs::symlink(&env.repo, worktree.join("checkout")).unwrap();
    let mut client = Client::start(&env);
    let cases = [
        (
            "../x",
            "`../x` leaves the worktree: paths are relative to it, without `..`",
        ),
        (
            "/etc/passwd",
            "`/etc/passwd` is absolute: paths are relative to the worktree",
        ),
        (
            "etc/passwd",
            "`etc` is a symbolic link that points outside the worktree",
        ),
        (
            "checkout/README.md",
            "`checkout` is a symbolic link that points outside the worktree",
        ),
        (
            ".git/config",
            "`.git` is vane's and git's: not readable or writable here",
        ),
    ];
    for (path, message) in cases {
        let read = client.refused("file_read", json!({"task": "held", "path": path}));
        assert_eq!(read, message, "read {path}");
        let written = client.refused(
            "file_write",
            json!({"task": "held", "path": path, "content": "x"}),
        );
        assert_eq!(written, message, "write {path}");
        let listed = client.refused("file_list", json!({"task": "held", "path": path}));
        assert_eq!(listed, message, "list {path}");
    }
    // Read from git the same way: nothing in `.git`, nothing above.
    let refused = client.refused("file_read", json!({"path": "../repo/README.md"}));
    assert!(refused.contains("without `..`"), "{refused}");
    let refused = client.refused("file_read", json!({"task": "idle", "path": ".git/HEAD"}));
    assert!(refused.contains("`.git` is vane's"), "{refused}");
    // The links are listed, never followed.
    let listed = client.ok("file_list", json!({"task": "held", "recursive": true}));
    let links: Vec<&Value> = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "link")
        .collect();
    assert_eq!(links.len(), 2, "{listed}");
    assert!(!entry_paths(&listed).iter().any(|p| p.starts_with("etc/")));
    assert_eq!(
        std::fs::read_to_string(env.repo.join("README.md")).unwrap(),
        "# sample\n"
    );
}

#[test]
fn writes_and_commands_go_only_to_a_worktree_of_a_task_that_is_not_done() {
    let (env, worktree) = ran_tasks();
    let mut client = Client::start(&env);

    let written = client.ok(
        "file_write",
        json!({"task": "held", "path": "new/dir/n.txt", "content": "new\n"}),
    );
    assert_eq!(written["bytes"], 4);
    assert_eq!(
        std::fs::read_to_string(worktree.join("new/dir/n.txt")).unwrap(),
        "new\n"
    );
    client.ok(
        "file_write",
        json!({"task": "held", "path": "half.txt", "content": "whole\n"}),
    );
    let diff = client.ok("git_diff", json!({"task": "held", "uncommitted": true}));
    assert!(diff["diff"].as_str().unwrap().contains("+whole"), "{diff}");
    assert_eq!(diff["untracked"], json!(["new/dir/n.txt"]));

    let done = client.refused(
        "file_write",
        json!({"task": "done", "path": "y.txt", "content": "y"}),
    );
    assert!(done.contains("task `done` is done"), "{done}");
    let idle = client.refused(
        "file_write",
        json!({"task": "idle", "path": "y.txt", "content": "y"}),
    );
    assert!(
        idle.contains("task `idle` has no worktree now; its branch is read from git"),
        "{idle}"
    );
    let unknown = client.refused(
        "file_write",
        json!({"task": "T9", "path": "y.txt", "content": "y"}),
    );
    assert!(unknown.contains("does not exist"), "{unknown}");

    let ran = client.ok(
        "exec_command",
        json!({"task": "held", "command": "cat half.txt; echo oops >&2; exit 3"}),
    );
    assert_eq!(ran["exit_code"], 3, "{ran}");
    assert_eq!(ran["timed_out"], false);
    assert_eq!(ran["stdout"], "whole\n");
    assert_eq!(ran["stderr"], "oops\n");
    let run_dir = PathBuf::from(ran["run_dir"].as_str().unwrap());
    assert!(
        run_dir.starts_with(env.state_dir().join("runs/mcp")),
        "{ran}"
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("stdout")).unwrap(),
        "whole\n"
    );

    let started = Instant::now();
    let slow = client.ok(
        "exec_command",
        json!({"task": "held", "command": "sleep 30", "timeout_seconds": 1}),
    );
    assert_eq!(slow["timed_out"], true, "{slow}");
    assert!(started.elapsed().as_secs() < 20, "{slow}");

    let done = client.refused("exec_command", json!({"task": "done", "command": "true"}));
    assert!(done.contains("is done"), "{done}");
    let too_long = client.request(
        "tools/call",
        json!({"name": "exec_command",
               "arguments": {"task": "held", "command": "true", "timeout_seconds": 601}}),
    );
    assert_eq!(too_long["error"]["code"], -32602, "{too_long}");

    if vane::agent::confine::status().is_ok() {
        let intruder = env.repo.join("intruder");
        let outside = client.ok(
            "exec_command",
            json!({"task": "held",
                   "command": format!("echo x > '{}'", intruder.display())}),
        );
        assert_eq!(outside["confined"], true, "{outside}");
        assert_ne!(outside["exit_code"], 0, "{outside}");
        assert!(!intruder.exists());
        // Its own worktree it may write.
        let inside = client.ok(
            "exec_command",
            json!({"task": "held", "command": "echo y > y.txt && cat y.txt"}),
        );
        assert_eq!(inside["stdout"], "y\n", "{inside}");
    } else {
        eprintln!("note: not checking confinement: this kernel cannot confine");
    }
}

#[test]
fn artifacts_are_kept_with_the_task_by_one_file_name() {
    let (env, _worktree) = ran_tasks();
    let mut client = Client::start(&env);
    client.ok(
        "artifact_put",
        json!({"task": "idle", "name": "notes.md", "content": "# why\n"}),
    );
    assert_eq!(
        std::fs::read_to_string(env.state_dir().join("runs/idle/artifacts/notes.md")).unwrap(),
        "# why\n"
    );
    let got = client.ok("artifact_get", json!({"task": "idle", "name": "notes.md"}));
    assert_eq!(got["content"], "# why\n");
    let listed = client.ok("artifact_get", json!({"task": "idle"}));
    assert_eq!(listed["artifacts"], json!(["notes.md"]));
    let missing = client.refused("artifact_get", json!({"task": "idle", "name": "plan.md"}));
    assert!(missing.contains("has no artifact `plan.md`"), "{missing}");
    for name in ["a/b", "../x", "..", "/etc/passwd", ""] {
        let refused = client.refused(
            "artifact_put",
            json!({"task": "idle", "name": name, "content": "x"}),
        );
        assert!(
            refused.contains("is not an artifact name"),
            "{name}: {refused}"
        );
        let refused = client.refused("artifact_get", json!({"task": "idle", "name": name}));
        assert!(
            refused.contains("is not an artifact name"),
            "{name}: {refused}"
        );
    }
    let unknown = client.refused(
        "artifact_put",
        json!({"task": "T9", "name": "n", "content": "x"}),
    );
    assert!(unknown.contains("does not exist"), "{unknown}");
}
