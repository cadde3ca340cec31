//! Who is observed: decky addresses to names, or observe-all mode
//! (docs/spec.md section 3), and which tunnels are opened.

use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("--decky {arg:?}: {reason}")]
pub struct DeckyArgError {
    pub arg: String,
    pub reason: String,
}

/// Which tunnels are opened (`--decap`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decap {
    /// Tunnels are datagrams like any other.
    Never,
    /// A tunnel to or from a decky is a datagram to that decky (its kernel
    /// never decapsulates it, so the inner packet is not what it received);
    /// any other tunnel (ERSPAN, VXLAN, GRE from a switch or tap) is opened.
    /// In observe-all mode every tunnel is opened.
    #[default]
    Auto,
    /// Every tunnel is opened.
    Always,
}

impl std::str::FromStr for Decap {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "never" => Ok(Decap::Never),
            "auto" => Ok(Decap::Auto),
            "always" => Ok(Decap::Always),
            _ => Err(format!("{s:?}: expected never, auto or always")),
        }
    }
}

/// Decky IPs to names. Empty and `observe_all` when no source was given.
#[derive(Debug, Clone, Default)]
pub struct DeckyMap {
    /// Probed for every packet: a fast hash (never iterated, so its seed
    /// cannot reach the output).
    by_ip: hashbrown::HashMap<IpAddr, Arc<str>, ahash::RandomState>,
    observe_all: bool,
    /// `config.interface` of the state file (the fleet's parent NIC).
    pub interface: Option<String>,
    /// Which tunnels the decoder opens.
    pub decap: Decap,
}

impl DeckyMap {
    /// Observe every server seen (no state file, no `--decky`).
    pub fn observe_all() -> Self {
        DeckyMap {
            observe_all: true,
            ..DeckyMap::default()
        }
    }

    pub fn is_observe_all(&self) -> bool {
        self.observe_all
    }

    pub fn len(&self) -> usize {
        self.by_ip.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }

    /// Whether the decoder opens the tunnel packet `outer` (see [`Decap`]).
    pub fn opens_tunnel(&self, outer: &crate::decode::IpView<'_>) -> bool {
        match self.decap {
            Decap::Never => false,
            Decap::Always => true,
            Decap::Auto => {
                self.observe_all
                    || !(self.by_ip.contains_key(&outer.src) || self.by_ip.contains_key(&outer.dst))
            }
        }
    }

    /// The decky name for `ip`, if it is one.
    pub fn get(&self, ip: &IpAddr) -> Option<&Arc<str>> {
        self.by_ip.get(ip)
    }

    pub fn is_decky(&self, ip: &IpAddr) -> bool {
        self.observe_all || self.by_ip.contains_key(ip)
    }

    /// The name an event about `ip` carries: its decky name, or in
    /// observe-all mode the address text.
    pub fn name_of(&self, ip: &IpAddr) -> Option<Arc<str>> {
        match self.by_ip.get(ip) {
            Some(n) => Some(n.clone()),
            None if self.observe_all => Some(Arc::from(ip.to_string())),
            None => None,
        }
    }

    pub fn insert(&mut self, name: &str, ip: IpAddr) {
        self.observe_all = false;
        self.by_ip.insert(ip, Arc::from(name));
    }

    /// Adds a `NAME=IP` argument.
    pub fn add_arg(&mut self, arg: &str) -> Result<(), DeckyArgError> {
        let err = |reason: &str| DeckyArgError {
            arg: arg.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, ip) = arg.split_once('=').ok_or_else(|| err("expected NAME=IP"))?;
        validate_name(name).map_err(|r| err(&r))?;
        let ip: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| err("not an IPv4 or IPv6 address"))?;
        self.insert(name, ip);
        Ok(())
    }
}

/// A decky name becomes a syslog HOSTNAME and a bus subject token.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > 255 {
        return Err("name longer than 255 bytes".into());
    }
    // HOSTNAME is printable US-ASCII (RFC 5424 6.2.4): a name outside it
    // would be rewritten in the line and differ from the JSON `decky`. The
    // SD delimiters are refused too, so no name can mimic an SD element.
    if let Some(c) = name.chars().find(|c| {
        !c.is_ascii_graphic() || matches!(c, '.' | '*' | '>' | '[' | ']' | '"' | '\\' | '=')
    }) {
        return Err(format!(
            "name contains {c:?}; only printable ASCII is allowed, without spaces, \
             '.', '*', '>', '[', ']', '\"', '\\' or '='"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decky_argument() {
        let mut m = DeckyMap::observe_all();
        m.add_arg("web=10.0.0.5").unwrap();
        assert!(!m.is_observe_all());
        assert!(m.add_arg("bad name=10.0.0.6").is_err());
        assert!(m.add_arg("x=notanip").is_err());
    }
}
