//! Issue 18, item 5: data on a SYN (TCP Fast Open, or any payload an
//! attacker puts there) goes to the stream like any other data.

mod support;

use std::net::Ipv4Addr;

use support::{PcapWriter, ACK, SYN, SYN_ACK};

const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
const DECKY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

/// A connection whose SYN carries `data`; the SYN-ACK acknowledges it (as
/// a Fast Open server does) and the client continues after it.
fn syn_with_data(port: u16, data: &[u8]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new());
    let t = 1_776_789_350_000_000;
    let isn = 1000u32;
    let after = isn.wrapping_add(1 + data.len() as u32);
    w.packet(
        t,
        &support::tcp(CLIENT, 40000, DECKY, port, isn, 0, SYN, data),
    );
    w.packet(
        t + 1000,
        &support::tcp(DECKY, port, CLIENT, 40000, 5000, after, SYN_ACK, &[]),
    );
    w.packet(
        t + 2000,
        &support::tcp(CLIENT, 40000, DECKY, port, after, 5001, ACK, &[]),
    );
    w.into_inner()
}

fn read(name: &str, pcap: &[u8]) -> String {
    let dir = support::scratch(name);
    let path = dir.join("in.pcap");
    std::fs::write(&path, pcap).unwrap();
    let run = support::read_child(&dir, &path, &["--decky", "web=10.0.0.5"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let _ = std::fs::remove_dir_all(dir);
    String::from_utf8(run.log).unwrap()
}

#[test]
fn client_hello_in_the_syn() {
    let hello = support::client_hello(b"tfo.example", &[b"h2"], &[]);
    let log = read("syn-tls", &syn_with_data(443, &hello));
    let line = log
        .lines()
        .find(|l| l.contains("tls_client_hello"))
        .unwrap_or_else(|| panic!("no ClientHello event:\n{log}"));
    assert!(line.contains("sni=\"tfo.example\""), "{line}");
}

#[test]
fn http_request_in_the_syn() {
    let request = b"GET /tfo HTTP/1.1\r\nHost: decky\r\nUser-Agent: tfo-agent/1.0\r\n\r\n";
    let log = read("syn-http", &syn_with_data(80, request));
    let line = log
        .lines()
        .find(|l| l.contains("http_request"))
        .unwrap_or_else(|| panic!("no HTTP request event:\n{log}"));
    assert!(line.contains("tfo-agent/1.0"), "{line}");
    assert!(line.contains("/tfo"), "{line}");
}
