//! Health heartbeats and the control subject (docs/spec.md section 7).
//!
//! Health: an envelope of type `health` on `system.sniffer.health` with
//! payload `{"worker":"sniffer","ts":<float>, <bus counters>, <engine
//! counters>}`. Its `ts` is wall-clock time: a heartbeat says the process is
//! alive now, unlike traffic events, which carry packet time.
//!
//! Control: a message on `system.sniffer.control` whose payload is
//! `{"action":"stop"}` asks the daemon to shut down. DECNET wraps payloads
//! in its v1 envelope (`{"v":1,...,"payload":{"action":"stop"}}`); a bare
//! `{"action":"stop"}` body is accepted too. Any other action is ignored.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::Value;

use super::envelope::{write_envelope, write_json_f64, write_json_str};
use super::shared::{Message, Shared};

pub const WORKER: &str = "sniffer";
pub const HEALTH_TOPIC: &str = "system.sniffer.health";
pub const CONTROL_TOPIC: &str = "system.sniffer.control";

/// Whether a control message body asks for a stop.
pub fn is_stop_request(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let action = match v.get("payload") {
        Some(payload) if payload.is_object() => payload.get("action"),
        _ => v.get("action"),
    };
    action.and_then(Value::as_str) == Some("stop")
}

/// Records a stop request; returns whether `body` was one.
pub fn handle_control(shared: &Shared, body: &[u8]) -> bool {
    if is_stop_request(body) {
        if !shared.stop_requested.swap(true, Ordering::SeqCst) {
            tracing::warn!("bus: stop requested on {CONTROL_TOPIC}");
        }
        true
    } else {
        tracing::debug!("bus: ignored control message on {CONTROL_TOPIC}");
        false
    }
}

fn wall_clock_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The heartbeat envelope for now.
pub fn health_message(shared: &Shared) -> Message {
    let ts = wall_clock_seconds();
    let stats = shared.stats();
    let bus_counters: [(&str, u64); 8] = [
        ("bus_queued", stats.queued as u64),
        ("bus_enqueued", stats.enqueued),
        ("bus_dropped", stats.dropped),
        ("bus_published", stats.published),
        ("bus_publish_failures", stats.publish_failures),
        ("bus_reconnects", stats.reconnects),
        ("bus_rejected_topics", stats.rejected_topics),
        ("bus_oversize", stats.oversize),
    ];
    let mut extra = shared.health_counters();
    if let Some(source) = shared.health_source() {
        for (k, v) in source() {
            extra.entry(k).or_insert(v);
        }
    }
    let id = shared.ids.next_id();
    let mut out = Vec::with_capacity(512);
    write_envelope(&mut out, &id, HEALTH_TOPIC, "health", ts, |out| {
        out.extend_from_slice(b"{\"worker\":");
        write_json_str(out, WORKER);
        out.extend_from_slice(b",\"ts\":");
        write_json_f64(out, ts);
        for (name, value) in bus_counters {
            out.push(b',');
            write_json_str(out, name);
            out.push(b':');
            out.extend_from_slice(value.to_string().as_bytes());
        }
        for (name, value) in &extra {
            let reserved = name == "worker" || name == "ts";
            if reserved || bus_counters.iter().any(|(n, _)| n == name) {
                continue;
            }
            out.push(b',');
            write_json_str(out, name);
            out.push(b':');
            let _ = serde_json::to_writer(&mut *out, value);
        }
        out.push(b'}');
    });
    Message {
        topic: HEALTH_TOPIC.to_string(),
        id,
        body: Bytes::from(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn recognises_stop_in_envelope_and_bare_forms() {
        assert!(is_stop_request(br#"{"action":"stop"}"#));
        assert!(is_stop_request(
            br#"{"v":1,"id":"x","topic":"system.sniffer.control","type":"","ts":1.0,"payload":{"action":"stop","requested_by":"admin"}}"#
        ));
        assert!(!is_stop_request(br#"{"payload":{"action":"start"}}"#));
        assert!(!is_stop_request(br#"{"payload":{},"action":"stop"}"#));
        assert!(!is_stop_request(br#"{"action":"STOP"}"#));
        assert!(!is_stop_request(b"stop"));
        assert!(!is_stop_request(b""));
        assert!(!is_stop_request(br#"["stop"]"#));
    }

    #[test]
    fn health_payload_has_worker_ts_and_counters() {
        let shared = Shared::new(8);
        *shared.health_source.lock().unwrap() = Some(Arc::new(Box::new(|| {
            let mut m = serde_json::Map::new();
            m.insert("packets".into(), 42.into());
            m.insert("worker".into(), "spoof".into());
            m.insert("flows".into(), 1.into());
            m
        })));
        let mut pushed = serde_json::Map::new();
        pushed.insert("flows".into(), 7.into());
        pushed.insert("bus_dropped".into(), 99.into());
        *shared.health_counters.lock().unwrap() = pushed;
        let msg = health_message(&shared);
        assert_eq!(msg.topic, HEALTH_TOPIC);
        let v: Value = serde_json::from_slice(&msg.body).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["type"], "health");
        assert_eq!(v["topic"], HEALTH_TOPIC);
        assert_eq!(v["id"].as_str().unwrap().len(), 32);
        assert_eq!(v["payload"]["worker"], "sniffer");
        assert!(v["payload"]["ts"].as_f64().unwrap() > 1.6e9);
        assert_eq!(v["payload"]["ts"], v["ts"]);
        assert_eq!(v["payload"]["packets"], 42);
        assert_eq!(v["payload"]["bus_dropped"], 0);
        assert_eq!(
            v["payload"]["flows"], 7,
            "pushed counters win over the source"
        );
        // No duplicate keys: the source cannot override the fixed ones.
        let text = std::str::from_utf8(&msg.body).unwrap();
        assert_eq!(text.matches("\"worker\"").count(), 1);
        assert_eq!(text.matches("\"flows\"").count(), 1);
        assert_eq!(text.matches("\"bus_dropped\"").count(), 1);
    }
}
