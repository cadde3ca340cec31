//! JA4L (FoxIO License 1.1), the two-part TCP form of FoxIO's reference
//! tool: `ja4l_c` = (ACK − SYN-ACK) / 2 in µs `_` client TTL, `ja4l_s` =
//! (SYN-ACK − SYN) / 2 in µs `_` server TTL.

use crate::util::time::Timestamp;

/// `{(later − earlier) / 2 in µs}_{ttl}`; `None` if time ran backwards.
fn half_delta(earlier: Timestamp, later: Timestamp, ttl: u8) -> Option<String> {
    let us = later.micros_since(earlier);
    (us >= 0).then(|| format!("{}_{}", us / 2, ttl))
}

/// The client half: SYN-ACK to the client's ACK, with the client's TTL.
pub fn ja4l_c(synack: Timestamp, ack: Timestamp, client_ttl: u8) -> Option<String> {
    half_delta(synack, ack, client_ttl)
}

/// The server half: SYN to SYN-ACK, with the server's TTL.
pub fn ja4l_s(syn: Timestamp, synack: Timestamp, server_ttl: u8) -> Option<String> {
    half_delta(syn, synack, server_ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_in_microseconds() {
        let syn = Timestamp::from_micros(1_000_000);
        let synack = Timestamp::from_micros(1_003_815);
        let ack = Timestamp::from_micros(1_003_927);
        assert_eq!(ja4l_s(syn, synack, 112).as_deref(), Some("1907_112"));
        assert_eq!(ja4l_c(synack, ack, 128).as_deref(), Some("56_128"));
        assert_eq!(ja4l_c(ack, synack, 128), None);
    }
}
