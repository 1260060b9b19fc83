//! The pieces of `lvstop demo` around the director engine and the console:
//! the reference deployment rebuilt on loopback, unprivileged.
//!
//! The reference deployment has two directors (master / backup, `vrrp_instance
//! VI_1`), a VIP, two web real servers whose pages read `This is test` and
//! the host name, and three checks an operator runs: traffic spreads over
//! both real servers, stopping the master moves the VIP, stopping a web
//! server removes it from the table. Here:
//!
//! - [`web`]: the two web real servers, stoppable and restartable.
//! - [`load`]: a client load against VIP:port that counts answers per
//!   real server, so the spread (first check) and a stopped server
//!   (third check) show without running curl in a loop.
//! - [`config`]: the two directors' keepalived.conf texts.
//! - [`world`]: all of the above started together.
//! - [`directors`]: the two engines on an in-memory VRRP segment.
//!
//! This module never binds outside 127.0.0.0/8 (or `::1`) and never
//! needs root.

pub mod config;
pub mod directors;
pub mod load;
pub mod run;
pub mod web;
pub mod world;

use std::net::SocketAddr;

pub use config::{DemoOptions, DirectorConfig, DirectorRole, RealServerSpec};
pub use load::{FailureKind, LoadGenerator, LoadOptions, LoadStats};
pub use web::WebServer;
pub use world::DemoWorld;

/// Why a demo piece could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("demo options: {0}")]
    Options(String),
    #[error("director {name}: {why}")]
    Director { name: String, why: String },
    #[error("no real server number {index} (the demo has {count})")]
    NoSuchServer { index: usize, count: usize },
    /// The console on top of the demo failed.
    #[error(transparent)]
    Console(#[from] crate::ui::UiError),
}
