//! A flood of 2 million timestamped SYNs from distinct sources keeps the
//! per-source tables (sequence samples, p0f's per-host uptime samples) at
//! their caps and counts every eviction; lone SYNs stay in the
//! half-open table (the pending-handshakes cap) and never take a slot of
//! an established flow.

use decnet_sniffer::capture::RawPacket;
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::EventKind;
use decnet_sniffer::util::time::Timestamp;

const SYNS: u64 = 2_000_000;
const CAP: usize = 20_000;

/// An Ethernet + IPv4 + TCP SYN to 10.0.0.5:22 with Linux's options.
fn template() -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&[192, 0, 2, 1, 10, 0, 0, 5]);
    f.extend_from_slice(&[
        0x9c, 0x40, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02, 0x72, 0x10, 0, 0, 0, 0,
    ]);
    f.extend_from_slice(&[
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ]);
    f
}

#[test]
fn syn_flood_stays_within_caps() {
    let limits = Limits {
        flows: CAP,
        pending_handshakes: CAP / 2,
        seq_sources: CAP,
        ..Limits::default()
    };
    let mut engine = Engine::new(limits, DeckyMap::observe_all());
    let mut frame = template();
    let (mut syn_events, mut other_events) = (0u64, 0u64);
    let mut sink = |e: decnet_sniffer::event::Event| {
        if e.kind == EventKind::TcpSynFingerprint {
            syn_events += 1;
        } else {
            other_events += 1;
        }
    };
    for i in 0..SYNS {
        // A bijection of the counter: every SYN from a new random-looking source.
        let src = (i as u32).wrapping_mul(0x9e37_79b1) ^ 0x5bd1_e995;
        frame[26..30].copy_from_slice(&src.to_be_bytes());
        frame[34..36].copy_from_slice(&((i as u16) | 1024).to_be_bytes());
        frame[38..42].copy_from_slice(&(src.rotate_left(7)).to_be_bytes());
        let ts = Timestamp::from_micros(1_700_000_000_000_000 + i as i64);
        let raw = RawPacket {
            ts,
            linktype: 1,
            data: &frame,
            orig_len: frame.len() as u32,
        };
        engine.process(&raw, &mut sink);
    }
    assert_eq!(syn_events, SYNS, "one tcp_syn_fingerprint per SYN");
    assert_eq!(other_events, 0, "a lone SYN makes no other event");
    let tables = engine.table_stats();
    let table = |name: &str| tables.iter().find(|t| t.0 == name).copied().unwrap();
    let (_, flows, flow_evictions) = table("flows");
    let (_, half_open, half_open_evictions) = table("half_open_flows");
    let (_, sources, source_evictions) = tables
        .iter()
        .find(|t| t.0 == "seq_sources")
        .copied()
        .unwrap();
    eprintln!(
        "flows {flows} ({flow_evictions} evicted), half-open {half_open} \
         ({half_open_evictions} evicted), sources {sources} ({source_evictions} evicted)"
    );
    assert_eq!((flows, flow_evictions), (0, 0));
    assert_eq!(half_open, CAP / 2);
    assert_eq!(half_open_evictions, SYNS - (CAP / 2) as u64);
    assert_eq!(sources, CAP);
    assert_eq!(source_evictions, SYNS - CAP as u64);
    assert_eq!(engine.stats().packets, SYNS);
    // p0f's per-host timestamp samples (uptime): as many hosts as sources.
    let (_, hosts, host_evictions) = table("p0f_hosts");
    assert_eq!(hosts, CAP);
    assert_eq!(host_evictions, SYNS - CAP as u64);
}
