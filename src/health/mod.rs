//! Health checking of real servers, with keepalived's semantics.
//!
//! - [`outcome`]: what one probe found and why, in words an operator can
//!   act on. Shared by the probes (which produce it) and the runner (which
//!   turns a series of them into up/down decisions).
//! - [`probe`]: one attempt of one checker (TCP_CHECK, HTTP_GET, …)
//!   against one real server, with real sockets and processes.
//! - [`target`]: what a probe needs (address, bind, timeout) and the
//!   [`target::Prober`] trait the probes implement.
//! - [`runner`]: keepalived's checker rules as a sans-I/O state machine.
//! - [`driver`]: the tokio task that runs a runner against real probes.
//! - [`service`]: the daemon's checking: runner, driver, scripts, alerts,
//!   FIFO lines, and the table health wants; reload keeps state.
//! - [`report`]: the checks as the control socket sends them, and the
//!   text `lvstop --once` prints.
//!
//! This module owns no sockets of the dataplane and never touches the IPVS
//! table itself: its output is desired membership and weights, applied by
//! the engine.

pub mod driver;
pub mod machine;
pub mod outcome;
pub mod probe;
pub mod report;
pub mod service;
pub mod target;
