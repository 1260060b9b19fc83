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
//! - [`director`]: the loop that composes it all and drives the
//!   dataplane; [`Engine`](director::Engine) starts it.
//! - [`view`]: the [`Handle`](view::Handle) watchers and commanders hold:
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
pub mod command;
pub mod desk;
pub mod director;
pub mod event;
pub mod gate;
pub mod handle;
pub mod lvs_globals;
pub mod overrides;
pub mod plan;
pub mod snapshot;
pub mod state;
pub mod transaction;
pub mod view;
