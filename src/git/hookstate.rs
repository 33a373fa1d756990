//! What a hook needs to know about the repository it fires in, read in process (a hook must be
//! quick): the commit just made, the commits a merge in progress brings in, the tips of vane's
//! task branches, and the merge about to be committed as a commit of its own.

use std::path::Path;

use git2::{BranchType, Oid, Repository};

use super::GitError;
use crate::model::TaskId;

/// The line that tells vane's hook shims from anyone else's hooks.
pub const SHIM_MARKER: &str = "vane-managed-hook";

/// The name a hook that was there before vane's is kept under, beside it (run first).
pub const KEPT_SUFFIX: &str = ".vane-kept";

/// The commit HEAD names in the working tree at `workdir`, and its subject line.
pub fn head_summary(workdir: &Path) -> Result<(String, String), GitError> {
    let repo = Repository::open(workdir)?;
    let commit = repo.head()?.peel_to_commit()?;
    Ok((
        commit.id().to_string(),
        commit.summary().unwrap_or_default().to_string(),
    ))
}

/// The commits a merge in progress in `workdir` brings in; none outside a merge. While
/// `pre-merge-commit` runs, `git merge` has not written `MERGE_HEAD` yet; it names each merged
/// commit in an environment variable `GITHEAD_<id>` instead. Both are read.
pub fn merge_heads(workdir: &Path) -> Result<Vec<String>, GitError> {
    let repo = Repository::open(workdir)?;
    let text = std::fs::read_to_string(repo.path().join("MERGE_HEAD")).unwrap_or_default();
    let mut heads: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if let Some(id) = name.strip_prefix("GITHEAD_") {
            if Oid::from_str(id).is_ok() && id.len() == 40 && !heads.iter().any(|h| h == id) {
                heads.push(id.to_string());
            }
        }
    }
    Ok(heads)
}

/// Every `vane/<task>` branch with its tip.
pub fn vane_branch_tips(workdir: &Path) -> Result<Vec<(TaskId, String)>, GitError> {
    let repo = Repository::open(workdir)?;
    let mut tips = Vec::new();
    for branch in repo.branches(Some(BranchType::Local))? {
        let (branch, _) = branch?;
        let Some(name) = branch.name()?.map(str::to_string) else {
            continue;
        };
        let Some(task) = name.strip_prefix("vane/").and_then(|t| TaskId::new(t).ok()) else {
            continue;
        };
        if let Some(tip) = branch.get().target() {
            tips.push((task, tip.to_string()));
        }
    }
    Ok(tips)
}

/// The merge about to be committed in `workdir` as a commit of its own, on no branch: the index's
/// tree with HEAD and `merging` as parents. Gates then score exactly what the merge commit will hold.
pub fn commit_index_as_merge(workdir: &Path, merging: &[String]) -> Result<String, GitError> {
    let repo = Repository::open(workdir)?;
    let tree = repo.find_tree(repo.index()?.write_tree()?)?;
    let head = repo.head()?.peel_to_commit()?;
    let mut parents = vec![head];
    for id in merging {
        parents.push(repo.find_commit(Oid::from_str(id)?)?);
    }
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("vane", "vane@localhost"))?;
    let id = repo.commit(
        None,
        &signature,
        &signature,
        "The merge in progress, as vane's gates score it",
        &tree,
        &parents,
    )?;
    Ok(id.to_string())
}
