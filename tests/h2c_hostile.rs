//! Hostile cleartext HTTP/2 through the whole engine: huge HPACK integers,
//! dynamic table size updates beyond the limit, Huffman padding errors,
//! CONTINUATION floods, oversized frames and header lists. Each connection
//! is dropped from HTTP/2 reading with its named counter, gives no h2c
//! request, and costs no memory beyond the reader's caps.

mod support;

use std::net::Ipv4Addr;

use decnet_sniffer::engine::{DeckyMap, Limits};
use decnet_sniffer::event::{Event, EventKind};
use support::{Conn, PcapWriter};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.push(ty);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The preface, an empty SETTINGS and `rest`, sent in 1000-byte segments.
fn connection(rest: &[u8]) -> Vec<u8> {
    let mut c = PREFACE.to_vec();
    c.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]));
    c.extend_from_slice(rest);
    c
}

/// Replays one client stream per entry; returns the events and the
/// engine's counters by name.
fn run(streams: &[Vec<u8>]) -> (Vec<Event>, impl Fn(&str) -> u64) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = support::scratch(&format!("h2c-{n}"));
    let path = dir.join("in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap());
    for (i, s) in streams.iter().enumerate() {
        let mut c = Conn::new(
            Ipv4Addr::new(10, 9, 0, 2),
            40000 + i as u16,
            Ipv4Addr::new(10, 9, 0, 1),
            8080,
        );
        c.handshake(&mut w);
        c.client_data(&mut w, s, 1000);
        c.close(&mut w);
    }
    drop(w);
    let (events, engine) = support::replay(&path, Limits::default(), DeckyMap::observe_all());
    let _ = std::fs::remove_dir_all(&dir);
    let stats = engine.stats().clone();
    (events, move |name: &str| stats.get(name))
}

fn h2c_requests(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::HttpRequestFingerprint)
        .collect()
}

#[test]
fn each_attack_is_counted_under_its_name_and_reports_nothing() {
    let headers = |block: &[u8]| frame(1, 0x4, 1, block);
    let mut flood = frame(1, 0, 1, &[0x82]);
    for _ in 0..100_000 {
        flood.extend(frame(9, 0, 1, &[]));
    }
    let mut big_block = frame(1, 0, 1, &[0x82]);
    for _ in 0..40 {
        big_block.extend(frame(9, 0, 1, &[0x82; 1000]));
    }
    // A block within the 16 KiB cap whose decoded list is not: a Huffman
    // value of 12 000 bytes of 5-bit '0' codes is 19 200 characters.
    let mut list = vec![0x00, 0x01, b'x', 0xff, 0xe1, 0x5c];
    list.extend(std::iter::repeat_n(0u8, 12_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "http2_hpack_integer_overflows",
            headers(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ),
        (
            "http2_hpack_table_size_errors",
            headers(&[0x3f, 0xe1, 0xff, 0x03]),
        ),
        (
            "http2_hpack_huffman_errors",
            headers(&[0x82, 0x00, 0x01, b'x', 0x81, 0x18]),
        ),
        ("http2_continuation_floods", flood),
        ("http2_oversized_frames", big_block),
        ("http2_header_lists_oversized", frame(1, 0x4, 1, &list)),
        ("http2_frame_errors", frame(4, 0, 0, &[0; 7])),
        ("http2_hpack_errors", headers(&[0xc0])),
    ];
    for (counter, attack) in &cases {
        let (events, stat) = run(&[connection(attack)]);
        assert_eq!(stat(counter), 1, "{counter}");
        assert!(h2c_requests(&events).is_empty(), "{counter}: {events:?}");
    }
    // A stream that is not the rest of the preface.
    let (events, stat) = run(&[b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".to_vec()]);
    assert_eq!(stat("http2_bad_prefaces"), 1);
    assert!(h2c_requests(&events).is_empty());
}

/// Sixty-four PINGs and no request: reading stops, and the preface is
/// still reported once (a preface-only event, as at a connection's end).
#[test]
fn a_frame_limit_ends_reading_with_the_preface_reported() {
    let mut pings = Vec::new();
    for _ in 0..200 {
        pings.extend(frame(6, 0, 0, &[0; 8]));
    }
    let (events, stat) = run(&[connection(&pings)]);
    assert_eq!(stat("http2_frame_limit_reached"), 1);
    let reqs = h2c_requests(&events);
    assert_eq!(reqs.len(), 1);
    assert_eq!(support::text(reqs[0], "http2_fingerprint"), "3:100|00|0|");
    assert_eq!(support::text(reqs[0], "method"), "");
}

/// Many hostile connections at once stay within the stream readers' share
/// of the budget: a flood of half-sent header blocks (each 15 KB of
/// CONTINUATION fragments, never finished) holds at most the cap per flow.
#[test]
fn half_sent_header_blocks_are_bounded_per_flow() {
    let mut partial = frame(1, 0, 1, &[0x82]);
    for _ in 0..15 {
        partial.extend(frame(9, 0, 1, &[0x82; 1000]));
    }
    let dir = support::scratch("h2c-partial");
    let path = dir.join("in.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap());
    let flows = 200u16;
    let mut conns = Vec::new();
    for i in 0..flows {
        let mut c = Conn::new(
            Ipv4Addr::new(10, 9, 1, (i % 250) as u8 + 1),
            30000 + i,
            Ipv4Addr::new(10, 9, 0, 1),
            8080,
        );
        c.handshake(&mut w);
        c.client_data(&mut w, &connection(&partial), 1400);
        conns.push(c);
    }
    drop(w);
    let mut engine =
        decnet_sniffer::engine::Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut file = decnet_sniffer::capture::file::CaptureFile::open(&path).unwrap();
    file.for_each(|p| engine.process(&p, &mut |_| {})).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // Every flow open, each holding its partial block: the stream readers'
    // pool is at most the per-flow cap (16 KiB block + its reader) times
    // the flows.
    let used: usize = engine
        .memory_stats()
        .iter()
        .filter(|t| t.name == "stream_readers")
        .map(|t| t.bytes)
        .sum();
    eprintln!(
        "COST h2c half-sent block: {} bytes per flow",
        used / flows as usize
    );
    assert!(used > 0);
    assert!(
        used <= flows as usize * 48 * 1024,
        "{used} bytes for {flows} flows"
    );
}

/// SETTINGS parameters past the 32 kept are counted, and the request is
/// still reported with the first 32.
#[test]
fn settings_past_the_cap_are_counted() {
    let mut settings = Vec::new();
    for id in 0..40u16 {
        settings.extend_from_slice(&(100 + id).to_be_bytes());
        settings.extend_from_slice(&7u32.to_be_bytes());
    }
    let mut rest = frame(4, 0, 0, &settings);
    rest.extend(frame(1, 0x5, 1, &[0x82, 0x84, 0x86, 0x41, 0x01, b'a']));
    let (events, stat) = run(&[connection(&rest)]);
    assert_eq!(stat("http2_preface_items_dropped"), 9);
    let reqs = h2c_requests(&events);
    assert_eq!(reqs.len(), 1);
    let fp = support::text(reqs[0], "http2_fingerprint");
    assert!(fp.starts_with("3:100;100:7;101:7;"), "{fp}");
    assert!(fp.ends_with(";130:7|00|0|m,p,s,a"), "{fp}");
    assert_eq!(support::text(reqs[0], "host"), "a");
}
