//! From client datagrams to complete ClientHellos: per-connection state over
//! the pieces of this module, with bounded tables and bounded work.
//!
//! A connection is the (client, server) address pair. Its entry is created
//! only once an Initial from it decrypts, so junk never takes a slot. The
//! entry keeps the 44 bytes of Initial keying material rather than ciphers,
//! and a partial ClientHello capped at `max_hello_bytes`; all partial
//! ClientHellos together are capped at `max_held_bytes`. Once the
//! ClientHello is complete the entry keeps only the keys: the client's next
//! few Initials are decrypted in case a HelloRetryRequest brings a second
//! ClientHello (CRYPTO offsets continuing the stream). After that, or once
//! a ClientHello is refused, the entry is a tombstone and the connection's
//! later Initials are not decrypted again. A Retry changes the keys: the
//! client's next Initial opens a new entry.
//!
//! After the server answers, the client addresses its Initials to the
//! connection ID the server chose, still protected with the keys of the
//! first one (RFC 9001 section 5.2). The server's long headers show that ID
//! in clear, so [`InitialCollector::on_server_datagram`] records it: those
//! Initials are then recognised without any decryption attempt.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::budget::{BudgetConfig, DecryptBudget, Refusal};
use super::crypto_stream::{AssembleError, ClientHelloAssembler, Progress};
use super::decrypt::{open_long, DecryptError};
use super::frames::{Frame, FrameError, Frames};
use super::header::{
    starts_with_known_long_header, InitialPacket, LongHeaderPacket, Packets, Tail, Version,
};
use super::keys::InitialSecrets;
use crate::util::counter::Counter;
use crate::util::lru::Lru;
use crate::util::time::Timestamp;

/// Where the collector reports what it did and what it skipped; the engine
/// forwards these to its statistics.
pub trait Counters {
    fn count(&mut self, counter: Counter);
}

/// Counts by name (the tests read them back by name).
impl Counters for BTreeMap<&'static str, u64> {
    fn count(&mut self, counter: Counter) {
        *self.entry(counter.name()).or_insert(0) += 1;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Connections tracked at once (pending and finished).
    pub max_connections: usize,
    /// Largest ClientHello accepted, handshake header included.
    pub max_hello_bytes: usize,
    /// Heap bytes all partial ClientHellos together may hold.
    pub max_held_bytes: usize,
    pub budget: BudgetConfig,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            max_connections: 262_144,
            max_hello_bytes: 16 * 1024,
            max_held_bytes: 64 * 1024 * 1024,
            budget: BudgetConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
struct ConnKey {
    client: SocketAddr,
    server: SocketAddr,
}

/// A connection ID held inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cid {
    len: u8,
    bytes: [u8; 20],
}

impl Cid {
    fn new(cid: &[u8]) -> Self {
        let mut bytes = [0u8; 20];
        let len = cid.len().min(20);
        bytes[..len].copy_from_slice(&cid[..len]);
        Cid {
            len: len as u8,
            bytes,
        }
    }

    fn is(&self, cid: &[u8]) -> bool {
        self.bytes.get(..usize::from(self.len)) == Some(cid)
    }
}

struct Conn {
    version: Version,
    /// The Destination Connection ID the Initial keys come from.
    dcid: Cid,
    /// The connection ID the server chose, once seen.
    server_cid: Option<Cid>,
    phase: Phase,
}

impl Conn {
    /// Whether an Initial with this version and DCID belongs here.
    fn owns(&self, version: Version, dcid: &[u8]) -> bool {
        self.version == version
            && (self.dcid.is(dcid) || self.server_cid.is_some_and(|c| c.is(dcid)))
    }

    fn held(&self) -> usize {
        match &self.phase {
            Phase::Pending { held, .. } => *held,
            Phase::Reported { .. } | Phase::Finished => 0,
        }
    }
}

enum Phase {
    Pending {
        secrets: InitialSecrets,
        largest_pn: Option<u64>,
        hello: ClientHelloAssembler,
        held: usize,
        /// Where this ClientHello starts in the Initial CRYPTO stream: 0,
        /// or the end of the first one when the server answered it with a
        /// HelloRetryRequest.
        base: u64,
    },
    /// The first ClientHello was reported. After a HelloRetryRequest the
    /// client sends a second one on the same keys, in CRYPTO frames from
    /// `next_offset` on (RFC 9001 4.1.3); the first few Initials are
    /// decrypted to look for it.
    Reported {
        secrets: InitialSecrets,
        largest_pn: Option<u64>,
        next_offset: u64,
        tries: u8,
    },
    /// The ClientHello(s) were reported or refused.
    Finished,
}

/// Client Initials decrypted after the first ClientHello in search of a
/// second one (acknowledgements of the server's Initials come first).
const INITIALS_AFTER_HELLO: u8 = 4;

/// A complete ClientHello from a client's Initial packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassembledHello {
    pub version: Version,
    /// The handshake message: type 1, 3-byte length, body.
    pub message: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a QUIC long-header datagram of a version we know.
    NotQuic,
    /// QUIC; a ClientHello when this datagram completed one.
    Quic(Option<ReassembledHello>),
}

pub struct InitialCollector {
    cfg: CollectorConfig,
    conns: Lru<ConnKey, Conn>,
    budget: DecryptBudget,
    /// Heap bytes held by partial ClientHellos.
    held: usize,
    /// Reused copy of the packet being decrypted in place.
    scratch: Vec<u8>,
}

impl InitialCollector {
    pub fn new(cfg: CollectorConfig) -> Self {
        InitialCollector {
            cfg,
            conns: Lru::new(cfg.max_connections),
            budget: DecryptBudget::new(cfg.budget),
            held: 0,
            scratch: Vec::new(),
        }
    }

    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Handles one UDP datagram sent by `client` to `server` at packet time
    /// `ts`.
    pub fn on_datagram(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        ts: Timestamp,
        payload: &[u8],
        counters: &mut dyn Counters,
    ) -> Outcome {
        let key = ConnKey { client, server };
        if !starts_with_known_long_header(payload) {
            // A short-header packet of a connection we follow is still QUIC.
            let short = payload.first().is_some_and(|b| b & 0xc0 == 0x40);
            return if short && self.conns.contains(&key) {
                Outcome::Quic(None)
            } else {
                Outcome::NotQuic
            };
        }
        let mut hello = None;
        let mut packets = Packets::new(payload);
        for packet in packets.by_ref() {
            if let LongHeaderPacket::Initial(p) = packet {
                if let Some(h) = self.on_initial(key, &p, ts, counters) {
                    hello = Some(h);
                }
            }
        }
        if let Some(Tail::Error(_)) = packets.tail() {
            counters.count(Counter::QuicHeaderErrors);
        }
        Outcome::Quic(hello)
    }

    /// Handles a datagram the server of a connection sent back to its
    /// client: no decryption, only the connection ID the server chose
    /// (the Source Connection ID of its Initial and Handshake packets).
    /// Returns whether it was QUIC of a known connection.
    pub fn on_server_datagram(
        &mut self,
        server: SocketAddr,
        client: SocketAddr,
        payload: &[u8],
    ) -> bool {
        let key = ConnKey { client, server };
        let Some(conn) = self.conns.get_mut(&key) else {
            return false;
        };
        if !starts_with_known_long_header(payload) {
            return payload.first().is_some_and(|b| b & 0xc0 == 0x40);
        }
        // A Retry ends the walk before any packet (it has no Length), so
        // its SCID, which starts a new key schedule, is never taken here:
        // the client's next Initial opens a new entry, as a first one would.
        if let Some(p) = Packets::new(payload).next() {
            if p.version() == conn.version {
                conn.server_cid = Some(Cid::new(p.scid()));
            }
        }
        true
    }

    fn on_initial(
        &mut self,
        key: ConnKey,
        p: &InitialPacket<'_>,
        ts: Timestamp,
        counters: &mut dyn Counters,
    ) -> Option<ReassembledHello> {
        // Keys of the connection when this packet belongs to it; else this
        // may open a new one (first Initial, or again after a Retry).
        let stored = match self.conns.peek(&key) {
            Some(conn) if conn.owns(p.version, p.dcid) => match &conn.phase {
                Phase::Finished => {
                    counters.count(Counter::QuicInitialsAfterHello);
                    return None;
                }
                Phase::Reported { tries, .. } if *tries >= INITIALS_AFTER_HELLO => {
                    counters.count(Counter::QuicInitialsAfterHello);
                    return None;
                }
                Phase::Pending {
                    secrets,
                    largest_pn,
                    ..
                }
                | Phase::Reported {
                    secrets,
                    largest_pn,
                    ..
                } => Some((*secrets, *largest_pn)),
            },
            _ => None,
        };

        let evictions = self.budget.evictions;
        let spent = self.budget.try_spend(key.client.ip(), ts);
        if self.budget.evictions != evictions {
            counters.count(Counter::QuicBudgetSourceEvictions);
        }
        if let Err(refusal) = spent {
            counters.count(Counter::QuicDecryptSkipped);
            if refusal == Refusal::Global {
                counters.count(Counter::QuicDecryptSkippedGlobal);
            }
            return None;
        }

        let (secrets, largest_pn) =
            stored.unwrap_or_else(|| (InitialSecrets::client(p.version, p.dcid), None));
        self.scratch.clear();
        self.scratch.extend_from_slice(p.bytes);
        let opened = match open_long(
            &secrets.ciphers(),
            &mut self.scratch,
            p.pn_offset,
            largest_pn,
        ) {
            Ok(o) => o,
            Err(DecryptError::TooShort) => {
                counters.count(Counter::QuicInitialsTooShort);
                return None;
            }
            Err(DecryptError::Authentication) => {
                counters.count(Counter::QuicDecryptFailed);
                return None;
            }
        };
        counters.count(Counter::QuicInitialsDecrypted);

        if stored.is_none() {
            self.open_connection(key, p, secrets, counters);
        }
        let result = self.feed(
            key,
            opened.pn,
            opened.payload_start,
            opened.payload_end,
            counters,
        );
        self.enforce_memory(counters);
        result
    }

    /// Starts (or restarts) the connection's entry after a first decryption.
    fn open_connection(
        &mut self,
        key: ConnKey,
        p: &InitialPacket<'_>,
        secrets: InitialSecrets,
        counters: &mut dyn Counters,
    ) {
        let conn = Conn {
            version: p.version,
            dcid: Cid::new(p.dcid),
            server_cid: None,
            phase: Phase::Pending {
                secrets,
                largest_pn: None,
                hello: ClientHelloAssembler::new(self.cfg.max_hello_bytes),
                held: 0,
                base: 0,
            },
        };
        if let Some(old) = self.conns.remove(&key) {
            self.held = self.held.saturating_sub(old.held());
        }
        if let Some((_, evicted)) = self.conns.insert(key, conn) {
            counters.count(Counter::QuicConnEvictions);
            self.held = self.held.saturating_sub(evicted.held());
        }
    }

    /// Feeds the decrypted frames in `scratch[start..end]` to the
    /// connection's ClientHello.
    fn feed(
        &mut self,
        key: ConnKey,
        pn: u64,
        start: usize,
        end: usize,
        counters: &mut dyn Counters,
    ) -> Option<ReassembledHello> {
        let conn = self.conns.get_mut(&key)?;
        let version = conn.version;
        let payload = self.scratch.get(start..end).unwrap_or(&[]);
        if let Phase::Reported {
            secrets,
            largest_pn,
            next_offset,
            tries,
        } = &mut conn.phase
        {
            *largest_pn = Some(largest_pn.map_or(pn, |l| l.max(pn)));
            let second = Frames::new(payload)
                .any(|f| matches!(f, Ok(Frame::Crypto { offset, .. }) if offset >= *next_offset));
            if !second {
                *tries += 1;
                return None;
            }
            counters.count(Counter::QuicHellosAfterRetryRequest);
            conn.phase = Phase::Pending {
                secrets: *secrets,
                largest_pn: *largest_pn,
                hello: ClientHelloAssembler::new(self.cfg.max_hello_bytes),
                held: 0,
                base: *next_offset,
            };
        }
        let Phase::Pending {
            largest_pn,
            hello,
            held,
            base,
            ..
        } = &mut conn.phase
        else {
            return None;
        };
        *largest_pn = Some(largest_pn.map_or(pn, |l| l.max(pn)));
        let mut outcome: Result<Progress, AssembleError> = Ok(Progress::NeedMore);
        for frame in Frames::new(payload) {
            match frame {
                // Before `base`: the first ClientHello again (a retransmission).
                Ok(Frame::Crypto { offset, .. }) if offset < *base => {}
                Ok(Frame::Crypto { offset, data }) => {
                    outcome = hello.insert(offset - *base, data);
                    if !matches!(outcome, Ok(Progress::NeedMore)) {
                        break;
                    }
                }
                Ok(_) => {}
                Err(FrameError::Unsupported(_)) => {
                    counters.count(Counter::QuicFramesUnsupported);
                    break;
                }
                Err(FrameError::Malformed) => {
                    counters.count(Counter::QuicFramesMalformed);
                    break;
                }
            }
        }
        let now_held = hello.held_bytes();
        self.held = self.held.saturating_sub(*held).saturating_add(now_held);
        *held = now_held;
        match outcome {
            Ok(Progress::NeedMore) => None,
            Ok(Progress::Complete) => {
                let Phase::Pending {
                    hello,
                    secrets,
                    largest_pn,
                    base,
                    ..
                } = self.finish(key)?
                else {
                    return None;
                };
                counters.count(Counter::QuicClientHellos);
                let message = hello.into_message()?;
                if base == 0 {
                    // Keep the keys: a HelloRetryRequest brings a second one.
                    if let Some(conn) = self.conns.get_mut(&key) {
                        conn.phase = Phase::Reported {
                            secrets,
                            largest_pn,
                            next_offset: message.len() as u64,
                            tries: 0,
                        };
                    }
                }
                Some(ReassembledHello { version, message })
            }
            Err(e) => {
                counters.count(match e {
                    AssembleError::BeyondCap => Counter::QuicHelloBeyondCap,
                    AssembleError::TooLarge(_) => Counter::QuicHelloTooLarge,
                    AssembleError::NotClientHello(_) => Counter::QuicHelloNotClientHello,
                    AssembleError::TooFragmented => Counter::QuicHelloTooFragmented,
                });
                self.finish(key);
                None
            }
        }
    }

    /// Turns the entry into a tombstone; returns the phase it was in.
    fn finish(&mut self, key: ConnKey) -> Option<Phase> {
        let conn = self.conns.get_mut(&key)?;
        let held = conn.held();
        let old = std::mem::replace(&mut conn.phase, Phase::Finished);
        self.held = self.held.saturating_sub(held);
        Some(old)
    }

    /// Heap bytes of the connection table and the partial ClientHellos
    /// (for the memory budget).
    pub fn footprint(&self) -> usize {
        self.held + self.conns.len() * Lru::<ConnKey, Conn>::entry_bytes()
    }

    /// Evicts the least recently used connection, unless it is the only
    /// one (the newest is never refused); false when nothing was evicted.
    pub fn evict_oldest(&mut self, counters: &mut dyn Counters) -> bool {
        if self.conns.len() <= 1 {
            return false;
        }
        let Some((_, conn)) = self.conns.pop_oldest() else {
            return false;
        };
        if let Phase::Pending { held, .. } = conn.phase {
            self.held = self.held.saturating_sub(held);
            counters.count(Counter::QuicPendingEvictions);
        }
        true
    }

    /// Evicts the least recently used connections while partial
    /// ClientHellos hold more than allowed.
    fn enforce_memory(&mut self, counters: &mut dyn Counters) {
        while self.held > self.cfg.max_held_bytes {
            let Some((_, conn)) = self.conns.pop_oldest() else {
                break;
            };
            if let Phase::Pending { held, .. } = conn.phase {
                self.held = self.held.saturating_sub(held);
                counters.count(Counter::QuicPendingEvictions);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::budget::BucketConfig;
    use super::super::test_vectors::*;
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn rfc_hello() -> Vec<u8> {
        // The CRYPTO frame header is 4 bytes: type 06, offset 00, length 40f1.
        hex(CLIENT_CRYPTO_FRAME)[4..].to_vec()
    }

    #[test]
    fn rfc_client_initials_give_their_client_hello() {
        for (rfc, version) in [(&RFC9001, Version::V1), (&RFC9369, Version::V2)] {
            let mut c = InitialCollector::new(CollectorConfig::default());
            let mut n = BTreeMap::new();
            let (cl, sv) = (addr("192.0.2.1:50000"), addr("198.51.100.2:443"));
            let out = c.on_datagram(
                cl,
                sv,
                Timestamp::new(1, 0),
                &hex(rfc.client_packet),
                &mut n,
            );
            assert_eq!(
                out,
                Outcome::Quic(Some(ReassembledHello {
                    version,
                    message: rfc_hello()
                }))
            );
            assert_eq!(n.get("quic_client_hellos"), Some(&1));
            // Retransmissions of the same packet: decrypted a few times
            // (a second ClientHello could follow), never reported again.
            for _ in 0..=INITIALS_AFTER_HELLO {
                let out = c.on_datagram(
                    cl,
                    sv,
                    Timestamp::new(1, 1),
                    &hex(rfc.client_packet),
                    &mut n,
                );
                assert_eq!(out, Outcome::Quic(None));
            }
            let tries = u64::from(INITIALS_AFTER_HELLO);
            assert_eq!(n.get("quic_initials_decrypted"), Some(&(1 + tries)));
            assert_eq!(n.get("quic_initials_after_hello"), Some(&1));
            assert_eq!(n.get("quic_client_hellos"), Some(&1));
            assert_eq!(c.held_bytes(), 0);
        }
    }

    #[test]
    fn junk_is_not_quic_or_fails_cheaply() {
        let mut c = InitialCollector::new(CollectorConfig::default());
        let mut n = BTreeMap::new();
        let (cl, sv) = (addr("192.0.2.1:50000"), addr("198.51.100.2:443"));
        let t = Timestamp::new(1, 0);
        assert_eq!(
            c.on_datagram(cl, sv, t, b"\x16\xfe\xfd\x00\x00", &mut n),
            Outcome::NotQuic
        );
        assert_eq!(c.on_datagram(cl, sv, t, b"", &mut n), Outcome::NotQuic);
        // A valid-looking header over garbage: one failed attempt, no entry.
        let mut junk = hex(RFC9001.client_packet);
        junk[100] ^= 0x55;
        assert_eq!(c.on_datagram(cl, sv, t, &junk, &mut n), Outcome::Quic(None));
        assert_eq!(n.get("quic_decrypt_failed"), Some(&1));
        assert_eq!(c.connections(), 0);
    }

    fn padded(mut frames: Vec<u8>) -> Vec<u8> {
        frames.resize(frames.len().max(1162), 0);
        frames
    }

    fn big_hello(body_len: usize) -> Vec<u8> {
        let mut m = vec![
            1,
            (body_len >> 16) as u8,
            (body_len >> 8) as u8,
            body_len as u8,
        ];
        m.extend((0..body_len).map(|i| (i % 251) as u8));
        m
    }

    fn count(n: &BTreeMap<&'static str, u64>, k: &str) -> u64 {
        n.get(k).copied().unwrap_or(0)
    }

    /// The sealing helper reproduces the RFC packets byte for byte, so the
    /// packets it builds below are protected exactly as real ones.
    #[test]
    fn sealing_helper_matches_the_rfc_packets() {
        for rfc in [&RFC9001, &RFC9369] {
            let payload = padded(hex(CLIENT_CRYPTO_FRAME));
            let sealed = seal_client_initial(rfc.version, &hex(rfc.dcid), 2, &payload);
            assert_eq!(sealed, hex(rfc.client_packet));
        }
    }

    #[test]
    fn hello_across_two_initials_in_reverse_order() {
        for version in [Version::V1, Version::V2] {
            let m = big_hello(2500);
            let dcid = [0x11; 8];
            // Packet 0 holds the start (split in two frames around a PING),
            // packet 1 the rest; packet 1 arrives first.
            let mut f0 = crypto_frame(600, &m[600..1100]);
            f0.push(0x01);
            f0.extend(crypto_frame(0, &m[..600]));
            let p0 = seal_client_initial(version, &dcid, 0, &padded(f0));
            let p1 =
                seal_client_initial(version, &dcid, 1, &padded(crypto_frame(1100, &m[1100..])));
            let mut c = InitialCollector::new(CollectorConfig::default());
            let mut n = BTreeMap::new();
            let (cl, sv) = (addr("[2001:db8::1]:40000"), addr("[2001:db8::2]:443"));
            let t = Timestamp::new(5, 0);
            assert_eq!(c.on_datagram(cl, sv, t, &p1, &mut n), Outcome::Quic(None));
            assert!(c.held_bytes() >= 2504);
            let out = c.on_datagram(cl, sv, t, &p0, &mut n);
            assert_eq!(
                out,
                Outcome::Quic(Some(ReassembledHello {
                    version,
                    message: m
                }))
            );
            assert_eq!(count(&n, "quic_initials_decrypted"), 2);
            assert_eq!(c.held_bytes(), 0, "the finished entry holds nothing");
        }
    }

    #[test]
    fn coalesced_with_a_handshake_packet_and_trailing_padding() {
        let m = big_hello(300);
        let dcid = [0x22; 8];
        let mut dgram = seal_client_initial(Version::V1, &dcid, 0, &crypto_frame(0, &m));
        // A Handshake packet of the same connection (opaque to us).
        dgram.extend([0xe0, 0, 0, 0, 1, 8]);
        dgram.extend(dcid);
        dgram.extend([0, 0x40, 30]);
        dgram.extend([0x5a; 30]);
        dgram.resize(1200, 0);
        let mut c = InitialCollector::new(CollectorConfig::default());
        let mut n = BTreeMap::new();
        let out = c.on_datagram(
            addr("10.0.0.1:1234"),
            addr("10.0.0.2:443"),
            Timestamp::new(1, 0),
            &dgram,
            &mut n,
        );
        assert_eq!(
            out,
            Outcome::Quic(Some(ReassembledHello {
                version: Version::V1,
                message: m
            }))
        );
        assert_eq!(count(&n, "quic_header_errors"), 0);
    }

    #[test]
    fn new_connection_id_on_the_same_addresses_is_a_new_hello() {
        let m1 = big_hello(100);
        let m2 = big_hello(120);
        let (cl, sv) = (addr("10.0.0.1:1234"), addr("10.0.0.2:443"));
        let mut c = InitialCollector::new(CollectorConfig::default());
        let mut n = BTreeMap::new();
        let t = Timestamp::new(1, 0);
        let a = seal_client_initial(Version::V1, &[1; 8], 0, &crypto_frame(0, &m1));
        let b = seal_client_initial(Version::V1, &[2; 8], 0, &crypto_frame(0, &m2));
        assert!(
            matches!(c.on_datagram(cl, sv, t, &a, &mut n), Outcome::Quic(Some(h)) if h.message == m1)
        );
        assert!(
            matches!(c.on_datagram(cl, sv, t, &b, &mut n), Outcome::Quic(Some(h)) if h.message == m2)
        );
        assert_eq!(c.connections(), 1);
    }

    #[test]
    fn refused_hellos_are_counted_and_tombstoned() {
        let cfg = CollectorConfig {
            max_hello_bytes: 1024,
            ..CollectorConfig::default()
        };
        let mut c = InitialCollector::new(cfg);
        let mut n = BTreeMap::new();
        let (cl, sv) = (addr("10.0.0.1:1234"), addr("10.0.0.2:443"));
        let t = Timestamp::new(1, 0);
        let big = big_hello(2000);
        let p = seal_client_initial(Version::V1, &[3; 8], 0, &crypto_frame(0, &big[..900]));
        assert_eq!(c.on_datagram(cl, sv, t, &p, &mut n), Outcome::Quic(None));
        assert_eq!(count(&n, "quic_hello_too_large"), 1);
        // The rest of it is not even decrypted.
        let p = seal_client_initial(Version::V1, &[3; 8], 1, &crypto_frame(900, &big[900..]));
        assert_eq!(c.on_datagram(cl, sv, t, &p, &mut n), Outcome::Quic(None));
        assert_eq!(count(&n, "quic_initials_decrypted"), 1);
        assert_eq!(count(&n, "quic_initials_after_hello"), 1);
        // An unsupported frame ends the packet but keeps what came before.
        let m = big_hello(50);
        let mut f = crypto_frame(0, &m[..20]);
        f.extend([0x08, 0, 0]);
        f.extend(crypto_frame(20, &m[20..]));
        let p = seal_client_initial(Version::V1, &[4; 8], 0, &f);
        let cl2 = addr("10.0.0.1:1235");
        assert_eq!(c.on_datagram(cl2, sv, t, &p, &mut n), Outcome::Quic(None));
        assert_eq!(count(&n, "quic_frames_unsupported"), 1);
        let p = seal_client_initial(Version::V1, &[4; 8], 1, &crypto_frame(20, &m[20..]));
        assert!(
            matches!(c.on_datagram(cl2, sv, t, &p, &mut n), Outcome::Quic(Some(h)) if h.message == m)
        );
    }

    /// Thousands of junk Initials from one source: the work done stays at
    /// the source's budget and the rest is counted as skipped.
    #[test]
    fn flood_from_one_source_is_held_to_its_budget() {
        let mut c = InitialCollector::new(CollectorConfig::default());
        let mut n = BTreeMap::new();
        let attacker = addr("203.0.113.66:4444");
        let sv = addr("10.0.0.2:443");
        let mut junk = hex(RFC9001.client_packet);
        let len = junk.len();
        junk[len - 1] ^= 1; // bad tag: every attempt costs a full decryption
                            // 10,000 packets over 10 s of packet time.
        for i in 0..10_000u32 {
            let t = Timestamp::new(100 + i64::from(i / 1000), (i % 1000) * 1_000_000);
            // A different DCID each time defeats any per-connection caching.
            junk[6..14].copy_from_slice(&u64::from(i).to_be_bytes());
            c.on_datagram(attacker, sv, t, &junk, &mut n);
        }
        let burst = u64::from(BudgetConfig::default().per_source.burst);
        let rate = u64::from(BudgetConfig::default().per_source.per_sec);
        let attempts = count(&n, "quic_decrypt_failed");
        assert!(attempts <= burst + rate * 10, "{attempts} attempts");
        assert!(attempts >= burst + rate * 9, "{attempts} attempts");
        assert_eq!(attempts + count(&n, "quic_decrypt_skipped"), 10_000);
        assert_eq!(c.connections(), 0, "junk takes no connection slot");
        // Meanwhile another client is served.
        let m = big_hello(200);
        let p = seal_client_initial(Version::V1, &[9; 8], 0, &crypto_frame(0, &m));
        let t = Timestamp::new(110, 0);
        let out = c.on_datagram(addr("198.51.100.7:5555"), sv, t, &p, &mut n);
        assert!(matches!(out, Outcome::Quic(Some(_))));
    }

    #[test]
    fn spoofed_flood_is_held_to_the_global_budget() {
        let budget = BudgetConfig {
            per_source: BucketConfig {
                burst: 4,
                per_sec: 1,
            },
            global: BucketConfig {
                burst: 100,
                per_sec: 50,
            },
            max_sources: 1000,
        };
        let mut c = InitialCollector::new(CollectorConfig {
            budget,
            ..CollectorConfig::default()
        });
        let mut n = BTreeMap::new();
        let sv = addr("10.0.0.2:443");
        let mut junk = hex(RFC9001.client_packet);
        junk[200] ^= 1;
        for i in 0..5_000u32 {
            let src = SocketAddr::from((i.to_be_bytes(), 1000));
            c.on_datagram(src, sv, Timestamp::new(7, 0), &junk, &mut n);
        }
        assert_eq!(count(&n, "quic_decrypt_failed"), 100);
        assert_eq!(count(&n, "quic_decrypt_skipped_global"), 4_900);
    }

    #[test]
    fn partial_hellos_are_bounded_in_memory_and_count() {
        let cfg = CollectorConfig {
            max_connections: 50,
            max_held_bytes: 20 * 4096,
            budget: BudgetConfig {
                per_source: BucketConfig {
                    burst: 1000,
                    per_sec: 1000,
                },
                global: BucketConfig {
                    burst: 100_000,
                    per_sec: 100_000,
                },
                max_sources: 1000,
            },
            ..CollectorConfig::default()
        };
        let mut c = InitialCollector::new(cfg);
        let mut n = BTreeMap::new();
        let sv = addr("10.0.0.2:443");
        let m = big_hello(8000);
        // Each connection sends only a far piece: ~4 KB held, never complete.
        for i in 0..200u16 {
            let p = seal_client_initial(
                Version::V1,
                &i.to_be_bytes(),
                0,
                &crypto_frame(3000, &m[3000..4000]),
            );
            let cl = SocketAddr::from(([10, 1, 0, 1], 10_000 + i));
            c.on_datagram(cl, sv, Timestamp::new(1, 0), &p, &mut n);
            assert!(c.held_bytes() <= 20 * 4096);
            assert!(c.connections() <= 50);
        }
        assert!(count(&n, "quic_pending_evictions") > 0);
        assert_eq!(count(&n, "quic_initials_decrypted"), 200);
    }

    /// A server long header (Initial, v1) choosing `scid`; the body is
    /// opaque to the collector.
    fn server_initial(client_cid: &[u8], scid: &[u8]) -> Vec<u8> {
        let mut p = vec![0xc0, 0, 0, 0, 1, client_cid.len() as u8];
        p.extend_from_slice(client_cid);
        p.push(scid.len() as u8);
        p.extend_from_slice(scid);
        p.extend([0, 0x40, 40]);
        p.extend([0x77; 40]);
        p
    }

    #[test]
    fn initials_to_the_server_chosen_id_use_the_first_keys() {
        let (cl, sv) = (addr("10.0.0.1:1234"), addr("10.0.0.2:443"));
        let t = Timestamp::new(1, 0);
        let first = [0xa1; 8];
        let chosen = [0xb2; 5];
        let m = big_hello(2000);
        let mut c = InitialCollector::new(CollectorConfig::default());
        let mut n = BTreeMap::new();
        let p0 = seal_client_initial(Version::V1, &first, 0, &crypto_frame(0, &m[..1000]));
        assert_eq!(c.on_datagram(cl, sv, t, &p0, &mut n), Outcome::Quic(None));
        // The server answers (its datagram goes server -> client).
        assert!(c.on_server_datagram(sv, cl, &server_initial(&[], &chosen)));
        // Unknown connections are not QUIC for this collector.
        assert!(!c.on_server_datagram(sv, addr("10.0.0.1:9"), &server_initial(&[], &chosen)));
        // The rest arrives addressed to the server's ID, under the first keys.
        let p1 = seal_client_initial_keyed(
            Version::V1,
            &chosen,
            &first,
            1,
            &crypto_frame(1000, &m[1000..]),
        );
        let out = c.on_datagram(cl, sv, t, &p1, &mut n);
        assert_eq!(
            out,
            Outcome::Quic(Some(ReassembledHello {
                version: Version::V1,
                message: m
            }))
        );
        // Later Initials (ACKs) to that ID are decrypted, looking for a
        // second ClientHello, and give nothing.
        let p2 = seal_client_initial_keyed(Version::V1, &chosen, &first, 2, &[0x01; 30]);
        assert_eq!(c.on_datagram(cl, sv, t, &p2, &mut n), Outcome::Quic(None));
        assert_eq!(count(&n, "quic_initials_decrypted"), 3);
        assert_eq!(count(&n, "quic_initials_after_hello"), 0);
        assert_eq!(count(&n, "quic_decrypt_failed"), 0);
    }

    /// After a HelloRetryRequest the client sends a second ClientHello on
    /// the same keys, its CRYPTO frames continuing the stream (RFC 9001
    /// 4.1.3): it is reported too, even in pieces and after ACK-only
    /// Initials; a third is not looked for.
    #[test]
    fn second_hello_after_a_hello_retry_request() {
        let mut c = InitialCollector::new(CollectorConfig::default());
        let mut n = BTreeMap::new();
        let (cl, sv) = (addr("192.0.2.1:5000"), addr("198.51.100.1:443"));
        let t = Timestamp::new(1, 0);
        let dcid = [0x33; 8];
        let first = big_hello(300);
        let second = big_hello(1500);
        let p0 = seal_client_initial(Version::V1, &dcid, 0, &padded(crypto_frame(0, &first)));
        let want = |message: &[u8]| {
            Outcome::Quic(Some(ReassembledHello {
                version: Version::V1,
                message: message.to_vec(),
            }))
        };
        assert_eq!(c.on_datagram(cl, sv, t, &p0, &mut n), want(&first));
        // An ACK-only Initial, then the second hello in two packets, the
        // first of which also repeats the old hello's bytes.
        let ack = seal_client_initial(Version::V1, &dcid, 1, &padded(vec![0x01; 8]));
        assert_eq!(c.on_datagram(cl, sv, t, &ack, &mut n), Outcome::Quic(None));
        let base = first.len();
        let mut f2 = crypto_frame(0, &first[..50]);
        f2.extend(crypto_frame(base, &second[..900]));
        let p2 = seal_client_initial(Version::V1, &dcid, 2, &padded(f2));
        assert_eq!(c.on_datagram(cl, sv, t, &p2, &mut n), Outcome::Quic(None));
        let p3 = seal_client_initial(
            Version::V1,
            &dcid,
            3,
            &padded(crypto_frame(base + 900, &second[900..])),
        );
        assert_eq!(c.on_datagram(cl, sv, t, &p3, &mut n), want(&second));
        assert_eq!(count(&n, "quic_hellos_after_retry_request"), 1);
        assert_eq!(count(&n, "quic_client_hellos"), 2);
        // Nothing more is decrypted on this connection.
        let p4 = seal_client_initial(Version::V1, &dcid, 4, &padded(vec![0x01; 8]));
        assert_eq!(c.on_datagram(cl, sv, t, &p4, &mut n), Outcome::Quic(None));
        assert_eq!(count(&n, "quic_initials_after_hello"), 1);
        assert_eq!(c.held_bytes(), 0);
    }
}
