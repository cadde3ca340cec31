//! Reading the same capture twice gives the same bytes, also when a small
//! `--memcap` makes the engine shed flows and partial handshakes and the
//! output's dedup table shed emissions while the output thread (and, with
//! `--workers`, the shards) run beside the reader: every memcap and dedup
//! decision must follow from the packets alone, never from thread timing.
//!
//! Each run writes into files of its own: `--log` and `--json` append
//! (docs/spec.md section 6), so reusing a file adds a second copy.

mod support;

use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::Path;

use support::{client_hello, tcp, Conn, PcapWriter, SYN};

const DECKY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const T0: i64 = 1_776_789_000_000_000;
/// Small enough that both the engine's share and the dedup table's share
/// overflow on the capture below (checked from the summary).
const MEMCAP: &str = "400000";
const RUNS: usize = 4;

fn client(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x6440_0000u32.wrapping_add(i))
}

/// Batches of TLS connections open at once (flows and partial
/// ClientHellos pile up), each source connecting twice with the same hello,
/// a third of them never closed; between the batches SYNs from a few
/// thousand sources that come back after more emissions than the dedup
/// table's share holds, so whether a repeat is suppressed depends on the
/// table's memcap evictions.
fn write_capture(path: &Path) -> u64 {
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(BufWriter::new(file));
    let mut clock = T0;
    const BATCH: u32 = 60;
    const SOURCES: u32 = 360;
    const SYN_SOURCES: u32 = 4000;
    for batch in 0..12u32 {
        let mut conns: Vec<(Conn, Vec<u8>)> = (0..BATCH)
            .map(|k| {
                let n = batch * BATCH + k;
                let src = n % SOURCES;
                let mut c = Conn::new(client(src), 20_000 + n as u16, DECKY, 443);
                c.cseq = n.wrapping_mul(7919);
                let sni = format!("host{}.example", src % 100);
                let alpn: &[&[u8]] = if src % 3 == 0 {
                    &[b"h2"]
                } else {
                    &[b"http/1.1"]
                };
                (c, client_hello(sni.as_bytes(), alpn, &[]))
            })
            .collect();
        for (c, _) in &mut conns {
            clock += 50;
            c.t = clock;
            c.handshake(&mut w);
        }
        for (c, hello) in &mut conns {
            clock += 50;
            c.t = clock;
            c.client_data(&mut w, &hello[..hello.len() / 2], 1460);
        }
        for (i, (c, hello)) in conns.iter_mut().enumerate() {
            clock += 50;
            c.t = clock;
            c.client_data(&mut w, &hello[hello.len() / 2..], 1460);
            if i % 3 != 0 {
                c.close(&mut w);
            }
        }
        for s in 0..800u32 {
            clock += 20;
            let n = batch * 800 + s;
            let src = client(100_000 + n.wrapping_mul(2_654_435_761) % SYN_SOURCES);
            w.packet(
                clock,
                &tcp(src, 40_000 + (n % 20_000) as u16, DECKY, 22, n, 0, SYN, &[]),
            );
        }
        clock += 2_000_000;
    }
    let packets = w.packets;
    drop(w.into_inner());
    packets
}

fn run(bin: &Path, dir: &Path, pcap: &Path, workers: &str, i: usize) -> (Vec<u8>, Vec<u8>, String) {
    let log = dir.join(format!("w{workers}-{i}.log"));
    let json = dir.join(format!("w{workers}-{i}.json"));
    let out = std::process::Command::new(bin)
        .arg("read")
        .arg(pcap)
        .arg("--log")
        .arg(&log)
        .arg("--json")
        .arg(&json)
        .args(["--no-progress", "--summary", "--memcap", MEMCAP])
        .args(["--workers", workers])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (
        std::fs::read(&log).unwrap(),
        std::fs::read(&json).unwrap(),
        stderr,
    )
}

/// The memcap evictions the summary's memory section reports for `pool`.
fn evictions(summary: &str, pool: &str) -> u64 {
    let name = format!("{pool}:");
    let line = summary
        .lines()
        .skip_while(|l| !l.starts_with("memory ("))
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))
        .unwrap_or_else(|| panic!("no {pool} memory line in the summary:\n{summary}"));
    line.split_whitespace()
        .last()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count on {line:?}"))
}

#[test]
fn small_memcap_with_both_outputs_gives_the_same_bytes_every_run() {
    let dir = support::scratch("determinism");
    let pcap = dir.join("churn.pcap");
    let packets = write_capture(&pcap);
    let bin = Path::new(env!("CARGO_BIN_EXE_decnet-sniffer"));
    for workers in ["1", "2"] {
        let (log, json, summary) = run(bin, &dir, &pcap, workers, 0);
        eprintln!("--workers {workers}, {packets} packets:\n{summary}");
        assert!(!log.is_empty() && !json.is_empty());
        // The capture really drives both kinds of memcap decision.
        assert!(
            evictions(&summary, "output_dedup") > 0,
            "dedup never shed ({packets} packets):\n{summary}"
        );
        assert!(
            evictions(&summary, "flows") + evictions(&summary, "half_open_flows") > 0,
            "the engine never shed:\n{summary}"
        );
        for i in 1..RUNS {
            let (l, j, _) = run(bin, &dir, &pcap, workers, i);
            assert!(
                l == log,
                "--workers {workers}: log of run {i} differs from run 0"
            );
            assert!(
                j == json,
                "--workers {workers}: JSON of run {i} differs from run 0"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
