//! JA4T (client SYN) and JA4TS (server SYN-ACK): `window_options_mss_wscale`.
//!
//! JA4T/JA4TS are part of JA4+ by FoxIO, under the FoxIO License 1.1 (see
//! LICENSES/ and NOTICE); this module is built only with the `ja4plus`
//! feature.
//!
//! Options are listed by kind in wire order, every byte of EOL padding as its
//! own `0` (as FoxIO's tools, Wireshark's and Zeek's plugins do: macOS gives
//! `2-1-3-1-1-8-4-0-0`). A part that is absent is `00`.

use crate::decode::{TcpOption, TcpOptions, TcpView};
use crate::util::decimal::push_u64;

/// JA4T of a SYN, or JA4TS of a SYN-ACK.
pub fn ja4t(tcp: &TcpView<'_>) -> String {
    let mut out = Vec::with_capacity(32);
    write_ja4t(tcp, &mut out);
    // Digits, `_` and `-` only.
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends the JA4T of `tcp` to `out` (digits, `_` and `-` only): one
/// pass, no formatting machinery.
pub fn write_ja4t(tcp: &TcpView<'_>, out: &mut Vec<u8>) {
    push_u64(out, u64::from(tcp.window()));
    out.push(b'_');
    let (mut mss, mut wscale) = (None, None);
    let mut walk = tcp.options();
    let mut first = true;
    while let Some(option) = walk.next() {
        if !first {
            out.push(b'-');
        }
        first = false;
        push_u64(out, u64::from(option.kind()));
        match option {
            TcpOption::Mss(v) => mss = Some(v),
            TcpOption::WindowScale(s) => wscale = Some(s),
            // The bytes after EOL are listed as options too: padding gives
            // one `0` each.
            TcpOption::Eol => walk = TcpOptions::new(walk.remaining()),
            _ => {}
        }
    }
    if tcp.option_bytes().is_empty() {
        out.extend_from_slice(b"00");
    }
    for part in [mss, wscale.map(u16::from)] {
        out.push(b'_');
        match part {
            Some(v) => push_u64(out, u64::from(v)),
            None => out.extend_from_slice(b"00"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ja4t(tcp: &[u8]) -> Option<String> {
        Some(super::ja4t(&TcpView::new(tcp).ok()?))
    }

    /// Whatever the window and option bytes, the text is digits, `_` and
    /// `-`: the event pushes it as plain without looking.
    #[test]
    fn text_is_plain_for_any_options() {
        let mut next = crate::util::test_rng::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let len = (next() % 41) as usize & !3;
            let opts: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => (next() % 9) as u8,
                    _ => next() as u8,
                })
                .collect();
            if let Some(text) = ja4t(&tcp(next() as u16, &opts)) {
                assert!(crate::event::is_plain(text.as_bytes()), "{text}");
            }
        }
    }

    fn tcp(win: u16, opts: &[u8]) -> Vec<u8> {
        let doff = (20 + opts.len()) / 4;
        let mut h = vec![0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, (doff as u8) << 4, 0x02];
        h.extend_from_slice(&win.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.extend_from_slice(opts);
        h
    }

    #[test]
    fn spec_examples() {
        // docs/spec.md section 5 and the corpus' Wireshark values.
        let win10 = [2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2];
        assert_eq!(
            ja4t(&tcp(64240, &win10)).unwrap(),
            "64240_2-1-3-1-1-4_1460_8"
        );
        assert_eq!(
            ja4t(&tcp(1024, &[2, 4, 5, 0xb4])).unwrap(),
            "1024_2_1460_00"
        );
        assert_eq!(ja4t(&tcp(8192, &[])).unwrap(), "8192_00_00_00");
        let macos = [
            2, 4, 5, 0x6a, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0,
        ];
        assert_eq!(
            ja4t(&tcp(65535, &macos)).unwrap(),
            "65535_2-1-3-1-1-8-4-0-0_1386_6"
        );
    }

    #[test]
    fn malformed_options_stop_the_list() {
        assert_eq!(ja4t(&tcp(5, &[2, 1, 5, 0xb4])).unwrap(), "5_2_00_00");
        assert_eq!(ja4t(&tcp(5, &[1, 30, 9, 0])).unwrap(), "5_1-30_00_00");
        assert_eq!(ja4t(&tcp(5, &[3, 3, 7, 0])).unwrap(), "5_3-0_00_7");
        assert_eq!(ja4t(&[0; 10]), None);
        let mut t = tcp(5, &[]);
        t[12] = 0xf0;
        assert_eq!(ja4t(&t), None);
    }
}
