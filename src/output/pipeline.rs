//! The output pipeline: dedup, then the RFC 5424 line, then the JSON record,
//! then the bus (only after the files have the event).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::dedup::Dedup;
use super::formatted::{FormattedEvent, Formatter};
use super::json::write_line_and_record;
use super::sink::{Sink, SinkError};
use super::syslog::write_line;
use crate::event::{Event, EventKind};

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

/// Bus events held back before a flush is forced.
const PENDING_BUS_MAX: usize = 1024;

pub struct Output {
    dedup: Dedup,
    log: Option<Sink>,
    json: Option<Sink>,
    publisher: Option<Box<dyn Publish>>,
    /// Bus events waiting for their lines to reach the files.
    pending_bus: Vec<Event>,
    stats: OutputStats,
    line: Vec<u8>,
    record: Vec<u8>,
    /// The line as JSON string text, while the record is built.
    raw: Vec<u8>,
    /// The last write error, for the caller to report once.
    pub last_error: Option<SinkError>,
    /// Files the sinks recreated, all together.
    recreated: Arc<AtomicU64>,
}

impl Output {
    pub fn new(dedup_ttl_secs: u64, dedup_cap: usize) -> Self {
        Output {
            dedup: Dedup::new(dedup_ttl_secs, dedup_cap),
            log: None,
            json: None,
            publisher: None,
            pending_bus: Vec::new(),
            stats: OutputStats::default(),
            line: Vec::with_capacity(1024),
            record: Vec::with_capacity(2048),
            raw: Vec::with_capacity(1024),
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
        if !self.dedup.admit(&ev) {
            self.stats.deduplicated[ev.kind.index()] += 1;
            return;
        }
        let (mut line, mut record) = (
            std::mem::take(&mut self.line),
            std::mem::take(&mut self.record),
        );
        line.clear();
        record.clear();
        if self.json.is_some() {
            write_line_and_record(&ev, &mut line, &mut record, &mut self.raw);
        } else {
            write_line(&ev, &mut line);
        }
        self.write(ev.kind, &line, &record, Some(ev));
        (self.line, self.record) = (line, record);
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
        self.stats.written[kind.index()] += 1;
        match ev {
            Some(ev) if kind.on_bus() && self.publisher.is_some() => {
                self.pending_bus.push(ev);
                if self.pending_bus.len() >= PENDING_BUS_MAX {
                    let _ = self.flush();
                }
            }
            _ => {}
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
