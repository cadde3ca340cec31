//! Building events on the engine thread: every value of a
//! `tcp_syn_fingerprint` event (numbers, addresses, flags, short labels,
//! signature text) pushed into buffers from the engine's pool, and the
//! same for an IPv6 connection; `push_u64`, `push_text` alone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decnet_sniffer::event::{Event, EventKind, EventPool};
use decnet_sniffer::util::time::Timestamp;

/// A SYN event's fields in catalogue order, with the values a scan storm
/// gives them (the strings as the SYN memo hands them over).
fn syn_event(pool: &EventPool, decky: &Arc<str>, client: SocketAddr, server: SocketAddr) -> Event {
    let mut ev = pool.event(
        EventKind::TcpSynFingerprint,
        Timestamp::new(1_776_789_350, 417),
        decky.clone(),
    );
    ev.push("src_ip", client.ip())
        .push("src_port", client.port())
        .push("dst_ip", server.ip())
        .push("dst_port", server.port())
        .push("ttl", black_box(128u8))
        .push("initial_ttl", 128u8)
        .push("hop_distance", 0u8)
        .push("window", black_box(8192u16))
        .push("mss", black_box(1460u16))
        .push("wscale", Some(8u8))
        .push("options_sig", black_box("M,N,W,N,N,S"))
        .push("has_sack", true)
        .push("has_timestamps", false)
        .push("tos", 0u8)
        .push("dscp", 0u8)
        .push("ecn", 0u8)
        .push("ipid_class", black_box("unknown"))
        .push("ipid_samples", 1u32)
        .push("isn_class", black_box("unknown"))
        .push("isn_samples", 1u32)
        .push("os_guess", black_box("windows"))
        .push("df", true)
        .push("ip_len", black_box(52u16))
        .push("ja4t", black_box(&b"8192_2-1-3-1-1-4_1460_8"[..]))
        .push(
            "p0f_sig",
            black_box(&b"4:128+0:0:1460:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0"[..]),
        )
        .push("p0f_os", black_box("Windows 7 or 8"))
        .push("p0f_match", black_box("exact"))
        .push("p0f_dist", black_box("0"))
        .push("mtu", Some(black_box(1500u16)))
        .push("link", black_box("Ethernet or modem"))
        .push("scanner", black_box(""))
        .push("client", black_box(""))
        .push("client_source", black_box(""));
    ev
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("event");
    g.throughput(Throughput::Elements(1));
    let pool = EventPool::new();
    let decky: Arc<str> = "bench-01".into();
    let server: SocketAddr = "10.200.0.1:22".parse().unwrap();
    let mut n = 0u32;
    g.bench_function("syn_event_ipv4", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let ip = IpAddr::V4(Ipv4Addr::from(0x6440_0000 | (n & 0x3f_ffff)));
            let client = SocketAddr::new(ip, 40_000 + (n % 20_000) as u16);
            black_box(syn_event(&pool, &decky, client, server).field_count())
        })
    });
    let server6: SocketAddr = "[2001:db8:0:c8::1]:22".parse().unwrap();
    g.bench_function("syn_event_ipv6", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let ip = IpAddr::from([0x2001, 0xdb8, 0, 0x64, 0, 0, n as u16, 0x1f]);
            let client = SocketAddr::new(ip, 40_000 + (n % 20_000) as u16);
            black_box(syn_event(&pool, &decky, client, server6).field_count())
        })
    });
    // Free text from the wire: short, a header's length, and hostile.
    let texts: [&[u8]; 4] = [
        b"example.com",
        b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
        b"h2",
        b"a\"b]\\c\x01\xff",
    ];
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("push_text_mixed", |b| {
        b.iter(|| {
            let mut ev = pool.event(
                EventKind::TlsClientHello,
                Timestamp::new(0, 0),
                decky.clone(),
            );
            for t in texts {
                ev.push_text("sni", black_box(t));
            }
            black_box(ev.has_bracket())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
