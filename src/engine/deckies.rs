//! Who is observed: the decky map from DECNET's state file, `--decky`
//! arguments, or observe-all mode (docs/spec.md section 3).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::util::message::{excerpt_str, MAX_EXCERPT};

/// Characters of a JSON parser's reason kept (it quotes the file's values).
const MAX_REASON: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not readable, not a regular file, or over the size cap.
    #[error("{0}")]
    Read(crate::util::load::LoadError),
    #[error("{path}: line {line}, column {column}: {reason}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    /// `name` and `reason` are already escaped and cut (they quote the file).
    #[error("{path}: decky #{index} (\"{name}\"): {reason}")]
    Decky {
        path: PathBuf,
        index: usize,
        name: String,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("--decky {arg:?}: {reason}")]
pub struct DeckyArgError {
    pub arg: String,
    pub reason: String,
}

#[derive(Deserialize)]
struct StateFile {
    config: StateConfig,
}

#[derive(Deserialize)]
struct StateConfig {
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    deckies: Vec<StateDecky>,
}

#[derive(Deserialize)]
struct StateDecky {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    ipv6: Option<String>,
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

    /// Loads DECNET's `decnet-state.json`. A missing file is an empty map
    /// (no deckies deployed yet). Deckies with invalid names are errors.
    pub fn load(path: &Path) -> Result<DeckyMap, StateError> {
        let text = match crate::util::load::load_file(path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                return Ok(DeckyMap {
                    observe_all: false,
                    ..DeckyMap::default()
                })
            }
            Err(e) => return Err(StateError::Read(e)),
        };
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &[u8]) -> Result<DeckyMap, StateError> {
        let state: StateFile = serde_json::from_slice(text).map_err(|e| StateError::Json {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            // serde quotes the offending value: escaped and cut.
            reason: excerpt_str(
                e.to_string().split(" at line ").next().unwrap_or_default(),
                MAX_REASON,
            ),
        })?;
        let mut map = DeckyMap {
            interface: state.config.interface,
            ..DeckyMap::default()
        };
        for (index, d) in state.config.deckies.iter().enumerate() {
            let name = d.name.clone().unwrap_or_default();
            let fail = |reason: String| StateError::Decky {
                path: path.to_owned(),
                index,
                name: excerpt_str(&name, MAX_EXCERPT),
                reason,
            };
            validate_name(&name).map_err(fail)?;
            let ip = d.ip.as_deref().ok_or_else(|| fail("no \"ip\"".into()))?;
            let ip: IpAddr = ip.trim().parse().map_err(|_| {
                fail(format!(
                    "ip \"{}\" is not an IP address",
                    excerpt_str(ip, MAX_EXCERPT)
                ))
            })?;
            map.by_ip.insert(ip, Arc::from(name.as_str()));
            if let Some(v6) = d.ipv6.as_deref().filter(|s| !s.is_empty()) {
                let v6: IpAddr = v6.trim().parse().map_err(|_| {
                    fail(format!(
                        "ipv6 \"{}\" is not an IP address",
                        excerpt_str(v6, MAX_EXCERPT)
                    ))
                })?;
                map.by_ip.insert(v6, Arc::from(name.as_str()));
            }
        }
        Ok(map)
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
    fn reads_decnet_state_ignoring_unknown_keys() {
        let text = br#"{"config": {"interface": "eth0", "extra": 1, "deckies": [
            {"name": "decky-01", "ip": "192.168.1.10", "services": ["ssh"]},
            {"name": "decky-02", "ip": "2001:db8::2", "ipv6": "2001:db8::3"}]},
            "compose_path": "/x"}"#;
        let m = DeckyMap::parse(Path::new("s.json"), text).unwrap();
        assert_eq!(m.interface.as_deref(), Some("eth0"));
        assert_eq!(
            &**m.get(&"192.168.1.10".parse().unwrap()).unwrap(),
            "decky-01"
        );
        assert_eq!(
            &**m.get(&"2001:db8::3".parse().unwrap()).unwrap(),
            "decky-02"
        );
        assert!(!m.is_decky(&"10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err =
            DeckyMap::parse(Path::new("s.json"), b"{\"config\":\n {\"deckies\": [}").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("s.json: line 2, column "), "{msg}");
    }

    #[test]
    fn bad_decky_name_is_named() {
        let text = br#"{"config": {"deckies": [{"name": "a.b", "ip": "10.0.0.1"}]}}"#;
        let msg = DeckyMap::parse(Path::new("s.json"), text)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("decky #0 (\"a.b\")") && msg.contains("'.'"),
            "{msg}"
        );
    }

    #[test]
    fn decky_argument() {
        let mut m = DeckyMap::observe_all();
        m.add_arg("web=10.0.0.5").unwrap();
        assert!(!m.is_observe_all());
        assert!(m.add_arg("bad name=10.0.0.6").is_err());
        assert!(m.add_arg("x=notanip").is_err());
    }
}
