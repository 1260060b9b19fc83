//! The director engine: composes the configuration, health checks, VRRP
//! and operator overrides into the table the dataplane should hold, and
//! serves snapshots, events and commands to the console, `--once` and
//! `lvstop ctl`.
//!
//! - [`overrides`]: operator decisions (weights, drains, ramps, disable
//!   reasons) layered over the health-filtered configuration.
//!
//! The engine never imports the UI; its face is the handle and the
//! control socket that serializes it.

pub mod overrides;
