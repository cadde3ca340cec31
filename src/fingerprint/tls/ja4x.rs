//! JA4X (FoxIO License 1.1): hashes of the issuer attribute OIDs, the
//! subject attribute OIDs and the extension OIDs of a certificate, each in
//! the order they appear, as hex of their DER contents joined by `,`.

use x509_parser::certificate::X509Certificate;
use x509_parser::x509::X509Name;

use super::{ascii_string, push_hash12, push_hex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4x {
    pub ja4x: String,
    pub ja4x_r: String,
}

pub fn ja4x(cert: &X509Certificate) -> Ja4x {
    let mut ja4x = Vec::with_capacity(38);
    let mut raw = Vec::with_capacity(256);
    let mut list = Vec::with_capacity(128);
    for (i, section) in Section::ALL.into_iter().enumerate() {
        if i > 0 {
            ja4x.push(b'_');
            raw.push(b'_');
        }
        list.clear();
        section.write_list(cert, &mut list);
        push_hash12(&list, &mut ja4x);
        raw.extend_from_slice(&list);
    }
    Ja4x {
        ja4x: ascii_string(ja4x),
        ja4x_r: ascii_string(raw),
    }
}

/// Appends JA4X (the hashed form) to `out`.
pub fn write_ja4x(cert: &X509Certificate, out: &mut Vec<u8>) {
    let mut list = Vec::with_capacity(128);
    for (i, section) in Section::ALL.into_iter().enumerate() {
        if i > 0 {
            out.push(b'_');
        }
        list.clear();
        section.write_list(cert, &mut list);
        push_hash12(&list, out);
    }
}

#[derive(Clone, Copy)]
enum Section {
    Issuer,
    Subject,
    Extensions,
}

impl Section {
    const ALL: [Section; 3] = [Section::Issuer, Section::Subject, Section::Extensions];

    /// The section's OIDs, hex of their DER contents joined by `,`.
    fn write_list(self, cert: &X509Certificate, out: &mut Vec<u8>) {
        match self {
            Section::Issuer => name_oids(cert.issuer(), out),
            Section::Subject => name_oids(cert.subject(), out),
            Section::Extensions => {
                push_hex_list(cert.extensions().iter().map(|e| e.oid.as_bytes()), out)
            }
        }
    }
}

fn name_oids(name: &X509Name, out: &mut Vec<u8>) {
    push_hex_list(
        name.iter_attributes().map(|a| a.attr_type().as_bytes()),
        out,
    );
}

fn push_hex_list<'a>(items: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_hex(item, out);
    }
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
