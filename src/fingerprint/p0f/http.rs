//! p0f 3.09b's HTTP module: the `[http:request]` / `[http:response]`
//! signatures of p0f.fp, a request or response head read the way p0f reads
//! it, matching, and the `raw_sig`, `app`, `lang` and `params` p0f prints.
//!
//! ```text
//! head bytes ──read_head──▶ WireSig ──HttpDb::find──▶ HttpMatch ──▶ raw_sig, app, lang, params
//! ```
//!
//! p0f's rules kept here because they decide the output:
//! - only a connection's first request, and only `GET /` or `HEAD /`;
//!   the response is read only after that request's head ended;
//! - the head must end within the first 8192 bytes of its direction,
//!   the first line within 1024; at most 32 headers, names of at most 32
//!   `[A-Za-z0-9_-]` bytes directly followed by `:`, values of at most 1024;
//! - header names are compared byte for byte (case-sensitive); a name that
//!   p0f does not know is printed with its value;
//! - values are compared with `strstr`, as C strings (up to a NUL).

use hashbrown::HashMap;
use std::fmt::Write as _;

use super::db::SysEntry;
use super::lang;
use crate::fingerprint::print_cache::PrintMemo;

/// p0f's `MAX_FLOW_DATA`: bytes of each direction it looks at.
pub const MAX_FLOW_DATA: usize = 8192;
const MAX_URL: usize = 1024;
const MAX_HDRS: usize = 32;
const MAX_HDR_NAME: usize = 32;
const MAX_HDR_VAL: usize = 1024;
const MAX_SHOW: usize = 200;

/// Ids of the headers p0f registers first (fp_http.c `http_init`).
const HDR_UA: u32 = 0;
const HDR_SRV: u32 = 1;
const HDR_AL: u32 = 2;
const HDR_VIA: u32 = 3;
const HDR_XFF: u32 = 4;
const HDR_DAT: u32 = 5;
const FIRST_HEADERS: [&str; 6] = [
    "User-Agent",
    "Server",
    "Accept-Language",
    "Via",
    "X-Forwarded-For",
    "Date",
];

/// Headers p0f marks `?` in a printed signature (config.h).
const REQ_OPTIONAL: &[&str] = &[
    "Cookie",
    "Referer",
    "Origin",
    "Range",
    "If-Modified-Since",
    "If-None-Match",
    "Via",
    "X-Forwarded-For",
    "Authorization",
    "Proxy-Authorization",
    "Cache-Control",
];
const RESP_OPTIONAL: &[&str] = &[
    "Set-Cookie",
    "Last-Modified",
    "ETag",
    "Content-Length",
    "Content-Disposition",
    "Cache-Control",
    "Expires",
    "Pragma",
    "Location",
    "Refresh",
    "Content-Range",
    "Vary",
];
/// Headers whose absence p0f lists in `habsent`, in this order.
const REQ_COMMON: &[&str] = &[
    "Host",
    "User-Agent",
    "Connection",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Accept-Charset",
    "Keep-Alive",
];
const RESP_COMMON: &[&str] = &[
    "Content-Type",
    "Connection",
    "Keep-Alive",
    "Accept-Ranges",
    "Date",
];
/// Headers whose values p0f leaves out of a printed signature.
const REQ_SKIPVAL: &[&str] = &["Host", "User-Agent"];
const RESP_SKIPVAL: &[&str] = &["Date", "Content-Type", "Server"];

/// Which side a head comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpDir {
    Request,
    Response,
}

impl HttpDir {
    fn index(self) -> usize {
        match self {
            HttpDir::Request => 0,
            HttpDir::Response => 1,
        }
    }
}

/// One header of a p0f.fp signature.
#[derive(Debug, Clone)]
struct SigHeader {
    id: u32,
    optional: bool,
    value: Option<Box<[u8]>>,
}

/// One `sig` of an HTTP section with its label.
#[derive(Debug, Clone)]
pub struct HttpRecord {
    /// `None` for `*` (any version).
    ver: Option<u8>,
    headers: Vec<SigHeader>,
    miss: Vec<u32>,
    /// Expected software string (`User-Agent` or `Server`), if any.
    software: Option<Box<[u8]>>,
    pub generic: bool,
    /// OS class; `None` for an application (`!`), printed as `app=`.
    pub class: Option<u16>,
    pub name: u32,
    /// Name and flavor as p0f prints them.
    pub label: Box<str>,
    pub label_id: u32,
    /// Where an application is expected to run (host change scoring).
    pub sys: Box<[SysEntry]>,
    pub line: u32,
}

/// The label part of a record being read from p0f.fp.
#[derive(Debug, Clone)]
pub struct LabelMeta {
    pub generic: bool,
    pub class: Option<u16>,
    pub name: u32,
    pub label: Box<str>,
    pub label_id: u32,
    pub sys: Box<[SysEntry]>,
    pub line: u32,
}

/// The HTTP part of a p0f.fp.
#[derive(Debug, Clone)]
pub struct HttpDb {
    names: Vec<Box<[u8]>>,
    ids: HashMap<Box<[u8]>, u32>,
    sigs: [Vec<HttpRecord>; 2],
    /// `ua_os`: a `User-Agent` substring and the OS name id it claims.
    /// Each substring is held as a prepared searcher (up to its first
    /// NUL, as C compares it): building one per look-up cost more than the
    /// search.
    ua_map: Vec<(memchr::memmem::Finder<'static>, u32)>,
    /// Ids of the lists above, per direction.
    optional: [Vec<u32>; 2],
    common: [Vec<u32>; 2],
    skipval: [Vec<u32>; 2],
    /// Per direction, indexed by header id: whether some signature wants
    /// a value of that header (the only values matching reads).
    valued: [Vec<bool>; 2],
}

impl Default for HttpDb {
    fn default() -> Self {
        let mut db = HttpDb {
            names: Vec::new(),
            ids: HashMap::new(),
            sigs: [Vec::new(), Vec::new()],
            ua_map: Vec::new(),
            optional: [Vec::new(), Vec::new()],
            common: [Vec::new(), Vec::new()],
            skipval: [Vec::new(), Vec::new()],
            valued: [Vec::new(), Vec::new()],
        };
        for h in FIRST_HEADERS {
            db.register(h.as_bytes());
        }
        let reg = |db: &mut HttpDb, l: &[&str]| -> Vec<u32> {
            l.iter().map(|h| db.register(h.as_bytes())).collect()
        };
        db.optional = [reg(&mut db, REQ_OPTIONAL), reg(&mut db, RESP_OPTIONAL)];
        db.skipval = [reg(&mut db, REQ_SKIPVAL), reg(&mut db, RESP_SKIPVAL)];
        db.common = [reg(&mut db, REQ_COMMON), reg(&mut db, RESP_COMMON)];
        db
    }
}

fn is_hdr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// A value as C code sees it: up to the first NUL.
fn before_nul(v: &[u8]) -> &[u8] {
    memchr::memchr(0, v).map_or(v, |i| &v[..i])
}

/// C `strstr(hay, needle) != NULL` on C strings.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let (hay, needle) = (before_nul(hay), before_nul(needle));
    needle.is_empty() || memchr::memmem::find(hay, needle).is_some()
}

impl HttpDb {
    fn register(&mut self, name: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    fn lookup(&self, name: &[u8]) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// Number of HTTP signatures (both directions).
    pub fn len(&self) -> usize {
        self.sigs[0].len() + self.sigs[1].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads an `ua_os` line: `Name` or `Name=[substring]`, comma-separated;
    /// `intern` gives a name's id in the database's name table.
    pub fn parse_ua_os(
        &mut self,
        val: &[u8],
        mut intern: impl FnMut(&[u8]) -> u32,
    ) -> Result<(), String> {
        let mut i = 0;
        while i < val.len() {
            let start = i;
            while val.get(i).is_some_and(|&b| super::db::is_name_char(b)) {
                i += 1;
            }
            if i == start {
                return Err("malformed system name".into());
            }
            let id = intern(&val[start..i]);
            let mut name: Box<[u8]> = val[start..i].into();
            if val.get(i) == Some(&b'=') {
                if val.get(i + 1) != Some(&b'[') {
                    return Err("missing '[' after '='".into());
                }
                let vs = i + 2;
                let Some(len) = val[vs..].iter().position(|&b| b == b']') else {
                    return Err("malformed signature".into());
                };
                if len == 0 {
                    return Err("malformed signature".into());
                }
                name = val[vs..vs + len].into();
                i = vs + len + 1;
            }
            let finder = memchr::memmem::Finder::new(before_nul(&name)).into_owned();
            self.ua_map.push((finder, id));
            if val.get(i) == Some(&b',') {
                i += 1;
            }
        }
        Ok(())
    }

    /// Reads one `sig = ver:horder:habsent:expsw` (fp_http.c
    /// `http_register_sig`) and refuses one an earlier signature covers.
    pub fn parse_sig(&mut self, dir: HttpDir, meta: LabelMeta, val: &[u8]) -> Result<(), String> {
        let bad = || Err::<(), String>("malformed signature".into());
        if val.get(1) != Some(&b':') {
            return bad();
        }
        let ver = match val[0] {
            b'0' => Some(0),
            b'1' => Some(1),
            b'*' => None,
            _ => return Err("bad HTTP version".into()),
        };
        let mut i = 2;
        let mut headers = Vec::new();
        while val.get(i) != Some(&b':') {
            if headers.len() >= MAX_HDRS {
                return Err("too many headers listed".into());
            }
            let optional = val.get(i) == Some(&b'?');
            if optional {
                i += 1;
            }
            let start = i;
            while val.get(i).copied().is_some_and(is_hdr_char) {
                i += 1;
            }
            if i == start {
                return Err("malformed header name".into());
            }
            let id = self.register(&val[start..i]);
            let mut value = None;
            if val.get(i) == Some(&b'=') {
                if val.get(i + 1) != Some(&b'[') {
                    return Err("missing '[' after '='".into());
                }
                let vs = i + 2;
                let len = val[vs.min(val.len())..].iter().position(|&b| b == b']');
                match len {
                    Some(n) if n > 0 => {
                        value = Some(val[vs..vs + n].into());
                        i = vs + n + 1;
                    }
                    _ => return bad(),
                }
            }
            headers.push(SigHeader {
                id,
                optional,
                value,
            });
            match val.get(i) {
                Some(b',') => i += 1,
                Some(b':') => {}
                _ => return bad(),
            }
        }
        i += 1;
        let mut miss = Vec::new();
        while val.get(i) != Some(&b':') {
            if miss.len() >= MAX_HDRS {
                return Err("too many headers listed".into());
            }
            let start = i;
            while val.get(i).copied().is_some_and(is_hdr_char) {
                i += 1;
            }
            if i == start {
                return Err("malformed header name".into());
            }
            miss.push(self.register(&val[start..i]));
            match val.get(i) {
                Some(b',') => i += 1,
                Some(b':') => {}
                _ => return bad(),
            }
        }
        i += 1;
        let software = &val[i.min(val.len())..];
        if software.contains(&b':') {
            return bad();
        }
        let rec = HttpRecord {
            ver,
            headers,
            miss,
            software: (!software.is_empty()).then(|| software.into()),
            generic: meta.generic,
            class: meta.class,
            name: meta.name,
            label: meta.label,
            label_id: meta.label_id,
            sys: meta.sys,
            line: meta.line,
        };
        if let Some(prev) = self.find_record(dir, &rec) {
            return Err(format!("signature is already covered by line {prev}"));
        }
        let valued = &mut self.valued[dir.index()];
        for h in rec.headers.iter().filter(|h| h.value.is_some()) {
            let at = h.id as usize;
            if valued.len() <= at {
                valued.resize(at + 1, false);
            }
            valued[at] = true;
        }
        self.sigs[dir.index()].push(rec);
        Ok(())
    }

    /// p0f's duplicate check: an earlier specific signature that would
    /// match this one as if it were traffic.
    fn find_record(&self, dir: HttpDir, rec: &HttpRecord) -> Option<u32> {
        let probe = Probe {
            ver: rec.ver.map_or(-1, i16::from),
            headers: rec
                .headers
                .iter()
                .map(|h| (Some(h.id), h.value.as_deref()))
                .collect(),
            miss: Some(&rec.miss),
            bloom: Some(
                rec.headers
                    .iter()
                    .filter(|h| !h.optional)
                    .map(|h| h.id)
                    .collect(),
            ),
        };
        self.sigs[dir.index()]
            .iter()
            .find(|r| !r.generic && sig_matches(r, &probe))
            .map(|r| r.line)
    }

    /// The first specific signature that matches, else the first generic
    /// one (fp_http.c `http_find_match`), and whether the software string
    /// contradicts the matched signature's (`dishonest`).
    pub fn find<'d>(&'d self, sig: &WireSig<'_>) -> HttpMatch<'d> {
        let record = self
            .find_index(sig)
            .and_then(|i| self.sigs[sig.dir.index()].get(i as usize));
        self.with_honesty(sig, record)
    }

    /// As [`Self::find`], the matching signature taken from `memo` when a
    /// head of the same shape was matched before.
    pub fn find_memo<'d>(&'d self, sig: &WireSig<'_>, memo: &mut HttpMatchMemo) -> HttpMatch<'d> {
        // A memo filled against another database starts over.
        let db = self as *const HttpDb as usize;
        if memo.db != db {
            *memo = HttpMatchMemo {
                db,
                ..HttpMatchMemo::default()
            };
        }
        let index = *memo.memo.get(
            |key| self.match_key(sig, key),
            |v| *v = self.find_index(sig),
        );
        let record = index.and_then(|i| self.sigs[sig.dir.index()].get(i as usize));
        self.with_honesty(sig, record)
    }

    /// Every input of [`Self::find_index`]: the direction, the version,
    /// each header's id in order (unknown names match nothing), and the
    /// value of each header some signature wants a value of.
    fn match_key(&self, sig: &WireSig<'_>, key: &mut Vec<u8>) {
        let valued = &self.valued[sig.dir.index()];
        key.push(sig.dir.index() as u8);
        key.push(sig.ver);
        for h in &sig.headers {
            let Some(id) = h.id else {
                key.extend_from_slice(&u32::MAX.to_le_bytes());
                continue;
            };
            key.extend_from_slice(&id.to_le_bytes());
            if valued.get(id as usize).copied().unwrap_or(false) {
                let v = h.value.unwrap_or_default();
                // Length first (an absent value is empty): no two value
                // lists share a key.
                key.extend_from_slice(&(v.len() as u32).to_le_bytes());
                key.push(u8::from(h.value.is_some()));
                key.extend_from_slice(v);
            }
        }
    }

    /// The first specific signature that matches, else the first generic
    /// one: its index in the direction's list.
    fn find_index(&self, sig: &WireSig<'_>) -> Option<u32> {
        let probe = Probe {
            ver: i16::from(sig.ver),
            headers: sig.headers.iter().map(|h| (h.id, h.value)).collect(),
            miss: None,
            bloom: None,
        };
        let mut generic = None;
        for (i, r) in self.sigs[sig.dir.index()].iter().enumerate() {
            if !sig_matches(r, &probe) {
                continue;
            }
            if !r.generic {
                return Some(i as u32);
            }
            generic.get_or_insert(i as u32);
        }
        generic
    }

    /// The match of `record`, with p0f's `dishonest`: the software string
    /// contradicts the one the signature expects.
    fn with_honesty<'d>(&self, sig: &WireSig<'_>, record: Option<&'d HttpRecord>) -> HttpMatch<'d> {
        let dishonest = match (record.and_then(|r| r.software.as_deref()), sig.software) {
            (Some(want), Some(have)) => !contains(have, want),
            _ => false,
        };
        HttpMatch { record, dishonest }
    }

    /// The OS name id a `User-Agent` claims by p0f's `ua_os` table (the
    /// first entry whose text it contains).
    pub fn ua_os(&self, ua: &[u8]) -> Option<u32> {
        let ua = before_nul(ua);
        self.ua_map
            .iter()
            .find(|(name, _)| name.find(ua).is_some())
            .map(|(_, id)| *id)
    }

    /// `raw_sig` as p0f prints it (fp_http.c `dump_sig`).
    pub fn raw_sig(&self, sig: &WireSig<'_>) -> String {
        let d = sig.dir.index();
        let mut out = String::with_capacity(256);
        match sig.ver {
            v @ 0..=9 => out.push(char::from(b'0' + v)),
            v => {
                let _ = write!(out, "{v}");
            }
        }
        out.push(':');
        for (n, h) in sig.headers.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            match h.id {
                Some(id) => {
                    let optional = self.optional[d].contains(&id);
                    if optional {
                        out.push('?');
                    }
                    push_clean(&mut out, &self.names[id as usize], usize::MAX, b"");
                    let Some(v) = h.value else { continue };
                    if optional || self.skipval[d].contains(&id) {
                        continue;
                    }
                    push_value(&mut out, v, b"]|");
                }
                None => {
                    push_clean(&mut out, h.name, usize::MAX, b"");
                    if let Some(v) = h.value {
                        push_value(&mut out, v, b"]");
                    }
                }
            }
        }
        out.push(':');
        let mut first = true;
        for &id in &self.common[d] {
            if sig.headers.iter().any(|h| h.id == Some(id)) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            push_clean(&mut out, &self.names[id as usize], usize::MAX, b"");
        }
        out.push(':');
        if let Some(software) = sig.software {
            push_clean(&mut out, software, MAX_SHOW, b"]");
        }
        out
    }
}

/// Distinct head shapes whose matching signature is remembered (four per
/// set): p0f matching scans the whole database, and the same clients send
/// the same heads again and again.
const MATCH_SETS: usize = 64;
/// Longest key kept (a head of 32 headers with a few valued ones); longer
/// heads are matched every time. Bounds the memo to about 150 KiB.
const MATCH_MAX_KEY: usize = 512;

/// Which signature heads of a given shape match (see
/// [`HttpDb::find_memo`]): fixed size, and only speed depends on it.
#[derive(Debug)]
pub struct HttpMatchMemo {
    /// Address of the database the entries were matched against.
    db: usize,
    memo: PrintMemo<Option<u32>>,
}

impl Default for HttpMatchMemo {
    fn default() -> Self {
        HttpMatchMemo {
            db: 0,
            memo: PrintMemo::new(MATCH_SETS, MATCH_MAX_KEY),
        }
    }
}

/// `=[value]` cleaned as p0f cleans it; nothing if that leaves it empty.
fn push_value(out: &mut String, v: &[u8], stops: &[u8]) {
    let mark = out.len();
    out.push_str("=[");
    let before = out.len();
    push_clean(out, v, MAX_SHOW, stops);
    if out.len() == before {
        out.truncate(mark);
    } else {
        out.push(']');
    }
}

/// Printable ASCII up to `max` bytes, up to the first byte outside
/// 0x20..0x80 or in `stops` (a subset of `]|`).
fn push_clean(out: &mut String, v: &[u8], max: usize, stops: &[u8]) {
    let v = &v[..v.len().min(max)];
    // The stop sets are `]` and `|` at most: two flags, not a scan of
    // `stops` per byte.
    debug_assert!(stops.iter().all(|b| b"]|".contains(b)));
    let (bracket, pipe) = (stops.contains(&b']'), stops.contains(&b'|'));
    let end = v
        .iter()
        .position(|&b| !(0x20..0x80).contains(&b) || (bracket && b == b']') || (pipe && b == b'|'))
        .unwrap_or(v.len());
    // Printable ASCII only: always UTF-8.
    out.push_str(std::str::from_utf8(&v[..end]).unwrap_or_default());
}

/// What p0f compares of a signature under test.
struct Probe<'a> {
    /// `-1` for any.
    ver: i16,
    headers: Vec<(Option<u32>, Option<&'a [u8]>)>,
    /// Dupe detection: the tested signature's own `habsent`.
    miss: Option<&'a [u32]>,
    /// Dupe detection: its non-optional headers, all p0f's Bloom filter
    /// holds of it (optional ones are invisible to that filter).
    bloom: Option<Vec<u32>>,
}

fn sig_matches(r: &HttpRecord, t: &Probe<'_>) -> bool {
    if let Some(v) = r.ver {
        if i16::from(v) != t.ver {
            return false;
        }
    }
    let seen = |id: u32| t.bloom.as_ref().is_none_or(|b| b.contains(&id));
    if !r.headers.iter().all(|h| h.optional || seen(h.id)) {
        return false;
    }
    let mut probe_at = 0;
    for rh in &r.headers {
        let orig = probe_at;
        while probe_at < t.headers.len() && t.headers[probe_at].0 != Some(rh.id) {
            probe_at += 1;
        }
        if probe_at == t.headers.len() {
            // An optional header may be missing, but not appear elsewhere.
            if !rh.optional || t.headers.iter().any(|h| h.0 == Some(rh.id)) {
                return false;
            }
            probe_at = orig;
            continue;
        }
        if let Some(want) = &rh.value {
            match t.headers[probe_at].1 {
                Some(have) if contains(have, want) => {}
                _ => return false,
            }
        }
        probe_at += 1;
    }
    if r.miss
        .iter()
        .any(|m| seen(*m) && t.headers.iter().any(|h| h.0 == Some(*m)))
    {
        return false;
    }
    if let Some(tmiss) = t.miss {
        // A signature banning more headers may precede one banning fewer.
        if r.miss.len() > tmiss.len() || !r.miss.iter().all(|m| tmiss.contains(m)) {
            return false;
        }
    }
    true
}

/// A match: the record, if any, and p0f's `dishonest`.
#[derive(Debug, Clone, Copy)]
pub struct HttpMatch<'d> {
    pub record: Option<&'d HttpRecord>,
    pub dishonest: bool,
}

/// One header as sent: its id if p0f knows the name, and its value
/// (`None` when empty).
#[derive(Debug, Clone, Copy)]
pub struct WireHeader<'a> {
    pub id: Option<u32>,
    pub name: &'a [u8],
    pub value: Option<&'a [u8]>,
}

/// A request or response head as p0f sees it.
#[derive(Debug, Clone)]
pub struct WireSig<'a> {
    pub dir: HttpDir,
    /// 1 for `HTTP/1.1`, else 0.
    pub ver: u8,
    pub headers: Vec<WireHeader<'a>>,
    /// `User-Agent` (request) or `Server` (response), last non-empty one.
    pub software: Option<&'a [u8]>,
    /// `Accept-Language` (requests only).
    pub lang: Option<&'a [u8]>,
    /// A `Via` or `X-Forwarded-For` was sent.
    pub via: bool,
    /// `Date` (responses only), last non-empty one.
    pub date: Option<&'a [u8]>,
}

/// What p0f makes of the bytes of one direction so far.
#[derive(Debug, Clone)]
pub enum HeadRead<'a> {
    /// The head may still end with more bytes.
    Incomplete,
    /// p0f gives up on this direction.
    Rejected,
    Done(WireSig<'a>),
}

impl<'a> HeadRead<'a> {
    /// Like [`read_head`], treating an incomplete head in `MAX_FLOW_DATA`
    /// bytes or more as rejected (p0f looks no further).
    pub fn of(db: &HttpDb, dir: HttpDir, payload: &'a [u8]) -> HeadRead<'a> {
        let payload = &payload[..payload.len().min(MAX_FLOW_DATA)];
        match read_head(db, dir, payload) {
            HeadRead::Incomplete if payload.len() >= MAX_FLOW_DATA => HeadRead::Rejected,
            r => r,
        }
    }
}

/// Reads a head from the first bytes of a direction (fp_http.c
/// `process_http` and `parse_pairs`).
pub fn read_head<'a>(db: &HttpDb, dir: HttpDir, payload: &'a [u8]) -> HeadRead<'a> {
    let request = dir == HttpDir::Request;
    let min = if request { 15 } else { 13 };
    if payload.len() < min {
        return HeadRead::Incomplete;
    }
    if request && !payload.starts_with(b"GET /") && !payload.starts_with(b"HEAD /") {
        return HeadRead::Rejected;
    }
    let mut off = 0;
    while off < payload.len() && off < MAX_URL && payload[off] != b'\n' {
        let c = payload[off];
        if c != b'\r' && !(0x20..=0x7f).contains(&c) {
            return HeadRead::Rejected;
        }
        off += 1;
    }
    if off == MAX_URL || off < min - 1 {
        return HeadRead::Rejected;
    }
    if off == payload.len() {
        return HeadRead::Incomplete;
    }
    let ver = if request {
        let mut at = off - 8;
        if payload[off - 1] == b'\r' {
            at -= 1;
        }
        if &payload[at..at + 7] != b"HTTP/1." {
            return HeadRead::Rejected;
        }
        payload[at + 7] == b'1'
    } else {
        if !payload.starts_with(b"HTTP/1.") {
            return HeadRead::Rejected;
        }
        payload[7] == b'1'
    };
    let mut sig = WireSig {
        dir,
        ver: u8::from(ver),
        headers: Vec::with_capacity(16),
        software: None,
        lang: None,
        via: false,
        date: None,
    };
    let mut pos = off + 1;
    loop {
        let Some(&first) = payload.get(pos) else {
            return HeadRead::Incomplete;
        };
        if first == b'\r' || first == b'\n' {
            return HeadRead::Done(sig);
        }
        if sig.headers.len() >= MAX_HDRS {
            return HeadRead::Rejected;
        }
        let mut o = pos;
        while o < payload.len() && is_hdr_char(payload[o]) && o - pos <= MAX_HDR_NAME {
            o += 1;
        }
        if o == payload.len() {
            return HeadRead::Incomplete;
        }
        let nlen = o - pos;
        if nlen == 0 || payload[o] != b':' || nlen > MAX_HDR_NAME {
            return HeadRead::Rejected;
        }
        let name = &payload[pos..o];
        o += 1;
        if o < payload.len() && (payload[o] == b' ' || payload[o] == b'\t') {
            o += 1;
        }
        let value_start = o;
        while o < payload.len() && o - value_start <= MAX_HDR_VAL && payload[o] != b'\n' {
            o += 1;
        }
        let mut value_len = o - value_start;
        if value_len > MAX_HDR_VAL {
            return HeadRead::Rejected;
        }
        if o == payload.len() {
            return HeadRead::Incomplete;
        }
        if payload[o - 1] == b'\r' {
            value_len -= 1;
        }
        let id = db.lookup(name);
        let value = (value_len > 0).then(|| &payload[value_start..value_start + value_len]);
        if let (Some(v), Some(id)) = (value, id) {
            match (dir, id) {
                (HttpDir::Request, HDR_UA) | (HttpDir::Response, HDR_SRV) => sig.software = Some(v),
                (HttpDir::Request, HDR_AL) => sig.lang = Some(v),
                (HttpDir::Response, HDR_DAT) => sig.date = Some(v),
                (_, HDR_VIA | HDR_XFF) => sig.via = true,
                _ => {}
            }
        }
        sig.headers.push(WireHeader { id, name, value });
        pos = o + 1;
    }
}

impl WireSig<'_> {
    /// The `Date` as Unix seconds the way p0f reads it, 0 when absent or
    /// unreadable.
    pub fn date_secs(&self) -> u32 {
        self.date
            .and_then(|d| parse_date(before_nul(d)))
            .unwrap_or(0)
    }

    /// `lang` as p0f prints it: the language of a leading two-letter code,
    /// `???` for a code it does not know, `none` otherwise.
    pub fn lang_text(&self) -> &'static str {
        let Some(l) = self.lang.map(before_nul) else {
            return "none";
        };
        let alpha = |i: usize| l.get(i).is_some_and(u8::is_ascii_alphabetic);
        if !(alpha(0) && alpha(1) && !alpha(2)) {
            return "none";
        }
        lang::name_of([l[0], l[1]]).unwrap_or("???")
    }

    /// `params` as p0f prints them: `dishonest`, `anonymous`, `generic`,
    /// or `none`.
    pub fn params(&self, m: &HttpMatch<'_>) -> String {
        let mut out = Vec::new();
        if m.dishonest {
            out.push("dishonest");
        }
        if self.software.is_none() {
            out.push("anonymous");
        }
        if m.record.is_some_and(|r| r.generic) {
            out.push("generic");
        }
        if out.is_empty() {
            "none".into()
        } else {
            out.join(" ")
        }
    }
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A cursor over a `Date` value, with glibc `strptime`'s rules for the
/// conversions p0f uses.
struct DateCur<'a> {
    s: &'a [u8],
    i: usize,
}

impl DateCur<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn lit(&mut self, c: u8) -> Option<()> {
        (self.s.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// Full name first, then its first three letters, case-insensitively.
    fn name(&mut self, names: &[&str]) -> Option<usize> {
        let rest = &self.s[self.i..];
        for (n, full) in names.iter().enumerate() {
            for cand in [full.as_bytes(), &full.as_bytes()[..3]] {
                if rest.len() >= cand.len() && rest[..cand.len()].eq_ignore_ascii_case(cand) {
                    self.i += cand.len();
                    return Some(n);
                }
            }
        }
        None
    }

    /// Up to `digits` digits (stopping early as glibc does), within range.
    fn num(&mut self, lo: i64, hi: i64, digits: u32) -> Option<i64> {
        self.skip_space();
        let mut v: i64 = 0;
        let mut n = 0;
        while let Some(d) = self.s.get(self.i).filter(|b| b.is_ascii_digit()) {
            if n > 0 && (n >= digits || v * 10 > hi) {
                break;
            }
            v = v * 10 + i64::from(d - b'0');
            self.i += 1;
            n += 1;
        }
        (n > 0 && (lo..=hi).contains(&v)).then_some(v)
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (month 1-12; an
/// out-of-range day carries over as `mktime` normalises it).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// fp_http.c `parse_date`: `strptime(v, "%a, %d %b %Y %H:%M:%S %Z")`
/// then `mktime`, as Unix seconds (the zone is read and ignored; p0f runs
/// in UTC here, and only differences between two dates are used).
fn parse_date(v: &[u8]) -> Option<u32> {
    let mut c = DateCur { s: v, i: 0 };
    c.skip_space();
    c.name(&DAYS)?;
    c.lit(b',')?;
    let day = c.num(1, 31, 2)?;
    c.skip_space();
    let month = c.name(&MONTHS)? as i64 + 1;
    let year = c.num(0, 9999, 4)?;
    let hour = c.num(0, 23, 2)?;
    c.lit(b':')?;
    let min = c.num(0, 59, 2)?;
    c.lit(b':')?;
    let sec = c.num(0, 61, 2)?;
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    // mktime's time_t, as p0f keeps it: in a u32.
    Some(secs as u32)
}

#[cfg(test)]
mod tests {
    use super::super::Database;
    use super::*;

    fn db() -> &'static HttpDb {
        &Database::bundled().http
    }

    fn done<'a>(dir: HttpDir, payload: &'a [u8]) -> WireSig<'a> {
        match read_head(db(), dir, payload) {
            HeadRead::Done(s) => s,
            other => panic!("{other:?}"),
        }
    }

    /// The memo gives the match a full scan gives, for heads that share a
    /// shape, heads that differ only in a value some signature reads, and
    /// heads that differ in what no signature reads.
    #[test]
    fn memoised_matches_equal_full_scans() {
        let heads: [&[u8]; 7] = [
            b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 Chrome/124\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Language: en\r\nAccept-Encoding: gzip, deflate\r\nDNT: 1\r\nConnection: keep-alive\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: y\r\nUser-Agent: Mozilla/5.0 Safari\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Language: en\r\nAccept-Encoding: gzip, deflate\r\nDNT: 1\r\nConnection: keep-alive\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: y\r\nUser-Agent: Mozilla/5.0 Safari\r\nAccept: */*\r\nAccept-Language: en\r\nAccept-Encoding: gzip, deflate\r\nDNT: 1\r\nConnection: keep-alive\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: b\r\nUser-Agent: Wget/1.21\r\nAccept: */*\r\n\r\n",
            b"GET / HTTP/1.0\r\nHost: b\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Odd: 1\r\nAccept: */*\r\n\r\n",
        ];
        let mut memo = HttpMatchMemo::default();
        for _ in 0..2 {
            for head in heads {
                let s = done(HttpDir::Request, head);
                let (want, got) = (db().find(&s), db().find_memo(&s, &mut memo));
                assert_eq!(want.record.map(|r| r.line), got.record.map(|r| r.line));
                assert_eq!(want.dishonest, got.dishonest);
            }
        }
        let resp = done(
            HttpDir::Response,
            b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n",
        );
        let (want, got) = (db().find(&resp), db().find_memo(&resp, &mut memo));
        assert_eq!(want.record.map(|r| r.line), got.record.map(|r| r.line));
    }

    #[test]
    fn bundled_http_signatures_load() {
        assert_eq!(db().len(), 105);
    }

    #[test]
    fn curl_request_as_p0f_prints_it() {
        let req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: curl/8.1.2\r\nAccept: */*\r\nAccept-Language: da, en-GB;q=0.8, en;q=0.7\r\n\r\n";
        let s = done(HttpDir::Request, req);
        assert_eq!(
            db().raw_sig(&s),
            "1:Host,User-Agent,Accept=[*/*],Accept-Language=[da, en-GB;q=0.8, en;q=0.7]:Connection,Accept-Encoding,Accept-Charset,Keep-Alive:curl/8.1.2"
        );
        assert_eq!(s.lang_text(), "Danish");
        let m = db().find(&s);
        assert!(m.record.is_none());
        assert_eq!(s.params(&m), "none");
    }

    #[test]
    fn forged_firefox_is_dishonest() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 Chrome/124\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Language: en\r\nAccept-Encoding: gzip, deflate\r\nDNT: 1\r\nConnection: keep-alive\r\n\r\n";
        let s = done(HttpDir::Request, req);
        let m = db().find(&s);
        assert_eq!(m.record.map(|r| &*r.label), Some("Safari 5.1-6"));
        assert!(m.dishonest);
        assert_eq!(s.params(&m), "dishonest");
    }

    #[test]
    fn unknown_header_names_keep_case_and_value() {
        let resp = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.4\r\nDate: Thu, 27 Jul 2023 18:48:56 GMT\r\nContent-type: text/html; charset=utf-8\r\nContent-Length: 9\r\n\r\n";
        let s = done(HttpDir::Response, resp);
        assert_eq!(
            db().raw_sig(&s),
            "0:Server,Date,Content-type=[text/html; charset=utf-8],?Content-Length:Content-Type,Connection,Keep-Alive,Accept-Ranges:SimpleHTTP/0.6 Python/3.11.4"
        );
    }

    #[test]
    fn p0f_only_reads_get_and_head() {
        let post = b"POST / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(
            read_head(db(), HttpDir::Request, post),
            HeadRead::Rejected
        ));
        let short = b"GET / HTTP/1.1\r\nHost";
        assert!(matches!(
            read_head(db(), HttpDir::Request, short),
            HeadRead::Incomplete
        ));
        let spaced = b"GET / HTTP/1.1\r\nHost : x\r\n\r\n";
        assert!(matches!(
            read_head(db(), HttpDir::Request, spaced),
            HeadRead::Rejected
        ));
    }

    #[test]
    fn dates_read_like_strptime_and_mktime() {
        let d = |s: &str| parse_date(s.as_bytes());
        assert_eq!(d("Thu, 27 Jul 2023 18:48:56 GMT"), Some(1_690_483_736));
        assert_eq!(d("thursday, 1 jan 1970 00:00:00 UTC"), Some(0));
        // The weekday is not checked; a day past the month's end carries.
        assert_eq!(
            d("Mon, 31 Feb 2023 00:00:00 GMT"),
            d("Fri, 3 Mar 2023 00:00:00 GMT")
        );
        assert_eq!(d("Thu, 27 Jul 2023 18:48 GMT"), None);
        assert_eq!(d("27 Jul 2023 18:48:56 GMT"), None);
        assert_eq!(d("Thu, 32 Jul 2023 18:48:56 GMT"), None);
        let resp = b"HTTP/1.1 200 OK\r\nDate: Thu, 27 Jul 2023 18:48:56 GMT\r\nDate:\r\n\r\n";
        assert_eq!(done(HttpDir::Response, resp).date_secs(), 1_690_483_736);
        let req = b"GET / HTTP/1.1\r\nDate: Thu, 27 Jul 2023 18:48:56 GMT\r\n\r\n";
        assert_eq!(done(HttpDir::Request, req).date_secs(), 0);
        // Every cut of a date, and years far out, read without panicking.
        let full = "Wednesday, 31 December 9999 23:59:61 GMT";
        for cut in 0..full.len() {
            let _ = d(&full[..cut]);
        }
        assert!(d(full).is_some());
    }

    #[test]
    fn hostile_heads_never_panic() {
        let mut rng = 0x1234_5678u32;
        for len in 0..300 {
            let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
            for _ in 0..len {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                buf.push(b"A:\r\n \x00]|-x"[(rng % 10) as usize]);
            }
            for dir in [HttpDir::Request, HttpDir::Response] {
                if let HeadRead::Done(s) = HeadRead::of(db(), dir, &buf) {
                    let m = db().find(&s);
                    let _ = (db().raw_sig(&s), s.lang_text(), s.params(&m), s.date_secs());
                }
            }
        }
    }
}
