//! p0f 3.09b's uptime module through the library's read path: every
//! `mod=uptime` record p0f logged on the FoxIO corpus comes out as a
//! `host_uptime` of the same connection and side with the same uptime text
//! and raw frequency, and no `host_uptime` p0f did not log.

mod support;
use support::{events_of, p0f_endpoint, text};

use std::net::SocketAddr;

use decnet_sniffer::event::{Event, EventKind};

/// (cli, srv, subj, uptime text, raw_freq number) of each `mod=uptime`.
fn uptime_lines(log: &str) -> Vec<(SocketAddr, SocketAddr, String, String, String)> {
    let mut out = Vec::new();
    for line in log.lines() {
        let Some((_, rest)) = line.split_once("] ") else {
            continue;
        };
        let f = |k: &str| {
            rest.split('|')
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                .unwrap_or("")
                .to_string()
        };
        if f("mod") != "uptime" {
            continue;
        }
        let subj = if f("subj") == "cli" {
            "client"
        } else {
            "server"
        };
        let freq = f("raw_freq").trim_end_matches(" Hz").to_string();
        let (Some(cli), Some(srv)) = (p0f_endpoint(&f("cli")), p0f_endpoint(&f("srv"))) else {
            continue;
        };
        out.push((cli, srv, subj.to_string(), f("uptime"), freq));
    }
    out
}

fn ours(ev: &Event) -> (SocketAddr, SocketAddr, String, String, String) {
    let ep = |ip: &str, port: &str| {
        SocketAddr::new(
            text(ev, ip).parse().unwrap(),
            text(ev, port).parse().unwrap(),
        )
    };
    (
        ep("src_ip", "src_port"),
        ep("dst_ip", "dst_port"),
        text(ev, "subj"),
        text(ev, "uptime_text"),
        text(ev, "raw_freq_hz"),
    )
}

#[test]
fn foxio_corpus_uptime_matches_p0f() {
    let (mut total, mut failures) = (0, Vec::new());
    for (log, pcap, log_path) in support::foxio_p0f_logs() {
        let want = uptime_lines(&std::fs::read_to_string(&log_path).unwrap());
        let got: Vec<_> = events_of(&pcap)
            .iter()
            .filter(|e| e.kind == EventKind::HostUptime)
            .map(ours)
            .collect();
        total += want.len();
        if want != got {
            failures.push(format!("{log}:\n  p0f  {want:?}\n  ours {got:?}"));
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert_eq!(total, 10, "the corpus logs hold 10 uptime records");
    assert!(failures.is_empty(), "{} captures differ", failures.len());
}

/// Our own captures of real clients and scanners: exactly p0f's uptime
/// records (two on tests/data/p0f_http/uptime-curl-twice, none elsewhere:
/// one connection per host, or randomised timestamp offsets).
#[test]
fn own_captures_uptime_match_p0f() {
    let (mut checked, mut seen) = (0, 0);
    for name in ["scanners", "p0f_http"] {
        let dir = support::test_data(name);
        for e in std::fs::read_dir(&dir).expect("capture directory") {
            let path = e.expect("entry").path();
            if path.extension().is_none_or(|x| x != "pcap") {
                continue;
            }
            // scanners/ keeps p0f's host lines apart from its SYN lines.
            let ext = if name == "scanners" {
                "p0f-hosts.log"
            } else {
                "p0f.log"
            };
            let log = path.with_extension(ext);
            let Ok(log) = std::fs::read_to_string(&log) else {
                continue;
            };
            let want = uptime_lines(&log);
            let got: Vec<_> = events_of(&path)
                .iter()
                .filter(|e| e.kind == EventKind::HostUptime)
                .map(ours)
                .collect();
            assert_eq!(got, want, "{}", path.display());
            seen += want.len();
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} captures");
    assert!(seen >= 2, "no uptime record in our captures");
}
