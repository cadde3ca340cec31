//! quic fingerprints (placeholder until implemented).
