//! Replays every input kept under `tests/fuzz_regressions/<target>/`
//! (crashes the fuzzers found, and inputs that reached rare paths) through
//! the same entry points the fuzz targets use (`fuzz/harness.rs`), on the
//! stable toolchain, in the ordinary `cargo test`.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut n = 0;
    for path in paths.iter().filter(|p| p.is_file()) {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panicked", path.display());
        n += 1;
    }
    n
}

#[test]
fn decode() {
    replay("decode", harness::decode);
}

#[test]
fn engine() {
    replay("engine", harness::engine);
}

/// The differential target: one engine against three shards (its engine
/// inputs are replayed by `tests/sharded.rs` too).
#[test]
fn sharded() {
    replay("sharded", harness::sharded);
}

#[test]
fn capture_file() {
    replay("capture_file", harness::capture_file);
}

#[test]
fn state_file() {
    replay("state_file", harness::state_file);
}

#[test]
fn p0f_db() {
    replay("p0f_db", harness::p0f_db);
}

#[test]
fn reassembly() {
    replay("reassembly", harness::reassembly);
}

#[test]
fn tls_handshake() {
    replay("tls_handshake", harness::tls_handshake);
}

#[test]
fn x509() {
    replay("x509", harness::x509);
}

#[test]
fn quic_initial() {
    replay("quic_initial", harness::quic_initial);
}

#[test]
fn ssh() {
    replay("ssh", harness::ssh);
}

#[test]
fn http() {
    replay("http", harness::http);
}

#[test]
fn dtls() {
    replay("dtls", harness::dtls);
}

#[test]
fn bus() {
    replay("bus", harness::bus);
}

/// A real Initial sealed by the harness decrypts in the collector: the
/// fuzzer's plaintext does reach the frame parser (RFC 9001 A.2's DCID).
#[test]
fn quic_harness_seals_initials_the_collector_opens() {
    use decnet_sniffer::fingerprint::quic::{CollectorConfig, InitialCollector, Outcome, Version};
    let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
    // One CRYPTO frame (type 6, offset 0, length) holding a tiny ClientHello.
    let mut hello = vec![1, 0, 0, 0];
    let body: Vec<u8> = [
        &[3u8, 3][..],
        &[0x11; 32],
        &[0],
        &[0, 2, 0x13, 0x01],
        &[1, 0],
        &[0, 0],
    ]
    .concat();
    hello[1..4].copy_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hello.extend_from_slice(&body);
    let mut frames = vec![6, 0, 0x40 | (hello.len() >> 8) as u8, hello.len() as u8];
    frames.extend_from_slice(&hello);
    frames.resize(1162, 0);
    let datagram = harness::seal_initial(Version::V1, &dcid, 0, &frames);
    let mut c = InitialCollector::new(CollectorConfig::default());
    let mut counters = std::collections::BTreeMap::new();
    let out = c.on_datagram(
        "198.51.100.7:50000".parse().unwrap(),
        "10.0.0.5:443".parse().unwrap(),
        decnet_sniffer::util::time::Timestamp::new(1, 0),
        &datagram,
        &mut counters,
    );
    match out {
        Outcome::Quic(Some(h)) => assert_eq!(h.message, hello),
        other => panic!("not opened: {other:?} {counters:?}"),
    }
}

/// The harness itself must reject nothing: the empty input and a few
/// degenerate ones go through every entry point.
#[test]
fn degenerate_inputs() {
    let inputs: [&[u8]; 4] = [b"", b"\0", &[0xff; 3], &[0u8; 64]];
    for data in inputs {
        harness::decode(data);
        harness::engine(data);
        harness::capture_file(data);
        harness::state_file(data);
        harness::p0f_db(data);
        harness::reassembly(data);
        harness::tls_handshake(data);
        harness::x509(data);
        harness::quic_initial(data);
        harness::ssh(data);
        harness::http(data);
        harness::dtls(data);
        harness::bus(data);
        harness::sharded(data);
    }
}
