//! p0f 3.09b's host change / IP sharing detection through the library's
//! read path: every `mod=host change` and `mod=ip sharing` record p0f
//! logged on the FoxIO corpus and on our own captures comes out as a
//! `host_change` / `ip_sharing` of the same connection and side with the
//! same reason and raw hits, and nothing p0f did not log.

mod support;
use support::{events_of, p0f_endpoint, text};

use std::net::SocketAddr;
use std::path::Path;

use decnet_sniffer::event::EventKind;

type Rec = (String, SocketAddr, SocketAddr, String, String, String);

fn p0f_records(log: &str) -> Vec<Rec> {
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
        let kind = match f("mod").as_str() {
            "host change" => "host_change",
            "ip sharing" => "ip_sharing",
            _ => continue,
        };
        let subj = if f("subj") == "cli" {
            "client"
        } else {
            "server"
        };
        let (Some(cli), Some(srv)) = (p0f_endpoint(&f("cli")), p0f_endpoint(&f("srv"))) else {
            continue;
        };
        out.push((
            kind.into(),
            cli,
            srv,
            subj.into(),
            f("reason"),
            f("raw_hits"),
        ));
    }
    out
}

fn ours(path: &Path) -> Vec<Rec> {
    events_of(path)
        .iter()
        .filter(|e| matches!(e.kind, EventKind::HostChange | EventKind::IpSharing))
        .map(|ev| {
            let ep = |ip: &str, port: &str| {
                SocketAddr::new(
                    text(ev, ip).parse().unwrap(),
                    text(ev, port).parse().unwrap(),
                )
            };
            (
                ev.kind.as_str().to_string(),
                ep("src_ip", "src_port"),
                ep("dst_ip", "dst_port"),
                text(ev, "subj"),
                text(ev, "reason"),
                text(ev, "raw_hits"),
            )
        })
        .collect()
}

#[test]
fn foxio_corpus_host_changes_match_p0f() {
    let (mut total, mut failures) = (0, Vec::new());
    for (log, pcap, log_path) in support::foxio_p0f_logs() {
        let want = p0f_records(&std::fs::read_to_string(&log_path).unwrap());
        let got = ours(&pcap);
        total += want.len();
        if want != got {
            failures.push(format!("{log}:\n  p0f  {want:?}\n  ours {got:?}"));
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert_eq!(total, 4, "the corpus logs hold 4 host change records");
    assert!(failures.is_empty(), "{} captures differ", failures.len());
}

#[test]
fn own_captures_host_changes_match_p0f() {
    let mut checked = 0;
    for dir in ["scanners", "p0f_http"] {
        for e in std::fs::read_dir(support::test_data(dir)).expect("capture directory") {
            let path = e.expect("entry").path();
            if path.extension().is_none_or(|x| x != "pcap") {
                continue;
            }
            // scanners/ keeps p0f's host lines apart from its SYN lines.
            let ext = if dir == "scanners" {
                "p0f-hosts.log"
            } else {
                "p0f.log"
            };
            let Ok(log) = std::fs::read_to_string(path.with_extension(ext)) else {
                continue;
            };
            assert_eq!(ours(&path), p0f_records(&log), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} captures");
}

/// The HTTP module's reasons, on captures made to trigger each of them
/// (tests/data/p0f_http/nat-*, scripts/capture_p0f_http_nat.sh): every
/// record p0f logged is reproduced, and together they use every reason
/// p0f's HTTP side can give.
#[test]
fn http_side_reasons_match_p0f() {
    let dir = support::test_data("p0f_http");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("capture directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("nat-") && n.ends_with(".pcap"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    let (mut records, mut reasons) = (0, std::collections::BTreeSet::new());
    for name in names {
        let path = dir.join(&name);
        let log = std::fs::read_to_string(path.with_extension("p0f.log")).expect("p0f log");
        let want = p0f_records(&log);
        assert_eq!(ours(&path), want, "{name}");
        records += want.len();
        for r in &want {
            reasons.extend(r.4.split(' ').map(str::to_string));
        }
    }
    assert_eq!(records, 14);
    for r in [
        "via",
        "date",
        "srv_sig_lb",
        "ua_vs_os",
        "app_vs_os",
        "x_known",
    ] {
        assert!(reasons.contains(r), "no {r} in {reasons:?}");
    }
}
