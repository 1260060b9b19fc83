//! The network-namespace tier (root, `LVSTOP_TEST_PRIVILEGED=1`): VRRP
//! between directors, interop with the real keepalived, the observer, the
//! exporter and `lvstop check` against `keepalived -t`.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod differential;
mod harness;

mod apply_tier2_vrrp_reload;
mod tier2_check_differential;
mod tier2_check_vs_keepalived;
mod tier2_console_directors;
mod tier2_metrics_exporter;
mod tier2_metrics_prometheus;
mod tier2_netns_smoke;
mod tier2_observe_keepalived;
mod tier2_observe_wire;
mod tier2_realserver;
mod tier2_speakers;
mod tier2_vrrp_ah;
mod tier2_vrrp_failover;
mod tier2_vrrp_garp;
mod tier2_vrrp_interop;
mod tier2_vrrp_io;
mod tier2_vrrp_notify;
mod tier2_vrrp_routes;
mod tier2_vrrp_track_process;
mod tier2_vrrp_tracking;
mod tier2_vrrp_vmac;
