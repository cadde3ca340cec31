//! A bounds-checked reader over wire bytes, with QUIC variable-length
//! integers (RFC 9000 section 16).

/// A cursor over a byte slice; every read checks what is left.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub fn peek_u8(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = self.peek_u8()?;
        self.pos += 1;
        Some(b)
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.bytes(4)?.try_into().ok()?))
    }

    /// The next `n` bytes, or `None` (consuming nothing) if fewer are left.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let b = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    /// Like [`Reader::bytes`] for a length read from the wire.
    pub fn bytes_u64(&mut self, n: u64) -> Option<&'a [u8]> {
        self.bytes(usize::try_from(n).ok()?)
    }

    /// A variable-length integer: the two high bits of the first byte give
    /// its size (1, 2, 4 or 8 bytes).
    pub fn varint(&mut self) -> Option<u64> {
        let first = self.peek_u8()?;
        let len = 1usize << (first >> 6);
        let bytes = self.bytes(len)?;
        let mut v = u64::from(first & 0x3f);
        for b in bytes.iter().skip(1) {
            v = (v << 8) | u64::from(*b);
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The examples of RFC 9000 appendix A.1.
    #[test]
    fn rfc9000_varint_examples() {
        let cases: [(&[u8], u64); 5] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
            (&[0x40, 0x25], 37),
        ];
        for (wire, want) in cases {
            let mut r = Reader::new(wire);
            assert_eq!(r.varint(), Some(want));
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn truncated_reads_consume_nothing() {
        let mut r = Reader::new(&[0x80, 0x01]);
        assert_eq!(r.varint(), None);
        assert_eq!(r.pos(), 0);
        assert_eq!(r.bytes(3), None);
        assert_eq!(r.bytes_u64(u64::MAX), None);
        assert_eq!(r.u32(), None);
        assert_eq!(r.u8(), Some(0x80));
    }
}
