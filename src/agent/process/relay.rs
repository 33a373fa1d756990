//! How a child's output reaches its log files without filling the disk: the child writes into a
//! pipe, and a thread of vane's copies the first half of the limit into the file, keeps the last
//! half in a ring buffer of bounded size, and at the end writes a line saying how much it dropped
//! between them, then the tail. What parsers read (Claude Code's result is its last line) and what a
//! person looks at first (how it started, how it ended) is kept; a 2 GB loop of the same message
//! is not, and vane's memory stays at the ring buffer, half the limit, per stream.
//!
//! A relay ends at the end of its pipe, when every process holding it has exited, or when the
//! process group has been taken down (`Relays::finish`): a process that left the group (`setsid`,
//! a daemon) and still holds the pipe cannot keep a run from returning. What the group wrote before
//! it went is in the pipe then, and is read to the end first.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Once the group is gone, how long a relay goes on reading what is still arriving (from a process
/// that left the group) before it stops.
const DRAIN_MAX: Duration = Duration::from_millis(500);

/// How long `finish` waits for the relays to have written their files. They only have the pipe's
/// last contents and the tail left to write by then; a relay still busy after this (a disk that
/// hangs) is left to finish alone, and the run returns.
const FINISH_WAIT: Duration = Duration::from_secs(10);

/// The child's two output streams, and the relays that carry them to the files.
pub(crate) struct Outputs {
    pub stdout: Stdio,
    pub stderr: Stdio,
    pub relays: Relays,
}

/// The relays of one run: finished when the run is over, or when dropped.
pub(crate) struct Relays {
    /// Closed to tell the relays that the process group is gone: its read end, which every relay
    /// polls, then reports a hang-up.
    gone: Option<File>,
    running: Vec<Running>,
}

struct Running {
    path: PathBuf,
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

/// Opens the output files (created or truncated, parent directories too) and, with a `limit`,
/// the pipes and relays between the child and them; without one the child writes the files
/// itself. One path for both streams gets one file and one relay, so the order of what the two
/// streams wrote is kept, and the limit counts both.
pub(crate) fn open(
    stdout: &Path,
    stderr: &Path,
    limit: Option<u64>,
) -> Result<Outputs, (PathBuf, io::Error)> {
    let same = stdout == stderr;
    let out_file = create(stdout)?;
    let err_file = if same { None } else { Some(create(stderr)?) };
    let Some(limit) = limit else {
        // One file for both must be one open file description, or the streams overwrite each other.
        let err_file = match err_file {
            Some(file) => file,
            None => out_file
                .try_clone()
                .map_err(|e| (stderr.to_path_buf(), e))?,
        };
        return Ok(Outputs {
            stdout: out_file.into(),
            stderr: err_file.into(),
            relays: Relays {
                gone: None,
                running: Vec::new(),
            },
        });
    };
    let pipe_error = |path: &Path| {
        let path = path.to_path_buf();
        move |e| (path, e)
    };
    let (gone_reader, gone) = pipe().map_err(pipe_error(stdout))?;
    let mut relays = Relays {
        gone: Some(gone),
        running: Vec::new(),
    };
    let (out_reader, out_writer) = pipe().map_err(pipe_error(stdout))?;
    let gone_for_out = gone_reader.try_clone().map_err(pipe_error(stdout))?;
    relays.start(stdout, out_reader, out_file, limit, gone_for_out)?;
    let (out, err) = match err_file {
        None => {
            let err_writer = out_writer.try_clone().map_err(pipe_error(stderr))?;
            (out_writer, err_writer)
        }
        Some(err_file) => {
            let (err_reader, err_writer) = pipe().map_err(pipe_error(stderr))?;
            relays.start(stderr, err_reader, err_file, limit, gone_reader)?;
            (out_writer, err_writer)
        }
    };
    Ok(Outputs {
        stdout: out.into(),
        stderr: err.into(),
        relays,
    })
}

/// A pipe, both ends closed on exec: (read end, write end).
fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is an array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both are new descriptors that nothing else owns.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(reader), File::from(writer)))
}

fn create(path: &Path) -> Result<File, (PathBuf, io::Error)> {
    let error = |e| (path.to_path_buf(), e);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    File::create(path).map_err(error)
}

impl Relays {
    fn start(
        &mut self,
        path: &Path,
        pipe: File,
        file: File,
        limit: u64,
        gone: File,
    ) -> Result<(), (PathBuf, io::Error)> {
        let (done_tx, done) = mpsc::channel();
        let log = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("vane-output".to_string())
            .spawn(move || {
                let mut sink = Sink::new(file, limit);
                relay(&pipe, &gone, &mut sink);
                if let Err(e) = sink.finish() {
                    tracing::warn!(file = %log.display(), error = %e, "cannot write the output log");
                }
                let _ = done_tx.send(());
            })
            .map_err(|e| (path.to_path_buf(), e))?;
        self.running.push(Running {
            path: path.to_path_buf(),
            done,
            thread,
        });
        Ok(())
    }

    /// Tells the relays that the process group is gone and waits, a bounded time, until they have
    /// written their files.
    pub(crate) fn finish(mut self) {
        self.finish_now();
    }

    fn finish_now(&mut self) {
        drop(self.gone.take());
        let deadline = Instant::now() + FINISH_WAIT;
        for running in self.running.drain(..) {
            let left = deadline.saturating_duration_since(Instant::now());
            match running.done.recv_timeout(left) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = running.thread.join();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    tracing::warn!(
                        file = %running.path.display(),
                        "the output log is still being written; going on without it"
                    );
                }
            }
        }
    }
}

impl Drop for Relays {
    fn drop(&mut self) {
        self.finish_now();
    }
}

/// Copies from `pipe` into `sink` until the pipe's end, or until `gone` hangs up and what the pipe
/// holds has been read.
fn relay(pipe: &File, gone: &File, sink: &mut Sink) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = pipe;
    loop {
        match readiness(pipe.as_fd(), gone.as_fd()) {
            Ok(Ready::Data) => match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => sink.write(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            },
            Ok(Ready::Gone) => break,
            Err(e) => {
                tracing::warn!(error = %e, "cannot wait for the agent's output");
                break;
            }
        }
    }
    // The group is gone: read what it left in the pipe, and what a process outside it still
    // writes for a moment, without waiting for more.
    if set_nonblocking(pipe.as_fd()).is_err() {
        return;
    }
    let until = Instant::now() + DRAIN_MAX;
    while Instant::now() < until {
        match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => sink.write(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

enum Ready {
    /// The pipe has data, or is at its end.
    Data,
    /// The process group is gone, and the pipe has nothing at the moment.
    Gone,
}

fn readiness(pipe: BorrowedFd<'_>, gone: BorrowedFd<'_>) -> io::Result<Ready> {
    let mut fds = [
        libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: gone.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `fds` is an array of two valid pollfd, and the count passed is its length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        // Data first: what the group wrote is read before its going is.
        if fds[0].revents != 0 {
            return Ok(Ready::Data);
        }
        if fds[1].revents != 0 {
            return Ok(Ready::Gone);
        }
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor that `fd` keeps open, with flag arguments only.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0
        || unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The file a stream goes to: the head written through, the tail held back until the end.
struct Sink {
    /// Written unbuffered: what the child printed is in the file as soon as it is read.
    file: File,
    /// How much more goes straight to the file.
    head_left: u64,
    /// The last byte written to the file, to start the note on a line of its own.
    last: Option<u8>,
    tail: Tail,
    /// The first write that failed (a full disk): the rest is read and thrown away, so that the
    /// child is not stopped by a full pipe, and the error is reported at the end.
    error: Option<io::Error>,
}

impl Sink {
    fn new(file: File, limit: u64) -> Sink {
        let head = limit / 2;
        let tail = usize::try_from(limit - head).unwrap_or(usize::MAX);
        Sink {
            file,
            head_left: head,
            last: None,
            tail: Tail::new(tail),
            error: None,
        }
    }

    fn write(&mut self, data: &[u8]) {
        let head = usize::try_from(self.head_left).map_or(data.len(), |h| h.min(data.len()));
        if head > 0 {
            self.head_left -= head as u64;
            self.put(&data[..head]);
        }
        self.tail.push(&data[head..]);
    }

    fn put(&mut self, data: &[u8]) {
        if self.error.is_none() && !data.is_empty() {
            match self.file.write_all(data) {
                Ok(()) => self.last = data.last().copied(),
                Err(e) => self.error = Some(e),
            }
        }
    }

    /// Writes the note on what was dropped, if anything was, and the tail.
    fn finish(mut self) -> io::Result<()> {
        let tail = std::mem::take(&mut self.tail);
        if tail.dropped > 0 {
            let newline = if matches!(self.last, None | Some(b'\n')) {
                ""
            } else {
                "\n"
            };
            let note = format!("{newline}{}\n", dropped_note(tail.dropped));
            self.put(note.as_bytes());
        }
        let (older, newer) = tail.parts();
        self.put(older);
        self.put(newer);
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The line that stands where output was dropped.
pub(crate) fn dropped_note(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("[vane: {grouped} bytes dropped here]")
}

/// The last `capacity` bytes pushed, in a buffer that grows to that and no further.
#[derive(Default)]
struct Tail {
    buf: Vec<u8>,
    capacity: usize,
    /// Where the oldest byte is, once the buffer is full and wraps around.
    start: usize,
    /// Bytes pushed out of the buffer (or never let in).
    dropped: u64,
}

impl Tail {
    fn new(capacity: usize) -> Tail {
        Tail {
            capacity,
            ..Tail::default()
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        if data.len() >= self.capacity {
            self.dropped += (self.buf.len() + data.len() - self.capacity) as u64;
            self.buf.clear();
            self.buf
                .extend_from_slice(&data[data.len() - self.capacity..]);
            self.start = 0;
            return;
        }
        // Until the buffer is full it has never wrapped, so the oldest byte is its first.
        let room = self.capacity - self.buf.len();
        let fits = room.min(data.len());
        self.buf.extend_from_slice(&data[..fits]);
        data = &data[fits..];
        while !data.is_empty() {
            let n = (self.capacity - self.start).min(data.len());
            self.buf[self.start..self.start + n].copy_from_slice(&data[..n]);
            self.start = (self.start + n) % self.capacity;
            self.dropped += n as u64;
            data = &data[n..];
        }
    }

    /// The bytes held, oldest first, in two parts.
    fn parts(&self) -> (&[u8], &[u8]) {
        (&self.buf[self.start..], &self.buf[..self.start])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(tail: &Tail) -> Vec<u8> {
        let (a, b) = tail.parts();
        [a, b].concat()
    }

    #[test]
    fn the_tail_keeps_the_last_bytes_in_any_pieces() {
        let input: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for capacity in [0, 1, 7, 100, 256, 9_999, 10_000, 20_000] {
            for piece in [1, 3, 64, 255, 4096, 10_000] {
                let mut tail = Tail::new(capacity);
                for chunk in input.chunks(piece) {
                    tail.push(chunk);
                }
                let keep = capacity.min(input.len());
                assert_eq!(
                    held(&tail),
                    &input[input.len() - keep..],
                    "capacity {capacity}, pieces of {piece}"
                );
                assert_eq!(tail.dropped, (input.len() - keep) as u64);
                assert!(tail.buf.len() <= capacity);
            }
        }
    }

    #[test]
    fn the_note_groups_the_digits() {
        assert_eq!(dropped_note(7), "[vane: 7 bytes dropped here]");
        assert_eq!(dropped_note(1_000), "[vane: 1,000 bytes dropped here]");
        assert_eq!(
            dropped_note(1_234_567_890),
            "[vane: 1,234,567,890 bytes dropped here]"
        );
    }

    fn sunk(limit: u64, pieces: &[&[u8]]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut sink = Sink::new(File::create(&path).unwrap(), limit);
        for piece in pieces {
            sink.write(piece);
        }
        sink.finish().unwrap();
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn a_sink_keeps_the_head_and_the_tail_and_says_what_it_dropped() {
        assert_eq!(sunk(10, &[b"short\n"]), "short\n");
        assert_eq!(sunk(10, &[b"0123456789"]), "0123456789");
        assert_eq!(
            sunk(10, &[b"0123", b"456789ab\n", b"cdef\n"]),
            "01234\n[vane: 8 bytes dropped here]\ncdef\n"
        );
        assert_eq!(
            sunk(8, &[b"abc\n", b"defghijkl\n", b"mn\n"]),
            "abc\n[vane: 9 bytes dropped here]\n\nmn\n"
        );
    }
}
