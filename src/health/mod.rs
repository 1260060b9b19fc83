//! Health checking of real servers, with keepalived's semantics.
//!
//! - [`outcome`]: what one probe found and why, in words an operator can
//!   act on. Shared by the probes (which produce it) and the runner (which
//!   turns a series of them into up/down decisions).
//! - [`probe`]: one attempt of one checker (TCP_CHECK, HTTP_GET, …)
//!   against one real server, with real sockets and processes.
//!
//! This module owns no sockets of the dataplane and never touches the IPVS
//! table itself: its output is desired membership and weights, applied by
//! the engine.

pub mod outcome;
pub mod probe;
