//! Append-only output files. Records are whole lines; each `write(2)`
//! carries only whole lines. Lines are batched up to [`BATCH`] bytes
//! between flushes.
//!
//! An output file is never shortened: what an operator (or an earlier run)
//! left in it stays. A file that does not end with a newline (a write torn
//! by a crash, or a foreign file) gets one newline before our first record,
//! with a warning naming the file and the length of the torn tail.
//!
//! A file removed (or moved away) while open would swallow every later
//! record into an inode nobody can reach. Before writing, at most once per
//! [`LINK_CHECK_INTERVAL`] of wall-clock time, a sink checks that its path
//! still names the file it holds; if not, it says so (a warning in the
//! program's log), counts it (`output_files_recreated`) and recreates the
//! file at its path.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes buffered before a write is forced (unless [`Sink::batching`]
/// says otherwise).
const BATCH: usize = 64 * 1024;

/// How often a sink checks that its file is still at its path (wall clock:
/// this is I/O health, not packet time).
pub const LINK_CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct SinkError {
    pub path: PathBuf,
    pub source: io::Error,
}

enum Target {
    File(File),
    Stdout,
}

pub struct Sink {
    path: PathBuf,
    target: Target,
    /// The records queued are `buf[..queued]`; the bytes past them are
    /// space to write the next record into in place ([`Self::spare`]),
    /// left as the last record there left them.
    buf: Vec<u8>,
    queued: usize,
    /// Bytes queued before a write is forced.
    batch: usize,
    /// When the file was last found at its path.
    link_checked: Instant,
    /// Times this sink recreated its file.
    recreated: u64,
    /// Files recreated by this sink and the others sharing the handle
    /// (an output's log and JSON sinks), for the message.
    recreated_together: Arc<AtomicU64>,
    /// The file ends inside a record (a write stopped part-way).
    mid_line: bool,
}

impl Sink {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> Result<Self, SinkError> {
        Ok(Sink {
            path: path.to_owned(),
            target: Target::File(open_append(path)?),
            buf: Vec::with_capacity(BATCH),
            queued: 0,
            batch: BATCH,
            link_checked: Instant::now(),
            recreated: 0,
            recreated_together: Arc::default(),
            mid_line: false,
        })
    }

    pub fn stdout() -> Self {
        Sink {
            path: PathBuf::from("<stdout>"),
            target: Target::Stdout,
            buf: Vec::with_capacity(BATCH),
            queued: 0,
            batch: BATCH,
            link_checked: Instant::now(),
            recreated: 0,
            recreated_together: Arc::default(),
            mid_line: false,
        }
    }

    /// Writes only when `batch` bytes are queued (or on [`Self::flush`]):
    /// an owner that writes several sinks together sets its own.
    pub fn batching(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Bytes queued, not yet written.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Counts this sink's recreations also in `together`, shared with the
    /// other sinks of an output.
    pub fn counting_into(mut self, together: Arc<AtomicU64>) -> Self {
        self.recreated_together = together;
        self
    }

    /// Times this sink found its file gone from its path and recreated it.
    pub fn recreated(&self) -> u64 {
        self.recreated
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one record (a newline is added).
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), SinkError> {
        let to = self.spare(line.len() + 1)?;
        to[..line.len()].copy_from_slice(line);
        to[line.len()] = b'\n';
        self.commit(line.len() + 1);
        Ok(())
    }

    /// `room` bytes after the queue, to write one record and its newline
    /// into in place (no copy through a buffer of the caller's), then
    /// [`Self::commit`] what was written; the queue is written first when
    /// fewer than `room` bytes are left of the batch. On failure the
    /// record cannot be queued, as with [`Self::push_line`].
    pub fn spare(&mut self, room: usize) -> Result<&mut [u8], SinkError> {
        if self.queued + room > self.batch {
            self.flush()?;
        }
        let end = self.queued + room;
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        Ok(&mut self.buf[self.queued..end])
    }

    /// Queues the first `len` bytes of the last [`Self::spare`].
    pub fn commit(&mut self, len: usize) {
        self.queued = (self.queued + len).min(self.buf.len());
    }

    /// Writes what is queued. On failure what was not written is kept for
    /// the next attempt, which continues exactly where the file stopped
    /// (bounded: past 16 batches the queue is dropped, ending a line cut
    /// by the failure with a newline so the next record starts on its own).
    pub fn flush(&mut self) -> Result<(), SinkError> {
        if self.queued == 0 {
            return Ok(());
        }
        if self.link_checked.elapsed() >= LINK_CHECK_INTERVAL {
            self.link_checked = Instant::now();
            self.recreate_if_unlinked()?;
        }
        let res = match &mut self.target {
            Target::File(f) => append_all(f, &mut self.buf, &mut self.queued, &mut self.mid_line),
            Target::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(&self.buf[..self.queued])
                    .and_then(|_| out.flush())
            }
        };
        match res {
            Ok(()) => {
                self.queued = 0;
                Ok(())
            }
            Err(source) => {
                if self.queued > 16 * self.batch {
                    self.queued = 0;
                    if self.mid_line {
                        self.buf[0] = b'\n';
                        self.queued = 1;
                    }
                }
                Err(SinkError {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// If the open file is no longer the one at its path (removed: no links
    /// left; or moved, with another file or none at the path), reports it
    /// and opens the path again, creating it. A failed check is left to the
    /// write that follows.
    fn recreate_if_unlinked(&mut self) -> Result<(), SinkError> {
        let Target::File(f) = &self.target else {
            return Ok(());
        };
        let Ok(held) = f.metadata() else {
            return Ok(());
        };
        let at_path = std::fs::metadata(&self.path);
        let same = match &at_path {
            Ok(m) => held.nlink() > 0 && m.dev() == held.dev() && m.ino() == held.ino(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(_) => return Ok(()),
        };
        if same {
            return Ok(());
        }
        self.recreated += 1;
        let total = self.recreated_together.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            "{}: output file was removed or moved while open; \
             recreating it (output files recreated: {total})",
            self.path.display()
        );
        self.target = Target::File(open_append(&self.path)?);
        Ok(())
    }

    /// Reopens the file at its path (after logrotate moved it).
    pub fn reopen(&mut self) -> Result<(), SinkError> {
        self.flush()?;
        if let Target::File(_) = self.target {
            self.target = Target::File(open_append(&self.path)?);
        }
        Ok(())
    }
}

/// Appends `buf[..queued]`, removing from its front what was written:
/// after a short write (disk full, quota) the rest stays queued, and the
/// retry continues the line where the file stopped, so nothing is written
/// twice and the file is never cut back.
/// `mid_line` tells afterwards whether the file ends inside a record.
fn append_all(
    f: &mut File,
    buf: &mut [u8],
    queued: &mut usize,
    mid_line: &mut bool,
) -> io::Result<()> {
    let mut done = 0;
    let res = loop {
        if done == *queued {
            break Ok(());
        }
        match f.write(&buf[done..*queued]) {
            Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    if done > 0 {
        *mid_line = buf[done - 1] != b'\n';
    }
    if res.is_err() {
        buf.copy_within(done..*queued, 0);
        *queued -= done;
    }
    res
}

/// Opens `path` for appending, creating it, and ends a torn last line (see
/// the module comment).
fn open_append(path: &Path) -> Result<File, SinkError> {
    let err = |source| SinkError {
        path: path.to_owned(),
        source,
    };
    let mut f = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    if let Some(torn) = torn_tail(&f).map_err(err)? {
        f.write_all(b"\n").map_err(err)?;
        let len = match torn {
            Torn::Bytes(n) => format!("{n} bytes"),
            Torn::MoreThan(n) => format!("more than {n} bytes"),
        };
        eprintln!(
            "{}",
            crate::util::message::one_line(&format!(
                "decnet-sniffer: warning: {}: the file ends inside a line ({len} after the \
                 last newline, kept); a newline was added before the new records",
                path.display()
            ))
        );
    }
    Ok(f)
}

/// How long the unterminated last line of a file is.
#[derive(Debug, PartialEq, Eq)]
enum Torn {
    Bytes(u64),
    /// No newline in the last [`TAIL_WINDOW`] bytes.
    MoreThan(u64),
}

/// Bytes of a file's end searched for its last newline.
const TAIL_WINDOW: u64 = 2 * BATCH as u64;

/// The torn tail of a regular file that does not end with a newline; `None`
/// for an empty file, one ending with a newline, or a device or FIFO.
fn torn_tail(f: &File) -> io::Result<Option<Torn>> {
    use std::os::unix::fs::FileExt;
    let meta = f.metadata()?;
    let len = meta.len();
    if !meta.is_file() || len == 0 {
        return Ok(None);
    }
    let window = len.min(TAIL_WINDOW);
    let mut tail = vec![0u8; window as usize];
    // Positioned reads: the append offset is not disturbed.
    f.read_exact_at(&mut tail, len - window)?;
    if tail.last() == Some(&b'\n') {
        return Ok(None);
    }
    Ok(Some(match tail.iter().rposition(|&b| b == b'\n') {
        Some(i) => Torn::Bytes(window - i as u64 - 1),
        None if window == len => Torn::Bytes(len),
        None => Torn::MoreThan(window),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("decnet-sink-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Makes the next flush check the link, as if a second had passed.
    fn age(sink: &mut Sink) {
        sink.link_checked = Instant::now()
            .checked_sub(LINK_CHECK_INTERVAL)
            .unwrap_or(sink.link_checked);
    }

    #[test]
    fn a_removed_file_is_recreated_at_its_path() {
        let dir = scratch("removed");
        let path = dir.join("out.log");
        let mut sink = Sink::open(&path).unwrap();
        sink.push_line(b"one").unwrap();
        sink.flush().unwrap();
        std::fs::remove_file(&path).unwrap();
        age(&mut sink);
        sink.push_line(b"two").unwrap();
        sink.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        assert_eq!(sink.recreated(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_moved_file_is_left_behind_and_the_path_reopened() {
        let dir = scratch("moved");
        let path = dir.join("out.log");
        let moved = dir.join("out.log.1");
        let mut sink = Sink::open(&path).unwrap();
        sink.push_line(b"one").unwrap();
        sink.flush().unwrap();
        std::fs::rename(&path, &moved).unwrap();
        age(&mut sink);
        sink.push_line(b"two").unwrap();
        sink.flush().unwrap();
        assert_eq!(std::fs::read(&moved).unwrap(), b"one\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        assert_eq!(sink.recreated(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_still_in_place_is_kept() {
        let dir = scratch("kept");
        let path = dir.join("out.log");
        let mut sink = Sink::open(&path).unwrap();
        for line in [&b"one"[..], b"two"] {
            age(&mut sink);
            sink.push_line(line).unwrap();
            sink.flush().unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n");
        assert_eq!(sink.recreated(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_torn_tail_is_kept_and_ended_with_a_newline() {
        let dir = scratch("torn");
        let path = dir.join("out.log");
        std::fs::write(&path, b"a\nb-partial").unwrap();
        let mut sink = Sink::open(&path).unwrap();
        sink.push_line(b"ours").unwrap();
        sink.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a\nb-partial\nours\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn torn_tail_lengths() {
        let dir = scratch("tails");
        let path = dir.join("f");
        let tail_of = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            torn_tail(&File::open(&path).unwrap()).unwrap()
        };
        assert_eq!(tail_of(b""), None);
        assert_eq!(tail_of(b"a\n"), None);
        assert_eq!(tail_of(b"abc"), Some(Torn::Bytes(3)));
        assert_eq!(tail_of(b"a\nbc"), Some(Torn::Bytes(2)));
        let big = vec![b'x'; TAIL_WINDOW as usize + 10];
        assert_eq!(tail_of(&big), Some(Torn::MoreThan(TAIL_WINDOW)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// After logrotate (SIGHUP), the file found at the path is reopened the
    /// same way: a torn tail there is kept and ended with a newline.
    #[test]
    fn reopen_keeps_a_torn_tail_at_the_path() {
        let dir = scratch("reopen");
        let path = dir.join("out.log");
        let mut sink = Sink::open(&path).unwrap();
        sink.push_line(b"one").unwrap();
        sink.flush().unwrap();
        std::fs::rename(&path, dir.join("out.log.1")).unwrap();
        std::fs::write(&path, b"left by someone").unwrap();
        sink.reopen().unwrap();
        sink.push_line(b"two").unwrap();
        sink.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"left by someone\ntwo\n");
        assert_eq!(std::fs::read(dir.join("out.log.1")).unwrap(), b"one\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
