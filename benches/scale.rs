//! Scale benchmark: how vane holds up on a big roadmap and a big database.
//!
//! Targets (from the issue):
//! - importing a generated roadmap of 10,000 tasks (about 3 dependencies each) takes under 1 s;
//! - on a database of 100,000 tasks and 1,000,000 events, `vane status` takes under 100 ms,
//!   `vane task show` under 20 ms and the ready set under 50 ms.
//!
//! Each is measured in-process through the library and end to end through the real binary (process
//! start included, output to a null sink). The benchmark reports; it never fails because something is
//! slow.
//!
//! Run with `cargo bench --bench scale`. For a smoke run at a tenth of the sizes, set
//! `VANE_BENCH_QUICK=1` or pass `-- --quick`. When cargo runs the program as a test
//! (`cargo test --benches` or `--all-targets`, which pass no `--bench` flag), it does a smoke run with
//! one or two repetitions per operation, so that a test run is not held up by a benchmark.
//! `VANE_BENCH_KEEP=1` keeps the temporary repositories (the big database is in `scale/.git/vane`)
//! for a closer look.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde_json::json;
use vane::graph::{Graph, Node};
use vane::model::{now_millis, Complexity, DepKind, TaskId, TaskStatus, TaskType};
use vane::roadmap::Roadmap;
use vane::store::Store;
use vane::workspace::Workspace;

// ---------------------------------------------------------------------------------------------------
// Settings

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The sizes of the issue.
    Full,
    /// A tenth of the sizes.
    Quick,
    /// A tenth of the sizes and as few repetitions as possible: run as a test.
    Smoke,
}

struct Sizes {
    mode: Mode,
    /// Epics of the imported roadmap; each has `tasks_per_epic` tasks.
    import_epics: usize,
    /// Epics of the big database.
    scale_epics: usize,
    tasks_per_epic: usize,
    /// Events in the big database.
    events: usize,
    /// Events of the one task with a long history.
    heavy_events: usize,
}

impl Sizes {
    fn new(mode: Mode) -> Sizes {
        let scale = if mode == Mode::Full { 1 } else { 10 };
        Sizes {
            mode,
            import_epics: 100 / scale,
            scale_epics: 1_000 / scale,
            tasks_per_epic: 99,
            events: 1_000_000 / scale,
            heavy_events: 2_000 / scale,
        }
    }

    fn import_tasks(&self) -> usize {
        self.import_epics * (self.tasks_per_epic + 1)
    }

    fn scale_tasks(&self) -> usize {
        self.scale_epics * (self.tasks_per_epic + 1)
    }

    /// How many times to repeat an operation (fewer if it turns out slow; see `measure`).
    fn runs(&self, wanted: usize) -> usize {
        if self.mode == Mode::Smoke {
            wanted.min(2)
        } else {
            wanted
        }
    }
}

/// Stop repeating an operation once it has run this long in total (after at least three runs).
const TIME_BUDGET_PER_ROW: Duration = Duration::from_secs(15);

/// How far back (in tasks) a task's dependencies reach: about three epics.
const DEPENDENCY_WINDOW: usize = 300;

const AREAS: &[&str] = &[
    "storage",
    "scheduler",
    "cli",
    "git",
    "gates",
    "docs",
    "agents",
    "config",
];

// ---------------------------------------------------------------------------------------------------
// A small deterministic random number generator (splitmix64), so that every run builds the same data.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn sha(&mut self) -> String {
        format!(
            "{:016x}{:016x}{:08x}",
            self.next(),
            self.next(),
            self.next() as u32
        )
    }
}

/// `count` distinct numbers from `lo..hi` (fewer if the range is smaller), ascending.
fn pick_distinct(rng: &mut Rng, lo: usize, hi: usize, count: usize) -> Vec<usize> {
    let span = hi.saturating_sub(lo);
    let count = count.min(span);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let x = lo + rng.below(span);
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out.sort_unstable();
    out
}

// ---------------------------------------------------------------------------------------------------
// The generated graph, shared by the roadmap and the big database.

struct GenTask {
    id: String,
    title: String,
    description: String,
    kind: TaskType,
    complexity: Option<u8>,
    /// Index of the parent epic.
    parent: Option<usize>,
    /// Which epic (0-based ordinal) the task is or belongs to.
    epic: usize,
    /// Indices of earlier tasks; always pointing backwards, so the graph is acyclic.
    deps: Vec<(usize, DepKind)>,
    run: Option<String>,
}

/// `epics` epics, each followed by its `per_epic` tasks. A task has 2 to 4 `blocks` dependencies on
/// earlier tasks within `DEPENDENCY_WINDOW`, sometimes one on an earlier epic as a whole, sometimes a
/// `related` or `suggested` one; an epic sometimes blocks on an earlier epic.
fn generate(epics: usize, per_epic: usize, rng: &mut Rng) -> Vec<GenTask> {
    let mut tasks: Vec<GenTask> = Vec::with_capacity(epics * (per_epic + 1));
    let mut plain: Vec<usize> = Vec::with_capacity(epics * per_epic);
    let mut epic_at: Vec<usize> = Vec::with_capacity(epics);
    for e in 0..epics {
        let area = AREAS[e % AREAS.len()];
        let mut deps = Vec::new();
        if e > 0 && rng.chance(30) {
            deps.push((epic_at[rng.below(e)], DepKind::Blocks));
        }
        let epic_index = tasks.len();
        epic_at.push(epic_index);
        tasks.push(GenTask {
            id: format!("E{e}"),
            title: format!("Epic {e} - {area} milestone"),
            description: format!(
                "Everything the {area} layer needs for milestone {e}.\nSplit into {per_epic} tasks."
            ),
            kind: TaskType::Epic,
            complexity: None,
            parent: None,
            epic: e,
            deps,
            run: None,
        });
        for j in 0..per_epic {
            let n = plain.len();
            let lo = n.saturating_sub(DEPENDENCY_WINDOW);
            let wanted = 2 + rng.below(3);
            let mut deps: Vec<(usize, DepKind)> = pick_distinct(rng, lo, n, wanted)
                .into_iter()
                .map(|k| (plain[k], DepKind::Blocks))
                .collect();
            if e > 0 && rng.chance(2) {
                deps.push((epic_at[rng.below(e)], DepKind::Blocks));
            }
            if n > 0 && rng.chance(10) {
                let other = plain[rng.below(n)];
                if !deps.iter().any(|(d, _)| *d == other) {
                    let kind = if rng.chance(50) {
                        DepKind::Related
                    } else {
                        DepKind::Suggested
                    };
                    deps.push((other, kind));
                }
            }
            let kind = match rng.below(20) {
                0..=11 => TaskType::Task,
                12..=16 => TaskType::Story,
                _ => TaskType::Bug,
            };
            let complexity = rng.chance(70).then(|| 1 + rng.below(10) as u8);
            let description = if rng.chance(50) {
                format!("Part {j} of the {area} milestone {e}.\nDone when its tests pass.\n")
            } else {
                String::new()
            };
            let run = rng
                .chance(30)
                .then(|| format!("cargo test -q --test {area}_{n}"));
            plain.push(tasks.len());
            tasks.push(GenTask {
                id: format!("T{n}"),
                title: format!("Task {n} of the {area} milestone {e}"),
                description,
                kind,
                complexity,
                parent: Some(epic_index),
                epic: e,
                deps,
                run,
            });
        }
    }
    tasks
}

/// The roadmap file a user would write for these tasks.
fn roadmap_yaml(tasks: &[GenTask]) -> String {
    use std::fmt::Write;
    let mut out = String::from("# generated by benches/scale.rs\nepics:\n");
    let deps_text = |task: &GenTask| -> String {
        let items: Vec<String> = task
            .deps
            .iter()
            .map(|(d, kind)| match kind {
                DepKind::Blocks => tasks[*d].id.clone(),
                other => format!("{{id: {}, kind: {}}}", tasks[*d].id, other.as_str()),
            })
            .collect();
        format!("[{}]", items.join(", "))
    };
    let block = |out: &mut String, indent: &str, text: &str| {
        let _ = writeln!(out, "{indent}description: |");
        for line in text.lines() {
            let _ = writeln!(out, "{indent}  {line}");
        }
    };
    for task in tasks {
        if task.kind == TaskType::Epic {
            let _ = writeln!(out, "  - id: {}\n    title: \"{}\"", task.id, task.title);
            block(&mut out, "    ", &task.description);
            if !task.deps.is_empty() {
                let _ = writeln!(out, "    deps: {}", deps_text(task));
            }
            let _ = writeln!(out, "    tasks:");
            continue;
        }
        let _ = writeln!(
            out,
            "      - id: {}\n        title: \"{}\"",
            task.id, task.title
        );
        if task.kind != TaskType::Task {
            let _ = writeln!(out, "        type: {}", task.kind.as_str());
        }
        if let Some(c) = task.complexity {
            let _ = writeln!(out, "        complexity: {c}");
        }
        if !task.description.is_empty() {
            block(&mut out, "        ", &task.description);
        }
        if let Some(run) = &task.run {
            let _ = writeln!(out, "        run: \"{run}\"");
        }
        if !task.deps.is_empty() {
            let _ = writeln!(out, "        deps: {}", deps_text(task));
        }
    }
    out
}

fn count_deps(tasks: &[GenTask], kind: DepKind) -> usize {
    tasks
        .iter()
        .map(|t| t.deps.iter().filter(|(_, k)| *k == kind).count())
        .sum()
}

// ---------------------------------------------------------------------------------------------------
// Measuring and reporting

struct Row {
    op: String,
    target: Option<Duration>,
    samples: Vec<Duration>,
    failure: Option<String>,
}

impl Row {
    fn new(op: impl Into<String>, target: Option<Duration>, samples: Vec<Duration>) -> Row {
        Row {
            op: op.into(),
            target,
            samples,
            failure: None,
        }
    }

    fn stats(&self) -> Option<(Duration, Duration, Duration)> {
        let mut s = self.samples.clone();
        if s.is_empty() {
            return None;
        }
        s.sort_unstable();
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2
        };
        Some((s[0], median, s[n - 1]))
    }
}

/// Runs `f` up to `runs` times (at least three, or `runs` if fewer, then only while within
/// `TIME_BUDGET_PER_ROW`) and records how long each run took.
fn measure(
    op: impl Into<String>,
    target: Option<Duration>,
    runs: usize,
    mut f: impl FnMut() -> Result<(), String>,
) -> Row {
    measure_timed(op, target, runs, || {
        let t = Instant::now();
        f()?;
        Ok(t.elapsed())
    })
}

/// Like `measure`, for an operation that times itself (to leave its set-up out).
fn measure_timed(
    op: impl Into<String>,
    target: Option<Duration>,
    runs: usize,
    mut f: impl FnMut() -> Result<Duration, String>,
) -> Row {
    let op = op.into();
    let started = Instant::now();
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        if i >= 3 && started.elapsed() > TIME_BUDGET_PER_ROW {
            break;
        }
        match f() {
            Ok(elapsed) => samples.push(elapsed),
            Err(e) => {
                println!("  {op}: FAILED: {e}");
                return Row {
                    op,
                    target,
                    samples,
                    failure: Some(e),
                };
            }
        }
    }
    let row = Row::new(op, target, samples);
    if let Some((min, median, _)) = row.stats() {
        println!(
            "  {:<56} min {:>9} ms  median {:>9} ms  ({} runs)",
            row.op,
            ms(min),
            ms(median),
            row.samples.len()
        );
    }
    row
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.op.len()).max().unwrap_or(10).max(9);
    println!();
    println!(
        "{:<width$}  {:>9}  {:>4}  {:>9}  {:>9}  {:>9}  verdict",
        "operation", "target ms", "runs", "min ms", "median ms", "max ms"
    );
    println!("{}", "-".repeat(width + 63));
    for row in rows {
        let target = row.target.map_or_else(|| "-".to_string(), ms);
        if let Some(failure) = &row.failure {
            println!(
                "{:<width$}  {target:>9}  {:>4}  {:>9}  {:>9}  {:>9}  FAILED: {failure}",
                row.op, "-", "-", "-", "-"
            );
            continue;
        }
        let Some((min, median, max)) = row.stats() else {
            continue;
        };
        let verdict = match row.target {
            None => "-",
            Some(t) if median <= t => "PASS",
            Some(_) => "SLOW",
        };
        println!(
            "{:<width$}  {target:>9}  {:>4}  {:>9}  {:>9}  {:>9}  {verdict}",
            row.op,
            row.samples.len(),
            ms(min),
            ms(median),
            ms(max)
        );
    }
    println!(
        "(the verdict compares the median with the target; a benchmark reports, it does not fail)"
    );
}

// ---------------------------------------------------------------------------------------------------
// Repositories and the binary

/// A git repository with one commit, set up for vane through the library (`vane init`).
fn make_repo(path: &Path) {
    std::fs::create_dir_all(path).expect("the repository directory can be created");
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(path)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Bench")
            .env("GIT_AUTHOR_EMAIL", "bench@example.com")
            .env("GIT_COMMITTER_NAME", "Bench")
            .env("GIT_COMMITTER_EMAIL", "bench@example.com")
            .stdin(Stdio::null())
            .output()
            .expect("git is installed and runs");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["commit", "-q", "--allow-empty", "-m", "initial commit"]);
    Workspace::init(path).expect("vane init succeeds in a fresh repository");
}

/// The `vane` binary cargo built alongside this benchmark, if it can be found.
fn vane_binary() -> Option<PathBuf> {
    if let Some(path) = option_env!("CARGO_BIN_EXE_vane") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Some(path);
        }
    }
    // target/<profile>/deps/scale-<hash> -> target/<profile>/vane
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("vane");
    path.is_file().then_some(path)
}

/// Runs `vane -C <repo> <args>` with its output thrown away; an error says why it failed.
fn run_vane(bin: &Path, repo: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new(bin)
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`vane {}` exited with {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

// ---------------------------------------------------------------------------------------------------
// Part 1: importing a roadmap

fn import_bench(sizes: &Sizes, root: &Path, bin: Option<&Path>, rows: &mut Vec<Row>) {
    let n = sizes.import_tasks();
    println!("== import: a roadmap of {n} tasks");
    let mut rng = Rng(0x1a2b_3c4d);
    let tasks = generate(sizes.import_epics, sizes.tasks_per_epic, &mut rng);
    let text = roadmap_yaml(&tasks);
    let file = root.join("roadmap.yaml");
    std::fs::write(&file, &text).expect("the roadmap file can be written");
    println!(
        "  generated {} tasks in {} epics, {} blocks / {} related / {} suggested dependencies, {} KiB of YAML",
        tasks.len(),
        sizes.import_epics,
        count_deps(&tasks, DepKind::Blocks),
        count_deps(&tasks, DepKind::Related),
        count_deps(&tasks, DepKind::Suggested),
        text.len() / 1024
    );

    let target = Some(Duration::from_secs(1));
    let file_name = file.display().to_string();
    let runs = sizes.runs(5);
    let (mut parse, mut import, mut both) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    for run in 0..runs {
        if run >= 3 && started.elapsed() > TIME_BUDGET_PER_ROW * 2 {
            break;
        }
        let mut store = Store::open(&root.join(format!("import-{run}.db")), true)
            .expect("a fresh database opens");
        let t0 = Instant::now();
        let roadmap = {
            let known = |id: &TaskId| store.task(id).is_ok();
            Roadmap::parse(&file_name, &text, &known, &|_| Ok(()))
                .expect("the generated roadmap is valid")
        };
        let t1 = Instant::now();
        let report = store
            .import_roadmap(&roadmap, &file_name, "person:bench", false)
            .expect("the generated roadmap imports");
        let t2 = Instant::now();
        assert_eq!(
            report.changes.len(),
            n,
            "every task of the roadmap is added"
        );
        parse.push(t1 - t0);
        import.push(t2 - t1);
        both.push(t2 - t0);
        println!(
            "  run {run}: parse {} ms, import {} ms",
            ms(t1 - t0),
            ms(t2 - t1)
        );
    }
    rows.push(Row::new(format!("Roadmap::parse ({n} tasks)"), None, parse));
    rows.push(Row::new(
        format!("Store::import_roadmap ({n} tasks)"),
        None,
        import,
    ));
    rows.push(Row::new(
        format!("import in-process: parse + import ({n})"),
        target,
        both,
    ));

    let mut store =
        Store::open(&root.join("import-0.db"), false).expect("the first import's database opens");
    rows.push(measure(
        format!("import again, nothing changed ({n})"),
        None,
        sizes.runs(3),
        || {
            let roadmap = {
                let known = |id: &TaskId| store.task(id).is_ok();
                Roadmap::parse(&file_name, &text, &known, &|_| Ok(())).map_err(|e| e.to_string())?
            };
            let report = store
                .import_roadmap(&roadmap, &file_name, "person:bench", false)
                .map_err(|e| e.to_string())?;
            let unchanged =
                report.count(|c| matches!(c, vane::store::TaskChange::Unchanged { .. }));
            if unchanged == n {
                Ok(())
            } else {
                Err(format!(
                    "{unchanged} of {n} tasks unchanged on a second import"
                ))
            }
        },
    ));
    drop(store);

    match bin {
        Some(bin) => {
            let mut repo_number = 0;
            rows.push(measure_timed(
                format!("`vane import` binary, fresh repo ({n})"),
                target,
                sizes.runs(3),
                || {
                    repo_number += 1;
                    let repo = root.join(format!("import-repo-{repo_number}"));
                    make_repo(&repo);
                    // Only the import itself counts, not setting the repository up.
                    let t = Instant::now();
                    run_vane(bin, &repo, &["import", &file_name])?;
                    Ok(t.elapsed())
                },
            ));
        }
        None => println!("  (no vane binary found next to the benchmark; skipping `vane import`)"),
    }
}

// ---------------------------------------------------------------------------------------------------
// Part 2: a database of 100,000 tasks and 1,000,000 events

/// Statuses as a long-running project has them: the oldest 62% of the epics done, the next 18% in
/// progress (half their tasks done, the rest pending, in progress, in review, blocked or sent back),
/// the newest 20% not started. Epics are marked done only in the finished part.
fn assign_statuses(tasks: &[GenTask], epics: usize, rng: &mut Rng) -> Vec<TaskStatus> {
    let done_below = epics * 62 / 100;
    let mixed_below = epics * 80 / 100;
    tasks
        .iter()
        .map(|t| {
            if t.epic < done_below {
                TaskStatus::Done
            } else if t.epic >= mixed_below || t.kind == TaskType::Epic {
                TaskStatus::Pending
            } else {
                match rng.below(100) {
                    0..=49 => TaskStatus::Done,
                    50..=79 => TaskStatus::Pending,
                    80..=84 => TaskStatus::InProgress,
                    85..=89 => TaskStatus::NeedsReview,
                    90..=94 => TaskStatus::Blocked,
                    _ => TaskStatus::NeedsImprovement,
                }
            }
        })
        .collect()
}

/// The library's own graph over the generated tasks: checks there is no cycle, and gives the
/// priorities vane would store and the ready set vane should compute.
fn analyse(tasks: &[GenTask], statuses: &[TaskStatus]) -> (Vec<u32>, Vec<TaskId>) {
    let id = |t: &GenTask| TaskId::new(t.id.clone()).expect("generated ids are valid");
    let nodes: Vec<Node> = tasks
        .iter()
        .zip(statuses)
        .enumerate()
        .map(|(i, (t, status))| Node {
            id: id(t),
            kind: t.kind,
            status: *status,
            complexity: t.complexity.map(|c| {
                Complexity::new(i64::from(c)).expect("generated complexities are 1 to 10")
            }),
            parent: t.parent.map(|p| id(&tasks[p])),
            age: i as i64 + 1,
        })
        .collect();
    let edges: Vec<(TaskId, TaskId)> = tasks
        .iter()
        .flat_map(|t| {
            t.deps
                .iter()
                .filter(|(_, kind)| *kind == DepKind::Blocks)
                .map(move |(d, _)| (id(t), id(&tasks[*d])))
        })
        .collect();
    let graph = Graph::new(nodes, edges).expect("the generated graph is consistent");
    assert!(
        graph.find_cycle().is_none(),
        "the generated graph has no cycle"
    );
    let priorities = graph.priorities().into_iter().map(|(_, p)| p).collect();
    (priorities, graph.ready())
}

/// The status changes a task went through to reach `status`.
fn status_path(status: TaskStatus, kind: TaskType) -> &'static [(TaskStatus, TaskStatus)] {
    use TaskStatus::*;
    if kind == TaskType::Epic {
        return match status {
            Pending => &[],
            _ => &[(Pending, Done)],
        };
    }
    match status {
        Pending => &[],
        InProgress => &[(Pending, InProgress)],
        NeedsReview => &[(Pending, InProgress), (InProgress, NeedsReview)],
        Blocked => &[(Pending, InProgress), (InProgress, Blocked)],
        NeedsImprovement => &[
            (Pending, InProgress),
            (InProgress, NeedsReview),
            (NeedsReview, NeedsImprovement),
        ],
        Done => &[
            (Pending, InProgress),
            (InProgress, NeedsReview),
            (NeedsReview, Done),
        ],
    }
}

/// One event of an agent's work on a task (what later parts of vane will write).
fn work_event(rng: &mut Rng, task: &str, attempt: usize) -> (&'static str, String) {
    match rng.below(10) {
        0 | 1 => (
            "attempt_started",
            json!({"attempt": attempt, "worker": format!("worker-{}", rng.below(8)), "profile": "claude"})
                .to_string(),
        ),
        2..=5 => (
            "agent_output",
            json!({"stream": "stdout", "text": format!("{task}: compiling step {} of 40", rng.below(40))})
                .to_string(),
        ),
        6 | 7 => (
            "gate_passed",
            json!({"gate": "test", "duration_ms": rng.below(90_000)}).to_string(),
        ),
        8 => (
            "gate_failed",
            json!({"gate": "clippy", "duration_ms": rng.below(30_000), "exit_code": 101}).to_string(),
        ),
        _ => (
            "attempt_finished",
            json!({"attempt": attempt, "exit_code": 0, "outcome": "changed"}).to_string(),
        ),
    }
}

struct Built {
    events: usize,
    /// The non-epic task with the most events, and how many.
    busiest: (usize, usize),
    tasks_time: Duration,
    events_time: Duration,
    commit_time: Duration,
    checkpoint_time: Duration,
}

/// Writes the tasks, their dependencies and `events_target` events straight into the database, in
/// one transaction, the way vane's own code would have left them.
fn fill_database(
    conn: &Connection,
    tasks: &[GenTask],
    statuses: &[TaskStatus],
    priorities: &[u32],
    events_target: usize,
    heavy_events: usize,
    rng: &mut Rng,
) -> Built {
    const DAY: i64 = 86_400_000;
    const IMPORTS: usize = 10;
    let n = tasks.len();
    conn.pragma_update(None, "synchronous", "OFF")
        .expect("synchronous can be turned off for the build");
    conn.pragma_update(None, "cache_size", -262_144)
        .expect("the build connection's cache can grow");
    let tx = conn
        .unchecked_transaction()
        .expect("the build transaction starts");
    let now = now_millis();
    let start = now - 90 * DAY;
    let work_start = start + 10 * DAY;
    let work_span = 79 * DAY;
    let batch_size = n.div_ceil(IMPORTS);
    let created_at = |i: usize| start + (i / batch_size) as i64 * DAY + i as i64;
    let worked_at = |i: usize| work_start + work_span * i as i64 / n as i64;

    let t0 = Instant::now();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO tasks (id, title, description, type, status, assigned_to, parent_id,
                    created_at, updated_at, started_at, completed_at, estimated_complexity,
                    actual_duration_seconds, run, agent, priority, block_reason, branch, base_sha,
                    head_sha, landed_sha)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                         ?18, ?19, ?20, ?21)",
            )
            .expect("the task insert prepares");
        for (i, t) in tasks.iter().enumerate() {
            let status = statuses[i];
            let worked = status != TaskStatus::Pending && t.kind != TaskType::Epic;
            let done = worked && status == TaskStatus::Done;
            let started = worked.then(|| worked_at(i));
            let completed = (status == TaskStatus::Done).then(|| worked_at(i) + 3_600_000);
            let duration = done.then(|| 60 + rng.below(3_600) as i64);
            let (base, head) = if worked {
                (Some(rng.sha()), Some(rng.sha()))
            } else {
                (None, None)
            };
            let landed = done.then(|| rng.sha());
            insert
                .execute(params![
                    t.id,
                    t.title,
                    t.description,
                    t.kind.as_str(),
                    status.as_str(),
                    (status == TaskStatus::InProgress).then(|| format!("worker-{}", i % 8)),
                    t.parent.map(|p| tasks[p].id.as_str()),
                    created_at(i),
                    completed.or(started).unwrap_or(created_at(i)),
                    started,
                    completed,
                    t.complexity,
                    duration,
                    t.run,
                    t.run.as_ref().map(|_| "shell"),
                    priorities[i],
                    (status == TaskStatus::Blocked).then_some("gate `test` failed on 3 attempts"),
                    worked.then(|| format!("vane/{}", t.id)),
                    base,
                    head,
                    landed,
                ])
                .expect("a generated task row inserts");
        }
        let mut insert = tx
            .prepare(
                "INSERT INTO task_dependencies (task_id, depends_on_task_id, dependency_type)
                 VALUES (?1, ?2, ?3)",
            )
            .expect("the dependency insert prepares");
        for t in tasks {
            for (d, kind) in &t.deps {
                insert
                    .execute(params![t.id, tasks[*d].id, kind.as_str()])
                    .expect("a generated dependency inserts");
            }
        }
    }
    let tasks_time = t0.elapsed();

    let t0 = Instant::now();
    let mut per_task = vec![0usize; n];
    let mut written: usize = tx
        .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
        .expect("events can be counted") as usize;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO events (timestamp, event_type, task_id, agent, data, correlation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .expect("the event insert prepares");
        let mut checkpoint = tx
            .prepare(
                "INSERT INTO checkpoints (timestamp, session_id, kind, task_id, git_sha, ref_name,
                                          state_snapshot)
                 VALUES (?1, ?2, 'merge', ?3, ?4, 'refs/vane/checkpoints/' || ?5, '{}')",
            )
            .expect("the checkpoint insert prepares");
        // Plan the work's events so that the log ends up with exactly `events_target`: each started
        // task gets its status changes and a random number of work events; the rest have no task.
        let worked: Vec<usize> = (0..n)
            .filter(|&i| statuses[i] != TaskStatus::Pending)
            .collect();
        let status_events: usize = worked
            .iter()
            .map(|&i| status_path(statuses[i], tasks[i].kind).len())
            .sum();
        let fillable = worked
            .iter()
            .filter(|&&i| tasks[i].kind != TaskType::Epic)
            .count();
        // Before the work: what is there already, one event per task created, one per import.
        let imports = (0..IMPORTS).filter(|b| b * batch_size < n).count();
        let remaining = events_target.saturating_sub(written + n + imports + status_events);
        let mean = remaining * 95 / 100 / fillable.max(1);
        let mut fillers: Vec<usize> = worked
            .iter()
            .map(|&i| {
                if tasks[i].kind == TaskType::Epic {
                    0
                } else {
                    rng.below(2 * mean + 1)
                }
            })
            .collect();
        // One task that went through many attempts, to see `task show` on a long history.
        if let Some(heavy) =
            (worked.len() / 2..worked.len()).find(|&k| tasks[worked[k]].kind != TaskType::Epic)
        {
            fillers[heavy] = heavy_events;
        }
        let mut sum: usize = fillers.iter().sum();
        for f in fillers.iter_mut().rev() {
            if sum <= remaining {
                break;
            }
            let cut = (*f).min(sum - remaining);
            *f -= cut;
            sum -= cut;
        }
        let untasked = remaining - sum;
        let mut put = |at: i64,
                       kind: &str,
                       task: Option<usize>,
                       actor: &str,
                       data: &str,
                       correlation: Option<&str>| {
            insert
                .execute(params![
                    at,
                    kind,
                    task.map(|i| tasks[i].id.as_str()),
                    actor,
                    data,
                    correlation
                ])
                .expect("a generated event inserts");
            if let Some(i) = task {
                per_task[i] += 1;
            }
            written += 1;
        };

        // The tasks arrived in a few imports.
        for b in 0..IMPORTS {
            let (lo, hi) = (b * batch_size, ((b + 1) * batch_size).min(n));
            if lo >= hi {
                break;
            }
            let correlation = format!("import-{:012x}", rng.next() & 0xffff_ffff_ffff);
            for i in lo..hi {
                let t = &tasks[i];
                let data = json!({
                    "title": t.title,
                    "type": t.kind,
                    "parent": t.parent.map(|p| tasks[p].id.as_str()),
                })
                .to_string();
                put(
                    created_at(i),
                    "task_created",
                    Some(i),
                    "person:bench",
                    &data,
                    Some(&correlation),
                );
            }
            let data = json!({
                "file": format!("roadmap-{b}.yaml"),
                "added": hi - lo, "updated": 0, "unchanged": 0, "kept": 0,
            })
            .to_string();
            put(
                created_at(hi - 1),
                "roadmap_imported",
                None,
                "person:bench",
                &data,
                Some(&correlation),
            );
        }

        // Then the work, four tasks at a time, their events interleaved as parallel workers write
        // them; between batches, events of vane's own (batches, checkpoints) with no task.
        let groups = worked.len().div_ceil(4).max(1);
        let step = (work_span / (status_events + remaining).max(1) as i64).max(1);
        let mut at = work_start;
        let mut checkpoints = 0usize;
        for (g, chunk) in worked.chunks(4).enumerate() {
            // (kind, task, actor, data, correlation) per task, in order.
            type Planned = (&'static str, usize, String, String, String);
            let mut lists: Vec<Vec<Planned>> = Vec::with_capacity(chunk.len());
            for (k, &i) in chunk.iter().enumerate() {
                let t = &tasks[i];
                let path = status_path(statuses[i], t.kind);
                let worker = format!("worker-{}", rng.below(8));
                let correlation = format!("run-{}-{:08x}", t.id, rng.next() as u32);
                let change = |(from, to): (TaskStatus, TaskStatus)| {
                    let reason = match to {
                        TaskStatus::Blocked => Some("gate `test` failed on 3 attempts"),
                        TaskStatus::NeedsImprovement => Some("the reviewer asked for tests"),
                        _ => None,
                    };
                    json!({"from": from, "to": to, "by": "work loop", "reason": reason}).to_string()
                };
                let mut list = Vec::new();
                if let Some(&first) = path.first() {
                    list.push((
                        "status_changed",
                        i,
                        worker.clone(),
                        change(first),
                        correlation.clone(),
                    ));
                }
                let mut attempt = 1;
                for _ in 0..fillers[g * 4 + k] {
                    let (kind, data) = work_event(rng, &t.id, attempt);
                    if kind == "attempt_finished" {
                        attempt += 1;
                    }
                    list.push((kind, i, worker.clone(), data, correlation.clone()));
                }
                for &rest in path.iter().skip(1) {
                    list.push((
                        "status_changed",
                        i,
                        worker.clone(),
                        change(rest),
                        correlation.clone(),
                    ));
                }
                lists.push(list);
            }
            let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
            for j in 0..longest {
                for list in &lists {
                    if let Some((kind, task, actor, data, correlation)) = list.get(j) {
                        put(at, kind, Some(*task), actor, data, Some(correlation));
                        at += step;
                    }
                }
            }
            let own = untasked * (g + 1) / groups - untasked * g / groups;
            for m in 0..own {
                if m % 3 == 2 {
                    checkpoints += 1;
                    let sha = rng.sha();
                    checkpoint
                        .execute(params![
                            at,
                            "batch-bench",
                            tasks[chunk[0]].id,
                            sha,
                            checkpoints
                        ])
                        .expect("a generated checkpoint inserts");
                    let data =
                        json!({"checkpoint": checkpoints, "kind": "merge", "sha": sha}).to_string();
                    put(at, "checkpoint_created", None, "vane", &data, None);
                } else {
                    let data = json!({"workers": 4, "tasks": chunk.len()}).to_string();
                    put(at, "batch_started", None, "vane", &data, None);
                }
                at += step;
            }
        }
    }
    let events_time = t0.elapsed();

    let t0 = Instant::now();
    tx.commit().expect("the build transaction commits");
    let commit_time = t0.elapsed();
    let t0 = Instant::now();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("the write-ahead log can be checkpointed");
    let checkpoint_time = t0.elapsed();

    let busiest = per_task
        .iter()
        .enumerate()
        .filter(|(i, _)| tasks[*i].kind != TaskType::Epic)
        .max_by_key(|(_, count)| **count)
        .map_or((0, 0), |(i, count)| (i, *count));
    Built {
        events: written,
        busiest,
        tasks_time,
        events_time,
        commit_time,
        checkpoint_time,
    }
}

fn scale_bench(sizes: &Sizes, root: &Path, bin: Option<&Path>, rows: &mut Vec<Row>) {
    let n = sizes.scale_tasks();
    println!(
        "\n== scale: a database of {n} tasks and {} events",
        sizes.events
    );
    let repo = root.join("scale");
    make_repo(&repo);

    let build_started = Instant::now();
    let mut rng = Rng(0x5ca1_ab1e);
    let tasks = generate(sizes.scale_epics, sizes.tasks_per_epic, &mut rng);
    let statuses = assign_statuses(&tasks, sizes.scale_epics, &mut rng);
    let (priorities, expected_ready) = analyse(&tasks, &statuses);
    let generated = build_started.elapsed();
    let workspace = Workspace::open(&repo).expect("the scale repository opens");
    let db_path = workspace.store.path().to_path_buf();
    let built = fill_database(
        workspace.store.raw_connection(),
        &tasks,
        &statuses,
        &priorities,
        sizes.events,
        sizes.heavy_events,
        &mut rng,
    );
    drop(workspace);
    let db_size = std::fs::metadata(&db_path).map_or(0, |m| m.len());
    println!(
        "  built in {:.1} s: generate + priorities {:.1} s, tasks + dependencies {:.1} s, \
         events {:.1} s, commit {:.1} s, checkpoint {:.1} s; database {} MiB",
        build_started.elapsed().as_secs_f64(),
        generated.as_secs_f64(),
        built.tasks_time.as_secs_f64(),
        built.events_time.as_secs_f64(),
        built.commit_time.as_secs_f64(),
        built.checkpoint_time.as_secs_f64(),
        db_size / (1024 * 1024)
    );
    println!(
        "  {} tasks, {} blocks / {} related / {} suggested dependencies, {} events",
        tasks.len(),
        count_deps(&tasks, DepKind::Blocks),
        count_deps(&tasks, DepKind::Related),
        count_deps(&tasks, DepKind::Suggested),
        built.events
    );

    let workspace = Workspace::open(&repo).expect("the scale repository opens");
    let store = &workspace.store;
    let summary = store
        .status_summary(10)
        .expect("the status summary of the big database");
    let counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(s, c)| format!("{s} {c} ({:.1}%)", *c as f64 * 100.0 / n as f64))
        .collect();
    println!("  statuses: {}", counts.join(", "));
    let ready = store
        .ready_tasks()
        .expect("the ready set of the big database");
    println!(
        "  ready set: {} tasks; the library's graph says {}{}",
        ready.len(),
        expected_ready.len(),
        if ready == expected_ready {
            ", the same list"
        } else {
            " -- WARNING: the store and the graph disagree"
        }
    );

    // Tasks to show: a pending task with dependencies and dependents, an epic, the busiest task.
    let mut dependents = vec![0usize; tasks.len()];
    for t in &tasks {
        for (d, _) in &t.deps {
            dependents[*d] += 1;
        }
    }
    let pending = (tasks.len() * 85 / 100..tasks.len())
        .chain(0..tasks.len())
        .find(|&i| {
            let t = &tasks[i];
            statuses[i] == TaskStatus::Pending
                && t.kind != TaskType::Epic
                && t.deps.len() >= 3
                && dependents[i] > 0
        })
        .expect("some pending task has dependencies and dependents");
    let epic = tasks
        .iter()
        .position(|t| t.kind == TaskType::Epic && t.epic == sizes.scale_epics * 70 / 100)
        .expect("the epic exists");
    let (busiest, busiest_events) = built.busiest;
    let picks = [
        (
            pending,
            format!(
                "{}, pending, {} deps, {} dependents",
                tasks[pending].id,
                tasks[pending].deps.len(),
                dependents[pending]
            ),
        ),
        (
            epic,
            format!(
                "{}, epic, {} children",
                tasks[epic].id, sizes.tasks_per_epic
            ),
        ),
        (
            busiest,
            format!(
                "{}, {}, {busiest_events} events",
                tasks[busiest].id, statuses[busiest]
            ),
        ),
    ];

    println!("  in-process (one open store, reused):");
    let err = |e: vane::store::StoreError| e.to_string();
    rows.push(measure(
        "Workspace::open (discover repo, open db)",
        None,
        sizes.runs(10),
        || {
            black_box(Workspace::open(&repo).map_err(|e| e.to_string())?);
            Ok(())
        },
    ));
    rows.push(measure(
        "store.status_summary(10)",
        Some(Duration::from_millis(100)),
        sizes.runs(10),
        || {
            black_box(store.status_summary(10).map_err(err)?);
            Ok(())
        },
    ));
    for (i, label) in &picks {
        let id = TaskId::new(tasks[*i].id.clone()).expect("generated ids are valid");
        rows.push(measure(
            format!("store.task_detail({label})"),
            Some(Duration::from_millis(20)),
            sizes.runs(20),
            || {
                black_box(store.task_detail(&id).map_err(err)?);
                Ok(())
            },
        ));
    }
    rows.push(measure(
        "store.ready_tasks()",
        Some(Duration::from_millis(50)),
        sizes.runs(10),
        || {
            black_box(store.ready_tasks().map_err(err)?);
            Ok(())
        },
    ));
    rows.push(measure(
        "store.tasks(pending) (also in `task list --ready`)",
        None,
        sizes.runs(10),
        || {
            let filter = vane::store::TaskFilter {
                statuses: vec![TaskStatus::Pending],
                parent: None,
            };
            black_box(store.tasks(&filter).map_err(err)?);
            Ok(())
        },
    ));
    drop(workspace);

    let Some(bin) = bin else {
        println!("  (no vane binary found next to the benchmark; skipping the end-to-end runs)");
        return;
    };
    println!("  end to end, `{} -C <repo> ...`:", bin.display());
    rows.push(measure(
        "`vane --version` (process start only)",
        None,
        sizes.runs(10),
        || run_vane(bin, &repo, &["--version"]),
    ));
    rows.push(measure(
        "`vane status`",
        Some(Duration::from_millis(100)),
        sizes.runs(10),
        || run_vane(bin, &repo, &["status"]),
    ));
    for (i, label) in &picks {
        rows.push(measure(
            format!("`vane task show` ({label})"),
            Some(Duration::from_millis(20)),
            sizes.runs(10),
            || run_vane(bin, &repo, &["task", "show", &tasks[*i].id]),
        ));
    }
    rows.push(measure(
        "`vane task list --ready`",
        Some(Duration::from_millis(50)),
        sizes.runs(10),
        || run_vane(bin, &repo, &["task", "list", "--ready"]),
    ));
    // No target in an issue: measured so that a scrape's cost on a big log is known.
    rows.push(measure(
        "`vane metrics` (one scrape)",
        None,
        sizes.runs(5),
        || run_vane(bin, &repo, &["metrics"]),
    ));
    rows.push(measure(
        "`vane report --since 30d`",
        None,
        sizes.runs(5),
        || run_vane(bin, &repo, &["report", "--since", "30d"]),
    ));
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
    let bin = vane_binary();
    println!(
        "vane scale benchmark ({}): import {} tasks; database of {} tasks and {} events; {} cores",
        match mode {
            Mode::Full => "full sizes",
            Mode::Quick => "quick: a tenth of the sizes",
            Mode::Smoke => "smoke run as a test: a tenth of the sizes, few repetitions",
        },
        sizes.import_tasks(),
        sizes.scale_tasks(),
        sizes.events,
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    match &bin {
        Some(bin) => println!("binary: {}", bin.display()),
        None => println!("binary: not found; the end-to-end runs are skipped"),
    }
    let dir = tempfile::Builder::new()
        .prefix("vane-bench-")
        .tempdir()
        .expect("a temporary directory");
    let mut rows = Vec::new();
    import_bench(&sizes, dir.path(), bin.as_deref(), &mut rows);
    scale_bench(&sizes, dir.path(), bin.as_deref(), &mut rows);
    if std::env::var("VANE_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0") {
        println!(
            "\nkept the repositories and databases in {} (VANE_BENCH_KEEP)",
            dir.keep().display()
        );
    }
    if mode != Mode::Full {
        println!("\nNOTE: not the full sizes; the targets are for the full sizes.");
    }
    print_table(&rows);
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}
