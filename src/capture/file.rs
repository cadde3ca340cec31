//! Offline capture files: classic pcap (either byte order, µs or ns) and
//! pcapng (several interfaces with their own link types and time
//! resolutions), told apart by their magic number, never by the file name.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header, PcapHeader};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

use super::mapped::Mapped;
use super::RawPacket;
use crate::util::time::Timestamp;

/// Initial read buffer; grown up to [`MAX_RECORD`] for jumbo records.
const BUFFER: usize = 1 << 20;
/// The largest single record accepted (pcapng blocks, 64 KiB snaplen frames).
const MAX_RECORD: usize = 16 << 20;
/// pcapng section header, classic pcap (µs and ns), in either byte order.
const KNOWN_MAGICS: [[u8; 4]; 5] = [
    [0x0a, 0x0d, 0x0d, 0x0a],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
/// Interfaces per pcapng section we keep; more is hostile or broken.
const MAX_INTERFACES: usize = 4096;
/// Classic pcap file header length.
const PCAP_HEADER: usize = 24;
/// Classic pcap record header length.
const PCAP_RECORD: usize = 16;
/// A mapped file's pages behind the reader are dropped from the process
/// (not from the page cache) every this many bytes: RSS stays flat.
const RELEASE_STEP: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum CaptureFileError {
    #[error("{path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path}: not a pcap or pcapng capture (unrecognised magic number {magic} at byte 0)")]
    NotACapture { path: PathBuf, magic: String },
    #[error("{path}: pcap or pcapng file header truncated or invalid ({len} bytes read)")]
    BadHeader { path: PathBuf, len: usize },
    #[error("{path}: empty file")]
    Empty { path: PathBuf },
    #[error("{path}: read error at byte {offset}")]
    Read { path: PathBuf, offset: usize },
    /// `block` counts from 1, the file header being block 1; `reason` is
    /// our own words, never the parser's copy of the input.
    #[error("{path}: malformed capture at byte {offset} (block {block}): {reason}")]
    Malformed {
        path: PathBuf,
        offset: usize,
        block: u64,
        reason: &'static str,
    },
}

/// How a file ended, for the caller's summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileEnd {
    /// The last record was cut short (the file was still being written).
    pub truncated: bool,
    /// Bytes left unparsed after a truncated record (its part, and
    /// anything after a block the parser could not finish).
    pub unread: usize,
    pub packets: u64,
    /// pcapng packets skipped: their interface id has no interface block.
    pub no_interface: u64,
    /// Packets skipped: their time (after `if_tsresol` and `if_tsoffset`)
    /// is outside 1970-01-01..9999-12-31, which no output line can carry.
    pub bad_time: u64,
}

/// Per-interface decoding parameters of a pcapng section.
#[derive(Clone, Copy)]
struct Interface {
    linktype: u32,
    resolution: u64,
    offset: i64,
}

/// A capture file being read; `-` is standard input.
pub struct CaptureFile {
    path: PathBuf,
    source: Source,
    layout: Layout,
    /// Blocks (headers and records) read so far.
    blocks: u64,
}

/// Where the records come from.
enum Source {
    /// A classic pcap file read in place (`capture::mapped`).
    Mapped(MappedPcap),
    /// Everything else, and a mapped file from where the map was left:
    /// pcap-parser's streaming reader over `read()`.
    Stream {
        reader: Box<dyn PcapReaderIterator + Send>,
        /// File offset of the reader's byte 0 minus the header it was
        /// given again (see [`MappedPcap::hand_off`]).
        base: usize,
    },
}

/// A classic pcap file walked record by record in its memory map.
struct MappedPcap {
    /// `None` once handed off (unmapped, lease released).
    map: Option<Mapped>,
    file: File,
    /// The file header, handed to the layout before the first record.
    header: PcapHeader,
    /// Offset of the next record (0: the file header is next).
    pos: usize,
    /// `pos` when the pages behind the reader were last released.
    released: usize,
}

/// Why the walk through a map stopped.
enum Walked {
    /// Every record was read.
    End,
    /// The rest is for the streaming reader, from `pos` on: the lease
    /// broke, or the next record is cut short or larger than the first
    /// read buffer, where the streaming reader's verdict is the one kept.
    HandOff,
}

/// Records walked and bytes they took, by [`Layout::walk_records`].
#[derive(Default)]
struct Walk {
    records: u64,
    bytes: usize,
}

/// What the headers read so far say about the records that follow.
#[derive(Default)]
struct Layout {
    legacy_linktype: u32,
    legacy_nanos: bool,
    /// Byte order of the classic header or of the current pcapng section.
    big_endian: bool,
    /// pcapng (blocks carry their length at 4..8) or classic (records
    /// carry their captured length at 8..12 after a 16-byte header).
    pcapng: bool,
    interfaces: Vec<Interface>,
    /// A classic pcap header with 16-byte record headers was read: the
    /// records that follow can be walked without the parser.
    plain_records: bool,
    /// Packets skipped so far, as in [`FileEnd`].
    no_interface: u64,
    bad_time: u64,
}

impl CaptureFile {
    /// Opens `path` to be read with `read()`.
    pub fn open(path: &Path) -> Result<Self, CaptureFileError> {
        Self::open_as(path, false)
    }

    /// Opens `path` to be read in place through a memory map when it is a
    /// classic pcap file the kernel lets us lease (`capture::mapped`),
    /// otherwise as [`CaptureFile::open`] does. Same packets, same errors.
    /// On a 2-vCPU VM mapping page-cache pages costs more CPU than
    /// `read()` copies them (BENCHMARKS.md), hence not the default.
    pub fn open_mapped(path: &Path) -> Result<Self, CaptureFileError> {
        Self::open_as(path, true)
    }

    fn open_as(path: &Path, mapped: bool) -> Result<Self, CaptureFileError> {
        let input: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(io::stdin())
        } else {
            let f = File::open(path).map_err(|source| CaptureFileError::Open {
                path: path.to_owned(),
                source,
            })?;
            if let Some(mapped) = mapped.then(|| MappedPcap::new(&f)).flatten() {
                return Ok(CaptureFile {
                    path: path.to_owned(),
                    source: Source::Mapped(mapped),
                    blocks: 0,
                    layout: Layout {
                        legacy_linktype: 1,
                        ..Layout::default()
                    },
                });
            }
            Box::new(f)
        };
        Self::from_reader(path, input)
    }

    pub fn from_reader(
        path: &Path,
        mut input: Box<dyn Read + Send>,
    ) -> Result<Self, CaptureFileError> {
        let path = path.to_owned();
        // The format is told from the first read; a pipe may hand out a few
        // bytes at a time, so that read is filled first.
        let mut head = Vec::with_capacity(BUFFER);
        if let Err(e) = (&mut input).take(BUFFER as u64).read_to_end(&mut head) {
            return Err(CaptureFileError::Open { path, source: e });
        }
        let first = head.get(..4).map(|m| [m[0], m[1], m[2], m[3]]);
        let head_len = head.len();
        let input = io::Cursor::new(head).chain(input);
        let reader = match create_reader(BUFFER, input) {
            Ok(r) => r,
            Err(PcapError::Eof) => return Err(CaptureFileError::Empty { path }),
            Err(PcapError::ReadError) => return Err(CaptureFileError::Read { path, offset: 0 }),
            Err(_) => {
                return Err(match first {
                    Some(m) if !KNOWN_MAGICS.contains(&m) => CaptureFileError::NotACapture {
                        path,
                        magic: format!("{:02x}{:02x}{:02x}{:02x}", m[0], m[1], m[2], m[3]),
                    },
                    _ => CaptureFileError::BadHeader {
                        path,
                        len: head_len,
                    },
                })
            }
        };
        Ok(CaptureFile {
            path,
            source: Source::Stream { reader, base: 0 },
            blocks: 0,
            layout: Layout {
                legacy_linktype: 1,
                ..Layout::default()
            },
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes consumed so far (for progress display).
    pub fn position(&self) -> usize {
        match &self.source {
            Source::Mapped(m) => m.pos,
            Source::Stream { reader, base } => base + reader.consumed(),
        }
    }

    /// Whether the records are read in place from a memory map (until
    /// the end, or until the map has to be left).
    pub fn is_mapped(&self) -> bool {
        matches!(self.source, Source::Mapped(_))
    }

    /// Calls `f` for every packet, in file order. A truncated last record
    /// ends the file normally with `truncated` set.
    pub fn for_each(
        &mut self,
        mut f: impl FnMut(RawPacket<'_>),
    ) -> Result<FileEnd, CaptureFileError> {
        let mut end = FileEnd::default();
        if let Source::Mapped(m) = &mut self.source {
            match m.walk(&mut self.layout, &mut self.blocks, &mut end, &mut f) {
                Walked::End => return Ok(self.layout.skipped(end)),
                Walked::HandOff => {
                    let (reader, base) = m.hand_off().map_err(|_| CaptureFileError::Read {
                        path: self.path.clone(),
                        offset: m.pos,
                    })?;
                    // The streaming reader starts with the file header again.
                    self.blocks -= 1;
                    self.source = Source::Stream { reader, base };
                }
            }
        }
        let Source::Stream { reader, base } = &mut self.source else {
            unreachable!("a mapped source was handed off above")
        };
        let base = *base;
        let path = &self.path;
        let blocks = &mut self.blocks;
        let malformed =
            |reader: &dyn PcapReaderIterator, blocks: u64, reason| CaptureFileError::Malformed {
                path: path.clone(),
                offset: base + reader.consumed(),
                block: blocks + 1,
                reason,
            };
        let refill = |reader: &mut Box<dyn PcapReaderIterator + Send>| {
            let offset = base + reader.consumed();
            reader.refill().map_err(|_| CaptureFileError::Read {
                path: path.clone(),
                offset,
            })
        };
        let mut capacity = BUFFER;
        loop {
            // Past the header (the reader hands it out first, from the
            // buffer's start), the whole classic records in the buffer are
            // walked here: the parser is left the rest (a record cut by the
            // buffer's end, errors and the end of the file).
            if self.layout.plain_records && reader.consumed() > 0 {
                let taken = self.layout.walk_records(reader.data(), &mut end, &mut f);
                *blocks += taken.records;
                reader.consume_noshift(taken.bytes);
            }
            match reader.next() {
                Ok((offset, block)) => {
                    *blocks += 1;
                    if let Some(pkt) = self.layout.packet_of(block) {
                        end.packets += 1;
                        f(pkt);
                    }
                    // No shift per record: `refill` moves the unread tail once per buffer.
                    reader.consume_noshift(offset);
                }
                Err(PcapError::Eof) => return Ok(self.layout.skipped(end)),
                Err(PcapError::Incomplete(_)) => {
                    refill(reader)?;
                }
                Err(PcapError::UnexpectedEof) => {
                    let rest = reader.data();
                    // The parser also says "more data needed" for a block
                    // whose declared length is all there but whose fields
                    // overrun it: that is damage, not a cut file.
                    if self.layout.whole_record_in(rest) {
                        return Err(malformed(
                            reader.as_ref(),
                            *blocks,
                            "record fields overrun its declared length",
                        ));
                    }
                    end.truncated = true;
                    end.unread = rest.len();
                    return Ok(self.layout.skipped(end));
                }
                Err(PcapError::BufferTooSmall) => {
                    if capacity >= MAX_RECORD || !reader.grow(capacity * 2) {
                        return Err(malformed(
                            reader.as_ref(),
                            *blocks,
                            "record larger than 16 MiB",
                        ));
                    }
                    capacity *= 2;
                    refill(reader)?;
                }
                Err(PcapError::ReadError) => {
                    return Err(CaptureFileError::Read {
                        path: path.clone(),
                        offset: base + reader.consumed(),
                    })
                }
                // The parser's errors carry the input bytes: never print
                // them, say what is wrong in words.
                Err(PcapError::NomError(_, kind)) | Err(PcapError::OwnedNomError(_, kind)) => {
                    return Err(malformed(reader.as_ref(), *blocks, parse_failure(kind)));
                }
                Err(PcapError::HeaderNotRecognized) => {
                    return Err(malformed(reader.as_ref(), *blocks, "block not recognised"));
                }
            }
        }
    }
}

impl MappedPcap {
    /// A mapped classic pcap file (not the "modified" variant with longer
    /// record headers); `None`: read `file` with `read()`.
    fn new(file: &File) -> Option<MappedPcap> {
        let map = Mapped::new(file)?;
        let (_, header) = parse_pcap_header(map.bytes()).ok()?;
        if header.is_modified_format() {
            return None;
        }
        Some(MappedPcap {
            header,
            file: file.try_clone().ok()?,
            map: Some(map),
            pos: 0,
            released: 0,
        })
    }

    /// Hands each record to `layout` and `f` in the order of the file, as
    /// the streaming reader would, until the end or a hand-off.
    fn walk(
        &mut self,
        layout: &mut Layout,
        blocks: &mut u64,
        end: &mut FileEnd,
        f: &mut impl FnMut(RawPacket<'_>),
    ) -> Walked {
        let Some(map) = &mut self.map else {
            return Walked::HandOff;
        };
        if self.pos == 0 {
            *blocks += 1;
            layout.packet_of(PcapBlockOwned::LegacyHeader(self.header.clone()));
            self.pos = PCAP_HEADER;
        }
        let parse = if self.header.is_bigendian() {
            parse_pcap_frame_be
        } else {
            parse_pcap_frame
        };
        loop {
            // Before every record: a writer or truncater waiting on the
            // lease means the map must not be touched again.
            if !map.intact() {
                return Walked::HandOff;
            }
            let bytes = map.bytes();
            let Some(rest) = bytes.get(self.pos..).filter(|r| !r.is_empty()) else {
                return Walked::End;
            };
            match parse(rest) {
                Ok((after, record)) if (record.caplen as usize) < BUFFER - PCAP_RECORD => {
                    *blocks += 1;
                    if let Some(pkt) = layout.packet_of(PcapBlockOwned::Legacy(record)) {
                        end.packets += 1;
                        f(pkt);
                    }
                    self.pos = bytes.len() - after.len();
                }
                _ => return Walked::HandOff,
            }
            if self.pos - self.released >= RELEASE_STEP {
                map.release_before(self.pos);
                self.released = self.pos;
            }
        }
    }

    /// Leaves the map (releasing the lease) and returns a streaming reader
    /// of the rest of the file from `pos`, given the file header first,
    /// with the file offset of its byte 0 minus that header.
    fn hand_off(&mut self) -> io::Result<(Box<dyn PcapReaderIterator + Send>, usize)> {
        let map = self.map.take().ok_or(io::ErrorKind::InvalidInput)?;
        let mut header = [0u8; PCAP_HEADER];
        header.copy_from_slice(&map.bytes()[..PCAP_HEADER]);
        // Unmaps and lets go of the lease: whoever waits on it may now
        // write or truncate; `read()` below sees whatever they leave.
        drop(map);
        let mut rest = self.file.try_clone()?;
        rest.seek(SeekFrom::Start(self.pos as u64))?;
        let input = io::Cursor::new(header).chain(rest);
        let reader = create_reader(BUFFER, input).map_err(|_| io::ErrorKind::InvalidData)?;
        Ok((reader, self.pos.saturating_sub(PCAP_HEADER)))
    }
}

/// What a parser failure means, in words.
fn parse_failure(kind: pcap_parser::nom::error::ErrorKind) -> &'static str {
    use pcap_parser::nom::error::ErrorKind;
    match kind {
        ErrorKind::Verify => {
            "block length invalid (smaller than the block's fields, not a multiple of 4, \
             or not repeated at its end)"
        }
        ErrorKind::Tag => "unexpected block type here",
        ErrorKind::Eof | ErrorKind::Complete => "block shorter than its fields",
        _ => "block fields do not parse",
    }
}

impl Layout {
    /// Whether `rest` (unparsed bytes at the end of the file) holds the
    /// whole next record as its own length field declares it.
    fn whole_record_in(&self, rest: &[u8]) -> bool {
        let (at, fixed) = if self.pcapng { (4, 0) } else { (8, 16) };
        let Some(field) = rest.get(at..at + 4) else {
            return false;
        };
        let field = [field[0], field[1], field[2], field[3]];
        let len = if self.big_endian {
            u32::from_be_bytes(field)
        } else {
            u32::from_le_bytes(field)
        };
        (len as usize).saturating_add(fixed) <= rest.len()
    }

    fn skipped(&self, end: FileEnd) -> FileEnd {
        FileEnd {
            no_interface: self.no_interface,
            bad_time: self.bad_time,
            ..end
        }
    }

    /// Hands `f` the packets of the whole classic records at the start of
    /// `data`, as [`Self::packet_of`] would from the parser's blocks; stops
    /// at the first record not wholly there.
    fn walk_records<'a>(
        &self,
        data: &'a [u8],
        end: &mut FileEnd,
        f: &mut impl FnMut(RawPacket<'a>),
    ) -> Walk {
        let mut walk = Walk::default();
        let field = |rec: &[u8], at: usize| {
            let b = [rec[at], rec[at + 1], rec[at + 2], rec[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        while let Some(rec) = data.get(walk.bytes..walk.bytes + PCAP_RECORD) {
            let (ts_sec, ts_frac) = (field(rec, 0), field(rec, 4));
            let (caplen, origlen) = (field(rec, 8), field(rec, 12));
            let start = walk.bytes + PCAP_RECORD;
            let Some(frame) = start
                .checked_add(caplen as usize)
                .and_then(|stop| data.get(start..stop))
            else {
                break;
            };
            let nanos = if self.legacy_nanos {
                ts_frac
            } else {
                ts_frac.saturating_mul(1000)
            };
            end.packets += 1;
            f(RawPacket {
                ts: Timestamp::new(i64::from(ts_sec), nanos),
                linktype: self.legacy_linktype,
                data: frame,
                orig_len: origlen,
            });
            walk.records += 1;
            walk.bytes = start + frame.len();
        }
        walk
    }

    /// Turns a block into a packet, updating the layout from headers.
    fn packet_of<'a>(&mut self, block: PcapBlockOwned<'a>) -> Option<RawPacket<'a>> {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.big_endian = h.is_bigendian();
                self.legacy_linktype = h.network.0 as u32;
                self.legacy_nanos = h.is_nanosecond_precision();
                self.plain_records = !h.is_modified_format();
                None
            }
            PcapBlockOwned::Legacy(b) => {
                let nanos = if self.legacy_nanos {
                    b.ts_usec
                } else {
                    b.ts_usec.saturating_mul(1000)
                };
                let len = (b.caplen as usize).min(b.data.len());
                Some(RawPacket {
                    ts: Timestamp::new(i64::from(b.ts_sec), nanos),
                    linktype: self.legacy_linktype,
                    data: &b.data[..len],
                    orig_len: b.origlen,
                })
            }
            PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                self.pcapng = true;
                self.big_endian = shb.big_endian();
                self.interfaces.clear();
                None
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                if self.interfaces.len() < MAX_INTERFACES {
                    self.interfaces.push(Interface {
                        linktype: idb.linktype.0 as u32,
                        resolution: idb.ts_resolution().unwrap_or(1_000_000),
                        offset: idb.ts_offset(),
                    });
                }
                None
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(&iface) = self.interfaces.get(epb.if_id as usize) else {
                    self.no_interface += 1;
                    return None;
                };
                let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let ts = ticks_to_timestamp(ticks, iface.resolution, iface.offset);
                if !(0..=LAST_SECOND).contains(&ts.secs) {
                    self.bad_time += 1;
                    return None;
                }
                let len = (epb.caplen as usize).min(epb.data.len());
                Some(RawPacket {
                    ts,
                    linktype: iface.linktype,
                    data: &epb.data[..len],
                    orig_len: epb.origlen,
                })
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                // SPBs belong to interface 0 and carry no timestamp.
                let Some(&iface) = self.interfaces.first() else {
                    self.no_interface += 1;
                    return None;
                };
                let len = (spb.origlen as usize).min(spb.data.len());
                Some(RawPacket {
                    ts: Timestamp::default(),
                    linktype: iface.linktype,
                    data: &spb.data[..len],
                    orig_len: spb.origlen,
                })
            }
            PcapBlockOwned::NG(_) => None,
        }
    }
}

/// 9999-12-31T23:59:59 UTC: the last second with a four-digit year.
const LAST_SECOND: i64 = 253_402_300_799;

/// Converts pcapng timestamp ticks at `resolution` ticks/s to a timestamp.
fn ticks_to_timestamp(ticks: u64, resolution: u64, offset: i64) -> Timestamp {
    let resolution = resolution.max(1);
    let secs = ticks / resolution;
    let frac = ticks % resolution;
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(resolution)) as u32;
    Timestamp::new((secs as i64).saturating_add(offset), nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_ticks() {
        assert_eq!(
            ticks_to_timestamp(1_500_000, 1_000_000, 0),
            Timestamp::new(1, 500_000_000)
        );
        assert_eq!(
            ticks_to_timestamp(2_000_000_001, 1_000_000_000, 10),
            Timestamp::new(12, 1)
        );
    }

    /// A pcapng block: type, body, lengths around it.
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn epb(if_id: u32, ticks: u64) -> Vec<u8> {
        let mut body = if_id.to_le_bytes().to_vec();
        body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ticks as u32).to_le_bytes());
        body.extend_from_slice(&4u32.to_le_bytes());
        body.extend_from_slice(&4u32.to_le_bytes());
        body.extend_from_slice(&[0x45, 0, 0, 0]);
        block(6, &body)
    }

    #[test]
    fn skips_and_counts_unattributable_and_out_of_range_packets() {
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut f = block(0x0a0d_0d0a, &shb);
        // Interface 0: microseconds, no offset. Interface 1: an offset that
        // takes every packet past the year 9999.
        f.extend(block(1, &[1, 0, 0, 0, 0, 0, 4, 0]));
        let mut idb = vec![1, 0, 0, 0, 0, 0, 4, 0, 14, 0, 8, 0];
        idb.extend_from_slice(&(300_000_000_000i64).to_le_bytes());
        idb.extend_from_slice(&[0, 0, 0, 0]);
        f.extend(block(1, &idb));
        f.extend(epb(0, 1_000_000)); // 1970-01-01T00:00:01: kept
        f.extend(epb(0, u64::MAX)); // year 586 thousand: skipped
        f.extend(epb(1, 0)); // offset past 9999: skipped
        f.extend(epb(7, 0)); // no such interface: skipped
        f.extend(epb(0, 253_402_300_799_000_000)); // 9999-12-31T23:59:59: kept
        let mut file =
            CaptureFile::from_reader(Path::new("t.pcapng"), Box::new(std::io::Cursor::new(f)))
                .unwrap();
        let mut times = Vec::new();
        let end = file.for_each(|p| times.push(p.ts.secs)).unwrap();
        assert_eq!(times, [1, 253_402_300_799]);
        assert_eq!((end.packets, end.bad_time, end.no_interface), (2, 2, 1));
    }

    #[test]
    fn rejects_non_capture() {
        let data: &'static [u8] = b"this is not a capture file at all, just text......";
        let err = CaptureFile::from_reader(Path::new("x.txt"), Box::new(data))
            .err()
            .unwrap();
        assert!(matches!(err, CaptureFileError::NotACapture { .. }));
    }
}
