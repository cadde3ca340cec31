//! JA4 (FoxIO, BSD-3): `{proto}{version}{d|i}{ciphers:02}{exts:02}{alpn}`
//! `_{hash of sorted ciphers}_{hash of sorted extensions _ sigalgs}`, with
//! the raw (`_r`) and original-order (`_o`) variants.

use super::grease::non_grease;
use super::{ext, hash12, version, ClientHello};

/// Where the hello travelled: JA4's first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Quic,
    Dtls,
}

impl Transport {
    pub fn letter(self) -> char {
        match self {
            Transport::Tcp => 't',
            Transport::Quic => 'q',
            Transport::Dtls => 'd',
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

pub fn ja4(ch: &ClientHello, transport: Transport) -> Ja4 {
    let ciphers: Vec<u16> = non_grease(ch.ciphers()).collect();
    let exts: Vec<u16> = non_grease(ch.extensions().map(|e| e.ty)).collect();
    let sigalgs = hex_list(non_grease(ch.signature_algorithms()));

    let version = version::highest(ch.supported_versions()).unwrap_or(ch.legacy_version);
    let first_alpn = ch.alpn().next();
    let prefix = format!(
        "{}{}{}{:02}{:02}{}",
        transport.letter(),
        version::ja4_code(version),
        if ch.has_sni_extension() { 'd' } else { 'i' },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn_chars(first_alpn),
    );

    let mut sorted_ciphers = ciphers.clone();
    sorted_ciphers.sort_unstable();
    let mut sorted_exts: Vec<u16> = exts
        .iter()
        .copied()
        .filter(|&e| e != ext::SERVER_NAME && e != ext::ALPN)
        .collect();
    sorted_exts.sort_unstable();

    let (c_sorted, e_sorted) = (
        hex_list(sorted_ciphers.into_iter()),
        hex_list(sorted_exts.into_iter()),
    );
    let (c_orig, e_orig) = (hex_list(ciphers.into_iter()), hex_list(exts.into_iter()));
    let e_sorted = with_sigalgs(e_sorted, &sigalgs);
    let e_orig = with_sigalgs(e_orig, &sigalgs);

    Ja4 {
        ja4: format!("{prefix}_{}_{}", hash12(&c_sorted), hash12(&e_sorted)),
        ja4_r: format!("{prefix}_{c_sorted}_{e_sorted}"),
        ja4_o: format!("{prefix}_{}_{}", hash12(&c_orig), hash12(&e_orig)),
        ja4_ro: format!("{prefix}_{c_orig}_{e_orig}"),
    }
}

/// The extension list, then `_` and the signature algorithms when there are
/// any (no trailing `_` otherwise).
fn with_sigalgs(mut exts: String, sigalgs: &str) -> String {
    if !sigalgs.is_empty() {
        exts.push('_');
        exts.push_str(sigalgs);
    }
    exts
}

/// Four-digit lower-case hex values joined by `,` (written digit by digit:
/// `format!` per value made JA4 several times slower).
pub(crate) fn hex_list(values: impl Iterator<Item = u16>) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(values.size_hint().0 * 5);
    for v in values {
        if !s.is_empty() {
            s.push(',');
        }
        for shift in [12, 8, 4, 0] {
            s.push(char::from(DIGITS[usize::from((v >> shift) & 0xf)]));
        }
    }
    s
}

/// The two ALPN characters of JA4/JA4S: first and last byte of the value
/// when both are ASCII alphanumeric; otherwise the first and last digit of
/// its hex form; `00` when there is no value or it is empty.
pub(crate) fn alpn_chars(value: Option<&[u8]>) -> String {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return "00".to_owned();
    };
    let (first, last) = (v[0], v[v.len() - 1]);
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        [char::from(first), char::from(last)].iter().collect()
    } else {
        let h = super::hex(&[first, last]);
        [h.as_bytes()[0], h.as_bytes()[3]]
            .iter()
            .map(|&b| char::from(b))
            .collect()
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
        let j = ja4(&ClientHello::parse(&body).unwrap(), Transport::Tcp);
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
        let q = ja4(&ClientHello::parse(&body).unwrap(), Transport::Quic);
        assert!(q.ja4.starts_with("q13d1516h2_"));
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
        let j = ja4(&ClientHello::parse(&body).unwrap(), Transport::Tcp);
        // Spec vector: the sorted list alone hashes to 6d807ffa2a79.
        assert!(j.ja4.ends_with("_6d807ffa2a79"), "{}", j.ja4);
        assert!(j.ja4_r.ends_with(",4469,ff01"));
    }

    #[test]
    fn empty_lists_are_zeros() {
        let body = build(0x0303, &[], &[], &[]);
        let j = ja4(&ClientHello::parse(&body).unwrap(), Transport::Tcp);
        assert_eq!(j.ja4, "t12i000000_000000000000_000000000000");
        assert_eq!(j.ja4_r, "t12i000000__");
        // Only SNI and ALPN: the sorted extension list is empty.
        let body = build(0x0303, &[], &[0x1301], &[sni_ext(b"x"), alpn_ext(&[b"h2"])]);
        let j = ja4(&ClientHello::parse(&body).unwrap(), Transport::Tcp);
        assert!(
            j.ja4.starts_with("t12d0102h2_") && j.ja4.ends_with("_000000000000"),
            "{}",
            j.ja4
        );
    }

    #[test]
    fn alpn_rules_from_spec() {
        assert_eq!(alpn_chars(None), "00");
        assert_eq!(alpn_chars(Some(b"")), "00");
        assert_eq!(alpn_chars(Some(b"h2")), "h2");
        assert_eq!(alpn_chars(Some(b"http/1.1")), "h1");
        assert_eq!(alpn_chars(Some(b"h")), "hh");
        assert_eq!(alpn_chars(Some(&[0xab])), "ab");
        assert_eq!(alpn_chars(Some(&[0xab, 0xcd])), "ad");
        assert_eq!(alpn_chars(Some(&[0x30, 0xab])), "3b");
        assert_eq!(alpn_chars(Some(&[0x30, 0x31, 0xab, 0xcd])), "3d");
        assert_eq!(alpn_chars(Some(&[0x30, 0xab, 0xcd, 0x31])), "01");
        assert_eq!(alpn_chars(Some(&[0xba, 0xad])), "bd");
    }

    #[test]
    fn counts_cap_at_99_and_grease_sigalgs_dropped() {
        let ciphers: Vec<u16> = (1..=120).collect();
        let exts: Vec<(u16, Vec<u8>)> = (100..230u16)
            .map(|t| (t, vec![]))
            .chain([u16_ext(13, &[0x0a0a, 0x0403], 2)])
            .collect();
        let body = build(0x0301, &[], &ciphers, &exts);
        let j = ja4(&ClientHello::parse(&body).unwrap(), Transport::Dtls);
        assert!(j.ja4.starts_with("d10i999900_"), "{}", j.ja4);
        assert!(j.ja4_r.ends_with("_0403"));
    }
}
