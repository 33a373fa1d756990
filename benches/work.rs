//! Work-loop benchmark: `vane work` end to end, against a shell script doing the same with the git CLI.
//!
//! Targets (from the issue):
//! 1. 200 independent `shell` tasks that each write one file, 4 workers, one trivial gate
//!    (`true`), on a small repository: `vane work` (after the tasks were added; adding them is
//!    measured on its own) takes at most half the time of `benches/git_script_baseline.sh`, which does
//!    per task `git worktree add`, the command, `git commit`, a serialized `git merge --no-ff` in the
//!    main checkout (under `flock`) and `git worktree remove`, 4 tasks at a time (`xargs -P4`).
//! 2. The same on a repository of 50,000 files (100 tasks, to keep the run short): the time per task
//!    (wall / tasks) within 2x of the small repository's. The baseline runs too, cut off after a
//!    time limit (a `git worktree add` of 50,000 files per task is slow); the table then says how
//!    many of its tasks landed by then and what the whole would take at that rate.
//! 3. 40 tasks that each `sleep 1` (and write a file), 4 workers: within 10% of the ideal 10 s.
//!
//! Every process runs in a sealed environment (a temporary HOME, no global or system git
//! configuration, a fixed identity). `vane work` runs with `VANE_LOG=vane::git=debug`, which logs
//! every git command it runs with its duration (a few hundred short lines on stderr, to a file); with
//! that log and the event log in `.git/vane/vane.db` the benchmark shows where the time goes: how
//! long tasks run, wait for the merge queue and take to land, what the serial coordinator spends
//! per landing, and which git commands cost what per task.
//!
//! The benchmark reports; it never fails because something is slow (it exits non-zero only when a
//! run did not land every task).
//!
//! Run with `cargo bench --bench work`. For a quick run (20 tasks, 5,000 files, 8 sleeping tasks),
//! set `VANE_BENCH_QUICK=1` or pass `-- --quick`. When cargo runs the program as a test
//! (`cargo test --benches` or `--all-targets`, which pass no `--bench` flag), it does a smaller run
//! still. `VANE_BENCH_ONLY=small` (or `big`, `sleep`, or several, comma-separated) runs only those
//! scenarios. `VANE_BENCH_KEEP=1` keeps the repositories, the logs and the databases.

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
        Sizes {
            workers: 4,
            small_tasks,
            small_files: 20,
            small_runs,
            big_tasks,
            big_files,
            sleep_tasks,
            big_baseline_cap: Duration::from_secs(big_baseline_cap),
            cap: Duration::from_secs(if mode == Mode::Full { 420 } else { 120 }),
        }
    }
}

const BASE: &str = "main";
const VANE_TOML: &str = "workers = 4\n\n[[gate]]\nname = \"ok\"\ncommand = \"true\"\n";

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

/// A repository on `main` with `files` small files in nested directories (100 to a directory) and
/// the committed `vane.toml`, in one commit, packed. Not yet set up for vane.
fn make_repo(env: &Env, path: &Path, files: usize) -> Duration {
    let started = Instant::now();
    std::fs::create_dir_all(path).expect("the repository directory can be created");
    std::fs::write(path.join("README.md"), "# bench\n").expect("README.md can be written");
    std::fs::write(path.join("vane.toml"), VANE_TOML).expect("vane.toml can be written");
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
    // Per worker: from a landing (which frees the worker) to its next claim.
    let mut by_worker: HashMap<&str, Vec<&TaskTimes>> = HashMap::new();
    for t in &tasks {
        by_worker.entry(t.worker.as_str()).or_default().push(t);
    }
    let mut gaps = Vec::new();
    for list in by_worker.values_mut() {
        list.sort_by_key(|t| t.claim);
        for pair in list.windows(2) {
            gaps.push((pair[1].claim.unwrap() - pair[0].done.unwrap()) as f64);
        }
    }
    let worker_ms = batch_ms * workers as f64;
    let running: f64 = run_ms.iter().sum();
    let held: f64 = queue_ms.iter().sum();
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
        "              one landing every {:.1} ms once running; a freed worker waits {:.1} ms (median {:.1}) for its next task",
        interval,
        mean(&gaps),
        median(&gaps)
    );
    println!(
        "    worker time ({workers} x batch): {:.0}% running tasks, {:.0}% held until its branch lands \
         (the gate runs in the worker's worktree), {:.0}% idle{}",
        100.0 * running / worker_ms.max(1.0),
        100.0 * held / worker_ms.max(1.0),
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

struct Row {
    scenario: String,
    tasks: usize,
    workers: usize,
    wall: Option<Duration>,
    per_task_ms: Option<f64>,
    baseline: String,
    ratio: Option<f64>,
    target: String,
    /// The largest ratio that passes; None: no target.
    limit: Option<f64>,
    failure: Option<String>,
}

fn print_table(rows: &[Row]) {
    let header = [
        "scenario",
        "tasks",
        "workers",
        "vane wall s",
        "per-task ms",
        "baseline s",
        "ratio",
        "target",
        "verdict",
    ];
    let mut lines: Vec<[String; 9]> = Vec::new();
    for row in rows {
        let verdict = match (&row.failure, row.ratio, row.limit) {
            (Some(f), _, _) => format!("FAILED: {f}"),
            (None, Some(r), Some(l)) if r <= l => "PASS".to_string(),
            (None, Some(_), Some(_)) => "SLOW".to_string(),
            _ => "-".to_string(),
        };
        lines.push([
            row.scenario.clone(),
            row.tasks.to_string(),
            row.workers.to_string(),
            row.wall
                .map_or("-".to_string(), |d| format!("{:.2}", d.as_secs_f64())),
            row.per_task_ms
                .map_or("-".to_string(), |v| format!("{v:.1}")),
            row.baseline.clone(),
            row.ratio.map_or("-".to_string(), |r| format!("{r:.2}x")),
            row.target.clone(),
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
                if i == 0 || i >= 7 {
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
         whole at that rate)"
    );
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
    make_repo(env, &template, sizes.small_files);
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
        limit: None,
        failure: None,
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
    if let Some(run) = vane_runs.iter().min_by(|a, b| {
        (secs(&a.timed.elapsed) - vane_wall)
            .abs()
            .total_cmp(&(secs(&b.timed.elapsed) - vane_wall).abs())
    }) {
        report_vane_run(run, n, sizes.workers);
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
    let made = make_repo(env, &template, sizes.big_files);
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
    let wall = run.timed.elapsed;
    let per_task = per_task_ms(wall, n);
    let baseline = if base.timed.stopped() {
        if base.landed > 0 {
            format!(
                ">{:.0} ({}/{n}; ~{:.0} est.)",
                base.timed.elapsed.as_secs_f64(),
                base.landed,
                base.timed.elapsed.as_secs_f64() * n as f64 / base.landed as f64
            )
        } else {
            format!(">{:.0} (0/{n})", base.timed.elapsed.as_secs_f64())
        }
    } else {
        format!("{:.2}", base.timed.elapsed.as_secs_f64())
    };
    let failure = failure_of(&run, n)
        .or_else(|| baseline_failed(&base, n).then(|| "the baseline script failed".to_string()));
    rows.push(Row {
        scenario: format!("{} files", thousands(sizes.big_files + 2)),
        tasks: n,
        workers: sizes.workers,
        wall: Some(wall),
        per_task_ms: Some(per_task),
        baseline,
        ratio: small_per_task.map(|small| per_task / small),
        target: "<= 2.00x small per-task".to_string(),
        limit: Some(2.0),
        failure,
    });
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
    make_repo(env, &template, sizes.small_files);
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
    let wall = run.timed.elapsed;
    let failure = failure_of(&run, n)
        .or_else(|| baseline_failed(&base, n).then(|| "the baseline script failed".to_string()));
    rows.push(Row {
        scenario: "sleep 1 s per task".to_string(),
        tasks: n,
        workers: sizes.workers,
        wall: Some(wall),
        per_task_ms: Some(per_task_ms(wall, n)),
        baseline: format!("{:.2}", base.timed.elapsed.as_secs_f64()),
        ratio: Some(wall.as_secs_f64() / ideal),
        target: format!("<= 1.10x ideal {ideal:.0} s"),
        limit: Some(1.1),
        failure,
    });
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
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
        "vane work benchmark ({}): {} + {} + {} tasks, {} workers; {}; {} cores",
        match mode {
            Mode::Full => "full sizes",
            Mode::Quick => "quick: a tenth of the tasks",
            Mode::Smoke => "smoke run as a test: small sizes, one run each",
        },
        sizes.small_tasks,
        sizes.big_tasks,
        sizes.sleep_tasks,
        sizes.workers,
        git_version,
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    println!("binary: {}", env.bin.display());
    println!("baseline: {}", env.script.display());

    let mut rows = Vec::new();
    // `VANE_BENCH_ONLY=small,sleep` runs only those scenarios (the big one compares with the
    // small one's figure only when both run).
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
