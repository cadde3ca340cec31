//! JA4X (FoxIO License 1.1): hashes of the issuer attribute OIDs, the
//! subject attribute OIDs and the extension OIDs of a certificate, each in
//! the order they appear, as hex of their DER contents joined by `,`.

use x509_parser::certificate::X509Certificate;
use x509_parser::x509::X509Name;

use super::{hash12, hex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4x {
    pub ja4x: String,
    pub ja4x_r: String,
}

pub fn ja4x(cert: &X509Certificate) -> Ja4x {
    let issuer = name_oids(cert.issuer());
    let subject = name_oids(cert.subject());
    let exts: Vec<String> = cert
        .extensions()
        .iter()
        .map(|e| hex(e.oid.as_bytes()))
        .collect();
    let exts = exts.join(",");
    Ja4x {
        ja4x: format!("{}_{}_{}", hash12(&issuer), hash12(&subject), hash12(&exts)),
        ja4x_r: format!("{issuer}_{subject}_{exts}"),
    }
}

fn name_oids(name: &X509Name) -> String {
    let oids: Vec<String> = name
        .iter_attributes()
        .map(|a| hex(a.attr_type().as_bytes()))
        .collect();
    oids.join(",")
}

#[cfg(test)]
mod tests {
    use crate::fingerprint::tls::hash12;

    #[test]
    fn spec_example_hashes() {
        // technical_details/JA4X.md
        assert_eq!(hash12("550403,550406,550408,55040a"), "96a6439c8f5c");
        assert_eq!(hash12("551d0f,551d25,551d11"), "aae71e8db6d7");
    }
}
