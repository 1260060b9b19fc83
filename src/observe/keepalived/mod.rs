//! keepalived's own view of a director it runs: its VRRP instances (state,
//! priorities, VIPs) and its virtual servers with per-real-server checker
//! verdicts, read from the dumps keepalived writes on signals.
//!
//! - [`process`]: finding a live keepalived (pid files, else `/proc`).
//! - [`request`]: the dump signals and the bounded wait for the files.
//! - [`json`], [`check_data`], [`vrrp_data`]: parsing the dumps.
//! - [`types`]: lvstop's own types for what they say.
//!
//! This module never changes keepalived: the JSON and SIGUSR1 dump signals
//! are all it sends, and only to a process that handles them. Each read
//! makes keepalived log a line per dump ("Printing ... on signal"), so
//! callers read on demand or every few seconds, not continuously.

pub mod check_data;
pub mod error;
pub mod json;
pub mod process;
pub mod request;
pub mod types;
pub mod vrrp_data;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use error::DumpError;
pub use process::{find, FoundBy, KeepalivedProcess};
pub use types::{
    KeepalivedChecker, KeepalivedInstance, KeepalivedRealServer, KeepalivedService, KeepalivedVip,
    KeepalivedVirtualServer, KeepalivedVrrpState, KeepalivedVrrpStats,
};

/// The dump files, in keepalived's `/tmp`.
pub const JSON_FILE: &str = "keepalived.json";
pub const VRRP_DATA_FILE: &str = "keepalived.data";
pub const CHECK_DATA_FILE: &str = "keepalived_check.data";

/// How long [`read_state`] waits for keepalived to write its dumps.
pub const DEFAULT_DUMP_WAIT: Duration = Duration::from_secs(2);

/// What keepalived said about itself at `read_at_unix_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeepalivedState {
    pub process: KeepalivedProcess,
    /// Its VRRP instances; empty when it runs no VRRP process.
    pub instances: Result<Vec<KeepalivedInstance>, DumpError>,
    /// Its virtual servers; empty when it runs no checker process.
    pub virtual_servers: Result<Vec<KeepalivedVirtualServer>, DumpError>,
    pub read_at_unix_ms: u64,
}

/// Asks `process` for its JSON and data dumps and reads them, waiting at
/// most `wait` for keepalived to write them.
///
/// Blocking (it polls the files for up to `wait`): from async code call
/// [`read_state_async`], or run it under `tokio::task::spawn_blocking`.
pub fn read_state(process: &KeepalivedProcess, wait: Duration) -> KeepalivedState {
    read_state_in(Path::new("/proc"), process, wait)
}

/// [`read_state`] on a worker thread of the tokio runtime.
pub async fn read_state_async(process: KeepalivedProcess, wait: Duration) -> KeepalivedState {
    let fallback = process.clone();
    tokio::task::spawn_blocking(move || read_state(&process, wait))
        .await
        .unwrap_or_else(|e| {
            let failed = DumpError::Aborted {
                message: e.to_string(),
            };
            KeepalivedState {
                process: fallback,
                instances: Err(failed.clone()),
                virtual_servers: Err(failed),
                read_at_unix_ms: now_unix_ms(),
            }
        })
}

fn read_state_in(proc_root: &Path, process: &KeepalivedProcess, wait: Duration) -> KeepalivedState {
    let has_vrrp = process.may_run_vrrp();
    let has_checker = process.may_run_checker();

    let json_path = process.tmp_file(JSON_FILE);
    let vrrp_data_path = process.tmp_file(VRRP_DATA_FILE);
    let check_path = process.tmp_file(CHECK_DATA_FILE);
    let (json_before, vrrp_data_before, check_before) = (
        request::stamp(&json_path),
        request::stamp(&vrrp_data_path),
        request::stamp(&check_path),
    );
    let started = Instant::now();
    let deadline = started + wait;

    // Both signals first, then the waits: the children write concurrently.
    let json_sent =
        has_vrrp.then(|| request::send(proc_root, process.pid, request::SIGNAL_JSON, "JSON dump"));
    let data_sent = (has_vrrp || has_checker)
        .then(|| request::send(proc_root, process.pid, request::SIGNAL_DATA, "data dump"));

    let instances = match json_sent {
        None => Ok(Vec::new()),
        Some(sent) => sent
            .and_then(|()| {
                let complete = request::json_complete;
                request::wait_rewritten(&json_path, json_before, started, deadline, complete)
            })
            .and_then(|text| json::parse_instances(&text, &json_path))
            .map(|mut instances| {
                // The master's address is a nicety from the other dump.
                if matches!(data_sent, Some(Ok(()))) {
                    let complete = request::text_complete;
                    let (path, before) = (&vrrp_data_path, vrrp_data_before);
                    if let Ok(text) =
                        request::wait_rewritten(path, before, started, deadline, complete)
                    {
                        let masters = vrrp_data::master_addresses(&text);
                        for instance in &mut instances {
                            instance.master_address = masters.get(&instance.name).copied();
                        }
                    }
                }
                instances
            }),
    };
    let virtual_servers = match (has_checker, data_sent) {
        (false, _) | (_, None) => Ok(Vec::new()),
        (true, Some(sent)) => sent
            .and_then(|()| {
                let complete = request::text_complete;
                request::wait_rewritten(&check_path, check_before, started, deadline, complete)
            })
            .and_then(|text| check_data::parse_virtual_servers(&text, &check_path)),
    };
    KeepalivedState {
        process: process.clone(),
        instances,
        virtual_servers,
        read_at_unix_ms: now_unix_ms(),
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
