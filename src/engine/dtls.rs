//! DTLS ClientHellos (placeholder: the TLS work replaces this file).

use super::udp::DatagramCx;

/// Returns true if the datagram was DTLS.
pub fn on_datagram(_cx: &mut DatagramCx<'_>, _payload: &[u8]) -> bool {
    false
}
