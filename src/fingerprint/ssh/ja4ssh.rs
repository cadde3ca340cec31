//! JA4SSH (FoxIO, JA4+; FoxIO License 1.1): the shape of an SSH session,
//! computed over windows of SSH packets.
//!
//! `c{client mode}s{server mode}_c{client packets}s{server packets}_c{client acks}s{server acks}`
//!
//! - mode: the most frequent TCP payload length among the SSH packets each
//!   side sent in the window; on a tie the smaller length; 0 if none.
//! - packets: TCP segments counted as SSH packets (see
//!   [`super::reader::SshReader::is_ssh_segment`]).
//! - acks: bare ACKs (TCP flags exactly ACK, not an SSH packet).
//!
//! A window closes when client and server SSH packets together reach the
//! window size (200 by default); the rest is reported at flow end if it
//! holds at least one SSH packet.

use std::fmt;

/// FoxIO's default window.
pub const DEFAULT_WINDOW: u32 = 200;

/// The sender of a segment.
pub use crate::flow::Side;

/// One JA4SSH value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ja4Ssh {
    pub mode: [u32; 2],
    pub packets: [u32; 2],
    pub acks: [u32; 2],
}

impl fmt::Display for Ja4Ssh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "c{}s{}_c{}s{}_c{}s{}",
            self.mode[0],
            self.mode[1],
            self.packets[0],
            self.packets[1],
            self.acks[0],
            self.acks[1]
        )
    }
}

/// Counts one SSH connection's segments into JA4SSH windows.
#[derive(Debug, Clone)]
pub struct Ja4SshMeter {
    window: u32,
    /// Payload lengths of the window's SSH packets, per side. Reused from
    /// window to window, so at most `window` entries ever.
    lens: [Vec<u32>; 2],
    acks: [u32; 2],
}

impl Default for Ja4SshMeter {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

impl Ja4SshMeter {
    /// A meter closing a window every `window` SSH packets (at least 1).
    pub fn new(window: u32) -> Self {
        Ja4SshMeter {
            window: window.max(1),
            lens: [Vec::new(), Vec::new()],
            acks: [0; 2],
        }
    }

    /// An SSH packet of `payload_len` bytes; returns the window's value when
    /// this packet fills it.
    pub fn ssh_packet(&mut self, side: Side, payload_len: usize) -> Option<Ja4Ssh> {
        let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
        self.lens[side as usize].push(len);
        let total = self.lens[0].len() + self.lens[1].len();
        (total >= self.window as usize).then(|| self.close())
    }

    /// A segment with only the ACK flag set that is not an SSH packet.
    pub fn bare_ack(&mut self, side: Side) {
        let a = &mut self.acks[side as usize];
        *a = a.saturating_add(1);
    }

    /// The value of the unfinished window at flow end: `None` when it saw
    /// no SSH packet.
    pub fn finish(&mut self) -> Option<Ja4Ssh> {
        let any = !self.lens[0].is_empty() || !self.lens[1].is_empty();
        any.then(|| self.close())
    }

    fn close(&mut self) -> Ja4Ssh {
        let v = Ja4Ssh {
            mode: [mode(&mut self.lens[0]), mode(&mut self.lens[1])],
            packets: [self.lens[0].len() as u32, self.lens[1].len() as u32],
            acks: self.acks,
        };
        self.lens[0].clear();
        self.lens[1].clear();
        self.acks = [0; 2];
        v
    }
}

/// The most frequent value, the smallest on a tie, 0 for none. Sorts in
/// place (the caller clears the list afterwards).
fn mode(values: &mut [u32]) -> u32 {
    values.sort_unstable();
    let (mut best, mut best_count) = (0, 0);
    for run in values.chunk_by(|a, b| a == b) {
        // Strictly greater: the first (smallest) of equally frequent values wins.
        if run.len() > best_count {
            (best, best_count) = (run[0], run.len());
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_rules_from_the_specification() {
        // "if 36 bytes appear 20 times, 128 bytes 10 times and 200 bytes 15
        // times, the mode is 36"; "if there is a collision, the smaller".
        let mut v: Vec<u32> = [(36, 20), (128, 10), (200, 15)]
            .iter()
            .flat_map(|&(l, n)| std::iter::repeat_n(l, n))
            .collect();
        assert_eq!(mode(&mut v), 36);
        assert_eq!(mode(&mut [21, 16, 64, 144, 24, 48, 792]), 16);
        assert_eq!(mode(&mut [200, 100, 200, 100]), 100);
        assert_eq!(mode(&mut []), 0);
    }

    #[test]
    fn formats_like_the_specification_example() {
        let v = Ja4Ssh {
            mode: [36, 36],
            packets: [55, 75],
            acks: [70, 0],
        };
        assert_eq!(v.to_string(), "c36s36_c55s75_c70s0");
    }

    #[test]
    fn window_closes_at_exactly_200_ssh_packets() {
        let mut m = Ja4SshMeter::default();
        for i in 0..199 {
            m.bare_ack(Side::Client);
            let side = if i % 2 == 0 {
                Side::Client
            } else {
                Side::Server
            };
            assert_eq!(m.ssh_packet(side, 36), None);
        }
        let v = m.ssh_packet(Side::Server, 52).unwrap();
        assert_eq!(v.to_string(), "c36s36_c100s100_c199s0");
        // Acks after the window belong to the next one; a window with only
        // acks is not reported.
        m.bare_ack(Side::Server);
        assert_eq!(m.finish(), None);
        m.ssh_packet(Side::Client, 100);
        assert_eq!(m.finish().unwrap().to_string(), "c100s0_c1s0_c0s1");
        assert_eq!(m.finish(), None);
    }

    #[test]
    fn one_sided_window() {
        let mut m = Ja4SshMeter::new(3);
        m.ssh_packet(Side::Server, 1460);
        m.ssh_packet(Side::Server, 1460);
        let v = m.ssh_packet(Side::Server, 100).unwrap();
        assert_eq!(v.to_string(), "c0s1460_c0s3_c0s0");
    }

    #[test]
    fn huge_lengths_saturate() {
        let mut m = Ja4SshMeter::new(1);
        let v = m.ssh_packet(Side::Client, usize::MAX).unwrap();
        assert_eq!(v.mode[0], u32::MAX);
    }
}
