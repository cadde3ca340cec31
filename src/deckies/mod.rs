//! Who is observed (docs/spec.md section 3): the decky map, where it comes
//! from (DECNET's state file, `--decky` arguments, or neither: observe-all
//! mode) and how the daemon follows the state file while it runs.
//!
//! Below the engine, which only reads the [`DeckyMap`] it is given.

pub mod map;
pub mod source;
pub mod state_file;
pub mod watch;

pub use map::{validate_name, Decap, DeckyArgError, DeckyMap};
pub use source::{DeckySource, MissingFile};
pub use state_file::StateError;
pub use watch::{ReloadCounters, StateWatcher, WatchOptions};
