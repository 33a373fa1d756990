//! `vane worker`: runs one attempt anywhere git can reach the repository. It fetches its job
//! from the remote into a cache clone it keeps between attempts, runs the agent in a worktree of
//! that clone exactly as a local worker does (the same profile, timeout, confinement, hooks and
//! learnings file), commits what it left, and pushes the result record to
//! `refs/vane/results/<task>/<n>`. It pushes nothing else. It fails (exits non-zero) only for its
//! own trouble: a job it cannot fetch or read, a result it cannot push.

use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{push_ref, read_job, write_result, ResultRecord};
use crate::git::Git;
use crate::model::{AttemptOutcome, TaskId};
use crate::orchestrator::bootstrap::Bootstrap;
use crate::orchestrator::work::worker_pool::{run_work, Work};
use crate::orchestrator::{OrchestratorError, Result};
use crate::store::{job_ref, result_ref, AttemptResult};

/// The environment variable naming the folder a worker keeps its cache clones in.
pub const CACHE_ENV: &str = "VANE_WORKER_CACHE";

/// How long a worker keeps trying to push its result to a remote it cannot reach.
const PUSH_PATIENCE: Duration = Duration::from_secs(10 * 60);

/// What `vane worker` is asked to do.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The repository's remote: a path, `ssh://` or `https://`.
    pub remote: String,
    pub task: TaskId,
    pub attempt: u32,
    /// The job's ref; `refs/vane/jobs/<task>/<attempt>` when None.
    pub job_ref: Option<String>,
    /// Where the cache clones are; `$VANE_WORKER_CACHE`, else `~/.cache/vane/workers`.
    pub cache: Option<PathBuf>,
}

/// How the attempt went, as `vane worker --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerReport {
    pub task: TaskId,
    pub attempt: u32,
    pub outcome: AttemptOutcome,
    /// The ref the result was pushed to; None when vane was stopped before it could be.
    pub result_ref: Option<String>,
    pub result: Option<String>,
    pub head: Option<String>,
    pub seconds: f64,
    /// Milliseconds spent before the attempt began: the cache clone's upkeep and the job's fetch.
    pub prepare_ms: u64,
    /// Milliseconds the push of the result took.
    pub push_ms: u64,
    pub clone: PathBuf,
}

/// Runs the attempt of `options` and pushes its result.
pub fn run(options: &WorkerOptions) -> Result<WorkerReport> {
    let started = Instant::now();
    let cache = cache_dir(options)?;
    let git = cache_clone(&cache)?;
    let job = options
        .job_ref
        .clone()
        .unwrap_or_else(|| job_ref(&options.task, options.attempt));
    if !job.starts_with("refs/vane/jobs/") {
        return Err(OrchestratorError::Remote(format!(
            "{job} is not a job ref (refs/vane/jobs/...)"
        )));
    }
    git.fetch(&options.remote, &[format!("+{job}:{job}")])
        .map_err(|e| OrchestratorError::Remote(format!("cannot fetch the job {job}: {e}")))?;
    let job_sha = git
        .rev_parse(&job)?
        .ok_or_else(|| OrchestratorError::Remote(format!("no job at {job}")))?;
    let (spec, prompt) = read_job(&git, &job_sha)?;
    if spec.task.id != options.task || spec.attempt != options.attempt {
        return Err(OrchestratorError::Remote(format!(
            "the job at {job} is for {} attempt {}, not {} attempt {}",
            spec.task.id, spec.attempt, options.task, options.attempt
        )));
    }
    let slot = WorktreeSlot::take(&cache.join("worktrees"))?;
    let run_dir = cache
        .join("runs")
        .join(spec.task.id.as_str())
        .join(spec.attempt.to_string());
    if run_dir.exists() {
        // A worker of this attempt ran here before and was stopped: its files say nothing now.
        std::fs::remove_dir_all(&run_dir).map_err(|e| OrchestratorError::io(&run_dir, e))?;
    }
    let bootstrap = Bootstrap {
        checkout: slot.path.clone(),
        // Files of the person's checkout stay on the person's machine: they are never published.
        include: Vec::new(),
        setup: spec.setup.clone(),
        setup_dir: cache.join("setup"),
        log_limit: spec.log_limit,
    };
    let work = Work {
        guarded: std::sync::Arc::new(crate::orchestrator::guard::Guarded::capture(&git)?),
        task: spec.task.clone(),
        number: spec.attempt,
        profile: spec.profile.clone().into(),
        base_sha: spec.base_sha.clone(),
        prompt_file: run_dir.join("prompt.md"),
        run_dir: run_dir.clone(),
        prompt,
        log_limit: spec.log_limit,
        resume: spec.resume.clone(),
    };
    let prepare_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let result = run_work(&git, &bootstrap, &slot.path, &work);
    let seconds = started.elapsed().as_secs_f64();
    let mut report = WorkerReport {
        task: spec.task.id.clone(),
        attempt: spec.attempt,
        outcome: result.outcome,
        result_ref: None,
        result: None,
        head: result.head_sha.clone(),
        seconds,
        prepare_ms,
        push_ms: 0,
        clone: git.common_dir().to_path_buf(),
    };
    let result = if result.outcome == AttemptOutcome::Interrupted {
        // Stopped (scancel, a node going down): the coordinator is told the job is lost, so that
        // it runs the task again at once, unless it gave the job up itself (its ref is gone).
        let still_wanted = git
            .ls_remote(&options.remote, &[&job])
            .is_ok_and(|refs| refs.contains_key(&job));
        if !still_wanted {
            return Ok(report);
        }
        report.outcome = AttemptOutcome::Lost;
        AttemptResult {
            feedback: Some(
                "the worker was stopped (SIGTERM: `scancel`, a node going down) before its agent \
                 finished"
                    .to_string(),
            ),
            ..AttemptResult::new(AttemptOutcome::Lost)
        }
    } else {
        result
    };
    let record = ResultRecord::of(
        &spec.task.id,
        spec.attempt,
        &job_sha,
        &result,
        seconds,
        prepare_ms,
    );
    let commit = write_result(&git, &record, &run_dir)?;
    let target = result_ref(&spec.task.id, spec.attempt);
    let pushing = Instant::now();
    // A remote that cannot be reached for a while (or is busy) is waited for.
    push_ref(
        &git,
        &options.remote,
        &commit,
        &target,
        false,
        Instant::now() + PUSH_PATIENCE,
    )?;
    report.push_ms = u64::try_from(pushing.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.result_ref = Some(target);
    report.result = Some(commit);
    // The clone keeps no ref to a finished job: its objects go with the next `git gc`.
    let _ = git.delete_ref(&job, &job_sha);
    Ok(report)
}

/// The folder of the cache clone of `options.remote`: one per remote, named after it.
fn cache_dir(options: &WorkerOptions) -> Result<PathBuf> {
    let root = match (&options.cache, std::env::var_os(CACHE_ENV)) {
        (Some(dir), _) => dir.clone(),
        (None, Some(dir)) => PathBuf::from(dir),
        (None, None) => match std::env::var_os("XDG_CACHE_HOME") {
            Some(dir) => PathBuf::from(dir).join("vane").join("workers"),
            None => std::env::var_os("HOME")
                .map(|home| {
                    PathBuf::from(home)
                        .join(".cache")
                        .join("vane")
                        .join("workers")
                })
                .ok_or_else(|| {
                    OrchestratorError::Remote(format!(
                        "no cache folder: set {CACHE_ENV} or HOME, or pass --cache"
                    ))
                })?,
        },
    };
    use sha2::Digest;
    let digest = sha2::Sha256::digest(options.remote.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let name: String = options
        .remote
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("repo")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    let dir = root.join(format!("{name}-{hex}"));
    std::fs::create_dir_all(&dir).map_err(|e| OrchestratorError::io(&dir, e))?;
    // Agents' worktrees go here: never inside a repository, whose git they would reach.
    crate::orchestrator::work::refuse_root_in_a_repository(&dir)?;
    Ok(dir)
}

/// The bare cache clone in `cache`, made on first use, with vane's git hooks, so that an agent
/// moves only its own branch here too. Workers that start at once on one machine share it: one
/// makes it and installs the hooks, under a lock, and the others find them in place (rewriting
/// them would look, to the others' checks after their agents, like an agent's doing).
fn cache_clone(cache: &Path) -> Result<Git> {
    let lock = lock_file(&cache.join("clone.lock"), true)?;
    let repo = cache.join("repo.git");
    if !repo.join("HEAD").is_file() {
        let out = std::process::Command::new("git")
            .args(["init", "--quiet", "--bare"])
            .arg(&repo)
            .output()
            .map_err(|e| OrchestratorError::io(&repo, e))?;
        if !out.status.success() {
            return Err(OrchestratorError::Remote(format!(
                "cannot make the cache clone {}: {}",
                repo.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    let git = Git::open(&repo)?;
    let installed = crate::orchestrator::hooks::status(&git)?
        .hooks
        .iter()
        .all(|h| h.state == crate::orchestrator::hooks::HookState::Installed);
    if !installed {
        if let Ok(vane) = std::env::current_exe() {
            crate::orchestrator::hooks::install(&git, &vane)?;
        }
    }
    drop(lock);
    Ok(git)
}

/// A worktree of the cache clone that this worker holds, by a lock on `<n>.lock`, until it ends;
/// the worktrees are reused by the attempts that come after.
struct WorktreeSlot {
    path: PathBuf,
    _lock: std::fs::File,
}

impl WorktreeSlot {
    fn take(root: &Path) -> Result<WorktreeSlot> {
        std::fs::create_dir_all(root).map_err(|e| OrchestratorError::io(root, e))?;
        let mut n = 0;
        loop {
            n += 1;
            let lock = lock_file(&root.join(format!("w{n}.lock")), false)?;
            if let Some(lock) = lock {
                let path = root.join(format!("w{n}"));
                // What a worker killed here left running (its agent's group) is stopped before
                // anything touches the worktree again.
                crate::agent::strays::stop_marked_under(&path);
                return Ok(WorktreeSlot { path, _lock: lock });
            }
        }
    }
}

/// An exclusive lock on `path` (made when missing), held until the file is dropped: waited for
/// when `wait`, else None when another process holds it.
fn lock_file(path: &Path, wait: bool) -> Result<Option<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| OrchestratorError::io(path, e))?;
    let how = if wait {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), how) } == 0 {
        return Ok(Some(file));
    }
    let error = std::io::Error::last_os_error();
    if !wait && error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(None);
    }
    Err(OrchestratorError::io(path, error))
}
