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

/// Where to append a record for `sink`: its queue (true), or `scratch`
/// (false) when there is no file or it failed to make room (counted, as
/// [`Sink::push_line`]'s failures are).
fn queue<'a>(
    sink: &'a mut Option<Sink>,
    room: usize,
    scratch: &'a mut Vec<u8>,
    stats: &mut OutputStats,
    last_error: &mut Option<SinkError>,
) -> (&'a mut Vec<u8>, bool) {
    match sink.as_mut().map(|s| s.line_buffer(room)) {
        Some(Ok(buf)) => (buf, true),
        Some(Err(e)) => {
            stats.write_errors += 1;
            *last_error = Some(e);
            (scratch, false)
        }
        None => (scratch, false),
    }
}

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
    /// The last line's and record's length with the newline: the room
    /// asked of the queues for the next.
    line_room: usize,
    record_room: usize,
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
            line_room: 1024,
            record_room: 2048,
            last_error: None,
            recreated: Arc::default(),
        }
    }

    pub fn log_to(&mut self, path: &Path) -> Result<(), SinkError> {
        self.log = Some(Sink::open(path)?.counting_into(self.recreated.clone()));
        Ok(())
    }

    pub fn json_to(&mut self, path: &Path) -> Result<(), SinkError> {
        self.json = Some(Sink::open(path)?.counting_into(self.recreated.clone()));
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
        // Straight into the files' queues; into scratch space for a
        // file that is absent or failed to take it.
        self.line.clear();
        self.record.clear();
        let room = self.line_room;
        let (line, to_log) = queue(
            &mut self.log,
            room,
            &mut self.line,
            &mut self.stats,
            &mut self.last_error,
        );
        let line_start = line.len();
        let room = self.record_room;
        let record = match &mut self.json {
            Some(_) => {
                let (record, to_json) = queue(
                    &mut self.json,
                    room,
                    &mut self.record,
                    &mut self.stats,
                    &mut self.last_error,
                );
                let record_start = record.len();
                self.writer.write(&ev, id, line, Some(record));
                self.record_room = record.len() - record_start + 1;
                to_json.then_some(record)
            }
            None => {
                self.writer.write(&ev, id, line, None);
                None
            }
        };
        if let Some(record) = record {
            record.push(b'\n');
        }
        self.line_room = line.len() - line_start + 1;
        if to_log {
            line.push(b'\n');
        }
        self.written(ev.kind, Some(ev));
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
        self.written(kind, ev);
    }

    /// Counts a written event and queues it for the bus.
    fn written(&mut self, kind: EventKind, ev: Option<Event>) {
        self.stats.written[kind.index()] += 1;
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
