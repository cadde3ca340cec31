//! A QUIC connection whose server answers the first Initial with a Retry:
//! the client sends its ClientHello again, under keys derived from the new
//! Destination Connection ID, and that second ClientHello is fingerprinted
//! too. tests/data/quic/quic-retry.pcap is aioquic against aioquic with
//! `retry=True` (scripts/make-quic-retry-capture.sh); tshark 4.0 reads the
//! first ClientHello (JA3, SNI) and shows the second Initial carrying
//! CRYPTO data of the same offset and length, which it takes for a
//! retransmission: aioquic sends the same ClientHello again, so both
//! carry the same fingerprints.

mod support;

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::{Event, EventKind};

fn rows(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(support::test_data(&format!("quic/{name}")))
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn field(ev: &Event, name: &str) -> String {
    String::from_utf8_lossy(ev.get(name).unwrap()).into_owned()
}

#[test]
fn the_client_hello_after_a_retry_is_reported() {
    let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut events = Vec::new();
    let mut frame = 0u64;
    let mut file = CaptureFile::open(&support::test_data("quic/quic-retry.pcap")).unwrap();
    file.for_each(|p| {
        frame += 1;
        engine.process(&p, &mut |e| events.push((frame, e)));
    })
    .unwrap();
    let hellos: Vec<&(u64, Event)> = events
        .iter()
        .filter(|(_, e)| e.kind == EventKind::QuicClientHello)
        .collect();

    // tshark: Initial (DCID a), Retry (SCID b), Initial to DCID b with a
    // token, CRYPTO at the same offset and length.
    let packets = rows("quic-retry.packets.tsv");
    let (first, retry, second) = (&packets[0], &packets[1], &packets[2]);
    assert_eq!(
        (first[1].as_str(), retry[1].as_str(), second[1].as_str()),
        ("0", "3", "0")
    );
    assert_eq!(
        second[2], retry[3],
        "the second Initial goes to the Retry's SCID"
    );
    assert_ne!(second[4], "0", "with the Retry's token");
    assert_eq!((&first[5], &first[6]), (&second[5], &second[6]));

    assert_eq!(hellos.len(), 2);
    assert_eq!(hellos[0].0.to_string(), first[0]);
    assert_eq!(hellos[1].0.to_string(), second[0]);
    let tshark = &rows("quic-retry.tshark.tsv")[0];
    for (_, ev) in &hellos {
        assert_eq!(field(ev, "src_port"), tshark[1]);
        assert_eq!(field(ev, "sni"), tshark[5]);
        assert_eq!(field(ev, "ja3"), tshark[6]);
        assert_eq!(field(ev, "ja4_quic"), field(&hellos[0].1, "ja4_quic"));
    }
}
