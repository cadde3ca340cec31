//! A complete HTTP/1.x request head (RFC 9112 sections 3 and 5), viewed
//! in place: request line and header lines are slices of the input.
//!
//! Parsing is lenient where senders differ and strict where it decides
//! whether the bytes are HTTP at all: the method must be a token and the
//! line must end in `HTTP/d.d`; the target is whatever lies between (a
//! target with spaces in it, `GET /Hello Arkime HTTP/1.0`, is kept whole).

/// The longest method token accepted (real ones are at most 17 bytes:
/// `VERSION-CONTROL`; anything longer is not HTTP).
pub const MAX_METHOD_LEN: usize = 32;

/// Why bytes are not an HTTP/1.x request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotHttp {
    /// The first line is not `token SP target SP HTTP/d.d`.
    BadRequestLine,
}

/// One header line. `name` is the bytes before the first `:` exactly as
/// sent (case and any stray spaces kept); `value` is trimmed of spaces and
/// tabs. A line without `:` is a header with that whole line as its name
/// and an empty value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

/// A parsed request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    /// Major and minor digit of `HTTP/d.d`.
    pub version: (u8, u8),
    /// Header lines, each ending in LF (CR optional), up to the empty line.
    block: &'a [u8],
}

/// `tchar` of RFC 9110 section 5.6.2.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// What the first bytes of a stream say about it being an HTTP request,
/// before the request line is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// Could still be a request line.
    Plausible,
    /// A method token followed by a space: a request line has begun.
    MethodSeen,
    /// Cannot be a request line.
    NotHttp,
}

/// Judges the start of a request line from its first bytes (any number,
/// only the first `MAX_METHOD_LEN + 1` are looked at).
pub fn check_prefix(start: &[u8]) -> Prefix {
    for (i, &b) in start.iter().take(MAX_METHOD_LEN + 1).enumerate() {
        if b == b' ' {
            return if i == 0 {
                Prefix::NotHttp
            } else {
                Prefix::MethodSeen
            };
        }
        if !is_tchar(b) {
            return Prefix::NotHttp;
        }
    }
    if start.len() > MAX_METHOD_LEN {
        Prefix::NotHttp
    } else {
        Prefix::Plausible
    }
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `HTTP/d.d` -> (d, d).
fn parse_version(v: &[u8]) -> Option<(u8, u8)> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some((major - b'0', minor - b'0'))
        }
        _ => None,
    }
}

/// The three parts of a request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    pub version: (u8, u8),
}

/// Parses a request line (without its CR LF).
pub fn parse_request_line(line: &[u8]) -> Result<RequestLine<'_>, NotHttp> {
    let sp = memchr::memchr(b' ', line).ok_or(NotHttp::BadRequestLine)?;
    let method = &line[..sp];
    if method.is_empty() || method.len() > MAX_METHOD_LEN || !method.iter().all(|&b| is_tchar(b)) {
        return Err(NotHttp::BadRequestLine);
    }
    let rest = &line[sp + 1..];
    let last_sp = memchr::memrchr(b' ', rest).ok_or(NotHttp::BadRequestLine)?;
    let version = parse_version(&rest[last_sp + 1..]).ok_or(NotHttp::BadRequestLine)?;
    let target = trim_ows(&rest[..last_sp]);
    Ok(RequestLine {
        method,
        target,
        version,
    })
}

impl<'a> RequestHead<'a> {
    /// Parses a complete head: `head` runs from the request line through the
    /// empty line that ends the headers (the empty line may be missing).
    pub fn parse(head: &'a [u8]) -> Result<RequestHead<'a>, NotHttp> {
        let (line, block) = match memchr::memchr(b'\n', head) {
            Some(i) => (&head[..i], &head[i + 1..]),
            None => (head, &head[head.len()..]),
        };
        let RequestLine {
            method,
            target,
            version,
        } = parse_request_line(strip_cr(line))?;
        Ok(RequestHead {
            method,
            target,
            version,
            block,
        })
    }

    /// Header lines in order. Continuation lines (obsolete line folding,
    /// starting with a space or tab) are not headers and are skipped.
    pub fn headers(&self) -> Headers<'a> {
        Headers { rest: self.block }
    }

    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers()
            .find(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value)
    }

    /// Every `Cookie` header's value joined by `; ` (HTTP/1.1 clients send
    /// one; RFC 6265 section 5.4).
    pub fn cookie(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_cookie(&mut out);
        out
    }

    /// Appends [`RequestHead::cookie`].
    pub fn write_cookie(&self, out: &mut Vec<u8>) {
        let start = out.len();
        for h in self
            .headers()
            .filter(|h| h.name.eq_ignore_ascii_case(b"cookie"))
        {
            if out.len() > start {
                out.extend_from_slice(b"; ");
            }
            out.extend_from_slice(h.value);
        }
    }

    /// DECNET's `headers_ordered`: a JSON list of the header names in
    /// order, lower-cased. Names that are not UTF-8 are written with
    /// U+FFFD for the bad bytes.
    pub fn headers_ordered_json(&self) -> String {
        let mut out = Vec::new();
        self.write_headers_ordered_json(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Appends [`RequestHead::headers_ordered_json`].
    pub fn write_headers_ordered_json(&self, out: &mut Vec<u8>) {
        write_names_json(self.headers().map(|h| h.name), out);
    }
}

/// Appends a JSON list of `names` lower-cased: plain ASCII names (nearly
/// all) copied, any other through serde_json (bad UTF-8 as U+FFFD).
pub fn write_names_json<'a>(names: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    let plain = |b: &u8| (0x20..0x7f).contains(b) && !matches!(b, b'"' | b'\\');
    out.push(b'[');
    for (i, name) in names.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if name.iter().all(plain) {
            out.push(b'"');
            out.extend(name.iter().map(u8::to_ascii_lowercase));
            out.push(b'"');
        } else {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, &name);
        }
    }
    out.push(b']');
}

/// Iterator over header lines; see [`RequestHead::headers`].
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (line, rest) = match memchr::memchr(b'\n', self.rest) {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, &self.rest[self.rest.len()..]),
            };
            let line = strip_cr(line);
            if line.is_empty() {
                // The empty line: end of the head.
                self.rest = &[];
                return None;
            }
            self.rest = rest;
            if matches!(line[0], b' ' | b'\t') {
                continue;
            }
            return Some(match memchr::memchr(b':', line) {
                Some(c) => Header {
                    name: &line[..c],
                    value: trim_ows(&line[c + 1..]),
                },
                None => Header {
                    name: line,
                    value: &[],
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_forms() {
        assert_eq!(
            parse_request_line(b"GET / HTTP/1.1"),
            Ok(RequestLine {
                method: b"GET",
                target: b"/",
                version: (1, 1)
            })
        );
        assert_eq!(
            parse_request_line(b"PROPFIND /dav/ HTTP/1.0"),
            Ok(RequestLine {
                method: b"PROPFIND",
                target: b"/dav/",
                version: (1, 0)
            })
        );
        assert_eq!(
            parse_request_line(b"FOO * HTTP/1.1").unwrap().method,
            b"FOO"
        );
        // Spaces inside the target are kept (Arkime's sample does this).
        assert_eq!(
            parse_request_line(b"GET /Hello Arkime HTTP/1.0")
                .unwrap()
                .target,
            b"/Hello Arkime"
        );
        assert_eq!(parse_request_line(b"GET  HTTP/1.1").unwrap().target, b"");
        for bad in [
            &b"GET /"[..],
            b"GET / HTTP/1",
            b"GET / http/1.1",
            b"GET / HTTP/1.1 ",
            b" GET / HTTP/1.1",
            b"G(T / HTTP/1.1",
            b"SSH-2.0-OpenSSH_9.2p1 Debian-2",
            b"\x16\x03\x01\x02\x00",
            b"",
        ] {
            assert!(
                parse_request_line(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = [b"X".repeat(33), b" / HTTP/1.1".to_vec()].concat();
        assert!(parse_request_line(&long).is_err());
    }

    #[test]
    fn prefix_checks() {
        assert_eq!(check_prefix(b""), Prefix::Plausible);
        assert_eq!(check_prefix(b"PROPF"), Prefix::Plausible);
        assert_eq!(check_prefix(b"GET "), Prefix::MethodSeen);
        assert_eq!(check_prefix(b"\x16\x03"), Prefix::NotHttp);
        assert_eq!(check_prefix(b" GET"), Prefix::NotHttp);
        assert_eq!(check_prefix(&[b'A'; 33]), Prefix::NotHttp);
        assert_eq!(check_prefix(&[b'A'; 32]), Prefix::Plausible);
    }

    #[test]
    fn headers_in_order_with_odd_lines() {
        let head = b"GET /x HTTP/1.1\r\nHost: a.example\r\nUser-Agent:\r\nX-Fold: a\r\n  b\r\nNoColon\r\nHost : dup\r\nCookie: a=1\r\nCookie: b=2\r\n\r\nBODY";
        let r = RequestHead::parse(head).unwrap();
        let names: Vec<&[u8]> = r.headers().map(|h| h.name).collect();
        assert_eq!(
            names,
            [
                &b"Host"[..],
                b"User-Agent",
                b"X-Fold",
                b"NoColon",
                b"Host ",
                b"Cookie",
                b"Cookie"
            ]
        );
        assert_eq!(r.header("host"), Some(&b"a.example"[..]));
        assert_eq!(r.header("user-agent"), Some(&b""[..]));
        assert_eq!(r.header("referer"), None);
        assert_eq!(r.cookie(), b"a=1; b=2");
        assert_eq!(
            r.headers_ordered_json(),
            r#"["host","user-agent","x-fold","nocolon","host ","cookie","cookie"]"#
        );
    }

    #[test]
    fn lf_only_and_no_headers() {
        let r = RequestHead::parse(b"GET / HTTP/1.0\n\n").unwrap();
        assert_eq!(r.headers().count(), 0);
        assert_eq!(r.headers_ordered_json(), "[]");
        let r = RequestHead::parse(b"GET / HTTP/1.0\nA: 1\nB: 2\n\n").unwrap();
        assert_eq!(r.headers().count(), 2);
    }

    #[test]
    fn json_escapes_hostile_names() {
        let r = RequestHead::parse(b"GET / HTTP/1.1\r\nX\"Q\\\x01\xff: v\r\n\r\n").unwrap();
        assert_eq!(r.headers_ordered_json(), "[\"x\\\"q\\\\\\u0001\u{fffd}\"]");
    }

    #[test]
    fn headers_ordered_json_is_serde_json_of_the_lowercased_names() {
        // Every byte value in a name, alone and amid ASCII letters.
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for b in (0u8..=255).filter(|b| !matches!(b, b'\r' | b'\n' | b':' | b' ' | b'\t')) {
            head.extend_from_slice(&[b, b':', b'\r', b'\n', b'A', b, b'z', b':', b'\r', b'\n']);
        }
        head.extend_from_slice(b"\r\n");
        let r = RequestHead::parse(&head).unwrap();
        let names: Vec<String> = r
            .headers()
            .map(|h| String::from_utf8_lossy(h.name).to_ascii_lowercase())
            .collect();
        assert_eq!(names.len(), 2 * 251);
        assert_eq!(
            r.headers_ordered_json(),
            serde_json::to_string(&names).unwrap()
        );
    }
}
