//! The flow table: lookup of an existing flow, and insertion into a full
//! table (the scan-storm case: every SYN evicts the least recent flow).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use decnet_sniffer::flow::table::{FlowKey, FlowTable};
use decnet_sniffer::util::time::Timestamp;

fn client(i: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x6440_0000 + i)), 40000)
}

fn bench(c: &mut Criterion) {
    const N: u32 = 100_000;
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1)), 443);
    let ts = Timestamp::new(1, 0);
    let mut table: FlowTable<u64> = FlowTable::new(N as usize);
    for i in 0..N {
        let c = client(i);
        table.insert(FlowKey::new(c, server), c, server, ts, 0);
    }
    let mut g = c.benchmark_group("flow");
    let mut i = 0u32;
    g.bench_function("lookup_hit_100k", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            let c = client(i);
            black_box(table.get_mut(&FlowKey::new(c, server)).is_some())
        })
    });
    let mut next = N;
    g.bench_function("insert_evicting_100k", |b| {
        b.iter_batched(
            || {
                next += 1;
                client(next)
            },
            |c| {
                let (_, evicted) = table.insert(FlowKey::new(c, server), c, server, ts, 0);
                black_box(evicted.is_some())
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("key_new", |b| {
        let c = client(5);
        b.iter(|| black_box(FlowKey::new(black_box(c), black_box(server))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
