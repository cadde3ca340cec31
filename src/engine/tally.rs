//! The most frequent fingerprints per decky, for `read --summary` (docs/spec.md
//! "Progress"): each event kind's headline fingerprint (JA4 of a
//! ClientHello, HASSH of a key exchange, ...) counted per decky as events
//! are emitted. Only kept when asked for, and bounded: at most `cap`
//! distinct (decky, kind, value) entries, each value cut to
//! [`MAX_VALUE`] bytes; what does not fit is counted in `overflow`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hashbrown::{Equivalent, HashMap};

use crate::event::{Event, EventKind};

/// Longest value kept (an SSH banner is attacker-chosen text).
pub const MAX_VALUE: usize = 128;

/// The field that names each kind's fingerprint in the summary; the
/// second is used when the first is empty (JA4T needs `ja4plus`).
fn headline(kind: EventKind) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        EventKind::TcpSynFingerprint => ("ja4t", "p0f_sig"),
        EventKind::TcpSynackFingerprint => ("ja4ts", "p0f_sig"),
        EventKind::TlsClientHello | EventKind::DtlsClientHello => ("ja4", "ja3"),
        EventKind::TlsSession => ("ja4s", "ja3s"),
        EventKind::TlsCertificate => ("ja4x", "cert_sha256"),
        EventKind::QuicClientHello => ("ja4_quic", "ja3"),
        EventKind::SshClientBanner => ("ssh_version", "ssh_version"),
        EventKind::SshKexFingerprint => ("hassh", "hassh_server"),
        EventKind::SshSessionFingerprint => ("ja4ssh", "ja4ssh"),
        EventKind::HttpRequestFingerprint => ("ja4h", "ja4h"),
        EventKind::DhcpClientFingerprint => ("ja4d", "message_type"),
        EventKind::HttpResponseFingerprint => ("server", "p0f_http_sig"),
        EventKind::TcpFlowTiming
        | EventKind::Ipv6LinkLocalLeak
        | EventKind::HostUptime
        | EventKind::HostChange
        | EventKind::IpSharing
        | EventKind::ClientMismatch => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    decky: Arc<str>,
    field: &'static str,
    value: Box<[u8]>,
}

/// A [`Key`] borrowed from an event: found without allocating.
struct KeyRef<'a> {
    decky: &'a str,
    field: &'static str,
    value: &'a [u8],
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        KeyRef {
            decky: &self.decky,
            field: self.field,
            value: &self.value,
        }
        .hash(h);
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.decky.hash(h);
        self.field.hash(h);
        self.value.hash(h);
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *key.decky == *self.decky && key.field == self.field && *key.value == *self.value
    }
}

/// One line of the summary: a fingerprint and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry<'a> {
    pub field: &'static str,
    pub value: &'a [u8],
    pub count: u64,
}

#[derive(Debug, Clone, Default)]
pub struct FingerprintTally {
    counts: HashMap<Key, u64>,
    cap: usize,
    /// Sightings of fingerprints that found the table full.
    pub overflow: u64,
}

impl FingerprintTally {
    pub fn new(cap: usize) -> Self {
        FingerprintTally {
            counts: HashMap::new(),
            cap,
            overflow: 0,
        }
    }

    /// Counts `ev`'s headline fingerprint for its decky.
    pub fn add(&mut self, ev: &Event) {
        // The HTTP client p0f recognised, beside the request's JA4H.
        if ev.kind == EventKind::HttpRequestFingerprint {
            if let Some(app) = ev.get("p0f_http_app").filter(|a| !a.is_empty()) {
                self.count(&ev.decky, "p0f_http_app", app, 1);
            }
        }
        // The program a fingerprint names (data/clients), beside it.
        if let Some(client) = ev.get("client").filter(|c| !c.is_empty()) {
            let client = &client[..client.len().min(MAX_VALUE)];
            self.count(&ev.decky, "client", client, 1);
        }
        let Some((first, second)) = headline(ev.kind) else {
            return;
        };
        let (field, value) = match ev.get(first) {
            Some(v) if !v.is_empty() => (first, v),
            _ => match ev.get(second) {
                Some(v) if !v.is_empty() => (second, v),
                _ => return,
            },
        };
        let value = &value[..value.len().min(MAX_VALUE)];
        self.count(&ev.decky, field, value, 1);
    }

    fn count(&mut self, decky: &Arc<str>, field: &'static str, value: &[u8], n: u64) {
        let probe = KeyRef {
            decky,
            field,
            value,
        };
        if let Some(c) = self.counts.get_mut(&probe) {
            *c += n;
        } else if self.counts.len() < self.cap {
            let key = Key {
                decky: decky.clone(),
                field,
                value: value.into(),
            };
            self.counts.insert(key, n);
        } else {
            self.overflow += n;
        }
    }

    /// Adds another tally (a shard's) into this one.
    pub fn merge(&mut self, other: &FingerprintTally) {
        for (k, &n) in &other.counts {
            self.count(&k.decky, k.field, &k.value, n);
        }
        self.overflow += other.overflow;
    }

    /// Per decky (by name), per field, the `n` most frequent values: by
    /// count, then by value, so the summary does not depend on hashing.
    pub fn top(&self, n: usize) -> Vec<(&str, Vec<TopEntry<'_>>)> {
        let mut all: Vec<(&str, TopEntry<'_>)> = self
            .counts
            .iter()
            .map(|(k, &count)| {
                let entry = TopEntry {
                    field: k.field,
                    value: &k.value,
                    count,
                };
                (&*k.decky, entry)
            })
            .collect();
        all.sort_by(|(da, a), (db, b)| {
            (da, a.field, b.count, a.value).cmp(&(db, b.field, a.count, b.value))
        });
        let mut out: Vec<(&str, Vec<TopEntry<'_>>)> = Vec::new();
        let mut shown = 0;
        for (decky, entry) in all {
            let same_decky = out.last().is_some_and(|(d, _)| *d == decky);
            if !same_decky {
                out.push((decky, Vec::new()));
            }
            let list = &mut out.last_mut().expect("pushed above").1;
            if list.last().is_none_or(|e| e.field != entry.field) {
                shown = 0;
            }
            if shown < n {
                list.push(entry);
                shown += 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::Timestamp;

    fn hello(decky: &str, ja4: &str) -> Event {
        let mut ev = Event::new(
            EventKind::TlsClientHello,
            Timestamp::new(0, 0),
            decky.into(),
        );
        ev.push("src_ip", "192.0.2.1").push("ja4", ja4);
        ev
    }

    #[test]
    fn counts_the_client_beside_the_fingerprint() {
        let mut t = FingerprintTally::new(100);
        let mut ev = hello("a", "x");
        ev.push("client", "curl").push("client_source", "ja4");
        t.add(&ev);
        t.add(&ev);
        let mut unknown = hello("a", "y");
        unknown.push("client", "").push("client_source", "");
        t.add(&unknown);
        let top = t.top(5);
        let fields: Vec<(&str, &[u8], u64)> = top[0]
            .1
            .iter()
            .map(|e| (e.field, e.value, e.count))
            .collect();
        assert_eq!(
            fields,
            [
                ("client", &b"curl"[..], 2),
                ("ja4", b"x", 2),
                ("ja4", b"y", 1)
            ]
        );
    }

    #[test]
    fn counts_per_decky_and_keeps_the_most_frequent() {
        let mut t = FingerprintTally::new(100);
        for (decky, ja4, times) in [("b", "x", 1), ("a", "y", 3), ("a", "z", 5), ("a", "w", 3)] {
            for _ in 0..times {
                t.add(&hello(decky, ja4));
            }
        }
        let mut syn = Event::new(
            EventKind::TcpSynFingerprint,
            Timestamp::new(0, 0),
            "a".into(),
        );
        syn.push("ja4t", "")
            .push("p0f_sig", "4:64+0:0:1460:mss*44,7:mss:df:0");
        t.add(&syn);
        let top = t.top(2);
        type Line<'a> = (&'a str, &'a [u8], u64);
        let view: Vec<(&str, Vec<Line<'_>>)> = top
            .iter()
            .map(|(d, es)| (*d, es.iter().map(|e| (e.field, e.value, e.count)).collect()))
            .collect();
        assert_eq!(
            view,
            vec![
                (
                    "a",
                    vec![
                        ("ja4", &b"z"[..], 5),
                        ("ja4", b"w", 3),
                        ("p0f_sig", b"4:64+0:0:1460:mss*44,7:mss:df:0", 1)
                    ]
                ),
                ("b", vec![("ja4", &b"x"[..], 1)]),
            ]
        );
    }

    #[test]
    fn counts_the_p0f_http_app_of_requests() {
        let mut t = FingerprintTally::new(100);
        for app in ["wget", "wget", "", "???"] {
            let mut ev = Event::new(
                EventKind::HttpRequestFingerprint,
                Timestamp::new(0, 0),
                "a".into(),
            );
            ev.push("ja4h", "").push("p0f_http_app", app);
            t.add(&ev);
        }
        let top = t.top(5);
        let apps: Vec<(&[u8], u64)> = top[0]
            .1
            .iter()
            .filter(|e| e.field == "p0f_http_app")
            .map(|e| (e.value, e.count))
            .collect();
        assert_eq!(apps, vec![(&b"wget"[..], 2), (b"???", 1)]);
    }

    #[test]
    fn bounded_in_entries_and_value_length() {
        let mut t = FingerprintTally::new(3);
        for i in 0..10 {
            t.add(&hello("d", &format!("{i}{}", "v".repeat(500))));
        }
        t.add(&hello("d", &format!("0{}", "v".repeat(500))));
        assert_eq!(t.counts.len(), 3);
        assert_eq!(t.overflow, 7);
        let top = t.top(10);
        assert!(top[0].1.iter().all(|e| e.value.len() == MAX_VALUE));
        assert_eq!(top[0].1[0].count, 2);

        let mut merged = FingerprintTally::new(3);
        merged.merge(&t);
        merged.merge(&t);
        assert_eq!(merged.top(1)[0].1[0].count, 4);
        assert_eq!(merged.overflow, 14);
    }
}
