//! Remote workers end to end (`vane worker`, `[executor.NAME]`): real git remotes on disk (bare
//! repositories standing in for the team's server), worker processes and real Slurm jobs running
//! `vane worker`, and the coordinator gating and landing what they send back. Workers that are
//! killed, a coordinator killed with jobs out, a remote that goes away for a while, and results
//! that nobody asked for.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::TestEnv;

fn add(env: &TestEnv, id: &str, run: &str) {
    env.vane(&["task", "add", id, "--id", id, "--run", run])
        .success();
}

fn status(env: &TestEnv, id: &str) -> String {
    env.vane(&["task", "show", id, "--json"]).success().json()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn db(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.state_dir().join("vane.db")).unwrap()
}

/// `(number, outcome, charged, worker)` of every attempt at `task`.
fn attempts(env: &TestEnv, task: &str) -> Vec<(i64, Option<String>, bool, String)> {
    let conn = db(env);
    let mut stmt = conn
        .prepare(
            "SELECT number, outcome, charged, coalesce(worker, '') FROM attempts \
             WHERE task_id = ?1 ORDER BY number",
        )
        .unwrap();
    stmt.query_map([task], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A bare repository beside the test's, holding main: the team's remote.
fn bare_remote(env: &TestEnv) -> PathBuf {
    let bare = env.root.join("remote.git");
    env.git(
        &env.root,
        &["init", "-q", "--bare", "-b", "main", "remote.git"],
    );
    env.git(&env.repo, &["push", "-q", bare.to_str().unwrap(), "main"]);
    bare
}

/// A bare remote, and vane.toml (`settings`, then `[executor.team]`) committed with an executor
/// whose workers are processes started through its `start` template, on that remote.
fn team_executor(env: &TestEnv, settings: &str) -> PathBuf {
    let bare = bare_remote(env);
    env.write(
        "vane.toml",
        &format!(
            "{settings}[executor.team]\nstart = \"sh -c {{worker}} > /dev/null 2>&1 & echo started\"\n\
             max_jobs = 2\nremote = \"{}\"\n",
            bare.display()
        ),
    );
    env.git(&env.repo, &["commit", "-qam", "A team executor"]);
    bare
}

/// The refs under `refs/vane/jobs` and `refs/vane/results` of a repository.
fn job_refs(env: &TestEnv, repo: &Path) -> Vec<String> {
    env.git(
        repo,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/vane/jobs",
            "refs/vane/results",
        ],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Live `vane worker` processes of this test (their command line names `task`).
fn worker_pids(env: &TestEnv, task: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let words: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if !zombie
            && words.get(1).map(String::as_str) == Some("worker")
            && words.iter().any(|w| w == task)
            && words.iter().any(|w| w.contains(env.root.to_str().unwrap()))
        {
            pids.push(pid);
        }
    }
    pids
}

/// A `vane work` this test started, killed if the test fails before it ends.
struct Running(std::process::Child);

impl Running {
    fn start(env: &TestEnv, args: &[&str]) -> Running {
        Running(
            env.vane_command(args)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        )
    }

    /// Waits for it; its exit status and what it printed on stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let mut stderr = String::new();
        if let Some(mut pipe) = self.0.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
        }
        (self.0.wait().unwrap(), stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_batch_on_worker_processes_lands_through_the_queue_and_clears_its_refs() {
    let env = TestEnv::configured(
        "workers = 2\n[[gate]]\nname = \"has-readme\"\ncommand = \"test -f README.md\"\n",
    );
    for i in 1..=3 {
        add(&env, &format!("t{i}"), &format!("echo {i} > f{i}.txt"));
    }
    // t4 builds on t1's file: it starts once t1 landed, and lands after it.
    env.vane(&[
        "task",
        "add",
        "t4",
        "--id",
        "t4",
        "--deps",
        "t1",
        "--run",
        "cat f1.txt > f4.txt; echo 4 >> f4.txt",
    ])
    .success();
    let run = env
        .vane(&["work", "--executor", "local", "--json"])
        .success();
    let summary = run.json();
    let landed: Vec<(&str, i64)> = summary["landed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["task"].as_str().unwrap(),
                l["checkpoint"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(landed.len(), 4, "{}", run.stderr);
    let at = |id: &str| landed.iter().position(|(t, _)| *t == id).unwrap();
    assert!(at("t1") < at("t4"), "{landed:?}");
    // One move of base at a time, each its own checkpoint, in the order they landed.
    assert!(landed.windows(2).all(|w| w[0].1 < w[1].1), "{landed:?}");
    for i in 1..=4 {
        assert_eq!(status(&env, &format!("t{i}")), "done");
        let expected = if i == 4 {
            "1\n4\n".to_string()
        } else {
            format!("{i}\n")
        };
        assert_eq!(
            std::fs::read_to_string(env.repo.join(format!("f{i}.txt"))).unwrap(),
            expected
        );
        // One attempt each, run by the executor's worker and recorded as collected.
        let runs = attempts(&env, &format!("t{i}"));
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0].1.as_deref(), Some("landed"));
        assert!(runs[0].3.starts_with("local#"), "{runs:?}");
    }
    let collected: i64 = db(&env)
        .query_row(
            "SELECT count(*) FROM remote_jobs WHERE state = 'collected' AND result_sha IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(collected, 4);
    // The agents ran in the workers' cache clone, not in vane's worktrees of this repository.
    let cache = env.home.join(".cache/vane/workers");
    assert!(cache.is_dir(), "no cache clone in {}", cache.display());
    // Every job and result ref is gone once its attempt is recorded.
    assert_eq!(job_refs(&env, &env.repo), Vec::<String>::new());
    // What the agent printed came back with the result, for `vane show`.
    let shown = env.vane(&["show", "t1", "--prompt"]).success();
    assert!(shown.stdout.contains("t1"), "{}", shown.stdout);
}

#[test]
fn jobs_go_through_a_bare_remote_and_a_failed_attempt_is_retried_with_its_feedback() {
    let env = TestEnv::configured("workers = 2\nmax_attempts = 2\n");
    let bare = team_executor(&env, "workers = 2\nmax_attempts = 2\n");
    env.git(&env.repo, &["push", "-q", bare.to_str().unwrap(), "main"]);
    add(
        &env,
        "flaky",
        r#"if [ "$VANE_ATTEMPT" = 1 ]; then echo 'first try fails' >&2; exit 3; fi; echo ok > ok.txt"#,
    );
    let run = env.vane(&["work", "--executor", "team"]).success();
    assert!(run.stderr.contains("1 landed"), "{}", run.stderr);
    let runs = attempts(&env, "flaky");
    assert_eq!(
        runs.iter()
            .map(|r| (r.1.clone().unwrap(), r.2))
            .collect::<Vec<_>>(),
        vec![("failed".to_string(), true), ("landed".to_string(), true)]
    );
    // The second prompt carries the first attempt's feedback, with what the agent printed there.
    let prompt = std::fs::read_to_string(env.state_dir().join("runs/flaky/2/prompt.md")).unwrap();
    assert!(prompt.contains("first try fails"), "{prompt}");
    // The remote holds no job or result any more; base stayed here (no land_to).
    assert_eq!(job_refs(&env, &bare), Vec::<String>::new());
}

#[test]
fn a_worker_killed_mid_attempt_is_lost_uncharged_and_its_task_runs_again() {
    // Unconfined: the agent leaves a mark outside its worktree for the test to see.
    let env = TestEnv::configured("workers = 1\nmax_attempts = 1\nconfine = false\n");
    let mark = env.root.join("first-ran");
    add(
        &env,
        "victim",
        &format!(
            "if [ -f '{m}' ]; then echo done > v.txt; else touch '{m}'; sleep 60; fi",
            m = mark.display()
        ),
    );
    let work = Running::start(&env, &["work", "--executor", "local"]);
    wait_for("the first attempt's agent", Duration::from_secs(30), || {
        mark.exists()
    });
    let pids = worker_pids(&env, "victim");
    assert_eq!(pids.len(), 1, "{pids:?}");
    // SAFETY: a signal to a process of this test.
    unsafe { libc::kill(pids[0], libc::SIGKILL) };
    let (status, stderr) = work.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(status_of(&env, "victim"), "done", "{stderr}");
    let runs = attempts(&env, "victim");
    // max_attempts = 1, yet it landed: the lost attempt was not charged.
    assert_eq!(
        runs.iter()
            .map(|r| (r.1.clone().unwrap(), r.2))
            .collect::<Vec<_>>(),
        vec![("lost".to_string(), false), ("landed".to_string(), true)],
        "{stderr}"
    );
    assert!(stderr.contains("lost"), "{stderr}");
}

fn status_of(env: &TestEnv, id: &str) -> String {
    status(env, id)
}

#[test]
fn a_coordinator_killed_with_jobs_out_collects_their_results_without_running_them_again() {
    let env = TestEnv::configured("workers = 3\nconfine = false\n");
    let started = env.root.join("started");
    std::fs::create_dir(&started).unwrap();
    for i in 1..=3 {
        add(
            &env,
            &format!("t{i}"),
            &format!(
                "echo $VANE_ATTEMPT >> '{s}/t{i}'; sleep 2; echo {i} > f{i}.txt",
                s = started.display()
            ),
        );
    }
    let mut work = Running::start(&env, &["work", "--executor", "local"]);
    wait_for("three agents at work", Duration::from_secs(30), || {
        (1..=3).all(|i| started.join(format!("t{i}")).exists())
    });
    work.0.kill().unwrap();
    work.0.wait().unwrap();
    // The workers go on without their coordinator, and push their results.
    wait_for("the results", Duration::from_secs(30), || {
        job_refs(&env, &env.repo)
            .iter()
            .filter(|r| r.starts_with("refs/vane/results/"))
            .count()
            == 3
    });
    let run = env.vane(&["work", "--executor", "local"]).success();
    assert!(run.stderr.contains("3 landed"), "{}", run.stderr);
    for i in 1..=3 {
        // Each agent ran once: its one attempt was collected, not abandoned and run again.
        assert_eq!(
            std::fs::read_to_string(started.join(format!("t{i}"))).unwrap(),
            "1\n"
        );
        let runs = attempts(&env, &format!("t{i}"));
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs[0].1.as_deref(), Some("landed"));
    }
    assert_eq!(job_refs(&env, &env.repo), Vec::<String>::new());
}

#[test]
fn a_remote_that_goes_away_for_a_while_delays_the_batch_and_loses_nothing() {
    let env = TestEnv::configured("workers = 2\n");
    let bare = team_executor(&env, "workers = 2\nconfine = false\n");
    let away = env.root.join("remote-away.git");
    let ran = env.root.join("ran");
    std::fs::create_dir(&ran).unwrap();
    for i in 1..=2 {
        add(
            &env,
            &format!("t{i}"),
            &format!(
                "touch '{r}/t{i}'; sleep 1; echo {i} > f{i}.txt",
                r = ran.display()
            ),
        );
    }
    let work = Running::start(&env, &["work", "--executor", "team"]);
    wait_for("the agents", Duration::from_secs(30), || {
        ran.join("t1").exists() && ran.join("t2").exists()
    });
    // Gone while the agents finish and the workers push; back a few seconds later.
    std::fs::rename(&bare, &away).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    std::fs::rename(&away, &bare).unwrap();
    let (status, stderr) = work.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("2 landed"), "{stderr}");
    for i in 1..=2 {
        let runs = attempts(&env, &format!("t{i}"));
        assert_eq!(runs.len(), 1, "nothing lost or run again: {runs:?}");
    }
}

/// A commit holding `result.json` with `record`, pushed to `refname` of `remote` from a clone.
fn forge(env: &TestEnv, remote: &Path, refname: &str, record: &str) -> String {
    let clone = env
        .root
        .join(format!("forger-{}", refname.replace('/', "-")));
    env.git(
        &env.root,
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    std::fs::write(clone.join("result.json"), record).unwrap();
    env.git(&clone, &["add", "result.json"]);
    env.git(&clone, &["commit", "-qm", "forged"]);
    let sha = env.git(&clone, &["rev-parse", "HEAD"]).trim().to_string();
    env.git(
        &clone,
        &["push", "-q", "origin", &format!("HEAD:{refname}")],
    );
    sha
}

#[test]
fn forged_results_are_refused_kept_aside_and_never_landed() {
    let env = TestEnv::configured("workers = 1\n");
    let bare = team_executor(&env, "workers = 1\nconfine = false\n");
    let go = env.root.join("go");
    add(
        &env,
        "real",
        &format!(
            "while [ ! -f '{g}' ]; do sleep 0.1; done; echo real > real.txt",
            g = go.display()
        ),
    );
    // Before the batch: a result for a task that does not exist.
    forge(
        &env,
        &bare,
        "refs/vane/results/nobody/1",
        r#"{"version": 1, "task": "nobody", "attempt": 1, "job": "0", "outcome": "changed"}"#,
    );
    let work = Running::start(&env, &["work", "--executor", "team"]);
    wait_for("the job", Duration::from_secs(30), || {
        job_refs(&env, &bare).contains(&"refs/vane/jobs/real/1".to_string())
    });
    // While the real worker runs: a result for its own attempt that is not of its job, with a
    // change of its own that would land if it were believed.
    let forged = forge(
        &env,
        &bare,
        "refs/vane/results/real/1",
        r#"{"version": 1, "task": "real", "attempt": 1, "job": "0000000000000000000000000000000000000000", "outcome": "changed", "exit_code": 0, "head_sha": null, "session_id": null, "cost_usd": null, "input_tokens": null, "cached_input_tokens": null, "output_tokens": null, "model": null, "message": null, "feedback": null, "seconds": 1.0, "host": "evil", "prepare_ms": 0}"#,
    );
    wait_for(
        "the forged result to be taken off the remote",
        Duration::from_secs(30),
        || {
            env.git(
                &bare,
                &[
                    "for-each-ref",
                    "--format=%(objectname)",
                    "refs/vane/results/real/1",
                ],
            )
            .trim()
                != forged
        },
    );
    std::fs::write(&go, "").unwrap();
    let (status, stderr) = work.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("1 landed"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(env.repo.join("real.txt")).unwrap(),
        "real\n"
    );
    assert!(
        !env.repo.join("result.json").exists(),
        "a forged tree landed"
    );
    // Both forgeries are recorded and kept aside here, under refs/vane/refused/.
    let refused: Vec<(String, Option<String>)> = {
        let conn = db(&env);
        let mut stmt = conn
            .prepare("SELECT refname, kept_as FROM refused_results ORDER BY refname")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let names: Vec<&str> = refused.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        names,
        ["refs/vane/results/nobody/1", "refs/vane/results/real/1"],
        "{stderr}"
    );
    for (_, kept) in &refused {
        let kept = kept.as_deref().expect("kept aside");
        assert!(kept.starts_with("refs/vane/refused/"), "{kept}");
        env.git(&env.repo, &["rev-parse", "--verify", "-q", kept]);
    }
    assert!(stderr.contains("refused"), "{stderr}");
    assert_eq!(job_refs(&env, &bare), Vec::<String>::new());
}

#[test]
fn confinement_and_learnings_hold_the_same_on_a_remote_worker() {
    let env = TestEnv::configured("workers = 1\nmax_attempts = 1\n");
    let outside = env.root.join("outside.txt");
    add(
        &env,
        "hostile",
        &format!(
            "if echo x > '{o}' 2>/dev/null; then echo WROTE > report.txt; else echo refused > report.txt; fi\n\
             echo '{{\"type\": \"learning\", \"topic\": \"workers\", \"content\": \"Remote workers see this\"}}' >> \"$VANE_CONTEXT_FILE\"",
            o = outside.display()
        ),
    );
    let run = env.vane(&["work", "--executor", "local"]).success();
    assert!(run.stderr.contains("1 landed"), "{}", run.stderr);
    let report = std::fs::read_to_string(env.repo.join("report.txt")).unwrap();
    if vane::agent::confine::status().is_ok() {
        assert_eq!(report, "refused\n");
        assert!(!outside.exists());
    } else {
        eprintln!("note: this kernel cannot confine; only the learning is checked");
    }
    let entries = env.vane(&["context", "list", "--json"]).success().json();
    let text = entries.to_string();
    assert!(text.contains("Remote workers see this"), "{text}");
}

/// Whether a Slurm cluster answers here; in CI (`VANE_REQUIRE_SLURM`) its absence fails the test.
fn slurm() -> bool {
    let up = std::process::Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !up {
        assert!(
            std::env::var_os("VANE_REQUIRE_SLURM").is_none(),
            "VANE_REQUIRE_SLURM is set but no Slurm cluster answers (tests/cluster/slurm-up starts one)"
        );
        eprintln!("note: skipping a Slurm test: no cluster answers `sinfo` (tests/cluster/slurm-up starts one)");
    }
    up
}

fn slurm_config(env: &TestEnv, extra: &str) {
    env.write(
        "vane.toml",
        &format!(
            "workers = 2\nmax_attempts = 1\nconfine = false\n{extra}[executor.cluster]\n\
             start = \"sbatch --parsable --job-name vane-{{task}}-{{attempt}} --output {out}/%j.out --wrap {{worker}}\"\n\
             cancel = \"scancel {{handle}}\"\nmax_jobs = 4\ntime_limit = 120\n",
            out = env.root.display()
        ),
    );
    env.git(&env.repo, &["commit", "-qam", "A Slurm executor"]);
}

#[test]
fn a_batch_runs_as_real_slurm_jobs_and_lands() {
    if !slurm() {
        return;
    }
    let env = TestEnv::configured("workers = 2\n");
    slurm_config(&env, "");
    for i in 1..=4 {
        add(
            &env,
            &format!("s{i}"),
            &format!("echo {i} > s{i}.txt; echo $SLURM_JOB_ID > job{i}.txt"),
        );
    }
    let run = env.vane(&["work", "--executor", "cluster"]).success();
    assert!(run.stderr.contains("4 landed"), "{}", run.stderr);
    for i in 1..=4 {
        // The agent ran inside a Slurm job.
        let job = std::fs::read_to_string(env.repo.join(format!("job{i}.txt"))).unwrap();
        assert!(
            job.trim().parse::<u64>().is_ok(),
            "not in a Slurm job: {job:?}"
        );
        let handle =
            std::fs::read_to_string(env.state_dir().join(format!("runs/s{i}/1/job.handle")))
                .unwrap();
        assert_eq!(
            handle.trim(),
            job.trim(),
            "the handle is the job id sbatch printed"
        );
    }
    assert_eq!(job_refs(&env, &env.repo), Vec::<String>::new());
}

#[test]
fn a_slurm_job_cancelled_by_scancel_is_lost_uncharged_and_runs_again() {
    if !slurm() {
        return;
    }
    let env = TestEnv::configured("workers = 2\n");
    slurm_config(&env, "");
    let mark = env.root.join("first-ran");
    add(
        &env,
        "victim",
        &format!(
            "if [ -f '{m}' ]; then echo done > v.txt; else touch '{m}'; sleep 120; fi",
            m = mark.display()
        ),
    );
    let work = Running::start(&env, &["work", "--executor", "cluster"]);
    wait_for("the first attempt's agent", Duration::from_secs(60), || {
        mark.exists()
    });
    let handle = env.state_dir().join("runs/victim/1/job.handle");
    wait_for("the job's handle", Duration::from_secs(30), || {
        handle.exists()
    });
    let job = std::fs::read_to_string(&handle).unwrap();
    let cancelled = std::process::Command::new("scancel")
        .arg(job.trim())
        .status()
        .unwrap();
    assert!(cancelled.success());
    let (status, stderr) = work.finish();
    assert!(status.success(), "{stderr}");
    let runs = attempts(&env, "victim");
    assert_eq!(
        runs.iter()
            .map(|r| (r.1.clone().unwrap(), r.2))
            .collect::<Vec<_>>(),
        vec![("lost".to_string(), false), ("landed".to_string(), true)],
        "{stderr}"
    );
}
