//! lvstop: a console and director engine for Linux Virtual Server.
//!
//! The binary (`src/main.rs`) is a thin shell over this library. The
//! configuration language lives in [`config`]; the command line in [`cli`].

pub mod check;
pub mod cli;
pub mod config;
pub mod console;
pub mod control;
pub mod ctl;
pub mod daemon;
pub mod dataplane;
pub mod demo;
pub mod engine;
pub mod exporter;
pub mod fleet;
pub mod health;
pub mod ipvs;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod northbound;
pub mod notify;
pub mod observe;
pub mod once;
pub mod pidfile;
pub mod ui;
pub mod vrrp;
