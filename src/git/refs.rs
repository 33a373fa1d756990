//! Moving refs safely, and what the merge queue needs to know around a move: which checkouts are on
//! a branch, ancestry, and the commits and diff a landing brings.
//!
//! Every ref update is a compare-and-swap (`git update-ref <ref> <new> <old>`), so that a branch a
//! person moved meanwhile is never overwritten: the queue notices and merges again. After moving a
//! branch that is checked out somewhere, `advance_checkout` brings that checkout along, the way a
//! fast-forward `git merge` would, refusing (and changing nothing) where it would overwrite a local
//! change.

use std::path::{Path, PathBuf};

use super::cli::Git;
use super::GitError;

impl Git {
    /// Compare-and-swap a ref: `git update-ref <ref> <new> <expected-old>` (expected None: the ref
    /// must not exist yet). `refname` is a full name (`refs/heads/main`), `expected_old` a full id.
    /// A mismatch is `GitError::RefMoved { refname, expected, actual }`, and nothing changed.
    /// `reason` goes to the reflog.
    pub fn update_ref(
        &self,
        refname: &str,
        new: &str,
        expected_old: Option<&str>,
        reason: &str,
    ) -> Result<(), GitError> {
        debug_assert!(
            refname.starts_with("refs/"),
            "not a full ref name: {refname}"
        );
        match super::inproc::update_ref(self.dir(), refname, new, expected_old, reason) {
            super::inproc::Attempt::Done(()) => return Ok(()),
            super::inproc::Attempt::Moved => {
                let actual = self.rev_parse(refname)?;
                return Err(GitError::RefMoved {
                    refname: refname.to_string(),
                    expected: expected_old.map(str::to_string),
                    actual,
                });
            }
            super::inproc::Attempt::Unsupported => {}
        }
        // An empty old value tells git the ref must not exist, whatever the hash's length.
        let out = self.output(
            None,
            &[
                "update-ref",
                "-m",
                reason,
                "--",
                refname,
                new,
                expected_old.unwrap_or(""),
            ],
        )?;
        if out.success() {
            return Ok(());
        }
        self.moved_or(refname, expected_old, out.error())
    }

    /// Deletes a ref if, and only if, it is at `expected_old` (a full id); otherwise
    /// `GitError::RefMoved` (with `actual` None when the ref is already gone).
    pub fn delete_ref(&self, refname: &str, expected_old: &str) -> Result<(), GitError> {
        debug_assert!(
            refname.starts_with("refs/"),
            "not a full ref name: {refname}"
        );
        let out = self.output(None, &["update-ref", "-d", "--", refname, expected_old])?;
        if out.success() {
            return Ok(());
        }
        self.moved_or(refname, Some(expected_old), out.error())
    }

    /// After a failed compare-and-swap: `RefMoved` if the ref is not where it was expected, else the
    /// command's own failure (a bad new value, a lock held by another process).
    fn moved_or(
        &self,
        refname: &str,
        expected: Option<&str>,
        failure: GitError,
    ) -> Result<(), GitError> {
        let actual = self.rev_parse(refname)?;
        if actual.as_deref() == expected {
            return Err(failure);
        }
        Err(GitError::RefMoved {
            refname: refname.to_string(),
            expected: expected.map(str::to_string),
            actual,
        })
    }

    /// Brings a person's checkout along after its branch moved from `old` to `new`:
    /// `git read-tree -m -u <old> <new>` in that working tree, updating the index and the files
    /// that changed between the two and keeping every other local change. Fails, changing nothing,
    /// if a local change would be overwritten; the checkout then shows the move as staged changes
    /// undoing it, which is for the caller to tell the person about.
    pub fn advance_checkout(&self, workdir: &Path, old: &str, new: &str) -> Result<(), GitError> {
        // read-tree trusts the index's stat data; a file merely touched would otherwise count as
        // changed. Exit 1 means some files are modified, which read-tree then judges itself.
        let refresh = self.output(Some(workdir), &["update-index", "-q", "--refresh"])?;
        if !matches!(refresh.code, Some(0) | Some(1)) {
            return Err(refresh.error());
        }
        self.advance_refreshed_checkout(workdir, old, new)
    }

    /// Saves a checkout's local changes, untracked files included, with `git stash push`, leaving it
    /// clean at its HEAD (`git stash pop` brings them back). Returns whether there was anything to
    /// save.
    pub fn stash(&self, workdir: &Path, message: &str) -> Result<bool, GitError> {
        if self.is_clean(workdir)? {
            return Ok(false);
        }
        self.run(
            Some(workdir),
            &[
                "stash",
                "push",
                "--quiet",
                "--include-untracked",
                "--message",
                message,
            ],
        )?;
        Ok(true)
    }

    /// The working trees (main and linked) that have `branch` checked out, with whether each is
    /// clean. A registered worktree whose directory is gone is left out.
    /// A checkout counts as clean when its tracked files hold no change, staged or not; untracked
    /// files are the person's and stay, as with `git merge` (see `can_advance_checkout`).
    pub fn checkouts_of(&self, branch: &str) -> Result<Vec<(PathBuf, bool)>, GitError> {
        let mut checkouts = Vec::new();
        for info in self.list_worktrees()? {
            if info.branch.as_deref() == Some(branch) && info.path.is_dir() {
                let status = self.run(
                    Some(&info.path),
                    &["status", "--porcelain", "-z", "--untracked-files=no"],
                )?;
                let clean = status.stdout.is_empty();
                checkouts.push((info.path, clean));
            }
        }
        Ok(checkouts)
    }

    /// The working trees that have `branch` checked out, without looking at their files.
    pub fn checkout_paths_of(&self, branch: &str) -> Result<Vec<PathBuf>, GitError> {
        if self.in_process_worktrees() {
            if let super::inproc::Attempt::Done(paths) =
                super::inproc::worktree::checkout_paths_of(self.common_dir(), branch)
            {
                return Ok(paths);
            }
        }
        Ok(self
            .list_worktrees()?
            .into_iter()
            .filter(|info| info.branch.as_deref() == Some(branch) && info.path.is_dir())
            .map(|info| info.path)
            .collect())
    }

    /// Whether a person's checkout can be brought from `old` to `new` now: it has no change to a
    /// tracked file (staged or not), and the move would overwrite none of its untracked files. One
    /// pass over the files to refresh the index (whose exit code tells of unstaged changes), one
    /// comparison of the index with HEAD, and a dry run of the move; `advance_refreshed_checkout`
    /// then does the move without refreshing again.
    pub fn checkout_can_follow(
        &self,
        workdir: &Path,
        old: &str,
        new: &str,
    ) -> Result<bool, GitError> {
        let old = self.resolve_commit(old)?;
        let new = self.resolve_commit(new)?;
        self.worktree_git_dir(workdir)?;
        if self.in_process_worktrees() {
            if let super::inproc::Attempt::Done(can) =
                super::inproc::worktree::checkout_can_follow(workdir, &old, &new)
            {
                return Ok(can);
            }
        }
        // Without `-q`, a refresh that meets a changed file exits 1.
        let refresh = self.output(Some(workdir), &["update-index", "--refresh"])?;
        match refresh.code {
            Some(0) => {}
            Some(1) => return Ok(false),
            _ => return Err(refresh.error()),
        }
        let staged = self.output(
            Some(workdir),
            &["diff-index", "--cached", "--quiet", "HEAD", "--"],
        )?;
        match staged.code {
            Some(0) => {}
            Some(1) => return Ok(false),
            _ => return Err(staged.error()),
        }
        let dry = self.output(Some(workdir), &["read-tree", "-n", "-m", "-u", &old, &new])?;
        Ok(dry.code == Some(0))
    }

    /// `advance_checkout` for a checkout that `checkout_can_follow` has just refreshed.
    pub fn advance_refreshed_checkout(
        &self,
        workdir: &Path,
        old: &str,
        new: &str,
    ) -> Result<(), GitError> {
        let old = self.resolve_commit(old)?;
        let new = self.resolve_commit(new)?;
        self.worktree_git_dir(workdir)?;
        if self.in_process_worktrees() {
            if let super::inproc::Attempt::Done(()) =
                super::inproc::worktree::advance_checkout(workdir, &old, &new)
            {
                return Ok(());
            }
        }
        self.run(Some(workdir), &["read-tree", "-m", "-u", &old, &new])?;
        Ok(())
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let out = self.output(None, &["merge-base", "--is-ancestor", ancestor, descendant])?;
        match out.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(out.error()),
        }
    }

    /// The paths that differ between the trees of `from` and `to` (renames as a removal and an
    /// addition, so that both names count).
    pub fn changed_paths(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        let (from, to) = (self.resolve_commit(from)?, self.resolve_commit(to)?);
        if let super::inproc::Attempt::Done(changes) =
            super::inproc::tree_changes(self.dir(), &from, &to)
        {
            return Ok(changes.into_iter().map(|c| c.path).collect());
        }
        let out = self.run(
            None,
            &[
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                &from,
                &to,
                "--",
            ],
        )?;
        Ok(out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// The commits on `to`'s first-parent line that `from` does not have, newest first.
    pub fn first_parent_commits(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        let out = self.run(
            None,
            &["rev-list", "--first-parent", &format!("{from}..{to}"), "--"],
        )?;
        Ok(out.text().lines().map(str::to_string).collect())
    }

    /// The unified diff from `from` to `to`, of `paths` only.
    pub fn diff_paths(&self, from: &str, to: &str, paths: &[String]) -> Result<String, GitError> {
        let mut args = vec![
            "diff".to_string(),
            "--no-color".into(),
            "--no-ext-diff".into(),
            from.to_string(),
            to.to_string(),
            "--".into(),
        ];
        args.extend(paths.iter().map(|p| format!(":(literal){p}")));
        let out = self.run(None, &args)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every path tracked in `commit`, in git's order (`git ls-tree -r --name-only`).
    pub fn tracked_paths(&self, commit: &str) -> Result<Vec<String>, GitError> {
        let out = self.run(None, &["ls-tree", "-r", "-z", "--name-only", commit])?;
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// The subject lines of the commits in `range` (`git log --format=%s <range>`), newest first.
    pub fn commit_subjects(&self, range: &str) -> Result<Vec<String>, GitError> {
        let out = self.run(
            None,
            &[
                "log",
                "-z",
                "--no-show-signature",
                "--format=%s",
                "--end-of-options",
                range,
                "--",
            ],
        )?;
        // With `-z`, each subject ends in a NUL, so that an empty subject still counts as one.
        let Some(body) = out.stdout.strip_suffix(b"\0") else {
            return Ok(Vec::new());
        };
        Ok(body
            .split(|&b| b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect())
    }

    /// The unified diff from `from` to the working tree at `workdir` as it is (tracked files).
    pub fn diff_working_tree(&self, workdir: &Path, from: &str) -> Result<String, GitError> {
        let out = self.run(
            Some(workdir),
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                "--end-of-options",
                from,
                "--",
            ],
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The unified diff from `from` to `to`, with the usual `a/` and `b/` prefixes whatever the
    /// config says, and no external diff program.
    pub fn diff(&self, from: &str, to: &str) -> Result<String, GitError> {
        let out = self.run(
            None,
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                "--end-of-options",
                from,
                to,
                "--",
            ],
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The best common ancestor of `a` and `b` (`git merge-base`), or None when they share none.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, GitError> {
        let out = self.output(None, &["merge-base", "--end-of-options", a, b])?;
        match out.code {
            Some(0) => Ok(Some(out.text())),
            Some(1) => Ok(None),
            _ => Err(out.error()),
        }
    }

    /// The diff from `from` to `to` for a person to read (`vane diff`): with the repository's own
    /// diff settings, no external diff program, and as `view` says.
    pub fn diff_to_read(
        &self,
        from: &str,
        to: &str,
        view: &DiffView<'_>,
    ) -> Result<Vec<u8>, GitError> {
        let mut args = vec![
            "diff".to_string(),
            "--no-ext-diff".to_string(),
            if view.color {
                "--color=always"
            } else {
                "--no-color"
            }
            .to_string(),
        ];
        match view.stat {
            Some(0) => args.push("--stat".to_string()),
            Some(width) => args.push(format!("--stat={width}")),
            None => {}
        }
        args.extend([
            "--end-of-options".to_string(),
            from.to_string(),
            to.to_string(),
            "--".to_string(),
        ]);
        args.extend(view.pathspecs.iter().cloned());
        Ok(self.run(None, &args)?.stdout)
    }
}

/// How `Git::diff_to_read` shows a diff.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffView<'a> {
    /// A diffstat instead of the patch (`--stat`), this many columns wide; 0 for git's default.
    pub stat: Option<usize>,
    /// In colour (`--color=always`), for a terminal.
    pub color: bool,
    /// Only these paths: git pathspecs, from the top of the working tree.
    pub pathspecs: &'a [String],
}

#[cfg(test)]
mod tests {
    use super::super::cli::testing::*;
    use super::*;

    #[test]
    fn update_ref_is_a_compare_and_swap() {
        let repo = TestRepo::new();
        let first = repo.git.branch_tip("main").expect("tip").expect("main");
        write(&repo.dir, "a.txt", "second\n");
        let second = commit(&repo.dir, "Second");

        // Create-only.
        repo.git
            .update_ref("refs/heads/feature", &first, None, "test: create")
            .expect("create");
        assert_eq!(
            repo.git.branch_tip("feature").expect("tip"),
            Some(first.clone())
        );
        let err = repo
            .git
            .update_ref("refs/heads/feature", &second, None, "test: create again")
            .expect_err("exists");
        match err {
            GitError::RefMoved {
                refname,
                expected,
                actual,
            } => {
                assert_eq!(refname, "refs/heads/feature");
                assert_eq!(expected, None);
                assert_eq!(actual, Some(first.clone()));
            }
            other => panic!("unexpected {other:?}"),
        }

        // Right old value: moves.
        repo.git
            .update_ref("refs/heads/feature", &second, Some(&first), "test: advance")
            .expect("advance");
        assert_eq!(
            repo.git.branch_tip("feature").expect("tip"),
            Some(second.clone())
        );
        let reflog = git(
            &repo.dir,
            &["reflog", "-1", "--format=%gs", "refs/heads/feature"],
        );
        assert_eq!(reflog, "test: advance");

        // Wrong old value: refused, unchanged.
        let err = repo
            .git
            .update_ref("refs/heads/feature", &first, Some(&first), "test: stale")
            .expect_err("stale");
        assert!(
            matches!(&err, GitError::RefMoved { actual: Some(a), expected: Some(e), .. }
                if *a == second && *e == first),
            "{err:?}"
        );
        assert_eq!(
            repo.git.branch_tip("feature").expect("tip"),
            Some(second.clone())
        );

        // Expecting a ref that does not exist.
        let err = repo
            .git
            .update_ref("refs/heads/nothing", &first, Some(&second), "test")
            .expect_err("absent");
        assert!(
            matches!(&err, GitError::RefMoved { actual: None, .. }),
            "{err:?}"
        );
        assert_eq!(repo.git.branch_tip("nothing").expect("tip"), None);

        // A failure that is not a move is reported as such.
        let err = repo
            .git
            .update_ref(
                "refs/heads/feature",
                "no-such-commit",
                Some(&second),
                "test",
            )
            .expect_err("bad value");
        assert!(matches!(&err, GitError::Command { .. }), "{err:?}");
    }

    #[test]
    fn concurrent_compare_and_swaps_let_exactly_one_win() {
        let repo = TestRepo::new();
        let old = repo.git.branch_tip("main").expect("tip").expect("main");
        let tree = repo.git.tree_of(&old).expect("tree");
        let candidates: Vec<String> = (0..8)
            .map(|i| {
                git(
                    &repo.dir,
                    &[
                        "commit-tree",
                        &tree,
                        "-p",
                        &old,
                        "-m",
                        &format!("candidate {i}"),
                    ],
                )
            })
            .collect();
        let results: Vec<Result<(), GitError>> = std::thread::scope(|s| {
            let handles: Vec<_> = candidates
                .iter()
                .map(|new| {
                    let git = &repo.git;
                    let old = &old;
                    s.spawn(move || git.update_ref("refs/heads/main", new, Some(old), "race"))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let winners: Vec<&String> = results
            .iter()
            .zip(&candidates)
            .filter(|(r, _)| r.is_ok())
            .map(|(_, c)| c)
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        for result in &results {
            match result {
                Ok(()) => {}
                // A loser either saw the winner's value, or found the ref locked by the winner
                // mid-update (git's lock file), which is not a move.
                Err(GitError::RefMoved { actual, .. }) => {
                    assert_eq!(actual.as_ref(), Some(winners[0]))
                }
                Err(GitError::Command { stderr, .. }) => {
                    assert!(stderr.contains("lock"), "{stderr}")
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            repo.git.branch_tip("main").expect("tip").as_ref(),
            Some(winners[0])
        );
    }

    #[test]
    fn delete_ref_only_from_the_expected_value() {
        let repo = TestRepo::new();
        let first = repo.git.branch_tip("main").expect("tip").expect("main");
        write(&repo.dir, "a.txt", "second\n");
        let second = commit(&repo.dir, "Second");
        git(&repo.dir, &["branch", "doomed", &first]);
        let err = repo
            .git
            .delete_ref("refs/heads/doomed", &second)
            .expect_err("wrong value");
        assert!(matches!(err, GitError::RefMoved { .. }), "{err:?}");
        assert_eq!(
            repo.git.branch_tip("doomed").expect("tip"),
            Some(first.clone())
        );
        repo.git
            .delete_ref("refs/heads/doomed", &first)
            .expect("delete");
        assert_eq!(repo.git.branch_tip("doomed").expect("tip"), None);
        let err = repo
            .git
            .delete_ref("refs/heads/doomed", &first)
            .expect_err("gone");
        assert!(
            matches!(err, GitError::RefMoved { actual: None, .. }),
            "{err:?}"
        );
    }

    /// The main checkout on `main` at `old`, and `new`: `old` plus a change to `a.txt` and a new
    /// `c.txt`, made in a side worktree so the main checkout stays at `old`.
    fn moved_branch() -> (TestRepo, String, String) {
        let (repo, old, new) = commit_beside_main();
        repo.git
            .update_ref("refs/heads/main", &new, Some(&old), "test: land")
            .expect("move main");
        (repo, old, new)
    }

    /// A commit `new` made beside `main` (which stays at `old`), changing a.txt and adding c.txt.
    fn commit_beside_main() -> (TestRepo, String, String) {
        let repo = TestRepo::new();
        let old = repo.git.branch_tip("main").expect("tip").expect("main");
        let side = repo.path("side");
        git(
            &repo.dir,
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                side.to_str().expect("utf-8"),
                &old,
            ],
        );
        write(&side, "a.txt", "alpha, landed\n");
        write(&side, "c.txt", "gamma\n");
        let new = commit(&side, "Landed");
        (repo, old, new)
    }

    #[test]
    fn a_checkout_can_follow_only_when_nothing_of_the_person_would_be_touched() {
        let (repo, old, new) = commit_beside_main();
        assert!(repo
            .git
            .checkout_can_follow(&repo.dir, &old, &new)
            .expect("clean"));
        // An untracked file the move does not touch is fine.
        write(&repo.dir, "notes.txt", "mine\n");
        assert!(repo
            .git
            .checkout_can_follow(&repo.dir, &old, &new)
            .expect("untracked"));
        // One the move would overwrite is not.
        write(&repo.dir, "c.txt", "my own c\n");
        assert!(!repo
            .git
            .checkout_can_follow(&repo.dir, &old, &new)
            .expect("in the way"));
        std::fs::remove_file(repo.dir.join("c.txt")).expect("remove");
        // A change to a tracked file, staged or not, is not.
        write(&repo.dir, "b.txt", "beta, mine\n");
        assert!(!repo
            .git
            .checkout_can_follow(&repo.dir, &old, &new)
            .expect("unstaged"));
        git(&repo.dir, &["add", "b.txt"]);
        assert!(!repo
            .git
            .checkout_can_follow(&repo.dir, &old, &new)
            .expect("staged"));
        git(&repo.dir, &["reset", "-q", "--hard"]);
        assert!(repo
            .git
            .checkout_can_follow(&repo.dir, &old, &new)
            .expect("clean again"));
        repo.git
            .update_ref("refs/heads/main", &new, Some(&old), "test: land")
            .expect("move main");
        repo.git
            .advance_refreshed_checkout(&repo.dir, &old, &new)
            .expect("advance");
        assert_eq!(read(&repo.dir, "c.txt"), "gamma\n");
        assert_eq!(read(&repo.dir, "notes.txt"), "mine\n");
    }

    #[test]
    fn advance_checkout_updates_a_clean_checkout() {
        let (repo, old, new) = moved_branch();
        // An unrelated local change survives.
        write(&repo.dir, "b.txt", "beta, mine\n");
        repo.git
            .advance_checkout(&repo.dir, &old, &new)
            .expect("advance");
        assert_eq!(read(&repo.dir, "a.txt"), "alpha, landed\n");
        assert_eq!(read(&repo.dir, "c.txt"), "gamma\n");
        assert_eq!(read(&repo.dir, "b.txt"), "beta, mine\n");
        let status = git(&repo.dir, &["status", "--porcelain"]);
        assert_eq!(status, " M b.txt");
    }

    #[test]
    fn advance_checkout_refuses_to_overwrite_a_local_change() {
        let (repo, old, new) = moved_branch();
        let mine = "alpha, my own edit\r\nwith odd bytes \u{00e9}\n";
        write(&repo.dir, "a.txt", mine);
        let err = repo
            .git
            .advance_checkout(&repo.dir, &old, &new)
            .expect_err("would overwrite");
        assert!(matches!(err, GitError::Command { .. }), "{err:?}");
        assert_eq!(
            std::fs::read(repo.dir.join("a.txt")).expect("read"),
            mine.as_bytes()
        );
        assert!(!repo.dir.join("c.txt").exists());
        // The index still holds `old` (the refresh may only have rewritten stat data).
        assert_eq!(
            git(&repo.dir, &["write-tree"]),
            repo.git.tree_of(&old).expect("tree")
        );
    }

    #[test]
    fn stash_saves_changes_and_untracked_files() {
        let repo = TestRepo::new();
        assert!(!repo.git.stash(&repo.dir, "nothing").expect("stash"));
        write(&repo.dir, "a.txt", "mine\n");
        write(&repo.dir, "new.txt", "untracked\n");
        assert!(repo
            .git
            .stash(&repo.dir, "vane rollback to checkpoint 3")
            .expect("stash"));
        assert!(repo.git.is_clean(&repo.dir).expect("clean"));
        assert_eq!(
            git(&repo.dir, &["stash", "list", "--format=%gs"]),
            "On main: vane rollback to checkpoint 3"
        );
        git(&repo.dir, &["stash", "pop", "-q"]);
        assert_eq!(read(&repo.dir, "a.txt"), "mine\n");
        assert_eq!(read(&repo.dir, "new.txt"), "untracked\n");
    }

    #[test]
    fn checkouts_of_finds_main_and_linked_checkouts() {
        let repo = TestRepo::new();
        let linked = repo.path("linked");
        git(
            &repo.dir,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "other",
                linked.to_str().expect("utf-8"),
                "main",
            ],
        );
        write(&linked, "a.txt", "dirty\n");
        assert_eq!(
            repo.git.checkouts_of("main").expect("main"),
            vec![(repo.dir.clone(), true)]
        );
        assert_eq!(
            repo.git.checkouts_of("other").expect("other"),
            vec![(linked.clone(), false)]
        );
        assert!(repo.git.checkouts_of("nowhere").expect("none").is_empty());
    }

    #[test]
    fn ancestry_subjects_and_diff() {
        let repo = TestRepo::new();
        let first = repo.git.branch_tip("main").expect("tip").expect("main");
        write(&repo.dir, "a.txt", "alpha\nmore\n");
        let second = commit(&repo.dir, "Add more");
        git(
            &repo.dir,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "--allow-empty-message",
                "-m",
                "",
            ],
        );
        let third = git(&repo.dir, &["rev-parse", "HEAD"]);
        assert!(repo.git.is_ancestor(&first, &second).expect("ancestor"));
        assert!(repo.git.is_ancestor(&first, &first).expect("itself"));
        assert!(!repo.git.is_ancestor(&second, &first).expect("not"));
        assert_eq!(
            repo.git
                .commit_subjects(&format!("{first}..{third}"))
                .expect("log"),
            vec!["".to_string(), "Add more".to_string()]
        );
        assert!(repo
            .git
            .commit_subjects(&format!("{third}..{first}"))
            .expect("log")
            .is_empty());
        let diff = repo.git.diff(&first, &second).expect("diff");
        assert!(diff.starts_with("diff --git a/a.txt b/a.txt\n"), "{diff}");
        assert!(diff.contains("\n+more\n"), "{diff}");
        assert_eq!(repo.git.diff(&first, &first).expect("diff"), "");
    }
}
