//! The engine end to end on single packets: a SYN to a decky (flow insert,
//! p0f, scanner rules, event construction) and a data segment of an open
//! flow (lookup, counters, reassembly bypass).

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};

fn deckies() -> DeckyMap {
    let mut d = DeckyMap::default();
    d.insert("bench-01", "10.200.0.1".parse().unwrap());
    d
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));

    // A SYN from a new source each time: the scan-storm path.
    let base = common::linux_syn();
    let mut engine = Engine::new(Limits::default(), deckies());
    let mut n: u32 = 0;
    let mut frame = base.clone();
    g.bench_function("syn_new_source", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            frame[26..30].copy_from_slice(&(0x6440_0000u32 | (n & 0x3f_ffff)).to_be_bytes());
            let mut events = 0u32;
            engine.process(&common::raw(&frame, 1), &mut |ev| {
                events += 1;
                black_box(ev);
            });
            events
        })
    });

    // Data of a flow the engine already tracks, past its analyzers.
    let mut engine = Engine::new(Limits::default(), deckies());
    let data = common::data_segment();
    let open = common::tcp_frame(
        [198, 18, 0, 1],
        [10, 200, 0, 1],
        40000,
        80,
        common::SYN,
        64240,
        64,
        true,
        common::LINUX_OPTS,
        &[],
    );
    engine.process(&common::raw(&open, 1), &mut |_| {});
    let mut data = data;
    let mut seq: u32 = 0x1122_3344;
    g.bench_function("data_segment_open_flow", |b| {
        b.iter(|| {
            // Each segment continues the stream: no retransmission path.
            seq = seq.wrapping_add(1460);
            data[38..42].copy_from_slice(&seq.to_be_bytes());
            engine.process(black_box(&common::raw(&data, 1)), &mut |ev| {
                black_box(ev);
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
