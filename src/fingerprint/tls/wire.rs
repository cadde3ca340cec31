//! A bounds-checked cursor over handshake bytes. Every read checks what is
//! actually present, so parsers built on it cannot index out of range.

use super::TlsError;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], TlsError> {
        if n > self.buf.len() {
            return Err(TlsError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, TlsError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, TlsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self) -> Result<u32, TlsError> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// A vector with a one-byte length prefix (`opaque x<0..2^8-1>`).
    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], TlsError> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A vector with a two-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], TlsError> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A vector with a three-byte length prefix.
    pub(crate) fn vec24(&mut self) -> Result<&'a [u8], TlsError> {
        let n = self.u24()?;
        self.take(n as usize)
    }
}

/// Big-endian `u16` values packed in a byte slice (cipher suites, groups,
/// signature algorithms, versions). A trailing odd byte is ignored.
#[derive(Debug, Clone)]
pub struct U16List<'a>(std::slice::ChunksExact<'a, u8>);

impl<'a> U16List<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        U16List(bytes.chunks_exact(2))
    }

    pub(crate) fn empty() -> Self {
        U16List::new(&[])
    }
}

impl Iterator for U16List<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        self.0.next().map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for U16List<'_> {}

/// One extension: its type and raw data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    pub ty: u16,
    pub data: &'a [u8],
}

/// The extensions of a hello message in wire order. The block was validated
/// when the message was parsed, so iteration never meets a broken frame.
#[derive(Debug, Clone)]
pub struct Extensions<'a>(Reader<'a>);

impl<'a> Extensions<'a> {
    /// Checks that `block` is a sequence of whole extensions.
    pub(crate) fn validate(block: &'a [u8]) -> Result<Self, TlsError> {
        let mut r = Reader::new(block);
        while !r.is_empty() {
            r.u16()?;
            r.vec16()?;
        }
        Ok(Extensions(Reader::new(block)))
    }

    pub(crate) fn empty() -> Self {
        Extensions(Reader::new(&[]))
    }

    /// The data of the first extension of type `ty`.
    pub fn find(&self, ty: u16) -> Option<&'a [u8]> {
        self.clone().find_map(|e| (e.ty == ty).then_some(e.data))
    }

    pub fn contains(&self, ty: u16) -> bool {
        self.clone().any(|e| e.ty == ty)
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;

    fn next(&mut self) -> Option<Extension<'a>> {
        let ty = self.0.u16().ok()?;
        let data = self.0.vec16().ok()?;
        Some(Extension { ty, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_to_overrun() {
        let mut r = Reader::new(&[0x00, 0x05, 1, 2]);
        assert_eq!(r.vec16(), Err(TlsError::Truncated));
        let mut r = Reader::new(&[0xff, 0xff, 0xff]);
        assert_eq!(r.vec24(), Err(TlsError::Truncated));
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u24(), Ok(0x010203));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(TlsError::Truncated));
    }

    #[test]
    fn u16_list_ignores_odd_tail() {
        let v: Vec<u16> = U16List::new(&[0x13, 0x01, 0xc0, 0x2b, 0x99]).collect();
        assert_eq!(v, [0x1301, 0xc02b]);
    }

    #[test]
    fn extension_block_must_be_whole() {
        assert!(Extensions::validate(&[0, 0, 0, 1, 7]).is_ok());
        assert_eq!(
            Extensions::validate(&[0, 0, 0, 2, 7]).err(),
            Some(TlsError::Truncated)
        );
        assert_eq!(
            Extensions::validate(&[0, 0, 0]).err(),
            Some(TlsError::Truncated)
        );
        let e: Vec<_> = Extensions::validate(&[0, 0x10, 0, 1, 7, 0xff, 0x01, 0, 0])
            .unwrap()
            .collect();
        assert_eq!(
            e,
            [
                Extension { ty: 16, data: &[7] },
                Extension {
                    ty: 0xff01,
                    data: &[]
                }
            ]
        );
    }
}
