//! p0f v3 TCP/IP fingerprinting of SYN and SYN+ACK segments: the raw
//! signature exactly as p0f 3.09b prints it, matching over a p0f.fp
//! database, p0f's distance and MTU/link guess, and DECNET's coarse
//! `os_guess` label.
//!
//! ```text
//! headers ──RawSig::from_headers──▶ RawSig ──P0fResult::analyze(db)──▶ label, match, dist, mtu
//! ```

pub mod db;
pub mod http;
pub mod lang;
pub mod matcher;
pub mod mtu;
pub mod nat;
pub mod sig;
pub mod uptime;

pub use db::{Database, DbError, SigRecord};
pub use matcher::{MatchKind, Verdict};
pub use sig::{RawSig, SigError};

use std::fmt::Write as _;

use super::scanner::Scanner;
use sig::MAX_DIST;

/// The p0f view of one SYN or SYN+ACK.
#[derive(Debug, Clone, Copy)]
pub struct P0fResult<'a> {
    pub sig: RawSig,
    pub verdict: Verdict<'a>,
    db: &'a Database,
}

impl<'a> P0fResult<'a> {
    /// Matches `sig` against `db`. For a SYN+ACK, give the answered SYN's
    /// MSS first with [`RawSig::with_peer_mss`].
    pub fn analyze(db: &'a Database, sig: RawSig) -> Self {
        P0fResult {
            sig,
            verdict: matcher::match_sig(db, &sig),
            db,
        }
    }

    /// `sig` with the verdict [`Self::analyze`] gave for it (or for a
    /// signature differing only in its TSval's value, not its presence).
    pub fn with_verdict(db: &'a Database, sig: RawSig, verdict: Verdict<'a>) -> Self {
        P0fResult { sig, verdict, db }
    }

    /// `p0f_sig`: p0f's `raw_sig`.
    pub fn raw_sig(&self) -> String {
        self.sig.to_string()
    }

    /// `p0f_os`: the label printed under `os=` or `app=`, `???` if none.
    pub fn label(&self) -> &'a str {
        self.verdict.record.map_or("???", |r| self.db.label(r))
    }

    /// The matched OS or tool name without its flavor (`Linux`, `NMap`).
    pub fn name(&self) -> Option<&'a str> {
        self.verdict.record.map(|r| self.db.name(r.name))
    }

    /// The matched OS class (`unix`, `win`, `other`); `None` for tools.
    pub fn class(&self) -> Option<&'a str> {
        self.verdict
            .record
            .and_then(|r| r.class)
            .map(|c| self.db.class_name(c))
    }

    /// The matched OS's name id (`None` for no match or a tool), to
    /// compare with the OS an HTTP `User-Agent` claims.
    pub fn os_name_id(&self) -> Option<u32> {
        self.verdict
            .record
            .filter(|r| r.class.is_some())
            .map(|r| r.name)
    }

    /// Whether a tool signature (`!`) matched: p0f stops following such a
    /// connection.
    pub fn is_tool(&self) -> bool {
        self.verdict.record.is_some_and(|r| r.class.is_none())
    }

    pub fn match_kind(&self) -> MatchKind {
        self.verdict.kind()
    }

    /// Whether a signature matched (then `dist` is the signature's distance).
    pub fn matched(&self) -> bool {
        self.verdict.record.is_some()
    }

    /// p0f's distance as a number.
    pub fn dist(&self) -> u8 {
        self.verdict.dist
    }

    /// `p0f_dist`: p0f's `dist=` text (`<= N` for random-TTL tools).
    pub fn dist_text(&self) -> String {
        self.verdict.dist_text()
    }

    /// p0f's MTU guess, when the segment has an MSS option.
    pub fn mtu(&self) -> Option<u16> {
        mtu::mtu_from_mss(self.sig.mss, self.sig.ip_ver)
    }

    /// `link`: the `[mtu]` label; `???` for an MTU not in the table, empty
    /// without an MSS option.
    pub fn link(&self) -> &'a str {
        match self.mtu() {
            None => "",
            Some(m) => self.db.link_for_mtu(m).unwrap_or("???"),
        }
    }

    /// p0f's `params=` text: `generic`, `fuzzy`, `random_ttl`,
    /// `excess_dist`, `tos:0xNN`, or `none`.
    pub fn params(&self) -> String {
        let mut out = String::new();
        if let Some(r) = self.verdict.record {
            if r.generic {
                out.push_str(" generic");
            }
            if self.verdict.fuzzy {
                out.push_str(" fuzzy");
            }
            if r.sig.bad_ttl {
                out.push_str(" random_ttl");
            }
        }
        if self.verdict.dist > MAX_DIST {
            out.push_str(" excess_dist");
        }
        if self.sig.tos != 0 {
            let _ = write!(out, " tos:0x{:02x}", self.sig.tos);
        }
        if out.is_empty() {
            "none".to_string()
        } else {
            out.split_off(1)
        }
    }
}

/// DECNET's coarse OS label (`os_guess`): `nmap` when the SYN was built by
/// nmap (by our scanner rules or p0f's NMap signatures), else from the
/// matched p0f name: `linux`, `windows`, `macos_ios`, `freebsd`, `openbsd`,
/// `embedded` (p0f's `other` class: game consoles, handhelds, ...), and
/// `unknown` for everything else, no match included.
pub fn os_guess(p0f: Option<&P0fResult<'_>>, scanner: Option<Scanner>) -> &'static str {
    if scanner == Some(Scanner::Nmap) {
        return "nmap";
    }
    let Some(r) = p0f else { return "unknown" };
    let Some(name) = r.name() else {
        return "unknown";
    };
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "nmap" => "nmap",
        "linux" | "android" => "linux",
        "windows" => "windows",
        "mac os x" | "macos x" | "macos" | "ios" => "macos_ios",
        "freebsd" => "freebsd",
        "openbsd" => "openbsd",
        _ if r.class() == Some("other") => "embedded",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn tcp(flags: u8, win: u16, opts: &[u8]) -> Vec<u8> {
        let doff = (20 + opts.len()) / 4;
        let mut h = vec![
            0x30,
            0x39,
            0,
            80,
            0,
            0,
            0,
            7,
            0,
            0,
            0,
            0,
            (doff as u8) << 4,
            flags,
        ];
        h.extend_from_slice(&win.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.extend_from_slice(opts);
        h
    }

    const LINUX: [u8; 20] = [
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    const WIN10: [u8; 12] = [2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2];

    fn analyze(ip: &[u8], tcp: &[u8]) -> P0fResult<'static> {
        P0fResult::analyze(
            Database::bundled(),
            RawSig::from_headers(ip, tcp, 0).unwrap(),
        )
    }

    #[test]
    fn linux_311_exact() {
        let r = analyze(&ip4(64, true, 1), &tcp(0x02, 64240, &LINUX));
        assert_eq!(
            r.raw_sig(),
            "4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0"
        );
        // 64240 = 44 x 1460: not the mss*20 of 3.11+; p0f 3.09b says
        // `os=Linux 2.2.x-3.x|dist=0|params=generic` for this packet.
        assert_eq!(r.label(), "Linux 2.2.x-3.x");
        assert_eq!(r.params(), "generic");
        let r = analyze(&ip4(61, true, 1), &tcp(0x02, 29200, &LINUX));
        assert_eq!(r.label(), "Linux 3.11 and newer");
        assert_eq!(
            (r.match_kind(), r.dist_text().as_str()),
            (MatchKind::Exact, "3")
        );
        assert_eq!((r.mtu(), r.link()), (Some(1500), "Ethernet or modem"));
        assert_eq!(r.params(), "none");
        assert_eq!(os_guess(Some(&r), None), "linux");
    }

    #[test]
    fn windows_generic_like_the_corpus() {
        // tls3.pcapng: Windows 10 SYN; p0f: os=Windows NT kernel, generic.
        let r = analyze(&ip4(128, true, 0x1234), &tcp(0x02, 64240, &WIN10));
        assert_eq!(
            r.raw_sig(),
            "4:128+0:0:1460:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0"
        );
        assert_eq!(r.label(), "Windows NT kernel");
        assert_eq!(r.params(), "generic");
        assert_eq!(r.match_kind(), MatchKind::Generic);
        assert_eq!(os_guess(Some(&r), None), "windows");
    }

    #[test]
    fn nmap_syn_scan_is_a_tool() {
        let r = analyze(&ip4(44, false, 4321), &tcp(0x02, 1024, &[2, 4, 5, 0xb4]));
        assert_eq!(r.raw_sig(), "4:44+20:0:1460:1024,0:mss::0");
        assert_eq!(r.label(), "NMap SYN scan");
        assert_eq!(r.dist_text(), "<= 20");
        assert_eq!(r.params(), "random_ttl");
        assert_eq!(os_guess(Some(&r), None), "nmap");
        assert_eq!(os_guess(None, Some(Scanner::Nmap)), "nmap");
        assert_eq!(os_guess(None, None), "unknown");
    }

    #[test]
    fn tos_shows_in_params() {
        let mut ip = ip4(64, true, 1);
        ip[1] = 0xb8; // DSCP 46
        let r = analyze(&ip, &tcp(0x02, 29200, &LINUX));
        assert_eq!(r.params(), "tos:0x2e");
    }
}
