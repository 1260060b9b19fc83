//! The console: screens (insta snapshots), keys, the command line, the
//! directors strip, `/metrics`, and `lvstop demo` in a real tmux.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod ui_fixture;

mod console_tmux;
mod metrics_examples;
mod metrics_render;
mod ui_cmdline;
mod ui_directors;
mod ui_keys;
mod ui_screens;
