//! Small shared helpers.
pub mod budget;
pub mod counter;
pub mod decimal;
pub mod load;
pub mod lru;
pub mod message;
pub mod swar;
pub mod time;
pub mod wire;
