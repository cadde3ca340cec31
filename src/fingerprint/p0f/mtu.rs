//! p0f's MTU guess: the MSS plus the minimal IP and TCP headers, looked up
//! in the database's `[mtu]` table for a link label.

use super::db::Database;
use super::sig::RawSig;

/// The MTU p0f infers from a segment's MSS option; `None` without one.
/// The sum wraps at 16 bits, as p0f's does.
pub fn mtu_from_mss(mss: u16, ip_ver: u8) -> Option<u16> {
    if mss == 0 {
        return None;
    }
    Some(mss.wrapping_add(if ip_ver == 6 { 60 } else { 40 }))
}

/// MTU and link label of a signature (`None` label: `???` in p0f's log).
pub fn link<'a>(db: &'a Database, sig: &RawSig) -> Option<(u16, Option<&'a str>)> {
    let mtu = mtu_from_mss(sig.mss, sig.ip_ver)?;
    Some((mtu, db.link_for_mtu(mtu)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtu_table() {
        let db = Database::bundled();
        assert_eq!(mtu_from_mss(0, 4), None);
        assert_eq!(mtu_from_mss(1460, 4), Some(1500));
        assert_eq!(mtu_from_mss(1440, 6), Some(1500));
        assert_eq!(mtu_from_mss(65535, 4), Some(39));
        assert_eq!(db.link_for_mtu(1500), Some("Ethernet or modem"));
        assert_eq!(db.link_for_mtu(16436), Some("loopback"));
        assert_eq!(db.link_for_mtu(1492), Some("DSL"));
        assert_eq!(db.link_for_mtu(1386), None);
    }
}
