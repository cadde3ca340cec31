//! `tcp_flow_timing`: packet, byte and timing counts of a TCP flow when it
//! ends. The counts themselves are the flow table's (they also drive idle
//! expiry); this observer only decides whether they are worth an event.

use super::{FlowEndCx, FlowObserver, Segment};
use crate::event::{EventKind, Fixed};

/// Flows shorter than this many packets, with no retransmission and under
/// a second, are not worth a `tcp_flow_timing` (docs/spec.md section 5).
const TRIVIAL_PACKETS: u64 = 4;
const TRIVIAL_DURATION_US: i64 = 1_000_000;

/// Holds nothing: the flow table counts for it.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlowTiming;

impl FlowObserver for FlowTiming {
    fn on_segment(&mut self, _seg: &Segment) {}

    fn on_end(&self, cx: &mut FlowEndCx<'_>) {
        let s = cx.flow;
        let duration = s.duration_us();
        if s.packets < TRIVIAL_PACKETS && s.retransmits == 0 && duration < TRIVIAL_DURATION_US {
            return;
        }
        let gaps = s.packets.saturating_sub(1);
        let (mean, min, max) = if gaps == 0 {
            (0.0, 0.0, 0.0)
        } else {
            (
                s.iat_sum_us as f64 / gaps as f64 / 1000.0,
                s.iat_min_us as f64 / 1000.0,
                s.iat_max_us as f64 / 1000.0,
            )
        };
        let out = cx.emitter();
        let mut ev = out.event(EventKind::TcpFlowTiming);
        ev.push("packets", s.packets)
            .push("bytes", s.bytes)
            .push("duration_s", Fixed(duration as f64 / 1e6, 3))
            .push("mean_iat_ms", Fixed(mean, 2))
            .push("min_iat_ms", Fixed(min, 2))
            .push("max_iat_ms", Fixed(max, 2))
            .push("retransmits", s.retransmits);
        out.emit(ev);
    }
}
