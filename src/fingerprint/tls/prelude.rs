//! Finding where TLS starts. Most connections start with the ClientHello;
//! some first speak a plaintext protocol (SMTP/IMAP/POP3/FTP STARTTLS, LDAP
//! StartTLS, PostgreSQL SSLRequest, MySQL SSL request, SOCKS4/5, HTTP
//! CONNECT) and begin TLS at the start of a later segment. A hello is only
//! recognised when its record header, handshake header and hello version
//! are all plausible and consistent, so random bytes do not match.

use super::record::MAX_RECORD_LEN;

/// How far into a client stream a ClientHello is still looked for.
pub const PRELUDE_LIMIT: u64 = 4096;

/// The largest hello this module calls plausible (a ClientHello with a
/// post-quantum key share is ~2 KB; padding extensions add a little).
const MAX_HELLO_LEN: usize = 64 * 1024;
/// ServerHello minimum: version, random, session id length, cipher, compression.
const MIN_HELLO_LEN: usize = 2 + 32 + 1 + 2 + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plausible {
    Yes,
    No,
    /// Consistent so far, but too few bytes to tell.
    NeedMore,
}

/// Whether `data` starts with a TLS record opening a handshake message of
/// `msg_type` (1 ClientHello, 2 ServerHello).
pub fn hello_at(data: &[u8], msg_type: u8) -> Plausible {
    let byte = |i: usize| data.get(i).copied();
    macro_rules! need {
        ($i:expr) => {
            match byte($i) {
                Some(b) => b,
                None => return Plausible::NeedMore,
            }
        };
    }
    if need!(0) != 22 || need!(1) != 3 || need!(2) > 4 {
        return Plausible::No;
    }
    let record_len = usize::from(u16::from_be_bytes([need!(3), need!(4)]));
    if need!(5) != msg_type {
        return Plausible::No;
    }
    let hello_len = u32::from_be_bytes([0, need!(6), need!(7), need!(8)]) as usize;
    let plausible_lengths = (MIN_HELLO_LEN..=MAX_HELLO_LEN).contains(&hello_len)
        && record_len <= MAX_RECORD_LEN
        && record_len >= (hello_len + 4).min(4 + MIN_HELLO_LEN);
    if !plausible_lengths {
        return Plausible::No;
    }
    // The hello's own version: SSL 3.0 to TLS 1.2 (1.3 keeps 0x0303 here).
    if need!(9) != 3 || need!(10) > 4 {
        return Plausible::No;
    }
    // After the 32-byte random: a session id of at most 32 bytes.
    if need!(11 + 32) > 32 {
        return Plausible::No;
    }
    Plausible::Yes
}

/// Whether `data` starts with what would be a hello of `msg_type` but
/// for declaring more than [`MAX_HELLO_LEN`] bytes: refused, and counted.
pub fn oversized_hello_at(data: &[u8], msg_type: u8) -> bool {
    data.len() >= 11
        && data[0] == 22
        && data[1] == 3
        && data[2] <= 4
        && data[5] == msg_type
        && u32::from_be_bytes([0, data[6], data[7], data[8]]) as usize > MAX_HELLO_LEN
        && data[9] == 3
        && data[10] <= 4
}

/// The offset of the first plausible hello of `msg_type` in `data`.
pub fn find_hello(data: &[u8], msg_type: u8) -> Option<usize> {
    // Jump from one handshake content type byte (22) to the next: every
    // non-TLS stream is searched up to PRELUDE_LIMIT bytes.
    memchr::memchr_iter(22, data).find(|&i| hello_at(&data[i..], msg_type) == Plausible::Yes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello_record(msg_type: u8, body_len: usize) -> Vec<u8> {
        let mut r = vec![22, 3, 1];
        r.extend_from_slice(&((body_len + 4) as u16).to_be_bytes());
        r.push(msg_type);
        r.extend_from_slice(&(body_len as u32).to_be_bytes()[1..]);
        r.extend_from_slice(&[3, 3]);
        r.extend_from_slice(&[0x5a; 32]);
        r.push(32);
        r.resize(5 + 4 + body_len, 0x41);
        r
    }

    #[test]
    fn recognises_hellos_at_the_start() {
        let ch = hello_record(1, 508);
        assert_eq!(hello_at(&ch, 1), Plausible::Yes);
        assert_eq!(hello_at(&ch, 2), Plausible::No);
        assert_eq!(hello_at(&ch[..20], 1), Plausible::NeedMore);
        assert_eq!(hello_at(&ch[..44], 1), Plausible::Yes);
        let sh = hello_record(2, 80);
        assert_eq!(hello_at(&sh, 2), Plausible::Yes);
    }

    #[test]
    fn finds_hello_after_plaintext_preludes() {
        let ch = hello_record(1, 300);
        let preludes: [&[u8]; 6] = [
            b"STARTTLS\r\n",
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            &[0x05, 0x01, 0x00],                       // SOCKS5 greeting
            &[0x04, 0x01, 0x01, 0xbb, 10, 0, 0, 1, 0], // SOCKS4 CONNECT
            &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],     // PostgreSQL SSLRequest
            &[0x20, 0, 0, 1, 0x85, 0xae, 0xff, 0x19, 0, 0, 0, 1, 0x2d], // MySQL SSL request start
        ];
        for p in preludes {
            let mut stream = p.to_vec();
            stream.extend_from_slice(&ch);
            assert_eq!(find_hello(&stream, 1), Some(p.len()), "{p:?}");
        }
    }

    #[test]
    fn lying_or_inconsistent_lengths_are_rejected() {
        let mut ch = hello_record(1, 300);
        ch[6] = 0xff; // a 16 MB hello
        assert_eq!(hello_at(&ch, 1), Plausible::No);
        let mut ch = hello_record(1, 300);
        ch[3] = 0xff; // record longer than any peer may send
        assert_eq!(hello_at(&ch, 1), Plausible::No);
        let mut ch = hello_record(1, 300);
        ch[3] = 0;
        ch[4] = 10; // record too short to hold a hello header and version
        assert_eq!(hello_at(&ch, 1), Plausible::No);
        let mut ch = hello_record(1, 300);
        ch[9] = 0x7f; // hello version
        assert_eq!(hello_at(&ch, 1), Plausible::No);
        let mut ch = hello_record(1, 300);
        ch[43] = 200; // session id length
        assert_eq!(hello_at(&ch, 1), Plausible::No);
    }

    #[test]
    fn no_false_positives_on_random_data() {
        // xorshift64*: deterministic pseudo-random bytes, 4 MB.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut data = Vec::with_capacity(4 << 20);
        while data.len() < 4 << 20 {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            data.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        assert_eq!(find_hello(&data, 1), None);
        assert_eq!(find_hello(&data, 2), None);
        // Text protocols never match either.
        let text =
            b"EHLO mail.example.com\r\nAUTH LOGIN\r\n\x16\x03\x01 is not a hello\r\n".repeat(100);
        assert_eq!(find_hello(&text, 1), None);
    }
}
