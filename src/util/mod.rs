//! Small shared helpers.
pub mod decimal;
pub mod lru;
pub mod swar;
pub mod time;
pub mod load;
pub mod message;
