//! DTLS ClientHellos in fragments, reassembled across records and
//! datagrams (RFC 6347 4.2.2, RFC 9147 5.5).
//!
//! One entry per (client, server) address pair holds the ClientHello of
//! the highest `message_seq` seen. Fragments may arrive in any order,
//! twice, or overlapping: the covered ranges are tracked by the QUIC
//! CRYPTO-stream assembler, fed a TLS handshake header made from the DTLS
//! one, and where copies overlap **the first data wins**, as in TCP
//! reassembly. Bounded like the QUIC tracker: a cap on entries (least
//! recently used evicted), on each ClientHello (the TLS path's
//! reassembly budget) and on the bytes all partial ClientHellos hold;
//! entries expire after [`EXPIRY_SECS`] of packet time without a fragment.
//!
//! Counters: `dtls_fragmented_hellos` (fragmented ClientHellos begun),
//! `dtls_hellos_reassembled`, and the abandoned ones:
//! `dtls_hellos_evicted`, `dtls_hellos_expired`, `dtls_hellos_superseded`
//! (a newer `message_seq` came first), `dtls_hellos_too_fragmented`,
//! `dtls_hellos_unfinished` (still partial at the end of input); refused
//! fragments: `dtls_hello_fragments_too_large`,
//! `dtls_hello_fragments_inconsistent` (a total length differing from the
//! first fragment's), `dtls_hello_fragments_stale` (an older
//! `message_seq`).

use std::net::SocketAddr;

use crate::fingerprint::quic::crypto_stream::{ClientHelloAssembler, Progress};
use crate::fingerprint::tls::dtls::HelloFragment;
use crate::fingerprint::tls::handshake_type;
use crate::stats::{Counter, Stats};
use crate::util::budget::{Budget, Pool};
use crate::util::lru::Lru;
use crate::util::time::Timestamp;

/// A fragmented ClientHello silent this long is dropped. A client sends
/// the fragments of a flight back to back and retransmits the whole flight
/// after 1 s, doubling up to 60 s (RFC 6347 4.2.4.1); a retransmission
/// fills the holes of the entry while it lives, or starts a new one.
pub const EXPIRY_SECS: i64 = 10;

/// Heap bytes all partial ClientHellos together may hold (as for QUIC).
pub const MAX_HELD_BYTES: usize = 64 << 20;

/// The TLS handshake header the assembler expects: type and 3-byte length.
const TLS_HS_HEADER: usize = 4;

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
struct Key {
    client: SocketAddr,
    server: SocketAddr,
}

enum State {
    Pending(Box<ClientHelloAssembler>),
    /// Reported: fragments of the same `message_seq` start a new copy, as
    /// a retransmitted unfragmented ClientHello is reported again.
    Done,
    /// Refused (too many pieces): its later fragments are ignored.
    Refused,
}

struct Entry {
    message_seq: u16,
    /// Body length (without handshake header), from the first fragment.
    length: usize,
    /// Packet time of the last fragment.
    last: Timestamp,
    state: State,
    /// Heap bytes the assembler holds, as last accounted.
    held: usize,
}

impl Entry {
    fn is_pending(&self) -> bool {
        matches!(self.state, State::Pending(_))
    }
}

pub struct DtlsHelloTable {
    entries: Lru<Key, Entry>,
    /// Largest ClientHello accepted, TLS handshake header included.
    max_hello: usize,
    max_held: usize,
    held: usize,
    /// Entries evicted for room (table cap or memory), pending or not.
    pub evictions: u64,
    /// The process's byte budget (`--memcap`), charged with the entries
    /// and the bytes they hold ([`Pool::Dtls`]).
    budget: Budget,
    charged: usize,
}

impl DtlsHelloTable {
    pub fn new(max_entries: usize, max_hello_bytes: usize) -> Self {
        DtlsHelloTable {
            entries: Lru::new(max_entries),
            max_hello: max_hello_bytes,
            max_held: MAX_HELD_BYTES,
            held: 0,
            evictions: 0,
            budget: Budget::unlimited(),
            charged: 0,
        }
    }

    /// Charges `budget` from now on (before any insert).
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// Settles the budget's charge with what the table holds now, and
    /// while the budget is spent drops the oldest partial ClientHellos
    /// (never the newest: a newcomer is not refused; the engine sheds
    /// other state after).
    #[inline]
    pub fn enforce_budget(&mut self, stats: &mut Stats) {
        // Called at every new packet time: an empty table whose charge is
        // settled has nothing to settle or shed (and the budget's atomics
        // are not touched for nothing).
        if self.entries.is_empty() && self.held == self.charged {
            return;
        }
        self.settle_budget(stats);
    }

    fn settle_budget(&mut self, stats: &mut Stats) {
        loop {
            let now = self.held + self.entries.len() * Lru::<Key, Entry>::entry_bytes();
            if now > self.charged {
                self.budget.charge(Pool::Dtls, now - self.charged);
            } else {
                self.budget.release(Pool::Dtls, self.charged - now);
            }
            self.charged = now;
            if !self.budget.over() || self.entries.len() <= 1 {
                return;
            }
            let Some((_, entry)) = self.entries.pop_oldest() else {
                return;
            };
            self.forget(&entry, Counter::DtlsHellosEvicted, stats);
            self.evictions += 1;
            self.budget.note_eviction(Pool::Dtls);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes held by partial ClientHellos.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Adds one fragment sent by `client` to `server` at `ts`. Returns the
    /// ClientHello message (4-byte TLS handshake header, then the body)
    /// when this fragment completed it.
    pub fn insert(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        frag: &HelloFragment<'_>,
        stats: &mut Stats,
    ) -> Option<Vec<u8>> {
        if frag.length.saturating_add(TLS_HS_HEADER) > self.max_hello {
            stats.bump(Counter::DtlsHelloFragmentsTooLarge);
            return None;
        }
        let key = Key { client, server };
        let entry = match self.entries.get_mut(&key) {
            Some(e) => {
                e.last = ts;
                e
            }
            None => return self.begin(key, ts, frag, stats),
        };
        if frag.message_seq < entry.message_seq {
            stats.bump(Counter::DtlsHelloFragmentsStale);
            return None;
        }
        if frag.message_seq > entry.message_seq {
            if entry.is_pending() {
                stats.bump(Counter::DtlsHellosSuperseded);
            }
            return self.begin(key, ts, frag, stats);
        }
        match entry.state {
            State::Pending(_) if frag.length != entry.length => {
                stats.bump(Counter::DtlsHelloFragmentsInconsistent);
                None
            }
            State::Pending(_) => self.feed(key, frag, stats),
            State::Done => self.begin(key, ts, frag, stats),
            State::Refused => None,
        }
    }

    /// Starts (or restarts) the entry of `key` with `frag`.
    fn begin(
        &mut self,
        key: Key,
        ts: Timestamp,
        frag: &HelloFragment<'_>,
        stats: &mut Stats,
    ) -> Option<Vec<u8>> {
        stats.bump(Counter::DtlsFragmentedHellos);
        let mut hello = ClientHelloAssembler::new(self.max_hello);
        let len = (frag.length as u32).to_be_bytes();
        // Cannot fail: the header fits (length checked against the cap).
        let _ = hello.insert(0, &[handshake_type::CLIENT_HELLO, len[1], len[2], len[3]]);
        let entry = Entry {
            message_seq: frag.message_seq,
            length: frag.length,
            last: ts,
            state: State::Pending(Box::new(hello)),
            held: 0,
        };
        if let Some(old) = self.entries.remove(&key) {
            self.held = self.held.saturating_sub(old.held);
        }
        if let Some((_, evicted)) = self.entries.insert(key, entry) {
            self.forget(&evicted, Counter::DtlsHellosEvicted, stats);
            self.evictions += 1;
        }
        self.feed(key, frag, stats)
    }

    /// Adds `frag` to the pending entry of `key`.
    fn feed(&mut self, key: Key, frag: &HelloFragment<'_>, stats: &mut Stats) -> Option<Vec<u8>> {
        let entry = self.entries.get_mut(&key)?;
        let State::Pending(hello) = &mut entry.state else {
            return None;
        };
        let at = (TLS_HS_HEADER + frag.offset) as u64;
        let outcome = hello.insert(at, frag.bytes);
        let now_held = hello.held_bytes();
        self.held = self
            .held
            .saturating_sub(entry.held)
            .saturating_add(now_held);
        entry.held = now_held;
        let result = match outcome {
            Ok(Progress::NeedMore) => None,
            Ok(Progress::Complete) => {
                let State::Pending(hello) = std::mem::replace(&mut entry.state, State::Done) else {
                    return None;
                };
                self.held = self.held.saturating_sub(entry.held);
                entry.held = 0;
                stats.bump(Counter::DtlsHellosReassembled);
                hello.into_message()
            }
            // The length was checked against the cap and each fragment
            // against the length: the error left is too many pieces.
            Err(_) => {
                stats.bump(Counter::DtlsHellosTooFragmented);
                entry.state = State::Refused;
                self.held = self.held.saturating_sub(entry.held);
                entry.held = 0;
                None
            }
        };
        self.enforce_memory(stats);
        result
    }

    /// Evicts the least recently used entries while partial ClientHellos
    /// hold more than allowed.
    fn enforce_memory(&mut self, stats: &mut Stats) {
        while self.held > self.max_held {
            let Some((_, entry)) = self.entries.pop_oldest() else {
                break;
            };
            self.forget(&entry, Counter::DtlsHellosEvicted, stats);
            self.evictions += 1;
        }
    }

    /// Drops the entries silent for [`EXPIRY_SECS`] at packet time `now`.
    /// The least recently used entry is the one with the oldest fragment,
    /// as long as packet time does not go backwards (when it does, an
    /// entry may live a little longer).
    #[inline]
    pub fn expire(&mut self, now: Timestamp, stats: &mut Stats) {
        // Called at every new packet time; usually nothing is waiting.
        if !self.entries.is_empty() {
            self.expire_some(now, stats);
        }
    }

    fn expire_some(&mut self, now: Timestamp, stats: &mut Stats) {
        let limit = now.as_micros().saturating_sub(EXPIRY_SECS * 1_000_000);
        while let Some((_, entry)) = self.entries.peek_oldest() {
            if entry.last.as_micros() > limit {
                break;
            }
            if let Some((_, entry)) = self.entries.pop_oldest() {
                self.forget(&entry, Counter::DtlsHellosExpired, stats);
            }
        }
    }

    /// Empties the table at the end of input, counting the ClientHellos
    /// still partial.
    pub fn finish(&mut self, stats: &mut Stats) {
        while let Some((_, entry)) = self.entries.pop_oldest() {
            self.forget(&entry, Counter::DtlsHellosUnfinished, stats);
        }
    }

    /// Accounts for an entry leaving the table: `counter` if it was partial.
    fn forget(&mut self, entry: &Entry, counter: Counter, stats: &mut Stats) {
        self.held = self.held.saturating_sub(entry.held);
        if entry.is_pending() {
            stats.bump(counter);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A fake ClientHello body of `n` bytes (content is irrelevant here).
    fn body(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn frag<'a>(seq: u16, body: &'a [u8], from: usize, to: usize) -> HelloFragment<'a> {
        HelloFragment {
            message_seq: seq,
            length: body.len(),
            offset: from,
            bytes: &body[from..to],
        }
    }

    fn message(body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        let mut m = vec![1, len[1], len[2], len[3]];
        m.extend_from_slice(body);
        m
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::new(s, 0)
    }

    #[test]
    fn the_budget_drops_the_oldest_partial_hellos_never_the_newest() {
        let b = body(2000);
        let s = addr("10.0.0.2:4433");
        let budget = Budget::new(20_000);
        let mut table = DtlsHelloTable::new(1000, 16 * 1024);
        table.set_budget(budget.clone());
        let mut st = Stats::default();
        for i in 0..100u16 {
            let c = addr(&format!("10.0.1.{}:5000", i % 250));
            assert!(table
                .insert(c, s, t(1), &frag(0, &b, 0, 500), &mut st)
                .is_none());
            table.enforce_budget(&mut st);
            assert!(budget.used() <= 20_000 || table.len() == 1);
        }
        assert!(table.len() < 100 && table.len() > 1);
        assert_eq!(budget.evictions(Pool::Dtls), 100 - table.len() as u64);
        // The newest is still there: its second half completes it.
        let c = addr("10.0.1.99:5000");
        let done = table.insert(c, s, t(1), &frag(0, &b, 500, 2000), &mut st);
        assert_eq!(done.unwrap(), message(&b));
        table.finish(&mut st);
        table.enforce_budget(&mut st);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn out_of_order_duplicated_overlapping() {
        let b = body(600);
        let (c, s) = (addr("10.0.0.1:5000"), addr("10.0.0.2:4433"));
        let mut table = DtlsHelloTable::new(16, 16 * 1024);
        let mut st = Stats::default();
        assert_eq!(
            table.insert(c, s, t(1), &frag(0, &b, 400, 600), &mut st),
            None
        );
        assert_eq!(
            table.insert(c, s, t(1), &frag(0, &b, 400, 600), &mut st),
            None
        );
        assert_eq!(
            table.insert(c, s, t(1), &frag(0, &b, 0, 250), &mut st),
            None
        );
        assert!(table.held_bytes() > 0);
        let got = table.insert(c, s, t(1), &frag(0, &b, 200, 450), &mut st);
        assert_eq!(got, Some(message(&b)));
        assert_eq!(st.get(Counter::DtlsFragmentedHellos), 1);
        assert_eq!(st.get(Counter::DtlsHellosReassembled), 1);
        assert_eq!(table.held_bytes(), 0);
        // A stray late copy starts a new partial hello, which expires.
        assert_eq!(
            table.insert(c, s, t(2), &frag(0, &b, 0, 100), &mut st),
            None
        );
        table.expire(t(2 + EXPIRY_SECS - 1), &mut st);
        assert_eq!(table.len(), 1);
        table.expire(t(2 + EXPIRY_SECS), &mut st);
        assert_eq!(table.len(), 0);
        assert_eq!(st.get(Counter::DtlsHellosExpired), 1);
        assert_eq!(table.held_bytes(), 0);
    }

    #[test]
    fn conflicting_overlap_keeps_the_first_copy() {
        let b = body(300);
        let mut other = b.clone();
        other[100..200].fill(0xee);
        let (c, s) = (addr("10.0.0.1:5000"), addr("10.0.0.2:4433"));
        let mut table = DtlsHelloTable::new(16, 16 * 1024);
        let mut st = Stats::default();
        table.insert(c, s, t(1), &frag(0, &b, 0, 150), &mut st);
        let got = table.insert(c, s, t(1), &frag(0, &other, 50, 300), &mut st);
        let mut want = b.clone();
        want[150..200].fill(0xee);
        assert_eq!(got, Some(message(&want)));
    }

    #[test]
    fn retransmitted_hello_is_reported_again() {
        let b = body(100);
        let (c, s) = (addr("10.0.0.1:5000"), addr("10.0.0.2:4433"));
        let mut table = DtlsHelloTable::new(16, 16 * 1024);
        let mut st = Stats::default();
        for _ in 0..2 {
            assert_eq!(table.insert(c, s, t(1), &frag(0, &b, 0, 60), &mut st), None);
            let got = table.insert(c, s, t(1), &frag(0, &b, 60, 100), &mut st);
            assert_eq!(got, Some(message(&b)));
        }
        assert_eq!(st.get(Counter::DtlsHellosReassembled), 2);
    }

    #[test]
    fn refusals_are_counted() {
        let (c, s) = (addr("10.0.0.1:5000"), addr("10.0.0.2:4433"));
        let mut table = DtlsHelloTable::new(16, 1024);
        let mut st = Stats::default();
        let big = body(1021);
        assert_eq!(
            table.insert(c, s, t(1), &frag(0, &big, 0, 10), &mut st),
            None
        );
        assert_eq!(st.get(Counter::DtlsHelloFragmentsTooLarge), 1);
        assert!(table.is_empty());
        let b = body(200);
        table.insert(c, s, t(1), &frag(1, &b, 0, 10), &mut st);
        // A different total length under the same message_seq.
        let b2 = body(190);
        table.insert(c, s, t(1), &frag(1, &b2, 10, 20), &mut st);
        assert_eq!(st.get(Counter::DtlsHelloFragmentsInconsistent), 1);
        // An older message_seq.
        table.insert(c, s, t(1), &frag(0, &b, 10, 20), &mut st);
        assert_eq!(st.get(Counter::DtlsHelloFragmentsStale), 1);
        // A newer one replaces the partial one.
        table.insert(c, s, t(1), &frag(2, &b, 10, 20), &mut st);
        assert_eq!(st.get(Counter::DtlsHellosSuperseded), 1);
        // Single bytes with holes between them: too many pieces.
        for i in (21..200).step_by(2) {
            table.insert(c, s, t(1), &frag(2, &b, i, i + 1), &mut st);
        }
        assert_eq!(st.get(Counter::DtlsHellosTooFragmented), 1);
        assert_eq!(table.held_bytes(), 0);
        // Refused: nothing more is held for it.
        let rest = table.insert(c, s, t(1), &frag(2, &b, 0, 200), &mut st);
        assert_eq!(rest, None);
        table.finish(&mut st);
        assert_eq!(st.get(Counter::DtlsHellosUnfinished), 0);
        assert!(table.is_empty());
    }

    #[test]
    fn many_half_hellos_hold_the_caps() {
        let b = body(4000);
        let s = addr("10.0.0.2:4433");
        let mut table = DtlsHelloTable::new(50, 16 * 1024);
        table.max_held = 20 * 4096;
        let mut st = Stats::default();
        for i in 0..200u16 {
            let c = SocketAddr::from(([10, 1, 0, 1], 10_000 + i));
            table.insert(c, s, t(1), &frag(0, &b, 3000, 4000), &mut st);
            assert!(table.len() <= 50);
            assert!(table.held_bytes() <= 20 * 4096);
        }
        assert_eq!(st.get(Counter::DtlsFragmentedHellos), 200);
        let evicted = st.get(Counter::DtlsHellosEvicted);
        assert_eq!(evicted, table.evictions);
        assert_eq!(evicted + table.len() as u64, 200);
        table.finish(&mut st);
        assert_eq!(st.get(Counter::DtlsHellosUnfinished) + evicted, 200);
        assert_eq!(table.held_bytes(), 0);
    }
}
