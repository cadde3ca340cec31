//! The JSON record (SPEC 4.2), DECNET's parsed form of the line, built from
//! the event itself so `fields` holds the exact values.

use crate::event::Event;

use super::syslog::ordered_fields;

/// Appends the record for `ev` (whose syslog line is `raw_line`) to `out`,
/// without a trailing newline.
pub fn write_record(ev: &Event, raw_line: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    ev.ts.write_json_time(out);
    out.extend_from_slice(b"\",\"decky\":");
    write_string(ev.decky.as_bytes(), out);
    out.extend_from_slice(b",\"service\":\"sniffer\",\"event_type\":\"");
    out.extend_from_slice(ev.kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"attacker_ip\":");
    write_string(ev.src_ip(), out);
    out.extend_from_slice(b",\"fields\":{");
    for (i, f) in ordered_fields(ev).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(f.name.as_bytes(), out);
        out.push(b':');
        write_string(f.value, out);
    }
    out.extend_from_slice(b"},\"msg\":\"\",\"raw_line\":");
    write_string(raw_line, out);
    out.push(b'}');
}

/// A JSON string of arbitrary bytes: invalid UTF-8 becomes U+FFFD, control
/// characters are escaped by serde_json.
pub fn write_string(bytes: &[u8], out: &mut Vec<u8>) {
    // ASCII (every structured value, and the raw line of nearly every
    // event) needs neither the UTF-8 repair nor serde_json's escaper: write
    // it with the same escapes serde_json uses (checked in the tests).
    if bytes.is_ascii() {
        write_ascii(bytes, out);
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text.as_ref());
}

/// `bytes` (all ASCII) as a JSON string, escaped exactly as serde_json does:
/// `"` and `\` with a backslash, the short forms for backspace, tab, line
/// feed, form feed and carriage return, other control bytes as `\u00xx`.
fn write_ascii(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Control bytes are rare: without any, the escapes are found by memchr.
    if !bytes.iter().any(|&b| b < 0x20) {
        let mut start = 0;
        for i in memchr::memchr2_iter(b'"', b'\\', bytes) {
            out.extend_from_slice(&bytes[start..i]);
            out.push(b'\\');
            out.push(bytes[i]);
            start = i + 1;
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0a => b'n',
            0x0c => b'f',
            0x0d => b'r',
            0..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::util::time::Timestamp;

    #[test]
    fn plain_ascii_shortcut_matches_serde() {
        let mut all = Vec::new();
        for b in 0u8..=255 {
            all.push(vec![b]);
            all.push(vec![b'a', b, b'z']);
        }
        all.push(b"203.0.113.7".to_vec());
        all.push(b"t13d1516h2_8daaf6152771_e5627efa2ab1".to_vec());
        all.push((0u8..0x80).collect());
        all.push(
            b"<134>1 2026-04-21T16:35:50.123456+00:00 d sniffer - x [relay@55555 a=\"\\\"\"]"
                .to_vec(),
        );
        for v in all {
            let mut ours = Vec::new();
            write_string(&v, &mut ours);
            let theirs = serde_json::to_vec(String::from_utf8_lossy(&v).as_ref()).unwrap();
            assert_eq!(ours, theirs, "{v:?}");
        }
    }

    #[test]
    fn record_shape() {
        let mut ev = Event::new(
            EventKind::TcpFlowTiming,
            Timestamp::new(1_776_789_350, 0),
            "decky-01".into(),
        );
        ev.push("src_ip", "2001:db8::7")
            .push_text("x", b"a\"\n\xff");
        let mut out = Vec::new();
        write_record(&ev, b"<134>1 line", &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["timestamp"], "2026-04-21 16:35:50");
        assert_eq!(v["attacker_ip"], "2001:db8::7");
        assert_eq!(v["fields"]["x"], "a\"\n\u{fffd}");
        assert_eq!(v["raw_line"], "<134>1 line");
        assert_eq!(v["msg"], "");
    }
}
