//! Prometheus / OpenMetrics metrics: `lvstop daemon --metrics ADDR:PORT`
//! and `lvstop exporter` serve `/metrics`, built with the Prometheus
//! project's Rust client (`prometheus-client`).
//!
//! Each scrape builds a registry from one snapshot (the engine's, or the
//! observer's on a keepalived director) and encodes it; nothing is kept
//! between scrapes except the engine counters tallied from the timeline.
//! This module only reads snapshots: it never changes the director.
//!
//! - [`view`]: the snapshot's health, checker and VRRP rows in one shape
//!   whatever the source, with the label values.
//! - [`table`]: the IPVS table's families (services, real servers).
//! - [`state`]: health, checkers, VRRP, split brain, engine, build info.
//! - [`write`]: writing one family through prometheus-client's encoder.
//! - [`counters`]: applies, drift and refusals from the timeline.
//! - [`render`]: one scrape's registry and its encoding, by `Accept`.
//! - [`source`]: where a scrape's snapshot comes from.
//! - [`http`]: the small HTTP/1.1 server.
//!
//! Every series, its labels and meaning: README, section "Metrics".

pub mod counters;
pub mod http;
pub mod render;
pub mod source;
pub mod state;
pub mod table;
pub mod view;
pub mod write;

pub use render::{render, Format, RenderOptions};
pub use source::{EngineSource, LatestSource, Source};

/// Bind `/metrics` on `addr`; the caller serves it with [`http::serve`].
pub async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, MetricsError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })
}

/// Why metrics cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot listen for /metrics on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}
