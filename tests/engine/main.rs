//! The running engine as an operator drives it: `lvstop daemon`, `--once`,
//! `lvstop ctl`, the control socket, and the demo's directors and world.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod control_socket;
mod control_subscribe;
mod ctl_apply;
mod ctl_daemon;
mod daemon_once;
mod demo_directors;
mod demo_traffic;
mod demo_web;
mod demo_world;
mod once_directors;
