//! The repository's work lock: one `vane work` (or rollback) at a time.
//!
//! An advisory `flock` on `<state>/work.lock`, which the kernel releases when the holder dies, so a
//! lock left by a killed process is simply taken over. The file holds the holder's pid and start
//! time, for the message the next one gets.

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
    _file: File,
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
        Ok(WorkLock { _file: file })
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
        drop(first);
        WorkLock::acquire(dir.path(), "work").unwrap();
    }
}
