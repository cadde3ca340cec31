//! A decoded packet carried to its shard: the router decodes each frame
//! once, and the shard gets the views back over its copy of the bytes
//! instead of decoding the frame again.
//!
//! Only the innermost IP packet is copied (from its header to the end of
//! the last bytes a view covers): link headers, tunnels and padding stay
//! behind. The views' fields are kept as they are, their byte slices as
//! spans in that copy.

use crate::decode::{IpView, Packet, TcpView, Transport, UdpView};

/// A byte range in the copied bytes (a capture record is at most 16 MiB).
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, Copy)]
enum DetachedTransport {
    Tcp { header: Span, payload: Span },
    Udp { header: Span, payload: Span },
    Icmpv6 { kind: u8, code: u8 },
    Other { protocol: u8 },
}

/// A [`Packet`] without its bytes.
#[derive(Debug, Clone, Copy)]
pub struct DetachedPacket {
    src_mac: Option<[u8; 6]>,
    tunnel_depth: u8,
    /// The IP header's fields; its slices are left empty.
    ip: IpView<'static>,
    ip_header: Span,
    ip_payload: Span,
    transport: DetachedTransport,
}

impl DetachedPacket {
    /// Detaches a whole (not fragment) packet whose views all lie in
    /// `source`: the packet, and the bytes to hand over with it. `None` if
    /// a view lay outside `source`, which decoding never does.
    pub fn detach<'a>(pkt: &Packet<'a>, source: &'a [u8]) -> Option<(Self, &'a [u8])> {
        let base = source.as_ptr() as usize;
        // Where a view lies in `source`; empty views lie nowhere.
        let place = |s: &[u8]| -> Option<(usize, usize)> {
            if s.is_empty() {
                return None;
            }
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            let end = start.checked_add(s.len())?;
            (end <= source.len()).then_some((start, end))
        };
        let transport_views: [&[u8]; 2] = match pkt.transport {
            Transport::Tcp(t) => [t.header, t.payload],
            Transport::Udp(u) => [u.header, u.payload],
            _ => [&[], &[]],
        };
        let views = [
            pkt.ip.header,
            pkt.ip.payload,
            transport_views[0],
            transport_views[1],
        ];
        let mut lo = usize::MAX;
        let mut hi = 0;
        for v in views.iter().filter(|v| !v.is_empty()) {
            let (start, end) = place(v)?;
            lo = lo.min(start);
            hi = hi.max(end);
        }
        if lo > hi {
            // No bytes at all (not a decoded IP packet).
            lo = 0;
            hi = 0;
        }
        let bytes = source.get(lo..hi)?;
        u32::try_from(hi - lo).ok()?;
        let span = |s: &[u8]| match place(s) {
            Some((start, end)) => Span {
                start: (start - lo) as u32,
                end: (end - lo) as u32,
            },
            None => Span::default(),
        };
        let transport = match pkt.transport {
            Transport::Tcp(t) => DetachedTransport::Tcp {
                header: span(t.header),
                payload: span(t.payload),
            },
            Transport::Udp(u) => DetachedTransport::Udp {
                header: span(u.header),
                payload: span(u.payload),
            },
            Transport::Icmpv6 { kind, code } => DetachedTransport::Icmpv6 { kind, code },
            Transport::Other { protocol } => DetachedTransport::Other { protocol },
            // Pieces are put together by the router first.
            Transport::Fragment => return None,
        };
        let detached = DetachedPacket {
            src_mac: pkt.src_mac,
            tunnel_depth: pkt.tunnel_depth,
            ip: IpView {
                header: &[],
                payload: &[],
                ..pkt.ip
            },
            ip_header: span(pkt.ip.header),
            ip_payload: span(pkt.ip.payload),
            transport,
        };
        Some((detached, bytes))
    }

    /// The packet again, over `bytes`: the bytes [`Self::detach`] returned
    /// (or a copy), so every span lies within them.
    pub fn attach<'b>(&self, bytes: &'b [u8]) -> Packet<'b> {
        let at = |s: Span| &bytes[s.start as usize..s.end as usize];
        let transport = match self.transport {
            DetachedTransport::Tcp { header, payload } => Transport::Tcp(TcpView {
                header: at(header),
                payload: at(payload),
            }),
            DetachedTransport::Udp { header, payload } => Transport::Udp(UdpView {
                header: at(header),
                payload: at(payload),
            }),
            DetachedTransport::Icmpv6 { kind, code } => Transport::Icmpv6 { kind, code },
            DetachedTransport::Other { protocol } => Transport::Other { protocol },
        };
        Packet {
            src_mac: self.src_mac,
            ip: IpView {
                header: at(self.ip_header),
                payload: at(self.ip_payload),
                ..self.ip
            },
            transport,
            tunnel_depth: self.tunnel_depth,
        }
    }
}
