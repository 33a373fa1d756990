//! Agents: how to start one on a task, how to run it safely, and what it said when it finished.
//!
//! - `profile`: an agent profile (argv template, environment, timeout, output parser) and the built-in
//!   ones for `shell`, Claude Code, Codex CLI, Aider and Gemini CLI.
//! - `process`: running a command in its own process group, output straight to files, stdin closed,
//!   with a timeout that takes the whole group down.
//! - `confine`: kernel confinement (Landlock) of what a run may write.
//! - `parse`: reading an agent's final report (message, session, cost, tokens) out of its output.
//!
//! Nothing here knows about the store or git; the orchestrator decides what a run means for a task.

use std::path::PathBuf;

pub mod confine;
pub mod parse;
pub mod process;
pub mod profile;
pub mod strays;

pub use confine::Confinement;
pub use parse::{parse, parse_file, parse_run, read_tail_text, AgentReport};
pub use process::{
    interrupted, program_available, request_stop, run, run_with_grace, stop_agents_on_interrupt,
    Invocation, RunOutcome, KILL_GRACE,
};
pub use profile::{OutputParser, Profile, TemplateVars};

/// Why an agent could not be prepared or run. An agent that runs and fails is not an error here: that
/// is a `RunOutcome` with a non-zero exit, for the caller to judge.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("unknown agent profile `{0}`; the built-in profiles are {list}", list = Profile::BUILTIN.join(", "))]
    UnknownProfile(String),

    #[error("task {task} has no `run` command, and the `{profile}` profile runs it")]
    NoRunCommand { profile: String, task: String },

    #[error(
        "agent profile `{profile}`: unknown placeholder `{{{placeholder}}}` in argument `{arg}`; \
         the placeholders are {{prompt}}, {{prompt_file}}, {{task_id}}, {{worktree}} and {{run}} \
         (write `{{{{` and `}}}}` for literal braces)"
    )]
    UnknownPlaceholder {
        profile: String,
        placeholder: String,
        arg: String,
    },

    #[error(
        "agent profile `{profile}`: unmatched `{brace}` in argument `{arg}` \
         (write `{{{{` and `}}}}` for literal braces)"
    )]
    UnmatchedBrace {
        profile: String,
        brace: char,
        arg: String,
    },

    #[error("agent profile `{profile}`: {{{placeholder}}} is {path}, which is not valid UTF-8")]
    NonUtf8Path {
        profile: String,
        placeholder: &'static str,
        path: PathBuf,
    },

    #[error("agent profile `{profile}` has an empty program")]
    EmptyProgram { profile: String },

    #[error("nothing to run: the command line is empty")]
    EmptyArgv,

    #[error("cannot run `{program}` in {cwd}: the directory does not exist")]
    MissingDirectory { program: String, cwd: PathBuf },

    #[error("cannot start `{program}`: {}", process::describe_spawn_error(source))]
    Spawn {
        program: String,
        source: std::io::Error,
    },

    #[error("cannot confine `{program}`: {source}")]
    Confine {
        program: String,
        source: std::io::Error,
    },

    #[error("cannot write the agent's output to {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("lost track of `{program}` (pid {pid}): {source}")]
    Wait {
        program: String,
        pid: u32,
        source: std::io::Error,
    },
}
