//! DECNET's TCP/IP SYN features: TTL class, hop distance and the option
//! summary (`options_sig`, `mss`, `wscale`, SACK and timestamps).

use crate::decode::{TcpOption, TcpView};

/// The initial TTL a stack most likely used: the smallest common value
/// (32, 64, 128, 255) not below the observed one.
pub fn initial_ttl(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

/// The option summary of a SYN or SYN-ACK.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptionSummary {
    /// Option letters in wire order joined by `,` (`M,N,W,N,N,T,S,E`).
    pub options_sig: String,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub has_sack: bool,
    pub has_timestamps: bool,
}

pub fn summarize_options(tcp: &TcpView<'_>) -> TcpOptionSummary {
    let mut s = TcpOptionSummary::default();
    for opt in tcp.options() {
        let letter = match opt {
            TcpOption::Mss(v) => {
                s.mss = Some(v);
                'M'
            }
            TcpOption::WindowScale(v) => {
                s.wscale = Some(v);
                'W'
            }
            TcpOption::SackPermitted | TcpOption::Sack(_) => {
                s.has_sack = true;
                'S'
            }
            TcpOption::Timestamps { .. } => {
                s.has_timestamps = true;
                'T'
            }
            TcpOption::Nop => 'N',
            TcpOption::Eol => 'E',
            TcpOption::Other { kind: 14 | 15, .. } => 'A',
            TcpOption::Other { kind: 28, .. } => 'U',
            TcpOption::Other { .. } | TcpOption::Malformed { .. } => '?',
        };
        if !s.options_sig.is_empty() {
            s.options_sig.push(',');
        }
        s.options_sig.push(letter);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_classes() {
        assert_eq!(initial_ttl(1), 32);
        assert_eq!(initial_ttl(57), 64);
        assert_eq!(initial_ttl(64), 64);
        assert_eq!(initial_ttl(65), 128);
        assert_eq!(initial_ttl(200), 255);
    }

    #[test]
    fn linux_syn_options() {
        // MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
        let mut hdr = vec![0u8; 20];
        hdr[12] = 10 << 4;
        hdr.extend_from_slice(&[
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ]);
        let tcp = TcpView::new(&hdr).unwrap();
        let s = summarize_options(&tcp);
        assert_eq!(s.options_sig, "M,S,T,N,W");
        assert_eq!(
            (s.mss, s.wscale, s.has_sack, s.has_timestamps),
            (Some(1460), Some(7), true, true)
        );
    }
}
