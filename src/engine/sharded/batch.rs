//! Frames copied out of the capture buffer for a worker thread: one byte
//! arena and a small record per frame, reused chunk after chunk.

use crate::capture::RawPacket;
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
    linktype: u32,
    orig_len: u32,
    len: u32,
    /// The router's IP-ID/ISN classes for a fingerprinted SYN.
    seq: Option<SeqClasses>,
}

#[derive(Debug, Default)]
pub struct PacketBatch {
    data: Vec<u8>,
    meta: Vec<Meta>,
}

impl PacketBatch {
    pub fn push(&mut self, index: u32, raw: &RawPacket<'_>, seq: Option<SeqClasses>) {
        self.data.extend_from_slice(raw.data);
        self.meta.push(Meta {
            index,
            ts: raw.ts,
            linktype: raw.linktype,
            orig_len: raw.orig_len,
            // A capture record is at most 16 MiB (capture::file).
            len: u32::try_from(raw.data.len()).unwrap_or(u32::MAX),
            seq,
        });
    }

    /// The frames with their chunk positions (and SYN samples), in the
    /// order pushed.
    pub fn iter(&self) -> impl Iterator<Item = (u32, RawPacket<'_>, Option<SeqClasses>)> {
        let mut at = 0usize;
        self.meta.iter().map(move |m| {
            let end = at + m.len as usize;
            let data = &self.data[at..end];
            at = end;
            (
                m.index,
                RawPacket {
                    ts: m.ts,
                    linktype: m.linktype,
                    data,
                    orig_len: m.orig_len,
                },
                m.seq,
            )
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

    #[test]
    fn frames_come_back_as_pushed() {
        let mut b = PacketBatch::default();
        let frames: [&[u8]; 3] = [b"abc", b"", b"defgh"];
        for (i, f) in frames.iter().enumerate() {
            b.push(
                i as u32 * 2,
                &RawPacket {
                    ts: Timestamp::new(i as i64, 7),
                    linktype: 1,
                    data: f,
                    orig_len: 100 + i as u32,
                },
                None,
            );
        }
        let back: Vec<(u32, Vec<u8>, u32, Timestamp)> = b
            .iter()
            .map(|(i, p, _)| (i, p.data.to_vec(), p.orig_len, p.ts))
            .collect();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], (0, b"abc".to_vec(), 100, Timestamp::new(0, 7)));
        assert_eq!(back[1], (2, Vec::new(), 101, Timestamp::new(1, 7)));
        assert_eq!(back[2], (4, b"defgh".to_vec(), 102, Timestamp::new(2, 7)));
        b.clear();
        assert_eq!(b.iter().count(), 0);
    }
}
