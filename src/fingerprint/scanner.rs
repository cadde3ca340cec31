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

/// The SYN fields the rules look at.
struct Syn<'a> {
    v4: Option<V4>,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    urg: u16,
    options: &'a [u8],
}

struct V4 {
    ttl: u8,
    id: u16,
    df: bool,
    dst: u32,
}

const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;
const TCP_URG: u8 = 0x20;
const TCP_ECE: u8 = 0x40;
const TCP_CWR: u8 = 0x80;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Syn<'a> {
    fn parse(ip: &[u8], tcp: &'a [u8]) -> Option<Syn<'a>> {
        let v4 = match ip.first()? >> 4 {
            4 => Some(V4 {
                ttl: *ip.get(8)?,
                id: be16(ip, 4)?,
                df: be16(ip, 6)? & 0x4000 != 0,
                dst: be32(ip, 16)?,
            }),
            6 => None,
            _ => return None,
        };
        let doff = usize::from(*tcp.get(12)? >> 4) * 4;
        Some(Syn {
            v4,
            dst_port: be16(tcp, 2)?,
            seq: be32(tcp, 4)?,
            ack: be32(tcp, 8)?,
            flags: *tcp.get(13)?,
            window: be16(tcp, 14)?,
            urg: be16(tcp, 18)?,
            options: tcp.get(20..doff.max(20))?,
        })
    }

    fn no_df(&self) -> bool {
        self.v4.as_ref().is_none_or(|v| !v.df)
    }

    /// TSval and TSecr of a timestamp option (a simple option walk).
    fn timestamps(&self) -> Option<(u32, u32)> {
        let o = self.options;
        let mut i = 0;
        while let Some(&kind) = o.get(i) {
            match kind {
                0 => return None,
                1 => i += 1,
                _ => {
                    let len = usize::from(*o.get(i + 1)?);
                    if len < 2 {
                        return None;
                    }
                    if kind == 8 && len == 10 {
                        return Some((be32(o, i + 2)?, be32(o, i + 6)?));
                    }
                    i += len;
                }
            }
        }
        None
    }
}

/// Identifies the tool that built a SYN (SYN set, ACK clear) from its IP
/// header bytes and TCP header bytes (options included).
pub fn identify(ip: &[u8], tcp: &[u8]) -> Option<Scanner> {
    let s = Syn::parse(ip, tcp)?;
    if s.flags & TCP_SYN == 0 || s.flags & TCP_ACK != 0 {
        return None;
    }
    if let Some(v4) = &s.v4 {
        if v4.id == 54321 && !v4.df && v4.ttl > 128 && s.window == 65535 {
            return Some(Scanner::Zmap);
        }
        let masscan_id = (v4.dst ^ u32::from(s.dst_port) ^ s.seq) as u16;
        if v4.id == masscan_id && !v4.df && s.window == 1024 && s.ack == 0 {
            return Some(Scanner::Masscan);
        }
    }
    if s.no_df()
        && matches!(s.window, 1024 | 2048 | 3072 | 4096)
        && s.options == [2, 4, 0x05, 0xb4]
        && s.ack == 0
    {
        return Some(Scanner::Nmap);
    }
    if let Some((0xffff_ffff, 0)) = s.timestamps() {
        if matches!(s.window, 1 | 4 | 16 | 63 | 256 | 512 | 31337) {
            return Some(Scanner::Nmap);
        }
    }
    if s.flags & (TCP_ECE | TCP_CWR) == TCP_ECE | TCP_CWR
        && s.flags & TCP_URG == 0
        && s.urg == 0xf7f5
        && s.window == 3
    {
        return Some(Scanner::Nmap);
    }
    if s.no_df() && s.options.is_empty() {
        if s.window == 512 && s.ack != 0 {
            return Some(Scanner::Hping3);
        }
        if s.window == 1480 && s.ack == 0 {
            return Some(Scanner::Nping);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
            identify(&ip, &tcp(61, 0x5c7c9034, 0, 2, 1024, &[])),
            Some(Scanner::Masscan)
        );
        let ip = ip4(255, 36876, false, [10, 99, 0, 2]);
        assert_eq!(identify(&ip, &tcp(61, 0x5c7c9034, 0, 2, 1024, &[])), None);
    }

    #[test]
    fn linux_client_is_not_a_scanner() {
        let linux = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let ip = ip4(64, 54321, true, [10, 99, 0, 2]);
        assert_eq!(identify(&ip, &tcp(80, 7, 0, 2, 64240, &linux)), None);
        // A SYN+ACK is never labelled.
        let ip = ip4(255, 54321, false, [10, 99, 0, 2]);
        assert_eq!(identify(&ip, &tcp(80, 7, 0, 0x12, 65535, &[])), None);
        assert_eq!(
            identify(&ip, &tcp(80, 7, 0, 0x02, 65535, &[])),
            Some(Scanner::Zmap)
        );
    }

    #[test]
    fn garbage_is_harmless() {
        for n in 0..48usize {
            let junk: Vec<u8> = (0..n).map(|i| (i * 29 + 3) as u8).collect();
            let _ = identify(&junk, &junk);
            let _ = identify(&ip4(1, 2, false, [1, 2, 3, 4]), &junk);
        }
    }
}
