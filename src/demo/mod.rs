//! `vane demo`: a sample repository with a roadmap that the built-in shell agent can work through,
//! so that a newcomer sees vane run without an AI agent or a repository of their own.

use std::path::{Path, PathBuf};

use crate::git::{self, GitError};
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
}

/// What the demo set up.
pub struct Demo {
    pub repository: PathBuf,
    pub init: InitReport,
    pub import: ImportReport,
    pub workspace: Workspace,
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
    git::create_repository(dir, FILES, "Start the greeter")?;
    let init = Workspace::init(dir)?;
    let mut workspace = Workspace::open(dir)?;
    let roadmap = Roadmap::parse("roadmap.yaml", ROADMAP, &|_| false)?;
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
    #[test]
    fn the_sample_roadmap_is_valid() {
        let roadmap = crate::roadmap::Roadmap::parse("roadmap.yaml", super::ROADMAP, &|_| false)
            .expect("the embedded roadmap parses");
        assert!(roadmap.tasks.iter().filter(|t| t.run.is_some()).count() >= 5);
    }
}
