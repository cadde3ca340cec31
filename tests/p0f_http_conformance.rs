//! p0f 3.09b's HTTP module through the library's read path: every
//! `mod=http request` and `mod=http response` record p0f logged on the
//! FoxIO corpus and on our own captures of real clients
//! (tests/data/p0f_http, made by scripts/capture_p0f_http.sh) must come out
//! of `http_request_fingerprint` / `http_response_fingerprint` with the same
//! raw signature, label, lang and params; `dishonest` exactly where p0f
//! says so.

mod support;
use support::{endpoint, events_of, p0f_endpoint, text};

use std::net::SocketAddr;
use std::path::Path;

use decnet_sniffer::event::EventKind;

/// One `mod=http request|...` or `mod=http response|...` record.
#[derive(Debug)]
struct HttpLine {
    request: bool,
    cli: SocketAddr,
    srv: SocketAddr,
    app: String,
    lang: String,
    params: String,
    raw_sig: String,
}

fn parse_log(text: &str) -> Vec<HttpLine> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once("] ") else {
            continue;
        };
        // raw_sig is last and may itself hold `|` (an unknown header's value).
        let Some((head, raw_sig)) = rest.split_once("|raw_sig=") else {
            continue;
        };
        let field = |name: &str| {
            head.split('|')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or("")
                .to_string()
        };
        let request = match field("mod").as_str() {
            "http request" => true,
            "http response" => false,
            _ => continue,
        };
        let (Some(cli), Some(srv)) = (p0f_endpoint(&field("cli")), p0f_endpoint(&field("srv")))
        else {
            continue;
        };
        let app = if head.contains("|os=") {
            field("os")
        } else {
            field("app")
        };
        out.push(HttpLine {
            request,
            cli,
            srv,
            app,
            lang: field("lang"),
            params: field("params"),
            raw_sig: raw_sig.to_string(),
        });
    }
    out
}

/// Checks a capture against its p0f log; returns (records, failures).
fn check(pcap: &Path, log: &Path) -> (usize, Vec<String>) {
    let lines = parse_log(&std::fs::read_to_string(log).expect("read p0f log"));
    let events = events_of(pcap);
    let name = pcap.file_name().unwrap().to_string_lossy().to_string();
    let mut used = vec![false; events.len()];
    let mut failures = Vec::new();
    for l in &lines {
        let kind = if l.request {
            EventKind::HttpRequestFingerprint
        } else {
            EventKind::HttpResponseFingerprint
        };
        let pos = events.iter().enumerate().position(|(i, e)| {
            !used[i]
                && e.kind == kind
                && endpoint(e, "src_ip", "src_port") == l.cli
                && endpoint(e, "dst_ip", "dst_port") == l.srv
                && !text(e, "p0f_http_sig").is_empty()
        });
        let Some(pos) = pos else {
            failures.push(format!(
                "{name}: {kind:?} {} -> {} not produced",
                l.cli, l.srv
            ));
            continue;
        };
        used[pos] = true;
        let ev = &events[pos];
        let mut diff = Vec::new();
        let mut want = |f: &str, v: &str| {
            let got = text(ev, f);
            if got != v {
                diff.push(format!("{f} {got:?} != p0f {v:?}"));
            }
        };
        want("p0f_http_sig", &l.raw_sig);
        want("p0f_http_app", &l.app);
        want("p0f_http_params", &l.params);
        if l.request {
            want("p0f_http_lang", &l.lang);
            let dishonest = l.params.split(' ').any(|p| p == "dishonest");
            want("dishonest", if dishonest { "true" } else { "false" });
        }
        if !diff.is_empty() {
            failures.push(format!(
                "{name}: {} -> {}: {}",
                l.cli,
                l.srv,
                diff.join("; ")
            ));
        }
    }
    // Nothing p0f did not log: every event with a signature was matched.
    for (i, e) in events.iter().enumerate() {
        let ours = matches!(
            e.kind,
            EventKind::HttpRequestFingerprint | EventKind::HttpResponseFingerprint
        );
        if ours && !used[i] && !text(e, "p0f_http_sig").is_empty() {
            failures.push(format!(
                "{name}: extra {:?} {}: {}",
                e.kind,
                endpoint(e, "src_ip", "src_port"),
                text(e, "p0f_http_sig")
            ));
        }
    }
    (lines.len(), failures)
}

fn report(what: &str, checked: usize, failures: &[String]) {
    for f in failures.iter().take(30) {
        eprintln!("{f}");
    }
    eprintln!(
        "{what}: {checked} p0f http lines checked, {} differ",
        failures.len()
    );
    assert!(failures.is_empty(), "{what}: {} differ", failures.len());
}

#[test]
fn foxio_corpus_http_matches_p0f() {
    let mut total = 0;
    let mut failures = Vec::new();
    for (_, pcap, log_path) in support::foxio_p0f_logs() {
        let (n, f) = check(&pcap, &log_path);
        total += n;
        failures.extend(f);
    }
    assert_eq!(total, 12, "the corpus logs hold 6 requests and 6 responses");
    report("FoxIO corpus", total, &failures);
}

#[test]
fn own_captures_http_match_p0f() {
    let dir = support::test_data("p0f_http");
    let mut total = 0;
    let mut dishonest = 0;
    let mut failures = Vec::new();
    for e in std::fs::read_dir(&dir).expect("tests/data/p0f_http") {
        let path = e.expect("entry").path();
        if path.extension().is_none_or(|x| x != "pcap") {
            continue;
        }
        let log = path.with_extension("p0f.log");
        let text = std::fs::read_to_string(&log).expect("p0f log beside the capture");
        dishonest += text.matches("dishonest").count();
        let (n, f) = check(&path, &log);
        total += n;
        failures.extend(f);
    }
    assert!(total >= 20, "only {total} p0f http lines");
    assert!(dishonest > 0, "no capture where p0f says dishonest");
    report("own captures", total, &failures);
}

/// Beyond p0f: a browser User-Agent claiming Windows over a Linux SYN is
/// named in `ua_mismatch`; a client's own User-Agent names no OS or the
/// right one.
#[test]
fn forged_user_agents_disagree_with_the_syn() {
    let dir = support::test_data("p0f_http");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).expect("tests/data/p0f_http") {
        let path = e.expect("entry").path();
        if path.extension().is_none_or(|x| x != "pcap") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let forged = name.ends_with("-forged");
        for ev in events_of(&path) {
            if ev.kind != EventKind::HttpRequestFingerprint {
                continue;
            }
            // The nat-* captures send Windows browser User-Agents on some
            // connections only (tests/data/p0f_http/README.md).
            let windows_ua =
                name.starts_with("nat-") && text(&ev, "user_agent").contains("Windows");
            let want = if forged || windows_ua {
                "ua:Windows syn:Linux"
            } else {
                ""
            };
            assert_eq!(text(&ev, "ua_mismatch"), want, "{name}");
            seen += 1;
        }
    }
    assert!(seen >= 13, "only {seen} requests");
}
