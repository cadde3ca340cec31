//! GREASE values (RFC 8701): reserved code points clients sprinkle into
//! their lists so servers keep tolerating unknown values. Fingerprints skip
//! them, or a client would change fingerprint on every connection.

/// Whether a 16-bit cipher suite, extension, group, version or signature
/// algorithm value is GREASE: `0x?A?A` with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

/// Keeps only the values that are not GREASE.
pub fn non_grease(values: impl Iterator<Item = u16>) -> impl Iterator<Item = u16> {
    values.filter(|&v| !is_grease(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_sixteen_rfc8701_values_and_nothing_else() {
        let grease: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        let expected: Vec<u16> = (0..16u16).map(|i| 0x0a0a + i * 0x1010).collect();
        assert_eq!(grease, expected);
        assert_eq!(grease.first(), Some(&0x0a0a));
        assert_eq!(grease.last(), Some(&0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }
}
