//! The p0f v3 fingerprint database (`p0f.fp`): parser and in-memory form.
//!
//! The grammar and its checks follow p0f 3.09b's reader, so a file p0f
//! accepts loads here with the same signatures, and a file p0f rejects is
//! rejected with the line number and a reason. HTTP signatures are parsed
//! only as far as their labels (decnet-sniffer does not use p0f's HTTP
//! module); their bodies are not validated.

use std::fmt;

use hashbrown::HashMap;

use super::http::{HttpDb, HttpDir, LabelMeta};
use super::matcher::{self, Probe, WinType};
use super::sig::{opt, quirk, OptLayout, MAX_TCP_OPT};

/// Window size rule of a database signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinSpec {
    /// `*`
    Any,
    /// `%N`: a multiple of N.
    Mod(u16),
    /// `mss*N`
    Mss(u16),
    /// `mtu*N`
    Mtu(u16),
    /// A literal window size.
    Exact(u16),
}

/// One `sig = ...` line of a `[tcp:...]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSig {
    /// `None` for `*` (either version).
    pub ip_ver: Option<u8>,
    /// Initial TTL (for `ttl+dist` the sum).
    pub ttl: u8,
    /// `ttl-`: the TTL is randomised by the tool.
    pub bad_ttl: bool,
    pub ip_opt_len: u8,
    pub mss: Option<u16>,
    pub win: WinSpec,
    pub wscale: Option<u8>,
    pub layout: OptLayout,
    pub eol_pad: u8,
    pub quirks: u32,
    /// `None` for `*`, else whether payload is present (`+`).
    pub pay_class: Option<bool>,
}

/// One entry of a tool label's `sys` line: an OS class (`@unix`) or an OS
/// name the tool is expected to run on (p0f's host change scoring checks
/// the host's last OS against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysEntry {
    Class(u16),
    Name(u32),
}

/// A TCP signature with its label.
#[derive(Debug, Clone)]
pub struct SigRecord {
    pub sig: TcpSig,
    /// `g:` label.
    pub generic: bool,
    /// OS class index; `None` for a userland tool (`!`).
    pub class: Option<u16>,
    pub name: u32,
    pub flavor: Option<Box<str>>,
    /// The label as p0f prints it (name, and the flavor after a space),
    /// built once here rather than for every matching SYN.
    pub label: Box<str>,
    pub label_id: u32,
    /// The label's `sys` list (tools only; empty for an OS).
    pub sys: Box<[SysEntry]>,
    /// Line of the `sig` in the file (1-based).
    pub line: u32,
}

/// A parse error: the line (1-based) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub line: u32,
    pub reason: String,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p0f database line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for DbError {}

/// A loaded p0f.fp.
#[derive(Debug, Clone, Default)]
pub struct Database {
    classes: Vec<Box<str>>,
    names: Vec<Box<str>>,
    /// `[tcp:request]` (SYN) and `[tcp:response]` (SYN+ACK) signatures.
    tcp: [Vec<SigRecord>; 2],
    /// Indices into `tcp[dir]` by option layout, in file order.
    by_layout: [HashMap<OptLayout, Vec<u32>>; 2],
    /// `[mtu]` entries in file order: MTU and label index.
    mtu: Vec<(u16, u32)>,
    mtu_labels: Vec<Box<str>>,
    /// `[http:request]` and `[http:response]`.
    pub http: HttpDb,
}

/// The database Debian ships with p0f 3.09b (see data/p0f.NOTICE).
pub const BUNDLED: &str = include_str!("../../../data/p0f.fp");

const NAME_CHARS: &[u8] = b" ./-_!?()";

#[derive(Clone, Copy, PartialEq, Eq)]
/// What the reader expects next (p0f's `CF_NEED_*`).
enum Expect {
    Section,
    Label,
    Sys,
    Sig,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Module {
    None,
    Mtu,
    Tcp,
    Http,
}

/// A C-string-like cursor: reading past the end yields NUL, as p0f's
/// NUL-terminated buffers do, so its pointer walks carry over unchanged.
#[derive(Clone, Copy)]
struct NulCursor<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> NulCursor<'a> {
    fn new(text: &'a [u8]) -> Self {
        NulCursor { text, pos: 0 }
    }
    fn at(&self, k: usize) -> u8 {
        self.text.get(self.pos + k).copied().unwrap_or(0)
    }
    fn byte(&self) -> u8 {
        self.at(0)
    }
    fn advance(&mut self, n: usize) {
        self.pos += n;
    }
    fn starts_with(&self, p: &str) -> bool {
        self.text
            .get(self.pos..)
            .is_some_and(|r| r.starts_with(p.as_bytes()))
    }
    /// Index just past a run of ASCII digits starting here.
    fn skip_digits(&self) -> NulCursor<'a> {
        let mut n = *self;
        while n.byte().is_ascii_digit() {
            n.pos += 1;
        }
        n
    }
    /// C `atol`: blanks, a sign, digits; saturating instead of overflowing.
    fn parse_long(&self) -> i64 {
        let mut c = *self;
        while matches!(c.byte(), b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            c.pos += 1;
        }
        let neg = c.byte() == b'-';
        if matches!(c.byte(), b'-' | b'+') {
            c.pos += 1;
        }
        let mut v: i64 = 0;
        while c.byte().is_ascii_digit() {
            v = v
                .saturating_mul(10)
                .saturating_add(i64::from(c.byte() - b'0'));
            c.pos += 1;
        }
        if neg {
            -v
        } else {
            v
        }
    }
    fn rest(&self) -> &'a [u8] {
        self.text.get(self.pos..).unwrap_or(&[])
    }
}

struct Parser<'d> {
    db: &'d mut Database,
    line: u32,
    state: Expect,
    module: Module,
    to_srv: bool,
    generic: bool,
    class: Option<u16>,
    name: u32,
    flavor: Option<Box<str>>,
    label_id: u32,
    /// The current label's `sys` list.
    sys: Box<[SysEntry]>,
    mtu_label: Option<u32>,
}

impl Database {
    /// The bundled database, parsed once.
    pub fn bundled() -> &'static Database {
        static DB: std::sync::OnceLock<Database> = std::sync::OnceLock::new();
        DB.get_or_init(|| Database::parse(BUNDLED).expect("bundled p0f.fp parses"))
    }

    /// Parses a p0f.fp text.
    pub fn parse(text: &str) -> Result<Database, DbError> {
        let mut db = Database::default();
        let mut p = Parser {
            db: &mut db,
            line: 0,
            state: Expect::Section,
            module: Module::None,
            to_srv: false,
            generic: false,
            class: None,
            name: 0,
            flavor: None,
            label_id: 0,
            sys: Box::default(),
            mtu_label: None,
        };
        for raw in text.split('\n') {
            p.line += 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let line = line.trim_start_matches([' ', '\t']);
            if line.is_empty() || line.starts_with(';') {
                continue;
            }
            p.parse_line(line.as_bytes())?;
        }
        Ok(db)
    }

    /// TCP signatures of one direction (SYN when `syn_ack` is false).
    pub fn tcp_sigs(&self, syn_ack: bool) -> &[SigRecord] {
        &self.tcp[usize::from(syn_ack)]
    }

    pub(crate) fn candidates(&self, syn_ack: bool, layout: &OptLayout) -> &[u32] {
        self.by_layout[usize::from(syn_ack)]
            .get(layout)
            .map_or(&[], |v| v.as_slice())
    }

    /// OS / application name of a record.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    pub fn class_name(&self, class: u16) -> &str {
        self.classes.get(usize::from(class)).map_or("", |s| s)
    }

    /// The label as p0f prints it: name, and the flavor after a space.
    pub fn label<'a>(&self, rec: &'a SigRecord) -> &'a str {
        &rec.label
    }

    /// The `[mtu]` label of an MTU, first entry in file order.
    pub fn link_for_mtu(&self, mtu: u16) -> Option<&str> {
        self.mtu
            .iter()
            .find(|(m, _)| *m == mtu)
            .and_then(|(_, l)| self.mtu_labels.get(*l as usize))
            .map(|s| &**s)
    }

    /// Number of TCP signatures (both directions), MTU entries, HTTP sigs.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.tcp[0].len() + self.tcp[1].len(),
            self.mtu.len(),
            self.http.len(),
        )
    }

    fn intern_name(&mut self, name: &[u8]) -> u32 {
        intern(&mut self.names, name)
    }

    fn find_class(&self, name: &[u8]) -> Option<u16> {
        self.classes
            .iter()
            .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
            .map(|i| i as u16)
    }
}

/// A name's id, case-insensitively; the first spelling is kept.
fn intern(names: &mut Vec<Box<str>>, name: &[u8]) -> u32 {
    if let Some(i) = names
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(name))
    {
        return i as u32;
    }
    names.push(String::from_utf8_lossy(name).into());
    (names.len() - 1) as u32
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(super) fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || (b != 0 && NAME_CHARS.contains(&b))
}

impl Parser<'_> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, DbError> {
        Err(DbError {
            line: self.line,
            reason: reason.into(),
        })
    }

    fn parse_line(&mut self, line: &[u8]) -> Result<(), DbError> {
        if let Some(sect) = line.strip_prefix(b"[") {
            return self.parse_section(sect);
        }
        let key_end = line
            .iter()
            .position(|&b| !(b.is_ascii_alphabetic() || b == b'_'));
        let key_end = key_end.unwrap_or(line.len());
        let mut v = key_end;
        while line.get(v).copied().is_some_and(is_blank) {
            v += 1;
        }
        if v == 0 || line.get(v) != Some(&b'=') {
            return self.err("unexpected statement");
        }
        v += 1;
        while line.get(v).copied().is_some_and(is_blank) {
            v += 1;
        }
        let key = &line[..key_end];
        let val = &line[v..];
        match key {
            b"classes" => {
                if self.state != Expect::Section {
                    return self.err("misplaced 'classes'");
                }
                self.parse_classes(val)
            }
            b"ua_os" => {
                if self.state != Expect::Label || !self.to_srv || self.module != Module::Http {
                    return self.err("misplaced 'ua_os'");
                }
                let Database { http, names, .. } = &mut *self.db;
                let res = http.parse_ua_os(val, |n| intern(names, n));
                res.or_else(|e| self.err(e))
            }
            b"label" => {
                if self.state != Expect::Label && self.state != Expect::Sig {
                    return self.err("misplaced 'label'");
                }
                self.parse_label(val)?;
                self.state = if self.module != Module::Mtu && self.class.is_none() {
                    Expect::Sys
                } else {
                    Expect::Sig
                };
                Ok(())
            }
            b"sys" => {
                if self.state != Expect::Sys {
                    return self.err("misplaced 'sys'");
                }
                self.parse_sys(val)?;
                self.state = Expect::Sig;
                Ok(())
            }
            b"sig" => {
                if self.state != Expect::Sig {
                    return self.err("misplaced 'sig'");
                }
                match self.module {
                    Module::Mtu => self.parse_mtu_sig(val),
                    Module::Tcp => self.parse_tcp_sig(val),
                    _ => self.parse_http_sig(val),
                }
            }
            _ => self.err(format!(
                "unrecognized field '{}'",
                String::from_utf8_lossy(key)
            )),
        }
    }

    fn parse_section(&mut self, sect: &[u8]) -> Result<(), DbError> {
        if sect == b"mtu]" {
            self.module = Module::Mtu;
            self.state = Expect::Label;
            return Ok(());
        }
        let Some(colon) = sect.iter().position(|&b| b == b':') else {
            return self.err("malformed section identifier");
        };
        let (module, dir) = (&sect[..colon], &sect[colon + 1..]);
        self.module = match module {
            b"tcp" => Module::Tcp,
            b"http" => Module::Http,
            _ => {
                let m = String::from_utf8_lossy(module);
                return self.err(format!("unrecognized fingerprinting module '{m}'"));
            }
        };
        self.to_srv = match dir {
            b"request]" => true,
            b"response]" => false,
            _ => return self.err("unrecognized traffic direction"),
        };
        self.state = Expect::Label;
        Ok(())
    }

    fn parse_classes(&mut self, val: &[u8]) -> Result<(), DbError> {
        let mut i = 0;
        while i < val.len() {
            while val.get(i).is_some_and(|&b| is_blank(b) || b == b',') {
                i += 1;
            }
            let start = i;
            while val.get(i).is_some_and(|b| b.is_ascii_alphanumeric()) {
                i += 1;
            }
            if i == start || val.get(i).is_some_and(|&b| b != b',') {
                return self.err("malformed class entry");
            }
            self.db
                .classes
                .push(String::from_utf8_lossy(&val[start..i]).into());
        }
        Ok(())
    }

    fn parse_label(&mut self, val: &[u8]) -> Result<(), DbError> {
        if self.module == Module::Mtu {
            if val.is_empty() {
                return self.err("empty MTU label");
            }
            self.db.mtu_labels.push(String::from_utf8_lossy(val).into());
            self.mtu_label = Some((self.db.mtu_labels.len() - 1) as u32);
            return Ok(());
        }
        self.generic = match val.first() {
            Some(b'g') => true,
            Some(b's') => false,
            _ => return self.err("malformed class entry"),
        };
        if val.get(1) != Some(&b':') {
            return self.err("malformed class entry");
        }
        let rest = &val[2..];
        let cls_end = rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'!'));
        let cls_end = cls_end.unwrap_or(rest.len());
        if cls_end == 0 || rest.get(cls_end) != Some(&b':') {
            return self.err("malformed class entry");
        }
        if rest.starts_with(b"!:") {
            self.class = None;
        } else {
            let cls = &rest[..cls_end];
            match self.db.find_class(cls) {
                Some(c) => self.class = Some(c),
                None => {
                    let c = String::from_utf8_lossy(cls);
                    return self.err(format!("unknown class '{c}'"));
                }
            }
        }
        let rest = &rest[cls_end + 1..];
        let name_end = rest
            .iter()
            .position(|&b| !is_name_char(b))
            .unwrap_or(rest.len());
        if name_end == 0 || rest.get(name_end) != Some(&b':') {
            return self.err("malformed name");
        }
        self.name = self.db.intern_name(&rest[..name_end]);
        let flavor = &rest[name_end + 1..];
        self.flavor = (!flavor.is_empty()).then(|| String::from_utf8_lossy(flavor).into());
        self.label_id += 1;
        self.sys = Box::default();
        Ok(())
    }

    fn parse_sys(&mut self, val: &[u8]) -> Result<(), DbError> {
        let mut sys = Vec::new();
        let mut i = 0;
        while i < val.len() {
            while val.get(i).is_some_and(|&b| is_blank(b) || b == b',') {
                i += 1;
            }
            let is_class = val.get(i) == Some(&b'@');
            if is_class {
                i += 1;
            }
            let start = i;
            while val.get(i).copied().is_some_and(is_name_char) {
                i += 1;
            }
            if i == start || val.get(i).is_some_and(|&b| b != b',') {
                return self.err("malformed sys entry");
            }
            let name = &val[start..i];
            if is_class {
                let Some(c) = self.db.find_class(name) else {
                    let c = String::from_utf8_lossy(name);
                    return self.err(format!("unknown class '{c}'"));
                };
                sys.push(SysEntry::Class(c));
            } else {
                sys.push(SysEntry::Name(self.db.intern_name(name)));
            }
        }
        self.sys = sys.into();
        Ok(())
    }

    fn parse_mtu_sig(&mut self, val: &[u8]) -> Result<(), DbError> {
        if val.is_empty() || !val.iter().all(u8::is_ascii_digit) {
            return self.err("malformed MTU value");
        }
        let mtu = NulCursor::new(val).parse_long();
        if !(1..=65535).contains(&mtu) {
            return self.err("malformed MTU value");
        }
        let label = self.mtu_label.unwrap_or(0);
        self.db.mtu.push((mtu as u16, label));
        Ok(())
    }

    fn label_text(&self) -> Box<str> {
        let name = self.db.name(self.name);
        match &self.flavor {
            Some(fl) => format!("{name} {fl}").into(),
            None => name.into(),
        }
    }

    fn parse_http_sig(&mut self, val: &[u8]) -> Result<(), DbError> {
        let meta = LabelMeta {
            generic: self.generic,
            class: self.class,
            name: self.name,
            label: self.label_text(),
            label_id: self.label_id,
            sys: self.sys.clone(),
            line: self.line,
        };
        let dir = if self.to_srv {
            HttpDir::Request
        } else {
            HttpDir::Response
        };
        let res = self.db.http.parse_sig(dir, meta, val);
        res.or_else(|e| self.err(e))
    }

    fn parse_tcp_sig(&mut self, val: &[u8]) -> Result<(), DbError> {
        let sig = self.tcp_sig_fields(val)?;
        let dir = usize::from(!self.to_srv);
        // p0f refuses a specific signature that an earlier one already covers.
        let probe = Probe::from_db(&sig);
        let dupe = matcher::find(self.db, dir == 1, &probe, true);
        if let Some(prev) = dupe.record {
            let msg = format!("signature is already covered by line {}", prev.line);
            return self.err(msg);
        }
        let label = self.label_text();
        let rec = SigRecord {
            sig,
            generic: self.generic,
            class: self.class,
            name: self.name,
            flavor: self.flavor.clone(),
            label,
            label_id: self.label_id,
            sys: self.sys.clone(),
            line: self.line,
        };
        let idx = self.db.tcp[dir].len() as u32;
        self.db.by_layout[dir]
            .entry(rec.sig.layout)
            .or_default()
            .push(idx);
        self.db.tcp[dir].push(rec);
        Ok(())
    }

    /// `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`, walked the
    /// way p0f walks it (its leniencies included: an empty number is 0).
    fn tcp_sig_fields(&self, val: &[u8]) -> Result<TcpSig, DbError> {
        let malformed = || self.err::<TcpSig>("malformed signature");
        let mut c = NulCursor::new(val);
        let ip_ver = match c.byte() {
            b'4' => Some(4),
            b'6' => Some(6),
            b'*' => None,
            _ => return self.err("unrecognized IP version"),
        };
        if c.at(1) != b':' {
            return malformed();
        }
        c.advance(2);

        // Initial TTL, possibly `ttl+dist` or `ttl-`.
        let mut after_digits = c.skip_digits();
        if !matches!(after_digits.byte(), b':' | b'+' | b'-') {
            return malformed();
        }
        let mut ittl = c.parse_long();
        if !(1..=255).contains(&ittl) {
            return self.err("bogus initial TTL");
        }
        c = after_digits;
        c.advance(1);
        let mut bad_ttl = false;
        if after_digits.byte() == b'-' && after_digits.at(1) == b':' {
            bad_ttl = true;
            c.advance(2); // p0f steps one byte too far here; so do we
        } else if after_digits.byte() == b'+' {
            after_digits.advance(1);
            after_digits = after_digits.skip_digits();
            if after_digits.byte() != b':' {
                return malformed();
            }
            let add = c.parse_long();
            if add < 0 || ittl + add > 255 {
                return self.err("bogus initial TTL");
            }
            ittl += add;
            c = after_digits;
            c.advance(1);
        }

        // IP option length.
        let after_digits = c.skip_digits();
        if after_digits.byte() != b':' {
            return malformed();
        }
        let olen = c.parse_long();
        if !(0..=255).contains(&olen) {
            return self.err("bogus IP option length");
        }
        c = after_digits;
        c.advance(1);

        // MSS.
        let mss = if c.byte() == b'*' && c.at(1) == b':' {
            c.advance(2);
            None
        } else {
            let after_digits = c.skip_digits();
            if after_digits.byte() != b':' {
                return malformed();
            }
            let mss = c.parse_long();
            if !(0..=65535).contains(&mss) {
                return self.err("bogus MSS");
            }
            c = after_digits;
            c.advance(1);
            Some(mss as u16)
        };

        // Window size, then a comma.
        let win = if c.byte() == b'*' && c.at(1) == b',' {
            c.advance(2);
            WinSpec::Any
        } else if c.byte() == b'%' {
            c.advance(1);
            let after_digits = c.skip_digits();
            if after_digits.byte() != b',' {
                return malformed();
            }
            let w = c.parse_long();
            if !(2..=65535).contains(&w) {
                return self.err("bogus '%' value");
            }
            c = after_digits;
            c.advance(1);
            WinSpec::Mod(w as u16)
        } else if c.starts_with("mss*") || c.starts_with("mtu*") {
            let is_mss = c.at(1) == b's';
            c.advance(4);
            let after_digits = c.skip_digits();
            if after_digits.byte() != b',' {
                return malformed();
            }
            let w = c.parse_long();
            if !(1..=1000).contains(&w) {
                return self.err("bogus MSS/MTU multiplier");
            }
            c = after_digits;
            c.advance(1);
            if is_mss {
                WinSpec::Mss(w as u16)
            } else {
                WinSpec::Mtu(w as u16)
            }
        } else {
            let after_digits = c.skip_digits();
            if after_digits.byte() != b',' {
                return malformed();
            }
            let w = c.parse_long();
            if !(0..=65535).contains(&w) {
                return self.err("bogus window size");
            }
            c = after_digits;
            c.advance(1);
            WinSpec::Exact(w as u16)
        };

        // Window scale.
        let wscale = if c.byte() == b'*' && c.at(1) == b':' {
            c.advance(2);
            None
        } else {
            let after_digits = c.skip_digits();
            if after_digits.byte() != b':' {
                return malformed();
            }
            let s = c.parse_long();
            if !(0..=255).contains(&s) {
                return self.err("bogus window scale");
            }
            c = after_digits;
            c.advance(1);
            Some(s as u8)
        };

        // Option layout.
        let mut layout = OptLayout::EMPTY;
        let mut eol_pad = 0u8;
        while c.byte() != b':' {
            if layout.len() >= MAX_TCP_OPT {
                return self.err("too many TCP options");
            }
            if c.starts_with("eol") {
                layout.push(opt::EOL);
                c.advance(3);
                if c.byte() != b'+' {
                    return self.err("malformed EOL option");
                }
                c.advance(1);
                let after_digits = c.skip_digits();
                if after_digits.byte() == 0 {
                    return self.err("truncated options");
                }
                if after_digits.byte() != b':' {
                    return self.err("EOL must be the last option");
                }
                let pad = c.parse_long();
                if !(0..=255).contains(&pad) {
                    return self.err("bogus EOL padding");
                }
                eol_pad = pad as u8;
                c = after_digits;
            } else if let Some((kind, n)) = [
                ("nop", opt::NOP),
                ("mss", opt::MSS),
                ("ws", opt::WS),
                ("sok", opt::SACKOK),
                ("sack", opt::SACK),
                ("ts", opt::TS),
            ]
            .iter()
            .find(|(t, _)| c.starts_with(t))
            .map(|(t, k)| (*k, t.len()))
            {
                layout.push(kind);
                c.advance(n);
            } else if c.byte() == b'?' {
                c.advance(1);
                let after_digits = c.skip_digits();
                if after_digits.byte() != b':' && after_digits.byte() != b',' {
                    return self.err("malformed '?' option");
                }
                let k = c.parse_long();
                if !(0..=255).contains(&k) {
                    return self.err("bogus '?' option");
                }
                layout.push(k as u8);
                c = after_digits;
            } else {
                return self.err("unrecognized TCP option");
            }
            if c.byte() == b':' {
                break;
            }
            if c.byte() != b',' {
                return self.err("malformed TCP options");
            }
            c.advance(1);
        }
        c.advance(1);

        // Quirks.
        let mut quirks = 0u32;
        while c.byte() != b':' {
            let Some(&(bit, name)) = quirk::NAMES.iter().find(|(_, n)| c.starts_with(n)) else {
                return self.err("unrecognized quirk");
            };
            let v4_only = quirk::DF | quirk::NZ_ID | quirk::ZERO_ID | quirk::NZ_MBZ;
            if ip_ver == Some(6) && bit & v4_only != 0 {
                return self.err(format!("'{name}' is not valid for IPv6"));
            }
            if ip_ver == Some(4) && bit == quirk::FLOW {
                return self.err("'flow' is not valid for IPv4");
            }
            quirks |= bit;
            c.advance(name.len());
            if c.byte() == b':' {
                break;
            }
            if c.byte() != b',' {
                return self.err("malformed quirks");
            }
            c.advance(1);
        }
        c.advance(1);

        let pay_class = match c.rest() {
            b"*" => None,
            b"0" => Some(false),
            b"+" => Some(true),
            _ => return self.err("malformed payload class"),
        };

        Ok(TcpSig {
            ip_ver,
            ttl: ittl as u8,
            bad_ttl,
            ip_opt_len: olen as u8,
            mss,
            win,
            wscale,
            layout,
            eol_pad,
            quirks,
            pay_class,
        })
    }
}

impl WinSpec {
    pub(crate) fn parts(self) -> (WinType, u16) {
        match self {
            WinSpec::Any => (WinType::Any, 0),
            WinSpec::Mod(w) => (WinType::Mod, w),
            WinSpec::Mss(w) => (WinType::Mss, w),
            WinSpec::Mtu(w) => (WinType::Mtu, w),
            WinSpec::Exact(w) => (WinType::Normal, w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> DbError {
        Database::parse(text).expect_err("must not parse")
    }

    #[test]
    fn bundled_loads_every_signature() {
        let db = Database::bundled();
        // Debian's p0f.fp: 322 `sig` lines (p0f -r reports "Loaded 322
        // signatures"), 25 of them in [mtu].
        let (tcp, mtu, http) = db.counts();
        assert_eq!(tcp + mtu + http, 322);
        assert_eq!(mtu, 25);
        assert_eq!(db.link_for_mtu(1500), Some("Ethernet or modem"));
        assert_eq!(db.link_for_mtu(1440), Some("generic tunnel or VPN"));
        assert_eq!(db.link_for_mtu(1499), None);
        let first = &db.tcp_sigs(false)[0];
        assert_eq!(db.label(first), "Linux 3.11 and newer");
        assert_eq!(first.line, 96);
        assert_eq!(first.sig.win, WinSpec::Mss(20));
        assert_eq!(first.sig.quirks, quirk::DF | quirk::NZ_ID);
        let nmap = db.tcp_sigs(false).iter().find(|r| r.sig.bad_ttl).unwrap();
        assert_eq!(db.label(nmap), "NMap SYN scan");
        assert!(nmap.class.is_none());
        assert_eq!(nmap.sig.ip_opt_len, 0);
        assert_eq!(nmap.sig.ttl, 64);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_err("classes = win\n\n[tcp:request]\nlabel = s:unix:Linux:x\n");
        assert_eq!(e.line, 4);
        assert_eq!(e.reason, "unknown class 'unix'");
        let e = parse_err("classes = unix\n[tcp:request]\nlabel = s:unix:L:\nsig = 4:64:0:*:mss*20,7:mss,foo:df:0\n");
        assert_eq!((e.line, e.reason.as_str()), (4, "unrecognized TCP option"));
        let e = parse_err("[tcp:sideways]\n");
        assert_eq!(
            (e.line, e.reason.as_str()),
            (1, "unrecognized traffic direction")
        );
        let e = parse_err("classes = unix\n[tcp:request]\nsig = 4:64:0:*:*,0:::0\n");
        assert_eq!((e.line, e.reason.as_str()), (3, "misplaced 'sig'"));
        let e = parse_err(
            "classes = unix\n[tcp:request]\nlabel = s:unix:L:\nsig = 6:64:0:*:*,0::df:0\n",
        );
        assert_eq!(
            (e.line, e.reason.as_str()),
            (4, "'df' is not valid for IPv6")
        );
        let e = parse_err(
            "classes = unix\n[tcp:request]\nlabel = s:unix:L:\nsig = 4:300:0:*:*,0:::0\n",
        );
        assert_eq!((e.line, e.reason.as_str()), (4, "bogus initial TTL"));
        let e = parse_err(
            "classes = unix\n[tcp:request]\nlabel = s:unix:L:\nsig = 4:64:0:*:*,0:eol+1,nop::0\n",
        );
        assert_eq!(
            (e.line, e.reason.as_str()),
            (4, "EOL must be the last option")
        );
        let e = parse_err("[mtu]\nlabel = x\nsig = 15o0\n");
        assert_eq!((e.line, e.reason.as_str()), (3, "malformed MTU value"));
        let e =
            parse_err("classes = unix\n[tcp:request]\nlabel = s:!:Tool:\nsig = 4:64:0:*:*,0:::0\n");
        assert_eq!((e.line, e.reason.as_str()), (4, "misplaced 'sig'"));
    }

    #[test]
    fn duplicate_signature_is_refused() {
        let text = "classes = unix\n[tcp:request]\nlabel = s:unix:A:\nsig = *:64:0:*:mss*20,7:mss:df:0\nlabel = s:unix:B:\nsig = 4:64:0:*:mss*20,7:mss:df:0\n";
        let e = parse_err(text);
        assert_eq!(
            (e.line, e.reason.as_str()),
            (6, "signature is already covered by line 4")
        );
    }

    #[test]
    fn names_are_case_insensitive_first_spelling_wins() {
        let text = "classes = unix\n[tcp:request]\nlabel = s:unix:Linux:a\nsig = 4:64:0:*:1,0:::0\nlabel = g:UNIX:LINUX:\nsig = 4:64:0:*:2,0:::0\n";
        let db = Database::parse(text).unwrap();
        let sigs = db.tcp_sigs(false);
        assert_eq!(db.label(&sigs[1]), "Linux");
        assert!(sigs[1].generic);
    }

    #[test]
    fn hostile_text_never_panics() {
        let base = Database::bundled();
        assert!(base.counts().0 > 100);
        let mut next = crate::util::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        let text = BUNDLED.as_bytes();
        for _ in 0..300 {
            let seed = next();
            let at = (seed as usize) % text.len();
            let mut t = text.to_vec();
            t[at] = (seed >> 40) as u8 & 0x7f;
            t.truncate(at + 1 + (seed as usize >> 20) % 200);
            let _ = Database::parse(&String::from_utf8_lossy(&t));
        }
    }
}
