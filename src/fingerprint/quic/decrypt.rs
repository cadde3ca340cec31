//! Payload decryption of Initial packets: AEAD_AES_128_GCM with the nonce
//! `iv XOR packet number` and the unprotected header as associated data
//! (RFC 9001 section 5.3).

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Nonce, Tag};

use super::keys::PacketKeys;
use super::protect::{decode_packet_number, unprotect_long, ProtectError};

/// AES-GCM's authentication tag.
pub const TAG_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// Too short for the header protection sample or the tag.
    TooShort,
    /// The tag did not verify: wrong keys, damaged or forged packet.
    Authentication,
}

impl From<ProtectError> for DecryptError {
    fn from(_: ProtectError) -> Self {
        DecryptError::TooShort
    }
}

/// The per-packet nonce: the IV with the packet number XORed into its low
/// 8 bytes (big-endian).
pub fn nonce(iv: &[u8; 12], pn: u64) -> [u8; 12] {
    let mut n = *iv;
    for (b, p) in n[4..].iter_mut().zip(pn.to_be_bytes()) {
        *b ^= p;
    }
    n
}

/// Decrypts `payload` (ciphertext followed by the 16-byte tag) in place;
/// returns the plaintext length.
pub fn open_in_place(
    aead: &Aes128Gcm,
    iv: &[u8; 12],
    pn: u64,
    header: &[u8],
    payload: &mut [u8],
) -> Result<usize, DecryptError> {
    let ct_len = payload
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(DecryptError::TooShort)?;
    let (ct, tag) = payload.split_at_mut(ct_len);
    let tag = Tag::clone_from_slice(tag);
    let nonce = nonce(iv, pn);
    aead.decrypt_in_place_detached(Nonce::from_slice(&nonce), header, ct, &tag)
        .map_err(|_| DecryptError::Authentication)?;
    Ok(ct_len)
}

/// A decrypted Initial packet: its packet number and where its plaintext
/// frames lie in the buffer that was decrypted in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    pub pn: u64,
    pub payload_start: usize,
    pub payload_end: usize,
}

/// Removes header protection and decrypts a long-header packet held in a
/// writable buffer (a copy of its bytes). `largest_pn` is the largest
/// packet number decrypted so far in this connection's Initial space.
pub fn open_long(
    keys: &PacketKeys,
    packet: &mut [u8],
    pn_offset: usize,
    largest_pn: Option<u64>,
) -> Result<Opened, DecryptError> {
    let u = unprotect_long(&keys.hp, packet, pn_offset)?;
    let pn = decode_packet_number(largest_pn, u.truncated_pn, u.pn_len);
    let header_len = pn_offset + u.pn_len;
    if packet.len() < header_len + TAG_LEN {
        return Err(DecryptError::TooShort);
    }
    let (header, payload) = packet.split_at_mut(header_len);
    let len = open_in_place(&keys.aead, &keys.iv, pn, header, payload)?;
    Ok(Opened {
        pn,
        payload_start: header_len,
        payload_end: header_len + len,
    })
}

#[cfg(test)]
mod tests {
    use super::super::header::{LongHeaderPacket, Packets};
    use super::super::keys::{InitialSecrets, Side};
    use super::super::test_vectors::*;
    use super::*;

    fn decrypt_vector(rfc: &Rfc, side: Side, packet_hex: &str) -> (u64, Vec<u8>) {
        let bytes = hex(packet_hex);
        let Some(LongHeaderPacket::Initial(p)) = Packets::new(&bytes).next() else {
            panic!("not an Initial")
        };
        assert_eq!(
            p.bytes.len(),
            bytes.len(),
            "the Length field covers the datagram"
        );
        let keys = InitialSecrets::derive(rfc.version, &hex(rfc.dcid), side).ciphers();
        let mut buf = p.bytes.to_vec();
        let o = open_long(&keys, &mut buf, p.pn_offset, None).expect("decrypts");
        (o.pn, buf[o.payload_start..o.payload_end].to_vec())
    }

    fn check(rfc: &Rfc) {
        let (pn, plain) = decrypt_vector(rfc, Side::Client, rfc.client_packet);
        assert_eq!(pn, 2);
        assert_eq!(plain.len(), CLIENT_PAYLOAD_LEN);
        let frame = hex(CLIENT_CRYPTO_FRAME);
        assert_eq!(&plain[..frame.len()], &frame[..]);
        assert!(
            plain[frame.len()..].iter().all(|&b| b == 0),
            "PADDING to the end"
        );

        let (pn, plain) = decrypt_vector(rfc, Side::Server, rfc.server_packet);
        assert_eq!(pn, 1);
        assert_eq!(plain, hex(rfc.server_payload));
    }

    #[test]
    fn rfc9001_initials_decrypt() {
        check(&RFC9001);
    }

    #[test]
    fn rfc9369_initials_decrypt() {
        check(&RFC9369);
    }

    #[test]
    fn wrong_keys_or_damage_fail_authentication() {
        let bytes = hex(RFC9001.client_packet);
        let Some(LongHeaderPacket::Initial(p)) = Packets::new(&bytes).next() else {
            panic!()
        };
        // Version 2 keys on a version 1 packet.
        let keys = InitialSecrets::client(RFC9369.version, &hex(RFC9001.dcid)).ciphers();
        let mut buf = p.bytes.to_vec();
        assert_eq!(
            open_long(&keys, &mut buf, p.pn_offset, None),
            Err(DecryptError::Authentication)
        );
        // One flipped ciphertext bit.
        let keys = InitialSecrets::client(RFC9001.version, &hex(RFC9001.dcid)).ciphers();
        let mut buf = p.bytes.to_vec();
        buf[500] ^= 1;
        assert_eq!(
            open_long(&keys, &mut buf, p.pn_offset, None),
            Err(DecryptError::Authentication)
        );
        // Truncated to the sample but not the tag.
        let mut buf = p.bytes[..p.pn_offset + 20].to_vec();
        assert!(open_long(&keys, &mut buf, p.pn_offset, None).is_err());
    }

    #[test]
    fn nonce_xors_packet_number() {
        // RFC 9001 A.5: iv e0459b3474bdd0e44a41c144, pn 654360564.
        let iv: [u8; 12] = hex("e0459b3474bdd0e44a41c144").try_into().unwrap();
        assert_eq!(
            nonce(&iv, 654_360_564).to_vec(),
            hex("e0459b3474bdd0e46d417eb0")
        );
    }
}
