//! Hostile TLS handshakes through the whole read path: lengths that lie,
//! 65535-byte extension blocks, thousands of extensions, a 16 MB
//! certificate, garbage, truncation and random mutations. None may panic,
//! and each is reported as what it is (an event or a counter).

use decnet_sniffer::capture::{linktype, RawPacket};
use decnet_sniffer::engine::{DeckyMap, Engine, Limits, Stats};
use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::util::time::Timestamp;

const CLIENT: [u8; 4] = [198, 51, 100, 7];
const SERVER: [u8; 4] = [192, 0, 2, 10];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

/// An IPv4 + TCP packet (LINKTYPE_RAW); checksums are not checked by the decoder.
fn packet(from_client: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        (CLIENT, SERVER, 40000u16, 443u16)
    } else {
        (SERVER, CLIENT, 443, 40000)
    };
    let total = 20 + 20 + payload.len();
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// A connection: handshake, then the client's and the server's bytes, each
/// cut into segments of `mss` bytes.
fn connection(client_bytes: &[u8], server_bytes: &[u8], mss: usize) -> Vec<Vec<u8>> {
    let (cisn, sisn) = (1000u32, 5000u32);
    let mut frames = vec![
        packet(true, cisn, 0, SYN, &[]),
        packet(false, sisn, cisn + 1, SYN | ACK, &[]),
        packet(true, cisn + 1, sisn + 1, ACK, &[]),
    ];
    let mut seq = cisn + 1;
    for seg in client_bytes.chunks(mss) {
        frames.push(packet(true, seq, sisn + 1, PSH_ACK, seg));
        seq += seg.len() as u32;
    }
    let mut sseq = sisn + 1;
    for seg in server_bytes.chunks(mss) {
        frames.push(packet(false, sseq, seq, PSH_ACK, seg));
        sseq += seg.len() as u32;
    }
    frames
}

fn run(frames: &[Vec<u8>]) -> (Vec<Event>, Stats) {
    let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut events = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let raw = RawPacket {
            ts: Timestamp::from_micros(1_700_000_000_000_000 + i as i64 * 1000),
            linktype: linktype::RAW,
            data: f,
            orig_len: f.len() as u32,
        };
        engine.process(&raw, &mut |e| events.push(e));
    }
    engine.finish(&mut |e| events.push(e));
    (events, engine.stats().clone())
}

fn count(events: &[Event], kind: EventKind) -> usize {
    events.iter().filter(|e| e.kind == kind).count()
}

fn record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ty, 3, 1];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// Handshake message(s) in as many records as needed.
fn records(msg: &[u8]) -> Vec<u8> {
    msg.chunks(16384).flat_map(|c| record(22, c)).collect()
}

fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn client_hello(exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(0);
    b.extend_from_slice(&[0, 4, 0x13, 0x01, 0xc0, 0x2b, 1, 0]);
    let mut block = Vec::new();
    for (ty, data) in exts {
        block.extend_from_slice(&ty.to_be_bytes());
        block.extend_from_slice(&(data.len() as u16).to_be_bytes());
        block.extend_from_slice(data);
    }
    b.extend_from_slice(&(block.len() as u16).to_be_bytes());
    b.extend_from_slice(&block);
    message(1, &b)
}

fn server_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[9; 32]);
    b.extend_from_slice(&[0, 0xc0, 0x2f, 0, 0, 0]);
    message(2, &b)
}

#[test]
fn extension_block_claiming_65535_bytes() {
    let mut ch = client_hello(&[(0, vec![])]);
    let n = ch.len();
    // The block length (last extension of 4 bytes) now claims 65535.
    ch[n - 6] = 0xff;
    ch[n - 5] = 0xff;
    let (events, stats) = run(&connection(&records(&ch), &[], 1460));
    assert_eq!(count(&events, EventKind::TlsClientHello), 0);
    assert_eq!(stats.get("tls_parse_errors"), 1);
}

#[test]
fn thousands_of_extensions() {
    // 3000 empty extensions (12 KB): within the 16 KiB cap, reported with
    // counts capped at 99; the hello spans 9 segments.
    let exts: Vec<(u16, Vec<u8>)> = (1..=3000u16).map(|t| (t, vec![])).collect();
    let (events, _) = run(&connection(&records(&client_hello(&exts)), &[], 1460));
    let hello = events
        .iter()
        .find(|e| e.kind == EventKind::TlsClientHello)
        .expect("hello");
    assert!(String::from_utf8_lossy(hello.get("ja4").unwrap()).starts_with("t12i0299"));
    // 12000 extensions (48 KB): more than the 16 KiB cap, refused as soon
    // as the message header is read, without an event.
    let exts: Vec<(u16, Vec<u8>)> = (0..12000u16).map(|t| (t, vec![])).collect();
    let (events, stats) = run(&connection(&records(&client_hello(&exts)), &[], 1460));
    assert_eq!(count(&events, EventKind::TlsClientHello), 0);
    assert_eq!(stats.get("tls_record_errors"), 1);
    assert_eq!(stats.get("tls_client_hello_too_large"), 1);
    // 16383 extensions (65 KB): not even taken for a hello, but counted.
    let exts: Vec<(u16, Vec<u8>)> = (0..16383u16).map(|t| (t, vec![])).collect();
    let (events, stats) = run(&connection(&records(&client_hello(&exts)), &[], 1460));
    assert_eq!(count(&events, EventKind::TlsClientHello), 0);
    assert_eq!(stats.get("tls_client_hello_too_large"), 1);
}

#[test]
fn hello_cut_by_the_reassembly_window_is_counted() {
    // A 12 KB hello whose second segment never comes while 20 KB more
    // follow: the bytes past the 16 KiB window are dropped and the hello
    // can never complete.
    let exts: Vec<(u16, Vec<u8>)> = (1..=3000u16).map(|t| (t, vec![])).collect();
    let mut client = records(&client_hello(&exts));
    client.extend_from_slice(&[0x17; 20_000]);
    let mut frames = connection(&client, &[], 1000);
    frames.remove(4);
    let (events, stats) = run(&frames);
    assert_eq!(count(&events, EventKind::TlsClientHello), 0);
    assert!(stats.get("reassembly_dropped_segments") > 0);
    assert_eq!(stats.get("tls_client_hello_dropped_over_budget"), 1);
    // The same hello whole: no such count.
    let (events, stats) = run(&connection(&records(&client_hello(&exts)), &[], 1000));
    assert_eq!(count(&events, EventKind::TlsClientHello), 1);
    assert_eq!(stats.get("tls_client_hello_dropped_over_budget"), 0);
}

#[test]
fn certificate_claiming_16_megabytes() {
    let ch = records(&client_hello(&[]));
    let mut flight = server_hello();
    flight.extend_from_slice(&[11, 0xff, 0xff, 0xff, 0, 0, 0]);
    let (events, stats) = run(&connection(&ch, &record(22, &flight), 1460));
    assert_eq!(count(&events, EventKind::TlsSession), 1);
    assert_eq!(count(&events, EventKind::TlsCertificate), 0);
    assert_eq!(stats.get("tls_record_errors"), 1);
}

#[test]
fn certificate_that_is_not_x509() {
    let ch = records(&client_hello(&[]));
    let der = vec![0x30, 0x82, 0x01, 0x00, 0xde, 0xad];
    let mut list = vec![0, 0, (der.len() + 3) as u8, 0, 0, der.len() as u8];
    list.extend_from_slice(&der);
    let mut flight = server_hello();
    flight.extend_from_slice(&message(11, &list));
    let (events, stats) = run(&connection(&ch, &record(22, &flight), 1460));
    assert_eq!(count(&events, EventKind::TlsCertificate), 0);
    assert_eq!(stats.get("tls_certificate_parse_errors"), 1);
}

#[test]
fn truncated_hello_emits_nothing() {
    let ch = records(&client_hello(&[(0, vec![0, 4, 0, 0, 1, b'x'])]));
    for cut in [6, 9, 40, ch.len() - 1] {
        let (events, _) = run(&connection(&ch[..cut], &[], 1460));
        assert_eq!(count(&events, EventKind::TlsClientHello), 0, "cut at {cut}");
    }
}

#[test]
fn garbage_after_a_record_header() {
    let mut x: u64 = 0x243f_6a88_85a3_08d3;
    let mut garbage = vec![22, 3, 1, 0x40, 0x00];
    while garbage.len() < 20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        garbage.push(x as u8);
    }
    let (events, _) = run(&connection(&garbage, &garbage, 1460));
    assert_eq!(count(&events, EventKind::TlsClientHello), 0);
}

#[test]
fn random_mutations_never_panic() {
    let mut ch = client_hello(&[
        (
            0,
            vec![
                0, 14, 0, 0, 11, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'c', b'o',
            ],
        ),
        (16, vec![0, 3, 2, b'h', b'2']),
        (43, vec![4, 3, 4, 3, 3]),
        (13, vec![0, 4, 4, 3, 8, 4]),
        (10, vec![0, 2, 0, 29]),
        (11, vec![1, 0]),
    ]);
    ch[39] = 0; // keep the fixed part readable
    let base = records(&ch);
    let server = record(22, &server_hello());
    let mut x: u64 = 0x1319_8a2e_0370_7344;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut reported = 0;
    for _ in 0..1500 {
        let mut bytes = base.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % bytes.len() as u64) as usize;
            bytes[i] = next() as u8;
        }
        let (events, _) = run(&connection(&bytes, &server, 1 + (next() % 200) as usize));
        reported += count(&events, EventKind::TlsClientHello);
    }
    // Most single-byte changes leave a parsable hello.
    assert!(reported > 300, "{reported}");
}
