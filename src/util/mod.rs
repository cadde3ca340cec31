//! Small shared helpers.
pub mod decimal;
pub mod lru;
pub mod time;
