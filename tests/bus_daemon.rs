//! `decnet-sniffer run --bus decnet:PATH` in a namespace replica of a DECNET
//! host (tests/netns/replica.sh): a real SYN reaches the test bus as a PUB
//! frame matching the JSON sidecar, and `{"action":"stop"}` on
//! `system.sniffer.control` stops the daemon cleanly (BYE, exit 0). A UNIX
//! socket crosses network namespaces, so the test bus lives outside them.
//! Skips without root.

#[path = "netns/mod.rs"]
mod netns_support;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const ATTACKER_NS: &str = "atk";
const D1: &str = "10.213.0.11";

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .status()
        .is_ok_and(|s| s.success())
}

struct Replica {
    prefix: String,
    dir: PathBuf,
    daemon: Option<Child>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let script = netns_support::script("replica.sh");
        sh(&format!("{} down {}", script.display(), self.prefix));
        let _ = fs::remove_dir_all(&self.dir);
    }
}

type Frames = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn daemon_publishes_to_the_decnet_bus_and_stops_on_control() {
    if let Some(why) = netns_support::skip_reason(&["python3"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let prefix = netns_support::prefix("bd");
    let script = netns_support::script("replica.sh");
    assert!(sh(&format!("{} up {prefix} 3 macvlan", script.display())));
    let dir = std::env::temp_dir().join(format!("bus-daemon-{prefix}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let mut r = Replica {
        prefix: prefix.clone(),
        dir: dir.clone(),
        daemon: None,
    };
    fs::write(
        dir.join("state.json"),
        format!(
            r#"{{"config": {{"interface": "eth0", "deckies": [{{"name": "decky-01", "ip": "{D1}"}}]}}}}"#
        ),
    )
    .unwrap();

    // The test bus: records frames; its writer sends the control event.
    let sock = dir.join("bus.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let frames: Frames = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let peer_frames = Arc::clone(&frames);
    let peer = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        tx.send(conn.try_clone().unwrap()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut r = BufReader::new(conn);
        loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                break;
            }
            assert!(line.len() <= 4096);
            let line = String::from_utf8(line).unwrap().trim_end().to_string();
            let mut len = [0u8; 4];
            r.read_exact(&mut len).unwrap();
            let len = u32::from_be_bytes(len) as usize;
            assert!(len <= 1 << 20);
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).unwrap();
            let bye = line == "BYE";
            peer_frames.lock().unwrap().push((line, body));
            if bye {
                break;
            }
        }
    });

    let stderr = dir.join("daemon.stderr");
    let child = Command::new("ip")
        .args(["netns", "exec", &format!("{prefix}-host")])
        .arg(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .arg("run")
        .arg("--state")
        .arg(dir.join("state.json"))
        .arg("--log")
        .arg(dir.join("decnet.log"))
        .args(["--dedup-ttl", "0"])
        .arg("--bus")
        .arg(format!("decnet:{}", sock.display()))
        .env("DECNET_SNIFFER_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    r.daemon = Some(child);
    let log = || fs::read_to_string(&stderr).unwrap_or_default();
    wait_for("the capture", Duration::from_secs(20), || {
        log().contains("capturing on")
    });
    let mut writer = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("daemon connects to the bus");

    // A SYN from the attacker to decky-01.
    let knock = format!(
        "import socket\ns=socket.socket();s.settimeout(2)\ntry: s.connect(('{D1}',22))\nexcept OSError: pass"
    );
    assert!(sh(&format!(
        "ip netns exec {prefix}-{ATTACKER_NS} python3 -c \"{knock}\""
    )));
    let is_syn = |(line, body): &(String, Vec<u8>)| {
        line == "PUB decky.decky-01.traffic"
            && serde_json::from_slice::<Value>(body)
                .is_ok_and(|v| v["type"] == "tcp_syn_fingerprint")
    };
    wait_for("the SYN on the bus", Duration::from_secs(15), || {
        frames.lock().unwrap().iter().any(is_syn)
    });

    // The event on the bus is the one in the JSON sidecar.
    let records: Vec<Value> = fs::read_to_string(dir.join("decnet.json"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let syn_record = records
        .iter()
        .find(|r| r["event_type"] == "tcp_syn_fingerprint" && r["fields"]["dst_port"] == "22")
        .expect("SYN in the JSON sidecar");
    let published: Value = {
        let f = frames.lock().unwrap();
        let (_, body) = f.iter().find(|f| is_syn(f)).unwrap();
        serde_json::from_slice(body).unwrap()
    };
    assert_eq!(published["payload"], syn_record["fields"]);
    assert_eq!(published["v"], 1);

    // Stop through the control subject, as DECNET's bus delivers it.
    let body = br#"{"v":1,"id":"0f","topic":"system.sniffer.control","type":"","ts":1.0,"payload":{"action":"stop","requested_by":"test"}}"#;
    let mut frame = b"EVT system.sniffer.control\n".to_vec();
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    writer.write_all(&frame).unwrap();
    let child = r.daemon.as_mut().unwrap();
    let end = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < end,
            "daemon ignored the stop request:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    r.daemon = None;
    assert!(status.success(), "{status:?}\n{}", log());
    assert!(log().contains("stop requested"), "{}", log());
    peer.join().unwrap();
    let f = frames.lock().unwrap();
    assert!(f[0].0.starts_with("HELLO sniffer["), "{:?}", f[0].0);
    assert_eq!(f[1].0, "SUB system.sniffer.control");
    assert_eq!(f.last().unwrap().0, "BYE");
}

/// `run` reads DECNET's bus variables through the bus module:
/// `DECNET_BUS_TYPE=nats` with `DECNET_BUS_URL` selects that NATS server
/// (nothing listens there: the daemon queues and retries), and an unknown
/// `DECNET_BUS_TYPE` is a configuration error. Captures on the loopback of a
/// namespace of its own.
#[test]
fn daemon_honours_decnet_bus_type_and_url() {
    if let Some(why) = netns_support::skip_reason(&[]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let ns = netns_support::prefix("bt");
    assert!(sh(&format!(
        "ip netns add {ns} && ip netns exec {ns} ip link set lo up"
    )));
    let dir = std::env::temp_dir().join(format!("bus-type-{ns}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let run = |bus_type: &str| {
        let stderr = dir.join(format!("{bus_type}.stderr"));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(env!("CARGO_BIN_EXE_decnet-sniffer"))
            .args(["run", "--iface", "lo", "--decky", "d1=127.0.0.1"])
            .arg("--state")
            .arg(dir.join("absent-state.json"))
            .arg("--log")
            .arg(dir.join(format!("{bus_type}.log")))
            .env("DECNET_BUS_TYPE", bus_type)
            .env("DECNET_BUS_URL", "nats://127.0.0.1:14222")
            .env("DECNET_SNIFFER_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        (child, stderr)
    };
    let (mut child, stderr) = run("nats");
    let log = || fs::read_to_string(&stderr).unwrap_or_default();
    let end = Instant::now() + Duration::from_secs(20);
    while !log().contains("capturing on") && child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "{}", log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = log();
    assert!(
        text.contains("publishing traffic events to Nats") && text.contains("127.0.0.1:14222"),
        "{text}"
    );
    let (mut child, stderr) = run("amqp");
    let status = child.wait().unwrap();
    let text = fs::read_to_string(&stderr).unwrap_or_default();
    assert!(!status.success(), "{text}");
    assert!(text.contains("DECNET_BUS_TYPE"), "{text}");
    sh(&format!("ip netns del {ns}"));
    let _ = fs::remove_dir_all(&dir);
}
