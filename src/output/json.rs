//! The JSON record (docs/spec.md section 4.2), DECNET's parsed form of the line, built from
//! the event itself so `fields` holds the exact values.

use crate::event::Event;
use crate::util::swar;

use super::syslog::{self, ordered_fields};

/// Appends the record for `ev` (whose syslog line is `raw_line`) to `out`,
/// without a trailing newline.
pub fn write_record(ev: &Event, raw_line: &[u8], out: &mut Vec<u8>) {
    write_record_head(ev, out);
    for (i, f) in ordered_fields(ev).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field_name(f.name, out);
        write_string(f.value, out);
    }
    out.extend_from_slice(b"},\"msg\":\"\",\"raw_line\":");
    write_string(raw_line, out);
    out.push(b'}');
}

/// Appends the syslog line of `ev` to `line` and its record to `record`
/// (both as [`super::syslog::write_line`] and [`write_record`] write
/// them), looking at each value once: a value the line carries unchanged
/// (nothing to escape, the usual case) has nothing to escape in JSON either,
/// so it is copied into the record and its raw line as it is, where the
/// two-step way scanned it three times. `raw` is scratch space.
pub fn write_line_and_record(
    ev: &Event,
    line: &mut Vec<u8>,
    record: &mut Vec<u8>,
    raw: &mut Vec<u8>,
) {
    write_record_head(ev, record);
    let start = line.len();
    syslog::write_head(ev, line);
    raw.clear();
    escape_line_text(&line[start..], raw);
    let mut first = true;
    syslog::write_params(ev, line, |f, escaped| {
        if !first {
            record.push(b',');
        }
        first = false;
        write_field_name(f.name, record);
        raw.push(b' ');
        raw.extend_from_slice(f.name.as_bytes());
        raw.extend_from_slice(b"=\\\"");
        if escaped.len() == f.value.len() {
            // Escaping only ever adds bytes: the value is valid UTF-8
            // without `"`, `\` or control bytes.
            record.push(b'"');
            record.extend_from_slice(f.value);
            record.push(b'"');
            raw.extend_from_slice(escaped);
        } else {
            write_string(f.value, record);
            escape_line_text(escaped, raw);
        }
        raw.extend_from_slice(b"\\\"");
    });
    line.push(b']');
    raw.push(b']');
    record.extend_from_slice(b"},\"msg\":\"\",\"raw_line\":\"");
    record.extend_from_slice(raw);
    record.extend_from_slice(b"\"}");
}

/// `"name":` (field names are static identifiers, checked in
/// `Event::push`: nothing to escape).
fn write_field_name(name: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Syslog line text as the inside of a JSON string. The line is valid
/// UTF-8 without control bytes (its escaping sees to that), so only `"` and
/// `\` need a backslash, as serde_json would write it.
pub(super) fn escape_line_text(text: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for i in memchr::memchr2_iter(b'"', b'\\', text) {
        out.extend_from_slice(&text[start..i]);
        out.push(b'\\');
        out.push(text[i]);
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

/// The record up to the first field: `{"timestamp":...,"fields":{`.
fn write_record_head(ev: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    ev.ts.write_json_time(out);
    out.extend_from_slice(b"\",\"decky\":");
    write_string(ev.decky.as_bytes(), out);
    out.extend_from_slice(b",\"service\":\"sniffer\",\"event_type\":\"");
    out.extend_from_slice(ev.kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"attacker_ip\":");
    write_string(ev.src_ip(), out);
    out.extend_from_slice(b",\"fields\":{");
}

/// A JSON string of arbitrary bytes: invalid UTF-8 becomes U+FFFD, control
/// characters are escaped as serde_json does, and the characters that
/// mislead a person or a line splitter (NEL, U+2028, U+2029, bidirectional
/// controls: see [`super::syslog::misleading`]) as `\uXXXX`.
pub fn write_string(bytes: &[u8], out: &mut Vec<u8>) {
    // ASCII (every structured value, and the raw line of nearly every
    // event) needs neither the UTF-8 repair nor serde_json's escaper: write
    // it with the same escapes serde_json uses (checked in the tests).
    if !write_ascii(bytes, out) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.as_bytes();
        let mut start = 0;
        out.push(b'"');
        for i in memchr::memchr2_iter(0xc2, 0xe2, text) {
            let len = super::syslog::misleading(&text[i..]);
            if len == 0 || i < start {
                continue;
            }
            write_unquoted(&text[start..i], out);
            let c = std::str::from_utf8(&text[i..i + len])
                .ok()
                .and_then(|s| s.chars().next())
                .map_or(0xfffd, u32::from);
            out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
            start = i + len;
        }
        write_unquoted(&text[start..], out);
        out.push(b'"');
    }
}

/// Valid UTF-8 escaped by serde_json, without the quotes.
fn write_unquoted(text: &[u8], out: &mut Vec<u8>) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let mark = out.len();
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
    // Drop the quotes serde_json put around it.
    out.remove(mark);
    out.pop();
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
    fn line_and_record_in_one_pass() {
        // Values needing every kind of escape, valid and invalid UTF-8, in
        // structured and free-text fields, and a decky name with quotes.
        let mut values: Vec<Vec<u8>> = (0u8..=255).map(|b| vec![b'v', b, b'w']).collect();
        values.push(b"plain".to_vec());
        values.push("caf\u{e9} \u{2028}".as_bytes().to_vec());
        values.push(b"\xc3".to_vec());
        values.push(Vec::new());
        for decky in ["decky-01", "d\"q\\x", "d\u{e9}"] {
            for chunk in values.chunks(7) {
                let mut ev = Event::new(
                    EventKind::TlsClientHello,
                    Timestamp::new(1_776_789_350, 5_000),
                    decky.into(),
                );
                ev.push("src_ip", "203.0.113.7");
                let names = ["sni", "ja3", "alpn", "ja4", "path", "ja4_r", "cookie"];
                for (i, (v, name)) in chunk.iter().zip(names).enumerate() {
                    if i % 2 == 0 {
                        ev.push_text(name, v);
                    } else {
                        ev.push(name, &v[..]);
                    }
                }
                let (mut line, mut record, mut raw) = (Vec::new(), Vec::new(), Vec::new());
                write_line_and_record(&ev, &mut line, &mut record, &mut raw);
                let mut two_step_line = Vec::new();
                syslog::write_line(&ev, &mut two_step_line);
                let mut two_step_record = Vec::new();
                write_record(&ev, &two_step_line, &mut two_step_record);
                assert_eq!(line, two_step_line);
                assert_eq!(
                    record,
                    two_step_record,
                    "{}",
                    String::from_utf8_lossy(&record)
                );
                // And as a JSON reader sees it.
                let v: serde_json::Value = serde_json::from_slice(&record).unwrap();
                assert_eq!(v["raw_line"], String::from_utf8(line).unwrap());
                let fields = v["fields"].as_object().unwrap();
                assert_eq!(fields.len(), ev.field_count());
                for f in ev.fields() {
                    assert_eq!(fields[f.name], *String::from_utf8_lossy(f.value));
                }
            }
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

    #[test]
    fn misleading_characters_as_unicode_escapes() {
        let mut out = Vec::new();
        write_string(
            "x\u{2028}y\u{85}\u{202e}\u{e9}\u{2069}\"\u{2027}".as_bytes(),
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "\"x\\u2028y\\u0085\\u202e\u{e9}\\u2069\\\"\u{2027}\""
        );
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, "x\u{2028}y\u{85}\u{202e}\u{e9}\u{2069}\"\u{2027}");
    }
}
