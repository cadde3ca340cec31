//! Scanner identification on captures of the real tools and of real client
//! stacks (tests/data/scanners/README.md): every SYN a tool sent carries the
//! tool's label, and no SYN of a normal stack carries any.

use std::path::Path;

use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::fingerprint::scanner::Scanner;

mod support;

/// `tcp_syn_fingerprint` and `tcp_synack_fingerprint` events of a capture,
/// every host observed.
fn syn_events(path: &Path) -> Vec<Event> {
    let mut events = support::events_of(path);
    events.retain(|e| {
        matches!(
            e.kind,
            EventKind::TcpSynFingerprint | EventKind::TcpSynackFingerprint
        )
    });
    events
}

fn text(ev: &Event, name: &str) -> String {
    String::from_utf8_lossy(ev.get(name).unwrap_or(b"<missing>")).into_owned()
}

/// Capture name and the label every attacker SYN in it must get.
const CAPTURES: &[(&str, Option<Scanner>)] = &[
    ("nmap-sS", Some(Scanner::Nmap)),
    ("nmap-sS6", Some(Scanner::Nmap)),
    ("nmap-O", Some(Scanner::Nmap)),
    ("nmap-O6", Some(Scanner::Nmap)),
    ("masscan", Some(Scanner::Masscan)),
    ("zmap", Some(Scanner::Zmap)),
    ("hping3", Some(Scanner::Hping3)),
    ("hping3-scan", Some(Scanner::Hping3)),
    ("nping", Some(Scanner::Nping)),
    ("nping6", Some(Scanner::Nping)),
    ("nmap-sT", None),
    ("curl", None),
    ("curl6", None),
    ("pnscan", None),
    ("doscan", None),
];

#[test]
fn every_tool_syn_labelled_and_no_client_syn() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scanners");
    let mut failures = Vec::new();
    for &(name, want) in CAPTURES {
        let want_text = want.map_or("", Scanner::as_str);
        let (mut syns, mut synacks) = (0, 0);
        for ev in syn_events(&dir.join(format!("{name}.pcap"))) {
            let got = text(&ev, "scanner");
            let who = format!("{}:{}", text(&ev, "src_ip"), text(&ev, "src_port"));
            if ev.kind == EventKind::TcpSynFingerprint {
                syns += 1;
                if got != want_text {
                    failures.push(format!(
                        "{name}: SYN from {who}: {got:?}, want {want_text:?}"
                    ));
                }
                // os_guess follows the scanner for nmap.
                if want == Some(Scanner::Nmap) && text(&ev, "os_guess") != "nmap" {
                    failures.push(format!(
                        "{name}: SYN from {who}: os_guess {}",
                        text(&ev, "os_guess")
                    ));
                }
            } else {
                synacks += 1;
                if !got.is_empty() {
                    failures.push(format!("{name}: SYN-ACK to {who} labelled {got:?}"));
                }
            }
        }
        eprintln!("{name}: {syns} SYNs, {synacks} SYN-ACKs");
        assert!(syns >= 4, "{name}: too few SYNs ({syns})");
    }
    for f in failures.iter().take(20) {
        eprintln!("{f}");
    }
    assert!(failures.is_empty(), "{} mislabelled events", failures.len());
}

use support::corpus;

/// The FoxIO corpus holds only real browsers, clients and servers.
#[test]
fn corpus_clients_are_not_scanners() {
    let root = corpus();
    let mut syns = 0;
    for e in std::fs::read_dir(root.join("foxio/pcap"))
        .expect("corpus")
        .filter_map(Result::ok)
    {
        for ev in syn_events(&e.path()) {
            syns += 1;
            assert_eq!(text(&ev, "scanner"), "", "{}: {:?}", e.path().display(), ev);
        }
    }
    eprintln!("corpus: {syns} SYN / SYN-ACK events, none labelled");
    assert!(syns > 100);
}
