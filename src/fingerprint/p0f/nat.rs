//! p0f 3.09b's host change and IP sharing detection, TCP part (fp_tcp.c
//! `score_nat`, process.c `add_nat_score`): each SYN (client) or SYN+ACK
//! (server) is scored against the host's previous one; the last 32 scores
//! per host and side decide between nothing, `host change` and
//! `ip sharing`, with p0f's reason codes. The HTTP module (fp_http.c
//! `score_nat`, process.c `verify_tool_class`) adds its own scores to the
//! same windows: Via / X-Forwarded-For, jumping `Date`, a server whose
//! signature changes, an application or User-Agent that does not fit the
//! host's OS.

use super::db::SysEntry;
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
/// config.h `HTTP_MAX_DATE_DIFF`: seconds a server's `Date` may drift.
const HTTP_MAX_DATE_DIFF: i64 = 10;

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
const NAT_APP_SIG: u16 = 0x0001;
const NAT_APP_LB: u16 = 0x0200;
const NAT_APP_VIA: u16 = 0x0400;
const NAT_APP_DATE: u16 = 0x0800;
const NAT_APP_UA: u16 = 0x1000;

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

/// What HTTP scoring keeps of a host's last response (or request matched
/// by an OS signature): p0f's stored `http_sig`, as far as it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRef {
    /// Name and label id of the matched signature, `NO_MATCH` without
    /// one (kept flat: every host carries two of these).
    name: u32,
    label_id: u32,
    /// `Date` in Unix seconds, 0 without one.
    date: u32,
    /// Packet time (seconds) the head ended.
    recv_date: u32,
}

const NO_MATCH: u32 = u32::MAX;

impl HttpRef {
    fn matched(&self) -> Option<(u32, u32)> {
        (self.name != NO_MATCH).then_some((self.name, self.label_id))
    }
}

/// The matched HTTP signature, as scoring needs it.
#[derive(Debug, Clone, Copy)]
pub struct HttpMatchSnap<'d> {
    pub name: u32,
    pub label_id: u32,
    /// `None` for an application.
    pub class: Option<u16>,
    pub sys: &'d [SysEntry],
}

/// One HTTP request or response head as scoring sees it.
#[derive(Debug, Clone, Copy)]
pub struct HttpObs<'d> {
    pub matched: Option<HttpMatchSnap<'d>>,
    /// The OS a `User-Agent` names (p0f's `ua_os`); only looked at for a
    /// request whose honest User-Agent matched an application.
    pub ua_os: Option<u32>,
    pub dishonest: bool,
    /// A `User-Agent` / `Server` was sent.
    pub has_sw: bool,
    pub via: bool,
    pub date: u32,
    pub recv_date: u32,
    pub srv_port: u16,
}

/// A host's scoring state.
#[derive(Debug, Clone, Copy)]
pub struct HostNat {
    pub last_syn: Option<SigSnap>,
    pub last_synack: Option<SigSnap>,
    /// The last request that matched an HTTP OS signature.
    http_req_os: Option<HttpRef>,
    /// The last response, and the server port it came from.
    http_resp: Option<HttpRef>,
    http_resp_port: u16,
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
            http_req_os: None,
            http_resp: None,
            http_resp_port: 0,
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

    /// process.c `verify_tool_class`: an application is scored against
    /// the host's last OS (once it has one), `app_vs_os` when its `sys`
    /// list does not name it; either way the window shifts.
    pub fn verify_tool(&mut self, side: usize, sys: &[SysEntry]) -> Option<NatVerdict> {
        let (class, name) = self.last_os?;
        let fits = sys.iter().any(|e| match *e {
            SysEntry::Class(c) => c == class,
            SysEntry::Name(n) => n == name,
        });
        if fits {
            self.add_score(side, 0, 0)
        } else {
            self.add_score(side, NAT_APP_SIG, 4)
        }
    }

    /// fp_http.c `score_nat` for a request (`to_srv`) or response head,
    /// then the host's record updated as `fingerprint_http` does. At most
    /// two verdicts: `verify_tool`'s, then the head's own.
    pub fn score_http(&mut self, to_srv: bool, o: &HttpObs<'_>) -> [Option<NatVerdict>; 2] {
        let side = usize::from(!to_srv);
        let reference = if to_srv {
            self.http_req_os
        } else if self.http_resp_port == o.srv_port {
            self.http_resp
        } else {
            None
        };
        let ref_matched = reference.and_then(|r| r.matched());
        let last_name = self.last_os.map(|(_, n)| n);
        let (mut score, mut reason) = (0u8, 0u16);
        let mut tool = None;
        match o.matched {
            // An unknown client is probably another application; only a
            // server going from known to unknown counts.
            None => {
                if !to_srv && ref_matched.is_some() {
                    score += 4;
                    reason |= NAT_TO_UNK;
                }
            }
            Some(m) if m.class.is_none() => {
                tool = self.verify_tool(side, m.sys);
                if let (false, Some((name, label))) = (to_srv, ref_matched) {
                    if name != m.name {
                        score += 8;
                        reason |= NAT_APP_LB;
                    } else if label != m.label_id {
                        score += 2;
                        reason |= NAT_APP_LB;
                    }
                }
                if to_srv && o.has_sw && !o.dishonest {
                    if let Some(ua) = o.ua_os {
                        if Some(ua) != last_name {
                            score += 4;
                            reason |= NAT_APP_UA;
                        }
                    }
                }
            }
            Some(m) => {
                let mut diff_already = false;
                match (reference, ref_matched) {
                    (_, Some((name, _))) => {
                        if name != m.name {
                            score += 8;
                            reason |= NAT_OS_SIG;
                            diff_already = true;
                        } else if name != m.label_id {
                            // p0f compares the name id with the label id here.
                            score += 2;
                            reason |= NAT_OS_SIG;
                        }
                    }
                    (Some(_), None) => {
                        score += 4;
                        reason |= NAT_TO_UNK;
                    }
                    (None, _) => {}
                }
                if !diff_already && last_name != Some(m.name) {
                    score += 4;
                    reason |= NAT_OS_SIG;
                }
            }
        }
        if o.via {
            score += 8;
            reason |= NAT_APP_VIA;
        }
        if let Some(r) = reference.filter(|r| !to_srv && r.date != 0 && o.date != 0) {
            let recv_diff = i64::from(o.recv_date) - i64::from(r.recv_date);
            let hdr_diff = i64::from(o.date) - i64::from(r.date);
            if hdr_diff < -HTTP_MAX_DATE_DIFF || hdr_diff > recv_diff + HTTP_MAX_DATE_DIFF {
                score += 4;
                reason |= NAT_APP_DATE;
            }
        }
        let own = self.add_score(side, reason, score);
        self.update_http(to_srv, o);
        [tool, own]
    }

    fn update_http(&mut self, to_srv: bool, o: &HttpObs<'_>) {
        let (name, label_id) = o.matched.map_or((NO_MATCH, 0), |m| (m.name, m.label_id));
        let stored = HttpRef {
            name,
            label_id,
            date: o.date,
            recv_date: o.recv_date,
        };
        let os = o.matched.and_then(|m| Some((m.class?, m.name)));
        if !to_srv {
            self.http_resp = Some(stored);
            self.http_resp_port = o.srv_port;
        } else if os.is_some() {
            self.http_req_os = Some(stored);
        }
        if os.is_some() {
            self.last_os = os;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const UNIX: u16 = 0;
    const LINUX: u32 = 1;
    const WINDOWS: u32 = 2;

    fn host_on_linux() -> HostNat {
        HostNat {
            last_os: Some((UNIX, LINUX)),
            ..HostNat::default()
        }
    }

    fn head(matched: Option<HttpMatchSnap<'static>>) -> HttpObs<'static> {
        HttpObs {
            matched,
            ua_os: None,
            dishonest: false,
            has_sw: true,
            via: false,
            date: 0,
            recv_date: 1000,
            srv_port: 80,
        }
    }

    fn app(name: u32, label_id: u32, sys: &'static [SysEntry]) -> Option<HttpMatchSnap<'static>> {
        Some(HttpMatchSnap {
            name,
            label_id,
            class: None,
            sys,
        })
    }

    fn reasons(v: &[Option<NatVerdict>; 2]) -> Vec<String> {
        v.iter().flatten().map(|v| v.reason().to_string()).collect()
    }

    #[test]
    fn app_off_its_os_then_user_agent_of_another_os() {
        static WIN_ONLY: [SysEntry; 1] = [SysEntry::Name(WINDOWS)];
        let mut h = host_on_linux();
        let mut o = head(app(10, 5, &WIN_ONLY));
        o.ua_os = Some(WINDOWS);
        assert_eq!(reasons(&h.score_http(true, &o)), ["app_vs_os", "ua_vs_os"]);
        // A dishonest User-Agent is not believed.
        o.dishonest = true;
        assert_eq!(reasons(&h.score_http(true, &o)), ["app_vs_os"]);
    }

    #[test]
    fn app_on_its_os_only_shifts_the_window() {
        static UNIX_CLASS: [SysEntry; 1] = [SysEntry::Class(UNIX)];
        let mut h = host_on_linux();
        let o = head(app(10, 5, &UNIX_CLASS));
        assert_eq!(reasons(&h.score_http(true, &o)), Vec::<String>::new());
        // Two shifts: verify_tool's and the head's own.
        assert_eq!(h.scores[0][NAT_SCORES - 2..], [0, 0]);
        // Without a known OS there is nothing to verify, and no shift.
        let mut fresh = HostNat::default();
        fresh.scores[0][NAT_SCORES - 1] = 7;
        fresh.score_http(true, &o);
        assert_eq!(fresh.scores[0][NAT_SCORES - 2..], [7, 0]);
    }

    #[test]
    fn via_date_and_server_changes() {
        static ANY: [SysEntry; 1] = [SysEntry::Class(UNIX)];
        let mut h = host_on_linux();
        let mut o = head(None);
        o.via = true;
        assert_eq!(reasons(&h.score_http(true, &o)), ["via"]);
        // Server: nginx with a Date, then Apache an hour ahead 2 s later.
        let mut r = head(app(20, 7, &ANY));
        r.date = 50_000;
        assert_eq!(reasons(&h.score_http(false, &r)), Vec::<String>::new());
        let mut r2 = head(app(21, 8, &ANY));
        r2.date = 53_600;
        r2.recv_date = 1002;
        assert_eq!(reasons(&h.score_http(false, &r2)), ["date srv_sig_lb"]);
        // Within 10 s of the elapsed time: fine; another port: no reference.
        let mut r3 = r2;
        r3.date = 53_615;
        r3.recv_date = 1007;
        assert_eq!(reasons(&h.score_http(false, &r3)), Vec::<String>::new());
        let mut r4 = head(None);
        r4.srv_port = 8080;
        assert_eq!(reasons(&h.score_http(false, &r4)), Vec::<String>::new());
        // Back on port 8080 with a known server after an unknown one: fine;
        // then unknown again: x_known.
        let mut r5 = head(app(21, 8, &ANY));
        r5.srv_port = 8080;
        h.score_http(false, &r5);
        r4.srv_port = 8080;
        assert_eq!(reasons(&h.score_http(false, &r4)), ["x_known"]);
    }
}
