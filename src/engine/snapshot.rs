//! What the engine shows: one serde value with everything the console
//! draws and `lvstop --once --json` prints — the live IPVS table with
//! counters and rates, the health checks, VRRP, the operators' overrides
//! and drains, and who the director is. Subscribers of the control socket
//! receive it at the interval they ask for (see `control::protocol`).
//!
//! Times: `taken_unix_ms` and `director.started_unix_ms` are wall clock
//! (ms since the Unix epoch). Overrides and drains carry the director's
//! monotonic clock (`since_ms`, `deadline_ms`), and `clock_ms` is that
//! clock when the snapshot was taken, so a reader computes ages as
//! `clock_ms - since_ms` without trusting either machine's wall clock.
//!
//! This module only describes and assembles; it never reads a dataplane.

use serde::{Deserialize, Serialize};

use super::overrides::{effective_weight, DisableReason, Overrides, Target, WeightOverride};
use super::state::PendingDrain;
use crate::dataplane::DataplaneKind;
use crate::ipvs::model::{DestKey, ServiceKey, Table};
use crate::northbound::checks::ChecksReport;
use crate::northbound::vrrp::VrrpStatus;

/// The engine's state at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Wall-clock time of this snapshot.
    pub taken_unix_ms: u64,
    /// The director's monotonic clock at that time (see module docs).
    pub clock_ms: u64,
    pub director: DirectorInfo,
    /// The dataplane's live table: what is programmed, with counters and
    /// rates. Real servers the checks or an operator took out are absent
    /// here and present in `checks` and `overrides`.
    pub table: Table,
    pub checks: ChecksReport,
    pub vrrp: VrrpStatus,
    /// Every override in force, by target.
    pub overrides: Vec<TargetOverrides>,
    /// Drains still waiting for their real server to go idle.
    pub drains: Vec<DrainView>,
    /// The newest event's sequence number (0 before the first).
    pub last_event_seq: u64,
    /// Set when no lvstop engine runs and the console observes a
    /// keepalived director (or the bare kernel): where the view comes
    /// from and what it could not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<crate::observe::report::Observation>,
}

/// Who the director is and what it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorInfo {
    /// `global_defs { router_id }`, else the host name.
    pub name: String,
    /// lvstop's version.
    pub version: String,
    pub pid: u32,
    pub dataplane: DataplaneKind,
    pub config_path: String,
    /// [`config_hash`] of the configuration text as loaded, to tell at a
    /// glance whether two directors run the same file.
    pub config_hash: String,
    pub started_unix_ms: u64,
}

/// The overrides on one virtual service or real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetOverrides {
    pub target: Target,
    /// The operator's weight (set, drain or ramp), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<WeightOverride>,
    /// The weight in force now (a ramp climbs), when `weight` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_weight: Option<i32>,
    /// Why it is out of the table; enabled again when all are cleared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled: Vec<DisableReason>,
}

/// A drain in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainView {
    pub service: ServiceKey,
    pub server: DestKey,
    /// On the director's clock.
    pub deadline_ms: u64,
    pub remove: bool,
    pub by: String,
}

impl TargetOverrides {
    /// Every override in force, ordered by target.
    pub fn collect(overrides: &Overrides, clock_ms: u64) -> Vec<TargetOverrides> {
        let mut out: Vec<TargetOverrides> = overrides
            .weights()
            .map(|(&(service, server), o)| TargetOverrides {
                target: Target::RealServer(service, server),
                weight: Some(o.clone()),
                effective_weight: Some(effective_weight(o, clock_ms)),
                disabled: overrides
                    .disabled(Target::RealServer(service, server))
                    .to_vec(),
            })
            .collect();
        for (&target, reasons) in overrides.disabled_targets() {
            if !out.iter().any(|t| t.target == target) {
                out.push(TargetOverrides {
                    target,
                    weight: None,
                    effective_weight: None,
                    disabled: reasons.to_vec(),
                });
            }
        }
        out.sort_by_key(|t| t.target);
        out
    }
}

impl From<&PendingDrain> for DrainView {
    fn from(drain: &PendingDrain) -> Self {
        DrainView {
            service: drain.service,
            server: drain.server,
            deadline_ms: drain.deadline_ms,
            remove: drain.remove,
            by: drain.actor.name.clone(),
        }
    }
}

/// A short fingerprint of a configuration text: the first 16 hex digits
/// of its SHA-256, so `sha256sum keepalived.conf` tells an operator
/// whether the file on disk is what runs. Hardware-assisted where the CPU
/// has it: a few milliseconds for a multi-megabyte text.
pub fn config_hash(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .fold(String::with_capacity(16), |mut hex, byte| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

impl Snapshot {
    /// The overrides of one target, if any.
    pub fn overrides_of(&self, target: Target) -> Option<&TargetOverrides> {
        self.overrides.iter().find(|t| t.target == target)
    }

    /// Seconds the director has run at this snapshot.
    pub fn uptime_s(&self) -> u64 {
        self.taken_unix_ms
            .saturating_sub(self.director.started_unix_ms)
            / 1000
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_hash_is_the_start_of_sha256sum() {
        // printf 'abc' | sha256sum
        assert_eq!(super::config_hash("abc"), "ba7816bf8f01cfea");
    }
}
