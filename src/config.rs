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

# The overall gate score a task needs to land: the weighted mean of its gates' scores, 0..1.
# threshold = 0.85

# After this many attempts fell short, a task's later attempts use the stronger profile
# `escalate_to` (both or neither).
# escalate_after = 2
# escalate_to = "claude"

# Agent profiles: change a built-in one, or define your own. `command` is an argv template with
# {prompt}, {prompt_file}, {task_id}, {worktree} (and {run}, the task's run command); `parser` reads
# what the agent prints: text, claude, codex or gemini; `timeout` is in seconds.
# [agents.claude]
# timeout = 1800
# [agents.my-agent]
# command = ["my-agent", "--task", "{task_id}", "--prompt-file", "{prompt_file}"]
# env = { MY_AGENT_MODE = "batch" }
# parser = "text"

# Gates score the merge of a task's branch with the base tip, in a worktree holding it, before
# it lands. A gate runs a `command`, scored by its exit code (0 scores 1) or, with `score` set to
# "json", by the line it prints last: {"score": 0.9, "issues": [...], "suggestions": [...]}. Or it
# runs an `agent` profile that reviews the diff and answers with such a verdict. The task lands
# when the weighted mean reaches `threshold` and every `required` gate passed: by default the
# gates scored by exit code; a required scored gate must reach `threshold` itself. `timeout` is
# in seconds (default 600); gates with `parallel` set to true run at the same time. A `fast` gate
# is also run by a Claude Code agent's Stop hook on its uncommitted changes, and keeps it working
# while it fails.
# [[gate]]
# name = "tests"
# command = "cargo test"
# dimension = "correctness"
# weight = 1.0
# required = true
# score = "exit"
# timeout = 600
# parallel = false
# fast = false
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
    /// The overall gate score (the weighted mean) a task needs to land, 0..1.
    pub threshold: f64,
    /// From this many failed attempts on, a task's next attempts use `escalate_to`.
    pub escalate_after: Option<u32>,
    /// The stronger agent profile that later attempts move to.
    pub escalate_to: Option<String>,
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

/// A gate: a command, or a critic agent, that scores a candidate before it lands.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub name: String,
    /// What the gate measures (correctness, test_coverage, style, code_elegance, security, ...).
    #[serde(default = "default_dimension")]
    pub dimension: String,
    /// A shell command run in the worktree holding the candidate.
    pub command: Option<String>,
    /// Or an agent profile that reviews the candidate's diff and answers with a verdict.
    pub agent: Option<String>,
    /// Its share of the overall score.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Whether the task fails when this gate does, whatever the overall score. Default: yes for a
    /// gate scored by exit code (a check that must pass), no for a scored gate or a critic (whose
    /// score counts through its weight; when required, it must reach the threshold itself).
    pub required: Option<bool>,
    /// Seconds; 600 when absent.
    pub timeout: Option<u64>,
    /// How a command gate is scored: by its exit code (0 scores 1; the default), or by the JSON
    /// score line it prints last. An agent gate always answers with a verdict.
    pub score: Option<ScoreMode>,
    /// Runs at the same time as the other gates marked so.
    #[serde(default)]
    pub parallel: bool,
    /// A fast check: an agent's Stop hook also runs it on the uncommitted changes, and keeps the
    /// agent working while it fails.
    #[serde(default)]
    pub fast: bool,
}

/// How a command gate's result becomes a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreMode {
    #[default]
    Exit,
    Json,
}

fn default_dimension() -> String {
    "correctness".to_string()
}

fn default_weight() -> f64 {
    1.0
}

impl GateConfig {
    /// Whether the gate is scored by exit code (pass 1, fail 0).
    pub fn scored_by_exit(&self) -> bool {
        self.agent.is_none() && self.score.unwrap_or_default() == ScoreMode::Exit
    }

    /// `required`, or its default: exit-code gates are required, scored gates are not.
    pub fn is_required(&self) -> bool {
        self.required.unwrap_or_else(|| self.scored_by_exit())
    }
}

/// The overall score a task needs when `vane.toml` names none.
pub const DEFAULT_THRESHOLD: f64 = 0.85;

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
            threshold: DEFAULT_THRESHOLD,
            escalate_after: None,
            escalate_to: None,
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
        if !(0.0..=1.0).contains(&config.threshold) {
            return Err(invalid(format!(
                "`threshold` is {}; it must be between 0 and 1",
                config.threshold
            )));
        }
        match (&config.escalate_after, &config.escalate_to) {
            (Some(0), _) => {
                return Err(invalid("`escalate_after` must be at least 1".to_string()));
            }
            (Some(_), None) => {
                return Err(invalid(
                    "`escalate_after` needs `escalate_to`, the profile later attempts move to"
                        .to_string(),
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "`escalate_to` needs `escalate_after`, the number of failed attempts after \
                     which it takes over"
                        .to_string(),
                ));
            }
            _ => {}
        }
        let mut seen = std::collections::HashSet::new();
        for gate in &config.gates {
            let name = gate.name.trim();
            if name.is_empty() {
                return Err(invalid("every [[gate]] needs a `name`".to_string()));
            }
            if !seen.insert(gate.name.as_str()) {
                return Err(invalid(format!("two gates are named `{}`", gate.name)));
            }
            match (&gate.command, &gate.agent) {
                (Some(command), None) if !command.trim().is_empty() => {}
                (None, Some(agent)) if !agent.trim().is_empty() => {
                    if gate.score == Some(ScoreMode::Exit) {
                        return Err(invalid(format!(
                            "gate `{name}` runs an agent, which answers with a verdict: \
                             `score = \"exit\"` does not apply; remove it"
                        )));
                    }
                }
                (Some(_), Some(_)) => {
                    return Err(invalid(format!(
                        "gate `{name}` has both `command` and `agent`; give one"
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                        "gate `{name}` needs a `command` to run or an `agent` to review the change"
                    )));
                }
            }
            if !gate.weight.is_finite() || gate.weight < 0.0 {
                return Err(invalid(format!(
                    "gate `{name}` has weight {}; a weight is a number of 0 or more",
                    gate.weight
                )));
            }
            if gate.dimension.trim().is_empty() {
                return Err(invalid(format!("gate `{name}` has an empty `dimension`")));
            }
        }
        Ok(config)
    }

    /// The timeout of a gate.
    pub fn gate_timeout(gate: &GateConfig) -> std::time::Duration {
        std::time::Duration::from_secs(gate.timeout.unwrap_or(600))
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
        assert_eq!(parsed.gates[0].command.as_deref(), Some("cargo test"));
        assert_eq!(parsed.threshold, 0.85);
        assert_eq!(parsed.escalate_to.as_deref(), Some("claude"));
        assert!(parsed.gates[0].is_required());
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
