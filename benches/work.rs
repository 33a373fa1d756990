//! Work-loop benchmark: `vane work` end to end, each workload beside its ideal or its baseline.
//!
//! Targets (from the issues; every row of the final table states its own):
//! 1. `small`: 200 independent `shell` tasks that each write one file, 4 workers, one trivial gate
//!    (`true`), on a small repository: `vane work` (after the tasks were added; adding them is
//!    measured on its own) takes at most half the time of `benches/git_script_baseline.sh`, which does
//!    per task `git worktree add`, the command, `git commit`, a serialized `git merge --no-ff` in the
//!    main checkout (under `flock`) and `git worktree remove`, 4 tasks at a time (`xargs -P4`).
//! 2. `big`: the same on a repository of 50,000 files (100 tasks, to keep the run short): at most
//!    0.03x the script's time, and the time per task (wall / tasks) within 2x of the small
//!    repository's (when both run). The script runs too, cut off after a time limit (a `git worktree
//!    add` of 50,000 files per task is slow); the table then says how many of its tasks landed by
//!    then and what the whole would take at that rate, which the ratio is taken against.
//! 3. `sleep`: 40 tasks that each `sleep 1` (and write a file), 4 workers, gate `true`: within 10%
//!    of the ideal 10 s.
//! 4. `gated`: 40 tasks that each `sleep 1` and write their own file, one command gate `sleep 1`,
//!    4 workers: at most 1.3x the agent-bound ideal of 10 s (13 s). Also run with `batch = 4`
//!    (same target).
//! 5. `gated20`: the same with 20 tasks: at most 6.5 s (ideal 5 s).
//! 6. `failing`: the 40 tasks of 4, but every 10th task's first attempt fails the gate (its `run`
//!    writes `bad-<task>` when `$VANE_ATTEMPT` is 1; the gate is `sleep 1` and no `bad-*` file in
//!    the tree), and its second attempt passes: at most 1.6x the ideal of 10 s (16 s).
//! 7. `pairs`: 20 tasks in 10 pairs, 4 workers, gate `true`; both tasks of a pair `sleep 1` and
//!    append a line to the same file (`pairNN.txt`, one per pair). Loaded with `vane import` of a
//!    roadmap twice: once with each task's overlap declared (`paths: [pairNN.txt]`), once without.
//!    Reported: the attempts made, how many ended in outcome `conflict`, and how many were redone
//!    (attempts beyond one per task). Target: nothing wasted with declared paths. While the roadmap
//!    parser refuses `paths:`, the declared run is reported as skipped (not a failure).
//!
//! For the gated workloads (4, 5, 6) vane also runs with `merge_window = 1` and `gate_workers = 1`
//! in `vane.toml`, which gates one candidate at a time (the merge queue before speculative gating):
//! the table shows that run as a second baseline, and the speed-up over it. For every vane run the
//! table shows the attempts made (from the `attempts` table of `.git/vane/vane.db`), how many ended
//! in `conflict`, how many were redone, and how many gate runs there were (`quality_metrics` rows
//! that ran rather than came from the cache).
//!
//! Every process runs in a sealed environment (a temporary HOME, no global or system git
//! configuration, a fixed identity). `vane work` runs with `VANE_LOG=vane::git=debug`, which logs
//! every git command it runs with its duration (a few hundred short lines on stderr, to a file); with
//! that log and the event log in `.git/vane/vane.db` the benchmark shows where the time goes: how
//! long tasks run, wait for the merge queue and take to land, what the serial coordinator spends
//! per landing, and which git commands cost what per task.
//!
//! The benchmark reports; it never fails because something is slow (it exits non-zero only when a
//! run did not land every task, or a pair's file came out wrong).
//!
//! Run with `cargo bench --bench work`. For a quick run (20 tasks, 5,000 files, 8 sleeping tasks, 8
//! and 4 gated tasks, 4 pairs), set `VANE_BENCH_QUICK=1` or pass `-- --quick`. When cargo runs the
//! program as a test (`cargo test --benches` or `--all-targets`, which pass no `--bench` flag), it
//! does a smaller run still (a few tasks per scenario; the new scenarios' agents and gates sleep
//! 0.2 s instead of 1 s). `VANE_BENCH_ONLY=small` (or `big`, `sleep`, `gated`, `gated20`,
//! `failing`, `pairs`, or several, comma-separated) runs only those scenarios. `VANE_BENCH_KEEP=1`
//! keeps the repositories, the logs and the databases.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

// ---------------------------------------------------------------------------------------------------
// Settings

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The sizes of the issue (the 50,000-file repository with 100 tasks instead of 200).
    Full,
    /// A tenth of the tasks: 20 tasks, 5,000 files, 8 sleeping tasks.
    Quick,
    /// Run as a test: smaller still, one run of each.
    Smoke,
}

struct Sizes {
    workers: usize,
    /// Tasks on the small repository, and how many times vane and the script run them.
    small_tasks: usize,
    small_files: usize,
    small_runs: usize,
    big_tasks: usize,
    big_files: usize,
    sleep_tasks: usize,
    /// Tasks of the gated workload (`gated`, `failing`); `gated20` has half as many.
    gated_tasks: usize,
    /// In `failing`, every this many-th task fails its gate on its first attempt.
    fail_every: usize,
    /// Pairs of tasks writing the same file (`pairs`).
    pairs: usize,
    /// What the agents and gates of the gated and pairs workloads sleep, in seconds (`sleep` takes
    /// it as written): 1 but in smoke runs.
    unit: &'static str,
    /// The baseline script on the big repository is stopped after this long.
    big_baseline_cap: Duration,
    /// Any run is stopped after this long (something is wrong then).
    cap: Duration,
}

impl Sizes {
    fn new(mode: Mode) -> Sizes {
        let (small_tasks, small_runs, big_tasks, big_files, sleep_tasks, big_baseline_cap) =
            match mode {
                Mode::Full => (200, 3, 100, 50_000, 40, 45),
                Mode::Quick => (20, 3, 20, 5_000, 8, 20),
                Mode::Smoke => (8, 1, 8, 1_000, 4, 10),
            };
        let (gated_tasks, fail_every, pairs, unit) = match mode {
            Mode::Full => (40, 10, 10, "1"),
            Mode::Quick => (8, 4, 4, "1"),
            Mode::Smoke => (4, 4, 2, "0.2"),
        };
        Sizes {
            workers: 4,
            small_tasks,
            small_files: 20,
            small_runs,
            big_tasks,
            big_files,
            sleep_tasks,
            gated_tasks,
            fail_every,
            pairs,
            unit,
            big_baseline_cap: Duration::from_secs(big_baseline_cap),
            cap: Duration::from_secs(if mode == Mode::Full { 420 } else { 120 }),
        }
    }

    /// `unit` in seconds.
    fn unit_secs(&self) -> f64 {
        self.unit.parse().expect("the unit is a number of seconds")
    }

    /// The agent-bound ideal of `tasks` tasks that each take one unit.
    fn ideal(&self, tasks: usize) -> f64 {
        tasks.div_ceil(self.workers) as f64 * self.unit_secs()
    }
}

const BASE: &str = "main";
const VANE_TOML: &str = "workers = 4\n\n[[gate]]\nname = \"ok\"\ncommand = \"true\"\n";

/// How the merge queue is set up in `vane.toml` (None: the key is left out, vane's default).
#[derive(Debug, Clone, Copy, Default)]
struct Queue {
    merge_window: Option<usize>,
    gate_workers: Option<usize>,
    batch: Option<usize>,
}

impl Queue {
    /// vane's defaults: speculative gating, `merge_window = 8`, a gate worker per worker.
    const DEFAULT: Queue = Queue {
        merge_window: None,
        gate_workers: None,
        batch: None,
    };
    /// One candidate gated at a time: the merge queue before speculative gating.
    const SERIAL: Queue = Queue {
        merge_window: Some(1),
        gate_workers: Some(1),
        batch: None,
    };
    /// Up to 4 queued candidates landed with one gate run.
    const BATCH4: Queue = Queue {
        merge_window: None,
        gate_workers: None,
        batch: Some(4),
    };

    fn describe(&self) -> String {
        let keys: Vec<String> = [
            ("merge_window", self.merge_window),
            ("gate_workers", self.gate_workers),
            ("batch", self.batch),
        ]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} = {v}")))
        .collect();
        if keys.is_empty() {
            "the default queue".to_string()
        } else {
            keys.join(", ")
        }
    }
}

/// A `vane.toml` with 4 workers, the queue's settings and one command gate.
fn vane_toml(workers: usize, queue: Queue, gate: &str) -> String {
    let mut text = format!("workers = {workers}\n");
    for (key, value) in [
        ("merge_window", queue.merge_window),
        ("gate_workers", queue.gate_workers),
        ("batch", queue.batch),
    ] {
        if let Some(value) = value {
            text.push_str(&format!("{key} = {value}\n"));
        }
    }
    let quoted = gate.replace('\\', "\\\\").replace('"', "\\\"");
    text.push_str(&format!(
        "\n[[gate]]\nname = \"check\"\ncommand = \"{quoted}\"\n"
    ));
    text
}

// ---------------------------------------------------------------------------------------------------
// The sealed environment, processes and repositories

struct Env {
    root: PathBuf,
    home: PathBuf,
    bin: PathBuf,
    script: PathBuf,
    path_var: OsString,
}

impl Env {
    /// `program` in `dir` with nothing of the caller's environment but PATH.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(dir)
            .env_clear()
            .env("PATH", &self.path_var)
            .env("HOME", &self.home)
            .env("TMPDIR", self.root.join("tmp"))
            .env("USER", "bench")
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Bench Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Bench Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .stdin(Stdio::null());
        command
    }

    /// Runs a set-up command; panics on failure (the benchmark cannot go on without it).
    fn check(&self, mut command: Command, what: &str) -> String {
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
        assert!(
            output.status.success(),
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let mut command = self.command("git", dir);
        command.args(args);
        self.check(command, &format!("git {}", args.join(" ")))
    }

    fn vane(&self, dir: &Path, args: &[&str]) -> String {
        let mut command = self.command(&self.bin, dir);
        command.args(args);
        self.check(command, &format!("vane {}", args.join(" ")))
    }

    /// How many commits the first-parent line of base has.
    fn landings(&self, repo: &Path) -> usize {
        self.git(repo, &["rev-list", "--count", "--first-parent", BASE])
            .parse()
            .expect("rev-list prints a number")
    }
}

struct Task {
    id: String,
    run: String,
}

fn tasks(prefix: &str, n: usize, sleep: bool) -> Vec<Task> {
    (1..=n)
        .map(|i| {
            let id = format!("{prefix}{i:03}");
            let write = format!("echo {id} > {id}.txt");
            let run = if sleep {
                format!("sleep 1 && {write}")
            } else {
                write
            };
            Task { id, run }
        })
        .collect()
}

/// A repository on `main` with `files` small files in nested directories (100 to a directory),
/// the `extra` files (name, text) at the root and the committed `vane.toml`, in one commit, packed.
/// Not yet set up for vane.
fn make_repo(
    env: &Env,
    path: &Path,
    files: usize,
    vane_toml: &str,
    extra: &[(String, String)],
) -> Duration {
    let started = Instant::now();
    std::fs::create_dir_all(path).expect("the repository directory can be created");
    std::fs::write(path.join("README.md"), "# bench\n").expect("README.md can be written");
    std::fs::write(path.join("vane.toml"), vane_toml).expect("vane.toml can be written");
    for (name, text) in extra {
        std::fs::write(path.join(name), text).expect("an extra file can be written");
    }
    for i in 0..files {
        let dir = path.join(format!("src/m{:03}/p{}", i / 1000, (i / 100) % 10));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).expect("a source directory can be made");
        }
        std::fs::write(
            dir.join(format!("f{i:05}.txt")),
            format!("file {i}\nline two\n"),
        )
        .expect("a source file can be written");
    }
    env.git(path, &["init", "-q", "-b", BASE]);
    env.git(path, &["add", "-A"]);
    // Packed, as a real repository of that size is. Otherwise the commit's tens of thousands of loose
    // objects start an automatic `git gc` in the background (here, under the copies; later, in the
    // middle of a measured run, started by any commit).
    env.git(
        path,
        &["-c", "gc.auto=0", "commit", "-q", "-m", "Initial commit"],
    );
    env.git(path, &["gc", "--quiet"]);
    started.elapsed()
}

/// A copy of a repository (`cp -a`), for a run that must not see another's state.
fn copy_repo(env: &Env, from: &Path, to: &Path) {
    let mut command = env.command("cp", &env.root);
    command.arg("-a").arg(from).arg(to);
    env.check(command, "cp -a");
}

/// `vane init` and one `vane task add` per task; returns the time the adds took.
fn set_up_vane(env: &Env, repo: &Path, tasks: &[Task]) -> Duration {
    env.vane(repo, &["-q", "init"]);
    let started = Instant::now();
    for task in tasks {
        env.vane(
            repo,
            &[
                "-q",
                "task",
                "add",
                &format!("Write {}.txt", task.id),
                "--id",
                &task.id,
                "--run",
                &task.run,
            ],
        );
    }
    started.elapsed()
}

fn write_tasks_file(path: &Path, tasks: &[Task]) {
    let text: String = tasks
        .iter()
        .map(|t| format!("{}\t{}\n", t.id, t.run))
        .collect();
    std::fs::write(path, text).expect("the tasks file can be written");
}

/// How a timed run went.
struct Timed {
    elapsed: Duration,
    /// None when it was stopped at its time limit.
    status: Option<ExitStatus>,
    /// User + system CPU of the process and every descendant it waited for.
    cpu: Duration,
}

impl Timed {
    fn stopped(&self) -> bool {
        self.status.is_none()
    }
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs `command` in a process group of its own, stderr to `log`; after `cap`, kills the whole group.
fn run_timed(mut command: Command, log: &Path, cap: Duration) -> Timed {
    let log_file = std::fs::File::create(log).expect("the log file can be created");
    command
        .stdout(Stdio::null())
        .stderr(log_file)
        .process_group(0);
    let cpu_before = children_cpu();
    let started = Instant::now();
    let mut child: Child = command.spawn().expect("the command starts");
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break Some(status);
        }
        if started.elapsed() >= cap {
            // SAFETY: a plain kill(2) of the group this child leads.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Timed {
        elapsed: started.elapsed(),
        status,
        cpu: children_cpu().saturating_sub(cpu_before),
    }
}

/// The last lines of a log, for a failure message.
fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.contains("vane::git")).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------------
// One vane run and one baseline run

struct VaneRun {
    timed: Timed,
    landed: usize,
    repo: PathBuf,
    log: PathBuf,
}

/// Copies the prepared repository and runs `vane work` there.
fn run_vane(env: &Env, template: &Path, name: &str, tasks: usize, cap: Duration) -> VaneRun {
    let repo = env.root.join(name);
    copy_repo(env, template, &repo);
    let log = env.root.join(format!("{name}.vane.log"));
    let mut command = env.command(&env.bin, &repo);
    command.arg("work").env("VANE_LOG", "vane::git=debug");
    let timed = run_timed(command, &log, cap);
    let db = repo.join(".git/vane/vane.db");
    let landed = Connection::open(&db)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM tasks WHERE status = 'done'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .map_or(0, |n| n as usize);
    let outcome = match timed.status {
        Some(s) if s.success() && landed == tasks => String::new(),
        Some(s) => format!(" -- {s}, {landed}/{tasks} landed"),
        None => format!(" -- stopped at the time limit, {landed}/{tasks} landed"),
    };
    println!(
        "  vane work     {:>7.2} s  ({:.1} ms per task; cpu {:.1} s){outcome}",
        timed.elapsed.as_secs_f64(),
        per_task_ms(timed.elapsed, tasks),
        timed.cpu.as_secs_f64()
    );
    if !outcome.is_empty() {
        println!("    {}", log_tail(&log, 5).replace('\n', "\n    "));
    }
    VaneRun {
        timed,
        landed,
        repo,
        log,
    }
}

struct BaselineRun {
    timed: Timed,
    landed: usize,
}

fn run_baseline(
    env: &Env,
    template: &Path,
    name: &str,
    tasks_file: &Path,
    tasks: usize,
    workers: usize,
    cap: Duration,
) -> BaselineRun {
    let repo = env.root.join(name);
    copy_repo(env, template, &repo);
    let before = env.landings(&repo);
    let log = env.root.join(format!("{name}.baseline.log"));
    let mut command = env.command("bash", &env.root);
    command
        .arg(&env.script)
        .arg(&repo)
        .arg(workers.to_string())
        .arg(tasks_file)
        .arg("true");
    let timed = run_timed(command, &log, cap);
    let landed = env.landings(&repo) - before;
    let outcome = match timed.status {
        Some(s) if s.success() && landed == tasks => String::new(),
        Some(s) => format!(" -- {s}, {landed}/{tasks} landed"),
        None => format!(
            " -- stopped at the {} s limit with {landed}/{tasks} landed",
            cap.as_secs()
        ),
    };
    println!(
        "  git script    {:>7.2} s  ({:.1} ms per task; cpu {}){outcome}",
        timed.elapsed.as_secs_f64(),
        per_task_ms(timed.elapsed, tasks),
        if timed.stopped() {
            "not counted".to_string()
        } else {
            format!("{:.1} s", timed.cpu.as_secs_f64())
        }
    );
    if timed.status.is_some_and(|s| !s.success()) {
        println!("    {}", log_tail(&log, 5).replace('\n', "\n    "));
    }
    BaselineRun { timed, landed }
}

fn per_task_ms(d: Duration, tasks: usize) -> f64 {
    d.as_secs_f64() * 1000.0 / tasks.max(1) as f64
}

// ---------------------------------------------------------------------------------------------------
// Where the time goes: the event log

/// One task's status changes in a batch (the first claim, the last review and landing).
#[derive(Default, Clone)]
struct TaskTimes {
    worker: String,
    claim: Option<i64>,
    review: Option<i64>,
    done: Option<i64>,
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// What the event log says about a batch; also returns the mean landing time (ms), for comparing
/// with the git commands the coordinator ran.
/// The figures of the event log that the git log is compared with (means, ms).
struct EventFigures {
    /// Claim to needs_review.
    run: f64,
    /// One landing, serial.
    landing: f64,
    /// Between two landings, once running.
    interval: f64,
}

fn report_events(run: &VaneRun, workers: usize) -> Result<EventFigures, String> {
    let db = run.repo.join(".git/vane/vane.db");
    let conn = Connection::open(&db).map_err(|e| e.to_string())?;
    let span: (i64, i64) = conn
        .query_row(
            "SELECT (SELECT min(timestamp) FROM events WHERE event_type = 'batch_started'),
                    (SELECT max(timestamp) FROM events WHERE event_type = 'batch_finished')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| format!("batch events: {e}"))?;
    let mut statement = conn
        .prepare(
            "SELECT task_id, agent, timestamp, json_extract(data, '$.to') FROM events
             WHERE event_type = 'status_changed' AND timestamp >= ?1 ORDER BY id",
        )
        .map_err(|e| e.to_string())?;
    let rows = statement
        .query_map([span.0], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(|e| e.to_string())?;
    let mut by_task: HashMap<String, TaskTimes> = HashMap::new();
    let mut retries = 0usize;
    for row in rows {
        let (task, agent, at, to) = row.map_err(|e| e.to_string())?;
        let t = by_task.entry(task).or_default();
        match to.as_str() {
            "in_progress" if t.claim.is_none() => {
                t.claim = Some(at);
                t.worker = agent;
            }
            "in_progress" => retries += 1,
            "needs_review" => t.review = Some(at),
            "done" => t.done = Some(at),
            _ => {}
        }
    }
    let mut tasks: Vec<TaskTimes> = by_task
        .into_values()
        .filter(|t| t.claim.is_some() && t.review.is_some() && t.done.is_some())
        .collect();
    if tasks.is_empty() {
        return Err("no landed task in the event log".to_string());
    }
    let batch_ms = (span.1 - span.0) as f64;
    let wall_ms = run.timed.elapsed.as_secs_f64() * 1000.0;
    let first_claim = tasks.iter().filter_map(|t| t.claim).min().unwrap_or(span.0);
    println!(
        "    wall {wall_ms:.0} ms: the batch (`batch_started` to `batch_finished`) {batch_ms:.0} ms, its first claim \
         after {:.0} ms; outside it (process start, opening, recovery, the summary) {:.0} ms",
        (first_claim - span.0) as f64,
        (wall_ms - batch_ms).max(0.0)
    );
    let run_ms: Vec<f64> = tasks
        .iter()
        .map(|t| (t.review.unwrap() - t.claim.unwrap()) as f64)
        .collect();
    let queue_ms: Vec<f64> = tasks
        .iter()
        .map(|t| (t.done.unwrap() - t.review.unwrap()) as f64)
        .collect();
    // Landings are serial: one starts when its task is reviewed and the landing before it is done.
    tasks.sort_by_key(|t| t.done);
    let mut landing_ms = Vec::with_capacity(tasks.len());
    let mut previous_done = i64::MIN;
    for t in &tasks {
        let start = t.review.unwrap().max(previous_done);
        landing_ms.push((t.done.unwrap() - start) as f64);
        previous_done = t.done.unwrap();
    }
    let n = tasks.len();
    let interval = if n > 1 {
        (tasks[n - 1].done.unwrap() - tasks[0].done.unwrap()) as f64 / (n - 1) as f64
    } else {
        0.0
    };
    // Per worker: from the moment it is free to its next claim. A worker held until its branch
    // lands (the queue gating in the worker's worktree) is free at the landing; one let go at
    // needs_review (the queue gating in worktrees of its own) claims again before the landing.
    let mut by_worker: HashMap<&str, Vec<&TaskTimes>> = HashMap::new();
    for t in &tasks {
        by_worker.entry(t.worker.as_str()).or_default().push(t);
    }
    for list in by_worker.values_mut() {
        list.sort_by_key(|t| t.claim);
    }
    let let_go_early = by_worker.values().any(|list| {
        list.windows(2)
            .any(|pair| pair[1].claim.unwrap() < pair[0].done.unwrap())
    });
    let mut gaps = Vec::new();
    for list in by_worker.values() {
        for pair in list.windows(2) {
            let free = if let_go_early {
                pair[0].review.unwrap()
            } else {
                pair[0].done.unwrap()
            };
            gaps.push((pair[1].claim.unwrap() - free) as f64);
        }
    }
    let worker_ms = batch_ms * workers as f64;
    let running: f64 = run_ms.iter().sum();
    // Time a worker spends held by the merge queue: none when it is let go at needs_review.
    let held: f64 = if let_go_early {
        0.0
    } else {
        queue_ms.iter().sum()
    };
    println!(
        "    per task: claimed -> needs_review {:.1} ms (median {:.1}; worktree reset, agent, commit, \
         and the wait until the coordinator reads the result)",
        mean(&run_ms),
        median(&run_ms)
    );
    let queued = mean(&queue_ms) - mean(&landing_ms);
    println!(
        "              needs_review -> done {:.1} ms (median {:.1}): the landing (merge, gate, ref moves), \
         serial on the coordinator, busy with it {:.0}% of the batch{}",
        mean(&queue_ms),
        median(&queue_ms),
        100.0 * landing_ms.iter().sum::<f64>() / batch_ms.max(1.0),
        if queued > 1.0 {
            format!(
                "; {:.1} ms of it waiting behind other landings",
                queued
            )
        } else {
            String::new()
        }
    );
    println!(
        "              one landing every {:.1} ms once running; a freed worker (free at {}) waits {:.1} ms \
         (median {:.1}) for its next task",
        interval,
        if let_go_early { "needs_review" } else { "the landing" },
        mean(&gaps),
        median(&gaps)
    );
    println!(
        "    worker time ({workers} x batch): {:.0}% running tasks, {}{:.0}% idle{}",
        100.0 * running / worker_ms.max(1.0),
        if let_go_early {
            "none held by the merge queue (workers are let go at needs_review; it gates in worktrees \
             of its own), "
                .to_string()
        } else {
            format!(
                "{:.0}% held until its branch lands (the gate runs in the worker's worktree), ",
                100.0 * held / worker_ms.max(1.0)
            )
        },
        100.0 * (worker_ms - running - held).max(0.0) / worker_ms.max(1.0),
        if retries > 0 {
            format!("; {retries} retries")
        } else {
            String::new()
        }
    );
    Ok(EventFigures {
        run: mean(&run_ms),
        landing: mean(&landing_ms),
        interval,
    })
}

// ---------------------------------------------------------------------------------------------------
// Where the time goes: vane's git commands (`VANE_LOG=vane::git=debug`)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Side {
    /// On a worker thread, in parallel with the others.
    Worker,
    /// On the coordinator thread, one at a time: landing, and claiming tasks.
    Coordinator,
    /// Either (`worktree list`: the worker's check of its worktree, the landing's of the checkouts
    /// of base); not counted on either side.
    Both,
    /// Once per batch or per worker.
    Setup,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Worker => "worker",
            Side::Coordinator => "coordinator",
            Side::Both => "both",
            Side::Setup => "setup",
        }
    }
}

/// A short name for a git command vane ran, and where it ran. `last` is the label of the previous
/// command in the same working tree: a worker and the landing never use one worktree at once, so
/// that order tells a worker's `checkout --detach` (after `rev-parse HEAD`) from the landing's (to
/// run the gates), and whose `clean` follows.
fn classify(args: &str, last: Option<&(String, Side)>) -> (String, Side) {
    let word = |w: &str| args.split_whitespace().any(|a| a == w);
    let (label, side) = match args.split_whitespace().next().unwrap_or("") {
        "worktree" if args.starts_with("worktree list") => ("worktree list", Side::Both),
        "worktree" => (
            if args.starts_with("worktree add") {
                "worktree add"
            } else {
                "worktree (other)"
            },
            Side::Setup,
        ),
        "config" => ("config", Side::Setup),
        "rev-parse" if word("--show-toplevel") || word("--path-format=absolute") => {
            ("rev-parse (open)", Side::Setup)
        }
        "rev-parse" if args.contains("refs/heads/vane/") => ("rev-parse task branch", Side::Worker),
        "rev-parse" if word("HEAD") => ("rev-parse HEAD", Side::Worker),
        "rev-parse" if args.contains("refs/heads/") => ("rev-parse base", Side::Coordinator),
        "rev-parse" => ("rev-parse (other)", Side::Both),
        "status" if args.contains("untracked-files=normal") => {
            ("status (leftovers in worktree)", Side::Worker)
        }
        "status" => ("status (base checkout clean?)", Side::Coordinator),
        "checkout" if word("-B") => ("checkout -B task branch", Side::Worker),
        "checkout" if last.is_some_and(|(l, _)| l == "rev-parse HEAD") => {
            ("checkout --detach (let go of branch)", Side::Worker)
        }
        "checkout" => ("checkout --detach merge (for gates)", Side::Coordinator),
        "clean" => match last {
            Some((_, Side::Worker)) => ("clean (worker)", Side::Worker),
            _ => ("clean (gate worktree)", Side::Coordinator),
        },
        "add" => ("add --all", Side::Worker),
        "diff" if word("--cached") => ("diff --cached --quiet", Side::Worker),
        "commit" => ("commit", Side::Worker),
        "merge-tree" => ("merge-tree --write-tree", Side::Coordinator),
        "commit-tree" => ("commit-tree", Side::Coordinator),
        "update-index" => ("update-index --refresh (base checkout)", Side::Coordinator),
        "read-tree" if word("-n") => (
            "read-tree -n (can base checkout follow?)",
            Side::Coordinator,
        ),
        "read-tree" => ("read-tree -m -u (advance base checkout)", Side::Coordinator),
        "update-ref" if args.contains("refs/vane/checkpoints/") && args.contains("batch start") => {
            ("update-ref checkpoint (batch start)", Side::Setup)
        }
        "update-ref" if args.contains("refs/vane/checkpoints/") => {
            ("update-ref checkpoint", Side::Coordinator)
        }
        "update-ref" if word("--no-deref") => ("update-ref --no-deref HEAD (let go)", Side::Worker),
        "update-ref" => ("update-ref base (compare-and-swap)", Side::Coordinator),
        "log" => ("log (subjects of landed dependencies)", Side::Coordinator),
        other => (other, Side::Both),
    };
    (label.to_string(), side)
}

/// Strips ANSI escape sequences, should the log have any.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Sums vane's git commands per kind from its debug log and prints them per task; returns the git
/// time per task (ms) of the workers and of the coordinator.
fn report_git(run: &VaneRun, tasks: usize) -> Result<(f64, f64), String> {
    let text = std::fs::read_to_string(&run.log).map_err(|e| e.to_string())?;
    // label -> (side, count, total ms)
    let mut sums: HashMap<String, (Side, usize, u64)> = HashMap::new();
    let mut last_in_dir: HashMap<String, (String, Side)> = HashMap::new();
    let mut commands = 0usize;
    for line in text.lines() {
        let line = plain(line);
        let Some(rest) = line.split_once("git args=").map(|(_, r)| r) else {
            continue;
        };
        let (Some(d), Some(c), Some(m)) = (
            rest.rfind(" dir="),
            rest.rfind(" code="),
            rest.rfind(" ms="),
        ) else {
            continue;
        };
        if !(d < c && c < m) {
            continue;
        }
        let args = &rest[..d];
        let dir = &rest[d + 5..c];
        let ms: u64 = rest[m + 4..].trim().parse().unwrap_or(0);
        let (label, side) = classify(args, last_in_dir.get(dir));
        let entry = sums.entry(label.clone()).or_insert((side, 0, 0));
        entry.1 += 1;
        entry.2 += ms;
        last_in_dir.insert(dir.to_string(), (label, side));
        commands += 1;
    }
    if commands == 0 {
        return Err("no git commands in the log (is VANE_LOG honoured?)".to_string());
    }
    let mut rows: Vec<(String, Side, usize, u64)> = sums
        .into_iter()
        .map(|(label, (side, n, ms))| (label, side, n, ms))
        .collect();
    rows.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)));
    let per_task = |x: f64| x / tasks.max(1) as f64;
    println!(
        "    git: {commands} commands ({:.1} per task), by total time (each command's wall time, CPU contention included):",
        per_task(commands as f64)
    );
    println!(
        "      {:<42} {:<11} {:>8} {:>9} {:>11}",
        "command", "side", "per task", "mean ms", "ms per task"
    );
    let mut by_side: HashMap<Side, (usize, u64)> = HashMap::new();
    for (label, side, n, ms) in &rows {
        let e = by_side.entry(*side).or_default();
        e.0 += n;
        e.1 += ms;
        println!(
            "      {label:<42} {:<11} {:>8.2} {:>9.1} {:>11.1}",
            side.name(),
            per_task(*n as f64),
            *ms as f64 / *n as f64,
            per_task(*ms as f64)
        );
    }
    let mut sides: Vec<_> = by_side.into_iter().collect();
    sides.sort();
    let summary: Vec<String> = sides
        .iter()
        .map(|(side, (n, ms))| {
            format!(
                "{} {:.1} commands / {:.1} ms",
                side.name(),
                per_task(*n as f64),
                per_task(*ms as f64)
            )
        })
        .collect();
    println!("      per task by side: {}", summary.join("; "));
    let side_ms = |side: Side| {
        sides
            .iter()
            .find(|(s, _)| *s == side)
            .map_or(0.0, |(_, (_, ms))| per_task(*ms as f64))
    };
    Ok((side_ms(Side::Worker), side_ms(Side::Coordinator)))
}

fn report_vane_run(run: &VaneRun, tasks: usize, workers: usize) {
    println!("  where vane's time went (this run):");
    let landing = report_events(run, workers);
    if let Err(e) = &landing {
        println!("    (event log: {e})");
    }
    match report_git(run, tasks) {
        Ok((worker, coordinator)) => {
            if let Ok(events) = landing {
                println!(
                    "    => a task's {:.1} ms from claim to needs_review: {worker:.1} ms the worker's git commands; \
                     the rest is the agent and waiting for the coordinator to take the result",
                    events.run
                );
                println!(
                    "    => a landing takes {:.1} ms, {coordinator:.1} ms of it the coordinator's git commands (the rest: \
                     the gate process, SQLite commits); one lands every {:.1} ms, against {:.1} ms of wall per task",
                    events.landing,
                    events.interval,
                    per_task_ms(run.timed.elapsed, tasks)
                );
            }
        }
        Err(e) => println!("    (git log: {e})"),
    }
}

// ---------------------------------------------------------------------------------------------------
// The table

#[derive(Default)]
struct Row {
    scenario: String,
    tasks: usize,
    workers: usize,
    wall: Option<Duration>,
    per_task_ms: Option<f64>,
    /// The ideal or the baseline the ratio is taken against, as shown.
    baseline: String,
    ratio: Option<f64>,
    /// Shown instead of the ratio (`pairs`: how many attempts were wasted).
    ratio_text: Option<String>,
    target: String,
    /// The largest ratio that passes; None: no target, or `met` decides.
    limit: Option<f64>,
    /// Whether the target was met, for a target that is not a ratio.
    met: Option<bool>,
    /// The same workload with `merge_window = 1`, `gate_workers = 1` (one candidate gated at a time).
    serial: Option<Duration>,
    attempts: Option<AttemptStats>,
    /// Why the row was not measured (not a failure).
    skipped: Option<String>,
    failure: Option<String>,
}

fn print_table(rows: &[Row]) {
    let header = [
        "scenario",
        "tasks",
        "workers",
        "vane wall s",
        "per-task ms",
        "ideal / baseline s",
        "ratio",
        "target",
        "serial s",
        "speed-up",
        "attempts (conflict, redone)",
        "gate runs",
        "verdict",
    ];
    // Left-aligned columns; the others are numbers, right-aligned.
    let left = |i: usize| matches!(i, 0 | 7 | 10 | 12);
    let dash = || "-".to_string();
    let mut lines: Vec<[String; 13]> = Vec::new();
    for row in rows {
        let verdict = match (&row.failure, &row.skipped, row.met, row.ratio, row.limit) {
            (Some(f), _, _, _, _) => format!("FAILED: {f}"),
            (None, Some(why), _, _, _) => format!("SKIPPED: {why}"),
            (None, None, Some(true), _, _) => "PASS".to_string(),
            (None, None, Some(false), _, _) => "MISSED".to_string(),
            (None, None, None, Some(r), Some(l)) if r <= l => "PASS".to_string(),
            (None, None, None, Some(_), Some(_)) => "SLOW".to_string(),
            _ => dash(),
        };
        let secs = |d: Option<Duration>| d.map_or(dash(), |d| format!("{:.2}", d.as_secs_f64()));
        lines.push([
            row.scenario.clone(),
            row.tasks.to_string(),
            row.workers.to_string(),
            secs(row.wall),
            row.per_task_ms.map_or(dash(), |v| format!("{v:.1}")),
            row.baseline.clone(),
            row.ratio_text
                .clone()
                .or_else(|| row.ratio.map(|r| format!("{r:.2}x")))
                .unwrap_or_else(dash),
            row.target.clone(),
            secs(row.serial),
            match (row.serial, row.wall) {
                (Some(serial), Some(wall)) if row.failure.is_none() => {
                    format!(
                        "{:.2}x",
                        serial.as_secs_f64() / wall.as_secs_f64().max(1e-9)
                    )
                }
                _ => dash(),
            },
            row.attempts.as_ref().map_or(dash(), |a| {
                format!("{} ({}, {})", a.attempts, a.conflicts, a.redone())
            }),
            row.attempts
                .as_ref()
                .and_then(|a| a.gate_runs)
                .map_or(dash(), |n| n.to_string()),
            verdict,
        ]);
    }
    let mut widths = header.map(str::len);
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line.iter()) {
            *w = (*w).max(cell.len());
        }
    }
    let render = |cells: &[String]| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if left(i) {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!();
    println!("{}", render(&header.map(str::to_string)));
    println!(
        "{}",
        "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
    );
    for line in &lines {
        println!("{}", render(line));
    }
    println!(
        "(one run per row, or the median of the runs given; the machine's other load shows in every figure; \
         a benchmark reports, it does not fail on speed)"
    );
    println!(
        "(baseline `>N (k/n; ~M est.)`: the script was stopped after N s with k of n tasks landed; M is the \
         whole at that rate, and the ratio is taken against M)"
    );
    println!(
        "(serial s: the same workload with merge_window = 1 and gate_workers = 1 in vane.toml, one candidate \
         gated at a time; speed-up: serial s / vane wall s)"
    );
    println!(
        "(attempts: the attempts made (attempts table); conflict: how many ended in outcome `conflict`; \
         redone: attempts beyond one per task. gate runs: gate results that ran rather than came from the cache)"
    );
}

// ---------------------------------------------------------------------------------------------------
// Attempts and gate runs, from the database

/// What the `attempts` and `quality_metrics` tables say about a run.
#[derive(Debug, Clone, Default)]
struct AttemptStats {
    attempts: usize,
    /// Tasks with at least one attempt.
    tasks: usize,
    conflicts: usize,
    charged: usize,
    /// Attempts by outcome, most first.
    outcomes: Vec<(String, usize)>,
    /// Gate results that ran (not taken from the cache); None when the table cannot say.
    gate_runs: Option<usize>,
}

impl AttemptStats {
    /// Attempts beyond one per task: work done again.
    fn redone(&self) -> usize {
        self.attempts.saturating_sub(self.tasks)
    }

    fn read(repo: &Path) -> Result<AttemptStats, String> {
        let conn = Connection::open(repo.join(".git/vane/vane.db")).map_err(|e| e.to_string())?;
        let mut stats = AttemptStats::default();
        let mut statement = conn
            .prepare(
                "SELECT coalesce(outcome, '(none)'), count(*), coalesce(sum(charged), 0) FROM attempts
                 GROUP BY 1 ORDER BY 2 DESC, 1",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, i64>(2)? as usize,
                ))
            })
            .map_err(|e| e.to_string())?;
        for row in rows {
            let (outcome, n, charged) = row.map_err(|e| e.to_string())?;
            stats.attempts += n;
            stats.charged += charged;
            if outcome == "conflict" {
                stats.conflicts += n;
            }
            stats.outcomes.push((outcome, n));
        }
        stats.tasks = conn
            .query_row("SELECT count(DISTINCT task_id) FROM attempts", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| e.to_string())? as usize;
        stats.gate_runs = conn
            .query_row(
                "SELECT count(*) FROM quality_metrics WHERE cached_from IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .ok()
            .map(|n| n as usize);
        Ok(stats)
    }

    fn print(&self) {
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(o, n)| format!("{o} {n}"))
            .collect();
        println!(
            "    attempts: {} on {} tasks ({} redone; {} charged): {}; gate runs {}",
            self.attempts,
            self.tasks,
            self.redone(),
            self.charged,
            outcomes.join(", "),
            self.gate_runs.map_or("?".to_string(), |n| n.to_string())
        );
    }
}

/// The attempt figures of a run, printed; None (and a line saying why) when unreadable.
fn attempt_stats(run: &VaneRun) -> Option<AttemptStats> {
    match AttemptStats::read(&run.repo) {
        Ok(stats) => {
            stats.print();
            Some(stats)
        }
        Err(e) => {
            println!("    (attempts: {e})");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The scenarios

fn failure_of(run: &VaneRun, tasks: usize) -> Option<String> {
    match run.timed.status {
        None => Some(format!(
            "stopped at the time limit, {}/{tasks} landed",
            run.landed
        )),
        Some(s) if !s.success() => Some(format!("vane work {s}, {}/{tasks} landed", run.landed)),
        Some(_) if run.landed != tasks => Some(format!("{}/{tasks} landed", run.landed)),
        Some(_) => None,
    }
}

fn baseline_failed(run: &BaselineRun, tasks: usize) -> bool {
    !run.timed.stopped() && (run.timed.status.is_some_and(|s| !s.success()) || run.landed != tasks)
}

/// Scenario 1: many tiny tasks on a small repository, vane against the script, a few times each.
/// Returns vane's median per-task time.
fn small_scenario(env: &Env, sizes: &Sizes, rows: &mut Vec<Row>) -> Option<f64> {
    let n = sizes.small_tasks;
    println!(
        "\n== 1. {n} tasks writing one file each, {} workers, gate `true`, a repository of {} files",
        sizes.workers,
        sizes.small_files + 2
    );
    let template = env.root.join("small-template");
    make_repo(env, &template, sizes.small_files, VANE_TOML, &[]);
    let baseline_template = env.root.join("small-baseline-template");
    copy_repo(env, &template, &baseline_template);
    let list = tasks("t", n, false);
    let adding = set_up_vane(env, &template, &list);
    let tasks_file = env.root.join("small-tasks.tsv");
    write_tasks_file(&tasks_file, &list);
    println!(
        "  added {n} tasks in {:.2} s ({:.1} ms per `vane task add`)",
        adding.as_secs_f64(),
        per_task_ms(adding, n)
    );
    rows.push(Row {
        scenario: "add tasks (vane task add)".to_string(),
        tasks: n,
        workers: 1,
        wall: Some(adding),
        per_task_ms: Some(per_task_ms(adding, n)),
        baseline: "-".to_string(),
        ratio: None,
        target: "-".to_string(),
        ..Default::default()
    });

    let mut vane_runs = Vec::new();
    let mut baseline_runs = Vec::new();
    for k in 1..=sizes.small_runs {
        println!("  run {k}:");
        vane_runs.push(run_vane(
            env,
            &template,
            &format!("small-vane-{k}"),
            n,
            sizes.cap,
        ));
        baseline_runs.push(run_baseline(
            env,
            &baseline_template,
            &format!("small-baseline-{k}"),
            &tasks_file,
            n,
            sizes.workers,
            sizes.cap,
        ));
    }
    let failure = vane_runs.iter().find_map(|r| failure_of(r, n)).or_else(|| {
        baseline_runs
            .iter()
            .any(|r| baseline_failed(r, n))
            .then(|| "the baseline script failed".to_string())
    });
    let secs = |d: &Duration| d.as_secs_f64();
    let vane_wall = median(
        &vane_runs
            .iter()
            .map(|r| secs(&r.timed.elapsed))
            .collect::<Vec<_>>(),
    );
    let base_wall = median(
        &baseline_runs
            .iter()
            .map(|r| secs(&r.timed.elapsed))
            .collect::<Vec<_>>(),
    );
    // CPU (the process and every descendant) per task: on this many cores, the wall per task cannot
    // go below it divided by the cores, however well the work is spread.
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let cpu_ms = |runs: &mut dyn Iterator<Item = &Timed>| {
        median(&runs.map(|t| secs(&t.cpu)).collect::<Vec<_>>()) * 1000.0 / n as f64
    };
    let vane_cpu = cpu_ms(&mut vane_runs.iter().map(|r| &r.timed));
    let base_cpu = cpu_ms(&mut baseline_runs.iter().map(|r| &r.timed));
    println!(
        "  median: vane {vane_wall:.2} s, script {base_wall:.2} s. CPU per task: vane {vane_cpu:.1} ms, script \
         {base_cpu:.1} ms; on {cores:.0} cores vane's floor is {:.1} ms of wall per task, the target {:.1} ms",
        vane_cpu / cores,
        base_wall * 500.0 / n as f64
    );
    // Explain the run nearest the median.
    let mut attempts = None;
    if let Some(run) = vane_runs.iter().min_by(|a, b| {
        (secs(&a.timed.elapsed) - vane_wall)
            .abs()
            .total_cmp(&(secs(&b.timed.elapsed) - vane_wall).abs())
    }) {
        report_vane_run(run, n, sizes.workers);
        attempts = attempt_stats(run);
    }
    let per_task = vane_wall * 1000.0 / n as f64;
    let runs = if sizes.small_runs > 1 {
        format!(" (median of {})", sizes.small_runs)
    } else {
        String::new()
    };
    rows.push(Row {
        scenario: format!("small repo, {} files{runs}", sizes.small_files + 2),
        tasks: n,
        workers: sizes.workers,
        wall: Some(Duration::from_secs_f64(vane_wall)),
        per_task_ms: Some(per_task),
        baseline: format!("{base_wall:.2}"),
        ratio: Some(vane_wall / base_wall),
        target: "<= 0.50x baseline".to_string(),
        limit: Some(0.5),
        failure,
        attempts,
        ..Default::default()
    });
    Some(per_task)
}

/// Scenario 2: the same on a big repository; per task against the small repository's.
fn big_scenario(env: &Env, sizes: &Sizes, small_per_task: Option<f64>, rows: &mut Vec<Row>) {
    let n = sizes.big_tasks;
    println!(
        "\n== 2. {n} tasks writing one file each, {} workers, gate `true`, a repository of {} files",
        sizes.workers,
        sizes.big_files + 2
    );
    let template = env.root.join("big-template");
    let made = make_repo(env, &template, sizes.big_files, VANE_TOML, &[]);
    let baseline_template = env.root.join("big-baseline-template");
    copy_repo(env, &template, &baseline_template);
    let list = tasks("b", n, false);
    let adding = set_up_vane(env, &template, &list);
    let tasks_file = env.root.join("big-tasks.tsv");
    write_tasks_file(&tasks_file, &list);
    println!(
        "  generated, committed and packed {} files in {:.1} s; added {n} tasks in {:.2} s ({:.1} ms each)",
        sizes.big_files,
        made.as_secs_f64(),
        adding.as_secs_f64(),
        per_task_ms(adding, n)
    );
    let run = run_vane(env, &template, "big-vane", n, sizes.cap);
    let base = run_baseline(
        env,
        &baseline_template,
        "big-baseline",
        &tasks_file,
        n,
        sizes.workers,
        sizes.big_baseline_cap,
    );
    report_vane_run(&run, n, sizes.workers);
    let attempts = attempt_stats(&run);
    let wall = run.timed.elapsed;
    let per_task = per_task_ms(wall, n);
    // The script's time for all n tasks: measured, or estimated from the rate it landed at when it
    // was stopped.
    let (baseline, base_whole) = if base.timed.stopped() {
        if base.landed > 0 {
            let whole = base.timed.elapsed.as_secs_f64() * n as f64 / base.landed as f64;
            (
                format!(
                    ">{:.0} ({}/{n}; ~{whole:.0} est.)",
                    base.timed.elapsed.as_secs_f64(),
                    base.landed,
                ),
                Some(whole),
            )
        } else {
            (
                format!(">{:.0} (0/{n})", base.timed.elapsed.as_secs_f64()),
                None,
            )
        }
    } else {
        let whole = base.timed.elapsed.as_secs_f64();
        (format!("{whole:.2}"), Some(whole))
    };
    let failure = failure_of(&run, n)
        .or_else(|| baseline_failed(&base, n).then(|| "the baseline script failed".to_string()));
    let files = thousands(sizes.big_files + 2);
    rows.push(Row {
        scenario: format!("{files} files, against the script"),
        tasks: n,
        workers: sizes.workers,
        wall: Some(wall),
        per_task_ms: Some(per_task),
        baseline,
        ratio: base_whole.map(|whole| wall.as_secs_f64() / whole),
        target: "<= 0.03x baseline".to_string(),
        limit: Some(0.03),
        failure: failure.clone(),
        attempts,
        ..Default::default()
    });
    if let Some(small) = small_per_task {
        rows.push(Row {
            scenario: format!("{files} files, per task against small"),
            tasks: n,
            workers: sizes.workers,
            wall: Some(wall),
            per_task_ms: Some(per_task),
            baseline: format!("{:.1} ms/task", small),
            ratio: Some(per_task / small),
            target: "<= 2.00x small per-task".to_string(),
            limit: Some(2.0),
            failure,
            ..Default::default()
        });
    }
}

/// Scenario 3: tasks that take a second each; how close to the ideal a batch gets.
fn sleep_scenario(env: &Env, sizes: &Sizes, rows: &mut Vec<Row>) {
    let n = sizes.sleep_tasks;
    let ideal = n.div_ceil(sizes.workers) as f64;
    println!(
        "\n== 3. {n} tasks that sleep 1 s and write a file, {} workers: ideal {ideal:.0} s",
        sizes.workers
    );
    let template = env.root.join("sleep-template");
    make_repo(env, &template, sizes.small_files, VANE_TOML, &[]);
    let baseline_template = env.root.join("sleep-baseline-template");
    copy_repo(env, &template, &baseline_template);
    let list = tasks("s", n, true);
    set_up_vane(env, &template, &list);
    let tasks_file = env.root.join("sleep-tasks.tsv");
    write_tasks_file(&tasks_file, &list);
    let run = run_vane(env, &template, "sleep-vane", n, sizes.cap);
    let base = run_baseline(
        env,
        &baseline_template,
        "sleep-baseline",
        &tasks_file,
        n,
        sizes.workers,
        sizes.cap,
    );
    report_vane_run(&run, n, sizes.workers);
    let attempts = attempt_stats(&run);
    let wall = run.timed.elapsed;
    let failure = failure_of(&run, n)
        .or_else(|| baseline_failed(&base, n).then(|| "the baseline script failed".to_string()));
    rows.push(Row {
        scenario: "sleep 1 s per task, gate `true`".to_string(),
        tasks: n,
        workers: sizes.workers,
        wall: Some(wall),
        per_task_ms: Some(per_task_ms(wall, n)),
        baseline: format!(
            "ideal {ideal:.0} (script {:.2})",
            base.timed.elapsed.as_secs_f64()
        ),
        ratio: Some(wall.as_secs_f64() / ideal),
        target: format!("<= 1.10x ideal ({:.1} s)", ideal * 1.1),
        limit: Some(1.1),
        failure,
        attempts,
        ..Default::default()
    });
}

/// Tasks that each sleep one unit and then write their own file. With `fail_every`, every that
/// many-th task's first attempt also leaves a file `bad-<id>`, which the `failing` gate refuses;
/// its later attempts do not, and pass.
fn gated_tasks(prefix: &str, n: usize, unit: &str, fail_every: Option<usize>) -> Vec<Task> {
    (1..=n)
        .map(|i| {
            let id = format!("{prefix}{i:03}");
            let work = format!("sleep {unit} && echo {id} > {id}.txt");
            let run = match fail_every {
                Some(every) if i % every == 0 => {
                    format!("if [ \"$VANE_ATTEMPT\" = 1 ]; then echo bad > bad-{id}; fi; {work}")
                }
                _ => work,
            };
            Task { id, run }
        })
        .collect()
}

/// A gated workload: its tasks, its gate, its target.
struct GatedSpec {
    /// The VANE_BENCH_ONLY name, also the start of its directories' names.
    key: &'static str,
    /// The number in the printed heading.
    number: usize,
    /// The row's name.
    title: String,
    tasks: Vec<Task>,
    gate: String,
    /// The largest ratio to the ideal that passes.
    limit: f64,
    /// Also run with `batch = 4`, as a row of its own.
    batch_row: bool,
    /// Tasks whose first attempt must fail its gate (each must have been attempted again).
    must_retry: Vec<String>,
}

/// One vane run of a gated workload with the queue set up as `queue`, in a repository of its own
/// (the setting is in the committed vane.toml).
fn run_gated_variant(
    env: &Env,
    sizes: &Sizes,
    name: &str,
    spec: &GatedSpec,
    queue: Queue,
) -> VaneRun {
    let template = env.root.join(format!("{name}-template"));
    make_repo(
        env,
        &template,
        sizes.small_files,
        &vane_toml(sizes.workers, queue, &spec.gate),
        &[],
    );
    set_up_vane(env, &template, &spec.tasks);
    println!("  {}:", queue.describe());
    run_vane(env, &template, name, spec.tasks.len(), sizes.cap)
}

/// How many attempts the task has in the run's database.
fn attempts_of(run: &VaneRun, task: &str) -> usize {
    Connection::open(run.repo.join(".git/vane/vane.db"))
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM attempts WHERE task_id = ?1",
                [task],
                |r| r.get::<_, i64>(0),
            )
        })
        .map_or(0, |n| n as usize)
}

/// Why a run of a gated workload is wrong beyond landing: a task meant to fail its gate once that
/// landed on its first attempt (the gate did not see its `bad-*` file).
fn retry_failure(run: &VaneRun, spec: &GatedSpec) -> Option<String> {
    let missed: Vec<&str> = spec
        .must_retry
        .iter()
        .filter(|t| attempts_of(run, t) < 2)
        .map(String::as_str)
        .collect();
    (!missed.is_empty()).then(|| {
        format!(
            "landed on the first attempt, though that one fails its gate: {}",
            missed.join(", ")
        )
    })
}

/// Scenarios 4 to 6: tasks of one unit each behind a gate of one unit, with vane's default merge
/// queue (speculative gating), with `batch = 4` (scenario 4 only), and with one candidate gated at
/// a time (`merge_window = 1`, `gate_workers = 1`) as a second baseline.
fn gated_scenario(env: &Env, sizes: &Sizes, rows: &mut Vec<Row>, spec: GatedSpec) {
    let n = spec.tasks.len();
    let ideal = sizes.ideal(n);
    println!(
        "\n== {}. {}: {n} tasks that sleep {} s and write a file, gate `{}`, {} workers: ideal {ideal:.1} s \
         (agent-bound)",
        spec.number, spec.title, sizes.unit, spec.gate, sizes.workers
    );
    let mut variants = vec![("default", Queue::DEFAULT)];
    if spec.batch_row {
        variants.push(("batch4", Queue::BATCH4));
    }
    variants.push(("serial", Queue::SERIAL));
    let mut runs = Vec::new();
    for (label, queue) in variants {
        let run = run_gated_variant(env, sizes, &format!("{}-{label}", spec.key), &spec, queue);
        if label == "default" {
            report_vane_run(&run, n, sizes.workers);
        }
        let stats = attempt_stats(&run);
        let failure = failure_of(&run, n).or_else(|| retry_failure(&run, &spec));
        runs.push((label, run, stats, failure));
    }
    let (_, serial_run, _, serial_failure) = runs
        .iter()
        .find(|(label, ..)| *label == "serial")
        .expect("the serial variant runs");
    let serial = serial_run.timed.elapsed;
    let serial_failure = serial_failure.as_ref().map(|f| format!("serial run: {f}"));
    println!(
        "  speculative against one at a time: {}",
        runs.iter()
            .filter(|(label, ..)| *label != "serial")
            .map(|(label, run, ..)| format!(
                "{label} {:.2} s, a speed-up of {:.2}x over serial {:.2} s",
                run.timed.elapsed.as_secs_f64(),
                serial.as_secs_f64() / run.timed.elapsed.as_secs_f64().max(1e-9),
                serial.as_secs_f64()
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for (label, run, stats, failure) in runs {
        if label == "serial" {
            continue;
        }
        let wall = run.timed.elapsed;
        rows.push(Row {
            scenario: format!(
                "{}{}",
                spec.title,
                if label == "batch4" { ", batch = 4" } else { "" }
            ),
            tasks: n,
            workers: sizes.workers,
            wall: Some(wall),
            per_task_ms: Some(per_task_ms(wall, n)),
            baseline: format!("ideal {ideal:.1}"),
            ratio: Some(wall.as_secs_f64() / ideal),
            target: format!("<= {:.2}x ideal ({:.1} s)", spec.limit, ideal * spec.limit),
            limit: Some(spec.limit),
            serial: Some(serial),
            attempts: stats,
            failure: failure.or_else(|| serial_failure.clone()),
            ..Default::default()
        });
    }
}

/// The roadmap of the `pairs` workload: per pair two tasks appending a line to the pair's file,
/// in pair order, with `paths:` when `declared`. A task's `run` works from base (appends its
/// line) as well as from a merge with conflict markers (resolves it, keeping both lines).
fn pairs_roadmap(pairs: usize, unit: &str, declared: bool) -> String {
    let mut text = String::from("tasks:\n");
    for p in 1..=pairs {
        for half in ["a", "b"] {
            let id = format!("p{p:02}{half}");
            let file = format!("pair{p:02}.txt");
            // Like an agent's retry that starts from the merge with its conflict markers in
            // place: keep both sides (drop the marker lines), and add the line only if missing.
            let run = format!(
                "sleep {unit} && sed -i -e '/^<<<<<<< /d' -e '/^=======$/d' -e '/^>>>>>>> /d' \
                 -e '/^||||||| /d' {file} && {{ grep -qx {id} {file} || echo {id} >> {file}; }}"
            );
            text.push_str(&format!(
                "  - id: {id}\n    title: Append {id} to {file}\n    run: \"{run}\"\n"
            ));
            if declared {
                text.push_str(&format!("    paths: [{file}]\n"));
            }
        }
    }
    text
}

/// `vane import` of a roadmap; the error output when it is refused.
fn import_roadmap(env: &Env, repo: &Path, roadmap: &Path) -> Result<(), String> {
    let mut command = env.command(&env.bin, repo);
    command.arg("-q").arg("import").arg(roadmap);
    let output = command
        .output()
        .map_err(|e| format!("cannot run vane import: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// Whether every pair's file on base holds its first line and both tasks' lines, once each and
/// nothing else (no conflict markers, nothing lost); the wrong ones, by name.
fn wrong_pair_files(env: &Env, repo: &Path, pairs: usize) -> Vec<String> {
    (1..=pairs)
        .filter(|p| {
            let file = format!("pair{p:02}.txt");
            let text = env.git(repo, &["show", &format!("{BASE}:{file}")]);
            let mut lines: Vec<&str> = text.lines().collect();
            if lines.first() != Some(&format!("pair {p}").as_str()) {
                return true;
            }
            lines.remove(0);
            lines.sort_unstable();
            lines != [format!("p{p:02}a"), format!("p{p:02}b")]
        })
        .map(|p| format!("pair{p:02}.txt"))
        .collect()
}

/// Scenario 7: pairs of tasks that write the same file, with their overlap declared in the roadmap
/// (`paths:`) and without; how many attempts are wasted on conflicts.
fn pairs_scenario(env: &Env, sizes: &Sizes, rows: &mut Vec<Row>) {
    let pairs = sizes.pairs;
    let n = 2 * pairs;
    let ideal = sizes.ideal(n);
    println!(
        "\n== 7. {n} tasks in {pairs} pairs, both of a pair sleep {} s and append a line to the pair's file, \
         gate `true`, {} workers: ideal {ideal:.1} s and nothing wasted",
        sizes.unit, sizes.workers
    );
    let extra: Vec<(String, String)> = (1..=pairs)
        .map(|p| (format!("pair{p:02}.txt"), format!("pair {p}\n")))
        .collect();
    for declared in [false, true] {
        let label = if declared { "declared" } else { "undeclared" };
        let scenario = format!(
            "pairs, paths {}",
            if declared { "declared" } else { "not declared" }
        );
        let target = if declared { "0 wasted" } else { "- (report)" }.to_string();
        let baseline = format!("0 wasted (ideal {ideal:.1})");
        let template = env.root.join(format!("pairs-{label}-template"));
        make_repo(env, &template, sizes.small_files, VANE_TOML, &extra);
        env.vane(&template, &["-q", "init"]);
        let roadmap = env.root.join(format!("pairs-{label}.yaml"));
        std::fs::write(&roadmap, pairs_roadmap(pairs, sizes.unit, declared))
            .expect("the roadmap can be written");
        println!("  paths {label}:");
        if let Err(e) = import_roadmap(env, &template, &roadmap) {
            if declared && e.contains("paths") {
                // The roadmap format does not know `paths:` yet: nothing to measure.
                println!(
                    "    vane import refuses `paths:` ({}); not measured",
                    e.lines().find(|l| l.contains("paths")).unwrap_or("").trim()
                );
                rows.push(Row {
                    scenario,
                    tasks: n,
                    workers: sizes.workers,
                    baseline,
                    target,
                    skipped: Some("vane import refuses `paths:`".to_string()),
                    ..Default::default()
                });
                continue;
            }
            panic!("vane import {}: {e}", roadmap.display());
        }
        let run = run_vane(env, &template, &format!("pairs-{label}"), n, sizes.cap);
        let stats = attempt_stats(&run);
        let wrong = if run.timed.stopped() {
            Vec::new()
        } else {
            wrong_pair_files(env, &run.repo, pairs)
        };
        let failure = failure_of(&run, n).or_else(|| {
            (!wrong.is_empty()).then(|| format!("wrong content in {}", wrong.join(", ")))
        });
        let wall = run.timed.elapsed;
        rows.push(Row {
            scenario,
            tasks: n,
            workers: sizes.workers,
            wall: Some(wall),
            per_task_ms: Some(per_task_ms(wall, n)),
            baseline,
            ratio_text: stats.as_ref().map(|s| format!("{} wasted", s.redone())),
            target,
            met: if declared {
                stats.as_ref().map(|s| s.redone() == 0 && s.conflicts == 0)
            } else {
                None
            },
            attempts: stats,
            failure,
            ..Default::default()
        });
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick")
        || std::env::var("VANE_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    // `cargo bench` passes `--bench`; `cargo test` runs the program without it.
    let mode = if !args.iter().any(|a| a == "--bench") {
        Mode::Smoke
    } else if quick {
        Mode::Quick
    } else {
        Mode::Full
    };
    let sizes = Sizes::new(mode);
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("vane-bench-work-")
        .tempdir()
        .expect("a temporary directory");
    let root = dir
        .path()
        .canonicalize()
        .expect("the temporary directory has a canonical path");
    let env = Env {
        home: root.join("home"),
        bin: PathBuf::from(env!("CARGO_BIN_EXE_vane")),
        script: Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/git_script_baseline.sh"),
        path_var: std::env::var_os("PATH").unwrap_or_default(),
        root,
    };
    std::fs::create_dir_all(&env.home).expect("HOME can be made");
    std::fs::create_dir_all(env.root.join("tmp")).expect("TMPDIR can be made");
    let git_version = env.git(&env.root, &["--version"]);
    println!(
        "vane work benchmark ({}): {} + {} + {} tasks; gated {} and {} (agents and gates of {} s), \
         {} pairs; {} workers; {}; {} cores",
        match mode {
            Mode::Full => "full sizes",
            Mode::Quick => "quick: a tenth of the tasks",
            Mode::Smoke => "smoke run as a test: small sizes, one run each",
        },
        sizes.small_tasks,
        sizes.big_tasks,
        sizes.sleep_tasks,
        sizes.gated_tasks,
        sizes.gated_tasks / 2,
        sizes.unit,
        sizes.pairs,
        sizes.workers,
        git_version,
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    println!("binary: {}", env.bin.display());
    println!("baseline: {}", env.script.display());

    let mut rows = Vec::new();
    // `VANE_BENCH_ONLY=small,sleep` runs only those scenarios (small, big, sleep, gated, gated20,
    // failing, pairs; the big one compares with the small one's figure only when both run).
    let only = std::env::var("VANE_BENCH_ONLY").unwrap_or_default();
    let runs = |name: &str| only.is_empty() || only.split(',').any(|o| o.trim() == name);
    let small = if runs("small") {
        small_scenario(&env, &sizes, &mut rows)
    } else {
        None
    };
    if runs("big") {
        big_scenario(&env, &sizes, small, &mut rows);
    }
    if runs("sleep") {
        sleep_scenario(&env, &sizes, &mut rows);
    }
    let unit = sizes.unit;
    if runs("gated") {
        let spec = GatedSpec {
            key: "gated",
            number: 4,
            title: format!("gate `sleep {unit}`"),
            tasks: gated_tasks("g", sizes.gated_tasks, unit, None),
            gate: format!("sleep {unit}"),
            limit: 1.3,
            batch_row: true,
            must_retry: Vec::new(),
        };
        gated_scenario(&env, &sizes, &mut rows, spec);
    }
    if runs("gated20") {
        let spec = GatedSpec {
            key: "gated20",
            number: 5,
            title: format!("gate `sleep {unit}`, half the tasks"),
            tasks: gated_tasks("h", sizes.gated_tasks / 2, unit, None),
            gate: format!("sleep {unit}"),
            limit: 1.3,
            batch_row: false,
            must_retry: Vec::new(),
        };
        gated_scenario(&env, &sizes, &mut rows, spec);
    }
    if runs("failing") {
        let every = sizes.fail_every;
        let spec = GatedSpec {
            key: "failing",
            number: 6,
            title: format!("gate `sleep {unit}`, every {every}th fails once"),
            tasks: gated_tasks("f", sizes.gated_tasks, unit, Some(every)),
            gate: format!("sleep {unit} && ! ls bad-* >/dev/null 2>&1"),
            limit: 1.6,
            batch_row: false,
            must_retry: (1..=sizes.gated_tasks)
                .filter(|i| i % every == 0)
                .map(|i| format!("f{i:03}"))
                .collect(),
        };
        gated_scenario(&env, &sizes, &mut rows, spec);
    }
    if runs("pairs") {
        pairs_scenario(&env, &sizes, &mut rows);
    }

    // Removing the repositories (a few hundred thousand files at full size) takes a while: it is part
    // of the benchmark's time, not of any row's.
    let removing = Instant::now();
    if std::env::var("VANE_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0") {
        println!(
            "\nkept the repositories, logs and databases in {} (VANE_BENCH_KEEP)",
            dir.keep().display()
        );
    } else if let Err(e) = dir.close() {
        println!("\ncould not remove every temporary file: {e}");
    }
    let removing = removing.elapsed();
    if mode != Mode::Full {
        println!("\nNOTE: not the full sizes; the targets are for the full sizes.");
    }
    print_table(&rows);
    println!(
        "total {:.1} s ({:.1} s of it removing the repositories)",
        started.elapsed().as_secs_f64(),
        removing.as_secs_f64()
    );
    if rows.iter().any(|r| r.failure.is_some()) {
        std::process::exit(1);
    }
}
