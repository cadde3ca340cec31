//! p0f fingerprints (placeholder until implemented).
