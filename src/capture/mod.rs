//! Packet sources: pcap/pcapng files and live interfaces.
