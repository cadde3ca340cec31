//! Cleartext HTTP/2 (h2c): the captures of tests/data/h2c (curl, nghttp and
//! Go's x/net/http2 against Go's h2c server, by prior knowledge and by
//! `Upgrade: h2c`; tests/data/h2c/make-captures.sh) give one
//! `http_request_fingerprint` with `proto` `h2c` each. Its preface
//! fingerprint is checked against the SETTINGS the clients' sources say
//! they send, and against tshark 4.0's `http2` dissector reading the same
//! frames; its JA4H is computed here from tshark's decoded header fields
//! by FoxIO's definition (their Python tool and Wireshark plugin).

mod support;

use std::process::Command;

use decnet_sniffer::event::{Event, EventKind};
use sha2::{Digest, Sha256};

const SERVER_PORT: &str = "8080";

fn h2c_events(capture: &str) -> (Vec<Event>, Vec<Event>) {
    let events = support::events_of(&support::test_data(&format!("h2c/{capture}")));
    events
        .into_iter()
        .filter(|e| e.kind == EventKind::HttpRequestFingerprint)
        .partition(|e| support::text(e, "proto") == "h2c")
}

/// The one h2c event of a capture.
fn h2c_event(capture: &str) -> Event {
    let (h2c, _) = h2c_events(capture);
    assert_eq!(h2c.len(), 1, "{capture}: one h2c event");
    h2c.into_iter().next().unwrap()
}

/// What tshark decodes of the client's HTTP/2 frames.
#[derive(Debug, Default)]
struct Tshark {
    settings: Vec<(u32, u64)>,
    window_update: Option<u64>,
    /// (stream, exclusive, depends on, weight 1-256) of PRIORITY frames.
    priorities: Vec<(u32, u32, u32, u32)>,
    /// The first HEADERS frame's fields.
    headers: Vec<(String, String)>,
}

/// tshark's field name for the value of a SETTINGS identifier.
fn settings_field(id: u32) -> &'static str {
    match id {
        1 => "http2.settings.header_table_size",
        2 => "http2.settings.enable_push",
        3 => "http2.settings.max_concurrent_streams",
        4 => "http2.settings.initial_window_size",
        5 => "http2.settings.max_frame_size",
        6 => "http2.settings.max_header_list_size",
        _ => panic!("settings id {id} not in these captures"),
    }
}

const FIELDS: &[&str] = &[
    "http2.type",
    "http2.flags",
    "http2.streamid",
    "http2.settings.id",
    "http2.settings.header_table_size",
    "http2.settings.enable_push",
    "http2.settings.max_concurrent_streams",
    "http2.settings.initial_window_size",
    "http2.settings.max_frame_size",
    "http2.settings.max_header_list_size",
    "http2.window_update.window_size_increment",
    "http2.exclusive",
    "http2.stream_dependency",
    "http2.headers.weight_real",
    "http2.header.name",
    "http2.header.value",
];

/// Frames before the first HEADERS, as tshark decodes them (values of
/// one packet are joined by an ASCII record separator, which no header
/// of these captures holds).
fn tshark(capture: &str) -> Tshark {
    let path = support::test_data(&format!("h2c/{capture}"));
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&path);
    // Prior knowledge: the port is HTTP/2 from the first byte. After an
    // Upgrade, tshark's HTTP dissector hands over at the 101 itself.
    if !capture.contains("upgrade") {
        cmd.args(["-d", &format!("tcp.port=={SERVER_PORT},http2")]);
    }
    cmd.args(["-Y", &format!("tcp.dstport=={SERVER_PORT} && http2")])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=\u{1f}",
            "-E",
            "aggregator=\u{1e}",
        ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut t = Tshark::default();
    for line in text.lines() {
        let cols: Vec<Vec<&str>> = line
            .split('\u{1f}')
            .map(|c| {
                if c.is_empty() {
                    Vec::new()
                } else {
                    c.split('\u{1e}').collect()
                }
            })
            .collect();
        let col = |name: &str| &cols[FIELDS.iter().position(|f| *f == name).unwrap()];
        let num = |s: &str| -> u64 {
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).unwrap(),
                None => s.parse().unwrap(),
            }
        };
        let (types, flags, streams) =
            (col("http2.type"), col("http2.flags"), col("http2.streamid"));
        let mut values_taken = std::collections::HashMap::<&str, usize>::new();
        let mut ids = col("http2.settings.id").iter();
        let mut increments = col("http2.window_update.window_size_increment").iter();
        let mut prio = 0;
        for (i, ty) in types.iter().enumerate() {
            let ty = num(ty);
            let fl = num(flags[i]);
            match ty {
                4 if fl & 1 == 0 => {
                    // The ids of this frame: as many as tshark lists for it;
                    // these clients send one SETTINGS frame each.
                    for id in ids.by_ref() {
                        let id = num(id) as u32;
                        let name = settings_field(id);
                        let k = values_taken.entry(name).or_default();
                        let v = num(col(name)[*k]);
                        *k += 1;
                        t.settings.push((id, v));
                    }
                }
                8 => {
                    let inc = num(increments.next().unwrap());
                    if num(streams[i]) == 0 && t.window_update.is_none() {
                        t.window_update = Some(inc);
                    }
                }
                2 | 1 if ty == 2 || fl & 0x20 != 0 => {
                    if ty == 2 {
                        t.priorities.push((
                            num(streams[i]) as u32,
                            num(col("http2.exclusive")[prio]) as u32,
                            num(col("http2.stream_dependency")[prio]) as u32,
                            num(col("http2.headers.weight_real")[prio]) as u32,
                        ));
                    }
                    prio += 1;
                }
                _ => {}
            }
            if ty == 1 && t.headers.is_empty() {
                let names = col("http2.header.name");
                let values = col("http2.header.value");
                t.headers = names
                    .iter()
                    .zip(values.iter().chain(std::iter::repeat(&"")))
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect();
            }
        }
        if !t.headers.is_empty() {
            break;
        }
    }
    t
}

/// The Akamai fingerprint of tshark's frames.
fn akamai(t: &Tshark) -> String {
    let s: Vec<String> = t.settings.iter().map(|(i, v)| format!("{i}:{v}")).collect();
    let wu = t.window_update.map_or("00".to_string(), |w| w.to_string());
    let p: Vec<String> = t
        .priorities
        .iter()
        .map(|(s, e, d, w)| format!("{s}:{e}:{d}:{w}"))
        .collect();
    let ps: Vec<&str> = t
        .headers
        .iter()
        .filter_map(|(n, _)| match n.as_str() {
            ":method" => Some("m"),
            ":authority" => Some("a"),
            ":scheme" => Some("s"),
            ":path" => Some("p"),
            _ => None,
        })
        .collect();
    format!(
        "{}|{}|{}|{}",
        s.join(";"),
        wu,
        if p.is_empty() {
            "0".to_string()
        } else {
            p.join(",")
        },
        ps.join(",")
    )
}

fn hash12(list: &[String]) -> String {
    let joined = list.join(",");
    if joined.is_empty() {
        return "000000000000".into();
    }
    Sha256::digest(joined.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// JA4H of tshark's header fields as FoxIO's Python `to_ja4h` computes it
/// for `http2`: version 20; header names without pseudo-headers, cookie
/// and referer; one cookie pair per `cookie` field, named by what comes
/// before its first `=`, sorted by name; the language from the first
/// Accept-Language entry without `-`, four characters.
fn foxio_ja4h(fields: &[(String, String)]) -> String {
    let method = fields
        .iter()
        .find(|(n, _)| n == ":method")
        .unwrap()
        .1
        .to_lowercase();
    let headers: Vec<String> = fields
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| {
            !n.starts_with(':') && !n.starts_with("cookie") && n != "referer" && !n.is_empty()
        })
        .collect();
    let cookie = fields.iter().any(|(n, _)| n == "cookie");
    let referer = fields.iter().any(|(n, _)| n == "referer");
    let mut pairs: Vec<(String, String)> = fields
        .iter()
        .filter(|(n, _)| n == "cookie")
        .map(|(_, v)| {
            (
                v.split('=').next().unwrap().trim().to_string(),
                v.trim().to_string(),
            )
        })
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let lang = match fields.iter().find(|(n, _)| n == "accept-language") {
        Some((_, v)) => {
            let l = v.replace('-', "").replace(';', ",").to_lowercase();
            let l: String = l.split(',').next().unwrap().chars().take(4).collect();
            format!("{l:0<4}")
        }
        None => "0000".into(),
    };
    let names: Vec<String> = pairs.iter().map(|p| p.0.clone()).collect();
    let values: Vec<String> = pairs.iter().map(|p| p.1.clone()).collect();
    format!(
        "{}20{}{}{:02}{}_{}_{}_{}",
        &method[..2],
        if cookie { "c" } else { "n" },
        if referer { "r" } else { "n" },
        headers.len().min(99),
        lang,
        hash12(&headers),
        hash12(&names),
        hash12(&values)
    )
}

/// The preface fingerprints the clients' sources give (the SETTINGS they
/// build, the connection window they ask for, nghttp's anchor PRIORITY
/// frames, the order in which they write the pseudo-header fields):
/// - curl 7.88.1 lib/http2.c `populate_settings`: MAX_CONCURRENT_STREAMS
///   100 (DEFAULT_MAX_CONCURRENT_STREAMS), INITIAL_WINDOW_SIZE 32 MiB
///   (HTTP2_HUGE_WINDOW_SIZE), ENABLE_PUSH 0 (no push callback); the
///   connection window set to 32 MiB: an increment of 32 MiB - 65535;
///   lib/h2h3.c fills `:method :path :scheme :authority`.
/// - nghttp 1.52.0 src/nghttp.cc `populate_settings`: MAX_CONCURRENT_STREAMS
///   100, INITIAL_WINDOW_SIZE 65535 (NGHTTP2_INITIAL_WINDOW_SIZE); no
///   connection WINDOW_UPDATE; the five `anchors` as PRIORITY frames
///   (`{3,0,201} {5,0,101} {7,0,1} {9,7,1} {11,3,1}`, weights 1-256), and
///   with `-u` stream 1 amended to depend on anchor 11 (weight 16, the
///   default); `build_headers` writes `:method :path :scheme :authority`.
/// - Go x/net/http2 0.7.0 transport.go: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE
///   4 MiB (transportDefaultStreamFlow), MAX_HEADER_LIST_SIZE 10 MiB
///   (`maxHeaderListSize`), connection window 1 GiB
///   (transportDefaultConnFlow); `encodeHeaders` writes `:authority
///   :method :path :scheme`.
const DOCUMENTED: &[(&str, &str)] = &[
    (
        "curl-prior-knowledge.pcap",
        "3:100;4:33554432;2:0|33488897|0|m,p,s,a",
    ),
    ("curl-upgrade.pcap", "3:100;4:33554432;2:0|33488897|0|"),
    (
        "nghttp-prior-knowledge.pcap",
        "3:100;4:65535|00|3:0:0:201,5:0:0:101,7:0:0:1,9:0:7:1,11:0:3:1|m,p,s,a",
    ),
    (
        "nghttp-upgrade.pcap",
        "3:100;4:65535|00|3:0:0:201,5:0:0:101,7:0:0:1,9:0:7:1,11:0:3:1,1:0:11:16|",
    ),
    (
        "go-prior-knowledge.pcap",
        "2:0;4:4194304;6:10485760|1073741824|0|a,m,p,s",
    ),
];

#[test]
fn preface_fingerprint_is_what_the_sources_say_and_tshark_decodes() {
    for (capture, documented) in DOCUMENTED {
        let ev = h2c_event(capture);
        let ours = support::text(&ev, "http2_fingerprint");
        let theirs = akamai(&tshark(capture));
        assert_eq!(ours, theirs, "{capture}: tshark");
        assert_eq!(ours, *documented, "{capture}: the client's source");
    }
}

#[test]
fn ja4h_is_foxio_s_of_tshark_s_header_fields() {
    for capture in [
        "curl-prior-knowledge.pcap",
        "nghttp-prior-knowledge.pcap",
        "go-prior-knowledge.pcap",
    ] {
        let ev = h2c_event(capture);
        let t = tshark(capture);
        assert!(
            !t.headers.is_empty(),
            "{capture}: tshark saw a HEADERS frame"
        );
        let ja4h = support::text(&ev, "ja4h");
        if cfg!(feature = "ja4plus") {
            assert_eq!(ja4h, foxio_ja4h(&t.headers), "{capture}");
        } else {
            assert_eq!(ja4h, "");
        }
        let get = |name: &str| {
            t.headers
                .iter()
                .find(|(n, _)| n == name)
                .map_or(String::new(), |(_, v)| v.clone())
        };
        assert_eq!(support::text(&ev, "method"), get(":method"));
        assert_eq!(support::text(&ev, "path"), get(":path"));
        assert_eq!(support::text(&ev, "host"), get(":authority"));
        assert_eq!(support::text(&ev, "user_agent"), get("user-agent"));
        let names: Vec<String> = t
            .headers
            .iter()
            .filter(|(n, _)| !n.starts_with(':'))
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(
            support::text(&ev, "headers_ordered"),
            serde_json::to_string(&names).unwrap()
        );
        assert_eq!(
            support::text(&ev, "remote_port"),
            support::text(&ev, "src_port")
        );
        assert_eq!(support::text(&ev, "dst_port"), SERVER_PORT);
    }
    // curl was given a cookie, a referer and a language.
    let ev = h2c_event("curl-prior-knowledge.pcap");
    if cfg!(feature = "ja4plus") {
        assert!(support::text(&ev, "ja4h").starts_with("ge20cr"), "{ev:?}");
        assert!(support::text(&ev, "ja4h").contains("enus_"));
    }
    assert_eq!(support::text(&ev, "cookie"), "session=abc123; theme=dark");
    assert_eq!(support::text(&ev, "accept_language"), "en-US,en;q=0.9");
}

/// After an `Upgrade: h2c` request the request itself is HTTP/1.1 (its
/// event stays `h1`); the HTTP/2 preface that follows carries no request
/// of its own and is reported alone, request fields empty.
#[test]
fn an_upgrade_gives_the_h1_request_and_the_preface() {
    for capture in ["curl-upgrade.pcap", "nghttp-upgrade.pcap"] {
        let (h2c, h1) = h2c_events(capture);
        assert_eq!(h1.len(), 1, "{capture}");
        assert_eq!(support::text(&h1[0], "method"), "GET");
        assert!(support::text(&h1[0], "headers_ordered").contains("\"upgrade\""));
        assert_eq!(h2c.len(), 1, "{capture}");
        for f in ["method", "path", "ja4h", "host", "user_agent"] {
            assert_eq!(support::text(&h2c[0], f), "", "{capture} {f}");
        }
        assert_eq!(support::text(&h2c[0], "headers_ordered"), "[]");
    }
}

/// A prior-knowledge connection gives no `h1` event (the preface's
/// `PRI * HTTP/2.0` is not a request).
#[test]
fn the_preface_is_not_an_http1_request() {
    for capture in [
        "curl-prior-knowledge.pcap",
        "nghttp-prior-knowledge.pcap",
        "go-prior-knowledge.pcap",
    ] {
        let (h2c, h1) = h2c_events(capture);
        assert!(h1.is_empty(), "{capture}: {h1:?}");
        assert_eq!(h2c.len(), 1);
    }
}

/// FoxIO's Wireshark plugin output for their http2-with-cookies capture
/// (TLS, decrypted by Wireshark: we read no TLS payload, so the header
/// fields are rebuilt from its `ja4h_ro`, the fields in their order with
/// the cookies unsorted): JA4H of those fields is the plugin's `ja4h` and
/// its `ja4h_r`.
#[cfg(feature = "ja4plus")]
#[test]
fn ja4h_of_http2_fields_matches_foxio_s_wireshark_plugin() {
    use decnet_sniffer::fingerprint::http::ja4h::Ja4h;
    let path = support::corpus().join("foxio/wireshark-expected/http2-with-cookies.pcapng.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    for pkt in json.as_array().unwrap() {
        let layers = &pkt["_source"]["layers"];
        let Some(hashes) = layers["ja4.ja4h"].as_array() else {
            continue;
        };
        for (i, hash) in hashes.iter().enumerate() {
            let ro = layers["ja4.ja4h_ro"][i].as_str().unwrap();
            let raw = layers["ja4.ja4h_r"][i].as_str().unwrap();
            // prefix _ headers _ cookie names _ cookie pairs. Header names
            // have no `_`; cookie names may, so the lists are split by
            // count: N names and N pairs make 2N-1 comma-separated items,
            // the middle one `last name _ first pair`.
            let (prefix, rest) = ro.split_once('_').unwrap();
            let (headers, cookies) = rest.split_once('_').unwrap();
            let items: Vec<&str> = cookies.split(',').collect();
            let n = items.len().div_ceil(2);
            // The first pair starts with the first name.
            let middle = items[n - 1];
            let first = middle.find(&format!("_{}=", items[0])).unwrap() + 1;
            let mut pairs = vec![&middle[first..]];
            pairs.extend_from_slice(&items[n..]);
            let mut fields: Vec<(&[u8], &[u8])> = vec![
                (b":method", b"GET"),
                (b":authority", b"www.youtube.com"),
                (b":scheme", b"https"),
                (b":path", b"/"),
            ];
            for h in headers.split(',') {
                let value: &[u8] = if h == "accept-language" {
                    b"en-US,en;q=0.9"
                } else {
                    b"x"
                };
                fields.push((h.as_bytes(), value));
            }
            if prefix.as_bytes()[5] == b'r' {
                fields.push((b"referer", b"https://www.youtube.com/"));
            }
            for p in &pairs {
                fields.push((b"cookie", p.as_bytes()));
            }
            let j = Ja4h::compute_h2(fields.iter().copied());
            assert_eq!(j.hash, hash.as_str().unwrap());
            assert_eq!(String::from_utf8(j.raw).unwrap(), raw);
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked}");
}
