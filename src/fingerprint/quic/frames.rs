//! The frames an Initial packet may carry (RFC 9000 sections 12.4 and 19):
//! PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE. Any other frame type
//! ends the walk; what came before it is still used.

use super::varint::{ByteReader, ReadVarint};

/// Offsets plus lengths of a CRYPTO stream stay below 2^62 (RFC 9000 19.6).
const MAX_STREAM_OFFSET: u64 = (1 << 62) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A run of PADDING bytes.
    Padding(usize),
    Ping,
    Ack,
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    ConnectionClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A frame type not allowed or not understood here.
    Unsupported(u64),
    /// A frame cut short, or a CRYPTO range beyond 2^62.
    Malformed,
}

/// Iterator over the frames of a decrypted payload. After an error it
/// yields nothing more.
pub struct Frames<'a> {
    r: ByteReader<'a>,
    stopped: bool,
}

impl<'a> Frames<'a> {
    pub fn new(payload: &'a [u8]) -> Self {
        Frames {
            r: ByteReader::new(payload),
            stopped: false,
        }
    }

    fn frame(&mut self) -> Result<Frame<'a>, FrameError> {
        let ty = self.r.varint().map_err(|_| FrameError::Malformed)?;
        match ty {
            0x00 => {
                // Initials are padded to 1200 bytes: skip the run in one
                // scan rather than a frame per byte.
                let run = zero_run(self.r.rest());
                let _ = self.r.take(run);
                Ok(Frame::Padding(1 + run))
            }
            0x01 => Ok(Frame::Ping),
            0x02 | 0x03 => {
                self.ack(ty == 0x03).ok_or(FrameError::Malformed)?;
                Ok(Frame::Ack)
            }
            0x06 => {
                let offset = self.r.varint().map_err(|_| FrameError::Malformed)?;
                let len = self.r.varint().map_err(|_| FrameError::Malformed)?;
                if offset
                    .checked_add(len)
                    .is_none_or(|end| end > MAX_STREAM_OFFSET)
                {
                    return Err(FrameError::Malformed);
                }
                let data = self.r.take_u64(len).map_err(|_| FrameError::Malformed)?;
                Ok(Frame::Crypto { offset, data })
            }
            0x1c | 0x1d => {
                self.r.varint().map_err(|_| FrameError::Malformed)?; // error code
                if ty == 0x1c {
                    self.r.varint().map_err(|_| FrameError::Malformed)?; // frame type
                }
                let len = self.r.varint().map_err(|_| FrameError::Malformed)?;
                self.r.take_u64(len).map_err(|_| FrameError::Malformed)?; // reason
                Ok(Frame::ConnectionClose)
            }
            other => Err(FrameError::Unsupported(other)),
        }
    }

    /// Skips an ACK frame body. Each range consumes at least two bytes, so
    /// a huge announced range count ends at the end of the payload.
    fn ack(&mut self, ecn: bool) -> Option<()> {
        self.r.varint().ok()?; // largest acknowledged
        self.r.varint().ok()?; // ack delay
        let ranges = self.r.varint().ok()?;
        self.r.varint().ok()?; // first ack range
        for _ in 0..ranges {
            self.r.varint().ok()?; // gap
            self.r.varint().ok()?; // ack range length
        }
        if ecn {
            for _ in 0..3 {
                self.r.varint().ok()?;
            }
        }
        Some(())
    }
}

/// Length of the run of zero bytes `b` starts with, compared 16 bytes at
/// a time.
fn zero_run(b: &[u8]) -> usize {
    let mut n = 0;
    for chunk in b.chunks_exact(16) {
        if chunk != [0u8; 16] {
            break;
        }
        n += 16;
    }
    let tail = &b[n..];
    n + tail.iter().position(|&x| x != 0).unwrap_or(tail.len())
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stopped || self.r.remaining() == 0 {
            return None;
        }
        let f = self.frame();
        if f.is_err() {
            self.stopped = true;
        }
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_vectors::{hex, CLIENT_CRYPTO_FRAME};
    use super::*;

    #[test]
    fn rfc9001_client_payload_frames() {
        let mut payload = hex(CLIENT_CRYPTO_FRAME);
        let frame_len = payload.len();
        payload.resize(1162, 0);
        let frames: Vec<_> = Frames::new(&payload).collect();
        assert_eq!(frames.len(), 2);
        let Ok(Frame::Crypto { offset, data }) = frames[0] else {
            panic!("{:?}", frames[0])
        };
        assert_eq!(offset, 0);
        assert_eq!(data.len(), 0xf1);
        assert_eq!(data[0], 1, "a ClientHello");
        assert_eq!(frames[1], Ok(Frame::Padding(1162 - frame_len)));
    }

    #[test]
    fn rfc9001_server_payload_frames() {
        // A.3: ACK then CRYPTO (the ServerHello).
        let payload = hex(super::super::test_vectors::RFC9001.server_payload);
        let frames: Vec<_> = Frames::new(&payload).collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], Ok(Frame::Ack));
        let Ok(Frame::Crypto { offset: 0, data }) = frames[1] else {
            panic!()
        };
        assert_eq!(data[0], 2, "a ServerHello");
    }

    #[test]
    fn mixed_frames_and_unsupported_stop() {
        let mut p = vec![0x01, 0x00, 0x00]; // PING, 2 PADDING
        p.extend([0x03, 5, 0, 1, 0, 1, 1, 7, 8, 9]); // ACK_ECN with one range
        p.extend([0x1c, 0, 0x06, 2, b'n', b'o']); // CONNECTION_CLOSE
        p.extend([0x06, 0x41, 0x00, 2, 0xaa, 0xbb]); // CRYPTO offset 256
        p.extend([0x08, 0, 0]); // STREAM: not allowed in Initial
        p.extend([0x06, 0, 1, 0xcc]); // never reached
        let frames: Vec<_> = Frames::new(&p).collect();
        assert_eq!(
            frames,
            vec![
                Ok(Frame::Ping),
                Ok(Frame::Padding(2)),
                Ok(Frame::Ack),
                Ok(Frame::ConnectionClose),
                Ok(Frame::Crypto {
                    offset: 256,
                    data: &[0xaa, 0xbb]
                }),
                Err(FrameError::Unsupported(8)),
            ]
        );
    }

    #[test]
    fn hostile_frames() {
        // CRYPTO longer than the payload.
        assert_eq!(
            Frames::new(&[0x06, 0, 9, 1]).next(),
            Some(Err(FrameError::Malformed))
        );
        // CRYPTO past 2^62.
        let p = [0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0];
        assert_eq!(Frames::new(&p).next(), Some(Err(FrameError::Malformed)));
        // ACK announcing 2^62-1 ranges in a few bytes ends quickly.
        let p = [
            0x02, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 1,
        ];
        assert_eq!(Frames::new(&p).next(), Some(Err(FrameError::Malformed)));
        // Every prefix of a CONNECTION_CLOSE.
        let p = [0x1c, 0x40, 1, 0x06, 3, b'a', b'b', b'c'];
        for n in 1..p.len() {
            assert_eq!(
                Frames::new(&p[..n]).next(),
                Some(Err(FrameError::Malformed)),
                "{n}"
            );
        }
        assert_eq!(Frames::new(&p).next(), Some(Ok(Frame::ConnectionClose)));
    }
}
