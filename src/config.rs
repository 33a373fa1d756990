//! `vane.toml`: the team's configuration, committed at the repository root.
//!
//! Every key is optional. The default file that `vane init` writes shows each key commented out with
//! its default value, so the file documents itself.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The name of the configuration file at the repository root.
pub const FILE_NAME: &str = "vane.toml";

/// The file `vane init` writes when there is none.
pub const DEFAULT_FILE: &str = r#"# vane.toml: how vane works on this repository. Commit it; it is the team's configuration.
# Every key is optional. Each is shown commented out with its default value.

# The branch that finished work lands on. Default: the branch checked out when `vane work` starts.
# base_branch = "main"

# How many agents work at once.
# workers = 4

# The agent profile for tasks that name none: shell, claude, codex, aider or gemini.
# `shell` runs a task's `run` command and needs no AI.
# default_agent = "shell"

# How many times a task is attempted before it is blocked.
# max_attempts = 3

# Where the workers' worktrees live. Default: under your data directory, one folder per repository.
# worktree_root = "/path/to/worktrees"

# Agent profiles: change a built-in one, or define your own. `command` is an argv template with
# {prompt}, {prompt_file}, {task_id}, {worktree} (and {run}, the task's run command); `parser` reads
# what the agent prints: text, claude, codex or gemini; `timeout` is in seconds.
# [agents.claude]
# timeout = 1800
# [agents.my-agent]
# command = ["my-agent", "--task", "{task_id}", "--prompt-file", "{prompt_file}"]
# env = { MY_AGENT_MODE = "batch" }
# parser = "text"

# Gates run, in order, on the merge of a task's branch with the base tip, in a worktree holding it;
# the branch lands only when every gate's command exits 0. `timeout` is in seconds (default 600).
# [[gate]]
# name = "tests"
# command = "cargo test"
"#;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub base_branch: Option<String>,
    pub workers: usize,
    pub default_agent: String,
    pub max_attempts: u32,
    pub worktree_root: Option<PathBuf>,
    /// Profiles by name: overrides of built-in ones, or new ones.
    pub agents: std::collections::BTreeMap<String, AgentConfig>,
    #[serde(rename = "gate")]
    pub gates: Vec<GateConfig>,
}

/// An agent profile as written in `vane.toml`; every field overrides the built-in profile of the
/// same name, and `command` is required for a new one.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Seconds.
    pub timeout: Option<u64>,
    pub parser: Option<String>,
}

/// A gate: a command that must pass before a branch lands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub name: String,
    pub command: String,
    /// Seconds; 600 when absent.
    pub timeout: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_branch: None,
            workers: 4,
            default_agent: "shell".to_string(),
            max_attempts: 3,
            worktree_root: None,
            agents: Default::default(),
            gates: Vec::new(),
        }
    }
}

/// The output parsers an agent profile may name.
pub const PARSERS: &[&str] = &["text", "claude", "codex", "gemini"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Parses the text of a `vane.toml`; `path` is only for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().trim().to_string();
            invalid(match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            })
        })?;
        if config.workers == 0 {
            return Err(invalid("`workers` must be at least 1".to_string()));
        }
        if config.max_attempts == 0 {
            return Err(invalid("`max_attempts` must be at least 1".to_string()));
        }
        for (name, agent) in &config.agents {
            if agent.command.as_ref().is_some_and(Vec::is_empty) {
                return Err(invalid(format!(
                    "[agents.{name}] `command` needs at least the program to run"
                )));
            }
            if let Some(parser) = &agent.parser {
                if !PARSERS.contains(&parser.as_str()) {
                    return Err(invalid(format!(
                        "[agents.{name}] unknown parser `{parser}`; expected one of {}",
                        PARSERS.join(", ")
                    )));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for gate in &config.gates {
            if gate.name.trim().is_empty() || gate.command.trim().is_empty() {
                return Err(invalid(
                    "every [[gate]] needs a `name` and a `command` that are not empty".to_string(),
                ));
            }
            if !seen.insert(gate.name.as_str()) {
                return Err(invalid(format!("two gates are named `{}`", gate.name)));
            }
        }
        Ok(config)
    }

    /// Reads `vane.toml` in `dir`; the defaults when there is none.
    pub fn load(dir: &Path) -> Result<Config, ConfigError> {
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_defaults() {
        let parsed = Config::parse(Path::new("vane.toml"), DEFAULT_FILE).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn every_commented_key_in_the_default_file_is_a_real_key() {
        let uncommented: String = DEFAULT_FILE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.contains(" = ") || l.starts_with('['))
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed = Config::parse(Path::new("vane.toml"), &uncommented).unwrap();
        assert_eq!(parsed.base_branch.as_deref(), Some("main"));
        assert_eq!(parsed.workers, 4);
        assert_eq!(parsed.agents["claude"].timeout, Some(1800));
        assert_eq!(parsed.agents["my-agent"].parser.as_deref(), Some("text"));
        assert_eq!(parsed.gates[0].command, "cargo test");
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let err = Config::parse(Path::new("vane.toml"), "workers = 2\nwokers = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("vane.toml: line 2:"), "{text}");
        assert!(text.contains("wokers"), "{text}");
        let err = Config::parse(Path::new("vane.toml"), "workers = \"four\"\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = Config::parse(Path::new("vane.toml"), "workers = 0\n").unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
    }
}
