//! The one loader of decky maps, for `read` and the daemon alike: the
//! state file plus the `--decky` entries, with the `--decap` mode.

use std::path::PathBuf;

use super::map::{Decap, DeckyMap};

/// What a state file that does not exist means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingFile {
    /// An error: the file was named to be read now (`read --state`).
    Error,
    /// Nothing deployed yet, or deckies torn down (the daemon, which
    /// waits for DECNET to write the file).
    Wait,
}

/// Builds decky maps from the state file plus `--decky` entries. With
/// neither (no state file given, or none written yet), every server is
/// observed (docs/spec.md section 3); once DECNET has written the file, a
/// missing one means its deckies were torn down: an empty map.
#[derive(Debug, Clone)]
pub struct DeckySource {
    pub state: Option<PathBuf>,
    /// `NAME=IP` arguments, added to every map.
    pub manual: Vec<String>,
    /// `--decap`, carried by every map.
    pub decap: Decap,
    pub missing: MissingFile,
    /// Whether the state file has existed at some load.
    seen_file: bool,
}

impl DeckySource {
    pub fn new(
        state: Option<PathBuf>,
        manual: Vec<String>,
        decap: Decap,
        missing: MissingFile,
    ) -> Self {
        DeckySource {
            state,
            manual,
            decap,
            missing,
            seen_file: false,
        }
    }

    /// Builds the map from the files as they are now, or a one-line error
    /// naming the cause.
    pub fn load(&mut self) -> Result<DeckyMap, String> {
        let mut map = match self.state.as_deref() {
            Some(path) if path.exists() || self.seen_file => {
                // A file gone since it was seen is an empty map.
                let map = DeckyMap::load(path).map_err(|e| e.to_string())?;
                self.seen_file |= path.exists();
                map
            }
            Some(path) if self.missing == MissingFile::Error => {
                return Err(format!("{}: state file not found", path.display()));
            }
            _ if self.manual.is_empty() => DeckyMap::observe_all(),
            _ => DeckyMap::default(),
        };
        for arg in &self.manual {
            map.add_arg(arg).map_err(|e| e.to_string())?;
        }
        map.decap = self.decap;
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("decky-source-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const STATE: &str = r#"{"config": {"deckies": [{"name": "d1", "ip": "10.0.0.1"}]}}"#;

    #[test]
    fn no_source_observes_every_server() {
        let mut s = DeckySource::new(None, Vec::new(), Decap::Never, MissingFile::Error);
        let map = s.load().unwrap();
        assert!(map.is_observe_all());
        assert_eq!(map.decap, Decap::Never);
        let mut s = DeckySource::new(
            None,
            vec!["a=10.0.0.9".into()],
            Decap::Auto,
            MissingFile::Error,
        );
        let map = s.load().unwrap();
        assert!(!map.is_observe_all());
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn a_named_state_file_must_exist_for_read() {
        let dir = tempdir("read");
        let path = dir.join("missing.json");
        let mut s = DeckySource::new(Some(path), Vec::new(), Decap::Auto, MissingFile::Error);
        assert!(s.load().unwrap_err().ends_with("state file not found"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_daemon_waits_for_the_file_then_follows_it() {
        let dir = tempdir("run");
        let path = dir.join("state.json");
        let mut s = DeckySource::new(
            Some(path.clone()),
            Vec::new(),
            Decap::Auto,
            MissingFile::Wait,
        );
        assert!(s.load().unwrap().is_observe_all());
        std::fs::write(&path, STATE).unwrap();
        let map = s.load().unwrap();
        assert_eq!(
            map.name_of(&"10.0.0.1".parse().unwrap()).as_deref(),
            Some("d1")
        );
        // Torn down: no deckies, not observe-all.
        std::fs::remove_file(&path).unwrap();
        let map = s.load().unwrap();
        assert!(map.is_empty() && !map.is_observe_all());
        // `--decky` entries join the file's, and make a missing file empty.
        let mut s = DeckySource::new(
            Some(dir.join("none.json")),
            vec!["m=10.0.0.2".into()],
            Decap::Auto,
            MissingFile::Wait,
        );
        let map = s.load().unwrap();
        assert!(!map.is_observe_all() && map.len() == 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
