//! Capture files read through the memory map (`CaptureFile::open_mapped`,
//! `src/capture/mapped.rs`): the same packets as `read()` on every capture
//! of the repository, and a file truncated while it is being read ends the
//! read without killing the process (no SIGBUS: the map is held under a read
//! lease, ROBUSTNESS.md "Memory-mapped capture files").

mod support;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use decnet_sniffer::capture::file::{CaptureFile, FileEnd};
use support::PcapWriter;

/// Every packet of a file as (ts, linktype, bytes, orig_len), how it ended
/// (or the error's text).
type Packets = Vec<(i64, u32, u32, Vec<u8>, u32)>;

fn read_all(path: &Path, mapped: bool) -> (Packets, Result<FileEnd, String>, usize) {
    let mut file = match if mapped {
        CaptureFile::open_mapped(path)
    } else {
        CaptureFile::open(path)
    } {
        Ok(f) => f,
        Err(e) => return (Vec::new(), Err(e.to_string()), 0),
    };
    let mut packets = Vec::new();
    let end = file.for_each(|p| {
        packets.push((
            p.ts.secs,
            p.ts.nanos,
            p.linktype,
            p.data.to_vec(),
            p.orig_len,
        ))
    });
    let end = end.map_err(|e| e.to_string());
    (packets, end, file.position())
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            captures(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "cap")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn mapped_reads_what_read_reads_on_every_capture() {
    let mut files = Vec::new();
    captures(&support::corpus(), &mut files);
    captures(&support::test_data(""), &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} captures", files.len());
    let mut mapped = 0;
    for path in &files {
        let by_read = read_all(path, false);
        let by_map = read_all(path, true);
        assert!(by_read == by_map, "{}: mapped read differs", path.display());
        if CaptureFile::open_mapped(path).is_ok_and(|f| f.is_mapped()) {
            mapped += 1;
        }
    }
    // Classic pcap files are mapped (root, or the owner of the checkout);
    // pcapng ones are read with read().
    assert!(mapped > 20, "only {mapped} captures were mapped");
}

/// A pcap of `n` 1000-byte frames, frame i carrying i in its first bytes.
fn numbered_pcap(path: &Path, n: u32) {
    let mut w = PcapWriter::new(BufWriter::new(File::create(path).unwrap()));
    let mut frame = vec![0u8; 1000];
    for i in 0..n {
        frame[..4].copy_from_slice(&i.to_be_bytes());
        w.packet(i64::from(i) * 1000, &frame);
    }
    w.into_inner().flush().unwrap();
}

/// Whether /proc/locks shows a lease on `path`'s inode being broken.
fn lease_breaking(inode: u64) -> bool {
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    locks
        .lines()
        .any(|l| l.contains("LEASE") && l.contains("BREAK") && l.contains(&format!(":{inode} ")))
}

#[test]
fn truncated_while_mapped_ends_the_read_without_a_crash() {
    use std::os::unix::fs::MetadataExt;
    let dir = support::scratch("mapped-truncate");
    let path = dir.join("numbered.pcap");
    let n = 20_000;
    numbered_pcap(&path, n);
    let inode = std::fs::metadata(&path).unwrap().ino();
    let half = std::fs::metadata(&path).unwrap().len() / 2 + 7;

    let mut file = CaptureFile::open_mapped(&path).unwrap();
    assert!(file.is_mapped(), "the kernel refused the lease or the map");
    let mut seen = Vec::new();
    let mut truncater = None;
    let end = file
        .for_each(|p| {
            seen.push(u32::from_be_bytes(p.data[..4].try_into().unwrap()));
            if seen.len() == 100 {
                // Another thread truncates the file to half. Its open()
                // waits on our lease; wait until the kernel says so, so the
                // truncation is certainly asked for while the map is read.
                let at = path.clone();
                truncater = Some(std::thread::spawn(move || {
                    OpenOptions::new()
                        .write(true)
                        .open(&at)
                        .unwrap()
                        .set_len(half)
                        .unwrap();
                }));
                while !lease_breaking(inode) {
                    std::thread::yield_now();
                }
            }
        })
        .unwrap();
    drop(file);
    truncater.unwrap().join().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), half);

    // The packets handed out are the file's, in order, with none made up:
    // at least the 100 read before the truncation, at most the whole file.
    assert!(
        seen.len() >= 100 && seen.len() <= n as usize,
        "{}",
        seen.len()
    );
    assert!(seen.iter().enumerate().all(|(i, &v)| v == i as u32));
    assert_eq!(end.packets, seen.len() as u64);
    // Read with read() after the lease was given up: a reader that had not
    // passed the new end meets the record cut there.
    let whole_records_left = (half - 24) / 1016;
    if seen.len() as u64 <= whole_records_left {
        assert!(end.truncated, "{end:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_open_for_writing_is_not_mapped() {
    let dir = support::scratch("mapped-writer");
    let path = dir.join("numbered.pcap");
    numbered_pcap(&path, 10);
    let writer = OpenOptions::new().append(true).open(&path).unwrap();
    let (packets, end, _) = read_all(&path, true);
    assert!(!CaptureFile::open_mapped(&path).unwrap().is_mapped());
    assert_eq!((packets.len(), end.unwrap().packets), (10, 10));
    drop(writer);
    assert!(CaptureFile::open_mapped(&path).unwrap().is_mapped());
    std::fs::remove_dir_all(&dir).unwrap();
}
