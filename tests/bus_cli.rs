//! `decnet-sniffer read CAPTURE --bus TARGET` end to end: a subscriber gets
//! exactly the JSON output's records of the on-bus event types, in order,
//! as v1 envelopes on the right subjects; over NATS, JetStream and DECNET's
//! UNIX-socket bus.

mod bus_support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bus_support::{block_on, shared_or_own_server, wait_until, Collector, NatsServer};
use decnet_sniffer::event::EventKind;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_decnet-sniffer");
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/demo.pcap");
const STATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/decnet-state.json");

/// Runs `read` with `extra` arguments; returns the JSON records on stdout.
fn read(extra: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["read", DEMO, "--state", STATE, "--no-progress"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "read failed: {stderr}");
    assert!(!stderr.contains("not published"), "{stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn on_bus(rec: &Value) -> bool {
    let t = rec["event_type"].as_str().unwrap();
    EventKind::ALL.iter().any(|k| k.as_str() == t && k.on_bus())
}

/// Checks `got` (subject, envelope) against the on-bus JSON records.
fn compare(records: &[Value], got: &[(String, Vec<u8>)]) {
    let want: Vec<&Value> = records.iter().filter(|r| on_bus(r)).collect();
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len(), "exactly the on-bus records");
    for ((subject, body), rec) in got.iter().zip(want) {
        let topic = format!("decky.{}.traffic", rec["decky"].as_str().unwrap());
        assert_eq!(subject, &topic);
        let env: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(env["v"], 1);
        assert_eq!(env["topic"], topic.as_str());
        assert_eq!(env["type"], rec["event_type"]);
        assert_eq!(env["id"].as_str().unwrap().len(), 32);
        assert!(env["ts"].is_f64());
        assert_eq!(env["payload"], rec["fields"]);
    }
}

#[test]
fn read_with_nats_bus_publishes_the_json_outputs_on_bus_records() {
    let (url, _server) = shared_or_own_server();
    let sub = Collector::start(&url, "decky.>");
    let records = read(&["--bus", &url]);
    let want = records.iter().filter(|r| on_bus(r)).count();
    assert!(wait_until(Duration::from_secs(10), || sub.len() >= want));
    std::thread::sleep(Duration::from_millis(200));
    compare(&records, &sub.take());
}

#[test]
fn read_with_jetstream_bus_stores_the_on_bus_records() {
    let store = std::env::temp_dir().join(format!("decnet-bus-cli-js-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    std::fs::create_dir_all(&store).unwrap();
    let server = NatsServer::start(Some(&store));
    let url = server.url();
    let records = read(&["--bus", &url, "--bus-jetstream", "CLI_TRAFFIC"]);
    let got = block_on(async {
        let c = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(c);
        let mut s = js.get_stream("CLI_TRAFFIC").await.unwrap();
        let n = s.info().await.unwrap().state.messages;
        let mut got = Vec::new();
        for seq in 1..=n {
            let m = s.get_raw_message(seq).await.unwrap();
            got.push((m.subject.to_string(), m.payload.to_vec()));
        }
        got
    });
    compare(&records, &got);
    let _ = std::fs::remove_dir_all(&store);
}

#[test]
fn read_with_decnet_bus_sends_hello_pub_frames_and_bye() {
    let dir: PathBuf = std::env::temp_dir().join(format!("decnet-bus-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bus.sock");
    let listener = UnixListener::bind(&path).unwrap();
    // The test bus: reads frames per docs/spec.md section 7 until BYE.
    let peer = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut r = BufReader::new(conn);
        let mut frames = Vec::new();
        loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line).unwrap() == 0 {
                break;
            }
            let line = String::from_utf8(line).unwrap();
            let line = line.trim_end_matches('\n').to_string();
            let mut len = [0u8; 4];
            r.read_exact(&mut len).unwrap();
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
            r.read_exact(&mut body).unwrap();
            let bye = line == "BYE";
            frames.push((line, body));
            if bye {
                break;
            }
        }
        frames
    });
    let records = read(&["--bus", &format!("decnet:{}", path.display())]);
    let frames = peer.join().unwrap();
    assert!(
        frames[0].0.starts_with("HELLO sniffer["),
        "{:?}",
        frames[0].0
    );
    assert_eq!(frames.last().unwrap().0, "BYE");
    let published: Vec<(String, Vec<u8>)> = frames
        .iter()
        .filter_map(|(line, body)| {
            let topic = line.strip_prefix("PUB ")?;
            Some((topic.to_string(), body.clone()))
        })
        .collect();
    compare(&records, &published);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn read_rejects_a_bad_bus_target() {
    let out = Command::new(BIN)
        .args(["read", DEMO, "--bus", "kafka://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kafka://x"));
    let out = Command::new(BIN)
        .args(["read", DEMO, "--bus", "decnet:/x", "--bus-jetstream", "S"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nats"));
}
