//! The TLS record layer, read passively: a bounded reader that turns one
//! direction's in-order stream bytes, in chunks of any size, into complete
//! handshake messages.
//!
//! Records are reassembled across chunks and handshake messages across
//! records; several messages in a record and several records in a chunk are
//! the common case and are handed out without copying. Only a message that
//! is split is buffered, and never more than the cap: a message whose
//! declared length exceeds it is refused before anything is stored.

/// Record content types (RFC 8446 5.1).
pub mod content_type {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// The largest record a peer may send (TLSCiphertext: 2^14 + 2048).
pub const MAX_RECORD_LEN: usize = 16_384 + 2_048;

/// The default cap on buffered bytes per direction (docs/spec.md section 9).
pub const DEFAULT_CAP: usize = 16 * 1024;

const RECORD_HEADER_LEN: usize = 5;
const MSG_HEADER_LEN: usize = 4;

/// A TLS record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub length: u16,
}

impl RecordHeader {
    pub fn parse(b: &[u8]) -> Option<Self> {
        let h = b.get(..RECORD_HEADER_LEN)?;
        Some(RecordHeader {
            content_type: h[0],
            version: u16::from_be_bytes([h[1], h[2]]),
            length: u16::from_be_bytes([h[3], h[4]]),
        })
    }

    /// A known content type, an SSL 3.0 to TLS 1.3 record version and a
    /// length a peer may send.
    pub fn is_plausible(&self) -> bool {
        (content_type::CHANGE_CIPHER_SPEC..=content_type::HEARTBEAT).contains(&self.content_type)
            && (0x0300..=0x0304).contains(&self.version)
            && usize::from(self.length) <= MAX_RECORD_LEN
    }
}

/// What the message handler wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Keep reading, and from now on step over ChangeCipherSpec records:
    /// in TLS 1.3 (a HelloRetryRequest says so) they are only there for
    /// middlebox compatibility and encryption is announced otherwise.
    ContinueIgnoringChangeCipherSpec,
    Stop,
}

/// Why the reader stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// ChangeCipherSpec: what follows is encrypted.
    ChangeCipherSpec,
    ApplicationData,
    Alert,
    /// The message handler asked to stop.
    Handler,
}

/// Why the bytes are not a TLS handshake the reader can follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderError {
    /// A record header with an unknown type, version or impossible length.
    BadRecord,
    /// A handshake message declares more bytes than the cap allows.
    MessageTooLarge { declared: u32 },
    /// A record of another type arrived in the middle of a handshake message.
    Interleaved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderStatus {
    Reading,
    Stopped(StopReason),
    Failed(ReaderError),
}

/// One direction's handshake reader.
#[derive(Debug)]
pub struct HandshakeReader {
    cap: usize,
    header: [u8; RECORD_HEADER_LEN],
    header_len: usize,
    /// Body bytes of the current record still to come.
    record_left: usize,
    record_type: u8,
    /// A handshake message split across chunks or records (header included).
    partial: Vec<u8>,
    /// Step over ChangeCipherSpec records instead of stopping there.
    ignore_ccs: bool,
    status: ReaderStatus,
    messages: u32,
}

impl Default for HandshakeReader {
    fn default() -> Self {
        HandshakeReader::new(DEFAULT_CAP)
    }
}

impl HandshakeReader {
    /// Heap bytes the reader holds, itself boxed included (for the memory
    /// budget).
    pub fn heap_bytes(&self) -> usize {
        use crate::util::budget::heap_cost;
        heap_cost(std::mem::size_of::<Self>()) + heap_cost(self.partial.capacity())
    }

    /// `cap`: the most bytes of a handshake message the reader will hold.
    pub fn new(cap: usize) -> Self {
        HandshakeReader {
            cap: cap.max(MSG_HEADER_LEN),
            header: [0; RECORD_HEADER_LEN],
            header_len: 0,
            record_left: 0,
            record_type: 0,
            partial: Vec::new(),
            ignore_ccs: false,
            status: ReaderStatus::Reading,
            messages: 0,
        }
    }

    pub fn status(&self) -> ReaderStatus {
        self.status
    }

    pub fn is_reading(&self) -> bool {
        self.status == ReaderStatus::Reading
    }

    /// Bytes held for a split message.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Complete handshake messages handed out so far.
    pub fn messages(&self) -> u32 {
        self.messages
    }

    /// Whether to step over ChangeCipherSpec records instead of stopping
    /// there: true while TLS 1.3 is offered or negotiated, where they only
    /// serve middlebox compatibility (a client sends one before its second
    /// hello after a HelloRetryRequest).
    pub fn set_ignore_change_cipher_spec(&mut self, ignore: bool) {
        self.ignore_ccs = ignore;
    }

    /// Stops reading and frees the buffer.
    pub fn stop(&mut self) {
        if self.status == ReaderStatus::Reading {
            self.status = ReaderStatus::Stopped(StopReason::Handler);
        }
        self.partial = Vec::new();
    }

    /// Feeds the next in-order bytes. `on_message(type, body)` receives each
    /// complete handshake message and says whether to go on.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut on_message: impl FnMut(u8, &[u8]) -> Next,
    ) -> ReaderStatus {
        while !input.is_empty() && self.status == ReaderStatus::Reading {
            if self.record_left == 0 {
                let n = (RECORD_HEADER_LEN - self.header_len).min(input.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&input[..n]);
                self.header_len += n;
                input = &input[n..];
                if self.header_len < RECORD_HEADER_LEN {
                    break;
                }
                self.header_len = 0;
                self.start_record();
                continue;
            }
            let n = self.record_left.min(input.len());
            let (body, rest) = input.split_at(n);
            input = rest;
            self.record_left -= n;
            if self.record_type == content_type::HANDSHAKE {
                self.handshake_bytes(body, &mut on_message);
            }
        }
        if self.status != ReaderStatus::Reading {
            self.partial = Vec::new();
        }
        self.status
    }

    fn start_record(&mut self) {
        let Some(h) = RecordHeader::parse(&self.header).filter(RecordHeader::is_plausible) else {
            self.status = ReaderStatus::Failed(ReaderError::BadRecord);
            return;
        };
        if h.content_type != content_type::HANDSHAKE && !self.partial.is_empty() {
            self.status = ReaderStatus::Failed(ReaderError::Interleaved);
            return;
        }
        self.record_type = h.content_type;
        self.record_left = usize::from(h.length);
        match h.content_type {
            content_type::HANDSHAKE | content_type::HEARTBEAT => {}
            content_type::CHANGE_CIPHER_SPEC if self.ignore_ccs => {}
            content_type::CHANGE_CIPHER_SPEC => {
                self.status = ReaderStatus::Stopped(StopReason::ChangeCipherSpec)
            }
            content_type::ALERT => self.status = ReaderStatus::Stopped(StopReason::Alert),
            _ => self.status = ReaderStatus::Stopped(StopReason::ApplicationData),
        }
    }

    /// Handshake-layer bytes of one record fragment.
    fn handshake_bytes(
        &mut self,
        mut piece: &[u8],
        on_message: &mut impl FnMut(u8, &[u8]) -> Next,
    ) {
        if !self.partial.is_empty() {
            if self.partial.len() < MSG_HEADER_LEN {
                let n = (MSG_HEADER_LEN - self.partial.len()).min(piece.len());
                self.partial.extend_from_slice(&piece[..n]);
                piece = &piece[n..];
                if self.partial.len() < MSG_HEADER_LEN {
                    return;
                }
                let Some(total) = self.check_len(message_len(&self.partial, self.cap)) else {
                    return;
                };
                self.partial.reserve_exact(total - self.partial.len());
            }
            let Some(total) = self.check_len(message_len(&self.partial, self.cap)) else {
                return;
            };
            let n = (total - self.partial.len()).min(piece.len());
            self.partial.extend_from_slice(&piece[..n]);
            piece = &piece[n..];
            if self.partial.len() < total {
                return;
            }
            let msg = std::mem::take(&mut self.partial);
            if !self.deliver(msg[0], &msg[MSG_HEADER_LEN..], on_message) {
                return;
            }
        }
        // Whole messages straight from the input, without copying.
        while piece.len() >= MSG_HEADER_LEN {
            let Some(total) = self.check_len(message_len(piece, self.cap)) else {
                return;
            };
            if piece.len() < total {
                self.partial.reserve_exact(total);
                break;
            }
            let (msg, rest) = piece.split_at(total);
            piece = rest;
            if !self.deliver(msg[0], &msg[MSG_HEADER_LEN..], on_message) {
                return;
            }
        }
        self.partial.extend_from_slice(piece);
    }

    /// Fails the reader on an oversized message.
    fn check_len(&mut self, len: Result<usize, ReaderError>) -> Option<usize> {
        len.map_err(|e| self.status = ReaderStatus::Failed(e)).ok()
    }

    fn deliver(
        &mut self,
        ty: u8,
        body: &[u8],
        on_message: &mut impl FnMut(u8, &[u8]) -> Next,
    ) -> bool {
        self.messages = self.messages.saturating_add(1);
        match on_message(ty, body) {
            Next::Continue => true,
            Next::ContinueIgnoringChangeCipherSpec => {
                self.ignore_ccs = true;
                true
            }
            Next::Stop => {
                self.status = ReaderStatus::Stopped(StopReason::Handler);
                false
            }
        }
    }
}

/// The full length (header included) a message header declares, refused
/// when it exceeds the cap.
fn message_len(header: &[u8], cap: usize) -> Result<usize, ReaderError> {
    let declared = u32::from_be_bytes([0, header[1], header[2], header[3]]);
    let total = declared as usize + MSG_HEADER_LEN;
    if total > cap {
        return Err(ReaderError::MessageTooLarge { declared });
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ty, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn message(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![ty];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn collect(
        reader: &mut HandshakeReader,
        chunks: &[&[u8]],
    ) -> (Vec<(u8, Vec<u8>)>, ReaderStatus) {
        let mut out = Vec::new();
        let mut status = reader.status();
        for c in chunks {
            status = reader.feed(c, |t, b| {
                out.push((t, b.to_vec()));
                Next::Continue
            });
        }
        (out, status)
    }

    /// A server flight: ServerHello, Certificate, ServerHelloDone in one
    /// record, the Certificate split over a second record, then CCS.
    fn server_flight() -> (Vec<u8>, Vec<(u8, Vec<u8>)>) {
        let sh = message(2, &[7; 70]);
        let cert = message(11, &(0..3000u32).map(|i| i as u8).collect::<Vec<_>>());
        let done = message(14, &[]);
        let mut hs = sh.clone();
        hs.extend_from_slice(&cert);
        hs.extend_from_slice(&done);
        let split = 1000;
        let mut wire = record(22, &hs[..split]);
        wire.extend_from_slice(&record(22, &hs[split..]));
        wire.extend_from_slice(&record(20, &[1]));
        wire.extend_from_slice(&record(22, &[0xde; 40])); // encrypted Finished
        let expect = vec![
            (2, sh[4..].to_vec()),
            (11, cert[4..].to_vec()),
            (14, vec![]),
        ];
        (wire, expect)
    }

    #[test]
    fn every_chunking_gives_the_same_messages() {
        let (wire, expect) = server_flight();
        for size in [
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            13,
            100,
            999,
            1000,
            1001,
            1460,
            wire.len(),
        ] {
            let mut r = HandshakeReader::default();
            let chunks: Vec<&[u8]> = wire.chunks(size).collect();
            let (got, status) = collect(&mut r, &chunks);
            assert_eq!(got, expect, "chunk size {size}");
            assert_eq!(status, ReaderStatus::Stopped(StopReason::ChangeCipherSpec));
            assert_eq!(r.buffered(), 0);
        }
    }

    #[test]
    fn handler_can_stop_early() {
        let (wire, _) = server_flight();
        let mut r = HandshakeReader::default();
        let mut seen = Vec::new();
        let status = r.feed(&wire, |t, _| {
            seen.push(t);
            if t == 11 {
                Next::Stop
            } else {
                Next::Continue
            }
        });
        assert_eq!(seen, [2, 11]);
        assert_eq!(status, ReaderStatus::Stopped(StopReason::Handler));
        // Later bytes are ignored.
        let (got, _) = collect(&mut r, &[&wire]);
        assert!(got.is_empty());
    }

    #[test]
    fn huge_declared_message_fails_without_allocating() {
        // A Certificate claiming 16 MB.
        let mut wire = record(22, &[11, 0xff, 0xff, 0xff, 1, 2, 3]);
        wire.truncate(9);
        for split in 1..wire.len() {
            let mut r = HandshakeReader::default();
            let (got, status) = collect(&mut r, &[&wire[..split], &wire[split..]]);
            assert!(got.is_empty());
            assert_eq!(
                status,
                ReaderStatus::Failed(ReaderError::MessageTooLarge {
                    declared: 0xff_ffff
                })
            );
            assert_eq!(r.buffered(), 0);
            assert!(r.partial.capacity() < 16, "split {split}");
        }
    }

    #[test]
    fn message_over_the_cap_is_refused_and_under_it_accepted() {
        let cap = 1024;
        let big = message(11, &[1; 1021]); // 1025 bytes with header
        let ok = message(11, &[1; 1020]); // 1024 bytes
        let mut r = HandshakeReader::new(cap);
        let wire = record(22, &big);
        let (_, status) = collect(&mut r, &[&wire[..50], &wire[50..]]);
        assert!(matches!(
            status,
            ReaderStatus::Failed(ReaderError::MessageTooLarge { .. })
        ));
        let mut r = HandshakeReader::new(cap);
        let wire = record(22, &ok);
        let (got, _) = collect(&mut r, &[&wire[..50], &wire[50..]]);
        assert_eq!(got.len(), 1);
        assert!(r.partial.capacity() <= cap);
    }

    #[test]
    fn garbage_fails_cleanly() {
        for garbage in [
            &b"GET / HTTP/1.1\r\n"[..],
            &[0x16, 0x03, 0x03, 0xff, 0xff],
            &[0x16, 0x09, 0x01, 0, 4],
            &[0; 10],
        ] {
            let mut r = HandshakeReader::default();
            let (got, status) = collect(&mut r, &[garbage]);
            assert!(got.is_empty());
            assert_eq!(
                status,
                ReaderStatus::Failed(ReaderError::BadRecord),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn record_lengths_that_lie_never_overrun() {
        // The record claims more than arrives: the reader just waits.
        let msg = message(1, &[5; 200]);
        let mut wire = record(22, &msg);
        wire[3] = 0x40; // length 0x40c8: larger than what follows
        let mut r = HandshakeReader::default();
        let (got, status) = collect(&mut r, &[&wire]);
        assert_eq!(got.len(), 1);
        assert_eq!(status, ReaderStatus::Reading);
        // A message cut by a shorter record continues in the next one.
        let mut r = HandshakeReader::default();
        let mut wire = record(22, &msg[..10]);
        wire.extend_from_slice(&record(22, &msg[10..]));
        let (got, _) = collect(&mut r, &[&wire]);
        assert_eq!(got, [(1, vec![5; 200])]);
    }

    #[test]
    fn change_cipher_spec_ignored_once_tls13_is_known() {
        let ch1 = message(1, &[1; 50]);
        let ch2 = message(1, &[2; 60]);
        let mut wire = record(22, &ch1);
        wire.extend_from_slice(&record(20, &[1]));
        wire.extend_from_slice(&record(22, &ch2));
        wire.extend_from_slice(&record(23, &[9; 30]));
        let mut r = HandshakeReader::default();
        let (got, status) = collect(&mut r, &[&wire]);
        assert_eq!(got.len(), 1);
        assert_eq!(status, ReaderStatus::Stopped(StopReason::ChangeCipherSpec));
        let mut r = HandshakeReader::default();
        r.set_ignore_change_cipher_spec(true);
        let (got, status) = collect(&mut r, &[&wire]);
        assert_eq!(got, [(1, vec![1; 50]), (1, vec![2; 60])]);
        assert_eq!(status, ReaderStatus::Stopped(StopReason::ApplicationData));
        // The handler can ask for it while reading: HelloRetryRequest, CCS,
        // then the real ServerHello in the same chunk.
        let hrr = message(2, &[3; 40]);
        let sh = message(2, &[4; 40]);
        let mut wire = record(22, &hrr);
        wire.extend_from_slice(&record(20, &[1]));
        wire.extend_from_slice(&record(22, &sh));
        let mut r = HandshakeReader::default();
        let mut seen = 0;
        let status = r.feed(&wire, |_, _| {
            seen += 1;
            if seen == 1 {
                Next::ContinueIgnoringChangeCipherSpec
            } else {
                Next::Stop
            }
        });
        assert_eq!(seen, 2);
        assert_eq!(status, ReaderStatus::Stopped(StopReason::Handler));
    }

    #[test]
    fn interleaved_record_inside_a_message_fails() {
        let msg = message(11, &[3; 100]);
        let mut wire = record(22, &msg[..50]);
        wire.extend_from_slice(&record(21, &[2, 40]));
        let mut r = HandshakeReader::default();
        let (_, status) = collect(&mut r, &[&wire]);
        assert_eq!(status, ReaderStatus::Failed(ReaderError::Interleaved));
        assert_eq!(r.buffered(), 0);
    }
}
