//! What `tls_certificate` reports of a leaf certificate, rendered once per
//! distinct certificate and then copied from a [`PrintCache`] keyed by the
//! certificate's DER: a server sends the same certificate on every
//! connection, and X.509 parsing is the dearest step of a TLS handshake.
//! (Keyed by the bytes rather than their SHA-256: a hit then hashes
//! nothing but the cache's index.)

use std::ops::Range;

use super::certificate::{parse_der, summary_of, CertError};
use crate::fingerprint::print_cache::PrintCache;

/// Sets of the cache (four entries each).
const SETS: usize = 16;
/// Larger certificates are parsed every time: bounds an entry to about
/// 32 KiB with its key, the cache to 2 MiB (leaf certificates are 1 to
/// 4 KiB).
const MAX_DER: usize = 8192;

/// The reported fields of one certificate, back to back in one buffer.
#[derive(Debug, Default)]
pub struct CertPrints {
    text: Vec<u8>,
    subject_cn: Range<usize>,
    issuer: Range<usize>,
    not_before: Range<usize>,
    not_after: Range<usize>,
    sans: Range<usize>,
    #[cfg(feature = "ja4plus")]
    ja4x: Range<usize>,
    serial: Range<usize>,
    sha256: Range<usize>,
    self_signed: bool,
}

impl CertPrints {
    /// Parses `der` and renders its fields into `self`; false when it
    /// does not parse.
    fn fill(&mut self, der: &[u8]) -> bool {
        let Ok(cert) = parse_der(der) else {
            return false;
        };
        let s = summary_of(&cert, der);
        let text = &mut self.text;
        text.clear();
        let put = |text: &mut Vec<u8>, value: &[u8]| {
            let start = text.len();
            text.extend_from_slice(value);
            start..text.len()
        };
        self.subject_cn = put(text, &s.subject_cn);
        self.issuer = put(text, &s.issuer);
        self.not_before = put(text, s.not_before.as_bytes());
        self.not_after = put(text, s.not_after.as_bytes());
        self.sans = put(text, &s.sans);
        #[cfg(feature = "ja4plus")]
        {
            let start = text.len();
            super::ja4x::write_ja4x(&cert, text);
            self.ja4x = start..text.len();
        }
        self.serial = put(text, s.serial.as_bytes());
        self.sha256 = put(text, s.cert_sha256.as_bytes());
        self.self_signed = s.self_signed;
        true
    }

    fn at(&self, r: &Range<usize>) -> &[u8] {
        &self.text[r.clone()]
    }

    pub fn subject_cn(&self) -> &[u8] {
        self.at(&self.subject_cn)
    }

    pub fn issuer(&self) -> &[u8] {
        self.at(&self.issuer)
    }

    pub fn self_signed(&self) -> bool {
        self.self_signed
    }

    pub fn not_before(&self) -> &[u8] {
        self.at(&self.not_before)
    }

    pub fn not_after(&self) -> &[u8] {
        self.at(&self.not_after)
    }

    pub fn sans(&self) -> &[u8] {
        self.at(&self.sans)
    }

    #[cfg(feature = "ja4plus")]
    pub fn ja4x(&self) -> &[u8] {
        self.at(&self.ja4x)
    }

    pub fn serial(&self) -> &[u8] {
        self.at(&self.serial)
    }

    pub fn cert_sha256(&self) -> &[u8] {
        self.at(&self.sha256)
    }
}

/// Certificates seen lately (one per engine; fixed size, see
/// [`PrintCache`]).
#[derive(Debug)]
pub struct CertPrintCache {
    cache: PrintCache<CertPrints>,
    /// The fields of a certificate too large to cache.
    uncached: CertPrints,
}

impl Default for CertPrintCache {
    fn default() -> Self {
        CertPrintCache {
            cache: PrintCache::new(SETS, MAX_DER),
            uncached: CertPrints::default(),
        }
    }
}

impl CertPrintCache {
    /// The reported fields of the DER certificate `der`.
    pub fn prints(&mut self, der: &[u8]) -> Result<&CertPrints, CertError> {
        if der.len() > MAX_DER {
            return match self.uncached.fill(der) {
                true => Ok(&self.uncached),
                false => Err(CertError),
            };
        }
        self.cache
            .get_or_fill(der, |p| p.fill(der))
            .ok_or(CertError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::tls::certificate::summarize;

    #[test]
    fn cached_fields_equal_the_summary() {
        let mut ders = vec![include_bytes!("testdata/selfsigned-escapes.der").to_vec()];
        ders.push(b"not a certificate".to_vec());
        let mut cache = CertPrintCache::default();
        for _ in 0..2 {
            for der in &ders {
                let got = cache.prints(der);
                let Ok(s) = summarize(der) else {
                    assert!(got.is_err());
                    continue;
                };
                let p = got.unwrap();
                assert_eq!(p.subject_cn(), s.subject_cn);
                assert_eq!(p.issuer(), s.issuer);
                assert_eq!(p.self_signed(), s.self_signed);
                assert_eq!(p.not_before(), s.not_before.as_bytes());
                assert_eq!(p.not_after(), s.not_after.as_bytes());
                assert_eq!(p.sans(), s.sans);
                assert_eq!(p.serial(), s.serial.as_bytes());
                assert_eq!(p.cert_sha256(), s.cert_sha256.as_bytes());
                #[cfg(feature = "ja4plus")]
                {
                    let cert = parse_der(der).unwrap();
                    let mut ja4x = Vec::new();
                    super::super::ja4x::write_ja4x(&cert, &mut ja4x);
                    assert_eq!(p.ja4x(), ja4x);
                }
            }
        }
    }
}
