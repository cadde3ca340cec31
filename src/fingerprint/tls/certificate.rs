//! The server's Certificate message (TLS <= 1.2) and the summary of a
//! certificate that `tls_certificate` reports.

use std::net::{Ipv4Addr, Ipv6Addr};

use x509_parser::certificate::{X509Certificate, X509CertificateParser};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::nom::Parser;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use super::wire::ByteReader;
use super::{hex, sha256_hex, TlsError};
use crate::util::time::civil_from_days;

/// The DER certificates of a Certificate message body, leaf first.
#[derive(Debug, Clone)]
pub struct CertificateList<'a>(ByteReader<'a>);

impl<'a> CertificateList<'a> {
    /// Parses the TLS 1.2 layout: `opaque ASN.1Cert<1..2^24-1>` entries in
    /// a three-byte-length list.
    pub fn parse(body: &'a [u8]) -> Result<Self, TlsError> {
        let mut r = ByteReader::new(body);
        let list = r.vec24()?;
        let mut check = ByteReader::new(list);
        while !check.is_empty() {
            check.vec24()?;
        }
        Ok(CertificateList(ByteReader::new(list)))
    }
}

impl<'a> Iterator for CertificateList<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.vec24().ok()
    }
}

/// What `tls_certificate` says about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// The subject's first commonName (raw string bytes; BMP and Universal
    /// strings converted to UTF-8).
    pub subject_cn: Vec<u8>,
    /// The issuer DN in RFC 4514 order and escaping, `, ` between RDNs:
    /// `CN=R3, O=Let's Encrypt, C=US`.
    pub issuer: Vec<u8>,
    /// Subject DN equals issuer DN (byte for byte).
    pub self_signed: bool,
    /// RFC 3339 UTC: `2024-01-31T23:59:59Z`.
    pub not_before: String,
    pub not_after: String,
    /// DNS names and IP addresses of subjectAltName, in order, joined by `,`.
    pub sans: Vec<u8>,
    /// The serial number's bytes in lower-case hex (the DER sign byte dropped).
    pub serial: String,
    /// SHA-256 of the DER.
    pub cert_sha256: String,
}

/// Why a certificate could not be summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertError;

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unparsable X.509 certificate")
    }
}

impl std::error::Error for CertError {}

/// Parses a DER certificate. A certificate whose extensions x509-parser
/// cannot decode is parsed again without decoding them, so its names and
/// dates are still reported.
pub fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>, CertError> {
    match X509CertificateParser::new().parse(der) {
        Ok((_, cert)) => Ok(cert),
        Err(_) => X509CertificateParser::new()
            .with_deep_parse_extensions(false)
            .parse(der)
            .map(|(_, cert)| cert)
            .map_err(|_| CertError),
    }
}

pub fn summarize(der: &[u8]) -> Result<CertSummary, CertError> {
    let cert = parse_der(der)?;
    Ok(summary_of(&cert, der))
}

pub fn summary_of(cert: &X509Certificate, der: &[u8]) -> CertSummary {
    let subject_cn = cert
        .subject()
        .iter_common_name()
        .next()
        .map(attr_text)
        .unwrap_or_default();
    let validity = cert.validity();
    let serial = match cert.raw_serial() {
        [0, rest @ ..] if !rest.is_empty() => rest,
        s => s,
    };
    CertSummary {
        subject_cn,
        issuer: dn_text(cert.issuer()),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(validity.not_after.timestamp()),
        sans: sans_text(cert),
        serial: hex(serial),
        cert_sha256: sha256_hex(der),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
fn rfc3339(secs: i64) -> String {
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

fn sans_text(cert: &X509Certificate) -> Vec<u8> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() else {
            continue;
        };
        for name in &san.general_names {
            let text: Vec<u8> = match name {
                GeneralName::DNSName(s) => s.as_bytes().to_vec(),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => Ipv4Addr::new(b[0], b[1], b[2], b[3])
                        .to_string()
                        .into_bytes(),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        Ipv6Addr::from(a).to_string().into_bytes()
                    }
                    _ => continue,
                },
                // A dNSName that is not UTF-8: still what the certificate says.
                GeneralName::Invalid(tag, data) if *tag == Tag(2) => data.to_vec(),
                _ => continue,
            };
            if !out.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(&text);
        }
    }
    out
}

/// A distinguished name as RFC 4514 writes it: last RDN first, `+` inside a
/// multi-valued RDN, special characters escaped; `, ` between RDNs. The
/// attributes of a multi-valued RDN (any order is valid) are reversed too,
/// as OpenSSL's `-nameopt RFC2253` prints them.
pub fn dn_text(name: &X509Name) -> Vec<u8> {
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = Vec::with_capacity(name.as_raw().len());
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        let attrs: Vec<_> = rdn.iter().collect();
        for (j, attr) in attrs.iter().rev().enumerate() {
            if j > 0 {
                out.push(b'+');
            }
            match short_name_of_der(attr.attr_type().as_bytes()) {
                Some(short) => out.extend_from_slice(short.as_bytes()),
                None => {
                    let oid = attr.attr_type().to_id_string();
                    out.extend_from_slice(short_name(&oid).unwrap_or(&oid).as_bytes());
                }
            }
            out.push(b'=');
            match plain_string(attr) {
                Some(text) => escape_rfc4514(text, &mut out),
                None => escape_rfc4514(&attr_text(attr), &mut out),
            }
        }
    }
    out
}

/// The short names of the usual attribute types, by the DER contents of
/// their OIDs (no dotted-text `String` per attribute; checked against the
/// dotted forms in the tests).
const SHORT_NAMES_DER: [(&[u8], &str); 14] = [
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "STREET"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (&[0x55, 0x04, 0x0c], "title"),
    (&[0x55, 0x04, 0x04], "SN"),
    (&[0x55, 0x04, 0x2a], "GN"),
    (&[0x55, 0x04, 0x0f], "businessCategory"),
    (&[0x55, 0x04, 0x11], "postalCode"),
    (&[0x55, 0x04, 0x61], "organizationIdentifier"),
];

fn short_name_of_der(der: &[u8]) -> Option<&'static str> {
    SHORT_NAMES_DER
        .iter()
        .find(|(oid, _)| *oid == der)
        .map(|(_, name)| *name)
}

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.5" => "serialNumber",
        "2.5.4.12" => "title",
        "2.5.4.4" => "SN",
        "2.5.4.42" => "GN",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

/// An attribute's value as bytes: string types as they are, BMPString
/// (UTF-16BE) and UniversalString (UTF-32BE) converted to UTF-8, anything
/// else as `#` and the hex of its contents.
fn attr_text(attr: &AttributeTypeAndValue) -> Vec<u8> {
    let value = attr.attr_value();
    let data = value.data;
    match value.tag() {
        Tag::BmpString => {
            let units = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect::<String>()
                .into_bytes()
        }
        Tag::UniversalString => data
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect::<String>()
            .into_bytes(),
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString
        | Tag::TeletexString
        | Tag::VideotexString
        | Tag::GeneralString
        | Tag::GraphicString => data.to_vec(),
        _ => format!("#{}", hex(data)).into_bytes(),
    }
}

/// The value of an attribute whose string type is used as it is.
fn plain_string<'a>(attr: &AttributeTypeAndValue<'a>) -> Option<&'a [u8]> {
    let value = attr.attr_value();
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString
        | Tag::TeletexString
        | Tag::VideotexString
        | Tag::GeneralString
        | Tag::GraphicString => Some(value.data),
        _ => None,
    }
}

/// RFC 4514 2.4 escaping of an attribute value.
fn escape_rfc4514(value: &[u8], out: &mut Vec<u8>) {
    let last = value.len().saturating_sub(1);
    for (i, &b) in value.iter().enumerate() {
        let special = matches!(b, b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';')
            || (i == 0 && (b == b'#' || b == b' '))
            || (i == last && b == b' ');
        if b == 0 {
            out.extend_from_slice(b"\\00");
            continue;
        }
        if special {
            out.push(b'\\');
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_list_framing() {
        let body = [0, 0, 9, 0, 0, 2, 0xaa, 0xbb, 0, 0, 1, 0xcc];
        let certs: Vec<&[u8]> = CertificateList::parse(&body).unwrap().collect();
        assert_eq!(certs, [&[0xaa, 0xbb][..], &[0xcc][..]]);
        // A 16 MB entry length inside a small message: refused, nothing allocated.
        let lie = [0, 0, 4, 0xff, 0xff, 0xff, 0];
        assert!(CertificateList::parse(&lie).is_err());
        let lie = [0xff, 0xff, 0xff, 0, 0, 1, 0];
        assert!(CertificateList::parse(&lie).is_err());
        assert_eq!(CertificateList::parse(&[0, 0, 0]).unwrap().count(), 0);
    }

    #[test]
    fn dates_and_escaping() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_776_789_350), "2026-04-21T16:35:50Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        let mut out = Vec::new();
        escape_rfc4514(b" DigiCert, Inc.+\"x\" ", &mut out);
        assert_eq!(out, b"\\ DigiCert\\, Inc.\\+\\\"x\\\"\\ ");
    }

    /// A self-signed certificate made with OpenSSL 3.0:
    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
    /// -days 3650 -subj '/C=US/O=Acme, Inc./OU=R&D+UID=x1/CN=weird "name" <x>'
    /// -multivalue-rdn -addext "subjectAltName=DNS:a.example,IP:192.0.2.1,
    /// IP:2001:db8::1,email:x@y.example,DNS:b.example" -set_serial 0x00ab12`.
    /// Expected values from `openssl x509 -noout -subject -issuer -serial
    /// -dates -fingerprint -sha256 -ext subjectAltName -nameopt RFC2253`.
    #[test]
    fn summary_matches_openssl() {
        let der = include_bytes!("testdata/selfsigned-escapes.der");
        let s = summarize(der).unwrap();
        // OpenSSL prints `,` between RDNs where we write `, `.
        let openssl = r#"CN=weird \"name\" \<x\>,UID=x1+OU=R&D,O=Acme\, Inc.,C=US"#;
        let ours = String::from_utf8(s.issuer.clone()).unwrap();
        assert_eq!(
            ours,
            openssl
                .replace(",UID", ", UID")
                .replace(",O=", ", O=")
                .replace(",C=", ", C=")
        );
        assert_eq!(s.subject_cn, br#"weird "name" <x>"#);
        assert!(s.self_signed);
        assert_eq!(s.serial, "ab12");
        assert_eq!(s.not_before, "2026-11-28T00:14:43Z");
        assert_eq!(s.not_after, "2036-11-25T00:14:44Z");
        assert_eq!(
            s.cert_sha256,
            "30f381936022db42338ef21e4f254f2693605d954a378392b2996de5c573dd70"
        );
        // DNS names and IP addresses in order (IPv6 in RFC 5952 form); the
        // e-mail address is not a SAN the event reports.
        assert_eq!(s.sans, b"a.example,192.0.2.1,2001:db8::1,b.example");
    }

    #[test]
    fn short_names_by_der_match_the_dotted_table() {
        use std::str::FromStr;
        use x509_parser::der_parser::asn1_rs::Oid;
        for (der, name) in SHORT_NAMES_DER {
            let dotted = Oid::new(der.into()).to_id_string();
            assert_eq!(short_name(&dotted), Some(name), "{dotted}");
            assert_eq!(Oid::from_str(&dotted).unwrap().as_bytes(), der);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(summarize(&[]).is_err());
        assert!(summarize(&[0x30, 0x82, 0xff, 0xff, 0x30]).is_err());
        assert!(summarize(&[0x30; 300]).is_err());
    }
}
