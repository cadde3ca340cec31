//! Events formatted before they reach the output thread. The shards of a
//! [`crate::runtime::ShardedEngine`] write each event's RFC 5424 line and
//! JSON record, with its dedup key, into a batch; the output thread only
//! dedups and writes the bytes, in the merged order. Formatting then runs
//! on as many threads as there are shards.

use super::dedup::DedupKeyer;
use super::layout::EventWriter;
use crate::event::{Event, EventKind};
use crate::util::time::Timestamp;

/// What the formatting threads need from the output: its dedup keys,
/// whether there is a JSON file to write records for, and whether a bus
/// wants the events themselves.
#[derive(Clone)]
pub struct Formatter {
    writer: EventWriter,
    records: bool,
    keep_bus_events: bool,
    record: Vec<u8>,
}

impl Formatter {
    pub fn new(keyer: DedupKeyer, records: bool, keep_bus_events: bool) -> Self {
        Formatter {
            writer: EventWriter::new(keyer),
            records,
            keep_bus_events,
            record: Vec::with_capacity(2048),
        }
    }

    /// Formats `ev` into `batch` under the merge tag `tag`.
    pub fn format(&mut self, tag: u32, ev: Event, batch: &mut FormattedBatch) {
        // The line goes straight into the batch; the record after it.
        let id = self.writer.prepare(&ev);
        let start = batch.bytes.len();
        self.record.clear();
        let record = self.records.then_some(&mut self.record);
        self.writer.write(&ev, id, &mut batch.bytes, record);
        let mid = batch.bytes.len();
        batch.bytes.extend_from_slice(&self.record);
        batch.items.push(Item {
            tag,
            ts: ev.ts,
            order: ev.order,
            kind: ev.kind,
            dedup_key: self.writer.key(&ev, id),
            start,
            mid,
            end: batch.bytes.len(),
            event: (self.keep_bus_events && ev.kind.on_bus()).then_some(ev),
        });
    }
}

struct Item {
    tag: u32,
    ts: Timestamp,
    order: u64,
    kind: EventKind,
    dedup_key: u64,
    /// `bytes[start..mid]` is the line, `bytes[mid..end]` the record.
    start: usize,
    mid: usize,
    end: usize,
    event: Option<Event>,
}

/// One thread's formatted events for one chunk, in its order.
#[derive(Default)]
pub struct FormattedBatch {
    bytes: Vec<u8>,
    items: Vec<Item>,
}

impl FormattedBatch {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// (tag, time, order) of each event, for merging.
    pub fn keys(&self) -> impl Iterator<Item = (u32, Timestamp, u64)> + '_ {
        self.items.iter().map(|i| (i.tag, i.ts, i.order))
    }
}

/// One event, ready to write.
pub struct FormattedEvent<'a> {
    pub kind: EventKind,
    pub ts: Timestamp,
    pub dedup_key: u64,
    pub line: &'a [u8],
    pub record: &'a [u8],
    /// Kept only for events the bus publishes, when there is a bus.
    pub event: Option<Event>,
}

/// Several batches and the order to write their events in.
pub struct MergedChunk {
    parts: Vec<FormattedBatch>,
    order: Vec<(u16, u32)>,
}

impl MergedChunk {
    /// `order` holds (part, item) pairs, each item once.
    pub fn new(parts: Vec<FormattedBatch>, order: Vec<(u16, u32)>) -> Self {
        MergedChunk { parts, order }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The RFC 5424 lines in order (for tests and tools).
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.order.iter().filter_map(|&(p, i)| {
            let batch = self.parts.get(usize::from(p))?;
            let item = batch.items.get(i as usize)?;
            batch.bytes.get(item.start..item.mid)
        })
    }

    /// Hands every event over in order.
    pub fn drain(mut self, mut f: impl FnMut(FormattedEvent<'_>)) {
        for &(p, i) in &self.order {
            let Some(batch) = self.parts.get_mut(usize::from(p)) else {
                continue;
            };
            let Some(item) = batch.items.get_mut(i as usize) else {
                continue;
            };
            let (Some(line), Some(record)) = (
                batch.bytes.get(item.start..item.mid),
                batch.bytes.get(item.mid..item.end),
            ) else {
                continue;
            };
            f(FormattedEvent {
                kind: item.kind,
                ts: item.ts,
                dedup_key: item.dedup_key,
                line,
                record,
                event: item.event.take(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::dedup::Dedup;
    use crate::output::json::write_record;
    use crate::output::syslog::write_line;

    fn ev(kind: EventKind, src: &str) -> Event {
        let mut e = Event::new(kind, Timestamp::new(1_700_000_000, 5), "web".into());
        e.push("src_ip", src).push("ja4", "t13d_x\"y");
        e
    }

    #[test]
    fn without_a_json_file_only_lines_are_formatted() {
        let dedup = Dedup::new(60, 16);
        let mut f = Formatter::new(dedup.keyer().clone(), false, false);
        let mut a = FormattedBatch::default();
        f.format(0, ev(EventKind::TlsClientHello, "192.0.2.1"), &mut a);
        f.format(1, ev(EventKind::TlsClientHello, "192.0.2.2"), &mut a);
        let mut got = Vec::new();
        MergedChunk::new(vec![a], vec![(0, 1), (0, 0)])
            .drain(|e| got.push((e.line.to_vec(), e.record.is_empty())));
        for ((line, no_record), src) in got.into_iter().zip(["192.0.2.2", "192.0.2.1"]) {
            let mut want = Vec::new();
            write_line(&ev(EventKind::TlsClientHello, src), &mut want);
            assert_eq!(line, want);
            assert!(no_record);
        }
    }

    #[test]
    fn formats_as_the_output_does_in_the_given_order() {
        let dedup = Dedup::new(60, 16);
        let mut f = Formatter::new(dedup.keyer().clone(), true, true);
        let (mut a, mut b) = (FormattedBatch::default(), FormattedBatch::default());
        f.format(0, ev(EventKind::TlsClientHello, "192.0.2.1"), &mut a);
        f.format(7, ev(EventKind::TcpSynFingerprint, "192.0.2.2"), &mut a);
        f.format(3, ev(EventKind::TlsClientHello, "192.0.2.3"), &mut b);
        assert_eq!(a.keys().map(|k| k.0).collect::<Vec<_>>(), vec![0, 7]);
        let chunk = MergedChunk::new(vec![a, b], vec![(0, 0), (1, 0), (0, 1)]);
        let mut got = Vec::new();
        chunk.drain(|e| {
            got.push((
                e.kind,
                e.line.to_vec(),
                e.record.to_vec(),
                e.event.is_some(),
                e.dedup_key,
            ));
        });
        assert_eq!(got.len(), 3);
        for (i, src) in ["192.0.2.1", "192.0.2.3", "192.0.2.2"].iter().enumerate() {
            let kind = got[i].0;
            let want = ev(kind, src);
            let mut line = Vec::new();
            write_line(&want, &mut line);
            let mut record = Vec::new();
            write_record(&want, &line, &mut record);
            assert_eq!(got[i].1, line);
            assert_eq!(got[i].2, record);
            assert_eq!(got[i].4, dedup.keyer().key(&want));
            // Only the bus's kinds are kept.
            assert_eq!(got[i].3, kind.on_bus());
        }
    }
}
