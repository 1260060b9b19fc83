//! The director engine: composes the configuration, health checks, VRRP
//! and operator overrides into the table the dataplane should hold, and
//! serves snapshots, events and commands to the console, `--once` and
//! `lvstop ctl`.
//!
//! - [`overrides`]: operator decisions (weights, drains, ramps, disable
//!   reasons) layered over the health-filtered configuration.
//! - [`command`]: what an operator can ask, with typed outcomes and errors.
//! - [`event`]: the bounded timeline of what happened.
//! - [`channel`]: the command channel the console and the control socket
//!   share.
//! - [`state`]: the decisions without the I/O — every command goes
//!   through it and comes back as one next step (answered, reconcile,
//!   needs I/O); the clock, pending drains and their replies, the audit
//!   trail.
//! - [`director`]: the loop that composes it all; [`Engine`](director::Engine)
//!   starts it. It holds a [`converger`] (the dataplane kept equal to the
//!   wanted table: owned services, drift, retries, the VRRP gate), the
//!   [`running`] configuration (model, text, file, pending apply) and the
//!   [`sync_daemon`].
//! - [`handle`]: the [`Handle`](handle::Handle) watchers and commanders hold:
//!   snapshots, the timeline, subscriptions.
//! - [`snapshot`]: the serde shape of everything the console shows.
//! - [`changes`]: check and VRRP states compared into events.
//! - [`gate`]: which VIPs a userspace director serves (MASTER only).
//! - [`lvs_globals`]: `lvs_timeouts` and `lvs_sync_daemon`.
//! - [`plan`]: what an apply would change (IPVS, VRRP, checks, globals).
//! - [`transaction`]: IPVS operations applied all or nothing.
//!
//! The engine never imports the UI; its face is the handle and the
//! control socket that serializes it.

pub mod changes;
pub mod channel;
pub mod command;
pub mod converger;
pub mod director;
pub mod event;
pub mod gate;
pub mod handle;
pub mod host;
pub mod lvs_globals;
pub mod overrides;
pub mod plan;
pub mod running;
pub mod snapshot;
pub mod state;
pub mod sync_daemon;
pub mod transaction;
