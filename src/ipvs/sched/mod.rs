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
//! - [`bind`] is the kernel's `init_service`: call it when the service is
//!   created (usually with no destinations yet, as `ipvsadm -A` does) and
//!   again when its scheduler *name* changes. The two start states differ
//!   in the kernel too: wrr bound over 4,3,2 gives `A A B A B C A B C`,
//!   while the same destinations added one by one to a live wrr service
//!   first give `A B C`.
//! - [`Scheduler::service_changed`] follows a service edit that keeps the
//!   scheduler (sh/mh read the flags live); [`Scheduler::seed_rng`] seeds
//!   twos' generator.
//! - The counters and the overload flag are the caller's, kept with
//!   [`crate::ipvs::accounting`]; they change without notification, as in
//!   the kernel.
//!
//! Schedulers never do I/O and read time only from the `now` they are given
//! (only lblc and lblcr age state).
//!
//! Kernel facts every scheduler here relies on:
//! - new destinations go to the head of the list, so index 0 is the newest;
//! - `weight <= 0` quiesces a destination and `overloaded` (the kernel's
//!   `IP_VS_DEST_F_OVERLOAD`, see [`crate::ipvs::accounting`]) excludes it,
//!   each scheduler applying the exact test its kernel file applies;
//! - the connection overhead is `(active << 8) + inactive` in a 32-bit int
//!   ([`conn_overhead`]); sed and nq use `active + 1` instead.

mod dh;
mod fo;
mod hash;
mod lblc;
mod lblcr;
mod lc;
mod locality;
mod mh;
mod nq;
mod ovf;
mod rr;
mod sed;
mod sh;
mod twos;
mod wlc;
mod wrr;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::model::{Dest, DestKey, Protocol, ServiceConfig, ServiceFlags};

pub use dh::DestinationHashing;
pub use fo::WeightedFailover;
pub use hash::{hash_32, hsiphash_u32, siphash13};
pub use lblc::LocalityLeastConnection;
pub use lblcr::LocalityLeastConnectionReplicated;
pub use lc::LeastConnection;
pub use mh::{MaglevHashing, MH_TABLE_SIZE};
pub use nq::NeverQueue;
pub use ovf::Overflow;
pub use rr::RoundRobin;
pub use sed::ShortestExpectedDelay;
pub use sh::{SourceHashing, SH_TABLE_SIZE};
pub use twos::TwoChoices;
pub use wlc::WeightedLeastConnection;
pub use wrr::WeightedRoundRobin;

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

    /// The service was edited without a scheduler change (`ipvsadm -E` with
    /// the same `-s`). The kernel's sh and mh read `svc->flags` on every
    /// pick, so they take the new `sh-port`/`sh-fallback` bits from here;
    /// the others ignore it. (A different scheduler name means a new
    /// [`bind`], as the kernel re-runs `init_service`.)
    fn service_changed(&mut self, _service: &ServiceConfig) {}

    /// Reseed the scheduler's random source. Only `twos` draws random
    /// numbers; every other scheduler ignores this.
    fn seed_rng(&mut self, _seed: u64) {}
}

/// Bind the named scheduler to a service whose destinations are already
/// `dests` (the kernel's `init_service` on add or scheduler change).
pub fn bind(
    service: &ServiceConfig,
    dests: &[Dest],
) -> Result<Box<dyn Scheduler>, UnknownScheduler> {
    let family = service.key.family();
    let flags = service.flags;
    Ok(match service.scheduler.as_str() {
        "rr" => Box::new(RoundRobin::new()),
        "wrr" => Box::new(WeightedRoundRobin::new(dests)),
        "lc" => Box::new(LeastConnection),
        "wlc" => Box::new(WeightedLeastConnection),
        "fo" => Box::new(WeightedFailover),
        "ovf" => Box::new(Overflow),
        "lblc" => Box::new(LocalityLeastConnection::new(family, dests)),
        "lblcr" => Box::new(LocalityLeastConnectionReplicated::new(family, dests)),
        "dh" => Box::new(DestinationHashing::new(family, dests)),
        "sh" => Box::new(SourceHashing::new(family, flags, dests)),
        "mh" => Box::new(MaglevHashing::new(family, flags, dests)),
        "sed" => Box::new(ShortestExpectedDelay),
        "nq" => Box::new(NeverQueue),
        "twos" => Box::new(TwoChoices::from_entropy()),
        other => return Err(UnknownScheduler(other.to_string())),
    })
}

/// Whether a destination may take new connections: the test every kernel
/// scheduler applies (`!(flags & IP_VS_DEST_F_OVERLOAD) && weight > 0`).
pub fn is_available(dest: &Dest) -> bool {
    !dest.overloaded && dest.weight() > 0
}

/// `ip_vs_dest_conn_overhead()`: `(activeconns << 8) + inactconns`, computed
/// in the kernel's 32-bit signed int (so it wraps where the kernel wraps).
pub fn conn_overhead(dest: &Dest) -> i32 {
    (dest.active as i32)
        .wrapping_mul(256)
        .wrapping_add(dest.inactive as i32)
}

/// `sh-fallback` / `mh-fallback` (`IP_VS_SVC_F_SCHED1`).
pub(crate) fn fallback_flag(flags: ServiceFlags) -> bool {
    flags.has(ServiceFlags::SCHED1)
}

/// `sh-port` / `mh-port` (`IP_VS_SVC_F_SCHED2`).
pub(crate) fn port_flag(flags: ServiceFlags) -> bool {
    flags.has(ServiceFlags::SCHED2)
}

/// The port the hashing schedulers mix in: the packet's source port for
/// TCP, UDP and SCTP (`ip_vs_sh_get_port` / `ip_vs_mh_get_port`).
pub(crate) fn hashed_port(packet: &Packet) -> u16 {
    match packet.protocol {
        Protocol::Tcp | Protocol::Udp | Protocol::Sctp => packet.client.port(),
    }
}

/// `gcd()` of `include/linux/gcd.h` for the positive weights the schedulers
/// feed it.
pub(crate) fn gcd(mut a: i32, mut b: i32) -> i32 {
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}
