//! Small shared helpers.
pub mod decimal;
pub mod time;
