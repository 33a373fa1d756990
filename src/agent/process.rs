//! Running an agent as a child process that cannot outlive its welcome.
//!
//! The agent runs in its own process group, so a timeout (and the clean-up after a normal exit) reaches
//! everything it started: a dev server or a `sleep &` left behind would otherwise keep running in, and
//! holding files of, a worktree vane is about to reset. Its output goes to files through a relay
//! (`relay`) that keeps the first and the last part of a stream beyond `log_limit`, holding at most
//! the last part in vane's memory, and its stdin is closed because some agents wait for input when
//! it is open.

mod relay;

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::confine::Confinement;
use super::AgentError;

/// How much of each output stream a run keeps when `vane.toml` sets no `log_limit`: the first and
/// the last 4 MiB.
pub const DEFAULT_LOG_LIMIT: u64 = 8 << 20;

/// How long an agent has to exit after SIGTERM before its group gets SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// The longest sleep between checks on a running child. Short commands are checked sooner: the
/// interval starts at a millisecond and doubles up to this.
const POLL_MAX: Duration = Duration::from_millis(25);

/// One run of one command.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The program and its arguments, each one element (no shell involved).
    pub argv: Vec<String>,
    /// Added to the inherited environment.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Created (or truncated) before the start; parent directories are created too. The two may be
    /// the same file.
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    pub timeout: Duration,
    /// Where to write the process group and its leader's start time once it runs (see
    /// `strays::AgentPid`), so that a later vane can stop it if this one dies.
    pub pid_file: Option<PathBuf>,
    /// What the run may write (see `confine`); None runs it unconfined.
    pub confine: Option<Confinement>,
    /// How many bytes of each output file are kept: the first half and the last half, with a line
    /// saying how much was dropped between them (one file for both streams counts both). None
    /// keeps everything.
    pub log_limit: Option<u64>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    /// The exit code, when the program exited rather than being killed by a signal.
    pub exit_code: Option<i32>,
    /// The signal that killed the program, if one did.
    pub signal: Option<i32>,
    /// The timeout ran out and vane took the process group down.
    pub timed_out: bool,
    /// vane was interrupted (SIGINT, SIGTERM) and took the process group down.
    pub interrupted: bool,
    pub duration: Duration,
}

/// Set by the signal handler of `stop_agents_on_interrupt`.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_signal: libc::c_int) {
    // Only an atomic store: the one kind of work a signal handler may do.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM stop the running agents, whole process groups, instead of killing vane
/// alone: an agent runs in its own group, so a Ctrl-C at the terminal would not reach it, and it
/// would go on editing a worktree that nobody watches. Callers see `interrupted()` and wind down.
pub fn stop_agents_on_interrupt() {
    let handler = on_interrupt as extern "C" fn(libc::c_int);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(signal, handler as libc::sighandler_t);
        }
    }
}

/// Whether vane has been asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Set by `request_stop`: vane itself is winding down after a failure.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Takes every running agent down as an interrupt would, without being one: the work loop calls
/// it when it fails, so that it never exits with agents still running.
pub fn request_stop() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether running agents should be stopped now: an interrupt, or `request_stop`.
pub fn stopping() -> bool {
    interrupted() || STOP_REQUESTED.load(Ordering::SeqCst)
}

impl RunOutcome {
    /// Exited by itself with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// Runs the command to completion or to its timeout; see [`run_with_grace`].
pub fn run(inv: &Invocation) -> Result<RunOutcome, AgentError> {
    run_with_grace(inv, KILL_GRACE)
}

/// Runs the command in its own process group with stdin closed and output in the given files.
///
/// At the timeout the group gets SIGTERM, then SIGKILL once `grace` has passed. When the program
/// exits by itself, whatever it left running in its group is killed. Errors are for a command that
/// could not be started or watched; a command that fails is an `Ok` outcome with its exit code.
pub fn run_with_grace(inv: &Invocation, grace: Duration) -> Result<RunOutcome, AgentError> {
    let program = inv.argv.first().ok_or(AgentError::EmptyArgv)?;
    // Checked first because a missing cwd makes spawn fail with "not found", which would blame the
    // program.
    if !inv.cwd.is_dir() {
        return Err(AgentError::MissingDirectory {
            program: program.clone(),
            cwd: inv.cwd.clone(),
        });
    }
    let relay::Outputs {
        stdout,
        stderr,
        relays,
    } = output_files(inv)?;

    let mut command = Command::new(program);
    command
        .args(&inv.argv[1..])
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&inv.cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    // Built here, in the parent, for the child to enforce between fork and exec; held until the
    // child has started.
    let ruleset = match &inv.confine {
        Some(confinement) => {
            if let Some(temp) = &confinement.temp_dir {
                command.env("TMPDIR", temp);
            }
            confinement
                .prepare()
                .map_err(|source| AgentError::Confine {
                    program: program.clone(),
                    source,
                })?
        }
        None => None,
    };
    if let Some(ruleset) = &ruleset {
        let fd = ruleset.raw_fd();
        // SAFETY: the closure runs in the child between fork and exec, and only makes the two
        // async-signal-safe system calls of `restrict_self`; it allocates nothing and takes no
        // lock. `fd` stays open in the parent until `spawn` has returned.
        unsafe {
            command.pre_exec(move || super::confine::restrict_self(fd));
        }
    }

    let start = Instant::now();
    let spawned = command.spawn();
    drop(ruleset);
    let mut child = spawned.map_err(|source| {
        if let Some(confinement) = &inv.confine {
            confinement.clean_up();
        }
        AgentError::Spawn {
            program: program.clone(),
            source,
        }
    })?;
    let pid = child.id();
    tracing::debug!(pid, argv = ?inv.argv, cwd = %inv.cwd.display(), "agent started");
    if let (Some(file), Some(recorded)) = (&inv.pid_file, super::strays::AgentPid::of(pid)) {
        if let Err(e) = recorded.write(file) {
            tracing::warn!(file = %file.display(), error = %e, "cannot record the agent's process group");
        }
    }
    let wait_error = |source| AgentError::Wait {
        program: program.clone(),
        pid,
        source,
    };

    let exited = wait_until(pid, start.checked_add(inv.timeout)).map_err(wait_error)?;
    let interrupted = !exited && stopping();
    let timed_out = !exited && !interrupted;
    if !exited {
        tracing::info!(pid, timeout = ?inv.timeout, "agent timed out; sending SIGTERM to its group");
        signal_group(pid, libc::SIGTERM);
        if !wait_until(pid, Instant::now().checked_add(grace)).map_err(wait_error)? {
            tracing::warn!(
                pid,
                ?grace,
                "agent ignored SIGTERM; sending SIGKILL to its group"
            );
            signal_group(pid, libc::SIGKILL);
        }
    }
    // The leader has exited (or has been sent SIGKILL) and is not reaped yet, so its pid, the group's
    // id, cannot have been reused: this reaches only what the agent left behind.
    signal_group(pid, libc::SIGKILL);
    let status = child.wait().map_err(wait_error)?;
    // The group is gone: what it wrote is in the pipes, and the files are whole once this returns.
    relays.finish();
    if let Some(confinement) = &inv.confine {
        confinement.clean_up();
    }
    let outcome = RunOutcome {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        interrupted,
        duration: start.elapsed(),
    };
    tracing::debug!(pid, ?outcome, "agent finished");
    Ok(outcome)
}

/// Whether `program` can be started: a path (anything with a `/`) must be an executable file; a bare
/// name must be one in a directory on PATH.
pub fn program_available(program: &str) -> bool {
    if program.is_empty() {
        return false;
    }
    if program.contains('/') {
        return is_executable(Path::new(program));
    }
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        // An empty PATH entry means the current directory.
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        is_executable(&dir.join(program))
    })
}

/// Words for a spawn failure that say what to do about it.
pub(crate) fn describe_spawn_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "program not found (is it installed, and on PATH?)".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied (is it executable?)".to_string(),
        _ => e.to_string(),
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The output files, created (or truncated), and what the child writes into: the files themselves,
/// or the pipes of relays that cap them at `log_limit`. The relays end with `Relays::finish`, or
/// when dropped, once the child's group is gone.
fn output_files(inv: &Invocation) -> Result<relay::Outputs, AgentError> {
    relay::open(&inv.stdout, &inv.stderr, inv.log_limit)
        .map_err(|(path, source)| AgentError::Output { path, source })
}

/// Polls until the child has exited (true) or `deadline` has passed (false), leaving it unreaped. No
/// deadline (a timeout too large to represent) means no limit.
fn wait_until(pid: u32, deadline: Option<Instant>) -> io::Result<bool> {
    match open_pidfd(pid) {
        Some(pidfd) => wait_on_pidfd(&pidfd, pid, deadline),
        None => poll_until(pid, deadline),
    }
}

/// How often a wait on a pidfd wakes to look for an interrupt.
const INTERRUPT_CHECK: Duration = Duration::from_millis(50);

/// A pidfd for the child (Linux 5.3 and later), which becomes readable the moment it exits: the
/// wait then ends without the latency of polling, which a short gate would otherwise pay once per
/// landing. None where the kernel has none.
fn open_pidfd(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; no memory is
    // passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the descriptor was just returned by the kernel and is owned by nothing else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn wait_on_pidfd(
    pidfd: &std::os::fd::OwnedFd,
    pid: u32,
    deadline: Option<Instant>,
) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        if has_exited(pid)? {
            return Ok(true);
        }
        if stopping() {
            return Ok(false);
        }
        let mut wait = INTERRUPT_CHECK;
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            wait = wait.min(deadline - now);
        }
        let mut poll = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // Rounded up, so that a wait of less than a millisecond does not spin.
        let millis = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        // SAFETY: `poll` is one valid pollfd, and the count passed is 1.
        let rc = unsafe { libc::poll(&mut poll, 1, millis) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

/// `wait_until` without a pidfd: checks at growing intervals.
fn poll_until(pid: u32, deadline: Option<Instant>) -> io::Result<bool> {
    let mut interval = Duration::from_millis(1);
    loop {
        if has_exited(pid)? {
            return Ok(true);
        }
        if stopping() {
            return Ok(false);
        }
        let mut sleep = interval;
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            sleep = sleep.min(deadline - now);
        }
        std::thread::sleep(sleep);
        interval = (interval * 2).min(POLL_MAX);
    }
}

/// Whether the child has exited, without reaping it (`WNOWAIT`): while it stays a zombie its pid,
/// which is also its group's id, cannot be handed to another process.
fn has_exited(pid: u32) -> io::Result<bool> {
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value; waitid only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t for the duration of the call.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            // With WNOHANG, a child that has not changed state leaves si_pid zero.
            // SAFETY: waitid succeeded, so `info` holds a child-state record where si_pid is valid.
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Sends `signal` to every process in the group led by `pgid`. A group that no longer exists is the
/// outcome wanted, so ESRCH is not an error.
fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill has no memory-safety preconditions; a negative pid addresses a process group.
    let rc = unsafe { libc::kill(-pgid, signal) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, signal, %err, "cannot signal the agent's process group");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch {
        dir: tempfile::TempDir,
    }

    impl Scratch {
        fn new() -> Self {
            Scratch {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        /// An invocation of `sh -c script`, output under `out/`.
        fn sh(&self, script: &str, timeout: Duration) -> Invocation {
            Invocation {
                argv: vec!["sh".into(), "-c".into(), script.into()],
                env: Vec::new(),
                cwd: self.dir.path().to_path_buf(),
                stdout: self.path("out/stdout"),
                stderr: self.path("out/stderr"),
                timeout,
                pid_file: None,
                confine: None,
                log_limit: Some(DEFAULT_LOG_LIMIT),
            }
        }

        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.path(name)).unwrap()
        }
    }

    fn alive(pid: i32) -> bool {
        // Signal 0 checks existence; a zombie still counts, so also look at its state.
        // SAFETY: kill with signal 0 only checks for existence.
        if unsafe { libc::kill(pid, 0) } != 0 {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => true,
        }
    }

    fn wait_for_file(path: &Path) -> String {
        let start = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(path) {
                if text.ends_with('\n') {
                    return text;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{path:?} never appeared"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn exit_codes_and_output_are_reported() {
        let s = Scratch::new();
        let ok = run(&s.sh("echo hello; echo oops >&2", LONG)).unwrap();
        assert_eq!(ok.exit_code, Some(0));
        assert_eq!(ok.signal, None);
        assert!(!ok.timed_out);
        assert!(ok.success());
        assert_eq!(s.read("out/stdout"), "hello\n");
        assert_eq!(s.read("out/stderr"), "oops\n");

        let failed = run(&s.sh("echo again; exit 3", LONG)).unwrap();
        assert_eq!(failed.exit_code, Some(3));
        assert!(!failed.success());
        // The file is truncated, not appended to.
        assert_eq!(s.read("out/stdout"), "again\n");
    }

    #[test]
    fn an_enormous_timeout_means_no_limit() {
        let s = Scratch::new();
        let outcome = run(&s.sh("exit 0", Duration::MAX)).unwrap();
        assert_eq!(outcome.exit_code, Some(0));
        assert!(!outcome.timed_out);
    }

    #[test]
    fn a_shared_output_file_keeps_both_streams_in_order() {
        let s = Scratch::new();
        let mut inv = s.sh("echo one; echo two >&2; echo three", LONG);
        inv.stderr = inv.stdout.clone();
        run(&inv).unwrap();
        assert_eq!(s.read("out/stdout"), "one\ntwo\nthree\n");
    }

    #[test]
    fn huge_output_goes_to_the_file() {
        let s = Scratch::new();
        let mut inv = s.sh("head -c 20971520 /dev/zero", LONG);
        inv.log_limit = None;
        let outcome = run(&inv).unwrap();
        assert_eq!(outcome.exit_code, Some(0));
        let size = std::fs::metadata(s.path("out/stdout")).unwrap().len();
        assert_eq!(size, 20 * 1024 * 1024);
    }

    #[test]
    fn output_beyond_the_limit_keeps_its_head_and_tail() {
        let s = Scratch::new();
        // 3000 numbered lines of 8 bytes on stdout, then a result line; 4 KiB kept of each stream.
        let mut inv = s.sh(
            "i=0; while [ $i -lt 3000 ]; do printf 'l%06d\\n' $i; i=$((i+1)); done; \
             echo oops >&2; echo '{\"result\":\"done\"}'",
            LONG,
        );
        inv.log_limit = Some(4096);
        assert!(run(&inv).unwrap().success());
        let out = s.read("out/stdout");
        let total = 3000 * 8 + "{\"result\":\"done\"}\n".len();
        let note = format!("\n{}\n", relay::dropped_note((total - 4096) as u64));
        assert!(out.starts_with("l000000\nl000001\n"), "{}", &out[..40]);
        assert!(out.contains(&note), "{note:?} not in the log");
        assert!(out.ends_with("l002999\n{\"result\":\"done\"}\n"));
        // The head (2 KiB, 256 whole lines) ends a line, so the note needs no newline of its own.
        assert_eq!(out.len(), 4096 + note.len() - 1);
        assert_eq!(s.read("out/stderr"), "oops\n");
    }

    #[test]
    fn a_shared_capped_file_keeps_the_order_of_both_streams() {
        let s = Scratch::new();
        let mut inv = s.sh(
            "echo one; echo two >&2; echo three; head -c 100000 /dev/zero; echo end >&2",
            LONG,
        );
        inv.stderr = inv.stdout.clone();
        inv.log_limit = Some(64);
        run(&inv).unwrap();
        let out = std::fs::read(s.path("out/stdout")).unwrap();
        assert!(out.starts_with(b"one\ntwo\nthree\n"), "{out:?}");
        assert!(out.ends_with(b"\0\0\0end\n"), "{out:?}");
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("\n[vane: 99,954 bytes dropped here]\n"),
            "{text:?}"
        );
    }

    #[test]
    fn a_process_that_leaves_the_group_holding_the_pipe_does_not_hold_up_the_run() {
        let s = Scratch::new();
        let pidfile = s.path("escaped.pid");
        // `setsid` puts the sleeper in a session and group of its own, out of reach of the group
        // kill, with the relay's pipe as its stdout.
        let script = format!(
            "echo before; setsid sh -c 'echo $$ > {}; exec sleep 30' & sleep 0.2; echo after",
            pidfile.display()
        );
        let start = Instant::now();
        let outcome = run(&s.sh(&script, LONG)).unwrap();
        let took = start.elapsed();
        assert_eq!(outcome.exit_code, Some(0));
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(s.read("out/stdout"), "before\nafter\n");
        let escaped: i32 = wait_for_file(&pidfile).trim().parse().unwrap();
        assert!(alive(escaped), "the escaped process should still run");
        // SAFETY: kill with a signal only, to the test's own grandchild.
        unsafe { libc::kill(escaped, libc::SIGKILL) };
    }

    #[test]
    fn stdin_is_closed() {
        let s = Scratch::new();
        let outcome = run(&s.sh(
            "if read x; then echo got \"$x\"; else echo eof; fi",
            Duration::from_secs(10),
        ))
        .unwrap();
        assert!(!outcome.timed_out);
        assert_eq!(s.read("out/stdout"), "eof\n");
    }

    #[test]
    fn env_and_cwd_reach_the_child() {
        let s = Scratch::new();
        std::fs::create_dir(s.path("work")).unwrap();
        let mut inv = s.sh("pwd; echo \"$VANE_TASK\"; echo \"$HOME\"", LONG);
        inv.cwd = s.path("work");
        inv.env = vec![("VANE_TASK".into(), "T 1 \"quoted\"".into())];
        run(&inv).unwrap();
        let out = s.read("out/stdout");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            Path::new(lines[0]).canonicalize().unwrap(),
            s.path("work").canonicalize().unwrap()
        );
        assert_eq!(lines[1], "T 1 \"quoted\"");
        // The rest of the environment is inherited.
        assert_eq!(lines[2], std::env::var("HOME").unwrap_or_default());
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let s = Scratch::new();
        let pidfile = s.path("grandchild.pid");
        let script = format!(
            "sleep 1000 & echo $! > '{}'; while true; do sleep 1; done",
            pidfile.display()
        );
        let start = Instant::now();
        let outcome = run_with_grace(
            &s.sh(&script, Duration::from_millis(500)),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(outcome.timed_out);
        assert_eq!(outcome.exit_code, None);
        assert_eq!(outcome.signal, Some(libc::SIGTERM));
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        let grandchild: i32 = wait_for_file(&pidfile).trim().parse().unwrap();
        // The grandchild was in the group; give the kernel a moment to finish it off.
        let start = Instant::now();
        while alive(grandchild) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(grandchild), "grandchild {grandchild} survived");
    }

    #[test]
    fn a_child_that_ignores_sigterm_is_killed_after_the_grace() {
        let s = Scratch::new();
        let ready = s.path("ready");
        let script = format!(
            "trap '' TERM; echo ready > '{}'; while true; do sleep 0.05; done",
            ready.display()
        );
        let start = Instant::now();
        let outcome = run_with_grace(
            &s.sh(&script, Duration::from_millis(300)),
            Duration::from_millis(300),
        )
        .unwrap();
        let took = start.elapsed();
        assert!(outcome.timed_out);
        assert_eq!(outcome.signal, Some(libc::SIGKILL));
        assert!(took >= Duration::from_millis(600), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(wait_for_file(&ready), "ready\n");
    }

    #[test]
    fn leftovers_are_killed_after_a_normal_exit() {
        let s = Scratch::new();
        let outcome = run(&s.sh("sleep 1000 & echo $!", LONG)).unwrap();
        assert_eq!(outcome.exit_code, Some(0));
        assert!(!outcome.timed_out);
        let leftover: i32 = s.read("out/stdout").trim().parse().unwrap();
        let start = Instant::now();
        while alive(leftover) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(leftover), "leftover {leftover} survived");
    }

    #[test]
    fn spawn_failures_name_the_program() {
        let s = Scratch::new();
        let mut inv = s.sh("true", LONG);
        inv.argv = vec!["vane-no-such-agent-xyz".into(), "--help".into()];
        let err = run(&inv).unwrap_err();
        assert!(matches!(err, AgentError::Spawn { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "cannot start `vane-no-such-agent-xyz`: program not found (is it installed, and on PATH?)"
        );

        inv.argv = vec!["sh".into()];
        inv.cwd = s.path("missing");
        let err = run(&inv).unwrap_err();
        assert!(matches!(err, AgentError::MissingDirectory { .. }), "{err}");

        inv.argv.clear();
        assert!(matches!(run(&inv).unwrap_err(), AgentError::EmptyArgv));
    }

    #[test]
    fn program_availability() {
        assert!(program_available("sh"));
        assert!(!program_available("vane-no-such-agent-xyz"));
        assert!(!program_available(""));
        let s = Scratch::new();
        let script = s.path("agent.sh");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        assert!(
            !program_available(script.to_str().unwrap()),
            "not executable yet"
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(program_available(script.to_str().unwrap()));
        assert!(
            !program_available(s.dir.path().to_str().unwrap()),
            "a directory"
        );
        assert!(!program_available(s.path("missing").to_str().unwrap()));
    }
}
