//! The health checks as the console sees them: every virtual server with
//! its quorum, every real server with its checkers, each checker's
//! verdict, latency, reason and since when, and the probe driver's and
//! alert queue's counters. The health service builds it
//! ([`crate::health::report`], [`crate::health::machine`]); `lvstop --once
//! --json` prints it as its `checks` member.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::health::driver::DriverStats;
use crate::health::machine::CheckerId;

/// The daemon's checks, as sent over the control socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChecksReport {
    /// Wall-clock time (Unix milliseconds) of the runner's time zero: the
    /// snapshot's `since_ms` and `last_check_ms` count from it.
    pub epoch_unix_ms: u64,
    pub snapshot: HealthSnapshot,
    /// Probes started and finished, and how late they started.
    pub driver: DriverStats,
    /// The SMTP alert queue, when alerts are configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertCounters>,
}

impl ChecksReport {
    /// Whether any real server has a checker.
    pub fn has_checkers(&self) -> bool {
        self.snapshot
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .any(|rs| !rs.checkers.is_empty())
    }
}

/// Counters of the SMTP alert queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AlertCounters {
    pub submitted: u64,
    pub sent: u64,
    pub failed: u64,
    pub dropped: u64,
    pub queued: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HealthSnapshot {
    pub virtual_servers: Vec<VirtualServerView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerView {
    /// keepalived's name: `[192.0.2.1]:tcp:80`, `FWM 7`, `[GROUP]:0`.
    pub name: String,
    pub quorum_up: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    /// Sum of the weights of the live real servers.
    pub weight_sum: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<String>,
    pub sorry_server_active: bool,
    pub real_servers: Vec<RealServerView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerView {
    pub name: String,
    /// Address and port as ipvsadm prints them (`192.0.2.1:80`,
    /// `[2001:db8::1]:80`).
    pub address: String,
    /// All checkers up.
    pub up: bool,
    /// Current weight (configured, or set by misc_dynamic).
    pub weight: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inhibit_on_failure: bool,
    /// Left out when empty (a real server without checkers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkers: Vec<CheckerView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerView {
    pub id: CheckerId,
    /// `TCP_CHECK`, `HTTP_GET`, …
    pub kind: Cow<'static, str>,
    /// Where it connects (`ip:port`; port 0 for PING/MISC/FILE).
    pub target: String,
    pub up: bool,
    /// False until the first verdict.
    pub checked: bool,
    /// An attempt is running.
    pub running: bool,
    pub consecutive_failures: u32,
    /// Why the last failing attempt failed, in an operator's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(
        rename = "latency_ms",
        serialize_with = "crate::health::machine::serialize_millis_opt",
        deserialize_with = "crate::health::machine::deserialize_millis_opt"
    )]
    pub latency: Option<Duration>,
    /// Time of the last state change, since the runner started.
    #[serde(
        rename = "since_ms",
        serialize_with = "crate::health::machine::serialize_millis",
        deserialize_with = "crate::health::machine::deserialize_millis"
    )]
    pub since: Duration,
    #[serde(
        rename = "last_check_ms",
        serialize_with = "crate::health::machine::serialize_millis_opt",
        deserialize_with = "crate::health::machine::deserialize_millis_opt"
    )]
    pub last_check: Option<Duration>,
    /// Changes of verdict (up to down or back) since the checker started.
    #[serde(default)]
    pub flaps: u64,
}
