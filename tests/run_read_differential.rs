//! Issue 18: `read` on a capture of the wire and `run` on the wire give
//! the same events. Every capture of the test set that tcpreplay can send
//! (tests/data/**, the FoxIO corpus) is replayed, one after another, into
//! one end of a veth pair in a network namespace where `decnet-sniffer run`
//! and tcpdump both listen; `read` of tcpdump's file must then write the
//! same RFC 5424 lines as `run` wrote. Both see the kernel's timestamp of
//! each frame, so the times agree to the microsecond. Differences allowed,
//! each for a reason: the order of lines (the daemon flushes idle flows as
//! packet time passes between reads of its ring, `read` in file order at
//! its end: the same events, a different interleaving), and `on_iface`
//! (`run` names the interface it captured on; a file has none).

#[path = "netns/mod.rs"]
mod netns_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn captures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&support::test_data(""), &mut out);
    walk(&support::corpus().join("foxio/pcap"), &mut out);
    out.sort();
    out
}

fn wait_for(what: &str, path: &Path, needle: &str) {
    let start = Instant::now();
    while !std::fs::read_to_string(path).is_ok_and(|s| s.contains(needle)) {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines with `on_iface="..."` emptied, sorted.
fn normalised(log: &str) -> Vec<String> {
    let mut lines: Vec<String> = log
        .lines()
        .map(|l| match l.find(" on_iface=\"") {
            Some(at) => {
                let v = at + " on_iface=\"".len();
                let end = l[v..].find('"').map_or(l.len(), |e| v + e);
                format!("{}{}", &l[..v], &l[end..])
            }
            None => l.to_string(),
        })
        .collect();
    lines.sort();
    lines
}

struct Namespaces {
    a: String,
    b: String,
    children: Vec<Child>,
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

#[test]
fn read_of_the_wire_equals_run_on_the_wire() {
    if let Some(why) = netns_support::skip_reason(&["tcpreplay", "tcpdump"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let started = Instant::now();
    let dir = support::scratch("run-read-differential");
    let p = netns_support::prefix("rd");
    let mut ns = Namespaces {
        a: format!("{p}-a"),
        b: format!("{p}-b"),
        children: Vec::new(),
    };
    let (a, b) = (ns.a.clone(), ns.b.clone());
    let ok = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ip netns add {a} && ip netns add {b} && \
                 ip link add {p}x netns {a} type veth peer name {p}y netns {b} && \
                 ip -n {a} link set {p}x mtu 65000 up && \
                 ip -n {b} link set {p}y mtu 65000 up"
            ),
        ])
        .status()
        .unwrap();
    assert!(ok.success(), "namespace setup failed");
    let iface = format!("{p}y");
    let (run_log, run_err) = (dir.join("run.log"), dir.join("run.stderr"));
    let (wire, dump_err) = (dir.join("wire.pcap"), dir.join("tcpdump.stderr"));
    let daemon = Command::new("ip")
        .args(["netns", "exec", &b])
        .arg(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .args(["run", "--iface", &iface, "--dedup-ttl", "0", "--log"])
        .arg(&run_log)
        // No state file: every server is observed, as `read` does below.
        .arg("--state")
        .arg(dir.join("no-state.json"))
        .env("DECNET_SNIFFER_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&run_err).unwrap())
        .spawn()
        .unwrap();
    ns.children.push(daemon);
    let dump = Command::new("ip")
        .args(["netns", "exec", &b, "tcpdump", "-U", "--immediate-mode"])
        .args(["-B", "65536", "-n", "-s0", "-i", &iface, "-w"])
        .arg(&wire)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&dump_err).unwrap())
        .spawn()
        .unwrap();
    ns.children.push(dump);
    wait_for("the daemon starts", &run_err, "capturing on");
    wait_for("tcpdump starts", &dump_err, "listening on");
    let (mut sent, mut refused) = (Vec::new(), Vec::new());
    for cap in captures() {
        // Paced: at full speed tcpdump (or the daemon) may lose frames on
        // a loaded machine, and the comparison would say nothing.
        let out = Command::new("ip")
            .args(["netns", "exec", &a, "tcpreplay", "-q", "--pps", "20000"])
            .args(["-i", &format!("{p}x")])
            .arg(&cap)
            .output()
            .unwrap();
        let name = cap.display().to_string();
        if out.status.success() {
            sent.push(name);
        } else {
            // Not Ethernet (raw IP, Linux cooked, 802.11...) or unreadable
            // by tcpreplay: it cannot be sent on a veth.
            refused.push(name);
        }
    }
    std::thread::sleep(Duration::from_millis(1000));
    let mut dump = ns.children.pop().unwrap();
    stop(&mut dump);
    let mut daemon = ns.children.pop().unwrap();
    stop(&mut daemon);
    drop(ns);
    let dump_stats = std::fs::read_to_string(&dump_err).unwrap();
    let run_stats = std::fs::read_to_string(&run_err).unwrap();
    eprintln!(
        "sent {} captures, tcpreplay refused {}: {refused:#?}\n{dump_stats}",
        sent.len(),
        refused.len()
    );
    assert!(sent.len() > 40, "too few captures sent: {sent:#?}");
    assert!(
        dump_stats
            .lines()
            .any(|l| l == "0 packets dropped by kernel"),
        "tcpdump lost frames: {dump_stats}"
    );
    let _ = std::fs::remove_file(dir.join("out.log"));
    let read = support::read_child(&dir, &wire, &["--dedup-ttl", "0"]);
    assert_eq!(read.status, 0, "{}", read.stderr);
    let live = normalised(&std::fs::read_to_string(&run_log).unwrap_or_default());
    let offline = normalised(&String::from_utf8_lossy(&read.log));
    let only_live: Vec<&String> = live.iter().filter(|l| !offline.contains(l)).collect();
    let only_read: Vec<&String> = offline.iter().filter(|l| !live.contains(l)).collect();
    eprintln!(
        "{} events live, {} from the capture, in {:.1} s",
        live.len(),
        offline.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(live.len() > 100, "too few events to compare\n{run_stats}");
    assert!(
        live == offline,
        "{} lines only from run, {} only from read\nrun only: {only_live:#?}\nread only: {only_read:#?}\n{run_stats}",
        only_live.len(),
        only_read.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
