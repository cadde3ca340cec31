//! Issue 18, "tests that count": each evasion is played for real against
//! a decky's kernel in a network namespace, with servers that log what
//! they really received (the ClientHello's server name, the request's
//! User-Agent), and the sensor's `read` of a tcpdump capture of the same
//! packets must report exactly that. The attacker (scapy, in its own
//! namespace) opens real connections and sends its first bytes the evasive
//! way: a decoy with a broken TCP checksum then the real bytes at the same
//! sequence numbers (insertion), the SYN and the ClientHello in IP
//! fragments, the ClientHello in shuffled 1-byte segments or even bytes
//! then odd bytes; and an IP-in-IP packet to the decky forging "decky
//! calls a C2 host", which must give no outbound event.

#[path = "netns/mod.rs"]
mod netns_support;
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's interpreter, where `python3-scapy` lives (a `python3` earlier
/// on PATH, such as a pyenv shim, may not see it).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The attacker's namespace `PREFIX-a` (10.233.0.1 on PREFIXx, sending as
/// the unconfigured 10.233.0.3 so that its kernel ignores the replies)
/// and the decky's `PREFIX-b` (10.233.0.2 on PREFIXy). Removed on drop,
/// with the processes started in them.
struct Pair {
    p: String,
    a: String,
    b: String,
    children: Vec<Child>,
}

const ATTACKER: &str = "10.233.0.3";
const DECKY: &str = "10.233.0.2";
const MAC_A: &str = "02:00:00:33:00:01";
const MAC_B: &str = "02:00:00:33:00:02";

impl Pair {
    fn new(tag: &str) -> Pair {
        let p = netns_support::prefix(tag);
        let (a, b) = (format!("{p}-a"), format!("{p}-b"));
        sh(&format!(
            "ip netns add {a} && ip netns add {b} && \
             ip link add {p}x netns {a} type veth peer name {p}y netns {b} && \
             ip -n {a} link set {p}x address {MAC_A} up && \
             ip -n {b} link set {p}y address {MAC_B} up && \
             ip -n {a} addr add 10.233.0.1/24 dev {p}x && \
             ip -n {b} addr add {DECKY}/24 dev {p}y && \
             ip -n {b} neigh add {ATTACKER} lladdr {MAC_A} dev {p}y && \
             ip -n {a} link set lo up && ip -n {b} link set lo up && \
             ip netns exec {b} sysctl -qw net.ipv4.tcp_rmem='4096 1048576 4194304'"
        ));
        Pair {
            p,
            a,
            b,
            children: Vec::new(),
        }
    }

    fn spawn_in_b(&mut self, args: &[&str], stderr: &Path) {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.b])
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(stderr).unwrap())
            .spawn()
            .unwrap();
        self.children.push(child);
    }

    fn stop_last(&mut self) {
        if let Some(mut c) = self.children.pop() {
            // SIGTERM so that tcpdump flushes its file.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The values of `field` in the log's lines of event `kind`, in order.
fn values(log: &str, kind: &str, field: &str) -> Vec<String> {
    let key = format!(" {field}=\"");
    log.lines()
        .filter(|l| l.contains(&format!(" {kind} ")) || l.contains(&format!("{kind} - ")))
        .filter_map(|l| {
            let at = l.find(&key)? + key.len();
            let end = l[at..].find('"')?;
            Some(l[at..at + end].to_string())
        })
        .collect()
}

struct Case {
    name: &'static str,
    /// What the server must have logged (also what the sensor must report).
    expect: Option<&'static str>,
}

const CASES: [Case; 6] = [
    Case {
        name: "tls-insertion",
        expect: Some("sni attacker.example"),
    },
    Case {
        name: "http-insertion",
        expect: Some("ua attacker-agent/6.6"),
    },
    Case {
        name: "tls-fragments",
        expect: Some("sni fragments.example"),
    },
    Case {
        name: "tls-shuffled",
        expect: Some("sni shuffled.example"),
    },
    Case {
        name: "tls-even-odd",
        expect: Some("sni even-odd.example"),
    },
    Case {
        name: "tunnel",
        expect: None,
    },
];

fn scapy_missing() -> bool {
    !Command::new(python())
        .args(["-c", "import scapy.all"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn sensor_reports_what_the_decky_received() {
    if let Some(why) = netns_support::skip_reason(&["tcpdump", "openssl", "sysctl"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    if scapy_missing() {
        eprintln!("SKIPPED: python3-scapy is not installed");
        return;
    }
    let dir = support::scratch("evasion-received");
    let (cert, key, server_log) = (dir.join("cert"), dir.join("key"), dir.join("server.log"));
    sh(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=decky -days 1 \
         -keyout {} -out {} 2>/dev/null",
        key.display(),
        cert.display()
    ));
    let mut pair = Pair::new("er");
    let (p, a, b) = (pair.p.clone(), pair.a.clone(), pair.b.clone());
    let server = netns_support::script("evasion_server.py");
    pair.spawn_in_b(
        &[
            python(),
            server.to_str().unwrap(),
            server_log.to_str().unwrap(),
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
        ],
        &dir.join("server.stderr"),
    );
    wait_for("the servers listen", || {
        let out = Command::new("ip")
            .args(["netns", "exec", &b, "ss", "-ltnH"])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        s.contains(":443 ") && s.contains(":80 ")
    });
    let client = netns_support::script("evasion_client.py");
    let mut failures = Vec::new();
    for case in &CASES {
        let pcap = dir.join(format!("{}.pcap", case.name));
        let dump_err = dir.join(format!("{}.tcpdump", case.name));
        let iface = format!("{p}y");
        pair.spawn_in_b(
            &[
                "tcpdump",
                "-U",
                "--immediate-mode",
                "-B",
                "16384",
                "-n",
                "-s0",
                "-i",
                &iface,
                "-w",
                pcap.to_str().unwrap(),
            ],
            &dump_err,
        );
        wait_for("tcpdump starts", || {
            std::fs::read_to_string(&dump_err).is_ok_and(|s| s.contains("listening on"))
        });
        let _ = std::fs::remove_file(&server_log);
        sh(&format!(
            "ip netns exec {a} {} {} {p}x {MAC_B} {ATTACKER} {DECKY} {}",
            python(),
            client.display(),
            case.name
        ));
        // The server logs as soon as its kernel delivers the bytes.
        let deadline = Instant::now() + Duration::from_secs(3);
        while case.expect.is_some() && !server_log.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        pair.stop_last();
        // What tcpdump missed the sensor cannot report: not a finding.
        let dump_stats = std::fs::read_to_string(&dump_err).unwrap_or_default();
        assert!(
            dump_stats
                .lines()
                .any(|l| l == "0 packets dropped by kernel"),
            "{}: the capture is incomplete: {dump_stats}",
            case.name
        );
        let received: Vec<String> = std::fs::read_to_string(&server_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        // `read` appends to its log.
        let _ = std::fs::remove_file(dir.join("out.log"));
        let run = support::read_child(&dir, &pcap, &["--decky", &format!("decky={DECKY}")]);
        assert_eq!(run.status, 0, "{}", run.stderr);
        let log = String::from_utf8_lossy(&run.log).into_owned();
        let mut reported: Vec<String> = values(&log, "tls_client_hello", "sni")
            .into_iter()
            .map(|v| format!("sni {v}"))
            .collect();
        reported.extend(
            values(&log, "http_request_fingerprint", "user_agent")
                .into_iter()
                .map(|v| format!("ua {v}")),
        );
        let outbound = log
            .lines()
            .filter(|l| l.contains("direction=\"outbound\""))
            .count();
        eprintln!(
            "{}: server received {received:?}, sensor reported {reported:?}, \
             {outbound} outbound events",
            case.name
        );
        if case.name == "tunnel" {
            // The forgery is in the capture: decapsulated regardless of
            // the deckies, it reads as the decky calling the C2 host.
            let _ = std::fs::remove_file(dir.join("out.log"));
            let forced = support::read_child(
                &dir,
                &pcap,
                &["--decky", &format!("decky={DECKY}"), "--decap", "always"],
            );
            let forced_log = String::from_utf8_lossy(&forced.log).into_owned();
            assert!(
                values(&forced_log, "tls_client_hello", "sni") == ["c2.example"]
                    && forced_log.contains("direction=\"outbound\""),
                "the tunnel case did not capture its forgery:\n{forced_log}"
            );
        }
        let expected: Vec<String> = case.expect.iter().map(|s| s.to_string()).collect();
        if received != expected {
            failures.push(format!(
                "{}: the decky received {received:?}, the case meant {expected:?}",
                case.name
            ));
        }
        if reported != received || outbound != 0 {
            failures.push(format!(
                "{}: the decky received {received:?}, the sensor reported {reported:?} \
                 and {outbound} outbound events\n{log}",
                case.name
            ));
        }
    }
    drop(pair);
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
