//! Names the client software behind a fingerprint: a labels database
//! ([`db`]) backed by captures of the real programs, and the lookup that
//! adds `client` and `client_source` to events ([`matcher`]).

pub mod db;
pub mod matcher;
pub mod user_agent;

pub use db::{Database, Method, Row};
pub use matcher::{database, install, label_event};
