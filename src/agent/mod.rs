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

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub mod confine;
pub mod parse;
pub mod process;
pub mod profile;
pub mod strays;

pub use confine::Confinement;
pub use parse::{parse, parse_file, parse_run, read_tail_text, AgentReport};
pub use process::{
    interrupted, program_available, request_stop, run, run_with_grace, stop_agents_on_interrupt,
    stopping, Invocation, RunOutcome, KILL_GRACE,
};
pub use profile::{OutputParser, Profile, TemplateVars};

/// Reads at most `limit` bytes of a file an agent may have written or replaced (its hooks' inbox,
/// its context file): never through a symbolic link, which could point at anything of the user's,
/// and never from a FIFO or a device, which could block vane for good. None when there is no file.
pub fn read_left_file(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is a symbolic link, which vane does not follow",
            ))
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_left_file_is_read_only_when_it_is_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("context.jsonl");
        assert!(read_left_file(&file, 10).unwrap().is_none(), "no file");
        std::fs::write(&file, "0123456789abcdef").unwrap();
        assert_eq!(read_left_file(&file, 10).unwrap().unwrap(), b"0123456789");

        // A link to a file of the user's is not followed.
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "key").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let refused = read_left_file(&link, 10).unwrap_err();
        assert!(refused.to_string().contains("symbolic link"), "{refused}");

        // A FIFO with no writer would block a plain open for good.
        let fifo = dir.path().join("fifo.jsonl");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string naming a path in the test's own directory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let refused = read_left_file(&fifo, 10).unwrap_err();
        assert!(
            refused.to_string().contains("not a regular file"),
            "{refused}"
        );
    }
}
