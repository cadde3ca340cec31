//! Adds `client` (the label, empty when unknown) and `client_source` (the
//! method that matched) to the events that carry a client fingerprint.
//! One lookup per event, in a hash map built once at start.

use std::sync::OnceLock;

use super::db::{Database, Method, Row};
use crate::event::{Event, EventKind};

/// The database `--clients-db` chose, installed once before any event.
static INSTALLED: OnceLock<&'static Database> = OnceLock::new();

/// Makes `db` the database of the process (`--clients-db`). Only the
/// first call counts: the engine reads it from then on.
pub fn install(db: &'static Database) -> bool {
    INSTALLED.set(db).is_ok()
}

/// The installed database, else the bundled one.
pub fn database() -> &'static Database {
    INSTALLED.get().copied().unwrap_or_else(Database::bundled)
}

/// Field of `http_request_fingerprint` holding p0f's HTTP application
/// label (p0f 3.09b's HTTP module, `analyzers/p0f_http.rs`); `p0f_http`
/// rows are consulted on it, after JA4H.
pub const P0F_HTTP_APP: &str = "p0f_http_app";

/// Which event fields are looked up, by which method, first match wins.
fn methods(kind: EventKind) -> &'static [(&'static str, Method)] {
    match kind {
        EventKind::TlsClientHello => &[
            ("ja4_o", Method::Ja4o),
            ("ja4", Method::Ja4),
            ("ja3", Method::Ja3),
        ],
        EventKind::TlsSession | EventKind::DtlsClientHello => {
            &[("ja4", Method::Ja4), ("ja3", Method::Ja3)]
        }
        EventKind::QuicClientHello => &[("ja4_quic", Method::Ja4), ("ja3", Method::Ja3)],
        EventKind::SshKexFingerprint => {
            &[("hassh", Method::Hassh), ("ssh_version", Method::SshBanner)]
        }
        EventKind::HttpRequestFingerprint => {
            &[("ja4h", Method::Ja4h), (P0F_HTTP_APP, Method::P0fHttp)]
        }
        EventKind::TcpSynFingerprint => &[("ja4t", Method::Ja4t)],
        _ => &[],
    }
}

/// Whether events of `kind` get `client` and `client_source`.
pub fn is_labelled(kind: EventKind) -> bool {
    !methods(kind).is_empty()
}

/// The row naming the client of `ev`, by the first method that matches.
pub fn find<'d>(db: &'d Database, ev: &Event) -> Option<&'d Row> {
    methods(ev.kind).iter().find_map(|&(field, method)| {
        let value = ev.get(field)?;
        db.lookup(method, key_of(method, value))
    })
}

/// The part of a field's value a method keys on: JA4H's first two parts
/// (the cookie parts change with every site and session).
fn key_of(method: Method, value: &[u8]) -> &[u8] {
    if method != Method::Ja4h {
        return value;
    }
    let mut underscores = value.iter().enumerate().filter(|(_, &b)| b == b'_');
    match underscores.nth(1) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

/// Appends `client` and `client_source` (both empty when no row
/// matches) to an event of a labelled kind; other events are untouched.
pub fn label_event(ev: &mut Event) {
    if !is_labelled(ev.kind) {
        return;
    }
    let (label, source) = match find(database(), ev) {
        Some(row) => (&*row.label, row.method.as_str()),
        None => ("", ""),
    };
    ev.push("client", label).push("client_source", source);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::time::Timestamp;

    fn db() -> Database {
        Database::parse(
            "ja4 | t13d1516h2_8daaf6152771_02713d6af862 | A | 1 | c | h\n\
             ja4_o | t13d1516h2_aaaaaaaaaaaa_bbbbbbbbbbbb | B | 1 | c | h\n\
             ja3 | 0123456789abcdef0123456789abcdef | C | 1 | c | h\n\
             ja4h | ge11nn050000_0123456789ab | D | 1 | c | h\n\
             ssh_banner | SSH-2.0-Go* | E | 1 | c | h\n",
        )
        .unwrap()
    }

    fn event(kind: EventKind, fields: &[(&'static str, &str)]) -> Event {
        let mut ev = Event::new(kind, Timestamp::new(0, 0), "d".into());
        for (k, v) in fields {
            ev.push(k, *v);
        }
        ev
    }

    fn label(ev: &Event) -> Option<(&str, &str)> {
        let db = Box::leak(Box::new(db()));
        find(db, ev).map(|r| (&*r.label, r.method.as_str()))
    }

    #[test]
    fn ja4_o_before_ja4_before_ja3() {
        let ev = event(
            EventKind::TlsClientHello,
            &[
                ("ja3", "0123456789abcdef0123456789abcdef"),
                ("ja4", "t13d1516h2_8daaf6152771_02713d6af862"),
                ("ja4_o", "t13d1516h2_aaaaaaaaaaaa_bbbbbbbbbbbb"),
            ],
        );
        assert_eq!(label(&ev), Some(("B", "ja4_o")));
        let ev = event(
            EventKind::TlsSession,
            &[
                ("ja3", "0123456789abcdef0123456789abcdef"),
                ("ja4", "t13d1516h2_8daaf6152771_02713d6af862"),
            ],
        );
        assert_eq!(label(&ev), Some(("A", "ja4")));
        let ev = event(
            EventKind::TlsSession,
            &[
                ("ja3", "0123456789abcdef0123456789abcdef"),
                ("ja4", "x_y_z"),
            ],
        );
        assert_eq!(label(&ev), Some(("C", "ja3")));
    }

    #[test]
    fn ja4h_keys_on_first_two_parts_only() {
        let ev = event(
            EventKind::HttpRequestFingerprint,
            &[(
                "ja4h",
                "ge11nn050000_0123456789ab_000000000000_000000000000",
            )],
        );
        assert_eq!(label(&ev), Some(("D", "ja4h")));
        let ev = event(
            EventKind::HttpRequestFingerprint,
            &[(
                "ja4h",
                "ge11nn050000_0123456789ac_000000000000_000000000000",
            )],
        );
        assert_eq!(label(&ev), None);
    }

    #[test]
    fn banner_prefix_and_unlabelled_kinds() {
        let ev = event(
            EventKind::SshKexFingerprint,
            &[
                ("hassh", "ffffffffffffffffffffffffffffffff"),
                ("ssh_version", "SSH-2.0-Go"),
            ],
        );
        assert_eq!(label(&ev), Some(("E", "ssh_banner")));
        let ev = event(EventKind::SshClientBanner, &[("ssh_version", "SSH-2.0-Go")]);
        assert_eq!(label(&ev), None);
        assert!(!is_labelled(EventKind::SshClientBanner));
    }

    #[test]
    fn label_event_appends_two_fields() {
        let mut ev = event(EventKind::TcpSynFingerprint, &[("ja4t", "no-such")]);
        label_event(&mut ev);
        assert_eq!(ev.get("client"), Some(&b""[..]));
        assert_eq!(ev.get("client_source"), Some(&b""[..]));
        let mut ev = event(EventKind::TcpFlowTiming, &[]);
        label_event(&mut ev);
        assert_eq!(ev.field_count(), 0);
    }
}
