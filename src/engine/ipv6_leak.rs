//! `ipv6_link_local_leak` (placeholder: the QUIC/IPv6 work replaces this
//! file). Every decoded packet passes through [`LeakTracker::observe`]:
//! IPv4 frames teach the MAC-to-IPv4 table, IPv6 frames with a link-local
//! source to or from a decky produce the event.

use super::{Context, DeckyMap, Limits};
use crate::decode::Packet;
use crate::util::time::Timestamp;

#[derive(Debug, Default)]
pub struct LeakTracker;

impl LeakTracker {
    pub fn new(_limits: &Limits) -> Self {
        LeakTracker
    }

    pub fn observe(
        &mut self,
        _cx: &mut Context,
        _deckies: &DeckyMap,
        _pkt: &Packet<'_>,
        _ts: Timestamp,
    ) {
    }
}
