//! The RFC 5424 line (docs/spec.md section 4.1):
//! `<PRI>1 TIMESTAMP HOSTNAME sniffer - EVENT_TYPE [relay@55555 k="v" ...]`.

use crate::event::{Event, Field};
use crate::util::swar;

/// Syslog facility local0.
pub(super) const FACILITY: u8 = 16;
pub const SD_ID: &str = "relay@55555";
const APP_NAME: &str = "sniffer";
/// RFC 5424 HOSTNAME and MSGID length limits.
pub(super) const MAX_HOSTNAME: usize = 255;

/// Appends the line for `ev` to `out`, without a trailing newline.
pub fn write_line(ev: &Event, out: &mut Vec<u8>) {
    write_head(ev, out);
    write_params(ev, out, |_, _| {});
    out.push(b']');
}

/// The line up to its parameters: `<PRI>1 TIMESTAMP HOSTNAME sniffer -
/// EVENT_TYPE [relay@55555`.
pub(super) fn write_head(ev: &Event, out: &mut Vec<u8>) {
    let pri = FACILITY * 8 + ev.kind.severity() as u8;
    out.push(b'<');
    push_decimal(out, u64::from(pri));
    out.extend_from_slice(b">1 ");
    ev.ts.write_rfc5424(out);
    out.push(b' ');
    write_hostname(ev.decky.as_bytes(), out);
    out.push(b' ');
    out.extend_from_slice(APP_NAME.as_bytes());
    out.extend_from_slice(b" - ");
    out.extend_from_slice(ev.kind.as_str().as_bytes());
    out.extend_from_slice(b" [");
    out.extend_from_slice(SD_ID.as_bytes());
}

/// The ` name="value"` parameters; `on_param(field, escaped)` sees each
/// value as escaped into the line.
pub(super) fn write_params(
    ev: &Event,
    out: &mut Vec<u8>,
    mut on_param: impl FnMut(Field<'_>, &[u8]),
) {
    for f in ordered_fields(ev) {
        out.push(b' ');
        out.extend_from_slice(f.name.as_bytes());
        out.extend_from_slice(b"=\"");
        let start = out.len();
        escape_param_value(f.value, out);
        on_param(f, &out[start..]);
        out.push(b'"');
    }
}

/// Structured fields in catalogue order, then free text in its relative
/// order; and after all those, the values that hold a `]`, in the same
/// order: a consumer that stops at the first `]` loses as little as
/// possible, and nothing but values that hold one (SPEC 4.1).
pub fn ordered_fields(ev: &Event) -> OrderedFields<'_> {
    OrderedFields {
        ev,
        pass: 0,
        at: 0,
        // Most events have neither: one pass over the fields.
        passes: match (ev.has_free_text(), ev.has_bracket()) {
            (false, false) => &[(false, false)],
            (true, false) => &[(false, false), (true, false)],
            (false, true) => &[(false, false), (false, true)],
            (true, true) => &[(false, false), (true, false), (false, true), (true, true)],
        },
    }
}

/// The fields of an event in line order: one pass per (free text, holds
/// `]`) group, in [`ordered_fields`]' order, without allocating.
#[derive(Clone)]
pub struct OrderedFields<'a> {
    ev: &'a Event,
    passes: &'static [(bool, bool)],
    pass: usize,
    at: usize,
}

impl<'a> Iterator for OrderedFields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        loop {
            let &(free_text, bracket) = self.passes.get(self.pass)?;
            match self.ev.field_at(self.at) {
                Some(f) => {
                    self.at += 1;
                    if f.free_text == free_text && f.bracket == bracket {
                        return Some(f);
                    }
                }
                None => {
                    self.pass += 1;
                    self.at = 0;
                }
            }
        }
    }
}

/// HOSTNAME is printable ASCII without spaces (RFC 5424 6.2.4); decky names
/// are validated at load, but nothing unprintable may reach the line.
pub(super) fn write_hostname(name: &[u8], out: &mut Vec<u8>) {
    if name.is_empty() {
        out.push(b'-');
        return;
    }
    for &b in name.iter().take(MAX_HOSTNAME) {
        out.push(if (0x21..0x7f).contains(&b) { b } else { b'_' });
    }
}

/// PARAM-VALUE escaping: `\\`, `"` and `]` get a backslash (RFC 5424 6.3.3);
/// control bytes, DEL, bytes of invalid UTF-8 and the bytes of the
/// [`misleading`] characters (Unicode line breaks and bidirectional
/// controls) become `\\xNN`, so no value can end the line or the element
/// early, or reorder what a person reads.
pub fn escape_param_value(value: &[u8], out: &mut Vec<u8>) {
    // Short clean values (numbers, flags, addresses: most fields) are
    // checked byte by byte and copied whole, cheaper than the word scan.
    if value.len() <= SHORT && value.iter().all(|&b| PARAM_ESCAPE[usize::from(b)] == COPY) {
        out.extend_from_slice(value);
        return;
    }
    // ASCII (nearly every value) is one valid chunk: skip the UTF-8 walk.
    if escape_ascii(value, out) {
        return;
    }
    for chunk in value.utf8_chunks() {
        escape_valid(chunk.valid().as_bytes(), out);
        for &b in chunk.invalid() {
            push_hex_escape(b, out);
        }
    }
}

/// Values up to this long take the byte-by-byte shortcut.
const SHORT: usize = 16;

/// What the escaper does with each byte: copy it, put a backslash before
/// it, write it as `\\xNN`, or (ASCII fast path only) give up.
const COPY: u8 = 0;
const BACKSLASH: u8 = 1;
const HEX: u8 = 2;
const NOT_ASCII: u8 = 3;
static PARAM_ESCAPE: [u8; 256] = {
    let mut t = [COPY; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = HEX;
        b += 1;
    }
    t[0x7f] = HEX;
    t[b'\\' as usize] = BACKSLASH;
    t[b'"' as usize] = BACKSLASH;
    t[b']' as usize] = BACKSLASH;
    let mut b = 0x80;
    while b < 0x100 {
        t[b] = NOT_ASCII;
        b += 1;
    }
    t
};

/// Escapes `value` if it is all ASCII; false (nothing written) otherwise.
fn escape_ascii(value: &[u8], out: &mut Vec<u8>) -> bool {
    let mark = out.len();
    if escape_run(value, out) {
        true
    } else {
        out.truncate(mark);
        false
    }
}

/// Escapes valid UTF-8, copying the runs between escapes in one go; the
/// misleading characters (only ever led by 0xc2 or 0xe2) go byte by byte.
fn escape_valid(valid: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for i in memchr::memchr2_iter(0xc2, 0xe2, valid) {
        if i < start {
            continue;
        }
        let len = misleading(&valid[i..]);
        if len == 0 {
            continue;
        }
        escape_run(&valid[start..i], out);
        valid[i..i + len]
            .iter()
            .for_each(|&b| push_hex_escape(b, out));
        start = i + len;
    }
    escape_run(&valid[start..], out);
}

/// The length of the character `s` starts with when it is one that looks
/// harmless to a program but misleads a person or a line splitter: NEL
/// (U+0085), the line and paragraph separators (U+2028, U+2029) and the
/// bidirectional controls (U+202A-U+202E, U+2066-U+2069); else 0.
pub(crate) fn misleading(s: &[u8]) -> usize {
    match s {
        [0xc2, 0x85, ..] => 2,
        [0xe2, 0x80, 0xa8..=0xae, ..] | [0xe2, 0x81, 0xa6..=0xa9, ..] => 3,
        _ => 0,
    }
}

/// One pass over `bytes`; bytes above 0x7f are copied, but reported
/// (false) so the ASCII fast path can fall back to the UTF-8 walk.
fn escape_run(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    let mut ascii = true;
    let mut start = 0;
    let mut from = 0;
    let special = |b: u8| PARAM_ESCAPE[usize::from(b)] != COPY;
    let mask = |w| {
        swar::below(w, 0x20)
            | swar::eq(w, 0x7f)
            | swar::eq(w, b'\\')
            | swar::eq(w, b'"')
            | swar::eq(w, b']')
            | swar::high(w)
    };
    while let Some(i) = swar::find(bytes, from, mask, special) {
        let b = bytes[i];
        from = i + 1;
        match PARAM_ESCAPE[usize::from(b)] {
            NOT_ASCII => {
                // Copied with the run; only reported.
                ascii = false;
                continue;
            }
            BACKSLASH => {
                out.extend_from_slice(&bytes[start..i]);
                out.push(b'\\');
                out.push(b);
            }
            _ => {
                out.extend_from_slice(&bytes[start..i]);
                push_hex_escape(b, out);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    ascii
}

fn push_hex_escape(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 15)],
    ]);
}

fn push_decimal(out: &mut Vec<u8>, v: u64) {
    crate::util::decimal::push_u64(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::util::time::Timestamp;

    #[test]
    fn line_layout_matches_spec_example() {
        let mut ev = Event::new(
            EventKind::TlsSession,
            Timestamp::new(1_776_789_350, 123_456_000),
            "decky-01".into(),
        );
        ev.push("src_ip", "203.0.113.7")
            .push_text("sni", "a.example")
            .push("ja3s", "abc");
        let mut out = Vec::new();
        write_line(&ev, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<132>1 2026-04-21T16:35:50.123456+00:00 decky-01 sniffer - tls_session \
             [relay@55555 src_ip=\"203.0.113.7\" ja3s=\"abc\" sni=\"a.example\"]"
        );
    }

    /// What DECNET's parsers keep: the parameters before the first `]`
    /// after the SD-ID (`\[relay@55555\s+(.*?)\]`), escaped or not.
    fn names_before_first_bracket(line: &str) -> Vec<&str> {
        let sd = &line[line.find("[relay@55555 ").unwrap() + 13..];
        let sd = &sd[..sd.find(']').unwrap()];
        sd.split("=\"")
            .filter_map(|part| part.rsplit(' ').next())
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .collect()
    }

    #[test]
    fn values_holding_a_bracket_go_last() {
        let mut ev = Event::new(
            EventKind::HttpRequestFingerprint,
            Timestamp::new(1_776_789_350, 0),
            "decky-01".into(),
        );
        ev.push("remote_addr", "[::1]:57722")
            .push("src_ip", "::1")
            .push_text("headers_ordered", "[\"Host\"]")
            .push("ja4h", "ge11nn_x]")
            .push_text("host", "a.example")
            .push("dst_port", "80");
        let mut out = Vec::new();
        write_line(&ev, &mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.ends_with(
                "[relay@55555 src_ip=\"::1\" dst_port=\"80\" host=\"a.example\" \
                 remote_addr=\"[::1\\]:57722\" ja4h=\"ge11nn_x\\]\" \
                 headers_ordered=\"[\\\"Host\\\"\\]\"]"
            ),
            "{line}"
        );
        // A parser stopping at the first `]` keeps every value without one.
        assert_eq!(
            names_before_first_bracket(&line),
            ["src_ip", "dst_port", "host", "remote_addr"]
        );
        let names: Vec<&str> = ordered_fields(&ev).map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "src_ip",
                "dst_port",
                "host",
                "remote_addr",
                "ja4h",
                "headers_ordered"
            ]
        );
    }

    #[test]
    fn without_brackets_the_order_is_catalogue_then_free_text() {
        let mut ev = Event::new(
            EventKind::TlsSession,
            Timestamp::new(1_776_789_350, 0),
            "decky-01".into(),
        );
        ev.push("src_ip", "203.0.113.7")
            .push_text("sni", "a.example")
            .push("ja3s", "abc")
            .push_text("alpn", "h2");
        assert!(!ev.has_bracket());
        let names: Vec<&str> = ordered_fields(&ev).map(|f| f.name).collect();
        assert_eq!(names, ["src_ip", "ja3s", "sni", "alpn"]);
        // Structured only: push order.
        let mut ev = Event::new(EventKind::TlsSession, Timestamp::new(1, 0), "d".into());
        ev.push("b", "1").push("a", "2");
        let names: Vec<&str> = ordered_fields(&ev).map(|f| f.name).collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn short_values_escape_like_long_ones() {
        let pad = [b'x'; SHORT];
        for b in 0..=255u8 {
            for value in [vec![b], vec![b'a', b, b'z'], vec![b; SHORT]] {
                let mut short = Vec::new();
                escape_param_value(&value, &mut short);
                let mut long = Vec::new();
                escape_param_value(&[&pad[..], &value].concat(), &mut long);
                assert_eq!(long[..SHORT], pad);
                assert_eq!(short, long[SHORT..], "{value:?}");
            }
        }
    }

    #[test]
    fn escapes_everything_that_could_break_the_line() {
        let mut out = Vec::new();
        escape_param_value(b"a\nb]c\"d\\e\x1b[31m\xff\xc3\xa9", &mut out);
        assert_eq!(out, b"a\\x0ab\\]c\\\"d\\\\e\\x1b[31m\\xff\xc3\xa9");
        let mut out = Vec::new();
        escape_param_value(b"\x7fplain ascii]\"", &mut out);
        assert_eq!(out, b"\\x7fplain ascii\\]\\\"");
        out.clear();
        // Line and paragraph separators, NEL and bidi controls: as bytes;
        // the characters around them, and a lookalike (U+2027), stay.
        let value = "a\u{2028}b\u{2029}c\u{85}d\u{202e}e\u{2066}\u{2069}f\u{2027}\u{e9}\u{202a}";
        escape_param_value(value.as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "a\\xe2\\x80\\xa8b\\xe2\\x80\\xa9c\\xc2\\x85d\\xe2\\x80\\xaee\\xe2\\x81\\xa6\\xe2\\x81\\xa9f\u{2027}\u{e9}\\xe2\\x80\\xaa"
        );
        out.clear();
        escape_param_value(b"\x7fplain ascii]\"", &mut out);
        assert_eq!(out, b"\\x7fplain ascii\\]\\\"");
        // Without control bytes (the memchr path).
        let mut out = Vec::new();
        escape_param_value(b"]a\"b\\c]", &mut out);
        assert_eq!(out, b"\\]a\\\"b\\\\c\\]");
    }
}
