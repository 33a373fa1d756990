//! vane's own log of each batch, for scripts and for looking back: `.git/vane/logs/` holds one file
//! of JSON lines per batch (`batch-<N>.jsonl`), in tracing's JSON format (time, level, target, the
//! fields, among them `correlation` and `task`, and the message).
//!
//! The subscriber (set up by the CLI) writes through `BatchLog` to whichever file the running
//! batch opened with `begin`; between batches it writes nothing. A file that grows past
//! `ROTATE_BYTES` is moved to `batch-<N>.1.jsonl` (replacing an older one) and a new one begun, so
//! that one batch keeps at most twice that. `vane gc` removes the logs of old batches.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where a file is rotated.
pub const ROTATE_BYTES: u64 = 32 * 1024 * 1024;

struct Open {
    file: File,
    path: PathBuf,
    written: u64,
}

static CURRENT: Mutex<Option<Open>> = Mutex::new(None);

/// The log file of batch `batch` in `dir`.
pub fn batch_log(dir: &Path, batch: i64) -> PathBuf {
    dir.join(format!("batch-{batch}.jsonl"))
}

/// Starts writing the log of `batch` to its file in `dir` (appending, as a resumed batch number
/// never repeats but a file may have been left).
pub fn begin(dir: &Path, batch: i64) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = batch_log(dir, batch);
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    let written = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    *current = Some(Open {
        file,
        path: path.clone(),
        written,
    });
    Ok(path)
}

/// Stops writing the batch's log; what was written is flushed.
pub fn end() {
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(open) = current.as_mut() {
        let _ = open.file.flush();
    }
    *current = None;
}

/// The writer the subscriber's JSON layer uses: the running batch's file, or nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchLog;

impl Write for BatchLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        let Some(open) = current.as_mut() else {
            return Ok(buf.len());
        };
        if open.written + buf.len() as u64 > ROTATE_BYTES && open.written > 0 {
            let rotated = open.path.with_extension("1.jsonl");
            if std::fs::rename(&open.path, &rotated).is_err() {
                return Ok(buf.len());
            }
            open.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&open.path)?;
            open.written = 0;
        }
        // A log that cannot be written (a full disk) never fails the batch; nothing is logged
        // about it either, which would come back here.
        if open.file.write_all(buf).is_ok() {
            open.written += buf.len() as u64;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        match current.as_mut() {
            Some(open) => open.file.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchLog {
    type Writer = BatchLog;

    fn make_writer(&'a self) -> Self::Writer {
        BatchLog
    }
}

/// Whether `name` is a batch log (`batch-<N>.jsonl` or its rotated `batch-<N>.1.jsonl`), and of
/// which batch.
pub fn batch_of(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("batch-")?;
    let number = rest
        .strip_suffix(".1.jsonl")
        .or_else(|| rest.strip_suffix(".jsonl"))?;
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_log_names() {
        assert_eq!(batch_of("batch-12.jsonl"), Some(12));
        assert_eq!(batch_of("batch-12.1.jsonl"), Some(12));
        assert_eq!(batch_of("batch-x.jsonl"), None);
        assert_eq!(batch_of("notes.jsonl"), None);
        let dir = Path::new("/state/logs");
        assert_eq!(
            batch_of(&batch_log(dir, 7).file_name().unwrap().to_string_lossy()),
            Some(7)
        );
    }
}
