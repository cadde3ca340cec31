//! The output pipeline: dedup, then the RFC 5424 line, then the JSON record,
//! then the bus (only after the files have the event).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::dedup::Dedup;
use super::formatted::{FormattedEvent, Formatter};
use super::layout::EventWriter;
use super::sink::{Sink, SinkError};
use crate::event::{Event, EventKind, EventPool};

/// Something that publishes events off the capture path (the bus).
pub trait Publish: Send {
    /// Must not block: queue and return.
    fn publish(&self, ev: &Event);
}

#[derive(Debug, Clone, Default)]
pub struct OutputStats {
    /// Written events by [`EventKind::index`].
    pub written: [u64; EventKind::ALL.len()],
    /// Events suppressed by dedup, by kind.
    pub deduplicated: [u64; EventKind::ALL.len()],
    pub write_errors: u64,
    pub dedup_evictions: u64,
    pub dedup_entries: usize,
    /// Bytes the dedup table holds, and its entries dropped for `--memcap`.
    pub dedup_bytes: usize,
    pub dedup_memcap_evictions: u64,
    /// Output files recreated because the file at their path was removed
    /// or replaced.
    pub files_recreated: u64,
}

impl OutputStats {
    /// Puts the dedup table's figures in the engine's memory pools (its
    /// budget is the output thread's own share of `--memcap`).
    pub fn fill_memory(&self, pools: &mut [crate::util::budget::PoolStats]) {
        let name = crate::util::budget::Pool::OutputDedup.name();
        if let Some(p) = pools.iter_mut().find(|p| p.name == name) {
            p.bytes = self.dedup_bytes;
            p.evictions = self.dedup_memcap_evictions;
        }
    }
}

/// Where to write a record of at most `room` bytes for `sink`: its queue
/// (true), or `scratch` (false) when there is no file or it failed to make
/// room (counted, as [`Sink::push_line`]'s failures are).
fn spare<'a>(
    sink: &'a mut Option<Sink>,
    room: usize,
    scratch: &'a mut Vec<u8>,
    stats: &mut OutputStats,
    last_error: &mut Option<SinkError>,
) -> (&'a mut [u8], bool) {
    match sink.as_mut().map(|s| s.spare(room)) {
        Some(Ok(buf)) => return (buf, true),
        Some(Err(e)) => {
            stats.write_errors += 1;
            *last_error = Some(e);
        }
        None => {}
    }
    if scratch.len() < room {
        scratch.resize(room, 0);
    }
    (&mut scratch[..room], false)
}

/// Bytes queued for the two files together before both are written, the
/// log first. Fewer, larger writes cost the kernel less (each write of
/// whole lines starts and ends inside a page: about 9 us of kernel CPU a
/// write here, measured), and the log gets its share of a disk about to
/// fill before the JSON file takes the rest (tests/faults.rs fills a
/// 256 KiB tmpfs). A sink alone writes at the same size.
const FILES_BATCH: usize = 256 * 1024;

/// Written events dropped at a time.
const SPENT_MAX: usize = 256;

/// Bus events held back before a flush is forced.
const PENDING_BUS_MAX: usize = 1024;

pub struct Output {
    dedup: Dedup,
    log: Option<Sink>,
    json: Option<Sink>,
    publisher: Option<Box<dyn Publish>>,
    /// Bus events waiting for their lines to reach the files.
    pending_bus: Vec<Event>,
    /// Written events, dropped together ([`EventPool::recycle`]).
    spent: Vec<Event>,
    stats: OutputStats,
    writer: EventWriter,
    /// Scratch space for a line or record no file takes.
    line: Vec<u8>,
    record: Vec<u8>,
    /// The room the last event written in place took: what the next is
    /// expected to ask of the queues.
    next_room: usize,
    /// The last write error, for the caller to report once.
    pub last_error: Option<SinkError>,
    /// Files the sinks recreated, all together.
    recreated: Arc<AtomicU64>,
}

impl Output {
    pub fn new(dedup_ttl_secs: u64, dedup_cap: usize) -> Self {
        let dedup = Dedup::new(dedup_ttl_secs, dedup_cap);
        Output {
            writer: EventWriter::new(dedup.keyer().clone()),
            dedup,
            log: None,
            json: None,
            publisher: None,
            pending_bus: Vec::new(),
            spent: Vec::with_capacity(SPENT_MAX),
            stats: OutputStats::default(),
            line: Vec::with_capacity(1024),
            record: Vec::with_capacity(2048),
            next_room: 4096,
            last_error: None,
            recreated: Arc::default(),
        }
    }

    pub fn log_to(&mut self, path: &Path) -> Result<(), SinkError> {
        self.log = Some(
            Sink::open(path)?
                .counting_into(self.recreated.clone())
                .batching(FILES_BATCH),
        );
        Ok(())
    }

    pub fn json_to(&mut self, path: &Path) -> Result<(), SinkError> {
        self.json = Some(
            Sink::open(path)?
                .counting_into(self.recreated.clone())
                .batching(FILES_BATCH),
        );
        Ok(())
    }

    pub fn json_to_stdout(&mut self) {
        self.json = Some(Sink::stdout());
    }

    pub fn publish_with(&mut self, publisher: Box<dyn Publish>) {
        self.publisher = Some(publisher);
    }

    pub fn stats(&self) -> OutputStats {
        let mut s = self.stats.clone();
        s.dedup_evictions = self.dedup.evictions;
        s.dedup_entries = self.dedup.len();
        s.dedup_bytes = self.dedup.bytes();
        s.dedup_memcap_evictions = self.dedup.memcap_evictions();
        s.files_recreated = self.recreated.load(Ordering::Relaxed);
        s
    }

    /// Gives the dedup table its share of `--memcap`
    /// ([`crate::util::budget::dedup_share`]).
    pub fn set_memcap(&mut self, memcap: usize) {
        let share = crate::util::budget::dedup_share(memcap);
        self.dedup
            .set_budget(crate::util::budget::Budget::new(share));
    }

    /// How to format events ahead of [`Self::handle_formatted`], on other
    /// threads.
    pub fn formatter(&self) -> Formatter {
        Formatter::new(
            self.dedup.keyer().clone(),
            self.json.is_some(),
            self.publisher.is_some(),
        )
    }

    /// Dedups, formats and queues one event.
    pub fn handle(&mut self, ev: Event) {
        let id = self.writer.prepare(&ev);
        if self.dedup.enabled() && !self.dedup.admit_key(self.writer.key(&ev, id), ev.ts) {
            self.stats.deduplicated[ev.kind.index()] += 1;
            return;
        }
        match self.writer.room(&ev, id) {
            Some(room) => self.write_in_place(&ev, &room),
            None => {
                // Something to escape: through scratch space.
                let (mut line, mut record) = (
                    std::mem::take(&mut self.line),
                    std::mem::take(&mut self.record),
                );
                line.clear();
                record.clear();
                let with_record = self.json.is_some().then_some(&mut record);
                self.writer.write(&ev, id, &mut line, with_record);
                self.queue(&line, &record);
                (self.line, self.record) = (line, record);
            }
        }
        self.written(ev.kind, Some(ev));
    }

    /// Writes the line and record of a plain event straight into the
    /// files' queues (into scratch space for a file that is absent or
    /// failed to take it).
    fn write_in_place(&mut self, ev: &Event, room: &super::layout::Room) {
        let (line, to_log) = spare(
            &mut self.log,
            room.line(),
            &mut self.line,
            &mut self.stats,
            &mut self.last_error,
        );
        let (n, to_json, m) = if self.json.is_some() {
            let (record, to_json) = spare(
                &mut self.json,
                room.record(),
                &mut self.record,
                &mut self.stats,
                &mut self.last_error,
            );
            let (n, m) = self.writer.write_into(ev, room, line, Some(record));
            record[m] = b'\n';
            (n, to_json, m)
        } else {
            (self.writer.write_into(ev, room, line, None).0, false, 0)
        };
        line[n] = b'\n';
        if let (true, Some(log)) = (to_log, self.log.as_mut()) {
            log.commit(n + 1);
        }
        if let (true, Some(json)) = (to_json, self.json.as_mut()) {
            json.commit(m + 1);
        }
        self.next_room = room.line() + room.record();
    }

    /// Writes both files, the log first, once the next event might take
    /// their queues past [`FILES_BATCH`] together.
    fn write_if_full(&mut self) {
        let queued: usize = [&self.log, &self.json]
            .into_iter()
            .flatten()
            .map(Sink::queued)
            .sum();
        if queued + self.next_room <= FILES_BATCH {
            return;
        }
        for sink in [&mut self.log, &mut self.json].into_iter().flatten() {
            if let Err(e) = sink.flush() {
                self.stats.write_errors += 1;
                self.last_error = Some(e);
            }
        }
    }

    /// Dedups and queues one event formatted by [`Self::formatter`].
    pub fn handle_formatted(&mut self, f: FormattedEvent<'_>) {
        if !self.dedup.admit_key(f.dedup_key, f.ts) {
            self.stats.deduplicated[f.kind.index()] += 1;
            return;
        }
        self.write(f.kind, f.line, f.record, f.event);
    }

    fn write(&mut self, kind: EventKind, line: &[u8], record: &[u8], ev: Option<Event>) {
        self.queue(line, record);
        self.written(kind, ev);
    }

    /// Queues a line and its record on the files there are.
    fn queue(&mut self, line: &[u8], record: &[u8]) {
        if let Some(log) = &mut self.log {
            if let Err(e) = log.push_line(line) {
                self.stats.write_errors += 1;
                self.last_error = Some(e);
            }
        }
        if let Some(json) = &mut self.json {
            if let Err(e) = json.push_line(record) {
                self.stats.write_errors += 1;
                self.last_error = Some(e);
            }
        }
    }

    /// Counts a written event and queues it for the bus.
    fn written(&mut self, kind: EventKind, ev: Option<Event>) {
        self.stats.written[kind.index()] += 1;
        self.write_if_full();
        match ev {
            Some(ev) if kind.on_bus() && self.publisher.is_some() => {
                self.pending_bus.push(ev);
                if self.pending_bus.len() >= PENDING_BUS_MAX {
                    let _ = self.flush();
                }
            }
            Some(ev) => {
                self.spent.push(ev);
                if self.spent.len() >= SPENT_MAX {
                    EventPool::recycle(&mut self.spent);
                    self.dedup.settle_exactly();
                }
            }
            None => {}
        }
    }

    /// Writes everything queued: the log file first, then the JSON file.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        let mut first_err = None;
        for sink in [&mut self.log, &mut self.json].into_iter().flatten() {
            if let Err(e) = sink.flush() {
                self.stats.write_errors += 1;
                first_err.get_or_insert(e);
            }
        }
        if let Some(p) = &self.publisher {
            for ev in self.pending_bus.drain(..) {
                p.publish(&ev);
            }
        }
        EventPool::recycle(&mut self.spent);
        first_err.map_or(Ok(()), Err)
    }

    /// Reopens both files (SIGHUP after logrotate).
    pub fn reopen(&mut self) -> Result<(), SinkError> {
        for sink in [&mut self.log, &mut self.json].into_iter().flatten() {
            sink.reopen()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::Timestamp;

    /// The two files are written together, the log first, once their
    /// queues hold about [`FILES_BATCH`] bytes: never one without the
    /// other, and whole lines only.
    #[test]
    fn files_are_written_together_log_first() {
        let dir = std::env::temp_dir().join(format!("decnet-pipeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (log, json) = (dir.join("log"), dir.join("json"));
        let mut output = Output::new(0, 16);
        output.log_to(&log).unwrap();
        output.json_to(&json).unwrap();
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len() as usize);
        let mut writes = 0;
        let mut last = (0, 0);
        for i in 0..4000u32 {
            let mut ev = Event::new(EventKind::TcpFlowTiming, Timestamp::new(1, i), "d".into());
            ev.push("src_ip", "192.0.2.1").push("packets", i);
            output.handle(ev);
            let now = (size(&log), size(&json));
            if now != last {
                writes += 1;
                assert!(now.0 > last.0 && now.1 > last.1, "{last:?} -> {now:?}");
                assert!(now.0 + now.1 - last.0 - last.1 <= FILES_BATCH);
                last = now;
            }
        }
        assert!(writes > 1, "{writes}");
        output.flush().unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 4000);
        assert!(text.ends_with("\"]\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
