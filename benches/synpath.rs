//! The SYN path of a scan storm end to end (decode, checksum gate, flow
//! insert, IP-ID/ISN classes, p0f, JA4T, client label, per-source tables,
//! event construction), one SYN from a new spoofed source per iteration:
//! - `scanner_flood_new_source`: one tool's SYN over and over (the p0f
//!   verdict, signature text and client label come from the SYN memo);
//! - `varied_shapes_new_source`: every SYN a window no recent SYN had, so
//!   each one misses the memo and is matched and written in full;
//! - `memcap_bound_new_source`: a Linux SYN (timestamps: p0f's host
//!   table too) under a small `--memcap`, so that, as in a long flood,
//!   every table is held by the budget and each SYN sheds old state (the
//!   tables squeezed below their peak fit their indexes).

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};

fn deckies() -> DeckyMap {
    let mut d = DeckyMap::default();
    d.insert("bench-01", "10.200.0.1".parse().unwrap());
    d
}

/// Sends `frame` from source number `n` (and ISN `n`) through `engine`.
fn send(engine: &mut Engine, frame: &mut [u8], n: u32) -> u32 {
    frame[26..30].copy_from_slice(&(0x6440_0000u32 | (n & 0x3f_ffff)).to_be_bytes());
    frame[38..42].copy_from_slice(&n.to_be_bytes());
    let mut events = 0u32;
    engine.process(&common::raw(frame, 1), &mut |ev| {
        events += 1;
        black_box(ev);
    });
    events
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("synpath");
    g.throughput(Throughput::Elements(1));

    let mut engine = Engine::new(Limits::default(), deckies());
    let mut frame = common::nmap_syn();
    let mut n: u32 = 0;
    g.bench_function("scanner_flood_new_source", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            send(&mut engine, &mut frame, n)
        })
    });

    let mut engine = Engine::new(Limits::default(), deckies());
    let mut frame = common::linux_syn();
    let mut n: u32 = 0;
    g.bench_function("varied_shapes_new_source", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            // Window bytes of the TCP header: a new shape each SYN.
            let window = 1000 + (n % 60_000) as u16;
            frame[48..50].copy_from_slice(&window.to_be_bytes());
            send(&mut engine, &mut frame, n)
        })
    });

    let limits = Limits {
        memcap: 16 << 20,
        ..Limits::default()
    };
    let mut engine = Engine::new(limits, deckies());
    let mut frame = common::linux_syn();
    let mut n: u32 = 0;
    g.bench_function("memcap_bound_new_source", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            send(&mut engine, &mut frame, n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
