//! The DECNET UNIX-socket bus client against a test peer that speaks the
//! framing of docs/spec.md section 7: header line `VERB[ args]\n`, 4-byte big-endian body
//! length, body; header ≤ 4096 bytes, body ≤ 1 MiB.

mod bus_support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bus_support::{check_envelope, event, wait_until, Latency};
use decnet_sniffer::bus::{Bus, BusOptions, BusTarget};
use decnet_sniffer::event::EventKind;

/// One frame as the test peer reads it.
#[derive(Debug)]
struct Frame {
    verb: String,
    args: String,
    body: Vec<u8>,
}

/// Reads a frame per docs/spec.md section 7, asserting its limits; `None` at end of stream.
fn read_frame(r: &mut impl BufRead) -> Option<Frame> {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line).ok()?;
    if n == 0 {
        return None;
    }
    assert!(line.len() <= 4096, "header longer than 4096 bytes");
    assert_eq!(line.pop(), Some(b'\n'), "header ends with LF");
    let line = String::from_utf8(line).expect("ASCII header");
    assert!(line.is_ascii());
    let (verb, args) = match line.split_once(' ') {
        Some((v, a)) => (v.to_string(), a.to_string()),
        None => (line, String::new()),
    };
    let mut len = [0u8; 4];
    r.read_exact(&mut len).ok()?;
    let len = u32::from_be_bytes(len) as usize;
    assert!(len <= 1 << 20, "body longer than 1 MiB");
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(Frame { verb, args, body })
}

fn write_frame(w: &mut impl Write, verb: &str, args: &str, body: &[u8]) {
    let mut out = verb.as_bytes().to_vec();
    if !args.is_empty() {
        out.push(b' ');
        out.extend_from_slice(args.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    w.write_all(&out).unwrap();
}

fn socket_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("decnet-bus-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("bus.sock")
}

fn options(path: &Path) -> BusOptions {
    let mut o = BusOptions::new(BusTarget::parse(&format!("decnet:{}", path.display())).unwrap());
    o.reconnect_min = Duration::from_millis(20);
    o.reconnect_max = Duration::from_millis(200);
    o
}

/// Reads the greeting: HELLO sniffer[<pid>] with an empty body, then the
/// control subscription.
fn expect_greeting(r: &mut impl BufRead) {
    let hello = read_frame(r).expect("HELLO frame");
    assert_eq!(hello.verb, "HELLO");
    assert_eq!(hello.args, format!("sniffer[{}]", std::process::id()));
    assert!(hello.body.is_empty());
    let sub = read_frame(r).expect("SUB frame");
    assert_eq!(
        (sub.verb.as_str(), sub.args.as_str()),
        ("SUB", "system.sniffer.control")
    );
    assert!(sub.body.is_empty());
}

#[test]
fn hello_then_pub_frames_with_valid_envelopes_health_control_and_bye() {
    let path = socket_path("frames");
    let listener = UnixListener::bind(&path).unwrap();
    let mut opts = options(&path);
    opts.health_interval = Duration::from_millis(300);
    let bus = Bus::start(opts).unwrap();

    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    expect_greeting(&mut r);

    let published = vec![
        event(EventKind::SshClientBanner, "decky-01", 1),
        event(EventKind::TcpSynFingerprint, "decky-02", 2),
        event(EventKind::TlsSession, "10.0.0.5", 3),
        event(EventKind::Ipv6LinkLocalLeak, "2001:db8::1", 4),
    ];
    let topics = [
        "decky.decky-01.traffic",
        "decky.decky-02.traffic",
        "decky.10-0-0-5.traffic",
        "decky.2001-db8--1.traffic",
    ];
    bus.publish(&published[0]);
    bus.publish(&event(EventKind::TlsClientHello, "decky-01", 90)); // not on the bus
    bus.publish(&event(EventKind::SshClientBanner, "bad name", 91)); // invalid subject
    bus.publish(&event(EventKind::SshClientBanner, "x*", 92)); // invalid subject
    for ev in &published[1..] {
        bus.publish(ev);
    }

    let mut traffic = Vec::new();
    let mut health = None;
    while traffic.len() < published.len() || health.is_none() {
        let f = read_frame(&mut r).expect("frame");
        assert_eq!(f.verb, "PUB");
        if f.args == "system.sniffer.health" {
            health = Some(f);
        } else {
            traffic.push(f);
        }
    }
    for ((f, ev), topic) in traffic.iter().zip(&published).zip(topics) {
        assert_eq!(f.args, topic);
        check_envelope(&f.body, topic, ev);
    }
    let h: serde_json::Value = serde_json::from_slice(&health.unwrap().body).unwrap();
    assert_eq!(h["type"], "health");
    assert_eq!(h["topic"], "system.sniffer.health");
    assert_eq!(h["payload"]["worker"], "sniffer");
    assert!(h["payload"]["ts"].is_f64());

    assert!(wait_until(Duration::from_secs(5), || bus.stats().published == 4));
    let s = bus.stats();
    assert_eq!(s.rejected_topics, 2);
    assert_eq!(s.dropped, 0);
    assert!(s.connected);

    // Control: the bus server forwards what was published on the control
    // subject as an EVT frame wrapping DECNET's envelope.
    assert!(!bus.stop_requested());
    write_frame(
        &mut writer,
        "EVT",
        "system.sniffer.control",
        br#"{"v":1,"id":"00","topic":"system.sniffer.control","type":"","ts":1.0,"payload":{"action":"start"}}"#,
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(!bus.stop_requested(), "only stop stops");
    write_frame(
        &mut writer,
        "EVT",
        "system.sniffer.control",
        br#"{"v":1,"id":"01","topic":"system.sniffer.control","type":"","ts":1.0,"payload":{"action":"stop"}}"#,
    );
    assert!(wait_until(Duration::from_secs(5), || bus.stop_requested()));

    let t0 = Instant::now();
    bus.shutdown(Duration::from_secs(2));
    assert!(t0.elapsed() < Duration::from_secs(3));
    loop {
        let f = read_frame(&mut r).expect("BYE before end of stream");
        if f.verb == "BYE" {
            assert!(f.body.is_empty());
            break;
        }
        assert_eq!(f.args, "system.sniffer.health");
    }
    assert!(read_frame(&mut r).is_none(), "connection closed after BYE");
}

#[test]
fn shutdown_drains_the_queue_within_the_deadline() {
    let path = socket_path("drain");
    let listener = UnixListener::bind(&path).unwrap();
    let bus = Bus::start(options(&path)).unwrap();
    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut r = BufReader::new(conn);
    expect_greeting(&mut r);
    for n in 0..500 {
        bus.publish(&event(EventKind::TcpFlowTiming, "decky-01", n));
    }
    // The bus server keeps reading while the sniffer shuts down.
    let reader = std::thread::spawn(move || {
        let mut ports = Vec::new();
        loop {
            let f = read_frame(&mut r).expect("frame");
            if f.verb == "BYE" {
                break;
            }
            let v: serde_json::Value = serde_json::from_slice(&f.body).unwrap();
            let port = v["payload"]["src_port"].as_str().unwrap();
            ports.push(port.parse::<u32>().unwrap());
        }
        ports
    });
    bus.shutdown(Duration::from_secs(2));
    let ports = reader.join().unwrap();
    assert_eq!(
        ports,
        (0..500).collect::<Vec<_>>(),
        "all queued events, in order"
    );
}

#[test]
fn peer_that_never_reads_does_not_slow_publish() {
    let path = socket_path("stuck");
    let listener = UnixListener::bind(&path).unwrap();
    let mut opts = options(&path);
    opts.queue_cap = 1000;
    opts.write_timeout = Duration::from_millis(700);
    let bus = Bus::start(opts).unwrap();
    // Accept and hold connections, never reading from them.
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        conns.len()
    });

    let mut lat = Latency::default();
    let big = "x".repeat(4000);
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < Duration::from_secs(3) {
        let mut ev = event(EventKind::HttpRequestFingerprint, "decky-01", n);
        ev.push_text("headers_ordered", &big);
        lat.time(|| bus.publish(&ev));
        n += 1;
        if n % 64 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let s = bus.stats();
    eprintln!(
        "never-reading peer: {n} publish() calls, max {:?}, mean {:?}; stats {s:?}",
        lat.max,
        lat.mean()
    );
    // Generous sanity bound: publish() does no I/O, so only scheduling
    // noise on a loaded machine can make it slow.
    assert!(
        lat.max < Duration::from_millis(500),
        "publish() stalled for {:?}",
        lat.max
    );
    assert!(s.dropped > 0, "the bounded queue absorbed the stall");
    assert!(s.queued <= 1000);
    assert!(s.publish_failures > 0, "stuck writes time out");
    assert_eq!(s.enqueued, u64::from(n));
    let t1 = Instant::now();
    bus.shutdown(Duration::from_millis(200));
    assert!(t1.elapsed() < Duration::from_secs(2), "shutdown is bounded");
    assert!(
        held.join().unwrap() >= 2,
        "timed-out writes led to reconnects"
    );
}

#[test]
fn closed_peer_triggers_reconnect_and_publishing_resumes() {
    let path = socket_path("reconnect");
    let listener = UnixListener::bind(&path).unwrap();
    let bus = Bus::start(options(&path)).unwrap();

    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut r = BufReader::new(conn);
    expect_greeting(&mut r);
    for n in 0..5 {
        bus.publish(&event(EventKind::SshKexFingerprint, "decky-01", n));
    }
    for n in 0..5 {
        let f = read_frame(&mut r).unwrap();
        let v = check_envelope(
            &f.body,
            "decky.decky-01.traffic",
            &event(EventKind::SshKexFingerprint, "decky-01", n),
        );
        assert_eq!(v["payload"]["src_port"], n.to_string());
    }
    drop(r); // the bus server closes the connection

    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut r = BufReader::new(conn);
    expect_greeting(&mut r);
    assert_eq!(bus.stats().reconnects, 1);
    for n in 5..10 {
        bus.publish(&event(EventKind::SshKexFingerprint, "decky-01", n));
    }
    for n in 5..10 {
        let f = read_frame(&mut r).unwrap();
        assert_eq!(f.verb, "PUB");
        check_envelope(
            &f.body,
            "decky.decky-01.traffic",
            &event(EventKind::SshKexFingerprint, "decky-01", n),
        );
    }
    // The counter moves just after the write the peer already read.
    assert!(wait_until(Duration::from_secs(5), || bus.stats().published == 10));
    let s = bus.stats();
    assert_eq!((s.published, s.publish_failures, s.dropped), (10, 0, 0));
    bus.shutdown(Duration::from_secs(1));
}

#[test]
fn bus_absent_at_start_is_reached_later() {
    let path = socket_path("late");
    let mut opts = options(&path);
    opts.queue_cap = 3;
    let bus = Bus::start(opts).unwrap();
    for n in 0..10 {
        bus.publish(&event(EventKind::QuicClientHello, "decky-01", n));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!bus.stats().connected);
    let listener = UnixListener::bind(&path).unwrap();
    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut r = BufReader::new(conn);
    expect_greeting(&mut r);
    // The newest three survived; seven were dropped oldest-first.
    for n in 7..10 {
        let f = read_frame(&mut r).unwrap();
        check_envelope(
            &f.body,
            "decky.decky-01.traffic",
            &event(EventKind::QuicClientHello, "decky-01", n),
        );
    }
    assert!(wait_until(Duration::from_secs(5), || bus.stats().published == 3));
    let s = bus.stats();
    assert_eq!((s.dropped, s.published, s.reconnects), (7, 3, 0));
    bus.shutdown(Duration::from_millis(100));
}

#[test]
fn shutdown_keeps_trying_to_reach_the_bus_until_the_deadline() {
    // `read` can finish before the first connect: the drain must wait for it.
    let path = socket_path("late-drain");
    let bus = Bus::start(options(&path)).unwrap();
    for n in 0..3 {
        bus.publish(&event(EventKind::TcpSynFingerprint, "decky-01", n));
    }
    let stopper = std::thread::spawn(move || bus.shutdown(Duration::from_secs(3)));
    std::thread::sleep(Duration::from_millis(300));
    let listener = UnixListener::bind(&path).unwrap();
    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut r = BufReader::new(conn);
    expect_greeting(&mut r);
    for n in 0..3 {
        let f = read_frame(&mut r).unwrap();
        check_envelope(
            &f.body,
            "decky.decky-01.traffic",
            &event(EventKind::TcpSynFingerprint, "decky-01", n),
        );
    }
    assert_eq!(read_frame(&mut r).unwrap().verb, "BYE");
    let s = stopper.join().unwrap();
    assert_eq!((s.published, s.queued, s.dropped), (3, 0, 0));
}
