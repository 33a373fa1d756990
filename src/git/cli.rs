//! A small runner for the git CLI, and the `Git` handle every other git operation hangs off.
//!
//! Anything that writes a working tree goes through the git CLI rather than libgit2: libgit2 runs
//! no hooks and no external filters (LFS smudge, `filter=` drivers), so only git itself leaves a
//! worktree holding what `git checkout` gives. The CLI is also much faster at in-memory merges on big
//! repositories (`git merge-tree --write-tree` only descends into trees that changed).
//!
//! Every command runs with a fixed environment, so that its output can be parsed and it never
//! waits for a person: no pager, no prompts, the C locale, stdin closed.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::GitError;

/// The identity used for commits when git has none configured, so that vane works on a fresh
/// machine or in CI. Passed with `-c`, so it never lands in anybody's config.
const FALLBACK_NAME: &str = "vane";
const FALLBACK_EMAIL: &str = "vane@localhost";

/// Variables that, inherited from a parent git process (vane run from a hook, say), would point
/// our commands at another repository or index than the one asked for.
const REPOSITORY_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

/// Runs the git CLI for one repository, with a fixed environment: no pager, no prompts
/// (`GIT_TERMINAL_PROMPT=0`), `LC_ALL=C`, and a fallback identity (user.name "vane", user.email
/// "vane@localhost") passed with `-c` only when the repository's config has none.
#[derive(Debug, Clone)]
pub struct Git {
    /// Where repository-wide commands run: the top of the working tree `open` was given, or the
    /// common directory of a bare repository.
    dir: PathBuf,
    /// The directory shared by all worktrees.
    common_dir: PathBuf,
    /// `-c key=value` pairs put before every command (the fallback identity, when needed).
    config: Vec<String>,
    /// Extra environment for every command; tests use it to keep the person's config out.
    pub(crate) env: Vec<(OsString, OsString)>,
    /// Small repositories merge in process (see `inproc::merge`); tests turn it off to check the
    /// CLI path too.
    pub(crate) in_process_merges: bool,
    /// Whether the per-task working-tree operations run in process (see `inproc::worktree`):
    /// probed the first time one of them asks (most commands never do), once for every clone;
    /// tests set it to check both paths.
    plain: Arc<OnceLock<bool>>,
    /// `plain` whatever the repository's size (see `in_process_checkout_moves`).
    plain_any_size: Arc<OnceLock<bool>>,
    /// `user.name` and `user.email` as git resolves them for this repository, or vane's fallbacks:
    /// what in-process commits sign with when `GIT_AUTHOR_*`/`GIT_COMMITTER_*` do not say.
    pub(crate) identity: (String, String),
}

/// What a finished git command left behind.
#[derive(Debug)]
pub(crate) struct Output {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// The arguments, for error messages.
    args: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Stdout as text with the trailing newline removed.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim_end().to_string()
    }

    /// The failure this output stands for.
    pub fn error(self) -> GitError {
        GitError::Command {
            args: self.args,
            code: self.code,
            stderr: self.stderr.trim().to_string(),
        }
    }

    /// Fails unless git exited 0.
    pub fn ok(self) -> Result<Output, GitError> {
        if self.success() {
            Ok(self)
        } else {
            Err(self.error())
        }
    }
}

impl Git {
    /// Opens the repository containing `repo_dir`.
    pub fn open(repo_dir: &Path) -> Result<Git, GitError> {
        Git::open_with_env(repo_dir, Vec::new())
    }

    pub(crate) fn open_with_env(
        repo_dir: &Path,
        env: Vec<(OsString, OsString)>,
    ) -> Result<Git, GitError> {
        if !repo_dir.is_dir() {
            return Err(GitError::NotARepository(repo_dir.to_path_buf()));
        }
        let probe = Git {
            dir: repo_dir.to_path_buf(),
            common_dir: repo_dir.to_path_buf(),
            config: Vec::new(),
            env,
            in_process_merges: true,
            plain: Arc::new(OnceLock::new()),
            plain_any_size: Arc::new(OnceLock::new()),
            identity: (FALLBACK_NAME.to_string(), FALLBACK_EMAIL.to_string()),
        };
        let common = probe.output(
            None,
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        )?;
        if !common.success() {
            return Err(GitError::NotARepository(repo_dir.to_path_buf()));
        }
        let common_dir = PathBuf::from(common.text());
        // A bare repository has no top level; its commands run in the common directory.
        let top = probe.output(None, &["rev-parse", "--show-toplevel"])?;
        let dir = if top.success() {
            PathBuf::from(top.text())
        } else {
            common_dir.clone()
        };
        let mut git = Git {
            dir,
            common_dir,
            ..probe
        };
        // vane's commits would otherwise start `git maintenance run --auto` every time; a person's
        // own git use keeps the repository tidy as before.
        git.config.push("maintenance.auto=false".to_string());
        git.config.push("gc.auto=0".to_string());
        for (key, fallback) in [("user.name", FALLBACK_NAME), ("user.email", FALLBACK_EMAIL)] {
            // `git config --get` exits 1 when the key is unset anywhere git looks.
            let found = git.output(None, &["config", "--get", key])?;
            let value = match found.code {
                Some(0) => found.text(),
                Some(1) => {
                    git.config.push(format!("{key}={fallback}"));
                    fallback.to_string()
                }
                _ => return Err(found.error()),
            };
            if key == "user.name" {
                git.identity.0 = value;
            } else {
                git.identity.1 = value;
            }
        }
        Ok(git)
    }

    /// The directory git runs hooks from (`core.hooksPath`, else `hooks` in the common directory),
    /// absolute.
    pub fn hooks_dir(&self) -> Result<PathBuf, GitError> {
        let out = self.run(None, &["rev-parse", "--git-path", "hooks"])?;
        let path = PathBuf::from(out.text());
        Ok(if path.is_absolute() {
            path
        } else {
            self.dir.join(path)
        })
    }

    /// Whether the per-task working-tree operations may run in process here.
    pub(crate) fn in_process_worktrees(&self) -> bool {
        *self
            .plain
            .get_or_init(|| super::inproc::worktree::Plain::probe(&self.dir, &self.common_dir).0)
    }

    /// Whether a person's checkout may be brought along in process here (the files a change
    /// touches written by libgit2), whatever the repository's size.
    pub(crate) fn in_process_checkout_moves(&self) -> bool {
        *self.plain_any_size.get_or_init(|| {
            super::inproc::worktree::Plain::probe_any_size(&self.dir, &self.common_dir)
        })
    }

    /// Decides `in_process_worktrees` instead of probing (tests check both paths with it).
    #[cfg(test)]
    pub(crate) fn set_in_process_worktrees(&mut self, on: bool) {
        self.plain = Arc::new(OnceLock::from(on));
        self.plain_any_size = Arc::new(OnceLock::from(on));
    }

    /// The git directory of `dir`, a working tree of this repository: the common directory for the
    /// main working tree, `<common>/worktrees/<id>` for a linked one, checked both ways (the `.git`
    /// file names the administrative directory, and that names the `.git` file back). Anything else
    /// is `ForeignWorktree`, with what was found: git is never left to discover a repository from
    /// a directory an agent has had its hands on.
    pub fn worktree_git_dir(&self, dir: &Path) -> Result<PathBuf, GitError> {
        use super::integrity::{classify_worktree_dir, WorktreeState};
        // The common case, every git command in a worktree: both links name each other as written,
        // two small reads. Anything else takes the full look, which resolves every path.
        if let Some(admin) = self.linked_as_written(dir) {
            return complete(dir, admin);
        }
        match classify_worktree_dir(&self.common_dir, dir) {
            WorktreeState::Ours { admin } => complete(dir, admin),
            WorktreeState::Main => Ok(self.common_dir.clone()),
            other => Err(GitError::ForeignWorktree {
                path: dir.to_path_buf(),
                found: other.describe(),
            }),
        }
    }

    /// The administrative directory of `dir` when its `.git` file names
    /// `<common dir>/worktrees/<id>` and that names `dir/.git` back, both exactly as given.
    fn linked_as_written(&self, dir: &Path) -> Option<PathBuf> {
        let dot_git = dir.join(".git");
        let link = std::fs::read_to_string(&dot_git).ok()?;
        let admin = PathBuf::from(link.trim_end().strip_prefix("gitdir: ")?);
        if admin.parent()? != self.common_dir.join("worktrees") {
            return None;
        }
        let back = std::fs::read_to_string(admin.join("gitdir")).ok()?;
        (Path::new(back.trim_end()) == dot_git).then_some(admin)
    }

    /// Mends a worktree of this repository whose `.git` file was removed or broken (an agent's
    /// `rm -f .git`) by putting the file back, so that what it holds can be kept; returns whether
    /// it is whole now. A `.git` that is a repository of its own, or a worktree git has no record
    /// of, is left for the caller to take away.
    pub fn repair_worktree(&self, dir: &Path) -> Result<bool, GitError> {
        use super::integrity::{classify_worktree_dir, restore_git_file, WorktreeState};
        let state = classify_worktree_dir(&self.common_dir, dir);
        match (&state, state.registered()) {
            (WorktreeState::Ours { .. }, _) => return Ok(true),
            (
                WorktreeState::NotAWorktree { .. } | WorktreeState::BrokenGitFile { .. },
                Some(admin),
            ) => {
                tracing::warn!(worktree = %dir.display(), "putting back the worktree's `.git` file");
                restore_git_file(dir, admin).map_err(|e| GitError::Command {
                    args: format!("write {}", dir.join(".git").display()),
                    code: None,
                    stderr: e.to_string(),
                })?;
            }
            _ => return Ok(false),
        }
        Ok(self.worktree_git_dir(dir).is_ok())
    }

    /// Where repository-wide commands run (the top of a working tree, or a bare repository).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory shared by all worktrees.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// The full id `rev` names, or None if it names nothing.
    pub fn rev_parse(&self, rev: &str) -> Result<Option<String>, GitError> {
        self.rev_parse_in(None, rev)
    }

    /// The commit at the tip of `refs/heads/<branch>`, or None if there is no such branch.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<String>, GitError> {
        self.rev_parse(&format!("refs/heads/{branch}"))
    }

    /// `rev_parse`, run in `dir` (so `HEAD` is that worktree's) or in the repository.
    pub(crate) fn rev_parse_in(
        &self,
        dir: Option<&Path>,
        rev: &str,
    ) -> Result<Option<String>, GitError> {
        // In process: the work loop asks for the base tip several times per task, and a git
        // process costs milliseconds where libgit2 takes microseconds.
        if let Some(dir) = dir.filter(|d| *d != self.dir) {
            self.worktree_git_dir(dir)?;
        }
        if let super::inproc::Attempt::Done(found) =
            super::inproc::rev_parse(dir.unwrap_or(&self.dir), rev)
        {
            return Ok(found);
        }
        let out = self.output(
            dir,
            &["rev-parse", "--verify", "--quiet", "--end-of-options", rev],
        )?;
        match out.code {
            Some(0) => Ok(Some(out.text())),
            // `--verify --quiet` exits 1, silently, for a name that does not resolve.
            Some(1) => Ok(None),
            _ => Err(out.error()),
        }
    }

    /// The commit `rev` names, or `UnknownRevision`. A full hexadecimal id is taken as given,
    /// sparing a process; git reports it when it is used if it names no commit.
    pub(crate) fn resolve_commit(&self, rev: &str) -> Result<String, GitError> {
        if is_full_hex_id(rev) {
            return Ok(rev.to_ascii_lowercase());
        }
        self.rev_parse(&format!("{rev}^{{commit}}"))?
            .ok_or_else(|| GitError::UnknownRevision(rev.to_string()))
    }

    /// Runs git with `args` in `dir` (the repository when None) and fails unless it exits 0.
    pub(crate) fn run<S: AsRef<OsStr>>(
        &self,
        dir: Option<&Path>,
        args: &[S],
    ) -> Result<Output, GitError> {
        self.output(dir, args)?.ok()
    }

    /// Runs git with `args` in `dir` (the repository when None), whatever its exit status; fails
    /// only when git could not be run at all.
    pub(crate) fn output<S: AsRef<OsStr>>(
        &self,
        dir: Option<&Path>,
        args: &[S],
    ) -> Result<Output, GitError> {
        self.output_with_input(dir, args, None)
    }

    /// `output`, with `input` written to git's stdin (commit messages go this way, so that a long
    /// one never hits the limit on the size of an argument).
    pub(crate) fn output_with_input<S: AsRef<OsStr>>(
        &self,
        dir: Option<&Path>,
        args: &[S],
        input: Option<&[u8]>,
    ) -> Result<Output, GitError> {
        let dir = dir.unwrap_or(&self.dir);
        let mut pause = Duration::from_millis(5);
        for _ in 0..RACE_RETRIES {
            let out = self.run_once(dir, args, input)?;
            if out.success() || !is_worktree_race(&out.stderr) {
                return Ok(out);
            }
            tracing::debug!(target: "vane::git", args = %out.args, stderr = %out.stderr.trim(), "another worktree was being set up; trying again");
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
        self.run_once(dir, args, input)
    }

    fn run_once<S: AsRef<OsStr>>(
        &self,
        dir: &Path,
        args: &[S],
        input: Option<&[u8]>,
    ) -> Result<Output, GitError> {
        let shown = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        let mut command = Command::new("git");
        command.arg("--no-pager");
        for pair in &self.config {
            command.arg("-c").arg(pair);
        }
        if dir != self.dir {
            // Never let git discover the repository from a working tree: one whose `.git` an agent
            // removed would send the command to whatever repository encloses it.
            let git_dir = self.worktree_git_dir(dir)?;
            command
                .arg("--git-dir")
                .arg(git_dir)
                .arg("--work-tree")
                .arg(dir);
        }
        command.args(args).current_dir(dir);
        for name in REPOSITORY_ENV {
            command.env_remove(name);
        }
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("PAGER", "cat")
            .env("LC_ALL", "C")
            // Read-only commands (status) then skip refreshing the index, which would take a lock
            // that a concurrent command in the same worktree might want.
            .env("GIT_OPTIONAL_LOCKS", "0")
            // vane's hook shims stay quiet for vane's own commands.
            .env("VANE_INTERNAL_GIT", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_failed = |e: std::io::Error| GitError::Command {
            args: shown.clone(),
            code: None,
            stderr: format!("could not run git in {}: {e}", dir.display()),
        };
        let started = Instant::now();
        let mut child = command.spawn().map_err(spawn_failed)?;
        // Written from another thread: git may fill its stdout pipe before reading all its input.
        let writer = match (input, child.stdin.take()) {
            (Some(bytes), Some(mut stdin)) => {
                let bytes = bytes.to_vec();
                Some(std::thread::spawn(move || stdin.write_all(&bytes)))
            }
            _ => None,
        };
        let out = child.wait_with_output().map_err(spawn_failed)?;
        if let Some(writer) = writer {
            // A broken pipe means git stopped reading, and its exit status says why; nothing to add.
            let _ = writer.join();
        }
        let code = out.status.code();
        tracing::debug!(
            target: "vane::git",
            args = %shown,
            dir = %dir.display(),
            code,
            ms = started.elapsed().as_millis() as u64,
            "git"
        );
        Ok(Output {
            code,
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args: shown,
        })
    }
}

/// `admin` if git finished making it: `git worktree add` writes the links first and `HEAD` and
/// `commondir` after, so a run killed in between leaves a worktree every git command refuses
/// ("not a git repository"). That one is `ForeignWorktree`, for the caller to make again.
fn complete(dir: &Path, admin: PathBuf) -> Result<PathBuf, GitError> {
    let head = std::fs::read(admin.join("HEAD")).unwrap_or_default();
    if head.is_empty() || !admin.join("commondir").is_file() {
        return Err(GitError::ForeignWorktree {
            path: dir.to_path_buf(),
            found: format!(
                "git never finished making it ({} lacks its HEAD or commondir: a run was killed while adding it)",
                admin.display()
            ),
        });
    }
    Ok(admin)
}

/// How many times a command is tried again after failing on a worktree being set up concurrently.
const RACE_RETRIES: usize = 8;

/// Whether git died reading the administrative files of a worktree that another git process was
/// writing at that moment. `git worktree add` writes `commondir` and friends non-atomically, and
/// any command that looks at all worktrees (another `worktree add`, `checkout -B`, `worktree
/// list`) dies if it reads one while it is still empty: seen with a handful of concurrent
/// `ensure_worktree` calls. Git dies there before changing anything, so trying again is safe.
fn is_worktree_race(stderr: &str) -> bool {
    // Git names the file from the common directory (`worktrees/w6/commondir`) or in full.
    stderr.contains("failed to read") && stderr.contains("worktrees/")
}

/// Whether `s` is a full object id (SHA-1 or SHA-256) in hexadecimal.
fn is_full_hex_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A path from git's `-z` output, byte for byte where the platform allows.
pub(crate) fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// `path` made absolute and with symlinks resolved as far as it exists, so that two spellings of
/// one place compare equal even when its last parts are gone (a deleted worktree).
pub(crate) fn comparable_path(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute.components().collect(),
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Real repositories in temporary directories, made with the git CLI and kept away from the
    //! person's own git config.

    use std::ffi::OsString;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::Git;

    /// The environment of every git command in the tests: no global or system config, a fixed
    /// author, so that results do not depend on the machine.
    pub fn isolated_env() -> Vec<(OsString, OsString)> {
        [
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_AUTHOR_NAME", "Test Author"),
            ("GIT_AUTHOR_EMAIL", "author@example.com"),
            ("GIT_COMMITTER_NAME", "Test Author"),
            ("GIT_COMMITTER_EMAIL", "author@example.com"),
            ("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z"),
            ("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
    }

    /// Runs git in `dir` with the isolated environment; panics if it fails. Returns trimmed stdout.
    pub fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .envs(isolated_env())
            .env("LC_ALL", "C")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    pub fn write(dir: &Path, name: &str, content: &str) {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(path, content).expect("write file");
    }

    pub fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).expect("read file")
    }

    /// Stages everything in `dir` and commits it; returns the new commit.
    pub fn commit(dir: &Path, message: &str) -> String {
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", message]);
        git(dir, &["rev-parse", "HEAD"])
    }

    /// A temporary directory holding a repository at `repo/` on `main`, with one commit of
    /// `a.txt` and `b.txt`. Worktrees go next to it.
    pub struct TestRepo {
        /// Held so that the directory lives as long as the repository is used.
        _tmp: tempfile::TempDir,
        pub dir: PathBuf,
        pub git: Git,
    }

    impl TestRepo {
        pub fn new() -> TestRepo {
            TestRepo::with_files(&[("a.txt", "alpha\n"), ("b.txt", "beta\n")])
        }

        pub fn with_files(files: &[(&str, &str)]) -> TestRepo {
            let tmp = tempfile::tempdir().expect("tempdir");
            // Canonical, so paths compare equal to the ones git prints.
            let root = tmp.path().canonicalize().expect("canonical tempdir");
            let dir = root.join("repo");
            std::fs::create_dir(&dir).expect("create repo dir");
            git(&dir, &["init", "-q", "-b", "main"]);
            for (name, content) in files {
                write(&dir, name, content);
            }
            commit(&dir, "Initial commit");
            let git = Git::open_with_env(&dir, isolated_env()).expect("open repository");
            TestRepo {
                _tmp: tmp,
                dir,
                git,
            }
        }

        /// A path next to the repository, for a worktree.
        pub fn path(&self, name: &str) -> PathBuf {
            self.dir.parent().expect("repo has a parent").join(name)
        }

        /// Re-opens the repository (after its config changed).
        pub fn reopen(&mut self) {
            self.git = Git::open_with_env(&self.dir, isolated_env()).expect("open repository");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn open_finds_the_top_and_the_common_dir() {
        let repo = TestRepo::new();
        std::fs::create_dir(repo.dir.join("sub")).expect("mkdir");
        let git = Git::open_with_env(&repo.dir.join("sub"), isolated_env()).expect("open");
        assert_eq!(git.dir(), repo.dir);
        assert_eq!(git.common_dir(), repo.dir.join(".git"));
    }

    #[test]
    fn open_refuses_a_directory_outside_any_repository() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // GIT_CEILING_DIRECTORIES stops the search at the tempdir, whatever is above it.
        let mut env = isolated_env();
        env.push((
            "GIT_CEILING_DIRECTORIES".into(),
            tmp.path().parent().expect("parent").into(),
        ));
        let err = Git::open_with_env(tmp.path(), env.clone()).expect_err("not a repository");
        assert!(matches!(err, GitError::NotARepository(_)), "{err:?}");
        let err = Git::open_with_env(&tmp.path().join("missing"), env).expect_err("no directory");
        assert!(matches!(err, GitError::NotARepository(_)), "{err:?}");
    }

    #[test]
    fn rev_parse_and_branch_tip() {
        let repo = TestRepo::new();
        let head = git(&repo.dir, &["rev-parse", "HEAD"]);
        assert_eq!(
            repo.git.rev_parse("HEAD").expect("rev-parse"),
            Some(head.clone())
        );
        assert_eq!(repo.git.rev_parse("nope").expect("rev-parse"), None);
        assert_eq!(repo.git.rev_parse("--all").expect("rev-parse"), None);
        assert_eq!(repo.git.branch_tip("main").expect("tip"), Some(head));
        assert_eq!(repo.git.branch_tip("other").expect("tip"), None);
        let err = repo.git.resolve_commit("nope").expect_err("unknown");
        assert!(matches!(err, GitError::UnknownRevision(_)), "{err:?}");
    }

    #[test]
    fn a_failing_command_carries_its_stderr() {
        let repo = TestRepo::new();
        let err = repo
            .git
            .run(None, &["cat-file", "-p", "nope"])
            .expect_err("fails");
        match err {
            GitError::Command { args, code, stderr } => {
                assert_eq!(args, "cat-file -p nope");
                assert_eq!(code, Some(128));
                assert!(stderr.contains("nope"), "{stderr}");
                assert_eq!(stderr, stderr.trim());
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn fallback_identity_only_without_a_configured_one() {
        let mut repo = TestRepo::new();
        let identity = |git: &Git| -> Vec<String> {
            git.config
                .iter()
                .filter(|c| c.starts_with("user."))
                .cloned()
                .collect()
        };
        assert_eq!(
            identity(&repo.git),
            vec!["user.name=vane", "user.email=vane@localhost"]
        );
        git(&repo.dir, &["config", "user.name", "Someone"]);
        repo.reopen();
        assert_eq!(identity(&repo.git), vec!["user.email=vane@localhost"]);
    }

    #[test]
    fn comparable_path_resolves_what_exists() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let real = tmp.path().canonicalize().expect("canonical");
        let link = real.join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        #[cfg(unix)]
        assert_eq!(
            comparable_path(&link.join("gone/deeper")),
            real.join("gone/deeper")
        );
        assert_eq!(comparable_path(&real.join("x")), real.join("x"));
    }
}
