//! The repository's work lock: one `vane work` (or rollback) at a time.
//!
//! An advisory `flock` on `<state>/work.lock`, which the kernel releases when the holder dies, so a
//! lock left by a killed process is simply taken over. The file holds the holder's pid and start
//! time, for the message the next one gets; a holder that finishes empties it, so a file that
//! still names a process that is gone tells of a run that died (what `vane doctor` reports).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another vane is working in this repository (pid {pid}, started {started})")]
    Held { pid: String, started: String },
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held while it lives; dropping it (or dying) releases the lock.
#[derive(Debug)]
pub struct WorkLock {
    file: File,
}

/// Who the lock file names, and whether that process still holds the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it: no file, or an empty one (its last holder finished).
    Free,
    /// A running process holds it.
    Held { pid: String, started: String },
    /// The file names a holder that no longer holds the lock: that process stopped without
    /// finishing (killed, crashed). The next `vane work` takes the lock over.
    Stale { pid: String, started: String },
}

/// Reads the lock file without taking the lock or writing anything.
pub fn inspect(state_dir: &Path) -> Result<LockState, LockError> {
    let path = state_dir.join("work.lock");
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockState::Free),
        Err(source) => return Err(LockError::Io { path, source }),
    };
    let mut holder = String::new();
    file.read_to_string(&mut holder)
        .map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
    let mut fields = holder.split_whitespace();
    let Some(pid) = fields.next() else {
        return Ok(LockState::Free);
    };
    let started = fields.collect::<Vec<_>>().join(" ");
    let pid_text = pid.to_string();
    // A live pid may be another process that got the number of a dead holder: the lock says
    // whether it is really held. Probed only then, so that probing never stands in the way of a
    // `vane work` starting while nobody holds it.
    let held = pid.parse::<i32>().is_ok_and(process_alive) && {
        // SAFETY: flock on a descriptor this function owns; no memory is shared with the call.
        let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
        if free {
            // SAFETY: as above; releases the probe at once.
            unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        }
        !free
    };
    Ok(if held {
        LockState::Held {
            pid: pid_text,
            started,
        }
    } else {
        LockState::Stale {
            pid: pid_text,
            started,
        }
    })
}

/// Whether a process with this pid exists (owned by anyone).
pub(crate) fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled; nothing is sent.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl WorkLock {
    pub fn acquire(state_dir: &Path, what: &str) -> Result<WorkLock, LockError> {
        let path = state_dir.join("work.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared with the call.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !taken {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let mut fields = holder.split_whitespace();
            return Err(LockError::Held {
                pid: fields.next().unwrap_or("unknown").to_string(),
                started: fields.collect::<Vec<_>>().join(" "),
            });
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let started = crate::model::now_millis();
        writeln!(
            file,
            "{} {} ({what})",
            std::process::id(),
            crate::model::format_time(started)
        )
        .map_err(io)?;
        file.flush().map_err(io)?;
        Ok(WorkLock { file })
    }
}

impl Drop for WorkLock {
    /// Empties the file while the lock is still held, so that only a holder that died leaves its
    /// name behind; then unlocks explicitly. Closing alone would leave the lock held by any child
    /// process that a thread forked meanwhile, until that child's exec closes its copy.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        // SAFETY: flock on the descriptor this lock owns; no memory is shared with the call.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_and_the_lock_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = WorkLock::acquire(dir.path(), "work").unwrap();
        let err = WorkLock::acquire(dir.path(), "rollback").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains("(work)"), "{text}");
        assert!(matches!(
            inspect(dir.path()).unwrap(),
            LockState::Held { .. }
        ));
        drop(first);
        assert_eq!(
            inspect(dir.path()).unwrap(),
            LockState::Free,
            "emptied on release"
        );
        WorkLock::acquire(dir.path(), "work").unwrap();
    }

    #[test]
    fn a_file_naming_a_dead_process_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(inspect(dir.path()).unwrap(), LockState::Free, "no file");
        // Beyond the largest pid Linux hands out (2^22).
        std::fs::write(
            dir.path().join("work.lock"),
            "99999999 2026-01-01 00:00:00Z (vane work)\n",
        )
        .unwrap();
        assert_eq!(
            inspect(dir.path()).unwrap(),
            LockState::Stale {
                pid: "99999999".to_string(),
                started: "2026-01-01 00:00:00Z (vane work)".to_string()
            }
        );
        // Our own pid, alive, but not holding the lock: stale too (a reused pid).
        std::fs::write(
            dir.path().join("work.lock"),
            format!("{} 2026-01-01 00:00:00Z (vane work)\n", std::process::id()),
        )
        .unwrap();
        assert!(matches!(
            inspect(dir.path()).unwrap(),
            LockState::Stale { .. }
        ));
        // Taken over all the same.
        WorkLock::acquire(dir.path(), "work").unwrap();
    }
}
