//! p0f v3 signature matching: the first specific match in file order wins,
//! else the first generic one, else the first fuzzy one (quirks differing
//! only by `df`/`id+` lost or `id-`/`ecn` gained, or a TTL out of range).
//! Userland tools never match fuzzily.

use super::db::{Database, SigRecord, TcpSig};
use super::sig::{detect_win_multi, guess_dist, quirk, OptLayout, RawSig, WinUnit, MAX_DIST};

/// How a signature's window is to be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WinType {
    Normal,
    Any,
    Mod,
    Mss,
    Mtu,
}

/// The common shape of a packet signature and a database signature, so one
/// loop serves matching and the database's duplicate check, as in p0f.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    /// 4, 6, or -1 for either.
    ip_ver: i8,
    ttl: u8,
    ip_opt_len: u8,
    /// -1: any.
    mss: i32,
    win: u16,
    win_type: WinType,
    /// -1: any.
    wscale: i16,
    /// -1: any, 0: none, 1: some.
    pay_class: i8,
    quirks: u32,
    layout: OptLayout,
    eol_pad: u8,
    tot_hdr: u16,
    ts1: u32,
    peer_mss: u16,
}

impl Probe {
    pub(crate) fn from_raw(s: &RawSig) -> Probe {
        Probe {
            ip_ver: s.ip_ver as i8,
            ttl: s.ttl,
            ip_opt_len: s.ip_opt_len,
            mss: i32::from(s.mss),
            win: s.win,
            win_type: WinType::Normal,
            wscale: i16::from(s.wscale),
            pay_class: i8::from(s.has_payload),
            quirks: s.quirks,
            layout: s.layout,
            eol_pad: s.eol_pad,
            tot_hdr: s.tot_hdr,
            ts1: s.ts1,
            peer_mss: s.peer_mss,
        }
    }

    pub(crate) fn from_db(s: &TcpSig) -> Probe {
        let (win_type, win) = s.win.parts();
        Probe {
            ip_ver: s.ip_ver.map_or(-1, |v| v as i8),
            ttl: s.ttl,
            ip_opt_len: s.ip_opt_len,
            mss: s.mss.map_or(-1, i32::from),
            win,
            win_type,
            wscale: s.wscale.map_or(-1, i16::from),
            pay_class: s.pay_class.map_or(-1, i8::from),
            quirks: s.quirks,
            layout: s.layout,
            eol_pad: s.eol_pad,
            tot_hdr: 0,
            ts1: 0,
            peer_mss: 0,
        }
    }

    fn win_multi(&self) -> Option<(i16, WinUnit)> {
        if self.win_type != WinType::Normal {
            return None;
        }
        let ver = if self.ip_ver == 6 { 6 } else { 4 };
        detect_win_multi(
            self.win,
            self.mss,
            self.ts1,
            ver,
            self.tot_hdr,
            self.peer_mss,
        )
    }
}

/// Outcome of matching one signature against the database.
#[derive(Debug, Clone, Copy)]
pub struct Verdict<'a> {
    pub record: Option<&'a SigRecord>,
    pub fuzzy: bool,
    /// p0f's distance (`dist=`).
    pub dist: u8,
}

/// p0f's `params` quality of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    Generic,
    Fuzzy,
    None,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Generic => "generic",
            MatchKind::Fuzzy => "fuzzy",
            MatchKind::None => "none",
        }
    }
}

impl Verdict<'_> {
    pub fn kind(&self) -> MatchKind {
        match self.record {
            None => MatchKind::None,
            Some(_) if self.fuzzy => MatchKind::Fuzzy,
            Some(r) if r.generic => MatchKind::Generic,
            Some(_) => MatchKind::Exact,
        }
    }

    /// Matched a userland tool signature (`app=` rather than `os=`).
    pub fn is_tool(&self) -> bool {
        self.record.is_some_and(|r| r.class.is_none())
    }

    /// The distance as p0f prints it: `<= N` for random-TTL signatures.
    pub fn dist_text(&self) -> String {
        match self.record {
            Some(r) if r.sig.bad_ttl => format!("<= {}", self.dist),
            _ => self.dist.to_string(),
        }
    }
}

/// Matches a packet signature against the SYN or SYN+ACK signatures.
pub fn match_sig<'a>(db: &'a Database, sig: &RawSig) -> Verdict<'a> {
    find(db, sig.syn_ack, &Probe::from_raw(sig), false)
}

/// p0f's `tcp_find_match`. With `dupe_det`, only a specific non-fuzzy match
/// is reported (the database's duplicate check).
pub(crate) fn find<'a>(db: &'a Database, syn_ack: bool, ts: &Probe, dupe_det: bool) -> Verdict<'a> {
    let sigs = db.tcp_sigs(syn_ack);
    let win_multi = ts.win_multi();
    let mut fmatch: Option<&SigRecord> = None;
    let mut gmatch: Option<&SigRecord> = None;

    for &idx in db.candidates(syn_ack, &ts.layout) {
        let Some(rec) = sigs.get(idx as usize) else {
            continue;
        };
        let r = &rec.sig;
        let mut fuzzy = false;

        // A version-less signature drops the other version's quirks.
        let mut ref_quirks = r.quirks;
        if r.ip_ver.is_none() {
            ref_quirks &= if ts.ip_ver == 4 {
                !quirk::FLOW
            } else {
                !(quirk::DF | quirk::NZ_ID | quirk::ZERO_ID)
            };
        }
        if ref_quirks != ts.quirks {
            let deleted = (ref_quirks ^ ts.quirks) & ref_quirks;
            let added = (ref_quirks ^ ts.quirks) & ts.quirks;
            if fmatch.is_some()
                || deleted & !(quirk::DF | quirk::NZ_ID) != 0
                || added & !(quirk::ZERO_ID | quirk::ECN) != 0
            {
                continue;
            }
            fuzzy = true;
        }

        if r.eol_pad != ts.eol_pad || r.ip_opt_len != ts.ip_opt_len {
            continue;
        }

        if r.bad_ttl {
            if r.ttl < ts.ttl {
                continue;
            }
        } else if r.ttl < ts.ttl || r.ttl - ts.ttl > MAX_DIST {
            fuzzy = true;
        }

        if r.mss.is_some_and(|m| i32::from(m) != ts.mss)
            || r.wscale.is_some_and(|w| i16::from(w) != ts.wscale)
            || r.pay_class.is_some_and(|p| i8::from(p) != ts.pay_class)
        {
            continue;
        }

        let (rtype, rwin) = r.win.parts();
        if ts.win_type != WinType::Normal {
            // Two database signatures.
            if rtype != ts.win_type || rwin != ts.win {
                continue;
            }
        } else {
            let ok = match rtype {
                WinType::Normal => rwin == ts.win,
                WinType::Mod => rwin != 0 && ts.win % rwin == 0,
                WinType::Mss => {
                    matches!(win_multi, Some((m, WinUnit::Mss)) if i32::from(m) == i32::from(rwin))
                }
                WinType::Mtu => {
                    matches!(win_multi, Some((m, WinUnit::Mtu)) if i32::from(m) == i32::from(rwin))
                }
                WinType::Any => true,
            };
            if !ok {
                continue;
            }
        }

        if !fuzzy {
            if !rec.generic {
                return Verdict {
                    record: Some(rec),
                    fuzzy: false,
                    dist: r.ttl.wrapping_sub(ts.ttl),
                };
            }
            gmatch = gmatch.or(Some(rec));
        } else {
            fmatch = fmatch.or(Some(rec));
        }
    }

    let none = Verdict {
        record: None,
        fuzzy: false,
        dist: 0,
    };
    if dupe_det {
        return none;
    }
    if let Some(g) = gmatch {
        return Verdict {
            record: Some(g),
            fuzzy: false,
            dist: g.sig.ttl.wrapping_sub(ts.ttl),
        };
    }
    // No fuzzy matching for userland tools (and p0f leaves the distance 0).
    if fmatch.is_some_and(|f| f.class.is_none()) {
        return none;
    }
    let dist = match fmatch {
        Some(f) if f.sig.ttl >= ts.ttl && (f.sig.bad_ttl || f.sig.ttl - ts.ttl <= MAX_DIST) => {
            f.sig.ttl - ts.ttl
        }
        _ => guess_dist(ts.ttl),
    };
    Verdict {
        record: fmatch,
        fuzzy: fmatch.is_some(),
        dist,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(body: &str) -> Database {
        Database::parse(&format!("classes = win,unix,other\n[tcp:request]\n{body}")).unwrap()
    }

    fn sig(text_ip: &[u8], tcp: &[u8]) -> RawSig {
        RawSig::from_headers(text_ip, tcp, 0).unwrap()
    }

    fn ip4(ttl: u8, df: bool, id: u16) -> Vec<u8> {
        let mut h = vec![
            0x45, 0, 0, 44, 0, 0, 0, 0, ttl, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        h[4..6].copy_from_slice(&id.to_be_bytes());
        if df {
            h[6] = 0x40;
        }
        h
    }

    fn syn_mss(win: u16, mss: u16) -> Vec<u8> {
        let mut h = vec![0x30, 0x39, 0, 80, 0, 0, 0, 7, 0, 0, 0, 0, 0x60, 0x02];
        h.extend_from_slice(&win.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0, 2, 4]);
        h.extend_from_slice(&mss.to_be_bytes());
        h
    }

    #[test]
    fn specific_beats_earlier_generic_and_fuzzy() {
        let d = db("label = g:unix:Gen:\nsig = *:64:0:*:*,0:mss:df,id+:0\n\
                    label = s:unix:Fuz:\nsig = *:64:0:*:*,0:mss:df,id+,ecn:0\n\
                    label = s:unix:Spec:\nsig = *:64:0:1460:mss*4,0:mss:df,id+:0\n");
        let v = match_sig(&d, &sig(&ip4(60, true, 5), &syn_mss(5840, 1460)));
        assert_eq!(d.label(v.record.unwrap()), "Spec");
        assert_eq!((v.kind(), v.dist), (MatchKind::Exact, 4));
        // A different MSS leaves the generic one.
        let v = match_sig(&d, &sig(&ip4(60, true, 5), &syn_mss(5840, 1400)));
        assert_eq!(d.label(v.record.unwrap()), "Gen");
        assert_eq!(v.kind(), MatchKind::Generic);
    }

    #[test]
    fn fuzzy_on_lost_df_and_far_ttl() {
        let d = db("label = s:unix:Linux:\nsig = *:64:0:*:mss*4,0:mss:df,id+:0\n");
        // DF and id+ lost: fuzzy.
        let v = match_sig(&d, &sig(&ip4(64, false, 5), &syn_mss(5840, 1460)));
        assert_eq!((v.kind(), v.dist), (MatchKind::Fuzzy, 0));
        // id- gained on top: still fuzzy (allowed addition).
        let v = match_sig(&d, &sig(&ip4(64, false, 0), &syn_mss(5840, 1460)));
        assert_eq!(v.kind(), MatchKind::Fuzzy);
        // TTL 20 is 44 hops from 64: fuzzy, distance guessed from 32.
        let v = match_sig(&d, &sig(&ip4(20, true, 5), &syn_mss(5840, 1460)));
        assert_eq!((v.kind(), v.dist), (MatchKind::Fuzzy, 12));
        // TTL above the initial one: fuzzy too.
        let v = match_sig(&d, &sig(&ip4(100, true, 5), &syn_mss(5840, 1460)));
        assert_eq!((v.kind(), v.dist), (MatchKind::Fuzzy, 28));
        // Window not a multiple of 4 x MSS: no match, guessed distance.
        let v = match_sig(&d, &sig(&ip4(61, true, 5), &syn_mss(5000, 1460)));
        assert_eq!((v.kind(), v.dist), (MatchKind::None, 3));
    }

    #[test]
    fn tools_random_ttl_and_no_fuzzy() {
        let d = db("label = s:!:NMap:SYN scan\nsys = @unix\nsig = *:64-:0:1460:1024,0:mss::0\n");
        let v = match_sig(&d, &sig(&ip4(41, false, 77), &syn_mss(1024, 1460)));
        assert!(v.is_tool());
        assert_eq!(
            (v.kind(), v.dist_text()),
            (MatchKind::Exact, "<= 23".to_string())
        );
        // Above 64: never.
        let v = match_sig(&d, &sig(&ip4(70, false, 77), &syn_mss(1024, 1460)));
        assert_eq!(v.kind(), MatchKind::None);
        // Would be fuzzy (id- added... no: df added is not allowed); ECN
        // added is allowed for OSes but tools get no fuzzy match, dist 0.
        let mut ip = ip4(50, false, 77);
        ip[1] = 0x02;
        let v = match_sig(&d, &sig(&ip, &syn_mss(1024, 1460)));
        assert_eq!((v.kind(), v.dist), (MatchKind::None, 0));
    }

    #[test]
    fn window_classes() {
        let d = db("label = s:unix:Mod:\nsig = 4:64:0:*:%1000,0:mss::0\n\
                    label = s:unix:Mtu:\nsig = 4:64:0:*:mtu*2,0:mss::0\n");
        let v = match_sig(&d, &sig(&ip4(64, false, 1), &syn_mss(3000, 1460)));
        assert_eq!(d.label(v.record.unwrap()), "Mod");
        let v = match_sig(&d, &sig(&ip4(64, false, 1), &syn_mss(3000, 1460)));
        assert_eq!(v.kind(), MatchKind::Exact);
        // 2 x (1460 + 40) = 3000 also is mtu*2, but the earlier line wins;
        // 2 x (1400 + 40) = 2880 only the MTU rule.
        let v = match_sig(&d, &sig(&ip4(64, false, 1), &syn_mss(2880, 1400)));
        assert_eq!(d.label(v.record.unwrap()), "Mtu");
    }
}
