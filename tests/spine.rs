//! The spine's contract: reading, decoding, flows and DECNET's wire format,
//! checked against independent tools (tshark) and hostile input.

use std::path::{Path, PathBuf};
use std::process::Command;

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::capture::RawPacket;
use decnet_sniffer::decode::decode;
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::output::json::write_record;
use decnet_sniffer::output::syslog::write_line;
use decnet_sniffer::util::time::Timestamp;

mod support;

fn corpus() -> PathBuf {
    support::corpus().join("foxio/pcap")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(corpus())
        .expect("corpus present")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

use support::events_of;

fn field(ev: &Event, name: &str) -> String {
    String::from_utf8_lossy(ev.get(name).unwrap_or_else(|| panic!("{name} missing"))).into_owned()
}

#[test]
fn every_corpus_capture_reads_without_error() {
    for path in corpus_files() {
        let mut file = CaptureFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let end = file.for_each(|_| {}).unwrap_or_else(|e| panic!("{e}"));
        assert!(end.packets > 0, "{}", path.display());
        assert!(!end.truncated, "{}", path.display());
    }
}

/// Packets and payload bytes per connection, from
/// `tshark -r F -Y tcp -T fields -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.len`
/// summed per 4-tuple (frame counts equal `tshark -q -z conv,tcp`).
#[test]
fn flow_counts_agree_with_tshark() {
    let cases = [
        ("ssh.pcapng", "54.160.114.75", 22, 57377, 318, 28858),
        (
            "tls-handshake.pcapng",
            "192.241.241.147",
            443,
            50122,
            6,
            4141,
        ),
        ("http1.pcapng", "192.168.1.1", 8080, 48456, 4, 8128),
    ];
    for (file, server, dport, sport, packets, bytes) in cases {
        let events = events_of(&corpus().join(file));
        let flow = events
            .iter()
            .find(|e| {
                e.kind == EventKind::TcpFlowTiming
                    && field(e, "dst_ip") == server
                    && field(e, "dst_port") == dport.to_string()
                    && field(e, "src_port") == sport.to_string()
            })
            .unwrap_or_else(|| panic!("{file}: no tcp_flow_timing for port {sport}"));
        assert_eq!(field(flow, "packets"), packets.to_string(), "{file}");
        assert_eq!(field(flow, "bytes"), bytes.to_string(), "{file}");
    }
}

#[test]
fn hostile_values_never_break_a_line() {
    let hostile: &[u8] = b"evil.example\n<134>1 forged\"] x=\"y\\\x1b[2J\xff\xfe\xc0\xaf";
    let mut ev = Event::new(
        EventKind::TlsClientHello,
        Timestamp::new(1_776_789_350, 0),
        "decky-01".into(),
    );
    ev.push("src_ip", "203.0.113.7")
        .push("src_port", 4444u16)
        .push_text("sni", hostile)
        .push("ja3", "abc");
    let mut line = Vec::new();
    write_line(&ev, &mut line);
    let mut record = Vec::new();
    write_record(&ev, &line, &mut record);
    for out in [&line, &record] {
        assert!(
            !out.contains(&b'\n') && !out.contains(&b'\r'),
            "{}",
            String::from_utf8_lossy(out)
        );
        assert!(
            out.iter().all(|&b| b >= 0x20 && b != 0x7f),
            "control byte in output"
        );
    }
    let text = String::from_utf8(line.clone()).expect("line is valid UTF-8");
    // The structured field comes before the free text; exactly one SD element.
    assert!(
        text.contains("src_port=\"4444\" ja3=\"abc\" sni=\""),
        "{text}"
    );
    assert!(text.ends_with("\\xff\\xfe\\xc0\\xaf\"]"), "{text}");
    assert_eq!(text.matches("[relay@55555").count(), 1);
    let json: serde_json::Value = serde_json::from_slice(&record).unwrap();
    assert_eq!(
        json["fields"]["sni"],
        String::from_utf8_lossy(hostile).as_ref()
    );
    assert_eq!(json["fields"]["ja3"], "abc");
    assert_eq!(json["fields"]["src_port"], "4444");
    assert_eq!(json["raw_line"], text);
}

#[test]
fn decoding_survives_every_truncation() {
    let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut sink = |_e: Event| {};
    for path in corpus_files() {
        let mut file = CaptureFile::open(&path).unwrap();
        file.for_each(|p| {
            for cut in 0..=p.data.len() {
                let short = RawPacket {
                    data: &p.data[..cut],
                    ..p
                };
                let _ = decode(&short);
                if cut % 7 == 0 {
                    engine.process(&short, &mut sink);
                }
            }
        })
        .unwrap();
    }
    assert!(engine.stats().decode_errors.iter().sum::<u64>() > 0);
}

#[test]
fn same_file_twice_gives_identical_bytes() {
    let bin = env!("CARGO_BIN_EXE_decnet-sniffer");
    let files: Vec<_> = corpus_files();
    let run = || Command::new(bin).arg("read").args(&files).output().unwrap();
    let (a, b) = (run(), run());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn clear_errors_for_bad_inputs() {
    let bin = env!("CARGO_BIN_EXE_decnet-sniffer");
    let out = Command::new(bin)
        .args(["read", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/x.pcap") && err.contains("No such file"),
        "{err}"
    );

    let out = Command::new(bin)
        .args(["read", env!("CARGO_MANIFEST_DIR")])
        .arg("Cargo.toml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(bin)
        .arg("read")
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng capture"));

    let pcap = corpus().join("tls12.pcap");
    let out = Command::new(bin)
        .arg("read")
        .arg(&pcap)
        .args(["--log", "/nonexistent-dir/x.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/x.log"));
}

#[test]
fn truncated_last_record_warns_and_keeps_packets() {
    let data = std::fs::read(corpus().join("http1.pcapng")).unwrap();
    let dir = std::env::temp_dir().join(format!("decnet-sniffer-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.pcapng");
    std::fs::write(&cut, &data[..data.len() - 10]).unwrap();
    let bin = env!("CARGO_BIN_EXE_decnet-sniffer");
    let out = Command::new(bin)
        .arg("read")
        .arg(&cut)
        .arg("--summary")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated") && err.contains("packets read: 183"),
        "{err}"
    );
}

#[test]
fn syn_fingerprint_fields_from_a_real_windows_syn() {
    // latest.pcapng, 172.16.225.48:52936 -> 34.212.93.65:443; p0f 3.09b logged
    // raw_sig=4:128+0:0:1460:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0
    let events = events_of(&corpus().join("latest.pcapng"));
    let syn = events
        .iter()
        .find(|e| e.kind == EventKind::TcpSynFingerprint && field(e, "src_port") == "52936")
        .expect("SYN event");
    assert_eq!(field(syn, "ttl"), "128");
    assert_eq!(field(syn, "initial_ttl"), "128");
    assert_eq!(field(syn, "hop_distance"), "0");
    assert_eq!(field(syn, "window"), (1460 * 44).to_string());
    assert_eq!(field(syn, "mss"), "1460");
    assert_eq!(field(syn, "wscale"), "8");
    assert_eq!(field(syn, "options_sig"), "M,N,W,N,N,S");
    assert_eq!(field(syn, "df"), "true");
    assert_eq!(field(syn, "direction"), "inbound");
}

/// `--summary`'s top fingerprints per decky agree with the events written
/// (every event written: `--dedup-ttl 0`), with and without workers.
#[test]
fn summary_top_fingerprints_count_the_written_events() {
    let bin = env!("CARGO_BIN_EXE_decnet-sniffer");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    // Each kind's fingerprint, and the field used when it is empty or
    // absent (JA4+ fields without the `ja4plus` feature).
    let headline = |kind: &str| match kind {
        "tcp_syn_fingerprint" => Some(("ja4t", "p0f_sig")),
        "tcp_synack_fingerprint" => Some(("ja4ts", "p0f_sig")),
        "tls_client_hello" | "dtls_client_hello" => Some(("ja4", "ja3")),
        "tls_session" => Some(("ja4s", "ja3s")),
        "tls_certificate" => Some(("ja4x", "cert_sha256")),
        "quic_client_hello" => Some(("ja4_quic", "ja3")),
        "ssh_client_banner" => Some(("ssh_version", "ssh_version")),
        "ssh_kex_fingerprint" => Some(("hassh", "hassh_server")),
        "ssh_session_fingerprint" => Some(("ja4ssh", "ja4ssh")),
        "http_request_fingerprint" => Some(("ja4h", "ja4h")),
        "http_response_fingerprint" => Some(("server", "p0f_http_sig")),
        _ => None,
    };
    for workers in ["1", "3"] {
        let out = Command::new(bin)
            .arg("read")
            .arg(demo.join("demo.pcap"))
            .arg("--state")
            .arg(demo.join("decnet-state.json"))
            .args(["--dedup-ttl", "0", "--no-progress", "--summary"])
            .args(["--workers", workers])
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut want = std::collections::BTreeMap::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let ev: serde_json::Value = serde_json::from_str(line).unwrap();
            let of = |n: &str| ev["fields"][n].as_str().unwrap_or("").to_string();
            // Requests also count the HTTP client p0f recognised.
            if ev["event_type"] == "http_request_fingerprint" && !of("p0f_http_app").is_empty() {
                let decky = ev["decky"].as_str().unwrap().to_string();
                let key = (decky, "p0f_http_app".to_string(), of("p0f_http_app"));
                *want.entry(key).or_insert(0u64) += 1;
            }
            // The program a fingerprint names is counted beside it.
            let client = ev["fields"]["client"].as_str().unwrap_or("");
            if !client.is_empty() {
                let decky = ev["decky"].as_str().unwrap().to_string();
                *want
                    .entry((decky, "client".to_string(), client.to_string()))
                    .or_insert(0u64) += 1;
            }
            let Some((first, second)) = headline(ev["event_type"].as_str().unwrap()) else {
                continue;
            };
            let (name, value) = match (of(first), of(second)) {
                (v, _) if !v.is_empty() => (first, v),
                (_, v) if !v.is_empty() => (second, v),
                _ => continue,
            };
            let decky = ev["decky"].as_str().unwrap().to_string();
            *want.entry((decky, name.to_string(), value)).or_insert(0u64) += 1;
        }
        let err = String::from_utf8(out.stderr).unwrap();
        let section = err
            .split("top fingerprints per decky")
            .nth(1)
            .unwrap_or_else(|| panic!("no top fingerprints in {err}"));
        let (mut decky, mut shown, mut last) = (String::new(), 0, None);
        for line in section.lines().skip(1) {
            if let Some(d) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
                decky = d.to_string();
                continue;
            }
            let (rest, count) = line.trim().rsplit_once(' ').unwrap();
            let (name, value) = rest.split_once(' ').unwrap();
            let count: u64 = count.parse().unwrap();
            let key = (decky.clone(), name.to_string(), value.to_string());
            assert_eq!(want.get(&key), Some(&count), "{line}");
            // Most frequent first within a field, and nothing more
            // frequent left out.
            if last
                .as_ref()
                .is_some_and(|(d, n, _)| *d == decky && n == name)
            {
                assert!(last.as_ref().unwrap().2 >= count, "{line}");
            }
            let best = want
                .iter()
                .filter(|((d, n, _), _)| *d == decky && n == name)
                .map(|(_, &c)| c)
                .max()
                .unwrap();
            assert!(count <= best);
            last = Some((decky.clone(), name.to_string(), count));
            shown += 1;
        }
        assert!(shown >= 20, "{section}");
        let fields: std::collections::BTreeSet<_> = want.keys().map(|k| &k.1).collect();
        assert!(fields.len() >= 6, "{fields:?}");
    }
}
