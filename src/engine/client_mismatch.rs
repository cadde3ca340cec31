//! `client_mismatch`: the layers of one connection, or one source within
//! the window, name different software. A browser User-Agent over a
//! request whose JA4H is python-requests, a Windows browser from a Linux
//! SYN, a "browser" whose TLS hello is curl's: the tool is disguising
//! itself. Only a browser claim is checked against the fingerprints, and
//! only fingerprints with a label (data/clients) take part: unknown never
//! contradicts anything.
//!
//! Per source: the last SYN's OS, the last non-browser client label and
//! the last browser claim, each with its time. Bounded: at most `cap`
//! sources; stale ones are swept when full, then the least recently used
//! is evicted (counted).

use std::net::IpAddr;

use crate::event::{Event, EventKind};
use crate::fingerprint::clients::user_agent::{browser_claim, is_browser_label};
use crate::util::budget::{heap_cost, Budget, Charge, Pool};
use crate::util::lru::Lru;

/// Sources followed at most, by default.
pub const DEFAULT_SOURCES: usize = 65_536;
/// How long a layer's claim is compared with later ones: `--dedup-ttl`'s
/// default, the window in which one source's events count as one visit.
pub const WINDOW_SECS: i64 = 300;

#[derive(Debug, Clone, Default)]
struct Claim {
    /// `os_guess` of a SYN, a client label, or a browser product.
    what: Box<str>,
    /// For a browser: the OS family it claims; for a SYN: p0f's label.
    extra: Box<str>,
    /// The method or layer that said it (`ja4`, `hassh`, `user_agent`, ...).
    layer: &'static str,
    at: i64,
}

/// `os_guess` values a SYN may carry: kept as `&'static str`, so a SYN
/// (a flood of them from spoofed sources) never allocates here.
const OS_GUESSES: [&str; 7] = [
    "linux",
    "windows",
    "macos_ios",
    "freebsd",
    "openbsd",
    "embedded",
    "nmap",
];

#[derive(Debug, Clone, Default)]
struct Source {
    /// The last SYN's `os_guess` and when.
    syn: Option<(&'static str, i64)>,
    tool: Option<Claim>,
    browser: Option<Claim>,
    last: i64,
}

/// The per-source table.
pub struct ClientConsistency {
    /// In order of last use: the stalest source is the next to go, found
    /// without scanning (a flood of spoofed SYNs turns the table over on
    /// every packet).
    sources: Lru<IpAddr, Source>,
    last_sweep: i64,
    /// Sources dropped to make room for a new one (the cap or the memory
    /// budget).
    pub evictions: u64,
    /// Heap bytes of the claims' strings.
    boxed: usize,
    /// Charged to the memory budget (`client_claims`): the hash table's
    /// buckets and `boxed`.
    charge: Charge,
}

impl std::fmt::Debug for ClientConsistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConsistency")
            .field("sources", &self.sources.len())
            .field("evictions", &self.evictions)
            .finish_non_exhaustive()
    }
}

impl ClientConsistency {
    pub fn new(cap: usize) -> Self {
        ClientConsistency {
            sources: Lru::new(cap.max(1)),
            last_sweep: i64::MIN,
            evictions: 0,
            boxed: 0,
            charge: Charge::new(Budget::unlimited(), Pool::ClientClaims),
        }
    }

    /// Charges `budget` from now on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.charge.set_budget(budget);
    }

    /// What the table holds: per source its bucket (hashbrown keeps 1/8
    /// free and a control byte per bucket), and the claims' strings.
    /// Charged by entries, not capacity, so that shedding frees budget.
    fn allocated(&self) -> usize {
        let slot = (std::mem::size_of::<(IpAddr, Source)>() + 1) * 8 / 7;
        self.sources.len() * slot + self.boxed
    }

    /// Settles the charge; while the budget is over, drops the least
    /// recently used sources, never the newest (`observe` just touched it).
    fn settle(&mut self) {
        while self.charge.settle(self.allocated()) && self.sources.len() > 1 {
            if let Some((_, s)) = self.sources.pop_oldest() {
                self.forget(&s);
            }
            self.charge.note_eviction();
        }
    }

    /// Accounts for a source that left the table (counted).
    fn forget(&mut self, s: &Source) {
        self.boxed -= source_heap(s);
        self.evictions += 1;
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Looks at the events of one packet and appends a `client_mismatch`
    /// after any that contradicts another layer.
    pub fn check(&mut self, out: &mut Vec<Event>) {
        let n = out.len();
        for i in 0..n {
            if let Some(m) = self.observe(&out[i]) {
                out.push(m);
            }
        }
    }

    fn observe(&mut self, ev: &Event) -> Option<Event> {
        let relevant = matches!(
            ev.kind,
            EventKind::TcpSynFingerprint
                | EventKind::HttpRequestFingerprint
                | EventKind::TlsClientHello
                | EventKind::QuicClientHello
                | EventKind::SshKexFingerprint
        );
        if !relevant {
            return None;
        }
        let ip = parse_ip(ev.src_ip())?;
        let now = ev.ts.secs;
        self.make_room(ip, now);
        let (source, evicted) = self.sources.get_or_insert_with(ip, Source::default);
        let before = source_heap(source);
        let mismatch = observe_source(source, ev, now);
        let after = source_heap(source);
        if let Some((_, old)) = evicted {
            self.forget(&old);
        }
        self.boxed = self.boxed + after - before;
        self.settle();
        mismatch
    }

    /// When a new source finds the table full, sweeps the stale ones (once
    /// a second, uncounted); the insert then evicts the least recently
    /// used if it is still full.
    fn make_room(&mut self, ip: IpAddr, now: i64) {
        if !self.sources.is_full() || now <= self.last_sweep || self.sources.contains(&ip) {
            return;
        }
        self.last_sweep = now;
        while let Some((_, s)) = self.sources.peek_oldest() {
            if now - s.last <= WINDOW_SECS {
                break;
            }
            if let Some((_, s)) = self.sources.pop_oldest() {
                self.boxed -= source_heap(&s);
            }
        }
    }
}

/// Records what `ev` claims for its source; the mismatch it shows, if any.
fn observe_source(source: &mut Source, ev: &Event, now: i64) -> Option<Event> {
    source.last = now;
    if ev.kind == EventKind::TcpSynFingerprint {
        // A SYN only says its OS (read first: a flood of them comes here).
        // Compared as bytes: no guess is empty, so text that is not
        // UTF-8 matches none, as before, without validating it first.
        let os = ev.get("os_guess").unwrap_or_default();
        source.syn = OS_GUESSES
            .iter()
            .find(|g| g.as_bytes() == os)
            .map(|g| (*g, now));
        return None;
    }
    let label = text(ev, "client");
    let method = text(ev, "client_source");
    match ev.kind {
        EventKind::HttpRequestFingerprint => {
            let claim = browser_claim(ev.get("user_agent").unwrap_or_default());
            let Some(claim) = claim else {
                remember_tool(source, label, method, now);
                return None;
            };
            let os = claim.os.unwrap_or("");
            set(&mut source.browser, claim.product, os, "user_agent", now);
            let mut disagree: Vec<(&str, String)> = Vec::new();
            if !label.is_empty() && !same_browser(label, claim.product) {
                disagree.push((static_method(method), label.to_string()));
            }
            push_syn_and_tool(source, os, now, &mut disagree);
            let said = format!(
                "User-Agent {}{}{}",
                claim.product,
                if claim.os_name.is_empty() { "" } else { " on " },
                claim.os_name
            );
            let scope = if !label.is_empty() && !same_browser(label, claim.product) {
                "connection"
            } else {
                "source"
            };
            mismatch(ev, scope, ("user_agent", said), disagree)
        }
        _ => {
            if label.is_empty() || is_browser_label(label) {
                return None;
            }
            remember_tool(source, label, method, now);
            let browser = source.browser.as_ref().filter(|b| fresh(b, now))?;
            let said = format!("User-Agent {}", browser.what);
            let disagree = vec![(static_method(method), label.to_string())];
            mismatch(ev, "source", ("user_agent", said), disagree)
        }
    }
}

/// An event's `src_ip` text as an address: dotted-quad IPv4 as the
/// events write it is read here directly, anything else by the standard
/// parser (which accepts every address the fast path does, with the same
/// value).
fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    parse_dotted_quad(text)
        .map(IpAddr::V4)
        .or_else(|| std::str::from_utf8(text).ok()?.parse().ok())
}

/// Four decimal octets of one to three digits, no leading zero, each at
/// most 255: the subset of IPv4 text the standard parser takes that
/// events carry.
fn parse_dotted_quad(text: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        let leading_zero = part.len() > 1 && part[0] == b'0';
        if part.is_empty() || part.len() > 3 || leading_zero {
            return None;
        }
        let mut v = 0u16;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(v).ok()?;
    }
    parts
        .next()
        .is_none()
        .then_some(std::net::Ipv4Addr::from(octets))
}

/// Heap bytes a source's claims hold.
fn source_heap(s: &Source) -> usize {
    [&s.tool, &s.browser]
        .into_iter()
        .flatten()
        .map(|c| heap_cost(c.what.len()) + heap_cost(c.extra.len()))
        .sum()
}

fn text<'e>(ev: &'e Event, name: &str) -> &'e str {
    ev.get(name)
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or("")
}

fn fresh(c: &Claim, now: i64) -> bool {
    now - c.at <= WINDOW_SECS
}

/// Replaces a claim, allocating only when what it says changed.
fn set(slot: &mut Option<Claim>, what: &str, extra: &str, layer: &'static str, at: i64) {
    match slot {
        Some(c) if &*c.what == what && &*c.extra == extra => {
            c.at = at;
            c.layer = layer;
        }
        _ => {
            *slot = Some(Claim {
                what: what.into(),
                extra: extra.into(),
                layer,
                at,
            })
        }
    }
}

fn remember_tool(source: &mut Source, label: &str, method: &str, now: i64) {
    if !label.is_empty() && !is_browser_label(label) {
        set(&mut source.tool, label, "", static_method(method), now);
    }
}

/// The SYN's OS when it is not the one the browser claims, and a tool
/// another connection of the source showed.
fn push_syn_and_tool(source: &Source, os: &str, now: i64, out: &mut Vec<(&'static str, String)>) {
    if let Some((syn_os, at)) = source.syn {
        if now - at <= WINDOW_SECS && !os.is_empty() && syn_os != os {
            out.push(("syn", syn_os.to_string()));
        }
    }
    if let Some(tool) = source.tool.as_ref().filter(|t| fresh(t, now)) {
        if !out.iter().any(|(_, l)| *l == *tool.what) {
            out.push((tool.layer, tool.what.to_string()));
        }
    }
}

/// Whether a browser label and a UA product name the same browser.
fn same_browser(label: &str, product: &str) -> bool {
    let name = product.split(['/', ' ']).next().unwrap_or("");
    is_browser_label(label)
        && (label.contains(name) || name == "Chrome" && label.contains("Chromium"))
}

fn static_method(m: &str) -> &'static str {
    crate::fingerprint::clients::Method::ALL
        .into_iter()
        .map(|m| m.as_str())
        .find(|s| *s == m)
        .unwrap_or("client")
}

/// The event, when some layer disagrees with `claim`.
fn mismatch(
    ev: &Event,
    scope: &'static str,
    claim: (&'static str, String),
    disagree: Vec<(&'static str, String)>,
) -> Option<Event> {
    if disagree.is_empty() {
        return None;
    }
    let mut out = Event::new(EventKind::ClientMismatch, ev.ts, ev.decky.clone());
    for f in ["src_ip", "src_port", "dst_ip", "dst_port"] {
        out.push(f, ev.get(f).unwrap_or_default());
    }
    out.push("scope", scope);
    out.push_with("layers", |buf| {
        buf.extend_from_slice(claim.0.as_bytes());
        for (layer, _) in &disagree {
            buf.push(b',');
            buf.extend_from_slice(layer.as_bytes());
        }
    });
    // The User-Agent part is attacker text.
    out.push_text_with("claims", |buf| {
        buf.extend_from_slice(claim.1.as_bytes());
        for (layer, said) in &disagree {
            buf.extend_from_slice(b"; ");
            buf.extend_from_slice(layer.as_bytes());
            buf.push(b' ');
            buf.extend_from_slice(said.as_bytes());
        }
    });
    out.push("direction", ev.get("direction").unwrap_or_default());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::Timestamp;

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    fn ev(kind: EventKind, secs: i64, src: &str, fields: &[(&'static str, &str)]) -> Event {
        let mut e = Event::new(kind, Timestamp::new(secs, 0), "d".into());
        e.push("src_ip", src)
            .push("src_port", "1")
            .push("dst_ip", "192.0.2.9")
            .push("dst_port", "80");
        for (k, v) in fields {
            e.push(k, *v);
        }
        e.push("direction", "inbound");
        e
    }

    fn syn(secs: i64, src: &str) -> Event {
        ev(
            EventKind::TcpSynFingerprint,
            secs,
            src,
            &[("os_guess", "linux"), ("p0f_os", "Linux 2.2.x-3.x")],
        )
    }

    fn http(secs: i64, src: &str, ua: &str, label: &str) -> Event {
        let src_label = if label.is_empty() { "" } else { "ja4h" };
        ev(
            EventKind::HttpRequestFingerprint,
            secs,
            src,
            &[
                ("client", label),
                ("client_source", src_label),
                ("user_agent", ua),
            ],
        )
    }

    fn run(t: &mut ClientConsistency, evs: Vec<Event>) -> Vec<Event> {
        let mut out = evs;
        t.check(&mut out);
        out.into_iter()
            .filter(|e| e.kind == EventKind::ClientMismatch)
            .collect()
    }

    fn field(e: &Event, n: &str) -> String {
        String::from_utf8_lossy(e.get(n).unwrap()).into_owned()
    }

    #[test]
    fn forged_browser_over_a_tool_fingerprint_and_a_linux_syn() {
        let mut t = ClientConsistency::new(10);
        let got = run(
            &mut t,
            vec![
                syn(1, "198.51.100.1"),
                http(1, "198.51.100.1", CHROME, "Python requests"),
            ],
        );
        assert_eq!(got.len(), 1);
        assert_eq!(field(&got[0], "scope"), "connection");
        assert_eq!(field(&got[0], "layers"), "user_agent,ja4h,syn");
        assert_eq!(
            field(&got[0], "claims"),
            "User-Agent Chrome/124 on Windows; ja4h Python requests; syn linux"
        );
    }

    #[test]
    fn honest_tools_and_unknown_clients_never_fire() {
        let mut t = ClientConsistency::new(10);
        let got = run(
            &mut t,
            vec![
                syn(1, "198.51.100.1"),
                http(
                    1,
                    "198.51.100.1",
                    "python-requests/2.28.1",
                    "Python requests",
                ),
                http(2, "198.51.100.1", "Mozilla/4.0 (Hydra)", "hydra http-get"),
                // A real browser this database does not know: no label, no claim against it.
                http(3, "198.51.100.2", CHROME, ""),
            ],
        );
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_browser_then_a_tool_tls_hello_from_the_same_source() {
        let mut t = ClientConsistency::new(10);
        assert!(run(&mut t, vec![http(1, "198.51.100.1", CHROME, "")]).is_empty());
        let hello = ev(
            EventKind::TlsClientHello,
            5,
            "198.51.100.1",
            &[
                ("client", "curl (libcurl with OpenSSL 3.0)"),
                ("client_source", "ja4"),
            ],
        );
        let got = run(&mut t, vec![hello.clone()]);
        assert_eq!(got.len(), 1);
        assert_eq!(field(&got[0], "scope"), "source");
        assert_eq!(field(&got[0], "layers"), "user_agent,ja4");
        // Outside the window the browser claim is forgotten.
        let mut late = hello;
        late.ts = Timestamp::new(5 + WINDOW_SECS + 10, 0);
        assert!(run(&mut t, vec![late]).is_empty());
    }

    #[test]
    fn fast_address_parse_agrees_with_the_standard_one() {
        let cases = [
            "0.0.0.0",
            "198.51.100.7",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.0400",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "",
        ];
        for c in cases {
            assert_eq!(parse_ip(c.as_bytes()), c.parse().ok(), "{c:?}");
        }
        for n in [0u32, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255] {
            let ip = std::net::Ipv4Addr::from(n * 0x0101_0101);
            assert_eq!(parse_dotted_quad(ip.to_string().as_bytes()), Some(ip));
        }
    }

    #[test]
    fn bounded_with_evictions() {
        let mut t = ClientConsistency::new(2);
        for i in 0..5 {
            run(&mut t, vec![syn(1, &format!("198.51.100.{i}"))]);
        }
        assert_eq!(t.len(), 2);
        assert_eq!(t.evictions, 3);
        // Stale sources are swept first, without counting an eviction.
        run(&mut t, vec![syn(1000, "198.51.100.9")]);
        assert_eq!((t.len(), t.evictions), (1, 3));
    }

    #[test]
    fn budget_charges_buckets_and_claims_and_sheds() {
        let budget = Budget::unlimited();
        let mut t = ClientConsistency::new(50);
        t.set_budget(budget.clone());
        for i in 0..50 {
            let ip = format!("198.51.100.{i}");
            run(
                &mut t,
                vec![syn(1, &ip), http(1, &ip, CHROME, "Python requests")],
            );
        }
        assert!(t.boxed > 0);
        assert_eq!(budget.pool_used(Pool::ClientClaims), t.allocated());
        // The table is full; all go stale and are swept: the strings are given back.
        run(&mut t, vec![syn(1000, "203.0.113.1")]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.boxed, 0);
        assert_eq!(budget.pool_used(Pool::ClientClaims), t.allocated());
        drop(t);
        assert_eq!(budget.used(), 0, "everything charged is given back");

        // A budget of a few sources: others go, the newcomer stays.
        let budget = Budget::new(4096);
        let mut t = ClientConsistency::new(1000);
        t.set_budget(budget.clone());
        for i in 0..200 {
            let ip = format!("198.51.{}.{}", i / 250, i % 250);
            run(&mut t, vec![http(1, &ip, CHROME, "Python requests")]);
            assert!(t.sources.contains(&ip.parse::<IpAddr>().unwrap()));
        }
        assert!(budget.evictions(Pool::ClientClaims) > 0);
        assert_eq!(t.evictions, budget.evictions(Pool::ClientClaims));
        assert!(t.len() < 200);
    }
}
