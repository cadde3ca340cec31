//! Reading a capture file: `read()` through pcap-parser's streaming reader
//! against the memory map (`read --mmap`), on a generated 64 MiB classic
//! pcap of 1,500-byte frames (the bulk workload's shape) in the page cache,
//! touching every cache line of every frame as the floor does.

mod common;

use std::io::{BufWriter, Write};
use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decnet_sniffer::capture::file::CaptureFile;

const FRAMES: u32 = 44_000;

fn write_pcap(path: &Path) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    w.write_all(&0xa1b2_c3d4u32.to_le_bytes()).unwrap();
    w.write_all(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    w.write_all(&65_535u32.to_le_bytes()).unwrap();
    w.write_all(&1u32.to_le_bytes()).unwrap();
    let frame = common::data_segment();
    for i in 0..FRAMES {
        w.write_all(&i.to_le_bytes()).unwrap();
        w.write_all(&0u32.to_le_bytes()).unwrap();
        w.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
        w.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
        w.write_all(&frame).unwrap();
    }
    w.flush().unwrap();
}

fn read_all(path: &Path, mapped: bool) -> u64 {
    let mut file = if mapped {
        CaptureFile::open_mapped(path)
    } else {
        CaptureFile::open(path)
    }
    .unwrap();
    assert_eq!(file.is_mapped(), mapped, "the map was refused");
    let mut sum = 0u64;
    let end = file
        .for_each(|p| {
            for b in p.data.iter().step_by(64) {
                sum = sum.wrapping_add(u64::from(*b));
            }
        })
        .unwrap();
    assert_eq!(end.packets, u64::from(FRAMES));
    sum
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("decnet-bench-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bulk.pcap");
    write_pcap(&path);
    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Bytes(std::fs::metadata(&path).unwrap().len()));
    g.sample_size(20);
    g.bench_function("read_64MiB", |b| {
        b.iter(|| black_box(read_all(&path, false)))
    });
    g.bench_function("mmap_64MiB", |b| {
        b.iter(|| black_box(read_all(&path, true)))
    });
    g.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
