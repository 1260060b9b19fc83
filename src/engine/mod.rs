//! The director engine: composes the configuration, health checks, VRRP
//! and operator overrides into the table the dataplane should hold, and
//! serves snapshots, events and commands to the console, `--once` and
//! `lvstop ctl`.
//!
//! - [`overrides`]: operator decisions (weights, drains, ramps, disable
//!   reasons) layered over the health-filtered configuration.
//! - [`command`]: what an operator can ask, with typed outcomes and errors.
//! - [`event`]: the bounded timeline of what happened.
//! - [`desk`]: where the director's loop takes commands, answers them
//!   and undoes them when the dataplane refuses.
//! - [`handle`]: the command channel the console and the control socket
//!   share.
//! - [`state`]: the decisions without the I/O — commands against the
//!   configured table, pending drains, the audit trail.
//!
//! The engine never imports the UI; its face is the handle and the
//! control socket that serializes it.

pub mod command;
pub mod desk;
pub mod event;
pub mod handle;
pub mod overrides;
pub mod plan;
pub mod snapshot;
pub mod state;
pub mod transaction;
