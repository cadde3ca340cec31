//! Reloads DECNET's state file while the daemon runs (docs/spec.md section 3).
//!
//! A thread watches the file's directory with inotify, so writers that
//! replace the file by renaming a temporary one over it are seen as well as
//! writers that rewrite it in place, and checks the file at least every
//! `period` in case an event was missed (a directory created late, a
//! filesystem without inotify). Parsing happens on that thread; the engine
//! only picks up finished maps with [`StateWatcher::try_recv`], so a slow disk
//! never stalls capture.
//!
//! A file that does not parse keeps the last good map in force. When the
//! failure follows a change event it is logged only if no further change
//! arrives within `settle`: an in-place writer that is half done is not an
//! error, a file that stays malformed is.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Display;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Longest time between two checks of the file (docs/spec.md: 60 s).
    pub period: Duration,
    /// Quiet time after a change event before the file is read.
    pub debounce: Duration,
    /// How long a parse failure after a change waits for a further change
    /// before it is logged.
    pub settle: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            period: Duration::from_secs(60),
            debounce: Duration::from_millis(50),
            settle: Duration::from_secs(1),
        }
    }
}

/// Reload outcomes, for metrics.
#[derive(Debug, Default)]
pub struct ReloadCounters {
    /// Maps loaded and handed to the engine.
    pub applied: AtomicU64,
    /// Loads that failed; the last good map stayed in force.
    pub failed: AtomicU64,
}

enum Msg {
    FileEvent,
    Reload,
    Stop,
}

/// The watching thread and the maps it produced.
pub struct StateWatcher<M> {
    maps: Receiver<M>,
    ctl: Sender<Msg>,
    counters: Arc<ReloadCounters>,
    thread: Option<JoinHandle<()>>,
}

impl<M: Send + 'static> StateWatcher<M> {
    /// Starts watching `path`. `load` reads and parses the file (for the
    /// daemon, `DeckyMap::load` plus the `--decky` additions); every map it
    /// returns reaches [`try_recv`](Self::try_recv). The first check happens
    /// at once, so the first map arrives shortly after the start.
    pub fn spawn<E, L>(path: PathBuf, opts: WatchOptions, load: L) -> io::Result<Self>
    where
        E: Display,
        L: FnMut(&Path) -> Result<M, E> + Send + 'static,
    {
        let (map_tx, maps) = mpsc::channel();
        let (ctl, ctl_rx) = mpsc::channel();
        let counters = Arc::new(ReloadCounters::default());
        let worker = Worker {
            path,
            opts,
            load,
            maps: map_tx,
            counters: counters.clone(),
            last_seen: None,
            watched_dir: None,
            watcher: None,
            events: ctl.clone(),
            pending_failure: None,
        };
        let thread = std::thread::Builder::new()
            .name("state-watch".into())
            .spawn(move || worker.run(ctl_rx))?;
        Ok(StateWatcher {
            maps,
            ctl,
            counters,
            thread: Some(thread),
        })
    }

    /// The newest map loaded since the last call, if any.
    pub fn try_recv(&self) -> Option<M> {
        self.maps.try_iter().last()
    }

    /// Waits up to `timeout` for the next map (start-up, tests).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<M> {
        let first = self.maps.recv_timeout(timeout).ok()?;
        Some(self.maps.try_iter().last().unwrap_or(first))
    }

    /// Reloads now, even if the file looks unchanged (SIGHUP).
    pub fn request_reload(&self) {
        let _ = self.ctl.send(Msg::Reload);
    }

    pub fn counters(&self) -> Arc<ReloadCounters> {
        self.counters.clone()
    }
}

impl<M> Drop for StateWatcher<M> {
    fn drop(&mut self) {
        let _ = self.ctl.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the file held at the last load attempt: a hash of its bytes, or
/// `None` when it was missing.
type Seen = Option<(u64, usize)>;

struct Worker<M, L> {
    path: PathBuf,
    opts: WatchOptions,
    load: L,
    maps: Sender<M>,
    counters: Arc<ReloadCounters>,
    last_seen: Option<Seen>,
    /// Directory being watched and its identity (device, inode): a directory
    /// deleted and created again needs a new watch.
    watched_dir: Option<(u64, u64)>,
    watcher: Option<notify::RecommendedWatcher>,
    events: Sender<Msg>,
    /// A failure after a change event, logged at the instant unless a later
    /// load succeeds first.
    pending_failure: Option<(String, Instant)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Start,
    Change,
    Periodic,
    Request,
}

impl<M, L, E> Worker<M, L>
where
    L: FnMut(&Path) -> Result<M, E>,
    E: Display,
{
    fn run(mut self, ctl: Receiver<Msg>) {
        self.ensure_watch();
        self.check(Trigger::Start);
        let mut change_at: Option<Instant> = None;
        let mut next_periodic = Instant::now() + self.opts.period;
        loop {
            let mut wake = next_periodic;
            if let Some(t) = change_at {
                wake = wake.min(t + self.opts.debounce);
            }
            if let Some((_, t)) = &self.pending_failure {
                wake = wake.min(*t);
            }
            match ctl.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                // Every event restarts the quiet period.
                Ok(Msg::FileEvent) => change_at = Some(Instant::now()),
                Ok(Msg::Reload) => self.check(Trigger::Request),
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            if change_at.is_some_and(|t| now >= t + self.opts.debounce) {
                change_at = None;
                self.check(Trigger::Change);
            }
            if self
                .pending_failure
                .as_ref()
                .is_some_and(|(_, t)| now >= *t)
            {
                if let Some((why, _)) = self.pending_failure.take() {
                    tracing::warn!("{why}");
                }
            }
            if now >= next_periodic {
                next_periodic = now + self.opts.period;
                self.ensure_watch();
                self.check(Trigger::Periodic);
            }
        }
    }

    /// Loads the file if it changed (always, for a request).
    fn check(&mut self, trigger: Trigger) {
        // The same regular-file check and size cap as `load`: a state file
        // replaced by a device or a runaway file is never read whole here.
        let seen = match crate::util::load::load_file(&self.path) {
            Ok(bytes) => {
                let mut h = DefaultHasher::new();
                bytes.hash(&mut h);
                Some((h.finish(), bytes.len()))
            }
            Err(e) if e.is_not_found() => None,
            // Unreadable, special or too big: let `load` report it.
            Err(_) => Some((0, usize::MAX)),
        };
        if trigger != Trigger::Request && self.last_seen == Some(seen) {
            return;
        }
        self.last_seen = Some(seen);
        match (self.load)(&self.path) {
            Ok(map) => {
                self.counters.applied.fetch_add(1, Ordering::Relaxed);
                if trigger != Trigger::Start {
                    tracing::info!(path = %self.path.display(), "state file reloaded");
                }
                let _ = self.maps.send(map);
                self.pending_failure = None;
            }
            Err(e) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                let why =
                    format!("state file not applied, the last good decky map stays in force: {e}");
                if trigger == Trigger::Change {
                    self.pending_failure = Some((why, Instant::now() + self.opts.settle));
                } else {
                    self.pending_failure = None;
                    tracing::warn!("{why}");
                }
            }
        }
    }

    /// Watches the file's directory (not the file: a rename over it would
    /// end a watch on the file). Quietly relies on the periodic check while
    /// the directory does not exist.
    fn ensure_watch(&mut self) {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let id = std::fs::metadata(&dir).ok().map(|m| (m.dev(), m.ino()));
        if id.is_none() || id == self.watched_dir {
            return;
        }
        if self.watcher.is_none() {
            let name = self.path.file_name().map(|n| n.to_owned());
            let events = self.events.clone();
            let handler = move |res: notify::Result<notify::Event>| {
                let Ok(ev) = res else { return };
                // Our own reads show up as access events.
                if matches!(ev.kind, EventKind::Access(_)) {
                    return;
                }
                if ev.paths.iter().any(|p| p.file_name() == name.as_deref()) || ev.need_rescan() {
                    let _ = events.send(Msg::FileEvent);
                }
            };
            match notify::recommended_watcher(handler) {
                Ok(w) => self.watcher = Some(w),
                Err(e) => {
                    tracing::warn!(
                        "cannot watch the state file ({e}); checking it every {:?}",
                        self.opts.period
                    );
                    return;
                }
            }
        }
        if let Some(w) = self.watcher.as_mut() {
            let _ = w.unwatch(&dir);
            match w.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.watched_dir = id,
                Err(e) => tracing::warn!(
                    "cannot watch {} ({e}); checking the state file every {:?}",
                    dir.display(),
                    self.opts.period
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A toy state file: one decky name per line; a line "BAD" is a parse error.
    fn load(path: &Path) -> Result<Vec<String>, String> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.to_string()),
        };
        if text.lines().any(|l| l == "BAD") {
            return Err("line BAD".into());
        }
        Ok(text.lines().map(str::to_owned).collect())
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("state-watch-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn fast() -> WatchOptions {
        WatchOptions {
            period: Duration::from_secs(3600),
            ..WatchOptions::default()
        }
    }

    const WAIT: Duration = Duration::from_secs(5);

    #[test]
    fn picks_up_in_place_and_atomic_rename_writes() {
        let dir = tempdir("writes");
        let path = dir.join("decnet-state.json");
        fs::write(&path, "decky-01\n").unwrap();
        let w = StateWatcher::spawn(path.clone(), fast(), load).unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), ["decky-01"]);

        fs::write(&path, "decky-01\ndecky-02\n").unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), ["decky-01", "decky-02"]);

        let tmp = dir.join(".decnet-state.json.tmp");
        fs::write(&tmp, "decky-03\n").unwrap();
        fs::rename(&tmp, &path).unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), ["decky-03"]);

        // Deleted: deckies were torn down, the empty map applies.
        fs::remove_file(&path).unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), Vec::<String>::new());
        assert_eq!(w.counters().applied.load(Ordering::Relaxed), 4);
        drop(w);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn malformed_file_keeps_the_last_good_map() {
        let dir = tempdir("bad");
        let path = dir.join("state.json");
        fs::write(&path, "decky-01\n").unwrap();
        let w = StateWatcher::spawn(path.clone(), fast(), load).unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), ["decky-01"]);
        fs::write(&path, "decky-01\nBAD\n").unwrap();
        assert_eq!(w.recv_timeout(Duration::from_millis(500)), None);
        assert_eq!(w.counters().failed.load(Ordering::Relaxed), 1);
        // A forced reload of the same bad content fails again, still no map.
        w.request_reload();
        assert_eq!(w.recv_timeout(Duration::from_millis(300)), None);
        assert_eq!(w.counters().failed.load(Ordering::Relaxed), 2);
        fs::write(&path, "decky-02\n").unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), ["decky-02"]);
        drop(w);
        fs::remove_dir_all(dir).unwrap();
    }

    /// The daemon's own loader: a state file replaced by a FIFO with no
    /// writer or by a link to /dev/zero is refused at once (no hang, no
    /// unbounded read), and the last good map stays in force.
    #[test]
    fn endless_or_special_state_files_keep_the_last_good_map() {
        use crate::deckies::DeckyMap;
        let dir = tempdir("special");
        let path = dir.join("state.json");
        let good = r#"{"config": {"deckies": [{"name": "d1", "ip": "10.0.0.1"}]}}"#;
        fs::write(&path, good).unwrap();
        let w = StateWatcher::spawn(path.clone(), fast(), |p: &Path| DeckyMap::load(p)).unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap().len(), 1);
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        fs::rename(&fifo, &path).unwrap();
        w.request_reload();
        assert!(w.recv_timeout(Duration::from_millis(500)).is_none());
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        w.request_reload();
        assert!(w.recv_timeout(Duration::from_millis(500)).is_none());
        assert_eq!(w.counters().failed.load(Ordering::Relaxed), 2);
        fs::remove_file(&path).unwrap();
        fs::write(&path, good.replace("d1", "d2")).unwrap();
        let map = w.recv_timeout(WAIT).unwrap();
        assert_eq!(
            map.name_of(&"10.0.0.1".parse().unwrap()).as_deref(),
            Some("d2")
        );
        drop(w);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn periodic_check_finds_a_file_in_a_directory_created_late() {
        let dir = tempdir("late");
        let sub = dir.join("decnet");
        let path = sub.join("state.json");
        let opts = WatchOptions {
            period: Duration::from_millis(200),
            ..WatchOptions::default()
        };
        let w = StateWatcher::spawn(path.clone(), opts, load).unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), Vec::<String>::new());
        fs::create_dir_all(&sub).unwrap();
        fs::write(&path, "decky-07\n").unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), ["decky-07"]);
        // After the periodic check the directory is watched: changes come quickly.
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        fs::write(&path, "decky-08\n").unwrap();
        assert_eq!(w.recv_timeout(WAIT).unwrap(), ["decky-08"]);
        assert!(t.elapsed() < Duration::from_secs(2));
        drop(w);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unchanged_file_is_not_reloaded_by_the_periodic_check() {
        let dir = tempdir("same");
        let path = dir.join("state.json");
        fs::write(&path, "decky-01\n").unwrap();
        let opts = WatchOptions {
            period: Duration::from_millis(100),
            ..WatchOptions::default()
        };
        let w = StateWatcher::spawn(path.clone(), opts, load).unwrap();
        assert!(w.recv_timeout(WAIT).is_some());
        assert_eq!(w.recv_timeout(Duration::from_millis(500)), None);
        assert_eq!(w.counters().applied.load(Ordering::Relaxed), 1);
        drop(w);
        fs::remove_dir_all(dir).unwrap();
    }
}
