//! p0f conformance: every SYN and SYN+ACK that p0f 3.09b logged, in the
//! FoxIO corpus and in our own captures, must get the same raw signature,
//! label, distance, match quality and MTU/link here.

mod pcapwalk;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use decnet_sniffer::fingerprint::p0f::{Database, P0fResult, RawSig};
use pcapwalk::Segment;

/// One `mod=syn|...` (or syn+ack) line of a p0f log, with the `mod=mtu`
/// line that follows it, if any.
#[derive(Debug, Clone)]
struct P0fLine {
    syn_ack: bool,
    cli: String,
    srv: String,
    label: String,
    dist: String,
    params: String,
    raw_sig: String,
    link: Option<(String, String)>,
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split('|')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn parse_log(text: &str) -> Vec<P0fLine> {
    let mut out: Vec<P0fLine> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.split_once("] ").map(|(_, r)| r) else {
            continue;
        };
        let Some(module) = field(rest, "mod") else {
            continue;
        };
        let syn_ack = match module {
            "syn" | "sendsyn probe" => false,
            "syn+ack" | "sendsyn response" => true,
            "mtu" => {
                // Belongs to the signature line just before it (same packet).
                if let Some(prev) = out.last_mut() {
                    let subj_ok =
                        field(rest, "subj") == Some(if prev.syn_ack { "srv" } else { "cli" });
                    if subj_ok && field(rest, "cli") == Some(&prev.cli) && prev.link.is_none() {
                        prev.link = Some((
                            field(rest, "link").unwrap_or("").to_string(),
                            field(rest, "raw_mtu").unwrap_or("").to_string(),
                        ));
                    }
                }
                continue;
            }
            _ => continue,
        };
        let get = |k: &str| field(rest, k).unwrap_or("").to_string();
        let label = field(rest, "os")
            .or_else(|| field(rest, "app"))
            .unwrap_or("")
            .to_string();
        out.push(P0fLine {
            syn_ack,
            cli: get("cli"),
            srv: get("srv"),
            label,
            dist: get("dist"),
            params: get("params"),
            raw_sig: get("raw_sig"),
            link: None,
        });
    }
    out
}

/// Our view of one segment, keyed like p0f's log.
#[derive(Debug)]
struct Ours {
    syn_ack: bool,
    cli: String,
    srv: String,
    raw_sig: String,
    label: String,
    dist: String,
    params: String,
    mtu: Option<u16>,
    link: String,
    used: bool,
}

/// Fingerprints every SYN and SYN+ACK of a capture; a SYN+ACK gets the MSS
/// of the last SYN of its connection, as p0f's flow does.
fn fingerprint_capture(db: &Database, path: &Path) -> Vec<Ours> {
    let mut syn_mss: HashMap<(String, String), u16> = HashMap::new();
    let mut out = Vec::new();
    for seg in pcapwalk::segments(path) {
        let Segment {
            ip,
            tcp,
            payload_len,
            src,
            dst,
        } = seg;
        let Ok(sig) = RawSig::from_headers(&ip, &tcp, payload_len) else {
            continue;
        };
        let (cli, srv) = if sig.syn_ack { (dst, src) } else { (src, dst) };
        let sig = if sig.syn_ack {
            match syn_mss.get(&(cli.clone(), srv.clone())) {
                Some(&m) => sig.with_peer_mss(m),
                None => sig,
            }
        } else {
            syn_mss.insert((cli.clone(), srv.clone()), sig.mss);
            sig
        };
        let r = P0fResult::analyze(db, sig);
        out.push(Ours {
            syn_ack: sig.syn_ack,
            cli,
            srv,
            raw_sig: r.raw_sig(),
            label: r.label(),
            dist: r.dist_text(),
            params: r.params(),
            mtu: r.mtu(),
            link: r.link().to_string(),
            used: false,
        });
    }
    out
}

/// Compares a capture with its p0f log; returns (lines checked, failures).
fn check(db: &Database, pcap: &Path, log: &Path) -> (usize, Vec<String>) {
    let lines = parse_log(&std::fs::read_to_string(log).expect("read p0f log"));
    let mut ours = fingerprint_capture(db, pcap);
    let mut failures = Vec::new();
    for l in &lines {
        // p0f skips duplicate SYNs and flows it stopped tracking, so the
        // first unused segment of the same connection with the same raw
        // signature is the one it logged.
        let same_conn =
            |o: &Ours| !o.used && o.syn_ack == l.syn_ack && o.cli == l.cli && o.srv == l.srv;
        let pos = ours
            .iter()
            .position(|o| same_conn(o) && o.raw_sig == l.raw_sig);
        let Some(pos) = pos else {
            let near: Vec<&str> = ours
                .iter()
                .filter(|o| same_conn(o))
                .map(|o| o.raw_sig.as_str())
                .collect();
            failures.push(format!(
                "{}: {} {} -> {}: p0f raw_sig {} not produced (ours: {near:?})",
                pcap.display(),
                if l.syn_ack { "syn+ack" } else { "syn" },
                l.cli,
                l.srv,
                l.raw_sig
            ));
            continue;
        };
        let o = &mut ours[pos];
        o.used = true;
        let mut diff = Vec::new();
        if o.label != l.label {
            diff.push(format!("os {:?} != p0f {:?}", o.label, l.label));
        }
        if o.dist != l.dist {
            diff.push(format!("dist {:?} != p0f {:?}", o.dist, l.dist));
        }
        if o.params != l.params {
            diff.push(format!("params {:?} != p0f {:?}", o.params, l.params));
        }
        if let Some((link, raw_mtu)) = &l.link {
            let mtu = o.mtu.map(|m| m.to_string()).unwrap_or_default();
            if &o.link != link || &mtu != raw_mtu {
                diff.push(format!(
                    "link/mtu {:?}/{mtu} != p0f {link:?}/{raw_mtu}",
                    o.link
                ));
            }
        }
        if !diff.is_empty() {
            failures.push(format!(
                "{}: {} {}: {}",
                pcap.display(),
                l.cli,
                l.raw_sig,
                diff.join("; ")
            ));
        }
    }
    (lines.len(), failures)
}

fn report(checked: usize, failures: &[String]) {
    for f in failures.iter().take(30) {
        eprintln!("{f}");
    }
    assert!(checked > 0, "no p0f line checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} p0f lines differ",
        failures.len()
    );
}

#[test]
fn crafted_quirks_match_p0f() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/p0f");
    let (n, failures) = check(
        Database::bundled(),
        &dir.join("quirks.pcap"),
        &dir.join("quirks.p0f.log"),
    );
    eprintln!(
        "quirks.pcap: {n} p0f lines checked, {} differ",
        failures.len()
    );
    assert!(n > 1200);
    report(n, &failures);
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(std::env::var("DECNET_CORPUS").unwrap_or_else(|_| "/work/shared/corpus".into()))
        .join("foxio")
}

#[test]
fn foxio_corpus_matches_p0f() {
    let logs = corpus_dir().join("p0f-3.09b");
    let Ok(entries) = std::fs::read_dir(&logs) else {
        eprintln!("corpus not found at {}; skipped", logs.display());
        return;
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    let (mut total, mut failures) = (0, Vec::new());
    for name in names {
        let name = name.to_string_lossy().to_string();
        let Some(pcap) = name.strip_suffix(".log") else {
            continue;
        };
        let (n, f) = check(
            Database::bundled(),
            &corpus_dir().join("pcap").join(pcap),
            &logs.join(&name),
        );
        eprintln!("{pcap}: {n} p0f lines, {} differ", f.len());
        total += n;
        failures.extend(f);
    }
    eprintln!(
        "corpus: {total} p0f syn/syn+ack lines checked, {} differ",
        failures.len()
    );
    report(total, &failures);
}

#[test]
fn own_captures_match_p0f() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scanners");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/data/scanners")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    names.sort();
    let (mut total, mut failures) = (0, Vec::new());
    for name in &names {
        let log = dir.join(name.replace(".pcap", ".p0f.log"));
        let (n, f) = check(Database::bundled(), &dir.join(name), &log);
        eprintln!("{name}: {n} p0f lines, {} differ", f.len());
        total += n;
        failures.extend(f);
    }
    assert!(names.len() >= 10);
    eprintln!(
        "own captures: {total} p0f syn/syn+ack lines checked, {} differ",
        failures.len()
    );
    report(total, &failures);
}
