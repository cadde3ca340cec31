//! Output paths that would overwrite what the program reads, or each
//! other, are refused before anything is opened for writing: appending our
//! records to the capture being read (or interleaving the log and the JSON
//! in one file) destroys an operator's data.
//!
//! Two paths name the same file when they lead to the same device and inode
//! (through symlinks and hard links alike). An output that does not exist
//! yet can only clash with another output naming the same place: its
//! symlinks followed and its parent directory made canonical.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Symlinks followed before giving up (as the kernel's ELOOP limit).
const MAX_LINKS: usize = 40;

/// What a path names, for comparing.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// An existing regular file.
    Inode(u64, u64),
    /// A file not created yet, at this canonical place.
    Place(PathBuf),
    /// A device, FIFO or standard input/output: never compared
    /// (`/dev/null` may take both outputs).
    Special,
}

fn identity(path: &Path) -> Identity {
    if path.as_os_str() == "-" {
        return Identity::Special;
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Identity::Inode(m.dev(), m.ino()),
        Ok(_) => Identity::Special,
        Err(_) => Identity::Place(future_place(path)),
    }
}

/// Where a file not yet existing will be created: dangling symlinks
/// followed, the parent directory made canonical.
fn future_place(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::read_link(&p) {
            Ok(target) => {
                p = match p.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                }
            }
            Err(_) => break,
        }
    }
    let name = p.file_name().map(|n| n.to_owned());
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (std::fs::canonicalize(&parent), name) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => p,
    }
}

/// Refuses an output that is the same file as an input or as another
/// output. `inputs` and `outputs` are (role, path), the role naming the
/// option in the message (`--log`, `capture`, `--state`).
pub fn refuse_clashes(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<(), String> {
    let ins: Vec<_> = inputs.iter().map(|(r, p)| (*r, *p, identity(p))).collect();
    let outs: Vec<_> = outputs.iter().map(|(r, p)| (*r, *p, identity(p))).collect();
    for (i, (role, path, id)) in outs.iter().enumerate() {
        if *id == Identity::Special {
            continue;
        }
        let earlier_outputs = outs[..i].iter();
        for (other_role, other, other_id) in ins.iter().chain(earlier_outputs) {
            if id == other_id {
                return Err(format!(
                    "{role} {}: is the same file as {other_role} {}; refusing to write to it",
                    path.display(),
                    other.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("decnet-clash-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn same_inode_through_links_is_refused() {
        let d = scratch("links");
        let cap = d.join("in.pcap");
        std::fs::write(&cap, b"x").unwrap();
        let hard = d.join("hard.log");
        std::fs::hard_link(&cap, &hard).unwrap();
        let soft = d.join("soft.log");
        std::os::unix::fs::symlink("in.pcap", &soft).unwrap();
        let fresh = d.join("new.log");
        for out in [&cap, &hard, &soft] {
            let e = refuse_clashes(&[("--log", out)], &[("capture", &cap)]).unwrap_err();
            assert!(e.contains("same file as capture"), "{e}");
        }
        refuse_clashes(&[("--log", &fresh)], &[("capture", &cap)]).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn outputs_not_yet_existing_clash_only_at_the_same_place() {
        let d = scratch("fresh");
        let a = d.join("a.log");
        let also_a = d.join(".").join("a.log");
        let b = d.join("b.log");
        let dangling = d.join("link.log");
        std::os::unix::fs::symlink("b.log", &dangling).unwrap();
        assert!(refuse_clashes(&[("--log", &a), ("--json", &also_a)], &[]).is_err());
        assert!(refuse_clashes(&[("--log", &b), ("--json", &dangling)], &[]).is_err());
        refuse_clashes(&[("--log", &a), ("--json", &b)], &[]).unwrap();
        // Devices are never compared: /dev/null may take both.
        let null = Path::new("/dev/null");
        refuse_clashes(&[("--log", null), ("--json", null)], &[]).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
