//! A decoded packet apart from its frame, so the sharded engine's router
//! can hand packets to the worker threads decoded: only the innermost IP
//! packet's bytes travel (link headers, tunnels and padding stay behind),
//! with what decoding found (MAC, tunnel depth, the IP header's fields).
//! The shard puts the views back over its copy of the bytes; the transport
//! view is rebuilt by its O(1) constructor, the same checks on the same
//! bytes.

use super::ip::DetachedIp;
use super::{transport, DecodeError, Packet, Transport};

#[derive(Debug, Clone, Copy)]
pub struct DetachedPacket {
    src_mac: Option<[u8; 6]>,
    tunnel_depth: u8,
    ip: DetachedIp,
}

impl<'a> Packet<'a> {
    /// This packet apart from its bytes, and the bytes to carry with it,
    /// in order (the IP header, then the IP payload). `None` for a piece
    /// of a fragmented datagram, which is not decoded below IP.
    pub fn detach(&self) -> Option<(DetachedPacket, [&'a [u8]; 2])> {
        if matches!(self.transport, Transport::Fragment) {
            return None;
        }
        let (ip, bytes) = self.ip.detach();
        let detached = DetachedPacket {
            src_mac: self.src_mac,
            tunnel_depth: self.tunnel_depth,
            ip,
        };
        Some((detached, bytes))
    }
}

impl DetachedPacket {
    /// The packet again over `bytes`, the concatenation of the bytes
    /// [`Packet::detach`] gave. Fails only as decoding those bytes failed
    /// (it did not, or there would be no packet).
    pub fn attach<'b>(&self, bytes: &'b [u8]) -> Result<Packet<'b>, DecodeError> {
        let ip = self.ip.attach(bytes)?;
        let transport = transport::parse(&ip)?;
        Ok(Packet {
            src_mac: self.src_mac,
            ip,
            transport,
            tunnel_depth: self.tunnel_depth,
        })
    }
}
