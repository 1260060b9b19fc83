//! The `lvstop` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

/// mimalloc: configuration loading and the engine allocate many small
/// objects; it is markedly faster than the system allocator for that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use lvstop::cli::{Cli, CliCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match (&cli.command, cli.once) {
        (Some(CliCommand::Check(args)), _) => lvstop::check::run(&cli.common, args),
        (None, true) => lvstop::once::run(&cli.common, &cli.listing, &cli.directors),
        (None, false) => lvstop::console::run(&cli.common, cli.engine, &cli.directors),
        (Some(CliCommand::Daemon(args)), _) => lvstop::daemon::run(&cli.common, args),
        (Some(CliCommand::Ctl { json, verb, .. }), _) => {
            lvstop::ctl::run(&cli.common.socket, verb, *json)
        }
        (Some(CliCommand::Demo(args)), _) => lvstop::demo::run::run(&cli.common, args),
        (Some(CliCommand::Exporter(args)), _) => lvstop::exporter::run(&cli.common, args),
        (
            Some(CliCommand::Realserver {
                action,
                vip,
                dev,
                state_file,
            }),
            _,
        ) => lvstop::net::realserver::run(*action, vip.as_deref(), dev, state_file),
    }
}
