//! What a User-Agent claims: a browser (product and major version) and the
//! operating system it says it runs on. Only browser claims matter here: a
//! tool naming itself (`curl/7.88.1`) disguises nothing.

/// A browser User-Agent's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserClaim<'a> {
    /// `Chrome/124`, `Firefox/115`, `MSIE 6.0`, ...: the product token up
    /// to the major version.
    pub product: &'a str,
    /// The OS family in `os_guess` terms (`windows`, `linux`,
    /// `macos_ios`), or `None` when the UA names none.
    pub os: Option<&'static str>,
    pub os_name: &'static str,
}

/// Browser product tokens, most specific first (Edge and Opera also say
/// Chrome, Chrome also says Safari).
const PRODUCTS: [&str; 7] = [
    "Edg/", "OPR/", "Chrome/", "Firefox/", "MSIE ", "Trident/", "Safari/",
];

/// OS markers of the platform comment, most specific first (Android
/// also says Linux).
const SYSTEMS: [(&str, &str, &str); 7] = [
    ("Windows", "windows", "Windows"),
    ("iPhone", "macos_ios", "iOS"),
    ("iPad", "macos_ios", "iOS"),
    ("Mac OS X", "macos_ios", "macOS"),
    ("Android", "linux", "Android"),
    ("CrOS", "linux", "ChromeOS"),
    ("Linux", "linux", "Linux"),
];

/// The browser a User-Agent claims, if it claims one: `Mozilla/` then a
/// browser product token. Tools that say `Mozilla/` but no browser
/// (`Mozilla/4.0 (Hydra)`, Nmap's `compatible; Nmap Scripting Engine`)
/// claim none.
pub fn browser_claim(ua: &[u8]) -> Option<BrowserClaim<'_>> {
    let ua = std::str::from_utf8(ua).ok()?;
    if !ua.starts_with("Mozilla/") || ua.contains("Nmap Scripting Engine") {
        return None;
    }
    let product = PRODUCTS.iter().find_map(|p| {
        let at = ua.find(p)?;
        let rest = &ua[at..];
        // Up to the end of the major version.
        let digits_from = p.len();
        let end = rest[digits_from..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len(), |n| digits_from + n);
        Some(&rest[..end])
    })?;
    let (os, os_name) = SYSTEMS
        .iter()
        .find(|(marker, _, _)| ua.contains(marker))
        .map_or((None, ""), |(_, family, name)| (Some(*family), *name));
    Some(BrowserClaim {
        product,
        os,
        os_name,
    })
}

/// Whether a client label names a browser (none of the bundled rows do
/// yet; rows for captured browsers would).
pub fn is_browser_label(label: &str) -> bool {
    ["Chrome", "Chromium", "Firefox", "Safari", "Edge", "Opera"]
        .iter()
        .any(|b| label.contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_and_their_systems() {
        let c = browser_claim(b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36").unwrap();
        assert_eq!((c.product, c.os), ("Chrome/124", Some("windows")));
        let c = browser_claim(
            b"Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0",
        )
        .unwrap();
        assert_eq!((c.product, c.os), ("Firefox/115", Some("linux")));
        let c = browser_claim(
            b"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
        )
        .unwrap();
        assert_eq!((c.product, c.os_name), ("Chrome/124", "Android"));
        let c = browser_claim(b"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)").unwrap();
        assert_eq!((c.product, c.os), ("MSIE 6", Some("windows")));
        let c = browser_claim(b"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.0 Safari/605").unwrap();
        assert_eq!((c.product, c.os), ("Safari/605", Some("macos_ios")));
    }

    #[test]
    fn tools_claim_no_browser() {
        for ua in [
            &b"curl/7.88.1"[..],
            b"python-requests/2.28.1",
            b"Mozilla/4.0 (Hydra)",
            b"Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
            b"sqlmap/1.7.2#stable (https://sqlmap.org)",
            b"",
            b"Mozilla/\xff Chrome/1",
        ] {
            assert_eq!(browser_claim(ua), None, "{ua:?}");
        }
    }
}
