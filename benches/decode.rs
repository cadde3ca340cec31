//! Decoding one frame down to its TCP view.

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decnet_sniffer::decode::decode;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in [
        ("linux_syn", common::linux_syn()),
        ("data_1500", common::data_segment()),
    ] {
        let pkt = common::raw(&frame, 1);
        // The whole result, not just is_ok(): no field extraction may be elided.
        g.bench_function(name, |b| b.iter(|| black_box(decode(black_box(&pkt)))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
