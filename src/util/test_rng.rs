//! A seeded xorshift64 generator for the unit tests' random inputs: the
//! same seed gives the same sequence, so a failure can be replayed.

/// The numbers after `seed` (which must not be zero).
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
