//! Small shared helpers.
pub mod budget;
pub mod decimal;
pub mod lru;
pub mod swar;
pub mod time;
