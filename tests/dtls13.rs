//! DTLS 1.3 (RFC 9147) ClientHellos of a real client: wolfSSL 5.9.4's
//! example client against its example server (tests/data/dtls13/, made by
//! scripts/make-dtls13-captures.sh). Our `dtls_client_hello` events are
//! compared with what independent tools computed on the same captures
//! (tests/data/dtls13/expected.tsv): tshark 4.0.17's JA3 and SNI, JA4 from
//! tshark's dissected fields by FoxIO's specification, and FoxIO's JA4
//! Wireshark plugin. Between the handshakes' ClientHellos every record of
//! both sides is a DTLS 1.3 ciphertext with a unified header (with and
//! without connection ids), none of which may become an event.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use decnet_sniffer::capture::file::CaptureFile;
use decnet_sniffer::capture::RawPacket;
use decnet_sniffer::engine::{DeckyMap, Engine, Limits};
use decnet_sniffer::event::{Event, EventKind};

const CAPTURES: [&str; 4] = [
    "dtls13-wolfssl-plain.pcap",
    "dtls13-wolfssl-hrr-cookie.pcap",
    "dtls13-wolfssl-hrr-pq.pcap",
    "dtls13-wolfssl-cid.pcap",
];
const TSHARK: &str = "tshark-4.0.17";
const TSHARK_JA4: &str = "tshark-4.0.17-fields+ja4spec";
const FOXIO_PLUGIN: &str = "foxio-wireshark-plugin";

fn dir() -> PathBuf {
    support::test_data("dtls13")
}

/// One ClientHello of expected.tsv: where tshark completed it, and every
/// (tool, field) value given for it.
#[derive(Debug)]
struct Expected {
    frame: u32,
    client: String,
    server: String,
    message_seq: u16,
    values: BTreeMap<(String, String), String>,
}

impl Expected {
    fn get(&self, tool: &str, field: &str) -> &str {
        self.values
            .get(&(tool.to_owned(), field.to_owned()))
            .unwrap_or_else(|| panic!("frame {}: no {tool} {field}", self.frame))
    }
}

/// expected.tsv per capture, ClientHellos in frame order.
fn expected() -> BTreeMap<String, Vec<Expected>> {
    let text = std::fs::read_to_string(dir().join("expected.tsv")).unwrap();
    let mut out: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 8, "expected.tsv: {line}");
        let hellos = out.entry(c[0].to_owned()).or_default();
        let frame: u32 = c[1].parse().unwrap();
        if hellos.last().map(|h| h.frame) != Some(frame) {
            hellos.push(Expected {
                frame,
                client: c[2].to_owned(),
                server: c[3].to_owned(),
                message_seq: c[4].parse().unwrap(),
                values: BTreeMap::new(),
            });
        }
        let h = hellos.last_mut().unwrap();
        h.values
            .insert((c[5].to_owned(), c[6].to_owned()), c[7].to_owned());
    }
    out
}

fn field(ev: &Event, name: &str) -> String {
    support::text(ev, name)
}

fn dtls_hellos(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::DtlsClientHello)
        .collect()
}

/// The UDP payload of an Ethernet/IPv4 frame (every frame of these captures).
fn udp_payload(frame: &[u8]) -> Option<std::ops::Range<usize>> {
    if frame.get(12..14)? != [0x08, 0x00] || *frame.get(23)? != 17 {
        return None;
    }
    let start = 14 + usize::from(frame[14] & 0x0f) * 4 + 8;
    (start <= frame.len()).then_some(start..frame.len())
}

/// Every frame of a capture with its packet time, read by the capture
/// reader alone.
fn frames(path: &std::path::Path) -> Vec<(RawPacketOwned, Vec<u8>)> {
    let mut out = Vec::new();
    let mut file = CaptureFile::open(path).unwrap();
    file.for_each(|p| {
        out.push((
            RawPacketOwned {
                ts: p.ts,
                linktype: p.linktype,
                orig_len: p.orig_len,
            },
            p.data.to_vec(),
        ))
    })
    .unwrap();
    out
}

struct RawPacketOwned {
    ts: decnet_sniffer::util::time::Timestamp,
    linktype: u32,
    orig_len: u32,
}

/// Runs frames through a fresh engine; returns its events and engine.
fn run_frames(frames: &[(RawPacketOwned, Vec<u8>)]) -> (Vec<Event>, Engine) {
    let mut engine = Engine::new(Limits::default(), DeckyMap::observe_all());
    let mut events = Vec::new();
    for (p, data) in frames {
        let raw = RawPacket {
            ts: p.ts,
            linktype: p.linktype,
            data,
            orig_len: p.orig_len,
        };
        engine.process(&raw, &mut |e| events.push(e));
    }
    engine.finish(&mut |e| events.push(e));
    (events, engine)
}

/// Our JA3, JA4 and SNI of every ClientHello equal tshark's (JA3, SNI) and
/// the JA4 computed from tshark's fields; exactly one event per ClientHello
/// tshark found, none from the encrypted records.
#[test]
fn wolfssl_dtls13_hellos_match_tshark() {
    let expected = expected();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        {
            let mut c = CAPTURES.to_vec();
            c.sort_unstable();
            c
        },
        "expected.tsv covers every capture"
    );
    let mut compared = 0;
    for file in CAPTURES {
        let want = &expected[file];
        let (events, engine) = support::replay(
            &dir().join(file),
            Limits::default(),
            DeckyMap::observe_all(),
        );
        let got = dtls_hellos(&events);
        assert_eq!(got.len(), want.len(), "{file}: dtls_client_hello events");
        for (ev, w) in got.iter().zip(want) {
            let at = format!("{file} frame {}", w.frame);
            let client = support::endpoint(ev, "src_ip", "src_port").to_string();
            let server = support::endpoint(ev, "dst_ip", "dst_port").to_string();
            assert_eq!(
                (client, server),
                (w.client.clone(), w.server.clone()),
                "{at}"
            );
            assert_eq!(field(ev, "ja3"), w.get(TSHARK, "ja3"), "{at}: ja3");
            assert_eq!(field(ev, "ja4"), w.get(TSHARK_JA4, "ja4"), "{at}: ja4");
            assert_eq!(field(ev, "sni"), w.get(TSHARK, "sni"), "{at}: sni");
            assert_eq!(field(ev, "tls_version"), "DTLS 1.3", "{at}");
            assert!(field(ev, "ja4").starts_with("dd3"), "{at}");
            compared += 1;
        }
        let stats = engine.stats();
        assert_eq!(stats.get("dtls_parse_errors"), 0, "{file}");
        let fragmented = u64::from(file == "dtls13-wolfssl-hrr-pq.pcap");
        assert_eq!(stats.get("dtls_fragmented_hellos"), fragmented, "{file}");
        assert_eq!(stats.get("dtls_hellos_reassembled"), fragmented, "{file}");
    }
    // plain 1, hrr-cookie 2, hrr-pq 2, cid 1.
    assert_eq!(compared, 6);
}

/// FoxIO's JA4 Wireshark plugin agrees on everything but the version code:
/// it takes the numerically largest of the record version (0xfefd) and the
/// supported_versions (0xfefc), so a DTLS 1.3 ClientHello gets `d2`, where
/// FoxIO's specification (the highest version of supported_versions; DTLS
/// 1.3 = `d3`) and docs/spec.md section 6 give `d3`.
#[test]
fn foxio_plugin_agrees_but_for_the_dtls13_version_code() {
    let expected = expected();
    for file in CAPTURES {
        let (events, _) = support::replay(
            &dir().join(file),
            Limits::default(),
            DeckyMap::observe_all(),
        );
        for (ev, w) in dtls_hellos(&events).iter().zip(&expected[file]) {
            let ours = field(ev, "ja4");
            let plugin = w.get(FOXIO_PLUGIN, "ja4");
            assert_eq!(&plugin[..3], "dd2", "{file} frame {}", w.frame);
            assert_eq!(&ours[..3], "dd3", "{file} frame {}", w.frame);
            assert_eq!(ours[3..], plugin[3..], "{file} frame {}", w.frame);
        }
    }
}

/// What the handshakes hold, read from the captures without our engine:
/// the shapes this test file claims to cover are really there.
#[test]
fn the_captures_hold_hrr_fragments_and_unified_headers() {
    let expected = expected();
    let seqs = |f: &str| -> Vec<u16> { expected[f].iter().map(|h| h.message_seq).collect() };
    assert_eq!(seqs("dtls13-wolfssl-plain.pcap"), [0]);
    // The second ClientHello after a HelloRetryRequest: message_seq 1, with
    // the cookie extension (44) in the cookie case.
    assert_eq!(seqs("dtls13-wolfssl-hrr-cookie.pcap"), [0, 1]);
    assert_eq!(seqs("dtls13-wolfssl-hrr-pq.pcap"), [0, 1]);
    let cookie = &expected["dtls13-wolfssl-hrr-cookie.pcap"];
    assert!(!cookie[0].get(TSHARK, "ja3_full").contains("-44-"));
    assert!(cookie[1].get(TSHARK, "ja3_full").contains("-44-"));
    // The connection_id extension (54).
    let cid = &expected["dtls13-wolfssl-cid.pcap"][0];
    assert!(cid.get(TSHARK, "ja3_full").contains("-54-"));
    // tshark completed the post-quantum ClientHello in the frame after its
    // first fragment.
    let pq = &expected["dtls13-wolfssl-hrr-pq.pcap"];
    assert_eq!(pq[1].frame, pq[0].frame + 3);

    for file in CAPTURES {
        let frames = frames(&dir().join(file));
        let payloads: Vec<&[u8]> = frames
            .iter()
            .filter_map(|(_, f)| udp_payload(f).map(|r| &f[r]))
            .collect();
        assert_eq!(payloads.len(), frames.len(), "{file}: every frame UDP/IPv4");
        let unified: Vec<u8> = payloads
            .iter()
            .filter(|p| p.first().is_some_and(|b| b & 0xe0 == 0x20))
            .map(|p| p[0])
            .collect();
        // Both sides' Finished, ACKs and data: at least 8 records.
        assert!(
            unified.len() >= 8,
            "{file}: {} unified headers",
            unified.len()
        );
        // C (connection id) set exactly in the CID capture.
        let with_cid = unified.iter().filter(|b| *b & 0x10 != 0).count();
        let want = if file == "dtls13-wolfssl-cid.pcap" {
            unified.len()
        } else {
            0
        };
        assert_eq!(with_cid, want, "{file}");
    }
}

/// Every unified-header record rewritten so that its second and third
/// bytes (connection id or encrypted sequence number) read 0xfefd, a DTLS
/// record version, UDP checksum cleared: still exactly the ClientHellos.
#[test]
fn ciphertext_that_looks_like_a_record_version_is_not_a_hello() {
    let expected = expected();
    for file in CAPTURES {
        let mut frames = frames(&dir().join(file));
        let mut rewritten = 0;
        for (_, f) in frames.iter_mut() {
            let Some(r) = udp_payload(f) else { continue };
            if f[r.start] & 0xe0 == 0x20 && r.len() > 3 {
                f[r.start + 1..r.start + 3].copy_from_slice(&[0xfe, 0xfd]);
                f[r.start - 2..r.start].copy_from_slice(&[0, 0]);
                rewritten += 1;
            }
        }
        assert!(rewritten >= 8, "{file}");
        let (events, engine) = run_frames(&frames);
        assert_eq!(
            dtls_hellos(&events).len(),
            expected[file].len(),
            "{file}: dtls_client_hello events"
        );
        assert_eq!(engine.stats().get("dtls_parse_errors"), 0, "{file}");
    }
}
