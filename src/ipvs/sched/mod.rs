//! IPVS schedulers: given a service's destinations and a new connection,
//! pick the destination the kernel would pick.
//!
//! Each scheduler reproduces the kernel's `net/netfilter/ipvs/ip_vs_*.c`
//! selection sequence exactly, so the userspace dataplane and a kernel
//! director distribute the same way. The contract mirrors
//! `struct ip_vs_scheduler`:
//!
//! - `dests` is always the service's list in kernel order (newest first,
//!   see [`crate::ipvs::Service`]); the caller owns it and passes it in.
//! - [`Scheduler::dests_changed`] is called after every add, edit and delete
//!   (the kernel's `add_dest` / `upd_dest` / `del_dest` hooks), with the list
//!   as it is after the change.
//! - [`Scheduler::schedule`] returns an index into `dests`. Destinations
//!   with weight <= 0 or `overloaded` are skipped as the kernel skips them.
//!
//! Schedulers never do I/O and read time only from the `now` they are given.

mod rr;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::model::{Dest, DestKey, Protocol, ServiceConfig};

pub use rr::RoundRobin;

/// What a scheduler sees of a new connection's first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    pub protocol: Protocol,
    /// Source address and port (what sh and mh hash).
    pub client: SocketAddr,
    /// Destination address and port as the packet carries it (what dh and
    /// lblc hash; for fwmark services it is the packet's real destination).
    pub destination: SocketAddr,
}

/// A change to the destination list, reported after it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestChange {
    /// A destination was inserted at `index` (0 for a new one: the kernel
    /// adds at the head of the list).
    Added { index: usize },
    /// The destination at `index` changed weight, thresholds or method.
    Updated { index: usize },
    /// The destination `key` that was at `index` was unlinked.
    Removed { index: usize, key: DestKey },
}

/// The kernel's "no destination available" (`ip_vs_scheduler_err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no destination available")]
pub struct NoDestination;

/// A scheduler name the kernel would reject ("Scheduler not found").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scheduler '{0}' (known: {known})", known = KNOWN.join(", "))]
pub struct UnknownScheduler(pub String);

/// Every scheduler the kernel ships, in the kernel's Kconfig order.
pub const KNOWN: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "fo", "ovf", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "twos",
];

/// One scheduling algorithm bound to one service (`svc->sched_data`).
pub trait Scheduler: Send + fmt::Debug {
    /// The kernel's name for it (`wrr`).
    fn name(&self) -> &'static str;

    /// The destination list changed; `dests` is the list after the change.
    fn dests_changed(&mut self, dests: &[Dest], change: DestChange);

    /// Pick a destination for a new connection; returns an index into
    /// `dests`. `now` is a monotonic time for schedulers that age state.
    fn schedule(
        &mut self,
        dests: &[Dest],
        packet: &Packet,
        now: Duration,
    ) -> Result<usize, NoDestination>;
}

/// Bind the named scheduler to a service whose destinations are already
/// `dests` (the kernel's `init_service` on add or scheduler change).
pub fn bind(
    service: &ServiceConfig,
    dests: &[Dest],
) -> Result<Box<dyn Scheduler>, UnknownScheduler> {
    let _ = dests;
    match service.scheduler.as_str() {
        "rr" => Ok(Box::new(RoundRobin::new())),
        other => Err(UnknownScheduler(other.to_string())),
    }
}

/// Whether a destination may take new connections: the test every kernel
/// scheduler applies (`!(flags & IP_VS_DEST_F_OVERLOAD) && weight > 0`).
pub fn is_available(dest: &Dest) -> bool {
    !dest.overloaded && dest.weight() > 0
}
