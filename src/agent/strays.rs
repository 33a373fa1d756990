//! Finding and stopping what an agent or a gate left running after vane stopped watching it.
//!
//! An agent runs in its own process group, and the group is killed when the agent ends. Two things
//! escape that: a process that left the group (`setsid`, a daemon that double-forks), and every
//! process of a vane that was killed itself (`kill -9` leaves its agents running, writing into
//! worktrees the next run is about to reuse). Both still carry the environment vane gave them:
//! `VANE_WORKTREE=<the worktree>`, which children inherit across `setsid` and `exec`. So the
//! processes to stop are found by that mark in `/proc/<pid>/environ`, and each agent's group is
//! also written down (`AgentPid`) with its leader's start time, so that a group whose leader
//! cleared its environment is found too, and a reused pid is never mistaken for it.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable that marks every process vane starts in a worktree.
pub const WORKTREE_MARK: &str = "VANE_WORKTREE";

/// An agent's process group as written to its run directory: the leader's pid (the group's id) and
/// the leader's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentPid {
    pub pgid: u32,
    pub started: u64,
}

impl AgentPid {
    /// The leader of `pid`'s process, read now; None where `/proc` does not say.
    pub fn of(pid: u32) -> Option<AgentPid> {
        Some(AgentPid {
            pgid: pid,
            started: start_time(pid)?,
        })
    }

    /// Writes `pgid started` to `path` whole (a temporary name, then a rename).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("pid.tmp");
        std::fs::write(&tmp, format!("{} {}\n", self.pgid, self.started))?;
        std::fs::rename(&tmp, path)
    }

    pub fn read(path: &Path) -> Option<AgentPid> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut words = text.split_whitespace();
        Some(AgentPid {
            pgid: words.next()?.parse().ok()?,
            started: words.next()?.parse().ok()?,
        })
    }

    /// Whether the process written down still runs (same pid, same start time).
    pub fn alive(&self) -> bool {
        start_time(self.pgid) == Some(self.started) && !is_zombie(self.pgid)
    }

    /// Sends SIGTERM to the process itself (not its group) if it is still the one written down:
    /// a `vane worker` then stops its agent and exits. Returns whether a signal was sent.
    pub fn terminate(&self) -> bool {
        if !self.alive() {
            return false;
        }
        let Ok(pid) = libc::pid_t::try_from(self.pgid) else {
            return false;
        };
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
    }

    /// Kills the group if its leader is still the process that was written down (same pid, same
    /// start time). A leader that is gone takes its pid with it; what stayed in its group is then
    /// found by its mark. Returns whether a signal was sent.
    pub fn stop(&self) -> bool {
        if start_time(self.pgid) != Some(self.started) {
            return false;
        }
        let Ok(pgid) = libc::pid_t::try_from(self.pgid) else {
            return false;
        };
        // SAFETY: kill has no memory-safety preconditions; a negative pid addresses a group.
        unsafe { libc::kill(-pgid, libc::SIGKILL) == 0 }
    }
}

/// Kills every process (of this user; others' environments cannot be read) marked as started in a
/// worktree under `root`, except this process, and waits until none is left, for at most a few
/// seconds. Returns how many were found. Processes that are already zombies are skipped: they hold
/// no files and write nothing.
pub fn stop_marked_under(root: &Path) -> usize {
    let root = comparable(root);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut found = std::collections::HashSet::new();
    loop {
        let marked = marked_under(&root);
        if marked.is_empty() || Instant::now() >= deadline {
            if !marked.is_empty() {
                tracing::warn!(left = marked.len(), root = %root.display(), "processes still running after SIGKILL");
            }
            return found.len();
        }
        for pid in marked {
            found.insert(pid);
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The live processes whose environment marks them as started in a worktree under `root`.
pub fn marked_under(root: &Path) -> Vec<u32> {
    let me = std::process::id();
    let mut pids = Vec::new();
    for pid in live_pids() {
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if let Some(worktree) = mark_in(&environ) {
            if comparable(&worktree).starts_with(root) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Waits, for at most `limit`, until no git command that a vane started (they carry
/// `VANE_INTERNAL_GIT=1`) is still running in a directory under one of `roots`, other than this
/// process's own children. A vane killed mid-command leaves its git running for a moment (a commit,
/// a checkout), holding a lock the next run would trip over. Returns whether none is left.
pub fn wait_for_orphaned_git(roots: &[&Path], limit: Duration) -> bool {
    let roots: Vec<PathBuf> = roots.iter().map(|r| comparable(r)).collect();
    let me = std::process::id();
    let deadline = Instant::now() + limit;
    loop {
        let busy = live_pids().into_iter().any(|pid| {
            pid != me
                && parent_of(pid) != Some(me)
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == b"VANE_INTERNAL_GIT=1"))
                && std::fs::read_link(format!("/proc/{pid}/cwd"))
                    .is_ok_and(|cwd| roots.iter().any(|r| comparable(&cwd).starts_with(r)))
        });
        if !busy {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether any live process (of those whose descriptors this one may read) has `path` open. git
/// keeps a lock file open from the moment it makes it until it renames or removes it, so a lock
/// nobody holds open was left by a process that died.
pub fn held_open(path: &Path) -> bool {
    let wanted = comparable(path);
    live_pids().into_iter().any(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == wanted))
        })
    })
}

/// Every live, non-zombie process.
fn live_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| !is_zombie(*pid))
        .collect()
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The worktree named by the mark in a NUL-separated environment block.
fn mark_in(environ: &[u8]) -> Option<PathBuf> {
    let prefix = format!("{WORKTREE_MARK}=");
    environ
        .split(|&b| b == 0)
        .find_map(|var| var.strip_prefix(prefix.as_bytes()))
        .map(|value| {
            use std::os::unix::ffi::OsStrExt;
            PathBuf::from(std::ffi::OsStr::from_bytes(value))
        })
}

/// `path` with symlinks resolved where it exists, so that two spellings of a worktree compare equal.
fn comparable(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and parentheses).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 1..)?;
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// The process's start time in clock ticks since boot.
fn start_time(pid: u32) -> Option<u64> {
    // Field 22 overall; the fields after the name start at field 3.
    stat_fields(pid)?.get(19)?.parse().ok()
}

fn is_zombie(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s == "Z" || s == "X"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_file_is_held_open_only_while_a_process_has_it_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = dir.path().join("index.lock");
        std::fs::write(&lock, "").expect("lock");
        assert!(!held_open(&lock));
        let file = std::fs::File::open(&lock).expect("open");
        assert!(held_open(&lock));
        drop(file);
        assert!(!held_open(&lock));
    }

    #[test]
    fn the_mark_is_read_from_an_environment_block() {
        let block = b"HOME=/root\0VANE_WORKTREE=/tmp/w1\0PATH=/bin\0";
        assert_eq!(mark_in(block), Some(PathBuf::from("/tmp/w1")));
        assert_eq!(mark_in(b"HOME=/root\0XVANE_WORKTREE=/tmp\0"), None);
    }

    #[test]
    fn a_process_that_left_its_group_is_found_by_its_mark_and_stopped() {
        let root = tempfile::tempdir().expect("tempdir");
        let worktree = root.path().join("w1");
        std::fs::create_dir(&worktree).expect("mkdir");
        // setsid puts the sleep in a session and group of its own, as a daemonizing agent would.
        let mut child = Command::new("setsid")
            .args(["sleep", "30"])
            .env(WORKTREE_MARK, &worktree)
            .spawn()
            .expect("setsid runs");
        let deadline = Instant::now() + Duration::from_secs(5);
        while marked_under(root.path()).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(stop_marked_under(root.path()), 1);
        assert!(marked_under(root.path()).is_empty());
        let status = child.wait().expect("wait");
        assert!(!status.success());
        // Nothing marked elsewhere is touched.
        let other = tempfile::tempdir().expect("tempdir");
        assert_eq!(stop_marked_under(other.path()), 0);
    }

    #[test]
    fn a_recorded_group_is_stopped_only_while_its_leader_is_the_same_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
        let pid = AgentPid::of(child.id()).expect("proc readable");
        let file = dir.path().join("agent.pid");
        pid.write(&file).expect("write");
        assert_eq!(AgentPid::read(&file), Some(pid));
        let stale = AgentPid {
            started: pid.started + 1,
            ..pid
        };
        assert!(!stale.stop(), "a different start time is another process");
        // The sleep is not a group leader (it shares the test's group), so signal it directly by
        // checking that `stop` addresses a group: a lone pid that leads no group is not signalled.
        let _ = child.kill();
        let _ = child.wait();
        assert!(!pid.stop(), "a process that is gone is not signalled");
    }
}
