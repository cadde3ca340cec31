//! SSH on any port: a connection is SSH when either direction starts with
//! `SSH-`. Emits `ssh_client_banner` for the client's identification line,
//! `ssh_kex_fingerprint` once both KEXINITs are read and, with `ja4plus`,
//! `ssh_session_fingerprint` (every JA4SSH value) at flow end.
//!
//! The byte-level work lives in [`crate::fingerprint::ssh`]; this file
//! decides whether a connection is SSH and turns findings into events.
//! A client that speaks first without `SSH-` is kept on probation until the
//! server's first bytes decide: its line is then reported as the banner
//! (odd banners are what a honeypot wants to see).

use super::{FlowObserver, Interest, Segment, StreamAnalyzer, StreamCx};
use crate::event::EventKind;
#[cfg(feature = "ja4plus")]
use crate::fingerprint::ssh::ja4ssh::Ja4SshMeter;
use crate::fingerprint::ssh::{Hassh, Ident, KexInit, ProtoFamily, Role, SshItem, SshReader};
use crate::flow::Side;
use crate::stats::Counter;

/// The identification line every SSH speaker starts with.
const IDENT_PREFIX: &[u8] = b"SSH-";

/// Segments remembered while it is not yet known whether the connection
/// is SSH; a connection that needs more is not SSH.
#[cfg(feature = "ja4plus")]
const MAX_PENDING_SEGMENTS: usize = 16;

/// JA4SSH values kept per connection (one per 200 packets: 51,200
/// packets); later ones are counted and dropped.
#[cfg(feature = "ja4plus")]
const MAX_JA4SSH_VALUES: usize = 256;

/// Per-connection SSH state.
#[derive(Debug, Default)]
pub struct SshConn {
    state: State,
}

#[derive(Debug, Default)]
enum State {
    /// No payload yet.
    #[default]
    Fresh,
    /// Payload seen, but no direction has started with `SSH-` yet.
    Probing(Box<Session>),
    Ssh(Box<Session>),
    NotSsh,
}

#[derive(Debug)]
struct Session {
    /// Client-to-server and server-to-client readers (indexed by `Side`).
    readers: [SshReader; 2],
    /// Identification lines as reported (at most 255 bytes each).
    idents: [Option<Vec<u8>>; 2],
    banner_emitted: bool,
    hassh: [Option<Hassh>; 2],
    kex_emitted: bool,
    #[cfg(feature = "ja4plus")]
    ja4ssh: Ja4SshState,
}

#[cfg(feature = "ja4plus")]
#[derive(Debug, Default)]
struct Ja4SshState {
    meter: Ja4SshMeter,
    /// Bare ACKs of each side already handed to the meter.
    acks_seen: [u32; 2],
    values: Vec<String>,
    /// Segments counted while probing, replayed once SSH is certain.
    pending: Pending,
}

#[cfg(feature = "ja4plus")]
#[derive(Debug, Clone, Copy)]
enum Counted {
    /// An SSH packet and its TCP payload length (JA4SSH reads it as u32).
    Packet(Side, u32),
    Ack(Side),
}

/// The segments remembered while probing, in a fixed array: every TCP
/// flow with payload starts out probing, and a growing vector cost each
/// of them an allocation.
#[cfg(feature = "ja4plus")]
#[derive(Debug, Default)]
struct Pending {
    len: usize,
    items: [Option<Counted>; MAX_PENDING_SEGMENTS],
}

#[cfg(feature = "ja4plus")]
impl Pending {
    fn is_full(&self) -> bool {
        self.len >= MAX_PENDING_SEGMENTS
    }

    fn push(&mut self, c: Counted) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(c);
            self.len += 1;
        }
    }

    /// The remembered segments in order; the list is left empty.
    fn take(&mut self) -> impl Iterator<Item = Counted> {
        let items = std::mem::take(&mut self.items);
        let len = std::mem::take(&mut self.len);
        items.into_iter().take(len).flatten()
    }
}

impl Session {
    fn new() -> Box<Self> {
        Box::new(Session {
            readers: [SshReader::new(Role::Client), SshReader::new(Role::Server)],
            idents: [None, None],
            banner_emitted: false,
            hassh: [None, None],
            kex_emitted: false,
            #[cfg(feature = "ja4plus")]
            ja4ssh: Ja4SshState::default(),
        })
    }

    /// Feeds one direction's bytes and keeps what they complete.
    fn feed(&mut self, cx: &mut StreamCx<'_>, side: Side, data: &[u8]) {
        let mut ident = None;
        let mut kex = None;
        let mut unreadable = false;
        self.readers[side as usize].feed(data, |item| match item {
            SshItem::Ident { line, .. } => ident = Some(line.to_vec()),
            SshItem::KexInit(payload) => {
                kex = Some(KexInit::parse(payload).map(|k| match side {
                    Side::Client => Hassh::client(&k),
                    Side::Server => Hassh::server(&k),
                }))
            }
            SshItem::KexInitUnreadable => unreadable = true,
            SshItem::NewKeys => {}
        });
        if let Some(line) = ident {
            if side == Side::Client {
                let server = &mut self.readers[Side::Server as usize];
                match Ident::parse(&line).map(|i| i.family()) {
                    // A `SSH-1.99` server follows the client's choice.
                    Some(ProtoFamily::V1) => server.set_family(ProtoFamily::V1),
                    Some(ProtoFamily::V2) => {}
                    // Not an SSH client: no binary packets either way.
                    None => server.set_unframed(),
                }
            }
            self.idents[side as usize] = Some(line);
        }
        if unreadable {
            cx.stats.bump(Counter::SshKexinitUnreadable);
        }
        match kex {
            Some(Ok(h)) => self.hassh[side as usize] = Some(h),
            Some(Err(_)) => cx.stats.bump(Counter::SshKexinitMalformed),
            None => {}
        }
    }

    /// Emits the banner and KEX events once their parts are known.
    fn report(&mut self, cx: &mut StreamCx<'_>) {
        if !self.banner_emitted {
            if let Some(line) = &self.idents[0] {
                self.banner_emitted = true;
                let mut ev = cx.event(EventKind::SshClientBanner);
                ev.push_text("ssh_version", line);
                cx.emit(ev);
            }
        }
        if !self.kex_emitted {
            if let [Some(c), Some(s)] = &self.hassh {
                self.kex_emitted = true;
                let mut ev = cx.event(EventKind::SshKexFingerprint);
                ev.push("hassh", &c.hash)
                    .push_text("hassh_string", &c.string)
                    .push("hassh_server", &s.hash)
                    .push_text("hassh_server_string", &s.string)
                    .push_text("ssh_version", self.idents[0].as_deref().unwrap_or_default())
                    .push_text(
                        "ssh_server_version",
                        self.idents[1].as_deref().unwrap_or_default(),
                    );
                crate::fingerprint::clients::label_event(&mut ev);
                cx.emit(ev);
            }
        }
    }
}

/// JA4SSH bookkeeping (FoxIO License 1.1).
#[cfg(feature = "ja4plus")]
impl Session {
    /// Classifies a payload segment before its bytes are fed: an SSH packet,
    /// a payload-carrying bare ACK, or nothing.
    fn classify(&self, seg: &Segment) -> Option<Counted> {
        let (side, len) = (seg.side, seg.payload_len);
        if seg.retransmission {
            None // replays are not SSH packets
        } else if self.readers[side as usize].is_ssh_segment(len) {
            Some(Counted::Packet(
                side,
                u32::try_from(len).unwrap_or(u32::MAX),
            ))
        } else if seg.flags.0 == crate::decode::TcpFlags::ACK {
            Some(Counted::Ack(side))
        } else {
            None
        }
    }

    fn count(&mut self, cx: &mut StreamCx<'_>, c: Counted) {
        match c {
            Counted::Packet(side, len) => {
                if let Some(v) = self.ja4ssh.meter.ssh_packet(side, len as usize) {
                    self.push_value(cx, v.to_string());
                }
            }
            Counted::Ack(side) => self.ja4ssh.meter.bare_ack(side),
        }
    }

    /// Hands the meter the bare ACKs [`BareAcks`] counted since last time.
    fn sync_acks(&mut self, cx: &StreamCx<'_>) {
        let counted = cx.observed.bare_acks.0;
        for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
            let new = counted[i].saturating_sub(self.ja4ssh.acks_seen[i]);
            for _ in 0..new {
                self.ja4ssh.meter.bare_ack(side);
            }
            self.ja4ssh.acks_seen[i] = counted[i];
        }
    }

    fn push_value(&mut self, cx: &mut StreamCx<'_>, v: String) {
        if self.ja4ssh.values.len() < MAX_JA4SSH_VALUES {
            self.ja4ssh.values.push(v);
        } else {
            cx.stats.bump(Counter::SshJa4sshValuesDropped);
        }
    }

    /// Counts what was remembered while probing (SSH is now certain).
    fn replay_pending(&mut self, cx: &mut StreamCx<'_>) {
        self.sync_acks(cx);
        for c in self.ja4ssh.pending.take() {
            self.count(cx, c);
        }
    }

    fn finish(&mut self, cx: &mut StreamCx<'_>) {
        self.sync_acks(cx);
        if let Some(v) = self.ja4ssh.meter.finish() {
            self.push_value(cx, v.to_string());
        }
        if self.ja4ssh.values.is_empty() {
            return;
        }
        let mut ev = cx.event(EventKind::SshSessionFingerprint);
        ev.push("ja4ssh", self.ja4ssh.values.join(","));
        cx.emit(ev);
    }
}

/// Payload-less segments whose only flag is ACK, per side (client,
/// server), from the flow's start: JA4SSH counts them, and most of them
/// come before the stream analyzers exist.
#[derive(Debug, Default, Clone, Copy)]
pub struct BareAcks(pub [u32; 2]);

impl FlowObserver for BareAcks {
    fn on_segment(&mut self, seg: &Segment) {
        if seg.is_bare_ack() {
            let n = &mut self.0[seg.side as usize];
            *n = n.saturating_add(1);
        }
    }
}

impl StreamAnalyzer for SshConn {
    /// Either side's identification line.
    fn claims(_side: Side, first: &[u8]) -> bool {
        first.starts_with(IDENT_PREFIX)
    }

    /// Heap bytes held: the boxed session and its line buffers (for the
    /// memory budget).
    fn heap_bytes(&self) -> usize {
        use crate::util::budget::heap_cost;
        match &self.state {
            State::Probing(s) | State::Ssh(s) => {
                heap_cost(std::mem::size_of::<Session>())
                    + s.readers.iter().map(|r| r.heap_bytes()).sum::<usize>()
                    + s.idents
                        .iter()
                        .flatten()
                        .map(|i| heap_cost(i.capacity()))
                        .sum::<usize>()
            }
            _ => 0,
        }
    }

    /// The next in-order bytes of `side`, at stream offset `offset`.
    fn on_data(
        &mut self,
        cx: &mut StreamCx<'_>,
        side: Side,
        _offset: u64,
        data: &[u8],
    ) -> Interest {
        // A server whose first bytes are not `SSH-` ends the probation
        // whatever its reader would make of them: they are not read.
        let server_not_ssh = side == Side::Server
            && match &self.state {
                State::Fresh => !data.starts_with(&IDENT_PREFIX[..data.len().min(4)]),
                State::Probing(s) => s.readers[Side::Server as usize].rules_out_ssh(data),
                _ => false,
            };
        if server_not_ssh {
            self.state = State::NotSsh;
            return Interest::Done;
        }
        self.state = match std::mem::take(&mut self.state) {
            State::Fresh => self.probe(cx, Session::new(), side, data),
            State::Probing(s) => self.probe(cx, s, side, data),
            State::Ssh(mut s) => {
                s.feed(cx, side, data);
                s.report(cx);
                State::Ssh(s)
            }
            State::NotSsh => State::NotSsh,
        };
        match &self.state {
            State::Fresh | State::Probing(_) => Interest::More,
            State::Ssh(s) if !s.readers[side as usize].is_finished() => Interest::More,
            State::Ssh(_) | State::NotSsh => Interest::Done,
        }
    }

    /// JA4SSH counts the segments of a connection that is or may be SSH.
    fn wants_segments(&self) -> bool {
        cfg!(feature = "ja4plus") && !matches!(self.state, State::NotSsh)
    }

    /// Every payload segment of the flow (JA4SSH counts them).
    fn on_segment(&mut self, cx: &mut StreamCx<'_>, seg: &Segment) {
        #[cfg(feature = "ja4plus")]
        {
            if let State::Fresh = self.state {
                self.state = State::Probing(Session::new());
            }
            match &mut self.state {
                State::Ssh(s) => {
                    s.sync_acks(cx);
                    if let Some(c) = s.classify(seg) {
                        s.count(cx, c);
                    }
                }
                State::Probing(s) => {
                    if let Some(c) = s.classify(seg) {
                        if s.ja4ssh.pending.is_full() {
                            self.state = State::NotSsh;
                        } else {
                            s.ja4ssh.pending.push(c);
                        }
                    }
                }
                State::Fresh | State::NotSsh => {}
            }
        }
        #[cfg(not(feature = "ja4plus"))]
        let _ = (cx, seg);
    }

    /// The flow ends.
    fn on_close(&mut self, cx: &mut StreamCx<'_>) {
        let State::Ssh(s) = &mut self.state else {
            return;
        };
        if !s.banner_emitted {
            // A client that sent its line without LF.
            if let Some(line) = s.readers[0].unreported_ident() {
                s.idents[0] = Some(line.to_vec());
                s.report(cx);
            }
        }
        #[cfg(feature = "ja4plus")]
        s.finish(cx);
    }
}

impl SshConn {
    /// Feeds bytes while undecided and decides when the bytes allow it.
    fn probe(&self, cx: &mut StreamCx<'_>, mut s: Box<Session>, side: Side, data: &[u8]) -> State {
        s.feed(cx, side, data);
        match (side, s.readers[side as usize].starts_with_ssh()) {
            (_, Some(true)) => {
                #[cfg(feature = "ja4plus")]
                s.replay_pending(cx);
                s.report(cx);
                State::Ssh(s)
            }
            // A server that does not start with `SSH-` is not an SSH server.
            (Side::Server, Some(false)) => State::NotSsh,
            _ => State::Probing(s),
        }
    }
}
