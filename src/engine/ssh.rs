//! SSH stream analyzer (placeholder: the SSH work replaces this file).

use super::stream::{Dir, Interest, StreamCx};

/// Per-connection SSH state.
#[derive(Debug, Default)]
pub struct SshConn;

impl SshConn {
    pub fn new() -> Self {
        SshConn
    }

    /// The next in-order bytes of `dir`, at stream offset `offset`.
    pub fn on_data(
        &mut self,
        _cx: &mut StreamCx<'_>,
        _dir: Dir,
        _offset: u64,
        _data: &[u8],
    ) -> Interest {
        Interest::Done
    }

    /// Every payload segment of the flow.
    pub fn on_segment(&mut self, _cx: &mut StreamCx<'_>, _dir: Dir, _payload_len: usize) {}

    /// The flow ends.
    pub fn on_close(&mut self, _cx: &mut StreamCx<'_>) {}
}
