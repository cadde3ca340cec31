//! The floor for whole-process benchmarks: reads capture files with the
//! project's reader and does nothing per packet but count it (with
//! `--decode`, also decodes it). `bench/run.sh` compares
//! `decnet-sniffer read` against this.
//!
//! `cargo run --release --example read_loop -- [--decode] [--mmap] FILE...`
//! (`--mmap`: through the memory map, as `read --mmap`).

use std::path::Path;
use std::time::Instant;

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::decode;

fn main() {
    let mut decode_too = false;
    let mut mapped = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--decode" {
            decode_too = true;
        } else if arg == "--mmap" {
            mapped = true;
        } else {
            files.push(arg);
        }
    }
    let started = Instant::now();
    let (mut packets, mut bytes, mut decoded) = (0u64, 0u64, 0u64);
    for path in &files {
        let opened = if mapped {
            CaptureFile::open_mapped(Path::new(path))
        } else {
            CaptureFile::open(Path::new(path))
        };
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let res = file.for_each(|pkt| {
            packets += 1;
            bytes += pkt.data.len() as u64;
            if decode_too && decode::decode(&pkt).is_ok() {
                decoded += 1;
            }
        });
        if let Err(e) = res {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "packets read: {packets} ({bytes} bytes, {:.0} packets/s), decoded: {decoded}",
        packets as f64 / secs.max(1e-9)
    );
}
