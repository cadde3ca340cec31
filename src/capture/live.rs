//! Live capture on Linux through libpcap (the `pcap` crate).
//!
//! Choices, all measured on this project's test machine (issue 4):
//! - TPACKET_V3 ring, no immediate mode: a 64 MiB ring kept 200,000 of
//!   200,000 packets at ~400k packets/s, where immediate mode (which makes
//!   libpcap fall back to TPACKET_V2) dropped most of them.
//! - Non-blocking reads plus `poll(2)` with a timeout: in TPACKET_V3 mode a
//!   blocking read can wait forever on a silent link, and the daemon must
//!   still run its timers and notice signals.
//! - A kernel BPF filter, so the ring only carries what the engine can use.

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use pcap::{Active, Capture, Precision};

use crate::util::time::Timestamp;

pub use super::RawPacket;

/// One transport-level alternative of [`default_filter`].
const FILTER_BODY: &str = concat!(
    "tcp or icmp6 or arp",
    " or (udp and (port 443 or port 784 or port 853 or port 4433 or port 4434",
    " or port 5061 or port 5349 or port 5684 or port 6514 or port 8443",
    " or port 10161 or port 10162",
    " or port 67 or port 68 or port 546 or port 547",
    " or (udp[8] = 22 and udp[9] = 254)",
    " or (udp[8] = 22 and udp[9:2] = 0x0100)",
    " or (udp[8] & 0x80 = 0x80 and (udp[9:4] = 1 or udp[9:4] = 0x6b3343cf",
    " or udp[9:2] = 0xff00))))",
    " or (ip and ip[6:2] & 0x3fff != 0)",
    " or (ip6 and (ip6[6] = 0 or ip6[6] = 43 or ip6[6] = 44 or ip6[6] = 51",
    " or ip6[6] = 60))",
    " or ip proto 4 or ip proto 41 or ip proto 47",
    " or ip6 proto 4 or ip6 proto 41 or ip6 proto 47",
    " or (udp and (port 4789 or port 8472 or port 6081))"
);

/// The kernel filter when `--filter` is not given (docs/spec.md section 2): TCP;
/// ARP (it teaches the MAC-to-IPv4 table of `ipv6_link_local_leak`, as in `read`);
/// UDP on the ports that carry QUIC, DTLS, DHCP or DHCPv6, plus any UDP datagram that
/// starts like a DTLS handshake record (0x0100 included) or a QUIC long-header packet of a
/// known version (attackers use odd ports); ICMPv6 (NDP); and IP fragments
/// and IPv6 packets with extension headers, whose transport header the
/// kernel filter cannot reach but the decoder can; tunnels (IP-in-IP, GRE
/// and ERSPAN, VXLAN, Geneve), which `read` opens or analyses by `--decap`.
/// The same again behind one 802.1Q tag, for drivers that leave the tag in
/// the frame, and behind two (QinQ).
pub fn default_filter() -> String {
    // Nested, because each `vlan` moves the offsets of everything after
    // it: "vlan and vlan and (...)" as a third alternative would look for
    // the outer tag where the first alternative left the offsets.
    format!("({FILTER_BODY}) or (vlan and (({FILTER_BODY}) or (vlan and ({FILTER_BODY}))))")
}

/// How to open a live capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Kernel ring size in bytes (TPACKET_V3 blocks).
    pub buffer_size: usize,
    /// Bytes kept of each frame. Large, because GRO hands up super-frames.
    pub snaplen: u32,
    /// See frames not addressed to this host (a mirror port, other hosts' traffic).
    pub promisc: bool,
    /// BPF filter; `None` is [`default_filter`].
    pub filter: Option<String>,
    /// How long the kernel may hold a partly filled ring block before handing
    /// it over: the worst-case delay a quiet link adds to an event.
    pub block_timeout: Duration,
    /// Most packets handed out by one [`LiveCapture::next_batch`] call, so a
    /// flood cannot starve the caller's timers and signal checks.
    pub batch_max: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            buffer_size: 64 << 20,
            snaplen: 262_144,
            promisc: true,
            filter: None,
            block_timeout: Duration::from_millis(100),
            batch_max: 8192,
        }
    }
}

/// Packet counters of the kernel socket since the capture opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets that passed the filter.
    pub received: u64,
    /// Packets the ring had no room for: the sensor was too slow.
    pub dropped: u64,
    /// Packets the interface or its driver dropped.
    pub if_dropped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("interface {iface:?} does not exist")]
    NoSuchInterface { iface: String },
    #[error("cannot capture on {iface:?}: {cause}")]
    Open { iface: String, cause: String },
    #[error("capture filter {filter:?} rejected: {cause}")]
    Filter { filter: String, cause: String },
    #[error("interface {iface:?} disappeared while capturing ({cause})")]
    InterfaceGone { iface: String, cause: String },
    #[error("capture on {iface:?} failed: {cause}")]
    Read { iface: String, cause: String },
    #[error("no capture interface: {0}")]
    NoInterface(String),
    #[error("stopped while waiting for interface {iface:?}")]
    Stopped { iface: String },
}

impl CaptureError {
    /// Worth retrying under `--wait-iface`: the interface may appear later.
    pub fn is_missing_interface(&self) -> bool {
        matches!(
            self,
            CaptureError::NoSuchInterface { .. } | CaptureError::NoInterface(_)
        )
    }
}

/// An open live capture.
pub struct LiveCapture {
    cap: Capture<Active>,
    iface: String,
    linktype: u32,
    batch_max: usize,
    stats: StatsAccumulator,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("iface", &self.iface)
            .finish_non_exhaustive()
    }
}

impl LiveCapture {
    pub fn open(iface: &str, opts: &LiveOptions) -> Result<Self, CaptureError> {
        if !interface_exists(iface) {
            return Err(CaptureError::NoSuchInterface {
                iface: iface.to_owned(),
            });
        }
        let open_err = |e: pcap::Error| CaptureError::Open {
            iface: iface.to_owned(),
            cause: e.to_string(),
        };
        let clamp = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let block_ms = clamp(
            opts.block_timeout
                .as_millis()
                .try_into()
                .unwrap_or(usize::MAX),
        )
        .max(1);
        let cap = Capture::from_device(iface)
            .map_err(open_err)?
            .snaplen(clamp(opts.snaplen as usize))
            .buffer_size(clamp(opts.buffer_size))
            .promisc(opts.promisc)
            .immediate_mode(false)
            .timeout(block_ms)
            .precision(Precision::Nano)
            .open()
            .map_err(open_err)?;
        let mut cap = cap.setnonblock().map_err(open_err)?;
        let filter = opts.filter.clone().unwrap_or_else(default_filter);
        cap.filter(&filter, true)
            .map_err(|e| CaptureError::Filter {
                filter,
                cause: e.to_string(),
            })?;
        let linktype = dlt_to_linktype(cap.get_datalink().0);
        Ok(LiveCapture {
            cap,
            iface: iface.to_owned(),
            linktype,
            batch_max: opts.batch_max.max(1),
            stats: StatsAccumulator::default(),
        })
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// LINKTYPE_* of the frames this capture hands out.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// Hands the packets that are ready to `f`, waiting at most `timeout` for
    /// the first. Returns how many were handed out; 0 when the wait ran out or
    /// a signal interrupted it (the caller checks its flags and comes back).
    pub fn next_batch(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(RawPacket<'_>),
    ) -> Result<usize, CaptureError> {
        // Packets already in a handed-over block come first: poll(2) only
        // reports blocks the kernel has not yet handed over.
        let n = self.dispatch(&mut f)?;
        if n > 0 {
            return Ok(n);
        }
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        let revents = match nix::poll::poll(&mut fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => return Ok(0),
            Ok(_) => fds[0].revents().unwrap_or(PollFlags::empty()),
            Err(e) => return Err(self.read_error(format!("poll: {e}"))),
        };
        let n = self.dispatch(&mut f)?;
        if n == 0
            && revents.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL)
        {
            // libpcap normally turns these into an error itself; never spin on them.
            return Err(self.read_error(format!("poll reported {revents:?} on the capture socket")));
        }
        Ok(n)
    }

    fn dispatch(&mut self, f: &mut impl FnMut(RawPacket<'_>)) -> Result<usize, CaptureError> {
        let linktype = self.linktype;
        let res = self.cap.dispatch(Some(self.batch_max), |p| {
            // With nanosecond precision libpcap stores nanoseconds in tv_usec.
            let secs = p.header.ts.tv_sec;
            let nanos = u32::try_from(p.header.ts.tv_usec).unwrap_or(0);
            f(RawPacket {
                ts: Timestamp::new(secs, nanos),
                linktype,
                data: p.data,
                orig_len: p.header.len,
            })
        });
        match res {
            Ok(n) => Ok(n),
            Err(e) => Err(self.read_error(e.to_string())),
        }
    }

    fn read_error(&self, cause: String) -> CaptureError {
        let iface = self.iface.clone();
        // The socket reports a deleted interface while its unregistration is
        // still under way: give sysfs a moment to catch up before deciding.
        let deadline = Instant::now() + Duration::from_millis(300);
        while interface_exists(&iface) {
            if Instant::now() >= deadline {
                return CaptureError::Read { iface, cause };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        CaptureError::InterfaceGone { iface, cause }
    }

    /// Kernel counters since the capture opened.
    pub fn stats(&mut self) -> KernelStats {
        if let Ok(s) = self.cap.stats() {
            self.stats.update(s.received, s.dropped, s.if_dropped);
        }
        self.stats.total
    }
}

/// libpcap's counters are 32-bit and wrap; the daemon runs for months.
#[derive(Debug, Default)]
struct StatsAccumulator {
    last: (u32, u32, u32),
    total: KernelStats,
}

impl StatsAccumulator {
    fn update(&mut self, received: u32, dropped: u32, if_dropped: u32) {
        let (r, d, i) = self.last;
        self.total.received += u64::from(received.wrapping_sub(r));
        self.total.dropped += u64::from(dropped.wrapping_sub(d));
        self.total.if_dropped += u64::from(if_dropped.wrapping_sub(i));
        self.last = (received, dropped, if_dropped);
    }
}

/// libpcap reports DLT_* values; they equal LINKTYPE_* except for raw IP.
fn dlt_to_linktype(dlt: i32) -> u32 {
    match dlt {
        12 | 14 => super::linktype::RAW, // DLT_RAW differs between platforms
        n => u32::try_from(n).unwrap_or(0),
    }
}

pub fn interface_exists(iface: &str) -> bool {
    valid_iface_name(iface) && Path::new("/sys/class/net").join(iface).exists()
}

/// A Linux interface name: 1 to 15 bytes, no `/`, whitespace or NUL, not `.`/`..`.
fn valid_iface_name(iface: &str) -> bool {
    !iface.is_empty()
        && iface.len() < 16
        && iface != "."
        && iface != ".."
        && !iface
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

/// The interface `run` captures on and why (logged at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceChoice {
    pub iface: String,
    pub reason: String,
}

/// What interface selection needs to know about the host's interfaces.
pub trait InterfaceInfo {
    fn exists(&self, iface: &str) -> bool;
    /// The lower (parent) device of a stacked device such as a macvlan.
    fn parent_of(&self, iface: &str) -> Option<String>;
}

/// The host's interfaces, from sysfs.
pub struct SysfsInterfaces;

impl InterfaceInfo for SysfsInterfaces {
    fn exists(&self, iface: &str) -> bool {
        interface_exists(iface)
    }

    fn parent_of(&self, iface: &str) -> Option<String> {
        if !valid_iface_name(iface) {
            return None;
        }
        // A stacked device links its lower device as `lower_<name>`.
        let dir = std::fs::read_dir(Path::new("/sys/class/net").join(iface)).ok()?;
        let mut lowers: Vec<String> = dir
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_prefix("lower_")
                    .map(str::to_owned)
            })
            .collect();
        lowers.sort();
        lowers.into_iter().next()
    }
}

/// DECNET's host-side helper interfaces, in the order docs/spec.md section 2 tries them.
pub const HELPER_IFACES: [&str; 2] = ["decnet_macvlan0", "decnet_ipvlan0"];

/// Picks the capture interface (docs/spec.md section 2): the one named by `--iface`,
/// `DECNET_SNIFFER_IFACE` or the config file (`explicit`: name and which of
/// them, decided by the caller's precedence), else the state file's
/// `config.interface`, else DECNET's helper interface. A helper is replaced
/// by its parent NIC when it has one: measured on a replica of a DECNET host
/// (docs/topology.md), a macvlan helper sees only the host's own traffic,
/// the parent sees every attacker <-> decky conversation.
pub fn select_interface(
    explicit: Option<(&str, &str)>,
    state: Option<&str>,
    info: &impl InterfaceInfo,
) -> Result<IfaceChoice, CaptureError> {
    let nonempty = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some((iface, why)) = explicit.and_then(|(i, why)| Some((nonempty(Some(i))?, why))) {
        return Ok(IfaceChoice {
            iface,
            reason: why.to_owned(),
        });
    }
    if let Some(iface) = nonempty(state) {
        return Ok(IfaceChoice {
            iface,
            reason: "the fleet's parent NIC (config.interface in the state file)".into(),
        });
    }
    for helper in HELPER_IFACES {
        if !info.exists(helper) {
            continue;
        }
        if let Some(parent) = info.parent_of(helper).filter(|p| info.exists(p)) {
            return Ok(IfaceChoice {
                iface: parent,
                reason: format!(
                    "parent of DECNET's helper {helper} (the helper itself does not see traffic \
                     between attackers and deckies)"
                ),
            });
        }
        return Ok(IfaceChoice {
            iface: helper.to_owned(),
            reason: format!(
                "DECNET's helper {helper}, parent unknown: unicast traffic between attackers and \
                 deckies may be invisible here; set --iface to the parent NIC"
            ),
        });
    }
    Err(CaptureError::NoInterface(
        "no --iface, DECNET_SNIFFER_IFACE, config.interface in the state file, \
         decnet_macvlan0 or decnet_ipvlan0"
            .into(),
    ))
}

/// Calls `attempt` until it succeeds, fails for a reason other than a
/// missing interface, or `wait` has passed; backs off from 250 ms to 5 s
/// between attempts. `stop` ends the wait early (SIGTERM during start-up).
pub fn retry_missing_interface<T>(
    wait: Duration,
    stop: &AtomicBool,
    mut attempt: impl FnMut() -> Result<T, CaptureError>,
    mut on_retry: impl FnMut(&CaptureError, Duration),
) -> Result<T, CaptureError> {
    let deadline = Instant::now() + wait;
    let mut backoff = Duration::from_millis(250);
    loop {
        let err = match attempt() {
            Ok(v) => return Ok(v),
            Err(e) if e.is_missing_interface() => e,
            Err(e) => return Err(e),
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(err);
        }
        let pause = backoff.min(deadline - now);
        on_retry(&err, pause);
        let until = now + pause;
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                let iface = match &err {
                    CaptureError::NoSuchInterface { iface } => iface.clone(),
                    _ => String::new(),
                };
                return Err(CaptureError::Stopped { iface });
            }
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct FakeIfaces(BTreeMap<&'static str, Option<&'static str>>);
    impl InterfaceInfo for FakeIfaces {
        fn exists(&self, iface: &str) -> bool {
            self.0.contains_key(iface)
        }
        fn parent_of(&self, iface: &str) -> Option<String> {
            self.0.get(iface).copied().flatten().map(str::to_owned)
        }
    }

    fn host(ifaces: &[(&'static str, Option<&'static str>)]) -> FakeIfaces {
        FakeIfaces(ifaces.iter().copied().collect())
    }

    #[test]
    fn selection_follows_spec_order() {
        let h = host(&[("eth0", None), ("decnet_macvlan0", Some("eth0"))]);
        let pick = |e, s| select_interface(e, s, &h).unwrap();
        assert_eq!(
            pick(Some(("ens3", "given with --iface")), Some("ens5")).iface,
            "ens3"
        );
        assert_eq!(
            pick(Some(("ens3", "given with --iface")), None).reason,
            "given with --iface"
        );
        // An empty explicit name counts as unset.
        assert_eq!(
            pick(Some(("", "from DECNET_SNIFFER_IFACE")), Some("ens5")).iface,
            "ens5"
        );
        assert_eq!(pick(None, Some("ens5")).iface, "ens5");
        // The macvlan helper leads to its parent NIC.
        let c = pick(None, None);
        assert_eq!(c.iface, "eth0");
        assert!(c.reason.contains("decnet_macvlan0"), "{}", c.reason);
    }

    #[test]
    fn helper_without_known_parent_is_used_with_a_warning() {
        let h = host(&[("decnet_ipvlan0", None)]);
        let c = select_interface(Some((" ", "x")), Some(""), &h).unwrap();
        assert_eq!(c.iface, "decnet_ipvlan0");
        assert!(c.reason.contains("--iface"));
        let h = host(&[
            ("decnet_macvlan0", None),
            ("decnet_ipvlan0", Some("eth1")),
            ("eth1", None),
        ]);
        assert_eq!(
            select_interface(None, None, &h).unwrap().iface,
            "decnet_macvlan0"
        );
    }

    #[test]
    fn no_interface_at_all_is_a_retryable_error() {
        let e = select_interface(None, None, &host(&[])).unwrap_err();
        assert!(e.is_missing_interface());
    }

    #[test]
    fn kernel_counters_survive_32_bit_wrap() {
        let mut s = StatsAccumulator::default();
        s.update(u32::MAX - 1, 5, 0);
        s.update(3, 7, 0);
        assert_eq!(s.total.received, (1u64 << 32) + 3);
        assert_eq!(s.total.dropped, 7);
    }

    #[test]
    fn interface_names_are_checked_before_touching_sysfs() {
        assert!(!valid_iface_name("../../etc"));
        assert!(!valid_iface_name(""));
        assert!(!valid_iface_name("a-name-of-16-chr"));
        assert!(valid_iface_name("decnet_macvlan0"));
        assert!(!interface_exists("no-such-if0"));
        assert!(interface_exists("lo"));
    }

    #[test]
    fn retry_gives_up_after_wait_and_passes_other_errors_through() {
        let stop = AtomicBool::new(false);
        let mut calls = 0;
        let start = Instant::now();
        let r: Result<(), _> = retry_missing_interface(
            Duration::from_millis(600),
            &stop,
            || {
                calls += 1;
                Err(CaptureError::NoSuchInterface { iface: "x".into() })
            },
            |_, _| {},
        );
        assert!(matches!(r, Err(CaptureError::NoSuchInterface { .. })));
        assert!(
            calls >= 2 && start.elapsed() >= Duration::from_millis(600),
            "{calls}"
        );
        let r: Result<(), _> = retry_missing_interface(
            Duration::from_secs(60),
            &stop,
            || {
                Err(CaptureError::Read {
                    iface: "x".into(),
                    cause: "boom".into(),
                })
            },
            |_, _| {},
        );
        assert!(matches!(r, Err(CaptureError::Read { .. })));
    }

    #[test]
    fn default_filter_compiles() {
        // Compiling needs no privileges on a dead handle.
        let dead = Capture::dead(pcap::Linktype::ETHERNET).unwrap();
        let prog = dead.compile(&default_filter(), true).unwrap();
        assert!(
            prog.get_instructions().len() < 4096,
            "classic BPF program too long for the kernel"
        );
        let syn = tcp_syn_frame();
        assert!(prog.filter(&syn));
        // DHCP, both ways.
        for (sport, dport) in [(68, 67), (67, 68)] {
            assert!(prog.filter(&udp_frame(sport, dport)));
        }
        assert!(!prog.filter(&udp_frame(5000, 5001)));
        // A DTLS handshake record of OpenSSL before 0.9.8f, any port.
        let mut old_dtls = udp_frame(5000, 5001);
        old_dtls.extend([22, 1, 0]);
        old_dtls[17] += 3;
        assert!(prog.filter(&old_dtls));
    }

    /// An Ethernet + IPv4 + UDP frame with an empty payload.
    fn udp_frame(sport: u16, dport: u16) -> Vec<u8> {
        let mut f = tcp_syn_frame();
        f.truncate(14 + 20 + 8);
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f[23] = 17; // UDP
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f[38..40].copy_from_slice(&8u16.to_be_bytes());
        f[40..42].copy_from_slice(&[0, 0]);
        f
    }

    #[test]
    fn default_filter_passes_what_read_analyses_in_tunnels() {
        // Every frame of the tunnel captures (GRE, ERSPAN, VXLAN, Geneve,
        // QinQ) that the decoder takes to TCP or a QUIC/DTLS port passes
        // the kernel filter, so `run` sees what `read` analyses.
        use crate::decode::{decode, Transport};
        let dead = Capture::dead(pcap::Linktype::ETHERNET).unwrap();
        let prog = dead.compile(&default_filter(), true).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut checked = 0;
        for file in [
            "corpus/foxio/pcap/gre-erspan-vxlan.pcap",
            "corpus/foxio/pcap/gre-sample.pcap",
            "corpus/foxio/pcap/tcpdump-geneve.pcap",
            "data/captures/tls-openssl-tls12-qinq.pcap",
        ] {
            let mut cap = crate::capture::file::CaptureFile::open(&root.join(file)).unwrap();
            cap.for_each(|p| {
                let Ok(pkt) = decode(&p) else { return };
                if matches!(pkt.transport, Transport::Tcp(_)) || pkt.tunnel_depth > 0 {
                    assert!(
                        prog.filter(p.data),
                        "{file}: a frame read analyses is filtered out"
                    );
                    checked += 1;
                }
            })
            .unwrap();
        }
        assert!(checked > 50, "{checked}");
        // Not a pass-all filter: DNS stays out.
        let mut dns = tcp_syn_frame();
        dns[23] = 17;
        dns[36..38].copy_from_slice(&53u16.to_be_bytes());
        assert!(!prog.filter(&dns));
    }

    /// An Ethernet + IPv4 + TCP SYN frame (10.0.0.1:1234 -> 10.0.0.2:80).
    fn tcp_syn_frame() -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[12] = 0x08; // IPv4
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[22] = 64;
        f[23] = 6; // TCP
        f[26..30].copy_from_slice(&[10, 0, 0, 1]);
        f[30..34].copy_from_slice(&[10, 0, 0, 2]);
        f[34..36].copy_from_slice(&1234u16.to_be_bytes());
        f[36..38].copy_from_slice(&80u16.to_be_bytes());
        f[46] = 0x50;
        f[47] = 0x02; // SYN
        f
    }
}
