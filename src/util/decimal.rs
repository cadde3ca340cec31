//! Decimal text without `format!`: event fields and timestamps are written
//! for every event, and the formatting machinery (plus the `String` it
//! needs) cost more than the rest of the line.

/// Appends `v` in decimal. Below 10^16 (every number an event carries)
/// the digits are made eight at a time in a register and appended with a
/// fixed-size copy the compiler inlines: itoa's variable-length append
/// was a libc `memmove` call per number, 10% of the scan storm's engine
/// thread (`cargo bench --bench scanpath`, `push_u64_event_numbers`).
#[inline]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    if v < 100_000_000 {
        push_trimmed(out, digits8(v as u32));
    } else {
        push_long(out, v);
    }
}

/// [`push_u64`] of nine digits or more, out of line: few fields are this
/// long.
#[inline(never)]
fn push_long(out: &mut Vec<u8>, v: u64) {
    if v < 10_000_000_000_000_000 {
        push_trimmed(out, digits8((v / 100_000_000) as u32));
        push_word(out, ascii(digits8((v % 100_000_000) as u32)), 8);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// `v` (below 10^8) as eight decimal digit values (0..=9), one a byte, the
/// most significant in the lowest byte, leading zeros included: each step
/// divides every lane of the word at once by multiplying with a
/// reciprocal (exact below the bounds noted).
#[inline]
fn digits8(v: u32) -> u64 {
    let v = u64::from(v);
    // Two 32-bit lanes below 10^4: the high four digits, the low four.
    let w = (v / 10_000) | ((v % 10_000) << 32);
    // Each lane into two 16-bit lanes below 100 (x / 100 == x * 5243 >> 19
    // for x below 43699).
    let hundreds = ((w * 5243) >> 19) & 0x0000_007f_0000_007f;
    let w = hundreds | ((w - hundreds * 100) << 16);
    // Each into two bytes below 10 (x / 10 == x * 103 >> 10 below 179).
    let tens = ((w * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | ((w - tens * 10) << 8)
}

fn ascii(digits: u64) -> u64 {
    digits | 0x3030_3030_3030_3030
}

/// Appends the digits of [`digits8`] without their leading zeros (one
/// zero for zero).
#[inline]
fn push_trimmed(out: &mut Vec<u8>, digits: u64) {
    let zeros = (digits.trailing_zeros() / 8).min(7);
    push_word(out, ascii(digits) >> (8 * zeros), 8 - zeros as usize);
}

/// Appends the first `len` bytes of `word` (little-endian): all eight are
/// copied, a fixed-size store, and the rest cut off again.
#[inline]
fn push_word(out: &mut Vec<u8>, word: u64, len: usize) {
    let at = out.len();
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(at + len);
}

/// Appends `v` as exactly two digits (`v` below 100).
pub fn push_2(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&two_digits(v));
}

/// `v % 100` as two ASCII digits.
pub fn two_digits(v: u32) -> [u8; 2] {
    let v = v % 100;
    [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
}

/// Appends `v` in decimal, with a leading `-` when negative.
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `v` zero-padded to `width` digits (more digits if `v` needs
/// them), like `{v:0width$}`.
pub fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let digits = digit_count(v);
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits)));
    push_u64(out, v);
}

fn digit_count(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_formatting() {
        let mut every = vec![
            0u64,
            7,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            65535,
            1_000_000,
            u64::MAX,
        ];
        every.extend((0..64).map(|b| 1u64 << b));
        every.extend((1..20).map(|e| 10u64.pow(e) - 1));
        every.extend((1..20).map(|e| 10u64.pow(e)));
        for v in every {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
            for width in [0, 2, 4, 6] {
                let mut out = Vec::new();
                push_padded(&mut out, v, width);
                assert_eq!(out, format!("{v:0width$}").as_bytes());
            }
        }
        for v in [0i64, -1, 42, -9_999, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_i64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }

    /// Every length of number, at every magnitude, random and at each
    /// power of ten and one below, appended after other text: the same
    /// bytes as `Display`, nothing of what was there before changed.
    #[test]
    fn register_digits_match_std() {
        let mut next = crate::util::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        let mut every: Vec<u64> = (0..=100_000).collect();
        for e in 0..20 {
            let p = 10u64.pow(e);
            every.extend([p - 1, p, p + 1, p.saturating_mul(2) - 1]);
        }
        every.extend([u64::MAX, u64::MAX - 1, 99_999_999, 100_000_000]);
        for _ in 0..200_000 {
            let r = next();
            // Uniform over bits, then over digit counts.
            every.push(r);
            every.push(r >> (r % 64));
            every.push(r % 10u64.pow((r % 20) as u32));
        }
        let mut out = Vec::new();
        for (i, v) in every.into_iter().enumerate() {
            let prefix: &[u8] = &b"x=1234567"[..i % 10];
            out.clear();
            out.extend_from_slice(prefix);
            push_u64(&mut out, v);
            out.push(b';');
            assert_eq!(
                out,
                format!("{}{v};", String::from_utf8_lossy(prefix)).as_bytes()
            );
        }
    }
}
