//! `dhcp_client_fingerprint` against independent tools: FoxIO's JA4+
//! Wireshark plugin and Zeek package on the corpus captures, and the same
//! Wireshark plugin plus tshark's own DHCP/DHCPv6 dissectors on captures of
//! real clients (dhclient, udhcpc, dhcpcd, systemd-networkd against
//! dnsmasq, scripts/make-dhcp-captures.sh) and on crafted corner cases
//! (scripts/make-dhcp-crafted-capture.py). See tests/data/dhcp/README.md.
//! tests/sharded.rs replays these captures through the sharded engine too.
#![cfg(feature = "ja4plus")]

mod support;

use std::path::Path;

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::{Event, EventKind};

/// The DHCP events of a capture with the number of the frame that made each.
fn run(path: &Path, deckies: DeckyMap) -> (Vec<(u64, Event)>, Engine) {
    let mut engine = Engine::new(Limits::default(), deckies);
    let mut events = Vec::new();
    let mut file = CaptureFile::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut frame = 0;
    file.for_each(|p| {
        frame += 1;
        engine.process(&p, &mut |e| events.push((frame, e)));
    })
    .unwrap();
    engine.finish(&mut |e| events.push((frame, e)));
    events.retain(|(_, e)| e.kind == EventKind::DhcpClientFingerprint);
    (events, engine)
}

fn field(ev: &Event, name: &str) -> String {
    String::from_utf8_lossy(ev.get(name).unwrap_or_else(|| panic!("{name} missing"))).into_owned()
}

fn ja4ds(events: &[(u64, Event)]) -> Vec<String> {
    events.iter().map(|(_, e)| field(e, "ja4d")).collect()
}

/// `ja4.ja4d` of the plugin's `tshark -T json` output, in frame order.
fn wireshark_expected(capture: &str) -> Vec<String> {
    let path = support::corpus()
        .join("foxio/wireshark-expected")
        .join(format!("{capture}.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["_source"]["layers"]["ja4.ja4d"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn corpus_matches_the_wireshark_plugin() {
    for (capture, count) in [("dhcp.pcapng", 4), ("dhcpv6.pcap", 6)] {
        let expected = wireshark_expected(capture);
        assert_eq!(expected.len(), count, "{capture}");
        let (events, _) = run(&support::foxio_pcap(capture), DeckyMap::observe_all());
        assert_eq!(ja4ds(&events), expected, "{capture}");
    }
}

#[test]
fn corpus_matches_zeek() {
    let log = support::corpus().join("foxio/zeek-expected/Scripts.ja4-dhcp/ja4d.log");
    let rows: Vec<Vec<String>> = std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 4);
    let (events, _) = run(&support::foxio_pcap("dhcp.pcapng"), DeckyMap::observe_all());
    assert_eq!(events.len(), 4);
    // ts uid orig_h orig_p resp_h resp_p ja4d client_mac requested_ip vendor hostname
    for (row, (_, ev)) in rows.iter().zip(&events) {
        assert_eq!(field(ev, "ja4d"), row[6]);
        assert_eq!(field(ev, "client_mac"), row[7]);
        if row[8] != "-" {
            assert_eq!(field(ev, "requested_ip"), row[8]);
        }
        let empty = |s: &str| {
            if s == "(empty)" {
                String::new()
            } else {
                s.to_string()
            }
        };
        assert_eq!(field(ev, "vendor_class"), empty(&row[9]));
        assert_eq!(field(ev, "hostname"), empty(&row[10]));
    }
    let (_, ev) = &events[0];
    assert_eq!(field(ev, "message_type"), "discover");
    assert_eq!(field(ev, "dhcp_version"), "4");
    assert_eq!(field(ev, "src_ip"), "0.0.0.0");
    assert_eq!(field(ev, "dst_port"), "67");
}

/// tests/data/dhcp/NAME.tshark.tsv: frame, the plugin's JA4D, then tshark's
/// chaddr, requested IP, yiaddr, host name, vendor class, DUID-LLT and
/// DUID-LL link-layer addresses, IA address, DHCPv6 client FQDN, DHCPv4
/// client FQDN, Ethernet source, UDP source port.
fn tshark_rows(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(support::test_data(&format!("dhcp/{name}.tshark.tsv")))
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn real_clients_and_crafted_messages_match_the_plugin_and_tshark() {
    for (capture, frames) in [
        ("dhclient", 10),
        ("udhcpc", 4),
        ("dhcpcd", 6),
        ("networkd", 7),
        ("crafted", 7),
    ] {
        let rows = tshark_rows(capture);
        assert_eq!(rows.len(), frames, "{capture}");
        let (events, _) = run(
            &support::test_data(&format!("dhcp/{capture}.pcap")),
            DeckyMap::observe_all(),
        );
        // Each of these captures has a client's fingerprints once.
        assert_eq!(events.len(), rows.len(), "{capture}");
        for (r, (frame, ev)) in rows.iter().zip(&events) {
            let at = format!("{capture} frame {frame}");
            assert_eq!(frame.to_string(), r[0], "{at}");
            assert_eq!(field(ev, "ja4d"), r[1], "{at}");
            // A DHCPv6 client without a link-layer DUID is known by the
            // frame's source.
            // tshark's first DUID address in a server's message may be the
            // server's own (its Server Identifier): not the client's.
            let frame_src = (r[13] == "546").then_some(&r[12]);
            let mac = [&r[2], &r[7], &r[8]]
                .into_iter()
                .find(|m| !m.is_empty())
                .filter(|m| r[13] != "547" || **m != r[12])
                .or(frame_src);
            assert_eq!(
                field(ev, "client_mac"),
                mac.cloned().unwrap_or_default(),
                "{at}"
            );
            let requested = if field(ev, "dhcp_version") == "4" {
                [&r[3], &r[4]]
                    .into_iter()
                    .find(|a| !a.is_empty() && *a != "0.0.0.0")
                    .cloned()
                    .unwrap_or_default()
            } else {
                r[9].clone()
            };
            assert_eq!(field(ev, "requested_ip"), requested, "{at}");
            let host = [&r[5], &r[11], &r[10]]
                .into_iter()
                .find(|h| !h.is_empty())
                .cloned()
                .unwrap_or_default();
            assert_eq!(field(ev, "hostname"), host.trim_end_matches('.'), "{at}");
            if field(ev, "dhcp_version") == "4" {
                assert_eq!(field(ev, "vendor_class"), r[6], "{at}");
            }
        }
    }
}

#[test]
fn named_after_the_decky_whose_address_is_asked_for() {
    // dnsmasq hands dhclient's MAC 10.77.0.51; the DHCPv6 lease is not a decky.
    let mut deckies = DeckyMap::default();
    deckies.insert("alpha", "10.77.0.51".parse().unwrap());
    let (events, _) = run(&support::test_data("dhcp/dhclient.pcap"), deckies);
    let names: Vec<(String, String)> = events
        .iter()
        .map(|(_, e)| (field(e, "message_type"), e.decky.to_string()))
        .collect();
    // The discover asks for no address and comes from 0.0.0.0.
    let want = [
        ("discover", "lan"),
        ("offer", "alpha"),
        ("request", "alpha"),
        ("ack", "alpha"),
        ("solicit", "lan"),
        ("advertise", "lan"),
        ("request", "lan"),
        ("reply", "lan"),
        ("release", "lan"),
        ("reply", "lan"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(t, d)| (t.to_string(), d.to_string()))
        .collect();
    assert_eq!(names, want);
    // Without deckies, everything is the LAN's.
    let (events, _) = run(
        &support::test_data("dhcp/dhclient.pcap"),
        DeckyMap::default(),
    );
    assert!(events.iter().all(|(_, e)| &*e.decky == "lan"));
    assert_eq!(events[0].1.get("direction"), None);
}

#[test]
fn repeats_are_reported_once_per_mac_and_fingerprint() {
    let path = support::test_data("dhcp/udhcpc.pcap");
    let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut events = Vec::new();
    for _ in 0..3 {
        let mut file = CaptureFile::open(&path).unwrap();
        file.for_each(|p| engine.process(&p, &mut |e| events.push(e)))
            .unwrap();
    }
    assert_eq!(events.len(), 4);
    assert_eq!(engine.stats().get("dhcp_repeats_suppressed"), 8);
    let table = engine
        .table_stats()
        .into_iter()
        .find(|t| t.0 == "dhcp_clients")
        .unwrap();
    assert_eq!((table.1, table.2), (1, 0));
}

/// A DHCP discover from `mac` with the given host name and vendor class,
/// as an Ethernet frame.
fn discover(mac: [u8; 6], hostname: &[u8], vendor: &[u8]) -> Vec<u8> {
    let mut dhcp = vec![0u8; 236];
    dhcp[..3].copy_from_slice(&[1, 1, 6]);
    dhcp[28..34].copy_from_slice(&mac);
    dhcp.extend([99, 130, 83, 99, 53, 1, 1]);
    for (code, value) in [(12u8, hostname), (60, vendor)] {
        dhcp.extend([code, value.len() as u8]);
        dhcp.extend(value);
    }
    dhcp.push(255);
    let udp_len = 8 + dhcp.len();
    let mut f = vec![0xff; 6];
    f.extend(mac);
    f.extend([0x08, 0x00, 0x45, 0]);
    f.extend(((20 + udp_len) as u16).to_be_bytes());
    f.extend([
        0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 68, 0, 67,
    ]);
    f.extend((udp_len as u16).to_be_bytes());
    f.extend([0, 0]);
    f.extend(dhcp);
    f
}

/// Host names and vendor classes are the client's own text: whatever they
/// hold, the line keeps its structure (escaped by the output layer).
#[test]
fn hostile_host_names_stay_inside_their_field() {
    use decnet_sniffer::capture::{linktype, RawPacket};
    use decnet_sniffer::output::syslog::write_line;
    use decnet_sniffer::util::time::Timestamp;
    let evil: &[u8] = b"x\"] <13>1 2026-01-01T00:00:00Z forged - - - [a b=\"c\n\x00\xff";
    let frame = discover([2, 0, 0, 0, 0, 1], evil, b"\\\"]\r\n");
    let mut engine = Engine::new(Limits::default(), DeckyMap::default());
    let mut events = Vec::new();
    let raw = RawPacket {
        ts: Timestamp::new(1_800_000_000, 0),
        linktype: linktype::ETHERNET,
        data: &frame,
        orig_len: frame.len() as u32,
    };
    engine.process(&raw, &mut |e| events.push(e));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].get("hostname"), Some(evil));
    let mut line = Vec::new();
    write_line(&events[0], &mut line);
    assert!(!line.contains(&b'\n') && !line.contains(&b'\r') && !line.contains(&0));
    // One structured-data element: every `]` and `"` inside is escaped.
    let unescaped_close = line
        .windows(2)
        .filter(|w| w[1] == b']' && w[0] != b'\\')
        .count();
    assert_eq!(unescaped_close, 1, "{}", String::from_utf8_lossy(&line));
}

/// Random bytes on the DHCP ports never panic the engine and are counted.
#[test]
fn random_datagrams_on_the_dhcp_ports() {
    use decnet_sniffer::capture::{linktype, RawPacket};
    use decnet_sniffer::util::time::Timestamp;
    let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let base = discover([2, 0, 0, 0, 0, 2], b"host", b"vendor");
    for i in 0..2000 {
        let mut f = base.clone();
        // Keep the headers, scramble the DHCP message (from the cookie on
        // for half of them), and cut it anywhere.
        let from = if i % 2 == 0 { 42 + 236 } else { 42 + 240 };
        for b in f[from..].iter_mut() {
            *b = next() as u8;
        }
        f.truncate(from + (next() as usize % (base.len() - from + 1)));
        let raw = RawPacket {
            ts: Timestamp::new(1_800_000_000, i),
            linktype: linktype::ETHERNET,
            data: &f,
            orig_len: f.len() as u32,
        };
        engine.process(&raw, &mut |_| {});
    }
    let s = engine.stats();
    assert!(s.get("dhcp_parse_errors") > 0);
}
