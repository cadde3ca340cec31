//! One direction of an SSH connection, read as a byte stream: the
//! identification line, then binary packets (RFC 4253 section 6) up to
//! SSH_MSG_NEWKEYS, after which everything is encrypted.
//!
//! The reader buffers only what it reports: the identification line (at
//! most 255 bytes) and the first KEXINIT packet (at most
//! [`MAX_KEXINIT_PACKET`] bytes). Every other packet is skipped by its
//! length without being stored, so a peer cannot make it hold more.
//!
//! It also knows where packet boundaries fall, which JA4SSH needs: see
//! [`SshReader::is_ssh_segment`].

use super::ident::{Ident, LineCollector, LineStatus, ProtoFamily};
use super::kexinit::{MSG_KEXINIT, MSG_NEWKEYS};

/// Largest KEXINIT packet we store (RFC 4253 asks implementations to
/// handle 35000-byte packets; real KEXINITs are 1-3 KiB).
pub const MAX_KEXINIT_PACKET: usize = 32 * 1024;

/// Lines a server may send before its identification line (RFC 4253
/// section 4.2 allows them) before we stop looking.
const MAX_PRELUDE_LINES: u16 = 64;

/// Which side of the connection this direction comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// What the reader found in the bytes it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshItem<'a> {
    /// The identification line without CR LF (a client's first line
    /// whatever it says; a server's first line starting with `SSH-`).
    /// Reported once: at LF, or as soon as the line passes 255 bytes.
    Ident { line: &'a [u8], truncated: bool },
    /// The first SSH_MSG_KEXINIT payload (message byte included, padding
    /// excluded), unparsed.
    KexInit(&'a [u8]),
    /// A KEXINIT larger than [`MAX_KEXINIT_PACKET`] or with a padding
    /// length that does not fit: skipped.
    KexInitUnreadable,
    /// SSH_MSG_NEWKEYS: what follows is encrypted.
    NewKeys,
}

#[derive(Debug)]
enum Phase {
    /// Reading lines until the identification line has ended.
    Ident,
    /// Collecting the 4-byte packet length.
    Length { buf: [u8; 4], have: u8 },
    /// Inside a packet body: `remaining` bytes after the length field.
    Packet {
        remaining: u64,
        /// Body bytes seen so far (only the first two matter).
        got: u64,
        /// padding_length and message code (SSH 2).
        head: [u8; 2],
        /// The KEXINIT body being stored.
        capture: Option<Vec<u8>>,
    },
    /// After SSH_MSG_NEWKEYS: nothing more can be read.
    Encrypted,
    /// Not SSH after all, or given up on.
    Stopped,
}

/// Reads one direction of an SSH connection.
#[derive(Debug)]
pub struct SshReader {
    role: Role,
    phase: Phase,
    line: LineCollector,
    ident_reported: bool,
    prelude_lines: u16,
    family: ProtoFamily,
    kexinit_done: bool,
    /// The first bytes of the direction, to tell SSH from other protocols.
    first: [u8; 4],
    first_len: u8,
    /// No binary packets will follow the identification line.
    unframed: bool,
}

impl SshReader {
    /// Heap bytes the reader holds (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.line.heap_bytes()
    }

    pub fn new(role: Role) -> Self {
        SshReader {
            role,
            phase: Phase::Ident,
            line: LineCollector::new(),
            ident_reported: false,
            prelude_lines: 0,
            family: ProtoFamily::V2,
            kexinit_done: false,
            first: [0; 4],
            first_len: 0,
            unframed: false,
        }
    }

    /// The connection will not carry binary packets (the client's first line
    /// is not an SSH identification): after its identification line this
    /// direction is not framed, and every segment counts as one packet, as
    /// in FoxIO's reference (Wireshark then stops reassembling SSH).
    pub fn set_unframed(&mut self) {
        self.unframed = true;
        if matches!(self.phase, Phase::Length { .. } | Phase::Packet { .. }) {
            self.phase = Phase::Stopped;
        }
    }

    /// Whether this direction starts with `SSH-`: `None` until enough bytes
    /// (up to four) have arrived to tell.
    pub fn starts_with_ssh(&self) -> Option<bool> {
        let got = &self.first[..usize::from(self.first_len)];
        if got != &b"SSH-"[..got.len()] {
            Some(false)
        } else if got.len() == 4 {
            Some(true)
        } else {
            None
        }
    }

    /// Whether a direction whose reader has seen no byte yet and whose
    /// first bytes are `first` cannot start with `SSH-`: what
    /// [`Self::starts_with_ssh`] would say after feeding them, without
    /// reading them.
    pub fn rules_out_ssh(&self, first: &[u8]) -> bool {
        let n = first.len().min(4);
        self.first_len == 0 && n > 0 && first[..n] != b"SSH-"[..n]
    }

    /// Packet format to use after the identification line. A reader takes
    /// it from its own line; a `SSH-1.99` server follows the client's
    /// choice, which the caller passes here.
    pub fn set_family(&mut self, family: ProtoFamily) {
        self.family = family;
    }

    pub fn family(&self) -> ProtoFamily {
        self.family
    }

    /// Whether the reader has passed SSH_MSG_NEWKEYS (or stopped): it will
    /// report nothing more.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Encrypted | Phase::Stopped)
    }

    /// The identification line received so far if it was never reported
    /// (the peer sent no LF and fewer than 256 bytes): for flow end.
    pub fn unreported_ident(&self) -> Option<&[u8]> {
        let waiting = matches!(self.phase, Phase::Ident) && !self.ident_reported;
        (waiting && !self.line.is_empty()).then(|| self.line.text())
    }

    /// Whether a TCP segment of `len` payload bytes, about to be fed,
    /// counts as an SSH packet for JA4SSH.
    ///
    /// FoxIO's reference counts the segments Wireshark hands to its SSH
    /// dissector. With TCP reassembly on, that is every segment except one
    /// that lies inside a packet whose length is already known and does
    /// not complete it. Once encrypted, Wireshark no longer knows packet
    /// lengths and every segment counts.
    pub fn is_ssh_segment(&self, len: usize) -> bool {
        match self.phase {
            Phase::Packet { remaining, .. } => u64::try_from(len).map_or(true, |l| l >= remaining),
            _ => true,
        }
    }

    /// Feeds the next in-order bytes of this direction; `on` receives what
    /// they complete.
    pub fn feed(&mut self, mut data: &[u8], mut on: impl FnMut(SshItem<'_>)) {
        let have = usize::from(self.first_len);
        let take = (4 - have).min(data.len());
        self.first[have..have + take].copy_from_slice(&data[..take]);
        self.first_len += take as u8;
        while !data.is_empty() {
            let used = match self.phase {
                Phase::Ident => self.feed_ident(data, &mut on),
                Phase::Length { .. } => self.feed_length(data),
                Phase::Packet { .. } => self.feed_packet(data, &mut on),
                Phase::Encrypted | Phase::Stopped => return,
            };
            data = data.get(used..).unwrap_or_default();
        }
    }

    fn feed_ident(&mut self, data: &[u8], on: &mut impl FnMut(SshItem<'_>)) -> usize {
        let status = self.line.push(data);
        let is_ident = self.role == Role::Client || self.line.text().starts_with(b"SSH-");
        if is_ident
            && !self.ident_reported
            && (self.line.is_truncated() || status != LineStatus::Partial)
        {
            self.ident_reported = true;
            on(SshItem::Ident {
                line: self.line.text(),
                truncated: self.line.is_truncated(),
            });
        }
        match status {
            LineStatus::Partial => data.len(),
            LineStatus::Complete { used } => {
                if is_ident {
                    let id = Ident::parse(self.line.text());
                    if let Some(id) = id {
                        self.family = id.family();
                    }
                    self.phase = if self.unframed || id.is_none() {
                        Phase::Stopped
                    } else {
                        Phase::Length {
                            buf: [0; 4],
                            have: 0,
                        }
                    };
                } else {
                    self.prelude_lines += 1;
                    if self.prelude_lines > MAX_PRELUDE_LINES {
                        self.phase = Phase::Stopped;
                    }
                }
                self.line.clear();
                used
            }
        }
    }

    fn feed_length(&mut self, data: &[u8]) -> usize {
        let Phase::Length { buf, have } = &mut self.phase else {
            return data.len();
        };
        let start = usize::from(*have);
        let take = (4 - start).min(data.len());
        buf[start..start + take].copy_from_slice(&data[..take]);
        *have += take as u8;
        if *have == 4 {
            let len = u64::from(u32::from_be_bytes(*buf));
            let remaining = match self.family {
                ProtoFamily::V2 => len,
                // SSH 1: 1-8 bytes of padding bring the body to a multiple of 8.
                ProtoFamily::V1 => len + (8 - len % 8),
            };
            self.phase = Phase::Packet {
                remaining,
                got: 0,
                head: [0; 2],
                capture: None,
            };
            if remaining == 0 {
                self.phase = Phase::Length {
                    buf: [0; 4],
                    have: 0,
                };
            }
        }
        take
    }

    fn feed_packet(&mut self, data: &[u8], on: &mut impl FnMut(SshItem<'_>)) -> usize {
        let v2 = self.family == ProtoFamily::V2;
        let Phase::Packet {
            remaining,
            got,
            head,
            capture,
        } = &mut self.phase
        else {
            return data.len();
        };
        let take = usize::try_from(*remaining).map_or(data.len(), |r| r.min(data.len()));
        let chunk = &data[..take];
        // The first two body bytes: padding length and message code.
        for (i, b) in chunk
            .iter()
            .take(2usize.saturating_sub(*got as usize))
            .enumerate()
        {
            head[*got as usize + i] = *b;
        }
        let starts_kexinit = *got < 2 && *got + take as u64 >= 2 && head[1] == MSG_KEXINIT;
        if v2 && starts_kexinit && !self.kexinit_done {
            let total = *got + *remaining;
            if total <= MAX_KEXINIT_PACKET as u64 {
                let mut v = Vec::with_capacity((total as usize).min(4096));
                v.extend_from_slice(&head[..*got as usize]);
                *capture = Some(v);
            } else {
                self.kexinit_done = true;
                on(SshItem::KexInitUnreadable);
            }
        }
        if let Some(v) = capture.as_mut() {
            v.extend_from_slice(chunk);
        }
        *got += take as u64;
        *remaining -= take as u64;
        if *remaining > 0 {
            return take;
        }
        // The packet is complete.
        let (msg, captured) = (head[1], capture.take());
        let enough_head = *got >= 2;
        self.phase = Phase::Length {
            buf: [0; 4],
            have: 0,
        };
        if let Some(body) = captured {
            self.kexinit_done = true;
            // body = padding_length, payload, padding.
            let padding = usize::from(body[0]);
            match body.len().checked_sub(1 + padding).filter(|&end| end > 0) {
                Some(end) => on(SshItem::KexInit(&body[1..1 + end])),
                None => on(SshItem::KexInitUnreadable),
            }
        }
        if v2 && enough_head && msg == MSG_NEWKEYS {
            self.phase = Phase::Encrypted;
            on(SshItem::NewKeys);
        }
        take
    }
}

#[cfg(test)]
mod tests {
    use super::super::kexinit::tests::{build, OPENSSH_LIKE};
    use super::super::kexinit::KexInit;
    use super::*;

    /// A binary packet around `payload` with `pad` bytes of padding.
    fn packet(payload: &[u8], pad: u8) -> Vec<u8> {
        let len = (payload.len() + 1 + usize::from(pad)) as u32;
        let mut p = len.to_be_bytes().to_vec();
        p.push(pad);
        p.extend_from_slice(payload);
        p.extend(std::iter::repeat_n(0xAA, usize::from(pad)));
        p
    }

    #[derive(Debug, PartialEq)]
    enum Got {
        Ident(Vec<u8>, bool),
        Kex(Vec<u8>),
        KexBad,
        NewKeys,
    }

    fn run(r: &mut SshReader, chunks: &[&[u8]]) -> Vec<Got> {
        let mut out = Vec::new();
        for c in chunks {
            r.feed(c, |it| {
                out.push(match it {
                    SshItem::Ident { line, truncated } => Got::Ident(line.to_vec(), truncated),
                    SshItem::KexInit(p) => Got::Kex(p.to_vec()),
                    SshItem::KexInitUnreadable => Got::KexBad,
                    SshItem::NewKeys => Got::NewKeys,
                })
            });
        }
        out
    }

    fn client_stream() -> (Vec<u8>, Vec<u8>) {
        let kex = build(OPENSSH_LIKE);
        let mut s = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec();
        s.extend(packet(&kex, 6));
        s.extend(packet(&[30, 1, 2, 3, 4], 10)); // KEX_ECDH_INIT
        s.extend(packet(&[MSG_NEWKEYS], 10));
        s.extend([0x5a; 64]); // encrypted
        (s, kex)
    }

    #[test]
    fn whole_stream_in_one_piece() {
        let (s, kex) = client_stream();
        let mut r = SshReader::new(Role::Client);
        let got = run(&mut r, &[&s]);
        assert_eq!(
            got,
            vec![
                Got::Ident(b"SSH-2.0-OpenSSH_9.2p1 Debian-2".to_vec(), false),
                Got::Kex(kex.clone()),
                Got::NewKeys
            ]
        );
        assert!(r.is_finished());
        assert!(KexInit::parse(&kex).is_ok());
    }

    #[test]
    fn every_split_point_gives_the_same_items() {
        let (s, _) = client_stream();
        let whole = run(&mut SshReader::new(Role::Client), &[&s]);
        for cut in 1..s.len() {
            let got = run(&mut SshReader::new(Role::Client), &[&s[..cut], &s[cut..]]);
            assert_eq!(got, whole, "cut at {cut}");
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(run(&mut SshReader::new(Role::Client), &bytes), whole);
    }

    #[test]
    fn server_prelude_lines_are_skipped() {
        let mut s = b"Welcome\r\nplease behave\n".to_vec();
        s.extend_from_slice(b"SSH-2.0-srv\r\n");
        s.extend(packet(&build(OPENSSH_LIKE), 4));
        let got = run(&mut SshReader::new(Role::Server), &[&s]);
        assert_eq!(got[0], Got::Ident(b"SSH-2.0-srv".to_vec(), false));
        assert!(matches!(got[1], Got::Kex(_)));
    }

    #[test]
    fn client_garbage_line_is_its_banner() {
        let mut r = SshReader::new(Role::Client);
        let got = run(&mut r, &[b"GET / HTTP/1.1\r\n"]);
        assert_eq!(got, vec![Got::Ident(b"GET / HTTP/1.1".to_vec(), false)]);
        // No binary packets follow a line that is not SSH: nothing is framed.
        assert!(r.is_finished());
        assert!(r.is_ssh_segment(1));
    }

    #[test]
    fn unframed_server_counts_every_segment() {
        // The server's banner came first; then the client's line showed it
        // is not SSH; sshd's complaint arrives in two segments.
        let mut r = SshReader::new(Role::Server);
        r.feed(b"SSH-2.0-srv\r\n", |_| {});
        r.feed(b"Inva", |_| {});
        assert!(!r.is_ssh_segment(2), "framed: \"Inva\" is a huge length");
        r.set_unframed();
        assert!(r.is_ssh_segment(2));
        let mut r = SshReader::new(Role::Server);
        r.set_unframed();
        let got = run(
            &mut r,
            &[b"SSH-2.0-srv\r\n", b"Invalid SSH identification string."],
        );
        assert_eq!(got, vec![Got::Ident(b"SSH-2.0-srv".to_vec(), false)]);
        assert!(r.is_ssh_segment(2));
    }

    #[test]
    fn banner_without_newline_is_bounded_and_reported_once() {
        let mut r = SshReader::new(Role::Client);
        let got = run(&mut r, &[b"SSH-2.0-", &[b'x'; 100]]);
        assert!(got.is_empty());
        assert_eq!(r.unreported_ident().map(<[u8]>::len), Some(108));
        let big = vec![b'y'; 1 << 20];
        let got = run(&mut r, &[&big, &big]);
        assert_eq!(got.len(), 1);
        let Got::Ident(line, true) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(line.len(), 255);
        assert_eq!(r.unreported_ident(), None);
    }

    #[test]
    fn lying_lengths_do_not_allocate() {
        let mut s = b"SSH-2.0-x\r\n".to_vec();
        // A KEXINIT packet that claims 4 GiB.
        s.extend_from_slice(&u32::MAX.to_be_bytes());
        s.extend_from_slice(&[4, MSG_KEXINIT]);
        s.extend_from_slice(&[0; 1000]);
        let mut r = SshReader::new(Role::Client);
        let got = run(&mut r, &[&s]);
        assert_eq!(got[1], Got::KexBad);
        assert!(!r.is_ssh_segment(1000));
        assert!(r.is_ssh_segment(u32::MAX as usize));
    }

    #[test]
    fn kexinit_padding_larger_than_packet() {
        let mut s = b"SSH-2.0-x\r\n".to_vec();
        s.extend_from_slice(&3u32.to_be_bytes());
        s.extend_from_slice(&[200, MSG_KEXINIT, 0]);
        let got = run(&mut SshReader::new(Role::Client), &[&s]);
        assert_eq!(got[1], Got::KexBad);
    }

    #[test]
    fn tiny_and_empty_packets() {
        let mut s = b"SSH-2.0-x\r\n".to_vec();
        s.extend_from_slice(&0u32.to_be_bytes());
        s.extend_from_slice(&1u32.to_be_bytes());
        s.push(0);
        s.extend(packet(&build(OPENSSH_LIKE), 4));
        let got = run(&mut SshReader::new(Role::Client), &[&s]);
        assert!(matches!(got[1], Got::Kex(_)), "{got:?}");
    }

    #[test]
    fn only_the_first_kexinit_is_reported() {
        let mut s = b"SSH-2.0-x\r\n".to_vec();
        s.extend(packet(&build(OPENSSH_LIKE), 4));
        s.extend(packet(&build(OPENSSH_LIKE), 4));
        let got = run(&mut SshReader::new(Role::Client), &[&s]);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn segment_classification_follows_packet_boundaries() {
        let mut r = SshReader::new(Role::Server);
        assert!(r.is_ssh_segment(5));
        r.feed(b"SSH-2.0-x\r\n", |_| {});
        // Nothing known about the next packet yet.
        assert!(r.is_ssh_segment(1));
        let p = packet(&[MSG_KEXINIT; 95], 4); // 104 bytes on the wire
        r.feed(&p[..40], |_| {});
        // 64 bytes of this packet are missing.
        assert!(!r.is_ssh_segment(63));
        assert!(r.is_ssh_segment(64));
        r.feed(&p[40..60], |_| {});
        assert!(!r.is_ssh_segment(20));
        r.feed(&p[60..], |_| {});
        assert!(r.is_ssh_segment(1));
        // Only the length prefix seen: Wireshark asks for the rest by length.
        r.feed(&[0, 0, 0, 12], |_| {});
        assert!(!r.is_ssh_segment(11));
        assert!(r.is_ssh_segment(12));
        r.feed(&[10, MSG_NEWKEYS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], |_| {});
        assert!(r.is_finished());
        assert!(r.is_ssh_segment(1));
    }

    /// Random corruptions of a valid stream, cut at random points: no panic,
    /// no buffer beyond its cap, every KEXINIT handed out within the cap.
    #[test]
    fn corrupted_streams_are_survived() {
        let (clean, _) = client_stream();
        let mut next = crate::util::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let mut s = clean.clone();
            for _ in 0..(next() % 8) {
                let i = (next() as usize) % s.len();
                s[i] = next() as u8;
            }
            for role in [Role::Client, Role::Server] {
                let mut r = SshReader::new(role);
                let mut rest = &s[..];
                while !rest.is_empty() {
                    let n = 1 + (next() as usize) % rest.len();
                    let _ = r.is_ssh_segment(n);
                    r.feed(&rest[..n], |it| {
                        if let SshItem::KexInit(p) = it {
                            assert!(p.len() <= MAX_KEXINIT_PACKET);
                            let _ = KexInit::parse(p);
                        }
                    });
                    rest = &rest[n..];
                }
                assert!(r.line.text().len() <= super::super::ident::MAX_IDENT_LEN);
            }
        }
    }

    #[test]
    fn first_bytes_tell_ssh_apart() {
        let mut r = SshReader::new(Role::Server);
        assert_eq!(r.starts_with_ssh(), None);
        r.feed(b"SS", |_| {});
        assert_eq!(r.starts_with_ssh(), None);
        r.feed(b"H-2.0-x\r\n", |_| {});
        assert_eq!(r.starts_with_ssh(), Some(true));
        let mut r = SshReader::new(Role::Client);
        r.feed(b"S", |_| {});
        r.feed(b"SL", |_| {});
        assert_eq!(r.starts_with_ssh(), Some(false));
        let mut r = SshReader::new(Role::Client);
        r.feed(b"\x16\x03\x01", |_| {});
        assert_eq!(r.starts_with_ssh(), Some(false));
    }

    /// `rules_out_ssh` answers what `starts_with_ssh` would after feeding,
    /// for a reader that has seen nothing, and never guesses after that.
    #[test]
    fn first_bytes_rule_out_ssh_without_reading() {
        let inputs: [&[u8]; 7] = [
            b"",
            b"S",
            b"SSH",
            b"SSH-2.0-x",
            b"SSX",
            b"\x16\x03",
            b"HTTP/1.1",
        ];
        for first in inputs {
            let r = SshReader::new(Role::Server);
            let mut fed = SshReader::new(Role::Server);
            fed.feed(first, |_| {});
            assert_eq!(
                r.rules_out_ssh(first),
                fed.starts_with_ssh() == Some(false),
                "{first:?}"
            );
            if !first.is_empty() {
                assert!(!fed.rules_out_ssh(b"xx"), "{first:?}: bytes already seen");
            }
        }
    }

    /// Wireshark's reassembly, observed with tshark 4.0 on crafted streams: a
    /// packet that starts in the tail of a segment makes the next segments
    /// continuations until it is complete, whether that segment completed an
    /// earlier packet or began fresh.
    #[test]
    fn packets_starting_in_a_segment_tail() {
        let p1 = packet(&[2; 149], 0); // 154 bytes
        let p2 = packet(&[2; 295], 0); // 300 bytes
        let data = [p1.clone(), p2.clone()].concat();
        let mut r = SshReader::new(Role::Server);
        r.feed(b"SSH-2.0-srv\r\n", |_| {});
        let mut counted = Vec::new();
        for seg in [
            &data[..100],
            &data[100..200],
            &data[200..300],
            &data[300..400],
            &data[400..],
        ] {
            counted.push(r.is_ssh_segment(seg.len()));
            r.feed(seg, |_| {});
        }
        assert_eq!(counted, [true, true, false, false, true]);

        let mut r = SshReader::new(Role::Server);
        r.feed(b"SSH-2.0-srv\r\n", |_| {});
        let mut counted = Vec::new();
        for seg in [&data[..200], &data[200..300], &data[300..400], &data[400..]] {
            counted.push(r.is_ssh_segment(seg.len()));
            r.feed(seg, |_| {});
        }
        assert_eq!(counted, [true, false, false, true]);
    }

    #[test]
    fn ssh1_padding_rule() {
        let mut r = SshReader::new(Role::Client);
        r.feed(b"SSH-1.5-1.2.26\n", |_| {});
        assert_eq!(r.family(), ProtoFamily::V1);
        // length 21 -> 3 bytes of padding -> 24 body bytes.
        r.feed(&21u32.to_be_bytes(), |_| {});
        assert!(!r.is_ssh_segment(23));
        assert!(r.is_ssh_segment(24));
        // length 8 -> 8 bytes of padding.
        r.feed(&[0; 24], |_| {});
        r.feed(&8u32.to_be_bytes(), |_| {});
        assert!(!r.is_ssh_segment(15));
        assert!(r.is_ssh_segment(16));
    }
}
