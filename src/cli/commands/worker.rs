use std::path::PathBuf;

use crate::cli::CommandEnv;
use crate::error::CliError;
use crate::model::TaskId;
use crate::orchestrator::work::remote::worker::{self, WorkerOptions};

/// Run one attempt for a coordinator elsewhere: fetch its job, run the agent, push the result
///
/// An executor (`[executor.NAME]` in vane.toml, a Slurm `sbatch`, a Kubernetes Job, a CI run,
/// `ssh`) starts this on a machine that can reach the repository with git. It fetches the job the
/// coordinator published on REMOTE (`refs/vane/jobs/<task>/<n>`: the base commit, the prompt, the
/// agent profile and its settings) into a cache clone it keeps between attempts, runs the agent in
/// a worktree of that clone exactly as a local worker does (the same profile, timeout, confinement,
/// hooks and learnings file), commits what it left, and pushes the commit with a record of the run
/// to `refs/vane/results/<task>/<n>`. It pushes nothing else; the coordinator gates and lands it.
///
/// The cache is in $VANE_WORKER_CACHE, else ~/.cache/vane/workers, one clone per remote. SIGTERM
/// (`scancel`, Ctrl-C) stops the agent and pushes nothing; the coordinator gives the job up.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  vane worker --remote ssh://git@host/repo.git --task fix-login --attempt 2
  vane worker --remote /srv/git/repo.git --task a --attempt 1 --job-ref refs/vane/jobs/a/1

Exit status: 0 when the attempt ran and its result was pushed (whatever the agent did), 3 when
the job could not be fetched or the result pushed, 130 when stopped.")]
pub struct Args {
    /// The repository's remote, as the coordinator published the job there: a path, ssh:// or
    /// https://
    #[arg(long, value_name = "URL")]
    remote: String,

    /// The task of the attempt
    #[arg(long, value_name = "ID")]
    task: TaskId,

    /// The attempt's number
    #[arg(long, value_name = "N")]
    attempt: u32,

    /// The job's ref (default: refs/vane/jobs/<task>/<attempt>)
    #[arg(long, value_name = "REF")]
    job_ref: Option<String>,

    /// Where the cache clones are (default: $VANE_WORKER_CACHE, else ~/.cache/vane/workers)
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

pub fn run(env: &CommandEnv<'_>, args: Args) -> Result<(), CliError> {
    crate::agent::stop_agents_on_interrupt();
    let options = WorkerOptions {
        remote: args.remote,
        task: args.task,
        attempt: args.attempt,
        job_ref: args.job_ref,
        cache: args.cache.map(|dir| env.cwd.join(dir)),
    };
    let report = worker::run(&options)?;
    if env.ui.json() {
        env.ui.json_value(&report)?;
    } else {
        match &report.result_ref {
            Some(target) => env.ui.status(&format!(
                "{} attempt {}: {} in {:.1} s; result pushed to {target}",
                report.task, report.attempt, report.outcome, report.seconds
            )),
            None => env.ui.status(&format!(
                "{} attempt {}: stopped; nothing pushed",
                report.task, report.attempt
            )),
        }
    }
    if report.result_ref.is_none() {
        return Err(crate::orchestrator::OrchestratorError::Interrupted.into());
    }
    Ok(())
}
