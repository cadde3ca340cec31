//! tls fingerprints (placeholder until implemented).
