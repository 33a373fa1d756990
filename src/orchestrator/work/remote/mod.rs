//! Attempts run by remote workers, with git as the only transport (DESIGN.md, "Beyond one
//! machine").
//!
//! The coordinator publishes a job for each attempt as a commit on `refs/vane/jobs/<task>/<n>` of
//! a remote: its tree holds `job.json` (the task, the attempt, the base, the agent profile and its
//! settings) and `prompt.md`; its parents are the base commit (and the head of the conflicting
//! attempt the job resumes), so fetching the job brings everything the worker starts from. An
//! executor (`[executor.NAME]`: a Slurm `sbatch`, a Kubernetes Job, a CI run, `ssh`, or the built-in
//! `local`) starts `vane worker` for it, which runs the agent exactly as a local worker does and
//! pushes a result record to `refs/vane/results/<task>/<n>`: a commit whose first parent is the
//! work (when the agent left any) and whose tree holds `result.json` and the attempt's run files.
//! The coordinator collects it and passes it into the same merge queue as local work; it stays
//! the single merge point. Refs are deleted on the remote once their attempt is recorded.

mod coordinate;
mod executor;
pub(super) mod runner;
pub mod worker;

pub(super) use coordinate::batch_executors;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(super) use executor::{expand_template, Executor};

use super::worker_pool::{JobTask, Resume, Work};
use crate::agent::{OutputParser, Profile};
use crate::git::Git;
use crate::model::{AttemptOutcome, TaskId};
use crate::orchestrator::{OrchestratorError, Result};
use crate::store::AttemptResult;

/// The version of `job.json` and `result.json` this vane writes and reads.
const WIRE_VERSION: u32 = 1;

/// The files of an attempt's run directory that travel back with its result, at most this many
/// bytes each (the end of the file is kept).
const RUN_FILES: &[&str] = &[
    "agent.stdout",
    "agent.stderr",
    "prompt.md",
    "context/entries.jsonl",
    "hooks/events.jsonl",
];

/// How much of each run file a result carries: the end of it.
const RUN_FILE_LIMIT: usize = 1024 * 1024;

/// A job as `job.json` holds it: everything a worker needs besides the prompt and the commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct JobSpec {
    pub(super) version: u32,
    pub(super) task: JobTask,
    pub(super) attempt: u32,
    pub(super) base_sha: String,
    pub(super) profile: ProfileSpec,
    pub(super) log_limit: Option<u64>,
    pub(super) resume: Option<Resume>,
    /// `setup` of vane.toml, run once in each new worktree of the worker.
    pub(super) setup: Option<String>,
}

/// An agent profile, as a job carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ProfileSpec {
    name: String,
    program: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    timeout_secs: u64,
    parser: OutputParser,
    writable: Vec<String>,
    confine: bool,
    model: Option<String>,
}

impl From<&Profile> for ProfileSpec {
    fn from(p: &Profile) -> Self {
        ProfileSpec {
            name: p.name.clone(),
            program: p.program.clone(),
            args: p.args.clone(),
            env: p.env.clone(),
            timeout_secs: p.timeout.as_secs(),
            parser: p.parser,
            writable: p.writable.clone(),
            confine: p.confine,
            model: p.model.clone(),
        }
    }
}

impl From<ProfileSpec> for Profile {
    fn from(p: ProfileSpec) -> Self {
        Profile {
            name: p.name,
            program: p.program,
            args: p.args,
            env: p.env,
            timeout: std::time::Duration::from_secs(p.timeout_secs),
            parser: p.parser,
            writable: p.writable,
            confine: p.confine,
            model: p.model,
        }
    }
}

/// A result as `result.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ResultRecord {
    pub(super) version: u32,
    pub(super) task: TaskId,
    pub(super) attempt: u32,
    /// The job commit the worker ran.
    pub(super) job: String,
    pub(super) outcome: String,
    pub(super) exit_code: Option<i32>,
    pub(super) head_sha: Option<String>,
    pub(super) session_id: Option<String>,
    pub(super) cost_usd: Option<f64>,
    pub(super) input_tokens: Option<i64>,
    pub(super) cached_input_tokens: Option<i64>,
    pub(super) output_tokens: Option<i64>,
    pub(super) model: Option<String>,
    pub(super) message: Option<String>,
    pub(super) feedback: Option<String>,
    pub(super) seconds: f64,
    /// The machine the worker ran on.
    pub(super) host: String,
    /// Milliseconds from the worker's start to the attempt's: the cache clone's upkeep and the
    /// job's fetch.
    pub(super) prepare_ms: u64,
}

impl ResultRecord {
    fn of(
        task: &TaskId,
        attempt: u32,
        job: &str,
        result: &AttemptResult,
        seconds: f64,
        prepare_ms: u64,
    ) -> Self {
        ResultRecord {
            version: WIRE_VERSION,
            task: task.clone(),
            attempt,
            job: job.to_string(),
            outcome: result.outcome.as_str().to_string(),
            exit_code: result.exit_code,
            head_sha: result.head_sha.clone(),
            session_id: result.session_id.clone(),
            cost_usd: result.cost_usd,
            input_tokens: result.input_tokens,
            cached_input_tokens: result.cached_input_tokens,
            output_tokens: result.output_tokens,
            model: result.model.clone(),
            message: result.message.clone(),
            feedback: result.feedback.clone(),
            seconds,
            host: hostname(),
            prepare_ms,
        }
    }

    /// The attempt's result as the coordinator records it. Whether it is charged follows from its
    /// outcome, as for a local worker's; what it touched is read from the commits, not the record.
    fn to_result(&self) -> Result<AttemptResult> {
        let outcome: AttemptOutcome = self.outcome.parse().map_err(|_| {
            OrchestratorError::Remote(format!("unknown outcome `{}`", self.outcome))
        })?;
        Ok(AttemptResult {
            exit_code: self.exit_code,
            head_sha: self.head_sha.clone(),
            session_id: self.session_id.clone(),
            cost_usd: self.cost_usd,
            input_tokens: self.input_tokens,
            cached_input_tokens: self.cached_input_tokens,
            output_tokens: self.output_tokens,
            model: self.model.clone(),
            message: self.message.clone(),
            feedback: self.feedback.clone(),
            ..AttemptResult::new(outcome)
        })
    }
}

/// The job of `work`, written as a commit of this repository; returns its id.
pub(super) fn write_job(git: &Git, work: &Work, setup: Option<&str>) -> Result<String> {
    let spec = JobSpec {
        version: WIRE_VERSION,
        task: work.task.clone(),
        attempt: work.number,
        base_sha: work.base_sha.clone(),
        profile: ProfileSpec::from(&work.profile),
        log_limit: work.log_limit,
        resume: work.resume.clone(),
        setup: setup.map(str::to_string),
    };
    let json = serde_json::to_vec_pretty(&spec)
        .map_err(|e| OrchestratorError::Remote(format!("cannot write job.json: {e}")))?;
    let mut parents = vec![work.base_sha.clone()];
    if let Some(resume) = &work.resume {
        parents.push(resume.head.clone());
    }
    let message = format!(
        "vane job: {} attempt {}\n\nVane-Task: {}\nVane-Attempt: {}",
        work.task.title, work.number, work.task.id, work.number
    );
    Ok(git.write_record(
        &[
            ("job.json".to_string(), json),
            ("prompt.md".to_string(), work.prompt.clone().into_bytes()),
        ],
        &parents,
        &message,
    )?)
}

/// Reads a job commit: its spec and prompt.
pub(super) fn read_job(git: &Git, commit: &str) -> Result<(JobSpec, String)> {
    let (files, _) = git.read_record(commit)?;
    let spec: JobSpec = files
        .get("job.json")
        .ok_or_else(|| OrchestratorError::Remote(format!("job {commit} has no job.json")))
        .and_then(|bytes| {
            serde_json::from_slice(bytes).map_err(|e| {
                OrchestratorError::Remote(format!("job {commit} has an unreadable job.json: {e}"))
            })
        })?;
    if spec.version != WIRE_VERSION {
        return Err(OrchestratorError::Remote(format!(
            "job {commit} is of version {}; this vane reads version {WIRE_VERSION}",
            spec.version
        )));
    }
    let prompt = files
        .get("prompt.md")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    Ok((spec, prompt))
}

/// A result record read from its commit: the record, the run files it carries, its parents.
pub(super) struct ReadResult {
    pub(super) record: ResultRecord,
    pub(super) files: Vec<(String, Vec<u8>)>,
    pub(super) parents: Vec<String>,
}

/// Writes the record of an attempt's result: `result.json` and the run files, with the work (if
/// any) as first parent and the job as the other.
pub(super) fn write_result(
    git: &Git,
    record: &ResultRecord,
    run_dir: &std::path::Path,
) -> Result<String> {
    let json = serde_json::to_vec_pretty(record)
        .map_err(|e| OrchestratorError::Remote(format!("cannot write result.json: {e}")))?;
    let mut files = vec![("result.json".to_string(), json)];
    for name in RUN_FILES {
        if let Ok(bytes) = std::fs::read(run_dir.join(name)) {
            let start = bytes.len().saturating_sub(RUN_FILE_LIMIT);
            files.push((format!("run/{name}"), bytes[start..].to_vec()));
        }
    }
    let mut parents = Vec::new();
    if let Some(head) = &record.head_sha {
        parents.push(head.clone());
    }
    parents.push(record.job.clone());
    let message = format!(
        "vane result: {} attempt {} ({})\n\nVane-Task: {}\nVane-Attempt: {}",
        record.task, record.attempt, record.outcome, record.task, record.attempt
    );
    Ok(git.write_record(&files, &parents, &message)?)
}

/// Reads a result commit; an error for one that is not a record of this version.
pub(super) fn read_result(git: &Git, commit: &str) -> Result<ReadResult> {
    let (files, parents) = git.read_record(commit)?;
    let record: ResultRecord = files
        .get("result.json")
        .ok_or_else(|| OrchestratorError::Remote("it has no result.json".to_string()))
        .and_then(|bytes| {
            serde_json::from_slice(bytes).map_err(|e| {
                OrchestratorError::Remote(format!("its result.json is unreadable: {e}"))
            })
        })?;
    if record.version != WIRE_VERSION {
        return Err(OrchestratorError::Remote(format!(
            "it is of version {}; this vane reads version {WIRE_VERSION}",
            record.version
        )));
    }
    // Only the run files vane sends, by their own names: nothing a forged record names lands
    // anywhere else.
    let files = RUN_FILES
        .iter()
        .filter_map(|name| {
            files
                .get(&format!("run/{name}"))
                .map(|bytes| (name.to_string(), bytes.clone()))
        })
        .collect();
    Ok(ReadResult {
        record,
        files,
        parents,
    })
}

/// Sets `refname` on `remote` to `sha` (over what is there when `force`, else only where nothing
/// is), trying again until `until` while the remote cannot be reached or refuses the update for a
/// reason of its own (a lock another push holds). An error when the ref holds something else
/// (and not `force`), or once `until` passed.
pub(super) fn push_ref(
    git: &Git,
    remote: &str,
    sha: &str,
    refname: &str,
    force: bool,
    until: std::time::Instant,
) -> Result<()> {
    let spec = format!("{}{sha}:{refname}", if force { "+" } else { "" });
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        let why = match git.push(remote, std::slice::from_ref(&spec), &[]) {
            Ok(true) => return Ok(()),
            Ok(false) => match git.ls_remote(remote, &[refname]) {
                Ok(refs) => match refs.get(refname) {
                    Some(there) if there == sha => return Ok(()),
                    Some(there) if !force => {
                        return Err(OrchestratorError::Remote(format!(
                            "{remote} holds {there} at {refname} already"
                        )))
                    }
                    _ => format!("{remote} refused {refname} for now"),
                },
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        if std::time::Instant::now() >= until || crate::agent::interrupted() {
            return Err(OrchestratorError::Remote(format!(
                "cannot push {refname} to {remote}: {why}"
            )));
        }
        tracing::warn!(remote, refname, why, "cannot push; trying again");
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_secs(30));
    }
}

/// How long the coordinator keeps trying to publish a job.
pub(super) const PUBLISH_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// This machine's name, for the record.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The `(task, attempt)` a `refs/vane/jobs/...` or `refs/vane/results/...` ref names.
pub(super) fn ref_key(refname: &str) -> Option<(TaskId, u32)> {
    let rest = refname
        .strip_prefix("refs/vane/results/")
        .or_else(|| refname.strip_prefix("refs/vane/jobs/"))?;
    let (task, number) = rest.rsplit_once('/')?;
    Some((task.parse().ok()?, number.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::cli::testing::TestRepo;
    use std::path::PathBuf;

    fn work(base: &str) -> Work {
        Work {
            guarded: std::sync::Arc::new(
                crate::orchestrator::guard::Guarded::capture(&TestRepo::new().git).unwrap(),
            ),
            task: JobTask {
                id: "a".parse().unwrap(),
                title: "Task a".into(),
                run: Some("echo a > a.txt".into()),
            },
            number: 2,
            profile: Profile::builtin("shell").unwrap(),
            base_sha: base.to_string(),
            run_dir: PathBuf::from("/nonexistent"),
            prompt_file: PathBuf::from("/nonexistent/prompt.md"),
            prompt: "Do a.\n".into(),
            log_limit: Some(1000),
            resume: None,
        }
    }

    #[test]
    fn a_job_reads_back_as_it_was_written() {
        let repo = TestRepo::new();
        let base = repo.git.rev_parse("HEAD").unwrap().unwrap();
        let work = work(&base);
        let job = write_job(&repo.git, &work, Some("make deps")).unwrap();
        let (spec, prompt) = read_job(&repo.git, &job).unwrap();
        assert_eq!(prompt, "Do a.\n");
        assert_eq!(spec.task, work.task);
        assert_eq!(spec.attempt, 2);
        assert_eq!(spec.base_sha, base);
        assert_eq!(spec.setup.as_deref(), Some("make deps"));
        assert_eq!(Profile::from(spec.profile), work.profile);
        // The base travels with the job.
        let (_, parents) = repo.git.read_record(&job).unwrap();
        assert_eq!(parents, vec![base]);
    }

    #[test]
    fn a_result_keeps_only_the_run_files_vane_sends() {
        let repo = TestRepo::new();
        let base = repo.git.rev_parse("HEAD").unwrap().unwrap();
        let job = write_job(&repo.git, &work(&base), None).unwrap();
        let run = tempfile::tempdir().unwrap();
        std::fs::write(run.path().join("agent.stdout"), "done\n").unwrap();
        std::fs::write(run.path().join("secret.txt"), "no\n").unwrap();
        let result = AttemptResult {
            head_sha: Some(base.clone()),
            cost_usd: Some(0.25),
            ..AttemptResult::new(AttemptOutcome::Changed)
        };
        let record = ResultRecord::of(&"a".parse().unwrap(), 2, &job, &result, 1.5, 10);
        let commit = write_result(&repo.git, &record, run.path()).unwrap();
        let read = read_result(&repo.git, &commit).unwrap();
        assert_eq!(read.record, record);
        assert_eq!(read.parents, vec![base, job]);
        assert_eq!(
            read.files,
            vec![("agent.stdout".to_string(), b"done\n".to_vec())]
        );
        let back = read.record.to_result().unwrap();
        assert_eq!(back.outcome, AttemptOutcome::Changed);
        assert!(back.charged);
        assert_eq!(back.cost_usd, Some(0.25));
    }

    #[test]
    fn refs_name_their_task_and_attempt() {
        assert_eq!(
            ref_key("refs/vane/results/fix-login/3"),
            Some(("fix-login".parse().unwrap(), 3))
        );
        assert_eq!(
            ref_key("refs/vane/jobs/a/1"),
            Some(("a".parse().unwrap(), 1))
        );
        assert_eq!(ref_key("refs/vane/results/a/x"), None);
        assert_eq!(ref_key("refs/heads/main"), None);
    }
}
