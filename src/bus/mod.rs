//! Publication of traffic events (DECNET UNIX-socket bus, NATS).
