//! Executors: how a worker is started for a job, and stopped. A template executor runs its
//! `start` command through the shell (every placeholder one shell word) and keeps what it prints
//! last as the job's handle, for `cancel`; the built-in `local` one runs `vane worker` as a process
//! of this machine, in a session of its own so that it outlives a coordinator killed meanwhile.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::agent::strays::AgentPid;
use crate::config::{Config, ExecutorConfig};
use crate::git::Git;
use crate::model::TaskId;
use crate::orchestrator::{OrchestratorError, Result};
use crate::ui::shell_word;

/// Where the job's handle is written in the attempt's run directory once the executor started it.
pub(super) const HANDLE_FILE: &str = "job.handle";

/// Written before the executor is asked to start a job: a run that finds it without a handle
/// does not know whether the job started.
pub(super) const STARTING_FILE: &str = "job.starting";

/// An executor of this batch, with the remote its jobs go through.
#[derive(Debug, Clone)]
pub(in crate::orchestrator::work) struct Executor {
    pub(in crate::orchestrator::work) name: String,
    config: ExecutorConfig,
    /// The URL or path workers fetch jobs from and push results to.
    pub(in crate::orchestrator::work) remote: String,
    /// The `vane` the workers run.
    vane: String,
}

/// The values of one job's placeholders.
pub(super) struct JobNames<'a> {
    pub(super) task: &'a TaskId,
    pub(super) attempt: u32,
    pub(super) job_ref: &'a str,
}

impl Executor {
    /// The executor `name` of `config`, its remote resolved: a remote of this repository by name,
    /// a URL or path as written, or this repository itself.
    pub(in crate::orchestrator::work) fn resolve(
        name: &str,
        config: &Config,
        git: &Git,
    ) -> Result<Executor> {
        let executor = config
            .executor(name)
            .ok_or_else(|| OrchestratorError::UnknownExecutor {
                name: name.to_string(),
                defined: match config.executors.keys().cloned().collect::<Vec<_>>() {
                    names if names.is_empty() => "none".to_string(),
                    names => names.join(", "),
                },
            })?;
        let remote = match &executor.remote {
            None => git.common_dir().display().to_string(),
            Some(remote) => git.remote_location(remote)?,
        };
        let vane = match &executor.vane {
            Some(vane) => vane.clone(),
            None => std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "vane".to_string()),
        };
        Ok(Executor {
            name: name.to_string(),
            config: executor,
            remote,
            vane,
        })
    }

    /// Workers running at once, at most.
    pub(in crate::orchestrator::work) fn max_jobs(&self) -> usize {
        self.config.max_jobs.max(1)
    }

    /// How long a worker may take, in milliseconds.
    pub(in crate::orchestrator::work) fn time_limit_ms(&self) -> i64 {
        i64::try_from(self.config.time_limit.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    /// The worker's command line, each word quoted for the shell.
    pub(super) fn worker_command(&self, job: &JobNames<'_>) -> String {
        self.worker_argv(job)
            .iter()
            .map(|w| shell_word(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn worker_argv(&self, job: &JobNames<'_>) -> Vec<String> {
        vec![
            self.vane.clone(),
            "worker".to_string(),
            "--remote".to_string(),
            self.remote.clone(),
            "--task".to_string(),
            job.task.to_string(),
            "--attempt".to_string(),
            job.attempt.to_string(),
            "--job-ref".to_string(),
            job.job_ref.to_string(),
        ]
    }

    /// `template` with its placeholders replaced, each by one shell word; `{{` and `}}` are
    /// braces.
    pub(super) fn expand(
        &self,
        template: &str,
        job: &JobNames<'_>,
        handle: Option<&str>,
    ) -> String {
        let value = |name: &str| -> Option<String> {
            // The worker's command, quoted word by word, becomes one word itself.
            Some(match name {
                "worker" => self.worker_command(job),
                "task" => job.task.to_string(),
                "attempt" => job.attempt.to_string(),
                "job_ref" => job.job_ref.to_string(),
                "remote" => self.remote.clone(),
                "handle" => handle?.to_string(),
                _ => return None,
            })
        };
        expand_template(template, value)
    }

    /// Starts a worker for `job`; returns its handle (what `start` printed last, or the local
    /// process). `run_dir` gets the local worker's log.
    pub(super) fn start(&self, job: &JobNames<'_>, run_dir: &Path) -> Result<String> {
        match &self.config.start {
            None => self.start_local(job, run_dir),
            Some(template) => {
                let command = self.expand(template, job, None);
                let out = Command::new("sh")
                    .arg("-c")
                    .arg(&command)
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| {
                        OrchestratorError::Remote(format!(
                            "cannot run the `start` of executor `{}`: {e}",
                            self.name
                        ))
                    })?;
                if !out.status.success() {
                    return Err(OrchestratorError::Remote(format!(
                        "the `start` of executor `{}` failed ({}): {}",
                        self.name,
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
                Ok(String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string())
            }
        }
    }

    fn start_local(&self, job: &JobNames<'_>, run_dir: &Path) -> Result<String> {
        use std::os::unix::process::CommandExt;
        let log_path = run_dir.join("worker.log");
        let log =
            std::fs::File::create(&log_path).map_err(|e| OrchestratorError::io(&log_path, e))?;
        let err = log
            .try_clone()
            .map_err(|e| OrchestratorError::io(&log_path, e))?;
        let argv = self.worker_argv(job);
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        // SAFETY: setsid is async-signal-safe and touches no memory of this process.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| OrchestratorError::Remote(format!("cannot start `{}`: {e}", argv[0])))?;
        let pid = AgentPid::of(child.id()).ok_or_else(|| {
            OrchestratorError::Remote("the local worker exited at once".to_string())
        })?;
        // Reaped when it ends, so that it never lingers as a zombie beside this process.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(format!("{} {}", pid.pgid, pid.started))
    }

    /// Stops the worker of `job`, best effort: `cancel` with its handle, or the local process.
    pub(super) fn cancel(&self, job: &JobNames<'_>, handle: Option<&str>) {
        match (&self.config.start, &self.config.cancel) {
            (None, _) => {
                if let Some(pid) = handle.and_then(local_pid) {
                    pid.terminate();
                }
            }
            (Some(_), Some(template)) => {
                let command = self.expand(template, job, handle);
                let ran = Command::new("sh")
                    .arg("-c")
                    .arg(&command)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .output();
                match ran {
                    Ok(out) if out.status.success() => {}
                    Ok(out) => tracing::warn!(
                        executor = %self.name,
                        stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                        "cancel failed"
                    ),
                    Err(e) => tracing::warn!(executor = %self.name, %e, "cannot run cancel"),
                }
            }
            (Some(_), None) => {}
        }
    }

    /// Whether the worker of a job is known to have ended: only the local executor can tell, by
    /// its handle, or without one (a run killed between starting it and writing its handle
    /// down) by looking for a `vane worker` of that attempt among this machine's processes.
    pub(super) fn ended(&self, handle: Option<&str>, task: &TaskId, attempt: u32) -> bool {
        if self.config.start.is_some() {
            return false;
        }
        match handle.and_then(local_pid) {
            Some(pid) => !pid.alive(),
            None => !local_worker_runs(task, attempt),
        }
    }
}

/// Whether a `vane worker` for attempt `attempt` of `task` runs on this machine.
fn local_worker_runs(task: &TaskId, attempt: u32) -> bool {
    let (task, attempt) = (task.to_string(), attempt.to_string());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            return false;
        };
        let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let after = |flag: &str, value: &str| {
            words
                .windows(2)
                .any(|w| w[0] == flag.as_bytes() && w[1] == value.as_bytes())
        };
        words.get(1) == Some(&b"worker".as_slice())
            && after("--task", &task)
            && after("--attempt", &attempt)
    })
}

/// The local worker a handle names (`pid start-time`).
fn local_pid(handle: &str) -> Option<AgentPid> {
    let mut words = handle.split_whitespace();
    Some(AgentPid {
        pgid: words.next()?.parse().ok()?,
        started: words.next()?.parse().ok()?,
    })
}

/// `template` with each `{name}` replaced by `value(name)` as one shell word; a name without a
/// value is left as written. `{{` and `}}` are literal braces.
pub(crate) fn expand_template(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let (true, Some(close)) = (tail.starts_with('{'), tail.find('}')) {
            let name = &tail[1..close];
            match value(name) {
                Some(v) => out.push_str(&shell_word(&v)),
                None => out.push_str(&tail[..=close]),
            }
            rest = &tail[close + 1..];
            continue;
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Reads a handle file, if the job has one.
pub(super) fn read_handle(run_dir: &Path) -> Option<String> {
    std::fs::read_to_string(run_dir.join(HANDLE_FILE))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Writes a file whole (a temporary name, then a rename).
pub(super) fn write_whole(path: PathBuf, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| OrchestratorError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| OrchestratorError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_one_shell_word_each() {
        let got = expand_template(
            "sbatch --job-name vane-{task} --wrap {worker} {{x}} {nope}",
            |n| match n {
                "task" => Some("a".into()),
                "worker" => Some("/bin/vane worker --remote '/r r'".into()),
                _ => None,
            },
        );
        assert_eq!(
            got,
            r"sbatch --job-name vane-a --wrap '/bin/vane worker --remote '\''/r r'\''' {x} {nope}"
        );
    }

    #[test]
    fn a_handle_names_the_local_process_it_started() {
        assert_eq!(
            local_pid("123 456"),
            Some(AgentPid {
                pgid: 123,
                started: 456
            })
        );
        assert_eq!(local_pid("Submitted batch job 5"), None);
    }
}
