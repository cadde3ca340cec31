//! Small shared helpers.
pub mod budget;
pub mod counter;
pub mod decimal;
pub mod load;
pub mod lru;
pub mod message;
pub mod swar;
#[cfg(test)]
pub mod test_rng;
pub mod time;
pub mod wire;
