//! The one way this program reads a whole file into memory (state file,
//! p0f database, TOML configuration): it must be a regular file and at
//! most [`MAX_LOADED`] bytes. `/dev/zero`, a FIFO, a directory or a runaway
//! file gives one clear error instead of reading until memory runs out,
//! and opening never blocks on a FIFO with no writer.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest file loaded whole (DECNET's state file and p0f.fp are a few
/// hundred KiB at most).
pub const MAX_LOADED: u64 = 64 << 20;

#[derive(Debug)]
pub enum LoadError {
    /// Opening or reading failed (`NotFound` included: callers may treat a
    /// missing file as empty).
    Io { path: PathBuf, source: io::Error },
    /// A directory, FIFO, socket or device.
    NotRegular { path: PathBuf, kind: &'static str },
    /// Larger than the cap (`len` bytes, or more when the file was still growing).
    TooLarge { path: PathBuf, len: u64 },
}

impl LoadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, LoadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::NotRegular { path, .. }
            | LoadError::TooLarge { path, .. } => path,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            LoadError::NotRegular { path, kind } => write!(
                f,
                "{}: is {kind}, not a regular file; refusing to read it",
                path.display()
            ),
            LoadError::TooLarge { path, len } => write!(
                f,
                "{}: {len} bytes or more, over the {} MiB limit for a file read whole",
                path.display(),
                MAX_LOADED >> 20
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads `path` whole: a regular file of at most [`MAX_LOADED`] bytes.
pub fn load_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    load_file_capped(path, MAX_LOADED)
}

/// [`load_file`] with another cap (tests).
pub fn load_file_capped(path: &Path, cap: u64) -> Result<Vec<u8>, LoadError> {
    let io_err = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever;
    // for a regular file it changes nothing.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(io_err)?;
    let meta = f.metadata().map_err(io_err)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_block_device() {
            "a block device"
        } else {
            "a special file"
        };
        return Err(LoadError::NotRegular {
            path: path.to_owned(),
            kind,
        });
    }
    if meta.len() > cap {
        return Err(LoadError::TooLarge {
            path: path.to_owned(),
            len: meta.len(),
        });
    }
    read_at_most(f, cap)
        .map_err(io_err)?
        .ok_or(LoadError::TooLarge {
            path: path.to_owned(),
            len: cap + 1,
        })
}

/// All of `f` if it holds at most `cap` bytes (it may have grown since it
/// was measured), else `None`.
fn read_at_most(f: File, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    f.take(cap + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("decnet-load-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn reads_a_regular_file_under_the_cap() {
        let d = scratch("ok");
        let p = d.join("f");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(load_file(&p).unwrap(), b"hello");
        assert!(matches!(
            load_file_capped(&p, 4),
            Err(LoadError::TooLarge { len: 5, .. })
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_devices_directories_and_fifos() {
        let d = scratch("special");
        let e = load_file(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let e = load_file(&d).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let fifo = d.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = load_file(&fifo).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        assert!(load_file(&d.join("missing")).unwrap_err().is_not_found());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
