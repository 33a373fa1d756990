//! A repository that vane is set up in: where its state lives, opening it, and `vane init`.
//!
//! Every command but `init` starts by opening a `Workspace`, which finds the repository from any
//! directory inside it (linked worktrees included) and opens the shared state database.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config;
use crate::git::{GitError, RepoLocation};
use crate::store::{NewEvent, Store, StoreError};

/// The state directory's name inside the git common directory.
pub const STATE_DIR: &str = "vane";
/// The database's file name inside the state directory.
pub const DATABASE_FILE: &str = "vane.db";

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("vane is not set up in the repository at {workdir}")]
    NotInitialised { workdir: PathBuf },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Workspace {
    pub location: RepoLocation,
    pub store: Store,
}

/// What `vane init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub workdir: PathBuf,
    pub state_dir: PathBuf,
    pub database_created: bool,
    /// The path of `vane.toml` when init wrote it; `None` when one was there already.
    pub config_written: Option<PathBuf>,
}

impl InitReport {
    /// Whether init found everything in place and changed nothing.
    pub fn already_set_up(&self) -> bool {
        !self.database_created && self.config_written.is_none()
    }
}

pub fn state_dir(location: &RepoLocation) -> PathBuf {
    location.common_dir.join(STATE_DIR)
}

impl Workspace {
    /// Opens the workspace of the repository containing `start`.
    pub fn open(start: &Path) -> Result<Workspace, WorkspaceError> {
        let location = RepoLocation::discover(start)?;
        let database = state_dir(&location).join(DATABASE_FILE);
        let store = match Store::open(&database, false) {
            Err(StoreError::Missing(_)) => {
                return Err(WorkspaceError::NotInitialised {
                    workdir: location.workdir,
                })
            }
            other => other?,
        };
        Ok(Workspace { location, store })
    }

    /// Sets vane up in the repository containing `start`: the state directory and database in the
    /// git common directory, and a commented `vane.toml` at the root when there is none. Running it
    /// again changes nothing. Every check that can refuse runs before anything is written.
    pub fn init(start: &Path) -> Result<InitReport, WorkspaceError> {
        let location = RepoLocation::discover(start)?;
        let state = state_dir(&location);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WorkspaceError::Io { path, source }
        };
        for dir in [state.clone(), state.join("runs"), state.join("logs")] {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        let database = state.join(DATABASE_FILE);
        let database_created = !database.exists();
        let mut store = Store::open(&database, true)?;
        if database_created {
            store.append_event(&NewEvent {
                kind: "initialised",
                task: None,
                actor: "vane",
                correlation: None,
                data: serde_json::json!({ "version": env!("CARGO_PKG_VERSION") }),
            })?;
        }
        let config_path = location.workdir.join(config::FILE_NAME);
        // `create_new` so that a file written by someone else meanwhile is never overwritten.
        let config_written = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&config_path)
        {
            Ok(mut file) => {
                file.write_all(config::DEFAULT_FILE.as_bytes())
                    .map_err(io(&config_path))?;
                Some(config_path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
            Err(e) => return Err(io(&config_path)(e)),
        };
        Ok(InitReport {
            workdir: location.workdir,
            state_dir: state,
            database_created,
            config_written,
        })
    }
}
