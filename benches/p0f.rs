//! p0f: raw signature extraction and matching against the bundled database.

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use decnet_sniffer::decode::{decode, Transport};
use decnet_sniffer::fingerprint::p0f::{Database, P0fResult, RawSig};

fn bench(c: &mut Criterion) {
    let db = Database::bundled();
    let mut g = c.benchmark_group("p0f");
    for (name, frame) in [
        ("linux_syn", common::linux_syn()),
        ("nmap_syn", common::nmap_syn()),
    ] {
        let raw = common::raw(&frame, 1);
        let pkt = decode(&raw).expect("bench frame decodes");
        let Transport::Tcp(tcp) = pkt.transport else {
            panic!("bench frame is TCP")
        };
        let ip = pkt.ip;
        g.bench_function(format!("sig_{name}"), |b| {
            b.iter(|| black_box(RawSig::from_views(black_box(&ip), black_box(&tcp), 0)))
        });
        let sig = RawSig::from_views(&ip, &tcp, 0).expect("valid SYN");
        g.bench_function(format!("match_{name}"), |b| {
            b.iter(|| black_box(P0fResult::analyze(db, black_box(sig))))
        });
        g.bench_function(format!("match_and_text_{name}"), |b| {
            b.iter(|| {
                let r = P0fResult::analyze(db, black_box(sig));
                (r.raw_sig().len(), r.label().len(), r.dist_text().len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
