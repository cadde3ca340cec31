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

use super::stream::{Dir, Interest, StreamCx};
use super::Counter;
use crate::event::EventKind;
#[cfg(feature = "ja4plus")]
use crate::fingerprint::ssh::ja4ssh::{Ja4SshMeter, Side};
use crate::fingerprint::ssh::{Hassh, Ident, KexInit, ProtoFamily, Role, SshItem, SshReader};

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
    /// Client-to-server and server-to-client readers (indexed by `Dir`).
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
    pending: Vec<Counted>,
}

#[cfg(feature = "ja4plus")]
#[derive(Debug, Clone, Copy)]
enum Counted {
    Packet(Side, usize),
    Ack(Side),
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
    fn feed(&mut self, cx: &mut StreamCx<'_>, dir: Dir, data: &[u8]) {
        let mut ident = None;
        let mut kex = None;
        let mut unreadable = false;
        self.readers[dir as usize].feed(data, |item| match item {
            SshItem::Ident { line, .. } => ident = Some(line.to_vec()),
            SshItem::KexInit(payload) => {
                kex = Some(KexInit::parse(payload).map(|k| match dir {
                    Dir::ToServer => Hassh::client(&k),
                    Dir::ToClient => Hassh::server(&k),
                }))
            }
            SshItem::KexInitUnreadable => unreadable = true,
            SshItem::NewKeys => {}
        });
        if let Some(line) = ident {
            if dir == Dir::ToServer {
                let server = &mut self.readers[Dir::ToClient as usize];
                match Ident::parse(&line).map(|i| i.family()) {
                    // A `SSH-1.99` server follows the client's choice.
                    Some(ProtoFamily::V1) => server.set_family(ProtoFamily::V1),
                    Some(ProtoFamily::V2) => {}
                    // Not an SSH client: no binary packets either way.
                    None => server.set_unframed(),
                }
            }
            self.idents[dir as usize] = Some(line);
        }
        if unreadable {
            cx.stats.bump(Counter::SshKexinitUnreadable);
        }
        match kex {
            Some(Ok(h)) => self.hassh[dir as usize] = Some(h),
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
    fn classify(&self, cx: &StreamCx<'_>, dir: Dir, len: usize) -> Option<Counted> {
        let side = side_of(dir);
        if cx.retransmission {
            None // replays are not SSH packets
        } else if self.readers[dir as usize].is_ssh_segment(len) {
            Some(Counted::Packet(side, len))
        } else if cx.tcp_flags.0 == crate::decode::TcpFlags::ACK {
            Some(Counted::Ack(side))
        } else {
            None
        }
    }

    fn count(&mut self, cx: &mut StreamCx<'_>, c: Counted) {
        match c {
            Counted::Packet(side, len) => {
                if let Some(v) = self.ja4ssh.meter.ssh_packet(side, len) {
                    self.push_value(cx, v.to_string());
                }
            }
            Counted::Ack(side) => self.ja4ssh.meter.bare_ack(side),
        }
    }

    /// Hands the meter the bare ACKs the TCP layer counted since last time.
    fn sync_acks(&mut self, cx: &StreamCx<'_>) {
        for (i, side) in [Side::Client, Side::Server].into_iter().enumerate() {
            let new = cx.bare_acks[i].saturating_sub(self.ja4ssh.acks_seen[i]);
            for _ in 0..new {
                self.ja4ssh.meter.bare_ack(side);
            }
            self.ja4ssh.acks_seen[i] = cx.bare_acks[i];
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
        for c in std::mem::take(&mut self.ja4ssh.pending) {
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

#[cfg(feature = "ja4plus")]
fn side_of(dir: Dir) -> Side {
    match dir {
        Dir::ToServer => Side::Client,
        Dir::ToClient => Side::Server,
    }
}

impl SshConn {
    /// Heap bytes held: the boxed session and its line buffers (for the
    /// memory budget).
    pub fn heap_bytes(&self) -> usize {
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

    pub fn new() -> Self {
        SshConn::default()
    }

    /// The next in-order bytes of `dir`, at stream offset `offset`.
    pub fn on_data(
        &mut self,
        cx: &mut StreamCx<'_>,
        dir: Dir,
        _offset: u64,
        data: &[u8],
    ) -> Interest {
        self.state = match std::mem::take(&mut self.state) {
            State::Fresh => self.probe(cx, Session::new(), dir, data),
            State::Probing(s) => self.probe(cx, s, dir, data),
            State::Ssh(mut s) => {
                s.feed(cx, dir, data);
                s.report(cx);
                State::Ssh(s)
            }
            State::NotSsh => State::NotSsh,
        };
        match &self.state {
            State::Fresh | State::Probing(_) => Interest::More,
            State::Ssh(s) if !s.readers[dir as usize].is_finished() => Interest::More,
            State::Ssh(_) | State::NotSsh => Interest::Done,
        }
    }

    /// Feeds bytes while undecided and decides when the bytes allow it.
    fn probe(&self, cx: &mut StreamCx<'_>, mut s: Box<Session>, dir: Dir, data: &[u8]) -> State {
        s.feed(cx, dir, data);
        match (dir, s.readers[dir as usize].starts_with_ssh()) {
            (_, Some(true)) => {
                #[cfg(feature = "ja4plus")]
                s.replay_pending(cx);
                s.report(cx);
                State::Ssh(s)
            }
            // A server that does not start with `SSH-` is not an SSH server.
            (Dir::ToClient, Some(false)) => State::NotSsh,
            _ => State::Probing(s),
        }
    }

    /// Every payload segment of the flow (JA4SSH counts them).
    pub fn on_segment(&mut self, cx: &mut StreamCx<'_>, dir: Dir, payload_len: usize) {
        #[cfg(feature = "ja4plus")]
        {
            if let State::Fresh = self.state {
                self.state = State::Probing(Session::new());
            }
            match &mut self.state {
                State::Ssh(s) => {
                    s.sync_acks(cx);
                    if let Some(c) = s.classify(cx, dir, payload_len) {
                        s.count(cx, c);
                    }
                }
                State::Probing(s) => {
                    if let Some(c) = s.classify(cx, dir, payload_len) {
                        if s.ja4ssh.pending.len() >= MAX_PENDING_SEGMENTS {
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
        let _ = (cx, dir, payload_len);
    }

    /// The flow ends.
    pub fn on_close(&mut self, cx: &mut StreamCx<'_>) {
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
