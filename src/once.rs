//! `lvstop --once`: print the director's state once, in ipvsadm's layout,
//! and exit.
//!
//! Source resolution (DESIGN §1): a reachable daemon first; else the
//! kernel's tables (comes with the kernel backend). `--source` forces one.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{CommonOptions, ListingOptions, SourceChoice};
use crate::control::client::Client;
use crate::control::protocol::{Hello, Request, Response};
use crate::control::ControlError;
use crate::ipvs::format::{self, ListOptions};
use crate::ipvs::model::{Connection, Daemon, Table, Timeouts};

/// Exit status when the state could not be read (ipvsadm exits 1 too).
const EXIT_UNREADABLE: u8 = 1;

/// Entry point of `lvstop --once`.
pub fn run(common: &CommonOptions, listing: &ListingOptions) -> ExitCode {
    let output = match common.source {
        SourceChoice::Kernel => Err(OnceError::KernelSourceMissing),
        SourceChoice::Daemon | SourceChoice::Auto => from_daemon(common, listing),
    };
    match output {
        Ok(text) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lvstop --once: {e}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum OnceError {
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("reading the kernel's IPVS tables directly is not built yet; start `lvstop daemon` or use --source daemon")]
    KernelSourceMissing,
    #[error("{0}, and reading the kernel's IPVS tables directly is not built yet")]
    NoSource(ControlError),
    #[error("the daemon answered {0:?} to a {1} request")]
    Unexpected(Box<Response>, &'static str),
}

/// Everything `--json` prints; documented in the README.
#[derive(Debug, Serialize)]
struct JsonOnce {
    source: JsonSource,
    table: Table,
    connections: Vec<Connection>,
    timeouts: Timeouts,
    daemons: Vec<Daemon>,
}

#[derive(Debug, Serialize)]
struct JsonSource {
    kind: &'static str,
    socket: String,
    daemon: Hello,
}

fn from_daemon(common: &CommonOptions, listing: &ListingOptions) -> Result<String, OnceError> {
    let mut client = match Client::connect(&common.socket) {
        Ok(client) => client,
        Err(e @ ControlError::NoDaemon { .. }) if common.source == SourceChoice::Auto => {
            return Err(OnceError::NoSource(e));
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = String::new();
    if listing.json {
        let hello = expect_hello(client.request(Request::Hello)?)?;
        let report = JsonOnce {
            source: JsonSource {
                kind: "daemon",
                socket: common.socket.display().to_string(),
                daemon: hello,
            },
            table: expect_table(client.request(Request::Table)?)?,
            connections: expect_connections(client.request(Request::Connections)?)?,
            timeouts: expect_timeouts(client.request(Request::Timeouts)?)?,
            daemons: expect_daemons(client.request(Request::Daemons)?)?,
        };
        out = serde_json::to_string_pretty(&report)
            .map_err(|e| ControlError::BadResponse(e.to_string()))?;
        out.push('\n');
        return Ok(out);
    }
    let options = list_options(listing);
    if listing.save {
        let table = expect_table(client.request(Request::Table)?)?;
        format::save(&table, listing.numeric, &mut out);
    } else if listing.connection {
        let conns = expect_connections(client.request(Request::Connections)?)?;
        format::connections(&conns, &options, &mut out);
    } else if listing.timeout {
        let timeouts = expect_timeouts(client.request(Request::Timeouts)?)?;
        format::timeouts(&timeouts, &mut out);
    } else if listing.sync_daemon {
        let daemons = expect_daemons(client.request(Request::Daemons)?)?;
        format::daemons(&daemons, &mut out);
    } else {
        let table = expect_table(client.request(Request::Table)?)?;
        format::list(&table, &options, &mut out);
    }
    Ok(out)
}

fn list_options(listing: &ListingOptions) -> ListOptions {
    ListOptions {
        numeric: listing.numeric,
        stats: listing.stats,
        rate: listing.rate,
        exact: listing.exact,
        thresholds: listing.thresholds,
        persistent_conn: listing.persistent_conn,
        tun_info: listing.tun_info,
        nosort: listing.nosort,
    }
}

fn expect_hello(response: Response) -> Result<Hello, OnceError> {
    match response {
        Response::Hello(hello) => Ok(hello),
        other => Err(OnceError::Unexpected(Box::new(other), "hello")),
    }
}

fn expect_table(response: Response) -> Result<Table, OnceError> {
    match response {
        Response::Table(table) => Ok(table),
        other => Err(OnceError::Unexpected(Box::new(other), "table")),
    }
}

fn expect_connections(response: Response) -> Result<Vec<Connection>, OnceError> {
    match response {
        Response::Connections(conns) => Ok(conns),
        other => Err(OnceError::Unexpected(Box::new(other), "connections")),
    }
}

fn expect_timeouts(response: Response) -> Result<Timeouts, OnceError> {
    match response {
        Response::Timeouts(timeouts) => Ok(timeouts),
        other => Err(OnceError::Unexpected(Box::new(other), "timeouts")),
    }
}

fn expect_daemons(response: Response) -> Result<Vec<Daemon>, OnceError> {
    match response {
        Response::Daemons(daemons) => Ok(daemons),
        other => Err(OnceError::Unexpected(Box::new(other), "daemons")),
    }
}
