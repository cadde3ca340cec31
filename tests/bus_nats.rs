//! Core NATS publishing against a real nats-server: subjects, envelopes,
//! health, control, and an outage mid-stream where publish() must not stall
//! and the only lost events are the queue's counted drops.

mod bus_support;

use std::time::{Duration, Instant};

use bus_support::{
    block_on, check_envelope, event, shared_or_own_server, wait_until, Collector, Latency,
    NatsServer,
};
use decnet_sniffer::bus::{Bus, BusOptions, BusTarget};
use decnet_sniffer::event::{Event, EventKind};

fn options(url: &str) -> BusOptions {
    let mut o = BusOptions::new(BusTarget::parse(url).unwrap());
    o.reconnect_min = Duration::from_millis(50);
    o.reconnect_max = Duration::from_millis(500);
    o
}

#[test]
fn events_reach_subscribers_on_their_subjects_as_envelopes() {
    let (url, _server) = shared_or_own_server();
    let traffic = Collector::start(&url, "decky.>");
    let health = Collector::start(&url, "system.sniffer.health");
    let mut opts = options(&url);
    opts.health_interval = Duration::from_millis(300);
    let bus = Bus::start(opts).unwrap();
    assert!(wait_until(Duration::from_secs(10), || bus
        .stats()
        .connected));

    let deckies = ["decky-01", "decky-02", "10.0.0.5", "2001:db8::1"];
    let kinds = EventKind::ALL;
    let mut sent: Vec<(String, Event)> = Vec::new();
    for n in 0..60u32 {
        let kind = kinds[n as usize % kinds.len()];
        let decky = deckies[n as usize % deckies.len()];
        let ev = event(kind, decky, n);
        bus.publish(&ev);
        if kind.on_bus() {
            let token = decky.replace(['.', ':'], "-");
            sent.push((format!("decky.{token}.traffic"), ev));
        }
    }
    bus.publish(&event(EventKind::TcpSynFingerprint, "has space", 99));
    assert!(wait_until(Duration::from_secs(10), || traffic.len() >= sent.len()));
    std::thread::sleep(Duration::from_millis(100));
    let got = traffic.take();
    assert_eq!(got.len(), sent.len(), "exactly the on-bus events");
    for ((subject, body), (topic, ev)) in got.iter().zip(&sent) {
        assert_eq!(subject, topic);
        check_envelope(body, topic, ev);
    }
    assert!(wait_until(Duration::from_secs(5), || health.len() > 0));
    let (subject, body) = health.take().remove(0);
    assert_eq!(subject, "system.sniffer.health");
    let h: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(h["type"], "health");
    assert_eq!(h["payload"]["worker"], "sniffer");
    assert!(h["payload"]["bus_published"].is_u64());

    assert!(wait_until(Duration::from_secs(5), || bus.stats().published
        == sent.len() as u64));
    let s = bus.stats();
    assert_eq!(
        (s.rejected_topics, s.dropped, s.publish_failures),
        (1, 0, 0)
    );

    // {"action":"stop"} on the control subject, in DECNET's envelope.
    assert!(!bus.stop_requested());
    block_on(async {
        let c = async_nats::connect(url.as_str()).await.unwrap();
        c.publish("system.sniffer.control", r#"{"action":"start"}"#.into())
            .await
            .unwrap();
        c.publish(
            "system.sniffer.control",
            r#"{"v":1,"id":"ab","topic":"system.sniffer.control","type":"","ts":1.0,"payload":{"action":"stop","requested_by":"admin"}}"#.into(),
        )
        .await
        .unwrap();
        c.flush().await.unwrap();
    });
    assert!(wait_until(Duration::from_secs(5), || bus.stop_requested()));
    bus.shutdown(Duration::from_secs(2));
}

/// The outage test: the server stops for about two seconds while events keep
/// coming. A JetStream stream on the same server records what actually
/// arrived, independently of any subscriber's own reconnect timing.
#[test]
fn server_restart_mid_stream_never_stalls_publish_and_loses_only_counted_drops() {
    let store = tempdir("restart");
    let mut server = NatsServer::start(Some(&store));
    let url = server.url();
    block_on(async {
        let c = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(c);
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "CAPTURE".into(),
            subjects: vec!["decky.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    });
    const CAP: usize = 64;
    let mut opts = options(&url);
    opts.queue_cap = CAP;
    let bus = Bus::start(opts).unwrap();
    assert!(wait_until(Duration::from_secs(10), || bus
        .stats()
        .connected));

    let mut lat = Latency::default();
    let mut n = 0u32;
    let mut send = |bus: &Bus, lat: &mut Latency, count: u32, gap: Duration| {
        for _ in 0..count {
            let ev = event(EventKind::TcpSynFingerprint, "decky-01", n);
            lat.time(|| bus.publish(&ev));
            n += 1;
            std::thread::sleep(gap);
        }
    };

    // A: server up.
    send(&bus, &mut lat, 100, Duration::from_millis(1));
    assert!(wait_until(Duration::from_secs(10), || bus
        .stats()
        .published
        == 100));

    // B: server down for ~2 s while 300 events arrive.
    server.stop();
    assert!(wait_until(Duration::from_secs(10), || !bus
        .stats()
        .connected));
    let down = Instant::now();
    let mut lat_down = Latency::default();
    send(&bus, &mut lat_down, 300, Duration::from_millis(6));
    server.restart();
    let outage = down.elapsed();

    // The newest CAP events of B were queued and go out after the reconnect.
    assert!(
        wait_until(Duration::from_secs(20), || bus.stats().published
            == 100 + CAP as u64),
        "{:?}",
        bus.stats()
    );
    // C: server up again.
    send(&bus, &mut lat, 100, Duration::from_millis(1));
    assert!(wait_until(Duration::from_secs(10), || bus
        .stats()
        .published
        == 200 + CAP as u64));

    let s = bus.stats();
    eprintln!(
        "outage {outage:?}: publish() max {:?} mean {:?} while down, max {:?} mean {:?} while up; stats {s:?}",
        lat_down.max,
        lat_down.mean(),
        lat.max,
        lat.mean()
    );
    assert_eq!(
        s.dropped,
        300 - CAP as u64,
        "missed events are counted drops"
    );
    assert_eq!(s.publish_failures, 0);
    assert!(s.reconnects >= 1);
    assert!(
        lat_down.max < Duration::from_millis(500),
        "publish() stalled: {:?}",
        lat_down.max
    );
    assert!(
        lat.max < Duration::from_millis(500),
        "publish() stalled: {:?}",
        lat.max
    );

    // What the server recorded: A, the last CAP of B, then C, in order.
    let ports = block_on(async {
        let c = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(c);
        let mut stream = js.get_stream("CAPTURE").await.unwrap();
        let count = stream.info().await.unwrap().state.messages;
        let mut ports = Vec::new();
        for seq in 1..=count {
            let m = stream.get_raw_message(seq).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            ports.push(
                v["payload"]["src_port"]
                    .as_str()
                    .unwrap()
                    .parse::<u32>()
                    .unwrap(),
            );
        }
        ports
    });
    let kept_b = (100 + 300 - CAP as u32)..400;
    let want: Vec<u32> = (0..100).chain(kept_b).chain(400..500).collect();
    assert_eq!(ports, want);
    bus.shutdown(Duration::from_secs(2));
    let _ = std::fs::remove_dir_all(&store);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("decnet-bus-nats-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn shutdown_waits_for_a_late_server_until_the_deadline() {
    // A stream records what arrives; the server is down when the bus starts.
    let store = tempdir("late");
    let mut server = NatsServer::start(Some(&store));
    let url = server.url();
    block_on(async {
        let c = async_nats::connect(url.as_str()).await.unwrap();
        async_nats::jetstream::new(c)
            .create_stream(async_nats::jetstream::stream::Config {
                name: "LATE".into(),
                subjects: vec!["decky.>".into()],
                ..Default::default()
            })
            .await
            .unwrap();
    });
    server.stop();
    let bus = Bus::start(options(&url)).unwrap();
    for n in 0..3 {
        bus.publish(&event(EventKind::TcpSynFingerprint, "decky-01", n));
    }
    let stopper = std::thread::spawn(move || bus.shutdown(Duration::from_secs(4)));
    std::thread::sleep(Duration::from_millis(300));
    // The server comes back while the bus is draining.
    server.restart();
    let s = stopper.join().unwrap();
    assert_eq!((s.published, s.queued), (3, 0), "{s:?}");
    let n = block_on(async {
        let c = async_nats::connect(url.as_str()).await.unwrap();
        let js = async_nats::jetstream::new(c);
        let mut st = js.get_stream("LATE").await.unwrap();
        st.info().await.unwrap().state.messages
    });
    assert_eq!(n, 3);
    let _ = std::fs::remove_dir_all(&store);
}
