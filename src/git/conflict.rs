//! Starting a task's next attempt from the merge of its conflicting branch with the new base, so
//! that its agent resolves the conflicts instead of redoing the task: the merge left in progress in
//! the worktree with its conflict markers, what the prompt says about both sides, and the check
//! that no marker is left afterwards.
//!
//! The merge runs the git CLI in the worktree (`git merge --no-ff --no-commit`), like everything
//! else that writes a working tree; `commit_all_except` then commits what the agent left as the
//! merge commit, because git does so whenever `MERGE_HEAD` is there.

use std::path::Path;

use super::cli::Git;
use super::GitError;

/// A commit that landed on base, as the prompt of a resolving attempt lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandedCommit {
    pub subject: String,
    /// The tasks its `Vane-Task:` trailers name; none for a commit a person made on base.
    pub tasks: Vec<String>,
}

impl Git {
    /// Whether a merge is in progress in `worktree` (its git directory holds `MERGE_HEAD`).
    pub fn merge_in_progress(&self, worktree: &Path) -> Result<bool, GitError> {
        Ok(self
            .worktree_git_dir(worktree)?
            .join("MERGE_HEAD")
            .is_file())
    }

    /// Checks out `branch` at `head` in the worktree (as `start_task_branch` does, which keeps a tip
    /// of `branch` that `head` lacks under `refs/vane/attempts/`), then merges `base` into it
    /// without committing: `git merge --no-ff --no-commit <base>`. The merge stays in progress, with
    /// conflict markers in the files that conflict; returns those paths (none when it merged
    /// cleanly, or when `head` already holds `base`, in which case no merge is in progress).
    pub fn start_from_merge(
        &self,
        worktree: &Path,
        branch: &str,
        head: &str,
        base: &str,
    ) -> Result<Vec<String>, GitError> {
        let base = self.resolve_commit(base)?;
        self.start_task_branch(worktree, branch, head)?;
        let merged = self.output(
            Some(worktree),
            &[
                "merge",
                "--quiet",
                "--no-ff",
                "--no-commit",
                "--no-rerere-autoupdate",
                &base,
            ],
        )?;
        if merged.success() {
            return Ok(Vec::new());
        }
        // Exit 1 with `MERGE_HEAD` written is a merge that stopped at its conflicts; anything else
        // (an unknown commit, a worktree git refuses to merge in) is a failure.
        if merged.code != Some(1) || !self.merge_in_progress(worktree)? {
            return Err(merged.error());
        }
        self.unmerged_paths(worktree)
    }

    /// The paths the index of `worktree` holds unmerged (the conflicts of a merge in progress),
    /// each once.
    pub fn unmerged_paths(&self, worktree: &Path) -> Result<Vec<String>, GitError> {
        let out = self.run(
            Some(worktree),
            &[
                "diff",
                "--name-only",
                "--diff-filter=U",
                "-z",
                "--no-renames",
            ],
        )?;
        let mut paths: Vec<String> = out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        paths.dedup();
        Ok(paths)
    }

    /// The subjects of the commits `head` has and `base` lacks, merges left out, newest first: a
    /// task's own work on its branch.
    pub fn own_subjects(&self, base: &str, head: &str) -> Result<Vec<String>, GitError> {
        let out = self.run(
            None,
            &[
                "log",
                "-z",
                "--no-merges",
                "--no-show-signature",
                "--format=%s",
                "--end-of-options",
                &format!("{base}..{head}"),
                "--",
            ],
        )?;
        Ok(nul_separated(&out.stdout)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect())
    }

    /// `git diff --stat <base>...<head>`: what `head` changed since it parted from `base`.
    pub fn diff_stat(&self, base: &str, head: &str) -> Result<String, GitError> {
        let out = self.run(
            None,
            &[
                "diff",
                "--stat",
                "--no-color",
                "--no-ext-diff",
                "--end-of-options",
                &format!("{base}...{head}"),
                "--",
            ],
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// The commits on `base`'s first-parent line since `since` that changed any of `paths`, newest
    /// first, with the tasks their `Vane-Task:` trailers name: what landed meanwhile where a task's
    /// branch conflicts.
    pub fn landed_touching(
        &self,
        since: &str,
        base: &str,
        paths: &[String],
    ) -> Result<Vec<LandedCommit>, GitError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            "log".to_string(),
            "-z".into(),
            "--first-parent".into(),
            "--no-show-signature".into(),
            // Subject, a unit separator, then the trailers' values separated by spaces.
            "--format=%s%x1f%(trailers:key=Vane-Task,valueonly,separator=%x20)".into(),
            "--end-of-options".into(),
            format!("{since}..{base}"),
            "--".into(),
        ];
        args.extend(paths.iter().map(|p| format!(":(literal){p}")));
        let out = self.run(None, &args)?;
        Ok(nul_separated(&out.stdout)
            .map(|record| {
                let record = String::from_utf8_lossy(record);
                let (subject, tasks) = record.split_once('\u{1f}').unwrap_or((&record, ""));
                LandedCommit {
                    subject: subject.to_string(),
                    tasks: tasks.split_whitespace().map(str::to_string).collect(),
                }
            })
            .collect())
    }
}

/// The records of `-z` output, each ended by a NUL (so that an empty record still counts).
fn nul_separated(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .strip_suffix(b"\0")
        .map(|body| body.split(|&b| b == 0))
        .into_iter()
        .flatten()
}

/// The lines (numbered from 1) of `text` that are conflict markers a merge leaves: those starting
/// with `<<<<<<< ` or `>>>>>>> `, and, between such an opening and its close, `=======` alone on
/// its line or the `||||||| ` that opens the common ancestor's side (`merge.conflictStyle = diff3`).
/// A line of `=======` elsewhere (a Markdown heading's underline) is not one.
pub fn conflict_marker_lines(text: &str) -> Vec<usize> {
    let mut open = false;
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let marker = if line.starts_with("<<<<<<< ") {
            open = true;
            true
        } else if line.starts_with(">>>>>>> ") {
            open = false;
            true
        } else {
            open && (line == "=======" || line.starts_with("||||||| "))
        };
        if marker {
            found.push(index + 1);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::cli::testing::*;
    use super::*;

    #[test]
    fn conflict_markers_are_found_by_line() {
        let cases: &[(&str, &[usize])] = &[
            ("", &[]),
            ("plain\ntext\n", &[]),
            (
                "base\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> main\n",
                &[2, 4, 6],
            ),
            // diff3 style: the common ancestor's side has a marker of its own.
            (
                "<<<<<<< HEAD\nours\n||||||| base\nold\n=======\ntheirs\n>>>>>>> main\n",
                &[1, 3, 5, 7],
            ),
            // A Markdown heading's underline is not a marker outside a conflict.
            ("Title\n=======\n\ntext\n", &[]),
            // Nor is a marker word inside a line, or one without its space and label.
            ("a <<<<<<< b\n<<<<<<<\n>>>>>>>\n", &[]),
            // A lone end marker still counts: half a conflict is still left.
            ("kept\n>>>>>>> main\n", &[2]),
            ("<<<<<<< HEAD\r\nours\r\n=======\r\n", &[1, 3]),
            // Two conflicts in one file; the underline between them is not inside either.
            (
                "<<<<<<< HEAD\na\n=======\nb\n>>>>>>> x\n=======\n<<<<<<< HEAD\nc\n=======\n",
                &[1, 3, 5, 7, 9],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(conflict_marker_lines(text), *expected, "in {text:?}");
        }
    }

    /// A repository where `vane/t1` and `main` both changed `a.txt` since the first commit.
    fn diverged() -> (TestRepo, String, String, String) {
        let repo = TestRepo::new();
        let start = git(&repo.dir, &["rev-parse", "main"]);
        git(&repo.dir, &["checkout", "-q", "-b", "vane/t1"]);
        write(&repo.dir, "a.txt", "alpha\ntask\n");
        write(&repo.dir, "c.txt", "gamma\n");
        let head = commit(&repo.dir, "Add the task's line\n\nVane-Task: t1");
        git(&repo.dir, &["checkout", "-q", "main"]);
        write(&repo.dir, "a.txt", "alpha\nother\n");
        let landed = commit(&repo.dir, "Land t2: Other line\n\nVane-Task: t2");
        write(&repo.dir, "b.txt", "beta, changed\n");
        let base = commit(&repo.dir, "Change b");
        assert_ne!(landed, base);
        (repo, start, head, base)
    }

    #[test]
    fn a_branch_starts_from_the_merge_with_markers_and_commits_as_the_merge() {
        for in_process in [false, true] {
            let (mut repo, start, head, base) = diverged();
            repo.git.set_in_process_worktrees(in_process);
            let path = repo.path("w");
            repo.git.ensure_worktree(&path, &base).expect("worktree");
            let conflicts = repo
                .git
                .start_from_merge(&path, "vane/t1", &head, &base)
                .expect("merge");
            assert_eq!(conflicts, ["a.txt"]);
            assert!(repo.git.merge_in_progress(&path).expect("state"));
            let text = read(&path, "a.txt");
            assert_eq!(conflict_marker_lines(&text), [2, 4, 6], "{text}");
            assert_eq!(read(&path, "b.txt"), "beta, changed\n", "base's clean part");
            assert_eq!(read(&path, "c.txt"), "gamma\n", "the task's own part");
            assert_eq!(
                repo.git.current_branch(&path).expect("branch").as_deref(),
                Some("vane/t1")
            );

            // What the prompt tells about both sides.
            assert_eq!(
                repo.git.own_subjects(&base, &head).expect("log"),
                ["Add the task's line"]
            );
            let stat = repo.git.diff_stat(&base, &head).expect("stat");
            assert!(stat.contains("a.txt") && stat.contains("c.txt"), "{stat}");
            assert!(!stat.contains("b.txt"), "{stat}");
            assert_eq!(
                repo.git
                    .landed_touching(&start, &base, &conflicts)
                    .expect("landed"),
                [LandedCommit {
                    subject: "Land t2: Other line".to_string(),
                    tasks: vec!["t2".to_string()],
                }]
            );

            // Resolved, and committed as usual: the merge commit of both.
            write(&path, "a.txt", "alpha\ntask\nother\n");
            let merge = repo
                .git
                .commit_all(&path, "Resolve\n\nVane-Task: t1")
                .expect("commit")
                .expect("a commit");
            assert!(!repo.git.merge_in_progress(&path).expect("state"));
            let parents = git(&repo.dir, &["log", "-1", "--format=%P", &merge]);
            assert_eq!(
                parents,
                format!("{head} {base}"),
                "in process: {in_process}"
            );
            assert_eq!(
                git(&repo.dir, &["show", &format!("{merge}:a.txt")]),
                "alpha\ntask\nother"
            );
        }
    }

    #[test]
    fn a_merge_left_unchanged_is_still_committed_as_the_merge() {
        let (repo, _, head, base) = diverged();
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, &base).expect("worktree");
        repo.git
            .start_from_merge(&path, "vane/t1", &head, &base)
            .expect("merge");
        // Resolved to exactly the task's side: the tree is HEAD's, and still a merge is made.
        write(&path, "a.txt", "alpha\ntask\n");
        write(&path, "b.txt", "beta\n");
        let merge = repo
            .git
            .commit_all(&path, "Keep ours")
            .expect("commit")
            .expect("a merge commit even with HEAD's tree");
        let parents = git(&repo.dir, &["log", "-1", "--format=%P", &merge]);
        assert_eq!(parents, format!("{head} {base}"));
    }

    #[test]
    fn a_merge_left_in_progress_is_forgotten_when_the_next_task_starts() {
        for in_process in [false, true] {
            let (mut repo, _, head, base) = diverged();
            repo.git.set_in_process_worktrees(in_process);
            let path = repo.path("w");
            repo.git.ensure_worktree(&path, &base).expect("worktree");
            repo.git
                .start_from_merge(&path, "vane/t1", &head, &base)
                .expect("merge");
            // An attempt cut short: its worktree is handed to another task as it is.
            repo.git.detach_head(&path, &head).expect("detach");
            repo.git
                .start_task_branch(&path, "vane/t2", &base)
                .expect("start");
            assert!(!repo.git.merge_in_progress(&path).expect("state"));
            write(&path, "d.txt", "delta\n");
            let next = repo
                .git
                .commit_all(&path, "Next task")
                .expect("commit")
                .expect("a commit");
            let parents = git(&repo.dir, &["log", "-1", "--format=%P", &next]);
            assert_eq!(parents, base, "in process: {in_process}");
        }
    }

    #[test]
    fn a_branch_that_already_holds_base_merges_nothing() {
        let (repo, _, head, base) = diverged();
        let path = repo.path("w");
        repo.git.ensure_worktree(&path, &base).expect("worktree");
        // The branch's own merge of base, made by an earlier resolution.
        let merged = git(
            &repo.dir,
            &[
                "commit-tree",
                &format!("{base}^{{tree}}"),
                "-p",
                &head,
                "-p",
                &base,
                "-m",
                "Merged",
            ],
        );
        let conflicts = repo
            .git
            .start_from_merge(&path, "vane/t1", &merged, &base)
            .expect("merge");
        assert!(conflicts.is_empty());
        assert!(!repo.git.merge_in_progress(&path).expect("state"));
        assert_eq!(repo.git.head(&path).expect("head"), merged);
    }
}
