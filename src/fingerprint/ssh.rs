//! ssh fingerprints (placeholder until implemented).
