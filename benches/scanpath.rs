//! The per-source tables a spoofed-SYN flood turns over on every packet,
//! each with a new source once the table is full: the client-claims table
//! (`client_mismatch`), p0f's per-host table (uptime and host change), the
//! checksum gate's per-direction verdicts, and the decimal writer every
//! number of every event goes through.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
mod common;

use decnet_sniffer::decode::decode;
use decnet_sniffer::engine::checksums::ChecksumGate;
use decnet_sniffer::engine::client_mismatch::ClientConsistency;
use decnet_sniffer::engine::Stats;
use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::fingerprint::p0f::uptime::HostTsTable;
use decnet_sniffer::util::decimal::push_u64;
use decnet_sniffer::util::time::Timestamp;
use std::net::{IpAddr, Ipv4Addr};

fn source(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x6440_0000 | (n & 0x3f_ffff)))
}

fn syn_event(n: u32) -> Event {
    let mut ev = Event::new(
        EventKind::TcpSynFingerprint,
        Timestamp::new(1_776_789_350, 0),
        "bench-01".into(),
    );
    ev.push("src_ip", source(n))
        .push("src_port", 40_000u16)
        .push("dst_ip", "10.200.0.1")
        .push("dst_port", 22u16)
        .push("os_guess", "windows")
        .push("client", "")
        .push("client_source", "");
    ev
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("scanpath");
    g.throughput(Throughput::Elements(1));

    // The default cap, filled first: every SYN then evicts the stalest source.
    let mut claims = ClientConsistency::new(65_536);
    let mut n = 0u32;
    for _ in 0..70_000 {
        n += 1;
        claims.check(&mut vec![syn_event(n)]);
    }
    g.bench_function("client_claims_syn_new_source", |b| {
        b.iter_batched_ref(
            || {
                n = n.wrapping_add(1);
                vec![syn_event(n)]
            },
            |events| claims.check(black_box(events)),
            BatchSize::SmallInput,
        )
    });

    let mut hosts = HostTsTable::with_memcap(4 << 20);
    let mut h = 0u32;
    for _ in 0..(hosts.cap() + 1000) {
        h += 1;
        hosts.entry(source(h));
    }
    g.bench_function("p0f_host_new_source", |b| {
        b.iter(|| {
            h = h.wrapping_add(1);
            black_box(hosts.entry(source(h)).last_syn.is_some())
        })
    });

    // The checksum gate: a segment of a known direction, and SYNs from new sources.
    let mut gate = ChecksumGate::default();
    let mut stats = Stats::default();
    let data = common::data_segment();
    let raw = common::raw(&data, 1);
    let pkt = decode(&raw).expect("bench frame decodes");
    g.bench_function("checksum_gate_known_direction", |b| {
        b.iter(|| black_box(gate.admit(black_box(&pkt), &mut stats)))
    });
    let mut frame = common::linux_syn();
    let mut s = 0u32;
    g.bench_function("checksum_gate_syn_new_source", |b| {
        b.iter(|| {
            s = s.wrapping_add(1);
            frame[26..30].copy_from_slice(&(0x6440_0000u32 | (s & 0x3f_ffff)).to_be_bytes());
            let raw = common::raw(&frame, 1);
            let pkt = decode(&raw).expect("bench frame decodes");
            black_box(gate.admit(&pkt, &mut stats))
        })
    });

    let mut out = Vec::with_capacity(1 << 16);
    let values = [0u64, 7, 22, 443, 1460, 51_234, 64_240, 1_776_789_350];
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("push_u64_event_numbers", |b| {
        b.iter(|| {
            out.clear();
            for v in values {
                push_u64(&mut out, black_box(v));
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
