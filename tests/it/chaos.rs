//! Crash safety under random `kill -9`: a batch of tasks with dependencies, three workers, agents
//! and a gate that take a few steps each, and `vane work` killed at random moments and resumed, over
//! and over; then the batch runs to the end and every promise is checked.
//!
//! Two tests share the machinery, each a [`Scenario`]:
//!
//! - `random_kills_never_break_a_promise`: vane.toml's defaults for the merge queue (candidates
//!   gated speculatively, `merge_window = 8`, one candidate per landing), and every agent correct:
//!   no attempt may fail.
//! - `random_kills_with_batches_failures_and_conflicts`: `batch = 3` and `merge_window = 4`, and a
//!   graph with trouble in it (see [`Role`]). Tasks that leave a file the gate refuses until one of
//!   their attempts was refused for it (their prompt lists the earlier attempts' outcomes, which a
//!   kill does not change), so that batches and the speculative trees behind them fail and are
//!   split down to the culprit; and pairs of tasks that each add a line to the same file, with no
//!   paths declared, so that the one landing second conflicts and its next attempt starts from the
//!   merge with the markers in place, which its agent drops. Exactly those failures are accepted:
//!   `gate_failed` exactly once for each such task (for its own file, not another candidate's),
//!   `conflict` at most once in each pair (and in some pair at all); the attempt after a conflict
//!   must land the merge of the conflicting work with base, and the shared file must hold both
//!   lines once each and no marker.
//!
//! Only the kill times are random; the task graphs are always the same. The seed is printed at
//! the start, so a failure replays with the same kill times:
//!
//! ```text
//! VANE_CHAOS_SEED=<seed> VANE_CHAOS_KILLS=30 cargo test --test it random_kills_never -- --nocapture
//! VANE_CHAOS_SEED=<seed> VANE_CHAOS_KILLS=30 cargo test --test it random_kills_with -- --nocapture
//! ```
//!
//! - `VANE_CHAOS_KILLS`: how many times `vane work` is killed, in either test (default 100 for the
//!   first, 40 for the second).
//! - `VANE_CHAOS_SEED`: the seed of the kill times (default: from the clock).
//! - `VANE_CHAOS_MAX_DELAY_MS`: the longest time a run lives before it is killed (default 700: a
//!   bit more than a debug vane's start-up, recovery and one task through its agent and the gate).
//! - `VANE_CHAOS_GROUP_PERCENT`: the share of kills that hit vane's whole process group (vane and
//!   the git commands it runs, like `kill -9 -<pgid>`) rather than vane alone (default 50).
//!
//! When the batch has landed entirely before the kills are used up, the next round of the same
//! graph (ids moved along by [`ROUND`]) is imported, so that every kill hits a batch at work. When
//! `vane work` ends by itself the same way [`REFUSALS_TO_GIVE_UP`] times in a row, it is stuck, and
//! the kill phase ends early. Then `vane work` runs to the end, and the checks follow: every task
//! done and landed exactly once and whole, no attempt failed but those the scenario means to fail,
//! no attempt a kill ended charged to its task, the event log explains every status, database and
//! git agree, the person's checkout is clean and on main, `git fsck` is clean, no process of the
//! test is left (nor ran beside a recovered run), and `vane doctor` passes. Every problem found is
//! reported, not only the first.
//!
//! The long run, on the release build (both tests):
//!
//! ```text
//! VANE_CHAOS_KILLS=1000 cargo test --release --test it chaos -- --nocapture
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::TestEnv;

/// Tasks in one round of the graph.
const ROUND: usize = 60;
/// How long the runs after the kills may take each before they count as hung.
const FINAL_RUN_LIMIT: Duration = Duration::from_secs(180);
/// How many runs after the kills may be needed to finish the batch.
const FINAL_RUNS: usize = 4;
/// After this many runs in a row that failed by themselves the same way, `vane work` is taken to
/// refuse for good, and the kill phase ends.
const REFUSALS_TO_GIVE_UP: usize = 10;

/// splitmix64: tiny, good enough to pick kill times, and replayable from its seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number")),
    )
}

fn task_id(n: usize) -> String {
    format!("c{n}")
}

/// What task `n`'s file holds once its agent finished.
fn whole_content(n: usize) -> String {
    let id = task_id(n);
    format!("{id} part 1\n{id} part 2\n{id} part 3 end\n")
}

/// What a test of the kill machinery puts vane through.
struct Scenario {
    /// Its name in what the test prints.
    name: &'static str,
    /// How many kills when `VANE_CHAOS_KILLS` is not set.
    default_kills: u64,
    /// vane.toml's lines for the merge queue.
    settings: &'static str,
    /// Whether the graph holds tasks that fail the gate once and pairs of tasks that conflict
    /// (see [`Role`]); without, every task is [`Role::Plain`].
    troubled: bool,
    /// Whether the attempts run on remote workers (`--executor local`: `vane worker` processes,
    /// which outlive a killed coordinator and push their results for the next run to collect).
    remote: bool,
}

/// vane.toml's defaults, every agent correct.
const DEFAULTS: Scenario = Scenario {
    name: "defaults",
    default_kills: 100,
    settings: "",
    troubled: false,
    remote: false,
};

/// vane.toml's defaults, every attempt on a remote worker of the built-in `local` executor.
const REMOTE: Scenario = Scenario {
    name: "remote",
    default_kills: 40,
    settings: "",
    troubled: false,
    remote: true,
};

/// Batches of three, a smaller window, gate failures and conflicts.
const TROUBLED: Scenario = Scenario {
    name: "batches",
    default_kills: 40,
    settings: "batch = 3\nmerge_window = 4\n",
    troubled: true,
    remote: false,
};

/// What a task does besides writing its file in three steps, by its place `k` in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Nothing more: its first attempt lands.
    Plain,
    /// Also leaves `c<n>.reject`, which the gate refuses, until one of its attempts was refused for
    /// it: its prompt lists the earlier attempts with their outcomes, which vane keeps (an attempt
    /// a kill ended gets a number, but no outcome of the gate). So it fails the gate exactly once,
    /// with every batch and speculative tree that holds it; the next attempt (from base) lands.
    FailsOnce,
    /// Adds its line to `s<m>.txt`, where `m` is the first task of its pair (the pairs are `k`
    /// and `k + 1` for `k` in [`PAIRS`]); the other adds its own, no paths declared, so the one
    /// that lands second conflicts. Where the file holds conflict markers (an attempt resumed from
    /// the merge), its agent drops them first, keeping both lines.
    Shares { first: usize },
}

/// The places in a round of the tasks that fail the gate once (none is in a pair). Most are among
/// the first tasks started, so that a short kill phase hits them too; 3 also holds back the chain
/// 51..55.
const FAILS_ONCE: [usize; 5] = [3, 8, 13, 29, 53];
/// The first places of the pairs of tasks that share a file: each with the task after it, both
/// ready at once (neither waits for anything).
const PAIRS: [usize; 5] = [1, 6, 11, 23, 42];

/// The role of task `n` (numbered across rounds).
fn role_of(n: usize, troubled: bool) -> Role {
    if !troubled {
        return Role::Plain;
    }
    let offset = (n - 1) / ROUND * ROUND;
    let k = n - offset;
    if FAILS_ONCE.contains(&k) {
        Role::FailsOnce
    } else if let Some(first) = PAIRS.iter().find(|&&f| k == f || k == f + 1) {
        Role::Shares {
            first: offset + first,
        }
    } else {
        Role::Plain
    }
}

/// The file the tasks of the pair whose first task is `first` share.
fn shared_file(first: usize) -> String {
    format!("s{first}.txt")
}

/// The line task `n` adds to the file it shares.
fn shared_line(n: usize) -> String {
    format!("{} was here", task_id(n))
}

/// The agent of task `n`: writes its file in three steps with short sleeps between, so that kills
/// land in the middle of it; and what its role adds.
fn agent_command(n: usize, role: Role) -> String {
    let id = task_id(n);
    let first = 20 + (n % 3) * 20;
    let second = 30 + (n % 4) * 15;
    let shares = match role {
        Role::Shares { first } => {
            let file = shared_file(first);
            let line = shared_line(n);
            // Drops the markers a merge left (keeping both sides' lines), then adds its own line
            // unless it is there already.
            format!(
                "if grep -q '^<<<<<<< ' {file} 2>/dev/null; then \
                   grep -v -e '^<<<<<<< ' -e '^=======$' -e '^>>>>>>> ' -e '^||||||| ' \
                     {file} > {file}.tmp; \
                   mv {file}.tmp {file}; \
                 fi; \
                 grep -qxF '{line}' {file} 2>/dev/null || printf '{line}\\n' >> {file}; "
            )
        }
        _ => String::new(),
    };
    // Its prompt's `- Attempt N (gate failed): ...` line (see `prompt::build`) says it was refused.
    let fails = match role {
        Role::FailsOnce => format!(
            "; grep -q '^- Attempt [0-9]* (gate failed): ' \"$VANE_PROMPT_FILE\" || \
             printf '{id} fails the gate once\\n' > {id}.reject"
        ),
        _ => String::new(),
    };
    format!(
        "printf '{id} part 1\\n' > {id}.txt; sleep 0.{first:03}; \
         printf '{id} part 2\\n' >> {id}.txt; {shares}sleep 0.{second:03}; \
         printf '{id} part 3 end\\n' >> {id}.txt{fails}"
    )
}

/// The gate: every `c*.txt` in the candidate holds all three parts, in order, and nothing more,
/// and there is no `*.reject` (what a [`Role::FailsOnce`] task leaves until it was refused); then a
/// short sleep so that kills land while gating too. Shell builtins only, so that it stays quick
/// when many rounds of files have landed.
const GATE: &str = r#"for f in c*.txt; do
  [ -e "$f" ] || continue
  n=${f%.txt}
  a= b= c= d=
  { IFS= read -r a; IFS= read -r b; IFS= read -r c; IFS= read -r d; } < "$f"
  if [ "$a" != "$n part 1" ] || [ "$b" != "$n part 2" ] || [ "$c" != "$n part 3 end" ] || [ -n "$d" ]; then
    echo "$f is not whole:"; cat "$f"; exit 1
  fi
done
for f in *.reject; do
  [ -e "$f" ] || continue
  echo "$f: rejected on purpose"; exit 1
done
sleep 0.05"#;

/// What the gate prints about the file task `id`'s failing attempt leaves.
fn rejected_on_purpose(id: &str) -> String {
    format!("{id}.reject: rejected on purpose")
}

/// The blocking dependencies of the `k`-th task of a round (1-based); the same in every round.
/// Every fifth task waits for the one before it; 51..55 is a chain hanging off 3, and 56..60 one
/// hanging off 20 (which waits for 19).
fn deps_in_round(k: usize) -> Vec<usize> {
    match k {
        51 => vec![3],
        56 => vec![20],
        52..=55 | 57..=60 => vec![k - 1],
        k if k % 5 == 0 => vec![k - 1],
        _ => vec![],
    }
}

/// Round `round` (0-based) of the graph as a JSON roadmap.
fn roadmap(round: usize, troubled: bool) -> String {
    let offset = round * ROUND;
    let tasks: Vec<Value> = (1..=ROUND)
        .map(|k| {
            let n = offset + k;
            let deps: Vec<String> = deps_in_round(k)
                .into_iter()
                .map(|d| task_id(offset + d))
                .collect();
            json!({
                "id": task_id(n),
                "title": format!("Write {}.txt in three steps", task_id(n)),
                "run": agent_command(n, role_of(n, troubled)),
                "deps": deps,
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "tasks": tasks })).unwrap()
}

fn import_round(env: &TestEnv, round: usize, troubled: bool) {
    let path = env.root.join(format!("roadmap-{round}.json"));
    std::fs::write(&path, roadmap(round, troubled)).unwrap();
    env.vane(&["import", path.to_str().unwrap()]).success();
}

/// A process of this test's environment, read from /proc.
#[derive(Debug, Clone)]
struct Proc {
    pid: i32,
    ppid: i32,
    cmdline: String,
    task: Option<String>,
    cwd: Option<PathBuf>,
}

impl std::fmt::Display for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} (ppid {}) task {} cwd {} `{}`",
            self.pid,
            self.ppid,
            self.task.as_deref().unwrap_or("-"),
            self.cwd
                .as_ref()
                .map_or("?".to_string(), |c| c.display().to_string()),
            one_line(&self.cmdline, 120)
        )
    }
}

/// Every live process started with this test's HOME (vane, its agents, gates, git), or running in
/// a directory under the test's root.
fn test_processes(env: &TestEnv) -> Vec<Proc> {
    let home = format!("HOME={}", env.home.display()).into_bytes();
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = entry.path();
        let environ = std::fs::read(dir.join("environ")).unwrap_or_default();
        let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
        let cwd = std::fs::read_link(dir.join("cwd")).ok();
        let ours = vars.contains(&home.as_slice())
            || cwd.as_ref().is_some_and(|c| c.starts_with(&env.root));
        if !ours {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("");
        if state == "Z" || state == "X" {
            continue;
        }
        let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(dir.join("cmdline"))
            .unwrap_or_default()
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let task = vars.iter().find_map(|v| {
            v.strip_prefix(b"VANE_TASK_ID=")
                .map(|t| String::from_utf8_lossy(t).into_owned())
        });
        found.push(Proc {
            pid,
            ppid,
            cmdline,
            task,
            cwd,
        });
    }
    found
}

/// Whether `pid` is `ancestor` or one of its descendants, among `procs`.
fn descends_from(pid: i32, ancestor: i32, procs: &[Proc]) -> bool {
    let mut at = pid;
    for _ in 0..64 {
        if at == ancestor {
            return true;
        }
        match procs.iter().find(|p| p.pid == at) {
            Some(p) if p.ppid > 1 => at = p.ppid,
            _ => {
                // Not in our list (a parent outside the test): ask /proc directly.
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{at}/stat")) else {
                    return false;
                };
                let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
                match after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                    Some(ppid) if ppid > 1 => at = ppid,
                    _ => return false,
                }
            }
        }
    }
    false
}

/// Starts `vane work` in a process group of its own (the group a shell gives a job), so that a
/// kill can hit vane alone or vane with the git commands it runs (agents and gates run in groups of
/// their own either way).
fn spawn_work(env: &TestEnv, stderr_file: &Path, remote: bool) -> Child {
    use std::os::unix::process::CommandExt;
    let stderr = std::fs::File::create(stderr_file).unwrap();
    let args: &[&str] = if remote {
        &["work", "--executor", "local"]
    } else {
        &["work", "--workers", "3"]
    };
    env.vane_command(args)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn vane work")
}

/// Waits for `child` until `deadline`, calling `tick` about every 20 ms meanwhile; `None` when
/// it still runs at the deadline.
fn wait_until(child: &mut Child, deadline: Instant, mut tick: impl FnMut()) -> Option<i32> {
    let mut next_tick = Instant::now() + Duration::from_millis(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code().unwrap_or(-1));
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        if now >= next_tick {
            tick();
            next_tick = Instant::now() + Duration::from_millis(20);
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(3)));
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The phase a killed run was in, from the last progress line it printed.
fn phase_of(last_line: &str) -> &'static str {
    if last_line.is_empty() {
        "start-up or recovery (nothing printed yet)"
    } else if last_line.starts_with("Recovered from") {
        "recovered, before the batch-start checkpoint"
    } else if last_line.starts_with("Batch ") && last_line.contains(" at ") {
        "batch started: claiming, preparing worktrees"
    } else if last_line.contains(" started: ") {
        "an agent running"
    } else if last_line.contains(" agent finished: ") {
        "agent finished: commit, merge queue"
    } else if last_line.contains("gating the merge") {
        "gating"
    } else if last_line.contains(" landed as ") {
        "landed: checkpoint, checkout, next claim"
    } else if last_line.contains(" blocked: ") {
        "a task blocked"
    } else if last_line.trim_start().starts_with('!') {
        "a task sent back"
    } else if last_line.to_lowercase().contains("paused") {
        "merging paused"
    } else if last_line.starts_with("Batch ") {
        "summary printed, exiting"
    } else {
        "other"
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim_end()
        .to_string()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `text` on one line, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}...", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// A failure reason with what varies between occurrences (SHAs, task ids, the temporary root)
/// taken out, so that the same failure counts as one.
fn normalize(text: &str, root: &Path) -> String {
    let text = one_line(text, 400).replace(&root.display().to_string(), "<root>");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let boundary = |c: Option<&char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
    while i < chars.len() {
        let word_start = i == 0 || boundary(chars.get(i - 1));
        let hex = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if word_start && hex >= 12 {
            out.push_str("<sha>");
            i += hex;
            continue;
        }
        if word_start && chars[i] == 'c' {
            let digits = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if digits > 0 && boundary(chars.get(i + 1 + digits)) {
                out.push_str("cN");
                i += 1 + digits;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The `*.lock` files in the repository's git directory, with their age.
fn lock_files(env: &TestEnv) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![env.repo.join(".git")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "lock") {
                let age = entry
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.elapsed().ok())
                    .map_or("?".to_string(), |d| format!("{} ms old", d.as_millis()));
                let name = path.strip_prefix(&env.repo).unwrap_or(&path);
                found.push(format!("{} ({age})", name.display()));
            }
        }
    }
    found
}

fn open_db(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap()
}

/// The statuses of all tasks, read with plain SQLite (cheap, while no vane runs).
fn statuses(env: &TestEnv) -> BTreeMap<String, String> {
    let conn = open_db(env);
    let mut stmt = conn.prepare("SELECT id, status FROM tasks").unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// One row of the attempts table.
struct AttemptRow {
    task: String,
    number: i64,
    outcome: String,
    started_at: i64,
    feedback: String,
    head_sha: Option<String>,
    charged: bool,
}

fn attempts(env: &TestEnv) -> Vec<AttemptRow> {
    let conn = open_db(env);
    let mut stmt = conn
        .prepare(
            "SELECT task_id, number, coalesce(outcome, '(open)'), started_at,
                    coalesce(feedback, message, ''), head_sha, charged
             FROM attempts ORDER BY id",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(AttemptRow {
                task: r.get(0)?,
                number: r.get(1)?,
                outcome: r.get(2)?,
                started_at: r.get(3)?,
                feedback: r.get(4)?,
                head_sha: r.get(5)?,
                charged: r.get::<_, i64>(6)? != 0,
            })
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// A kill: when, after how long, whom, what the run had printed last and what it was running.
struct Kill {
    at: i64,
    delay: u64,
    group: bool,
    last_line: String,
    running: String,
}

impl Kill {
    fn describe(&self, number: usize) -> String {
        format!(
            "kill {number} ({} ms in, {}; last line {:?}; running: {})",
            self.delay,
            if self.group {
                "vane's group"
            } else {
                "vane alone"
            },
            one_line(&self.last_line, 70),
            self.running
        )
    }
}

/// What a process of vane's is, for the figures: an agent, a gate, git and its subcommand.
fn kind_of(p: &Proc) -> Option<String> {
    let words: Vec<&str> = p.cmdline.split_whitespace().collect();
    if p.cmdline.contains(" part 1") {
        Some("agent".into())
    } else if p.cmdline.contains("for f in c*.txt") {
        Some("gate".into())
    } else if words
        .first()
        .is_some_and(|w| *w == "git" || w.ends_with("/git"))
    {
        // The subcommand: the first word that is neither an option nor an option's value.
        let mut sub = "?";
        let mut rest = words[1..].iter();
        while let Some(word) = rest.next() {
            if ["-C", "-c", "--git-dir", "--work-tree", "--namespace"].contains(word) {
                rest.next();
            } else if !word.starts_with('-') {
                sub = word;
                break;
            }
        }
        Some(format!("git {sub}"))
    } else {
        None
    }
}

/// The kinds of processes running under vane (`pid`), sorted, without repeats.
fn running_under(env: &TestEnv, pid: i32) -> String {
    let procs = test_processes(env);
    let mut kinds: Vec<String> = procs
        .iter()
        .filter(|p| p.pid != pid && descends_from(p.pid, pid, &procs))
        .filter_map(kind_of)
        .collect();
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() {
        "vane alone".to_string()
    } else {
        kinds.join(", ")
    }
}

/// The checks of [`TROUBLED`]'s own promises: each task that fails once was refused exactly once,
/// each pair conflicted at most once and some pair at all; a conflicting task's next attempt
/// resolved the merge rather than starting over; the shared files hold both lines and no marker;
/// nothing a refused attempt left is on main. Also prints what the merge queue did: landings by
/// size, failed verdicts taken on trees that held another candidate's culprit.
fn troubled_checks(
    env: &TestEnv,
    tag: &str,
    rounds: usize,
    attempt_rows: &[AttemptRow],
    meant: &dyn Fn(&AttemptRow) -> bool,
    failures: &mut Vec<String>,
) {
    let number = |task: &str| task[1..].parse::<usize>().unwrap_or(0);
    // The meant failures, counted: each task that fails once is refused exactly once (until then
    // its agent leaves the `.reject`; after, its prompt says it was refused), and each pair
    // conflicts at most once (the task that lands second, whose next attempt resolves the
    // conflict; none when the second started after the first landed).
    let mut refused: BTreeMap<&str, usize> = BTreeMap::new();
    let mut conflicts: BTreeMap<usize, Vec<&AttemptRow>> = BTreeMap::new();
    for a in attempt_rows.iter().filter(|a| meant(a)) {
        match role_of(number(&a.task), true) {
            Role::FailsOnce => *refused.entry(&a.task).or_default() += 1,
            Role::Shares { first } => conflicts.entry(first).or_default().push(a),
            Role::Plain => {}
        }
    }
    let tasks_total = rounds * ROUND;
    let refused_wrong: Vec<String> = (1..=tasks_total)
        .filter(|n| role_of(*n, true) == Role::FailsOnce)
        .map(task_id)
        .filter_map(|id| match refused.get(id.as_str()).copied().unwrap_or(0) {
            1 => None,
            n => Some(format!("{id} ({n} times)")),
        })
        .collect();
    if !refused_wrong.is_empty() {
        failures.push(format!(
            "tasks that fail the gate once, until their prompt says so, did not fail it exactly \
             once for their own `.reject`: {}",
            refused_wrong.join(", ")
        ));
    }
    let conflicted_again: Vec<String> = conflicts
        .iter()
        .filter(|(_, found)| found.len() > 1)
        .map(|(first, found)| {
            format!(
                "{}: {}",
                shared_file(*first),
                found
                    .iter()
                    .map(|a| format!("{} attempt {}", a.task, a.number))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if !conflicted_again.is_empty() {
        failures.push(format!(
            "pairs conflicted more than once (the one that lands second conflicts once, and its \
             next attempt resolves the conflict):\n  {}",
            conflicted_again.join("\n  ")
        ));
    }

    // After a conflict, the next attempt started from the merge of the conflicting work with base
    // and its resolution landed: the task's head is that merge, the conflicting head its first
    // parent (a kill during the resolving attempt starts it again from the same merge).
    let heads: BTreeMap<String, Option<String>> = {
        let conn = open_db(env);
        let mut stmt = conn.prepare("SELECT id, head_sha FROM tasks").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let mut resumed = 0;
    let mut not_resumed = Vec::new();
    for a in conflicts.values().flatten() {
        let head = heads.get(&a.task).cloned().flatten().unwrap_or_default();
        let parents = env.git_try(&env.repo, &["rev-list", "--parents", "-n", "1", &head]);
        let parents: Vec<&str> = parents.stdout.split_whitespace().skip(1).collect();
        match (&a.head_sha, parents.as_slice()) {
            (Some(conflicted), [first, _base]) if first == conflicted => resumed += 1,
            (conflicted, _) => not_resumed.push(format!(
                "{}: attempt {} conflicted at {}; the task's head {} has parents {parents:?}",
                a.task,
                a.number,
                conflicted.as_deref().unwrap_or("(no head)"),
                if head.is_empty() { "(none)" } else { &head }
            )),
        }
    }
    if !not_resumed.is_empty() {
        failures.push(format!(
            "conflicting tasks whose landed work is not the merge of the conflicting attempt with \
             base (the next attempt must resume from it):\n  {}",
            not_resumed.join("\n  ")
        ));
    }

    // The shared files: both lines of their pair, once each, and no marker.
    let mut shared_wrong = Vec::new();
    for round in 0..rounds {
        for k in PAIRS {
            let first = round * ROUND + k;
            let file = shared_file(first);
            let shown = env.git_try(&env.repo, &["show", &format!("main:{file}")]);
            let mut lines: Vec<&str> = shown.stdout.lines().collect();
            lines.sort_unstable();
            let mut wanted = [shared_line(first), shared_line(first + 1)];
            wanted.sort_unstable();
            if shown.code != 0 || lines != wanted {
                shared_wrong.push(format!("{file} holds {:?}", shown.stdout));
            }
        }
    }
    if !shared_wrong.is_empty() {
        failures.push(format!(
            "shared files on main do not hold exactly both lines of their pair:\n  {}",
            shared_wrong.join("\n  ")
        ));
    }
    // Nothing a refused attempt or a resolution leaves behind is on main.
    let files = env.git(&env.repo, &["ls-tree", "-r", "--name-only", "main"]);
    let stray: Vec<&str> = files
        .lines()
        .filter(|f| f.ends_with(".reject") || f.ends_with(".tmp"))
        .collect();
    if !stray.is_empty() {
        failures.push(format!(
            "files that must not land are on main: {}",
            stray.join(" ")
        ));
    }

    // What the merge queue did. Landings by how many candidates each moved base by; failed
    // verdicts recorded on a candidate for another one's `.reject` (the tree it was gated on held
    // the culprit: in its batch, or ahead of it), each taken back without charging it.
    let conn = open_db(env);
    let mut by_size: BTreeMap<usize, usize> = BTreeMap::new();
    {
        let mut stmt = conn
            .prepare("SELECT members FROM ref_moves WHERE purpose = 'land' AND state = 'done'")
            .unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .unwrap();
        for members in rows.map(Result::unwrap) {
            let size = members
                .and_then(|m| serde_json::from_str::<Vec<Value>>(&m).ok())
                .map_or(1, |m| m.len());
            *by_size.entry(size).or_default() += 1;
        }
    }
    let mut innocent = 0;
    {
        let mut stmt = conn
            .prepare(
                "SELECT task_id, details FROM quality_metrics
                 WHERE passed = 0 AND task_id IS NOT NULL",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap();
        for (task, details) in rows.map(Result::unwrap) {
            if details.contains(".reject: rejected on purpose")
                && !details.contains(&rejected_on_purpose(&task))
            {
                innocent += 1;
            }
        }
    }
    let conflicts_total: usize = conflicts.values().map(Vec::len).sum();
    let refused_total: usize = refused.values().sum();
    eprintln!(
        "{tag}: {refused_total} attempts refused by the gate as meant ({} tasks), {conflicts_total} \
         conflicts ({} pairs of {}), {resumed} resolutions resumed from the merge landed",
        refused.len(),
        conflicts.len(),
        rounds * PAIRS.len()
    );
    eprintln!(
        "{tag}: landings by candidates per move of base: {by_size:?}; {innocent} failed verdicts \
         recorded on a candidate for another's `.reject`"
    );
    if conflicts_total == 0 {
        failures.push(
            "no pair conflicted: this run did not exercise resuming from a conflict".to_string(),
        );
    }
}

#[test]
fn random_kills_never_break_a_promise() {
    random_kills(&DEFAULTS);
}

#[test]
fn random_kills_with_batches_failures_and_conflicts() {
    random_kills(&TROUBLED);
}

#[test]
fn random_kills_with_remote_workers() {
    random_kills(&REMOTE);
}

/// Whether `p` is a `vane worker` or runs under one: by its command line, its ancestors', or its
/// working directory in the workers' cache (a worker that is exiting has no command line any
/// more, and what it ran may outlive it by a moment).
fn under_a_worker(p: &Proc, procs: &[Proc], home: &Path) -> bool {
    let cache = home.join(".cache/vane/workers");
    let is_worker = |p: &Proc| {
        p.cmdline.split_whitespace().nth(1) == Some("worker")
            || (p.cmdline.is_empty() && p.ppid == 1)
            || p.cwd.as_ref().is_some_and(|cwd| cwd.starts_with(&cache))
    };
    let mut current = Some(p);
    let mut hops = 0;
    while let Some(proc) = current {
        if is_worker(proc) {
            return true;
        }
        hops += 1;
        if hops > 64 {
            return false;
        }
        current = procs.iter().find(|q| q.pid == proc.ppid);
    }
    false
}

/// The kill phase, the runs to the end, the figures and the checks, for `scenario`.
fn random_kills(scenario: &Scenario) {
    let started = Instant::now();
    let tag = format!("chaos {}", scenario.name);
    let troubled = scenario.troubled;
    let kills_wanted = env_number("VANE_CHAOS_KILLS").unwrap_or(scenario.default_kills) as usize;
    let max_delay = env_number("VANE_CHAOS_MAX_DELAY_MS").unwrap_or(700);
    let group_percent = env_number("VANE_CHAOS_GROUP_PERCENT").unwrap_or(50);
    let seed = env_number("VANE_CHAOS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    eprintln!(
        "{tag}: seed {seed}, {kills_wanted} kills, delays up to {max_delay} ms, {group_percent}% \
         of the kills on vane's process group (replay: VANE_CHAOS_SEED={seed} \
         VANE_CHAOS_KILLS={kills_wanted} VANE_CHAOS_MAX_DELAY_MS={max_delay} \
         VANE_CHAOS_GROUP_PERCENT={group_percent})"
    );
    let mut rng = SplitMix64(seed);

    let env = TestEnv::initialised();
    env.write(
        "vane.toml",
        &format!(
            "workers = 3\nmax_attempts = 3\n{}\n[[gate]]\nname = \"whole\"\ncommand = '''\n{GATE}\n'''\n",
            scenario.settings
        ),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    import_round(&env, 0, troubled);
    let mut rounds = 1;

    // The kill phase.
    let stderr_file = env.root.join("work.stderr");
    let mut kills: Vec<Kill> = Vec::new();
    let mut cycles = 0;
    // Runs that ended by themselves with a failure: their message, how often, the first cycle.
    let mut refusals: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    // The runs that ended by themselves the same way in a row, and how they ended.
    let mut streak = (String::new(), 0);
    let mut clean_exits = 0;
    let mut outlived = 0;
    let mut outlived_examples: Vec<String> = Vec::new();
    let mut strangers: Vec<String> = Vec::new();
    let mut strangers_cycles = 0;
    let kill_phase_started = Instant::now();
    while kills.len() < kills_wanted && cycles < kills_wanted * 3 + 10 {
        cycles += 1;
        // A quarter of the kills within the first 150 ms (start-up, recovery, the first claims);
        // the rest anywhere up to the longest delay.
        let delay = if rng.below(4) == 0 {
            rng.below(150)
        } else {
            rng.below(max_delay + 1)
        };
        let mut child = spawn_work(&env, &stderr_file, scenario.remote);
        let pid = child.id() as i32;
        // Once this run has recovered (it says so, or its batch started), nothing of an earlier,
        // killed run may still run: its agents would write into worktrees this run resets and
        // reuses, and work on tasks this run hands to other workers (promises 5 and 8).
        let mut seen_stranger = false;
        let deadline = Instant::now() + Duration::from_millis(delay);
        let exit = wait_until(&mut child, deadline, || {
            if seen_stranger {
                return;
            }
            let printed = std::fs::read_to_string(&stderr_file).unwrap_or_default();
            if !printed
                .lines()
                .any(|l| l.starts_with("Batch ") || l.starts_with("Recovered from"))
            {
                return;
            }
            let procs = test_processes(&env);
            let foreign: Vec<&Proc> = procs
                .iter()
                .filter(|p| !descends_from(p.pid, pid, &procs))
                // A remote worker outlives its coordinator by design: it works in its own cache
                // clone, never in this run's worktrees, and its result is collected, not redone.
                .filter(|p| !(scenario.remote && under_a_worker(p, &procs, &env.home)))
                .collect();
            if !foreign.is_empty() {
                seen_stranger = true;
                strangers_cycles += 1;
                if strangers.len() < 10 {
                    strangers.push(format!(
                        "cycle {cycles}, after the new run printed {:?}: {}",
                        one_line(&last_line(&printed), 80),
                        foreign[0]
                    ));
                }
            }
        });
        let printed = |file: &Path| std::fs::read_to_string(file).unwrap_or_default();
        match exit {
            None => {
                let running = running_under(&env, pid);
                // Half the kills hit vane alone (`kill -9 <pid>`), half its whole process group
                // (`kill -9 -<pgid>`: vane and the git commands it runs, killed mid-write).
                let group = rng.below(100) < group_percent;
                let target = if group { -pid } else { pid };
                // SAFETY: sends SIGKILL to the child (or the group) this test spawned.
                unsafe { libc::kill(target, libc::SIGKILL) };
                child.wait().unwrap();
                let at = now_millis();
                let last_line = last_line(&printed(&stderr_file));
                // What of the killed run outlives it (agents, gates, git in their own groups).
                let left = test_processes(&env);
                if !left.is_empty() {
                    outlived += 1;
                    if outlived_examples.len() < 5 {
                        outlived_examples.push(format!(
                            "after kill {} ({}; {} processes): {}",
                            kills.len() + 1,
                            if group { "vane's group" } else { "vane alone" },
                            left.len(),
                            left[0]
                        ));
                    }
                }
                kills.push(Kill {
                    at,
                    delay,
                    group,
                    last_line,
                    running,
                });
            }
            Some(code) => {
                let text = printed(&stderr_file);
                let not_done = statuses(&env).values().filter(|s| *s != "done").count();
                if code == 0 {
                    clean_exits += 1;
                    if not_done == 0 {
                        // Everything landed: give the kills that are left a new round to hit.
                        import_round(&env, rounds, troubled);
                        rounds += 1;
                        streak = (String::new(), 0);
                        continue;
                    }
                }
                let error = text.find("error:").map_or(text.as_str(), |at| &text[at..]);
                let message = format!(
                    "exit {code} with {not_done} tasks not done: {}",
                    normalize(error, &env.root)
                );
                if code != 0 {
                    let seen = refusals
                        .entry(message.clone())
                        .or_insert((0, cycles, kills.len()));
                    seen.0 += 1;
                    if seen.0 == 1 && message.contains(".lock") {
                        eprintln!(
                            "{tag}: cycle {cycles}: {}\n{tag}:   lock files: {}\n{tag}:   processes: {}",
                            one_line(&message, 300),
                            lock_files(&env).join(", "),
                            test_processes(&env)
                                .iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join("; ")
                        );
                    }
                }
                if streak.0 != message {
                    streak = (message, 0);
                }
                streak.1 += 1;
                if streak.1 >= REFUSALS_TO_GIVE_UP {
                    eprintln!(
                        "{tag}: `vane work` ended by itself {REFUSALS_TO_GIVE_UP} times in a row \
                         the same way ({}); the kill phase ends here",
                        one_line(&streak.0, 200)
                    );
                    break;
                }
                continue;
            }
        }
        streak = (String::new(), 0);
        if cycles % 25 == 0 {
            let done = statuses(&env).values().filter(|s| *s == "done").count();
            eprintln!(
                "{tag}: cycle {cycles}, {} kills, {done} tasks done, {:.1} s",
                kills.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let kill_phase = kill_phase_started.elapsed();
    let done_in_kill_phase = statuses(&env).values().filter(|s| *s == "done").count();
    let tasks_total = rounds * ROUND;

    // Let the processes of the last kill finish, then run the batch to its end.
    std::thread::sleep(Duration::from_millis(500));
    let mut final_runs: Vec<(i32, String)> = Vec::new();
    for _ in 0..FINAL_RUNS {
        let mut child = spawn_work(&env, &stderr_file, scenario.remote);
        let code = match wait_until(&mut child, Instant::now() + FINAL_RUN_LIMIT, || {}) {
            Some(code) => code,
            None => {
                // SAFETY: the group of the child this test spawned.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                child.wait().unwrap();
                -9
            }
        };
        let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
        // What went wrong, without what varies from run to run.
        let gist = |text: &str| {
            let error = text.find("error:").map_or(text, |at| &text[at..]);
            normalize(error, &env.root)
        };
        let stop = code == -9
            || final_runs
                .last()
                .is_some_and(|(c, s)| *c == code && gist(s) == gist(&stderr));
        final_runs.push((code, stderr));
        if code == 0 || stop {
            break;
        }
    }
    let elapsed = started.elapsed();

    // Figures.
    let attempt_rows = attempts(&env);
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &attempt_rows {
        *outcomes.entry(a.outcome.as_str()).or_default() += 1;
    }
    let abandoned = outcomes.get("abandoned").copied().unwrap_or(0);
    let mut phases: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut running: BTreeMap<&str, usize> = BTreeMap::new();
    for kill in &kills {
        *phases.entry(phase_of(&kill.last_line)).or_default() += 1;
        *running.entry(kill.running.as_str()).or_default() += 1;
    }
    eprintln!("{tag}: seed {seed}");
    eprintln!(
        "{tag}: {} kills in {cycles} cycles ({clean_exits} runs ended by themselves with 0, \
         {} with a failure), kill phase {:.1} s, {:.3} s per cycle, mean delay {} ms",
        kills.len(),
        refusals.values().map(|(n, _, _)| n).sum::<usize>(),
        kill_phase.as_secs_f64(),
        kill_phase.as_secs_f64() / cycles.max(1) as f64,
        kills.iter().map(|k| k.delay).sum::<u64>() / kills.len().max(1) as u64
    );
    eprintln!("{tag}: kills by phase (from the last line the killed run printed):");
    for (phase, n) in &phases {
        eprintln!("{tag}:   {n:>5}  {phase}");
    }
    eprintln!("{tag}: kills by what vane was running at that moment:");
    for (what, n) in &running {
        eprintln!("{tag}:   {n:>5}  {what}");
    }
    eprintln!(
        "{tag}: {} kills hit vane's whole process group, {} vane alone",
        kills.iter().filter(|k| k.group).count(),
        kills.iter().filter(|k| !k.group).count()
    );
    eprintln!(
        "{tag}: {done_in_kill_phase} of {tasks_total} tasks ({rounds} rounds of {ROUND}) landed within the kill phase"
    );
    eprintln!(
        "{tag}: {} attempts recorded for {tasks_total} tasks, {abandoned} abandoned; by outcome: {outcomes:?}",
        attempt_rows.len()
    );
    eprintln!(
        "{tag}: runs after the kills: exit codes {:?}",
        final_runs.iter().map(|(c, _)| *c).collect::<Vec<_>>()
    );
    eprintln!(
        "{tag}: processes of the killed run outlived {outlived} of {} kills; they still ran beside \
         the next run after it recovered in {strangers_cycles} cycles",
        kills.len()
    );
    for example in &outlived_examples {
        eprintln!("{tag}:   e.g. {example}");
    }
    eprintln!("{tag}: elapsed {:.1} s", elapsed.as_secs_f64());

    // The checks. Each failure is collected, so that one report shows them all.
    let mut failures: Vec<String> = Vec::new();
    let last_stderr = final_runs
        .last()
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    let codes: Vec<i32> = final_runs.iter().map(|(c, _)| *c).collect();
    let left_over = statuses(&env).values().filter(|s| *s != "done").count();
    if codes.last() == Some(&0) && left_over > 0 {
        failures.push(format!(
            "the last `vane work` exited 0 although {left_over} tasks did not land (README: \"the \
             exit status is 0 when every selected task landed\"); it said: {}",
            one_line(&last_line(&final_runs.last().unwrap().1), 200)
        ));
    }
    if codes.last() != Some(&0) {
        failures.push(format!(
            "`vane work` after the kills did not finish the batch (exit codes {codes:?}; -9 = hung \
             for {} s and killed; stopped after a hang, or when a run said the same as the one before)",
            FINAL_RUN_LIMIT.as_secs()
        ));
    } else if final_runs.len() > 1 {
        failures.push(format!(
            "`vane work` needed {} runs after the kills to finish (exit codes {codes:?}); the first said:\n{}",
            final_runs.len(),
            tail(&final_runs[0].1, 15)
        ));
    }
    if !refusals.is_empty() {
        let mut text = String::from(
            "`vane work` ended by itself with a failure during the kill phase (resuming must just work, promise 7):",
        );
        for (message, (n, cycle, after)) in &refusals {
            let after = match after.checked_sub(1) {
                Some(i) => format!("after {}", kills[i].describe(i + 1)),
                None => "before any kill".to_string(),
            };
            text.push_str(&format!(
                "\n  {n} times, first at cycle {cycle}, {after}:\n    {message}"
            ));
        }
        failures.push(text);
    }

    // Attempts that did not land, by reason, each with the kill that came just before its first
    // occurrence: a reason that is vane's (a kill, a lock, a worktree) must not be charged to the
    // task (promise 9) and must never block it.
    let mut reasons: BTreeMap<String, (usize, &AttemptRow)> = BTreeMap::new();
    for a in attempt_rows.iter().filter(|a| a.outcome != "landed") {
        // The gate's log says which file was not whole, and what it held.
        let log = env
            .state_dir()
            .join(format!("runs/{}/{}/gate-whole.log", a.task, a.number));
        let key = match std::fs::read_to_string(&log) {
            Ok(text) if a.outcome.starts_with("gate") => format!(
                "{}: the gate said: {}",
                a.outcome,
                normalize(&tail(&text, 6), &env.root)
            ),
            _ => format!("{}: {}", a.outcome, normalize(&a.feedback, &env.root)),
        };
        reasons.entry(key).or_insert((0, a)).0 += 1;
    }
    let reasons_text: Vec<String> = reasons
        .iter()
        .map(|(reason, (n, first))| {
            // An abandoned attempt ends at the next kill; any other was started after the last one.
            let (word, kill) = if first.outcome == "abandoned" {
                (
                    "ended by",
                    kills.iter().position(|k| k.at >= first.started_at),
                )
            } else {
                (
                    "started after",
                    kills.iter().rposition(|k| k.at <= first.started_at),
                )
            };
            let when = match kill {
                Some(i) => format!("{word} {}", kills[i].describe(i + 1)),
                None => format!("{word} no kill"),
            };
            let log = env.state_dir().join(format!(
                "runs/{}/{}/gate-whole.log",
                first.task, first.number
            ));
            let said = match std::fs::read_to_string(log) {
                Ok(text) if first.outcome.starts_with("gate") => {
                    format!(
                        "\n         its gate said: {}",
                        one_line(&tail(&text, 6), 300)
                    )
                }
                _ => String::new(),
            };
            format!(
                "{n:>4} x {}\n         first: {} attempt {}, {when}{said}",
                one_line(reason, 300),
                first.task,
                first.number
            )
        })
        .collect();
    if !reasons_text.is_empty() {
        eprintln!(
            "{tag}: attempts that did not land, by reason:\n  {}",
            reasons_text.join("\n  ")
        );
    }

    // Every task is done, and the event log explains every state.
    let tasks = env.vane(&["task", "list", "--json"]).success().json();
    let tasks = tasks.as_array().unwrap().clone();
    let status_of: BTreeMap<String, String> = tasks
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap_or("?").to_string(),
                t["status"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let events = env
        .vane(&["events", "--limit", "0", "--json"])
        .success()
        .json();
    let events = events.as_array().unwrap().clone();
    let mut last_status: BTreeMap<String, String> = BTreeMap::new();
    for event in &events {
        if event["kind"] == "status_changed" {
            if let (Some(task), Some(to)) = (event["task"].as_str(), event["data"]["to"].as_str()) {
                last_status.insert(task.to_string(), to.to_string());
            }
        }
    }
    let describe_event = |e: &Value| -> String {
        let actor = e["actor"].as_str().unwrap_or("-");
        if e["kind"] == "status_changed" {
            format!(
                "{actor}: {} -> {}: {}",
                e["data"]["from"].as_str().unwrap_or("?"),
                e["data"]["to"].as_str().unwrap_or("?"),
                one_line(e["data"]["reason"].as_str().unwrap_or(""), 200)
            )
        } else {
            format!(
                "{actor}: {} {}",
                e["kind"].as_str().unwrap_or("?"),
                one_line(&e["data"].to_string(), 160)
            )
        }
    };
    let mut not_done = Vec::new();
    let mut waiting = Vec::new();
    let mut never_started = Vec::new();
    for task in &tasks {
        let id = task["id"].as_str().unwrap().to_string();
        let status = status_of[&id].clone();
        let explained = last_status.get(&id).map_or("pending", String::as_str);
        if explained != status {
            failures.push(format!(
                "the event log does not explain {id}: its last status event says `{explained}`, \
                 its status is `{status}`"
            ));
        }
        if status == "done" {
            continue;
        }
        let n: usize = id[1..].parse().unwrap();
        let round_offset = (n - 1) / ROUND * ROUND;
        let open_deps: Vec<String> = deps_in_round(n - round_offset)
            .into_iter()
            .map(|d| task_id(round_offset + d))
            .filter(|d| status_of.get(d).map(String::as_str) != Some("done"))
            .collect();
        if status == "pending" && !open_deps.is_empty() {
            waiting.push(format!("{id} (on {})", open_deps.join(", ")));
            continue;
        }
        if status == "pending" && !attempt_rows.iter().any(|a| a.task == id) {
            never_started.push(id.clone());
            continue;
        }
        let recent: Vec<String> = events
            .iter()
            .filter(|e| e["task"] == id.as_str())
            .map(describe_event)
            .collect();
        let mine: Vec<String> = attempt_rows
            .iter()
            .filter(|a| a.task == id)
            .map(|a| {
                format!(
                    "{} {}: {}",
                    a.number,
                    a.outcome,
                    one_line(a.feedback.lines().next().unwrap_or(""), 160)
                )
            })
            .collect();
        not_done.push(format!(
            "{id}: {status}{}\n      attempts: {}\n      last events:\n        {}",
            task["block_reason"]
                .as_str()
                .map(|r| format!(" ({})", one_line(r, 300)))
                .unwrap_or_default(),
            if mine.is_empty() {
                "none".to_string()
            } else {
                mine.join("\n                ")
            },
            recent[recent.len().saturating_sub(6)..].join("\n        ")
        ));
    }
    if tasks.len() != tasks_total {
        failures.push(format!(
            "{} tasks in vane, {tasks_total} imported",
            tasks.len()
        ));
    }
    if !not_done.is_empty() || !waiting.is_empty() || !never_started.is_empty() {
        let mut text = format!(
            "{} of {} tasks are not done:",
            not_done.len() + waiting.len() + never_started.len(),
            tasks.len()
        );
        for task in &not_done {
            text.push_str(&format!("\n  {task}"));
        }
        if !never_started.is_empty() {
            text.push_str(&format!(
                "\n  pending, ready, never started: {}",
                never_started.join(" ")
            ));
        }
        if !waiting.is_empty() {
            text.push_str(&format!(
                "\n  pending because a dependency is not done: {}",
                waiting.join(", ")
            ));
        }
        failures.push(text);
    }
    // Every agent here is correct but where the scenario means it to fail: an attempt that neither
    // landed nor was abandoned by a kill, nor failed as meant, failed for vane's reasons, and was
    // charged to its task for them (promise 9).
    let meant = |a: &AttemptRow| -> bool {
        let role = a.task[1..]
            .parse::<usize>()
            .ok()
            .map(|n| role_of(n, troubled));
        match role {
            // Refused by the gate, for its own file: not for another candidate's in its batch.
            Some(Role::FailsOnce) => {
                a.outcome == "gate_failed" && a.feedback.contains(&rejected_on_purpose(&a.task))
            }
            Some(Role::Shares { .. }) => a.outcome == "conflict",
            _ => false,
        }
    };
    let unmeant = attempt_rows
        .iter()
        .filter(|a| a.outcome != "landed" && a.outcome != "abandoned" && !meant(a))
        .count();
    if unmeant > 0 || !not_done.is_empty() {
        failures.push(format!(
            "{} attempts for {tasks_total} tasks, {unmeant} of them neither landed nor abandoned{}; \
             the attempts that did not land, by reason:\n  {}",
            attempt_rows.len(),
            if troubled {
                " nor failed as the scenario means (the gate refusing a task's own `.reject`, a \
                 conflict in a pair's shared file)"
            } else {
                " although every agent here is correct"
            },
            reasons_text.join("\n  ")
        ));
    }
    // An attempt a kill ended is never charged to its task (promise 9).
    let charged_kills: Vec<String> = attempt_rows
        .iter()
        .filter(|a| a.outcome == "abandoned" && a.charged)
        .map(|a| format!("{} attempt {}", a.task, a.number))
        .collect();
    if !charged_kills.is_empty() {
        failures.push(format!(
            "{} attempts a kill ended are charged to their task: {}",
            charged_kills.len(),
            charged_kills.join(", ")
        ));
    }
    if troubled {
        troubled_checks(&env, &tag, rounds, &attempt_rows, &meant, &mut failures);
    }

    // Each task landed exactly once, whole.
    let subjects = env.git(&env.repo, &["log", "--first-parent", "--format=%s", "main"]);
    let mut landed_twice = Vec::new();
    let mut never_landed = Vec::new();
    let mut not_whole = Vec::new();
    for n in 1..=tasks_total {
        let id = task_id(n);
        let prefix = format!("Land {id}: ");
        let landings = subjects.lines().filter(|s| s.starts_with(&prefix)).count();
        match landings {
            1 => {}
            0 => never_landed.push(id.clone()),
            k => landed_twice.push(format!("{id} ({k} times)")),
        }
        let shown = env.git_try(&env.repo, &["show", &format!("main:{id}.txt")]);
        if shown.code == 0 && shown.stdout != whole_content(n) {
            not_whole.push(format!("{id}.txt holds {:?}", shown.stdout));
        } else if shown.code != 0 && landings > 0 {
            not_whole.push(format!("{id}.txt is missing on main although it landed"));
        }
    }
    if !landed_twice.is_empty() {
        failures.push(format!(
            "tasks landed more than once on main: {}",
            landed_twice.join(", ")
        ));
    }
    if !never_landed.is_empty() {
        failures.push(format!(
            "{} tasks have no `Land` commit on main's first-parent history: {}",
            never_landed.len(),
            never_landed.join(" ")
        ));
    }
    if !not_whole.is_empty() {
        failures.push(format!(
            "files on main are not whole:\n  {}",
            not_whole.join("\n  ")
        ));
    }

    // The database and git agree (promise 4).
    for task in &tasks {
        if task["status"] != "done" {
            continue;
        }
        match task["landed_sha"].as_str() {
            None => failures.push(format!("done task {} has no landing commit", task["id"])),
            Some(sha) => {
                let on_base = env
                    .git_try(&env.repo, &["merge-base", "--is-ancestor", sha, "main"])
                    .code
                    == 0;
                if !on_base {
                    failures.push(format!(
                        "done task {}'s landing {sha} is not on main",
                        task["id"]
                    ));
                }
            }
        }
    }
    let checkpoints = env.vane(&["checkpoints", "--json"]).success().json();
    let refs = env.git(
        &env.repo,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/vane/checkpoints",
        ],
    );
    let refs: HashSet<&str> = refs.lines().collect();
    for c in checkpoints.as_array().unwrap() {
        let line = format!(
            "{} {}",
            c["refname"].as_str().unwrap_or("?"),
            c["sha"].as_str().unwrap_or("?")
        );
        if !refs.contains(line.as_str()) {
            failures.push(format!(
                "checkpoint {} has no ref holding its commit ({line})",
                c["id"]
            ));
        }
    }

    // The person's checkout: clean, on main, at its tip (promise 1).
    let porcelain = env.git(&env.repo, &["status", "--porcelain"]);
    if !porcelain.is_empty() {
        failures.push(format!(
            "the person's checkout is not clean (`git status --porcelain`):\n{}",
            tail(&porcelain, 20)
        ));
    }
    let head = env
        .git_try(&env.repo, &["symbolic-ref", "-q", "HEAD"])
        .stdout;
    if head.trim() != "refs/heads/main" {
        failures.push(format!("the checkout is on {head:?}, not main"));
    }

    // git fsck.
    let fsck = env.git_try(&env.repo, &["fsck", "--no-progress", "--no-dangling"]);
    let fsck_text = format!("{}{}", fsck.stdout, fsck.stderr);
    if fsck.code != 0 || !fsck_text.trim().is_empty() {
        failures.push(format!(
            "`git fsck` is not clean (exit {}):\n{}",
            fsck.code,
            tail(&fsck_text, 20)
        ));
    }

    // No process of the test is left: no agent, no gate, no `sleep`.
    std::thread::sleep(Duration::from_millis(300));
    let left = test_processes(&env);
    if !left.is_empty() {
        failures.push(format!(
            "processes are left after the batch ended:\n  {}",
            left.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
    if strangers_cycles > 0 {
        failures.push(format!(
            "in {strangers_cycles} cycles, processes of a killed run still ran after the next run had \
             recovered (they write into worktrees the new run resets and reuses), e.g.:\n  {}",
            strangers.join("\n  ")
        ));
    }

    // vane doctor.
    let doctor = env.vane(&["doctor"]);
    if doctor.code != 0 {
        failures.push(format!(
            "`vane doctor` exited with {}:\n{}\n{}",
            doctor.code,
            tail(&doctor.stdout, 30),
            tail(&doctor.stderr, 30)
        ));
    }

    assert!(
        failures.is_empty(),
        "{tag} (seed {seed}, {} kills): {} problems\n\n{}\n\nstderr of the last `vane work`:\n{}",
        kills.len(),
        failures.len(),
        failures
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{}. {f}", i + 1))
            .collect::<Vec<_>>()
            .join("\n\n"),
        tail(&last_stderr, 60)
    );
}
