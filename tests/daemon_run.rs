//! `decnet-sniffer run` against a namespace replica of a DECNET host
//! (tests/netns/replica.sh): three deckies on macvlan children of the host's
//! parent NIC, an attacker namespace beyond it, real clients and servers.
//! Each test builds its own replica and removes it; all skip without root.

#[path = "netns/mod.rs"]
mod netns_support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ATTACKER: &str = "10.213.0.66";
const D1: &str = "10.213.0.11";
const D2: &str = "10.213.0.12";
const D3: &str = "10.213.0.13";

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .status()
        .is_ok_and(|s| s.success())
}

fn have(tool: &str) -> bool {
    sh(&format!("command -v {tool} >/dev/null 2>&1"))
}

/// The replica and a scratch directory; both removed on drop.
struct Replica {
    prefix: String,
    dir: PathBuf,
    /// Servers and clients started in the namespaces, ended on drop.
    background: std::cell::RefCell<Vec<Child>>,
}

impl Replica {
    fn up(tag: &str) -> Option<Replica> {
        if let Some(why) = netns_support::skip_reason(&["python3"]) {
            eprintln!("SKIPPED: {why}");
            return None;
        }
        let prefix = netns_support::prefix(tag);
        let script = netns_support::script("replica.sh");
        assert!(
            sh(&format!("{} up {prefix} 3 macvlan", script.display())),
            "replica up"
        );
        let dir = std::env::temp_dir().join(format!("daemon-run-{prefix}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // --user tests write here as an unprivileged user.
        sh(&format!("chmod 0777 {}", dir.display()));
        Some(Replica {
            prefix,
            dir,
            background: Default::default(),
        })
    }

    fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    /// Runs a shell command inside namespace `node` (host, atk, d1, d2, d3).
    fn exec(&self, node: &str, cmd: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(node), "sh", "-c", cmd])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts a command inside `node` in the background until the replica goes.
    fn background(&self, node: &str, cmd: &str) {
        let child = self.spawn(node, cmd);
        self.background.borrow_mut().push(child);
    }

    /// Starts a command inside `node`; the caller waits for it.
    fn spawn(&self, node: &str, cmd: &str) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(node), "sh", "-c", cmd])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write_state(&self, deckies: &[(&str, &str)]) {
        self.write_state_on("eth0", deckies);
    }

    /// A state file whose `config.interface` is `iface`.
    fn write_state_on(&self, iface: &str, deckies: &[(&str, &str)]) {
        let list: Vec<String> = deckies
            .iter()
            .map(|(n, ip)| format!(r#"{{"name": "{n}", "ip": "{ip}", "services": ["ssh"]}}"#))
            .collect();
        let text = format!(
            r#"{{"config": {{"interface": "{iface}", "deckies": [{}], "log_target": "x"}}, "compose_path": "/x"}}"#,
            list.join(", ")
        );
        // Atomic replace, as DECNET's writer does.
        let tmp = self.path("state.json.tmp");
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, self.path("state.json")).unwrap();
    }

    /// Starts the daemon in the host namespace with `--state`, `--log` and
    /// `--dedup-ttl 0` (every event is written) plus `extra`.
    fn daemon(&self, extra: &[&str]) -> Daemon {
        self.daemon_as(&[], extra)
    }

    fn daemon_as(&self, wrapper: &[&str], extra: &[&str]) -> Daemon {
        let stderr = self.path("daemon.stderr");
        let state = self.path("state.json");
        let log = self.path("decnet.log");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns("host")])
            .args(wrapper)
            .arg(env!("CARGO_BIN_EXE_decnet-sniffer"))
            .arg("run")
            .arg("--state")
            .arg(&state)
            .arg("--log")
            .arg(&log)
            .args(["--dedup-ttl", "0"])
            .args(extra)
            .env("DECNET_SNIFFER_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap());
        let child = cmd.spawn().unwrap();
        let d = Daemon {
            child: Some(child),
            stderr,
        };
        d.wait_for_log("capturing on", Duration::from_secs(20));
        d
    }

    fn events(&self) -> Vec<Value> {
        events_in(&self.path("decnet.json"))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        for mut c in self.background.borrow_mut().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        let script = netns_support::script("replica.sh");
        sh(&format!("{} down {}", script.display(), self.prefix));
        if std::env::var_os("KEEP_DAEMON_TEST_DIR").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn events_in(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

struct Daemon {
    child: Option<Child>,
    stderr: PathBuf,
}

impl Daemon {
    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(&self.stderr) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "daemon never logged {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: &str) {
        assert!(sh(&format!("kill -{sig} {}", self.pid())));
    }

    /// Waits for the daemon to exit by itself.
    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return st;
            }
            assert!(Instant::now() < deadline, "daemon did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait(Duration::from_secs(10))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn field<'a>(ev: &'a Value, name: &str) -> &'a str {
    ev["fields"][name].as_str().unwrap_or("")
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

/// A TCP connection attempt from `node` to `dst:port`, refused or not.
fn knock(r: &Replica, node: &str, dst: &str, port: u16) {
    let py = format!(
        "import socket\ns=socket.socket();s.settimeout(2)\ntry: s.connect(('{dst}',{port}))\nexcept OSError: pass"
    );
    assert!(r.exec(node, &format!("python3 -c \"{py}\"")));
}

/// Waits until events satisfying `pred` are in the JSON output.
fn wait_for_events(r: &Replica, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let evs = r.events();
        if pred(&evs) {
            return evs;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what}; events: {evs:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn syn_to(dst: &'static str, port: u16) -> impl Fn(&[Value]) -> bool {
    move |evs| {
        of_type(evs, "tcp_syn_fingerprint")
            .iter()
            .any(|e| field(e, "dst_ip") == dst && field(e, "dst_port") == port.to_string())
    }
}

const THREE: [(&str, &str); 3] = [("decky-01", D1), ("decky-02", D2), ("decky-03", D3)];

#[test]
fn real_clients_and_a_scan_are_attributed_to_the_right_decky() {
    let Some(r) = Replica::up("dr") else { return };
    r.write_state(&THREE);
    // decky-01: a TLS server; decky-02: OpenSSH; decky-03: scanned; the attacker runs a web server.
    let tls = have("openssl") && have("curl");
    if tls {
        let (key, cert) = (r.path("key.pem"), r.path("cert.pem"));
        assert!(sh(&format!(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
             -subj /CN=decky-01 -keyout {} -out {} 2>/dev/null",
            key.display(),
            cert.display()
        )));
        r.background(
            "d1",
            &format!(
                "openssl s_server -quiet -accept 443 -www -cert {} -key {}",
                cert.display(),
                key.display()
            ),
        );
    } else {
        eprintln!("openssl or curl missing: no TLS clients in this run");
    }
    let ssh = Path::new("/usr/sbin/sshd").exists() && have("ssh") && have("ssh-keygen");
    if ssh {
        let key = r.path("ssh_host_ed25519_key");
        assert!(sh(&format!(
            "ssh-keygen -q -t ed25519 -N '' -f {}",
            key.display()
        )));
        let conf = r.path("sshd_config");
        fs::write(
            &conf,
            format!(
                "Port 22\nListenAddress {D2}\nHostKey {}\nPidFile {}\nUsePAM no\nPasswordAuthentication no\n",
                key.display(),
                r.path("sshd.pid").display()
            ),
        )
        .unwrap();
        sh("mkdir -p /run/sshd");
        r.background("d2", &format!("/usr/sbin/sshd -D -e -f {}", conf.display()));
    } else {
        eprintln!("openssh-server or client missing: no SSH login attempt in this run");
    }
    r.background("atk", "python3 -m http.server 8080 --bind 10.213.0.66");
    r.background("d2", "python3 -m http.server 8080 --bind 10.213.0.12");
    std::thread::sleep(Duration::from_millis(500));

    let mut d = r.daemon(&[]);
    if tls {
        assert!(r.exec(
            "atk",
            &format!("curl -sk --max-time 5 https://{D1}/ >/dev/null")
        ));
        assert!(r.exec(
            "atk",
            &format!("echo | openssl s_client -connect {D1}:443 -servername decky-01.example >/dev/null 2>&1")
        ));
    }
    if ssh {
        // Fails at authentication, after the banner and key exchange.
        r.exec(
            "atk",
            &format!(
                "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
                 -o ConnectTimeout=5 attacker@{D2} true 2>/dev/null"
            ),
        );
    }
    let nmap = have("nmap");
    if nmap {
        assert!(r.exec(
            "atk",
            &format!("nmap -n -sS -Pn -p 20-30,80,443 {D3} >/dev/null")
        ));
    } else {
        knock(&r, "atk", D3, 80);
    }
    // An implant on decky-01 calls home; decky-01 talks to decky-02.
    assert!(r.exec("d1", &format!("python3 -c \"import urllib.request as u; u.urlopen('http://{ATTACKER}:8080/', timeout=5).read()\"")));
    assert!(r.exec("d1", &format!("python3 -c \"import urllib.request as u; u.urlopen('http://{D2}:8080/', timeout=5).read()\"")));

    let evs = wait_for_events(&r, "the scan of decky-03", syn_to(D3, 443));
    let status = d.stop();
    assert!(status.success(), "exit {status:?}\n{}", d.log());
    let evs = if evs.len() < r.events().len() {
        r.events()
    } else {
        evs
    };

    let syns = of_type(&evs, "tcp_syn_fingerprint");
    let decky_of = |ev: &Value| ev["decky"].as_str().unwrap_or("").to_owned();
    for e in &syns {
        let expected = match field(e, "dst_ip") {
            D1 => "decky-01",
            D2 => "decky-02",
            D3 => "decky-03",
            other => panic!("SYN fingerprint of a connection to {other}"),
        };
        assert_eq!(decky_of(e), expected, "{e}");
    }
    let scan: Vec<_> = syns.iter().filter(|e| field(e, "dst_ip") == D3).collect();
    assert!(
        scan.len() >= 13,
        "nmap probed 13 ports of decky-03, {} SYN events",
        scan.len()
    );
    assert!(scan
        .iter()
        .all(|e| field(e, "src_ip") == ATTACKER && field(e, "direction") == "inbound"));

    let timing = of_type(&evs, "tcp_flow_timing");
    let flow = |dst: &str, port: &str| {
        timing
            .iter()
            .find(|e| field(e, "dst_ip") == dst && field(e, "dst_port") == port)
    };
    if tls {
        let f = flow(D1, "443").expect("tcp_flow_timing of the TLS connections");
        assert_eq!(
            (decky_of(f).as_str(), field(f, "direction")),
            ("decky-01", "inbound")
        );
    }
    if ssh {
        let f = flow(D2, "22").expect("tcp_flow_timing of the SSH attempt");
        assert_eq!(decky_of(f), "decky-02");
    }
    let out = flow(ATTACKER, "8080").expect("tcp_flow_timing of the implant's call home");
    assert_eq!(
        (
            decky_of(out).as_str(),
            field(out, "direction"),
            field(out, "src_ip")
        ),
        ("decky-01", "outbound", D1)
    );
    // Decky to decky: the server's decky, direction internal.
    let internal = flow(D2, "8080").expect("tcp_flow_timing of decky-01 -> decky-02");
    assert_eq!(
        (
            decky_of(internal).as_str(),
            field(internal, "direction"),
            field(internal, "src_ip")
        ),
        ("decky-02", "internal", D1)
    );
    // SYN fingerprints describe attackers' stacks: none for the deckies' own connections.
    assert!(!syns.iter().any(|e| field(e, "src_ip") == D1), "{syns:#?}");

    // Protocol events, for the analyzers this build has.
    for e in evs.iter().filter(|e| {
        e["event_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("tls_"))
    }) {
        assert_eq!(
            (decky_of(e).as_str(), field(e, "src_ip")),
            ("decky-01", ATTACKER),
            "{e}"
        );
    }
    for e in evs.iter().filter(|e| {
        e["event_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("ssh_"))
    }) {
        assert_eq!(
            (decky_of(e).as_str(), field(e, "src_ip")),
            ("decky-02", ATTACKER),
            "{e}"
        );
    }
    let kinds: std::collections::BTreeSet<&str> = evs
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    eprintln!("event types seen: {kinds:?}");
    // The RFC 5424 log has the same events, in the same order.
    let lines = fs::read_to_string(r.path("decnet.log")).unwrap();
    let raw: Vec<&str> = evs.iter().filter_map(|e| e["raw_line"].as_str()).collect();
    assert_eq!(lines.lines().collect::<Vec<_>>(), raw);
}

#[test]
fn state_file_rewrites_apply_without_restart() {
    let Some(r) = Replica::up("ds") else { return };
    r.write_state(&THREE[..2]);
    let d = r.daemon(&[]);
    knock(&r, "atk", D3, 81);
    knock(&r, "atk", D1, 81);
    wait_for_events(&r, "decky-01's SYN", syn_to(D1, 81));
    assert!(
        !syn_to(D3, 81)(&r.events()),
        "decky-03 is not in the state file yet"
    );

    // decky-03 deployed, decky-01 torn down.
    r.write_state(&[THREE[1], THREE[2]]);
    d.wait_for_log("decky map now", Duration::from_secs(5));
    knock(&r, "atk", D3, 82);
    knock(&r, "atk", D1, 82);
    let evs = wait_for_events(&r, "decky-03's SYN", syn_to(D3, 82));
    let e = of_type(&evs, "tcp_syn_fingerprint")
        .into_iter()
        .find(|e| field(e, "dst_port") == "82")
        .unwrap()
        .clone();
    assert_eq!(e["decky"], "decky-03");

    // A torn write: the last good map stays, and the log says why.
    fs::write(
        r.path("state.json"),
        r#"{"config": {"interface": "eth0", "deckies": [{"name": "decky-0"#,
    )
    .unwrap();
    d.wait_for_log("state file not applied", Duration::from_secs(5));
    knock(&r, "atk", D3, 83);
    wait_for_events(&r, "decky-03's SYN after the bad write", syn_to(D3, 83));
    // decky-01 stayed out all along.
    assert!(!r
        .events()
        .iter()
        .any(|e| field(e, "dst_ip") == D1 && field(e, "dst_port") != "81"));
    assert!(d.log().contains("line 1, column"), "{}", d.log());
    drop(d);
}

/// `--workers 2`: events still arrive on a slow link (a few SYNs), the
/// state file still applies, and SIGTERM still reports the open
/// connection, now from the worker threads.
/// `on_iface` names the interface the daemon captures on (here `--iface
/// eth0`), not the state file's `config.interface`; with and without workers
/// (the router keeps the leak tables then).
#[test]
fn link_local_leaks_name_the_capture_interface() {
    let Some(r) = Replica::up("ll") else { return };
    r.write_state_on("eth9", &THREE);
    for workers in ["1", "2"] {
        let _ = fs::remove_file(r.path("decnet.json"));
        let mut d = r.daemon(&["--iface", "eth0", "--workers", workers]);
        // decky-01 answers over IPv4 (its MAC is learnt); its own
        // link-local packets (DAD, router solicitations) are no leak. The
        // attacker then sends to decky-01's link-local address: a leak.
        knock(&r, "atk", D1, 81);
        wait_for_events(&r, "decky-01's SYN", syn_to(D1, 81));
        // Both link-local addresses usable (DAD done), then send.
        let deadline = Instant::now() + Duration::from_secs(30);
        let d1_ll = loop {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &r.ns("d1"),
                    "ip",
                    "-6",
                    "-o",
                    "addr",
                    "show",
                ])
                .args(["dev", "eth0", "scope", "link"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if !text.is_empty() && !text.contains("tentative") {
                break text
                    .split_whitespace()
                    .nth(3)
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap()
                    .to_string();
            }
            assert!(
                Instant::now() < deadline,
                "decky-01 has no link-local address: {text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let leak = loop {
            r.exec(
                "atk",
                &format!(
                    "[ -z \"$(ip -6 addr show dev eth0 scope link tentative)\" ] && python3 -c \
                     \"import socket\ns=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)\n\
                     s.sendto(b'x',('{d1_ll}',9,0,socket.if_nametoindex('eth0')))\" >/dev/null 2>&1"
                ),
            );
            std::thread::sleep(Duration::from_millis(200));
            let evs = r.events();
            if let Some(e) = of_type(&evs, "ipv6_link_local_leak").first() {
                break (*e).clone();
            }
            assert!(Instant::now() < deadline, "no link-local leak: {evs:#?}");
        };
        assert_eq!(leak["decky"], "decky-01", "{leak}");
        assert_eq!(field(&leak, "on_iface"), "eth0", "{leak}");
        assert_eq!(field(&leak, "attacker_v4"), ATTACKER, "{leak}");
        // Every leak is the attacker's, none decky-01's own.
        for e in of_type(&r.events(), "ipv6_link_local_leak") {
            assert_ne!(field(e, "attacker_v4"), D1, "{e}");
        }
        assert_eq!(d.stop().code(), Some(0), "{}", d.log());
    }
}

#[test]
fn workers_keep_events_reloads_and_the_exit_report() {
    let Some(r) = Replica::up("dw") else { return };
    r.write_state(&THREE[..2]);
    r.background(
        "d1",
        "python3 -c \"import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('0.0.0.0',9000));s.listen(1)\nc,_=s.accept();c.recv(100);c.sendall(b'ok');time.sleep(60)\"",
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut d = r.daemon(&["--workers", "2"]);
    // Logged right after "capturing on", which is all `daemon` waits for.
    d.wait_for_log("analysing on 2 worker threads", Duration::from_secs(10));
    knock(&r, "atk", D3, 81);
    knock(&r, "atk", D1, 81);
    wait_for_events(&r, "decky-01's SYN", syn_to(D1, 81));
    assert!(
        !syn_to(D3, 81)(&r.events()),
        "decky-03 is not in the state file yet"
    );

    r.write_state(&THREE);
    d.wait_for_log("decky map now", Duration::from_secs(5));
    knock(&r, "atk", D3, 82);
    let evs = wait_for_events(&r, "decky-03's SYN", syn_to(D3, 82));
    let e = of_type(&evs, "tcp_syn_fingerprint")
        .into_iter()
        .find(|e| field(e, "dst_port") == "82")
        .unwrap()
        .clone();
    assert_eq!(e["decky"], "decky-03");

    r.background(
        "atk",
        &format!(
            "python3 -c \"import socket,time\nc=socket.create_connection(('{D1}',9000))\nc.sendall(b'hello');\
             c.recv(10);time.sleep(60)\""
        ),
    );
    wait_for_events(&r, "the SYN to 9000", syn_to(D1, 9000));
    std::thread::sleep(Duration::from_millis(300));
    let status = d.stop();
    assert_eq!(status.code(), Some(0), "{}", d.log());
    let evs = r.events();
    let f = of_type(&evs, "tcp_flow_timing")
        .into_iter()
        .find(|e| field(e, "dst_port") == "9000")
        .expect("the open connection's tcp_flow_timing")
        .clone();
    assert_eq!(f["decky"], "decky-01");
    assert!(field(&f, "packets").parse::<u64>().unwrap() >= 5, "{f}");
}

#[test]
fn sigterm_reports_the_open_connection_and_exits_zero() {
    let Some(r) = Replica::up("dt") else { return };
    r.write_state(&THREE);
    // decky-01 accepts and holds the connection; the attacker sends a little and waits.
    r.background(
        "d1",
        "python3 -c \"import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('0.0.0.0',9000));s.listen(1)\nc,_=s.accept();c.recv(100);c.sendall(b'ok');time.sleep(60)\"",
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut d = r.daemon(&[]);
    r.background(
        "atk",
        &format!(
            "python3 -c \"import socket,time\nc=socket.create_connection(('{D1}',9000))\nc.sendall(b'hello');\
             c.recv(10);time.sleep(60)\""
        ),
    );
    wait_for_events(&r, "the SYN", syn_to(D1, 9000));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!of_type(&r.events(), "tcp_flow_timing")
        .iter()
        .any(|e| field(e, "dst_port") == "9000"));
    let status = d.stop();
    assert_eq!(status.code(), Some(0), "{}", d.log());
    let evs = r.events();
    let t = of_type(&evs, "tcp_flow_timing");
    let f = t
        .iter()
        .find(|e| field(e, "dst_port") == "9000")
        .expect("the open connection's tcp_flow_timing");
    assert_eq!(f["decky"], "decky-01");
    assert!(field(f, "packets").parse::<u64>().unwrap() >= 5, "{f}");
}

/// A fatal output error (here: the JSON file cannot be reopened on SIGHUP)
/// goes through SIGTERM's flush: the open connection is still reported
/// (in the log file, which reopened fine), then the exit status is 1.
#[test]
fn a_failed_reopen_flushes_like_sigterm_and_exits_nonzero() {
    let Some(r) = Replica::up("df") else { return };
    r.write_state(&THREE);
    r.background(
        "d1",
        "python3 -c \"import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('0.0.0.0',9000));s.listen(1)\nc,_=s.accept();c.recv(100);c.sendall(b'ok');time.sleep(60)\"",
    );
    std::thread::sleep(Duration::from_millis(300));
    fs::create_dir(r.path("j")).unwrap();
    let json = r.path("j/decnet.json");
    let mut d = r.daemon(&["--json", json.to_str().unwrap()]);
    r.background(
        "atk",
        &format!(
            "python3 -c \"import socket,time\nc=socket.create_connection(('{D1}',9000))\nc.sendall(b'hello');\
             c.recv(10);time.sleep(60)\""
        ),
    );
    let syn = |evs: &[Value]| syn_to(D1, 9000)(evs);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !syn(&events_in(&json)) {
        assert!(Instant::now() < deadline, "no SYN event");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let flow_line = |text: &str| {
        text.lines()
            .any(|l| l.contains(" tcp_flow_timing ") && l.contains("dst_port=\"9000\""))
    };
    assert!(!flow_line(
        &fs::read_to_string(r.path("decnet.log")).unwrap()
    ));
    // The JSON file's directory becomes a plain file: reopening fails.
    fs::remove_dir_all(r.path("j")).unwrap();
    fs::write(r.path("j"), b"").unwrap();
    d.signal("HUP");
    let status = d.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{}", d.log());
    assert!(d.log().contains("cannot reopen"), "{}", d.log());
    assert!(
        flow_line(&fs::read_to_string(r.path("decnet.log")).unwrap()),
        "the open connection reported at exit:\n{}",
        d.log()
    );
}

#[test]
fn sighup_after_moving_the_logs_loses_no_event() {
    let Some(r) = Replica::up("dh") else { return };
    r.write_state(&THREE);
    let d = r.daemon(&[]);
    // 500 connection attempts, 10 ms apart, while the files are rotated.
    let mut knocker = r.spawn(
        "atk",
        &format!(
            "python3 -c \"import socket,time\nfor i in range(500):\n s=socket.socket()\n try: s.connect(('{D2}',7000))\n \
             except OSError: pass\n s.close();time.sleep(0.01)\""
        ),
    );
    // Rotate once some events are written, while the attempts go on.
    wait_for_events(&r, "the first attempts", |evs| {
        of_type(evs, "tcp_syn_fingerprint").len() >= 20
    });
    assert!(
        knocker.try_wait().unwrap().is_none(),
        "the attempts ended before the rotation"
    );
    for f in ["decnet.log", "decnet.json"] {
        fs::rename(r.path(f), r.path(&format!("{f}.1"))).unwrap();
    }
    d.signal("HUP");
    d.wait_for_log("SIGHUP", Duration::from_secs(5));
    // SIGHUP also reloads the state file, changed or not.
    d.wait_for_log("state file reloaded", Duration::from_secs(5));
    assert!(knocker.wait().unwrap().success());
    std::thread::sleep(Duration::from_millis(500));
    let mut d = d;
    assert!(d.stop().success());
    let old = events_in(&r.path("decnet.json.1"));
    let new = events_in(&r.path("decnet.json"));
    let syns = |evs: &[Value]| {
        of_type(evs, "tcp_syn_fingerprint")
            .iter()
            .filter(|e| field(e, "dst_port") == "7000")
            .count()
    };
    assert!(
        syns(&old) > 0 && syns(&new) > 0,
        "old {} new {}",
        syns(&old),
        syns(&new)
    );
    assert_eq!(
        syns(&old) + syns(&new),
        500,
        "events lost or doubled across the rotation"
    );
    let lines = |f: &str| fs::read_to_string(r.path(f)).unwrap().lines().count();
    assert_eq!(
        lines("decnet.log.1") + lines("decnet.log"),
        old.len() + new.len()
    );
}

#[test]
fn deleted_interface_exits_nonzero_naming_the_cause() {
    let Some(r) = Replica::up("dx") else { return };
    r.write_state(&THREE);
    let mut d = r.daemon(&[]);
    assert!(r.exec("host", "ip link del eth0"));
    let status = d.wait(Duration::from_secs(10));
    assert!(!status.success(), "{status:?}");
    let log = d.log();
    assert!(log.contains("\"eth0\" disappeared"), "{log}");
}

#[test]
fn missing_interface_fails_at_once_or_is_waited_for() {
    let Some(r) = Replica::up("dw") else { return };
    r.write_state(&THREE);
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &r.ns("host"),
            env!("CARGO_BIN_EXE_decnet-sniffer"),
            "run",
            "--iface",
            "eth9",
        ])
        .arg("--log")
        .arg(r.path("x.log"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"eth9\" does not exist"));

    // With --wait-iface the daemon waits for it to appear.
    let wait = std::thread::spawn({
        let host = r.ns("host");
        move || {
            std::thread::sleep(Duration::from_secs(2));
            assert!(sh(&format!(
                "ip -n {host} link add eth9 type veth peer name eth9p"
            )));
            sh(&format!(
                "ip -n {host} link set eth9 up; ip -n {host} link set eth9p up"
            ));
        }
    });
    let mut d = {
        let stderr = r.path("daemon.stderr");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &r.ns("host"),
                env!("CARGO_BIN_EXE_decnet-sniffer"),
                "run",
                "--iface",
                "eth9",
            ])
            .args(["--wait-iface", "30", "--state"])
            .arg(r.path("state.json"))
            .arg("--log")
            .arg(r.path("decnet.log"))
            .env("NO_COLOR", "1")
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Daemon {
            child: Some(child),
            stderr,
        }
    };
    d.wait_for_log("capturing on eth9", Duration::from_secs(20));
    wait.join().unwrap();
    assert!(d.log().contains("retrying in"), "{}", d.log());
    assert!(d.stop().success());
}

#[test]
fn metrics_answer_and_count_kernel_drops_of_a_tiny_ring() {
    let Some(r) = Replica::up("dm") else { return };
    if !have("tcpreplay") || !have("curl") {
        eprintln!("SKIPPED: tcpreplay or curl missing");
        return;
    }
    r.write_state(&THREE);
    // 100,000 SYNs to decky-03 in a capture file, replayed as fast as possible.
    let pcap = r.path("flood.pcap");
    write_syn_flood(&pcap, 100_000);
    let mut d = r.daemon(&["--metrics", "127.0.0.1:9105", "--buffer-size", "65536"]);
    let scrape = || {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &r.ns("host"),
                "curl",
                "-s",
                "--max-time",
                "5",
                "http://127.0.0.1:9105/metrics",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let value = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .unwrap_or_else(|| panic!("{name} missing in\n{text}")) as u64
    };
    let first = scrape();
    for name in [
        "decnet_sniffer_packets_total",
        "decnet_sniffer_bytes_total",
        "decnet_sniffer_kernel_dropped_packets_total",
        "decnet_sniffer_decode_errors_total{kind=",
        "decnet_sniffer_events_emitted_total{type=\"tcp_syn_fingerprint\"}",
        "decnet_sniffer_events_deduplicated_total{type=",
        "decnet_sniffer_table_entries{table=\"flows\"}",
        "decnet_sniffer_table_evictions_total{table=\"dedup\"}",
        "decnet_sniffer_bus_queue_depth",
        "decnet_sniffer_bus_publish_failures_total",
        "decnet_sniffer_state_reloads_total{result=\"applied\"}",
    ] {
        assert!(first.contains(name), "{name} missing in\n{first}");
    }
    assert!(r.exec(
        "atk",
        &format!(
            "tcpreplay -q -i eth0 --topspeed {} >/dev/null 2>&1",
            pcap.display()
        )
    ));
    std::thread::sleep(Duration::from_millis(2500));
    let after = scrape();
    let dropped = value(&after, "decnet_sniffer_kernel_dropped_packets_total");
    let received = value(&after, "decnet_sniffer_kernel_received_packets_total");
    let packets = value(&after, "decnet_sniffer_packets_total");
    eprintln!("kernel received {received}, dropped {dropped}; engine saw {packets}");
    assert!(
        dropped > 0,
        "a 64 KiB ring kept up with 100,000 frames at top speed?\n{after}"
    );
    assert!(received >= 100_000 && packets > 0 && packets + dropped >= 100_000);
    assert!(
        value(
            &after,
            "decnet_sniffer_events_emitted_total{type=\"tcp_syn_fingerprint\"}"
        ) > 0
    );
    assert!(d.stop().success());
}

#[test]
fn runs_with_only_cap_net_raw_like_the_systemd_unit() {
    let Some(r) = Replica::up("dp") else { return };
    if !have("setpriv") {
        eprintln!("SKIPPED: setpriv missing");
        return;
    }
    r.write_state(&THREE);
    // As nobody with the ambient CAP_NET_RAW systemd grants, nothing else.
    let wrapper = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all,+net_raw",
        "--ambient-caps=-all,+net_raw",
    ];
    let mut d = r.daemon_as(&wrapper, &[]);
    knock(&r, "atk", D1, 22);
    wait_for_events(&r, "a SYN", syn_to(D1, 22));
    let status = fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap();
    let line = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(line("Uid:"), "65534");
    // Once the socket is open no capability is left.
    for set in ["CapEff:", "CapPrm:", "CapAmb:"] {
        assert_eq!(line(set), "0000000000000000", "{set} after start");
    }
    assert!(d.stop().success(), "{}", d.log());
}

#[test]
fn user_flag_drops_root_after_opening_the_capture() {
    let Some(r) = Replica::up("du") else { return };
    r.write_state(&THREE);
    let mut d = r.daemon(&["--user", "nobody"]);
    knock(&r, "atk", D2, 22);
    wait_for_events(&r, "a SYN", syn_to(D2, 22));
    let status = fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid.split_whitespace().skip(1).all(|u| u == "65534"),
        "{uid}"
    );
    let eff = status.lines().find(|l| l.starts_with("CapEff:")).unwrap();
    assert!(eff.ends_with("0000000000000000"), "{eff}");
    assert!(d.stop().success(), "{}", d.log());
}

/// A classic pcap of `n` Ethernet/IPv4/TCP SYNs from the attacker to decky-03:80.
fn write_syn_flood(path: &Path, n: u32) {
    let mut out = Vec::with_capacity(24 + n as usize * 70);
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..n {
        let mut f = vec![0u8; 54];
        f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x13]);
        f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x66]);
        f[12] = 0x08;
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[18..20].copy_from_slice(&(i as u16).to_be_bytes());
        f[22] = 64;
        f[23] = 6;
        f[26..30].copy_from_slice(&[10, 213, 0, 66]);
        f[30..34].copy_from_slice(&[10, 213, 0, 13]);
        f[34..36].copy_from_slice(&(1024 + (i % 60000) as u16).to_be_bytes());
        f[36..38].copy_from_slice(&80u16.to_be_bytes());
        f[38..42].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
        f[46] = 0x50;
        f[47] = 0x02;
        f[48..50].copy_from_slice(&1024u16.to_be_bytes());
        out.extend_from_slice(&(i / 1000).to_le_bytes());
        out.extend_from_slice(&((i % 1000) * 1000).to_le_bytes());
        out.extend_from_slice(&54u32.to_le_bytes());
        out.extend_from_slice(&54u32.to_le_bytes());
        out.extend_from_slice(&f);
    }
    fs::write(path, out).unwrap();
}

#[test]
fn idle_flow_is_reported_while_the_link_is_silent() {
    let Some(r) = Replica::up("di") else { return };
    r.write_state(&THREE);
    r.background(
        "d3",
        "python3 -c \"import socket,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('0.0.0.0',9001));s.listen(1)\nc,_=s.accept();c.recv(100);c.sendall(b'ok');time.sleep(60)\"",
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut d = r.daemon(&["--flow-idle", "2"]);
    // A short exchange, then nothing at all on the wire.
    r.background(
        "atk",
        &format!(
            "python3 -c \"import socket,time\nc=socket.create_connection(('{D3}',9001))\nc.sendall(b'hello');\
             c.recv(10);time.sleep(60)\""
        ),
    );
    let start = Instant::now();
    let evs = wait_for_events(&r, "the idle flow's tcp_flow_timing", |evs| {
        of_type(evs, "tcp_flow_timing")
            .iter()
            .any(|e| field(e, "dst_port") == "9001")
    });
    // Flow idle 2 s, plus the ring slack and the 1 s tick.
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "reported before it was idle"
    );
    let f = of_type(&evs, "tcp_flow_timing")
        .into_iter()
        .find(|e| field(e, "dst_port") == "9001")
        .unwrap()
        .clone();
    assert_eq!(f["decky"], "decky-03");
    assert!(d.stop().success());
    // Reported once: not again at shutdown.
    let n = of_type(&r.events(), "tcp_flow_timing")
        .iter()
        .filter(|e| field(e, "dst_port") == "9001")
        .count();
    assert_eq!(n, 1);
}

#[test]
fn unwritable_output_is_fatal_at_start() {
    let Some(r) = Replica::up("dn") else { return };
    r.write_state(&THREE);
    let locked = r.path("locked");
    fs::create_dir(&locked).unwrap();
    sh(&format!("chmod 0755 {}", locked.display()));
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &r.ns("host"),
            env!("CARGO_BIN_EXE_decnet-sniffer"),
            "run",
            "--user",
            "nobody",
        ])
        .arg("--state")
        .arg(r.path("state.json"))
        .arg("--log")
        .arg(locked.join("decnet.log"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("locked/decnet.log") && stderr.contains("Permission denied"),
        "{stderr}"
    );
}
