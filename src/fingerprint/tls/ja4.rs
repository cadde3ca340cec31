//! JA4 (FoxIO, BSD-3): `{proto}{version}{d|i}{ciphers:02}{exts:02}{alpn}`
//! `_{hash of sorted ciphers}_{hash of sorted extensions _ sigalgs}`, with
//! the raw (`_r`) and original-order (`_o`) variants.

use super::grease::non_grease;
use super::{ascii_string, ext, push_hash12, version, ClientHello};

/// Where the hello travelled: JA4's first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloTransport {
    Tcp,
    Quic,
    Dtls,
}

impl HelloTransport {
    pub fn letter(self) -> char {
        match self {
            HelloTransport::Tcp => 't',
            HelloTransport::Quic => 'q',
            HelloTransport::Dtls => 'd',
        }
    }
}

/// JA4 and its variants for one ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4 {
    /// Sorted, hashed: the fingerprint.
    pub ja4: String,
    /// Sorted, raw lists.
    pub ja4_r: String,
    /// Original order, hashed (SNI and ALPN kept).
    pub ja4_o: String,
    /// Original order, raw lists.
    pub ja4_ro: String,
}

pub fn ja4(ch: &ClientHello, transport: HelloTransport) -> Ja4 {
    let mut parts = Ja4Parts::new(ch, transport);
    let mut variant = |sorted, hashed| {
        let mut out = Vec::with_capacity(128);
        parts.write(sorted, hashed, &mut out);
        ascii_string(out)
    };
    Ja4 {
        ja4: variant(true, true),
        ja4_r: variant(true, false),
        ja4_o: variant(false, true),
        ja4_ro: variant(false, false),
    }
}

/// What JA4 is computed from, read from a ClientHello once; each variant is
/// then written straight into the caller's buffer (the engine writes them
/// into the event: no `String` per variant or list).
#[derive(Debug)]
pub struct Ja4Parts {
    /// `t13d1516h2`.
    prefix: [u8; 10],
    /// Non-GREASE values in five runs, one allocation: ciphers in wire
    /// order, ciphers sorted, extensions in wire order, extensions sorted
    /// without SNI and ALPN, signature algorithms in wire order.
    values: Vec<u16>,
    ends: [usize; 5],
    /// The text a hash is taken of.
    scratch: Vec<u8>,
}

const CIPHERS: usize = 0;
const CIPHERS_SORTED: usize = 1;
const EXTS: usize = 2;
const EXTS_SORTED: usize = 3;
const SIGALGS: usize = 4;

impl Ja4Parts {
    pub fn new(ch: &ClientHello, transport: HelloTransport) -> Self {
        // Room for typical hellos; hostile ones grow it, bounded by the message.
        let mut values = Vec::with_capacity(2 * ch.ciphers().len() + 64);
        let mut ends = [0; 5];
        values.extend(non_grease(ch.ciphers()));
        ends[CIPHERS] = values.len();
        values.extend(non_grease(ch.ciphers()));
        values[ends[CIPHERS]..].sort_unstable();
        ends[CIPHERS_SORTED] = values.len();
        values.extend(non_grease(ch.extensions().map(|e| e.ty)));
        ends[EXTS] = values.len();
        let sorted = non_grease(ch.extensions().map(|e| e.ty));
        values.extend(sorted.filter(|&e| e != ext::SERVER_NAME && e != ext::ALPN));
        values[ends[EXTS]..].sort_unstable();
        ends[EXTS_SORTED] = values.len();
        values.extend(non_grease(ch.signature_algorithms()));
        ends[SIGALGS] = values.len();

        let version = version::highest(ch.supported_versions()).unwrap_or(ch.legacy_version);
        let code = version::ja4_code(version).as_bytes();
        let ciphers = ends[CIPHERS].min(99);
        let exts = (ends[EXTS] - ends[CIPHERS_SORTED]).min(99);
        let alpn = alpn_pair(ch.alpn().next());
        let prefix = [
            transport.letter() as u8,
            code[0],
            code[1],
            if ch.has_sni_extension() { b'd' } else { b'i' },
            b'0' + (ciphers / 10) as u8,
            b'0' + (ciphers % 10) as u8,
            b'0' + (exts / 10) as u8,
            b'0' + (exts % 10) as u8,
            alpn[0],
            alpn[1],
        ];
        Ja4Parts {
            prefix,
            values,
            ends,
            scratch: Vec::new(),
        }
    }

    fn run(&self, which: usize) -> &[u16] {
        let start = which.checked_sub(1).map_or(0, |i| self.ends[i]);
        &self.values[start..self.ends[which]]
    }

    /// `ja4`: sorted lists, hashed.
    pub fn write_ja4(&mut self, out: &mut Vec<u8>) {
        self.write(true, true, out);
    }

    /// `ja4_r`: sorted lists, raw.
    pub fn write_ja4_r(&mut self, out: &mut Vec<u8>) {
        self.write(true, false, out);
    }

    /// `ja4_o`: wire order, hashed.
    pub fn write_ja4_o(&mut self, out: &mut Vec<u8>) {
        self.write(false, true, out);
    }

    fn write(&mut self, sorted: bool, hashed: bool, out: &mut Vec<u8>) {
        let (ciphers, exts) = if sorted {
            (CIPHERS_SORTED, EXTS_SORTED)
        } else {
            (CIPHERS, EXTS)
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        out.extend_from_slice(&self.prefix);
        out.push(b'_');
        self.section(&[ciphers], hashed, &mut scratch, out);
        out.push(b'_');
        self.section(&[exts, SIGALGS], hashed, &mut scratch, out);
        self.scratch = scratch;
    }

    /// The hex lists of `runs` joined by `_`, a run after the first only
    /// when it is not empty (the signature algorithms: no trailing `_`),
    /// raw or hashed.
    fn section(&self, runs: &[usize], hashed: bool, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
        let text = if hashed {
            scratch.clear();
            &mut *scratch
        } else {
            &mut *out
        };
        for (i, &run) in runs.iter().enumerate() {
            let values = self.run(run);
            if i > 0 {
                if values.is_empty() {
                    continue;
                }
                text.push(b'_');
            }
            push_hex_list(values, text);
        }
        if hashed {
            push_hash12(scratch, out);
        }
    }
}

/// Appends four-digit lower-case hex values joined by `,`, written digit
/// by digit (`format!` per value made JA4 several times slower).
pub(crate) fn push_hex_list(values: &[u16], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(values.len() * 5);
    for (i, &v) in values.iter().enumerate() {
        let digit = |shift: u16| DIGITS[usize::from((v >> shift) & 0xf)];
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&[digit(12), digit(8), digit(4), digit(0)]);
    }
}

/// The two ALPN characters of JA4/JA4S: first and last byte of the value
/// when both are ASCII alphanumeric; otherwise the first and last digit of
/// its hex form; `00` when there is no value or it is empty.
pub(crate) fn alpn_pair(value: Option<&[u8]>) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return *b"00";
    };
    let (first, last) = (v[0], v[v.len() - 1]);
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        [first, last]
    } else {
        [
            DIGITS[usize::from(first >> 4)],
            DIGITS[usize::from(last & 0xf)],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::tls::client_hello::tests::{alpn_ext, build, sni_ext, u16_ext};

    /// The JA4 specification's example hello (technical_details/JA4.md and
    /// FoxIO's unit test), rebuilt as wire bytes with GREASE added.
    fn spec_example() -> Vec<u8> {
        let ciphers = [
            0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let sig = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let mut exts = vec![(0x1a1a, vec![])];
        for ty in [
            0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
            0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ] {
            exts.push(match ty {
                0x0000 => sni_ext(b"example.com"),
                0x0010 => alpn_ext(&[b"h2", b"http/1.1"]),
                0x000d => u16_ext(13, &sig, 2),
                0x002b => u16_ext(43, &[0x2a2a, 0x0304, 0x0303], 1),
                _ => (ty, vec![]),
            });
        }
        exts.push((0x3a3a, vec![0]));
        build(0x0303, &[0; 32], &ciphers, &exts)
    }

    #[test]
    fn spec_example_all_variants() {
        let body = spec_example();
        let j = ja4(&ClientHello::parse(&body).unwrap(), HelloTransport::Tcp);
        assert_eq!(j.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(j.ja4_o, "t13d1516h2_acb858a92679_18f69afefd3d");
        assert_eq!(
            j.ja4_r,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(
            j.ja4_ro,
            "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        let q = ja4(&ClientHello::parse(&body).unwrap(), HelloTransport::Quic);
        assert!(q.ja4.starts_with("q13d1516h2_"));
    }

    #[test]
    fn writers_append_the_spec_values() {
        let body = spec_example();
        let ch = ClientHello::parse(&body).unwrap();
        let mut parts = Ja4Parts::new(&ch, HelloTransport::Tcp);
        let mut out = b"x=".to_vec();
        parts.write_ja4(&mut out);
        assert_eq!(out, b"x=t13d1516h2_8daaf6152771_e5627efa2ab1");
        let mut out = Vec::new();
        parts.write_ja4_o(&mut out);
        assert_eq!(out, b"t13d1516h2_acb858a92679_18f69afefd3d");
        let mut out = Vec::new();
        parts.write_ja4_r(&mut out);
        assert_eq!(out, ja4(&ch, HelloTransport::Tcp).ja4_r.as_bytes());
        // The lists come from the hello again for every variant.
        let mut again = Vec::new();
        parts.write_ja4(&mut again);
        assert_eq!(again, b"t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn no_sigalgs_means_no_trailing_underscore() {
        let exts: Vec<(u16, Vec<u8>)> = [
            0x0005, 0x000a, 0x000b, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002b, 0x002d, 0x0033,
            0x4469, 0xff01, 0x000d,
        ]
        .iter()
        .map(|&t| {
            if t == 0x000d {
                u16_ext(13, &[], 2)
            } else {
                (t, vec![])
            }
        })
        .collect();
        let body = build(0x0303, &[], &[0x1301], &exts);
        let j = ja4(&ClientHello::parse(&body).unwrap(), HelloTransport::Tcp);
        // Spec vector: the sorted list alone hashes to 6d807ffa2a79.
        assert!(j.ja4.ends_with("_6d807ffa2a79"), "{}", j.ja4);
        assert!(j.ja4_r.ends_with(",4469,ff01"));
    }

    #[test]
    fn empty_lists_are_zeros() {
        let body = build(0x0303, &[], &[], &[]);
        let j = ja4(&ClientHello::parse(&body).unwrap(), HelloTransport::Tcp);
        assert_eq!(j.ja4, "t12i000000_000000000000_000000000000");
        assert_eq!(j.ja4_r, "t12i000000__");
        // Only SNI and ALPN: the sorted extension list is empty.
        let body = build(0x0303, &[], &[0x1301], &[sni_ext(b"x"), alpn_ext(&[b"h2"])]);
        let j = ja4(&ClientHello::parse(&body).unwrap(), HelloTransport::Tcp);
        assert!(
            j.ja4.starts_with("t12d0102h2_") && j.ja4.ends_with("_000000000000"),
            "{}",
            j.ja4
        );
    }

    #[test]
    fn alpn_rules_from_spec() {
        assert_eq!(&alpn_pair(None), b"00");
        assert_eq!(&alpn_pair(Some(b"")), b"00");
        assert_eq!(&alpn_pair(Some(b"h2")), b"h2");
        assert_eq!(&alpn_pair(Some(b"http/1.1")), b"h1");
        assert_eq!(&alpn_pair(Some(b"h")), b"hh");
        assert_eq!(&alpn_pair(Some(&[0xab])), b"ab");
        assert_eq!(&alpn_pair(Some(&[0xab, 0xcd])), b"ad");
        assert_eq!(&alpn_pair(Some(&[0x30, 0xab])), b"3b");
        assert_eq!(&alpn_pair(Some(&[0x30, 0x31, 0xab, 0xcd])), b"3d");
        assert_eq!(&alpn_pair(Some(&[0x30, 0xab, 0xcd, 0x31])), b"01");
        assert_eq!(&alpn_pair(Some(&[0xba, 0xad])), b"bd");
    }

    #[test]
    fn counts_cap_at_99_and_grease_sigalgs_dropped() {
        let ciphers: Vec<u16> = (1..=120).collect();
        let exts: Vec<(u16, Vec<u8>)> = (100..230u16)
            .map(|t| (t, vec![]))
            .chain([u16_ext(13, &[0x0a0a, 0x0403], 2)])
            .collect();
        let body = build(0x0301, &[], &ciphers, &exts);
        let j = ja4(&ClientHello::parse(&body).unwrap(), HelloTransport::Dtls);
        assert!(j.ja4.starts_with("d10i999900_"), "{}", j.ja4);
        assert!(j.ja4_r.ends_with("_0403"));
    }
}
