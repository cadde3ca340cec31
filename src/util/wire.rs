//! Reading big-endian wire fields without ever reading past the end: the
//! one pair of `be16`/`be32` helpers and the one byte cursor that the
//! header views and the TLS, SSH and QUIC parsers share.

/// The input ended before the field being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

/// The big-endian `u16` at `at`, if two bytes are there.
#[inline]
pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// The big-endian `u32` at `at`, if four bytes are there.
#[inline]
pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// A cursor that reads wire fields front to back. Every read checks what
/// is left; a read that fails consumes nothing.
#[derive(Debug, Clone, Copy)]
pub struct ByteReader<'a> {
    /// The bytes not yet consumed.
    rest: &'a [u8],
    /// Length of the whole input, for [`ByteReader::pos`].
    len: usize,
}

impl<'a> ByteReader<'a> {
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        ByteReader {
            rest: buf,
            len: buf.len(),
        }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.len - self.rest.len()
    }

    /// Bytes not yet consumed.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The bytes not yet consumed.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    #[inline]
    pub fn peek_u8(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if n > self.rest.len() {
            return Err(Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Like [`ByteReader::take`] for a length read from the wire.
    pub fn take_u64(&mut self, n: u64) -> Result<&'a [u8], Truncated> {
        self.take(usize::try_from(n).map_err(|_| Truncated)?)
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    #[inline]
    pub fn u24(&mut self) -> Result<u32, Truncated> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Bytes behind a one-byte length (TLS `opaque x<0..2^8-1>`); on
    /// failure nothing is consumed.
    #[inline]
    pub fn vec8(&mut self) -> Result<&'a [u8], Truncated> {
        let start = *self;
        let n = self.u8()?;
        self.take(usize::from(n)).inspect_err(|_| *self = start)
    }

    /// Bytes behind a two-byte length.
    #[inline]
    pub fn vec16(&mut self) -> Result<&'a [u8], Truncated> {
        let start = *self;
        let n = self.u16()?;
        self.take(usize::from(n)).inspect_err(|_| *self = start)
    }

    /// Bytes behind a three-byte length.
    #[inline]
    pub fn vec24(&mut self) -> Result<&'a [u8], Truncated> {
        let start = *self;
        let n = self.u24()?;
        self.take(n as usize).inspect_err(|_| *self = start)
    }

    /// Bytes behind a four-byte length (an SSH `string` or `name-list`).
    pub fn vec32(&mut self) -> Result<&'a [u8], Truncated> {
        let start = *self;
        let n = self.u32()?;
        self.take_u64(u64::from(n)).inspect_err(|_| *self = start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_fields_check_the_length() {
        assert_eq!(be16(&[1, 2, 3], 1), Some(0x0203));
        assert_eq!(be16(&[1, 2, 3], 2), None);
        assert_eq!(be16(&[1, 2], usize::MAX), None);
        assert_eq!(be32(&[0, 1, 2, 3, 4], 1), Some(0x0102_0304));
        assert_eq!(be32(&[0, 1, 2, 3], 1), None);
        assert_eq!(be32(&[], usize::MAX - 1), None);
    }

    #[test]
    fn reader_refuses_to_overrun_and_consumes_nothing_then() {
        let mut r = ByteReader::new(&[0x00, 0x05, 1, 2]);
        assert_eq!(r.vec16(), Err(Truncated));
        assert_eq!(r.pos(), 0);
        let mut r = ByteReader::new(&[0xff, 0xff, 0xff]);
        assert_eq!(r.vec24(), Err(Truncated));
        assert_eq!(r.vec32(), Err(Truncated));
        assert_eq!(r.take_u64(u64::MAX), Err(Truncated));
        let mut r = ByteReader::new(&[1, 2, 3]);
        assert_eq!(r.u24(), Ok(0x010203));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(Truncated));
        assert_eq!(r.peek_u8(), None);
        let mut r = ByteReader::new(&[0, 0, 0, 2, 7, 8, 9]);
        assert_eq!(r.vec32(), Ok(&[7, 8][..]));
        assert_eq!(r.rest(), [9]);
        assert_eq!(r.pos(), 6);
    }
}
