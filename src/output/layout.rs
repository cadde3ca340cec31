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
use super::json::{escape_line_text, write_line_and_record, write_string};
use super::syslog::{
    escape_param_value, write_hostname, write_line, FACILITY, MAX_HOSTNAME, SD_ID,
};
use crate::event::{Event, EventKind};
use crate::util::time::DateTimeCache;

/// Layouts kept per event kind: a kind whose events vary (optional free
/// text, a value holding a `]`) has a few.
const LAYOUTS_PER_KIND: usize = 4;
/// Misses of a kind whose layouts are all taken before one is replaced.
const REPLACE_EVERY: u32 = 64;
/// The [`LayoutId`] of an event written without a prepared layout.
const GENERIC: usize = usize::MAX;

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
    /// The bytes of the line, of the line as JSON string text and of the
    /// record that do not depend on the event (see [`Room`]).
    line_fixed: usize,
    raw_fixed: usize,
    record_fixed: usize,
    /// The record's prepared text between `"fields":{` and its tail.
    record_fields: usize,
    /// Every field's texts fit their [`Prepared::blocks`].
    short: bool,
}

/// One field's text before its value in the line, in the line as a JSON
/// string, and in the record's `fields`.
#[derive(Clone)]
struct Prepared {
    slot: usize,
    line: Range<usize>,
    raw: Range<usize>,
    record: Range<usize>,
    /// The same three texts, each in a block of its own (for
    /// [`EventWriter::write_into`]; when all fit, [`Layout::short`]).
    blocks: [[u8; SHORT]; 3],
}

/// `text` in a block of [`SHORT`] bytes, cut if longer.
fn block(text: &[u8]) -> [u8; SHORT] {
    let mut b = [0; SHORT];
    let n = text.len().min(SHORT);
    b[..n].copy_from_slice(&text[..n]);
    b
}

impl Layout {
    fn new(ev: &Event) -> Self {
        let signature: Vec<_> = ev.layout().collect();
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
                let line = put(&mut text, &[lq, b" ", name, b"=\""]);
                let raw = put(&mut text, &[rq, b" ", name, b"=\\\""]);
                let record = put(&mut text, &[cq, b"\"", name, b"\":\""]);
                let blocks = [&line, &raw, &record].map(|r| block(&text[r.clone()]));
                fields.push(Prepared {
                    slot,
                    line,
                    raw,
                    record,
                    blocks,
                });
            }
        }
        let any = !fields.is_empty();
        let pri = FACILITY * 8 + ev.kind.severity() as u8;
        let kind = ev.kind.as_str().as_bytes();
        let find = |name: &str| signature.iter().position(|s| s.0 == name);
        let mut l = Layout {
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
            line_fixed: 0,
            raw_fixed: 0,
            record_fixed: 0,
            record_fields: 0,
            short: false,
        };
        l.short = l.fields.iter().all(|p| {
            [&p.line, &p.raw, &p.record]
                .iter()
                .all(|r| r.len() <= SHORT)
        });
        let sum = |part: fn(&Prepared) -> &Range<usize>| -> usize {
            l.fields.iter().map(|p| part(p).len()).sum()
        };
        let (line_fields, raw_fields, record_fields) =
            (sum(|p| &p.line), sum(|p| &p.raw), sum(|p| &p.record));
        let head = l.line_start.len() + DATE_TIME + FRACTION + 1 + l.line_head_end.len();
        l.record_fields = record_fields;
        l.line_fixed = head + line_fields + l.line_tail.len();
        l.raw_fixed = head + raw_fields + l.raw_tail.len();
        l.record_fixed = RECORD_OPEN.len()
            + DATE_TIME
            + RECORD_DECKY.len()
            + 1
            + l.record_kind.len()
            + 2
            + RECORD_FIELDS.len()
            + record_fields
            + l.record_tail.len()
            + 2;
        l
    }

    /// Pads the text so that every piece can be read [`SHORT`] bytes at a
    /// time.
    fn padded(mut self) -> Self {
        self.text.resize(self.text.len() + SHORT, 0);
        self
    }

    /// Whether `ev` has this layout; if so, the bytes of all its values
    /// when every one is plain (what [`EventWriter::room`] needs), in the
    /// same pass.
    fn matches(&self, ev: &Event) -> Option<Option<usize>> {
        if self.signature.len() != ev.field_count() {
            return None;
        }
        let (mut plain, mut values) = (true, 0);
        for (&(name, free_text, bracket), f) in self.signature.iter().zip(ev.fields()) {
            if !((std::ptr::eq(name, f.name) || name == f.name)
                && free_text == f.free_text
                && bracket == f.bracket)
            {
                return None;
            }
            plain &= f.plain;
            values += f.value.len();
        }
        Some(plain.then_some(values))
    }
}

/// Record text before the event's date, and between it and the decky.
const RECORD_OPEN: &[u8] = b"{\"timestamp\":\"";
const RECORD_DECKY: &[u8] = b"\",\"decky\":\"";
const RECORD_FIELDS: &[u8] = b",\"fields\":{";
/// `YYYY-MM-DDThh:mm:ss` and `.uuuuuu+00:00`.
const DATE_TIME: usize = 19;
const FRACTION: usize = 13;

/// What an event whose values and decky name are all plain (nothing to
/// escape in either format: nearly every event) takes to be written in
/// place by [`EventWriter::write_into`]: the line, its record and the
/// line inside the record are then sums of prepared lengths and the
/// values' bytes, known before a byte is written.
#[derive(Clone, Copy, Debug)]
pub struct Room {
    id: LayoutId,
    date: [u8; DATE_TIME],
    /// Upper bounds, with [`SHORT`] bytes to spare for fixed-size copies
    /// (and the newline after the line or record).
    line: usize,
    record: usize,
    /// The bytes of the event's values.
    values: usize,
}

impl Room {
    /// Bytes the line may take, newline and spare bytes included.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Bytes the record may take, newline and spare bytes included.
    pub fn record(&self) -> usize {
        self.record
    }
}

/// Writes events through prepared layouts; one per formatting thread.
#[derive(Clone)]
pub struct EventWriter {
    keyer: DedupKeyer,
    layouts: Vec<Vec<Layout>>,
    /// Per kind, events that matched none of its layouts while all were taken.
    misses: Vec<u32>,
    /// Per kind, the layout its last event took.
    last: Vec<usize>,
    clock: DateTimeCache,
    /// The line as JSON string text, while the record is built.
    raw: Vec<u8>,
}

/// Which prepared layout an event takes (from [`EventWriter::prepare`]).
#[derive(Clone, Copy, Debug)]
pub struct LayoutId {
    kind: usize,
    at: usize,
    /// The bytes of the event's values when all are plain.
    plain_values: Option<usize>,
}

impl EventWriter {
    pub fn new(keyer: DedupKeyer) -> Self {
        EventWriter {
            keyer,
            layouts: EventKind::ALL.iter().map(|_| Vec::new()).collect(),
            misses: vec![0; EventKind::ALL.len()],
            last: vec![0; EventKind::ALL.len()],
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
        // The layout the kind's last event took first: a kind's events
        // nearly all take one, which need not be the first prepared.
        let last = self.last[kind];
        let tried = layouts.get(last).and_then(|l| l.matches(ev));
        let found = tried.map(|plain| (last, plain)).or_else(|| {
            layouts
                .iter()
                .enumerate()
                .filter(|&(at, _)| at != last)
                .find_map(|(at, l)| l.matches(ev).map(|plain| (at, plain)))
        });
        if let Some((at, plain_values)) = found {
            self.last[kind] = at;
            return LayoutId {
                kind,
                at,
                plain_values,
            };
        }
        if layouts.len() == LAYOUTS_PER_KIND {
            // A kind whose layouts keep changing (values with and without
            // a `]`, chosen by whoever sends them) would prepare one per
            // event: write those the one-pass way, and take a new layout
            // in only at every REPLACE_EVERY-th miss.
            let misses = &mut self.misses[kind];
            *misses = misses.wrapping_add(1);
            if *misses % REPLACE_EVERY != 0 {
                return LayoutId {
                    kind,
                    at: GENERIC,
                    plain_values: None,
                };
            }
            layouts.remove(0);
        }
        let layout = Layout::new(ev).padded();
        let plain_values = layout.matches(ev).flatten();
        layouts.push(layout);
        self.last[kind] = layouts.len() - 1;
        LayoutId {
            kind,
            at: layouts.len() - 1,
            plain_values,
        }
    }

    /// The room `ev` takes written in place, when its values and decky
    /// name are plain and its year has four digits; `None` for the others
    /// (written by [`Self::write`]).
    pub fn room(&mut self, ev: &Event, id: LayoutId) -> Option<Room> {
        let values = id.plain_values?;
        if !self.layout(id).short {
            return None;
        }
        let host = ev.decky.len();
        if !plain_host(ev.decky.as_bytes()) {
            return None;
        }
        let date = *self.clock.get(ev.ts.secs)?;
        let l = self.layout(id);
        let src_ip = l
            .src_ip
            .and_then(|s| ev.field_at(s))
            .map_or(0, |f| f.value.len());
        let raw = l.raw_fixed + host + values;
        Some(Room {
            id,
            date,
            line: l.line_fixed + host + values + SHORT,
            record: l.record_fixed + host + src_ip + values + raw + SHORT,
            values,
        })
    }

    /// Writes the line of the event `room` was made for into `line` and,
    /// when given, its record into `record` (slices of at least
    /// [`Room::line`] and [`Room::record`] bytes); returns their lengths
    /// (no newline written). The bytes are those of [`Self::write`].
    pub fn write_into(
        &mut self,
        ev: &Event,
        room: &Room,
        line: &mut [u8],
        record: Option<&mut [u8]>,
    ) -> (usize, usize) {
        let l = &self.layouts[room.id.kind][room.id.at];
        let text = &l.text[..];
        let host = ev.decky.as_bytes();
        let mut at = 0;
        put(line, &mut at, &text[l.line_start.clone()]);
        put(line, &mut at, &room.date);
        put(line, &mut at, &ev.ts.rfc5424_fraction());
        put(line, &mut at, b" ");
        put(line, &mut at, host);
        put(line, &mut at, &text[l.line_head_end.clone()]);
        let head = at;
        let Some(rec) = record else {
            for p in &l.fields {
                let (value, len) = value_block(ev, p.slot);
                put_block(line, &mut at, &p.blocks[0], p.line.len());
                put_value(line, &mut at, value, ev, p.slot, len);
            }
            put(line, &mut at, &text[l.line_tail.clone()]);
            return (at, 0);
        };
        let mut r = 0;
        put(rec, &mut r, RECORD_OPEN);
        put(rec, &mut r, &room.date[..10]);
        put(rec, &mut r, b" ");
        put(rec, &mut r, &room.date[11..]);
        put(rec, &mut r, RECORD_DECKY);
        put(rec, &mut r, host);
        put(rec, &mut r, b"\"");
        put(rec, &mut r, &text[l.record_kind.clone()]);
        match l.src_ip.and_then(|s| ev.field_at(s)) {
            Some(f) => {
                put(rec, &mut r, b"\"");
                put(rec, &mut r, f.value);
                put(rec, &mut r, b"\"");
            }
            None => put(rec, &mut r, b"\"\""),
        }
        put(rec, &mut r, RECORD_FIELDS);
        // The line as JSON string text ends the record, after the fields
        // and the record's tail, whose lengths are known: its fields are
        // written beside the record's. Its head (no `"` or `\\`: the
        // decky name is plain) and the tail go in last, over what the
        // fixed-size copies of the last fields ran into.
        let tail = r + l.record_fields + room.values;
        let raw_start = tail + l.record_tail.len();
        let mut q = raw_start + head;
        for p in &l.fields {
            let (value, len) = value_block(ev, p.slot);
            put_block(line, &mut at, &p.blocks[0], p.line.len());
            put_block(rec, &mut q, &p.blocks[1], p.raw.len());
            put_block(rec, &mut r, &p.blocks[2], p.record.len());
            put_value(line, &mut at, value, ev, p.slot, len);
            put_value(rec, &mut q, value, ev, p.slot, len);
            put_value(rec, &mut r, value, ev, p.slot, len);
        }
        put(line, &mut at, &text[l.line_tail.clone()]);
        debug_assert_eq!(r, tail);
        put(rec, &mut r, &text[l.record_tail.clone()]);
        put(rec, &mut r, &line[..head]);
        put(rec, &mut q, &text[l.raw_tail.clone()]);
        put(rec, &mut q, b"\"}");
        (at, q)
    }

    fn layout(&self, id: LayoutId) -> &Layout {
        &self.layouts[id.kind][id.at]
    }

    /// The dedup key of `ev` ([`DedupKeyer::key`]).
    pub fn key(&self, ev: &Event, id: LayoutId) -> u64 {
        if id.at == GENERIC {
            return self.keyer.key(ev);
        }
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
        if id.at == GENERIC {
            match record {
                Some(record) => write_line_and_record(ev, line, record, &mut self.raw),
                None => write_line(ev, line),
            }
            return;
        }
        if let Some(room) = self.room(ev, id) {
            let line_start = line.len();
            line.resize(line_start + room.line, 0);
            let n = match record {
                Some(record) => {
                    let record_start = record.len();
                    record.resize(record_start + room.record, 0);
                    let to = Some(&mut record[record_start..]);
                    let (n, m) = self.write_into(ev, &room, &mut line[line_start..], to);
                    record.truncate(record_start + m);
                    n
                }
                None => self.write_into(ev, &room, &mut line[line_start..], None).0,
            };
            line.truncate(line_start + n);
            return;
        }
        let raw = &mut self.raw;
        raw.clear();
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

/// Copies `src` into `dst` at `at` and moves `at` past it. The room was
/// worked out before ([`Room`]): a copy that would not fit is a bug, and
/// leaves `dst` as it was rather than panic.
#[inline]
fn put(dst: &mut [u8], at: &mut usize, src: &[u8]) {
    let end = *at + src.len();
    if let Some(d) = dst.get_mut(*at..end) {
        d.copy_from_slice(src);
    }
    debug_assert!(end <= dst.len(), "room for {end} of {}", dst.len());
    *at = end;
}

/// Copies `len` bytes (at most [`SHORT`]) from the start of `block` to
/// `dst` at `at`, as one fixed-size copy.
#[inline]
fn put_block(dst: &mut [u8], at: &mut usize, block: &[u8; SHORT], len: usize) {
    if let Some(to) = dst
        .get_mut(*at..)
        .and_then(|d| d.first_chunk_mut::<SHORT>())
    {
        *to = *block;
    }
    debug_assert!(*at + SHORT <= dst.len());
    *at += len;
}

/// The first [`SHORT`] bytes from the value of the field pushed
/// `slot`-th (when there are that many left in the event's values), and
/// the value's length: looked up once, written three times.
#[inline]
fn value_block(ev: &Event, slot: usize) -> (Option<&[u8; SHORT]>, usize) {
    let len = ev.field_at(slot).map_or(0, |f| f.value.len());
    (ev.values_from(slot).first_chunk::<SHORT>(), len)
}

/// Writes a value read by [`value_block`]; a long one, or one too near
/// the end of the event's values for a block, is copied as it is.
#[inline]
fn put_value(
    dst: &mut [u8],
    at: &mut usize,
    block: Option<&[u8; SHORT]>,
    ev: &Event,
    slot: usize,
    len: usize,
) {
    match block {
        Some(block) if len <= SHORT => put_block(dst, at, block, len),
        _ => put(dst, at, ev.field_at(slot).map_or(&b""[..], |f| f.value)),
    }
}

/// Whether a decky name goes into the line as it is: as validated at
/// load, nothing for the line or JSON to escape.
fn plain_host(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HOSTNAME
        && name
            .iter()
            .all(|&b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\')
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
    let plain_host = plain_host(name);
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

    /// Plain events are written in place into exactly the room asked
    /// for, and take the layout their kind's last event took first.
    #[test]
    fn plain_events_fit_their_room() {
        let dedup = Dedup::new(60, 16);
        let mut w = EventWriter::new(dedup.keyer().clone());
        let long = "x".repeat(3 * SHORT);
        for (n, decky) in ["d", "decky-01", &"h".repeat(MAX_HOSTNAME)]
            .iter()
            .enumerate()
        {
            for with_record in [true, false] {
                let mut ev = Event::new(
                    EventKind::TcpSynFingerprint,
                    Timestamp::new(1_776_789_350, 7_000 * n as u32),
                    (*decky).into(),
                );
                // Short and long values, the longest last (too near the
                // end of the values for a fixed-size read).
                ev.push("src_ip", "192.0.2.1")
                    .push("os_guess", "")
                    .push_text("sni", "a.example")
                    .push("p0f_sig", long.as_str())
                    .push("ttl", 64u8)
                    .push("link", long.as_str());
                let id = w.prepare(&ev);
                let room = w.room(&ev, id).expect("plain");
                let mut line = vec![0xaa; room.line()];
                let mut record = vec![0xaa; room.record()];
                let to = with_record.then_some(&mut record[..]);
                let (n, m) = w.write_into(&ev, &room, &mut line, to);
                let (mut want_line, mut want_record, mut raw) =
                    (Vec::new(), Vec::new(), Vec::new());
                write_line_and_record(&ev, &mut want_line, &mut want_record, &mut raw);
                assert_eq!(line[..n], want_line[..]);
                if with_record {
                    assert_eq!(
                        String::from_utf8_lossy(&record[..m]),
                        String::from_utf8_lossy(&want_record)
                    );
                }
                check(&mut w, &ev);
            }
        }
        // Not plain: no room, written the escaping way (checked above).
        let mut ev = Event::new(
            EventKind::TcpSynFingerprint,
            Timestamp::new(1, 0),
            "d".into(),
        );
        ev.push("src_ip", "192.0.2.1").push_text("sni", "a\"b");
        let id = w.prepare(&ev);
        assert!(w.room(&ev, id).is_none());
        check(&mut w, &ev);
        // A decky name with a quote: no room either.
        let mut ev = Event::new(
            EventKind::TcpSynFingerprint,
            Timestamp::new(1, 0),
            "d\"".into(),
        );
        ev.push("src_ip", "192.0.2.1");
        let id = w.prepare(&ev);
        assert!(w.room(&ev, id).is_none());
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
        // Past the fourth layout the others went the one-pass way (and
        // wrote the same bytes, checked above).
        assert!(w.misses[EventKind::TcpSynFingerprint.index()] > 0);
        // A steady new layout is taken in after REPLACE_EVERY misses.
        let mut ev = Event::new(
            EventKind::TcpSynFingerprint,
            Timestamp::new(9, 0),
            "d".into(),
        );
        ev.push("src_ip", "192.0.2.9").push("new_field", 1u8);
        let ids: Vec<usize> = (0..2 * REPLACE_EVERY).map(|_| w.prepare(&ev).at).collect();
        assert!(ids.contains(&GENERIC));
        assert_ne!(*ids.last().unwrap(), GENERIC);
        check(&mut w, &ev);
    }
}
