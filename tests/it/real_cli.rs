//! What the real-client tests (`claude`, `codex`) share: finding the real CLI, and a scripted
//! stand-in for its model API on loopback (`tests/fixtures/`, part of the repository, so that a
//! clean clone has everything but the CLI, which `.ci/run` installs under `.tools/`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::TestEnv;

/// A real agent CLI the tests run: its program, the variable that points at another copy, the npm
/// package `.ci/run` installs it from, and its fake API in `tests/fixtures/`.
pub struct RealCli {
    pub program: &'static str,
    pub env_var: &'static str,
    pub package: &'static str,
    pub fake_api: &'static str,
}

/// The real Claude Code CLI and its fake Messages API.
pub const CLAUDE: RealCli = RealCli {
    program: "claude",
    env_var: "VANE_CLAUDE_BIN",
    package: "@anthropic-ai/claude-code",
    fake_api: "fake-anthropic-api.py",
};

/// The real Codex CLI and its fake Responses API.
pub const CODEX: RealCli = RealCli {
    program: "codex",
    env_var: "VANE_CODEX_BIN",
    package: "@openai/codex",
    fake_api: "fake-openai-responses.py",
};

/// A PATH whose first directory holds the real CLIs given, each under its program's name: the
/// built-in profiles run `claude` and `codex` from PATH.
pub fn path_with(env: &TestEnv, clis: &[(&RealCli, &Path)]) -> std::ffi::OsString {
    let bin = env.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (real, cli) in clis {
        std::os::unix::fs::symlink(cli.canonicalize().unwrap(), bin.join(real.program)).unwrap();
    }
    std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap()
}

/// The `[agents.claude]` table pointing the CLI at the fake API.
pub fn claude_agent_config(port: u16) -> String {
    format!(
        "[agents.claude]\ntimeout = 300\n\
         env = {{ ANTHROPIC_BASE_URL = \"http://127.0.0.1:{port}\", ANTHROPIC_API_KEY = \"test\", \
         CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = \"1\", DISABLE_AUTOUPDATER = \"1\" }}\n"
    )
}

/// The `[agents.codex]` table for the fake API that `write_codex_config` names.
pub const CODEX_AGENT_CONFIG: &str =
    "[agents.codex]\ntimeout = 300\nenv = { FAKE_OPENAI_KEY = \"test\" }\n";

/// Codex's own configuration in the sealed home: a model provider that is the fake API. The
/// profile's command line is left as it is built in; only the home and the environment differ.
pub fn write_codex_config(env: &TestEnv, port: u16) {
    let dir = env.home.join(".codex");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "model = \"gpt-5-codex\"\nmodel_provider = \"fake\"\n\n[model_providers.fake]\n\
             name = \"fake\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nwire_api = \"responses\"\n\
             env_key = \"FAKE_OPENAI_KEY\"\n"
        ),
    )
    .unwrap();
}

/// A script of (pattern matched against the first prompt, turns), and a last scenario that
/// answers anything else with "No scenario matched.".
pub fn scenarios(list: Vec<(String, serde_json::Value)>) -> serde_json::Value {
    let mut scenarios: Vec<serde_json::Value> = list
        .into_iter()
        .map(|(pattern, turns)| serde_json::json!({"match": pattern, "turns": turns}))
        .collect();
    scenarios.push(serde_json::json!({"match": ".*", "turns": [{"text": "No scenario matched."}]}));
    serde_json::json!({ "scenarios": scenarios })
}

impl RealCli {
    /// The CLI and the fake API's script, or None (after saying why) when the CLI is missing
    /// outside CI; under CI (`CI` set) a missing CLI fails the test.
    pub fn prerequisites(&self) -> Option<(PathBuf, PathBuf)> {
        let server = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(self.fake_api);
        assert!(server.is_file(), "{} is missing", server.display());
        match self.find() {
            Ok(cli) => Some((cli, server)),
            Err(why) => {
                if std::env::var_os("CI").is_some() {
                    panic!("CI must run the real-client tests: {why}");
                }
                eprintln!("note: skipping a real {} test: {why}", self.program);
                None
            }
        }
    }

    /// Where the CLI is: `$<env_var>`, else `.tools/<program>/node_modules/.bin/<program>`.
    fn find(&self) -> Result<PathBuf, String> {
        if let Some(path) = std::env::var_os(self.env_var) {
            // Asked for by name: a wrong path is a mistake to report, not a reason to skip.
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{} is {}, which is not a file",
                self.env_var,
                path.display()
            );
            return Ok(path);
        }
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".tools")
            .join(self.program)
            .join("node_modules/.bin")
            .join(self.program);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "the {} CLI is not at {} (install it with `npm install --prefix .tools/{} {}`, or \
                 point {} at a `{}` executable)",
                self.program,
                path.display(),
                self.program,
                self.package,
                self.env_var,
                self.program
            ))
        }
    }
}

/// A fake model API, running until dropped.
pub struct FakeApi {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl FakeApi {
    /// The fake API `server` answering as `script` says, its files in the test's root.
    pub fn serving(env: &TestEnv, server: &Path, script: &serde_json::Value) -> FakeApi {
        FakeApi::serving_as(env, "", server, script)
    }

    /// The same, its files named after `name`, for a test that runs more than one.
    pub fn serving_as(
        env: &TestEnv,
        name: &str,
        server: &Path,
        script: &serde_json::Value,
    ) -> FakeApi {
        let prefix = if name.is_empty() {
            String::new()
        } else {
            format!("{name}-")
        };
        let script_path = env.root.join(format!("{prefix}script.json"));
        std::fs::write(&script_path, script.to_string()).unwrap();
        let log = env.root.join(format!("{prefix}requests.jsonl"));
        let stderr = env.root.join(format!("{prefix}fake-api.stderr"));
        let mut child = Command::new("python3")
            .arg(server)
            .arg(&script_path)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 {}: {e}", server.display()));
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let port = match read.ok().and_then(|_| line.trim().parse().ok()) {
            Some(port) => port,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the fake API did not print its port (it printed {line:?}); its stderr:\n{}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
        };
        FakeApi { child, port, log }
    }

    /// Every request the API answered, as the JSON lines of its log.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line in the request log"))
            .collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
