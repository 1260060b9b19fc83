//! `lvstop --once`: print the director's state once, in ipvsadm's layout,
//! and exit.
//!
//! Source resolution: a reachable daemon first; else the observer — the
//! kernel's IPVS tables over netlink, which makes `--once` a drop-in for
//! `ipvsadm -Ln` on a director still run by stock keepalived, plus what
//! the observer knows beside them (keepalived's pid, configured real
//! servers absent from the table). `--source` forces one.
//!
//! From a daemon, the listing is followed (unless `--ipvs-only`) by a VRRP
//! section (one line per instance; format in
//! [`crate::vrrp::driver::status::render_section`]) and by every real
//! server's check state and reason, in the layout documented in
//! [`crate::health::report`]; `--json` carries them as `vrrp` and `checks`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{CommonOptions, ListingOptions, SourceChoice};
use crate::control::client::Client;
use crate::control::protocol::{Hello, Request, Response};
use crate::control::ControlError;
use crate::dataplane::kernel::KernelDataplane;
use crate::dataplane::{Dataplane, DataplaneError};
use crate::fleet::DirectorSpec;
use crate::health::report::{self, ChecksReport};
use crate::ipvs::format::{self, ListOptions};
use crate::ipvs::model::{Connection, Daemon, Table, Timeouts};
use crate::observe::report::{KeepalivedView, MissingRealServer, Observation};
use crate::vrrp::driver::{render_section, VrrpStatus};

/// Exit status when the state could not be read (ipvsadm exits 1 too).
const EXIT_UNREADABLE: u8 = 1;

/// Entry point of `lvstop --once`; with several directors (`--director`,
/// or the user's config file), each in turn.
pub fn run(
    common: &CommonOptions,
    listing: &ListingOptions,
    directors: &[DirectorSpec],
) -> ExitCode {
    let directors = match crate::console::chosen_directors(common, false, directors) {
        Ok(directors) => directors,
        Err(e) => {
            eprintln!("lvstop --once: {e}");
            return ExitCode::from(2);
        }
    };
    if !directors.is_empty() {
        let (text, all_read) = several(&directors, listing);
        print(&text);
        return if all_read {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_UNREADABLE)
        };
    }
    let output = open_source(common).and_then(|mut source| render(source.as_mut(), listing));
    match output {
        Ok(text) => {
            print(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lvstop --once: {e}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

fn print(text: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
}

/// Every director in turn: text under a `==> director NAME (SOCKET) <==`
/// heading each, or `--json` as an array of objects, each the one-director
/// document plus `director` (and `error` in its place when unreadable).
/// Whether every director could be read comes back beside the text.
fn several(directors: &[DirectorSpec], listing: &ListingOptions) -> (String, bool) {
    let mut all_read = true;
    if listing.json {
        let mut reports = Vec::new();
        for director in directors {
            let report = DaemonSource::connect(&director.socket)
                .map_err(OnceError::from)
                .and_then(|mut source| json_report(&mut source));
            all_read &= report.is_ok();
            reports.push(JsonDirector {
                director: &director.name,
                socket: director.socket.display().to_string(),
                error: report.as_ref().err().map(ToString::to_string),
                report: report.ok(),
            });
        }
        let mut out = serde_json::to_string_pretty(&reports)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        out.push('\n');
        return (out, all_read);
    }
    let mut out = String::new();
    for (i, director) in directors.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "==> director {} ({}) <==\n",
            director.name,
            director.socket.display()
        ));
        let text = DaemonSource::connect(&director.socket)
            .map_err(OnceError::from)
            .and_then(|mut source| render(&mut source, listing));
        match text {
            Ok(text) => out.push_str(&text),
            Err(e) => {
                all_read = false;
                out.push_str(&format!("unreachable: {e}\n"));
            }
        }
    }
    (out, all_read)
}

/// One director of `--json` with several.
#[derive(Debug, Serialize)]
struct JsonDirector<'a> {
    director: &'a str,
    socket: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    report: Option<JsonOnce>,
}

#[derive(Debug, thiserror::Error)]
enum OnceError {
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("cannot read the kernel's IPVS tables: {0}")]
    Kernel(#[from] DataplaneError),
    #[error("{daemon}; and cannot read the kernel's IPVS tables: {kernel}")]
    NoSource {
        daemon: ControlError,
        kernel: DataplaneError,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the daemon answered {0:?} to a {1} request")]
    Unexpected(Box<Response>, &'static str),
}

/// Where the state comes from.
trait Source {
    /// The IPVS table; `plain` says only `-Ln`'s columns are needed, which
    /// lets the kernel source take its fast path.
    fn table(&mut self, plain: bool) -> Result<Table, OnceError>;
    fn connections(&mut self) -> Result<Vec<Connection>, OnceError>;
    fn timeouts(&mut self) -> Result<Timeouts, OnceError>;
    fn daemons(&mut self) -> Result<Vec<Daemon>, OnceError>;
    /// The health checks, when the source runs them (a daemon does).
    fn checks(&mut self) -> Result<Option<ChecksReport>, OnceError>;
    fn describe(&mut self) -> Result<JsonSource, OnceError>;
    /// The daemon's VRRP status; `None` from the kernel (or a daemon
    /// that does not know the request).
    fn vrrp(&mut self) -> Option<VrrpStatus> {
        None
    }
    /// What the observer adds (the kernel source only).
    fn observed(&mut self, _table: &Table) -> Option<Observation> {
        None
    }
}

fn open_source(common: &CommonOptions) -> Result<Box<dyn Source>, OnceError> {
    match common.source {
        SourceChoice::Daemon => Ok(Box::new(DaemonSource::connect(&common.socket)?)),
        SourceChoice::Observe => Ok(Box::new(KernelSource::connect(common)?)),
        SourceChoice::Auto => match DaemonSource::connect(&common.socket) {
            Ok(source) => Ok(Box::new(source)),
            Err(daemon @ ControlError::NoDaemon { .. }) => match KernelSource::connect(common) {
                Ok(source) => Ok(Box::new(source)),
                Err(OnceError::Kernel(kernel)) => Err(OnceError::NoSource { daemon, kernel }),
                Err(other) => Err(other),
            },
            Err(other) => Err(other.into()),
        },
    }
}

fn render(source: &mut dyn Source, listing: &ListingOptions) -> Result<String, OnceError> {
    let mut out = String::new();
    if listing.json {
        let report = json_report(source)?;
        out = serde_json::to_string_pretty(&report)
            .map_err(|e| ControlError::BadResponse(e.to_string()))?;
        out.push('\n');
        return Ok(out);
    }
    let options = list_options(listing);
    if listing.save {
        format::save(&source.table(false)?, listing.numeric, &mut out);
    } else if listing.connection {
        format::connections(&source.connections()?, &options, &mut out);
    } else if listing.timeout {
        format::timeouts(&source.timeouts()?, &mut out);
    } else if listing.sync_daemon {
        format::daemons(&source.daemons()?, &mut out);
    } else {
        let plain = !(options.stats
            || options.rate
            || options.thresholds
            || options.persistent_conn
            || options.tun_info);
        let table = source.table(plain)?;
        format::list(&table, &options, &mut out);
        if !listing.ipvs_only {
            // Nothing to add beyond ipvsadm's listing: stay byte-identical.
            if let Some(observed) = source.observed(&table).filter(has_news) {
                observed_section(&observed, &mut out);
            }
            if let Some(vrrp) = source.vrrp() {
                render_section(&vrrp, &mut out);
            }
            // A configuration without checkers has nothing to add.
            if let Some(checks) = source.checks()?.filter(ChecksReport::has_checkers) {
                out.push('\n');
                report::format_checks(&checks, &mut out);
            }
        }
    }
    Ok(out)
}

/// Everything `--json` prints about one source.
fn json_report(source: &mut dyn Source) -> Result<JsonOnce, OnceError> {
    let table = source.table(false)?;
    Ok(JsonOnce {
        source: source.describe()?,
        observed: source.observed(&table),
        table,
        connections: source.connections()?,
        timeouts: source.timeouts()?,
        daemons: source.daemons()?,
        checks: source.checks()?,
        vrrp: source.vrrp(),
    })
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

fn has_news(observed: &Observation) -> bool {
    observed.keepalived_pid.is_some()
        || observed.config_error.is_some()
        || !observed.missing.is_empty()
}

/// The observer's lines after the table: who runs the director, the
/// configured real servers the table lacks, and keepalived's own view (its
/// instances, and the real servers its checkers fail).
fn observed_section(observed: &Observation, out: &mut String) {
    out.push_str(&format!("\nSource: {}\n", observed.label));
    if let Some(error) = &observed.config_error {
        out.push_str(&format!("Configuration: {error}\n"));
    }
    for missing in &observed.missing {
        out.push_str(&format!(
            "  -> {} in {}  {}\n",
            missing.server,
            missing.service,
            MissingRealServer::WHY
        ));
    }
    if let Some(keepalived) = &observed.keepalived {
        keepalived_lines(keepalived, out);
    }
}

/// keepalived's instances and failed checkers, as its dumps give them;
/// what a dump leaves out says "unknown".
fn keepalived_lines(view: &KeepalivedView, out: &mut String) {
    let unknown = || "unknown".to_string();
    out.push_str("\nkeepalived's VRRP instances:\n");
    if let Some(error) = &view.instances_error {
        out.push_str(&format!("  unknown: {error}\n"));
    }
    for i in &view.instances {
        let prio = match (i.base_priority, i.effective_priority) {
            (Some(b), Some(e)) if b == e => b.to_string(),
            (Some(b), Some(e)) => format!("{b} (effective {e})"),
            _ => unknown(),
        };
        let vips: Vec<String> = i.vips.iter().map(|v| v.address.to_string()).collect();
        out.push_str(&format!(
            "  {} {} prio {} vrid {} on {}  {}\n",
            i.name,
            i.state.as_ref().map_or_else(unknown, ToString::to_string),
            prio,
            i.vrid.map_or_else(unknown, |v| v.to_string()),
            i.interface.clone().unwrap_or_else(unknown),
            vips.join(" ")
        ));
    }
    let mut failing = String::new();
    for vs in &view.virtual_servers {
        for rs in vs.real_servers.iter().filter(|rs| rs.alive == Some(false)) {
            let kinds: Vec<&str> = rs
                .checkers
                .iter()
                .filter(|c| c.up == Some(false))
                .filter_map(|c| c.kind.as_deref())
                .collect();
            let protocol = vs
                .protocol
                .as_deref()
                .map_or(String::new(), |p| format!("{} ", p.to_ascii_uppercase()));
            failing.push_str(&format!(
                "  -> {} in {protocol}{}  {} failed\n",
                SocketAddr::new(rs.address, rs.port),
                vs.service,
                if kinds.is_empty() {
                    "a check".to_string()
                } else {
                    kinds.join(", ")
                }
            ));
        }
    }
    if let Some(error) = &view.virtual_servers_error {
        out.push_str(&format!("\nkeepalived's checkers: unknown: {error}\n"));
    } else if !failing.is_empty() {
        out.push_str("\nReal servers keepalived's checkers fail:\n");
        out.push_str(&failing);
    }
}

/// Everything `--json` prints; documented in the README.
#[derive(Debug, Serialize)]
struct JsonOnce {
    source: JsonSource,
    /// From the observer: keepalived's pid, real servers missing from the
    /// table.
    #[serde(skip_serializing_if = "Option::is_none")]
    observed: Option<Observation>,
    table: Table,
    connections: Vec<Connection>,
    timeouts: Timeouts,
    daemons: Vec<Daemon>,
    /// Every real server's checks (from a daemon only).
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<ChecksReport>,
    /// Present when the source is a daemon.
    #[serde(skip_serializing_if = "Option::is_none")]
    vrrp: Option<VrrpStatus>,
}

#[derive(Debug, Serialize)]
struct JsonSource {
    /// `daemon` or `kernel`.
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    socket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    daemon: Option<Hello>,
}

/// A running lvstop daemon, over its control socket.
struct DaemonSource {
    client: Client,
    socket: String,
}

impl DaemonSource {
    fn connect(socket: &std::path::Path) -> Result<Self, ControlError> {
        Ok(DaemonSource {
            client: Client::connect(socket)?,
            socket: socket.display().to_string(),
        })
    }
}

impl Source for DaemonSource {
    fn table(&mut self, _plain: bool) -> Result<Table, OnceError> {
        match self.client.request(Request::Table)? {
            Response::Table(table) => Ok(table),
            other => Err(OnceError::Unexpected(Box::new(other), "table")),
        }
    }

    fn connections(&mut self) -> Result<Vec<Connection>, OnceError> {
        match self.client.request(Request::Connections)? {
            Response::Connections(conns) => Ok(conns),
            other => Err(OnceError::Unexpected(Box::new(other), "connections")),
        }
    }

    fn timeouts(&mut self) -> Result<Timeouts, OnceError> {
        match self.client.request(Request::Timeouts)? {
            Response::Timeouts(timeouts) => Ok(timeouts),
            other => Err(OnceError::Unexpected(Box::new(other), "timeouts")),
        }
    }

    fn daemons(&mut self) -> Result<Vec<Daemon>, OnceError> {
        match self.client.request(Request::Daemons)? {
            Response::Daemons(daemons) => Ok(daemons),
            other => Err(OnceError::Unexpected(Box::new(other), "daemons")),
        }
    }

    fn checks(&mut self) -> Result<Option<ChecksReport>, OnceError> {
        match self.client.request(Request::Checks) {
            Ok(Response::Checks(checks)) => Ok(Some(*checks)),
            // A daemon from before checks existed.
            Err(ControlError::Refused(_)) => Ok(None),
            Ok(other) => Err(OnceError::Unexpected(Box::new(other), "checks")),
            Err(e) => Err(e.into()),
        }
    }

    fn describe(&mut self) -> Result<JsonSource, OnceError> {
        match self.client.request(Request::Hello)? {
            Response::Hello(hello) => Ok(JsonSource {
                kind: "daemon",
                socket: Some(self.socket.clone()),
                daemon: Some(hello),
            }),
            other => Err(OnceError::Unexpected(Box::new(other), "hello")),
        }
    }

    fn vrrp(&mut self) -> Option<VrrpStatus> {
        match self.client.request(Request::Vrrp) {
            Ok(Response::Vrrp(status)) => Some(status),
            _ => None,
        }
    }
}

/// The kernel's IPVS, read over generic netlink, with what the observer
/// knows beside it.
struct KernelSource {
    runtime: tokio::runtime::Runtime,
    kernel: KernelDataplane,
    config_path: std::path::PathBuf,
}

impl KernelSource {
    fn connect(common: &CommonOptions) -> Result<Self, OnceError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(OnceError::Runtime)?;
        let kernel = runtime.block_on(KernelDataplane::connect())?;
        Ok(KernelSource {
            runtime,
            kernel,
            config_path: common.config.clone(),
        })
    }
}

impl Source for KernelSource {
    fn table(&mut self, plain: bool) -> Result<Table, OnceError> {
        let read = async {
            if plain {
                self.kernel.listing().await
            } else {
                self.kernel.snapshot().await
            }
        };
        Ok(self.runtime.block_on(read)?)
    }

    fn connections(&mut self) -> Result<Vec<Connection>, OnceError> {
        Ok(self.runtime.block_on(self.kernel.connections())?)
    }

    fn timeouts(&mut self) -> Result<Timeouts, OnceError> {
        Ok(self.runtime.block_on(self.kernel.timeouts())?)
    }

    fn daemons(&mut self) -> Result<Vec<Daemon>, OnceError> {
        Ok(self.runtime.block_on(self.kernel.daemons())?)
    }

    fn checks(&mut self) -> Result<Option<ChecksReport>, OnceError> {
        Ok(None)
    }

    fn describe(&mut self) -> Result<JsonSource, OnceError> {
        Ok(JsonSource {
            kind: "kernel",
            socket: None,
            daemon: None,
        })
    }

    fn observed(&mut self, table: &Table) -> Option<Observation> {
        Some(crate::observe::driver::observe_once(
            table,
            Some(&self.config_path),
        ))
    }
}
