//! JetStream publishing with acknowledgement (`--bus-jetstream STREAM`)
//! against nats-server with `-js -sd DIR`.

mod bus_support;

use std::collections::HashSet;
use std::time::Duration;

use bus_support::{block_on, check_envelope, event, wait_until, NatsServer};
use decnet_sniffer::bus::{Bus, BusOptions, BusTarget};
use decnet_sniffer::event::EventKind;

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("decnet-bus-js-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn options(url: &str, stream: &str) -> BusOptions {
    let mut target = BusTarget::parse(url).unwrap();
    target.set_jetstream(Some(stream.to_string())).unwrap();
    let mut o = BusOptions::new(target);
    o.reconnect_min = Duration::from_millis(50);
    o.reconnect_max = Duration::from_millis(500);
    o.write_timeout = Duration::from_secs(2);
    o
}

/// Every message of `stream`, as (subject, body).
fn stream_messages(url: &str, stream: &str) -> Vec<(String, Vec<u8>)> {
    block_on(async {
        let c = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(c);
        let mut s = js.get_stream(stream).await.unwrap();
        let info = s.info().await.unwrap().clone();
        let mut out = Vec::new();
        if info.state.messages == 0 {
            return out;
        }
        for seq in info.state.first_sequence..=info.state.last_sequence {
            let m = s.get_raw_message(seq).await.unwrap();
            out.push((m.subject.to_string(), m.payload.to_vec()));
        }
        out
    })
}

#[test]
fn acknowledged_events_land_in_the_stream_and_survive_restarts() {
    let store = tempdir("survive");
    let mut server = NatsServer::start(Some(&store));
    let url = server.url();
    // The stream does not exist yet: the bus creates it.
    let bus = Bus::start(options(&url, "DECNET_TRAFFIC")).unwrap();
    assert!(wait_until(Duration::from_secs(10), || bus
        .stats()
        .connected));

    let deckies = ["decky-01", "10.0.0.5"];
    let events: Vec<_> = (0..100u32)
        .map(|n| event(EventKind::TlsSession, deckies[n as usize % 2], n))
        .collect();
    for ev in &events[..50] {
        bus.publish(ev);
    }
    assert!(
        wait_until(Duration::from_secs(10), || bus.stats().published == 50),
        "{:?}",
        bus.stats()
    );

    // Server down: the next 50 wait in the queue, then go with acks.
    server.stop();
    assert!(wait_until(Duration::from_secs(10), || !bus
        .stats()
        .connected));
    for ev in &events[50..] {
        bus.publish(ev);
    }
    std::thread::sleep(Duration::from_millis(500));
    server.restart();
    assert!(
        wait_until(Duration::from_secs(20), || bus.stats().published == 100),
        "{:?}",
        bus.stats()
    );
    let s = bus.stats();
    assert_eq!((s.publish_failures, s.dropped), (0, 0));
    bus.shutdown(Duration::from_secs(2));

    // Restart once more: acknowledged means stored on disk.
    server.restart();
    let msgs = stream_messages(&url, "DECNET_TRAFFIC");
    assert_eq!(msgs.len(), 100);
    let mut ids = HashSet::new();
    for ((subject, body), ev) in msgs.iter().zip(&events) {
        let topic = if ev.decky.as_ref() == "decky-01" {
            "decky.decky-01.traffic"
        } else {
            "decky.10-0-0-5.traffic"
        };
        assert_eq!(subject, topic);
        let v = check_envelope(body, topic, ev);
        assert!(
            ids.insert(v["id"].as_str().unwrap().to_string()),
            "no duplicates"
        );
    }
    let _ = std::fs::remove_dir_all(&store);
}

#[test]
fn unacknowledged_publishes_are_counted_as_failures() {
    let store = tempdir("nack");
    let server = NatsServer::start(Some(&store));
    let url = server.url();
    // Another stream already owns the subjects, so WANTED cannot be created
    // and every publish expecting WANTED is refused.
    block_on(async {
        let c = async_nats::connect(url.as_str()).await.unwrap();
        async_nats::jetstream::new(c)
            .create_stream(async_nats::jetstream::stream::Config {
                name: "OTHER".into(),
                subjects: vec!["decky.>".into()],
                ..Default::default()
            })
            .await
            .unwrap();
    });
    let bus = Bus::start(options(&url, "WANTED")).unwrap();
    for n in 0..5 {
        bus.publish(&event(EventKind::TcpFlowTiming, "decky-01", n));
    }
    assert!(
        wait_until(Duration::from_secs(20), || bus.stats().publish_failures
            == 5),
        "{:?}",
        bus.stats()
    );
    assert_eq!(bus.stats().published, 0);
    bus.shutdown(Duration::from_millis(200));
    let msgs = stream_messages(&url, "OTHER");
    assert!(
        msgs.is_empty(),
        "expected-stream check kept them out of OTHER"
    );
    let _ = std::fs::remove_dir_all(&store);
}

#[test]
fn restart_with_publishes_in_flight_loses_and_duplicates_nothing() {
    let store = tempdir("inflight");
    let mut server = NatsServer::start(Some(&store));
    let url = server.url();
    let bus = Bus::start(options(&url, "INFLIGHT")).unwrap();
    assert!(wait_until(Duration::from_secs(10), || bus
        .stats()
        .connected));
    let events: Vec<_> = (0..300u32)
        .map(|n| event(EventKind::TcpSynFingerprint, "decky-01", n))
        .collect();
    // The server goes down and comes back while events keep flowing, without
    // waiting for the bus to notice: some publishes are in flight when it
    // dies and must be retried (the stream drops duplicates by message id).
    for (i, ev) in events.iter().enumerate() {
        bus.publish(ev);
        std::thread::sleep(Duration::from_millis(3));
        if i == 100 {
            server.stop();
        }
        if i == 200 {
            server.restart();
        }
    }
    assert!(
        wait_until(Duration::from_secs(30), || bus.stats().published == 300),
        "{:?}",
        bus.stats()
    );
    let s = bus.stats();
    eprintln!("in-flight restart: {s:?}");
    assert_eq!((s.publish_failures, s.dropped), (0, 0));
    bus.shutdown(Duration::from_secs(2));
    let msgs = stream_messages(&url, "INFLIGHT");
    let mut ports: Vec<u32> = msgs
        .iter()
        .map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            v["payload"]["src_port"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(ports.len(), 300, "each event stored exactly once");
    ports.sort_unstable();
    assert_eq!(ports, (0..300).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&store);
}
