//! A repository that vane is set up in: where its state lives, opening it, and `vane init`.
//!
//! Every command but `init` starts by opening a `Workspace`, which finds the repository from any
//! directory inside it (linked worktrees included) and opens the shared state database.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config};
use crate::git::integrity::{vane_refs, VaneRefs, BROKEN_PREFIX};
use crate::git::{Git, GitError, RepoLocation};
use crate::store::{NewEvent, Store, StoreError, Unusable};

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
    /// The database cannot be used (missing, empty, no schema, unreadable) where vane's refs show
    /// that it was used, or is empty where nothing shows it: it is never taken for a new one.
    #[error("{}", damaged_message(path, problem, refs))]
    Damaged {
        path: PathBuf,
        problem: Unusable,
        refs: VaneRefs,
    },
    /// `vane init --force-new-database` on a database that opens: it replaces only a broken one.
    #[error(
        "the database at {} opens and is sound; --force-new-database replaces only one vane \
         cannot use",
        .path.display()
    )]
    SoundDatabase { path: PathBuf },
}

fn damaged_message(path: &Path, problem: &Unusable, refs: &VaneRefs) -> String {
    let what = match problem {
        Unusable::Missing => format!("there is no database at {}", path.display()),
        problem => format!("the database at {} {problem}", path.display()),
    };
    if refs.is_empty() {
        return what;
    }
    format!(
        "{what}, but this repository has vane's refs ({}): the task graph they belong to is not \
         in it",
        refs.describe()
    )
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
    /// What `--force-new-database` moved aside; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_aside: Option<MovedAside>,
}

/// What `vane init --force-new-database` kept of a database it replaced.
#[derive(Debug, Clone, Serialize)]
pub struct MovedAside {
    /// Where the old file went (`vane.db.broken-<time>`), None when there was none.
    pub database: Option<PathBuf>,
    /// The checkpoint refs moved to `refs/vane/broken/<time>/checkpoints/<n>`, by their new names.
    pub checkpoint_refs: Vec<String>,
}

/// How `vane init` treats a database it finds.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Replace a database vane cannot use (missing while vane's refs exist, empty, no schema,
    /// unreadable) with a new, empty one, moving the file to `vane.db.broken-<time>` and the
    /// checkpoint refs to `refs/vane/broken/<time>/`. A sound database is never replaced.
    pub force_new_database: bool,
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
    /// Opens the workspace of the repository containing `start`, for reading and writing.
    pub fn open(start: &Path) -> Result<Workspace, WorkspaceError> {
        Workspace::open_with(start, false)
    }

    /// Opens the workspace for a command that only reads: the database is opened read-only when
    /// it cannot be written (a read-only repository), never migrated nor written then.
    pub fn open_to_read(start: &Path) -> Result<Workspace, WorkspaceError> {
        Workspace::open_with(start, true)
    }

    fn open_with(start: &Path, read: bool) -> Result<Workspace, WorkspaceError> {
        let location = RepoLocation::discover(start)?;
        let database = state_dir(&location).join(DATABASE_FILE);
        let opened = if read {
            Store::open_to_read(&database)
        } else {
            Store::open(&database, false)
        };
        match opened {
            Ok(store) => Ok(Workspace { location, store }),
            Err(e) => Err(refuse_to_open(&location, e)),
        }
    }

    /// Sets vane up in the repository containing `start`: the state directory and database in the
    /// git common directory, and a commented `vane.toml` at the root when there is none. Running it
    /// again changes nothing. Every check that can refuse runs before anything is written.
    pub fn init(start: &Path) -> Result<InitReport, WorkspaceError> {
        Workspace::init_with(start, &InitOptions::default())
    }

    /// `init`, with a say on a database that cannot be used (see `InitOptions`).
    pub fn init_with(start: &Path, options: &InitOptions) -> Result<InitReport, WorkspaceError> {
        let location = RepoLocation::discover(start)?;
        let state = state_dir(&location);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WorkspaceError::Io { path, source }
        };
        let database = state.join(DATABASE_FILE);
        let refs = vane_refs(&location.common_dir)?;
        let exists = std::fs::symlink_metadata(&database).is_ok();
        let empty = std::fs::metadata(&database).is_ok_and(|m| m.len() == 0);
        // A repository vane was used in gets no new database without being asked for one.
        let replace = if options.force_new_database {
            if exists && !empty {
                match Store::open(&database, false) {
                    Ok(_) => {
                        return Err(WorkspaceError::SoundDatabase { path: database });
                    }
                    Err(StoreError::Unusable { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            exists || !refs.checkpoints.is_empty()
        } else {
            if !refs.is_empty() && (!exists || empty) {
                return Err(WorkspaceError::Damaged {
                    path: database,
                    problem: if exists {
                        Unusable::Empty
                    } else {
                        Unusable::Missing
                    },
                    refs,
                });
            }
            false
        };
        for dir in [state.clone(), state.join("runs"), state.join("logs")] {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        let moved_aside = if replace {
            Some(move_aside(&location, &database, exists)?)
        } else {
            None
        };
        let database_created = !database.exists() || empty;
        let mut store = match Store::open(&database, true) {
            Ok(store) => store,
            Err(StoreError::Unusable { path, problem }) => {
                return Err(WorkspaceError::Damaged {
                    path,
                    problem,
                    refs,
                })
            }
            Err(e) => return Err(e.into()),
        };
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
            moved_aside,
        })
    }
}

/// Why a workspace does not open, in the words of the workspace: a database that is gone or
/// cannot be used says whether vane's refs show it was used.
fn refuse_to_open(location: &RepoLocation, e: StoreError) -> WorkspaceError {
    let refs = || vane_refs(&location.common_dir).unwrap_or_default();
    match e {
        StoreError::Missing(path) => {
            let refs = refs();
            if refs.is_empty() {
                WorkspaceError::NotInitialised {
                    workdir: location.workdir.clone(),
                }
            } else {
                WorkspaceError::Damaged {
                    path,
                    problem: Unusable::Missing,
                    refs,
                }
            }
        }
        StoreError::Unusable { path, problem } => WorkspaceError::Damaged {
            path,
            problem,
            refs: refs(),
        },
        e => WorkspaceError::Store(e),
    }
}

/// Moves a broken database (with its `-wal` and `-shm` files) to `vane.db.broken-<time>` and the
/// checkpoint refs to `refs/vane/broken/<time>/checkpoints/<n>`, so that the new database's
/// checkpoints find their names free and nothing is deleted.
fn move_aside(
    location: &RepoLocation,
    database: &Path,
    exists: bool,
) -> Result<MovedAside, WorkspaceError> {
    let stamp = crate::model::format_time(crate::model::now_millis())
        .replace(['-', ':'], "")
        .replace(' ', "T");
    let mut moved = MovedAside {
        database: None,
        checkpoint_refs: Vec::new(),
    };
    if exists {
        let name = |suffix: &str| {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        let target = name(&format!(".broken-{stamp}"));
        if target.exists() {
            return Err(WorkspaceError::Io {
                path: target,
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
        // The journal files first: a `-wal` left beside a new database would be read into it.
        for suffix in ["-wal", "-shm"] {
            let from = name(suffix);
            if from.exists() {
                let to = name(&format!(".broken-{stamp}{suffix}"));
                std::fs::rename(&from, &to).map_err(|source| WorkspaceError::Io {
                    path: to.clone(),
                    source,
                })?;
            }
        }
        std::fs::rename(database, &target).map_err(|source| WorkspaceError::Io {
            path: target.clone(),
            source,
        })?;
        moved.database = Some(target);
    }
    let git = Git::open(&location.workdir)?;
    const CHECKPOINTS: &str = "refs/vane/checkpoints/";
    for (name, sha) in git.refs_under(CHECKPOINTS)? {
        let Some(n) = name.strip_prefix(CHECKPOINTS) else {
            continue;
        };
        let kept = format!("{BROKEN_PREFIX}{stamp}/checkpoints/{n}");
        git.update_ref(&kept, &sha, None, "vane init --force-new-database: kept")?;
        git.delete_ref(&name, &sha)?;
        moved.checkpoint_refs.push(kept);
    }
    Ok(moved)
}

/// Where the workers' worktrees live: `worktree_root` of the configuration, else under the user's
/// data directory, one folder per repository (outside every `.git`, which Claude Code will not write
/// into, and outside the user's working tree).
pub fn worktree_root(workspace: &Workspace, config: &Config) -> PathBuf {
    worktree_root_of(&workspace.location, config)
}

/// `worktree_root` for a repository vane may not be set up in (`vane doctor` asks).
pub fn worktree_root_of(location: &RepoLocation, config: &Config) -> PathBuf {
    if let Some(root) = &config.worktree_root {
        return location.workdir.join(root);
    }
    let common = &location.common_dir;
    let name = common
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repository".to_string());
    default_worktrees_base().join(format!(
        "{name}-{:08x}",
        fnv1a(common.to_string_lossy().as_bytes())
    ))
}

/// The repository a folder is inside, if any: the nearest ancestor holding a `.git`.
pub fn enclosing_repository(dir: &Path) -> Option<PathBuf> {
    let absolute = crate::git::cli::comparable_path(dir);
    absolute
        .ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
        .map(Path::to_path_buf)
}

/// Whether `name`, a directory under the worktree root, is one vane makes there: `w<N>` for its
/// workers, `g<N>` for its gate pool, `gate-<task>-<pid>` for `vane gate` and `vane land`,
/// `plan-<epic>-<pid>` for a planner. Only those are ever taken away or have their processes
/// stopped: `worktree_root` may name a folder that holds other things too.
pub fn is_vane_worktree_name(name: &str) -> bool {
    numbered(name, 'w') || is_gate_worktree_name(name) || one_off_worktree_pid(name).is_some()
}

/// The pid in the name of a worktree one process makes for itself and removes when done
/// (`gate-<task>-<pid>`, `plan-<epic>-<pid>`): once that process is gone, nothing needs it.
pub fn one_off_worktree_pid(name: &str) -> Option<i32> {
    let rest = name
        .strip_prefix("gate-")
        .or_else(|| name.strip_prefix("plan-"))?;
    rest.rsplit_once('-')?.1.parse().ok()
}

/// Whether `name` is one of the gate pool's worktrees (`g<N>`): they hold merges checked out for
/// gating and what the gates left, never anyone's work.
pub fn is_gate_worktree_name(name: &str) -> bool {
    numbered(name, 'g')
}

/// `<prefix><digits>`.
fn numbered(name: &str, prefix: char) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A stable hash (std's is seeded per process), so a repository keeps its worktree folder.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Where vane keeps the worktrees of every repository by default: `$XDG_DATA_HOME/vane/worktrees`
/// or `~/.local/share/vane/worktrees`; `worktree_root_of` keeps one folder per repository in it.
pub fn default_worktrees_base() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("vane")
        .join("worktrees")
}
