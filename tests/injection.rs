//! Attacker-controlled text cannot forge, split or hide records (issue 6).
//!
//! Every hostile value below goes through the real output path and must
//! come back as exactly one RFC 5424 line and one JSON record, every field
//! present, and a parser written here from DECNET's rules (docs/spec.md section 4.1:
//! `k="v"` inside `[relay@55555 ...]`, `\\` `\"` `\]` and `\xNN` escapes)
//! must recover the exact bytes from the line.

mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use decnet_sniffer::deckies::validate_name;
use decnet_sniffer::engine::DeckyMap;
use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::output::Output;
use decnet_sniffer::util::time::Timestamp;

/// Values an attacker can put in an SNI, banner, header or certificate.
fn hostile_values() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("newline", b"a\nb".to_vec()),
        ("carriage_return", b"a\rb".to_vec()),
        ("crlf_forged_line", b"x\r\n<134>1 2026-01-01T00:00:00.000000+00:00 decky-01 sniffer - tls_client_hello [relay@55555 src_ip=\"6.6.6.6\"]".to_vec()),
        ("close_bracket", b"a]b".to_vec()),
        ("forged_param", b"x\" src_ip=\"6.6.6.6\" y=\"".to_vec()),
        ("forged_element", b"x\"] [relay@55555 src_ip=\"6.6.6.6\"".to_vec()),
        ("quote", b"\"".to_vec()),
        ("backslash", b"\\".to_vec()),
        ("backslash_at_end", b"abc\\".to_vec()),
        ("backslash_quote", b"\\\"".to_vec()),
        ("literal_hex_escape", b"\\x41\\x0a".to_vec()),
        ("nul", b"a\0b".to_vec()),
        ("ansi_escape", b"\x1b[31mred\x1b[0m\x1b]0;title\x07".to_vec()),
        ("del", b"\x7f".to_vec()),
        ("overlong_utf8_slash", b"\xc0\xaf".to_vec()),
        ("overlong_utf8_nul", b"\xc0\x80".to_vec()),
        ("overlong_utf8_newline", b"\xe0\x80\x8a".to_vec()),
        ("invalid_utf8", b"\xff\xfe\x80abc\xed\xa0\x80".to_vec()),
        ("truncated_utf8", b"abc\xe2\x82".to_vec()),
        ("utf8_line_separator", "a\u{2028}b\u{85}c".as_bytes().to_vec()),
        ("valid_utf8", "héllo wörld ☃".as_bytes().to_vec()),
        ("empty", Vec::new()),
        ("long", vec![b']'; 4096]),
    ]
}

/// The free-text fields the catalogue names (docs/spec.md section 4.1), each carried by the
/// event type that emits it.
const FREE_TEXT: [(EventKind, &str); 12] = [
    (EventKind::TlsClientHello, "sni"),
    (EventKind::TlsClientHello, "alpn"),
    (EventKind::TlsCertificate, "subject_cn"),
    (EventKind::TlsCertificate, "issuer"),
    (EventKind::TlsCertificate, "san"),
    (EventKind::SshClientBanner, "ssh_version"),
    (EventKind::HttpRequestFingerprint, "method"),
    (EventKind::HttpRequestFingerprint, "path"),
    (EventKind::HttpRequestFingerprint, "user_agent"),
    (EventKind::HttpRequestFingerprint, "headers"),
    (EventKind::HttpRequestFingerprint, "cookies"),
    (EventKind::QuicClientHello, "sni"),
];

/// A parsed line: header tokens and the SD parameters in order.
#[derive(Debug)]
struct Line {
    pri: u8,
    hostname: String,
    app: String,
    msgid: String,
    params: Vec<(String, Vec<u8>)>,
}

/// DECNET's grammar, strictly: `<PRI>1 TS HOST APP PROCID MSGID [relay@55555 k="v" ...]`
/// and nothing after the element. Escapes: `\\`, `\"`, `\]`, `\xNN`.
fn parse_line(line: &[u8]) -> Result<Line, String> {
    let text = line;
    if text.contains(&b'\n') || text.contains(&b'\r') {
        return Err("line break inside the line".into());
    }
    let rest = text.strip_prefix(b"<").ok_or("no PRI")?;
    let close = rest
        .iter()
        .position(|&b| b == b'>')
        .ok_or("PRI not closed")?;
    let pri: u8 = std::str::from_utf8(&rest[..close])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("PRI not a number")?;
    let rest = rest[close + 1..].strip_prefix(b"1 ").ok_or("no version")?;
    let mut tokens = Vec::new();
    let mut rest = rest;
    for _ in 0..5 {
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("header too short")?;
        tokens.push(String::from_utf8(rest[..sp].to_vec()).map_err(|_| "header not UTF-8")?);
        rest = &rest[sp + 1..];
    }
    let mut rest = rest.strip_prefix(b"[relay@55555").ok_or("no SD element")?;
    let mut params = Vec::new();
    loop {
        match rest.first() {
            Some(b']') => {
                rest = &rest[1..];
                break;
            }
            Some(b' ') => rest = &rest[1..],
            _ => return Err(format!("bad SD at {:?}", String::from_utf8_lossy(rest))),
        }
        let eq = rest
            .iter()
            .position(|&b| b == b'=')
            .ok_or("param without =")?;
        let name = String::from_utf8(rest[..eq].to_vec()).map_err(|_| "name not UTF-8")?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("bad param name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix(b"\"")
            .ok_or("value not quoted")?;
        let mut value = Vec::new();
        loop {
            match *rest {
                [b'"', ref tail @ ..] => {
                    rest = tail;
                    break;
                }
                [b'\\', b'\\', ref tail @ ..] => (value.push(b'\\'), rest = tail).1,
                [b'\\', b'"', ref tail @ ..] => (value.push(b'"'), rest = tail).1,
                [b'\\', b']', ref tail @ ..] => (value.push(b']'), rest = tail).1,
                [b'\\', b'x', h, l, ref tail @ ..] => {
                    let hex = std::str::from_utf8(&[h, l])
                        .map_err(|_| "bad hex")?
                        .to_owned();
                    value.push(u8::from_str_radix(&hex, 16).map_err(|_| "bad hex")?);
                    rest = tail;
                }
                [b'\\', ..] => return Err("stray backslash".into()),
                [b']', ..] => return Err("unescaped ] in value".into()),
                [b, ref tail @ ..] if b < 0x20 || b == 0x7f => {
                    let _ = tail;
                    return Err(format!("raw control byte {b:#04x} in value"));
                }
                [b, ref tail @ ..] => (value.push(b), rest = tail).1,
                [] => return Err("value not closed".into()),
            }
        }
        params.push((name, value));
    }
    if !rest.is_empty() {
        return Err(format!(
            "text after the SD element: {:?}",
            String::from_utf8_lossy(rest)
        ));
    }
    Ok(Line {
        pri,
        hostname: tokens[1].clone(),
        app: tokens[2].clone(),
        msgid: tokens[4].clone(),
        params,
    })
}

fn event_with(kind: EventKind, field: &'static str, value: &[u8]) -> Event {
    let mut ev = Event::new(
        kind,
        Timestamp::new(1_776_789_350, 123_456_000),
        Arc::from("decky-01"),
    );
    ev.push("src_ip", "203.0.113.7".parse::<IpAddr>().unwrap())
        .push("src_port", 51234u16)
        .push("dst_ip", "10.0.0.5".parse::<IpAddr>().unwrap())
        .push("dst_port", 443u16);
    ev.push_text(field, value);
    ev.push_text("second_text", b"after]\"\n".as_slice());
    ev.push("direction", "inbound");
    ev
}

/// Writes `events` through the real pipeline into two files; returns their
/// contents.
fn write_files(events: Vec<Event>) -> (Vec<u8>, Vec<u8>) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("decnet-injection-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("sniffer.log");
    let json = dir.join("sniffer.json");
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&json);
    let mut out = Output::new(0, 1024);
    out.log_to(&log).unwrap();
    out.json_to(&json).unwrap();
    for ev in events {
        out.handle(ev);
    }
    out.flush().unwrap();
    let r = (std::fs::read(&log).unwrap(), std::fs::read(&json).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
    r
}

/// Checks one (line, record) pair against the event it came from.
fn check_pair(ev: &Event, line: &[u8], record: &[u8]) {
    let parsed =
        parse_line(line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(line)));
    assert_eq!(parsed.msgid, ev.kind.as_str());
    assert_eq!(parsed.app, "sniffer");
    assert_eq!(parsed.hostname, &*ev.decky);
    assert_eq!(parsed.pri, 16 * 8 + ev.kind.severity() as u8);
    let got: BTreeMap<_, _> = parsed.params.iter().cloned().collect();
    assert_eq!(got.len(), ev.field_count(), "a field was lost or forged");
    for f in ev.fields() {
        assert_eq!(
            got.get(f.name).map(Vec::as_slice),
            Some(f.value),
            "field {} changed",
            f.name
        );
    }
    // Free text comes last, in its relative order.
    let order: Vec<_> = parsed.params.iter().map(|(k, _)| k.as_str()).collect();
    let texts: Vec<_> = ev
        .fields()
        .filter(|f| f.free_text)
        .map(|f| f.name)
        .collect();
    assert_eq!(&order[order.len() - texts.len()..], texts.as_slice());

    let rec: serde_json::Value = serde_json::from_slice(record)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(record)));
    assert_eq!(rec["event_type"], ev.kind.as_str());
    assert_eq!(rec["decky"], &*ev.decky);
    assert_eq!(rec["attacker_ip"], "203.0.113.7");
    assert_eq!(
        rec["raw_line"].as_str().unwrap().as_bytes(),
        line,
        "raw_line differs from the line"
    );
    let fields = rec["fields"].as_object().unwrap();
    assert_eq!(fields.len(), ev.field_count());
    for f in ev.fields() {
        let want = String::from_utf8_lossy(f.value);
        assert_eq!(
            fields[f.name].as_str(),
            Some(want.as_ref()),
            "JSON field {}",
            f.name
        );
    }
}

#[test]
fn hostile_free_text_keeps_one_line_and_every_field() {
    let mut events = Vec::new();
    for (kind, field) in FREE_TEXT {
        for (_, value) in hostile_values() {
            events.push(event_with(kind, field, &value));
        }
    }
    let (log, json) = write_files(events.clone());
    let lines: Vec<_> = log.split(|&b| b == b'\n').collect();
    let records: Vec<_> = json.split(|&b| b == b'\n').collect();
    // n lines, each ended by '\n': the split leaves one empty tail.
    assert_eq!(lines.len(), events.len() + 1, "line count");
    assert_eq!(records.len(), events.len() + 1, "record count");
    assert!(lines.last().unwrap().is_empty() && records.last().unwrap().is_empty());
    for (i, ev) in events.iter().enumerate() {
        check_pair(ev, lines[i], records[i]);
    }
}

/// DECNET's own collector regex stops the element at the first `]`, escaped
/// or not: fields before the free text survive, and no value can make it
/// see a parameter that is not there.
#[test]
fn decnet_first_bracket_consumer_sees_no_forged_params() {
    for (name, value) in hostile_values() {
        let ev = event_with(EventKind::TlsClientHello, "sni", &value);
        let (log, _) = write_files(vec![ev]);
        let line = String::from_utf8_lossy(&log).into_owned();
        let start = line.find("[relay@55555 ").unwrap() + "[relay@55555 ".len();
        let body = &line[start..];
        let body = &body[..body.find(']').unwrap_or(body.len())];
        // (\w+)="((?:[^"\\]|\\.)*)" as DECNET's _PARAM_RE, by hand.
        let params = decnet_param_scan(body.as_bytes());
        for (k, v) in &params {
            if k == "src_ip" {
                assert_eq!(v, "203.0.113.7", "{name}: forged src_ip");
            }
        }
        let keys: Vec<_> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            &keys[..4],
            ["src_ip", "src_port", "dst_ip", "dst_port"],
            "{name}: structured fields lost"
        );
        assert!(
            keys.iter().all(|k| [
                "src_ip",
                "src_port",
                "dst_ip",
                "dst_port",
                "direction",
                "sni",
                "second_text"
            ]
            .contains(k)),
            "{name}: DECNET's scan saw {keys:?}"
        );
    }
}

/// `re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', body)` without backtracking
/// surprises: the value alternation is deterministic, so a greedy scan from
/// each start position matches Python's result.
fn decnet_param_scan(body: &[u8]) -> Vec<(String, String)> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if !word(body[i]) || (i > 0 && word(body[i - 1])) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < body.len() && word(body[j]) {
            j += 1;
        }
        // Python tries every start inside the word too; a shorter suffix of
        // a word followed by =" gives the same match end, and findall reports
        // the leftmost, which is the whole word.
        if body.get(j..j + 2) == Some(b"=\"") {
            let mut k = j + 2;
            let mut closed = None;
            while k < body.len() {
                match body[k] {
                    b'"' => {
                        closed = Some(k);
                        break;
                    }
                    b'\\' if k + 1 < body.len() => k += 2,
                    b'\\' => break,
                    _ => k += 1,
                }
            }
            if let Some(end) = closed {
                out.push((
                    String::from_utf8_lossy(&body[i..j]).into_owned(),
                    String::from_utf8_lossy(&body[j + 2..end]).into_owned(),
                ));
                i = end + 1;
                continue;
            }
        }
        i = j;
    }
    out
}

/// A decky name becomes HOSTNAME and a bus subject token: anything that
/// could end the line, split the header or fake the SD element is refused
/// when the state file loads.
#[test]
fn hostile_decky_names_are_rejected_at_load() {
    let bad = [
        "a b",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\0b",
        "a\x1b[31m",
        "a\x7f",
        "a.b",
        "a*",
        "a>",
        "[relay@55555",
        "a]",
        "a\"",
        "a\\",
        "a=b",
        "dé",
        "a\u{2028}",
        "",
        &"x".repeat(256),
    ];
    for name in bad {
        assert!(validate_name(name).is_err(), "{name:?} accepted");
        let state = serde_json::json!({"config": {"deckies": [{"name": name, "ip": "10.0.0.1"}]}});
        let text = serde_json::to_vec(&state).unwrap();
        assert!(
            DeckyMap::parse(Path::new("s.json"), &text).is_err(),
            "{name:?} loaded from the state file"
        );
    }
    for good in [
        "decky-01",
        "omega-decky",
        "web_1",
        "DB-02",
        &"x".repeat(255),
    ] {
        assert!(validate_name(good).is_ok(), "{good:?} refused");
    }
}

/// Whatever name reaches an event, the header stays four space-free tokens.
#[test]
fn hostname_never_breaks_the_header() {
    let ev = {
        let mut e = Event::new(
            EventKind::TcpSynFingerprint,
            Timestamp::new(0, 0),
            Arc::from("a b\n]\"x"),
        );
        e.push("src_ip", "203.0.113.7".parse::<IpAddr>().unwrap());
        e
    };
    let (log, json) = write_files(vec![ev]);
    assert_eq!(log.iter().filter(|&&b| b == b'\n').count(), 1);
    assert_eq!(json.iter().filter(|&&b| b == b'\n').count(), 1);
    let line = &log[..log.len() - 1];
    let parsed = parse_line(line).unwrap();
    assert!(!parsed.hostname.contains(' '));
    let rec: serde_json::Value = serde_json::from_slice(&json[..json.len() - 1]).unwrap();
    assert_eq!(rec["decky"], "a b\n]\"x");
}

/// End to end: hostile SNI and ALPN in real ClientHellos, hostile SSH
/// banners, and hostile HTTP method, path, Host, User-Agent and Cookie go
/// through `decnet-sniffer read`; every line parses strictly, the log and the
/// JSON agree record for record, and the SNI comes back byte for byte.
#[test]
fn hostile_values_on_the_wire_through_read() {
    use std::net::Ipv4Addr;
    use support::*;
    let dir = scratch("injection-e2e");
    let pcap = dir.join("in.pcap");
    let mut w = PcapWriter::new(std::io::BufWriter::new(
        std::fs::File::create(&pcap).unwrap(),
    ));
    let decky = Ipv4Addr::new(10, 0, 0, 5);
    let values = hostile_values();
    for (i, (_, v)) in values.iter().enumerate() {
        let i = i as u8;
        // TLS: SNI and one ALPN protocol (at most 255 bytes) carry the value.
        let alpn: Vec<u8> = v.iter().copied().take(255).collect();
        let alpn_list: Vec<&[u8]> = if alpn.is_empty() { vec![] } else { vec![&alpn] };
        let mut c = Conn::new(Ipv4Addr::new(198, 51, 100, i), 40000, decky, 443);
        c.handshake(&mut w);
        c.client_data(&mut w, &client_hello(v, &alpn_list, &[]), 1400);
        c.close(&mut w);
        // The line-based protocols: the value without the bytes that end
        // a line or a token there, cut to 512 bytes so four copies stay
        // under the HTTP head limit (an oversized head is counted, not reported).
        let text: Vec<u8> = v
            .iter()
            .copied()
            .filter(|b| !b" \r\n".contains(b))
            .take(512)
            .collect();
        let mut c = Conn::new(Ipv4Addr::new(198, 51, 101, i), 40001, decky, 22);
        c.handshake(&mut w);
        let mut banner = b"SSH-2.0-".to_vec();
        banner.extend_from_slice(&text);
        banner.extend_from_slice(b"\r\n");
        c.client_data(&mut w, &banner, 1400);
        c.server_data(&mut w, b"SSH-2.0-OpenSSH_9.6\r\n", 1400);
        c.close(&mut w);
        let mut c = Conn::new(Ipv4Addr::new(198, 51, 102, i), 40002, decky, 80);
        c.handshake(&mut w);
        let mut req = b"GET /".to_vec();
        req.extend_from_slice(&text);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        req.extend_from_slice(&text);
        req.extend_from_slice(b"\r\nUser-Agent: ");
        req.extend_from_slice(&text);
        req.extend_from_slice(b"\r\nCookie: a=");
        req.extend_from_slice(&text);
        req.extend_from_slice(b"\r\n\r\n");
        c.client_data(&mut w, &req, 1400);
        c.server_data(
            &mut w,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            1400,
        );
        c.close(&mut w);
    }
    drop(w.into_inner());
    let r = read_child(&dir, &pcap, &["--dedup-ttl", "0"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(r.status, 0, "{}", r.stderr);
    let log = lines(&r.log);
    let json = lines(&r.json);
    assert_eq!(log.len(), json.len());
    let mut snis = Vec::new();
    let mut kinds = BTreeMap::new();
    for (line, rec) in log.iter().zip(&json) {
        let parsed =
            parse_line(line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(line)));
        let v: serde_json::Value = serde_json::from_slice(rec).unwrap();
        assert_eq!(v["raw_line"].as_str().unwrap().as_bytes(), *line);
        assert_eq!(v["event_type"].as_str().unwrap(), parsed.msgid);
        let fields = v["fields"].as_object().unwrap();
        assert_eq!(
            fields.len(),
            parsed.params.len(),
            "{:?}",
            String::from_utf8_lossy(line)
        );
        for (k, val) in &parsed.params {
            assert_eq!(
                fields[k.as_str()].as_str().unwrap(),
                String::from_utf8_lossy(val),
                "JSON and line disagree on {k}"
            );
        }
        *kinds.entry(parsed.msgid.clone()).or_insert(0) += 1;
        if parsed.msgid == "tls_client_hello" {
            let sni = parsed
                .params
                .iter()
                .find(|(k, _)| k == "sni")
                .unwrap()
                .1
                .clone();
            snis.push(sni);
        }
    }
    eprintln!("events by kind: {kinds:?}");
    for (name, v) in &values {
        assert!(snis.contains(v), "{name}: SNI not recovered byte for byte");
    }
    for kind in [
        "tls_client_hello",
        "ssh_client_banner",
        "http_request_fingerprint",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) >= values.len(),
            "{kind}: {kinds:?}"
        );
    }
}
