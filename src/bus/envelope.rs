//! Subjects and the v1 envelope of docs/spec.md section 7:
//! `{"v":1,"id":"<32 hex>","topic":"decky.<name>.traffic","type":"<event_type>","ts":<float>,"payload":{..}}`.
//!
//! The JSON is written by hand so the payload keeps the catalogue's field
//! order (a `serde_json::Map` would sort it) and so a message costs one
//! buffer. Strings go through `serde_json`'s escaper; invalid UTF-8 in a
//! field becomes U+FFFD, as in the JSON sidecar (docs/spec.md section 4.2).

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::event::Event;
use crate::util::time::Timestamp;

/// DECNET's frame limits (docs/spec.md section 7), applied to both transports so a message
/// is valid on either.
pub const MAX_HEADER_LEN: usize = 4096;
pub const MAX_BODY_LEN: usize = 1 << 20;
/// The longest topic whose `PUB <topic>\n` header fits in [`MAX_HEADER_LEN`].
pub const MAX_TOPIC_LEN: usize = MAX_HEADER_LEN - "PUB \n".len();

/// Why a topic was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicError {
    Empty,
    TooLong,
    EmptyToken,
    /// Whitespace, control characters, `*`, `>` or non-ASCII.
    BadByte(u8),
}

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicError::Empty => f.write_str("empty topic"),
            TopicError::TooLong => write!(f, "topic longer than {MAX_TOPIC_LEN} bytes"),
            TopicError::EmptyToken => f.write_str("empty topic token"),
            TopicError::BadByte(b) => write!(f, "forbidden byte 0x{b:02x} in topic"),
        }
    }
}

impl std::error::Error for TopicError {}

/// Checks a dot-separated subject: non-empty tokens of printable ASCII
/// without wildcards. Non-ASCII is refused because DECNET's bus reads the
/// header line as ASCII and drops the connection otherwise; NATS gets the
/// same subjects.
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    for token in topic.split('.') {
        if token.is_empty() {
            return Err(TopicError::EmptyToken);
        }
        if let Some(&b) = token.as_bytes().iter().find(|&&b| !is_token_byte(b)) {
            return Err(TopicError::BadByte(b));
        }
    }
    Ok(())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'*' && b != b'>'
}

/// The subject token of a decky: its name, or, in observe-all mode where
/// the name is an IP text, that text with `.` and `:` replaced by `-`
/// (`10.0.0.5` → `10-0-0-5`, docs/spec.md section 3).
pub fn subject_token(decky: &str) -> Cow<'_, str> {
    if decky.parse::<IpAddr>().is_ok() {
        Cow::Owned(decky.replace(['.', ':'], "-"))
    } else {
        Cow::Borrowed(decky)
    }
}

/// `decky.<token>.traffic`, validated. A name with a dot that is not an IP
/// text is refused rather than published as extra subject levels.
pub fn traffic_topic(decky: &str) -> Result<String, TopicError> {
    let token = subject_token(decky);
    if token.contains('.') {
        return Err(TopicError::BadByte(b'.'));
    }
    let mut topic = String::with_capacity(token.len() + 14);
    topic.push_str("decky.");
    topic.push_str(&token);
    topic.push_str(".traffic");
    validate_topic(&topic)?;
    Ok(topic)
}

/// Envelope ids: 32 hex digits, a random 64-bit prefix chosen per process
/// run and a 64-bit counter. Unique without a syscall per message; JetStream
/// also uses the id as `Nats-Msg-Id` to drop duplicates of retried publishes.
pub struct IdGen {
    prefix: u64,
    counter: AtomicU64,
}

/// One envelope id, 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeId([u8; 32]);

impl EnvelopeId {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written into the array.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Debug for EnvelopeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IdGen {
    pub fn new() -> Self {
        // RandomState is keyed from the OS random source.
        let prefix = RandomState::new().hash_one(std::process::id());
        IdGen {
            prefix,
            counter: AtomicU64::new(0),
        }
    }

    pub fn next_id(&self) -> EnvelopeId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut out = [0u8; 32];
        write_hex_u64(self.prefix, &mut out[..16]);
        write_hex_u64(n, &mut out[16..]);
        EnvelopeId(out)
    }
}

impl Default for IdGen {
    fn default() -> Self {
        IdGen::new()
    }
}

fn write_hex_u64(v: u64, out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, slot) in out.iter_mut().enumerate().take(16) {
        let shift = 60 - 4 * i;
        *slot = HEX[((v >> shift) & 0xf) as usize];
    }
}

/// Unix seconds with microsecond precision, as the syslog line shows them.
pub fn unix_seconds(ts: Timestamp) -> f64 {
    ts.secs as f64 + f64::from(ts.nanos / 1000) / 1e6
}

/// Writes a JSON string (quoted and escaped).
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_utf8(out, s.as_bytes());
    out.push(b'"');
}

/// Writes raw field bytes as a JSON string; invalid UTF-8 becomes U+FFFD
/// (one per maximal invalid sequence, as `String::from_utf8_lossy`).
pub fn write_json_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        escape_utf8(out, chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

/// Escapes valid UTF-8 for a JSON string body (RFC 8259 section 7): `"`,
/// `\` and control characters; runs of other bytes are copied at once.
fn escape_utf8(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Writes a JSON number for `ts` (`null` would only appear for NaN/inf).
pub fn write_json_f64(out: &mut Vec<u8>, v: f64) {
    let _ = serde_json::to_writer(&mut *out, &v);
}

/// Writes a complete envelope; `payload` writes the payload object.
pub fn write_envelope(
    out: &mut Vec<u8>,
    id: &EnvelopeId,
    topic: &str,
    event_type: &str,
    ts: f64,
    payload: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(b"{\"v\":1,\"id\":\"");
    out.extend_from_slice(id.as_str().as_bytes());
    out.extend_from_slice(b"\",\"topic\":");
    write_json_str(out, topic);
    out.extend_from_slice(b",\"type\":");
    write_json_str(out, event_type);
    out.extend_from_slice(b",\"ts\":");
    write_json_f64(out, ts);
    out.extend_from_slice(b",\"payload\":");
    payload(out);
    out.push(b'}');
}

/// The envelope of a traffic event: `payload` holds every field of the
/// event in order, all as strings.
pub fn traffic_envelope(event: &Event, topic: &str, id: &EnvelopeId) -> Vec<u8> {
    let approx: usize = event
        .fields()
        .map(|f| f.name.len() + f.value.len() + 6)
        .sum();
    let mut out = Vec::with_capacity(approx + topic.len() + 128);
    write_envelope(
        &mut out,
        id,
        topic,
        event.kind.as_str(),
        unix_seconds(event.ts),
        |out| {
            out.push(b'{');
            for (i, field) in event.fields().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, field.name);
                out.push(b':');
                write_json_bytes(out, field.value);
            }
            out.push(b'}');
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use std::sync::Arc;

    #[test]
    fn topics_follow_decnet_token_rules() {
        assert_eq!(traffic_topic("decky-01").unwrap(), "decky.decky-01.traffic");
        assert_eq!(traffic_topic("10.0.0.5").unwrap(), "decky.10-0-0-5.traffic");
        assert_eq!(
            traffic_topic("2001:db8::1").unwrap(),
            "decky.2001-db8--1.traffic"
        );
        assert_eq!(traffic_topic("a b"), Err(TopicError::BadByte(b' ')));
        assert_eq!(traffic_topic("a*"), Err(TopicError::BadByte(b'*')));
        assert_eq!(traffic_topic(">"), Err(TopicError::BadByte(b'>')));
        assert_eq!(traffic_topic(""), Err(TopicError::EmptyToken));
        assert_eq!(traffic_topic("x.y"), Err(TopicError::BadByte(b'.')));
        assert_eq!(traffic_topic("tab\there"), Err(TopicError::BadByte(b'\t')));
        assert_eq!(traffic_topic("del\x7f"), Err(TopicError::BadByte(0x7f)));
        assert_eq!(traffic_topic("dé"), Err(TopicError::BadByte(0xc3)));
        assert_eq!(validate_topic("a..b"), Err(TopicError::EmptyToken));
        assert_eq!(validate_topic(".a"), Err(TopicError::EmptyToken));
        assert_eq!(validate_topic(""), Err(TopicError::Empty));
        assert_eq!(validate_topic(&"a".repeat(MAX_TOPIC_LEN)), Ok(()));
        assert_eq!(
            validate_topic(&"a".repeat(MAX_TOPIC_LEN + 1)),
            Err(TopicError::TooLong)
        );
    }

    #[test]
    fn string_escaping_matches_serde_json_and_lossy_utf8() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain ascii".to_vec(),
            b"quote\" backslash\\ slash/ del\x7f".to_vec(),
            "caf\u{e9} \u{1f600} \u{2028}".as_bytes().to_vec(),
            b"bad \xff\xfe mid \xe2\x82 end \xf0\x9f\x98".to_vec(),
            b"\xc0\x80 overlong, \xed\xa0\x80 surrogate".to_vec(),
        ];
        cases.push((0u8..0x20).collect());
        for bytes in cases {
            let mut ours = Vec::new();
            write_json_bytes(&mut ours, &bytes);
            let reference = serde_json::to_string(&*String::from_utf8_lossy(&bytes)).unwrap();
            let parsed: String = serde_json::from_slice(&ours).unwrap();
            assert_eq!(parsed, String::from_utf8_lossy(&bytes), "{bytes:?}");
            assert_eq!(String::from_utf8(ours).unwrap(), reference, "{bytes:?}");
        }
    }

    #[test]
    fn ids_are_32_hex_and_unique() {
        let g = IdGen::new();
        let a = g.next_id();
        let b = g.next_id();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a
            .as_str()
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(&a.as_str()[..16], &b.as_str()[..16]);
        assert!(b.as_str().ends_with("0000000000000001"));
    }

    #[test]
    fn envelope_matches_spec_shape() {
        let mut ev = Event::new(
            EventKind::SshClientBanner,
            Timestamp::new(1_776_789_350, 123_456_789),
            Arc::from("decky-01"),
        );
        ev.push("src_ip", "203.0.113.7");
        ev.push("src_port", 40000u16);
        ev.push_text("ssh_version", b"SSH-2.0-\xff\"x\n");
        ev.push("direction", "inbound");
        let g = IdGen::new();
        let id = g.next_id();
        let body = traffic_envelope(&ev, "decky.decky-01.traffic", &id);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["topic"], "decky.decky-01.traffic");
        assert_eq!(v["type"], "ssh_client_banner");
        assert_eq!(v["ts"].as_f64().unwrap(), 1_776_789_350.123456);
        assert_eq!(v["payload"]["src_port"], "40000");
        assert_eq!(v["payload"]["ssh_version"], "SSH-2.0-\u{fffd}\"x\n");
        assert_eq!(v["payload"]["direction"], "inbound");
        // Key order of the envelope and of the payload is the catalogue's.
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(&format!(
            "{{\"v\":1,\"id\":\"{}\",\"topic\":\"decky.decky-01.traffic\",\"type\":\"ssh_client_banner\",\"ts\":1776789350.123456,\"payload\":{{\"src_ip\":",
            id.as_str()
        )));
        let order: Vec<usize> = ["src_ip", "src_port", "ssh_version", "direction"]
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
    }
}
