//! `vane.toml`: the team's configuration, committed at the repository root.
//!
//! Every key is optional. The default file that `vane init` writes shows each key commented out with
//! its default value, so the file documents itself. `check` reads a file key by key and reports
//! every problem with its line; `effective` lists every key with the value vane uses and where it
//! came from (`vane config show`).

mod check;
mod effective;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::agent::Profile;
use crate::model::Task;
use crate::routing::{Choice, Route};

pub use check::{Checked, Problem, Sources};
pub use effective::{Effective, Setting};

/// The name of the configuration file at the repository root.
pub const FILE_NAME: &str = "vane.toml";

/// The file `vane init` writes when there is none.
pub const DEFAULT_FILE: &str = r#"# vane.toml: how vane works on this repository. Commit it; it is the team's configuration.
# Every key is optional. Each is shown commented out with its default value.

# The branch that finished work lands on. Default: the branch checked out when `vane work` starts.
# base_branch = "main"

# How many agents work at once.
# workers = 4

# How many candidates are gated at once, each in a gate worktree of its own. Default: the number
# of workers, at most twice the number of cores.
# gate_workers = 4

# How many queued candidates are gated ahead at once, each on the tree it lands on if those ahead
# of it land (speculative gating). The window grows by one per landing and halves on a failure.
# 1 gates one candidate at a time.
# merge_window = 8

# Land up to this many queued candidates with one gate run and one move of base; when the gates
# fail, the batch is split in halves until the culprit is found, and the rest land. 1: off.
# batch = 1

# How long merging waits, in seconds, when a landing would overwrite what is in the way in your
# checkout of the base branch (a file you changed, or an untracked file where a task adds one).
# After that the batch stops starting and landing: what passed its gates waits in review and is
# gated again by the next `vane work`. 0 stops at once. Default: wait as long as it takes.
# pause_timeout = 600

# The agent profile for tasks that name none: shell, claude, codex, aider or gemini.
# `shell` runs a task's `run` command and needs no AI.
# default_agent = "shell"

# How many times a task is attempted before it is blocked.
# max_attempts = 3

# Where the workers' worktrees live. Default: under your data directory, one folder per repository.
# worktree_root = "/path/to/worktrees"

# Files of your checkout that git does not track (untracked or ignored: secrets, local settings),
# copied into each worker's worktree before every task. Paths from the repository root; a folder
# is copied whole. vane never commits them.
# include = [".env", "config/local.toml"]

# A shell command run in each new worktree before its first task, to install dependencies say.
# Its output is in .git/vane/runs/setup/. When it fails, the task's attempt fails and the command
# runs again before the next task. What it makes should be ignored by git (.gitignore), or it is
# committed with the task's work.
# setup = "npm ci"

# Paths that define the checks, as globs (`scripts/**`, `*.cfg`). A change that touches one is
# gated but waits in needs_review for `vane approve <task>` (or `vane reject`). vane.toml and the
# repository files that gate commands start are protected whatever this says.
# protected = ["ci/**"]

# How much of each stream of what an agent, a gate or `setup` prints is kept in its log, in bytes:
# the first half and the last half, with a line saying how much was dropped between them. 0 keeps
# everything. Default: 8 MiB.
# log_limit = 8388608

# On Linux with Landlock, agents and gates run confined: they may write only to their worktree,
# what a commit on their own branch needs in .git, a private TMPDIR, and what their profile
# declares (`writable` in [agents.NAME]). false runs them unconfined.
# confine = true

# The overall gate score a task needs to land: the weighted mean of its gates' scores, 0..1.
# threshold = 0.85

# After this many attempts fell short, a task's later attempts use the stronger profile
# `escalate_to` (both or neither).
# escalate_after = 2
# escalate_to = "claude"

# The profile `vane plan` asks for a roadmap when it is given no `--agent`.
# planner = "claude"

# After landings, vane pushes the base branch to this remote (a name of a git remote, a URL or a
# path), with --force-with-lease on the tip it last saw there: a push someone else made is never
# overwritten; the queue gates again on it. Pushes are batched once per drained queue. Default:
# landings stay in this repository.
# land_to = "origin"

# For a protected base: push each landed task's branch to `land_to` and open a pull request with
# this command instead of pushing base. Its placeholders are {branch}, {task}, {title}, {base} and
# {remote}; write {{ and }} for literal braces.
# pr_command = "gh pr create --base {base} --head {branch} --title {title} --fill"

# Agent profiles: change a built-in one, or define your own. `command` is an argv template with
# {prompt}, {prompt_file}, {task_id}, {worktree} (and {run}, the task's run command); `parser` reads
# what the agent prints: text, claude, codex or gemini; `timeout` is in seconds. `writable` adds
# paths a confined agent may write (`~/` is your home; a path ending with `/` is a directory made
# when missing) to those of the built-in profile.
# [agents.claude]
# timeout = 1800
# [agents.my-agent]
# command = ["my-agent", "--task", "{task_id}", "--prompt-file", "{prompt_file}"]
# env = { MY_AGENT_MODE = "batch" }
# parser = "text"
# writable = ["~/.my-agent/"]

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

# Routes pick the profile of each task that names no `agent` of its own: the first route whose
# conditions all hold for the task wins, and `default_agent` takes what no route matches. A
# condition left out holds for every task, so a route without any matches them all, and the
# routes after it are never reached. `type` is one type or a list of them (story, task, bug,
# epic); `complexity` is "<=3", ">=7", "4-6" or "5", and a task without a complexity never
# matches it; `paths` matches when one of the paths the task declared overlaps one of its globs.
# Escalation (`escalate_after`) still moves later attempts to `escalate_to`. `executor` sends the
# tasks a route matches to an `[executor.NAME]` (see below); without it they run where the batch
# runs (`vane work --executor`, else this machine).
# [[route]]
# type = "bug"
# complexity = "<=3"
# agent = "codex"
# executor = "local"
# [[route]]
# paths = ["docs/**"]
# agent = "aider"

# Extending the roadmap: asks the planner for the next phase when the roadmap runs low: fewer
# than `pending_below` pending tasks, or more than `done_above` of them done; checked every
# `every` landings. Each extension adds at most `max_new_tasks` tasks, and a batch at most
# `max_total` in all. `agent` is the profile asked; default: `planner`. Present means on.
# [extend]
# every = 5
# pending_below = 5
# done_above = 0.75
# max_new_tasks = 10
# max_total = 30
# agent = "claude"

# Budgets in USD: once a batch has spent `batch_usd` (`vane work --budget` for one batch), or a
# task `task_usd` over its attempts since its last `vane task retry`, vane starts no new attempt
# (running ones finish; a task over its budget is blocked). Claude Code is also given the rest as
# `--max-budget-usd`. Costs are what an agent reports, else its tokens times the price of its model.
# [budget]
# batch_usd = 20.0
# task_usd = 2.0

# Prices in USD per million tokens, added to or over vane's list prices (`vane config show`), for
# agents that report tokens but no cost. A model is matched by its longest listed prefix. `model`
# in [agents.NAME] names the model of an agent that does not say which it runs (Codex).
# [prices."gpt-5-codex"]
# input = 1.25
# cached_input = 0.125
# output = 10.0

# Executors run attempts elsewhere, on a cluster say. Each job runs `vane worker`, which fetches
# its job from `remote` (refs/vane/jobs/...), runs the agent as a local worker would and pushes
# its result back (refs/vane/results/...); vane gates and lands it here. `start` is a shell
# command that starts one job: {worker} is the whole worker command, quoted for the shell, with
# {task}, {attempt}, {job_ref} and {remote}. What `start` prints last is the job's handle, which
# `cancel` gets as {handle}. `max_jobs` jobs run at once; a job that takes longer than
# `time_limit` seconds is cancelled and its attempt lost. `remote` is a git remote's name, a URL
# or a path (default: this repository, for a shared file system); `vane` is the vane the jobs run
# (default: this one). `local` is built in and runs workers as processes here.
# `vane work --executor NAME` sends a batch there; a route's `executor` sends the tasks it matches.
# [executor.cluster]
# start = "sbatch --parsable --job-name vane-{task}-{attempt} --wrap {worker}"
# cancel = "scancel {handle}"
# max_jobs = 8
# time_limit = 7200
# remote = "origin"
# vane = "/opt/vane/bin/vane"
"#;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub base_branch: Option<String>,
    pub workers: usize,
    /// Candidates gated at once; None: the number of workers, at most twice the cores.
    pub gate_workers: Option<usize>,
    /// Candidates gated ahead speculatively, at most.
    pub merge_window: usize,
    /// Candidates landed together with one gate run (bisected on a failure); 1 is off.
    pub batch: usize,
    /// Seconds merging waits for a person's checkout of base that is in the way of a landing
    /// before the batch stops; None waits as long as it takes.
    pub pause_timeout: Option<u64>,
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
    /// Files of the person's checkout that git does not track, copied into each worker's worktree
    /// before every task: paths from the repository root, `/`-separated, without `.` or `..`.
    pub include: Vec<String>,
    /// A shell command run once in each new worktree, before its first task.
    pub setup: Option<String>,
    /// Globs of paths that define the checks, beside `vane.toml` and the files gate commands
    /// name: a candidate that changes one waits for a person's `vane approve`.
    pub protected: Vec<String>,
    /// Whether agents and gates run confined by the kernel (Landlock), where it can.
    pub confine: bool,
    /// Bytes of each output stream of an agent, gate or setup kept in its log; 0 keeps all.
    pub log_limit: u64,
    /// The profile `vane plan` uses when it is given no `--agent`; None: `DEFAULT_PLANNER`.
    pub planner: Option<String>,
    /// The `[[route]]` rules that pick the profile of a task naming none, the first match
    /// winning (see `routing`).
    #[serde(rename = "route")]
    pub routes: Vec<Route>,
    /// `[extend]`: extending the roadmap when it runs low; None, when the table is absent, is off.
    pub extend: Option<ExtendConfig>,
    /// `[budget]`: what a batch and a task may spend.
    pub budget: BudgetConfig,
    /// `[prices."MODEL"]`: prices that add to or replace vane's list prices (see `prices`).
    pub prices: std::collections::BTreeMap<String, crate::prices::Price>,
    /// `[executor.NAME]`: where attempts run besides this machine's worker threads: a cluster's
    /// jobs, each running `vane worker` (see `orchestrator::work::remote`).
    #[serde(rename = "executor")]
    pub executors: std::collections::BTreeMap<String, ExecutorConfig>,
    /// The remote base is pushed to after landings (`--force-with-lease` on the tip vane last
    /// saw there); None keeps landings in this repository.
    pub land_to: Option<String>,
    /// With `land_to`: a command template that opens a pull request per landed task instead of
    /// pushing base (`{branch}`, `{task}`, `{title}`, `{base}`, `{remote}`).
    pub pr_command: Option<String>,
}

/// `[executor.NAME]`: how to start a worker for one attempt on a cluster, and how to stop it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorConfig {
    /// A shell command that starts one worker: `{worker}` (the whole `vane worker` command, quoted
    /// for the shell), `{task}`, `{attempt}`, `{job_ref}` and `{remote}`. What it prints last is
    /// the job's handle for `cancel`. None (only for `local`): the worker runs as a process here.
    pub start: Option<String>,
    /// A shell command that stops a worker: `{handle}` and the placeholders of `start`.
    pub cancel: Option<String>,
    /// Workers running at once, at most.
    #[serde(default = "default_max_jobs")]
    pub max_jobs: usize,
    /// Seconds a worker may take before it is cancelled and its attempt recorded lost.
    #[serde(default = "default_time_limit")]
    pub time_limit: u64,
    /// Where jobs are published and results come back: a git remote's name, a URL or a path.
    /// None: this repository itself (a path the workers can reach, as on a shared file system).
    pub remote: Option<String>,
    /// The `vane` the workers run; None: this vane's own executable.
    pub vane: Option<String>,
}

/// Workers an executor runs at once when `max_jobs` says nothing.
pub const DEFAULT_MAX_JOBS: usize = 8;

/// Seconds a remote worker may take when `time_limit` says nothing: two hours.
pub const DEFAULT_TIME_LIMIT: u64 = 2 * 60 * 60;

fn default_max_jobs() -> usize {
    DEFAULT_MAX_JOBS
}

fn default_time_limit() -> u64 {
    DEFAULT_TIME_LIMIT
}

/// The executor that runs `vane worker` as a process on this machine, defined or not.
pub const LOCAL_EXECUTOR: &str = "local";

impl ExecutorConfig {
    /// The built-in `local` executor: workers as processes of this machine, on this repository.
    pub fn local() -> ExecutorConfig {
        ExecutorConfig {
            start: None,
            cancel: None,
            max_jobs: DEFAULT_MAX_JOBS,
            time_limit: DEFAULT_TIME_LIMIT,
            remote: None,
            vane: None,
        }
    }
}

/// `[budget]`: USD a batch, or a task over all its attempts since its last `vane task retry`, may
/// spend; None for no limit. Spending counts what agents reported or their tokens at list prices.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetConfig {
    pub batch_usd: Option<f64>,
    pub task_usd: Option<f64>,
}

/// The profile that plans when neither `--agent` nor `planner` names one.
pub const DEFAULT_PLANNER: &str = "claude";

/// `[extend]`: when and how much the planner is asked to add to the roadmap as it runs low.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtendConfig {
    /// Landings between two looks at the roadmap; at least 1.
    pub every: u32,
    /// Extend when fewer tasks than this are pending.
    pub pending_below: usize,
    /// Or when more than this share of the tasks is done, 0..1.
    pub done_above: f64,
    /// New tasks one extension may add, at most; at least 1.
    pub max_new_tasks: usize,
    /// New tasks all the extensions of one batch may add together, at most.
    pub max_total: usize,
    /// The profile asked; None: `planner`, else `DEFAULT_PLANNER`.
    pub agent: Option<String>,
}

impl Default for ExtendConfig {
    fn default() -> Self {
        ExtendConfig {
            every: 5,
            pending_below: 5,
            done_above: 0.75,
            max_new_tasks: 10,
            max_total: 30,
            agent: None,
        }
    }
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
    /// Paths the agent may write when confined, added to the built-in profile's.
    #[serde(default)]
    pub writable: Vec<String>,
    /// The model the agent runs, for pricing its tokens when it reports no cost and no model.
    pub model: Option<String>,
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

impl Config {
    /// How many candidates are gated at once: `gate_workers`, else one per worker, at most twice
    /// the cores (gates are often test suites that use a core each).
    pub fn gate_pool_size(&self, workers: usize) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.gate_workers
            .unwrap_or_else(|| workers.clamp(1, 2 * cores))
            .max(1)
    }
}

/// How many candidates the merge queue gates ahead at most when `vane.toml` says nothing.
pub const DEFAULT_MERGE_WINDOW: usize = 8;

/// The overall score a task needs when `vane.toml` names none.
pub const DEFAULT_THRESHOLD: f64 = 0.85;

impl Default for Config {
    fn default() -> Self {
        Config {
            base_branch: None,
            workers: 4,
            gate_workers: None,
            merge_window: DEFAULT_MERGE_WINDOW,
            batch: 1,
            pause_timeout: None,
            default_agent: "shell".to_string(),
            max_attempts: 3,
            worktree_root: None,
            agents: Default::default(),
            gates: Vec::new(),
            threshold: DEFAULT_THRESHOLD,
            escalate_after: None,
            escalate_to: None,
            include: Vec::new(),
            setup: None,
            protected: Vec::new(),
            confine: true,
            log_limit: crate::agent::process::DEFAULT_LOG_LIMIT,
            planner: None,
            routes: Vec::new(),
            extend: None,
            budget: BudgetConfig::default(),
            prices: Default::default(),
            executors: Default::default(),
            land_to: None,
            pr_command: None,
        }
    }
}

impl Config {
    /// The profile `task` runs with before any escalation, and why: its own `agent`, else that of
    /// the first `[[route]]` matching it, else `default_agent`.
    pub fn route<'a>(&'a self, task: &'a Task) -> (&'a str, Choice) {
        crate::routing::choose(&self.routes, &self.default_agent, task)
    }

    /// How long merging waits for a person's checkout of base in the way (`pause_timeout`).
    pub fn pause_bound(&self) -> Option<Duration> {
        self.pause_timeout.map(Duration::from_secs)
    }

    /// The profile `vane plan` uses without `--agent`: `planner`, else `DEFAULT_PLANNER`.
    pub fn planner(&self) -> &str {
        self.planner.as_deref().unwrap_or(DEFAULT_PLANNER)
    }

    /// The executor `name`: its `[executor.NAME]` table, or the built-in `local`; None for a name
    /// that is neither.
    pub fn executor(&self, name: &str) -> Option<ExecutorConfig> {
        match self.executors.get(name) {
            Some(executor) => Some(executor.clone()),
            None if name == LOCAL_EXECUTOR => Some(ExecutorConfig::local()),
            None => None,
        }
    }

    /// The price table: vane's list prices with `[prices]` over them.
    pub fn price_table(&self) -> crate::prices::Prices {
        crate::prices::Prices::with(&self.prices)
    }

    /// The profile that extends the roadmap: `[extend]`'s `agent`, else the planner; None when
    /// there is no `[extend]`.
    pub fn extend_agent(&self) -> Option<&str> {
        let extend = self.extend.as_ref()?;
        Some(extend.agent.as_deref().unwrap_or_else(|| self.planner()))
    }
}

/// How long a profile defined in `vane.toml` may run when it sets no `timeout`.
pub const DEFAULT_AGENT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The output parsers an agent profile may name.
pub const PARSERS: &[&str] = &["text", "claude", "codex", "gemini"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem found, in the order of the file; never empty.
    #[error("{path}: {}", summary(.problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn summary(problems: &[Problem]) -> String {
    match problems {
        [] => "invalid".to_string(),
        [only] => only.to_string(),
        [first, rest @ ..] => format!(
            "{first} (and {} more problem{})",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

/// A `vane.toml` as read from a repository, for `vane config`.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// False when there is no file: every key has its default.
    pub exists: bool,
    pub checked: Checked,
}

impl Config {
    /// Parses the text of a `vane.toml`; `path` is only for messages. Reports every problem found,
    /// each with its line (see `check`).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let checked = Config::check(text);
        match checked.config {
            Some(config) => Ok(config),
            None => Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: checked.problems,
            }),
        }
    }

    /// Checks the text of a `vane.toml` key by key: the configuration when it is fine, and every
    /// problem otherwise; where each key was written either way.
    pub fn check(text: &str) -> Checked {
        check::check(text)
    }

    /// The agent profile `name` as this configuration makes it: a built-in one with the keys of its
    /// `[agents.NAME]` table applied, or one defined there, which needs a `command`. None for a
    /// name that is neither. Whether its program is installed is for the caller to find out.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        let configured = self.agents.get(name);
        let mut profile = match (Profile::builtin(name), configured) {
            (Some(profile), _) => profile,
            (
                None,
                Some(AgentConfig {
                    command: Some(command),
                    ..
                }),
            ) if !command.is_empty() => Profile {
                name: name.to_string(),
                program: command[0].clone(),
                args: command[1..].to_vec(),
                env: Default::default(),
                timeout: DEFAULT_AGENT_TIMEOUT,
                parser: crate::agent::OutputParser::Text,
                writable: Vec::new(),
                confine: true,
                model: None,
            },
            _ => return None,
        };
        if let Some(configured) = configured {
            if let Some(command) = configured.command.as_ref().filter(|c| !c.is_empty()) {
                profile.program = command[0].clone();
                profile.args = command[1..].to_vec();
            }
            profile.env.extend(configured.env.clone());
            if let Some(seconds) = configured.timeout {
                profile.timeout = Duration::from_secs(seconds);
            }
            // `check` has held the name against the same list.
            if let Some(parser) = configured.parser.as_deref().and_then(|p| p.parse().ok()) {
                profile.parser = parser;
            }
            profile.writable.extend(configured.writable.iter().cloned());
            if let Some(model) = &configured.model {
                profile.model = Some(model.clone());
            }
        }
        profile.confine = self.confine;
        Some(profile)
    }

    /// Every key with the value vane uses and where that value came from.
    pub fn effective(&self, sources: &Sources) -> Effective {
        effective::effective(self, sources)
    }

    /// How much of each output stream a run's log keeps (`Invocation::log_limit`): None, all of
    /// it, for a `log_limit` of 0.
    pub fn log_limit(&self) -> Option<u64> {
        (self.log_limit > 0).then_some(self.log_limit)
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

    /// Reads and checks `vane.toml` in `dir`, whatever is wrong with it; a missing file checks as
    /// the defaults.
    pub fn load_checked(dir: &Path) -> Result<Loaded, ConfigError> {
        let path = dir.join(FILE_NAME);
        let (text, exists) = match std::fs::read_to_string(&path) {
            Ok(text) => (text, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Ok(Loaded {
            checked: Config::check(&text),
            path,
            exists,
        })
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
        assert_eq!(parsed.include, [".env", "config/local.toml"]);
        assert_eq!(parsed.setup.as_deref(), Some("npm ci"));
        assert!(parsed.confine);
        assert_eq!(parsed.agents["my-agent"].writable, ["~/.my-agent/"]);
        assert_eq!(parsed.log_limit, 8 << 20);
        assert_eq!(parsed.log_limit(), Some(8 << 20));
        assert_eq!(parsed.planner.as_deref(), Some("claude"));
        assert_eq!(parsed.routes.len(), 2);
        assert_eq!(parsed.routes[0].agent, "codex");
        assert_eq!(parsed.routes[0].describe(), "type bug, complexity ≤ 3");
        assert_eq!(parsed.routes[1].paths, ["docs/**"]);
        assert_eq!(parsed.routes[0].executor.as_deref(), Some("local"));
        assert_eq!(parsed.land_to.as_deref(), Some("origin"));
        assert!(parsed.pr_command.is_some());
        let cluster = parsed.executor("cluster").expect("the example executor");
        assert_eq!(cluster.cancel.as_deref(), Some("scancel {handle}"));
        assert_eq!(cluster.vane.as_deref(), Some("/opt/vane/bin/vane"));
        // The values shown are the defaults.
        assert_eq!(
            (cluster.max_jobs, cluster.time_limit),
            (DEFAULT_MAX_JOBS, DEFAULT_TIME_LIMIT)
        );
        // The values shown are the defaults.
        assert_eq!(
            parsed.extend,
            Some(ExtendConfig {
                agent: Some("claude".to_string()),
                ..ExtendConfig::default()
            })
        );
        assert_eq!(parsed.extend_agent(), Some("claude"));
    }

    #[test]
    fn the_planner_and_the_extension_fall_back_in_turn() {
        let config = Config::default();
        assert_eq!(config.planner(), "claude");
        assert_eq!(config.extend_agent(), None);
        let config =
            Config::parse(Path::new("vane.toml"), "planner = \"codex\"\n[extend]\n").unwrap();
        assert_eq!(config.planner(), "codex");
        assert_eq!(config.extend, Some(ExtendConfig::default()));
        assert_eq!(config.extend_agent(), Some("codex"));
        let config = Config::parse(
            Path::new("vane.toml"),
            "planner = \"codex\"\n[extend]\nagent = \"gemini\"\nevery = 2\n",
        )
        .unwrap();
        assert_eq!(config.extend_agent(), Some("gemini"));
        assert_eq!(config.extend.map(|e| e.every), Some(2));
    }

    #[test]
    fn a_task_is_routed_by_the_configuration() {
        let config = Config::parse(
            Path::new("vane.toml"),
            "default_agent = \"claude\"\n[[route]]\ntype = \"bug\"\nagent = \"codex\"\n",
        )
        .unwrap();
        let mut task = crate::model::Task {
            kind: crate::model::TaskType::Bug,
            ..crate::model::Task::example("t")
        };
        assert_eq!(config.route(&task).0, "codex");
        task.kind = crate::model::TaskType::Story;
        assert_eq!(config.route(&task), ("claude", Choice::Default));
    }

    #[test]
    fn a_log_limit_of_zero_keeps_everything() {
        let config = Config::parse(Path::new("vane.toml"), "log_limit = 0\n").unwrap();
        assert_eq!(config.log_limit(), None);
        let config = Config::parse(Path::new("vane.toml"), "log_limit = 65536\n").unwrap();
        assert_eq!(config.log_limit(), Some(65536));
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

    #[test]
    fn an_error_counts_the_problems_after_the_first() {
        let err =
            Config::parse(Path::new("vane.toml"), "wokers = 2\nthreshold = \"x\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "vane.toml: line 1: unknown key \"wokers\"; did you mean \"workers\"? \
             (and 1 more problem)"
        );
    }

    #[test]
    fn profiles_merge_the_built_in_ones_with_the_file() {
        let config = Config::parse(
            Path::new("vane.toml"),
            "[agents.claude]\ntimeout = 60\nenv = { A = \"b\" }\n\
             [agents.mine]\ncommand = [\"mine\", \"--go\"]\n",
        )
        .unwrap();
        let claude = config.profile("claude").unwrap();
        assert_eq!(claude.program, "claude");
        assert_eq!(claude.timeout, Duration::from_secs(60));
        assert_eq!(claude.env["A"], "b");
        let mine = config.profile("mine").unwrap();
        assert_eq!(
            (mine.program.as_str(), mine.args.as_slice()),
            ("mine", &["--go".to_string()][..])
        );
        assert_eq!(mine.timeout, DEFAULT_AGENT_TIMEOUT);
        assert!(config.profile("nobody").is_none());
    }

    #[test]
    fn writable_paths_add_to_the_built_in_ones_and_confine_reaches_every_profile() {
        let config = Config::parse(
            Path::new("vane.toml"),
            "confine = false
[agents.claude]
writable = [\"~/.npm/\"]
",
        )
        .unwrap();
        let claude = config.profile("claude").unwrap();
        assert_eq!(claude.writable[0], "~/.claude/");
        assert_eq!(claude.writable.last().map(String::as_str), Some("~/.npm/"));
        assert!(!claude.confine);
        assert!(!config.profile("shell").unwrap().confine);
        assert!(Config::default().profile("shell").unwrap().confine);
    }
}
