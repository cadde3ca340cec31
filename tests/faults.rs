//! Output faults (issue 6): a disk that fills while running, an output that
//! cannot be written at all, and SIGKILL in the middle of writing. The files
//! must only ever hold complete records, and failures must be reported.

mod support;

use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

const DECKY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

/// `n` SYNs from distinct sources: one tcp_syn_fingerprint record each.
fn syn_pcap(path: &Path, n: u32) {
    let mut w = PcapWriter::new(BufWriter::new(File::create(path).unwrap()));
    let mut frame = tcp(Ipv4Addr::new(192, 0, 2, 1), 1024, DECKY, 22, 1, 0, SYN, &[]);
    for i in 0..n {
        let src = i.wrapping_mul(0x9e37_79b1) ^ 0x5bd1_e995;
        frame[26..30].copy_from_slice(&src.to_be_bytes());
        frame[38..42].copy_from_slice(&src.to_be_bytes());
        w.packet(1_776_789_350_000_000 + i64::from(i), &frame);
    }
    drop(w.into_inner());
}

/// Every line is one whole record: a log line parses to its closing `]`,
/// a JSON line is one object.
fn check_whole_records(log: &[u8], json: &[u8]) -> (usize, usize) {
    check_records(log, json, &[], &[])
}

/// As [`check_whole_records`], except that the lines listed in `torn_log`
/// and `torn_json` (indexes) are the start of a record cut short.
fn check_records(
    log: &[u8],
    json: &[u8],
    torn_log: &[usize],
    torn_json: &[usize],
) -> (usize, usize) {
    let log = lines(log);
    let json = lines(json);
    for (i, l) in log.iter().enumerate() {
        let whole = l.starts_with(b"<134>1 ") && l.ends_with(b"\"]");
        if torn_log.contains(&i) {
            assert!(!whole && b"<134>1 ".starts_with(&l[..l.len().min(7)]));
        } else {
            assert!(whole, "torn log line {:?}", String::from_utf8_lossy(l));
        }
    }
    for (i, j) in json.iter().enumerate() {
        let parsed = serde_json::from_slice::<serde_json::Value>(j);
        if torn_json.contains(&i) {
            assert!(parsed.is_err() && j.first().is_none_or(|&b| b == b'{'));
            continue;
        }
        let v = parsed
            .unwrap_or_else(|e| panic!("torn JSON line ({e}): {:?}", String::from_utf8_lossy(j)));
        assert_eq!(v["event_type"], "tcp_syn_fingerprint");
    }
    (log.len(), json.len())
}

/// Splits off an unterminated last line: (whole lines, torn tail).
fn split_tail(data: &[u8]) -> (&[u8], &[u8]) {
    let cut = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    data.split_at(cut)
}

/// The disk fills in the middle of the run (a 256 KiB tmpfs): the error is
/// reported, counted, the exit status is non-zero, and what did reach the
/// files is whole records.
#[test]
fn disk_fills_while_running() {
    let dir = scratch("diskfull");
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mnt)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("SKIP: cannot mount a tmpfs (not root?)");
        return;
    }
    let pcap = dir.join("in.pcap");
    syn_pcap(&pcap, 20_000);
    let out = Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .arg("read")
        .arg(&pcap)
        .arg("--log")
        .arg(mnt.join("out.log"))
        .arg("--json")
        .arg(mnt.join("out.json"))
        .args(["--no-progress", "--summary"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let log = std::fs::read(mnt.join("out.log")).unwrap();
    let json = std::fs::read(mnt.join("out.json")).unwrap();
    let _ = Command::new("umount").arg(&mnt).status();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_ne!(out.status.code(), Some(0), "a full disk must fail the run");
    assert!(stderr.contains("No space left"), "{stderr}");
    assert!(stderr.contains("write errors:"), "not counted: {stderr}");
    // The write that found the disk full may have put part of a record in
    // (files are never cut back); only the very end may be torn, and the
    // retries never wrote anything twice (every whole line is distinct).
    let (log, log_tail) = split_tail(&log);
    let (json, json_tail) = split_tail(&json);
    assert!(b"<134>1 ".starts_with(&log_tail[..log_tail.len().min(7)]));
    assert!(json_tail.first().is_none_or(|&b| b == b'{'));
    let (l, j) = check_whole_records(log, json);
    let distinct: std::collections::HashSet<&[u8]> = lines(log).into_iter().collect();
    assert_eq!(distinct.len(), l, "a record was written twice");
    eprintln!("FIGURES name=disk_full log_lines={l} json_lines={j} of 20000");
    assert!(l > 0 && l < 20_000);
}

/// An output that refuses every write (/dev/full) fails the run with the
/// reason, rather than reporting success having written nothing.
#[test]
fn output_that_cannot_be_written_fails_the_run() {
    let dir = scratch("devfull");
    let pcap = dir.join("in.pcap");
    syn_pcap(&pcap, 100);
    let out = Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .arg("read")
        .arg(&pcap)
        .args(["--log", "/dev/full", "--json", "/dev/full", "--no-progress"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("/dev/full") && stderr.contains("No space left"),
        "{stderr}"
    );
}

/// SIGKILL at arbitrary points of a long write-heavy run: once the sensor
/// has started again, both files hold only whole records (a kill between
/// the log and the JSON write may leave one file a batch ahead).
#[test]
fn sigkill_mid_write_leaves_whole_lines() {
    let dir = scratch("sigkill");
    let pcap = dir.join("in.pcap");
    syn_pcap(&pcap, 300_000);
    let empty = dir.join("empty.pcap");
    syn_pcap(&empty, 0);
    // Deterministic "random" kill points spread over the run.
    let delays_ms = [40u64, 130, 270, 410, 650, 880, 1150, 1500];
    for (round, delay) in delays_ms.iter().enumerate() {
        let log = dir.join(format!("out{round}.log"));
        let json = dir.join(format!("out{round}.json"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
            .arg("read")
            .arg(&pcap)
            .arg("--log")
            .arg(&log)
            .arg("--json")
            .arg(&json)
            .args(["--no-progress", "--dedup-ttl", "0"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        let _ = child.kill();
        let _ = child.wait();
        // The kernel may stop a write between pages when the process is
        // killed, so a torn last record is possible; the next start keeps
        // it, ends it with a newline and says so. Restart on an empty
        // capture.
        let before_log = std::fs::read(&log).unwrap_or_default();
        let before_json = std::fs::read(&json).unwrap_or_default();
        let restart = Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
            .arg("read")
            .arg(&empty)
            .arg("--log")
            .arg(&log)
            .arg("--json")
            .arg(&json)
            .arg("--no-progress")
            .output()
            .unwrap();
        assert!(restart.status.success());
        let warnings = String::from_utf8_lossy(&restart.stderr);
        let l = std::fs::read(&log).unwrap_or_default();
        let j = std::fs::read(&json).unwrap_or_default();
        let mut torn = [Vec::new(), Vec::new()];
        for (k, (path, before, after)) in [(&log, &before_log, &l), (&json, &before_json, &j)]
            .into_iter()
            .enumerate()
        {
            // Never shortened: the file before the restart is a prefix.
            assert!(after.starts_with(before), "{} was cut", path.display());
            let (whole, tail) = split_tail(before);
            if tail.is_empty() {
                assert_eq!(after, before);
                continue;
            }
            assert_eq!(&after[before.len()..], b"\n");
            let said = format!(
                "{}: the file ends inside a line ({} bytes",
                path.display(),
                tail.len()
            );
            assert!(
                warnings.contains(&said),
                "no warning {said:?} in {warnings}"
            );
            torn[k].push(lines(whole).len());
        }
        let (nl, nj) = check_records(&l, &j, &torn[0], &torn[1]);
        eprintln!(
            "FIGURES name=sigkill round={round} after_ms={delay} log_lines={nl} json_lines={nj}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The output files are removed while `read` is writing them (a careless
/// cleanup, a rotation without SIGHUP). The sensor notices within a second
/// of wall-clock time, says so on stderr with the path, and recreates both
/// files at their paths: every record is either in the removed inode
/// (written before it noticed; the test keeps it open to count them) or in
/// the new file, none is lost, and all are whole.
#[test]
fn removed_output_is_recreated() {
    use std::io::Read;
    let dir = scratch("removed");
    let log = dir.join("out.log");
    let json = dir.join("out.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .args(["read", "-", "--log"])
        .arg(&log)
        .arg("--json")
        .arg(&json)
        .args(["--no-progress", "--dedup-ttl", "0"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    // Unbuffered: every packet is in the pipe when `round` returns.
    let mut w = PcapWriter::new(child.stdin.take().unwrap());
    let mut frame = tcp(Ipv4Addr::new(192, 0, 2, 1), 1024, DECKY, 22, 1, 0, SYN, &[]);
    let mut sent: u32 = 0;
    // Feeds a round of SYNs from new sources; the pipe paces us to the
    // reader, so rounds go on for as long as the sensor needs.
    let mut round = |w: &mut PcapWriter<std::process::ChildStdin>| {
        for _ in 0..500 {
            let src = sent.wrapping_mul(0x9e37_79b1) ^ 0x5bd1_e995;
            frame[26..30].copy_from_slice(&src.to_be_bytes());
            frame[38..42].copy_from_slice(&src.to_be_bytes());
            w.packet(1_776_789_350_000_000 + i64::from(sent), &frame);
            sent += 1;
        }
    };
    let written = |p: &Path| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false);
    // Until both files hold records.
    let mut rounds = 0;
    while !(written(&log) && written(&json)) {
        round(&mut w);
        rounds += 1;
        assert!(rounds < 2000, "the outputs never received a record");
    }
    let mut old_log = File::open(&log).unwrap();
    let mut old_json = File::open(&json).unwrap();
    std::fs::remove_file(&log).unwrap();
    std::fs::remove_file(&json).unwrap();
    // The sensor checks at most once a second of wall-clock time: let a
    // second pass (it waits on its input meanwhile), and the next write of
    // each file must find it gone. A write comes at least every 64 KiB of
    // records, a few hundred SYNs; 50 rounds are 25,000.
    std::thread::sleep(Duration::from_millis(1100));
    let mut rounds = 0;
    while !(log.exists() && json.exists()) {
        round(&mut w);
        rounds += 1;
        assert!(rounds < 50, "the removed outputs were never recreated");
    }
    for _ in 0..4 {
        round(&mut w);
    }
    drop(w);
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(status.success(), "{stderr}");
    for p in [&log, &json] {
        assert!(
            stderr.contains(&format!("{}: output file was removed", p.display())),
            "no report for {}: {stderr}",
            p.display()
        );
    }
    assert!(stderr.contains("output files recreated: 2"), "{stderr}");
    let mut before = (Vec::new(), Vec::new());
    old_log.read_to_end(&mut before.0).unwrap();
    old_json.read_to_end(&mut before.1).unwrap();
    let after = (std::fs::read(&log).unwrap(), std::fs::read(&json).unwrap());
    let (bl, bj) = check_whole_records(&before.0, &before.1);
    let (al, aj) = check_whole_records(&after.0, &after.1);
    eprintln!(
        "FIGURES name=removed_output sent={sent} before_log={bl} before_json={bj} after_log={al} after_json={aj}"
    );
    assert!(al > 0 && aj > 0, "nothing reached the recreated files");
    // One tcp_syn_fingerprint per SYN from a new source.
    assert_eq!(bl + al, sent as usize, "log records lost");
    assert_eq!(bj + aj, sent as usize, "JSON records lost");
    std::fs::remove_dir_all(&dir).unwrap();
}
