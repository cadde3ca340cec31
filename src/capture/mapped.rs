//! A capture file read in place through a read-only memory map: frames are
//! borrowed from the page cache, with no `read()` copy into a buffer.
//!
//! The one danger of a file map is a file that shrinks under it: touching a
//! page past the new end raises SIGBUS and kills the process. The design
//! here is that **nothing can shrink the file while it is mapped**:
//!
//! - The map is made only under a Linux read lease (`F_SETLEASE`,
//!   `F_RDLCK`) on the open file. The kernel grants it only when no one
//!   has the file open for writing (a capture still being written is read
//!   with `read()` instead), and anyone who then opens it for writing or
//!   truncates it must first break the lease: their `open`/`truncate`
//!   blocks (up to `/proc/sys/fs/lease-break-time`, 45 s by default)
//!   while the kernel sends us SIGIO.
//! - The SIGIO handler only counts breaks in an atomic. The reader checks
//!   [`Mapped::intact`] before every record it hands out; once a break is
//!   counted it stops touching the map, drops it and releases the lease, and
//!   the caller reads the rest of the file with `read()`, which sees the
//!   shrink as an ordinary end of file. Frames are borrowed only for the
//!   duration of one callback, so nothing can still point into the map.
//! - The length is read once, after the lease is held.
//!
//! The one window left: the kernel revokes a lease not given back within
//! the break time, so a single callback blocked that long (an output
//! stalled behind a full FIFO) while someone truncates the file could still
//! meet SIGBUS.
//!
//! Where the lease is refused (not the owner and no CAP_LEASE, a file open
//! for writing, a file system without leases), the file is not mapped.
//! Pipes, stdin and anything that is not a regular file are never mapped.
//!
//! This is the only module with `unsafe` code (`#[allow(unsafe_code)]` on
//! its `mod` line); ROBUSTNESS.md, section "Memory-mapped capture files",
//! says the same for operators.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};
use nix::libc;

/// Lease breaks (SIGIO deliveries) seen by this process so far.
static LEASE_BREAKS: AtomicUsize = AtomicUsize::new(0);
/// Whether the SIGIO counter is installed (once per process).
static HANDLER: OnceLock<bool> = OnceLock::new();

/// A regular file mapped whole, under a read lease.
pub struct Mapped {
    map: Mmap,
    file: File,
    /// [`LEASE_BREAKS`] when the lease was taken.
    breaks_before: usize,
    /// Bytes at the start already dropped from the page tables.
    released: usize,
}

impl Mapped {
    /// Maps `file` when it is a non-empty regular file and a read lease on
    /// it is granted; `None` means "read it with `read()`".
    pub fn new(file: &File) -> Option<Mapped> {
        if !file.metadata().ok()?.is_file() || !counting_lease_breaks() {
            return None;
        }
        let file = file.try_clone().ok()?;
        let breaks_before = LEASE_BREAKS.load(Ordering::SeqCst);
        // SAFETY: fcntl on a descriptor we own, with integer arguments only.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) } != 0 {
            return None;
        }
        let release = |file: &File| {
            // SAFETY: as above; releasing a lease we hold.
            unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
        };
        // Read once, under the lease: from here on the file cannot shrink
        // before we have let go of the map.
        let len = match file.metadata() {
            Ok(m) if m.len() > 0 && usize::try_from(m.len()).is_ok() => m.len() as usize,
            _ => {
                release(&file);
                return None;
            }
        };
        // SAFETY: the map is read-only and private to this struct. Its
        // contents cannot change or shrink while the lease is held: a
        // writer or truncater must break the lease first, and `intact`
        // reports the break before the reader touches the map again (the
        // module documentation above). `len` is at most the file size.
        let map = match unsafe { MmapOptions::new().len(len).map(&file) } {
            Ok(m) => m,
            Err(_) => {
                release(&file);
                return None;
            }
        };
        // Advice only: a failure changes speed, not what is read.
        let _ = map.advise(Advice::Sequential);
        Some(Mapped {
            map,
            file,
            breaks_before,
            released: 0,
        })
    }

    /// The whole file as it was when mapped.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// False once someone has asked to write or truncate the file (or any
    /// other lease of this process broke): stop touching [`Self::bytes`].
    pub fn intact(&self) -> bool {
        LEASE_BREAKS.load(Ordering::Relaxed) == self.breaks_before
    }

    /// Drops the pages of `bytes()[..end]` from this process's page tables
    /// (they stay in the page cache), so that the peak RSS of reading a
    /// large file does not grow with the file.
    pub fn release_before(&mut self, end: usize) {
        let end = end.min(self.map.len()) & !(page_size() - 1);
        if end > self.released {
            // SAFETY: `&mut self` means no frame borrowed from the map is
            // alive; the range is read-only file-backed memory, which
            // MADV_DONTNEED only unmaps (a later access would fault the
            // same file pages back in). Advice only: errors are ignored.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    UncheckedAdvice::DontNeed,
                    self.released,
                    end - self.released,
                )
            };
            self.released = end;
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // Nobody touches the map any more (we are dropping it); a
        // truncater waiting on the lease may go ahead.
        // SAFETY: fcntl on our own descriptor with integer arguments.
        unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
    }
}

/// Installs the SIGIO counter once; false if it could not be installed (then
/// no lease is taken: an unhandled SIGIO would terminate the process).
fn counting_lease_breaks() -> bool {
    *HANDLER.get_or_init(|| {
        // SAFETY: the action only increments an atomic, which is
        // async-signal-safe; signal-hook chains any previous handler.
        unsafe {
            signal_hook::low_level::register(signal_hook::consts::SIGIO, || {
                LEASE_BREAKS.fetch_add(1, Ordering::SeqCst);
            })
        }
        .is_ok()
    })
}

fn page_size() -> usize {
    // SAFETY: sysconf with a constant name has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096)
}
