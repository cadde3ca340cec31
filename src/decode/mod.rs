//! Zero-copy decoding of link, tunnel, IP and transport headers.
