//! The worktrees vane's workers run in: making them, pointing them at a new task, saving what an agent
//! left in them, and taking them away.
//!
//! A fresh `git worktree add` of a big repository takes many seconds (17-19 s on a 57,000-file one),
//! while pointing an existing worktree at a new task takes well under one, so workers keep their
//! worktree from task to task: `ensure_worktree` once, then `start_task_branch` per task.
//!
//! Everything that writes a working tree runs the git CLI, so that hooks and filters (LFS, `filter=`
//! drivers) run and a worktree holds what `git checkout` gives. Worktrees in use are locked, and a
//! worktree is only ever removed by its path: a global `git worktree prune` could unregister a
//! worktree that another worker is adding at that moment.

use std::path::{Path, PathBuf};

use super::cli::{comparable_path, path_from_bytes, Git};
use super::GitError;

/// The reason recorded on the worktrees vane locks, shown by `git worktree list`.
pub const LOCK_REASON: &str = "vane worker";

/// Where earlier attempts at a task are kept when its branch is restarted: `<prefix><task>/<n>`.
pub const ATTEMPTS_PREFIX: &str = "refs/vane/attempts/";

/// Where commits are kept that belong to no task vane knows of, by the name of the worktree that
/// held them: `<prefix><worktree>/<n>`.
pub const KEPT_PREFIX: &str = "refs/vane/kept/";

/// The prefix under which the earlier attempts at `task` are kept.
pub fn attempt_refs(task: &str) -> String {
    format!("{ATTEMPTS_PREFIX}{task}/")
}

/// One entry of `git worktree list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeInfo {
    pub path: PathBuf,
    /// The commit checked out; None for a bare repository's entry.
    pub head: Option<String>,
    /// The branch checked out (short name, without `refs/heads/`); None when detached.
    pub branch: Option<String>,
    pub locked: bool,
    /// Git considers the registration stale (its directory is gone). A locked worktree is never
    /// reported prunable, even when its directory is gone.
    pub prunable: bool,
}

impl Git {
    /// Makes sure a worktree exists at `path` (detached at `base`), creating it with
    /// `git worktree add --detach` if missing; if git still lists a worktree at that path whose
    /// directory is gone, removes that registration by path first (`git worktree remove --force
    /// <path>`), never a global prune. Locks it (reason "vane worker"). Returns whether it was
    /// created. An existing worktree is left as it is (not moved to `base`): `start_task_branch` and
    /// `checkout_detached` do that.
    pub fn ensure_worktree(&self, path: &Path, base: &str) -> Result<bool, GitError> {
        let path = comparable_path(path);
        if self.is_locked_worktree(&path) {
            return Ok(false);
        }
        if path.exists() {
            if let Err(GitError::ForeignWorktree { found, .. }) = self.worktree_git_dir(&path) {
                // An agent removed or replaced its `.git`, or the worktree belongs to a repository
                // that was deleted and made again at this path: nothing git can save is left in
                // it, and git would refuse to add a worktree over it. Made again from scratch.
                tracing::warn!(path = %path.display(), found, "not a worktree of this repository; making it again");
                std::fs::remove_dir_all(&path).map_err(|e| GitError::Command {
                    args: format!("remove {}", path.display()),
                    code: None,
                    stderr: e.to_string(),
                })?;
            }
        }
        if let Some(existing) = self.find_worktree(&path)? {
            if path.join(".git").exists() {
                if !existing.locked {
                    self.run(
                        None,
                        &[
                            "worktree".as_ref(),
                            "lock".as_ref(),
                            "--reason".as_ref(),
                            LOCK_REASON.as_ref(),
                            "--".as_ref(),
                            path.as_os_str(),
                        ],
                    )?;
                }
                return Ok(false);
            }
            tracing::info!(path = %path.display(), "worktree directory is gone; dropping its registration");
            self.remove_registration(&path)?;
        }
        let base = self.resolve_commit(base)?;
        // `--lock` locks it from the start: there is no moment at which it could be pruned.
        self.run(
            None,
            &[
                "worktree".as_ref(),
                "add".as_ref(),
                "--quiet".as_ref(),
                "--detach".as_ref(),
                "--lock".as_ref(),
                "--reason".as_ref(),
                LOCK_REASON.as_ref(),
                "--".as_ref(),
                path.as_os_str(),
                base.as_ref(),
            ],
        )?;
        Ok(true)
    }

    /// Whether `path` is a worktree of this repository that git knows and that is locked, read from
    /// the files git keeps (no process): `path/.git` names `<common>/worktrees/<id>`, which holds a
    /// `gitdir` pointing back and a `locked` file. The common case of every task, so it stays cheap.
    fn is_locked_worktree(&self, path: &Path) -> bool {
        let Ok(link) = std::fs::read_to_string(path.join(".git")) else {
            return false;
        };
        let Some(admin) = link.trim().strip_prefix("gitdir: ").map(PathBuf::from) else {
            return false;
        };
        let back = std::fs::read_to_string(admin.join("gitdir")).unwrap_or_default();
        admin.starts_with(self.common_dir().join("worktrees"))
            && admin.join("locked").is_file()
            && Path::new(back.trim()) == path.join(".git")
            // Finished: `git worktree add` killed midway leaves these out (see `worktree_git_dir`).
            && admin.join("commondir").is_file()
            && std::fs::metadata(admin.join("HEAD")).is_ok_and(|m| m.len() > 0)
    }

    /// Points the worktree's HEAD at `commit` detached, leaving its index and files as they are
    /// (they already hold `commit`): this lets go of a branch, so that another worktree may check it
    /// out, without the cost of a checkout.
    pub fn detach_head(&self, worktree: &Path, commit: &str) -> Result<(), GitError> {
        self.worktree_git_dir(worktree)?;
        if let super::inproc::Attempt::Done(()) = super::inproc::detach_head(worktree, commit) {
            return Ok(());
        }
        self.run(
            Some(worktree),
            &[
                "update-ref",
                "--no-deref",
                "-m",
                "vane: detach",
                "HEAD",
                commit,
            ],
        )?;
        Ok(())
    }

    /// Commits everything in the worktree (`git add -A`; a commit if anything is staged) on
    /// whatever is checked out, with `message` (the caller includes trailers). Returns the new
    /// commit, or None when there was nothing to commit. Works when HEAD is detached too (the commit
    /// is then reachable only from the return value; the caller decides what to do with it).
    ///
    /// Runs with `--no-verify`: this saves an agent's work, and a pre-commit or commit-msg hook that
    /// refused it would lose that work; checking the work is the job of the gates.
    ///
    /// With a merge in progress (`start_from_merge`), the commit is that merge's (parents HEAD and
    /// `MERGE_HEAD`), made even when the tree is HEAD's: the merge is what is being saved.
    pub fn commit_all(&self, worktree: &Path, message: &str) -> Result<Option<String>, GitError> {
        self.commit_all_except(worktree, message, &[])
    }

    /// `commit_all`, leaving out `keep_out`: paths from the worktree's root (a directory stands for
    /// everything in it) whose changes stay out of the commit, as `git add --all` followed by
    /// `git reset -- <paths>` leaves them. For files vane copies into a worktree that must never
    /// be committed (`include` in vane.toml).
    pub fn commit_all_except(
        &self,
        worktree: &Path,
        message: &str,
        keep_out: &[String],
    ) -> Result<Option<String>, GitError> {
        // libgit2 would commit a merge in progress as an ordinary commit: the CLI commits it.
        let merging = self.merge_in_progress(worktree)?;
        if self.in_process_worktrees() && !merging {
            if let super::inproc::Attempt::Done(commit) = super::inproc::worktree::commit_all(
                worktree,
                message,
                &self.env,
                &self.identity,
                keep_out,
            ) {
                return Ok(commit);
            }
        }
        self.run(Some(worktree), &["add", "--all"])?;
        if !keep_out.is_empty() {
            // After the add rather than as `:(exclude)` pathspecs to it, so that what an agent
            // staged there itself is taken out again too.
            let mut args = vec!["reset".to_string(), "--quiet".into(), "--".into()];
            args.extend(keep_out.iter().map(|p| literal_pathspec(p)));
            self.run(Some(worktree), &args)?;
        }
        let staged = self.output(Some(worktree), &["diff", "--cached", "--quiet"])?;
        match staged.code {
            Some(0) if !merging => return Ok(None),
            Some(0 | 1) => {}
            _ => return Err(staged.error()),
        }
        self.output_with_input(
            Some(worktree),
            &["commit", "--quiet", "--no-verify", "--file=-"],
            Some(message.as_bytes()),
        )?
        .ok()?;
        self.head(worktree).map(Some)
    }

    /// Gitlinks (submodule entries) that `head` adds over `base` and whose commit this repository
    /// does not have: what an agent's own `git add` of a nested repository leaves.
    pub fn dangling_gitlinks(&self, base: &str, head: &str) -> Result<Vec<String>, GitError> {
        let (base, head) = (self.resolve_commit(base)?, self.resolve_commit(head)?);
        if let super::inproc::Attempt::Done(changes) =
            super::inproc::tree_changes(self.dir(), &base, &head)
        {
            let mut dangling = Vec::new();
            for change in changes {
                let Some((mode, id)) = change.new else {
                    continue;
                };
                if mode == i32::from(git2::FileMode::Commit)
                    && !matches!(
                        super::inproc::has_commit(self.dir(), id),
                        super::inproc::Attempt::Done(true)
                    )
                {
                    dangling.push(change.path);
                }
            }
            return Ok(dangling);
        }
        let out = self.run(
            None,
            &["diff", "--raw", "-z", "--no-renames", &base, &head, "--"],
        )?;
        let mut fields = out.stdout.split(|&b| b == 0);
        let mut dangling = Vec::new();
        while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
            let meta = String::from_utf8_lossy(meta);
            let mut parts = meta.trim_start_matches(':').split(' ');
            let (_, new_mode, _, new_id) = (parts.next(), parts.next(), parts.next(), parts.next());
            if new_mode == Some("160000") {
                let id = new_id.unwrap_or_default();
                let exists = self.output(None, &["cat-file", "-e", &format!("{id}^{{commit}}")])?;
                if !exists.success() {
                    dangling.push(String::from_utf8_lossy(path).into_owned());
                }
            }
        }
        Ok(dangling)
    }

    /// Which of `paths` (from the repository root; a directory stands for everything in it) git
    /// tracks: in the index of this working tree, or in `commit`'s tree.
    pub fn tracked_among(&self, commit: &str, paths: &[String]) -> Result<Vec<String>, GitError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let specs: Vec<String> = paths.iter().map(|p| literal_pathspec(p)).collect();
        let mut in_index = vec!["ls-files".to_string(), "-z".into(), "--".into()];
        in_index.extend(specs.iter().cloned());
        let mut in_commit = vec![
            "ls-tree".to_string(),
            "-r".into(),
            "-z".into(),
            "--name-only".into(),
            "--full-tree".into(),
            commit.to_string(),
            "--".into(),
        ];
        in_commit.extend(specs);
        let mut files = Vec::new();
        for args in [in_index, in_commit] {
            let out = self.run(None, &args)?;
            files.extend(
                out.stdout
                    .split(|b| *b == 0)
                    .filter(|f| !f.is_empty())
                    .map(path_from_bytes),
            );
        }
        Ok(paths
            .iter()
            .filter(|p| files.iter().any(|f| f.starts_with(p.as_str())))
            .cloned()
            .collect())
    }

    /// Points `branch` at `base` and checks it out in the worktree, discarding the worktree's
    /// tracked changes and untracked (not ignored) files: `git checkout --force -B <branch> <base>`
    /// then `git clean -fd`. Callers commit leftovers first (`commit_all`) so that nothing is lost.
    /// Ignored files (build output) are kept, so builds stay incremental.
    ///
    /// If `branch` already exists with commits that `base` lacks, first saves its tip under
    /// `refs/vane/attempts/<branch without vane/>/<n>` (the next free n; or the ref that already
    /// holds that tip) so an earlier attempt's work is never lost, and returns that ref's name.
    pub fn start_task_branch(
        &self,
        worktree: &Path,
        branch: &str,
        base: &str,
    ) -> Result<Option<String>, GitError> {
        let base = self.resolve_commit(base)?;
        let saved = match self.branch_tip(branch)? {
            Some(tip) if !self.is_ancestor(&tip, &base)? => Some(self.save_attempt(branch, &tip)?),
            _ => None,
        };
        // A merge an attempt cut short left in progress is forgotten by git's checkout, and not by
        // libgit2's, whose worktree would then commit it as a merge with the next task.
        let merging = self.merge_in_progress(worktree)?;
        if self.in_process_worktrees() && !merging {
            if let super::inproc::Attempt::Done(()) =
                super::inproc::worktree::start_task_branch(worktree, branch, &base)
            {
                return Ok(saved);
            }
        }
        self.run(
            Some(worktree),
            &[
                "checkout",
                "--quiet",
                "--force",
                "--no-track",
                "-B",
                branch,
                &base,
                "--",
            ],
        )?;
        self.clean(worktree)?;
        Ok(saved)
    }

    /// Checks out `commit` detached in the worktree, discarding tracked changes and untracked (not
    /// ignored) files, for running gates on a merge result: the gates see exactly that commit, plus
    /// ignored files such as build output.
    pub fn checkout_detached(&self, worktree: &Path, commit: &str) -> Result<(), GitError> {
        self.switch_detached(worktree, commit)?;
        self.clean(worktree)
    }

    /// `checkout_detached` without the clean, for a worktree known to hold no untracked files (one
    /// whose every change was just committed): cleaning walks the whole tree, which on a big
    /// repository costs more than the checkout.
    pub fn switch_detached(&self, worktree: &Path, commit: &str) -> Result<(), GitError> {
        let commit = self.resolve_commit(commit)?;
        self.worktree_git_dir(worktree)?;
        if self.in_process_worktrees() {
            if let super::inproc::Attempt::Done(()) =
                super::inproc::worktree::switch_detached(worktree, &commit)
            {
                return Ok(());
            }
        }
        self.run(
            Some(worktree),
            &["checkout", "--quiet", "--force", "--detach", &commit, "--"],
        )?;
        Ok(())
    }

    /// The commit checked out in `worktree`.
    pub fn head(&self, worktree: &Path) -> Result<String, GitError> {
        self.rev_parse_in(Some(worktree), "HEAD")?
            .ok_or_else(|| GitError::UnknownRevision("HEAD".to_string()))
    }

    /// The branch checked out in `worktree` (short name), or None when its HEAD is detached.
    pub fn current_branch(&self, worktree: &Path) -> Result<Option<String>, GitError> {
        let out = self.output(
            Some(worktree),
            &["symbolic-ref", "--quiet", "--short", "HEAD"],
        )?;
        match out.code {
            Some(0) => Ok(Some(out.text())),
            // `--quiet` exits 1, silently, when HEAD is detached.
            Some(1) => Ok(None),
            _ => Err(out.error()),
        }
    }

    /// Whether `worktree` has no staged, unstaged or untracked (non-ignored) changes.
    pub fn is_clean(&self, worktree: &Path) -> Result<bool, GitError> {
        let out = self.run(
            Some(worktree),
            &["status", "--porcelain", "-z", "--untracked-files=normal"],
        )?;
        Ok(out.stdout.is_empty())
    }

    /// Unlocks the worktree at `path`; nothing to do when it is not locked or not there.
    pub fn unlock_worktree(&self, path: &Path) -> Result<(), GitError> {
        let path = comparable_path(path);
        match self.find_worktree(&path)? {
            Some(info) if info.locked => {
                self.run(
                    None,
                    &[
                        "worktree".as_ref(),
                        "unlock".as_ref(),
                        "--".as_ref(),
                        path.as_os_str(),
                    ],
                )?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Removes the worktree at `path`, its directory and its registration, even when it has
    /// changes or is locked; nothing to do when git lists no worktree there. Only that worktree:
    /// never a global prune.
    pub fn remove_worktree(&self, path: &Path) -> Result<(), GitError> {
        let path = comparable_path(path);
        if matches!(self.find_worktree(&path), Ok(None)) {
            return Ok(());
        }
        self.remove_registration(&path)
    }

    /// The worktrees git knows of, the main one first.
    pub fn list_worktrees(&self) -> Result<Vec<WorktreeInfo>, GitError> {
        let out = self.run(None, &["worktree", "list", "--porcelain", "-z"])?;
        Ok(parse_worktree_list(&out.stdout))
    }

    /// The entry for the worktree at `path` (already made comparable), if git lists one.
    fn find_worktree(&self, path: &Path) -> Result<Option<WorktreeInfo>, GitError> {
        Ok(self
            .list_worktrees()?
            .into_iter()
            .find(|info| comparable_path(&info.path) == path))
    }

    /// `git worktree remove` by path. The first `--force` allows changes, the second a lock (vane's
    /// own worktrees are always locked); with the directory gone, it drops the registration alone.
    fn remove_registration(&self, path: &Path) -> Result<(), GitError> {
        let removed = self.output(
            None,
            &[
                "worktree".as_ref(),
                "remove".as_ref(),
                "--force".as_ref(),
                "--force".as_ref(),
                "--".as_ref(),
                path.as_os_str(),
            ],
        )?;
        if removed.success() {
            return Ok(());
        }
        // A registration git cannot read (a run killed while adding it) git cannot remove
        // either: its record, the one that names this path, goes by hand, and nothing else.
        let Ok(entries) = std::fs::read_dir(self.common_dir().join("worktrees")) else {
            return Err(removed.error());
        };
        let dot_git = path.join(".git");
        for entry in entries.flatten() {
            let names = std::fs::read_to_string(entry.path().join("gitdir"))
                .is_ok_and(|back| comparable_path(Path::new(back.trim_end())) == dot_git);
            if names {
                tracing::warn!(record = %entry.path().display(), "removing a worktree record git cannot read");
                std::fs::remove_dir_all(entry.path()).map_err(|e| GitError::Command {
                    args: format!("remove {}", entry.path().display()),
                    code: None,
                    stderr: e.to_string(),
                })?;
                if path.exists() {
                    let _ = std::fs::remove_dir_all(path);
                }
                return Ok(());
            }
        }
        Err(removed.error())
    }

    /// Removes untracked files and directories, keeping ignored ones. Nested repositories an agent
    /// may have cloned are kept too (that would take `-ff`); they are not part of any task's work.
    fn clean(&self, worktree: &Path) -> Result<(), GitError> {
        self.worktree_git_dir(worktree)?;
        if self.in_process_worktrees() {
            if let super::inproc::Attempt::Done(()) =
                super::inproc::worktree::clean_worktree(worktree)
            {
                return Ok(());
            }
        }
        self.run(Some(worktree), &["clean", "--quiet", "--force", "-d"])?;
        Ok(())
    }

    /// Keeps `tip`, the tip of `branch`, under the next free `refs/vane/attempts/<task>/<n>`, or
    /// returns the attempt ref that already holds it (a restart interrupted after saving).
    fn save_attempt(&self, branch: &str, tip: &str) -> Result<String, GitError> {
        let task = branch.strip_prefix("vane/").unwrap_or(branch);
        let name = self.keep_commit(&attempt_refs(task), tip)?;
        tracing::info!(branch, tip, saved = %name, "kept an earlier attempt");
        Ok(name)
    }

    /// Keeps `tip` alive under the next free `<prefix><n>` (`prefix` ends in `/`), or returns the
    /// ref under `prefix` that already holds it. The ref is created by compare-and-swap, so a name
    /// another process took meanwhile is never overwritten.
    pub fn keep_commit(&self, prefix: &str, tip: &str) -> Result<String, GitError> {
        // Another process may take the number we picked; the create-only update notices, and we
        // look again. Bounded, so that a persistent failure surfaces instead of spinning.
        let mut last_error = None;
        for _ in 0..5 {
            let name = match self.ref_slot(prefix, Some(tip))? {
                RefSlot::Holding(name) => return Ok(name),
                RefSlot::Free(name) => name,
            };
            match self.update_ref(&name, tip, None, "vane: keep a commit") {
                Ok(()) => return Ok(name),
                Err(e @ GitError::RefMoved { .. }) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.expect("the loop only ends early by returning, or after a RefMoved"))
    }

    /// The name `keep_commit` would give `tip` now (the next free one when `tip` is None, for a
    /// commit not made yet), changing nothing: what a dry run reports.
    pub fn kept_name(&self, prefix: &str, tip: Option<&str>) -> Result<String, GitError> {
        match self.ref_slot(prefix, tip)? {
            RefSlot::Holding(name) | RefSlot::Free(name) => Ok(name),
        }
    }

    fn ref_slot(&self, prefix: &str, tip: Option<&str>) -> Result<RefSlot, GitError> {
        let mut highest = 0u64;
        for (name, id) in self.refs_under(prefix)? {
            let Some(n) = name.strip_prefix(prefix).and_then(|n| n.parse().ok()) else {
                continue;
            };
            if Some(id.as_str()) == tip {
                return Ok(RefSlot::Holding(name));
            }
            highest = highest.max(n);
        }
        Ok(RefSlot::Free(format!("{prefix}{}", highest + 1)))
    }

    /// The refs whose names start with `prefix` (ending in `/`), as (name, commit).
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, String)>, GitError> {
        // for-each-ref matches a pattern without wildcards up to a slash, so `refs/x/a` lists
        // `refs/x/a/1` and not `refs/x/ab/1`.
        let pattern = prefix.trim_end_matches('/');
        let listed = self.run(
            None,
            &[
                "for-each-ref",
                "--format=%(objectname) %(refname)",
                "--end-of-options",
                pattern,
            ],
        )?;
        Ok(listed
            .text()
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(_, name)| name.starts_with(prefix))
            .map(|(id, name)| (name.to_string(), id.to_string()))
            .collect())
    }

    /// Whether `commit` reaches a commit that no ref reaches (branches, tags, vane's refs, the
    /// stash; worktrees' HEADs do not count), merges aside: the work a detached HEAD would take
    /// with it if its worktree went away. The merges vane makes in memory to gate and land carry
    /// nothing of their own (a merge that conflicts is never made), so a HEAD that reaches only
    /// such merges of kept commits holds nothing to keep.
    pub fn holds_unkept_commits(&self, commit: &str) -> Result<bool, GitError> {
        let out = self.run(
            None,
            &[
                "rev-list",
                "--no-merges",
                "--max-count=1",
                commit,
                "--not",
                // Every ref under refs/ (`*` crosses slashes here), and no HEAD.
                "--glob=*",
            ],
        )?;
        Ok(!out.stdout.is_empty())
    }

    /// The value of the trailer `key` in `commit`'s message (the last one when repeated).
    pub fn trailer(&self, commit: &str, key: &str) -> Result<Option<String>, GitError> {
        let out = self.run(
            None,
            &[
                "show",
                "--no-patch",
                "--no-show-signature",
                &format!("--format=%(trailers:key={key},valueonly)"),
                "--end-of-options",
                commit,
            ],
        )?;
        Ok(out
            .text()
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map(str::to_string))
    }
}

/// Where `ref_slot` found room for a commit.
enum RefSlot {
    /// A ref under the prefix holds it already.
    Holding(String),
    /// The next free name.
    Free(String),
}

/// A path from the repository root as a pathspec that matches it and nothing else: no globbing,
/// whatever directory git runs in.
fn literal_pathspec(path: &str) -> String {
    format!(":(top,literal){path}")
}

/// Reads `git worktree list --porcelain -z`: records of NUL-terminated `key value` attributes,
/// each record ended by an empty attribute.
fn parse_worktree_list(bytes: &[u8]) -> Vec<WorktreeInfo> {
    let mut list = Vec::new();
    let mut current: Option<WorktreeInfo> = None;
    for field in bytes.split(|&b| b == 0) {
        let (key, value) = match field.iter().position(|&b| b == b' ') {
            Some(at) => (&field[..at], &field[at + 1..]),
            None => (field, &field[..0]),
        };
        match key {
            b"worktree" => {
                list.extend(current.take());
                current = Some(WorktreeInfo {
                    path: path_from_bytes(value),
                    head: None,
                    branch: None,
                    locked: false,
                    prunable: false,
                });
            }
            _ => {
                let Some(info) = current.as_mut() else {
                    continue;
                };
                let text = String::from_utf8_lossy(value);
                match key {
                    b"HEAD" => info.head = Some(text.into_owned()),
                    b"branch" => {
                        let short = text.strip_prefix("refs/heads/").unwrap_or(&text);
                        info.branch = Some(short.to_string());
                    }
                    b"locked" => info.locked = true,
                    b"prunable" => info.prunable = true,
                    // The end of a record, `bare`, `detached`, or something newer git adds.
                    _ => {}
                }
            }
        }
    }
    list.extend(current);
    list
}

#[cfg(test)]
mod tests {
    use super::super::cli::testing::*;
    use super::*;

    fn listed(repo: &TestRepo, path: &Path) -> Option<WorktreeInfo> {
        repo.git
            .list_worktrees()
            .expect("list")
            .into_iter()
            .find(|w| w.path == path)
    }

    #[test]
    fn parses_the_porcelain_list() {
        let bytes = b"worktree /r\0HEAD abc\0branch refs/heads/main\0\0\
worktree /w 1\0HEAD def\0detached\0locked vane worker\0\0\
worktree /gone\0HEAD 123\0detached\0prunable gitdir file points to non-existent location\0\0";
        let list = parse_worktree_list(bytes);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].path, PathBuf::from("/r"));
        assert_eq!(list[0].branch.as_deref(), Some("main"));
        assert!(!list[0].locked);
        assert_eq!(list[1].path, PathBuf::from("/w 1"));
        assert_eq!(list[1].head.as_deref(), Some("def"));
        assert_eq!(list[1].branch, None);
        assert!(list[1].locked && !list[1].prunable);
        assert!(list[2].prunable && !list[2].locked);
        assert!(parse_worktree_list(b"").is_empty());
    }

    #[test]
    fn ensure_worktree_creates_locks_and_then_does_nothing() {
        let repo = TestRepo::new();
        let path = repo.path("w1");
        assert!(repo.git.ensure_worktree(&path, "main").expect("create"));
        let info = listed(&repo, &path).expect("listed");
        assert!(info.locked);
        assert_eq!(info.branch, None);
        assert_eq!(info.head, repo.git.branch_tip("main").expect("tip"));
        assert_eq!(read(&path, "a.txt"), "alpha\n");
        let reason = git(&repo.dir, &["worktree", "list", "--porcelain"]);
        assert!(reason.contains("locked vane worker"), "{reason}");

        write(&path, "scratch.txt", "agent notes\n");
        assert!(!repo.git.ensure_worktree(&path, "main").expect("again"));
        assert_eq!(read(&path, "scratch.txt"), "agent notes\n");

        // An existing worktree that somebody unlocked is locked again.
        repo.git.unlock_worktree(&path).expect("unlock");
        assert!(!listed(&repo, &path).expect("listed").locked);
        repo.git
            .unlock_worktree(&path)
            .expect("unlocking twice is fine");
        assert!(!repo.git.ensure_worktree(&path, "main").expect("again"));
        assert!(listed(&repo, &path).expect("listed").locked);
    }

    #[test]
    fn ensure_worktree_recreates_a_deleted_one_without_pruning_others() {
        let repo = TestRepo::new();
        let ours = repo.path("ours");
        let other = repo.path("other");
        repo.git.ensure_worktree(&ours, "main").expect("create");
        // Unrelated, unlocked, its directory also gone: a global prune would drop it.
        git(
            &repo.dir,
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                other.to_str().expect("utf-8"),
                "main",
            ],
        );
        std::fs::remove_dir_all(&ours).expect("delete ours");
        std::fs::remove_dir_all(&other).expect("delete other");
        assert!(listed(&repo, &other).expect("other listed").prunable);

        assert!(repo.git.ensure_worktree(&ours, "main").expect("re-create"));
        assert_eq!(read(&ours, "b.txt"), "beta\n");
        assert!(listed(&repo, &ours).expect("ours listed").locked);
        assert!(
            listed(&repo, &other).is_some(),
            "an unrelated stale registration must stay"
        );
    }

    #[test]
    fn concurrent_ensure_worktree_calls_all_succeed() {
        let repo = TestRepo::new();
        let paths: Vec<PathBuf> = (0..6).map(|i| repo.path(&format!("par-{i}"))).collect();
        std::thread::scope(|s| {
            for path in &paths {
                let git = &repo.git;
                s.spawn(move || {
                    assert!(git.ensure_worktree(path, "main").expect("ensure_worktree"));
                });
            }
        });
        for path in &paths {
            assert!(listed(&repo, path).expect("listed").locked);
            assert_eq!(read(path, "a.txt"), "alpha\n");
        }
    }

    #[test]
    fn ensure_worktree_reports_an_unknown_base() {
        let repo = TestRepo::new();
        let err = repo
            .git
            .ensure_worktree(&repo.path("w"), "no-such-branch")
            .expect_err("unknown base");
        assert!(matches!(err, GitError::UnknownRevision(_)), "{err:?}");
        assert!(!repo.path("w").exists());
    }

    #[test]
    fn remove_worktree_by_path_even_when_locked_and_dirty() {
        let repo = TestRepo::new();
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, "main").expect("create");
        write(&path, "untracked.txt", "x");
        write(&path, "a.txt", "changed\n");
        repo.git.remove_worktree(&path).expect("remove");
        assert!(!path.exists());
        assert!(listed(&repo, &path).is_none());
        repo.git
            .remove_worktree(&path)
            .expect("removing twice is fine");
    }

    #[test]
    fn commit_all_commits_a_dirty_worktree_and_skips_a_clean_one() {
        let repo = TestRepo::new();
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, "main").expect("create");
        repo.git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("branch");
        assert!(repo.git.is_clean(&path).expect("clean"));
        assert_eq!(repo.git.commit_all(&path, "Nothing").expect("commit"), None);

        write(&path, "a.txt", "alpha, changed\n");
        write(&path, "new/file.txt", "new\n");
        std::fs::remove_file(path.join("b.txt")).expect("delete");
        assert!(!repo.git.is_clean(&path).expect("dirty"));
        let message = "Do the thing\n\n# not a comment to strip\n\nVane-Task: t1\n";
        let commit = repo
            .git
            .commit_all(&path, message)
            .expect("commit")
            .expect("something to commit");
        assert_eq!(
            repo.git.branch_tip("vane/t1").expect("tip"),
            Some(commit.clone())
        );
        assert_eq!(repo.git.head(&path).expect("head"), commit);
        assert!(repo.git.is_clean(&path).expect("clean after"));
        let body = git(&repo.dir, &["log", "-1", "--format=%B", &commit]);
        assert_eq!(body, message.trim_end());
        let trailer = git(
            &repo.dir,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=Vane-Task,valueonly)",
                &commit,
            ],
        );
        assert_eq!(trailer, "t1");
        let files = git(&repo.dir, &["show", "--name-status", "--format=", &commit]);
        assert_eq!(files, "M\ta.txt\nD\tb.txt\nA\tnew/file.txt");
        assert_eq!(repo.git.commit_all(&path, "Again").expect("commit"), None);
    }

    #[test]
    fn tracked_among_finds_paths_in_the_index_or_the_commit() {
        let repo = TestRepo::new();
        write(&repo.dir, "dir/tracked.txt", "t\n");
        git(&repo.dir, &["add", "dir/tracked.txt"]);
        write(&repo.dir, "staged.txt", "s\n");
        let main = repo.git.branch_tip("main").expect("tip").expect("main");
        write(&repo.dir, ".env", "untracked\n");
        let paths: Vec<String> = ["a.txt", "dir", ".env", "staged.txt", "di", "*.txt"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            repo.git.tracked_among(&main, &paths).expect("ls"),
            ["a.txt", "dir"]
        );
        assert!(repo.git.tracked_among(&main, &[]).expect("none").is_empty());
    }

    #[test]
    fn commit_all_on_a_detached_head_returns_the_commit() {
        let repo = TestRepo::new();
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, "main").expect("create");
        write(&path, "c.txt", "gamma\n");
        let commit = repo.git.commit_all(&path, "Detached work").expect("commit");
        let commit = commit.expect("a commit");
        assert_eq!(repo.git.head(&path).expect("head"), commit);
        assert!(listed(&repo, &path).expect("listed").branch.is_none());
    }

    #[test]
    fn commit_all_uses_the_fallback_identity_without_a_configured_one() {
        let repo = TestRepo::new();
        // Only the config is isolated here: no author in the environment either.
        let env = vec![
            ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ];
        let plain = Git::open_with_env(&repo.dir, env).expect("open");
        let path = repo.path("w");
        plain.ensure_worktree(&path, "main").expect("create");
        write(&path, "c.txt", "gamma\n");
        let commit = plain
            .commit_all(&path, "Work")
            .expect("commit")
            .expect("a commit");
        let who = git(
            &repo.dir,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", &commit],
        );
        // The environment's identity, when the test runner has one, wins over any config.
        if std::env::var_os("GIT_AUTHOR_NAME").is_none()
            && std::env::var_os("GIT_COMMITTER_NAME").is_none()
        {
            assert_eq!(who, "vane <vane@localhost>|vane <vane@localhost>");
        }
    }

    #[test]
    fn start_task_branch_makes_a_new_branch_at_base() {
        let repo = TestRepo::new();
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, "main").expect("create");
        let saved = repo
            .git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("start");
        assert_eq!(saved, None);
        let main = repo.git.branch_tip("main").expect("tip");
        assert_eq!(repo.git.branch_tip("vane/t1").expect("tip"), main);
        assert_eq!(
            listed(&repo, &path).expect("listed").branch.as_deref(),
            Some("vane/t1")
        );
        // A branch that base already contains is simply moved, nothing saved.
        let saved = repo
            .git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("again");
        assert_eq!(saved, None);
        assert_eq!(git(&repo.dir, &["for-each-ref", "refs/vane/"]), "");
    }

    #[test]
    fn start_task_branch_keeps_an_earlier_attempt_and_cleans_the_worktree() {
        let repo = TestRepo::new();
        std::fs::write(repo.dir.join(".gitignore"), "target/\n").expect("gitignore");
        let base = commit(&repo.dir, "Ignore target");
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, "main").expect("create");
        repo.git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("start");
        write(&path, "a.txt", "attempt one\n");
        let first = repo
            .git
            .commit_all(&path, "Attempt 1")
            .expect("commit")
            .expect("commit");

        // Leftovers of the attempt: a tracked change, an untracked file, an ignored build output.
        write(&path, "b.txt", "uncommitted change\n");
        write(&path, "stray/untracked.txt", "stray\n");
        write(&path, "target/build.out", "built\n");

        let saved = repo
            .git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("retry");
        assert_eq!(saved.as_deref(), Some("refs/vane/attempts/t1/1"));
        assert_eq!(
            repo.git.rev_parse("refs/vane/attempts/t1/1").expect("rev"),
            Some(first.clone())
        );
        assert_eq!(
            repo.git.branch_tip("vane/t1").expect("tip"),
            Some(base.clone())
        );
        assert_eq!(read(&path, "a.txt"), "alpha\n");
        assert_eq!(read(&path, "b.txt"), "beta\n");
        assert!(!path.join("stray").exists(), "untracked files are removed");
        assert_eq!(
            read(&path, "target/build.out"),
            "built\n",
            "ignored files are kept"
        );
        assert!(repo.git.is_clean(&path).expect("clean"));

        // A second failed attempt goes to the next number.
        write(&path, "a.txt", "attempt two\n");
        let second = repo
            .git
            .commit_all(&path, "Attempt 2")
            .expect("commit")
            .expect("commit");
        let saved = repo
            .git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("retry");
        assert_eq!(saved.as_deref(), Some("refs/vane/attempts/t1/2"));
        assert_eq!(
            repo.git.rev_parse("refs/vane/attempts/t1/2").expect("rev"),
            Some(second.clone())
        );

        // A tip that is already kept is not kept twice.
        git(&repo.dir, &["update-ref", "refs/heads/vane/t1", &second]);
        let saved = repo
            .git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("retry");
        assert_eq!(saved.as_deref(), Some("refs/vane/attempts/t1/2"));
        assert_eq!(
            git(
                &repo.dir,
                &["for-each-ref", "--format=%(refname)", "refs/vane/"]
            ),
            "refs/vane/attempts/t1/1\nrefs/vane/attempts/t1/2"
        );
    }

    #[test]
    fn unkept_commits_are_found_and_kept_under_the_next_free_ref() {
        let repo = TestRepo::new();
        let main = git(&repo.dir, &["rev-parse", "main"]);
        assert!(!repo.git.holds_unkept_commits(&main).expect("check"));
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, "main").expect("create");
        write(&path, "c.txt", "gamma\n");
        let loose = repo
            .git
            .commit_all(&path, "Loose\n\nVane-Task: t1")
            .expect("commit")
            .expect("a commit");
        // A worktree's HEAD does not count as keeping it.
        assert!(repo.git.holds_unkept_commits(&loose).expect("check"));
        assert_eq!(
            repo.git.trailer(&loose, "Vane-Task").expect("trailer"),
            Some("t1".to_string())
        );
        assert_eq!(repo.git.trailer(&main, "Vane-Task").expect("trailer"), None);
        // A merge of kept commits holds nothing of its own.
        let side = git(
            &repo.dir,
            &["commit-tree", "main^{tree}", "-p", "main", "-m", "Side"],
        );
        git(&repo.dir, &["update-ref", "refs/heads/side", &side]);
        let merge = git(
            &repo.dir,
            &[
                "commit-tree",
                "main^{tree}",
                "-p",
                "main",
                "-p",
                "side",
                "-m",
                "Merge",
            ],
        );
        assert!(!repo.git.holds_unkept_commits(&merge).expect("check"));
        let prefix = attempt_refs("t1");
        assert_eq!(
            repo.git.kept_name(&prefix, Some(&loose)).expect("name"),
            "refs/vane/attempts/t1/1"
        );
        let kept = repo.git.keep_commit(&prefix, &loose).expect("keep");
        assert_eq!(kept, "refs/vane/attempts/t1/1");
        assert!(!repo.git.holds_unkept_commits(&loose).expect("check"));
        // Kept once: asking again names the same ref; another commit gets the next number.
        assert_eq!(repo.git.keep_commit(&prefix, &loose).expect("keep"), kept);
        assert_eq!(
            repo.git.keep_commit(&prefix, &main).expect("keep"),
            "refs/vane/attempts/t1/2"
        );
        assert_eq!(
            repo.git.kept_name(&prefix, None).expect("name"),
            "refs/vane/attempts/t1/3"
        );
        // `t1` is not a prefix of `t10`.
        repo.git
            .update_ref("refs/vane/attempts/t10/1", &main, None, "test")
            .expect("ref");
        assert_eq!(repo.git.refs_under(&prefix).expect("list").len(), 2);
    }

    #[test]
    fn current_branch_names_the_branch_or_none_when_detached() {
        let repo = TestRepo::new();
        assert_eq!(
            repo.git
                .current_branch(&repo.dir)
                .expect("branch")
                .as_deref(),
            Some("main")
        );
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, "main").expect("create");
        assert_eq!(repo.git.current_branch(&path).expect("branch"), None);
        repo.git
            .start_task_branch(&path, "vane/t1", "main")
            .expect("start");
        assert_eq!(
            repo.git.current_branch(&path).expect("branch").as_deref(),
            Some("vane/t1")
        );
    }

    #[test]
    fn checkout_detached_moves_a_worktree_to_a_commit() {
        let repo = TestRepo::new();
        let first = repo.git.branch_tip("main").expect("tip").expect("main");
        write(&repo.dir, "a.txt", "second\n");
        let second = commit(&repo.dir, "Second");
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, &first).expect("create");
        write(&path, "leftover.txt", "x");
        repo.git
            .checkout_detached(&path, &second)
            .expect("checkout");
        assert_eq!(repo.git.head(&path).expect("head"), second);
        assert_eq!(read(&path, "a.txt"), "second\n");
        assert!(!path.join("leftover.txt").exists());
        assert!(repo.git.is_clean(&path).expect("clean"));
        assert!(listed(&repo, &path).expect("listed").branch.is_none());
    }

    /// Every file under `dir` (but `.git`), with its bytes.
    fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).expect("read dir") {
                let entry = entry.expect("entry");
                let path = entry.path();
                if entry.file_name() == ".git" {
                    continue;
                }
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                    out.push((rel, std::fs::read(&path).expect("read")));
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    #[test]
    fn worktrees_hold_what_git_checkout_gives_with_filters() {
        let mut repo = TestRepo::new();
        // A clean/smudge filter: stored lowercase, checked out uppercase. libgit2 would not run it.
        git(&repo.dir, &["config", "filter.upper.smudge", "tr a-z A-Z"]);
        git(&repo.dir, &["config", "filter.upper.clean", "tr A-Z a-z"]);
        repo.reopen();
        write(&repo.dir, ".gitattributes", "*.txt filter=upper\n");
        write(&repo.dir, "notes.txt", "some notes\n");
        write(&repo.dir, "plain.md", "unfiltered\n");
        let one = commit(&repo.dir, "Filtered files");
        write(&repo.dir, "notes.txt", "other notes\n");
        write(&repo.dir, "more.txt", "more\n");
        let two = commit(&repo.dir, "More filtered files");

        let reference = |name: &str, commit: &str| {
            let path = repo.path(name);
            git(
                &repo.dir,
                &[
                    "worktree",
                    "add",
                    "-q",
                    "--detach",
                    path.to_str().expect("utf-8"),
                    commit,
                ],
            );
            snapshot(&path)
        };
        let ref_one = reference("ref-one", &one);
        let ref_two = reference("ref-two", &two);
        // The filter ran in git's own checkout, so the comparison means something.
        assert_eq!(read(&repo.path("ref-one"), "notes.txt"), "SOME NOTES\n");
        assert_eq!(read(&repo.path("ref-one"), "plain.md"), "unfiltered\n");

        let path = repo.path("w");
        repo.git.ensure_worktree(&path, &one).expect("create");
        assert_eq!(snapshot(&path), ref_one, "ensure_worktree");
        repo.git
            .start_task_branch(&path, "vane/t1", &two)
            .expect("start");
        assert_eq!(snapshot(&path), ref_two, "start_task_branch");
        repo.git.checkout_detached(&path, &one).expect("checkout");
        assert_eq!(snapshot(&path), ref_one, "checkout_detached");
        // And what the filter checked out is committed back unchanged: nothing to commit.
        assert!(repo.git.is_clean(&path).expect("clean"));
    }
}
