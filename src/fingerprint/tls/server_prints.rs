//! The fingerprints of a ServerHello that depend only on its choices and
//! extension list (JA3S, JA4S, `tls_version`, `cipher`), rendered once per
//! distinct answer and then copied from a [`PrintMemo`]: a server answers
//! the same way to every client that offers the same things.
//!
//! The key is every input of those values, read through the same
//! accessors the fingerprint code reads: the legacy and negotiated
//! versions, the cipher, JA4S's two ALPN characters and the GREASE-free
//! extension types in wire order.

use std::ops::Range;

use super::grease::non_grease;
use super::ja3::write_ja3s_hash;
use super::ja4::alpn_pair;
#[cfg(feature = "ja4plus")]
use super::ja4::HelloTransport;
use super::version::push_version_text;
use super::{push_hex, ServerHello};
use crate::fingerprint::print_cache::PrintMemo;

/// Sets of the cache (four entries each).
const SETS: usize = 64;
/// Longest key kept (about 120 extensions; servers send a handful).
const MAX_KEY: usize = 256;

/// The choice-derived fingerprints of one ServerHello. JA4S is kept with a
/// placeholder transport letter, set when written.
#[derive(Debug, Default)]
pub struct ServerPrints {
    text: Vec<u8>,
    ja3s: Range<usize>,
    #[cfg(feature = "ja4plus")]
    ja4s: Range<usize>,
    version: Range<usize>,
    cipher: Range<usize>,
}

impl ServerPrints {
    fn fill(&mut self, sh: &ServerHello) {
        let text = &mut self.text;
        text.clear();
        let put = |text: &mut Vec<u8>, write: &mut dyn FnMut(&mut Vec<u8>)| {
            let start = text.len();
            write(text);
            start..text.len()
        };
        self.ja3s = put(text, &mut |t| write_ja3s_hash(sh, t));
        #[cfg(feature = "ja4plus")]
        {
            self.ja4s = put(text, &mut |t| {
                super::ja4s::write_ja4s(sh, HelloTransport::Tcp, t)
            });
        }
        self.version = put(text, &mut |t| push_version_text(sh.version(), t));
        self.cipher = put(text, &mut |t| push_hex(&sh.cipher.to_be_bytes(), t));
    }

    pub fn ja3s(&self) -> &[u8] {
        &self.text[self.ja3s.clone()]
    }

    /// Appends JA4S for a hello that travelled over `transport`.
    #[cfg(feature = "ja4plus")]
    pub fn write_ja4s(&self, transport: HelloTransport, out: &mut Vec<u8>) {
        if let [_, rest @ ..] = &self.text[self.ja4s.clone()] {
            out.push(transport.letter() as u8);
            out.extend_from_slice(rest);
        }
    }

    /// `tls_version`: the negotiated version as text.
    pub fn tls_version(&self) -> &[u8] {
        &self.text[self.version.clone()]
    }

    /// `cipher`: the chosen suite in hex.
    pub fn cipher(&self) -> &[u8] {
        &self.text[self.cipher.clone()]
    }
}

/// ServerHello fingerprints of the answers seen lately (one per engine;
/// fixed size, see [`PrintMemo`]).
#[derive(Debug)]
pub struct ServerPrintCache(PrintMemo<ServerPrints>);

impl Default for ServerPrintCache {
    fn default() -> Self {
        ServerPrintCache(PrintMemo::new(SETS, MAX_KEY))
    }
}

impl ServerPrintCache {
    /// The fingerprints of `sh`.
    pub fn prints(&mut self, sh: &ServerHello) -> &ServerPrints {
        self.0.get(|key| write_key(sh, key), |p| p.fill(sh))
    }
}

/// Appends every input of [`ServerPrints`] read from `sh`.
fn write_key(sh: &ServerHello, key: &mut Vec<u8>) {
    key.clear();
    key.extend_from_slice(&sh.legacy_version.to_be_bytes());
    key.extend_from_slice(&sh.version().to_be_bytes());
    key.extend_from_slice(&sh.cipher.to_be_bytes());
    key.extend_from_slice(&alpn_pair(sh.alpn_selected()));
    for ty in non_grease(sh.extensions().map(|e| e.ty)) {
        key.extend_from_slice(&ty.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::tls::ja3::ja3s;
    use crate::fingerprint::tls::server_hello::tests::build;

    /// Every value equals the direct computation, cached or not.
    #[test]
    fn cached_values_equal_fresh_ones() {
        let alpn = |name: &[u8]| {
            let mut d = ((name.len() + 1) as u16).to_be_bytes().to_vec();
            d.push(name.len() as u8);
            d.extend_from_slice(name);
            (16u16, d)
        };
        let bodies = [
            build(
                0x0303,
                [1; 32],
                0x1301,
                &[(43, vec![3, 4]), (51, vec![0; 4])],
            ),
            // Another random and key share: the same entry.
            build(
                0x0303,
                [2; 32],
                0x1301,
                &[(43, vec![3, 4]), (51, vec![1; 4])],
            ),
            build(0x0303, [1; 32], 0xc02f, &[(0xff01, vec![0]), alpn(b"h2")]),
            build(
                0x0303,
                [1; 32],
                0xc02f,
                &[(0xff01, vec![0]), alpn(b"http/1.1")],
            ),
            build(
                0x0303,
                [1; 32],
                0xc02f,
                &[(0x0a0a, vec![]), (0xff01, vec![0])],
            ),
            build(0x0301, [1; 32], 0x002f, &[]),
        ];
        let mut cache = ServerPrintCache::default();
        for _ in 0..2 {
            for body in &bodies {
                let sh = ServerHello::parse(body).unwrap();
                let p = cache.prints(&sh);
                assert_eq!(p.ja3s(), ja3s(&sh).hash.as_bytes());
                let mut want = Vec::new();
                push_version_text(sh.version(), &mut want);
                assert_eq!(p.tls_version(), want);
                want.clear();
                push_hex(&sh.cipher.to_be_bytes(), &mut want);
                assert_eq!(p.cipher(), want);
                #[cfg(feature = "ja4plus")]
                for t in [
                    HelloTransport::Tcp,
                    HelloTransport::Quic,
                    HelloTransport::Dtls,
                ] {
                    let mut out = Vec::new();
                    p.write_ja4s(t, &mut out);
                    assert_eq!(
                        out,
                        crate::fingerprint::tls::ja4s::ja4s(&sh, t).ja4s.as_bytes()
                    );
                }
            }
        }
    }
}
