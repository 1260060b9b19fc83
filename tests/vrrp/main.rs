//! VRRP without sockets: the codec against captured adverts, replay
//! conformance of the state machine, alerts and reloads on an in-memory
//! segment.
//!
//! One test binary per area; each module below was a test binary of its
//! own. Privileged tests take `support::privileged_test`, which keeps the
//! modules apart from each other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod apply_vrrp_reload;
mod vrrp_alerts;
mod vrrp_codec;
mod vrrp_replay;
