//! JA4S (FoxIO License 1.1): `{proto}{version}{exts:02}{alpn}_{cipher}`
//! `_{hash of extensions in wire order}`.

use super::grease::non_grease;
use super::ja4::{alpn_pair, push_hex_list, HelloTransport};
use super::{ascii_string, push_hash12, push_hex, version, ServerHello};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4s {
    pub ja4s: String,
    pub ja4s_r: String,
}

pub fn ja4s(sh: &ServerHello, transport: HelloTransport) -> Ja4s {
    let mut ja4s = Vec::with_capacity(25);
    let mut ja4s_r = Vec::new();
    write(sh, transport, Some(&mut ja4s), &mut ja4s_r);
    Ja4s {
        ja4s: ascii_string(ja4s),
        ja4s_r: ascii_string(ja4s_r),
    }
}

/// Appends JA4S (the hashed form) to `out`.
pub fn write_ja4s(sh: &ServerHello, transport: HelloTransport, out: &mut Vec<u8>) {
    let mut raw = Vec::with_capacity(64);
    write(sh, transport, Some(out), &mut raw);
}

/// Appends the raw form to `raw` and, when given, the hashed form to `hashed`.
fn write(
    sh: &ServerHello,
    transport: HelloTransport,
    hashed: Option<&mut Vec<u8>>,
    raw: &mut Vec<u8>,
) {
    let exts: Vec<u16> = non_grease(sh.extensions().map(|e| e.ty)).collect();
    let count = exts.len().min(99);
    let head_start = raw.len();
    raw.push(transport.letter() as u8);
    raw.extend_from_slice(version::ja4_code(sh.version()).as_bytes());
    raw.extend_from_slice(&[b'0' + (count / 10) as u8, b'0' + (count % 10) as u8]);
    raw.extend_from_slice(&alpn_pair(sh.alpn_selected()));
    raw.push(b'_');
    push_hex(&sh.cipher.to_be_bytes(), raw);
    raw.push(b'_');
    let list_start = raw.len();
    push_hex_list(&exts, raw);
    if let Some(out) = hashed {
        out.extend_from_slice(&raw[head_start..list_start]);
        push_hash12(&raw[list_start..], out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::tls::server_hello::tests::build;

    #[test]
    fn spec_example() {
        // technical_details/JA4S.md: TLS 1.2, extensions 0005,0017,ff01,0000.
        let exts = [
            (0x0005, vec![]),
            (0x0017, vec![]),
            (0xff01, vec![0]),
            (0x0000, vec![]),
        ];
        let body = build(0x0303, [1; 32], 0xc030, &exts);
        let j = ja4s(&ServerHello::parse(&body).unwrap(), HelloTransport::Tcp);
        assert_eq!(j.ja4s, "t120400_c030_4e8089b08790");
        assert_eq!(j.ja4s_r, "t120400_c030_0005,0017,ff01,0000");
    }

    #[test]
    fn tls13_with_alpn_and_no_extensions() {
        let body = build(
            0x0303,
            [1; 32],
            0x1301,
            &[(43, vec![3, 4]), (16, vec![0, 3, 2, b'h', b'2'])],
        );
        let j = ja4s(&ServerHello::parse(&body).unwrap(), HelloTransport::Quic);
        assert_eq!(j.ja4s_r, "q1302h2_1301_002b,0010");
        let body = build(0x0301, [1; 32], 0x002f, &[]);
        let j = ja4s(&ServerHello::parse(&body).unwrap(), HelloTransport::Tcp);
        assert_eq!(j.ja4s, "t100000_002f_000000000000");
    }
}
