//! Scanner identification from how a SYN was built (placeholder rules,
//! filled in from captures of the real tools).

/// A tool whose SYN construction gives it away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scanner {
    Nmap,
    Masscan,
    Zmap,
    Hping3,
    Unicornscan,
}

impl Scanner {
    pub fn as_str(self) -> &'static str {
        match self {
            Scanner::Nmap => "nmap",
            Scanner::Masscan => "masscan",
            Scanner::Zmap => "zmap",
            Scanner::Hping3 => "hping3",
            Scanner::Unicornscan => "unicornscan",
        }
    }
}
