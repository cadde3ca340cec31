//! QUIC Initials (placeholder: the QUIC work replaces this file).

use super::udp::DatagramCx;
use super::Limits;

/// Engine-wide QUIC state (partial ClientHellos, per-source budgets).
#[derive(Debug, Default)]
pub struct QuicTracker;

impl QuicTracker {
    pub fn new(_limits: &Limits) -> Self {
        QuicTracker
    }

    /// Returns true if the datagram was QUIC (handled).
    pub fn on_datagram(&mut self, _cx: &mut DatagramCx<'_>, _payload: &[u8]) -> bool {
        false
    }
}
