//! Health checks and notifications: every checker against real responders
//! on loopback, the driver, the daemon end to end, replayed timelines, and
//! notify scripts, FIFOs and e-mail.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod health_probe_common;

mod health_daemon;
mod health_driver;
mod health_probe_misc_file_ping;
mod health_probe_tcp_http;
mod health_probe_udp_dns_smtp;
mod health_replay;
mod notify_fifo;
mod notify_script;
mod notify_smtp;
