//! LiveCapture on a real interface, inside network namespaces the test makes:
//!
//!   PREFIX-a: v0 10.214.0.1  <--veth-->  PREFIX-b: v1 10.214.0.2 (captured)
//!
//! Each test re-runs itself inside PREFIX-b (`ip netns exec`), so the capture
//! sees that namespace's interfaces and sysfs; traffic comes from PREFIX-a.

#[path = "netns/mod.rs"]
mod netns_support;

use std::process::Command;
use std::time::{Duration, Instant};

use decnet_sniffer::capture::live::{CaptureError, LiveCapture, LiveOptions};

const CHILD_ENV: &str = "LIVE_CAPTURE_CHILD_NS";

/// Runs `name` inside a fresh pair of namespaces, or, when already inside,
/// returns the sender namespace's name for the test body to use.
fn in_namespaces(name: &str) -> Option<String> {
    if let Ok(sender) = std::env::var(CHILD_ENV) {
        return Some(sender);
    }
    if let Some(why) = netns_support::skip_reason(&["python3"]) {
        eprintln!("SKIPPED: {why}");
        return None;
    }
    let p = netns_support::prefix("lc");
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    let sh = |cmd: &str| {
        let ok = Command::new("sh")
            .args(["-c", cmd])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "failed: {cmd}");
    };
    let cleanup = format!("ip netns del {a} 2>/dev/null; ip netns del {b} 2>/dev/null; true");
    sh(&cleanup);
    sh(&format!(
        "ip netns add {a} && ip netns add {b} && ip link add {p}x type veth peer name {p}y && \
         ip link set {p}x netns {a} && ip link set {p}y netns {b} && \
         ip -n {a} link set {p}x name v0 && ip -n {b} link set {p}y name v1 && \
         ip -n {a} addr add 10.214.0.1/24 dev v0 && ip -n {b} addr add 10.214.0.2/24 dev v1 && \
         ip -n {a} link set v0 up && ip -n {b} link set v1 up && \
         ip -n {a} link set lo up && ip -n {b} link set lo up"
    ));
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &b])
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &a)
        .output();
    sh(&cleanup);
    // The inner run's report stays inside this test's output, shown on failure.
    let out = out.unwrap();
    if !out.status.success() {
        eprintln!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        panic!("{name} failed inside its namespace");
    }
    None
}

/// Sends from the sender namespace: a TCP SYN to port 80 (answered by RST),
/// a UDP datagram to 9999 (not in the default filter) and one to 443.
fn send_probe(sender: &str) {
    let script = r#"
import socket
s = socket.socket(); s.settimeout(1)
try: s.connect(("10.214.0.2", 80))
except OSError: pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"not quic", ("10.214.0.2", 9999))
u.sendto(b"\xc0\x00\x00\x00\x01" + b"\x00" * 40, ("10.214.0.2", 443))
"#;
    let ok = Command::new("ip")
        .args(["netns", "exec", sender, "python3", "-c", script])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "probe failed");
}

fn udp_dst_port(frame: &[u8]) -> Option<u16> {
    // Ethernet (14) + IPv4 without options (20) + UDP
    (frame.get(23) == Some(&17)).then(|| u16::from_be_bytes([frame[36], frame[37]]))
}

#[test]
fn silent_link_returns_within_the_timeout_then_filtered_traffic_arrives() {
    let Some(sender) =
        in_namespaces("silent_link_returns_within_the_timeout_then_filtered_traffic_arrives")
    else {
        return;
    };
    let mut cap = LiveCapture::open("v1", &LiveOptions::default()).expect("open v1");
    assert_eq!(cap.linktype(), 1);
    // Nothing on the wire: the call must come back (TPACKET_V3 blocking reads may not).
    let start = Instant::now();
    let mut quiet = 0;
    while start.elapsed() < Duration::from_millis(300) {
        quiet += cap.next_batch(Duration::from_millis(100), |_| {}).unwrap();
    }
    assert!(start.elapsed() < Duration::from_millis(600));
    // IPv6 autoconfiguration may chatter; nothing else should.
    eprintln!("frames while quiet: {quiet}");

    let wall_before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    send_probe(&sender);
    let (mut syn, mut udp443, mut udp9999, mut stamps) = (0, 0, 0, Vec::new());
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && (syn == 0 || udp443 == 0) {
        cap.next_batch(Duration::from_millis(100), |p| {
            stamps.push(p.ts);
            assert_eq!(p.data.len() as u32, p.orig_len);
            if p.data.get(23) == Some(&6) && p.data.get(47).is_some_and(|f| f & 0x12 == 0x02) {
                syn += 1;
            }
            match udp_dst_port(p.data) {
                Some(443) => udp443 += 1,
                Some(9999) => udp9999 += 1,
                _ => {}
            }
        })
        .unwrap();
    }
    assert!(syn >= 1, "no SYN captured");
    assert_eq!(udp443, 1, "UDP 443 (QUIC-like) not captured");
    assert_eq!(udp9999, 0, "the default filter let UDP 9999 through");
    // Timestamps are packet times with sub-microsecond precision available.
    let first = stamps[0];
    assert!(
        (first.secs - wall_before.as_secs() as i64).abs() <= 2,
        "{first:?}"
    );
    let stats = cap.stats();
    assert!(stats.received >= 2 && stats.dropped == 0, "{stats:?}");
}

#[test]
fn deleted_interface_is_a_fatal_error_naming_it() {
    let Some(_sender) = in_namespaces("deleted_interface_is_a_fatal_error_naming_it") else {
        return;
    };
    let mut cap = LiveCapture::open("v1", &LiveOptions::default()).expect("open v1");
    cap.next_batch(Duration::from_millis(50), |_| {}).unwrap();
    assert!(Command::new("ip")
        .args(["link", "del", "v1"])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(3);
    let err = loop {
        match cap.next_batch(Duration::from_millis(100), |_| {}) {
            Err(e) => break e,
            Ok(_) => assert!(
                Instant::now() < deadline,
                "no error after deleting the interface"
            ),
        }
    };
    eprintln!("error: {err}");
    assert!(
        matches!(err, CaptureError::InterfaceGone { ref iface, .. } if iface == "v1"),
        "{err:?}"
    );
    // Opening it again reports the missing interface, which --wait-iface retries.
    let again = LiveCapture::open("v1", &LiveOptions::default()).unwrap_err();
    assert!(again.is_missing_interface(), "{again:?}");
}

/// 20,000 SYNs sent as fast as the sender can, while nobody reads.
fn syn_flood(sender: &str) {
    let script = r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(20000):
    tcp = struct.pack("!HHIIBBHHH", 1024 + i % 60000, 80, i, 0, 5 << 4, 2, 1024, 0, 0)
    s.sendto(tcp, ("10.214.0.2", 0))
"#;
    let ok = Command::new("ip")
        .args(["netns", "exec", sender, "python3", "-c", script])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "flood failed");
}

#[test]
fn a_tiny_ring_overrun_shows_up_as_kernel_drops() {
    let Some(sender) = in_namespaces("a_tiny_ring_overrun_shows_up_as_kernel_drops") else {
        return;
    };
    let opts = LiveOptions {
        buffer_size: 64 << 10,
        ..LiveOptions::default()
    };
    let mut cap = LiveCapture::open("v1", &opts).expect("open v1");
    syn_flood(&sender);
    let mut seen = 0;
    while cap
        .next_batch(Duration::from_millis(200), |_| seen += 1)
        .unwrap()
        > 0
    {}
    let stats = cap.stats();
    eprintln!("seen {seen}, kernel {stats:?}");
    assert!(
        stats.dropped > 0,
        "a 64 KiB ring kept all 20,000 frames: {stats:?}"
    );
    assert!(seen > 0);
}

#[test]
fn the_default_ring_holds_a_burst_nobody_reads() {
    let Some(sender) = in_namespaces("the_default_ring_holds_a_burst_nobody_reads") else {
        return;
    };
    let mut cap = LiveCapture::open("v1", &LiveOptions::default()).expect("open v1");
    syn_flood(&sender);
    let mut syns = 0;
    while cap
        .next_batch(Duration::from_millis(300), |p| {
            syns += usize::from(p.data.get(23) == Some(&6) && p.data.get(36..38) == Some(&[0, 80]));
        })
        .unwrap()
        > 0
    {}
    let stats = cap.stats();
    assert_eq!((syns, stats.dropped), (20_000, 0), "{stats:?}");
}
