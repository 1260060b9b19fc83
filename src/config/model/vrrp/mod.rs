//! VRRP: `vrrp_script`, `track_file`, `track_process`, `vrrp_sync_group`, `vrrp_instance`, and
//! the static addresses, routes and rules.
//!
//! Plain data recording what the operator wrote; keepalived's defaults are
//! the `effective_*` methods. This module never parses text and never
//! reports diagnostics.

mod address;
mod instance;
mod process;

use std::time::Duration;

pub use address::{Route, Rule, VirtualAddress};
pub use instance::{
    AuthType, Authentication, GarpExtraIf, GarpSettings, InitialState, UnicastPeer, UseVmac,
    VrrpInstance,
};
pub use process::{ParamMatch, TrackProcess};

use super::{RawSetting, Script, Text};
use crate::config::source::Spanned;

/// Every VRRP-side top-level block of a configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VrrpConfig {
    pub scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub sync_groups: Vec<SyncGroup>,
    pub instances: Vec<VrrpInstance>,
    /// `static_ipaddress` entries (never moved by VRRP).
    pub static_addresses: Vec<VirtualAddress>,
    pub static_routes: Vec<Route>,
    pub static_rules: Vec<Rule>,
}

/// A `vrrp_script` block: a command run periodically whose exit status
/// adjusts the priority of (or faults) the instances that track it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VrrpScript {
    pub name: Text,
    pub script: Option<Script>,
    pub interval: Option<Spanned<Duration>>,
    pub timeout: Option<Spanned<Duration>>,
    pub weight: Option<Spanned<i32>>,
    /// `weight N reverse`.
    pub reverse: bool,
    pub rise: Option<Spanned<u32>>,
    pub fall: Option<Spanned<u32>>,
    /// `user USER [GROUP]`.
    pub user: Option<Text>,
    pub group: Option<String>,
    pub init_fail: bool,
    pub other: Vec<RawSetting>,
}

impl VrrpScript {
    /// Seconds between runs; keepalived.conf(5) "VRRP script(s)":
    /// default 1 second.
    pub fn effective_interval(&self) -> Duration {
        self.interval
            .map_or(Duration::from_secs(1), |interval| interval.value)
    }

    /// When a run counts as failed: keepalived falls back to the interval
    /// when no timeout is set.
    pub fn effective_timeout(&self) -> Duration {
        self.timeout
            .map_or_else(|| self.effective_interval(), |timeout| timeout.value)
    }

    /// keepalived.conf(5): "The default weight equals 0".
    pub fn effective_weight(&self) -> i32 {
        self.weight.map_or(0, |weight| weight.value)
    }

    /// Consecutive successes before OK; keepalived defaults rise and fall
    /// to 1.
    pub fn effective_rise(&self) -> u32 {
        self.rise.map_or(1, |rise| rise.value)
    }

    pub fn effective_fall(&self) -> u32 {
        self.fall.map_or(1, |fall| fall.value)
    }
}

/// A `track_file` block: a file holding a number that adjusts priority.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackFile {
    pub name: Text,
    pub file: Option<Text>,
    pub weight: Option<Spanned<i32>>,
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`.
    pub init_file: Option<InitFile>,
    pub other: Vec<RawSetting>,
}

impl TrackFile {
    /// keepalived.conf(5) "Track files": "weight defaults to 1".
    pub fn effective_weight(&self) -> i32 {
        self.weight.map_or(1, |weight| weight.value)
    }
}

/// `init_file [VALUE] [overwrite]` of a `track_file`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitFile {
    pub value: Option<i64>,
    pub overwrite: bool,
}

/// One entry of a `track_interface`/`track_script`/`track_file`/
/// `track_process` list:
/// `NAME [weight N] [reverse|noreverse]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tracked {
    pub name: Text,
    pub weight: Option<Spanned<i32>>,
    /// `Some(true)` for `reverse`, `Some(false)` for `noreverse`.
    pub reverse: Option<bool>,
}

/// Notify scripts of an instance or a sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notify {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    /// `notify_deleted [script]`: `Some(None)` when given without a script.
    pub deleted: Option<Option<Script>>,
    /// `notify`: run on every transition.
    pub any: Option<Script>,
    /// `notify_master_rx_lower_pri` (instances only).
    pub master_rx_lower_pri: Option<Script>,
    pub priority_changes: Option<Spanned<bool>>,
}

/// A `vrrp_sync_group` block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncGroup {
    pub name: Text,
    /// Names of the member `vrrp_instance`s (`group { … }`).
    pub members: Vec<Text>,
    pub track_interfaces: Vec<Tracked>,
    pub track_scripts: Vec<Tracked>,
    pub track_files: Vec<Tracked>,
    pub track_processes: Vec<Tracked>,
    pub notify: Notify,
    pub smtp_alert: Option<Spanned<bool>>,
    pub other: Vec<RawSetting>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_defaults_follow_the_man_page() {
        let script = VrrpScript::default();
        assert_eq!(script.effective_interval(), Duration::from_secs(1));
        assert_eq!(script.effective_timeout(), Duration::from_secs(1));
        assert_eq!(script.effective_weight(), 0);
        assert_eq!((script.effective_rise(), script.effective_fall()), (1, 1));
    }

    #[test]
    fn track_file_weight_defaults_to_one() {
        assert_eq!(TrackFile::default().effective_weight(), 1);
    }
}
