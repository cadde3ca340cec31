//! `read --workers N`: the sharded engine must give the events a single
//! engine gives, in the same order (flows still open at the end excepted,
//! whose order may differ).

mod support;

#[path = "../fuzz/harness.rs"]
mod harness;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::capture::RawPacket;
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::Event;
use decnet_sniffer::fingerprint::p0f::Database;
use decnet_sniffer::output::syslog::write_line;
use decnet_sniffer::output::Output;
use decnet_sniffer::runtime::ShardedEngine;
use decnet_sniffer::util::time::Timestamp;
use support::{tcp, ACK, FIN_ACK, PSH_ACK, SYN, SYN_ACK};

fn line(ev: &Event) -> String {
    let mut out = Vec::new();
    write_line(ev, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Lines while reading, and lines of the flows ended at the end.
struct Lines {
    during: Vec<String>,
    at_end: Vec<String>,
}

fn run(frames: &[(i64, Vec<u8>)], limits: &Limits, deckies: &DeckyMap, workers: usize) -> Lines {
    let packets = frames.iter().map(|(t, f)| RawPacket {
        ts: Timestamp::from_micros(*t),
        linktype: 1,
        data: f,
        orig_len: f.len() as u32,
    });
    run_packets(packets, limits, deckies, workers)
}

fn run_packets<'a>(
    packets: impl Iterator<Item = RawPacket<'a>>,
    limits: &Limits,
    deckies: &DeckyMap,
    workers: usize,
) -> Lines {
    let mut during = Vec::new();
    let mut at_end = Vec::new();
    if workers == 1 {
        let mut e = Engine::new(limits.clone(), deckies.clone());
        packets.for_each(|p| e.process(&p, &mut |ev| during.push(line(&ev))));
        e.finish(&mut |ev| at_end.push(line(&ev)));
    } else {
        let formatter = Output::new(60, 1024).formatter();
        let mut e = ShardedEngine::new(
            limits.clone(),
            deckies.clone(),
            Database::bundled(),
            workers,
            formatter,
        )
        .unwrap();
        let text = |l: &[u8]| String::from_utf8_lossy(l).into_owned();
        packets.for_each(|p| e.process(&p, &mut |c| during.extend(c.lines().map(text))));
        e.finish(&mut |c| at_end.extend(c.lines().map(text)));
    }
    if deckies.is_observe_all() {
        // Known difference (README, --workers): observing every host, one
        // client's connections to different servers may land on different
        // shards, and p0f's per-host modules then see only a shard's share.
        let per_host = |l: &String| {
            [" host_uptime [", " host_change [", " ip_sharing ["]
                .iter()
                .any(|t| l.contains(t))
        };
        during.retain(|l| !per_host(l));
        at_end.retain(|l| !per_host(l));
    }
    Lines { during, at_end }
}

fn read_file(path: &Path, workers: usize) -> Vec<String> {
    let mut file = CaptureFile::open(path).unwrap();
    let mut frames = Vec::new();
    file.for_each(|p| frames.push((p.ts.as_micros(), p.data.to_vec(), p.linktype, p.orig_len)))
        .unwrap();
    let packets = frames.iter().map(|(t, f, l, o)| RawPacket {
        ts: Timestamp::from_micros(*t),
        linktype: *l,
        data: f,
        orig_len: *o,
    });
    let lines = run_packets(
        packets,
        &Limits::default(),
        &DeckyMap::observe_all(),
        workers,
    );
    let mut all = lines.during;
    all.extend(lines.at_end);
    all
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            captures(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            out.push(path);
        }
    }
}

#[test]
fn corpus_captures_give_the_same_events_on_three_workers() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    // The conformance corpus, and our own real-client and scanner captures
    // (split and fragmented handshakes among them).
    captures(&support::corpus(), &mut files);
    captures(&manifest.join("tests/data"), &mut files);
    files.sort();
    let mut compared = 0;
    let mut events = 0;
    for path in &files {
        if CaptureFile::open(path).is_err() {
            continue;
        }
        let single = read_file(path, 1);
        let sharded = read_file(path, 3);
        assert_same(&single, &sharded, &path.display().to_string());
        compared += 1;
        events += single.len();
    }
    assert!(
        compared >= 60 && events >= 1000,
        "{compared} files, {events} events"
    );
}

/// Deckies, many clients with short connections and idle gaps (so idle
/// expiry interleaves with new packets across chunks), one scanner whose
/// SYNs reach every decky, and connections left open at the end.
fn fleet() -> (Vec<(i64, Vec<u8>)>, DeckyMap) {
    let deckies: Vec<Ipv4Addr> = (10..13).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    let mut map = DeckyMap::default();
    for (i, d) in deckies.iter().enumerate() {
        map.insert(&format!("decky-{i}"), (*d).into());
    }
    let mut frames = Vec::new();
    let mut t: i64 = 1_700_000_000_000_000;
    let mut step = |frames: &mut Vec<(i64, Vec<u8>)>, dt: i64, f: Vec<u8>| {
        t += dt;
        frames.push((t, f));
    };
    let scanner = Ipv4Addr::new(203, 0, 113, 9);
    for i in 0..2400u32 {
        let client = Ipv4Addr::from(0xC633_6400 + (i % 700) * 7);
        let server = deckies[(i % 3) as usize];
        let cport = 40_000 + (i % 20_000) as u16;
        let (cs, ss) = (i.wrapping_mul(2_654_435_761), 77_000 + i);
        // Every 50th connection pauses past the idle timeout.
        let gap = if i % 50 == 49 { 3_000_000 } else { 700 };
        step(
            &mut frames,
            gap,
            tcp(client, cport, server, 443, cs, 0, SYN, &[]),
        );
        step(
            &mut frames,
            300,
            tcp(server, 443, client, cport, ss, cs + 1, SYN_ACK, &[]),
        );
        step(
            &mut frames,
            300,
            tcp(client, cport, server, 443, cs + 1, ss + 1, ACK, &[]),
        );
        step(
            &mut frames,
            300,
            tcp(
                client,
                cport,
                server,
                443,
                cs + 1,
                ss + 1,
                PSH_ACK,
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            ),
        );
        if i % 4 != 0 {
            step(
                &mut frames,
                300,
                tcp(client, cport, server, 443, cs + 28, ss + 1, FIN_ACK, &[]),
            );
            step(
                &mut frames,
                300,
                tcp(server, 443, client, cport, ss + 1, cs + 29, FIN_ACK, &[]),
            );
        }
        // The scanner: one SYN to each decky in turn.
        if i % 10 == 0 {
            let d = deckies[(i / 10 % 3) as usize];
            step(
                &mut frames,
                50,
                tcp(scanner, 50_000 + i as u16, d, 22, i * 977, 0, SYN, &[]),
            );
        }
    }
    (frames, map)
}

/// Asserts `a == b` naming the first difference (the lists are long).
fn assert_same(a: &[String], b: &[String], what: &str) {
    if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
        panic!(
            "{what}: first difference at event {i}:\n  {}\n  {}",
            a[i], b[i]
        );
    }
    assert_eq!(a.len(), b.len(), "{what}: event count");
}

#[test]
fn a_decky_fleet_gives_the_same_events_on_any_number_of_workers() {
    let (frames, deckies) = fleet();
    assert!(frames.len() > 8 * 512, "spans several chunks");
    let limits = Limits {
        flow_idle_secs: 2,
        ..Limits::default()
    };
    let single = run(&frames, &limits, &deckies, 1);
    assert!(single.during.iter().any(|l| l.contains("tcp_flow_timing")));
    // The scanner's samples follow it across every decky.
    assert!(single
        .during
        .iter()
        .any(|l| l.contains("src_ip=\"203.0.113.9\"") && l.contains("ipid_samples=\"8\"")));
    let open_at_end = single.at_end.len();
    assert!(open_at_end > 0);
    let mut expected = single.during;
    expected.extend(single.at_end);
    for workers in [2, 3, 5] {
        // The sharded engine hands events over a few chunks late, so
        // compare the whole streams; the flows open at the end come last.
        let sharded = run(&frames, &limits, &deckies, workers);
        let mut got = sharded.during;
        got.extend(sharded.at_end);
        assert_eq!(got.len(), expected.len(), "{workers} workers");
        let split = expected.len() - open_at_end;
        assert_same(
            &expected[..split],
            &got[..split],
            &format!("{workers} workers"),
        );
        let (mut a, mut b) = (expected[split..].to_vec(), got[split..].to_vec());
        a.sort();
        b.sort();
        assert_same(&a, &b, &format!("{workers} workers, flows open at the end"));
    }
}

#[test]
fn the_same_input_gives_the_same_bytes_every_run() {
    let (frames, deckies) = fleet();
    let first = run(&frames, &Limits::default(), &deckies, 4);
    for _ in 0..3 {
        let again = run(&frames, &Limits::default(), &deckies, 4);
        assert_same(&first.during, &again.during, "while reading");
        assert_same(&first.at_end, &again.at_end, "at the end");
    }
}

/// The fuzzers' engine inputs (hostile frames that reached rare paths):
/// the same events sharded as from one engine.
#[test]
fn fuzz_regression_inputs_give_the_same_events_on_three_workers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/engine");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(paths.len() >= 50, "{} inputs", paths.len());
    let mut events = 0;
    for path in &paths {
        let data = std::fs::read(path).unwrap();
        let (linktype, frames) = harness::frames(&data);
        let packets = || {
            frames.iter().map(move |(ts, f)| RawPacket {
                ts: *ts,
                linktype,
                data: f,
                orig_len: f.len() as u32,
            })
        };
        let deckies = DeckyMap::observe_all();
        let single = run_packets(packets(), &Limits::default(), &deckies, 1);
        let sharded = run_packets(packets(), &Limits::default(), &deckies, 3);
        let what = path.display().to_string();
        let mut expected = single.during;
        let open_at_end = single.at_end.len();
        expected.extend(single.at_end);
        let mut got = sharded.during;
        got.extend(sharded.at_end);
        assert_eq!(got.len(), expected.len(), "{what}");
        let split = expected.len() - open_at_end;
        assert_same(&expected[..split], &got[..split], &what);
        let (mut a, mut b) = (expected[split..].to_vec(), got[split..].to_vec());
        a.sort();
        b.sort();
        assert_same(&a, &b, &what);
        events += expected.len();
    }
    assert!(events > 0);
}
