//! keepalived.conf as lvstop reads it: loading, diagnostics, `lvstop check`,
//! keepalived's sample corpus and property tests of the pipeline.
//!
//! One test binary per area, one module per topic; `cargo test --test
//! AREA MODULE` runs a module alone. Privileged tests take
//! `support::privileged_test`, which keeps the modules apart from each
//! other (see `support::group_lock`).

#[path = "../support/mod.rs"]
mod support;

mod check_constructs;
mod cli_check;
mod code_conventions;
mod config_corpus;
mod config_invalid;
mod config_properties;
mod demo_config;
