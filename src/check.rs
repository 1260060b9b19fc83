//! `lvstop check`: validate a configuration and report like keepalived
//! `--config-test`.

use std::process::ExitCode;

use crate::cli::{CheckArgs, CommonOptions};

pub fn run(_common: &CommonOptions, _args: &CheckArgs) -> ExitCode {
    eprintln!("lvstop check: not wired yet");
    ExitCode::from(2)
}
