//! The engine's named counters: one variant per counter, one name each.
//!
//! Code bumps a variant ([`crate::engine::Stats::bump`]); the summary and
//! `/metrics` print the names of the non-zero ones in [`Counter::ALL`]
//! order. The table is kept in byte order of the names (a unit test checks),
//! which is the order the summary has always printed them in.

/// Declares [`Counter`] and its name table from one list of `Variant => "name"`.
macro_rules! counters {
    ($($variant:ident => $name:literal,)*) => {
        /// A named engine counter (evictions, parse errors, drops, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Counter {
            $($variant,)*
        }

        impl Counter {
            /// Every counter, in name order; `ALL[c as usize] == c`.
            pub const ALL: [Counter; [$($name),*].len()] = [$(Counter::$variant,)*];

            /// The name in the summary, `/metrics` and the README.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Counter::$variant => $name,)*
                }
            }
        }
    };
}

counters! {
    ChecksumBadAcceptedOffload => "checksum_bad_accepted_offload",
    ChecksumBadDropped => "checksum_bad_dropped",
    ChecksumDirectionsReset => "checksum_directions_reset",
    ChecksumValidationTurnedOff => "checksum_validation_turned_off",
    DhcpClientEvictions => "dhcp_client_evictions",
    DhcpFingerprintsReplaced => "dhcp_fingerprints_replaced",
    DhcpParseErrors => "dhcp_parse_errors",
    DhcpRepeatsSuppressed => "dhcp_repeats_suppressed",
    DhcpTruncatedOptions => "dhcp_truncated_options",
    DtlsDatagramsOverFragmentCap => "dtls_datagrams_over_fragment_cap",
    DtlsFragmentedHellos => "dtls_fragmented_hellos",
    DtlsHelloFragmentsInconsistent => "dtls_hello_fragments_inconsistent",
    DtlsHelloFragmentsStale => "dtls_hello_fragments_stale",
    DtlsHelloFragmentsTooLarge => "dtls_hello_fragments_too_large",
    DtlsHellosEvicted => "dtls_hellos_evicted",
    DtlsHellosExpired => "dtls_hellos_expired",
    DtlsHellosReassembled => "dtls_hellos_reassembled",
    DtlsHellosSuperseded => "dtls_hellos_superseded",
    DtlsHellosTooFragmented => "dtls_hellos_too_fragmented",
    DtlsHellosUnfinished => "dtls_hellos_unfinished",
    DtlsParseErrors => "dtls_parse_errors",
    FlowsEvicted => "flows_evicted",
    FlowsIdleExpired => "flows_idle_expired",
    FlowsMemcapEvicted => "flows_memcap_evicted",
    HalfOpenFlowsMemcapEvicted => "half_open_flows_memcap_evicted",
    Http2BadPrefaces => "http2_bad_prefaces",
    Http2ContinuationFloods => "http2_continuation_floods",
    Http2FrameErrors => "http2_frame_errors",
    Http2FrameLimitReached => "http2_frame_limit_reached",
    Http2HeaderListsOversized => "http2_header_lists_oversized",
    Http2HpackErrors => "http2_hpack_errors",
    Http2HpackHuffmanErrors => "http2_hpack_huffman_errors",
    Http2HpackIntegerOverflows => "http2_hpack_integer_overflows",
    Http2HpackTableSizeErrors => "http2_hpack_table_size_errors",
    Http2OversizedFrames => "http2_oversized_frames",
    Http2PrefaceItemsDropped => "http2_preface_items_dropped",
    HttpOversizedHeads => "http_oversized_heads",
    IpFragmentDatagramsEvicted => "ip_fragment_datagrams_evicted",
    IpFragmentDatagramsExpired => "ip_fragment_datagrams_expired",
    IpFragmentDatagramsMemcapEvicted => "ip_fragment_datagrams_memcap_evicted",
    IpFragmentDatagramsOverlap => "ip_fragment_datagrams_overlap",
    IpFragmentDatagramsReassembled => "ip_fragment_datagrams_reassembled",
    IpFragmentDatagramsTooManyPieces => "ip_fragment_datagrams_too_many_pieces",
    IpFragments => "ip_fragments",
    IpFragmentsBadLength => "ip_fragments_bad_length",
    IpFragmentsDuplicate => "ip_fragments_duplicate",
    IpFragmentsEmpty => "ip_fragments_empty",
    IpFragmentsInconsistent => "ip_fragments_inconsistent",
    IpFragmentsMemcap => "ip_fragments_memcap",
    IpFragmentsNestedWithoutTunnel => "ip_fragments_nested_without_tunnel",
    IpFragmentsOversize => "ip_fragments_oversize",
    IpFragmentsSourceBudget => "ip_fragments_source_budget",
    IpFragmentsTiny => "ip_fragments_tiny",
    IpFragmentsTruncated => "ip_fragments_truncated",
    Ipv6LeakDeckyMacEvictions => "ipv6_leak_decky_mac_evictions",
    Ipv6LeakDeckyOwn => "ipv6_leak_decky_own",
    Ipv6LeakLinkLocalEvictions => "ipv6_leak_link_local_evictions",
    Ipv6LeakMacEvictions => "ipv6_leak_mac_evictions",
    PacketsTimeOutOfRange => "packets_time_out_of_range",
    PcapngPacketsWithoutInterface => "pcapng_packets_without_interface",
    QuicBudgetSourceEvictions => "quic_budget_source_evictions",
    QuicClientHellos => "quic_client_hellos",
    QuicConnEvictions => "quic_conn_evictions",
    QuicDecryptFailed => "quic_decrypt_failed",
    QuicDecryptSkipped => "quic_decrypt_skipped",
    QuicDecryptSkippedGlobal => "quic_decrypt_skipped_global",
    QuicFramesMalformed => "quic_frames_malformed",
    QuicFramesUnsupported => "quic_frames_unsupported",
    QuicHeaderErrors => "quic_header_errors",
    QuicHelloBeyondCap => "quic_hello_beyond_cap",
    QuicHelloNotClientHello => "quic_hello_not_client_hello",
    QuicHelloTooFragmented => "quic_hello_too_fragmented",
    QuicHelloTooLarge => "quic_hello_too_large",
    QuicHellosAfterRetryRequest => "quic_hellos_after_retry_request",
    QuicInitialsAfterHello => "quic_initials_after_hello",
    QuicInitialsDecrypted => "quic_initials_decrypted",
    QuicInitialsTooShort => "quic_initials_too_short",
    QuicPendingEvictions => "quic_pending_evictions",
    QuicTlsParseErrors => "quic_tls_parse_errors",
    ReassemblyConflictingOverlaps => "reassembly_conflicting_overlaps",
    ReassemblyDroppedOverMemcap => "reassembly_dropped_over_memcap",
    ReassemblyDroppedSegments => "reassembly_dropped_segments",
    SshJa4sshValuesDropped => "ssh_ja4ssh_values_dropped",
    SshKexinitMalformed => "ssh_kexinit_malformed",
    SshKexinitUnreadable => "ssh_kexinit_unreadable",
    StreamStateMemcapEvicted => "stream_state_memcap_evicted",
    TcpUnobservedPackets => "tcp_unobserved_packets",
    TlsCertificateParseErrors => "tls_certificate_parse_errors",
    TlsClientHelloDroppedOverBudget => "tls_client_hello_dropped_over_budget",
    TlsClientHelloTooLarge => "tls_client_hello_too_large",
    TlsParseErrors => "tls_parse_errors",
    TlsRecordErrors => "tls_record_errors",
}

impl Counter {
    pub const COUNT: usize = Counter::ALL.len();

    /// The slot of this counter in a `[u64; Counter::COUNT]`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The counter called `name` (the summary's and `/metrics`' spelling).
    pub fn from_name(name: &str) -> Option<Counter> {
        Counter::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// What [`crate::engine::Stats::get`] takes: a variant, or a name as the
/// summary prints it (for readers outside the engine, such as tests).
pub trait CounterKey {
    fn counter(self) -> Counter;
}

impl CounterKey for Counter {
    fn counter(self) -> Counter {
        self
    }
}

/// Panics on a name no counter has: a misspelt name must not read as zero.
impl CounterKey for &str {
    fn counter(self) -> Counter {
        Counter::from_name(self).unwrap_or_else(|| panic!("no counter is named {self:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_find_their_counter() {
        for c in Counter::ALL {
            assert_eq!(Counter::from_name(c.name()), Some(c));
        }
        assert_eq!(Counter::from_name("tls_parse_error"), None);
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (i, c) in Counter::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i, "{c:?}");
        }
    }

    /// The summary printed counters from a map ordered by name; the table
    /// keeps that order so the output stays the same.
    #[test]
    fn names_are_unique_and_in_byte_order() {
        for pair in Counter::ALL.windows(2) {
            assert!(
                pair[0].name().as_bytes() < pair[1].name().as_bytes(),
                "{} before {}",
                pair[0].name(),
                pair[1].name()
            );
        }
    }
}
