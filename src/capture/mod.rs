//! Packet sources: pcap/pcapng files and live interfaces. A source hands out
//! [`RawPacket`]s that borrow its buffer, so reading copies nothing.

pub mod file;
pub mod live;
// The only module with `unsafe` code: the memory map and its lease.
#[allow(unsafe_code)]
mod mapped;

use crate::util::time::Timestamp;

/// One captured frame, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    /// LINKTYPE_* value of the interface that captured the frame.
    pub linktype: u32,
    pub data: &'a [u8],
    /// Length on the wire (may exceed `data.len()` when the snap length cut it).
    pub orig_len: u32,
}

/// LINKTYPE_* values this program decodes (tcpdump.org link-layer header types).
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}
