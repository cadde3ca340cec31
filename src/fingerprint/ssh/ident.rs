//! The SSH identification line (RFC 4253 section 4.2).
//!
//! `SSH-protoversion-softwareversion SP comments CR LF`, at most 255 bytes
//! including CR LF. Peers break every part of that rule, and a sensor for a
//! honeypot reports what was sent, not what should have been: the collector
//! stops at LF (a missing CR is fine), keeps at most [`MAX_IDENT_LEN`] bytes
//! and reports any bytes it got, NUL and invalid UTF-8 included.

/// The longest identification line we keep, CR LF excluded (RFC 4253: 255
/// bytes including CR LF; we keep 255 bytes of text so that a line that is
/// exactly at the limit without CR is not cut).
pub const MAX_IDENT_LEN: usize = 255;

/// Collects one line from a byte stream that may split it anywhere.
#[derive(Debug, Clone, Default)]
pub struct LineCollector {
    line: Vec<u8>,
    /// The line went past [`MAX_IDENT_LEN`]: the text is cut, and bytes
    /// are skipped until LF.
    truncated: bool,
}

/// What [`LineCollector::push`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// The line is not finished: every byte of the input was used.
    Partial,
    /// The line ended (LF) after this many bytes of the input.
    Complete { used: usize },
}

impl LineCollector {
    /// Heap bytes the collector holds (for the memory budget).
    pub fn heap_bytes(&self) -> usize {
        crate::util::budget::heap_cost(self.line.capacity())
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream. Never stores more than
    /// [`MAX_IDENT_LEN`] bytes however long the line is.
    pub fn push(&mut self, data: &[u8]) -> LineStatus {
        let (part, status) = match memchr::memchr(b'\n', data) {
            Some(i) => (&data[..i], LineStatus::Complete { used: i + 1 }),
            None => (data, LineStatus::Partial),
        };
        // Keep one byte more than the limit so that a CR at position 256
        // (right before LF) can still be recognised and dropped.
        let room = (MAX_IDENT_LEN + 1).saturating_sub(self.line.len());
        if part.len() > room {
            self.truncated = true;
        }
        self.line.extend_from_slice(&part[..part.len().min(room)]);
        status
    }

    /// Bytes collected so far exceed the limit (the reported text is cut).
    pub fn is_truncated(&self) -> bool {
        self.truncated || self.text_len() > MAX_IDENT_LEN
    }

    /// The line without its CR LF, at most [`MAX_IDENT_LEN`] bytes. Usable
    /// on a partial line too (a peer that never sends LF).
    pub fn text(&self) -> &[u8] {
        let end = self.text_len().min(MAX_IDENT_LEN);
        &self.line[..end]
    }

    /// Nothing of the line has arrived yet.
    pub fn is_empty(&self) -> bool {
        self.line.is_empty() && !self.truncated
    }

    /// Forgets the current line (the next line starts).
    pub fn clear(&mut self) {
        self.line.clear();
        self.truncated = false;
    }

    fn text_len(&self) -> usize {
        match self.line.last() {
            Some(b'\r') => self.line.len() - 1,
            _ => self.line.len(),
        }
    }
}

/// The parts of an identification line. Every part is the raw bytes as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident<'a> {
    /// `2.0`, `1.99`, `1.5`, or whatever followed `SSH-`.
    pub proto_version: &'a [u8],
    /// `OpenSSH_9.2p1`: up to the first space.
    pub software: &'a [u8],
    /// Text after the first space, if any.
    pub comments: Option<&'a [u8]>,
}

/// The protocol family a peer announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoFamily {
    /// `SSH-2.0` and `SSH-1.99` (a server that also speaks 1.x).
    V2,
    /// `SSH-1.x` other than 1.99: the old binary packet format.
    V1,
}

impl<'a> Ident<'a> {
    /// Splits a line that starts with `SSH-`; `None` otherwise.
    pub fn parse(line: &'a [u8]) -> Option<Ident<'a>> {
        let rest = line.strip_prefix(b"SSH-")?;
        let (proto_version, rest) = match memchr::memchr(b'-', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let (software, comments) = match memchr::memchr(b' ', rest) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        Some(Ident {
            proto_version,
            software,
            comments,
        })
    }

    pub fn family(&self) -> ProtoFamily {
        if self.proto_version.starts_with(b"1.") && self.proto_version != b"1.99" {
            ProtoFamily::V1
        } else {
            ProtoFamily::V2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> (Vec<u8>, Option<usize>, bool) {
        let mut c = LineCollector::new();
        for (i, chunk) in chunks.iter().enumerate() {
            if let LineStatus::Complete { used } = c.push(chunk) {
                return (c.text().to_vec(), Some(i * 1000 + used), c.is_truncated());
            }
        }
        (c.text().to_vec(), None, c.is_truncated())
    }

    #[test]
    fn line_with_crlf_and_following_bytes() {
        let (text, used, cut) = collect(&[b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\0\0\x01\x2c"]);
        assert_eq!(text, b"SSH-2.0-OpenSSH_9.2p1 Debian-2");
        assert_eq!(used, Some(32));
        assert!(!cut);
    }

    #[test]
    fn line_split_across_segments_and_lf_only() {
        let (text, used, _) = collect(&[b"SS", b"H-2.0-Op", b"enSSH\nrest"]);
        assert_eq!(text, b"SSH-2.0-OpenSSH");
        assert_eq!(used, Some(2000 + 6));
    }

    #[test]
    fn cr_split_from_lf() {
        let (text, used, _) = collect(&[b"SSH-2.0-x\r", b"\n"]);
        assert_eq!(text, b"SSH-2.0-x");
        assert_eq!(used, Some(1001));
    }

    #[test]
    fn odd_bytes_are_kept() {
        let (text, _, _) = collect(&[b"SSH-2.0-\0\x01\xff\xfe evil\tx\r\n"]);
        assert_eq!(text, b"SSH-2.0-\0\x01\xff\xfe evil\tx");
    }

    #[test]
    fn only_the_last_cr_is_dropped() {
        let (text, _, _) = collect(&[b"SSH-2.0-x\r\r\n"]);
        assert_eq!(text, b"SSH-2.0-x\r");
    }

    #[test]
    fn long_line_is_cut_at_255_and_stays_bounded() {
        let mut c = LineCollector::new();
        let big = vec![b'A'; 100_000];
        for _ in 0..10 {
            assert_eq!(c.push(&big), LineStatus::Partial);
        }
        assert!(c.line.capacity() < 4096, "buffer must stay bounded");
        assert_eq!(c.text().len(), MAX_IDENT_LEN);
        assert!(c.is_truncated());
        assert_eq!(c.push(b"AA\r\nSSH"), LineStatus::Complete { used: 4 });
        assert_eq!(c.text().len(), MAX_IDENT_LEN);
    }

    #[test]
    fn exactly_255_bytes_with_crlf_is_not_cut() {
        let mut line = vec![b'x'; 255];
        line.extend_from_slice(b"\r\n");
        let (text, _, cut) = collect(&[&line]);
        assert_eq!(text.len(), 255);
        assert!(!cut);
        let mut line = vec![b'x'; 256];
        line.push(b'\n');
        let (text, _, cut) = collect(&[&line]);
        assert_eq!(text.len(), 255);
        assert!(cut);
    }

    #[test]
    fn partial_line_without_newline_is_readable() {
        let mut c = LineCollector::new();
        assert!(c.is_empty());
        c.push(b"SSH-2.0-noeol");
        assert_eq!(c.text(), b"SSH-2.0-noeol");
        assert!(!c.is_empty());
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn ident_parts() {
        let id = Ident::parse(b"SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5").unwrap();
        assert_eq!(id.proto_version, b"2.0");
        assert_eq!(id.software, b"OpenSSH_7.6p1");
        assert_eq!(id.comments, Some(&b"Ubuntu-4ubuntu0.5"[..]));
        assert_eq!(id.family(), ProtoFamily::V2);

        let id = Ident::parse(b"SSH-1.99-OpenSSH_3.9p1").unwrap();
        assert_eq!(id.family(), ProtoFamily::V2);
        assert_eq!(id.comments, None);
        assert_eq!(
            Ident::parse(b"SSH-1.5-1.2.26").unwrap().family(),
            ProtoFamily::V1
        );

        let id = Ident::parse(b"SSH-").unwrap();
        assert_eq!((id.proto_version, id.software), (&b""[..], &b""[..]));
        assert!(Ident::parse(b"GET / HTTP/1.1").is_none());
        assert!(Ident::parse(b"ssh-2.0-lower").is_none());
    }
}
