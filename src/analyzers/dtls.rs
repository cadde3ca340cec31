//! DTLS ClientHellos over UDP, any port: `dtls_client_hello`.
//!
//! A ClientHello in one piece is reported at once, with no state; one in
//! fragments goes through the [`DtlsHelloTable`] and is reported, with the
//! same fields, by the datagram that completes it.

use super::dtls_hellos::DtlsHelloTable;
use super::{DatagramAnalyzer, DatagramCx};
use crate::event::EventKind;
use crate::fingerprint::tls::dtls::{client_hello, hello_fragments, DtlsError};
use crate::fingerprint::tls::ja3::Ja3Text;
use crate::fingerprint::tls::ja4::{HelloTransport, Ja4Parts};
use crate::fingerprint::tls::version::push_version_text;
use crate::fingerprint::tls::ClientHello;
use crate::limits::Limits;
use crate::stats::Counter;
use crate::stats::Stats;
use crate::util::budget::Budget;
use crate::util::time::Timestamp;

/// The TLS handshake header in front of a reassembled ClientHello body.
const TLS_HS_HEADER: usize = 4;

/// ClientHello fragments taken from one datagram. A real client puts one
/// or a few in a datagram; each may (re)start a partial ClientHello whose
/// buffer grows to the fragment's end, so an unbounded count would let a
/// single datagram of tiny fragments with rising `message_seq` zero
/// megabytes.
const MAX_FRAGMENTS_PER_DATAGRAM: usize = 32;

/// The DTLS analyzer: its table of fragmented ClientHellos.
pub struct Dtls {
    pub hellos: DtlsHelloTable,
}

impl DatagramAnalyzer for Dtls {
    fn new(limits: &Limits, budget: &Budget) -> Self {
        let mut hellos = DtlsHelloTable::new(limits.pending_handshakes, limits.reassembly_bytes);
        hellos.set_budget(budget.clone());
        Dtls { hellos }
    }

    /// Returns true if the datagram was a DTLS ClientHello (or a piece of
    /// one), reported or counted.
    /// The table settles its memory budget after every datagram, DTLS or
    /// not: it is where partial ClientHellos give way to newer state.
    fn on_datagram(&mut self, cx: &mut DatagramCx<'_>, payload: &[u8]) -> bool {
        let taken = on_datagram(cx, &mut self.hellos, payload);
        self.hellos.enforce_budget(cx.stats);
        taken
    }

    fn expire(&mut self, now: Timestamp, stats: &mut Stats) {
        self.hellos.expire(now, stats);
        self.hellos.enforce_budget(stats);
    }

    fn finish(&mut self, stats: &mut Stats) {
        self.hellos.finish(stats);
        self.hellos.enforce_budget(stats);
    }

    fn table_stats(&self, tables: &mut Vec<(&'static str, usize, u64)>) {
        tables.push(("dtls_hellos", self.hellos.len(), self.hellos.evictions));
    }
}

/// Returns true if the datagram was a DTLS ClientHello (or a piece of one),
/// reported or counted.
fn on_datagram(cx: &mut DatagramCx<'_>, hellos: &mut DtlsHelloTable, payload: &[u8]) -> bool {
    match client_hello(payload) {
        Ok(ch) => emit(cx, &ch),
        Err(DtlsError::NotClientHello) => return false,
        Err(DtlsError::Fragmented) => on_fragments(cx, hellos, payload),
        Err(DtlsError::Malformed(_)) => cx.stats.bump(Counter::DtlsParseErrors),
    }
    true
}

fn on_fragments(cx: &mut DatagramCx<'_>, hellos: &mut DtlsHelloTable, payload: &[u8]) {
    let mut frags = hello_fragments(payload);
    for frag in frags.by_ref().take(MAX_FRAGMENTS_PER_DATAGRAM) {
        let (client, server, ts) = (cx.client, cx.server, cx.ts);
        let Some(message) = hellos.insert(client, server, ts, &frag, cx.stats) else {
            continue;
        };
        let body = message.get(TLS_HS_HEADER..).unwrap_or_default();
        match ClientHello::parse_dtls(body) {
            Ok(ch) => emit(cx, &ch),
            Err(_) => cx.stats.bump(Counter::DtlsParseErrors),
        }
    }
    if frags.next().is_some() {
        cx.stats.bump(Counter::DtlsDatagramsOverFragmentCap);
    }
}

fn emit(cx: &mut DatagramCx<'_>, ch: &ClientHello<'_>) {
    let mut ev = cx.event(EventKind::DtlsClientHello);
    ev.push_with("ja4", |out| {
        Ja4Parts::new(ch, HelloTransport::Dtls).write_ja4(out)
    })
    .push_with("ja3", |out| Ja3Text::new(ch).write_hash(out))
    .push_with("tls_version", |out| {
        push_version_text(ch.highest_version(), out)
    });
    ev.push_text("sni", ch.sni().unwrap_or_default());
    ev.push_text("alpn", ch.alpn().joined());
    crate::fingerprint::clients::label_event(&mut ev);
    cx.emit(ev);
}

#[cfg(test)]
mod tests {
    use super::MAX_FRAGMENTS_PER_DATAGRAM;
    use crate::capture::{linktype, RawPacket};
    use crate::engine::{Counter, DeckyMap, Engine, Limits};
    use crate::event::{Event, EventKind};
    use crate::util::time::Timestamp;

    /// A raw IPv4/UDP frame from 192.0.2.1:`sport` to 198.51.100.2:4433.
    fn frame(sport: u16, payload: &[u8]) -> Vec<u8> {
        let total = (28 + payload.len()) as u16;
        let mut f = vec![0x45, 0];
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2]);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&4433u16.to_be_bytes());
        f.extend_from_slice(&(total - 20).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        f
    }

    /// One DTLS 1.2 handshake record holding `fragments`.
    fn record(fragments: &[u8]) -> Vec<u8> {
        let mut r = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
        r.extend_from_slice(&(fragments.len() as u16).to_be_bytes());
        r.extend_from_slice(fragments);
        r
    }

    fn fragment(length: u32, seq: u16, offset: u32, bytes: &[u8]) -> Vec<u8> {
        let mut f = vec![1];
        f.extend_from_slice(&length.to_be_bytes()[1..]);
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&offset.to_be_bytes()[1..]);
        f.extend_from_slice(&(bytes.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(bytes);
        f
    }

    fn hello_body() -> Vec<u8> {
        let mut body = 0xfefdu16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]);
        body.extend_from_slice(&[0, 0, 0, 4, 0xc0, 0x2b, 0xc0, 0x2f, 1, 0, 0, 0]);
        body
    }

    fn process(engine: &mut Engine, secs: i64, data: &[u8]) -> Vec<Event> {
        let raw = RawPacket {
            ts: Timestamp::new(secs, 0),
            linktype: linktype::RAW,
            data,
            orig_len: data.len() as u32,
        };
        let mut out = Vec::new();
        engine.process(&raw, &mut |e| out.push(e));
        out
    }

    #[test]
    fn fragments_in_two_datagrams_give_the_unfragmented_event() {
        let body = hello_body();
        let len = body.len() as u32;
        let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
        let whole = frame(1000, &record(&fragment(len, 0, 0, &body)));
        let want: Vec<Event> = process(&mut engine, 1, &whole);
        assert_eq!(want.len(), 1);
        assert_eq!(want[0].kind, EventKind::DtlsClientHello);
        let second = frame(1000, &record(&fragment(len, 0, 20, &body[20..])));
        let first = frame(1000, &record(&fragment(len, 0, 0, &body[..20])));
        assert!(process(&mut engine, 1, &second).is_empty());
        let got = process(&mut engine, 1, &first);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0], want[0]);
        assert_eq!(engine.stats().get(Counter::DtlsHellosReassembled), 1);
    }

    #[test]
    fn a_datagram_of_many_tiny_fragments_is_cut_short() {
        let mut frags = Vec::new();
        for seq in 0..1000u16 {
            frags.extend(fragment(16_000, seq, 15_999, &[0]));
        }
        let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
        assert!(process(&mut engine, 1, &frame(1000, &record(&frags))).is_empty());
        let stats = engine.stats();
        assert_eq!(
            stats.get(Counter::DtlsFragmentedHellos),
            MAX_FRAGMENTS_PER_DATAGRAM as u64
        );
        assert_eq!(stats.get(Counter::DtlsDatagramsOverFragmentCap), 1);
    }
}
