//! The workers: threads that each own a worktree, take a job (a claimed attempt), prepare the
//! worktree, run the agent confined to it, check what it did, and commit what it left on the task
//! branch. They report back to the coordinator and never touch the database.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use super::AGENT_PID_FILE;
use crate::agent::{self, Invocation, Profile, TemplateVars};
use crate::git::conflict::conflict_marker_lines;
use crate::git::Git;
use crate::model::{AttemptOutcome, Task, TaskId};
use crate::orchestrator::bootstrap::Bootstrap;
use crate::orchestrator::{gates, OrchestratorError, Result};
use crate::prompt::{self, LandedChange, MergeToResolve};
use crate::store::{Attempt, AttemptResult};

/// The message of the commit that keeps what an agent left in a worktree whose `.git` it removed.
const LEFTOVER_AFTER_WRECK: &str =
    "Work left by an attempt that removed its worktree's .git\n\nVane-Leftover: yes";

/// A task handed to a worker: the attempt the coordinator claimed, and the work to do for it.
pub(super) struct Job {
    pub(super) attempt: Attempt,
    pub(super) work: Work,
}

/// What a worker needs to run one attempt, here or on another machine (see `remote`).
pub(super) struct Work {
    /// The repository's config and hooks as the batch found them, checked after the agent.
    pub(super) guarded: std::sync::Arc<crate::orchestrator::guard::Guarded>,
    pub(super) task: JobTask,
    /// The attempt's number.
    pub(super) number: u32,
    pub(super) profile: Profile,
    pub(super) base_sha: String,
    pub(super) run_dir: PathBuf,
    pub(super) prompt_file: PathBuf,
    pub(super) prompt: String,
    /// How much of each of the agent's output streams its log keeps.
    pub(super) log_limit: Option<u64>,
    /// Where the attempt starts when its task's last attempt conflicted with base: from the merge
    /// of that attempt's work with base, instead of from base. None to start from base.
    pub(super) resume: Option<Resume>,
}

/// What of its task an attempt's agent is given.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct JobTask {
    pub(super) id: TaskId,
    pub(super) title: String,
    /// The task's `run` command, for the `shell` agent.
    pub(super) run: Option<String>,
}

impl JobTask {
    pub(super) fn of(task: &Task) -> JobTask {
        JobTask {
            id: task.id.clone(),
            title: task.title.clone(),
            run: task.run.clone(),
        }
    }
}

/// The work an attempt resumes: the branch of an attempt the merge queue found conflicting with
/// base, which the worker checks out and merges base into, leaving the conflict markers for the
/// agent (see `Git::start_from_merge`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Resume {
    /// The number of the attempt that conflicted.
    pub(super) attempt: u32,
    /// The head it left, which the merge queue found conflicting.
    pub(super) head: String,
    /// The base it started from: what landed on base since is what it conflicts with.
    pub(super) since: String,
}

/// What a worker reports back.
pub(super) struct Done {
    pub(super) worker: usize,
    pub(super) attempt: Attempt,
    pub(super) result: AttemptResult,
    pub(super) changed: bool,
    pub(super) seconds: f64,
    /// The result commit a remote worker pushed, once collected; None for a local worker's.
    pub(super) result_commit: Option<String>,
}

/// The worker threads of a batch and what the coordinator knows of them.
pub(super) struct Pool {
    pub(super) job_senders: Vec<mpsc::Sender<Job>>,
    pub(super) handles: Vec<std::thread::JoinHandle<()>>,
    /// Jobs handed to workers whose report has not come back.
    pub(super) in_flight: usize,
}

/// A worker's whole job: prepare the worktree for the task, run the agent, commit what it left.
pub(super) fn run_job(
    git: &Git,
    bootstrap: &Bootstrap,
    worker: usize,
    worktree: &Path,
    job: Job,
) -> Done {
    let started = Instant::now();
    let result = run_work(git, bootstrap, worktree, &job.work);
    let changed = result.outcome == AttemptOutcome::Changed;
    Done {
        worker,
        attempt: job.attempt,
        result,
        changed,
        seconds: started.elapsed().as_secs_f64(),
        result_commit: None,
    }
}

/// Runs the agent of one attempt in `worktree` and commits what it left; vane's own failures are
/// a `VaneError` result, never charged.
pub(super) fn run_work(
    git: &Git,
    bootstrap: &Bootstrap,
    worktree: &Path,
    work: &Work,
) -> AttemptResult {
    run_work_inner(git, bootstrap, worktree, work).unwrap_or_else(|e| AttemptResult {
        // vane's failure (or the environment's: a full disk, read-only objects), not the agent's.
        feedback: Some(format!("vane could not run the attempt: {e}")),
        ..AttemptResult::new(AttemptOutcome::VaneError)
    })
}

fn run_work_inner(
    git: &Git,
    bootstrap: &Bootstrap,
    worktree: &Path,
    job: &Work,
) -> Result<AttemptResult> {
    std::fs::create_dir_all(&job.run_dir).map_err(|e| OrchestratorError::io(&job.run_dir, e))?;
    std::fs::write(&job.prompt_file, &job.prompt)
        .map_err(|e| OrchestratorError::io(&job.prompt_file, e))?;
    // What a crashed run left in this worktree was committed by recovery before the batch began,
    // and this worker's own last job committed all its agent left: nothing here is unsaved.
    if git.ensure_worktree(worktree, &job.base_sha)? {
        // Made again (or for the first time): whatever was set up before is gone.
        bootstrap.forget_setup(worktree)?;
    }
    let branch = job.task.id.branch();
    let mut prompt = job.prompt.clone();
    let (start, conflicts) = match &job.resume {
        Some(resume) => {
            let conflicts = git.start_from_merge(worktree, &branch, &resume.head, &job.base_sha)?;
            // Known only now that the merge is made: the prompt gets the section that says so.
            prompt.push_str(&merge_section(git, resume, &job.base_sha, &conflicts)?);
            std::fs::write(&job.prompt_file, &prompt)
                .map_err(|e| OrchestratorError::io(&job.prompt_file, e))?;
            (resume.head.as_str(), conflicts)
        }
        None => {
            git.start_task_branch(worktree, &branch, &job.base_sha)?;
            (job.base_sha.as_str(), Vec::new())
        }
    };
    // Every task, after the clean of `start_task_branch`: a change to them reaches the next task.
    bootstrap.copy_includes(worktree)?;
    if let Some(feedback) = bootstrap.ensure_setup(worktree)? {
        // Let go of the branch, as after an agent, so that a retry may check it out elsewhere.
        git.detach_head(worktree, start)?;
        return Ok(AttemptResult {
            feedback: Some(feedback),
            ..AttemptResult::new(AttemptOutcome::Failed)
        });
    }
    let vars = TemplateVars {
        prompt: &prompt,
        prompt_file: &job.prompt_file,
        task_id: job.task.id.as_str(),
        worktree,
        run: job.task.run.as_deref(),
    };
    let confined = job.profile.confine && agent::confine::status().is_ok();
    let mut argv = if confined {
        job.profile.inside_confinement().argv(&vars)?
    } else {
        job.profile.argv(&vars)?
    };
    // Agents with hooks report what they do as they do it (see `hooks::wire_agent_hooks`).
    if let Ok(vane) = std::env::current_exe() {
        crate::orchestrator::hooks::wire_agent_hooks(&mut argv, &job.run_dir, &vane)?;
    }
    // Where the agent may leave what it learns, recorded once it ends (see `learnings`).
    let context_file = crate::learnings::context_file(&job.run_dir);
    let context_dir = crate::learnings::context_dir(&job.run_dir);
    std::fs::create_dir_all(&context_dir).map_err(|e| OrchestratorError::io(&context_dir, e))?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&context_file)
        .map_err(|e| OrchestratorError::io(&context_file, e))?;
    let mut env: Vec<(String, String)> = job.profile.env.clone().into_iter().collect();
    env.extend([
        ("VANE_TASK_ID".to_string(), job.task.id.to_string()),
        ("VANE_TASK_TITLE".to_string(), job.task.title.clone()),
        (
            "VANE_PROMPT_FILE".to_string(),
            job.prompt_file.display().to_string(),
        ),
        ("VANE_WORKTREE".to_string(), worktree.display().to_string()),
        ("VANE_BASE_SHA".to_string(), job.base_sha.clone()),
        ("VANE_ATTEMPT".to_string(), job.number.to_string()),
        (
            crate::learnings::CONTEXT_FILE_ENV.to_string(),
            context_file.display().to_string(),
        ),
        (
            crate::orchestrator::hooks::INBOX_ENV.to_string(),
            crate::orchestrator::hooks::inbox(&job.run_dir)
                .display()
                .to_string(),
        ),
    ]);
    let stdout = job.run_dir.join("agent.stdout");
    let outcome = agent::run(&Invocation {
        argv,
        env,
        cwd: worktree.to_path_buf(),
        stdout: stdout.clone(),
        stderr: job.run_dir.join("agent.stderr"),
        timeout: job.profile.timeout,
        pid_file: Some(job.run_dir.join(AGENT_PID_FILE)),
        confine: agent_confinement(git, worktree, job)?,
        log_limit: job.log_limit,
    })?;
    // A worker whose whole job was stopped (`scancel` signals every process of a Slurm job, the
    // agent too) was interrupted, whatever became of the agent first.
    if outcome.interrupted || agent::interrupted() {
        // Stopped with vane: says nothing about the task; the attempt is not charged.
        return Ok(AttemptResult {
            feedback: Some("vane was stopped while the agent ran".to_string()),
            ..AttemptResult::new(AttemptOutcome::Interrupted)
        });
    }
    // What left the agent's process group (`setsid`, a daemon) is stopped too, before anything
    // else touches the worktree.
    let strays = agent::strays::stop_marked_under(worktree);
    if strays > 0 {
        tracing::info!(worktree = %worktree.display(), strays, "stopped processes the agent left running");
    }
    // Read before anything else can fail: what the run cost is kept whatever its outcome.
    let report = agent::parse_run(
        job.profile.parser,
        &stdout,
        &job.run_dir.join("agent.stderr"),
    );
    let reported = |kind: AttemptOutcome| AttemptResult {
        exit_code: outcome.exit_code,
        ..as_reported(&report, &job.profile, kind)
    };
    if let Err(crate::git::GitError::ForeignWorktree { found, .. }) = git.worktree_git_dir(worktree)
    {
        // The agent wrecked its worktree: that is its doing, so the attempt counts. A `.git` file
        // it removed is put back and what it left is kept on its branch; a worktree it replaced
        // with a repository of its own is made again before its next use.
        let kept = git.repair_worktree(worktree)?
            && git.current_branch(worktree)?.as_deref() == Some(branch.as_str());
        let mut head_sha = None;
        if kept {
            git.commit_all_except(worktree, LEFTOVER_AFTER_WRECK, &bootstrap.include)?;
            let head = git.head(worktree)?;
            git.detach_head(worktree, &head)?;
            head_sha = Some(head);
        }
        return Ok(AttemptResult {
            feedback: Some(format!(
                "the agent broke its worktree ({found}); {}. Never remove or replace `.git`",
                if kept {
                    "its `.git` was put back and what it left is kept on its branch"
                } else {
                    "nothing it did could be kept"
                }
            )),
            head_sha,
            ..reported(AttemptOutcome::Failed)
        });
    }
    if git.current_branch(worktree)?.as_deref() != Some(branch.as_str()) {
        // The agent switched its worktree to another branch, or detached it: what it left is not
        // committed anywhere (it could be base), and the worktree lets go of whatever it holds.
        let head = git.head(worktree)?;
        git.detach_head(worktree, &head)?;
        return Ok(AttemptResult {
            feedback: Some(format!(
                "the agent left its worktree off its branch `{branch}`; work only on that branch"
            )),
            ..reported(AttemptOutcome::Failed)
        });
    }
    let message = format!(
        "{}\n\nVane-Task: {}\nVane-Attempt: {}",
        job.task.title, job.task.id, job.number
    );
    // Whatever the agent left is kept on its branch, whether it succeeded or not (with a merge in
    // progress, as the merge commit of the branch's earlier work and base).
    // Never the files `include` copied in (see `bootstrap`).
    git.commit_all_except(worktree, &message, &bootstrap.include)?;
    let head = git.head(worktree)?;
    // Let go of the branch, so that a retry may check it out in another worker's worktree.
    git.detach_head(worktree, &head)?;
    let mut result = AttemptResult {
        head_sha: Some(head.clone()),
        // What the branch changes over base: learned, so that the task's next attempts are not
        // run beside a task that touches the same paths.
        touched: Some(git.changed_paths(&job.base_sha, &head)?),
        // Changed, unless a check below finds a failure, a timeout or no change at all.
        ..reported(AttemptOutcome::Changed)
    };
    let changed = job.guarded.restore_changes();
    if !changed.is_empty() {
        return Ok(AttemptResult {
            outcome: AttemptOutcome::Failed,
            feedback: Some(format!(
                "the agent changed the repository's own configuration or hooks ({}); they were \
                 put back. An agent works only in its worktree and on its branch",
                changed.join(", ")
            )),
            ..result
        });
    }
    let dangling = git.dangling_gitlinks(&job.base_sha, &head)?;
    // A repository the agent made inside its worktree is what a gitlink to a commit nothing else
    // holds comes from (committing everything records one as such).
    let nested: Vec<PathBuf> = dangling
        .iter()
        .map(PathBuf::from)
        .filter(|path| std::fs::symlink_metadata(worktree.join(path).join(".git")).is_ok())
        .collect();
    if !nested.is_empty() {
        // Never landed as gitlinks to commits nothing holds: moved out of the worktree whole,
        // beside it, for the person to look at, and the attempt fails saying so.
        let kept = keep_nested(worktree, &job.task.id, job.number, &nested)?;
        return Ok(AttemptResult {
            outcome: AttemptOutcome::Failed,
            feedback: Some(format!(
                "the agent made a git repository inside its worktree ({}); vane never lands one \
                 (it would be a link to a commit nothing holds). It was moved to {}; put the \
                 files in the task's own tree instead",
                nested
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                kept.display()
            )),
            ..result
        });
    }
    if !dangling.is_empty() {
        return Ok(AttemptResult {
            outcome: AttemptOutcome::Failed,
            feedback: Some(format!(
                "the branch adds {} as a gitlink to a commit this repository does not have (a \
                 nested repository added with `git add`); commit its files instead",
                dangling.join(", ")
            )),
            ..result
        });
    }
    let failed = outcome.exit_code != Some(0) || report.success == Some(false);
    if outcome.timed_out {
        result.outcome = AttemptOutcome::TimedOut;
        result.feedback = Some(format!(
            "the agent did not finish within {} s and was stopped",
            job.profile.timeout.as_secs()
        ));
    } else if failed {
        result.outcome = AttemptOutcome::Failed;
        result.feedback = Some(format!(
            "the agent {}; the end of its output:\n{}",
            match outcome.exit_code {
                Some(code) if code != 0 => format!("exited with {code}"),
                Some(_) => "reported an error".to_string(),
                None => "was killed by a signal".to_string(),
            },
            tail_both(&job.run_dir)
        ));
    } else if let Some(left) = markers_left(worktree, &conflicts) {
        result.outcome = AttemptOutcome::Failed;
        result.feedback = Some(format!(
            "the conflict markers the merge left are still in {left}; resolve every conflict, \
             keeping the intent of both sides, and remove its markers (`<<<<<<<`, `=======`, \
             `>>>>>>>`)"
        ));
    } else if head == job.base_sha {
        result.outcome = AttemptOutcome::Unchanged;
        result.feedback = Some("the agent finished without changing anything".to_string());
    }
    Ok(result)
}

/// A result with what the agent reported of its run: its session, final words, tokens, model (its
/// profile's `model` when it names none) and its own cost figure, which the coordinator prices
/// from the tokens when there is none (see `Prices::cost`).
fn as_reported(
    report: &agent::AgentReport,
    profile: &Profile,
    outcome: AttemptOutcome,
) -> AttemptResult {
    let tokens = |t: Option<u64>| t.and_then(|t| i64::try_from(t).ok());
    AttemptResult {
        session_id: report.session_id.clone(),
        cost_usd: report.cost_usd,
        input_tokens: tokens(report.input_tokens),
        cached_input_tokens: tokens(report.cached_input_tokens),
        output_tokens: tokens(report.output_tokens),
        model: report.model.clone().or_else(|| profile.model.clone()),
        message: report.message.clone(),
        ..AttemptResult::new(outcome)
    }
}

/// The section of the prompt for an attempt that resumes `resume` from its merge with `base`,
/// which conflicted in `conflicts`: what the task's branch holds of its own, and what landed on
/// base since the conflicting attempt started that touched those paths.
fn merge_section(git: &Git, resume: &Resume, base: &str, conflicts: &[String]) -> Result<String> {
    let own_subjects = git.own_subjects(base, &resume.head)?;
    let own_stat = git.diff_stat(base, &resume.head)?;
    let landed: Vec<LandedChange> = git
        .landed_touching(&resume.since, base, conflicts)?
        .into_iter()
        .map(|c| LandedChange {
            subject: c.subject,
            tasks: c.tasks,
        })
        .collect();
    Ok(prompt::merge_section(&MergeToResolve {
        conflicted_attempt: resume.attempt,
        paths: conflicts,
        own_subjects: &own_subjects,
        own_stat: &own_stat,
        landed: &landed,
    }))
}

/// Where conflict markers are left in `conflicts` (paths of the worktree, as the agent left them
/// and they were just committed): `a.txt (lines 2, 4, 6), b.txt (line 3)`; None when none is.
/// A file the agent removed, or one that is not text, holds none.
fn markers_left(worktree: &Path, conflicts: &[String]) -> Option<String> {
    let found: Vec<String> = conflicts
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(worktree.join(path)).ok()?;
            let lines = conflict_marker_lines(&String::from_utf8_lossy(&bytes));
            match lines.as_slice() {
                [] => None,
                [one] => Some(format!("{path} (line {one})")),
                many => Some(format!(
                    "{path} (lines {})",
                    many.iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        })
        .collect();
    (!found.is_empty()).then(|| found.join(", "))
}

/// Moves the nested repositories an agent made out of its worktree, whole, to
/// `<worktree root>/kept/<task>-<attempt>/<path>` (the same file system, so a rename), where no
/// clean of the worktree reaches them and `vane gc` leaves them. Returns that folder.
fn keep_nested(
    worktree: &Path,
    task: &TaskId,
    attempt: u32,
    nested: &[PathBuf],
) -> Result<PathBuf> {
    let root = worktree.parent().unwrap_or(worktree);
    let kept = root.join("kept").join(format!("{task}-{attempt}"));
    for path in nested {
        let to = kept.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| OrchestratorError::io(parent, e))?;
        }
        let from = worktree.join(path);
        std::fs::rename(&from, &to).map_err(|e| OrchestratorError::io(&from, e))?;
    }
    Ok(kept)
}

fn tail_both(run_dir: &Path) -> String {
    let out = gates::tail_text(&run_dir.join("agent.stdout"), 10);
    let err = gates::tail_text(&run_dir.join("agent.stderr"), 10);
    [out, err]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the agent of `job` may write when it runs confined (DESIGN.md, "Agents are not trusted"):
/// its worktree, what a commit on its own branch needs in the git directory, `<run>/tmp` (its
/// TMPDIR), its hook inbox and context file, and what its profile declares. None with
/// `confine = false`.
fn agent_confinement(git: &Git, worktree: &Path, job: &Work) -> Result<Option<agent::Confinement>> {
    if !job.profile.confine {
        return Ok(None);
    }
    let admin = git.worktree_git_dir(worktree)?;
    Ok(Some(
        agent::Confinement::to_worktree(worktree, &job.run_dir.join("tmp"))
            .with_commits(&admin, git.common_dir())
            .with_declared(&job.profile.writable)
            // Where its hooks write what they saw, for the work loop to record (see `hooks`).
            .with_declared(&[format!(
                "{}/",
                crate::orchestrator::hooks::inbox_dir(&job.run_dir).display()
            )])
            // Where it leaves what it learns (see `learnings`).
            .with_declared(&[format!(
                "{}/",
                crate::learnings::context_dir(&job.run_dir).display()
            )]),
    ))
}
