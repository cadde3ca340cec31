//! Shared by the namespace tests: when to skip, where the scripts are, and
//! namespace prefixes that do not collide between concurrent test runs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Why a namespace test cannot run here, or None when it can.
pub fn skip_reason(tools: &[&str]) -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("network-namespace tests need root".into());
    }
    let probe = prefix("pr");
    let ok = Command::new("ip")
        .args(["netns", "add", &probe])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Some("`ip netns add` is unavailable".into());
    }
    let _ = Command::new("ip").args(["netns", "del", &probe]).status();
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/netns")
        .join(name)
}

/// A namespace prefix (at most 8 characters) unique to this process, tag and call.
pub fn prefix(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 10;
    format!("{tag}{}{n}", std::process::id() % 10_000)
}
