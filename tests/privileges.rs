//! Least privilege (issue 6 item 5): `decnet-sniffer run --user nobody`,
//! started as root inside a network namespace the test creates, keeps no
//! privilege once it is up. Every thread's /proc status is read (capability
//! sets are per thread): uid and gid are nobody's (as `id` reports them), no
//! supplementary group but nobody's own, the effective, permitted,
//! inheritable and ambient sets hold nothing but CAP_NET_RAW, the bounding
//! set is empty (so no set-uid program it could exec hands capabilities
//! back) and no_new_privs is set.

#[path = "netns/mod.rs"]
mod netns_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CAP_NET_RAW: u32 = 13;

/// Deletes the namespace and the scratch directory however the test ends.
struct Cleanup {
    ns: String,
    dir: std::path::PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn id_of(flag: &str) -> u32 {
    let out = Command::new("id").args([flag, "nobody"]).output().unwrap();
    assert!(out.status.success(), "id {flag} nobody failed");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The value of `Key:` in a /proc status text.
fn field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key} in status"))
        .trim()
}

fn capset(status: &str, key: &str) -> u64 {
    u64::from_str_radix(field(status, key), 16).unwrap()
}

#[test]
fn run_as_nobody_keeps_no_privilege() {
    if let Some(why) = netns_support::skip_reason(&[]) {
        eprintln!("SKIP: {why}");
        return;
    }
    let ns = netns_support::prefix("pv");
    assert!(Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap()
        .success());
    let dir = std::env::temp_dir().join(format!("decnet-priv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = Cleanup {
        ns: ns.clone(),
        dir: dir.clone(),
    };
    // nobody must be able to create the outputs and read the state file.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(Command::new("ip")
        .args(["-n", &ns, "link", "set", "lo", "up"])
        .status()
        .unwrap()
        .success());
    let state = dir.join("decnet-state.json");
    // Every thread the daemon can have: capture, bus (a socket nobody
    // listens on: it keeps retrying), metrics, state watcher.
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .args(["run", "--iface", "lo", "--user", "nobody", "--log"])
        .arg(dir.join("out.log"))
        .arg("--json")
        .arg(dir.join("out.json"))
        .arg("--state")
        .arg(&state)
        .arg("--bus")
        .arg(format!("decnet:{}", dir.join("bus.sock").display()))
        .args(["--metrics", "127.0.0.1:0"])
        .env("DECNET_SNIFFER_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Start-up is over once the main loop has taken a decky map from the
    // state watcher (the last thing started): write a state file and wait
    // for the loop to report it. The timeout only guards against a hang.
    let mut log = Vec::new();
    let wait_for = |what: &str, log: &mut Vec<String>| loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let hit = line.contains(what);
                log.push(line);
                if hit {
                    return;
                }
            }
            Err(e) => panic!("no {what:?} from the daemon ({e}):\n{}", log.join("\n")),
        }
    };
    wait_for("writing ", &mut log);
    std::fs::write(
        &state,
        br#"{"config":{"interface":"lo","deckies":[{"name":"decky-01","ip":"127.0.0.5"}]}}"#,
    )
    .unwrap();
    wait_for("decky map", &mut log);

    let pid = child.id();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "decnet-sniffer", "ip netns exec did not exec");
    let (uid, gid) = (id_of("-u"), id_of("-g"));
    let allowed = !(1u64 << CAP_NET_RAW);
    let mut threads = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path().join("status");
        let status = std::fs::read_to_string(&path).unwrap();
        let name = field(&status, "Name").to_owned();
        threads += 1;
        for id in field(&status, "Uid").split_whitespace() {
            assert_eq!(id.parse::<u32>().unwrap(), uid, "{name}: Uid {status}");
        }
        for id in field(&status, "Gid").split_whitespace() {
            assert_eq!(id.parse::<u32>().unwrap(), gid, "{name}: Gid {status}");
        }
        for g in field(&status, "Groups").split_whitespace() {
            assert_eq!(g.parse::<u32>().unwrap(), gid, "{name}: Groups {status}");
        }
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            let v = capset(&status, set);
            assert_eq!(v & allowed, 0, "{name}: {set} {v:016x}");
        }
        let bounding = capset(&status, "CapBnd");
        assert_eq!(bounding & allowed, 0, "{name}: CapBnd {bounding:016x}");
        assert_eq!(field(&status, "NoNewPrivs"), "1", "{name}: no_new_privs");
        eprintln!(
            "FIGURES name=privileges thread={name} uid={uid} gid={gid} CapEff={:016x} CapPrm={:016x} CapBnd={bounding:016x}",
            capset(&status, "CapEff"),
            capset(&status, "CapPrm")
        );
    }
    assert!(threads >= 3, "expected the bus and metrics threads too");

    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}:\n{}", log.join("\n"));
}
