//! lvstop's own picture of what keepalived says about itself: VRRP
//! instances (from its JSON dump) and virtual servers with their real
//! servers and checkers (from its checker data dump).
//!
//! Plain data only. Every field keepalived may leave out is an `Option`,
//! which the console shows as "unknown"; nothing here is ever filled in
//! by guessing. Secrets keepalived dumps (the VRRP `auth_pass`) are never
//! copied in, because these values travel in snapshots.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One `vrrp_instance` as keepalived's VRRP process reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeepalivedInstance {
    /// The instance name (`vrrp_instance NAME`).
    pub name: String,
    pub state: Option<KeepalivedVrrpState>,
    /// The state keepalived is heading for (equal to `state` when settled).
    pub wanted_state: Option<KeepalivedVrrpState>,
    pub vrid: Option<u8>,
    /// The interface the instance speaks on.
    pub interface: Option<String>,
    /// The VMAC interface (`use_vmac`), when there is one.
    pub vmac_interface: Option<String>,
    /// The configured priority.
    pub base_priority: Option<u8>,
    /// The priority after tracked interfaces, scripts and files.
    pub effective_priority: Option<u8>,
    /// The priority of the other master last heard; `None` when keepalived
    /// has heard none (it writes 0 then).
    pub master_priority: Option<u8>,
    /// The address of the master last heard, from the VRRP data dump
    /// (`Master router`); the JSON dump does not carry it, and keepalived
    /// 2.2.7 fills it seconds after the instance became backup (see
    /// `vrrp_data`), so `None` means "not reported yet".
    pub master_address: Option<IpAddr>,
    pub vips: Vec<KeepalivedVip>,
    /// Interfaces named in `track_interface`.
    pub track_interfaces: Vec<String>,
    /// VRRP protocol version (2 or 3).
    pub vrrp_version: Option<u8>,
    /// Advertisement interval in seconds.
    pub advert_interval_secs: Option<f64>,
    /// `false` under `nopreempt`.
    pub preempt: Option<bool>,
    /// When the instance last changed state (Unix time, milliseconds).
    pub last_transition_unix_ms: Option<u64>,
    pub stats: KeepalivedVrrpStats,
}

/// A VRRP state as keepalived numbers it (2.2.7: 0 INIT, 1 BACKUP,
/// 2 MASTER, 3 FAULT; 97 and 98 are its internal "deleted" and "stop").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeepalivedVrrpState {
    Init,
    Backup,
    Master,
    Fault,
    /// A number lvstop does not know; shown as such, never mapped.
    Other(i64),
}

impl KeepalivedVrrpState {
    pub fn from_number(n: i64) -> Self {
        match n {
            0 => Self::Init,
            1 => Self::Backup,
            2 => Self::Master,
            3 => Self::Fault,
            other => Self::Other(other),
        }
    }

    /// keepalived's own spelling of the state in its data dump.
    pub fn from_name(name: &str) -> Self {
        match name {
            "INIT" => Self::Init,
            "BACKUP" => Self::Backup,
            "MASTER" => Self::Master,
            "FAULT" => Self::Fault,
            _ => Self::Other(-1),
        }
    }
}

impl std::fmt::Display for KeepalivedVrrpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Init => f.write_str("INIT"),
            Self::Backup => f.write_str("BACKUP"),
            Self::Master => f.write_str("MASTER"),
            Self::Fault => f.write_str("FAULT"),
            Self::Other(n) => write!(f, "state {n}"),
        }
    }
}

/// A virtual IP address line of the JSON dump, e.g.
/// `198.51.100.100 dev eth0 scope global set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedVip {
    /// The address as keepalived wrote it (a prefix length appears only
    /// when it is not the full length).
    pub address: String,
    pub device: Option<String>,
    /// Whether keepalived has the address installed (`set`).
    pub installed: bool,
    /// The whole line, for what the fields above leave out.
    pub text: String,
}

/// VRRP counters of one instance; `None` where the dump has no such key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedVrrpStats {
    pub adverts_received: Option<u64>,
    pub adverts_sent: Option<u64>,
    pub became_master: Option<u64>,
    pub released_master: Option<u64>,
    pub priority_zero_received: Option<u64>,
    pub priority_zero_sent: Option<u64>,
    pub auth_failures: Option<u64>,
}

/// What a virtual server is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeepalivedService {
    /// `virtual_server IP PORT`.
    Address { address: IpAddr, port: u16 },
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

impl std::fmt::Display for KeepalivedService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Address { address, port } => {
                write!(f, "{}", std::net::SocketAddr::new(*address, *port))
            }
            Self::Fwmark(mark) => write!(f, "FWM {mark}"),
            Self::Group(name) => write!(f, "group {name}"),
        }
    }
}

/// One `virtual_server` as keepalived's checker process reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedVirtualServer {
    pub service: KeepalivedService,
    /// `TCP`, `UDP` or `SCTP`; `None` for fwmark services ("none").
    pub protocol: Option<String>,
    /// The scheduler (`lb_algo`), e.g. `wrr`.
    pub scheduler: Option<String>,
    /// The default forwarding method (`lb_kind`): `DR`, `NAT` or `TUN`.
    pub forwarding: Option<String>,
    /// `persistence_timeout` in seconds; `None` when not persistent.
    pub persistence_timeout_secs: Option<u32>,
    pub quorum: Option<u32>,
    /// Whether the quorum is met.
    pub quorum_up: Option<bool>,
    pub alive: Option<bool>,
    pub real_servers: Vec<KeepalivedRealServer>,
}

/// One `real_server` with keepalived's verdict on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedRealServer {
    pub address: IpAddr,
    /// The port keepalived uses for it (with DR, the virtual server's).
    pub port: u16,
    /// The configured weight.
    pub weight: Option<i64>,
    /// The weight after checker (`MISC_CHECK` dynamic) adjustments.
    pub effective_weight: Option<i64>,
    pub forwarding: Option<String>,
    /// keepalived's verdict: all its checkers pass.
    pub alive: Option<bool>,
    /// How many of its checkers currently fail.
    pub failed_checkers: Option<u32>,
    /// Whether keepalived has it in the IPVS table (`RS set`).
    pub in_ipvs: Option<bool>,
    pub inhibit_on_failure: Option<bool>,
    pub checkers: Vec<KeepalivedChecker>,
}

/// One health checker of a real server. keepalived 2.2.7's dumps say
/// whether it is up, not why it failed: there is no failure reason here
/// because keepalived exposes none (its log line says only "failed").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedChecker {
    /// keepalived's name for it, e.g. `TCP_CHECK`, `HTTP_GET`.
    pub kind: Option<String>,
    pub up: Option<bool>,
    pub enabled: Option<bool>,
    /// Whether it has produced a verdict yet.
    pub has_run: Option<bool>,
    /// Where it connects (`[198.51.100.71]:80`), as keepalived wrote it.
    pub target: Option<String>,
    pub retries: Option<u32>,
}
