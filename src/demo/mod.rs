//! `vane demo`: a sample repository with a roadmap that the built-in shell agent works through, so
//! that a newcomer sees the whole loop (parallel agents, a gate that sends a task back, landings,
//! checkpoints, a rollback and its undo) without an AI agent or a repository of their own.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use crate::git::{self, GitError};
use crate::model::{CheckpointKind, TaskId};
use crate::orchestrator::{
    self, OrchestratorError, Progress, RollbackOptions, RollbackSummary, WorkOptions, WorkSummary,
};
use crate::roadmap::{Roadmap, RoadmapError};
use crate::store::{ImportReport, StoreError};
use crate::workspace::{InitReport, Workspace, WorkspaceError};

/// The sample roadmap, embedded in the binary.
pub const ROADMAP: &str = include_str!("roadmap.yaml");

/// The sample repository's files.
const FILES: &[(&str, &str)] = &[
    (
        "README.md",
        "# greeter\n\nA tiny program that says hello; vane's sample repository.\n",
    ),
    ("greet.sh", "#!/bin/sh\necho \"Hello, ${1:-world}!\"\n"),
    (
        "test.sh",
        "#!/bin/sh\n\
         got=$(sh greet.sh Ada)\n\
         [ \"$got\" = \"Hello, Ada!\" ] || { echo \"greet.sh Ada said '$got', expected 'Hello, Ada!'\"; exit 1; }\n",
    ),
    (
        "vane.toml",
        "# The sample's configuration: two agents at once, and its tests as the gate.\n\
         workers = 2\n\
         max_attempts = 3\n\
         \n\
         [[gate]]\n\
         name = \"tests\"\n\
         command = \"sh test.sh\"\n",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0} exists and is not empty; choose a new directory for the sample repository")]
    NotEmpty(PathBuf),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Roadmap(#[from] RoadmapError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    #[error("cannot {doing} {}: {source}", .path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the whole demo did, after `set_up`.
pub struct DemoRun {
    pub batch: WorkSummary,
    /// The tasks that waited for approval (they changed the gate's script), approved, and the batch
    /// that landed what waited on them.
    pub approved: Vec<TaskId>,
    pub second_batch: Option<WorkSummary>,
    pub rollback: RollbackSummary,
    pub undo: RollbackSummary,
}

/// One step of the demo, for the person watching.
pub enum Step<'a> {
    Work(Progress),
    /// A task that changed a protected path, approved and landed (`vane approve`).
    Approved(&'a crate::orchestrator::land::LandSummary),
    /// The next `vane work`, for what waited on the approved tasks.
    SecondBatch,
    RolledBack(&'a RollbackSummary),
    Undone(&'a RollbackSummary),
}

/// Runs a batch over the sample roadmap, then rolls base back to the batch start and undoes that.
pub fn run(demo: &mut Demo, step: &dyn Fn(Step<'_>)) -> Result<DemoRun, DemoError> {
    let mut config = Config::load(&demo.repository)?;
    // The sample's worktrees go beside it, so that removing the sample removes everything.
    let name = demo
        .repository
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vane-demo".to_string());
    config.worktree_root = Some(demo.repository.with_file_name(format!("{name}-worktrees")));
    let report = |progress: Progress| step(Step::Work(progress));
    let batch = orchestrator::work(
        &mut demo.workspace,
        &config,
        &WorkOptions::default(),
        &report,
    )?;
    // A task that changes the gate's own script waits for a person: the demo approves it, as you
    // would after `vane task show`, and runs the rest.
    let mut approved = Vec::new();
    for task in demo.workspace.store.tasks(&crate::store::TaskFilter {
        statuses: vec![crate::model::TaskStatus::NeedsReview],
        parent: None,
    })? {
        if orchestrator::approval::review(&demo.workspace, &task.id)?.is_some() {
            let landed = orchestrator::approval::approve(
                &mut demo.workspace,
                &config,
                &task.id,
                "vane demo",
            )?;
            step(Step::Approved(&landed));
            approved.push(task.id);
        }
    }
    let second_batch = if approved.is_empty() {
        None
    } else {
        step(Step::SecondBatch);
        Some(orchestrator::work(
            &mut demo.workspace,
            &config,
            &WorkOptions::default(),
            &report,
        )?)
    };
    let start = demo
        .workspace
        .store
        .checkpoints()?
        .into_iter()
        .find(|c| c.kind == CheckpointKind::BatchStart)
        .map(|c| c.id)
        .unwrap_or(1);
    let rollback = orchestrator::rollback(
        &mut demo.workspace,
        &config,
        start,
        &RollbackOptions::default(),
    )?;
    step(Step::RolledBack(&rollback));
    let undo = orchestrator::rollback(
        &mut demo.workspace,
        &config,
        rollback.undo_checkpoint,
        &RollbackOptions::default(),
    )?;
    step(Step::Undone(&undo));
    Ok(DemoRun {
        batch,
        approved,
        second_batch,
        rollback,
        undo,
    })
}

/// What the demo set up.
pub struct Demo {
    pub repository: PathBuf,
    pub init: InitReport,
    pub import: ImportReport,
    pub workspace: Workspace,
}

/// Where the demo puts its sample when it is given no directory: a folder of its own under the
/// system's temporary directory, holding the repository (`greeter`) and its worktrees, so that
/// removing the folder removes everything.
pub fn temporary_folder() -> PathBuf {
    std::env::temp_dir().join(format!(
        "vane-demo-{}-{}",
        std::process::id(),
        crate::model::now_millis()
    ))
}

/// The sample repository's place in `temporary_folder()`.
pub fn repository_in(folder: &Path) -> PathBuf {
    folder.join("greeter")
}

/// Removes the demo's temporary folder with everything in it (the repository, its state, its
/// worktrees).
pub fn clean_up(folder: &Path) -> Result<(), DemoError> {
    std::fs::remove_dir_all(folder).map_err(|source| DemoError::Io {
        doing: "remove",
        path: folder.to_path_buf(),
        source,
    })
}

/// How a person runs this vane again from their shell: `vane` when the `vane` that `path` (a
/// `PATH` value) finds is this program (`exe`); `cargo run --` (`cargo run --release --`) for a
/// build in a cargo target directory, which is how a newcomer ran the demo from a clone; else the
/// program's own path.
pub fn invocation(exe: &Path, path: Option<&OsStr>) -> String {
    let this = exe.canonicalize().unwrap_or_else(|_| exe.to_path_buf());
    let on_path = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("vane"))
        .find(|candidate| candidate.is_file());
    if on_path.is_some_and(|found| found.canonicalize().is_ok_and(|found| found == this)) {
        return "vane".to_string();
    }
    let profile = this.parent();
    let in_target = profile
        .and_then(Path::parent)
        .is_some_and(|target| target.join("CACHEDIR.TAG").is_file());
    match profile.and_then(Path::file_name).and_then(OsStr::to_str) {
        Some("debug") if in_target => "cargo run --".to_string(),
        Some("release") if in_target => "cargo run --release --".to_string(),
        _ => crate::ui::shell_word(&this.display().to_string()),
    }
}

/// Creates the sample repository at `dir` (which must not exist, or be empty), sets vane up in it
/// and imports the sample roadmap.
pub fn set_up(dir: &Path) -> Result<Demo, DemoError> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true)
    {
        return Err(DemoError::NotEmpty(dir.to_path_buf()));
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|source| DemoError::Io {
            doing: "create",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    git::create_repository(dir, FILES, "Start the greeter")?;
    let init = Workspace::init(dir)?;
    // As `vane init` does, so that the sample is what a repository set up for vane is (and
    // `vane doctor` finds nothing missing there).
    orchestrator::hooks::install_here(dir)?;
    let mut workspace = Workspace::open(dir)?;
    let config = Config::load(dir)?;
    let known_profile = crate::orchestrator::profiles::known(&config);
    let roadmap = Roadmap::parse("roadmap.yaml", ROADMAP, &|_| false, &known_profile)?;
    let import = workspace
        .store
        .import_roadmap(&roadmap, "roadmap.yaml", "vane demo", false)?;
    Ok(Demo {
        repository: init.workdir.clone(),
        init,
        import,
        workspace,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn the_way_to_run_vane_again_is_vane_on_path_else_cargo_run_else_its_path() {
        let root = tempfile::tempdir().expect("a temporary directory");
        let root = root.path().canonicalize().expect("canonical");
        let profile = root.join("target").join("debug");
        std::fs::create_dir_all(&profile).expect("made");
        let exe = profile.join("vane");
        std::fs::write(&exe, "").expect("written");
        // Not a cargo target directory without its tag.
        assert_eq!(super::invocation(&exe, None), exe.display().to_string());
        std::fs::write(root.join("target/CACHEDIR.TAG"), "").expect("written");
        assert_eq!(super::invocation(&exe, None), "cargo run --");
        let release = root.join("target/release/vane");
        std::fs::create_dir_all(release.parent().expect("a parent")).expect("made");
        std::fs::write(&release, "").expect("written");
        assert_eq!(super::invocation(&release, None), "cargo run --release --");
        // Another `vane` first on PATH is not this one; a link to this one is.
        let other = root.join("other");
        std::fs::create_dir_all(&other).expect("made");
        std::fs::write(other.join("vane"), "").expect("written");
        let linked = root.join("bin");
        std::fs::create_dir_all(&linked).expect("made");
        std::os::unix::fs::symlink(&exe, linked.join("vane")).expect("linked");
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).expect("a PATH");
        assert_eq!(
            super::invocation(&exe, Some(&path(&[&other, &linked]))),
            "cargo run --"
        );
        assert_eq!(
            super::invocation(&exe, Some(&path(&[&linked, &other]))),
            "vane"
        );
    }

    #[test]
    fn the_sample_roadmap_is_valid() {
        let config = crate::config::Config::default();
        let known_profile = crate::orchestrator::profiles::known(&config);
        let roadmap = crate::roadmap::Roadmap::parse(
            "roadmap.yaml",
            super::ROADMAP,
            &|_| false,
            &known_profile,
        )
        .expect("the embedded roadmap parses");
        assert!(roadmap.tasks.iter().filter(|t| t.run.is_some()).count() >= 5);
    }
}
