//! The HTTP/2 preface fingerprint in Akamai's format (Shuster and Segal,
//! "Passive Fingerprinting of HTTP/2 Clients", Black Hat EU 2017), as
//! widely used: `S[;]|WU|P[,]|PS[,]`.
//!
//! - S: every SETTINGS parameter the client sent before its first request,
//!   `id:value` in decimal, in order, joined by `;`.
//! - WU: the increment of the first connection WINDOW_UPDATE, else `00`.
//! - P: PRIORITY frames before the request,
//!   `stream:exclusive:depends_on:weight` (weight 1-256, the frame's
//!   byte plus one), joined by `,`, else `0`.
//! - PS: the request's pseudo-header fields in order, `m` `:method`, `a`
//!   `:authority`, `s` `:scheme`, `p` `:path`, joined by `,` (other
//!   pseudo-headers, `:protocol`, are not letters of the format and are
//!   left out).

use super::hpack::HeaderList;

/// SETTINGS parameters kept (clients send 2 to 9).
pub const MAX_SETTINGS: usize = 32;
/// PRIORITY frames kept (Firefox sent 6).
pub const MAX_PRIORITIES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub stream: u32,
    pub exclusive: bool,
    pub depends_on: u32,
    /// 1-256.
    pub weight: u16,
}

/// What the client sent before its first request.
#[derive(Debug, Default, Clone)]
pub struct Preface {
    pub settings: Vec<(u16, u32)>,
    pub window_update: Option<u32>,
    pub priorities: Vec<Priority>,
    /// Pseudo-header letters in order.
    pseudo: [u8; 4],
    pseudo_len: u8,
    /// SETTINGS frames seen (ACKs included).
    pub settings_frames: u32,
    /// SETTINGS parameters and PRIORITY frames past the caps, not kept.
    pub dropped: u32,
}

impl Preface {
    pub fn add_setting(&mut self, id: u16, value: u32) {
        if self.settings.len() < MAX_SETTINGS {
            self.settings.push((id, value));
        } else {
            self.dropped += 1;
        }
    }

    pub fn add_priority(&mut self, stream: u32, exclusive: bool, depends_on: u32, weight: u8) {
        if self.priorities.len() < MAX_PRIORITIES {
            self.priorities.push(Priority {
                stream,
                exclusive,
                depends_on,
                weight: u16::from(weight) + 1,
            });
        } else {
            self.dropped += 1;
        }
    }

    /// Takes the pseudo-header order of the request's fields.
    pub fn set_pseudo_order(&mut self, headers: &HeaderList) {
        self.pseudo_len = 0;
        for (name, _) in headers.iter() {
            let letter = match name {
                b":method" => b'm',
                b":authority" => b'a',
                b":scheme" => b's',
                b":path" => b'p',
                _ => continue,
            };
            if let Some(slot) = self.pseudo.get_mut(usize::from(self.pseudo_len)) {
                *slot = letter;
                self.pseudo_len += 1;
            }
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.settings.capacity() * 8 + self.priorities.capacity() * 16
    }

    /// Appends the fingerprint.
    pub fn write_akamai(&self, out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        for (i, (id, value)) in self.settings.iter().enumerate() {
            if i > 0 {
                out.push(b';');
            }
            out.extend_from_slice(num.format(*id).as_bytes());
            out.push(b':');
            out.extend_from_slice(num.format(*value).as_bytes());
        }
        out.push(b'|');
        match self.window_update {
            Some(n) => out.extend_from_slice(num.format(n).as_bytes()),
            None => out.extend_from_slice(b"00"),
        }
        out.push(b'|');
        if self.priorities.is_empty() {
            out.push(b'0');
        }
        for (i, p) in self.priorities.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(num.format(p.stream).as_bytes());
            out.extend_from_slice(if p.exclusive { b":1:" } else { b":0:" });
            out.extend_from_slice(num.format(p.depends_on).as_bytes());
            out.push(b':');
            out.extend_from_slice(num.format(p.weight).as_bytes());
        }
        out.push(b'|');
        for (i, letter) in self.pseudo[..usize::from(self.pseudo_len)]
            .iter()
            .enumerate()
        {
            if i > 0 {
                out.push(b',');
            }
            out.push(*letter);
        }
    }

    /// The fingerprint as a string.
    pub fn akamai(&self) -> String {
        let mut out = Vec::new();
        self.write_akamai(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_what_they_drop() {
        let mut p = Preface::default();
        for i in 0..40 {
            p.add_setting(i, 1);
            p.add_priority(u32::from(i) * 2 + 1, false, 0, 255);
        }
        assert_eq!(p.settings.len(), MAX_SETTINGS);
        assert_eq!(p.priorities.len(), MAX_PRIORITIES);
        assert_eq!(p.dropped, 8 + 24);
        assert!(p.akamai().contains("|1:0:0:256,3:0:0:256,"));
    }

    #[test]
    fn empty_preface() {
        assert_eq!(Preface::default().akamai(), "|00|0|");
    }
}
