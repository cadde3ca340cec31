//! Finding the next byte that needs escaping, eight bytes at a time
//! ("SIMD within a register"): the escapers copy long clean runs in one go
//! and look at single bytes only where something must change.
//!
//! Each mask has the top bit of a byte set where the condition holds. The
//! arithmetic ones can also flag a byte just above a true hit (a borrow),
//! never below one, so the lowest flagged byte of any of them, or of their
//! union, is always a true hit.

const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of every byte.
pub const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bytes equal to `c`.
#[inline]
pub fn eq(w: u64, c: u8) -> u64 {
    zero(w ^ (ONES * u64::from(c)))
}

/// Bytes below `n` (`n` at most 0x80).
#[inline]
pub fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Bytes with the top bit set (not ASCII).
#[inline]
pub fn high(w: u64) -> u64 {
    w & HIGHS
}

#[inline]
fn zero(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// The index of the first byte at or after `from` for which `mask` flags
/// its word (or, in the tail shorter than a word, `is_special` holds).
#[inline]
pub fn find(
    bytes: &[u8],
    from: usize,
    mask: impl Fn(u64) -> u64,
    is_special: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let m = mask(u64::from_le_bytes(word));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = bytes.get(i..)?;
    tail.iter().position(|&b| is_special(b)).map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of a word, with every other byte
    /// a candidate for a false positive: the first hit is always exact.
    #[test]
    fn first_hit_is_exact() {
        let special = |b: u8| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x80;
        let mask = |w| below(w, 0x20) | eq(w, b'"') | eq(w, b'\\') | high(w);
        let fillers = [
            b'a',
            0x21,
            b'"' + 1,
            b'\\' + 1,
            0x20,
            0x7f,
            b'!',
            b'#',
            b'[',
            b']',
        ];
        for filler in fillers {
            for pos in 0..19 {
                for b in 0..=255u8 {
                    let mut bytes = vec![filler; 19];
                    bytes[pos] = b;
                    let want = bytes.iter().position(|&x| special(x));
                    assert_eq!(find(&bytes, 0, mask, special), want, "{filler} {pos} {b}");
                    // A second hit right after the first is found too.
                    if let Some(w) = want {
                        let next = bytes[w + 1..]
                            .iter()
                            .position(|&x| special(x))
                            .map(|p| p + w + 1);
                        assert_eq!(find(&bytes, w + 1, mask, special), next);
                    }
                }
            }
        }
    }
}
