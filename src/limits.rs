//! The caps and timeouts every table and reader of the packet path is
//! built with (docs/spec.md section 9), shared by the engine and the
//! application analyzers.

/// Caps and timeouts (docs/spec.md section 9 defaults).
#[derive(Debug, Clone)]
pub struct Limits {
    pub flows: usize,
    /// Bytes held per direction while a handshake is reassembled.
    pub reassembly_bytes: usize,
    pub pending_handshakes: usize,
    pub seq_sources: usize,
    /// A flow silent this long is reported and dropped.
    pub flow_idle_secs: u64,
    /// UDP ports treated as QUIC.
    pub quic_ports: Vec<u16>,
    /// Distinct fingerprints counted for `read --summary` (0: none).
    pub tally_fingerprints: usize,
    /// Bytes all state that grows with traffic may take together
    /// (`--memcap`; 0: unlimited).
    pub memcap: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            flows: 1_000_000,
            reassembly_bytes: 16 * 1024,
            pending_handshakes: 262_144,
            seq_sources: 262_144,
            flow_idle_secs: 120,
            quic_ports: vec![443],
            tally_fingerprints: 0,
            memcap: crate::util::budget::DEFAULT_MEMCAP,
        }
    }
}
