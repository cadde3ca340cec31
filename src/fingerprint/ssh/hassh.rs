//! HASSH and HASSH-server (Salesforce): MD5 of four KEXINIT name-lists
//! joined by `;`.
//!
//! - HASSH (client): `kex;enc_c2s;mac_c2s;comp_c2s`
//! - HASSH-server: `kex;enc_s2c;mac_s2c;comp_s2c`
//!
//! Each side is fingerprinted by the lists for the direction it sends in.

use md5::{Digest, Md5};

use super::kexinit::KexInit;

/// A HASSH value and the string it hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hassh {
    /// The hashed string (raw KEXINIT bytes, so any byte may appear).
    pub string: Vec<u8>,
    /// 32 lower-case hex digits.
    pub hash: String,
}

impl Hassh {
    /// HASSH of a client's KEXINIT.
    pub fn client(k: &KexInit<'_>) -> Hassh {
        Self::of([k.kex, k.enc_c2s, k.mac_c2s, k.comp_c2s])
    }

    /// HASSH-server of a server's KEXINIT.
    pub fn server(k: &KexInit<'_>) -> Hassh {
        Self::of([k.kex, k.enc_s2c, k.mac_s2c, k.comp_s2c])
    }

    fn of(lists: [&[u8]; 4]) -> Hassh {
        let mut string = Vec::with_capacity(lists.iter().map(|l| l.len() + 1).sum());
        for (i, l) in lists.iter().enumerate() {
            if i > 0 {
                string.push(b';');
            }
            string.extend_from_slice(l);
        }
        let hash = hex_lower(&Md5::digest(&string));
        Hassh { string, hash }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::kexinit::tests::build;
    use super::*;

    #[test]
    fn strings_use_each_sides_lists() {
        let p = build(["k1,k2", "hk", "ec", "es", "mc", "ms", "cc", "cs", "", ""]);
        let k = KexInit::parse(&p).unwrap();
        let (c, s) = (Hassh::client(&k), Hassh::server(&k));
        assert_eq!(c.string, b"k1,k2;ec;mc;cc");
        assert_eq!(s.string, b"k1,k2;es;ms;cs");
        // Digests from `printf '...' | md5sum`.
        assert_eq!(c.hash, "c71c0530ce21588cfe92aed910ed9828");
        assert_eq!(s.hash, "26adf5b493ff1974fbcf727bb52d8808");
    }

    #[test]
    fn empty_lists_hash_the_separators() {
        let p = build(["", "", "", "", "", "", "", "", "", ""]);
        let h = Hassh::client(&KexInit::parse(&p).unwrap());
        assert_eq!(h.string, b";;;");
        assert_eq!(h.hash, "95420f9d932ddd22833f17b96a80bedb");
    }
}
