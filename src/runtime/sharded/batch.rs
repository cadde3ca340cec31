//! A shard's packets of one chunk, decoded by the router: the bytes of
//! each packet's innermost IP packet in one arena and a small record per
//! packet (what decoding found), reused chunk after chunk.

use crate::decode::{DecodeError, DetachedPacket, Packet};
use crate::fingerprint::seqclass::SeqClasses;
use crate::util::time::Timestamp;

/// A batch keeps at most this much arena capacity when it comes back for
/// reuse, so one huge record does not pin its memory for good.
const KEEP_CAPACITY: usize = 8 << 20;

#[derive(Debug, Clone, Copy)]
struct Meta {
    /// Position of the frame in its chunk (the merge key).
    index: u32,
    ts: Timestamp,
    packet: DetachedPacket,
    len: u32,
    /// The router's IP-ID/ISN classes for a fingerprinted SYN.
    seq: Option<SeqClasses>,
}

/// One packet as the shard gets it back.
pub struct RoutedPacket<'a> {
    /// Position of the frame in its chunk.
    pub index: u32,
    pub ts: Timestamp,
    /// As the router decoded it (an error only if the copy differed).
    pub packet: Result<Packet<'a>, DecodeError>,
    pub seq: Option<SeqClasses>,
}

#[derive(Debug, Default)]
pub struct PacketBatch {
    data: Vec<u8>,
    meta: Vec<Meta>,
}

impl PacketBatch {
    /// Adds a decoded packet (`packet` apart from `bytes`, from
    /// [`Packet::detach`]); returns the bytes copied.
    pub fn push(
        &mut self,
        index: u32,
        ts: Timestamp,
        packet: DetachedPacket,
        bytes: [&[u8]; 2],
        seq: Option<SeqClasses>,
    ) -> usize {
        let before = self.data.len();
        for b in bytes {
            self.data.extend_from_slice(b);
        }
        let len = self.data.len() - before;
        self.meta.push(Meta {
            index,
            ts,
            packet,
            // An IP packet is at most a capture record (16 MiB) or a
            // reassembled datagram (64 KiB).
            len: u32::try_from(len).unwrap_or(u32::MAX),
            seq,
        });
        len
    }

    /// The packets in the order pushed.
    pub fn iter(&self) -> impl Iterator<Item = RoutedPacket<'_>> {
        let mut at = 0usize;
        self.meta.iter().map(move |m| {
            let end = at + m.len as usize;
            let bytes = &self.data[at..end];
            at = end;
            RoutedPacket {
                index: m.index,
                ts: m.ts,
                packet: m.packet.attach(bytes),
                seq: m.seq,
            }
        })
    }

    /// Empties the batch for reuse.
    pub fn clear(&mut self) {
        self.data.clear();
        self.meta.clear();
        if self.data.capacity() > KEEP_CAPACITY {
            self.data.shrink_to(KEEP_CAPACITY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{linktype, RawPacket};
    use crate::decode::{self, Transport};
    use crate::util::time::Timestamp;

    /// An Ethernet frame carrying IPv4/TCP with `payload`, and two bytes
    /// of padding after the IP packet.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let total = 20 + 20 + payload.len();
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            7,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ];
        ip.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 2]);
        f.extend_from_slice(&ip);
        let mut tcp = vec![
            0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff,
        ];
        tcp.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(&tcp);
        f.extend_from_slice(payload);
        f.extend_from_slice(&[0xee, 0xee]);
        f
    }

    #[test]
    fn packets_come_back_as_decoded() {
        let mut b = PacketBatch::default();
        let frames = [frame(b"GET / HTTP/1.1\r\n"), frame(b""), frame(b"x")];
        let mut decoded = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let raw = RawPacket {
                ts: Timestamp::new(i as i64, 7),
                linktype: linktype::ETHERNET,
                data: f,
                orig_len: f.len() as u32,
            };
            let pkt = decode::decode(&raw).unwrap();
            let (detached, bytes) = pkt.detach().unwrap();
            // Only the IP packet travels: no link header, no padding.
            let copied = b.push(i as u32 * 2, raw.ts, detached, bytes, None);
            assert_eq!(copied, f.len() - 16);
            decoded.push(pkt);
        }
        let back: Vec<RoutedPacket<'_>> = b.iter().collect();
        assert_eq!(back.len(), 3);
        for (i, (r, pkt)) in back.iter().zip(&decoded).enumerate() {
            assert_eq!(r.index, i as u32 * 2);
            assert_eq!(r.ts, Timestamp::new(i as i64, 7));
            let got = r.packet.as_ref().unwrap();
            assert_eq!(got.src_mac, pkt.src_mac);
            assert_eq!(got.tunnel_depth, pkt.tunnel_depth);
            assert_eq!((got.ip.src, got.ip.dst), (pkt.ip.src, pkt.ip.dst));
            assert_eq!((got.ip.ident, got.ip.ttl), (pkt.ip.ident, pkt.ip.ttl));
            assert_eq!(got.ip.header_bytes(), pkt.ip.header_bytes());
            assert_eq!(got.ip.payload, pkt.ip.payload);
            let (Transport::Tcp(a), Transport::Tcp(b)) = (got.transport, pkt.transport) else {
                panic!("not TCP");
            };
            assert_eq!(a.header_len(), b.header_len());
            assert_eq!(a.option_bytes(), b.option_bytes());
            assert_eq!(a.payload, b.payload);
            assert_eq!((a.src_port(), a.dst_port(), a.seq()), (12345, 443, 1));
        }
        drop(back);
        b.clear();
        assert_eq!(b.iter().count(), 0);
    }
}
