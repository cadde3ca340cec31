//! A zero-copy view of a ClientHello handshake body (RFC 8446 4.1.2,
//! RFC 5246 7.4.1.2, RFC 9147 5.3 for DTLS).

use super::grease::is_grease;
use super::wire::{ByteReader, Extensions, U16List};
use super::{ext, version, TlsError};

/// A parsed ClientHello. Lists stay as wire bytes; accessors iterate them.
#[derive(Debug, Clone)]
pub struct ClientHello<'a> {
    pub legacy_version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    /// DTLS only: the HelloVerifyRequest cookie echoed back.
    pub cookie: Option<&'a [u8]>,
    cipher_suites: &'a [u8],
    pub compression_methods: &'a [u8],
    extensions: Extensions<'a>,
}

/// Resumption mechanisms a ClientHello offers (docs/spec.md `resumption`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resumption {
    pub session_ticket: bool,
    pub psk: bool,
    pub early_data: bool,
    pub session_id: bool,
}

impl Resumption {
    /// `session_ticket,psk,early_data_0rtt,session_id` for those present,
    /// in that order; empty when none.
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        super::ascii_string(out)
    }

    /// Appends [`Resumption::text`].
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let names = [
            (self.session_ticket, "session_ticket"),
            (self.psk, "psk"),
            (self.early_data, "early_data_0rtt"),
            (self.session_id, "session_id"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(on, _)| *on) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(name.as_bytes());
        }
    }

    pub fn is_empty(&self) -> bool {
        !(self.session_ticket || self.psk || self.early_data || self.session_id)
    }
}

impl<'a> ClientHello<'a> {
    /// Parses a TLS ClientHello body (after the 4-byte handshake header).
    pub fn parse(body: &'a [u8]) -> Result<Self, TlsError> {
        Self::parse_inner(body, false)
    }

    /// Parses a DTLS ClientHello body (after the 12-byte DTLS handshake header).
    pub fn parse_dtls(body: &'a [u8]) -> Result<Self, TlsError> {
        Self::parse_inner(body, true)
    }

    fn parse_inner(body: &'a [u8], dtls: bool) -> Result<Self, TlsError> {
        let mut r = ByteReader::new(body);
        let legacy_version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.vec8()?;
        if session_id.len() > 32 {
            return Err(TlsError::Malformed("session id longer than 32 bytes"));
        }
        let cookie = if dtls { Some(r.vec8()?) } else { None };
        let cipher_suites = r.vec16()?;
        if cipher_suites.len() % 2 != 0 {
            return Err(TlsError::Malformed("odd cipher suite list length"));
        }
        let compression_methods = r.vec8()?;
        // SSL 3.0 and early TLS allow the extension block to be absent.
        let extensions = if r.is_empty() {
            Extensions::empty()
        } else {
            Extensions::validate(r.vec16()?)?
        };
        Ok(ClientHello {
            legacy_version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }

    /// Cipher suites in wire order, GREASE included.
    pub fn ciphers(&self) -> U16List<'a> {
        U16List::new(self.cipher_suites)
    }

    /// Extensions in wire order, GREASE included.
    pub fn extensions(&self) -> Extensions<'a> {
        self.extensions.clone()
    }

    pub fn extension(&self, ty: u16) -> Option<&'a [u8]> {
        self.extensions.find(ty)
    }

    /// The first `host_name` entry of server_name, by its declared length
    /// (clipped to the extension when the length lies).
    pub fn sni(&self) -> Option<&'a [u8]> {
        let data = self.extension(ext::SERVER_NAME)?;
        let mut r = ByteReader::new(data);
        let list_len = usize::from(r.u16().ok()?);
        let list = r.rest().get(..list_len).unwrap_or(r.rest());
        let mut r = ByteReader::new(list);
        while !r.is_empty() {
            let kind = r.u8().ok()?;
            let len = usize::from(r.u16().ok()?);
            let rest = r.rest();
            let name = rest.get(..len).unwrap_or(rest);
            if kind == 0 {
                return Some(name);
            }
            r.take(len).ok()?;
        }
        None
    }

    /// Whether the server_name extension is present (JA4 `d`/`i`).
    pub fn has_sni_extension(&self) -> bool {
        self.extensions.contains(ext::SERVER_NAME)
    }

    /// ALPN protocol names offered, in order.
    pub fn alpn(&self) -> AlpnList<'a> {
        AlpnList::from_extension(self.extension(ext::ALPN))
    }

    pub fn supported_versions(&self) -> U16List<'a> {
        versions_in(self.extension(ext::SUPPORTED_VERSIONS))
    }

    /// supported_groups (formerly elliptic_curves).
    pub fn groups(&self) -> U16List<'a> {
        u16_vector_in(self.extension(ext::SUPPORTED_GROUPS))
    }

    pub fn ec_point_formats(&self) -> &'a [u8] {
        point_formats_in(self.extension(ext::EC_POINT_FORMATS))
    }

    pub fn signature_algorithms(&self) -> U16List<'a> {
        u16_vector_in(self.extension(ext::SIGNATURE_ALGORITHMS))
    }

    /// The highest version offered: from supported_versions when it holds
    /// a non-GREASE value, else the legacy version.
    pub fn highest_version(&self) -> u16 {
        self.highest_version_in(self.extension(ext::SUPPORTED_VERSIONS))
    }

    /// [`Self::highest_version`] given the supported_versions extension.
    pub(crate) fn highest_version_in(&self, supported_versions: Option<&[u8]>) -> u16 {
        version::highest(versions_in(supported_versions)).unwrap_or(self.legacy_version)
    }

    /// Whether TLS 1.3 (or DTLS 1.3) is among the offered versions.
    pub fn offers_tls13(&self) -> bool {
        self.supported_versions()
            .any(|v| v == version::TLS13 || v == version::DTLS13)
    }

    pub fn resumption(&self) -> Resumption {
        Resumption {
            session_ticket: self
                .extension(ext::SESSION_TICKET)
                .is_some_and(|d| !d.is_empty()),
            psk: self.extensions.contains(ext::PRE_SHARED_KEY),
            early_data: self.extensions.contains(ext::EARLY_DATA),
            // TLS 1.3 clients send a random legacy session id for middlebox
            // compatibility: it says nothing about resumption then.
            session_id: !self.session_id.is_empty() && !self.offers_tls13(),
        }
    }
}

/// The versions of a supported_versions extension body (none without it).
pub(crate) fn versions_in(data: Option<&[u8]>) -> U16List<'_> {
    match data {
        Some(d) => U16List::new(ByteReader::new(d).vec8().unwrap_or(&[])),
        None => U16List::empty(),
    }
}

/// The values of an extension body holding one u16 vector (groups,
/// signature algorithms).
pub(crate) fn u16_vector_in(data: Option<&[u8]>) -> U16List<'_> {
    U16List::new(
        data.and_then(|d| ByteReader::new(d).vec16().ok())
            .unwrap_or(&[]),
    )
}

/// The formats of an ec_point_formats extension body.
pub(crate) fn point_formats_in(data: Option<&[u8]>) -> &[u8] {
    data.and_then(|d| ByteReader::new(d).vec8().ok())
        .unwrap_or(&[])
}

/// The names of an ALPN extension (`ProtocolNameList`), in order. Stops at
/// the first entry that overruns the list.
#[derive(Debug, Clone)]
pub struct AlpnList<'a>(ByteReader<'a>);

impl<'a> AlpnList<'a> {
    pub(crate) fn from_extension(data: Option<&'a [u8]>) -> Self {
        let list = data
            .and_then(|d| ByteReader::new(d).vec16().ok())
            .unwrap_or(&[]);
        AlpnList(ByteReader::new(list))
    }

    /// The offered names joined by `,` (docs/spec.md `alpn`).
    pub fn joined(self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_joined(&mut out);
        out
    }

    /// Appends [`AlpnList::joined`].
    pub fn write_joined(self, out: &mut Vec<u8>) {
        for (i, name) in self.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name);
        }
    }
}

impl<'a> Iterator for AlpnList<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.vec8().ok()
    }
}

/// Non-GREASE values as decimal joined by `-` (JA3 fields, `raw_ciphers`).
pub fn dash_decimal(values: impl Iterator<Item = u16>) -> String {
    let mut out = Vec::with_capacity(values.size_hint().0 * 6);
    push_dash_decimal(values, &mut out);
    super::ascii_string(out)
}

/// Appends [`dash_decimal`] of `values`.
pub fn push_dash_decimal(values: impl Iterator<Item = u16>, out: &mut Vec<u8>) {
    out.reserve(values.size_hint().0 * 6);
    for (i, v) in values.filter(|&v| !is_grease(v)).enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        crate::util::decimal::push_u64(out, u64::from(v));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ClientHello body from parts (test helper, also used by the
    /// fingerprint modules' tests).
    pub(crate) fn build(
        version: u16,
        session_id: &[u8],
        ciphers: &[u16],
        exts: &[(u16, Vec<u8>)],
    ) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x11; 32]);
        b.push(session_id.len() as u8);
        b.extend_from_slice(session_id);
        b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut block = Vec::new();
        for (ty, data) in exts {
            block.extend_from_slice(&ty.to_be_bytes());
            block.extend_from_slice(&(data.len() as u16).to_be_bytes());
            block.extend_from_slice(data);
        }
        b.extend_from_slice(&(block.len() as u16).to_be_bytes());
        b.extend_from_slice(&block);
        b
    }

    pub(crate) fn sni_ext(name: &[u8]) -> (u16, Vec<u8>) {
        let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        d.push(0);
        d.extend_from_slice(&(name.len() as u16).to_be_bytes());
        d.extend_from_slice(name);
        (0, d)
    }

    pub(crate) fn alpn_ext(names: &[&[u8]]) -> (u16, Vec<u8>) {
        let mut list = Vec::new();
        for n in names {
            list.push(n.len() as u8);
            list.extend_from_slice(n);
        }
        let mut d = (list.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&list);
        (16, d)
    }

    pub(crate) fn u16_ext(ty: u16, vals: &[u16], len_bytes: usize) -> (u16, Vec<u8>) {
        let mut d = Vec::new();
        let n = vals.len() * 2;
        if len_bytes == 1 {
            d.push(n as u8);
        } else {
            d.extend_from_slice(&(n as u16).to_be_bytes());
        }
        for v in vals {
            d.extend_from_slice(&v.to_be_bytes());
        }
        (ty, d)
    }

    #[test]
    fn parses_fields_and_accessors() {
        let body = build(
            0x0303,
            &[7; 32],
            &[0x0a0a, 0x1301, 0xc02b],
            &[
                (0x2a2a, vec![]),
                sni_ext(b"example.com"),
                alpn_ext(&[b"h2", b"http/1.1"]),
                u16_ext(43, &[0x3a3a, 0x0304, 0x0303], 1),
                u16_ext(10, &[0x4a4a, 29, 23], 2),
                (11, vec![1, 0]),
                u16_ext(13, &[0x0403, 0x0804], 2),
                (35, vec![]),
                (41, vec![0, 0]),
            ],
        );
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(ch.legacy_version, 0x0303);
        assert_eq!(ch.session_id.len(), 32);
        assert_eq!(ch.ciphers().collect::<Vec<_>>(), [0x0a0a, 0x1301, 0xc02b]);
        assert_eq!(ch.sni(), Some(&b"example.com"[..]));
        assert_eq!(ch.alpn().collect::<Vec<_>>(), [&b"h2"[..], b"http/1.1"]);
        assert_eq!(ch.alpn().joined(), b"h2,http/1.1");
        assert_eq!(ch.highest_version(), 0x0304);
        assert_eq!(ch.groups().collect::<Vec<_>>(), [0x4a4a, 29, 23]);
        assert_eq!(ch.ec_point_formats(), &[0]);
        assert_eq!(
            ch.signature_algorithms().collect::<Vec<_>>(),
            [0x0403, 0x0804]
        );
        // Empty ticket extension, TLS 1.3 offered: only psk counts.
        assert_eq!(ch.resumption().text(), "psk");
        assert_eq!(dash_decimal(ch.ciphers()), "4865-49195");
    }

    #[test]
    fn decimal_digits() {
        let values = [0u16, 7, 10, 255, 4865, 65535];
        for v in values {
            assert_eq!(dash_decimal([v].into_iter()), v.to_string());
        }
        let joined: Vec<String> = values.iter().map(u16::to_string).collect();
        assert_eq!(dash_decimal(values.into_iter()), joined.join("-"));
    }

    #[test]
    fn session_id_counts_only_without_tls13() {
        let body = build(0x0303, &[1, 2, 3], &[0x002f], &[(35, vec![9, 9])]);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(ch.highest_version(), 0x0303);
        assert_eq!(ch.resumption().text(), "session_ticket,session_id");
        assert_eq!(
            ch.resumption(),
            Resumption {
                session_ticket: true,
                session_id: true,
                ..Default::default()
            }
        );
    }

    #[test]
    fn extensionless_ssl3_hello() {
        let mut body = 0x0300u16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 2, 0, 4, 1, 0]);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(ch.extensions().count(), 0);
        assert_eq!(ch.highest_version(), 0x0300);
        assert_eq!(ch.sni(), None);
        assert_eq!(ch.resumption().text(), "");
    }

    #[test]
    fn sni_by_declared_length_with_odd_bytes() {
        let body = build(0x0303, &[], &[1], &[sni_ext(b"a\0b\xff")]);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(ch.sni(), Some(&b"a\0b\xff"[..]));
        // The name length claims more than the extension holds: clipped.
        let lying = (0u16, vec![0, 20, 0, 0, 50, b'x', b'y']);
        let body = build(0x0303, &[], &[1], &[lying]);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(ch.sni(), Some(&b"xy"[..]));
        assert!(ch.has_sni_extension());
    }

    #[test]
    fn truncated_and_lying_lengths_are_errors() {
        let body = build(0x0303, &[1; 8], &[0x1301, 0x1302], &[sni_ext(b"x.org")]);
        for cut in 0..body.len() {
            // Every strict prefix that cuts into a field fails cleanly; a
            // prefix ending right after compression methods is an SSL3-style
            // hello without extensions, which is fine.
            let _ = ClientHello::parse(&body[..cut]);
        }
        assert!(ClientHello::parse(&body[..body.len() - 1]).is_err());
        let mut odd = build(0x0303, &[], &[0x1301], &[]);
        odd[35] = 0;
        odd[36] = 3; // cipher list length 3
        assert!(ClientHello::parse(&odd).is_err());
        let mut long_sid = build(0x0303, &[0; 33], &[0x1301], &[]);
        long_sid[34] = 33;
        assert_eq!(
            ClientHello::parse(&long_sid).err(),
            Some(TlsError::Malformed("session id longer than 32 bytes"))
        );
    }

    #[test]
    fn many_empty_extensions_are_bounded_by_bytes() {
        // 16383 empty extensions fill a 65532-byte block: parsing walks
        // them without allocating.
        let exts: Vec<(u16, Vec<u8>)> = (0..16383u16).map(|i| (i, vec![])).collect();
        let body = build(0x0303, &[], &[0x1301], &exts);
        let ch = ClientHello::parse(&body).unwrap();
        assert_eq!(ch.extensions().count(), 16383);
        // A block length of 65535 over a shorter body is refused.
        let mut lie = build(0x0303, &[], &[0x1301], &[]);
        let n = lie.len();
        lie[n - 2] = 0xff;
        lie[n - 1] = 0xff;
        lie.extend_from_slice(&[0, 1, 0, 0]);
        assert!(ClientHello::parse(&lie).is_err());
    }

    #[test]
    fn dtls_cookie() {
        let mut body = 0xfefdu16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 3, 9, 9, 9, 0, 2, 0xc0, 0x2b, 1, 0]);
        let ch = ClientHello::parse_dtls(&body).unwrap();
        assert_eq!(ch.cookie, Some(&[9, 9, 9][..]));
        assert_eq!(ch.ciphers().collect::<Vec<_>>(), [0xc02b]);
    }
}
