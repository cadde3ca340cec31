//! The Suricata outputs the conformance tests compare against are Suricata's
//! own: Suricata 7 (installed by `scripts/install-deps.sh` from
//! bookworm-backports) is run here on the same captures with the same
//! configuration, and what it prints now must equal what is committed.
//!
//! - `tests/corpus/foxio/suricata-7.0.10-eve/*.eve.json` (used by
//!   `tls_conformance` and `quic_conformance`): the TLS and QUIC records of
//!   each capture, by flow;
//! - the `suricata-*` rows of `tests/data/captures/expected.tsv` (used by
//!   `tls_conformance::real_client_captures_match_tshark_and_suricata`),
//!   made by `scripts/captures/expected.py`.
//!
//! A failure means the oracle data no longer comes from the tool it names
//! (or a different Suricata is installed): regenerate it with the scripts,
//! never edit it by hand.

mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Committed values that this Suricata does not reproduce, with why
/// (tests/corpus/README.md lists them too): (eve file, field).
const NOT_REPRODUCED: &[(&str, &str, &str)] = &[(
    "tls-sni.pcapng.eve.json",
    "ja4",
    "the committed file merges the two ClientHellos of each connection into one \
     JA4 (t13d3031h2_...); Suricata 7.0.10 run as here keeps them apart",
)];

/// One observation of one flow: (kind, client, server, field) -> values in
/// the order Suricata logged them.
type Observations = BTreeMap<(String, String, String, String), Vec<String>>;

fn suricata_version() -> String {
    let out = Command::new("suricata")
        .arg("-V")
        .output()
        .unwrap_or_else(|e| {
            panic!("suricata not runnable ({e}): scripts/install-deps.sh installs Suricata 7")
        });
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs Suricata on `pcap` and returns its EVE records.
fn run_suricata(pcap: &Path, extra: &[&str]) -> Vec<Value> {
    let yaml = support::corpus().join("oracles/suricata.yaml");
    let name = pcap.file_name().unwrap().to_string_lossy().into_owned();
    let out = support::scratch(&format!("suricata-oracle-{name}"));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let status = Command::new("suricata")
        .arg("-r")
        .arg(pcap)
        .args(["-k", "none", "--runmode", "single", "-c"])
        .arg(&yaml)
        .arg("-l")
        .arg(&out)
        .args(["--set", "app-layer.protocols.tls.ja4-fingerprints=yes"])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("suricata on {}: {e}", pcap.display()));
    assert!(
        status.status.success(),
        "suricata on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&status.stderr)
    );
    let records = eve_records(&out.join("eve.json"));
    let _ = std::fs::remove_dir_all(&out);
    records
}

fn eve_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// "ip:port" with IPv6 in brackets and RFC 5952 text (Suricata writes IPv6
/// uncompressed).
fn endpoint(rec: &Value, ip: &str, port: &str) -> String {
    let addr: IpAddr = rec[ip].as_str().unwrap_or_default().parse().unwrap();
    let port = rec[port].as_u64().unwrap_or_default();
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The fingerprint fields of the TLS and QUIC records, by flow.
fn observations(records: &[Value]) -> Observations {
    let mut seen = Observations::new();
    for rec in records {
        let kind = rec["event_type"].as_str().unwrap_or_default();
        let fields: &[(&str, &[&str])] = match kind {
            "tls" => &[
                ("ja3", &["tls", "ja3", "hash"]),
                ("ja3_string", &["tls", "ja3", "string"]),
                ("ja3s", &["tls", "ja3s", "hash"]),
                ("ja4", &["tls", "ja4"]),
                ("sni", &["tls", "sni"]),
            ],
            "quic" => &[("ja3", &["quic", "ja3", "hash"]), ("sni", &["quic", "sni"])],
            _ => continue,
        };
        let client = endpoint(rec, "src_ip", "src_port");
        let server = endpoint(rec, "dest_ip", "dest_port");
        for (field, path) in fields {
            let value = path.iter().fold(rec, |v, k| &v[*k]);
            if let Some(s) = value.as_str() {
                seen.entry((kind.into(), client.clone(), server.clone(), (*field).into()))
                    .or_default()
                    .push(s.to_owned());
            }
        }
    }
    seen
}

/// The differences between the committed and the live observations, as text.
fn differences(what: &str, committed: &Observations, live: &Observations) -> Option<String> {
    let mut diffs = Vec::new();
    for key in committed.keys().chain(live.keys()) {
        let (a, b) = (committed.get(key), live.get(key));
        if a != b && !diffs.iter().any(|(k, _, _)| k == key) {
            diffs.push((key.clone(), a.cloned(), b.cloned()));
        }
    }
    (!diffs.is_empty()).then(|| {
        format!(
            "{what}: {} flows/fields differ\n{}",
            diffs.len(),
            diffs
                .iter()
                .take(10)
                .map(|(k, a, b)| format!("  {k:?}: committed {a:?}, now {b:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn assert_no_differences(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "committed Suricata output differs from what {} prints now:\n{}",
        suricata_version(),
        failures.join("\n")
    );
}

#[test]
fn corpus_eve_files_are_what_suricata_prints() {
    let dir = support::corpus().join("foxio/suricata-7.0.10-eve");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".eve.json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 18,
        "{} eve files in {}",
        files.len(),
        dir.display()
    );
    let mut compared = 0;
    let mut failures = Vec::new();
    for eve in &files {
        let name = eve.file_name().unwrap().to_string_lossy();
        let pcap = support::foxio_pcap(name.trim_end_matches(".eve.json"));
        let known = |field: &str| {
            NOT_REPRODUCED
                .iter()
                .any(|(file, f, _)| *file == name && *f == field)
        };
        let mut committed = observations(&eve_records(eve));
        let mut live = observations(&run_suricata(&pcap, &[]));
        // Known differences must still differ: once they agree, the
        // exception (and its note in the corpus README) goes.
        let differs = |o: &Observations, p: &Observations, field: &str| {
            o.iter()
                .filter(|((_, _, _, f), _)| f == field)
                .any(|(k, v)| p.get(k) != Some(v))
        };
        for (_, field, why) in NOT_REPRODUCED.iter().filter(|(f, ..)| *f == name) {
            assert!(
                differs(&committed, &live, field),
                "{name} {field} now reproduces; remove the exception ({why})"
            );
        }
        committed.retain(|(_, _, _, f), _| !known(f));
        live.retain(|(_, _, _, f), _| !known(f));
        failures.extend(differences(&name, &committed, &live));
        compared += committed.values().map(Vec::len).sum::<usize>();
    }
    assert_no_differences(&failures);
    // The corpus's TLS and QUIC records hold a few hundred values: an
    // empty comparison would prove nothing.
    assert!(compared > 100, "only {compared} values compared");
}

#[test]
fn capture_expectations_are_what_suricata_prints() {
    let dir = support::test_data("captures");
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    // file -> (client, server, field) -> values, Suricata rows only.
    let mut committed: BTreeMap<String, Observations> = BTreeMap::new();
    for line in expected.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, _stream, client, server, tool, field, value] = cols[..] else {
            panic!("expected.tsv: bad line {line}");
        };
        if !tool.starts_with("suricata") || field == "ja3s_full" {
            continue;
        }
        let field = if field == "ja3_full" {
            "ja3_string"
        } else {
            field
        };
        committed
            .entry(file.to_owned())
            .or_default()
            .entry(("tls".into(), client.into(), server.into(), field.into()))
            .or_default()
            .push(value.to_owned());
    }
    assert!(committed.len() >= 10, "{} captures", committed.len());
    let mut failures = Vec::new();
    for (file, want) in &committed {
        // As scripts/captures/expected.py runs it (SMTP for STARTTLS).
        let records = run_suricata(
            &dir.join(file),
            &["--set", "app-layer.protocols.smtp.enabled=yes"],
        );
        let live: Observations = observations(&records)
            .into_iter()
            .filter(|((kind, ..), _)| kind == "tls")
            .collect();
        failures.extend(differences(file, want, &live));
    }
    assert_no_differences(&failures);
}
