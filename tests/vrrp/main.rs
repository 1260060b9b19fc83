//! VRRP without sockets: the codec against captured adverts, replay
//! conformance of the state machine, alerts and reloads on an in-memory
//! segment.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod apply_vrrp_reload;
mod vrrp_alerts;
mod vrrp_codec;
mod vrrp_replay;
