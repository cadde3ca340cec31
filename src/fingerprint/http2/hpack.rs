//! HPACK header block decoding (RFC 7541), bounded: the dynamic table
//! holds at most [`TABLE_LIMIT`] bytes of entries (the size a decoder has
//! before its SETTINGS reach the client, which is when a client's first
//! request is encoded), and the decoded header list at most the caller's
//! byte limit, counted as RFC 7541 section 4.1 counts an entry (name,
//! value and 32). Every integer, index and length is checked; errors are
//! returned, never panics.

use super::huffman::{self, HuffmanError};

/// The largest dynamic table accepted: SETTINGS_HEADER_TABLE_SIZE's
/// initial value (RFC 9113 section 6.5.2). A size update above it is an
/// error, as it is for a server that never advertised more.
pub const TABLE_LIMIT: usize = 4096;

/// Per-entry overhead of RFC 7541 section 4.1.
const ENTRY_OVERHEAD: usize = 32;

/// Continuation bytes of an integer beyond its prefix: 4 of them carry 28
/// bits, more than any index, length or table size here can need.
const MAX_INTEGER_BYTES: usize = 4;

/// Why a header block could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HpackError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer longer than [`MAX_INTEGER_BYTES`] continuation bytes.
    IntegerTooLong,
    /// Index 0, or past the static and dynamic tables.
    BadIndex,
    /// A dynamic table size update above [`TABLE_LIMIT`].
    TableSizeTooLarge,
    /// A dynamic table size update after the first field (RFC 7541 4.2).
    MisplacedSizeUpdate,
    /// A Huffman string with bad padding or EOS.
    Huffman(HuffmanError),
    /// The decoded header list would exceed the caller's limit.
    ListTooLarge,
}

/// RFC 7541 Appendix A.
const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// A decoded header list: names and values in order, in one buffer.
#[derive(Debug, Default, Clone)]
pub struct HeaderList {
    bytes: Vec<u8>,
    /// (start of name, name length, value length); the value follows the
    /// name.
    fields: Vec<(u32, u32, u32)>,
    /// RFC 7541 size of the list so far.
    size: usize,
}

impl HeaderList {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
        self.size = 0;
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// (name, value) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + Clone + '_ {
        self.fields.iter().map(|&(start, n, v)| {
            let start = start as usize;
            let mid = start + n as usize;
            (&self.bytes[start..mid], &self.bytes[mid..mid + v as usize])
        })
    }

    /// The first value of `name` (names are compared exactly: HTTP/2 names
    /// are lower case).
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.fields.capacity() * std::mem::size_of::<(u32, u32, u32)>()
    }

    fn begin(&mut self) -> usize {
        self.bytes.len()
    }

    /// Records the field whose name starts at `start` and is `name_len`
    /// bytes, the value being the rest of the buffer.
    fn end(&mut self, start: usize, name_len: usize) {
        let value_len = self.bytes.len() - start - name_len;
        self.size += name_len + value_len + ENTRY_OVERHEAD;
        self.fields
            .push((start as u32, name_len as u32, value_len as u32));
    }

    fn last(&self) -> Option<(&[u8], &[u8])> {
        self.iter().last()
    }
}

/// The dynamic table: entries oldest first in one buffer.
#[derive(Debug, Default)]
struct DynamicTable {
    bytes: Vec<u8>,
    /// (name length, value length), oldest first.
    entries: Vec<(u16, u16)>,
    /// RFC 7541 size of the entries.
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    fn new() -> Self {
        DynamicTable {
            max_size: TABLE_LIMIT,
            ..Default::default()
        }
    }

    /// Entry `i`, 0 being the newest.
    fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let pos = self.entries.len().checked_sub(i + 1)?;
        let start: usize = self.entries[..pos]
            .iter()
            .map(|&(n, v)| n as usize + v as usize)
            .sum();
        let (n, v) = self.entries[pos];
        let mid = start + n as usize;
        Some((&self.bytes[start..mid], &self.bytes[mid..mid + v as usize]))
    }

    fn evict_to(&mut self, max: usize) {
        let mut drop_entries = 0;
        let mut drop_bytes = 0;
        while self.size > max {
            let (n, v) = self.entries[drop_entries];
            let len = n as usize + v as usize;
            self.size -= len + ENTRY_OVERHEAD;
            drop_bytes += len;
            drop_entries += 1;
        }
        self.entries.drain(..drop_entries);
        self.bytes.drain(..drop_bytes);
    }

    fn resize(&mut self, max: usize) {
        self.max_size = max;
        self.evict_to(max);
    }

    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        if size > self.max_size {
            // RFC 7541 4.4: a too-large entry empties the table.
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max_size - size);
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        // Both fit in u16: their sum is below TABLE_LIMIT.
        self.entries.push((name.len() as u16, value.len() as u16));
        self.size += size;
    }
}

/// An HPACK decoder for one direction of a connection.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// Largest RFC 7541 size of one decoded header list.
    list_limit: usize,
}

/// Bytes of a block being read.
struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> Result<u8, HpackError> {
        let (&b, rest) = self.rest.split_first().ok_or(HpackError::Truncated)?;
        self.rest = rest;
        Ok(b)
    }

    /// An integer with an `n`-bit prefix (RFC 7541 5.1) whose first byte is
    /// `first`.
    fn integer(&mut self, first: u8, n: u32) -> Result<usize, HpackError> {
        let mask = (1u8 << n) - 1;
        let mut value = usize::from(first & mask);
        if value < usize::from(mask) {
            return Ok(value);
        }
        for i in 0..MAX_INTEGER_BYTES {
            let b = self.byte()?;
            value += usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(HpackError::IntegerTooLong)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], HpackError> {
        if n > self.rest.len() {
            return Err(HpackError::Truncated);
        }
        let (s, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(s)
    }
}

impl Decoder {
    pub fn new(list_limit: usize) -> Self {
        Decoder {
            table: DynamicTable::new(),
            list_limit,
        }
    }

    /// Heap bytes of the dynamic table.
    pub fn heap_bytes(&self) -> usize {
        self.table.bytes.capacity() + self.table.entries.capacity() * 4
    }

    /// Static or dynamic table entry `index` (1-based).
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        match index {
            0 => Err(HpackError::BadIndex),
            1..=61 => Ok(STATIC_TABLE[index - 1]),
            _ => self.table.get(index - 62).ok_or(HpackError::BadIndex),
        }
    }

    /// Budget left for the list's bytes, once an entry's overhead is
    /// reserved.
    fn room(&self, out: &HeaderList, written: usize) -> Result<usize, HpackError> {
        self.list_limit
            .checked_sub(out.size + ENTRY_OVERHEAD + written)
            .ok_or(HpackError::ListTooLarge)
    }

    /// Appends a string literal to the list's buffer.
    fn string(
        &self,
        input: &mut Input<'_>,
        out: &mut HeaderList,
        written: usize,
    ) -> Result<(), HpackError> {
        let first = input.byte()?;
        let len = input.integer(first, 7)?;
        let raw = input.take(len)?;
        let room = self.room(out, written)?;
        if first & 0x80 != 0 {
            huffman::decode(raw, &mut out.bytes, room).map_err(|e| match e {
                HuffmanError::TooLong => HpackError::ListTooLarge,
                e => HpackError::Huffman(e),
            })
        } else if raw.len() > room {
            Err(HpackError::ListTooLarge)
        } else {
            out.bytes.extend_from_slice(raw);
            Ok(())
        }
    }

    /// Decodes one complete header block, appending its fields to `out`.
    /// On error `out` may hold part of the block.
    pub fn decode(&mut self, block: &[u8], out: &mut HeaderList) -> Result<(), HpackError> {
        let mut input = Input { rest: block };
        let mut fields_seen = false;
        while !input.rest.is_empty() {
            let first = input.byte()?;
            if first & 0x80 != 0 {
                // Indexed field.
                let index = input.integer(first, 7)?;
                let (name, value) = self.entry(index)?;
                if name.len() + value.len() > self.room(out, 0)? {
                    return Err(HpackError::ListTooLarge);
                }
                let start = out.begin();
                out.bytes.extend_from_slice(name);
                out.bytes.extend_from_slice(value);
                out.end(start, name.len());
            } else if first & 0xe0 == 0x20 {
                // Dynamic table size update.
                if fields_seen {
                    return Err(HpackError::MisplacedSizeUpdate);
                }
                let size = input.integer(first, 5)?;
                if size > TABLE_LIMIT {
                    return Err(HpackError::TableSizeTooLarge);
                }
                self.table.resize(size);
                continue;
            } else {
                // Literal: with incremental indexing (01), without (0000) or
                // never indexed (0001).
                let indexing = first & 0xc0 == 0x40;
                let prefix = if indexing { 6 } else { 4 };
                let index = input.integer(first, prefix)?;
                let start = out.begin();
                let name_len = if index == 0 {
                    self.string(&mut input, out, 0)?;
                    out.bytes.len() - start
                } else {
                    let (name, _) = self.entry(index)?;
                    if name.len() > self.room(out, 0)? {
                        return Err(HpackError::ListTooLarge);
                    }
                    let n = name.len();
                    out.bytes.extend_from_slice(name);
                    n
                };
                self.string(&mut input, out, name_len)?;
                out.end(start, name_len);
                if indexing {
                    if let Some((name, value)) = out.last() {
                        self.table.insert(name, value);
                    }
                }
            }
            fields_seen = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fields(list: &HeaderList) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// RFC 7541 Appendix C.3 (plain) and C.4 (Huffman): three requests on
    /// one connection, the dynamic table carrying entries between them.
    #[test]
    fn rfc_7541_request_examples() {
        for blocks in [
            [
                "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                "8286 84be 5808 6e6f 2d63 6163 6865",
                "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            ],
            [
                "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                "8286 84be 5886 a8eb 1064 9cbf",
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            ],
        ] {
            let mut d = Decoder::new(16 * 1024);
            let mut out = HeaderList::default();
            d.decode(&hex(blocks[0]), &mut out).unwrap();
            assert_eq!(
                fields(&out),
                pairs(&[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    (":authority", "www.example.com"),
                ])
            );
            assert_eq!(d.table.size, 57);
            out.clear();
            d.decode(&hex(blocks[1]), &mut out).unwrap();
            assert_eq!(out.get(b"cache-control"), Some(&b"no-cache"[..]));
            assert_eq!(out.get(b":authority"), Some(&b"www.example.com"[..]));
            assert_eq!(d.table.size, 110);
            out.clear();
            d.decode(&hex(blocks[2]), &mut out).unwrap();
            assert_eq!(
                fields(&out),
                pairs(&[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/index.html"),
                    (":authority", "www.example.com"),
                    ("custom-key", "custom-value"),
                ])
            );
            assert_eq!(d.table.size, 164);
            assert_eq!(d.table.entries.len(), 3);
        }
    }

    /// RFC 7541 C.5.1-C.5.3 are responses with a 256-byte table: the
    /// eviction they show, replayed with size updates.
    #[test]
    fn eviction_keeps_the_table_within_its_size() {
        let mut d = Decoder::new(16 * 1024);
        let mut out = HeaderList::default();
        // Size update to 100, then two literals with indexing of 50 and 60
        // bytes: the first is evicted.
        let mut block = vec![0x3f, 100 - 31];
        for (n, v) in [
            ("aaaa", "bbbbbbbbbbbbbb"),
            ("cccc", "dddddddddddddddddddddddd"),
        ] {
            block.push(0x40);
            block.push(n.len() as u8);
            block.extend_from_slice(n.as_bytes());
            block.push(v.len() as u8);
            block.extend_from_slice(v.as_bytes());
        }
        d.decode(&block, &mut out).unwrap();
        assert_eq!(d.table.entries.len(), 1);
        assert_eq!(d.table.size, 60);
        assert_eq!(
            d.entry(62).unwrap(),
            (&b"cccc"[..], &b"dddddddddddddddddddddddd"[..])
        );
        assert_eq!(d.entry(63), Err(HpackError::BadIndex));
    }

    #[test]
    fn hostile_blocks_are_errors() {
        let mut d = Decoder::new(16 * 1024);
        let mut out = HeaderList::default();
        let mut run = |b: &[u8]| {
            out.clear();
            Decoder::new(16 * 1024).decode(b, &mut out)
        };
        // An index integer with endless continuation bytes.
        assert_eq!(
            run(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(HpackError::IntegerTooLong)
        );
        // The largest 4-byte continuation: an index far past the tables.
        assert_eq!(
            run(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(HpackError::BadIndex)
        );
        // A string length far past the block.
        assert_eq!(
            run(&[0x00, 0x7f, 0xff, 0xff, 0x7f]),
            Err(HpackError::Truncated)
        );
        assert_eq!(run(&[0x80]), Err(HpackError::BadIndex));
        assert_eq!(run(&[0xbe]), Err(HpackError::BadIndex));
        // Table size update to 4097, and one after a field.
        assert_eq!(run(&[0x3f, 0xe2, 0x1f]), Err(HpackError::TableSizeTooLarge));
        assert_eq!(
            run(&[0x82, 0x3f, 0x01]),
            Err(HpackError::MisplacedSizeUpdate)
        );
        // Huffman value with padding that is not all ones ('a' + 000).
        assert_eq!(
            run(&[0x00, 0x01, b'x', 0x81, 0x18]),
            Err(HpackError::Huffman(HuffmanError::BadPadding))
        );
        assert_eq!(run(&[0x00, 0x01]), Err(HpackError::Truncated));
        // The same indexed field repeated past the list limit.
        let mut small = Decoder::new(200);
        out.clear();
        assert_eq!(
            small.decode(&[0x82; 10], &mut out),
            Err(HpackError::ListTooLarge)
        );
        assert!(out.size <= 200);
        // Huffman expansion is bounded too: 40 '0's in 25 bytes.
        out.clear();
        let mut block = vec![0x00, 0x01, b'x', 0x80 | 25];
        block.extend_from_slice(&[0; 25]);
        assert_eq!(
            Decoder::new(60).decode(&block, &mut out),
            Err(HpackError::ListTooLarge)
        );
        assert!(d.decode(&[], &mut out).is_ok());
    }
}
