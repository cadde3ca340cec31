//! The client labels database (`data/clients/clients.db`, `--clients-db`):
//! which program or library produced a fingerprint, one row per value.
//!
//! A row is `method | value | label | versions | capture | how` (no field
//! holds a `|`); `#` starts a comment line. `value` is matched
//! exactly, or as a prefix when the row ends it with `*`. Every row must
//! say which capture backs it; nothing is inferred from similarity.

use std::collections::HashMap;

/// The database in the repository, backed by `tests/data/clients/`.
pub const BUNDLED: &str = include_str!("../../../data/clients/clients.db");

/// The fingerprint a row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// JA4 of a TLS, QUIC or DTLS ClientHello (its first letter says which).
    Ja4,
    /// JA4_o (original extension order), for JA4 values several programs share.
    Ja4o,
    /// JA3 hash: only consulted when no JA4 row matches.
    Ja3,
    /// JA4H cut to its first two parts (method, version, cookie and
    /// referer flags, header count, language; sorted header names).
    Ja4h,
    /// HASSH of the client's KEXINIT.
    Hassh,
    /// The client's SSH identification line, `SSH-2.0-...`.
    SshBanner,
    /// JA4T of a SYN.
    Ja4t,
    /// The HTTP application label p0f's `[http:request]` section gives
    /// (filled in once the engine reports it; see `matcher::P0F_HTTP_APP`).
    P0fHttp,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Ja4,
        Method::Ja4o,
        Method::Ja3,
        Method::Ja4h,
        Method::Hassh,
        Method::SshBanner,
        Method::Ja4t,
        Method::P0fHttp,
    ];

    /// The name in the database and in `client_source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ja4 => "ja4",
            Method::Ja4o => "ja4_o",
            Method::Ja3 => "ja3",
            Method::Ja4h => "ja4h",
            Method::Hassh => "hassh",
            Method::SshBanner => "ssh_banner",
            Method::Ja4t => "ja4t",
            Method::P0fHttp => "p0f_http",
        }
    }

    fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// One row of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub method: Method,
    /// The value, without the prefix star.
    pub value: Box<str>,
    pub prefix: bool,
    pub label: Box<str>,
    /// Versions of the programs seen with this value.
    pub versions: Box<str>,
    /// The capture under `tests/data/clients/` that backs the row.
    pub capture: Box<str>,
    /// The script (and options) that made the capture.
    pub how: Box<str>,
    /// Line number in the file, for messages.
    pub line: usize,
}

/// A bad row: its line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// Rows indexed for one lookup per event.
#[derive(Debug, Default)]
pub struct Database {
    rows: Vec<Row>,
    /// Exact values per method (index of `Method::ALL`) to row index.
    exact: [HashMap<Box<[u8]>, u32>; 8],
    /// Prefix rows per method, longest prefix first.
    prefixes: [Vec<u32>; 8],
}

const FIELDS: usize = 6;

impl Database {
    /// The bundled database, parsed once.
    pub fn bundled() -> &'static Database {
        static DB: std::sync::OnceLock<Database> = std::sync::OnceLock::new();
        DB.get_or_init(|| Database::parse(BUNDLED).expect("bundled clients.db parses"))
    }

    pub fn parse(text: &str) -> Result<Database, ParseError> {
        let mut db = Database::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let row = parse_row(trimmed, line)?;
            db.insert(row)?;
        }
        for list in &mut db.prefixes {
            let rows = &db.rows;
            list.sort_by_key(|&r| std::cmp::Reverse(rows[r as usize].value.len()));
        }
        Ok(db)
    }

    fn insert(&mut self, row: Row) -> Result<(), ParseError> {
        let m = row.method as usize;
        let index = self.rows.len() as u32;
        if row.prefix {
            if let Some(&other) = self.prefixes[m]
                .iter()
                .find(|&&r| self.rows[r as usize].value == row.value)
            {
                return Err(duplicate(&row, &self.rows[other as usize]));
            }
            self.prefixes[m].push(index);
        } else {
            let key: Box<[u8]> = row.value.as_bytes().into();
            if let Some(&other) = self.exact[m].get(&key) {
                return Err(duplicate(&row, &self.rows[other as usize]));
            }
            self.exact[m].insert(key, index);
        }
        self.rows.push(row);
        Ok(())
    }

    /// The row labelling `value` by `method`: an exact row, else the
    /// longest declared prefix.
    pub fn lookup(&self, method: Method, value: &[u8]) -> Option<&Row> {
        if value.is_empty() {
            return None;
        }
        let m = method as usize;
        if let Some(&r) = self.exact[m].get(value) {
            return self.rows.get(r as usize);
        }
        self.prefixes[m]
            .iter()
            .map(|&r| &self.rows[r as usize])
            .find(|row| value.starts_with(row.value.as_bytes()))
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

fn duplicate(row: &Row, other: &Row) -> ParseError {
    ParseError {
        line: row.line,
        reason: format!(
            "{} {:?} is already labelled on line {}",
            row.method.as_str(),
            row.value,
            other.line
        ),
    }
}

fn parse_row(text: &str, line: usize) -> Result<Row, ParseError> {
    let err = |reason: String| ParseError { line, reason };
    let parts: Vec<&str> = text.split('|').map(str::trim).collect();
    if parts.len() != FIELDS {
        return Err(err(format!(
            "{} fields, expected {FIELDS} separated by '|' (method | value | label | versions | capture | how)",
            parts.len()
        )));
    }
    let method =
        Method::parse(parts[0]).ok_or_else(|| err(format!("unknown method {:?}", parts[0])))?;
    let (value, prefix) = match parts[1].strip_suffix('*') {
        Some(v) => (v, true),
        None => (parts[1], false),
    };
    if value.is_empty() {
        return Err(err("empty value".into()));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() && method != Method::SshBanner)
    {
        return Err(err(format!("character {c:?} in the value")));
    }
    check_shape(method, value, prefix).map_err(|r| err(r.into()))?;
    let names = ["label", "versions", "capture", "how"];
    for (name, field) in names.iter().zip(&parts[2..]) {
        if field.is_empty() {
            return Err(err(format!("empty {name}")));
        }
        if field.chars().any(char::is_control) {
            return Err(err(format!("control character in the {name}")));
        }
    }
    Ok(Row {
        method,
        value: value.into(),
        prefix,
        label: parts[2].into(),
        versions: parts[3].into(),
        capture: parts[4].into(),
        how: parts[5].into(),
        line,
    })
}

/// Catches values of the wrong method (a JA3 hash in a JA4 row).
fn check_shape(method: Method, value: &str, prefix: bool) -> Result<(), &'static str> {
    let hex32 = |v: &str| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit());
    match method {
        Method::Ja3 | Method::Hassh if !prefix && !hex32(value) => {
            Err("expected an MD5 hash of 32 hex digits")
        }
        Method::Ja4 | Method::Ja4o if !prefix && value.split('_').count() != 3 => {
            Err("expected a JA4 of three parts joined by '_'")
        }
        Method::Ja4h if !prefix && value.split('_').count() != 2 => {
            Err("expected the first two JA4H parts joined by '_'")
        }
        Method::SshBanner if !value.starts_with("SSH-") => {
            Err("expected an identification line starting with SSH-")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str = "ja4 | t13d1516h2_8daaf6152771_02713d6af862 | Example | 1.0 | tls/x.pcap | scripts/clients/tls.sh x";

    #[test]
    fn bundled_parses() {
        assert!(!Database::bundled().is_empty());
    }

    #[test]
    fn exact_and_prefix() {
        let text = format!(
            "# comment\n{ROW}\nssh_banner | SSH-2.0-OpenSSH_* | OpenSSH | any | ssh/a.pcap | s\nssh_banner | SSH-2.0-OpenSSH_9.2* | OpenSSH 9.2 | 9.2 | ssh/b.pcap | s\n"
        );
        let db = Database::parse(&text).unwrap();
        let row = db
            .lookup(Method::Ja4, b"t13d1516h2_8daaf6152771_02713d6af862")
            .unwrap();
        assert_eq!(&*row.label, "Example");
        assert_eq!(row.line, 2);
        assert!(db
            .lookup(Method::Ja4, b"t13d1516h2_8daaf6152771_02713d6af86")
            .is_none());
        assert!(db
            .lookup(Method::Ja4o, b"t13d1516h2_8daaf6152771_02713d6af862")
            .is_none());
        let longest = db
            .lookup(Method::SshBanner, b"SSH-2.0-OpenSSH_9.2p1 Debian")
            .unwrap();
        assert_eq!(&*longest.label, "OpenSSH 9.2");
        let shorter = db
            .lookup(Method::SshBanner, b"SSH-2.0-OpenSSH_8.4")
            .unwrap();
        assert_eq!(&*shorter.label, "OpenSSH");
        assert!(db.lookup(Method::SshBanner, b"SSH-2.0-libssh").is_none());
        assert!(db.lookup(Method::SshBanner, b"").is_none());
    }

    #[test]
    fn bad_rows_name_their_line() {
        let cases = [
            ("foo | x | l | v | c | h", "line 1: unknown method \"foo\""),
            ("ja4 | x | l | v | c", "line 1: 5 fields"),
            ("ja3 | abc | l | v | c | h", "line 1: expected an MD5"),
            ("ja4 | a_b_c | | v | c | h", "line 1: empty label"),
            (
                "ssh_banner | OpenSSH | l | v | c | h",
                "line 1: expected an identification",
            ),
        ];
        for (text, want) in cases {
            let e = Database::parse(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
        let dup = format!("{ROW}\n\n{ROW}\n");
        assert_eq!(
            Database::parse(&dup).unwrap_err().to_string(),
            "line 3: ja4 \"t13d1516h2_8daaf6152771_02713d6af862\" is already labelled on line 1"
        );
    }
}
