//! The JSON record (SPEC 4.2), DECNET's parsed form of the line, built from
//! the event itself so `fields` holds the exact values.

use crate::event::Event;
use crate::util::swar;

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
        // Field names are static identifiers (checked in `Event::push`):
        // nothing to escape.
        out.push(b'"');
        out.extend_from_slice(f.name.as_bytes());
        out.extend_from_slice(b"\":");
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
    if !write_ascii(bytes, out) {
        let text = String::from_utf8_lossy(bytes);
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text.as_ref());
    }
}

/// What [`write_ascii`] does with each byte: copy it, escape it with a
/// backslash and this letter, escape it as `\u00xx`, or give up (not ASCII).
const COPY: u8 = 0;
const UNICODE: u8 = b'u';
const NOT_ASCII: u8 = 0xff;
static JSON_ESCAPE: [u8; 256] = {
    let mut t = [COPY; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = UNICODE;
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    let mut b = 0x80;
    while b < 0x100 {
        t[b] = NOT_ASCII;
        b += 1;
    }
    t
};

/// `bytes` as a JSON string if they are all ASCII, escaped exactly as
/// serde_json does: `"` and `\` with a backslash, the short forms for
/// backspace, tab, line feed, form feed and carriage return, other control
/// bytes as `\u00xx`. One pass, copying the runs between escapes; false
/// (and nothing written) at the first byte that is not ASCII.
fn write_ascii(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mark = out.len();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let special = |b: u8| JSON_ESCAPE[usize::from(b)] != COPY;
    let mask = |w| swar::below(w, 0x20) | swar::eq(w, b'"') | swar::eq(w, b'\\') | swar::high(w);
    while let Some(i) = swar::find(bytes, start, mask, special) {
        let b = bytes[i];
        let action = JSON_ESCAPE[usize::from(b)];
        if action == NOT_ASCII {
            out.truncate(mark);
            return false;
        }
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(action);
        if action == UNICODE {
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
    true
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
