//! HTTP/1.x request fingerprints (placeholder while being written).
