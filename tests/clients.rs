//! Client labels (data/clients/clients.db): every capture under
//! tests/data/clients gives the labels of its own program and no other;
//! captures made elsewhere get no label their origin contradicts; the
//! database is replaceable with `--clients-db` and a bad row is refused
//! with its line. JA4H and JA4T need `ja4plus`: the tests that look at
//! every capture's labels run with it.

#![cfg_attr(not(feature = "ja4plus"), allow(unused_imports, dead_code))]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use decnet_sniffer::fingerprint::clients::{Database, Row};

#[cfg(feature = "ja4plus")]
/// The SYN label every program that connects through the Linux stack gets.
const LINUX: &str = "Linux TCP stack (any program using connect)";
#[cfg(feature = "ja4plus")]
/// Nmap's raw SYN, sent first by every Nmap scan run as root.
const NMAP_SYN: &str = "Nmap SYN scan (-sS; also before -O, -sV, scripts)";

#[cfg(feature = "ja4plus")]
/// (label, method) of every labelled event of a capture.
fn labels_of(path: &Path) -> BTreeSet<(String, String)> {
    support::events_of(path)
        .iter()
        .filter_map(|e| {
            let client = e.get("client")?;
            (!client.is_empty()).then(|| {
                (
                    String::from_utf8_lossy(client).into_owned(),
                    String::from_utf8_lossy(e.get("client_source").unwrap_or_default())
                        .into_owned(),
                )
            })
        })
        .collect()
}

#[cfg(feature = "ja4plus")]
/// The captures a row names in its `capture` column.
fn captures_of(row: &Row) -> Vec<String> {
    row.capture
        .split([',', ' '])
        .filter_map(|w| w.strip_suffix(".pcap"))
        .map(str::to_owned)
        .collect()
}

fn clients_dir() -> std::path::PathBuf {
    support::test_data("clients")
}

#[cfg(feature = "ja4plus")]
/// The values of a capture's events for a method (JA4H cut to its first
/// two parts, as the matcher keys it).
fn values_of(path: &Path) -> BTreeSet<(&'static str, String)> {
    let mut out = BTreeSet::new();
    for e in support::events_of(path) {
        let text = |f: &str| String::from_utf8_lossy(e.get(f).unwrap_or_default()).into_owned();
        for (field, method) in [
            ("ja4", "ja4"),
            ("ja4_o", "ja4_o"),
            ("ja3", "ja3"),
            ("ja4_quic", "ja4"),
            ("hassh", "hassh"),
            ("ssh_version", "ssh_banner"),
            ("ja4t", "ja4t"),
        ] {
            let v = text(field);
            if !v.is_empty() {
                out.insert((method, v));
            }
        }
        let ja4h = text("ja4h");
        if !ja4h.is_empty() {
            let ab: Vec<&str> = ja4h.split('_').take(2).collect();
            out.insert(("ja4h", ab.join("_")));
        }
    }
    out
}

#[cfg(feature = "ja4plus")]
#[test]
fn every_row_is_backed_by_its_capture() {
    let db = Database::bundled();
    assert!(db.len() > 60, "{} rows", db.len());
    let mut cache: BTreeMap<String, BTreeSet<(&'static str, String)>> = BTreeMap::new();
    for row in db.rows() {
        let captures = captures_of(row);
        assert!(!captures.is_empty(), "line {}: no capture named", row.line);
        for c in captures {
            let path = clients_dir().join(format!("{c}.pcap"));
            assert!(
                path.exists(),
                "line {}: {} missing",
                row.line,
                path.display()
            );
            let got = cache.entry(c.clone()).or_insert_with(|| values_of(&path));
            let m = row.method.as_str();
            let found = got.iter().any(|(method, v)| {
                *method == m
                    && if row.prefix {
                        v.starts_with(&*row.value)
                    } else {
                        **v == *row.value
                    }
            });
            assert!(found, "line {}: {m} {:?} not in {c}", row.line, row.value);
        }
    }
}

#[cfg(feature = "ja4plus")]
#[test]
fn each_capture_gives_only_its_own_labels() {
    let db = Database::bundled();
    let mut own: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in db.rows() {
        for c in captures_of(row) {
            own.entry(c).or_default().insert(row.label.to_string());
        }
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(clients_dir()).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(case) = name.strip_suffix(".pcap") else {
            continue;
        };
        seen += 1;
        let labels = labels_of(&path);
        assert!(!labels.is_empty(), "{case}: no label");
        for (label, _) in &labels {
            let allowed = own.get(case).is_some_and(|l| l.contains(label))
                || label == LINUX
                || (label == NMAP_SYN && case.starts_with("nmap-"));
            assert!(allowed, "{case}: foreign label {label:?} (all: {labels:?})");
        }
    }
    assert!(seen >= 50, "{seen} captures");
}

#[cfg(feature = "ja4plus")]
/// Captures made by others (FoxIO's set, other topics' captures): no label
/// but the ones their origin (README of each folder) says.
#[test]
fn other_captures_get_no_contradicting_label() {
    let expected: &[(&str, &[&str])] = &[
        (
            "captures/tls-gnutls.pcap",
            &["GnuTLS 3.7 gnutls-cli", LINUX],
        ),
        (
            "captures/tls-starttls-smtp.pcap",
            &["OpenSSL 3.0 s_client", LINUX],
        ),
        ("scanners/curl.pcap", &["libcurl: curl, dirb", LINUX]),
        ("scanners/curl6.pcap", &["libcurl: curl, dirb", LINUX]),
        ("scanners/masscan.pcap", &["masscan"]),
        ("scanners/zmap.pcap", &["ZMap"]),
        ("scanners/hping3.pcap", &["hping3 -S (default window)"]),
        ("scanners/hping3-scan.pcap", &["hping3 -S (default window)"]),
        ("scanners/nmap-sS.pcap", &[NMAP_SYN]),
        ("scanners/nmap-sS6.pcap", &[NMAP_SYN]),
        (
            "scanners/nmap-O.pcap",
            &[NMAP_SYN, "Nmap OS detection probe (-O)", LINUX],
        ),
        (
            "scanners/nmap-O6.pcap",
            &[NMAP_SYN, "Nmap OS detection probe (-O)", LINUX],
        ),
        ("ssh_http/http-curl.pcap", &["libcurl: curl, dirb", LINUX]),
        ("ssh_http/ssh-openssh-22.pcap", &["OpenSSH 9.2 ssh", LINUX]),
        (
            "ssh_http/ssh-openssh-2222-ipv6.pcap",
            &["OpenSSH 9.2 ssh", LINUX],
        ),
        // Random SYNs by a generator: one is, byte for byte, hping3's
        // default SYN (window 512, no options), which JA4T cannot tell apart.
        ("p0f/quirks.pcap", &["hping3 -S (default window)"]),
    ];
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["captures", "scanners", "ssh_http", "p0f", "quic"] {
        for e in std::fs::read_dir(support::test_data(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    for e in std::fs::read_dir(support::corpus().join("foxio/pcap")).unwrap() {
        files.push(e.unwrap().path());
    }
    assert!(files.len() > 60, "{} files", files.len());
    for path in files {
        let name = path.to_string_lossy().into_owned();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".cap")) {
            continue;
        }
        let allowed: &[&str] = expected
            .iter()
            .find(|(rel, _)| name.ends_with(rel))
            .map_or(&[], |(_, l)| l);
        for (label, source) in labels_of(&path) {
            // Captures of this machine (Debian 12) connect through Linux.
            let linux_here = label == LINUX && !name.contains("foxio");
            assert!(
                allowed.contains(&label.as_str()) || linux_here,
                "{name}: {label:?} by {source}"
            );
        }
    }
}

#[cfg(feature = "ja4plus")]
#[test]
fn browsers_and_tls_scanners_get_exactly_their_labels() {
    let expected: &[(&str, &[(&str, &str)])] = &[
        ("chromium-tls", &[("Chromium headless (BoringSSL)", "ja4")]),
        (
            "chromium-tls12",
            &[("Chromium headless (BoringSSL)", "ja4")],
        ),
        ("chromium-http", &[("Chromium headless", "ja4h")]),
        ("firefox-tls", &[("Firefox ESR headless (NSS)", "ja4")]),
        ("firefox-http", &[("Firefox ESR headless", "ja4h")]),
        ("testssl-tls", &[("testssl.sh", "ja4")]),
        ("sslyze-tls", &[("sslyze (nassl)", "ja4")]),
    ];
    for (case, want) in expected {
        let mut want: BTreeSet<(String, String)> = want
            .iter()
            .map(|(l, m)| (l.to_string(), m.to_string()))
            .collect();
        want.insert((LINUX.to_string(), "ja4t".to_string()));
        let got = labels_of(&clients_dir().join(format!("{case}.pcap")));
        assert_eq!(got, want, "{case}");
    }
}

#[cfg(feature = "ja4plus")]
/// Chromium shuffles its extensions per connection: its hellos share one
/// JA4 (sorted, GREASE dropped) but not one JA4_o, so the database labels
/// it by JA4 and never by JA4_o.
#[test]
fn chromium_is_labelled_by_sorted_ja4_not_by_its_random_order() {
    let mut ja4 = BTreeSet::new();
    let mut ja4_o = BTreeSet::new();
    let mut hellos = 0;
    for case in ["chromium-tls", "chromium-tls12"] {
        for e in support::events_of(&clients_dir().join(format!("{case}.pcap"))) {
            if e.kind != decnet_sniffer::event::EventKind::TlsClientHello {
                continue;
            }
            hellos += 1;
            ja4.insert(e.get("ja4").unwrap().to_vec());
            ja4_o.insert(e.get("ja4_o").unwrap().to_vec());
            assert_eq!(e.get("client_source").unwrap(), b"ja4");
        }
    }
    assert!(hellos >= 4, "{hellos} hellos");
    assert_eq!(ja4.len(), 1, "{ja4:?}");
    assert!(ja4_o.len() > 1, "extension order did not vary: {ja4_o:?}");
    // GREASE is neither counted nor hashed: tshark shows 16 suites (one
    // GREASE) and 18 extensions (two GREASE) in these hellos.
    assert!(ja4.first().unwrap().starts_with(b"t13i1516h2_"));
    let db = Database::bundled();
    assert!(
        !db.rows()
            .iter()
            .any(|r| r.method.as_str() == "ja4_o" && r.label.contains("Chromium")),
        "Chromium needs no ja4_o row"
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
}

#[test]
fn read_writes_client_and_source_and_clients_db_replaces_the_database() {
    let pcap = clients_dir().join("paramiko-ssh.pcap");
    let out = bin()
        .args(["read", "--no-progress", "--dedup-ttl", "0"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let kex = text
        .lines()
        .find(|l| l.contains("\"ssh_kex_fingerprint\""))
        .unwrap();
    assert!(
        kex.contains("\"client\":\"paramiko\",\"client_source\":\"hassh\""),
        "{kex}"
    );
    assert!(
        kex.contains("client=\\\"paramiko\\\" client_source=\\\"hassh\\\""),
        "{kex}"
    );

    let dir = std::env::temp_dir().join(format!("clients-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("custom.db");
    std::fs::write(
        &db,
        "# only a banner prefix\nssh_banner | SSH-2.0-paramiko_* | Test label | any | x.pcap | by hand\n",
    )
    .unwrap();
    let out = bin()
        .args(["read", "--no-progress", "--dedup-ttl", "0", "--clients-db"])
        .arg(&db)
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let kex = text
        .lines()
        .find(|l| l.contains("\"ssh_kex_fingerprint\""))
        .unwrap();
    assert!(
        kex.contains("\"client\":\"Test label\",\"client_source\":\"ssh_banner\""),
        "{kex}"
    );
    // The SYN's JA4T is not in this database: unknown stays empty.
    let syn = text
        .lines()
        .find(|l| l.contains("\"tcp_syn_fingerprint\""))
        .unwrap();
    assert!(
        syn.contains("\"client\":\"\",\"client_source\":\"\""),
        "{syn}"
    );

    std::fs::write(&db, "# bad\n\nja3 | 1234 | x | y | z | w\n").unwrap();
    let out = bin()
        .args(["read", "--no-progress", "--clients-db"])
        .arg(&db)
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("custom.db: line 3: expected an MD5 hash of 32 hex digits"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "ja4plus")]
#[test]
fn summary_counts_clients_per_decky() {
    let out = bin()
        .args(["read", "--no-progress", "--summary"])
        .arg(clients_dir().join("sqlmap-http.pcap"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("    client sqlmap 3\n"), "{err}");
}

#[cfg(feature = "ja4plus")]
/// Captures of tools sending a browser User-Agent: the forged ones made on
/// purpose, and dirb, whose default User-Agent is Internet Explorer 6's.
const FORGED_UA: [&str; 4] = [
    "curl-forged-ua",
    "requests-forged-ua",
    "sqlmap-random-agent",
    "dirb-http",
];

#[cfg(feature = "ja4plus")]
#[test]
fn mismatch_fires_on_forged_user_agents_only() {
    let mut fired = BTreeMap::new();
    for entry in std::fs::read_dir(clients_dir()).unwrap() {
        let path = entry.unwrap().path();
        let Some(case) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".pcap"))
            .map(str::to_owned)
        else {
            continue;
        };
        let claims: Vec<String> = support::events_of(&path)
            .iter()
            .filter(|e| e.kind == decnet_sniffer::event::EventKind::ClientMismatch)
            .map(|e| String::from_utf8_lossy(e.get("claims").unwrap()).into_owned())
            .collect();
        if !claims.is_empty() {
            fired.insert(case, claims);
        }
    }
    let cases: BTreeSet<&str> = fired.keys().map(String::as_str).collect();
    assert_eq!(cases, FORGED_UA.into_iter().collect(), "{fired:?}");
    assert_eq!(
        fired["requests-forged-ua"][0],
        "User-Agent Chrome/124 on Windows; ja4h Python requests; syn linux"
    );
    assert_eq!(
        fired["curl-forged-ua"][0],
        "User-Agent Chrome/124 on Windows; ja4h libcurl: curl, dirb; syn linux"
    );
    assert!(fired["sqlmap-random-agent"][0].contains("; ja4h sqlmap"));
}

#[test]
fn mismatch_never_fires_on_other_captures() {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["captures", "scanners", "ssh_http", "quic"] {
        for e in std::fs::read_dir(support::test_data(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    for e in std::fs::read_dir(support::corpus().join("foxio/pcap")).unwrap() {
        files.push(e.unwrap().path());
    }
    for path in files {
        let name = path.to_string_lossy().into_owned();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".cap")) {
            continue;
        }
        let n = support::events_of(&path)
            .iter()
            .filter(|e| e.kind == decnet_sniffer::event::EventKind::ClientMismatch)
            .count();
        assert_eq!(n, 0, "{name}");
    }
}
