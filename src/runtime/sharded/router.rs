//! The router, on the caller's thread: decodes every frame once, puts
//! fragmented datagrams back together, judges checksums, keeps the tables
//! that span all hosts (link-local leaks, DHCP clients, IP-ID/ISN samples)
//! and hands each decoded packet to the shard of its remote host.

use std::net::IpAddr;

use super::merge::{tag, Phase};
use super::Chunk;
use crate::capture::RawPacket;
use crate::deckies::DeckyMap;
use crate::decode::{self, DecodeError, Packet, Transport};
use crate::engine::checksums::ChecksumGate;
use crate::engine::dhcp::{self, DhcpTracker};
use crate::engine::ipv6_leak::LeakTracker;
use crate::engine::syn::{is_fingerprinted_syn, sample_seq};
use crate::engine::{Context, Limits};
use crate::fingerprint::p0f::Database as P0fDatabase;
use crate::fingerprint::seqclass::SeqClassTable;
use crate::flow::defrag::{self, DefragTable};
use crate::output::formatted::Formatter;
use crate::util::budget::Budget;
use crate::util::time::Timestamp;

pub struct Router {
    pub deckies: DeckyMap,
    pub leaks: LeakTracker,
    pub dhcp: DhcpTracker,
    /// IP-ID/ISN samples per source, here because a source's SYNs may
    /// reach several shards (observe-all mode, decky to decky).
    pub seq_classes: SeqClassTable,
    formatter: Formatter,
    /// IP datagrams arriving in pieces: whole ones go to the shards.
    pub defrag: DefragTable,
    checksums: ChecksumGate,
    /// Latest packet time seen.
    now: Timestamp,
    pub cx: Context,
}

impl Router {
    /// A router whose tables draw on `budget`.
    pub fn new(
        limits: Limits,
        deckies: DeckyMap,
        p0f_db: &'static P0fDatabase,
        formatter: Formatter,
        budget: Budget,
    ) -> Self {
        let mut leaks = LeakTracker::new(&limits);
        leaks.set_budget(budget.clone());
        let mut dhcp = DhcpTracker::new(dhcp::DEFAULT_MACS);
        dhcp.set_budget(budget.clone());
        let mut seq_classes = SeqClassTable::new(limits.seq_sources);
        seq_classes.set_budget(budget.clone());
        let mut defrag = DefragTable::new(defrag::DEFAULT_BYTES);
        defrag.set_budget(budget.clone());
        Router {
            deckies,
            leaks,
            dhcp,
            seq_classes,
            formatter,
            defrag,
            checksums: ChecksumGate::default(),
            now: Timestamp::default(),
            cx: Context::new(limits, p0f_db, budget),
        }
    }

    /// Decodes frame `index` of `chunk` and routes what it holds.
    pub fn route_frame(&mut self, raw: &RawPacket<'_>, index: u32, chunk: &mut Chunk) {
        self.cx.stats.packets += 1;
        self.cx.stats.bytes += u64::from(raw.orig_len);
        let deckies = &self.deckies;
        let opens = |ip: &decode::IpView<'_>| deckies.opens_tunnel(ip);
        match decode::decode_with(raw, &opens) {
            Ok(pkt) if matches!(pkt.transport, Transport::Fragment) => {
                if let Some(whole) =
                    self.defrag
                        .push_nested(&pkt, self.now.max(raw.ts), &mut self.cx.stats, &opens)
                {
                    match decode::decode_reassembled(
                        &whole.bytes,
                        whole.src_mac,
                        whole.tunnel_depth,
                        &opens,
                    ) {
                        Ok(pkt) => self.route(chunk, index, &pkt, raw.ts),
                        Err(e) => self.cx.stats.decode_error(e),
                    }
                }
            }
            Ok(pkt) => self.route(chunk, index, &pkt, raw.ts),
            Err(e) => {
                if e == DecodeError::NotIp {
                    self.leaks.observe_non_ip(&mut self.cx, raw);
                }
                self.cx.stats.decode_error(e);
            }
        }
        self.now = self.now.max(raw.ts);
        self.defrag.expire(self.now, &mut self.cx.stats);
    }

    /// Sends a whole packet `pkt` to its shard, decoded, after the
    /// router's own observations of it.
    fn route(&mut self, chunk: &mut Chunk, index: u32, pkt: &Packet<'_>, ts: Timestamp) {
        // Checksums are judged here, once for the capture, so the verdicts
        // do not depend on how many shards there are.
        if !self.checksums.admit(pkt, &mut self.cx.stats) {
            return;
        }
        self.leaks.observe(&mut self.cx, &self.deckies, pkt, ts);
        if let Transport::Udp(_) = pkt.transport {
            self.dhcp.observe(&mut self.cx, &self.deckies, pkt, ts);
        }
        for ev in self.cx.out.drain(..) {
            let tag = tag(index, Phase::Leak);
            self.formatter.format(tag, ev, &mut chunk.leak_events);
        }
        let seq = match pkt.transport {
            Transport::Tcp(tcp) if tcp.is_syn() && is_fingerprinted_syn(&self.deckies, pkt) => {
                Some(sample_seq(&mut self.seq_classes, pkt, &tcp))
            }
            _ => None,
        };
        // Only fragments, put together above, have nothing to detach.
        let Some((detached, bytes)) = pkt.detach() else {
            return;
        };
        let shard = self.shard_of(pkt, chunk.batches.len());
        chunk.bytes += chunk.batches[shard].push(index, ts, detached, bytes, seq);
    }

    /// The shard for a packet: by its remote host (see the module docs).
    fn shard_of(&self, pkt: &Packet<'_>, shards: usize) -> usize {
        let (src, dst) = (&pkt.ip.src, &pkt.ip.dst);
        let hash = match (self.deckies.is_decky(src), self.deckies.is_decky(dst)) {
            (false, true) => host_hash(src),
            (true, false) => host_hash(dst),
            // XOR: the same shard for both directions.
            _ => host_hash(src) ^ host_hash(dst),
        };
        shard_index(hash, shards)
    }
}

/// Multiply-shift: maps a hash onto `0..shards` without a division.
fn shard_index(hash: u64, shards: usize) -> usize {
    (((hash >> 32) * shards as u64) >> 32) as usize
}

/// A fixed (seedless) hash of an address, so routing is the same every run.
fn host_hash(ip: &IpAddr) -> u64 {
    let bits = match ip {
        IpAddr::V4(a) => u128::from(u32::from(*a)),
        IpAddr::V6(a) => u128::from(*a),
    };
    let folded = (bits as u64) ^ ((bits >> 64) as u64).rotate_left(29);
    // Fibonacci hashing; one more round mixes low bits into the top.
    let h = folded.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h ^ (h >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_hash_spreads_neighbouring_addresses() {
        let mut counts = [0usize; 4];
        for i in 0..4096u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0xC633_6400 + i));
            counts[shard_index(host_hash(&ip), 4)] += 1;
        }
        for c in counts {
            assert!((900..1150).contains(&c), "{counts:?}");
        }
    }
}
