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

/// Option letters in wire order joined by `,` (`M,N,W,N,N,T,S,E`), kept
/// inline: 40 bytes of options are at most 40 options, 79 bytes of text,
/// so a SYN's summary allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OptionsSig {
    text: [u8; OptionsSig::CAP],
    len: u8,
}

impl OptionsSig {
    const CAP: usize = 80;

    pub fn as_str(&self) -> &str {
        // Only ASCII letters and commas are ever pushed.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends an ASCII byte; past the capacity (which a TCP header's
    /// options cannot reach) the text stays as it is.
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.text.get_mut(usize::from(self.len)) {
            *slot = b;
            self.len += 1;
        }
    }
}

impl Default for OptionsSig {
    fn default() -> Self {
        OptionsSig {
            text: [0; OptionsSig::CAP],
            len: 0,
        }
    }
}

impl std::fmt::Debug for OptionsSig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Letters and commas only (see `summarize_options`): plain text.
impl crate::event::FieldValue for OptionsSig {
    const PLAIN: bool = true;
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

/// The option summary of a SYN or SYN-ACK.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptionSummary {
    pub options_sig: OptionsSig,
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
                b'M'
            }
            TcpOption::WindowScale(v) => {
                s.wscale = Some(v);
                b'W'
            }
            TcpOption::SackPermitted | TcpOption::Sack(_) => {
                s.has_sack = true;
                b'S'
            }
            TcpOption::Timestamps { .. } => {
                s.has_timestamps = true;
                b'T'
            }
            TcpOption::Nop => b'N',
            TcpOption::Eol => b'E',
            TcpOption::Other { kind: 14 | 15, .. } => b'A',
            TcpOption::Other { kind: 28, .. } => b'U',
            TcpOption::Other { .. } | TcpOption::Malformed { .. } => b'?',
        };
        if !s.options_sig.is_empty() {
            s.options_sig.push(b',');
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
        assert_eq!(s.options_sig.as_str(), "M,S,T,N,W");
        assert_eq!(
            (s.mss, s.wscale, s.has_sack, s.has_timestamps),
            (Some(1460), Some(7), true, true)
        );
    }

    #[test]
    fn forty_nops_fill_the_text_exactly() {
        // The longest summary a header can carry: 40 NOPs.
        let mut hdr = vec![0u8; 20];
        hdr[12] = 15 << 4;
        hdr.extend_from_slice(&[1; 40]);
        let tcp = TcpView::new(&hdr).unwrap();
        let s = summarize_options(&tcp);
        assert_eq!(s.options_sig.as_str(), vec!["N"; 40].join(","));
    }

    /// Whatever the option bytes, the summary is letters and commas, as
    /// the `PLAIN` claim of its field value says.
    #[test]
    fn options_sig_is_plain_for_any_options() {
        let mut next = crate::util::test_rng::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = (next() % 41) as usize & !3;
            let mut hdr = vec![0u8; 20];
            hdr[12] = ((20 + len) as u8 / 4) << 4;
            hdr.extend((0..len).map(|_| match next() % 4 {
                0 => (next() % 9) as u8,
                _ => next() as u8,
            }));
            let Ok(tcp) = TcpView::new(&hdr) else {
                continue;
            };
            let sig = summarize_options(&tcp).options_sig;
            assert!(crate::event::is_plain(sig.as_bytes()), "{sig:?}");
        }
    }
}
