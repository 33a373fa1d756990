//! Watching a batch: `vane status --json`'s `running`, `.git/vane/live.json`, `vane dash --once`,
//! and the dashboard itself on a real terminal (tmux), while a shell agent waits for the test to
//! let it finish.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestEnv;

/// A repository with one task whose agent prints a line, then waits until the test creates
/// `release` (at most a minute), then changes a file.
fn waiting_batch() -> (TestEnv, PathBuf) {
    let env = TestEnv::configured(
        "workers = 1\n[[gate]]\nname = \"files\"\ncommand = \"test -f slow.txt\"\n",
    );
    let release = env.root.join("release");
    let run = format!(
        "echo 'working on it'; i=0; while [ ! -f {} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo done > slow.txt",
        release.display()
    );
    env.vane(&["task", "add", "Slow task", "--id", "slow", "--run", &run])
        .success();
    (env, release)
}

fn spawn_work(env: &TestEnv) -> Child {
    env.vane_command(&["work"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vane work")
}

/// `vane status --json`'s `running`, polled until `ready` holds of it (or a deadline passes).
fn wait_for_running(
    env: &TestEnv,
    what: &str,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = env.vane(&["status", "--json"]).success().json();
        let running = status["running"].clone();
        if ready(&running) {
            return running;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what}; the last `running`: {running:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn worker_runs_slow(running: &serde_json::Value) -> bool {
    running["workers"][0]["task"] == "slow"
}

/// Waits until the agent of `slow` printed its line.
fn wait_for_agent_output(env: &TestEnv) {
    let stdout = env.state_dir().join("runs/slow/1/agent.stdout");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&stdout).is_ok_and(|t| t.contains("working on it")) {
        assert!(
            Instant::now() < deadline,
            "the agent never printed its line"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait for vane work") {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "vane work did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_live(env: &TestEnv) -> serde_json::Value {
    let text = std::fs::read_to_string(env.state_dir().join("live.json")).expect("live.json");
    serde_json::from_str(&text).expect("live.json is JSON")
}

#[test]
fn status_shows_the_running_batch_its_worker_and_task_and_null_once_it_ended() {
    let (env, release) = waiting_batch();
    assert_eq!(
        env.vane(&["status", "--json"]).success().json()["running"],
        serde_json::Value::Null,
        "nothing runs yet"
    );
    let mut work = spawn_work(&env);
    let running = wait_for_running(&env, "the worker on `slow`", worker_runs_slow);
    assert_eq!(running["pid"], work.id(), "{running:#}");
    assert!(
        running["since"]
            .as_str()
            .unwrap_or("")
            .contains("(vane work)"),
        "{running:#}"
    );
    let worker = &running["workers"][0];
    assert_eq!(worker["worker"], 1);
    assert_eq!(worker["title"], "Slow task");
    assert_eq!(worker["profile"], "shell");
    assert_eq!(worker["attempt"], 1);
    assert_eq!(running["base"], "main");
    assert_eq!(running["queue"]["window"], 8, "{running:#}");

    let live = read_live(&env);
    assert_eq!(live["pid"], work.id());
    assert_eq!(live["batch"], running["batch"]);
    assert_eq!(live["finished_at"], serde_json::Value::Null);

    let text = env.vane(&["status"]).success().stdout;
    assert!(
        text.contains(&format!("pid {}", work.id())) && text.contains("slow"),
        "{text}"
    );

    // The dashboard, drawn once as text: the worker, its task and its agent's last line.
    wait_for_agent_output(&env);
    let screen = env
        .vane(&["dash", "--once", "--size", "120x32"])
        .success()
        .stdout;
    assert!(screen.contains("w1  slow  shell #1"), "{screen}");
    assert!(screen.contains("› working on it"), "{screen}");
    assert!(screen.contains("running"), "{screen}");

    std::fs::write(&release, "").unwrap();
    let code = wait_for_exit(&mut work);
    let stderr = std::io::read_to_string(work.stderr.take().unwrap()).unwrap_or_default();
    assert_eq!(code, 0, "{stderr}");

    let status = env.vane(&["status", "--json"]).success().json();
    assert_eq!(status["running"], serde_json::Value::Null, "{status:#}");
    let live = read_live(&env);
    assert_eq!(live["outcome"], "finished", "{live:#}");
    assert!(live["finished_at"].is_i64(), "{live:#}");
    assert_eq!(live["landed"][0]["task"], "slow", "{live:#}");
    let screen = env
        .vane(&["dash", "--once", "--size", "120x32"])
        .success()
        .stdout;
    assert!(screen.contains("finished"), "{screen}");
    assert!(screen.contains("✓ slow"), "{screen}");
}

#[test]
fn a_killed_vane_leaves_a_live_file_that_is_no_running_batch() {
    let (env, release) = waiting_batch();
    let mut work = spawn_work(&env);
    wait_for_running(&env, "the worker on `slow`", worker_runs_slow);
    work.kill().expect("kill vane work");
    work.wait().expect("reap vane work");
    // The file still says the batch runs: only the lock tells it does not.
    assert_eq!(read_live(&env)["finished_at"], serde_json::Value::Null);
    let status = env.vane(&["status", "--json"]).success().json();
    assert_eq!(status["running"], serde_json::Value::Null, "{status:#}");
    let screen = env
        .vane(&["dash", "--once", "--size", "100x30"])
        .success()
        .stdout;
    assert!(!screen.contains("w1  slow"), "no worker shown: {screen}");
    // The orphaned agent ends.
    std::fs::write(&release, "").unwrap();
}

#[test]
fn dash_refuses_to_run_without_a_terminal_and_says_what_does() {
    let env = TestEnv::configured("");
    let run = env.vane(&["dash"]).failure(2);
    assert!(run.stderr.contains("needs a terminal"), "{}", run.stderr);
    assert!(run.stderr.contains("vane dash --once"), "{}", run.stderr);
    let run = env.vane(&["work", "--dash"]).failure(2);
    assert!(run.stderr.contains("needs a terminal"), "{}", run.stderr);
    assert_eq!(env.count_rows("batches"), 0, "no batch started");
}

/// tmux, on a socket of the test's own; None where tmux is not installed (and CI is not set,
/// where its absence fails the test: `.ci/run` installs it).
fn tmux(env: &TestEnv) -> Option<Tmux> {
    let found = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is needed for the terminal tests in CI (apt-get install -y tmux)"
        );
        eprintln!("tmux is not installed: the terminal test is skipped");
        return None;
    }
    Some(Tmux {
        socket: env.root.join("tmux.sock"),
    })
}

struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// Starts `vane <args>` in a detached session of 120x36, in the sealed environment, writing
    /// its exit code to `exit_file` when it ends.
    fn start(&self, env: &TestEnv, args: &[&str], exit_file: &Path) {
        let command = env.vane_command(args);
        let mut line = String::from("cd ");
        line.push_str(&shell_quote(&env.repo.display().to_string()));
        line.push_str(" && env -i TERM=xterm-256color");
        for (key, value) in command.get_envs() {
            if let Some(value) = value {
                line.push_str(&format!(
                    " {}={}",
                    key.to_string_lossy(),
                    shell_quote(&value.to_string_lossy())
                ));
            }
        }
        line.push(' ');
        line.push_str(&shell_quote(env!("CARGO_BIN_EXE_vane")));
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        line.push_str(&format!(
            "; echo $? > {}; sleep 30",
            shell_quote(&exit_file.display().to_string())
        ));
        let out = self.run(&[
            "new-session",
            "-d",
            "-s",
            "dash",
            "-x",
            "120",
            "-y",
            "36",
            "sh",
            "-c",
            &line,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", "dash"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`, and returns it.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "dash"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success(), "send-keys {keys:?}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.is_empty() {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn on_a_real_terminal_the_dashboard_shows_the_running_task_and_q_leaves_it() {
    let (env, release) = waiting_batch();
    let Some(tmux) = tmux(&env) else {
        return;
    };
    let mut work = spawn_work(&env);
    wait_for_running(&env, "the worker on `slow`", worker_runs_slow);
    let exit_file = env.root.join("dash.exit");
    tmux.start(&env, &["dash"], &exit_file);
    wait_for_agent_output(&env);
    let screen = tmux.wait_for("› working on it");
    assert!(screen.contains("w1  slow  shell #1"), "{screen}");
    assert!(screen.contains("Merge queue"), "{screen}");
    // Enter opens the selected task's detail: its prompt.
    tmux.keys(&["Enter"]);
    tmux.wait_for("# Task slow: Slow task");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Workers (1)");
    tmux.keys(&["q"]);
    assert_eq!(wait_for_file(&exit_file).trim(), "0", "{}", tmux.screen());
    assert!(
        work.try_wait().unwrap().is_none(),
        "leaving the dashboard changes nothing"
    );
    std::fs::write(&release, "").unwrap();
    assert_eq!(wait_for_exit(&mut work), 0);
}

#[test]
fn work_with_the_dashboard_leaves_it_on_q_and_the_batch_goes_on_to_land() {
    let (env, release) = waiting_batch();
    let Some(tmux) = tmux(&env) else {
        return;
    };
    let exit_file = env.root.join("work.exit");
    tmux.start(&env, &["work", "--dash"], &exit_file);
    tmux.wait_for("w1  slow");
    tmux.keys(&["q"]);
    tmux.wait_for("Left the dashboard; the batch goes on");
    std::fs::write(&release, "").unwrap();
    let screen = tmux.wait_for("1 landed");
    assert!(screen.contains("slow landed as"), "{screen}");
    assert_eq!(wait_for_file(&exit_file).trim(), "0", "{}", tmux.screen());
    assert_eq!(
        env.vane(&["task", "show", "slow", "--json"])
            .success()
            .json()["status"],
        "done"
    );
}

#[test]
fn work_with_the_dashboard_that_cannot_start_its_batch_closes_it_and_says_why() {
    let (env, release) = waiting_batch();
    let Some(tmux) = tmux(&env) else {
        return;
    };
    let mut work = spawn_work(&env);
    wait_for_running(&env, "the worker on `slow`", worker_runs_slow);
    let exit_file = env.root.join("work.exit");
    tmux.start(&env, &["work", "--dash"], &exit_file);
    let code = wait_for_file(&exit_file);
    assert_ne!(code.trim(), "0", "{}", tmux.screen());
    let screen = tmux.screen();
    assert!(
        screen.contains("another vane is working in this repository"),
        "{screen}"
    );
    std::fs::write(&release, "").unwrap();
    assert_eq!(wait_for_exit(&mut work), 0);
}
