//! What the runner asks its driver and the engine to do: start a probe,
//! change the IPVS membership, run a script, send an alert, log a line,
//! tell the console. Plain data; serialisable so replay tests can compare
//! them as JSON lines.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ipvs::model::{DestConfig, DestKey, ServiceKey};

/// Index of a checker in configuration order (virtual server, real server,
/// checker), stable for the life of a runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CheckerId(pub u32);

impl CheckerId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One output of the runner.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CheckAction {
    /// Start one attempt of `checker` now; it was due at `scheduled` (time
    /// since the runner started) and may take `timeout`.
    StartProbe {
        checker: CheckerId,
        #[serde(rename = "scheduled_ms", serialize_with = "millis")]
        scheduled: Duration,
        #[serde(rename = "timeout_ms", serialize_with = "millis")]
        timeout: Duration,
    },
    /// Add the destination to the service, or update it (weight).
    SetDest {
        service: ServiceKey,
        dest: DestConfig,
    },
    /// Take the destination out of the service.
    RemoveDest { service: ServiceKey, dest: DestKey },
    /// Run a notify or quorum script (through the notify module, with
    /// script security and a timeout).
    RunScript { script: ScriptCall },
    /// Send an SMTP alert to `notification_email`.
    SendAlert { subject: String, body: String },
    /// A log line in keepalived's words.
    Log { level: LogLevel, line: String },
    /// Something the console shows.
    Event { event: HealthEvent },
}

/// A script to run, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptCall {
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Which hook this is: `notify_up`, `notify_down`, `quorum_up`,
    /// `quorum_down`.
    pub hook: &'static str,
    /// Scripts of one channel run in order (`notify::NotifyQueue`): the
    /// real server's name and its virtual server's for `notify_*`, the
    /// virtual server's for `quorum_*`.
    #[serde(skip)]
    pub channel: String,
}

/// keepalived logs these at LOG_INFO; lines keepalived prints only with
/// `log_all_failures` are `Debug` here unless that option is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Debug,
}

/// A change the console cares about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HealthEvent {
    /// A checker went up or down (or gave its first verdict).
    Checker {
        checker: CheckerId,
        up: bool,
        consecutive_failures: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(rename = "latency_ms", serialize_with = "millis")]
        latency: Duration,
        #[serde(rename = "since_ms", serialize_with = "millis")]
        since: Duration,
    },
    /// A real server joined or left its pool (all its checkers up, or not).
    RealServer {
        virtual_server: String,
        real_server: String,
        up: bool,
        weight: u32,
    },
    /// A real server's weight changed (MISC_CHECK `misc_dynamic`).
    Weight {
        virtual_server: String,
        real_server: String,
        from: u32,
        to: u32,
    },
    /// A virtual server gained or lost its quorum.
    Quorum {
        virtual_server: String,
        up: bool,
        weight_sum: u64,
        threshold: i64,
    },
    /// The sorry server went in (`active`) or out.
    SorryServer {
        virtual_server: String,
        sorry_server: String,
        active: bool,
    },
}

/// Durations as whole milliseconds: what replay files and the console read.
pub(crate) fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn millis_opt<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => millis(d, s),
        None => s.serialize_none(),
    }
}

/// Reads what [`millis`] wrote.
pub(crate) fn from_millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

/// Reads what [`millis_opt`] wrote.
pub(crate) fn from_millis_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    Option::<u64>::deserialize(d).map(|m| m.map(Duration::from_millis))
}
