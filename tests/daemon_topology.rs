//! Which interface of a DECNET host sees the traffic between attackers and
//! deckies? Measured on a namespace replica (tests/netns/replica.sh): the
//! answer decides the daemon's default capture interface (docs/topology.md).

#[path = "netns/mod.rs"]
mod netns_support;

use std::collections::BTreeMap;
use std::process::Command;

/// (interface, path) -> (packets client->server, packets server->client)
type Seen = BTreeMap<(String, String), (u32, u32)>;

fn measure(prefix: &str, mode: &str) -> Result<Seen, i32> {
    let out = Command::new("bash")
        .arg(netns_support::script("measure.sh"))
        .args([prefix, mode])
        .output()
        .expect("run measure.sh");
    let code = out.status.code().unwrap_or(-1);
    if code != 0 {
        eprintln!(
            "measure.sh {mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return Err(code);
    }
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    let mut seen = Seen::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let ["seen", iface, path, c2s, s2c] = f[..] {
            seen.insert(
                (iface.to_string(), path.to_string()),
                (c2s.parse().unwrap(), s2c.parse().unwrap()),
            );
        }
    }
    eprintln!("{mode}: {seen:?}");
    Ok(seen)
}

#[test]
fn parent_nic_sees_every_decky_conversation_and_the_macvlan_helper_does_not() {
    if let Some(why) = netns_support::skip_reason(&["tcpdump", "python3"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let seen = measure(&netns_support::prefix("tm"), "macvlan").expect("macvlan replica");
    let get = |i: &str, p: &str| seen[&(i.to_string(), p.to_string())];
    // Every conversation a sensor must see: attacker -> decky, decky -> outside
    // (implant calling home), decky -> decky, and the host -> decky.
    for path in ["inbound", "inbound6", "outbound", "internal", "host"] {
        let (c2s, s2c) = get("eth0", path);
        assert!(
            c2s >= 3 && s2c >= 3,
            "parent NIC misses {path} traffic: {c2s} {s2c}"
        );
    }
    // The host-side helper only sees the host's own conversations.
    for path in ["inbound", "inbound6", "outbound", "internal"] {
        assert_eq!(
            get("decnet_macvlan0", path),
            (0, 0),
            "helper sees {path} traffic"
        );
    }
    let (c2s, s2c) = get("decnet_macvlan0", "host");
    assert!(
        c2s >= 3 && s2c >= 3,
        "helper misses the host's own traffic: {c2s} {s2c}"
    );
}

#[test]
fn ipvlan_l2_replica() {
    if let Some(why) = netns_support::skip_reason(&["tcpdump", "python3"]) {
        eprintln!("SKIPPED: {why}");
        return;
    }
    match measure(&netns_support::prefix("ti"), "ipvlan") {
        Err(2) => eprintln!(
            "SKIPPED: this kernel has no ipvlan link type (ip link add ... type ipvlan fails)"
        ),
        Err(code) => panic!("ipvlan replica failed with status {code}"),
        Ok(seen) => {
            // Not measured on the development machine (no ipvlan there): the
            // kernel source says the parent's taps see traffic to and from
            // outside hosts; this checks it wherever ipvlan exists.
            let get = |i: &str, p: &str| seen[&(i.to_string(), p.to_string())];
            for path in ["inbound", "outbound"] {
                let (c2s, s2c) = get("eth0", path);
                assert!(
                    c2s >= 3 && s2c >= 3,
                    "parent misses {path} traffic: {c2s} {s2c}"
                );
            }
        }
    }
}
