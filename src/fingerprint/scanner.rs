//! Which tool built a SYN, when its construction gives it away.
//!
//! Every rule comes from captures of the real tool made here (two network
//! namespaces, see tests/data/scanners/README.md) and is checked by
//! tests/scanners.rs: each SYN of a tool's capture gets the tool's label,
//! and no SYN of a real client stack (curl, nmap -sT, pnscan, doscan: the
//! kernel's connect()) gets any.
//!
//! | tool | what gives it away |
//! |---|---|
//! | zmap 2.1 | IPv4 ID 54321, no DF, initial TTL 255, window 65535 |
//! | masscan 1.3 | IPv4 ID = (dst address ^ dst port ^ ISN) mod 2^16, no DF, window 1024 |
//! | nmap SYN scan | window 1024/2048/3072/4096, one option: MSS 1460, ACK 0, no DF |
//! | nmap OS detection | TSval 0xFFFFFFFF with TSecr 0 and a probe window (1, 4, 16, 63, 256, 512, 31337); the ECN probe: ECE+CWR, window 3, urgent pointer 0xF7F5 without URG |
//! | hping3 | window 512, no options, no DF, non-zero ACK field on a SYN |
//! | nping | window 1480, no options, ACK 0, no DF |
//!
//! unicornscan is not packaged by Debian 12, so it has no rule.

/// A tool whose SYN construction gives it away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scanner {
    Nmap,
    Masscan,
    Zmap,
    Hping3,
    Nping,
}

impl Scanner {
    pub fn as_str(self) -> &'static str {
        match self {
            Scanner::Nmap => "nmap",
            Scanner::Masscan => "masscan",
            Scanner::Zmap => "zmap",
            Scanner::Hping3 => "hping3",
            Scanner::Nping => "nping",
        }
    }
}

use std::net::IpAddr;

use crate::decode::{IpView, TcpFlags, TcpOption, TcpView};

/// The IPv4 fields the rules look at.
struct V4 {
    ttl: u8,
    id: u16,
    df: bool,
    dst: u32,
}

impl V4 {
    fn of(ip: &IpView<'_>) -> Option<V4> {
        match ip.dst {
            IpAddr::V4(dst) => Some(V4 {
                ttl: ip.ttl,
                id: ip.ident,
                df: ip.df,
                dst: u32::from(dst),
            }),
            IpAddr::V6(_) => None,
        }
    }
}

/// TSval and TSecr of the first timestamp option before EOL.
fn timestamps(tcp: &TcpView<'_>) -> Option<(u32, u32)> {
    tcp.options().find_map(|o| match o {
        TcpOption::Timestamps { value, echo } => Some((value, echo)),
        _ => None,
    })
}

/// Identifies the tool that built a SYN (SYN set, ACK clear).
pub fn identify(ip: &IpView<'_>, tcp: &TcpView<'_>) -> Option<Scanner> {
    if !tcp.is_syn() {
        return None;
    }
    let v4 = V4::of(ip);
    let window = tcp.window();
    let ack = tcp.ack();
    let options = tcp.option_bytes();
    if let Some(v4) = &v4 {
        if v4.id == 54321 && !v4.df && v4.ttl > 128 && window == 65535 {
            return Some(Scanner::Zmap);
        }
        let masscan_id = (v4.dst ^ u32::from(tcp.dst_port()) ^ tcp.seq()) as u16;
        if v4.id == masscan_id && !v4.df && window == 1024 && ack == 0 {
            return Some(Scanner::Masscan);
        }
    }
    let no_df = v4.as_ref().is_none_or(|v| !v.df);
    if no_df
        && matches!(window, 1024 | 2048 | 3072 | 4096)
        && options == [2, 4, 0x05, 0xb4]
        && ack == 0
    {
        return Some(Scanner::Nmap);
    }
    if let Some((0xffff_ffff, 0)) = timestamps(tcp) {
        if matches!(window, 1 | 4 | 16 | 63 | 256 | 512 | 31337) {
            return Some(Scanner::Nmap);
        }
    }
    let flags = tcp.flags();
    if flags.has(TcpFlags::ECE)
        && flags.has(TcpFlags::CWR)
        && !flags.has(TcpFlags::URG)
        && tcp.urgent_ptr() == 0xf7f5
        && window == 3
    {
        return Some(Scanner::Nmap);
    }
    if no_df && options.is_empty() {
        if window == 512 && ack != 0 {
            return Some(Scanner::Hping3);
        }
        if window == 1480 && ack == 0 {
            return Some(Scanner::Nping);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `identify` on raw header bytes (None when they do not decode).
    fn identify_raw(ip: &[u8], tcp: &[u8]) -> Option<Scanner> {
        let ip = IpView::parse(ip).ok()?;
        let tcp = TcpView::new(tcp).ok()?;
        identify(&ip, &tcp)
    }

    fn ip4(ttl: u8, id: u16, df: bool, dst: [u8; 4]) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 40, 0, 0, 0, 0, ttl, 6, 0, 0, 10, 99, 0, 1];
        h[4..6].copy_from_slice(&id.to_be_bytes());
        if df {
            h[6] = 0x40;
        }
        h.extend_from_slice(&dst);
        h
    }

    fn tcp(dport: u16, seq: u32, ack: u32, flags: u8, win: u16, opts: &[u8]) -> Vec<u8> {
        let mut h = vec![0xab, 0xcd];
        h.extend_from_slice(&dport.to_be_bytes());
        h.extend_from_slice(&seq.to_be_bytes());
        h.extend_from_slice(&ack.to_be_bytes());
        h.push((((20 + opts.len()) / 4) as u8) << 4);
        h.push(flags);
        h.extend_from_slice(&win.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.extend_from_slice(opts);
        h
    }

    #[test]
    fn masscan_relation() {
        // From masscan.pcap: 10.99.0.2:61, ISN 0x5c7c9034, IP ID 36875.
        let ip = ip4(255, 36875, false, [10, 99, 0, 2]);
        assert_eq!(
            identify_raw(&ip, &tcp(61, 0x5c7c9034, 0, 2, 1024, &[])),
            Some(Scanner::Masscan)
        );
        let ip = ip4(255, 36876, false, [10, 99, 0, 2]);
        assert_eq!(
            identify_raw(&ip, &tcp(61, 0x5c7c9034, 0, 2, 1024, &[])),
            None
        );
    }

    #[test]
    fn linux_client_is_not_a_scanner() {
        let linux = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let ip = ip4(64, 54321, true, [10, 99, 0, 2]);
        assert_eq!(identify_raw(&ip, &tcp(80, 7, 0, 2, 64240, &linux)), None);
        // A SYN+ACK is never labelled.
        let ip = ip4(255, 54321, false, [10, 99, 0, 2]);
        assert_eq!(identify_raw(&ip, &tcp(80, 7, 0, 0x12, 65535, &[])), None);
        assert_eq!(
            identify_raw(&ip, &tcp(80, 7, 0, 0x02, 65535, &[])),
            Some(Scanner::Zmap)
        );
    }

    #[test]
    fn garbage_is_harmless() {
        for n in 0..48usize {
            let junk: Vec<u8> = (0..n).map(|i| (i * 29 + 3) as u8).collect();
            let _ = identify_raw(&junk, &junk);
            let _ = identify_raw(&ip4(1, 2, false, [1, 2, 3, 4]), &junk);
        }
    }
}
