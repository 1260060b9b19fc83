//! The IPVS domain, shared by every dataplane: what a virtual service and a
//! real server are ([`model`]), how the kernel picks a real server for a new
//! connection ([`sched`]), and the connection accounting both dataplanes
//! keep ([`model::Dest`] counters, updated with the kernel's overload
//! hysteresis by the methods in [`accounting`]).
//!
//! This module owns kernel semantics, never I/O: the kernel backend and the
//! userspace dataplane translate to and from these types.

pub mod accounting;
pub mod desired;
pub mod estimator;
pub mod format;
pub mod model;
pub mod reconcile;
pub mod sched;

pub use model::{
    Connection, Daemon, DaemonState, Dest, DestConfig, DestKey, Forward, Info, Rates, Service,
    ServiceConfig, ServiceFlags, ServiceKey, Stats, Table, Timeouts, TunnelConfig, TunnelType,
};
