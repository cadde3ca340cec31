//! End to end through the library: capture file → engine → output pipeline
//! (dedup, log line, JSON record) → bus → NATS subscriber. The subscriber
//! must receive exactly the JSON output's records of the on-bus event types,
//! in order, as v1 envelopes on `decky.<token>.traffic`.

mod bus_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bus_support::{shared_or_own_server, wait_until, Collector};
use decnet_sniffer::bus::{Bus, BusOptions, BusTarget};
use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::cli::DeckyArgs;
use decnet_sniffer::engine::{Engine, Limits};
use decnet_sniffer::event::EventKind;
use decnet_sniffer::output::Output;
use decnet_sniffer::util::time::Timestamp;
use serde_json::Value;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/demo.pcap");
const STATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/decnet-state.json");

/// Runs `read` the way the CLI does, with the bus attached; returns the
/// JSON records written.
fn read_with_bus(capture: &Path, state: Option<&Path>, bus: &Bus, json: &Path) -> Vec<Value> {
    let deckies = DeckyArgs {
        state: state.map(Path::to_path_buf),
        deckies: Vec::new(),
        decap: Default::default(),
    }
    .load()
    .unwrap();
    let mut output = Output::new(300, 1_000_000);
    output.json_to(json).unwrap();
    output.publish_with(Box::new(bus.publisher()));
    let mut engine = Engine::new(Limits::default(), deckies);
    let mut file = CaptureFile::open(capture).unwrap();
    file.for_each(|pkt| engine.process(&pkt, &mut |ev| output.handle(ev)))
        .unwrap();
    engine.finish(&mut |ev| output.handle(ev));
    output.flush().unwrap();
    std::fs::read_to_string(json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn on_bus(event_type: &str) -> bool {
    EventKind::ALL
        .iter()
        .any(|k| k.as_str() == event_type && k.on_bus())
}

fn check_run(state: Option<&Path>, name: &str) {
    let observe_all = state.is_none();
    let (url, _server) = shared_or_own_server();
    let sub = Collector::start(&url, "decky.>");
    let bus = Bus::start(BusOptions::new(BusTarget::parse(&url).unwrap())).unwrap();
    assert!(wait_until(Duration::from_secs(10), || bus
        .stats()
        .connected));

    let json = tmpfile(name);
    let records = read_with_bus(Path::new(DEMO), state, &bus, &json);
    let want: Vec<&Value> = records
        .iter()
        .filter(|r| on_bus(r["event_type"].as_str().unwrap()))
        .collect();
    assert!(!want.is_empty(), "the demo capture has on-bus events");

    assert!(
        wait_until(Duration::from_secs(10), || sub.len() >= want.len()),
        "got {} of {}",
        sub.len(),
        want.len()
    );
    std::thread::sleep(Duration::from_millis(200));
    let got = sub.take();
    eprintln!(
        "{name}: {} JSON records, {} of on-bus types, {} received",
        records.len(),
        want.len(),
        got.len()
    );
    assert_eq!(
        got.len(),
        want.len(),
        "exactly the on-bus records of the JSON output"
    );
    for ((subject, body), rec) in got.iter().zip(&want) {
        let decky = rec["decky"].as_str().unwrap();
        let token = if decky.parse::<std::net::IpAddr>().is_ok() {
            decky.replace(['.', ':'], "-")
        } else {
            decky.to_string()
        };
        assert_eq!(
            observe_all,
            token != decky,
            "IP names, and only they, are rewritten"
        );
        let topic = format!("decky.{token}.traffic");
        assert_eq!(subject, &topic);
        let env: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(env["v"], 1);
        assert_eq!(env["topic"], topic.as_str());
        assert_eq!(env["type"], rec["event_type"]);
        assert_eq!(env["id"].as_str().unwrap().len(), 32);
        assert_eq!(
            env["payload"], rec["fields"],
            "payload = the JSON record's fields"
        );
        // ts is the packet time of the syslog line, to the microsecond.
        let ts = env["ts"].as_f64().unwrap();
        let mut text = Vec::new();
        Timestamp::from_micros((ts * 1e6).round() as i64).write_rfc5424(&mut text);
        let line_ts = rec["raw_line"].as_str().unwrap().split(' ').nth(1).unwrap();
        assert_eq!(line_ts.as_bytes(), text.as_slice());
    }
    bus.shutdown(Duration::from_secs(2));
    let _ = std::fs::remove_file(&json);
}

#[test]
fn demo_capture_with_state_file_publishes_its_on_bus_records() {
    check_run(Some(Path::new(STATE)), "state");
}

#[test]
fn demo_capture_in_observe_all_mode_uses_ip_subject_tokens() {
    check_run(None, "observe-all");
}

fn tmpfile(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "decnet-bus-pipeline-{}-{name}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}
