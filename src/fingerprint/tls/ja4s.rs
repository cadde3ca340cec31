//! JA4S (FoxIO License 1.1): `{proto}{version}{exts:02}{alpn}_{cipher}`
//! `_{hash of extensions in wire order}`.

use super::grease::non_grease;
use super::ja4::{alpn_chars, hex_list, Transport};
use super::{hash12, version, ServerHello};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4s {
    pub ja4s: String,
    pub ja4s_r: String,
}

pub fn ja4s(sh: &ServerHello, transport: Transport) -> Ja4s {
    let exts: Vec<u16> = non_grease(sh.extensions().map(|e| e.ty)).collect();
    let head = format!(
        "{}{}{:02}{}_{:04x}",
        transport.letter(),
        version::ja4_code(sh.version()),
        exts.len().min(99),
        alpn_chars(sh.alpn_selected()),
        sh.cipher,
    );
    let list = hex_list(exts.into_iter());
    Ja4s {
        ja4s: format!("{head}_{}", hash12(&list)),
        ja4s_r: format!("{head}_{list}"),
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
        let j = ja4s(&ServerHello::parse(&body).unwrap(), Transport::Tcp);
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
        let j = ja4s(&ServerHello::parse(&body).unwrap(), Transport::Quic);
        assert_eq!(j.ja4s_r, "q1302h2_1301_002b,0010");
        let body = build(0x0301, [1; 32], 0x002f, &[]);
        let j = ja4s(&ServerHello::parse(&body).unwrap(), Transport::Tcp);
        assert_eq!(j.ja4s, "t100000_002f_000000000000");
    }
}
