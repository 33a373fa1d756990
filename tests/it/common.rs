//! A sealed test environment: a temporary repository with one commit, a temporary HOME, no global
//! git configuration, no colour; and helpers to run vane in it and read what it printed.

use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

pub struct TestEnv {
    _temp: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub repo: PathBuf,
}

/// What a run of vane printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(
            self.code, 0,
            "vane failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "wrong exit code:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

fn from_output(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl TestEnv {
    /// A repository with one commit, not yet set up for vane.
    pub fn new() -> TestEnv {
        let temp = tempfile::tempdir().expect("temp dir");
        let root = temp.path().canonicalize().expect("canonical temp dir");
        let home = root.join("home");
        let repo = root.join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        let env = TestEnv {
            _temp: temp,
            root,
            home,
            repo,
        };
        env.git(&env.repo, &["init", "-q", "-b", "main"]);
        std::fs::write(env.repo.join("README.md"), "# sample\n").unwrap();
        env.git(&env.repo, &["add", "README.md"]);
        env.git(&env.repo, &["commit", "-q", "-m", "Initial commit"]);
        env
    }

    /// A repository with vane set up.
    pub fn initialised() -> TestEnv {
        let env = TestEnv::new();
        env.vane(&["init"]).success();
        env
    }

    /// A repository set up for vane with `vane.toml` committed: `config`, after two workers and
    /// two attempts unless `config` sets them.
    pub fn configured(config: &str) -> TestEnv {
        let env = TestEnv::initialised();
        let mut text = String::new();
        for (key, default) in [("workers", 2), ("max_attempts", 2)] {
            if !config.contains(&format!("{key} =")) {
                text.push_str(&format!("{key} = {default}\n"));
            }
        }
        env.write("vane.toml", &format!("{text}{config}"));
        env.git(&env.repo, &["add", "vane.toml"]);
        env.git(&env.repo, &["commit", "-q", "-m", "Configure vane"]);
        env
    }

    /// The whole environment vane and git run with in tests.
    fn sealed_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", self.home.clone().into_os_string()),
            ("USER", "tester".into()),
            ("GIT_CONFIG_GLOBAL", "/dev/null".into()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_AUTHOR_NAME", "Test Author".into()),
            ("GIT_AUTHOR_EMAIL", "author@example.com".into()),
            ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z".into()),
            ("GIT_COMMITTER_NAME", "Test Committer".into()),
            ("GIT_COMMITTER_EMAIL", "committer@example.com".into()),
            ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z".into()),
            ("NO_COLOR", "1".into()),
        ]
    }

    fn sealed<'c>(&self, command: &'c mut assert_cmd::Command) -> &'c mut assert_cmd::Command {
        command.env_clear().envs(self.sealed_env())
    }

    /// A sealed `vane` command in the repository, for tests that spawn it and wait later.
    pub fn vane_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vane"));
        command
            .env_clear()
            .envs(self.sealed_env())
            .current_dir(&self.repo)
            .args(args);
        command
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let output = self
            .sealed(&mut assert_cmd::Command::new("git"))
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs vane in the repository.
    pub fn vane(&self, args: &[&str]) -> Run {
        self.vane_in(&self.repo, args)
    }

    pub fn vane_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_vane"));
        from_output(
            self.sealed(&mut command)
                .current_dir(dir)
                .args(args)
                .output()
                .expect("run vane"),
        )
    }

    pub fn vane_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_vane"));
        let command = self.sealed(&mut command).current_dir(&self.repo).args(args);
        from_output(command.write_stdin(stdin).output().expect("run vane"))
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.repo.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn state_dir(&self) -> PathBuf {
        self.repo.join(".git").join("vane")
    }

    /// Every file under a directory with its contents, to prove that nothing changed.
    pub fn snapshot_files(&self, dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let content = std::fs::read(&path).unwrap();
                    files.push((path, content));
                }
            }
        }
        files.sort();
        files
    }

    /// The number of rows in a table of the state database, read with plain SQLite.
    pub fn count_rows(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.state_dir().join("vane.db")).unwrap();
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// Replaces what varies between runs (times, the temporary path) so output can be snapshotted.
    pub fn normalize(&self, text: &str) -> String {
        let text = text.replace(&self.root.display().to_string(), "[ROOT]");
        regex_lite_time(&text)
    }
}

/// Replaces `YYYY-MM-DD HH:MM:SSZ` with `[TIME]` (a tiny matcher; no regex crate needed).
fn regex_lite_time(text: &str) -> String {
    let bytes = text.as_bytes();
    let pattern = b"dddd-dd-dd dd:dd:ddZ";
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let matches = bytes.len() - i >= pattern.len()
            && pattern.iter().enumerate().all(|(k, p)| match p {
                b'd' => bytes[i + k].is_ascii_digit(),
                other => bytes[i + k] == *other,
            });
        if matches {
            out.push_str("[TIME]");
            i += pattern.len();
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

impl TestEnv {
    /// Runs git in the sealed environment and returns how it ended, whatever that was.
    pub fn git_try(&self, dir: &Path, args: &[&str]) -> Run {
        from_output(
            self.sealed(&mut assert_cmd::Command::new("git"))
                .current_dir(dir)
                .args(args)
                .output()
                .expect("run git"),
        )
    }
}

/// The one check named `name` in `vane doctor --json`'s list.
pub fn doctor_check<'a>(checks: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {checks:#?}"))
}

/// The names of the checks in `vane doctor --json`'s list that found a problem.
pub fn doctor_problems(checks: &[serde_json::Value]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect()
}
