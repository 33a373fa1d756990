//! Worktree bootstrap: `include` copies a person's untracked files into every worker's worktree
//! and never commits them; `setup` runs once per worktree, again after it failed.

use crate::common::TestEnv;

/// A repository set up for vane with one worker and `vane.toml` committed.
fn bootstrap_env(config: &str) -> TestEnv {
    let env = TestEnv::initialised();
    env.write(
        "vane.toml",
        &format!("workers = 1\nmax_attempts = 2\n{config}"),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    env
}

fn add(env: &TestEnv, id: &str, run: &str, extra: &[&str]) {
    let mut args = vec!["task", "add", id, "--id", id, "--run", run];
    args.extend_from_slice(extra);
    env.vane(&args).success();
}

fn status(env: &TestEnv, id: &str) -> serde_json::Value {
    env.vane(&["task", "show", id, "--json"]).success().json()["status"].clone()
}

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[test]
fn included_files_reach_every_task_and_never_land() {
    // Unconfined: the first agent plays the person too, changing the checkout's `.env`.
    let env =
        bootstrap_env("confine = false\ninclude = [\".env\", \"config/local\", \"absent.txt\"]\n");
    // `.env` untracked and not ignored (the case a plain `git add --all` would commit), and an
    // ignored directory.
    env.write(".gitignore", "config/local/\n");
    env.git(&env.repo, &["add", ".gitignore"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Ignore local settings"]);
    env.write(".env", "SECRET=1\n");
    std::fs::create_dir_all(env.repo.join("config/local/deep")).unwrap();
    env.write("config/local/deep/settings.toml", "mode = \"test\"\n");

    // The first task reads them, changes its copy of `.env` (which must stay out of its commit),
    // and changes the person's `.env`, which the next task must see.
    let checkout_env = env.repo.join(".env");
    add(
        &env,
        "a",
        &format!(
            "cat .env config/local/deep/settings.toml > seen-a.txt && echo tampered >> .env \
             && echo SECRET=2 > '{}'",
            checkout_env.display()
        ),
        &[],
    );
    add(&env, "b", "cat .env > seen-b.txt", &["--deps", "a"]);
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("2 landed"), "{}", run.stderr);

    assert_eq!(
        std::fs::read_to_string(env.repo.join("seen-a.txt")).unwrap(),
        "SECRET=1\nmode = \"test\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.repo.join("seen-b.txt")).unwrap(),
        "SECRET=2\n",
        "a change to an included file reaches the next task"
    );
    // Not on base, nor on any branch or ref vane made.
    let on_base = env.git(&env.repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(!on_base.contains(".env"), "{on_base}");
    assert!(!on_base.contains("config/local"), "{on_base}");
    let ever = env.git(
        &env.repo,
        &["log", "--all", "--format=%H", "--", ".env", "config/local"],
    );
    assert_eq!(ever, "", "no commit ever held an included file");
    // The person's own files are as they left them.
    assert_eq!(
        std::fs::read_to_string(&checkout_env).unwrap(),
        "SECRET=2\n"
    );
}

#[test]
fn a_tracked_path_in_include_is_refused_when_work_starts() {
    let env = bootstrap_env("include = [\".env\", \"README.md\"]\n");
    add(&env, "a", "echo a > a.txt", &[]);
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr
            .contains("`include` in vane.toml names a path that git tracks: README.md"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: remove them from `include`"),
        "{}",
        run.stderr
    );
    assert_eq!(status(&env, "a"), "pending", "nothing ran");
}

#[test]
fn paths_outside_the_repository_are_refused_when_the_file_is_read() {
    let env = TestEnv::initialised();
    env.write("vane.toml", "include = [\"../secrets\", \"/etc/hosts\"]\n");
    let run = env.vane(&["work"]).failure(1);
    assert!(
        run.stderr
            .contains("line 1: `include` entry \"../secrets\" goes up with `..`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("line 1: `include` entry \"/etc/hosts\" is absolute"),
        "{}",
        run.stderr
    );
}

#[test]
fn setup_runs_once_per_worktree_with_its_output_in_a_log() {
    let count = tempfile::NamedTempFile::new().unwrap();
    let env = bootstrap_env(&format!(
        "setup = \"echo run >> '{}' && echo installing dependencies\"\n",
        count.path().display()
    ));
    add(&env, "a", "echo a > a.txt", &[]);
    add(&env, "b", "echo b > b.txt", &[]);
    env.vane(&["work"]).success();
    assert_eq!(lines(count.path()), 1, "once for two tasks in one worktree");
    let log = std::fs::read_to_string(env.state_dir().join("runs/setup/w1.log")).unwrap();
    assert_eq!(log, "installing dependencies\n");

    // A later batch finds the worktree set up.
    add(&env, "c", "echo c > c.txt", &[]);
    env.vane(&["work"]).success();
    assert_eq!(lines(count.path()), 1);
    assert_eq!(status(&env, "c"), "done");
    // Nothing but the tasks' files landed: the log is kept outside the worktree.
    let on_base = env.git(&env.repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(on_base.lines().count(), 5, "{on_base}");
}

#[test]
fn a_failing_setup_fails_the_attempt_with_its_log_and_runs_again() {
    let outside = tempfile::tempdir().unwrap();
    let count = outside.path().join("count");
    let tried = outside.path().join("tried");
    // Fails the first time only, as a flaky network would.
    let env = bootstrap_env(&format!(
        "setup = \"echo run >> '{count}'; if [ ! -f '{tried}' ]; then touch '{tried}'; \
         echo 'npm ERR! network unreachable' >&2; exit 7; fi\"\n",
        count = count.display(),
        tried = tried.display()
    ));
    add(&env, "a", "echo a > a.txt", &[]);
    let run = env.vane(&["work"]).success();
    assert!(run.stderr.contains("1 landed"), "{}", run.stderr);
    assert_eq!(lines(&count), 2, "failed once, then ran again");

    let task = env.vane(&["task", "show", "a", "--json"]).success().json();
    let text = task.to_string();
    assert!(
        text.contains("setup command") && text.contains("exited with 7"),
        "{text}"
    );
    assert!(text.contains("npm ERR! network unreachable"), "{text}");
    // The retry's prompt quotes the log's end too.
    let prompt = std::fs::read_to_string(env.state_dir().join("runs/a/2/prompt.md")).unwrap();
    assert!(prompt.contains("npm ERR! network unreachable"), "{prompt}");
    assert!(env.state_dir().join("runs/setup/w1.ok").is_file());

    // Set up now: the next task does not run it again.
    add(&env, "b", "echo b > b.txt", &[]);
    env.vane(&["work"]).success();
    assert_eq!(lines(&count), 2);
}
