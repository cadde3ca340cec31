//! The event model: one fingerprint observation, in catalogue field order.
//!
//! Events are built by the engine from fingerprint results and rendered by
//! [`crate::output`] into DECNET's RFC 5424 line and JSON record. Field values
//! are raw bytes because attacker-controlled text (SNI, banners, headers) may
//! be any byte sequence; escaping is the output layer's job, never the
//! producer's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use crate::util::time::Timestamp;

/// Every event type of docs/spec.md section 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    TcpSynFingerprint,
    TcpSynackFingerprint,
    TcpFlowTiming,
    TlsClientHello,
    TlsSession,
    TlsCertificate,
    QuicClientHello,
    DtlsClientHello,
    SshClientBanner,
    SshKexFingerprint,
    SshSessionFingerprint,
    HttpRequestFingerprint,
    Ipv6LinkLocalLeak,
    DhcpClientFingerprint,
    HttpResponseFingerprint,
    HostUptime,
    HostChange,
    IpSharing,
    ClientMismatch,
}

/// Syslog severity (RFC 5424 section 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning = 4,
    Info = 6,
}

impl EventKind {
    pub const ALL: [EventKind; 19] = [
        EventKind::TcpSynFingerprint,
        EventKind::TcpSynackFingerprint,
        EventKind::TcpFlowTiming,
        EventKind::TlsClientHello,
        EventKind::TlsSession,
        EventKind::TlsCertificate,
        EventKind::QuicClientHello,
        EventKind::DtlsClientHello,
        EventKind::SshClientBanner,
        EventKind::SshKexFingerprint,
        EventKind::SshSessionFingerprint,
        EventKind::HttpRequestFingerprint,
        EventKind::Ipv6LinkLocalLeak,
        EventKind::DhcpClientFingerprint,
        EventKind::HttpResponseFingerprint,
        EventKind::HostUptime,
        EventKind::HostChange,
        EventKind::IpSharing,
        EventKind::ClientMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TcpSynFingerprint => "tcp_syn_fingerprint",
            EventKind::TcpSynackFingerprint => "tcp_synack_fingerprint",
            EventKind::TcpFlowTiming => "tcp_flow_timing",
            EventKind::TlsClientHello => "tls_client_hello",
            EventKind::TlsSession => "tls_session",
            EventKind::TlsCertificate => "tls_certificate",
            EventKind::QuicClientHello => "quic_client_hello",
            EventKind::DtlsClientHello => "dtls_client_hello",
            EventKind::SshClientBanner => "ssh_client_banner",
            EventKind::SshKexFingerprint => "ssh_kex_fingerprint",
            EventKind::SshSessionFingerprint => "ssh_session_fingerprint",
            EventKind::HttpRequestFingerprint => "http_request_fingerprint",
            EventKind::Ipv6LinkLocalLeak => "ipv6_link_local_leak",
            EventKind::DhcpClientFingerprint => "dhcp_client_fingerprint",
            EventKind::HttpResponseFingerprint => "http_response_fingerprint",
            EventKind::HostUptime => "host_uptime",
            EventKind::HostChange => "host_change",
            EventKind::IpSharing => "ip_sharing",
            EventKind::ClientMismatch => "client_mismatch",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn severity(self) -> Severity {
        match self {
            EventKind::TlsSession | EventKind::QuicClientHello | EventKind::ClientMismatch => {
                Severity::Warning
            }
            _ => Severity::Info,
        }
    }

    /// Whether docs/spec.md section 7 publishes this event on `decky.<name>.traffic`.
    pub fn on_bus(self) -> bool {
        matches!(
            self,
            EventKind::TlsSession
                | EventKind::TcpFlowTiming
                | EventKind::TcpSynFingerprint
                | EventKind::SshClientBanner
                | EventKind::SshKexFingerprint
                | EventKind::QuicClientHello
                | EventKind::HttpRequestFingerprint
                | EventKind::Ipv6LinkLocalLeak
                | EventKind::ClientMismatch
        )
    }

    /// The fields whose values, with `src_ip`, form the dedup key (docs/spec.md section 4.3).
    pub fn dedup_fields(self) -> &'static [&'static str] {
        match self {
            EventKind::TlsClientHello => &["ja3", "ja4"],
            EventKind::TlsSession => &["ja3", "ja3s", "ja4", "ja4s"],
            EventKind::TlsCertificate => &["subject_cn", "issuer"],
            EventKind::TcpSynFingerprint => &["os_guess", "options_sig", "ipid_class", "isn_class"],
            EventKind::TcpSynackFingerprint => &["os_guess", "options_sig", "ja4ts", "p0f_sig"],
            EventKind::TcpFlowTiming => &["dst_ip", "dst_port"],
            EventKind::QuicClientHello => &["ja4_quic"],
            EventKind::DtlsClientHello => &["ja3", "ja4"],
            EventKind::SshClientBanner => &["ssh_version"],
            EventKind::SshKexFingerprint => &["hassh", "hassh_server"],
            EventKind::SshSessionFingerprint => &["ja4ssh"],
            EventKind::HttpRequestFingerprint => &[
                "ja4h",
                "p0f_http_app",
                "dishonest",
                "ua_mismatch",
                "http2_fingerprint",
            ],
            EventKind::Ipv6LinkLocalLeak => &["src_ip"],
            EventKind::DhcpClientFingerprint => &["client_mac", "message_type", "ja4d"],
            EventKind::HttpResponseFingerprint => &["p0f_http_sig"],
            EventKind::HostUptime => &["subj", "dst_ip", "uptime_text"],
            EventKind::HostChange | EventKind::IpSharing => &["subj", "dst_ip", "reason"],
            EventKind::ClientMismatch => &["layers", "claims"],
        }
    }
}

/// One `name="value"` parameter of the event, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'static str,
    pub value: &'a [u8],
    /// Attacker-chosen free text (SNI, ALPN, banners, names, HTTP text):
    /// written after every other parameter in the syslog line (docs/spec.md section 4.1).
    pub free_text: bool,
    /// The value holds a `]`: written after every value that does not
    /// (SPEC 4.1), where DECNET's parsers, which stop at the first `]`,
    /// lose only it.
    pub bracket: bool,
    /// The value is printable ASCII without `"`, `\` or `]`: both outputs
    /// write it as it is (see [`is_plain`]).
    pub plain: bool,
}

/// Where one field's value lies in [`Event::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    name: &'static str,
    /// u32: 32 bytes a slot (a SYN event reads 36 of them on the other
    /// thread); an event's values never come near 4 GiB.
    start: u32,
    end: u32,
    free_text: bool,
    bracket: bool,
    plain: bool,
}

/// A complete event, ready for dedup and output.
///
/// Every value lives in one byte buffer: an event costs two allocations
/// however many fields it has (a SYN event has over thirty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The packet time that completed the event.
    pub ts: Timestamp,
    /// Syslog HOSTNAME and bus subject token.
    pub decky: Arc<str>,
    slots: Vec<Slot>,
    values: Vec<u8>,
    /// Whether any field is free text (most events have none).
    has_free_text: bool,
    /// Whether any value holds a `]` (nearly none do).
    has_bracket: bool,
    /// Place among the events of the same packet and time when they come
    /// from several engines (flows gone idle together); not written.
    pub order: u64,
    /// Where the buffers go when the event is dropped.
    pool: Option<EventPool>,
}

/// Buffers of dropped events, handed to new ones: a handle the engine
/// holds and every event built from it carries back. Events are built on
/// the capture thread and dropped on the output thread: with the system
/// allocator the capture thread then never gets its own freed memory back
/// from a thread cache, and the slot buffer (over 1 KiB) is a large request
/// that first consolidates the allocator's free lists. Reusing the buffers
/// removes both allocations from nearly every event. Each engine (each
/// shard) has its own pool, so they never contend for it.
#[derive(Clone, Default)]
pub struct EventPool(Arc<Mutex<Vec<Buffers>>>);

/// The two buffers of an event: slots, values.
type Buffers = (Vec<Slot>, Vec<u8>);

/// Buffers kept at most: one output batch (`output::thread`), so a whole
/// batch of dropped events can be rebuilt without the allocator (about
/// 2 MiB typical, 6 MiB with the largest kept values; the same events are
/// in flight in the output queue anyway).
const RECYCLED_MAX: usize = 1024;
/// Larger buffers (a rare huge event) go back to the allocator.
const RECYCLED_VALUES_MAX: usize = 4096;
const SLOTS_INITIAL: usize = 36;
const VALUES_INITIAL: usize = 384;

impl EventPool {
    pub fn new() -> Self {
        EventPool::default()
    }

    /// A new event whose buffers come from this pool, and go back to it
    /// when it is dropped.
    pub fn event(&self, kind: EventKind, ts: Timestamp, decky: Arc<str>) -> Event {
        // Never wait for the other thread: on contention, allocate.
        let reused = self.0.try_lock().ok().and_then(|mut pool| pool.pop());
        let (slots, values) = reused.unwrap_or_else(fresh_buffers);
        Event::with_buffers(kind, ts, decky, slots, values, Some(self.clone()))
    }

    /// Buffers waiting for an event.
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |pool| pool.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes back an event's buffers, unless full or they are too large.
    fn give_back(&self, slots: &mut Vec<Slot>, values: &mut Vec<u8>) {
        let Ok(mut pool) = self.0.try_lock() else {
            return;
        };
        keep(&mut pool, slots, values);
    }

    /// Drops `events`, their buffers going back to their pools with one
    /// lock for each run of events from the same pool (the output thread
    /// drops events by the thousand; a lock per event showed in profiles).
    pub fn recycle(events: &mut Vec<Event>) {
        let mut i = 0;
        while let Some(ev) = events.get(i) {
            let Some(pool) = ev.pool.clone() else {
                i += 1;
                continue;
            };
            let run = events[i..]
                .iter()
                .take_while(|e| e.pool.as_ref().is_some_and(|p| Arc::ptr_eq(&p.0, &pool.0)))
                .count();
            // Never wait for the engine: on contention the events give
            // back on their own as they drop.
            if let Ok(mut kept) = pool.0.try_lock() {
                for ev in &mut events[i..i + run] {
                    keep(&mut kept, &mut ev.slots, &mut ev.values);
                    ev.pool = None;
                }
            }
            i += run;
        }
        events.clear();
    }
}

impl std::fmt::Debug for EventPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventPool")
    }
}

/// Which pool recycles an event's buffers is no part of the event.
impl PartialEq for EventPool {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for EventPool {}

/// Keeps one event's buffers in `pool`, unless it is full or they are too
/// large.
fn keep(pool: &mut Vec<Buffers>, slots: &mut Vec<Slot>, values: &mut Vec<u8>) {
    if values.capacity() > RECYCLED_VALUES_MAX || slots.capacity() > 4 * SLOTS_INITIAL {
        return;
    }
    if pool.len() < RECYCLED_MAX {
        slots.clear();
        values.clear();
        pool.push((std::mem::take(slots), std::mem::take(values)));
    }
}

fn fresh_buffers() -> Buffers {
    (
        Vec::with_capacity(SLOTS_INITIAL),
        Vec::with_capacity(VALUES_INITIAL),
    )
}

impl Event {
    /// A new event with buffers of its own (see [`EventPool::event`] for
    /// the engine's hot paths).
    pub fn new(kind: EventKind, ts: Timestamp, decky: Arc<str>) -> Self {
        let (slots, values) = fresh_buffers();
        Event::with_buffers(kind, ts, decky, slots, values, None)
    }

    fn with_buffers(
        kind: EventKind,
        ts: Timestamp,
        decky: Arc<str>,
        slots: Vec<Slot>,
        values: Vec<u8>,
        pool: Option<EventPool>,
    ) -> Self {
        Event {
            kind,
            ts,
            decky,
            slots,
            values,
            has_free_text: false,
            has_bracket: false,
            order: 0,
            pool,
        }
    }

    /// Appends a structured field (numbers, addresses, hashes, flags).
    #[inline]
    pub fn push<V: FieldValue>(&mut self, name: &'static str, value: V) -> &mut Self {
        let start = self.values.len();
        let class = value.write_classified(&mut self.values);
        self.push_class(name, start, false, class)
    }

    /// Appends a structured field whose text `write` appends to the buffer
    /// it is given (fingerprints written in place, without a `String`).
    pub fn push_with(&mut self, name: &'static str, write: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        let start = self.values.len();
        write(&mut self.values);
        self.slot(name, start, false)
    }

    /// Appends a free-text field whose bytes `write` appends to the buffer
    /// it is given.
    pub fn push_text_with(
        &mut self,
        name: &'static str,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> &mut Self {
        let start = self.values.len();
        write(&mut self.values);
        self.slot(name, start, true)
    }

    /// Appends an attacker-controlled free-text field (raw bytes, any content).
    pub fn push_text(&mut self, name: &'static str, value: impl AsRef<[u8]>) -> &mut Self {
        let start = self.values.len();
        let class = append_classified(&mut self.values, value.as_ref());
        self.push_class(name, start, true, class)
    }

    fn slot(&mut self, name: &'static str, start: usize, free_text: bool) -> &mut Self {
        // The outputs write names unescaped.
        debug_assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "field name {name:?}"
        );
        let class = Class(self.values.get(start..).map_or(0, classify));
        self.push_class(name, start, free_text, class)
    }

    #[inline]
    fn push_class(
        &mut self,
        name: &'static str,
        start: usize,
        free_text: bool,
        class: Class,
    ) -> &mut Self {
        debug_assert_eq!(
            class.0,
            self.values.get(start..).map_or(0, classify),
            "{name}: class of {:?}",
            self.values.get(start..)
        );
        self.push_slot(
            name,
            start,
            free_text,
            class.0 & BRACKET != 0,
            class.0 & NOT_PLAIN == 0,
        )
    }

    #[inline]
    fn push_slot(
        &mut self,
        name: &'static str,
        start: usize,
        free_text: bool,
        bracket: bool,
        plain: bool,
    ) -> &mut Self {
        let end = self.values.len();
        self.slots.push(Slot {
            name,
            start: offset(start),
            end: offset(end),
            free_text,
            bracket,
            plain,
        });
        self.has_free_text |= free_text;
        self.has_bracket |= bracket;
        self
    }

    /// The fields in the order they were pushed.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = Field<'_>> + Clone + '_ {
        self.slots.iter().map(|s| Field {
            name: s.name,
            value: self
                .values
                .get(s.start as usize..s.end as usize)
                .unwrap_or_default(),
            free_text: s.free_text,
            bracket: s.bracket,
            plain: s.plain,
        })
    }

    /// Each field's name, whether it is free text and whether its value
    /// holds a `]` (what decides the line's layout), without the values.
    pub fn layout(&self) -> impl ExactSizeIterator<Item = (&'static str, bool, bool)> + '_ {
        self.slots.iter().map(|s| (s.name, s.free_text, s.bracket))
    }

    /// The field pushed `i`-th.
    pub fn field_at(&self, i: usize) -> Option<Field<'_>> {
        let s = self.slots.get(i)?;
        Some(Field {
            name: s.name,
            value: self
                .values
                .get(s.start as usize..s.end as usize)
                .unwrap_or_default(),
            free_text: s.free_text,
            bracket: s.bracket,
            plain: s.plain,
        })
    }

    /// The values buffer from the start of the field pushed `i`-th to its
    /// end: that field's value and whatever was pushed after it (for
    /// copies of a fixed size, see `output::layout`).
    pub fn values_from(&self, i: usize) -> &[u8] {
        self.slots
            .get(i)
            .and_then(|s| self.values.get(s.start as usize..))
            .unwrap_or_default()
    }

    /// Whether any field is free text.
    pub fn has_free_text(&self) -> bool {
        self.has_free_text
    }

    /// Whether any value holds a `]`.
    pub fn has_bracket(&self) -> bool {
        self.has_bracket
    }

    pub fn field_count(&self) -> usize {
        self.slots.len()
    }

    /// Moves the first `n` fields after all the others (catalogue order
    /// for events whose leading fields are pushed first by a helper).
    pub fn move_first_fields_to_end(&mut self, n: usize) {
        let n = n.min(self.slots.len());
        self.slots.rotate_left(n);
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields().find(|f| f.name == name).map(|f| f.value)
    }

    /// `src_ip` as text, the JSON `attacker_ip`.
    pub fn src_ip(&self) -> &[u8] {
        self.get("src_ip").unwrap_or(b"")
    }
}

/// A value's offset as kept in its slot (beyond u32, past the end: the
/// value reads as empty).
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Bits of [`classify`]: the value is not [`is_plain`]; it holds a `]`.
const NOT_PLAIN: u8 = 1;
const BRACKET: u8 = 2;
static BYTE_CLASS: [u8; 256] = {
    let mut t = [NOT_PLAIN; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = 0;
        b += 1;
    }
    t[b'"' as usize] = NOT_PLAIN;
    t[b'\\' as usize] = NOT_PLAIN;
    t[b']' as usize] = NOT_PLAIN | BRACKET;
    t
};

/// Both facts about a value in one pass, eight bytes at a time (a SYN
/// event classifies about 300 bytes of text: a byte at a time this was a
/// chain of dependent table lookups, 3% of the scan storm's CPU); the
/// last word overlaps the one before rather than a byte loop.
#[inline]
fn classify(v: &[u8]) -> u8 {
    let n = v.len();
    if n < 8 {
        return short_class(v);
    }
    let mut not_plain = 0;
    for chunk in v.chunks_exact(8) {
        not_plain |= not_plain_mask(word_at(chunk, 0));
    }
    not_plain |= not_plain_mask(word_at(v, n - 8));
    class_of(not_plain, v)
}

/// [`classify`] of fewer than eight bytes: four to seven as one word of
/// two halves that may overlap, fewer a byte at a time.
#[inline]
fn short_class(v: &[u8]) -> u8 {
    let n = v.len();
    if n >= 4 {
        let word = u64::from(half_at(v, 0)) | u64::from(half_at(v, n - 4)) << 32;
        return class_of(not_plain_mask(word), v);
    }
    v.iter().fold(0, |acc, &b| acc | BYTE_CLASS[usize::from(b)])
}

/// The class of `v` from the union of [`not_plain_mask`] over all its
/// bytes; only a value not plain (nearly none) is looked at again, for
/// a `]`.
#[inline]
fn class_of(not_plain: u64, v: &[u8]) -> u8 {
    if not_plain == 0 {
        0
    } else {
        NOT_PLAIN | (u8::from(v.contains(&b']')) * BRACKET)
    }
}

/// Non-zero exactly when some byte of `w` is not plain. Plain bytes are
/// 0x20..=0x7e but `"`, `\\` and `]`: the range takes one test of three
/// sums (no sum carries or borrows across bytes while every byte is in
/// range, so the lowest byte out of it is always flagged), `\\` and `]`
/// (0x5c, 0x5d) one test with the low bit set.
#[inline]
fn not_plain_mask(w: u64) -> u64 {
    use crate::util::swar;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let out_of_range = (w | w.wrapping_add(ONES) | w.wrapping_sub(ONES * 0x20)) & swar::HIGHS;
    // Each mask is non-zero exactly when some byte matches (see `swar`).
    out_of_range | swar::eq(w, b'"') | swar::eq(w | ONES, b']')
}

/// The eight bytes of `v` from `at` (which the caller keeps in bounds).
#[inline]
fn word_at(v: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&v[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The four bytes of `v` from `at` (which the caller keeps in bounds).
#[inline]
fn half_at(v: &[u8], at: usize) -> u32 {
    let mut half = [0; 4];
    half.copy_from_slice(&v[at..at + 4]);
    u32::from_le_bytes(half)
}

/// Values longer than this are appended with `memcpy` (see
/// [`append_classified`]). Shorter ones (a SYN event's longest, `p0f_sig`,
/// is about 50 bytes) are copied in overlapping blocks of fixed size: a
/// loop of words instead cost as many instructions as the
/// mispredictions it saved (callgrind --branch-sim, scan storm).
const WORD_COPY_MAX: usize = 64;

/// The sixteen bytes of `v` from `at` (which the caller keeps in bounds).
#[inline]
fn block_at(v: &[u8], at: usize) -> [u8; 16] {
    let mut block = [0; 16];
    block.copy_from_slice(&v[at..at + 16]);
    block
}

/// [`not_plain_mask`] of both words of a block.
#[inline]
fn block_mask(block: [u8; 16]) -> u64 {
    not_plain_mask(word_at(&block, 0)) | not_plain_mask(word_at(&block, 8))
}

/// What [`classify`] says of a value: whether it is plain, whether it
/// holds a `]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class(u8);

impl Class {
    /// A value [`is_plain`] (numbers, flags, addresses, empty text).
    pub const PLAIN: Class = Class(0);

    /// The class of `v`.
    pub fn of(v: &[u8]) -> Class {
        Class(classify(v))
    }
}

/// Appends `v` to `out` and classifies it in the same pass. A value of at
/// most [`WORD_COPY_MAX`] bytes (nearly every field value) is moved as
/// words or blocks that may overlap, with fixed-size copies the compiler
/// inlines, and classified from those words: a libc `memmove` call for a few bytes cost more than the copy,
/// and the separate pass over the value read it again.
#[inline]
pub fn append_classified(out: &mut Vec<u8>, v: &[u8]) -> Class {
    let n = v.len();
    let at = out.len();
    if n > WORD_COPY_MAX {
        out.extend_from_slice(v);
        return Class(classify(v));
    }
    if n > 32 {
        // Four blocks of 16, the last two overlapping the first two.
        let (a, b) = (block_at(v, 0), block_at(v, 16));
        let (c, d) = (block_at(v, n - 32), block_at(v, n - 16));
        out.extend_from_slice(&a);
        out.extend_from_slice(&b);
        out.truncate(at + n - 32);
        out.extend_from_slice(&c);
        out.extend_from_slice(&d);
        let not_plain = block_mask(a) | block_mask(b) | block_mask(c) | block_mask(d);
        return Class(class_of(not_plain, v));
    }
    if n > 16 {
        let (first, last) = (block_at(v, 0), block_at(v, n - 16));
        out.extend_from_slice(&first);
        out.truncate(at + n - 16);
        out.extend_from_slice(&last);
        return Class(class_of(block_mask(first) | block_mask(last), v));
    }
    if n >= 8 {
        let (first, last) = (word_at(v, 0), word_at(v, n - 8));
        out.extend_from_slice(&first.to_le_bytes());
        out.truncate(at + n - 8);
        out.extend_from_slice(&last.to_le_bytes());
        return Class(class_of(not_plain_mask(first) | not_plain_mask(last), v));
    }
    if n >= 4 {
        let (first, last) = (half_at(v, 0), half_at(v, n - 4));
        out.extend_from_slice(&first.to_le_bytes());
        out.truncate(at + n - 4);
        out.extend_from_slice(&last.to_le_bytes());
        // Every byte of the word is one of the value's.
        let word = u64::from(first) | u64::from(last) << 32;
        return Class(class_of(not_plain_mask(word), v));
    }
    let mut class = 0;
    for &b in v {
        out.push(b);
        class |= BYTE_CLASS[usize::from(b)];
    }
    Class(class)
}

/// Whether `v` is printable ASCII without `"`, `\` or `]`: the RFC 5424
/// parameter escaping, the JSON string escaping and the JSON escaping of the
/// line all leave such a value as it is.
pub fn is_plain(v: &[u8]) -> bool {
    classify(v) & NOT_PLAIN == 0
}

impl Drop for Event {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(&mut self.slots, &mut self.values);
        }
    }
}

/// Conversion of a typed value into a field's text.
pub trait FieldValue {
    /// Every text this type writes is [`is_plain`]: `push` then skips
    /// looking at it.
    const PLAIN: bool = false;
    fn write_to(&self, out: &mut Vec<u8>);

    /// Appends the text, as [`FieldValue::write_to`], and says what
    /// [`Class::of`] says of it. Types whose text is copied from bytes
    /// classify while they copy ([`append_classified`]).
    #[inline]
    fn write_classified(&self, out: &mut Vec<u8>) -> Class {
        let start = out.len();
        self.write_to(out);
        if Self::PLAIN {
            // Numbers, flags, addresses: nothing to look for.
            Class::PLAIN
        } else {
            Class::of(out.get(start..).unwrap_or_default())
        }
    }
}

// Numbers are written digit by digit and addresses straight into the
// field's buffer: no `String` per field (a SYN event has ~30 fields).
macro_rules! unsigned_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            const PLAIN: bool = true;
            fn write_to(&self, out: &mut Vec<u8>) {
                crate::util::decimal::push_u64(out, *self as u64);
            }
        }
    )*};
}
unsigned_field!(u8, u16, u32, u64, usize);

macro_rules! signed_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            const PLAIN: bool = true;
            fn write_to(&self, out: &mut Vec<u8>) {
                crate::util::decimal::push_i64(out, i64::from(*self));
            }
        }
    )*};
}
signed_field!(i32, i64);

/// Digits, dots and colons (an `IpAddr` has no scope id).
impl FieldValue for IpAddr {
    const PLAIN: bool = true;
    #[inline]
    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            IpAddr::V4(v4) => write_ipv4(out, *v4),
            IpAddr::V6(v6) => write_ipv6(out, *v6),
        }
    }
}

/// The longest text of an IPv6 address: eight groups of four hex digits
/// with seven colons.
const IPV6_TEXT_MAX: usize = 39;

/// The dotted quad as `Display` writes it, without the formatting
/// machinery (every event carries two addresses): each octet's text and a
/// dot from [`OCTET_TEXT`] shifted into place in one 16-byte word,
/// appended whole and cut to its length (no libc call, no digit loop).
#[inline]
fn write_ipv4(out: &mut Vec<u8>, v4: Ipv4Addr) {
    let (mut text, mut n) = (0u128, 0u32);
    for octet in v4.octets() {
        let entry = OCTET_TEXT[usize::from(octet)];
        text |= u128::from(entry as u32) << (8 * n);
        n += (entry >> 56) as u32;
    }
    // Without the last octet's dot.
    append_prefix(out, &text.to_le_bytes(), n as usize - 1);
}

/// Each octet's decimal text followed by a dot (little-endian, in the low
/// four bytes) and that text's length (in the top byte).
static OCTET_TEXT: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut o = 0;
    while o < 256 {
        let (mut text, mut len) = (0u64, 0);
        if o >= 100 {
            text |= (b'0' as u64 + o as u64 / 100) << (8 * len);
            len += 1;
        }
        if o >= 10 {
            text |= (b'0' as u64 + o as u64 / 10 % 10) << (8 * len);
            len += 1;
        }
        text |= (b'0' as u64 + o as u64 % 10) << (8 * len);
        len += 1;
        text |= (b'.' as u64) << (8 * len);
        t[o] = text | (len as u64 + 1) << 56;
        o += 1;
    }
    t
};

/// The text `Display` writes (RFC 5952: lowercase hex without leading
/// zeros, the longest run of two or more zero groups, the first of equal
/// ones, as `::`; an IPv4-mapped address as `::ffff:` and a dotted quad),
/// without the formatting machinery.
fn write_ipv6(out: &mut Vec<u8>, v6: Ipv6Addr) {
    if let Some(v4) = v6.to_ipv4_mapped() {
        out.extend_from_slice(b"::ffff:");
        write_ipv4(out, v4);
        return;
    }
    let groups = v6.segments();
    let (mut run_at, mut run_len) = (groups.len(), 0);
    let mut i = 0;
    while i < groups.len() {
        let len = groups[i..].iter().take_while(|&&g| g == 0).count();
        if len > run_len {
            (run_at, run_len) = (i, len);
        }
        i += len.max(1);
    }
    if run_len < 2 {
        run_at = groups.len();
    }
    let mut text = [0u8; IPV6_TEXT_MAX + 1];
    let mut n = 0;
    for (i, &group) in groups.iter().enumerate() {
        if i == run_at {
            // `::` stands for the run and both its neighbouring colons.
            text[n] = b':';
            text[n + 1] = b':';
            n += 2;
            continue;
        }
        if i > run_at && i < run_at + run_len {
            continue;
        }
        if i > 0 && i != run_at + run_len {
            text[n] = b':';
            n += 1;
        }
        let digits = (16 - group.leading_zeros()).div_ceil(4).max(1);
        for d in (0..digits).rev() {
            text[n] = b"0123456789abcdef"[usize::from((group >> (4 * d)) as u8 & 0xf)];
            n += 1;
        }
    }
    append_prefix(out, &text, n);
}

/// Appends the first `n` bytes of `text` by copying all of it (a copy of
/// a fixed size, inlined) and cutting the rest off again.
#[inline]
fn append_prefix<const N: usize>(out: &mut Vec<u8>, text: &[u8; N], n: usize) {
    let at = out.len();
    out.extend_from_slice(text);
    out.truncate(at + n);
}

/// `address:port`, as `Display` writes it (`[v6]:port`).
impl FieldValue for SocketAddr {
    fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            SocketAddr::V4(v4) => {
                write_ipv4(out, *v4.ip());
                out.push(b':');
                crate::util::decimal::push_u64(out, u64::from(v4.port()));
            }
            // Brackets and a scope id are Display's job.
            SocketAddr::V6(_) => {
                let _ = std::io::Write::write_fmt(out, format_args!("{self}"));
            }
        }
    }
    /// Digits, dots and a colon; a v6 address has its brackets.
    #[inline]
    fn write_classified(&self, out: &mut Vec<u8>) -> Class {
        let start = out.len();
        self.write_to(out);
        match self {
            SocketAddr::V4(_) => Class::PLAIN,
            SocketAddr::V6(_) => Class::of(out.get(start..).unwrap_or_default()),
        }
    }
}

impl FieldValue for bool {
    const PLAIN: bool = true;
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}
impl FieldValue for &str {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    #[inline]
    fn write_classified(&self, out: &mut Vec<u8>) -> Class {
        append_classified(out, self.as_bytes())
    }
}
impl FieldValue for String {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    #[inline]
    fn write_classified(&self, out: &mut Vec<u8>) -> Class {
        append_classified(out, self.as_bytes())
    }
}
/// Text already built (by a fingerprint writer): ASCII, never free text.
impl FieldValue for &[u8] {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    #[inline]
    fn write_classified(&self, out: &mut Vec<u8>) -> Class {
        append_classified(out, self)
    }
}
impl FieldValue for &String {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    #[inline]
    fn write_classified(&self, out: &mut Vec<u8>) -> Class {
        append_classified(out, self.as_bytes())
    }
}

/// An optional value: empty when absent (`wscale`, `mtu`).
impl<T: FieldValue> FieldValue for Option<T> {
    const PLAIN: bool = T::PLAIN;
    fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(v) = self {
            v.write_to(out);
        }
    }
    #[inline]
    fn write_classified(&self, out: &mut Vec<u8>) -> Class {
        match self {
            Some(v) => v.write_classified(out),
            None => Class::PLAIN,
        }
    }
}

/// A decimal with a fixed number of fraction digits (`duration_s`, `*_ms`).
#[derive(Debug)]
pub struct Fixed(pub f64, pub usize);
/// Digits, `-`, `.`, or `NaN` / `inf`.
impl FieldValue for Fixed {
    const PLAIN: bool = true;
    fn write_to(&self, out: &mut Vec<u8>) {
        if !write_fixed_plainly(self.0, self.1, out) {
            let _ = std::io::Write::write_fmt(out, format_args!("{:.*}", self.1, self.0));
        }
    }
}

/// `{:.digits$}` of `v` with integer arithmetic (float formatting showed in
/// profiles: every flow ends with four such fields) when the rounding is
/// clear-cut: a non-negative value below 2^32 once scaled, at most three
/// digits, not within 1e-6 of a half. The scaled product is then within
/// 2.4e-7 of the exact one, so it rounds the same way `fmt` rounds the exact
/// binary value. Otherwise false, nothing written.
fn write_fixed_plainly(v: f64, digits: usize, out: &mut Vec<u8>) -> bool {
    const SCALE: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
    let Some(&scale) = SCALE.get(digits) else {
        return false;
    };
    let scaled = v * scale;
    // NaN fails `is_finite`.
    if v.is_sign_negative() || !scaled.is_finite() || scaled >= 4_294_967_296.0 {
        return false;
    }
    let whole = scaled.floor();
    let frac = scaled - whole;
    if (frac - 0.5).abs() < 1e-6 {
        return false;
    }
    let n = whole as u64 + u64::from(frac > 0.5);
    let unit = 10u64.pow(digits as u32);
    crate::util::decimal::push_u64(out, n / unit);
    if digits > 0 {
        out.push(b'.');
        crate::util::decimal::push_padded(out, n % unit, digits);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: impl FieldValue) -> String {
        let mut out = Vec::new();
        v.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ipv4_text_matches_display() {
        for v in 0..=255u8 {
            for ip in [[v, v, v, v], [v, 0, 255, v / 3], [1, v, 10, 100]] {
                let ip = IpAddr::from(ip);
                assert_eq!(text(ip), ip.to_string());
            }
        }
    }

    #[test]
    fn fixed_matches_std_formatting() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..200_000u64 {
            let r = next();
            // Microsecond durations as the engine divides them, values
            // around halves, and arbitrary doubles of every magnitude.
            let v = match i % 4 {
                0 => (r % 10_000_000_000) as f64 / 1e6,
                1 => (r % 100_000_000) as f64 / 1000.0,
                2 => (r % 1_000_000) as f64 / 8.0 + 0.0005,
                _ => f64::from_bits(r >> 2),
            };
            for digits in 0..=4 {
                assert_eq!(text(Fixed(v, digits)), format!("{v:.digits$}"), "{v:e}");
            }
        }
    }

    #[test]
    fn recycled_buffers_start_empty() {
        let decky: Arc<str> = "d".into();
        let pool = EventPool::new();
        let mut kept = Vec::new();
        for round in 0..3 * RECYCLED_MAX {
            let mut ev = pool.event(EventKind::TlsSession, Timestamp::new(0, 0), decky.clone());
            assert_eq!(ev.field_count(), 0, "round {round}");
            assert!(!ev.has_free_text());
            assert!(ev.fields().next().is_none());
            ev.push("ja3", "a".repeat(round % 700))
                .push_text("sni", b"x");
            assert_eq!(ev.get("sni"), Some(&b"x"[..]));
            // Keep some alive so the pool both fills and drains.
            if round % 3 == 0 {
                kept.push(ev);
            }
        }
        assert!(pool.len() <= RECYCLED_MAX);
        drop(kept);
        assert_eq!(pool.len(), RECYCLED_MAX, "full after the kept events");
        let ev = pool.event(EventKind::TlsSession, Timestamp::new(0, 0), decky.clone());
        assert_eq!(ev.field_count(), 0);
        assert_eq!(pool.len(), RECYCLED_MAX - 1);
        drop(ev);
        assert_eq!(pool.len(), RECYCLED_MAX);
        // Events of their own give nothing back, and pools do not share.
        drop(Event::new(
            EventKind::TlsSession,
            Timestamp::new(0, 0),
            decky,
        ));
        assert_eq!(pool.len(), RECYCLED_MAX);
        assert!(EventPool::new().is_empty());
    }

    #[test]
    fn recycled_together_per_pool() {
        let decky: Arc<str> = "d".into();
        let (a, b) = (EventPool::new(), EventPool::new());
        let mut events = Vec::new();
        for i in 0..10 {
            let pool = if i % 4 < 2 { &a } else { &b };
            let mut ev = pool.event(EventKind::TlsSession, Timestamp::new(0, 0), decky.clone());
            ev.push("ja3", "x");
            events.push(ev);
        }
        events.push(Event::new(
            EventKind::TlsSession,
            Timestamp::new(0, 0),
            decky.clone(),
        ));
        let mut big = a.event(EventKind::TlsSession, Timestamp::new(0, 0), decky);
        big.push("ja3", "x".repeat(2 * RECYCLED_VALUES_MAX));
        events.push(big);
        EventPool::recycle(&mut events);
        assert!(events.is_empty());
        assert_eq!((a.len(), b.len()), (6, 4), "too large a buffer is not kept");
        // Held by another thread: nothing waits, the buffers go to the
        // allocator.
        let mut events = vec![a.event(EventKind::TlsSession, Timestamp::new(0, 0), "d".into())];
        assert_eq!(a.len(), 5);
        let guard = a.0.lock().unwrap();
        EventPool::recycle(&mut events);
        drop(guard);
        assert!(events.is_empty());
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn plain_values_are_told_apart() {
        let mut ev = Event::new(EventKind::TlsSession, Timestamp::new(0, 0), "d".into());
        ev.push("a", 7u16)
            .push("b", "x y")
            .push("c", "x\"y")
            .push("d", "x]")
            .push_text("e", "caf\u{e9}")
            .push_text("f", b"\x7f")
            .push("g", std::net::IpAddr::from([1, 2, 3, 4]))
            .push("h", "[::1]:80".parse::<SocketAddr>().unwrap())
            .push("i", Fixed(1.5, 1))
            .push_with("j", |v| v.extend_from_slice(b"a\\b"))
            .push_text_with("k", |v| v.extend_from_slice(b"~ !"));
        let plain: Vec<(bool, bool)> = ev.fields().map(|f| (f.plain, f.bracket)).collect();
        assert_eq!(
            plain,
            [
                (true, false),
                (true, false),
                (false, false),
                (false, true),
                (false, false),
                (false, false),
                (true, false),
                (false, true),
                (true, false),
                (false, false),
                (true, false)
            ]
        );
        for f in ev.fields() {
            assert_eq!(f.plain, is_plain(f.value), "{}", f.name);
        }
        for b in 0..=255u8 {
            let plain = (0x20..0x7f).contains(&b) && !b"\"\\]".contains(&b);
            assert_eq!(is_plain(&[b'a', b]), plain, "{b}");
            // At every place of words and tails.
            for len in 1..=20 {
                for at in 0..len {
                    let mut v = vec![b'x'; len];
                    v[at] = b;
                    let byte_by_byte = v.iter().fold(0, |acc, &b| acc | BYTE_CLASS[usize::from(b)]);
                    assert_eq!(classify(&v), byte_by_byte, "{b} at {at} of {len}");
                    // Next to a byte that borrows (0x00, 0x80 and ']' + 1).
                    for next in [0u8, 0x80, b'^', b'!', b'#'] {
                        if at + 1 < len {
                            v[at + 1] = next;
                            let want = v.iter().fold(0, |acc, &b| acc | BYTE_CLASS[usize::from(b)]);
                            assert_eq!(classify(&v), want, "{b} then {next} at {at} of {len}");
                            v[at + 1] = b'x';
                        }
                    }
                }
            }
        }
        assert_eq!(classify(b""), 0);
    }

    #[test]
    fn field_text_is_display_text() {
        assert_eq!(text(0u8), "0");
        assert_eq!(text(255u8), "255");
        assert_eq!(text(65535u16), "65535");
        assert_eq!(text(u32::MAX), u32::MAX.to_string());
        assert_eq!(text(u64::MAX), u64::MAX.to_string());
        assert_eq!(text(12usize), "12");
        assert_eq!(text(Some(7u8)), "7");
        assert_eq!(text(None::<u16>), "");
        assert_eq!(text(-7i32), "-7");
        assert_eq!(text(i64::MIN), i64::MIN.to_string());
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        assert_eq!(text(v6), "2001:db8::7");
        for v4 in ["203.0.113.7", "0.0.0.0", "255.255.255.255", "10.0.10.100"] {
            let ip: IpAddr = v4.parse().unwrap();
            assert_eq!(text(ip), v4);
        }
        for sa in [
            "203.0.113.7:443",
            "0.0.0.0:0",
            "[2001:db8::7]:65535",
            "[fe80::1%3]:22",
        ] {
            let sa: SocketAddr = sa.parse().unwrap();
            assert_eq!(text(sa), sa.to_string());
        }
        assert_eq!(text(Fixed(1.23456, 2)), "1.23");
        assert_eq!(text(Fixed(-0.0, 2)), "-0.00");
        assert_eq!(text(Fixed(0.125, 2)), "0.12");
        assert_eq!(text(Fixed(0.375, 2)), "0.38");
        assert_eq!(text(Fixed(f64::NAN, 2)), "NaN");
        assert_eq!(text(Fixed(1e300, 1)), format!("{:.1}", 1e300));
        assert_eq!(text(Fixed(0.0005, 3)), format!("{:.3}", 0.0005));
    }

    /// Every IPv6 shape `Display` distinguishes: each pattern of zero and
    /// non-zero groups (where the runs are, ties, runs of one), groups of
    /// every hex length, IPv4-mapped and -compatible addresses.
    #[test]
    fn ipv6_text_matches_display() {
        let mut next = crate::util::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        let check = |groups: [u16; 8]| {
            let ip = IpAddr::from(groups);
            assert_eq!(text(ip), ip.to_string(), "{groups:x?}");
        };
        for zeros in 0..=255u32 {
            for _ in 0..40 {
                let mut groups = [0u16; 8];
                for (i, g) in groups.iter_mut().enumerate() {
                    if zeros & (1 << i) == 0 {
                        let r = next();
                        // One to four hex digits.
                        *g = ((r >> 16) as u16 >> (4 * (r % 4))).max(1);
                    }
                }
                check(groups);
            }
        }
        for v4 in [
            [0u8, 0, 0, 0],
            [1, 2, 3, 4],
            [255, 255, 255, 255],
            [10, 0, 0, 1],
        ] {
            let [a, b, c, d] = v4.map(u16::from);
            check([0, 0, 0, 0, 0, 0xffff, a << 8 | b, c << 8 | d]);
            check([0, 0, 0, 0, 0, 0, a << 8 | b, c << 8 | d]);
            check([0, 0, 0, 0, 0xffff, 0, a << 8 | b, c << 8 | d]);
        }
        for _ in 0..100_000 {
            let r = next();
            check(std::array::from_fn(|i| (r >> (8 * i)) as u16 & 0x0f0f));
        }
    }

    /// Appends `v` both ways after some other text: the same bytes as
    /// `write_to`, the class `classify` gives them.
    fn check_class<V: FieldValue + std::fmt::Debug>(v: V) {
        let mut plain = b"x]".to_vec();
        v.write_to(&mut plain);
        let mut fused = b"x]".to_vec();
        let class = v.write_classified(&mut fused);
        assert_eq!(fused, plain, "{v:?}");
        assert_eq!(class, Class(classify(&plain[2..])), "{v:?}");
        if V::PLAIN {
            assert!(is_plain(&plain[2..]), "{v:?}");
        }
    }

    /// The fused copy and class of every value type against `classify` of
    /// what `write_to` wrote: random bytes of every length up to well past
    /// the longest copied as words, with each hostile byte at every place.
    #[test]
    fn every_value_type_classifies_as_classify() {
        let mut next = crate::util::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        let hostile = [
            0u8, 0x1f, b' ', b'"', b'\\', b']', b'^', 0x7e, 0x7f, 0x80, 0xff,
        ];
        for len in 0..=WORD_COPY_MAX + 9 {
            let rounds = if len <= 40 { 200 } else { 20 };
            for _ in 0..rounds {
                let v: Vec<u8> = (0..len).map(|_| next() as u8 % 0x5f + 0x20).collect();
                check_class(&v[..]);
                for at in 0..len {
                    for h in hostile {
                        let mut w = v.clone();
                        w[at] = h;
                        check_class(&w[..]);
                        let lossy = String::from_utf8_lossy(&w).into_owned();
                        check_class(lossy.as_str());
                        check_class(&lossy);
                        check_class(Some(lossy.clone()));
                        check_class(lossy);
                    }
                }
                let random: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                check_class(&random[..]);
            }
        }
        check_class(None::<&str>);
        for _ in 0..100_000 {
            let r = next();
            check_class(r as u8);
            check_class(r as u16);
            check_class(r as u32);
            check_class(r);
            check_class(r >> (r % 64));
            check_class(r as usize);
            check_class(r as i32);
            check_class(r as i64);
            check_class(Some(r as u16));
            check_class(r % 2 == 0);
            check_class(IpAddr::from((r as u32).to_be_bytes()));
            check_class(IpAddr::from(Ipv6Addr::from(
                u128::from(r) << 64 | u128::from(r >> 7),
            )));
            check_class(SocketAddr::new(
                IpAddr::from((r as u32).to_be_bytes()),
                (r >> 48) as u16,
            ));
            check_class(SocketAddr::new(
                IpAddr::from(Ipv6Addr::from(u128::from(r))),
                r as u16,
            ));
        }
        for v in [0.0, 1.5, -2.25, f64::NAN, f64::INFINITY, 1e300, 0.0005] {
            for digits in 0..4 {
                check_class(Fixed(v, digits));
            }
        }
    }
}
