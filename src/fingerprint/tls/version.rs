//! Protocol version numbers: their names in events and their JA4 codes.

use super::grease::is_grease;

pub const SSL2: u16 = 0x0002;
pub const SSL3: u16 = 0x0300;
pub const TLS10: u16 = 0x0301;
pub const TLS11: u16 = 0x0302;
pub const TLS12: u16 = 0x0303;
pub const TLS13: u16 = 0x0304;
pub const DTLS10: u16 = 0xfeff;
pub const DTLS12: u16 = 0xfefd;
pub const DTLS13: u16 = 0xfefc;
/// OpenSSL's DTLS before 0.9.8f; JA4 has no code for it (`00`).
pub const DTLS_OPENSSL_OLD: u16 = 0x0100;

/// `tls_version` as docs/spec.md section 5 writes it: `TLS 1.3` ... `SSL 3.0`,
/// `DTLS 1.0/1.2/1.3` for DTLS (0x0100 as Wireshark names it), else
/// `0xNNNN`.
pub fn version_text(v: u16) -> String {
    let mut out = Vec::with_capacity(8);
    push_version_text(v, &mut out);
    super::ascii_string(out)
}

/// Appends [`version_text`].
pub fn push_version_text(v: u16, out: &mut Vec<u8>) {
    let name = match v {
        TLS13 => "TLS 1.3",
        TLS12 => "TLS 1.2",
        TLS11 => "TLS 1.1",
        TLS10 => "TLS 1.0",
        SSL3 => "SSL 3.0",
        DTLS13 => "DTLS 1.3",
        DTLS12 => "DTLS 1.2",
        DTLS10 => "DTLS 1.0",
        DTLS_OPENSSL_OLD => "DTLS 1.0 (OpenSSL pre 0.9.8f)",
        _ => {
            out.extend_from_slice(b"0x");
            super::push_hex(&v.to_be_bytes(), out);
            return;
        }
    };
    out.extend_from_slice(name.as_bytes());
}

/// The two-character JA4/JA4S version code; `00` when unknown.
pub fn ja4_code(v: u16) -> &'static str {
    match v {
        TLS13 => "13",
        TLS12 => "12",
        TLS11 => "11",
        TLS10 => "10",
        SSL3 => "s3",
        SSL2 => "s2",
        DTLS10 => "d1",
        DTLS12 => "d2",
        DTLS13 => "d3",
        _ => "00",
    }
}

/// The highest version in a `supported_versions` list, GREASE ignored.
/// TLS versions compare by value. DTLS numbers count down (1.0 = 0xfeff,
/// 1.3 = 0xfefc), so when the list holds DTLS versions the numerically
/// smallest DTLS value is the highest.
pub fn highest(versions: impl Iterator<Item = u16>) -> Option<u16> {
    let mut tls: Option<u16> = None;
    let mut dtls: Option<u16> = None;
    for v in versions.filter(|&v| !is_grease(v)) {
        if (DTLS13..=DTLS10).contains(&v) {
            dtls = Some(dtls.map_or(v, |d| d.min(v)));
        } else {
            tls = Some(tls.map_or(v, |t| t.max(v)));
        }
    }
    dtls.or(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!(version_text(0x0304), "TLS 1.3");
        assert_eq!(version_text(0x0300), "SSL 3.0");
        assert_eq!(version_text(0x7f1c), "0x7f1c");
        assert_eq!(version_text(0xfefd), "DTLS 1.2");
        assert_eq!(ja4_code(0x0303), "12");
        assert_eq!(ja4_code(0x0002), "s2");
        assert_eq!(ja4_code(0xfefc), "d3");
        assert_eq!(ja4_code(0x7f1c), "00");
    }

    #[test]
    fn highest_skips_grease_and_orders_dtls_downwards() {
        assert_eq!(highest([0x2a2a, 0x0304, 0x0303].into_iter()), Some(0x0304));
        assert_eq!(highest([0xfafa].into_iter()), None);
        assert_eq!(highest([0xfefd, 0xfefc].into_iter()), Some(0xfefc));
        assert_eq!(highest([0xfeff, 0xfefd].into_iter()), Some(0xfefd));
        // A draft number above 0x0304 is the highest value: JA4 writes `00`.
        assert_eq!(highest([0x7f17, 0x0303].into_iter()), Some(0x7f17));
    }
}
