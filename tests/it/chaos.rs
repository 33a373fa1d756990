//! Crash safety under random `kill -9`: a batch of tasks with dependencies, three workers, agents
//! and a gate that take a few steps each, and `vane work` killed at random moments and resumed, over
//! and over; then the batch runs to the end and every promise is checked.
//!
//! Only the kill times are random; the task graph is always the same. The seed is printed at the
//! start, so a failure replays with the same kill times:
//!
//! ```text
//! VANE_CHAOS_SEED=<seed> VANE_CHAOS_KILLS=30 cargo test --test it chaos -- --nocapture
//! ```
//!
//! - `VANE_CHAOS_KILLS`: how many times `vane work` is killed (default 100).
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
//! done and landed exactly once and whole, no attempt failed (every agent here is correct), the
//! event log explains every status, database and git agree, the person's checkout is clean and on
//! main, `git fsck` is clean, no process of the test is left (nor ran beside a recovered run), and
//! `vane doctor` passes. Every problem found is reported, not only the first.
//!
//! The long run, on the release build:
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

/// The agent of task `n`: writes its file in three steps with short sleeps between, so that kills
/// land in the middle of it.
fn agent_command(n: usize) -> String {
    let id = task_id(n);
    let first = 20 + (n % 3) * 20;
    let second = 30 + (n % 4) * 15;
    format!(
        "printf '{id} part 1\\n' > {id}.txt; sleep 0.{first:03}; \
         printf '{id} part 2\\n' >> {id}.txt; sleep 0.{second:03}; \
         printf '{id} part 3 end\\n' >> {id}.txt"
    )
}

/// The gate: every `c*.txt` in the candidate holds all three parts, in order, and nothing more;
/// then a short sleep so that kills land while gating too. Shell builtins only, so that it stays
/// quick when many rounds of files have landed.
const GATE: &str = r#"for f in c*.txt; do
  [ -e "$f" ] || continue
  n=${f%.txt}
  a= b= c= d=
  { IFS= read -r a; IFS= read -r b; IFS= read -r c; IFS= read -r d; } < "$f"
  if [ "$a" != "$n part 1" ] || [ "$b" != "$n part 2" ] || [ "$c" != "$n part 3 end" ] || [ -n "$d" ]; then
    echo "$f is not whole:"; cat "$f"; exit 1
  fi
done
sleep 0.05"#;

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
fn roadmap(round: usize) -> String {
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
                "run": agent_command(n),
                "deps": deps,
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "tasks": tasks })).unwrap()
}

fn import_round(env: &TestEnv, round: usize) {
    let path = env.root.join(format!("roadmap-{round}.json"));
    std::fs::write(&path, roadmap(round)).unwrap();
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
fn spawn_work(env: &TestEnv, stderr_file: &Path) -> Child {
    use std::os::unix::process::CommandExt;
    let stderr = std::fs::File::create(stderr_file).unwrap();
    env.vane_command(&["work", "--workers", "3"])
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
}

fn attempts(env: &TestEnv) -> Vec<AttemptRow> {
    let conn = open_db(env);
    let mut stmt = conn
        .prepare(
            "SELECT task_id, number, coalesce(outcome, '(open)'), started_at,
                    coalesce(feedback, message, '')
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

#[test]
fn random_kills_never_break_a_promise() {
    let started = Instant::now();
    let kills_wanted = env_number("VANE_CHAOS_KILLS").unwrap_or(100) as usize;
    let max_delay = env_number("VANE_CHAOS_MAX_DELAY_MS").unwrap_or(700);
    let group_percent = env_number("VANE_CHAOS_GROUP_PERCENT").unwrap_or(50);
    let seed = env_number("VANE_CHAOS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    eprintln!(
        "chaos: seed {seed}, {kills_wanted} kills, delays up to {max_delay} ms, {group_percent}% \
         of the kills on vane's process group (replay: VANE_CHAOS_SEED={seed} \
         VANE_CHAOS_KILLS={kills_wanted} VANE_CHAOS_MAX_DELAY_MS={max_delay} \
         VANE_CHAOS_GROUP_PERCENT={group_percent})"
    );
    let mut rng = SplitMix64(seed);

    let env = TestEnv::initialised();
    env.write(
        "vane.toml",
        &format!(
            "workers = 3\nmax_attempts = 3\n\n[[gate]]\nname = \"whole\"\ncommand = '''\n{GATE}\n'''\n"
        ),
    );
    env.git(&env.repo, &["add", "vane.toml"]);
    env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
    import_round(&env, 0);
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
        let mut child = spawn_work(&env, &stderr_file);
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
                        import_round(&env, rounds);
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
                            "chaos: cycle {cycles}: {}\nchaos:   lock files: {}\nchaos:   processes: {}",
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
                        "chaos: `vane work` ended by itself {REFUSALS_TO_GIVE_UP} times in a row \
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
                "chaos: cycle {cycles}, {} kills, {done} tasks done, {:.1} s",
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
        let mut child = spawn_work(&env, &stderr_file);
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
    eprintln!("chaos: seed {seed}");
    eprintln!(
        "chaos: {} kills in {cycles} cycles ({clean_exits} runs ended by themselves with 0, \
         {} with a failure), kill phase {:.1} s, {:.3} s per cycle, mean delay {} ms",
        kills.len(),
        refusals.values().map(|(n, _, _)| n).sum::<usize>(),
        kill_phase.as_secs_f64(),
        kill_phase.as_secs_f64() / cycles.max(1) as f64,
        kills.iter().map(|k| k.delay).sum::<u64>() / kills.len().max(1) as u64
    );
    eprintln!("chaos: kills by phase (from the last line the killed run printed):");
    for (phase, n) in &phases {
        eprintln!("chaos:   {n:>5}  {phase}");
    }
    eprintln!("chaos: kills by what vane was running at that moment:");
    for (what, n) in &running {
        eprintln!("chaos:   {n:>5}  {what}");
    }
    eprintln!(
        "chaos: {} kills hit vane's whole process group, {} vane alone",
        kills.iter().filter(|k| k.group).count(),
        kills.iter().filter(|k| !k.group).count()
    );
    eprintln!(
        "chaos: {done_in_kill_phase} of {tasks_total} tasks ({rounds} rounds of {ROUND}) landed within the kill phase"
    );
    eprintln!(
        "chaos: {} attempts recorded for {tasks_total} tasks, {abandoned} abandoned; by outcome: {outcomes:?}",
        attempt_rows.len()
    );
    eprintln!(
        "chaos: runs after the kills: exit codes {:?}",
        final_runs.iter().map(|(c, _)| *c).collect::<Vec<_>>()
    );
    eprintln!(
        "chaos: processes of the killed run outlived {outlived} of {} kills; they still ran beside \
         the next run after it recovered in {strangers_cycles} cycles",
        kills.len()
    );
    for example in &outlived_examples {
        eprintln!("chaos:   e.g. {example}");
    }
    eprintln!("chaos: elapsed {:.1} s", elapsed.as_secs_f64());

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
            "chaos: attempts that did not land, by reason:\n  {}",
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
    // Every agent here is correct: an attempt that neither landed nor was abandoned by a kill
    // failed for vane's reasons, and was charged to its task for them (promise 9).
    let charged = attempt_rows
        .iter()
        .filter(|a| a.outcome != "landed" && a.outcome != "abandoned")
        .count();
    if charged > 0 || !not_done.is_empty() {
        failures.push(format!(
            "{} attempts for {tasks_total} tasks, {charged} of them neither landed nor abandoned \
             although every agent here is correct; the attempts that did not land, by reason:\n  {}",
            attempt_rows.len(),
            reasons_text.join("\n  ")
        ));
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
        "chaos (seed {seed}, {} kills): {} problems\n\n{}\n\nstderr of the last `vane work`:\n{}",
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
