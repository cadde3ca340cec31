//! JA3 and JA3S (Salesforce): MD5 of
//! `version,ciphers,extensions,groups,point_formats` for a client and
//! `version,cipher,extensions` for a server, decimal values joined by `-`,
//! GREASE removed.

use super::client_hello::dash_decimal;
use super::{md5_hex, ClientHello, ServerHello};

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
    // Point formats are single bytes, never GREASE.
    let points = dash_decimal(ch.ec_point_formats().iter().map(|&p| u16::from(p)));
    Ja3::from_string(format!(
        "{},{},{},{},{}",
        ch.legacy_version,
        dash_decimal(ch.ciphers()),
        dash_decimal(ch.extensions().map(|e| e.ty)),
        dash_decimal(ch.groups()),
        points,
    ))
}

pub fn ja3s(sh: &ServerHello) -> Ja3 {
    Ja3::from_string(format!(
        "{},{},{}",
        sh.legacy_version,
        sh.cipher,
        dash_decimal(sh.extensions().map(|e| e.ty)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::tls::client_hello::tests::{build, sni_ext, u16_ext};
    use crate::fingerprint::tls::server_hello::tests::build as build_sh;

    /// /work/shared/corpus/ja3/vectors.tsv (the original JA3 repository).
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
