//! The repository's own configuration and hooks, watched while agents run. With the kernel's
//! confinement an agent cannot write them at all; without it (or where the kernel has none), an
//! agent that changes `.git/config` (a `core.fsmonitor` that runs at the person's next
//! `git status`) or a hook is caught when its attempt ends: the files are put back as they were
//! when the batch began, and the attempt fails saying what was changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Result;
use crate::git::Git;

/// The files as the batch found them.
#[derive(Debug, Clone)]
pub struct Guarded {
    /// Each watched file and its bytes (None: it did not exist).
    files: BTreeMap<PathBuf, Option<Vec<u8>>>,
    /// A directory whose every file is watched, new ones included (the hooks).
    hooks_dir: PathBuf,
}

impl Guarded {
    /// Reads the repository's config, its per-worktree config switch and every hook.
    pub fn capture(git: &Git) -> Result<Guarded> {
        let hooks_dir = git.hooks_dir()?;
        let mut files = BTreeMap::new();
        let config = git.common_dir().join("config");
        files.insert(config.clone(), std::fs::read(&config).ok());
        for hook in files_in(&hooks_dir) {
            files.insert(hook.clone(), std::fs::read(&hook).ok());
        }
        Ok(Guarded { files, hooks_dir })
    }

    /// What differs from the capture, each put back as it was (a file added to the hooks is
    /// removed); the paths that had changed, for the attempt's feedback. Empty when nothing did.
    pub fn restore_changes(&self) -> Vec<String> {
        let mut changed = Vec::new();
        for (path, before) in &self.files {
            let now = std::fs::read(path).ok();
            if now == *before {
                continue;
            }
            changed.push(path.display().to_string());
            let put_back = match before {
                Some(bytes) => write_whole(path, bytes),
                None => std::fs::remove_file(path),
            };
            if let Err(e) = put_back {
                tracing::warn!(path = %path.display(), error = %e, "cannot put a file back");
            }
        }
        for hook in files_in(&self.hooks_dir) {
            if !self.files.contains_key(&hook) {
                changed.push(hook.display().to_string());
                if let Err(e) = std::fs::remove_file(&hook) {
                    tracing::warn!(path = %hook.display(), error = %e, "cannot remove an added hook");
                }
            }
        }
        changed
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `bytes` to `path` under a temporary name, then renames it over, keeping its mode.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("vane-restore");
    std::fs::write(&tmp, bytes)?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions())?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::cli::testing::TestRepo;

    #[test]
    fn changed_config_and_hooks_are_put_back_and_named() {
        let repo = TestRepo::new();
        let config = repo.dir.join(".git/config");
        let hooks = repo.dir.join(".git/hooks");
        std::fs::create_dir_all(&hooks).expect("hooks dir");
        std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\nexit 0\n").expect("hook");
        let guarded = Guarded::capture(&repo.git).expect("capture");
        assert!(guarded.restore_changes().is_empty());
        let before = std::fs::read(&config).expect("config");
        std::fs::write(&config, "[core]\n\tfsmonitor = ./evil\n").expect("edit config");
        std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\nexit 1\n").expect("edit hook");
        std::fs::write(hooks.join("post-checkout"), "#!/bin/sh\n").expect("add hook");
        let changed = guarded.restore_changes();
        assert_eq!(changed.len(), 3, "{changed:?}");
        assert_eq!(std::fs::read(&config).expect("config"), before);
        assert_eq!(
            std::fs::read_to_string(hooks.join("pre-commit")).expect("hook"),
            "#!/bin/sh\nexit 0\n"
        );
        assert!(!hooks.join("post-checkout").exists());
    }
}
