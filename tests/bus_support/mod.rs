//! Helpers shared by the bus integration tests: test events, a nats-server
//! process the test controls, and a NATS subscriber running on its own
//! thread.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use decnet_sniffer::event::{Event, EventKind};
use decnet_sniffer::util::time::Timestamp;

/// A traffic event with a few fields, numbered by `n` (as `src_port`).
pub fn event(kind: EventKind, decky: &str, n: u32) -> Event {
    let mut ev = Event::new(
        kind,
        Timestamp::new(1_776_789_350 + i64::from(n), 250_000_000),
        decky.into(),
    );
    ev.push("src_ip", "203.0.113.7");
    ev.push("src_port", n);
    ev.push("dst_ip", "192.168.1.10");
    ev.push("dst_port", 22u16);
    ev.push_text("ssh_version", format!("SSH-2.0-test_{n}"));
    ev.push("direction", "inbound");
    ev
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Checks an envelope against docs/spec.md section 7 and the event it came from.
pub fn check_envelope(body: &[u8], topic: &str, ev: &Event) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(body).expect("envelope is JSON");
    let obj = v.as_object().expect("envelope is an object");
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["id", "payload", "topic", "ts", "type", "v"],
        "envelope keys"
    );
    assert_eq!(v["v"], 1);
    let id = v["id"].as_str().expect("id string");
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(v["topic"], topic);
    assert_eq!(v["type"], ev.kind.as_str());
    let want_ts = ev.ts.secs as f64 + f64::from(ev.ts.nanos / 1000) / 1e6;
    assert!((v["ts"].as_f64().expect("ts float") - want_ts).abs() < 1e-6);
    let payload = v["payload"].as_object().expect("payload object");
    assert_eq!(payload.len(), ev.field_count());
    for f in ev.fields() {
        let want = String::from_utf8_lossy(f.value);
        assert_eq!(
            payload[f.name].as_str(),
            Some(want.as_ref()),
            "field {}",
            f.name
        );
    }
    v
}

fn nats_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        return p.into();
    }
    for p in [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    "nats-server".into()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server child process on a loopback port.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    store: Option<PathBuf>,
    extra: Vec<String>,
}

impl NatsServer {
    /// Starts a server on a free port; with `store`, JetStream is enabled
    /// with that storage directory.
    pub fn start(store: Option<&Path>) -> Self {
        Self::start_with(store, &[])
    }

    /// Like [`NatsServer::start`] with extra nats-server arguments
    /// (authentication, TLS).
    pub fn start_with(store: Option<&Path>, extra: &[&str]) -> Self {
        Self::start_full(free_port(), store, extra)
    }

    fn start_full(port: u16, store: Option<&Path>, extra: &[&str]) -> Self {
        let mut s = NatsServer {
            child: None,
            port,
            store: store.map(Path::to_path_buf),
            extra: extra.iter().map(|a| a.to_string()).collect(),
        };
        // Tests run in parallel threads and a free port is only free when
        // asked: another test's server may take it first. Ours then fails
        // to bind and exits, while the port answers for the other one.
        for _ in 0..5 {
            s.spawn();
            if s.still_running_after(Duration::from_millis(300)) {
                return s;
            }
            s.port = free_port();
        }
        panic!("nats-server kept exiting at start (port taken?)");
    }

    /// True if our server process has not exited within `grace`.
    fn still_running_after(&mut self, grace: Duration) -> bool {
        std::thread::sleep(grace);
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(nats_server_bin());
        cmd.args(["-a", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(dir) = &self.store {
            cmd.arg("-js").arg("-sd").arg(dir);
        }
        cmd.args(&self.extra);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run nats-server ({e}); install it or run scripts/ci-services.sh")
        });
        self.child = Some(child);
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
        assert!(up, "nats-server did not listen on port {}", self.port);
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The server to use for tests that do not stop it: `DECNET_TEST_NATS_URL`
/// (set by scripts/ci-services.sh) or a private one.
pub fn shared_or_own_server() -> (String, Option<NatsServer>) {
    match std::env::var("DECNET_TEST_NATS_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let s = NatsServer::start(None);
            (s.url(), Some(s))
        }
    }
}

/// Messages received, as `(subject, payload)`.
pub type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A NATS subscriber on its own thread, collecting `(subject, payload)`.
pub struct Collector {
    pub msgs: Received,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Collector {
    /// Subscribes to `subject` and returns once the subscription is active.
    pub fn start(url: &str, subject: &str) -> Self {
        let msgs: Received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let (m, s, r) = (Arc::clone(&msgs), Arc::clone(&stop), Arc::clone(&ready));
        let (url, subject) = (url.to_string(), subject.to_string());
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use futures_util::StreamExt;
                let client = async_nats::ConnectOptions::new()
                    .retry_on_initial_connect()
                    .reconnect_delay_callback(|_| Duration::from_millis(20))
                    .connect(url)
                    .await
                    .unwrap();
                let mut sub = client.subscribe(subject).await.unwrap();
                client.flush().await.unwrap();
                r.store(true, Ordering::SeqCst);
                while !s.load(Ordering::SeqCst) {
                    let next = tokio::time::timeout(Duration::from_millis(50), sub.next()).await;
                    if let Ok(Some(msg)) = next {
                        m.lock()
                            .unwrap()
                            .push((msg.subject.to_string(), msg.payload.to_vec()));
                    }
                }
            });
        });
        assert!(wait_until(Duration::from_secs(10), || ready.load(Ordering::SeqCst)));
        Collector {
            msgs,
            stop,
            thread: Some(thread),
        }
    }

    pub fn len(&self) -> usize {
        self.msgs.lock().unwrap().len()
    }

    pub fn take(&self) -> Vec<(String, Vec<u8>)> {
        self.msgs.lock().unwrap().clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `f` on a throwaway single-threaded runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Latency statistics of `publish()` calls.
#[derive(Default, Debug)]
pub struct Latency {
    pub max: Duration,
    pub total: Duration,
    pub count: u32,
}

impl Latency {
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let r = f();
        let d = t0.elapsed();
        self.max = self.max.max(d);
        self.total += d;
        self.count += 1;
        r
    }

    pub fn mean(&self) -> Duration {
        self.total / self.count.max(1)
    }
}
