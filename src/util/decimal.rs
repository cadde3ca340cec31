//! Decimal text without `format!`: event fields and timestamps are written
//! for every event, and the formatting machinery (plus the `String` it
//! needs) cost more than the rest of the line.

/// Appends `v` in decimal (itoa: two digits per step, no `fmt`). Measured
/// against writing the digits into a fixed buffer appended whole (no
/// `memcpy` call): itoa was twice as fast (`cargo bench --bench scanpath`).
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
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
}
