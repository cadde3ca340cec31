//! Header protection removal (RFC 9001 section 5.4) and packet number
//! reconstruction (RFC 9000 section 17.1 and appendix A.3).

use aes::cipher::{BlockEncrypt, KeyInit as _};
use aes::Aes128;

/// Header protection samples 16 bytes starting 4 bytes after the start of
/// the packet number, whatever the packet number's real length.
const SAMPLE_OFFSET: usize = 4;
const SAMPLE_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtectError {
    /// The packet is too short to hold the header protection sample.
    TooShortForSample,
}

/// The header fields header protection hid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unprotected {
    /// The first byte, low bits restored.
    pub first: u8,
    /// Length of the packet number field (1..=4).
    pub pn_len: usize,
    /// The packet number as sent (its low `8 * pn_len` bits).
    pub truncated_pn: u32,
}

/// `AES-ECB(hp, sample)`, of which the first 5 bytes are the mask.
pub fn mask(hp: &Aes128, sample: &[u8; SAMPLE_LEN]) -> [u8; 5] {
    let mut block = (*sample).into();
    hp.encrypt_block(&mut block);
    let mut m = [0u8; 5];
    m.copy_from_slice(&block[..5]);
    m
}

/// Removes header protection from a long-header packet in place: restores
/// the low 4 bits of the first byte and the packet number bytes at
/// `pn_offset`.
pub fn unprotect_long(
    hp: &Aes128,
    packet: &mut [u8],
    pn_offset: usize,
) -> Result<Unprotected, ProtectError> {
    let start = pn_offset
        .checked_add(SAMPLE_OFFSET)
        .ok_or(ProtectError::TooShortForSample)?;
    let end = start
        .checked_add(SAMPLE_LEN)
        .ok_or(ProtectError::TooShortForSample)?;
    let sample: [u8; SAMPLE_LEN] = packet
        .get(start..end)
        .and_then(|s| s.try_into().ok())
        .ok_or(ProtectError::TooShortForSample)?;
    let m = mask(hp, &sample);
    let first = packet.first_mut().ok_or(ProtectError::TooShortForSample)?;
    // Long headers protect 4 bits of the first byte (short headers 5).
    *first ^= m[0] & 0x0f;
    let first = *first;
    let pn_len = usize::from(first & 0x03) + 1;
    // The sample lies beyond the packet number, so these bytes exist.
    let pn = packet
        .get_mut(pn_offset..pn_offset + pn_len)
        .ok_or(ProtectError::TooShortForSample)?;
    let mut truncated_pn = 0u32;
    for (b, k) in pn.iter_mut().zip(&m[1..]) {
        *b ^= k;
        truncated_pn = (truncated_pn << 8) | u32::from(*b);
    }
    Ok(Unprotected {
        first,
        pn_len,
        truncated_pn,
    })
}

/// The full packet number closest to the one after `largest` (RFC 9000
/// appendix A.3). `largest` is `None` before any packet of the space was
/// decrypted.
pub fn decode_packet_number(largest: Option<u64>, truncated: u32, pn_len: usize) -> u64 {
    let bits = 8 * pn_len.clamp(1, 4) as u32;
    let truncated = u64::from(truncated);
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << bits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if expected >= hwin && candidate <= expected - hwin && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Builds the AES-128 block cipher for a header protection key.
pub fn hp_cipher(key: &[u8; 16]) -> Aes128 {
    Aes128::new(key.into())
}

#[cfg(test)]
mod tests {
    use super::super::test_vectors::{hex, Rfc, RFC9001, RFC9369};
    use super::*;

    fn check(rfc: &Rfc) {
        for (hp, sample, want_mask, plain_header, packet) in [
            (
                rfc.client_hp,
                rfc.client_sample,
                rfc.client_mask,
                rfc.client_header,
                rfc.client_packet,
            ),
            (
                rfc.server_hp,
                rfc.server_sample,
                rfc.server_mask,
                rfc.server_header,
                rfc.server_packet,
            ),
        ] {
            let hp = hp_cipher(&hex(hp).try_into().unwrap());
            let sample: [u8; 16] = hex(sample).try_into().unwrap();
            assert_eq!(mask(&hp, &sample).to_vec(), hex(want_mask));
            let plain_header = hex(plain_header);
            let mut packet = hex(packet);
            // The packet number is the header's last 4 (client) or 2 (server) bytes.
            let pn_len = usize::from(plain_header[0] & 3) + 1;
            let pn_offset = plain_header.len() - pn_len;
            let u = unprotect_long(&hp, &mut packet, pn_offset).unwrap();
            assert_eq!(&packet[..plain_header.len()], &plain_header[..]);
            assert_eq!(u.pn_len, pn_len);
            assert_eq!(u.first, plain_header[0]);
        }
    }

    #[test]
    fn rfc9001_header_protection() {
        check(&RFC9001);
        let u = unprotect_long(
            &hp_cipher(&hex(RFC9001.client_hp).try_into().unwrap()),
            &mut hex(RFC9001.client_packet),
            18,
        )
        .unwrap();
        assert_eq!(u.truncated_pn, 2);
    }

    #[test]
    fn rfc9369_header_protection() {
        check(&RFC9369);
    }

    #[test]
    fn protected_header_bytes() {
        // The protected header of A.2/A.3 is the packet's prefix.
        for rfc in [&RFC9001, &RFC9369] {
            assert!(hex(rfc.client_packet).starts_with(&hex(rfc.client_protected_header)));
            assert!(hex(rfc.server_packet).starts_with(&hex(rfc.server_protected_header)));
        }
    }

    #[test]
    fn short_packets_are_rejected() {
        let hp = hp_cipher(&[0; 16]);
        let mut p = [0u8; 37];
        assert_eq!(
            unprotect_long(&hp, &mut p, 18),
            Err(ProtectError::TooShortForSample)
        );
        assert_eq!(
            unprotect_long(&hp, &mut p, usize::MAX),
            Err(ProtectError::TooShortForSample)
        );
        let mut p = [0u8; 38];
        assert!(unprotect_long(&hp, &mut p, 18).is_ok());
    }

    // The example of RFC 9000 appendix A.3, then edge cases.
    #[test]
    fn packet_number_decoding() {
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 2),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 0, 1), 0);
        assert_eq!(decode_packet_number(None, 2, 4), 2);
        // Wrap forward: expected 256, truncated 0x01 -> 257.
        assert_eq!(decode_packet_number(Some(255), 0x01, 1), 257);
        // Wrap backward: expected 256, truncated 0xff -> 255.
        assert_eq!(decode_packet_number(Some(255), 0xff, 1), 255);
        // Extremes never overflow.
        assert_eq!(
            decode_packet_number(Some(u64::MAX), 0xffff_ffff, 4) >> 62,
            3
        );
    }
}
