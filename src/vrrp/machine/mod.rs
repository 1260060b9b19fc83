//! The VRRP instance state machine (RFC 3768 §6.4, RFC 5798 §6.4, with
//! keepalived's behaviour where the RFCs leave room), sans-I/O.
//!
//! Inputs are [`Event`]s with the current [`Timestamp`] passed in; outputs
//! are [`VrrpAction`]s the adapters carry out (send an advert, add VIPs, run a
//! notify script, log a line in keepalived's words). Timers are deadlines
//! the caller polls with [`Instance::next_deadline`] and fires with
//! [`Event::Tick`]. This module never touches a socket, a clock, a file or
//! a logger.
//!
//! [`Node`] runs every instance of a configuration together with its sync
//! groups and trackers; [`Instance`] is one virtual router.

mod config;
mod instance;
mod node;
mod receive;
mod stats;

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::vrrp::sync_group::SyncGroupSnapshot;
pub use config::{GarpTiming, InstanceConfig, NotifyScripts, Peer, Vip};
pub use instance::Instance;
pub use node::{BuildError, Input, InterfaceInfo, Interfaces, Node, NodeSnapshot};
pub use stats::{InstanceSnapshot, Stats};

use crate::config::model::Script;
use crate::vrrp::packet::{Advertisement, Version};

/// Monotonic time in microseconds since an epoch the adapter chooses (its
/// start). keepalived keeps its VRRP timers in microseconds too, so every
/// RFC interval (1/256 s skew steps included) is exact here.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn from_duration(since_epoch: Duration) -> Self {
        Timestamp(u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_micros(self.0)
    }

    pub fn plus(self, delay: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(u64::try_from(delay.as_micros()).unwrap_or(u64::MAX)),
        )
    }

    pub fn plus_us(self, micros: u64) -> Self {
        Timestamp(self.0.saturating_add(micros))
    }
}

/// Skew_Time in microseconds for a router of `priority` whose
/// Master_Adver_Interval is `adver_int_us`: RFC 3768 §6.1
/// (256 - Priority) / 256 s; RFC 5798 §6.1
/// ((256 - Priority) * Master_Adver_Interval) / 256.
pub fn skew_time_us(version: Version, priority: u8, adver_int_us: u64) -> u64 {
    let weight = 256 - u64::from(priority);
    match version {
        Version::V2 => weight * 1_000_000 / 256,
        Version::V3 => weight.saturating_mul(adver_int_us) / 256,
    }
}

/// Master_Down_Interval in microseconds (RFC 3768 §6.1, RFC 5798 §6.1):
/// 3 * Master_Adver_Interval + Skew_Time.
pub fn master_down_interval_us(version: Version, priority: u8, adver_int_us: u64) -> u64 {
    adver_int_us
        .saturating_mul(3)
        .saturating_add(skew_time_us(version, priority, adver_int_us))
}

/// RFC 5798 §6.4 states, as keepalived names them in its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Not started yet, or stopped.
    Initialize,
    Backup,
    Master,
    Fault,
}

impl State {
    /// The word keepalived uses in logs and notify arguments.
    pub fn keyword(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// One input to an [`Instance`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Startup,
    /// Stop: a master sends priority 0 and releases its VIPs.
    Shutdown,
    /// Removed by a reload: stop as [`Event::Shutdown`] does, but announce
    /// DELETED (with `notify_deleted`) or FAULT (keepalived's default)
    /// instead of STOP.
    Delete,
    /// A VRRP message for this instance's VRID as the transport received
    /// it: the IP header's addresses and TTL / hop limit, and the payload
    /// (with the IPv4 header and AH in front of it for `auth_type AH`).
    AdvertReceived {
        from: IpAddr,
        to: IpAddr,
        ttl: u8,
        payload: Vec<u8>,
        ah_prefix: Option<Vec<u8>>,
    },
    /// Fire whatever timers are due.
    Tick,
    /// The trackers' verdict: priority adjustment and fault reasons (empty
    /// when healthy).
    Tracking {
        delta: i32,
        faults: Vec<String>,
    },
    /// A sync group holds this member in FAULT because another one is.
    GroupFault(bool),
    /// Operator action: a master sends priority 0, releases its VIPs and
    /// stays BACKUP for `hold`; a backup just stays BACKUP for `hold`.
    ForceFailover {
        hold: Duration,
    },
    /// Operator action: run at this priority (1-254) instead of the
    /// configured one, or back at the configured one with `None`. A
    /// master advertises the new priority at once, so a peer with a
    /// higher one (and preemption) takes over, and a raised backup
    /// preempts a lower master (RFC 5798 §6.4.2).
    SetPriority(Option<u8>),
    /// The address adverts go out from (for the equal-priority tie), when
    /// no `unicast_src_ip` is configured: the interface's primary address.
    LocalAddress(Option<IpAddr>),
    /// The sync group lets this member (which wants it) become MASTER.
    SyncGoMaster,
    /// The sync group moves this member to BACKUP (another member went).
    SyncGoBackup,
}

/// Whose notify script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotifyTarget {
    Instance,
    Group,
}

/// Which notify script runs (`notify_master`, …, or plain `notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    Master,
    Backup,
    Fault,
    Stop,
    /// `notify_deleted SCRIPT`, when a reload removes the instance.
    Deleted,
    /// A reload removed an instance without `notify_deleted`: announced
    /// as FAULT, with no script of its own.
    DeletedAsFault,
    /// `notify_master_rx_lower_pri`: a master heard a lower priority.
    MasterRxLowerPri,
    /// `notify`, run on every transition with keepalived's four arguments.
    Any,
}

/// The state word of a [`VrrpAction::Notice`]: what keepalived writes to its
/// notify FIFOs (keepalived.conf(5), `notify` and `notify_fifo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NoticeState {
    Master,
    Backup,
    Fault,
    /// VRRP stopped (instances and groups).
    Stop,
    /// Removed by a reload, with `notify_deleted`.
    Deleted,
    /// A master heard an advert with a lower priority (FIFO only).
    MasterRxLowerPri,
    /// The priority changed while MASTER (`notify_priority_changes`).
    MasterPriority,
    /// The priority changed while not MASTER (`notify_priority_changes`).
    BackupPriority,
}

impl NoticeState {
    /// The word in FIFO lines and `notify` arguments.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Master => "MASTER",
            Self::Backup => "BACKUP",
            Self::Fault => "FAULT",
            Self::Stop => "STOP",
            Self::Deleted => "DELETED",
            Self::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            Self::MasterPriority => "MASTER_PRIORITY",
            Self::BackupPriority => "BACKUP_PRIORITY",
        }
    }
}

/// A command to run, split as keepalived splits it, with its user/group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptCommand {
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl From<&Script> for ScriptCommand {
    fn from(script: &Script) -> Self {
        Self {
            argv: script.argv.clone(),
            user: script.user.clone(),
            group: script.group.clone(),
        }
    }
}

/// What the adapters must do. Order matters: carry them out in sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum VrrpAction {
    /// Send `advert` to each destination (multicast group or unicast
    /// peers), from `source` when configured (`unicast_src_ip`), else from
    /// the interface's address; TTL / hop limit 255.
    SendAdvert {
        instance: String,
        interface: Option<String>,
        source: Option<IpAddr>,
        destinations: Vec<IpAddr>,
        advert: Advertisement,
        /// `auth_type AH`: the sequence number of the Authentication
        /// Header (RFC 2402 §2.5) this advert is sealed with.
        #[serde(skip_serializing_if = "Option::is_none")]
        ah_sequence: Option<u32>,
    },
    AddVips {
        instance: String,
        interface: Option<String>,
        vips: Vec<Vip>,
    },
    RemoveVips {
        instance: String,
        interface: Option<String>,
        vips: Vec<Vip>,
    },
    /// Announce the addresses with `repeat` gratuitous ARPs (IPv4) or
    /// unsolicited neighbour advertisements (IPv6); the adapter paces them
    /// (`vrrp_garp_interval` / `vrrp_gna_interval`).
    SendGratuitous {
        instance: String,
        interface: Option<String>,
        addresses: Vec<IpAddr>,
        repeat: u32,
    },
    RunNotify {
        target: NotifyTarget,
        name: String,
        kind: NotifyKind,
        command: ScriptCommand,
    },
    /// Run a `vrrp_script` now; report its outcome with
    /// [`Input::ScriptResult`]. A run still going after `timeout` failed.
    RunScript {
        script: String,
        command: ScriptCommand,
        timeout: Duration,
    },
    StateChanged {
        instance: String,
        from: State,
        to: State,
    },
    /// Tell the operator's tools: one notify FIFO line
    /// (`INSTANCE "VI_1" MASTER 150`, `GROUP "G1" MASTER 0`) and, when
    /// `alert` is set, an e-mail alert. Comes after the notify scripts of
    /// the same transition, in keepalived's order.
    Notice {
        target: NotifyTarget,
        name: String,
        state: NoticeState,
        /// The instance's effective priority; 0 for a group.
        priority: u8,
        alert: bool,
    },
    /// A log line in keepalived's wording, e.g. `(VI_1) Entering MASTER STATE`.
    Log { line: String },
}
