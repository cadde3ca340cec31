//! Error and warning text for people: one line, bounded, with any bytes
//! that came from a file or the wire escaped and cut. A message is read in
//! a terminal or a journal; a capture or a state file must not be able to
//! put a newline, an escape sequence or a megabyte into it.

/// The longest error or warning line, in characters (without the newline).
pub const MAX_MESSAGE: usize = 300;

/// Characters of file- or wire-supplied text quoted inside a message.
pub const MAX_EXCERPT: usize = 40;

/// `bytes` (from a file or the wire) as printable text of at most `max`
/// characters: control characters, backslashes and invalid UTF-8 escaped,
/// and `...(N bytes)` in place of what was cut.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let text = String::from_utf8_lossy(bytes);
    let mut used = 0usize;
    for (at, c) in text.char_indices() {
        let piece: String = if c.is_control() || c == '\\' || c == '\u{fffd}' {
            c.escape_default().collect()
        } else {
            c.to_string()
        };
        let n = piece.chars().count();
        if used + n > max {
            let rest = text.len() - at;
            out.push_str(&format!("...({rest} more bytes)"));
            return out;
        }
        used += n;
        out.push_str(&piece);
    }
    out
}

/// `excerpt` for text that is already a string.
pub fn excerpt_str(text: &str, max: usize) -> String {
    excerpt(text.as_bytes(), max)
}

/// The last line of defence for a whole message: control characters
/// (newlines included) escaped, then cut to [`MAX_MESSAGE`] characters
/// with a visible mark. Messages are built short; this only guarantees it.
pub fn one_line(msg: &str) -> String {
    const MARK: &str = "...(cut)";
    let mut out = String::new();
    let mut used = 0usize;
    // Escaping only lengthens, so MAX_MESSAGE + 1 input characters are
    // enough to know whether the result must be cut.
    for c in msg.chars().take(MAX_MESSAGE + 1) {
        if c.is_control() {
            for e in c.escape_default() {
                out.push(e);
                used += 1;
            }
        } else {
            out.push(c);
            used += 1;
        }
    }
    if used <= MAX_MESSAGE {
        return out;
    }
    let mut cut: String = out.chars().take(MAX_MESSAGE - MARK.len()).collect();
    cut.push_str(MARK);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_escapes_and_cuts() {
        assert_eq!(excerpt(b"ab\ncd", 10), "ab\\ncd");
        assert_eq!(excerpt(b"a\x1b[2J", 10), "a\\u{1b}[2J");
        assert_eq!(excerpt(b"\xff", 10), "\\u{fffd}");
        assert_eq!(excerpt(&[b'x'; 100], 5), "xxxxx...(95 more bytes)");
    }

    #[test]
    fn one_line_is_one_bounded_line() {
        assert_eq!(one_line("short"), "short");
        let long = "é\n".repeat(1000);
        let out = one_line(&long);
        assert!(!out.contains('\n'));
        assert!(
            out.chars().count() <= MAX_MESSAGE,
            "{}",
            out.chars().count()
        );
        assert!(out.ends_with("...(cut)"));
        let exact = "x".repeat(MAX_MESSAGE);
        assert_eq!(one_line(&exact), exact);
    }
}
