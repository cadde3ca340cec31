//! QUIC variable-length integers (RFC 9000 section 16), read with the
//! shared bounds-checked [`ByteReader`].

pub use crate::util::wire::ByteReader;
use crate::util::wire::Truncated;

/// Reads QUIC variable-length integers.
pub trait ReadVarint {
    /// A variable-length integer: the two high bits of the first byte give
    /// its size (1, 2, 4 or 8 bytes). A short read consumes nothing.
    fn varint(&mut self) -> Result<u64, Truncated>;
}

impl ReadVarint for ByteReader<'_> {
    fn varint(&mut self) -> Result<u64, Truncated> {
        let first = self.peek_u8().ok_or(Truncated)?;
        let bytes = self.take(1usize << (first >> 6))?;
        let mut v = u64::from(first & 0x3f);
        for b in bytes.iter().skip(1) {
            v = (v << 8) | u64::from(*b);
        }
        Ok(v)
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
            let mut r = ByteReader::new(wire);
            assert_eq!(r.varint(), Ok(want));
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn truncated_reads_consume_nothing() {
        let mut r = ByteReader::new(&[0x80, 0x01]);
        assert_eq!(r.varint(), Err(Truncated));
        assert_eq!(r.pos(), 0);
        assert_eq!(r.take(3), Err(Truncated));
        assert_eq!(r.take_u64(u64::MAX), Err(Truncated));
        assert_eq!(r.u32(), Err(Truncated));
        assert_eq!(r.u8(), Ok(0x80));
    }
}
