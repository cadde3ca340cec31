//! http fingerprints (placeholder until implemented).
