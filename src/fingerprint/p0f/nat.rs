//! p0f 3.09b's host change and IP sharing detection, TCP part (fp_tcp.c
//! `score_nat`, process.c `add_nat_score`): each SYN (client) or SYN+ACK
//! (server) is scored against the host's previous one; the last 32 scores
//! per host and side decide between nothing, `host change` and
//! `ip sharing`, with p0f's reason codes.

use super::sig::{quirk, OptLayout, RawSig};
use super::P0fResult;

const NAT_SCORES: usize = 32;
const NEAR_TTL_LIMIT: u8 = 9;
const LOCAL_TTL_LIMIT: u8 = 5;
const SMALL_TTL_CHG: i16 = 2;
const MIN_PORT_DROP: u16 = 64;
const MAX_NAT_TS: u64 = 1000 * 60 * 60 * 24;
const TSTAMP_GRACE: u64 = 100;
const MAX_TSCALE: u64 = 1500;

/// p0f's reason bits, in the order it prints them.
pub const REASONS: [(u16, &str); 13] = [
    (0x0001, "app_vs_os"),
    (0x0002, "os_diff"),
    (0x0004, "sig_diff"),
    (0x0008, "x_known"),
    (0x0010, "tstamp"),
    (0x0040, "ttl"),
    (0x0020, "port"),
    (0x0100, "mtu"),
    (0x0080, "fuzzy"),
    (0x0400, "via"),
    (0x0800, "date"),
    (0x0200, "srv_sig_lb"),
    (0x1000, "ua_vs_os"),
];
const NAT_OS_SIG: u16 = 0x0002;
const NAT_UNK_DIFF: u16 = 0x0004;
const NAT_TO_UNK: u16 = 0x0008;
const NAT_TS: u16 = 0x0010;
const NAT_PORT: u16 = 0x0020;
const NAT_TTL: u16 = 0x0040;
const NAT_FUZZY: u16 = 0x0080;
const NAT_MSS: u16 = 0x0100;

/// The matched record of a signature, as far as scoring needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchSnap {
    pub name: u32,
    pub label_id: u32,
    pub line: u32,
    pub bad_ttl: bool,
    /// `None` for a tool.
    pub class: Option<u16>,
}

/// A SYN or SYN+ACK as scoring compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigSnap {
    pub matched: Option<MatchSnap>,
    pub fuzzy: bool,
    pub quirks: u32,
    pub layout: OptLayout,
    pub ttl: u8,
    pub dist: u8,
    pub mss: u16,
    pub ts1: u32,
    pub recv_ms: u64,
}

impl SigSnap {
    pub fn of(r: &P0fResult<'_>, recv_ms: u64) -> Self {
        let s: &RawSig = &r.sig;
        SigSnap {
            matched: r.verdict.record.map(|m| MatchSnap {
                name: m.name,
                label_id: m.label_id,
                line: m.line,
                bad_ttl: m.sig.bad_ttl,
                class: m.class,
            }),
            fuzzy: r.verdict.fuzzy,
            quirks: s.quirks,
            layout: s.layout,
            ttl: s.ttl,
            dist: r.verdict.dist,
            mss: s.mss,
            ts1: s.ts1,
            recv_ms,
        }
    }
}

/// A host's scoring state.
#[derive(Debug, Clone, Copy)]
pub struct HostNat {
    pub last_syn: Option<SigSnap>,
    pub last_synack: Option<SigSnap>,
    /// Last OS matched (class, name), `None` before any.
    last_os: Option<(u16, u32)>,
    last_port: u16,
    scores: [[u8; NAT_SCORES]; 2],
    reasons: u16,
}

impl Default for HostNat {
    fn default() -> Self {
        HostNat {
            last_syn: None,
            last_synack: None,
            last_os: None,
            last_port: 0,
            scores: [[0; NAT_SCORES]; 2],
            reasons: 0,
        }
    }
}

/// What the scores say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatVerdict {
    HostChange { reason: String, raw_hits: [u8; 4] },
    IpSharing { reason: String, raw_hits: [u8; 4] },
}

fn reason_text(bits: u16) -> String {
    let words: Vec<&str> = REASONS
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, w)| *w)
        .collect();
    if words.is_empty() {
        "???".into()
    } else {
        words.join(" ")
    }
}

impl HostNat {
    /// `add_nat_score`: side 0 client, 1 server.
    pub fn add_score(&mut self, side: usize, reason: u16, score: u8) -> Option<NatVerdict> {
        let s = &mut self.scores[side];
        s.copy_within(1.., 0);
        s[NAT_SCORES - 1] = score;
        self.reasons |= reason;
        if score == 0 {
            return None;
        }
        let mut hits = [0u8; 4];
        for &v in s.iter() {
            let level = match v {
                6..=255 => 4,
                3..=5 => 3,
                2 => 2,
                1 => 1,
                0 => 0,
            };
            // p0f's switch falls through: a score counts at its level and below.
            for h in hits.iter_mut().skip(4 - level) {
                *h += 1;
            }
        }
        if hits[0] > 2 || hits[1] > 4 || hits[2] > 6 || hits[3] > 8 {
            let reason = reason_text(self.reasons);
            *s = [0; NAT_SCORES];
            self.reasons = 0;
            return Some(NatVerdict::IpSharing {
                reason,
                raw_hits: hits,
            });
        }
        if score == 1 {
            return None;
        }
        Some(NatVerdict::HostChange {
            reason: reason_text(reason),
            raw_hits: hits,
        })
    }

    /// `score_nat` for a SYN (`to_srv`) or SYN+ACK from a host, then the
    /// host's record updated as p0f does (the caller stores `sig` as the
    /// last SYN / SYN+ACK afterwards).
    pub fn score_tcp(&mut self, to_srv: bool, sig: &SigSnap, cli_port: u16) -> Option<NatVerdict> {
        let reference = if to_srv {
            self.last_syn
        } else {
            self.last_synack
        };
        let (mut score, mut reason, mut diff_already) = (0u8, 0u16, false);
        let host_name = self.last_os.map(|(_, n)| n);
        match reference {
            None => {
                if let (Some(m), Some(n)) = (sig.matched, host_name) {
                    if n != m.name {
                        reason |= NAT_OS_SIG;
                        score += 8;
                    }
                }
                let v = self.add_score(usize::from(!to_srv), reason, score);
                self.update(sig, cli_port);
                return v;
            }
            Some(r) => {
                match (sig.matched, r.matched) {
                    (Some(m), Some(rm)) => {
                        if rm.name != m.name {
                            score += 8;
                            reason |= NAT_OS_SIG;
                            diff_already = true;
                        } else if to_srv {
                            if rm.label_id != m.label_id {
                                score += 2;
                                reason |= NAT_OS_SIG;
                            } else if rm.line != m.line {
                                score += 1;
                                reason |= NAT_OS_SIG;
                            } else if sig.fuzzy != r.fuzzy {
                                score += 1;
                                reason |= NAT_FUZZY;
                            }
                        }
                    }
                    _ => {
                        let fuzzy_quirks = quirk::ECN | quirk::DF | quirk::NZ_ID | quirk::ZERO_ID;
                        if (sig.quirks ^ r.quirks) & !fuzzy_quirks != 0 {
                            reason |= NAT_UNK_DIFF;
                            score += 2;
                        } else if to_srv && sig.layout != r.layout {
                            reason |= NAT_UNK_DIFF;
                            score += 1;
                        }
                        if to_srv && sig.matched != r.matched {
                            score += 1;
                            reason |= NAT_TO_UNK;
                        }
                    }
                }
                if !diff_already {
                    if let (Some(m), Some(n)) = (sig.matched, host_name) {
                        if n != m.name {
                            score += 8;
                            reason |= NAT_OS_SIG;
                            diff_already = true;
                        }
                    }
                }
                let ttl_diff = i16::from(sig.ttl) - i16::from(r.ttl);
                let bad_ttl = |m: Option<MatchSnap>| m.is_some_and(|m| m.bad_ttl);
                if !diff_already
                    && ttl_diff != 0
                    && !bad_ttl(sig.matched)
                    && !bad_ttl(r.matched)
                    && (sig.dist <= NEAR_TTL_LIMIT || ttl_diff > 1)
                {
                    if sig.dist > LOCAL_TTL_LIMIT && ttl_diff.abs() <= SMALL_TTL_CHG {
                        score += 1;
                    } else {
                        score += 4;
                    }
                    reason |= NAT_TTL;
                }
                if to_srv
                    && self.last_port != 0
                    && cli_port < self.last_port
                    && self.last_port - cli_port >= MIN_PORT_DROP
                {
                    score += 1;
                    reason |= NAT_PORT;
                }
                if sig.mss != r.mss {
                    score += 1;
                    reason |= NAT_MSS;
                }
                if score != 0 && sig.ts1 != 0 && r.ts1 != 0 {
                    let ms_diff = sig.recv_ms.wrapping_sub(r.recv_ms);
                    if ms_diff < MAX_NAT_TS {
                        let use_ms = ms_diff.max(TSTAMP_GRACE);
                        let max_ts = use_ms * MAX_TSCALE / 1000;
                        let ts_diff = sig.ts1.wrapping_sub(r.ts1);
                        if u64::from(ts_diff) > max_ts
                            && (ms_diff >= TSTAMP_GRACE || u64::from(!ts_diff) > max_ts)
                        {
                            score += 4;
                            reason |= NAT_TS;
                        } else {
                            score /= 2;
                        }
                    }
                }
            }
        }
        let v = self.add_score(usize::from(!to_srv), reason, score);
        self.update(sig, cli_port);
        v
    }

    fn update(&mut self, sig: &SigSnap, cli_port: u16) {
        if let Some(m) = sig.matched {
            // Tools never get here (p0f stops before scoring them).
            if let Some(c) = m.class {
                self.last_os = Some((c, m.name));
            }
        }
        self.last_port = cli_port;
    }
}

impl NatVerdict {
    pub fn reason(&self) -> &str {
        match self {
            NatVerdict::HostChange { reason, .. } | NatVerdict::IpSharing { reason, .. } => reason,
        }
    }

    /// p0f's `raw_hits=` text.
    pub fn raw_hits(&self) -> String {
        let h = match self {
            NatVerdict::HostChange { raw_hits, .. } | NatVerdict::IpSharing { raw_hits, .. } => {
                raw_hits
            }
        };
        format!("{},{},{},{}", h[0], h[1], h[2], h[3])
    }
}
