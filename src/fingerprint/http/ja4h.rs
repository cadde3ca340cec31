//! JA4H (FoxIO, JA4+; FoxIO License 1.1): an HTTP client fingerprint from
//! one request, in four sections.
//!
//! `{method}{version}{cookie}{referer}{count}{lang}_{headers}_{cookie names}_{cookie pairs}`
//!
//! - method: the first two characters of the method, lower-cased, for any
//!   method (`ge`, `po`, `pr` for PROPFIND, `fo` for FOO); a one-letter
//!   method is padded with `0`.
//! - version: the two digits of `HTTP/d.d` (`10`, `11`).
//! - cookie / referer: `c` / `r` when a Cookie / Referer header is present
//!   (names compared case-insensitively), else `n`.
//! - count: headers other than Cookie and Referer, two digits, at most 99.
//! - lang: the first Accept-Language entry without `-`, lower-cased, cut or
//!   padded with `0` to four characters; `0000` without the header.
//! - headers: SHA-256 (first 12 hex digits) of the header names other than
//!   Cookie and Referer, as sent and in order, joined by `,`.
//! - cookie names / pairs: SHA-256 of the cookie names, and of the
//!   `name=value` pairs, both ordered by cookie name and joined by `,`.
//!
//! An empty list hashes to `000000000000` (docs/spec.md section 6).

use sha2::{Digest, Sha256};

use super::head::RequestHead;
use crate::fingerprint::tls::push_hex;

/// A JA4H value and the string it was hashed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4h {
    /// `ge11cr13enus_88d2d584d47f_0f2659b474bf_161698816dab`
    pub hash: String,
    /// The same with the lists unhashed (FoxIO's `ja4h_r`).
    pub raw: Vec<u8>,
}

/// First 12 hex digits of SHA-256, or twelve zeros for empty input.
#[cfg(test)]
fn hash12(s: &[u8]) -> String {
    let mut out = Vec::new();
    push_joined_hash12(&[s], &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends the first 12 hex digits of SHA-256 of `items` joined by `,`, or
/// twelve zeros when that text is empty; hashed piece by piece, without
/// building the text.
fn push_joined_hash12(items: &[&[u8]], out: &mut Vec<u8>) {
    let mut sha = Sha256::new();
    let mut len = 0;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            sha.update(b",");
            len += 1;
        }
        sha.update(item);
        len += item.len();
    }
    if len == 0 {
        out.extend_from_slice(b"000000000000");
    } else {
        push_hex(&sha.finalize()[..6], out);
    }
}

fn push_joined(items: &[&[u8]], out: &mut Vec<u8>) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
}

/// The name part of a cookie pair (all of it when there is no `=`).
fn cookie_name(pair: &[u8]) -> &[u8] {
    pair.split(|&b| b == b'=').next().unwrap_or_default()
}

/// The four-character language code from an Accept-Language value.
fn language(value: Option<&[u8]>) -> [u8; 4] {
    let mut out = [b'0'; 4];
    let Some(v) = value else { return out };
    let first = v
        .trim_ascii_start()
        .split(|&b| b == b',')
        .next()
        .unwrap_or_default();
    for (slot, b) in out.iter_mut().zip(first.iter().filter(|&&b| b != b'-')) {
        *slot = b.to_ascii_lowercase();
    }
    out
}

/// What JA4H is made of, read from a request head once.
struct Parts<'a> {
    /// `ge11cr13enus`.
    prefix: [u8; 12],
    /// Header names other than Cookie and Referer, as sent, in order.
    names: Vec<&'a [u8]>,
    /// Cookie pairs ordered by name.
    pairs: Vec<&'a [u8]>,
}

/// How a request's cookies are split into pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cookies {
    /// HTTP/1.x: each Cookie header holds `;`-separated pairs.
    Semicolons,
    /// HTTP/2: each `cookie` field is one pair (clients send one field per
    /// cookie, RFC 9113 8.2.3), as FoxIO's tools read `http2.headers.cookie`.
    OnePerField,
}

impl<'a> Parts<'a> {
    fn new(req: &RequestHead<'a>) -> Self {
        Self::from_fields(
            req.method,
            req.version,
            req.headers().map(|h| (h.name, h.value)),
            Cookies::Semicolons,
        )
    }

    /// `fields` in order; names starting with `:` (HTTP/2 pseudo-header
    /// fields) are not headers, as in FoxIO's Python tool and Wireshark
    /// plugin.
    fn from_fields(
        method: &'a [u8],
        version: (u8, u8),
        fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
        cookies: Cookies,
    ) -> Self {
        let mut has_cookie = false;
        let mut has_referer = false;
        let mut names: Vec<&[u8]> = Vec::with_capacity(24);
        let mut pairs: Vec<&[u8]> = Vec::new();
        let mut lang = None;
        for (name, value) in fields {
            if name.eq_ignore_ascii_case(b"cookie") {
                has_cookie = true;
                let value = value.trim_ascii();
                match cookies {
                    Cookies::Semicolons => pairs.extend(
                        value
                            .split(|&b| b == b';')
                            .map(<[u8]>::trim_ascii)
                            .filter(|p| !p.is_empty()),
                    ),
                    Cookies::OnePerField if !value.is_empty() => pairs.push(value),
                    Cookies::OnePerField => {}
                }
            } else if name.eq_ignore_ascii_case(b"referer") {
                has_referer = true;
            } else if !(name.is_empty() || cookies == Cookies::OnePerField && name[0] == b':') {
                if lang.is_none() && name.eq_ignore_ascii_case(b"accept-language") {
                    lang = Some(value);
                }
                names.push(name);
            }
        }
        // Pairs are ordered by cookie name (stable for repeated names), as
        // FoxIO's tools do: `b=1` sorts before `b-c=2` although '-' < '='.
        pairs.sort_by_key(|p| cookie_name(p));

        let m = method;
        let (major, minor) = version;
        let count = names.len().min(99) as u8;
        let lang = language(lang);
        let prefix = [
            m.first().map_or(b'0', u8::to_ascii_lowercase),
            m.get(1).map_or(b'0', u8::to_ascii_lowercase),
            b'0' + major.min(9),
            b'0' + minor.min(9),
            if has_cookie { b'c' } else { b'n' },
            if has_referer { b'r' } else { b'n' },
            b'0' + count / 10,
            b'0' + count % 10,
            lang[0],
            lang[1],
            lang[2],
            lang[3],
        ];
        Parts {
            prefix,
            names,
            pairs,
        }
    }

    /// The three lists: header names, cookie names, cookie pairs.
    fn lists(&self, mut each: impl FnMut(&[&[u8]])) {
        each(&self.names);
        let cookie_names: Vec<&[u8]> = self.pairs.iter().map(|p| cookie_name(p)).collect();
        each(&cookie_names);
        each(&self.pairs);
    }

    /// The hashed form is text: a language code that is not UTF-8 has its
    /// bad bytes replaced (U+FFFD).
    fn write_hash(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(String::from_utf8_lossy(&self.prefix).as_bytes());
        self.lists(|list| {
            out.push(b'_');
            push_joined_hash12(list, out);
        });
    }

    fn write_raw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        self.lists(|list| {
            out.push(b'_');
            push_joined(list, out);
        });
    }
}

impl Ja4h {
    pub fn compute(req: &RequestHead<'_>) -> Ja4h {
        Self::of(&Parts::new(req))
    }

    /// The hashed and raw forms of `parts`.
    fn of(parts: &Parts<'_>) -> Ja4h {
        let mut hash = Vec::with_capacity(51);
        parts.write_hash(&mut hash);
        let mut raw = Vec::new();
        parts.write_raw(&mut raw);
        Ja4h {
            hash: String::from_utf8_lossy(&hash).into_owned(),
            raw,
        }
    }

    /// Appends the JA4H value (the hashed form) to `out`.
    pub fn write_hash(req: &RequestHead<'_>, out: &mut Vec<u8>) {
        Parts::new(req).write_hash(out);
    }

    /// JA4H of an HTTP/2 request from its decoded header fields (version
    /// `20`; pseudo-header fields other than `:method` not counted).
    pub fn compute_h2<'a>(fields: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Ja4h {
        Self::of(&Self::h2_parts(fields))
    }

    /// Appends the JA4H value of an HTTP/2 request to `out`.
    pub fn write_hash_h2<'a>(
        fields: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
        out: &mut Vec<u8>,
    ) {
        Self::h2_parts(fields).write_hash(out);
    }

    fn h2_parts<'a>(fields: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Parts<'a> {
        let method = fields
            .clone()
            .find(|(n, _)| *n == b":method")
            .map_or(&b""[..], |(_, v)| v);
        Parts::from_fields(method, (2, 0), fields, Cookies::OnePerField)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ja4h(head: &[u8]) -> Ja4h {
        Ja4h::compute(&RequestHead::parse(head).unwrap())
    }

    /// The request of FoxIO's `test_http_stats_into_out` and its published
    /// value `ge11cr13enus_88d2d584d47f_0f2659b474bf_161698816dab`.
    #[test]
    fn reference_vector() {
        let head = b"GET / HTTP/1.1\r\n\
Host: www.cnn.com\r\n\
Cookie: FastAB=0=6859,1=8174,2=4183,3=3319,4=3917,5=2557,6=4259,7=6070,8=0804,9=6453,10=1942,11=4435,12=4143,13=9445,14=6957,15=8682,16=1885,17=1825,18=3760,19=0929; sato=1; countryCode=US; stateCode=VA; geoData=purcellville|VA|20132|US|NA|-400|broadband|39.160|-77.700|511; usprivacy=1---; umto=1; _dd_s=logs=1&id=b5c2d770-eaba-4847-8202-390c4552ff9a&created=1686159462724&expire=1686160422726\r\n\
Sec-Ch-Ua: \r\n\
Sec-Ch-Ua-Mobile: ?0\r\n\
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.110 Safari/537.36\r\n\
Sec-Ch-Ua-Platform: \"\"\r\n\
Accept: */*\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: cors\r\n\
Sec-Fetch-Dest: empty\r\n\
Sec-Fetch-Mode: cors\r\n\
Sec-Fetch-Dest: empty\r\n\
Referer: https://www.cnn.com/\r\n\
Accept-Encoding: gzip, deflate\r\n\
Accept-Language: en-US,en;q=0.9\r\n\r\n";
        let j = ja4h(head);
        assert_eq!(
            j.hash,
            "ge11cr13enus_88d2d584d47f_0f2659b474bf_161698816dab"
        );
        assert!(j
            .raw
            .starts_with(b"ge11cr13enus_Host,Sec-Ch-Ua,Sec-Ch-Ua-Mobile,User-Agent,"));
        assert!(std::str::from_utf8(&j.raw).unwrap().contains(
            "_FastAB,_dd_s,countryCode,geoData,sato,stateCode,umto,usprivacy_FastAB=0=6859,"
        ));
    }

    #[test]
    fn non_standard_methods_and_versions() {
        assert!(ja4h(b"PROPFIND / HTTP/1.1\r\n\r\n")
            .hash
            .starts_with("pr11nn000000_000000000000_"));
        assert!(ja4h(b"FOO / HTTP/1.0\r\n\r\n").hash.starts_with("fo10nn00"));
        assert!(ja4h(b"X / HTTP/1.1\r\n\r\n").hash.starts_with("x011"));
        assert!(ja4h(b"get / HTTP/1.1\r\n\r\n").hash.starts_with("ge11"));
    }

    #[test]
    fn empty_lists_are_zeros() {
        assert_eq!(
            ja4h(b"GET /Hello Arkime HTTP/1.0\r\n\r\n").hash,
            "ge10nn000000_000000000000_000000000000_000000000000"
        );
        // A Cookie header without cookies still sets the flag.
        assert_eq!(
            ja4h(b"GET / HTTP/1.1\r\nCookie: \r\n\r\n").hash,
            "ge11cn000000_000000000000_000000000000_000000000000"
        );
    }

    #[test]
    fn header_names_as_sent_cookie_referer_excluded_any_case() {
        let j =
            ja4h(b"GET / HTTP/1.1\r\nhost: a\r\nCOOKIE: b=2; a=1\r\nreferer: x\r\nX-Y: 1\r\n\r\n");
        assert_eq!(j.raw, b"ge11cr020000_host,X-Y_a,b_a=1,b=2");
    }

    #[test]
    fn cookie_pairs_are_ordered_by_name() {
        // By name, "a" comes before "a-b"; by whole pair, "a-b=1" would come
        // first ('-' < '='). FoxIO's snapshot of single-packets.pcap has a
        // cookie pair of this kind and orders it by name.
        let j = ja4h(b"GET / HTTP/1.1\r\nCookie: a-b=1;a=2 ;; c; a=1\r\n\r\n");
        assert_eq!(j.raw, b"ge11cn000000__a,a,a-b,c_a=2,a=1,a-b=1,c");
    }

    #[test]
    fn language_that_is_not_utf8_is_replaced_in_the_hash_only() {
        let j = ja4h(b"GET / HTTP/1.1\r\nAccept-Language: \xff\xfeab\r\n\r\n");
        assert!(
            j.hash.starts_with("ge11nn01\u{fffd}\u{fffd}ab_"),
            "{}",
            j.hash
        );
        assert!(j.raw.starts_with(b"ge11nn01\xff\xfeab_"));
        let mut out = Vec::new();
        Ja4h::write_hash(
            &RequestHead::parse(b"GET / HTTP/1.1\r\nAccept-Language: \xff\xfeab\r\n\r\n").unwrap(),
            &mut out,
        );
        assert_eq!(out, j.hash.as_bytes());
    }

    #[test]
    fn language_rules() {
        assert_eq!(&language(Some(b"da, en-GB;q=0.8, en;q=0.7")), b"da00");
        assert_eq!(&language(Some(b"en-US,en;q=0.9")), b"enus");
        assert_eq!(&language(Some(b"  zh-Hant-TW")), b"zhha");
        assert_eq!(&language(Some(b"ru-RU,ru;q=0.9")), b"ruru");
        assert_eq!(&language(Some(b"")), b"0000");
        assert_eq!(&language(None), b"0000");
        assert_eq!(&language(Some(b"en;q=0.5")), b"en;q");
    }

    #[test]
    fn at_most_99_headers_counted() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..150 {
            head.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert!(ja4h(&head).hash.starts_with("ge11nn990000_"));
    }

    #[test]
    fn hash12_of_known_strings() {
        // `printf 'Host' | sha256sum | cut -c1-12`, and likewise.
        assert_eq!(hash12(b"Host"), "4a823118b9ba");
        assert_eq!(hash12(b"User-Agent"), "b8bcd45ac095");
        assert_eq!(hash12(b""), "000000000000");
    }
}
