//! VRRP as the console sees it: every instance and sync group, its state,
//! priorities, master and VIPs, recent transitions and counters. The VRRP
//! runner builds it ([`crate::vrrp::driver::status`]); `lvstop --once
//! --json` prints it as its `vrrp` member.
//!
//! Counters travel as a name → value map so the wire format does not
//! break when the state machine counts something new.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::vrrp::machine::State;

/// One state change of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: State,
    pub to: State,
    /// Wall-clock time of the change, ms since the Unix epoch.
    pub at_unix_ms: u64,
}

/// What the runner broadcasts as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum VrrpEvent {
    StateChanged {
        instance: String,
        #[serde(flatten)]
        transition: Transition,
    },
}

/// Errors the adapter met carrying out an instance's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IoErrors {
    /// Adverts that could not be sent (socket error, no transport).
    pub advert_send: u64,
    /// VIP additions or removals the kernel refused.
    pub vip: u64,
    /// Gratuitous ARP / NA frames that could not be sent.
    pub announce: u64,
}

/// One instance as the control socket serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub state: State,
    pub vrid: u8,
    pub version: u8,
    pub interface: Option<String>,
    /// The configured priority, or the operator's in its place.
    pub base_priority: u8,
    /// Set by `failover --priority N` until set back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_priority: Option<u8>,
    pub effective_priority: u8,
    /// The master's address while BACKUP, ours while MASTER.
    pub master_address: Option<IpAddr>,
    pub master_priority: Option<u8>,
    /// Configured VIPs.
    pub vips: Vec<IpAddr>,
    /// VIPs this runner has installed on the host right now.
    pub vips_installed: Vec<IpAddr>,
    pub sync_group: Option<String>,
    pub fault_reasons: Vec<String>,
    /// When the instance entered its current state (ms since the epoch).
    pub since_unix_ms: u64,
    /// The last transitions, oldest first.
    pub transitions: Vec<Transition>,
    /// The state machine's counters (`advert_rcvd`, `advert_sent`,
    /// `auth_failure`, …), by name.
    pub stats: BTreeMap<String, u64>,
    pub io_errors: IoErrors,
}

/// A sync group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub name: String,
    pub state: State,
    pub members: Vec<String>,
}

/// Everything the runner reports: `lvstop --once --json`'s `vrrp` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VrrpStatus {
    pub instances: Vec<InstanceStatus>,
    pub sync_groups: Vec<GroupStatus>,
    /// Adverts whose VRID no instance on that interface uses.
    pub unknown_vrid: u64,
}

impl VrrpStatus {
    pub fn instance(&self, name: &str) -> Option<&InstanceStatus> {
        self.instances.iter().find(|i| i.name == name)
    }
}
