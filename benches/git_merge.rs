//! Git benchmark: which in-memory merge the merge queue should use, and what keeping worktrees
//! between tasks saves.
//!
//! - Merging two branches that each change a few files, on a big repository (20,000 files) and a
//!   tiny one (10 files): `Git::merge_in_memory` (the git CLI's `merge-tree --write-tree` and
//!   `commit-tree`, two processes) against libgit2 in-process (`merge_commits`, `write_tree_to`,
//!   `commit`). Measured elsewhere on a 57,000-file repository: 8 ms against 286 ms; on a tiny one
//!   libgit2 wins (3.5 ms).
//! - On the big repository: a fresh worktree (`ensure_worktree`, i.e. `git worktree add`) against
//!   pointing a kept one at a new task (`start_task_branch`), plus `checkout_detached` and
//!   `remove_worktree`.
//!
//! The benchmark reports; it never fails because something is slow.
//!
//! Run with `cargo bench --bench git_merge`. `VANE_BENCH_QUICK=1` (or `-- --quick`) uses 2,000 files.
//! When cargo runs the program as a test (`cargo test --benches` or `--all-targets`, which pass no
//! `--bench` flag) it does a smoke run: 2,000 files, two repetitions of each operation.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vane::git::{Git, MergeOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Quick,
    /// Run as a test: small and as few repetitions as possible.
    Smoke,
}

struct Settings {
    mode: Mode,
    big_files: usize,
    tiny_files: usize,
    /// Files each side of a merge changes.
    changed: usize,
}

impl Settings {
    fn from_args() -> Settings {
        let args: Vec<String> = std::env::args().collect();
        let quick = std::env::var_os("VANE_BENCH_QUICK").is_some_and(|v| v != "0")
            || args.iter().any(|a| a == "--quick");
        let mode = if !args.iter().any(|a| a == "--bench") {
            Mode::Smoke
        } else if quick {
            Mode::Quick
        } else {
            Mode::Full
        };
        Settings {
            mode,
            big_files: if mode == Mode::Full { 20_000 } else { 2_000 },
            tiny_files: 10,
            changed: 5,
        }
    }

    fn runs(&self, wanted: usize) -> usize {
        if self.mode == Mode::Smoke {
            wanted.min(2)
        } else {
            wanted
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Repositories

/// Runs git in `dir`; panics on failure (the benchmark cannot go on without its repository).
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn file_path(i: usize) -> String {
    // 100 files a directory, two levels deep, like a source tree.
    format!("src/m{:02}/d{:03}/f{i:05}.rs", i / 2_000, (i / 100) % 20)
}

fn file_content(i: usize, version: &str) -> String {
    let mut s = String::new();
    for line in 0..12 {
        s.push_str(&format!("// file {i}, line {line}: {version}\n"));
    }
    s
}

/// A repository at `dir` with `files` files on `main`, and branches `ours` and `theirs` off it each
/// changing `changed` different files. Built with `git fast-import`, which is quick and needs no
/// working tree. Returns the tips of `ours` and `theirs`.
fn build_repository(dir: &Path, files: usize, changed: usize) -> (String, String) {
    std::fs::create_dir_all(dir).expect("create repository dir");
    git(dir, &["init", "-q", "-b", "main"]);
    let mut stream = Vec::new();
    let mut commit =
        |branch: &str, from: Option<&str>, message: &str, changes: &[(usize, &str)]| {
            writeln!(stream, "commit refs/heads/{branch}").expect("write");
            writeln!(
                stream,
                "committer Bench <bench@example.com> 1700000000 +0000"
            )
            .expect("write");
            writeln!(stream, "data {}\n{message}", message.len()).expect("write");
            if let Some(from) = from {
                writeln!(stream, "from refs/heads/{from}").expect("write");
            }
            for (i, version) in changes {
                let content = file_content(*i, version);
                writeln!(stream, "M 100644 inline {}", file_path(*i)).expect("write");
                writeln!(stream, "data {}\n{content}", content.len()).expect("write");
            }
        };
    let all: Vec<(usize, &str)> = (0..files).map(|i| (i, "base")).collect();
    commit("main", None, "Base", &all);
    // Spread over the tree, and disjoint, so that the merge is clean.
    let stride = (files / (2 * changed)).max(1);
    let ours: Vec<(usize, &str)> = (0..changed).map(|k| (2 * k * stride, "ours")).collect();
    let theirs: Vec<(usize, &str)> = (0..changed)
        .map(|k| ((2 * k + 1) * stride, "theirs"))
        .collect();
    commit("ours", Some("main"), "Ours", &ours);
    commit("theirs", Some("main"), "Theirs", &theirs);

    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&stream)
        .expect("feed fast-import");
    assert!(child.wait().expect("fast-import ends").success());
    // Give the main checkout its files, as in a real clone.
    git(dir, &["reset", "-q", "--hard", "main"]);
    (
        git(dir, &["rev-parse", "ours"]),
        git(dir, &["rev-parse", "theirs"]),
    )
}

// ---------------------------------------------------------------------------------------------------
// Measuring

struct Row {
    op: String,
    repo: String,
    samples: Vec<Duration>,
}

impl Row {
    fn min(&self) -> Duration {
        self.samples.iter().copied().min().unwrap_or_default()
    }

    fn median(&self) -> Duration {
        let mut s = self.samples.clone();
        s.sort_unstable();
        match s.len() {
            0 => Duration::ZERO,
            n if n % 2 == 1 => s[n / 2],
            n => (s[n / 2 - 1] + s[n / 2]) / 2,
        }
    }
}

fn measure(op: &str, repo: &str, runs: usize, mut f: impl FnMut(usize)) -> Row {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i);
        samples.push(start.elapsed());
    }
    let row = Row {
        op: op.to_string(),
        repo: repo.to_string(),
        samples,
    };
    eprintln!(
        "  {:<44} {:<14} min {:>9} ms  median {:>9} ms",
        row.op,
        row.repo,
        ms(row.min()),
        ms(row.median())
    );
    row
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1_000.0)
}

// ---------------------------------------------------------------------------------------------------
// The two merges

fn merge_cli(git: &Git, ours: &str, theirs: &str) -> String {
    match git
        .merge_in_memory(ours, theirs, "Land theirs")
        .expect("merge_in_memory")
    {
        MergeOutcome::Merged { tree, .. } => tree,
        MergeOutcome::Conflict { paths } => panic!("unexpected conflict in {paths:?}"),
    }
}

fn merge_libgit2(repo: &git2::Repository, ours: &str, theirs: &str) -> String {
    let ours = repo
        .find_commit(git2::Oid::from_str(ours).expect("oid"))
        .expect("ours");
    let theirs = repo
        .find_commit(git2::Oid::from_str(theirs).expect("oid"))
        .expect("theirs");
    let mut index = repo
        .merge_commits(&ours, &theirs, None)
        .expect("merge_commits");
    assert!(!index.has_conflicts(), "unexpected conflict");
    let tree = index.write_tree_to(repo).expect("write_tree_to");
    let tree = repo.find_tree(tree).expect("tree");
    let signature = git2::Signature::now("vane", "vane@localhost").expect("signature");
    repo.commit(
        None,
        &signature,
        &signature,
        "Land theirs",
        &tree,
        &[&ours, &theirs],
    )
    .expect("commit");
    tree.id().to_string()
}

fn bench_merges(label: &str, dir: &Path, ours: &str, theirs: &str, runs: usize) -> (Row, Row) {
    let git = Git::open(dir).expect("open with the CLI");
    let repo = git2::Repository::open(dir).expect("open with libgit2");
    let cli_tree = merge_cli(&git, ours, theirs);
    let libgit2_tree = merge_libgit2(&repo, ours, theirs);
    if cli_tree != libgit2_tree {
        eprintln!("  NOTE: the two merges gave different trees ({cli_tree} vs {libgit2_tree})");
    }
    let cli = measure(
        "merge_in_memory (merge-tree + commit-tree)",
        label,
        runs,
        |_| {
            std::hint::black_box(merge_cli(&git, ours, theirs));
        },
    );
    let libgit2 = measure(
        "libgit2 merge_commits + write_tree + commit",
        label,
        runs,
        |_| {
            std::hint::black_box(merge_libgit2(&repo, ours, theirs));
        },
    );
    (cli, libgit2)
}

// ---------------------------------------------------------------------------------------------------

fn main() {
    let settings = Settings::from_args();
    // The figures should not depend on the person's git config (hooks, fsmonitor, signing), and
    // fast-import and the test commits need an identity. Set before any thread starts.
    for (key, value) in [
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_AUTHOR_NAME", "Bench"),
        ("GIT_AUTHOR_EMAIL", "bench@example.com"),
        ("GIT_COMMITTER_NAME", "Bench"),
        ("GIT_COMMITTER_EMAIL", "bench@example.com"),
    ] {
        std::env::set_var(key, value);
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical tempdir");
    let version = git(&root, &["--version"]);
    eprintln!(
        "git merge benchmark ({:?} mode, {version}, big repository {} files, tiny {} files, {} files changed each side)",
        settings.mode, settings.big_files, settings.tiny_files, settings.changed
    );

    let big = root.join("big");
    let tiny = root.join("tiny");
    let started = Instant::now();
    let (big_ours, big_theirs) = build_repository(&big, settings.big_files, settings.changed);
    let (tiny_ours, tiny_theirs) = build_repository(&tiny, settings.tiny_files, settings.changed);
    eprintln!("  built the repositories in {} ms", ms(started.elapsed()));

    let big_label = format!("{} files", settings.big_files);
    let tiny_label = format!("{} files", settings.tiny_files);
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    for (label, dir, ours, theirs, runs) in [
        (&big_label, &big, &big_ours, &big_theirs, settings.runs(21)),
        (
            &tiny_label,
            &tiny,
            &tiny_ours,
            &tiny_theirs,
            settings.runs(51),
        ),
    ] {
        let (cli, libgit2) = bench_merges(label, dir, ours, theirs, runs);
        let (a, b) = (cli.median().as_secs_f64(), libgit2.median().as_secs_f64());
        let verdict = if a <= b {
            format!(
                "{label}: git CLI wins, {:.1}x faster (median)",
                b / a.max(1e-9)
            )
        } else {
            format!(
                "{label}: libgit2 wins, {:.1}x faster (median)",
                a / b.max(1e-9)
            )
        };
        verdicts.push(verdict);
        rows.push(cli);
        rows.push(libgit2);
    }

    // Worktrees on the big repository.
    let git = Git::open(&big).expect("open");
    let fresh_runs = settings.runs(3);
    let mut fresh = Vec::new();
    let mut removals = Vec::new();
    for i in 0..fresh_runs {
        let path = root.join(format!("fresh-{i}"));
        let start = Instant::now();
        assert!(git.ensure_worktree(&path, "main").expect("ensure_worktree"));
        fresh.push(start.elapsed());
        let start = Instant::now();
        git.remove_worktree(&path).expect("remove_worktree");
        removals.push(start.elapsed());
    }
    for (op, samples) in [
        ("ensure_worktree, fresh (worktree add)", fresh),
        ("remove_worktree", removals),
    ] {
        let row = Row {
            op: op.to_string(),
            repo: big_label.clone(),
            samples,
        };
        eprintln!(
            "  {:<44} {:<14} median {:>9} ms",
            row.op,
            row.repo,
            ms(row.median())
        );
        rows.push(row);
    }
    let kept = root.join("kept");
    git.ensure_worktree(&kept, "main").expect("ensure_worktree");
    let bases = [&big_ours, &big_theirs];
    rows.push(measure(
        "start_task_branch, kept worktree",
        &big_label,
        settings.runs(11),
        |i| {
            let saved = git
                .start_task_branch(&kept, &format!("vane/bench-{i}"), bases[i % 2])
                .expect("start_task_branch");
            std::hint::black_box(saved);
        },
    ));
    let merged = match git
        .merge_in_memory(&big_ours, &big_theirs, "Land theirs")
        .expect("merge")
    {
        MergeOutcome::Merged { commit, .. } => commit,
        MergeOutcome::Conflict { paths } => panic!("unexpected conflict in {paths:?}"),
    };
    rows.push(measure(
        "checkout_detached, kept worktree",
        &big_label,
        settings.runs(11),
        |i| {
            let target = if i % 2 == 0 { &merged } else { &big_ours };
            git.checkout_detached(&kept, target)
                .expect("checkout_detached");
        },
    ));
    git.remove_worktree(&kept).expect("remove kept worktree");

    println!();
    println!(
        "{:<46} {:<14} {:>5} {:>10} {:>10}",
        "operation", "repository", "runs", "min ms", "median ms"
    );
    for row in &rows {
        println!(
            "{:<46} {:<14} {:>5} {:>10} {:>10}",
            row.op,
            row.repo,
            row.samples.len(),
            ms(row.min()),
            ms(row.median())
        );
    }
    println!();
    for verdict in verdicts {
        println!("{verdict}");
    }
    println!(
        "total {} s",
        (started.elapsed().as_secs_f64() * 10.0).round() / 10.0
    );
}
