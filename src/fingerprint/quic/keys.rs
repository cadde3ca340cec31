//! Initial packet protection keys (RFC 9001 section 5.2, RFC 9369 section 3.3).
//!
//! Initial keys come from the client's Destination Connection ID and a salt
//! fixed per version, so any observer can derive them: that is what lets a
//! passive sensor read the ClientHello.

use aes::cipher::KeyInit;
use aes::Aes128;
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

use super::header::Version;

/// RFC 9001 section 5.2.
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// RFC 9369 section 3.3.1.
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// The labels of one version (RFC 9369 section 3.3.2 renames them for v2).
struct Labels {
    key: &'static [u8],
    iv: &'static [u8],
    hp: &'static [u8],
}

const LABELS_V1: Labels = Labels {
    key: b"quic key",
    iv: b"quic iv",
    hp: b"quic hp",
};
const LABELS_V2: Labels = Labels {
    key: b"quicv2 key",
    iv: b"quicv2 iv",
    hp: b"quicv2 hp",
};

fn salt(version: Version) -> &'static [u8; 20] {
    match version {
        Version::V1 => &SALT_V1,
        Version::V2 => &SALT_V2,
    }
}

fn labels(version: Version) -> &'static Labels {
    match version {
        Version::V1 => &LABELS_V1,
        Version::V2 => &LABELS_V2,
    }
}

/// Which side's Initial secret: the endpoint that sends with it.
pub use crate::flow::Side;

/// The `HkdfLabel` structure of TLS 1.3 (RFC 8446 section 7.1) with an
/// empty context: u16 output length, u8 label length, `"tls13 " + label`,
/// u8 context length 0. `None` for a label too long for its buffer (labels
/// are constants of this module, so that never happens).
fn hkdf_label(label: &[u8], out_len: u16) -> Option<([u8; 32], usize)> {
    let full = 6 + label.len();
    let total = 2 + 1 + full + 1;
    let mut info = [0u8; 32];
    let dst = info.get_mut(..total)?;
    let (len_field, rest) = dst.split_at_mut(2);
    len_field.copy_from_slice(&out_len.to_be_bytes());
    let (label_len, rest) = rest.split_first_mut()?;
    *label_len = u8::try_from(full).ok()?;
    let (prefix, rest) = rest.split_at_mut(6);
    prefix.copy_from_slice(b"tls13 ");
    let (name, context_len) = rest.split_at_mut(label.len());
    name.copy_from_slice(label);
    *context_len.first_mut()? = 0;
    Some((info, total))
}

/// HKDF-Expand-Label with an empty context, the only form QUIC's Initial
/// keys use. `out` is at most 32 bytes here.
pub fn hkdf_expand_label(secret: &[u8; 32], label: &[u8], out: &mut [u8]) {
    // A 32-byte PRK is exactly SHA-256's output size: this never fails.
    if let Ok(hk) = Hkdf::<Sha256>::from_prk(secret) {
        expand_label(&hk, label, out);
    }
}

/// HKDF-Expand-Label from a PRK already keyed into `hk`: the HMAC key
/// schedule (two SHA-256 blocks) is paid once for several labels.
fn expand_label(hk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) {
    let Ok(out_len) = u16::try_from(out.len()) else {
        return;
    };
    let Some((info, len)) = hkdf_label(label, out_len) else {
        return;
    };
    // Outputs of a few dozen bytes are far below HKDF's 255-block limit.
    let _ = hk.expand(info.get(..len).unwrap_or(&[]), out);
}

/// `initial_secret = HKDF-Extract(initial_salt, dcid)`.
pub fn initial_secret(version: Version, dcid: &[u8]) -> [u8; 32] {
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt(version)), dcid);
    prk.into()
}

/// `client_initial_secret` or `server_initial_secret`.
pub fn side_secret(version: Version, dcid: &[u8], side: Side) -> [u8; 32] {
    let initial = initial_secret(version, dcid);
    let label: &[u8] = match side {
        Side::Client => b"client in",
        Side::Server => b"server in",
    };
    let mut out = [0u8; 32];
    hkdf_expand_label(&initial, label, &mut out);
    out
}

/// The raw keying material of one direction's Initial packets: 44 bytes,
/// small enough to keep per connection and turn into ciphers on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialSecrets {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

impl InitialSecrets {
    pub fn derive(version: Version, dcid: &[u8], side: Side) -> Self {
        let secret = side_secret(version, dcid, side);
        let l = labels(version);
        let mut s = InitialSecrets {
            key: [0; 16],
            iv: [0; 12],
            hp: [0; 16],
        };
        if let Ok(hk) = Hkdf::<Sha256>::from_prk(&secret) {
            expand_label(&hk, l.key, &mut s.key);
            expand_label(&hk, l.iv, &mut s.iv);
            expand_label(&hk, l.hp, &mut s.hp);
        }
        s
    }

    /// The client's keys: what protects the ClientHello.
    pub fn client(version: Version, dcid: &[u8]) -> Self {
        Self::derive(version, dcid, Side::Client)
    }

    pub fn ciphers(&self) -> PacketKeys {
        PacketKeys {
            aead: Aes128Gcm::new(&self.key.into()),
            iv: self.iv,
            hp: Aes128::new(&self.hp.into()),
        }
    }
}

/// Ready-to-use ciphers for one direction: AEAD_AES_128_GCM for the payload
/// and AES-128 (ECB, one block) for the header protection mask.
pub struct PacketKeys {
    pub aead: Aes128Gcm,
    pub iv: [u8; 12],
    pub hp: Aes128,
}

#[cfg(test)]
mod tests {
    use super::super::test_vectors::{hex, Rfc};
    use super::*;

    fn check(rfc: &Rfc) {
        let dcid = hex(rfc.dcid);
        assert_eq!(
            initial_secret(rfc.version, &dcid).to_vec(),
            hex(rfc.initial_secret)
        );
        assert_eq!(
            side_secret(rfc.version, &dcid, Side::Client).to_vec(),
            hex(rfc.client_initial_secret)
        );
        assert_eq!(
            side_secret(rfc.version, &dcid, Side::Server).to_vec(),
            hex(rfc.server_initial_secret)
        );
        let c = InitialSecrets::client(rfc.version, &dcid);
        assert_eq!(c.key.to_vec(), hex(rfc.client_key));
        assert_eq!(c.iv.to_vec(), hex(rfc.client_iv));
        assert_eq!(c.hp.to_vec(), hex(rfc.client_hp));
        let s = InitialSecrets::derive(rfc.version, &dcid, Side::Server);
        assert_eq!(s.key.to_vec(), hex(rfc.server_key));
        assert_eq!(s.iv.to_vec(), hex(rfc.server_iv));
        assert_eq!(s.hp.to_vec(), hex(rfc.server_hp));
    }

    #[test]
    fn rfc9001_a1_keys() {
        check(&super::super::test_vectors::RFC9001);
    }

    #[test]
    fn rfc9369_a1_keys() {
        check(&super::super::test_vectors::RFC9369);
    }

    /// RFC 9001 A.1 lists the HkdfLabel bytes of each label (and RFC 9369
    /// A.1 those of v2).
    #[test]
    fn hkdf_label_bytes() {
        fn info(label: &[u8], len: u16) -> Vec<u8> {
            let (buf, n) = hkdf_label(label, len).expect("label fits");
            buf[..n].to_vec()
        }
        assert_eq!(
            info(b"client in", 32),
            hex("00200f746c73313320636c69656e7420696e00")
        );
        assert_eq!(
            info(b"server in", 32),
            hex("00200f746c7331332073657276657220696e00")
        );
        assert_eq!(
            info(b"quic key", 16),
            hex("00100e746c7331332071756963206b657900")
        );
        assert_eq!(
            info(b"quic iv", 12),
            hex("000c0d746c733133207175696320697600")
        );
        assert_eq!(
            info(b"quic hp", 16),
            hex("00100d746c733133207175696320687000")
        );
        assert_eq!(
            info(b"quicv2 key", 16),
            hex("001010746c73313320717569637632206b657900")
        );
        assert_eq!(
            info(b"quicv2 iv", 12),
            hex("000c0f746c7331332071756963763220697600")
        );
        assert_eq!(
            info(b"quicv2 hp", 16),
            hex("00100f746c7331332071756963763220687000")
        );
    }
}
