//! HPACK's Huffman code (RFC 7541 section 5.2 and Appendix B), decoding
//! only. The code is canonical: every symbol's code follows from the code
//! lengths alone, so the table below holds just the 257 lengths (symbol
//! 256 is EOS) and the decoder walks the canonical ranges bit by bit.

/// Code length in bits of each symbol 0..=256 (RFC 7541 Appendix B).
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS: u16 = 256;
const MAX_LEN: usize = 30;

/// Canonical decoding tables: for each length, how many codes have it, the
/// first code of that length and where its symbols start in `symbols`.
struct Canonical {
    count: [u32; MAX_LEN + 1],
    first: [u32; MAX_LEN + 1],
    offset: [u16; MAX_LEN + 1],
    /// Symbols ordered by (code length, symbol).
    symbols: [u16; 257],
}

const fn canonical() -> Canonical {
    let mut count = [0u32; MAX_LEN + 1];
    let mut i = 0;
    while i < 257 {
        count[LENGTHS[i] as usize] += 1;
        i += 1;
    }
    let mut first = [0u32; MAX_LEN + 1];
    let mut offset = [0u16; MAX_LEN + 1];
    let mut code = 0u32;
    let mut at = 0u16;
    let mut len = 1;
    while len <= MAX_LEN {
        code = (code + count[len - 1]) << 1;
        first[len] = code;
        offset[len] = at;
        at += count[len] as u16;
        len += 1;
    }
    let mut symbols = [0u16; 257];
    let mut fill = offset;
    let mut s = 0;
    while s < 257 {
        let l = LENGTHS[s] as usize;
        symbols[fill[l] as usize] = s as u16;
        fill[l] += 1;
        s += 1;
    }
    Canonical {
        count,
        first,
        offset,
        symbols,
    }
}

static TABLE: Canonical = canonical();

/// Why a Huffman string is not valid (RFC 7541 section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuffmanError {
    /// The EOS symbol appeared in the string.
    Eos,
    /// More than 7 bits of padding, or padding that is not the EOS prefix
    /// (all ones).
    BadPadding,
    /// The decoded text would exceed the caller's limit.
    TooLong,
}

/// Appends the decoding of `input` to `out`, at most `limit` bytes in all
/// (`out` is left partly written on error).
pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), HuffmanError> {
    let t = &TABLE;
    let mut code = 0u32;
    let mut len = 0usize;
    let mut written = 0usize;
    for &byte in input {
        for shift in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> shift) & 1);
            len += 1;
            // Every 30-bit string starts with a complete code, so `len`
            // never passes MAX_LEN.
            let index = code.wrapping_sub(t.first[len]);
            if code >= t.first[len] && index < t.count[len] {
                let sym = t.symbols[t.offset[len] as usize + index as usize];
                if sym == EOS {
                    return Err(HuffmanError::Eos);
                }
                if written == limit {
                    return Err(HuffmanError::TooLong);
                }
                out.push(sym as u8);
                written += 1;
                code = 0;
                len = 0;
            }
        }
    }
    // Padding: fewer than 8 bits, all ones (the start of EOS).
    if len > 7 || code != (1u32 << len) - 1 {
        return Err(HuffmanError::BadPadding);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(hex: &str) -> Result<Vec<u8>, HuffmanError> {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut out = Vec::new();
        decode(&bytes, &mut out, 1024).map(|()| out)
    }

    /// RFC 7541 Appendix C.4 and C.6 strings.
    #[test]
    fn rfc_7541_examples() {
        assert_eq!(dec("f1e3c2e5f23a6ba0ab90f4ff").unwrap(), b"www.example.com");
        assert_eq!(dec("a8eb10649cbf").unwrap(), b"no-cache");
        assert_eq!(dec("25a849e95ba97d7f").unwrap(), b"custom-key");
        assert_eq!(dec("25a849e95bb8e8b4bf").unwrap(), b"custom-value");
        assert_eq!(dec("6402").unwrap(), b"302");
        assert_eq!(dec("aec3771a4b").unwrap(), b"private");
        assert_eq!(
            dec("d07abe941054d444a8200595040b8166e082a62d1bff").unwrap(),
            b"Mon, 21 Oct 2013 20:13:21 GMT"
        );
        assert_eq!(
            dec("9d29ad171863c78f0b97c8e9ae82ae43d3").unwrap(),
            b"https://www.example.com"
        );
        assert_eq!(dec("").unwrap(), b"");
    }

    /// The code is complete and prefix-free: the lengths fill the code
    /// space exactly (Kraft sum of one).
    #[test]
    fn code_space_is_exactly_filled() {
        let sum: u64 = LENGTHS
            .iter()
            .map(|&l| 1u64 << (MAX_LEN - l as usize))
            .sum();
        assert_eq!(sum, 1u64 << MAX_LEN);
        // '0' is 00000 (5 bits), 'a' 00011, EOS thirty ones.
        assert_eq!(TABLE.first[5], 0);
        assert_eq!(TABLE.symbols[TABLE.offset[5] as usize + 3], u16::from(b'a'));
        assert_eq!(TABLE.first[30] + 3, (1 << 30) - 1);
    }

    #[test]
    fn padding_errors() {
        // 'a' (00011) + 3 one bits: valid.
        assert_eq!(dec("1f").unwrap(), b"a");
        // 'a' + 3 bits that are not all ones.
        assert_eq!(dec("1e"), Err(HuffmanError::BadPadding));
        // 'a' then a whole byte of ones: 11 bits of padding.
        assert_eq!(dec("1fff"), Err(HuffmanError::BadPadding));
        // Thirty ones then padding: EOS itself.
        assert_eq!(dec("ffffffff"), Err(HuffmanError::Eos));
    }

    #[test]
    fn output_is_bounded() {
        let mut out = Vec::new();
        // Eight '0' symbols (5 bits each) in 5 bytes.
        assert_eq!(decode(&[0; 5], &mut out, 4), Err(HuffmanError::TooLong));
        assert_eq!(out.len(), 4);
    }
}
