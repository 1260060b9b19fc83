//! The observer: a read-only view of a director that lvstop does not run
//! (stock keepalived and kernel IPVS). It reads the kernel's IPVS tables,
//! listens to VRRP on the wire, and asks keepalived for its own state
//! dumps. It never sends a VRRP packet and never changes keepalived's
//! configuration; the only writes it makes are the operator's explicit
//! weight changes on kernel IPVS.
//!
//! - `wire`: the passive VRRP advert listener and its sans-I/O tracker.
//! - `keepalived`: finding a running keepalived and reading its dumps.

pub mod keepalived;
