//! Making a worker's worktree ready for a task the way a person's checkout is: the untracked or
//! ignored files `include` names (`.env`, local settings) copied in before every task, and the
//! `setup` command (installing dependencies) run once per worktree.
//!
//! Copied files must never be committed. They are untracked or ignored in the person's checkout,
//! and an ignored one stays ignored in the worktree, but an untracked one would be picked up by
//! `git add --all`. Git has no exclude file per worktree (`info/exclude` is shared with the
//! person's checkout, whose `git status` would then hide the file), and a per-worktree
//! `core.excludesFile` needs `extensions.worktreeConfig`, a repository-wide change that older git
//! tools refuse, and would replace the person's own global excludes file. So the commit leaves
//! them out instead: `Git::commit_all_except` (also for what recovery commits). An agent that runs
//! `git add --all && git commit` itself can still commit an untracked one; keeping such files
//! ignored in `.gitignore` closes that too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::gates::tail_text;
use super::{OrchestratorError, Result};
use crate::agent::{self, Invocation};
use crate::git::Git;

/// How long `setup` may run before it is stopped and the attempt fails.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What a worker needs to prepare its worktree beyond git.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The person's checkout, where included files are copied from.
    pub checkout: PathBuf,
    /// `include`: paths from the repository root, already checked to stay inside it.
    pub include: Vec<String>,
    pub setup: Option<String>,
    /// `runs/setup` in the state directory: `<worktree>.log`, and `<worktree>.ok` once setup
    /// succeeded there (holding the command, so that a changed `setup` runs again).
    pub setup_dir: PathBuf,
    /// How much of setup's output its log keeps (`log_limit`).
    pub log_limit: Option<u64>,
}

impl Bootstrap {
    /// Refuses `include` entries that git tracks, in the person's checkout or at the base tip:
    /// those are in every worktree already, and copying over them would change tracked files.
    pub fn refuse_tracked(&self, git: &Git, tip: &str) -> Result<()> {
        let tracked = git.tracked_among(tip, &self.include)?;
        if tracked.is_empty() {
            Ok(())
        } else {
            Err(OrchestratorError::TrackedInclude(tracked))
        }
    }

    /// Copies each included path from the person's checkout into `worktree`, replacing what the
    /// last task left there; a path that is not in the checkout is skipped.
    pub fn copy_includes(&self, worktree: &Path) -> Result<()> {
        for path in &self.include {
            let from = self.checkout.join(path);
            let to = worktree.join(path);
            // Following a link: the file it points to is what the person's tools read.
            let meta = match fs::metadata(&from) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    tracing::debug!(path, "not in the checkout; not copied");
                    continue;
                }
                Err(e) => return Err(OrchestratorError::io(&from, e)),
            };
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(|e| OrchestratorError::io(parent, e))?;
                // A directory of the worktree that is a link leading out of it (a tracked
                // symlink) must not carry the copy somewhere else.
                let inside = parent
                    .canonicalize()
                    .and_then(|p| Ok(p.starts_with(worktree.canonicalize()?)))
                    .map_err(|e| OrchestratorError::io(parent, e))?;
                if !inside {
                    tracing::warn!(path, "leads out of the worktree through a link; not copied");
                    continue;
                }
            }
            remove_any(&to).map_err(|e| OrchestratorError::io(&to, e))?;
            let copied = if meta.is_dir() {
                copy_dir(&from, &to)
            } else {
                fs::copy(&from, &to).map(|_| ())
            };
            copied.map_err(|e| OrchestratorError::io(&to, e))?;
        }
        Ok(())
    }

    /// Forgets that `setup` ran in `worktree`, which was just made again.
    pub fn forget_setup(&self, worktree: &Path) -> Result<()> {
        let marker = self.setup_files(worktree).0;
        match fs::remove_file(&marker) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(OrchestratorError::io(&marker, e)),
            _ => Ok(()),
        }
    }

    /// The marker and the log of `worktree`'s setup.
    fn setup_files(&self, worktree: &Path) -> (PathBuf, PathBuf) {
        let name = worktree
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "worktree".to_string());
        (
            self.setup_dir.join(format!("{name}.ok")),
            self.setup_dir.join(format!("{name}.log")),
        )
    }

    /// Runs `setup` in `worktree` unless it succeeded there already. None when the worktree is
    /// ready; else the feedback for the attempt, quoting the end of the log (the next task then
    /// runs it again).
    pub fn ensure_setup(&self, worktree: &Path) -> Result<Option<String>> {
        let Some(command) = &self.setup else {
            return Ok(None);
        };
        let (marker, log) = self.setup_files(worktree);
        if fs::read_to_string(&marker).is_ok_and(|done| done == *command) {
            return Ok(None);
        }
        // Gone before the run starts, so that a run stopped halfway is not taken for done.
        self.forget_setup(worktree)?;
        tracing::info!(worktree = %worktree.display(), command, "running setup");
        let outcome = agent::run(&Invocation {
            argv: vec!["sh".to_string(), "-c".to_string(), command.clone()],
            env: vec![("VANE_WORKTREE".to_string(), worktree.display().to_string())],
            cwd: worktree.to_path_buf(),
            stdout: log.clone(),
            stderr: log.clone(),
            timeout: SETUP_TIMEOUT,
            pid_file: None,
            // The person's own command, run on base before any agent, which fills caches outside
            // the worktree (`npm ci`, `cargo fetch`): not confined.
            confine: None,
            log_limit: self.log_limit,
        })?;
        if outcome.exit_code == Some(0) && !outcome.timed_out && !outcome.interrupted {
            fs::write(&marker, command).map_err(|e| OrchestratorError::io(&marker, e))?;
            return Ok(None);
        }
        let how = if outcome.timed_out {
            format!(
                "did not finish within {} minutes and was stopped",
                SETUP_TIMEOUT.as_secs() / 60
            )
        } else {
            match outcome.exit_code {
                Some(code) => format!("exited with {code}"),
                None => "was killed by a signal".to_string(),
            }
        };
        Ok(Some(format!(
            "the worktree's setup command (`setup` in vane.toml: `{command}`) {how}; it runs \
             again before the next task; the end of its log ({}):\n{}",
            log.display(),
            tail_text(&log, 20)
        )))
    }
}

/// Removes a file, link or directory; nothing to do when there is none.
fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copies a directory and everything in it; links inside it are copied as links.
fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &target)?;
        } else if kind.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bootstrap(root: &Path, include: &[&str], setup: Option<&str>) -> Bootstrap {
        Bootstrap {
            checkout: root.join("checkout"),
            include: include.iter().map(|s| s.to_string()).collect(),
            setup: setup.map(str::to_string),
            setup_dir: root.join("state/runs/setup"),
            log_limit: Some(crate::agent::process::DEFAULT_LOG_LIMIT),
        }
    }

    #[test]
    fn includes_are_copied_whole_and_replace_what_was_there() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let checkout = root.join("checkout");
        let worktree = root.join("w1");
        fs::create_dir_all(checkout.join("config/deep")).unwrap();
        fs::create_dir_all(&worktree).unwrap();
        fs::write(checkout.join(".env"), "A=1\n").unwrap();
        fs::write(checkout.join("config/deep/local.toml"), "x = 1\n").unwrap();
        fs::write(worktree.join(".env"), "A=old\n").unwrap();
        fs::create_dir_all(worktree.join("config/stale")).unwrap();
        let b = bootstrap(&root, &[".env", "config", "missing.txt"], None);
        b.copy_includes(&worktree).unwrap();
        assert_eq!(fs::read_to_string(worktree.join(".env")).unwrap(), "A=1\n");
        assert_eq!(
            fs::read_to_string(worktree.join("config/deep/local.toml")).unwrap(),
            "x = 1\n"
        );
        assert!(!worktree.join("config/stale").exists());
        assert!(!worktree.join("missing.txt").exists());
    }

    #[test]
    fn a_link_out_of_the_worktree_does_not_carry_a_copy_away() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let worktree = root.join("w1");
        let outside = root.join("outside");
        fs::create_dir_all(root.join("checkout/config")).unwrap();
        fs::write(root.join("checkout/config/local.toml"), "x\n").unwrap();
        fs::create_dir_all(&worktree).unwrap();
        fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, worktree.join("config")).unwrap();
        bootstrap(&root, &["config/local.toml"], None)
            .copy_includes(&worktree)
            .unwrap();
        assert!(!outside.join("local.toml").exists());
    }

    #[test]
    fn setup_runs_until_it_succeeds_and_again_when_it_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let worktree = root.join("w1");
        fs::create_dir_all(&worktree).unwrap();
        let count = root.join("count");
        let failing = format!(
            "echo run >> {0}; echo 'npm ERR! no lockfile'; exit 3",
            count.display()
        );
        let b = bootstrap(&root, &[], Some(&failing));
        let feedback = b.ensure_setup(&worktree).unwrap().expect("failed");
        assert!(feedback.contains("exited with 3"), "{feedback}");
        assert!(feedback.contains("npm ERR! no lockfile"), "{feedback}");
        assert!(root.join("state/runs/setup/w1.log").is_file());
        assert!(b.ensure_setup(&worktree).unwrap().is_some(), "runs again");

        let working = format!("echo run >> {0}", count.display());
        let b = bootstrap(&root, &[], Some(&working));
        assert_eq!(b.ensure_setup(&worktree).unwrap(), None);
        assert_eq!(b.ensure_setup(&worktree).unwrap(), None, "done once");
        assert_eq!(fs::read_to_string(&count).unwrap().lines().count(), 3);
        // A worktree made again is set up again.
        b.forget_setup(&worktree).unwrap();
        assert_eq!(b.ensure_setup(&worktree).unwrap(), None);
        assert_eq!(fs::read_to_string(&count).unwrap().lines().count(), 4);
        // So is one whose setup command changed.
        let changed = format!("echo changed >> {0}", count.display());
        let b = bootstrap(&root, &[], Some(&changed));
        assert_eq!(b.ensure_setup(&worktree).unwrap(), None);
        assert_eq!(fs::read_to_string(&count).unwrap().lines().count(), 5);
        // No setup: nothing to do.
        let none = bootstrap(&root, &[], None);
        none.forget_setup(&worktree).unwrap();
        assert_eq!(none.ensure_setup(&worktree).unwrap(), None);
    }
}
