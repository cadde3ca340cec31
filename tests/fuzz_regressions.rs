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
    }
}
