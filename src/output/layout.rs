//! The syslog line, its JSON record and the dedup key of an event, written
//! from text prepared once per layout: events of one kind nearly always
//! carry the same fields in the same order (a scan storm writes half a
//! million `tcp_syn_fingerprint` events alike but for their values), so the
//! ` name="`, ` name=\"` and `"name":"` around each value, the field order
//! of the line and where the dedup key's values lie are worked out on the
//! first event of a layout and reused. Per field what is left is copying
//! the value three times (line, record, and the line inside the record);
//! values that need escaping take the escapers of [`super::syslog`] and
//! [`super::json`]. The bytes are those of
//! [`super::json::write_line_and_record`] (checked in the tests).

use std::ops::Range;

use super::dedup::DedupKeyer;
use super::json::{escape_line_text, write_string};
use super::syslog::{escape_param_value, write_hostname, FACILITY, MAX_HOSTNAME, SD_ID};
use crate::event::{Event, EventKind};
use crate::util::time::DateTimeCache;

/// Layouts kept per event kind: a kind whose events vary (optional free
/// text, a value holding a `]`) has a few.
const LAYOUTS_PER_KIND: usize = 4;

/// The prepared text of one layout.
#[derive(Clone)]
struct Layout {
    /// Per field in push order: name, free text, holds `]` (what decides
    /// the line's order).
    signature: Vec<(&'static str, bool, bool)>,
    /// Per field in line order.
    fields: Vec<Prepared>,
    /// All the prepared text; the ranges below point into it.
    text: Vec<u8>,
    /// `<PRI>1 `.
    line_start: Range<usize>,
    /// ` sniffer - EVENT_TYPE [relay@55555`.
    line_head_end: Range<usize>,
    /// After the last value: `"]`, `\"]` and `"},"msg":"","raw_line":"`.
    line_tail: Range<usize>,
    raw_tail: Range<usize>,
    record_tail: Range<usize>,
    /// `,"service":"sniffer","event_type":"EVENT_TYPE","attacker_ip":`.
    record_kind: Range<usize>,
    /// The first field named `src_ip`, and the first of each of the kind's
    /// dedup fields, as `Event::get` finds them.
    src_ip: Option<usize>,
    dedup: Vec<Option<usize>>,
}

/// One field's text before its value in the line, in the line as a JSON
/// string, and in the record's `fields`.
#[derive(Clone)]
struct Prepared {
    slot: usize,
    line: Range<usize>,
    raw: Range<usize>,
    record: Range<usize>,
}

impl Layout {
    fn new(ev: &Event) -> Self {
        let signature: Vec<_> = ev
            .fields()
            .map(|f| (f.name, f.free_text, f.bracket))
            .collect();
        let mut text = Vec::new();
        let put = |text: &mut Vec<u8>, parts: &[&[u8]]| {
            let start = text.len();
            parts.iter().for_each(|p| text.extend_from_slice(p));
            start..text.len()
        };
        // The line's order: structured, free text, then the values holding
        // a `]` in the same two groups (`syslog::ordered_fields`).
        let mut fields = Vec::with_capacity(signature.len());
        for (free_text, bracket) in [(false, false), (true, false), (false, true), (true, true)] {
            for (slot, &(name, f, b)) in signature.iter().enumerate() {
                if (f, b) != (free_text, bracket) {
                    continue;
                }
                let (lq, rq, cq): (&[u8], &[u8], &[u8]) = if fields.is_empty() {
                    (b"", b"", b"")
                } else {
                    (b"\"", b"\\\"", b"\",")
                };
                let name = name.as_bytes();
                fields.push(Prepared {
                    slot,
                    line: put(&mut text, &[lq, b" ", name, b"=\""]),
                    raw: put(&mut text, &[rq, b" ", name, b"=\\\""]),
                    record: put(&mut text, &[cq, b"\"", name, b"\":\""]),
                });
            }
        }
        let any = !fields.is_empty();
        let pri = FACILITY * 8 + ev.kind.severity() as u8;
        let kind = ev.kind.as_str().as_bytes();
        let find = |name: &str| signature.iter().position(|s| s.0 == name);
        Layout {
            line_start: put(&mut text, &[b"<", pri.to_string().as_bytes(), b">1 "]),
            line_head_end: put(&mut text, &[b" sniffer - ", kind, b" [", SD_ID.as_bytes()]),
            line_tail: put(&mut text, &[if any { b"\"]" } else { b"]" }]),
            raw_tail: put(&mut text, &[if any { b"\\\"]" } else { b"]" }]),
            record_tail: put(
                &mut text,
                &[
                    if any { b"\"" } else { b"" },
                    b"},\"msg\":\"\",\"raw_line\":\"",
                ],
            ),
            record_kind: put(
                &mut text,
                &[
                    b",\"service\":\"sniffer\",\"event_type\":\"",
                    kind,
                    b"\",\"attacker_ip\":",
                ],
            ),
            src_ip: find("src_ip"),
            dedup: ev.kind.dedup_fields().iter().map(|n| find(n)).collect(),
            signature,
            fields,
            text,
        }
    }

    /// Pads the text so that every piece can be read [`SHORT`] bytes at a
    /// time.
    fn padded(mut self) -> Self {
        self.text.resize(self.text.len() + SHORT, 0);
        self
    }

    fn matches(&self, ev: &Event) -> bool {
        self.signature.len() == ev.field_count()
            && self
                .signature
                .iter()
                .zip(ev.fields())
                .all(|(&(name, free_text, bracket), f)| {
                    (std::ptr::eq(name, f.name) || name == f.name)
                        && free_text == f.free_text
                        && bracket == f.bracket
                })
    }
}

/// Writes events through prepared layouts; one per formatting thread.
#[derive(Clone)]
pub struct EventWriter {
    keyer: DedupKeyer,
    layouts: Vec<Vec<Layout>>,
    clock: DateTimeCache,
    /// The line as JSON string text, while the record is built.
    raw: Vec<u8>,
}

/// Which prepared layout an event takes (from [`EventWriter::prepare`]).
#[derive(Clone, Copy, Debug)]
pub struct LayoutId {
    kind: usize,
    at: usize,
}

impl EventWriter {
    pub fn new(keyer: DedupKeyer) -> Self {
        EventWriter {
            keyer,
            layouts: EventKind::ALL.iter().map(|_| Vec::new()).collect(),
            clock: DateTimeCache::default(),
            raw: Vec::with_capacity(1024),
        }
    }

    pub fn keyer(&self) -> &DedupKeyer {
        &self.keyer
    }

    /// The layout of `ev`, prepared now if it is new.
    pub fn prepare(&mut self, ev: &Event) -> LayoutId {
        let kind = ev.kind.index();
        let layouts = &mut self.layouts[kind];
        if let Some(at) = layouts.iter().position(|l| l.matches(ev)) {
            return LayoutId { kind, at };
        }
        if layouts.len() == LAYOUTS_PER_KIND {
            layouts.remove(0);
        }
        layouts.push(Layout::new(ev).padded());
        LayoutId {
            kind,
            at: layouts.len() - 1,
        }
    }

    fn layout(&self, id: LayoutId) -> &Layout {
        &self.layouts[id.kind][id.at]
    }

    /// The dedup key of `ev` ([`DedupKeyer::key`]).
    pub fn key(&self, ev: &Event, id: LayoutId) -> u64 {
        let l = self.layout(id);
        let value = |slot: Option<usize>| {
            slot.and_then(|s| ev.field_at(s))
                .map_or(&b""[..], |f| f.value)
        };
        self.keyer
            .key_of(ev.kind, value(l.src_ip), l.dedup.iter().map(|&s| value(s)))
    }

    /// Appends the line of `ev` to `line` and, when `record` is given, its
    /// JSON record; neither gets a newline.
    pub fn write(
        &mut self,
        ev: &Event,
        id: LayoutId,
        line: &mut Vec<u8>,
        record: Option<&mut Vec<u8>>,
    ) {
        let l = &self.layouts[id.kind][id.at];
        let text = &l.text[..];
        let Some(record) = record else {
            write_head(ev, l, &mut self.clock, line, None);
            for p in &l.fields {
                copy_short(line, text, p.line.clone());
                if let Some(f) = ev.field_at(p.slot) {
                    if f.plain {
                        copy_short(line, ev.values_from(p.slot), 0..f.value.len());
                    } else {
                        escape_param_value(f.value, line);
                    }
                }
            }
            line.extend_from_slice(&text[l.line_tail.clone()]);
            return;
        };
        let raw = &mut self.raw;
        raw.clear();
        record.extend_from_slice(b"{\"timestamp\":\"");
        ev.ts.write_json_time_cached(&mut self.clock, record);
        record.extend_from_slice(b"\",\"decky\":");
        write_string(ev.decky.as_bytes(), record);
        record.extend_from_slice(&text[l.record_kind.clone()]);
        match l.src_ip.and_then(|s| ev.field_at(s)) {
            Some(f) if f.plain => {
                record.push(b'"');
                record.extend_from_slice(f.value);
                record.push(b'"');
            }
            Some(f) => write_string(f.value, record),
            None => record.extend_from_slice(b"\"\""),
        }
        record.extend_from_slice(b",\"fields\":{");
        write_head(ev, l, &mut self.clock, line, Some(raw));
        for p in &l.fields {
            copy_short(line, text, p.line.clone());
            copy_short(raw, text, p.raw.clone());
            copy_short(record, text, p.record.clone());
            let Some(f) = ev.field_at(p.slot) else {
                continue;
            };
            if f.plain {
                let value = ev.values_from(p.slot);
                let len = 0..f.value.len();
                copy_short(line, value, len.clone());
                copy_short(raw, value, len.clone());
                copy_short(record, value, len);
            } else {
                let start = line.len();
                escape_param_value(f.value, line);
                escape_line_text(&line[start..], raw);
                // `write_string` brings its own quotes: the prepared
                // text's opening one goes, and the closing one comes with
                // the next field's text.
                record.pop();
                write_string(f.value, record);
                record.pop();
            }
        }
        line.extend_from_slice(&text[l.line_tail.clone()]);
        raw.extend_from_slice(&text[l.raw_tail.clone()]);
        record.extend_from_slice(&text[l.record_tail.clone()]);
        record.extend_from_slice(raw);
        record.extend_from_slice(b"\"}");
    }
}

/// Copies of at most this many bytes are made with one copy of exactly
/// this many (no call into `memcpy` for the few bytes of a name or a
/// value: a SYN event makes about 200 such copies).
const SHORT: usize = 32;

/// Appends `src[range]`; when it is short and `src` has [`SHORT`] bytes
/// from its start, as one fixed-size copy cut back to length.
#[inline]
fn copy_short(out: &mut Vec<u8>, src: &[u8], range: Range<usize>) {
    let len = range.len();
    if len <= SHORT {
        let chunk = src.get(range.start..range.start + SHORT);
        if let Some(chunk) = chunk.and_then(|c| <&[u8; SHORT]>::try_from(c).ok()) {
            let at = out.len();
            out.extend_from_slice(chunk);
            out.truncate(at + len);
            return;
        }
    }
    out.extend_from_slice(src.get(range).unwrap_or_default());
}

/// The line up to its parameters, and (when `raw` is given) the same as
/// JSON string text.
fn write_head(
    ev: &Event,
    l: &Layout,
    clock: &mut DateTimeCache,
    line: &mut Vec<u8>,
    raw: Option<&mut Vec<u8>>,
) {
    let start = line.len();
    line.extend_from_slice(&l.text[l.line_start.clone()]);
    ev.ts.write_rfc5424_cached(clock, line);
    line.push(b' ');
    let host = line.len();
    let name = ev.decky.as_bytes();
    // A decky name as validated at load goes in as it is.
    let plain_host = !name.is_empty()
        && name.len() <= MAX_HOSTNAME
        && name
            .iter()
            .all(|&b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain_host {
        line.extend_from_slice(name);
    } else {
        write_hostname(name, line);
    }
    let host_end = line.len();
    line.extend_from_slice(&l.text[l.line_head_end.clone()]);
    if let Some(raw) = raw {
        // Only the hostname can hold a `"` or `\`.
        if plain_host {
            raw.extend_from_slice(&line[start..]);
        } else {
            raw.extend_from_slice(&line[start..host]);
            escape_line_text(&line[host..host_end], raw);
            raw.extend_from_slice(&line[host_end..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::dedup::Dedup;
    use crate::output::json::write_line_and_record;
    use crate::output::syslog::write_line;
    use crate::util::time::Timestamp;

    /// Writes `ev` both ways and compares every byte and the key.
    fn check(w: &mut EventWriter, ev: &Event) {
        let (mut line, mut record, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        write_line_and_record(ev, &mut line, &mut record, &mut raw);
        let id = w.prepare(ev);
        let (mut ours_line, mut ours_record) = (b"x".to_vec(), b"y".to_vec());
        w.write(ev, id, &mut ours_line, Some(&mut ours_record));
        assert_eq!(
            String::from_utf8_lossy(&ours_line[1..]),
            String::from_utf8_lossy(&line)
        );
        assert_eq!(
            String::from_utf8_lossy(&ours_record[1..]),
            String::from_utf8_lossy(&record)
        );
        let mut only_line = Vec::new();
        w.write(ev, id, &mut only_line, None);
        let mut want = Vec::new();
        write_line(ev, &mut want);
        assert_eq!(only_line, want);
        assert_eq!(w.key(ev, id), w.keyer().key(ev));
    }

    #[test]
    fn writes_what_the_escapers_write() {
        let dedup = Dedup::new(60, 16);
        let mut w = EventWriter::new(dedup.keyer().clone());
        // Values needing every kind of escape, valid and invalid UTF-8, in
        // structured and free-text fields, with and without `]`; deckies
        // with quotes, spaces, non-ASCII, empty.
        let mut values: Vec<Vec<u8>> = (0u8..=255).map(|b| vec![b'v', b, b'w']).collect();
        values.push(b"plain".to_vec());
        values.push("caf\u{e9} \u{2028}]".as_bytes().to_vec());
        values.push(b"\xc3".to_vec());
        values.push(Vec::new());
        values.push(b"[::1]:80".to_vec());
        let names = ["sni", "ja3", "alpn", "ja4", "path", "ja4_r", "cookie"];
        for decky in ["decky-01", "d\"q\\x", "d\u{e9} y", ""] {
            for (n, chunk) in values.chunks(5).enumerate() {
                for kind in [EventKind::TlsClientHello, EventKind::TlsSession] {
                    let mut ev = Event::new(
                        kind,
                        Timestamp::new(1_776_789_350 + n as i64 / 7, 5_000 * n as u32),
                        decky.into(),
                    );
                    if n % 3 != 1 {
                        ev.push("src_ip", if n % 2 == 0 { "203.0.113.7" } else { "a\"b" });
                    }
                    for (i, (v, name)) in chunk.iter().zip(names).enumerate() {
                        if (i + n) % 2 == 0 {
                            ev.push_text(name, v);
                        } else {
                            ev.push(name, &v[..]);
                        }
                    }
                    if n % 4 == 0 {
                        ev.push("ja4", "second").push("port", 443u16);
                    }
                    check(&mut w, &ev);
                    // And again, from the prepared layout.
                    check(&mut w, &ev);
                }
            }
        }
        // No fields at all.
        let ev = Event::new(EventKind::HostChange, Timestamp::new(0, 0), "d".into());
        check(&mut w, &ev);
    }

    #[test]
    fn layouts_are_told_apart_and_bounded() {
        let dedup = Dedup::new(60, 16);
        let mut w = EventWriter::new(dedup.keyer().clone());
        for round in 0..3 {
            for extra in 0..2 * LAYOUTS_PER_KIND {
                let mut ev = Event::new(
                    EventKind::TcpSynFingerprint,
                    Timestamp::new(round, 0),
                    "d".into(),
                );
                ev.push("src_ip", "192.0.2.1").push("os_guess", "linux");
                for i in 0..extra {
                    ev.push("n", i);
                }
                if extra % 2 == 1 {
                    ev.push("v", "a]b");
                }
                check(&mut w, &ev);
            }
        }
        assert!(w.layouts.iter().all(|l| l.len() <= LAYOUTS_PER_KIND));
    }
}
