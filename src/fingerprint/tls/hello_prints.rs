//! The fingerprints of a ClientHello that depend only on its lists (JA3,
//! JA4 and their strings, `raw_ciphers`, `raw_extensions`, `tls_version`),
//! rendered once per distinct client and then copied from a
//! [`PrintMemo`]: a scanner that sends the same hello ten thousand times
//! is hashed once.
//!
//! The cache key is every input of those values, read through the same
//! accessors the fingerprint code reads: the legacy and highest versions,
//! the GREASE-free cipher, extension, group, signature algorithm lists,
//! the point formats and JA4's two ALPN characters. Hellos that differ
//! only in what no fingerprint reads (random, session id, key shares, the
//! SNI text, padding, GREASE values) share an entry. The SNI, ALPN list and
//! resumption fields are read from each hello.

use std::ops::Range;

use super::client_hello::{point_formats_in, u16_vector_in, AlpnList};
use super::ext;
use super::grease::{is_grease, non_grease};
use super::ja3::Ja3Text;
use super::ja4::{alpn_pair, HelloTransport, Ja4Parts};
use super::version::push_version_text;
use super::ClientHello;
use crate::fingerprint::print_cache::PrintMemo;

/// Sets of the cache (four entries each): a few hundred distinct clients.
const SETS: usize = 128;
/// Longest key kept (about 180 list values, twice the largest hello of
/// the usual clients); longer hellos are computed every time. Bounds an
/// entry to about 3 KiB, the cache to 1.5 MiB.
const MAX_KEY: usize = 384;

/// The list-derived fingerprints of one ClientHello. JA4 values are kept
/// with a placeholder transport letter, set when written.
#[derive(Debug, Default)]
pub struct HelloPrints {
    text: Vec<u8>,
    ja3: Range<usize>,
    ja3_string: Range<usize>,
    ciphers: Range<usize>,
    extensions: Range<usize>,
    ja4: Range<usize>,
    ja4_r: Range<usize>,
    ja4_o: Range<usize>,
    version: Range<usize>,
}

impl HelloPrints {
    /// Renders every value of `ch` into `self`, reusing its buffer.
    fn fill(&mut self, ch: &ClientHello) {
        let text = &mut self.text;
        text.clear();
        let ja3 = Ja3Text::new(ch);
        let mut ja4 = Ja4Parts::new(ch, HelloTransport::Tcp);
        let put = |text: &mut Vec<u8>, write: &mut dyn FnMut(&mut Vec<u8>)| {
            let start = text.len();
            write(text);
            start..text.len()
        };
        self.ja3 = put(text, &mut |t| ja3.write_hash(t));
        let base = text.len();
        text.extend_from_slice(&ja3.string);
        self.ja3_string = base..text.len();
        let (c, e) = (ja3.ciphers_range(), ja3.extensions_range());
        self.ciphers = base + c.start..base + c.end;
        self.extensions = base + e.start..base + e.end;
        self.ja4 = put(text, &mut |t| ja4.write_ja4(t));
        self.ja4_r = put(text, &mut |t| ja4.write_ja4_r(t));
        self.ja4_o = put(text, &mut |t| ja4.write_ja4_o(t));
        self.version = put(text, &mut |t| push_version_text(ch.highest_version(), t));
    }

    /// The JA3 hash.
    pub fn ja3(&self) -> &[u8] {
        &self.text[self.ja3.clone()]
    }

    /// The JA3 string.
    pub fn ja3_string(&self) -> &[u8] {
        &self.text[self.ja3_string.clone()]
    }

    /// `raw_ciphers`: the JA3 cipher list.
    pub fn raw_ciphers(&self) -> &[u8] {
        &self.text[self.ciphers.clone()]
    }

    /// `raw_extensions`: the JA3 extension list.
    pub fn raw_extensions(&self) -> &[u8] {
        &self.text[self.extensions.clone()]
    }

    /// `tls_version`: the highest version offered, as text.
    pub fn tls_version(&self) -> &[u8] {
        &self.text[self.version.clone()]
    }

    /// Appends JA4 for a hello that travelled over `transport`.
    pub fn write_ja4(&self, transport: HelloTransport, out: &mut Vec<u8>) {
        self.write_lettered(self.ja4.clone(), transport, out);
    }

    /// Appends `ja4_r`.
    pub fn write_ja4_r(&self, transport: HelloTransport, out: &mut Vec<u8>) {
        self.write_lettered(self.ja4_r.clone(), transport, out);
    }

    /// Appends `ja4_o`.
    pub fn write_ja4_o(&self, transport: HelloTransport, out: &mut Vec<u8>) {
        self.write_lettered(self.ja4_o.clone(), transport, out);
    }

    fn write_lettered(&self, at: Range<usize>, transport: HelloTransport, out: &mut Vec<u8>) {
        let value = &self.text[at];
        if let [_, rest @ ..] = value {
            out.push(transport.letter() as u8);
            out.extend_from_slice(rest);
        }
    }
}

/// ClientHello fingerprints of the clients seen lately (one per engine
/// and per datagram analyzer; fixed size, see [`PrintMemo`]).
#[derive(Debug)]
pub struct HelloPrintCache(PrintMemo<HelloPrints>);

impl Default for HelloPrintCache {
    fn default() -> Self {
        HelloPrintCache(PrintMemo::new(SETS, MAX_KEY))
    }
}

impl HelloPrintCache {
    /// The fingerprints of `ch`.
    pub fn prints(&mut self, ch: &ClientHello) -> &HelloPrints {
        self.0.get(|key| write_key(ch, key), |p| p.fill(ch))
    }
}

/// Appends every input of [`HelloPrints`] read from `ch`, each list with
/// its length so that no two hellos with different lists share a key.
///
/// The extensions are walked once: the lists read from single extensions
/// are taken from the first extension of each type, as
/// [`ClientHello::extension`] finds them, and decoded by the same helpers
/// as the accessors.
fn write_key(ch: &ClientHello, key: &mut Vec<u8>) {
    key.clear();
    let list = |key: &mut Vec<u8>, values: &mut dyn Iterator<Item = u16>| {
        let at = key.len();
        key.extend_from_slice(&[0; 4]);
        let mut n = 0u32;
        for v in values {
            key.extend_from_slice(&v.to_be_bytes());
            n += 1;
        }
        key[at..at + 4].copy_from_slice(&n.to_be_bytes());
    };
    // Version and ALPN pair go first but depend on extensions: reserved
    // here, written after the walk.
    key.extend_from_slice(&ch.legacy_version.to_be_bytes());
    key.extend_from_slice(&[0; 4]);
    list(key, &mut non_grease(ch.ciphers()));
    let mut found: [Option<&[u8]>; 5] = [None; 5];
    let types_at = key.len();
    key.extend_from_slice(&[0; 4]);
    let mut n = 0u32;
    for e in ch.extensions() {
        let slot = match e.ty {
            ext::SUPPORTED_VERSIONS => Some(0),
            ext::ALPN => Some(1),
            ext::SUPPORTED_GROUPS => Some(2),
            ext::SIGNATURE_ALGORITHMS => Some(3),
            ext::EC_POINT_FORMATS => Some(4),
            _ => None,
        };
        if let Some(i) = slot {
            found[i].get_or_insert(e.data);
        }
        if !is_grease(e.ty) {
            key.extend_from_slice(&e.ty.to_be_bytes());
            n += 1;
        }
    }
    key[types_at..types_at + 4].copy_from_slice(&n.to_be_bytes());
    let [versions, alpn, groups, sigalgs, points] = found;
    key[2..4].copy_from_slice(&ch.highest_version_in(versions).to_be_bytes());
    key[4..6].copy_from_slice(&alpn_pair(AlpnList::from_extension(alpn).next()));
    list(key, &mut non_grease(u16_vector_in(groups)));
    list(key, &mut non_grease(u16_vector_in(sigalgs)));
    list(
        key,
        &mut point_formats_in(points).iter().map(|&p| u16::from(p)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::tls::client_hello::tests::{alpn_ext, build, sni_ext, u16_ext};
    use crate::fingerprint::tls::ja3::ja3;
    use crate::fingerprint::tls::ja4::ja4;

    fn hello(grease: u16, sni: &[u8], sigalgs: &[u16], alpn: &[&[u8]]) -> Vec<u8> {
        build(
            0x0303,
            &[1; 32],
            &[grease, 0x1301, 0xc02b, 0x002f],
            &[
                (grease, vec![]),
                sni_ext(sni),
                alpn_ext(alpn),
                u16_ext(10, &[grease, 29, 23], 2),
                (11, vec![1, 0]),
                u16_ext(13, sigalgs, 2),
                u16_ext(43, &[grease, 0x0304, 0x0303], 1),
            ],
        )
    }

    /// Every value equals the direct computation, whether it came from the
    /// cache or not, for hellos that share an entry and hellos that do not.
    #[test]
    fn cached_values_equal_fresh_ones() {
        let bodies = [
            hello(0x0a0a, b"a.example", &[0x0403, 0x0804], &[b"h2"]),
            // Other GREASE and SNI text: the same entry.
            hello(0x3a3a, b"b.example", &[0x0403, 0x0804], &[b"h2"]),
            // Another signature algorithm order, another ALPN: other entries.
            hello(0x0a0a, b"a.example", &[0x0804, 0x0403], &[b"h2"]),
            hello(0x0a0a, b"a.example", &[0x0403, 0x0804], &[b"http/1.1"]),
            build(0x0301, &[], &[4, 5], &[]),
        ];
        let mut cache = HelloPrintCache::default();
        for round in 0..2 {
            for body in &bodies {
                let ch = ClientHello::parse(body).unwrap();
                let p = cache.prints(&ch);
                let j3 = ja3(&ch);
                let text = Ja3Text::new(&ch);
                assert_eq!(p.ja3(), j3.hash.as_bytes(), "round {round}");
                assert_eq!(p.ja3_string(), j3.string.as_bytes());
                assert_eq!(p.raw_ciphers(), text.ciphers());
                assert_eq!(p.raw_extensions(), text.extensions());
                let mut version = Vec::new();
                push_version_text(ch.highest_version(), &mut version);
                assert_eq!(p.tls_version(), version);
                for t in [
                    HelloTransport::Tcp,
                    HelloTransport::Quic,
                    HelloTransport::Dtls,
                ] {
                    let j4 = ja4(&ch, t);
                    let mut out = Vec::new();
                    p.write_ja4(t, &mut out);
                    assert_eq!(out, j4.ja4.as_bytes());
                    out.clear();
                    p.write_ja4_r(t, &mut out);
                    assert_eq!(out, j4.ja4_r.as_bytes());
                    out.clear();
                    p.write_ja4_o(t, &mut out);
                    assert_eq!(out, j4.ja4_o.as_bytes());
                }
            }
        }
    }

    #[test]
    fn a_hello_past_the_key_limit_is_still_fingerprinted() {
        let ciphers: Vec<u16> = (1..400).collect();
        let body = build(0x0303, &[], &ciphers, &[]);
        let ch = ClientHello::parse(&body).unwrap();
        let mut cache = HelloPrintCache::default();
        assert_eq!(cache.prints(&ch).ja3(), ja3(&ch).hash.as_bytes());
    }
}
