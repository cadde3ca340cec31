//! Issue 18, item 4: a tunnel addressed to a decky is a datagram to that
//! decky (its kernel never opens it), so an inner packet forged as "decky
//! calls its C2" must not become an outbound event; mirrored tunnels (not
//! to or from a decky) and every tunnel in observe-all mode are opened.

mod support;

use std::net::Ipv4Addr;

use support::{PcapWriter, ACK, PSH_ACK, SYN, SYN_ACK};

const ATTACKER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);
const DECKY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const C2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);
const TAP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SENSOR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// The forged inner conversation: the decky's SYN to its "C2", the reply,
/// and a ClientHello naming c2.example (Ethernet frames).
fn forged_inner() -> Vec<Vec<u8>> {
    let hello = support::client_hello(b"c2.example", &[], &[]);
    vec![
        support::tcp(DECKY, 50000, C2, 443, 100, 0, SYN, &[]),
        support::tcp(C2, 443, DECKY, 50000, 900, 101, SYN_ACK, &[]),
        support::tcp(DECKY, 50000, C2, 443, 101, 901, ACK, &[]),
        support::tcp(DECKY, 50000, C2, 443, 101, 901, PSH_ACK, &hello),
    ]
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 from `src` to `dst` carrying protocol `proto`.
fn outer_ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + body.len()) as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(body);
    f
}

fn ip_in_ip(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new());
    for (i, inner) in forged_inner().iter().enumerate() {
        w.packet(
            1_000_000 + i as i64 * 1000,
            &outer_ipv4(src, dst, 4, &inner[14..]),
        );
    }
    w.into_inner()
}

fn vxlan(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new());
    for (i, inner) in forged_inner().iter().enumerate() {
        let mut body = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        body.extend_from_slice(inner);
        w.packet(
            1_000_000 + i as i64 * 1000,
            &support::udp(src, 33333, dst, 4789, &body),
        );
    }
    w.into_inner()
}

fn read(name: &str, pcap: &[u8], args: &[&str]) -> String {
    let dir = support::scratch(name);
    let path = dir.join("in.pcap");
    std::fs::write(&path, pcap).unwrap();
    let run = support::read_child(&dir, &path, args);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let _ = std::fs::remove_dir_all(dir);
    String::from_utf8(run.log).unwrap()
}

const WITH_DECKY: &[&str] = &["--decky", "web=10.0.0.5"];

#[test]
fn tunnels_to_a_decky_are_not_opened() {
    for (kind, pcap) in [
        ("ipip", ip_in_ip(ATTACKER, DECKY)),
        ("vxlan", vxlan(ATTACKER, DECKY)),
    ] {
        let log = read(&format!("tun-{kind}"), &pcap, WITH_DECKY);
        assert!(!log.contains("direction=\"outbound\""), "{kind}: {log}");
        assert!(!log.contains("c2.example"), "{kind}: {log}");
        // Overridden: `--decap always` opens it (the forged events appear,
        // which is why auto does not).
        let mut always = WITH_DECKY.to_vec();
        always.extend(["--decap", "always"]);
        let log = read(&format!("tun-{kind}-always"), &pcap, &always);
        assert!(log.contains("sni=\"c2.example\""), "{kind}: {log}");
        assert!(log.contains("direction=\"outbound\""), "{kind}: {log}");
    }
}

#[test]
fn mirrored_tunnels_and_observe_all_are_opened() {
    // A tap's VXLAN / IP-in-IP copy of the decky's traffic to the sensor:
    // neither end of the tunnel is a decky, so it is opened.
    for (kind, pcap) in [
        ("ipip", ip_in_ip(TAP, SENSOR)),
        ("vxlan", vxlan(TAP, SENSOR)),
    ] {
        let log = read(&format!("mirror-{kind}"), &pcap, WITH_DECKY);
        assert!(log.contains("sni=\"c2.example\""), "{kind}: {log}");
        let never = [WITH_DECKY, &["--decap", "never"]].concat();
        let log = read(&format!("mirror-{kind}-never"), &pcap, &never);
        assert!(!log.contains("c2.example"), "{kind}: {log}");
    }
    // No deckies (someone else's capture): every tunnel is opened.
    let log = read("observe-all", &ip_in_ip(ATTACKER, DECKY), &[]);
    assert!(log.contains("sni=\"c2.example\""), "{log}");
}
