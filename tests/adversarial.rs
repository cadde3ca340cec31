//! Adversarial workloads (issue 6): each is written as a pcap, read by a
//! real `decnet-sniffer read` child, and must complete with exit 0 inside a
//! memory bound measured on that child alone (wait4's ru_maxrss).
//!
//! Each test prints `FIGURES name=... input_bytes=... packets=... peak_rss_kib=...
//! secs=... pps=...` (run with `--nocapture`), the numbers ROBUSTNESS.md quotes.

mod support;

use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::Path;

use support::*;

const DECKY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

/// A fresh source address per index (a bijection, so no two repeat).
fn source(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(i.wrapping_mul(0x9e37_79b1) ^ 0x5bd1_e995)
}

fn writer(path: &Path) -> PcapWriter<BufWriter<File>> {
    PcapWriter::new(BufWriter::with_capacity(
        1 << 20,
        File::create(path).unwrap(),
    ))
}

/// Runs the child and checks completion and the memory bound.
fn run(
    name: &str,
    dir: &Path,
    pcap: &Path,
    packets: u64,
    rss_bound_mib: i64,
    keep: bool,
    args: &[&str],
) -> ReadRun {
    let r = read_child_to(dir, pcap, args, keep);
    let size = std::fs::metadata(pcap).unwrap().len();
    let secs = r.elapsed.as_secs_f64();
    eprintln!(
        "FIGURES name={name} input_bytes={size} packets={packets} peak_rss_kib={} secs={secs:.2} pps={:.0}",
        r.max_rss_kib,
        packets as f64 / secs
    );
    assert_eq!(
        r.status, 0,
        "{name}: exit {}; stderr: {}",
        r.status, r.stderr
    );
    assert!(
        r.max_rss_kib < rss_bound_mib * 1024,
        "{name}: peak RSS {} KiB over {rss_bound_mib} MiB",
        r.max_rss_kib
    );
    r
}

/// Every line of both files parses (one record per line, nothing torn).
fn all_records_parse(r: &ReadRun) -> usize {
    let log = lines(&r.log);
    let json = lines(&r.json);
    assert_eq!(
        log.len(),
        json.len(),
        "log and JSON disagree on the record count"
    );
    for rec in &json {
        let v: serde_json::Value = serde_json::from_slice(rec).expect("JSON record parses");
        assert!(v["raw_line"].as_str().unwrap().starts_with('<'));
    }
    for line in &log {
        assert!(
            line.starts_with(b"<13") && line.ends_with(b"]"),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
    log.len()
}

fn syn_flood(name: &str, n: u32, rss_bound_mib: i64, args: &[&str]) {
    let dir = scratch(name);
    let pcap = dir.join("in.pcap");
    let mut w = writer(&pcap);
    let mut frame = tcp(source(0), 1024, DECKY, 22, 1, 0, SYN, &[]);
    for i in 0..n {
        frame[26..30].copy_from_slice(&source(i).octets());
        frame[34..36].copy_from_slice(&((i as u16) | 1024).to_be_bytes());
        frame[38..42].copy_from_slice(&source(i).octets());
        w.packet(1_776_789_350_000_000 + i64::from(i), &frame);
    }
    drop(w.into_inner());
    run(name, &dir, &pcap, u64::from(n), rss_bound_mib, false, args);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A SYN flood from 300,000 distinct sources under tables of 30,000: the
/// tables fill, evict, and memory stays where the caps put it.
#[test]
fn syn_flood_300k_sources_small_caps() {
    let caps = [
        "--max-flows",
        "30000",
        "--max-pending-handshakes",
        "30000",
        "--max-seq-sources",
        "30000",
        "--max-dedup",
        "30000",
    ];
    syn_flood("syn_flood_300k_caps_30k", 300_000, 64, &caps);
}

/// A million sources at the default caps (262,144 half-open flows and
/// sources, 1M dedup entries) stay within issue #5's 256 MiB (950 MB before
/// the half-open table and the slab LRU). About a minute in the debug build.
#[test]
fn syn_flood_from_a_million_sources_default_caps() {
    syn_flood("syn_flood_1M_default_caps", 1_000_000, 256, &[]);
}

/// Ten thousand half-open handshakes, each then fed segments that overlap
/// with conflicting bytes, segments beyond a hole that never fills, and
/// sequence numbers straddling the 2^32 wrap.
#[test]
fn reassembly_abuse() {
    const CONNS: u32 = 10_000;
    let dir = scratch("reassembly");
    let pcap = dir.join("in.pcap");
    let mut w = writer(&pcap);
    let mut t = 1_776_789_350_000_000i64;
    let payload = vec![0x16u8; 1400];
    let conflict = vec![0x99u8; 1400];
    for i in 0..CONNS {
        let c = source(i);
        // Near the wrap for a third of the flows.
        let isn = if i % 3 == 0 {
            u32::MAX - 700
        } else {
            i.wrapping_mul(7919)
        };
        t += 10;
        w.packet(t, &tcp(c, 40000, DECKY, 443, isn, 0, SYN, &[]));
        w.packet(
            t + 1,
            &tcp(DECKY, 443, c, 40000, 77, isn.wrapping_add(1), SYN_ACK, &[]),
        );
        // No final ACK: half-open. Then data anyway.
        let base = isn.wrapping_add(1);
        if i % 2 == 0 {
            // A hole of one byte at the start, then 64 KiB beyond it.
            for k in 0..48u32 {
                let seq = base.wrapping_add(1).wrapping_add(k * 1400);
                w.packet(
                    t + 2,
                    &tcp(c, 40000, DECKY, 443, seq, 78, PSH_ACK, &payload),
                );
            }
        } else {
            // The same range three times with different bytes, then
            // overlapping halves.
            for k in 0..16u32 {
                let seq = base.wrapping_add(k * 700);
                let p = if k % 2 == 0 { &payload } else { &conflict };
                w.packet(t + 2, &tcp(c, 40000, DECKY, 443, seq, 78, PSH_ACK, p));
            }
        }
    }
    let packets = w.packets;
    drop(w.into_inner());
    run(
        "reassembly_abuse_10k_half_open",
        &dir,
        &pcap,
        packets,
        512,
        false,
        &[],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// TLS handshakes that lie: a message claiming 16 MiB followed by a
/// stream of records, a ClientHello with as many extensions as fit (16,383
/// empty ones), and a Certificate whose inner lengths claim more than the
/// message holds.
#[test]
fn tls_lies() {
    let dir = scratch("tls");
    let pcap = dir.join("in.pcap");
    let mut w = writer(&pcap);
    // 1. Handshake header claiming 0xffffff bytes, then 1 MiB of records.
    for i in 0..10u32 {
        let mut conn = Conn::new(source(i), 41000, DECKY, 443);
        conn.handshake(&mut w);
        let mut stream = vec![22, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff];
        stream.extend(std::iter::repeat_n(0x41, 0x4000 - 4));
        for _ in 0..64 {
            stream.extend_from_slice(&[22, 3, 1, 0x40, 0x00]);
            stream.extend(std::iter::repeat_n(0x41, 0x4000));
        }
        conn.client_data(&mut w, &stream, 1460);
        conn.close(&mut w);
    }
    // 2. 16,383 empty extensions (the whole u16 extensions block).
    for i in 0..20u32 {
        let mut conn = Conn::new(source(1000 + i), 41001, DECKY, 443);
        conn.handshake(&mut w);
        let extra: Vec<(u16, Vec<u8>)> = (0..16_370u16).map(|k| (0x1000 + k, Vec::new())).collect();
        let hello = client_hello(b"many.example", &[b"h2"], &extra);
        conn.client_data(&mut w, &hello, 1460);
        conn.close(&mut w);
    }
    // 3. A server Certificate message whose list and entries lie.
    for i in 0..50u32 {
        let mut conn = Conn::new(source(2000 + i), 41002, DECKY, 443);
        conn.handshake(&mut w);
        conn.client_data(&mut w, &client_hello(b"cert.example", &[], &[]), 1460);
        let mut server_hello = vec![3, 3];
        server_hello.extend_from_slice(&[0x22; 32]);
        server_hello.extend_from_slice(&[0, 0xc0, 0x2f, 0, 0, 0]);
        let mut flight = handshake_record(2, &server_hello);
        let mut cert = Vec::new();
        cert.extend_from_slice(&[0xff, 0xff, 0xff]); // list length: 16 MiB
        cert.extend_from_slice(&[0x00, 0x10, 0x00]); // first cert: 4 KiB
        cert.extend_from_slice(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]); // DER SEQUENCE of 2 GiB
        cert.extend(std::iter::repeat_n(0x30, 200));
        flight.extend_from_slice(&handshake_record(11, &cert));
        conn.server_data(&mut w, &flight, 1460);
        conn.close(&mut w);
    }
    let packets = w.packets;
    drop(w.into_inner());
    let r = run(
        "tls_lies",
        &dir,
        &pcap,
        packets,
        256,
        true,
        &["--dedup-ttl", "0"],
    );
    all_records_parse(&r);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 100,000 junk QUIC Initials (valid long header, random DCIDs, garbage
/// protected payload) from as many sources.
#[test]
fn junk_quic_initials_flood() {
    const N: u32 = 100_000;
    let dir = scratch("quic");
    let pcap = dir.join("in.pcap");
    let mut w = writer(&pcap);
    let mut payload = vec![0u8; 1200];
    for i in 0..N {
        let mut x = i.wrapping_mul(0x2545_f491) | 1;
        for b in payload.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        payload[0] = 0xc3;
        payload[1..5].copy_from_slice(&1u32.to_be_bytes());
        payload[5] = 8; // DCID length
        payload[14] = 0; // SCID length
        payload[15] = 0; // token length
        payload[16] = 0x44; // length (2-byte varint) ...
        payload[17] = 0x9e; // ... 1182: the rest of the datagram
        w.packet(
            1_776_789_350_000_000 + i64::from(i) * 10,
            &udp(source(i), 50000, DECKY, 443, &payload),
        );
    }
    drop(w.into_inner());
    run(
        "junk_quic_initials_100k",
        &dir,
        &pcap,
        u64::from(N),
        512,
        false,
        &[],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 1 MiB HTTP request line and a 1 MiB SSH banner without a newline, each
/// on 20 connections.
#[test]
fn endless_text_lines() {
    let dir = scratch("lines");
    let pcap = dir.join("in.pcap");
    let mut w = writer(&pcap);
    let mut request = b"GET /".to_vec();
    request.extend(std::iter::repeat_n(b'a', 1 << 20));
    request.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut banner = b"SSH-2.0-".to_vec();
    banner.extend(std::iter::repeat_n(b'A', 1 << 20));
    for i in 0..20u32 {
        let mut http = Conn::new(source(i), 42000, DECKY, 80);
        http.handshake(&mut w);
        http.client_data(&mut w, &request, 1460);
        http.close(&mut w);
        let mut ssh = Conn::new(source(i), 42001, DECKY, 22);
        ssh.handshake(&mut w);
        ssh.client_data(&mut w, &banner, 1460);
        ssh.close(&mut w);
    }
    let packets = w.packets;
    drop(w.into_inner());
    let r = run(
        "endless_http_line_and_ssh_banner",
        &dir,
        &pcap,
        packets,
        256,
        true,
        &["--dedup-ttl", "0"],
    );
    all_records_parse(&r);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The cheapest way to make the sensor hold memory: per connection a SYN,
/// and one byte beyond a hole, which makes the reassembly buffer of that
/// direction allocate (and the byte be held) until the flow ends.
#[test]
fn one_byte_beyond_a_hole_per_connection() {
    const CONNS: u32 = 50_000;
    let dir = scratch("onebyte");
    let pcap = dir.join("in.pcap");
    let mut w = writer(&pcap);
    for i in 0..CONNS {
        let c = source(i);
        let t = 1_776_789_350_000_000 + i64::from(i) * 10;
        w.packet(t, &tcp(c, 40000, DECKY, 443, 1000, 0, SYN, &[]));
        w.packet(t + 1, &tcp(DECKY, 443, c, 40000, 77, 1001, SYN_ACK, &[]));
        w.packet(
            t + 2,
            &tcp(c, 40000, DECKY, 443, 1001 + 12_000, 78, PSH_ACK, &[0x16]),
        );
    }
    let packets = w.packets;
    drop(w.into_inner());
    // 950 MB before the process-wide held-bytes budget, 210 MB after.
    run(
        "one_byte_beyond_a_hole_50k",
        &dir,
        &pcap,
        packets,
        320,
        false,
        &[],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
