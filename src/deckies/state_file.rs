//! DECNET's state file (`decnet-state.json`): the deckies it deploys.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::map::{validate_name, DeckyMap};
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

impl DeckyMap {
    /// Loads DECNET's `decnet-state.json`. A missing file is an empty map
    /// (no deckies deployed yet). Deckies with invalid names are errors.
    pub fn load(path: &Path) -> Result<DeckyMap, StateError> {
        let text = match crate::util::load::load_file(path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(DeckyMap::default()),
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
        let mut map = DeckyMap::default();
        map.interface = state.config.interface;
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
            map.insert(&name, ip);
            if let Some(v6) = d.ipv6.as_deref().filter(|s| !s.is_empty()) {
                let v6: IpAddr = v6.trim().parse().map_err(|_| {
                    fail(format!(
                        "ipv6 \"{}\" is not an IP address",
                        excerpt_str(v6, MAX_EXCERPT)
                    ))
                })?;
                map.insert(&name, v6);
            }
        }
        Ok(map)
    }
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
}
