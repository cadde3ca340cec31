//! The per-packet path of established TCP flows, shaped like the bulk
//! workload: 20 open connections taking turns, each turn a full-size data
//! segment from the decky and the client's bare ACK, with correct checksums
//! (so every data segment is validated, as on a real capture) or, as in the
//! bulk benchmark capture, with the wrong ones of checksum offload: checksum
//! gate, flow lookup, sequence tracking, flow timing, the MAC table.

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decnet_sniffer::engine::{Counter, DeckyMap, Engine, Limits};

const FLOWS: u16 = 20;
const DECKY: [u8; 4] = [10, 200, 0, 1];
const CLIENT: [u8; 4] = [198, 18, 0, 1];

/// One's complement sum of big-endian 16-bit words.
fn sum(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|p| u32::from(p[0]) << 8 | u32::from(p.get(1).copied().unwrap_or(0)))
        .sum()
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Fills in the IPv4 header and TCP checksums of an Ethernet/IPv4 frame.
fn checksummed(mut f: Vec<u8>) -> Vec<u8> {
    f[24..26].fill(0);
    let ip = !fold(sum(&f[14..34]));
    f[24..26].copy_from_slice(&ip.to_be_bytes());
    f[50..52].fill(0);
    let tcp_len = f.len() - 34;
    let pseudo = sum(&f[26..34]) + 6 + tcp_len as u32;
    let tcp = !fold(pseudo + sum(&f[34..]));
    f[50..52].copy_from_slice(&tcp.to_be_bytes());
    f
}

/// Sets the TCP sequence number of a checksummed frame, updating the
/// checksum incrementally (RFC 1624: HC' = ~(~HC + ~m + m')).
fn set_seq(f: &mut [u8], seq: u32) {
    let word = |b: &[u8], at: usize| u32::from(u16::from_be_bytes([b[at], b[at + 1]]));
    let mut acc = u32::from(!u16::from_be_bytes([f[50], f[51]]));
    for at in [38, 40] {
        acc += u32::from(!(word(f, at) as u16));
    }
    f[38..42].copy_from_slice(&seq.to_be_bytes());
    for at in [38, 40] {
        acc += word(f, at);
    }
    f[50..52].copy_from_slice(&(!fold(acc)).to_be_bytes());
}

fn segment(from_decky: bool, port: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_decky {
        (DECKY, CLIENT, 80, port)
    } else {
        (CLIENT, DECKY, port, 80)
    };
    checksummed(common::tcp_frame(
        src,
        dst,
        sport,
        dport,
        flags,
        64240,
        64,
        true,
        &[],
        payload,
    ))
}

/// An engine with `FLOWS` established connections, and each one's
/// full-size data segment and bare ACK. `offloaded`: every TCP checksum is
/// wrong, as on a capture taken on the decky's host with checksum offload
/// (the benchmark's bulk.pcap): validation turns off for each direction and
/// every segment is admitted as offloaded.
fn established(offloaded: bool) -> (Engine, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let frame = |from_decky, port, flags, payload: &[u8]| {
        let mut f = segment(from_decky, port, flags, payload);
        if offloaded {
            f[51] ^= 0x01;
        }
        f
    };
    let mut deckies = DeckyMap::default();
    deckies.insert("bench-01", DECKY.into());
    let mut engine = Engine::new(Limits::default(), deckies);
    let ports: Vec<u16> = (0..FLOWS).map(|i| 40000 + i).collect();
    for &port in &ports {
        for f in [
            frame(false, port, common::SYN, &[]),
            frame(true, port, common::SYN | common::ACK, &[]),
            frame(false, port, common::ACK, &[]),
        ] {
            engine.process(&common::raw(&f, 1), &mut |_| {});
        }
    }
    let data: Vec<Vec<u8>> = ports
        .iter()
        .map(|&p| frame(true, p, common::ACK, &[0x5a; 1460]))
        .collect();
    let acks: Vec<Vec<u8>> = ports
        .iter()
        .map(|&p| frame(false, p, common::ACK, &[]))
        .collect();
    for (d, a) in data.iter().zip(&acks) {
        engine.process(&common::raw(d, 1), &mut |_| {});
        engine.process(&common::raw(a, 1), &mut |_| {});
    }
    // Nothing is judged bad: the frames are what a decky would accept
    // (or, offloaded, what validation takes for offload).
    assert_eq!(engine.stats().get(Counter::ChecksumBadDropped), 0);
    assert_eq!(
        engine.stats().get(Counter::ChecksumBadAcceptedOffload) > 0,
        offloaded
    );
    (engine, data, acks)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fastpath");
    g.throughput(Throughput::Elements(2));
    for (name, offloaded) in [
        ("bulk_data_and_ack", false),
        ("bulk_offloaded_data_and_ack", true),
    ] {
        let (mut engine, mut data, acks) = established(offloaded);
        let (mut turn, mut usecs) = (0usize, 0u32);
        g.bench_function(name, |b| {
            b.iter(|| {
                let i = turn % data.len();
                turn += 1;
                // Each segment continues its stream: no retransmission path.
                let seq = 0x1122_3344u32.wrapping_add((turn / data.len()) as u32 * 1460);
                set_seq(&mut data[i], seq);
                usecs = (usecs + 10) % 1_000_000;
                let mut events = 0u32;
                for frame in [&data[i], &acks[i]] {
                    let mut raw = common::raw(frame, 2);
                    raw.ts = decnet_sniffer::util::time::Timestamp::new(2, usecs * 1000);
                    engine.process(&raw, &mut |ev| {
                        events += 1;
                        black_box(ev);
                    });
                }
                events
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
