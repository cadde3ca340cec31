//! JA3 and JA3S (Salesforce): MD5 of
//! `version,ciphers,extensions,groups,point_formats` for a client and
//! `version,cipher,extensions` for a server, decimal values joined by `-`,
//! GREASE removed.

use std::ops::Range;

use super::client_hello::push_dash_decimal;
use super::{ascii_string, md5_hex, push_md5_hex, ClientHello, ServerHello};
use crate::util::decimal::push_u64;

/// A JA3 or JA3S value: the string and its MD5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja3 {
    pub string: String,
    pub hash: String,
}

impl Ja3 {
    fn from_string(string: String) -> Self {
        let hash = md5_hex(&string);
        Ja3 { string, hash }
    }
}

pub fn ja3(ch: &ClientHello) -> Ja3 {
    let text = Ja3Text::new(ch);
    let mut hash = Vec::with_capacity(32);
    text.write_hash(&mut hash);
    Ja3 {
        hash: ascii_string(hash),
        string: ascii_string(text.string),
    }
}

/// A ClientHello's JA3 string, built once: its cipher and extension lists
/// are also the `raw_ciphers` and `raw_extensions` fields.
#[derive(Debug)]
pub struct Ja3Text {
    pub string: Vec<u8>,
    ciphers: Range<usize>,
    extensions: Range<usize>,
}

impl Ja3Text {
    pub fn new(ch: &ClientHello) -> Self {
        let mut string = Vec::with_capacity(8 * (ch.ciphers().len() + 24));
        push_u64(&mut string, u64::from(ch.legacy_version));
        string.push(b',');
        let start = string.len();
        push_dash_decimal(ch.ciphers(), &mut string);
        let ciphers = start..string.len();
        string.push(b',');
        let start = string.len();
        push_dash_decimal(ch.extensions().map(|e| e.ty), &mut string);
        let extensions = start..string.len();
        string.push(b',');
        push_dash_decimal(ch.groups(), &mut string);
        string.push(b',');
        // Point formats are single bytes, never GREASE.
        push_dash_decimal(
            ch.ec_point_formats().iter().map(|&p| u16::from(p)),
            &mut string,
        );
        Ja3Text {
            string,
            ciphers,
            extensions,
        }
    }

    /// The GREASE-free cipher suites, `-` separated (`raw_ciphers`).
    pub fn ciphers(&self) -> &[u8] {
        &self.string[self.ciphers.clone()]
    }

    /// The GREASE-free extension types, `-` separated (`raw_extensions`).
    pub fn extensions(&self) -> &[u8] {
        &self.string[self.extensions.clone()]
    }

    /// Where [`Ja3Text::ciphers`] lies in the string.
    pub fn ciphers_range(&self) -> Range<usize> {
        self.ciphers.clone()
    }

    /// Where [`Ja3Text::extensions`] lies in the string.
    pub fn extensions_range(&self) -> Range<usize> {
        self.extensions.clone()
    }

    /// Appends the JA3 hash.
    pub fn write_hash(&self, out: &mut Vec<u8>) {
        push_md5_hex(&self.string, out);
    }
}

pub fn ja3s(sh: &ServerHello) -> Ja3 {
    Ja3::from_string(ascii_string(ja3s_string(sh)))
}

/// The JA3S string: `version,cipher,extensions`.
fn ja3s_string(sh: &ServerHello) -> Vec<u8> {
    let mut string = Vec::with_capacity(64);
    push_u64(&mut string, u64::from(sh.legacy_version));
    string.push(b',');
    push_u64(&mut string, u64::from(sh.cipher));
    string.push(b',');
    push_dash_decimal(sh.extensions().map(|e| e.ty), &mut string);
    string
}

/// Appends the JA3S hash.
pub fn write_ja3s_hash(sh: &ServerHello, out: &mut Vec<u8>) {
    push_md5_hex(&ja3s_string(sh), out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::tls::client_hello::tests::{build, sni_ext, u16_ext};
    use crate::fingerprint::tls::server_hello::tests::build as build_sh;

    /// tests/corpus/ja3/vectors.tsv (the original JA3 repository).
    #[test]
    fn ja3_repository_vectors() {
        let cases = [
            (
                "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0",
                "ada70206e40642a3e4461f35503241d5",
            ),
            (
                "769,4-5-10-9-100-98-3-6-19-18-99,,,",
                "de350869b8c85de67a350c8d186f11e6",
            ),
        ];
        for (s, h) in cases {
            assert_eq!(md5_hex(s), h);
        }
    }

    #[test]
    fn ja3_string_from_hello_matches_vector() {
        let ciphers = [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4];
        let body = build(
            769,
            &[],
            &ciphers,
            &[
                sni_ext(b"a.b"),
                u16_ext(10, &[23, 24, 25], 2),
                (11, vec![1, 0]),
            ],
        );
        let ch = ClientHello::parse(&body).unwrap();
        let j = ja3(&ch);
        assert_eq!(
            j.string,
            "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
        );
        assert_eq!(j.hash, "ada70206e40642a3e4461f35503241d5");
        let text = Ja3Text::new(&ch);
        assert_eq!(
            text.ciphers(),
            b"47-53-5-10-49161-49162-49171-49172-50-56-19-4"
        );
        assert_eq!(text.extensions(), b"0-10-11");

        let body = build(769, &[], &[4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99], &[]);
        let j = ja3(&ClientHello::parse(&body).unwrap());
        assert_eq!(j.hash, "de350869b8c85de67a350c8d186f11e6");
    }

    #[test]
    fn grease_is_removed_everywhere() {
        let body = build(
            771,
            &[],
            &[0x1a1a, 4865],
            &[
                (0xdada, vec![]),
                u16_ext(10, &[0x2a2a, 29], 2),
                (0xfafa, vec![0]),
            ],
        );
        let j = ja3(&ClientHello::parse(&body).unwrap());
        assert_eq!(j.string, "771,4865,10,29,");
    }

    #[test]
    fn ja3s_string() {
        let body = build_sh(
            0x0303,
            [0; 32],
            0x1301,
            &[(43, vec![3, 4]), (51, vec![0, 29, 0, 0])],
        );
        let j = ja3s(&ServerHello::parse(&body).unwrap());
        assert_eq!(j.string, "771,4865,43-51");
        assert_eq!(j.hash, md5_hex("771,4865,43-51"));
    }
}
