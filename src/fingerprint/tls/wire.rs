//! Handshake building blocks read with the shared bounds-checked
//! [`ByteReader`]: every read checks what is actually present, so parsers
//! built on it cannot index out of range.

pub(crate) use crate::util::wire::ByteReader;
use crate::util::wire::Truncated;

use super::TlsError;

impl From<Truncated> for TlsError {
    fn from(_: Truncated) -> Self {
        TlsError::Truncated
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
pub struct Extensions<'a>(ByteReader<'a>);

impl<'a> Extensions<'a> {
    /// Checks that `block` is a sequence of whole extensions.
    pub(crate) fn validate(block: &'a [u8]) -> Result<Self, TlsError> {
        let mut r = ByteReader::new(block);
        while !r.is_empty() {
            r.u16()?;
            r.vec16()?;
        }
        Ok(Extensions(ByteReader::new(block)))
    }

    pub(crate) fn empty() -> Self {
        Extensions(ByteReader::new(&[]))
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
    fn a_short_read_is_a_truncated_handshake() {
        let read =
            || -> Result<&[u8], TlsError> { Ok(ByteReader::new(&[0x00, 0x05, 1, 2]).vec16()?) };
        assert_eq!(read(), Err(TlsError::Truncated));
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
