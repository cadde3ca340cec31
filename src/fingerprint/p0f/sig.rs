//! The p0f v3 raw signature of one SYN or SYN+ACK, built from its header
//! bytes, and its text form (what p0f 3.09b prints as `raw_sig`).
//!
//! p0f's observable behaviour is reproduced exactly, including its oddities,
//! because the text is compared character for character with p0f's output:
//! - `ack+` is set on a non-ACK segment when the lowest bit of the first
//!   acknowledgment byte on the wire is set (p0f tests the raw field in host
//!   order on little-endian machines, which is what every published log has).
//! - `opt+` is set when a non-zero byte follows EOL anywhere but in the last
//!   byte of the option space.
//! - Option parsing stops after 24 options; whatever is left counts as `bad`.

use std::fmt;

use crate::decode::{DecodeError, IpView, P0fTcpOptions, TcpFlags, TcpOption, TcpView};
use crate::util::decimal::push_u64;

/// p0f's limit on the TTL distance of a non-fuzzy match (config.h `MAX_DIST`).
pub const MAX_DIST: u8 = 35;

/// At most this many TCP options are read (config.h `MAX_TCP_OPT`).
pub const MAX_TCP_OPT: usize = 24;

/// MSS and window of p0f-sendsyn probes (config.h `SPECIAL_MSS`/`SPECIAL_WIN`).
pub const SPECIAL_MSS: u16 = 1331;
pub const SPECIAL_WIN: u16 = 1337;

/// IPv4 + TCP and IPv6 + TCP minimum header sizes.
pub const MIN_TCP4: i32 = 40;
pub const MIN_TCP6: i32 = 60;

/// Quirk bits, in the order p0f prints them.
pub mod quirk {
    pub const DF: u32 = 1 << 0;
    pub const NZ_ID: u32 = 1 << 1;
    pub const ZERO_ID: u32 = 1 << 2;
    pub const ECN: u32 = 1 << 3;
    pub const NZ_MBZ: u32 = 1 << 4;
    pub const FLOW: u32 = 1 << 5;
    pub const ZERO_SEQ: u32 = 1 << 6;
    pub const NZ_ACK: u32 = 1 << 7;
    pub const ZERO_ACK: u32 = 1 << 8;
    pub const NZ_URG: u32 = 1 << 9;
    pub const URG: u32 = 1 << 10;
    pub const PUSH: u32 = 1 << 11;
    pub const OPT_ZERO_TS1: u32 = 1 << 12;
    pub const OPT_NZ_TS2: u32 = 1 << 13;
    pub const OPT_EOL_NZ: u32 = 1 << 14;
    pub const OPT_EXWS: u32 = 1 << 15;
    pub const OPT_BAD: u32 = 1 << 16;

    /// Every quirk with its p0f.fp / raw_sig token, in print order.
    pub const NAMES: [(u32, &str); 17] = [
        (DF, "df"),
        (NZ_ID, "id+"),
        (ZERO_ID, "id-"),
        (ECN, "ecn"),
        (NZ_MBZ, "0+"),
        (FLOW, "flow"),
        (ZERO_SEQ, "seq-"),
        (NZ_ACK, "ack+"),
        (ZERO_ACK, "ack-"),
        (NZ_URG, "uptr+"),
        (URG, "urgf+"),
        (PUSH, "pushf+"),
        (OPT_ZERO_TS1, "ts1-"),
        (OPT_NZ_TS2, "ts2+"),
        (OPT_EOL_NZ, "opt+"),
        (OPT_EXWS, "exws"),
        (OPT_BAD, "bad"),
    ];
}

/// TCP option kinds p0f names.
pub mod opt {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WS: u8 = 3;
    pub const SACKOK: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TS: u8 = 8;
}

/// The option kinds of a segment in wire order (at most [`MAX_TCP_OPT`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptLayout {
    kinds: [u8; MAX_TCP_OPT],
    len: u8,
}

impl OptLayout {
    pub const EMPTY: OptLayout = OptLayout {
        kinds: [0; MAX_TCP_OPT],
        len: 0,
    };

    /// Appends a kind; false when the layout is full.
    pub fn push(&mut self, kind: u8) -> bool {
        match self.kinds.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = kind;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.kinds[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the layout as p0f does (`mss,nop,ws,sok,eol+1`).
    pub fn write(&self, eol_pad: u8, f: &mut impl fmt::Write) -> fmt::Result {
        let mut out = Vec::with_capacity(64);
        self.write_bytes(eol_pad, &mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }

    /// [`OptLayout::write`] into a byte buffer (ASCII), without `fmt`.
    pub fn write_bytes(&self, eol_pad: u8, out: &mut Vec<u8>) {
        for (i, &kind) in self.as_slice().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match kind {
                opt::EOL => {
                    out.extend_from_slice(b"eol+");
                    push_u64(out, u64::from(eol_pad));
                }
                opt::NOP => out.extend_from_slice(b"nop"),
                opt::MSS => out.extend_from_slice(b"mss"),
                opt::WS => out.extend_from_slice(b"ws"),
                opt::SACKOK => out.extend_from_slice(b"sok"),
                opt::SACK => out.extend_from_slice(b"sack"),
                opt::TS => out.extend_from_slice(b"ts"),
                other => {
                    out.push(b'?');
                    push_u64(out, u64::from(other));
                }
            }
        }
    }
}

impl fmt::Debug for OptLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OptLayout(")?;
        self.write(0, f)?;
        f.write_str(")")
    }
}

/// Why headers could not be turned into a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigError {
    /// Fewer bytes than the headers declare.
    Truncated,
    /// The first nibble is neither 4 nor 6.
    BadIpVersion,
    /// IPv4 IHL below 5 or TCP data offset below 5.
    BadHeaderLength,
    /// The segment does not carry SYN.
    NotSyn,
}

impl fmt::Display for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SigError::Truncated => "headers truncated",
            SigError::BadIpVersion => "not IPv4 or IPv6",
            SigError::BadHeaderLength => "bad header length",
            SigError::NotSyn => "not a SYN or SYN+ACK",
        })
    }
}

impl std::error::Error for SigError {}

/// Everything p0f extracts from a SYN or SYN+ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawSig {
    /// 4 or 6.
    pub ip_ver: u8,
    /// Observed TTL (IPv6: hop limit).
    pub ttl: u8,
    /// Bytes of IPv4 options (IPv6: extension headers), at most 255.
    pub ip_opt_len: u8,
    /// IPv4 TOS / IPv6 traffic class shifted right by two (p0f's `tos`).
    pub tos: u8,
    /// MSS option value, 0 when absent.
    pub mss: u16,
    pub win: u16,
    /// Window scale option value, 0 when absent.
    pub wscale: u8,
    pub layout: OptLayout,
    /// Bytes after an EOL option.
    pub eol_pad: u8,
    pub quirks: u32,
    /// The segment carries payload.
    pub has_payload: bool,
    /// IP plus TCP header bytes.
    pub tot_hdr: u16,
    /// Own timestamp (TSval), 0 when absent.
    pub ts1: u32,
    /// SYN+ACK (else SYN).
    pub syn_ack: bool,
    /// For a SYN+ACK: the MSS of the SYN it answers (p0f's `syn_mss`), 0 if
    /// unknown. Only affects how the window is expressed.
    pub peer_mss: u16,
}

impl SigError {
    fn from_decode(e: DecodeError) -> SigError {
        match e {
            DecodeError::Malformed(_) => SigError::BadHeaderLength,
            DecodeError::NotIp => SigError::BadIpVersion,
            _ => SigError::Truncated,
        }
    }
}

impl RawSig {
    /// Builds the signature from raw header bytes: the IP header (from the
    /// version nibble to the first TCP byte: IPv4 options or IPv6 extension
    /// headers included), the TCP header (options included; extra bytes
    /// past the data offset are ignored) and the payload length. For tests
    /// and tools; the engine has the decoded views ([`RawSig::from_views`]).
    pub fn from_headers(ip: &[u8], tcp: &[u8], payload_len: usize) -> Result<RawSig, SigError> {
        let ip = IpView::parse(ip).map_err(SigError::from_decode)?;
        let tcp = TcpView::new(tcp).map_err(SigError::from_decode)?;
        RawSig::from_views(&ip, &tcp, payload_len)
    }

    /// Builds the signature of a decoded SYN or SYN+ACK carrying
    /// `payload_len` bytes.
    pub fn from_views(
        ip: &IpView<'_>,
        tcp: &TcpView<'_>,
        payload_len: usize,
    ) -> Result<RawSig, SigError> {
        let mut quirks = 0u32;
        // p0f's `tos` drops the two ECN bits.
        let tos = ip.tos >> 2;
        if ip.tos & 0x03 != 0 {
            quirks |= quirk::ECN;
        }
        let ip_opt_len = match ip.version {
            4 => {
                if ip.reserved_flag {
                    quirks |= quirk::NZ_MBZ;
                }
                if ip.df {
                    quirks |= quirk::DF;
                    if ip.ident != 0 {
                        quirks |= quirk::NZ_ID;
                    }
                } else if ip.ident == 0 {
                    quirks |= quirk::ZERO_ID;
                }
                ip.options_len() as u8 // IHL caps it at 40
            }
            6 => {
                if ip.flow_label != 0 {
                    quirks |= quirk::FLOW;
                }
                // p0f never sees extension headers; their length stands in
                // for IPv4 options, as its README defines the field.
                u8::try_from(ip.options_len()).unwrap_or(u8::MAX)
            }
            _ => return Err(SigError::BadIpVersion),
        };

        let flags = tcp.flags();
        if !flags.has(TcpFlags::SYN) {
            return Err(SigError::NotSyn);
        }
        let syn_ack = flags.has(TcpFlags::ACK);
        // p0f's `tcp_type == TCP_SYN`: only SYN among SYN/ACK/FIN/RST.
        let pure_syn = !syn_ack && !flags.has(TcpFlags::FIN) && !flags.has(TcpFlags::RST);

        if flags.has(TcpFlags::ECE) || flags.has(TcpFlags::CWR) || flags.has(TcpFlags::NS) {
            quirks |= quirk::ECN;
        }
        if tcp.seq() == 0 {
            quirks |= quirk::ZERO_SEQ;
        }
        if syn_ack {
            if tcp.ack() == 0 {
                quirks |= quirk::ZERO_ACK;
            }
        } else if !flags.has(TcpFlags::RST) && tcp.ack_first_byte() & 0x01 != 0 {
            quirks |= quirk::NZ_ACK;
        }
        if flags.has(TcpFlags::URG) {
            quirks |= quirk::URG;
        } else if tcp.urgent_ptr() != 0 {
            quirks |= quirk::NZ_URG;
        }
        if flags.has(TcpFlags::PSH) {
            quirks |= quirk::PUSH;
        }

        let opts = read_options(tcp.p0f_options(), pure_syn);
        quirks |= opts.quirks;

        Ok(RawSig {
            ip_ver: ip.version,
            ttl: ip.ttl,
            ip_opt_len,
            tos,
            mss: opts.mss,
            win: tcp.window(),
            wscale: opts.wscale,
            layout: opts.layout,
            eol_pad: opts.eol_pad,
            quirks,
            has_payload: payload_len > 0,
            tot_hdr: u16::try_from(ip.header_len() + tcp.header_len()).unwrap_or(u16::MAX),
            ts1: opts.ts1,
            syn_ack,
            peer_mss: 0,
        })
    }

    /// The SYN+ACK's window is also read as a multiple of the peer's MSS.
    pub fn with_peer_mss(mut self, peer_mss: u16) -> Self {
        self.peer_mss = peer_mss;
        self
    }

    /// p0f's distance guess from the TTL alone (`guess_dist`).
    pub fn guessed_dist(&self) -> u8 {
        guess_dist(self.ttl)
    }

    /// The window as a multiple of MSS or MTU, as p0f detects it
    /// (`detect_win_multi`); `None` when it is not one.
    pub fn win_multiple(&self) -> Option<(i16, WinUnit)> {
        detect_win_multi(
            self.win,
            i32::from(self.mss),
            self.ts1,
            self.ip_ver,
            self.tot_hdr,
            self.peer_mss,
        )
    }
}

/// The MSS p0f reads from a TCP header (0 without one): what a SYN+ACK's
/// window is compared with. The last MSS option counts.
pub fn mss_of(tcp: &TcpView<'_>) -> u16 {
    let mss = |o| match o {
        TcpOption::Mss(v) => Some(v),
        _ => None,
    };
    tcp.p0f_options()
        .take(MAX_TCP_OPT)
        .filter_map(mss)
        .last()
        .unwrap_or(0)
}

/// The TSval of a segment's timestamp option as p0f reads it (0 without
/// one), for its uptime check. The last timestamp option counts.
pub fn ts1_of(tcp: &TcpView<'_>) -> u32 {
    let ts1 = |o| match o {
        TcpOption::Timestamps { value, .. } => Some(value),
        _ => None,
    };
    tcp.p0f_options()
        .take(MAX_TCP_OPT)
        .filter_map(ts1)
        .last()
        .unwrap_or(0)
}

/// Unit of a window multiple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinUnit {
    Mss,
    Mtu,
}

/// The smallest initial TTL at or above `ttl`, minus `ttl` (p0f's guess).
pub fn guess_dist(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32 - ttl,
        33..=64 => 64 - ttl,
        65..=128 => 128 - ttl,
        _ => 255 - ttl,
    }
}

/// p0f's window-multiple detection. `mss` is signed because database
/// signatures use -1 for a wildcard; the result is truncated to 16 bits as
/// p0f's is.
pub(crate) fn detect_win_multi(
    win: u16,
    mss: i32,
    ts1: u32,
    ip_ver: u8,
    tot_hdr: u16,
    peer_mss: u16,
) -> Option<(i16, WinUnit)> {
    if win == 0 || mss < 100 {
        return None;
    }
    let win = i32::from(win);
    let div = |d: i32| (d != 0 && win % d == 0).then(|| (win / d) as i16);
    let mut candidates: [(i32, bool, WinUnit); 12] = [(0, false, WinUnit::Mss); 12];
    let v6 = ip_ver == 6;
    let peer = i32::from(peer_mss);
    candidates[0] = (mss, true, WinUnit::Mss);
    candidates[1] = (mss - 12, ts1 != 0, WinUnit::Mss);
    candidates[2] = (1500 - MIN_TCP4, true, WinUnit::Mss);
    candidates[3] = (1500 - MIN_TCP4 - 12, true, WinUnit::Mss);
    candidates[4] = (1500 - MIN_TCP6, v6, WinUnit::Mss);
    candidates[5] = (1500 - MIN_TCP6 - 12, v6, WinUnit::Mss);
    candidates[6] = (mss + MIN_TCP4, true, WinUnit::Mtu);
    candidates[7] = (mss + i32::from(tot_hdr), true, WinUnit::Mtu);
    candidates[8] = (mss + MIN_TCP6, v6, WinUnit::Mtu);
    candidates[9] = (1500, true, WinUnit::Mtu);
    candidates[10] = (peer, peer != 0, WinUnit::Mss);
    candidates[11] = (peer - 12, peer != 0, WinUnit::Mss);
    candidates
        .iter()
        .filter(|(_, on, _)| *on)
        .find_map(|&(d, _, unit)| div(d).map(|m| (m, unit)))
}

/// What p0f takes from the options.
struct OptionSummary {
    layout: OptLayout,
    eol_pad: u8,
    mss: u16,
    wscale: u8,
    ts1: u32,
    quirks: u32,
}

/// Reads the options as p0f does: at most [`MAX_TCP_OPT`] of them, a wrong
/// length byte or a malformed option is `bad`, and so are options left
/// unread after the limit.
fn read_options(mut walk: P0fTcpOptions<'_>, pure_syn: bool) -> OptionSummary {
    let mut o = OptionSummary {
        layout: OptLayout::EMPTY,
        eol_pad: 0,
        mss: 0,
        wscale: 0,
        ts1: 0,
        quirks: 0,
    };
    // Whether the walk came to its end (EOL, a malformed option or no
    // bytes left) rather than to the option limit.
    let mut walked_to_end = false;
    while o.layout.len() < MAX_TCP_OPT {
        let Some(option) = walk.next() else {
            walked_to_end = true;
            break;
        };
        o.layout.push(option.kind());
        if !walk.length_byte_agreed() {
            o.quirks |= quirk::OPT_BAD;
        }
        match option {
            TcpOption::Eol => {
                let padding = walk.remaining();
                o.eol_pad = padding.len() as u8; // option space is at most 40 bytes
                                                 // p0f stops at the first non-zero padding byte and notices
                                                 // it only when that is not the last byte.
                if let Some((_, before_last)) = padding.split_last() {
                    if before_last.iter().any(|&b| b != 0) {
                        o.quirks |= quirk::OPT_EOL_NZ;
                    }
                }
                walked_to_end = true;
                break;
            }
            TcpOption::Mss(mss) => o.mss = mss,
            TcpOption::WindowScale(shift) => {
                o.wscale = shift;
                if shift > 14 {
                    o.quirks |= quirk::OPT_EXWS;
                }
            }
            TcpOption::Timestamps { value, echo } => {
                o.ts1 = value;
                if value == 0 {
                    o.quirks |= quirk::OPT_ZERO_TS1;
                }
                if pure_syn && echo != 0 {
                    o.quirks |= quirk::OPT_NZ_TS2;
                }
            }
            TcpOption::Malformed { .. } => {
                o.quirks |= quirk::OPT_BAD;
                walked_to_end = true;
                break;
            }
            TcpOption::Nop
            | TcpOption::SackPermitted
            | TcpOption::Sack(_)
            | TcpOption::Other { .. } => {}
        }
    }
    if !walked_to_end && !walk.remaining().is_empty() {
        o.quirks |= quirk::OPT_BAD;
    }
    o
}

impl fmt::Display for RawSig {
    /// `4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(96);
        self.write_bytes(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// `p0f_sig` straight into an event's buffer.
impl crate::event::FieldValue for &RawSig {
    fn write_to(&self, out: &mut Vec<u8>) {
        self.write_bytes(out);
    }
}

impl RawSig {
    /// The signature as p0f prints `raw_sig` (ASCII), appended to `out`
    /// without `fmt`: every SYN event carries one.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        push_u64(out, u64::from(self.ip_ver));
        out.push(b':');
        push_u64(out, u64::from(self.ttl));
        out.push(b'+');
        let dist = guess_dist(self.ttl);
        if dist > MAX_DIST {
            out.push(b'?');
        } else {
            push_u64(out, u64::from(dist));
        }
        out.push(b':');
        push_u64(out, u64::from(self.ip_opt_len));
        out.push(b':');
        // p0f suggests a wildcard for a SYN+ACK echoing p0f-sendsyn's MSS.
        if self.syn_ack && self.mss == SPECIAL_MSS {
            out.push(b'*');
        } else {
            push_u64(out, u64::from(self.mss));
        }
        out.push(b':');
        match self.win_multiple() {
            Some((m, unit)) if m > 0 => {
                out.extend_from_slice(if unit == WinUnit::Mtu {
                    b"mtu*"
                } else {
                    b"mss*"
                });
                push_u64(out, m.unsigned_abs().into());
            }
            _ => push_u64(out, u64::from(self.win)),
        }
        out.push(b',');
        push_u64(out, u64::from(self.wscale));
        out.push(b':');
        self.layout.write_bytes(self.eol_pad, out);
        out.push(b':');
        let mut first = true;
        for (bit, name) in quirk::NAMES {
            if self.quirks & bit != 0 {
                if !first {
                    out.push(b',');
                }
                out.extend_from_slice(name.as_bytes());
                first = false;
            }
        }
        out.extend_from_slice(if self.has_payload { b":+" } else { b":0" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 header (20 bytes) with the given TTL, DF and IP-ID.
    fn ip4(ttl: u8, df: bool, id: u16) -> Vec<u8> {
        let mut h = vec![
            0x45, 0, 0, 60, 0, 0, 0, 0, ttl, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        h[4..6].copy_from_slice(&id.to_be_bytes());
        if df {
            h[6] = 0x40;
        }
        h
    }

    /// TCP header with flags, window and raw option bytes (padded to 4).
    fn tcp(flags: u8, win: u16, opts: &[u8]) -> Vec<u8> {
        let mut o = opts.to_vec();
        while o.len() % 4 != 0 {
            o.push(0);
        }
        let doff = (20 + o.len()) / 4;
        let mut h = vec![0x30, 0x39, 0, 80, 0, 0, 0, 7, 0, 0, 0, 0];
        h.push((doff as u8) << 4);
        h.push(flags);
        h.extend_from_slice(&win.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.extend_from_slice(&o);
        h
    }

    const LINUX_OPTS: [u8; 20] = [
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];

    #[test]
    fn linux_syn_matches_readme_example() {
        let s =
            RawSig::from_headers(&ip4(64, true, 1234), &tcp(0x02, 29200, &LINUX_OPTS), 0).unwrap();
        assert_eq!(
            s.to_string(),
            "4:64+0:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0"
        );
    }

    #[test]
    fn no_options_no_df_zero_id() {
        let s = RawSig::from_headers(&ip4(255, false, 0), &tcp(0x02, 15500, &[]), 0).unwrap();
        assert_eq!(s.to_string(), "4:255+0:0:0:15500,0::id-:0");
    }

    #[test]
    fn distance_beyond_max_is_question_mark() {
        // TTL 200: guess 55 > 35.
        let s = RawSig::from_headers(&ip4(200, true, 1), &tcp(0x02, 1024, &[]), 1).unwrap();
        assert_eq!(s.to_string(), "4:200+?:0:0:1024,0::df,id+:+");
    }

    #[test]
    fn ack_plus_follows_p0f_byte_order() {
        let mut t = tcp(0x02, 1024, &[]);
        t[11] = 1; // ack = 1: first byte even, p0f says nothing
        let s = RawSig::from_headers(&ip4(64, true, 1), &t, 0).unwrap();
        assert_eq!(s.quirks & quirk::NZ_ACK, 0);
        t[8] = 1; // first byte odd
        let s = RawSig::from_headers(&ip4(64, true, 1), &t, 0).unwrap();
        assert_ne!(s.quirks & quirk::NZ_ACK, 0);
    }

    #[test]
    fn eol_padding_and_nonzero_tail() {
        // mss, nop, ws, nop, nop, ts, sok, eol + 1 pad byte (macOS).
        let o = [
            2, 4, 5, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 4, 2, 0, 0,
        ];
        let s = RawSig::from_headers(&ip4(64, true, 0), &tcp(0x02, 65535, &o), 0).unwrap();
        assert_eq!(
            s.to_string(),
            "4:64+0:0:1460:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0"
        );
        // EOL then [0, 7, 0]: a non-zero byte before the last one is opt+.
        let o = [2, 4, 5, 0xb4, 0, 0, 7, 0];
        let s = RawSig::from_headers(&ip4(64, true, 0), &tcp(0x02, 100, &o), 0).unwrap();
        assert_ne!(s.quirks & quirk::OPT_EOL_NZ, 0);
        assert!(s.to_string().contains("mss,eol+3:df,opt+"));
        // ... but in the last byte p0f does not notice it.
        let o = [2, 4, 5, 0xb4, 0, 0, 0, 7];
        let s = RawSig::from_headers(&ip4(64, true, 0), &tcp(0x02, 100, &o), 0).unwrap();
        assert_eq!(s.quirks & quirk::OPT_EOL_NZ, 0);
    }

    #[test]
    fn unknown_and_broken_options() {
        // kind 30 len 4, then MSS with a wrong length of 5 that still fits.
        let o = [30, 4, 0, 0, 2, 5, 1, 0, 1, 1, 1, 1];
        let s = RawSig::from_headers(&ip4(64, false, 9), &tcp(0x02, 512, &o), 0).unwrap();
        // MSS consumes 4 bytes whatever its length says; 512 = 2 x MSS.
        assert_eq!(
            s.to_string(),
            "4:64+0:0:256:mss*2,0:?30,mss,nop,nop,nop,nop:bad:0"
        );
        // Truncated SACK aborts.
        let o = [5, 10, 0, 0];
        let s = RawSig::from_headers(&ip4(64, false, 9), &tcp(0x02, 512, &o), 0).unwrap();
        assert_eq!(s.to_string(), "4:64+0:0:0:512,0:sack:bad:0");
    }

    #[test]
    fn more_than_24_options_is_bad() {
        let o = [1u8; 28];
        let s = RawSig::from_headers(&ip4(64, false, 9), &tcp(0x02, 512, &o), 0).unwrap();
        assert_eq!(s.layout.len(), 24);
        assert_ne!(s.quirks & quirk::OPT_BAD, 0);
    }

    #[test]
    fn synack_uses_peer_mss_and_sendsyn_wildcard() {
        let o = [2, 4, 0x05, 0x33]; // MSS 1331
        let s = RawSig::from_headers(&ip4(64, true, 0), &tcp(0x12, 2662, &o), 0).unwrap();
        assert!(s.to_string().starts_with("4:64+0:0:*:mss*2,0"));
        // Window 2800 is neither an MSS (1000) nor MTU multiple but 2 x 1400.
        let o = [2, 4, 0x03, 0xe8];
        let s = RawSig::from_headers(&ip4(64, true, 0), &tcp(0x12, 2800, &o), 0).unwrap();
        assert!(s.to_string().contains(":1000:2800,0:"));
        assert!(s.with_peer_mss(1400).to_string().contains(":1000:mss*2,0:"));
    }

    #[test]
    fn ipv6_flow_and_traffic_class() {
        let mut ip = vec![0u8; 40];
        ip[0] = 0x60;
        ip[1] = 0x01; // flow label 0x10000
        ip[6] = 6; // next header: TCP
        ip[7] = 57;
        let s = RawSig::from_headers(&ip, &tcp(0x02, 28800, &[2, 4, 5, 0xa0]), 0).unwrap();
        assert_eq!(s.to_string(), "6:57+7:0:1440:mss*20,0:mss:flow:0");
        ip[1] = 0x00;
        ip[0] = 0x60;
        ip[1] = 0x10; // traffic class 0x01: ECT bit
        let s = RawSig::from_headers(&ip, &tcp(0x02, 28800, &[2, 4, 5, 0xa0]), 0).unwrap();
        assert_eq!(s.quirks, quirk::ECN);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert_eq!(RawSig::from_headers(&[], &[], 0), Err(SigError::Truncated));
        assert_eq!(
            RawSig::from_headers(&[0x45; 10], &[0; 20], 0),
            Err(SigError::Truncated)
        );
        assert_eq!(
            RawSig::from_headers(&[0x44; 20], &[0; 20], 0),
            Err(SigError::BadHeaderLength)
        );
        assert_eq!(
            RawSig::from_headers(&[0x25; 20], &[0; 20], 0),
            Err(SigError::BadIpVersion)
        );
        let ip = ip4(64, true, 1);
        assert_eq!(
            RawSig::from_headers(&ip, &tcp(0x10, 1, &[]), 0),
            Err(SigError::NotSyn)
        );
        let mut t = tcp(0x02, 1, &[]);
        t[12] = 0xf0; // data offset 60 > 20 bytes present
        assert_eq!(RawSig::from_headers(&ip, &t, 0), Err(SigError::Truncated));
        for n in 0..64 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            let _ = RawSig::from_headers(&junk, &junk, n);
            let _ = RawSig::from_headers(&ip, &junk, n);
        }
    }
}
