//! Scanner identification on captures of the real tools and of real client
//! stacks (tests/data/scanners/README.md): every SYN a tool sent carries the
//! tool's label, and no SYN of a normal stack carries any.

mod pcapwalk;

use std::path::Path;

use decnet_sniffer::fingerprint::scanner::{identify, Scanner};

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
        let (mut syns, mut others) = (0, 0);
        for seg in pcapwalk::segments(&dir.join(format!("{name}.pcap"))) {
            let flags = seg.tcp[13];
            let got = identify(&seg.ip, &seg.tcp);
            // SYN set, ACK clear: what tcp_syn_fingerprint reports.
            if flags & 0x02 != 0 && flags & 0x10 == 0 {
                syns += 1;
                if got != want {
                    failures.push(format!(
                        "{name}: SYN {} -> {}: {got:?}, want {want:?}",
                        seg.src, seg.dst
                    ));
                }
            } else {
                others += 1;
                if got.is_some() {
                    failures.push(format!("{name}: non-SYN {} labelled {got:?}", seg.src));
                }
            }
        }
        eprintln!("{name}: {syns} SYNs, {others} other segments");
        assert!(syns >= 4, "{name}: too few SYNs ({syns})");
    }
    for f in failures.iter().take(20) {
        eprintln!("{f}");
    }
    assert!(
        failures.is_empty(),
        "{} mislabelled segments",
        failures.len()
    );
}

/// The FoxIO corpus holds only real browsers, clients and servers.
#[test]
fn corpus_clients_are_not_scanners() {
    let root = std::env::var("DECNET_CORPUS").unwrap_or_else(|_| "/work/shared/corpus".into());
    let dir = Path::new(&root).join("foxio/pcap");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("corpus not found at {}; skipped", dir.display());
        return;
    };
    let mut syns = 0;
    for e in entries.filter_map(Result::ok) {
        for seg in pcapwalk::segments(&e.path()) {
            let flags = seg.tcp[13];
            if flags & 0x02 != 0 && flags & 0x10 == 0 {
                syns += 1;
                let got = identify(&seg.ip, &seg.tcp);
                assert_eq!(
                    got,
                    None,
                    "{}: SYN {} labelled",
                    e.path().display(),
                    seg.src
                );
            }
        }
    }
    eprintln!("corpus: {syns} client SYNs, none labelled");
    assert!(syns > 50);
}
