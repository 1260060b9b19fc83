//! `track_process` (keepalived.conf(5) "VRRP track processes"): which
//! processes match ([`pattern`]), how a count of them becomes up or down
//! with quorum and delays ([`tracker`]), and reading the process table
//! ([`scan`]).
//!
//! `pattern` and `tracker` are sans-I/O; `scan` is the only part that
//! reads `/proc`, and it never decides anything.

pub mod pattern;
pub mod scan;
pub mod tracker;

pub use pattern::{ProcInfo, ProcessPattern};
pub use tracker::ProcessTracker;
