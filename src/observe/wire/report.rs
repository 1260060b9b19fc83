//! What the wire listener tells the console: the virtual routers heard,
//! their speakers and the alarms, as plain serialisable data.
//!
//! Every time is an age in milliseconds at the moment the report was made
//! (never an `Instant`), so a report stays meaningful after it crosses a
//! process boundary inside the console snapshot. Nothing here computes:
//! the tracker fills these in.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The address family of a virtual router (VRRPv3 keeps IPv4 and IPv6
/// routers of one VRID apart, RFC 5798 §5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// One virtual router as heard on one interface: the key every alarm
/// names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouterKey {
    pub interface: String,
    pub family: Family,
    pub vrid: u8,
}

impl std::fmt::Display for RouterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VRID {} ({}) on {}",
            self.vrid, self.family, self.interface
        )
    }
}

/// Everything the listener has heard, at one moment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WireReport {
    /// One entry per (interface, family, VRID), sorted by that key.
    pub routers: Vec<RouterSeen>,
    /// Current alarms, most serious kinds first.
    pub alarms: Vec<WireAlarm>,
    /// Protocol-112 packets that could not be decoded.
    pub malformed: u64,
    /// Why the last of them could not be decoded.
    pub last_error: Option<String>,
}

/// A virtual router heard on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterSeen {
    pub interface: String,
    pub family: Family,
    /// VRRP version of the last advert (2 or 3).
    pub version: u8,
    pub vrid: u8,
    /// The configured instance this router matches, when one does.
    pub instance: Option<String>,
    /// The speaker that most recently advertised a non-zero priority;
    /// `None` once it stepped down (priority 0) and nobody took over yet.
    pub master: Option<IpAddr>,
    pub master_priority: Option<u8>,
    /// Whether the master is this host (its adverts were seen outgoing).
    pub master_is_self: bool,
    /// The master's advertised interval in centiseconds (v2 seconds × 100).
    pub interval_cs: u32,
    /// Adverts heard for this router, every speaker together.
    pub adverts: u64,
    pub last_seen_ms_ago: u64,
    /// Every address that advertised for this router, by address.
    pub speakers: Vec<SpeakerSeen>,
}

/// One source address advertising for a virtual router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerSeen {
    pub source: IpAddr,
    /// The priority of its last advert (0 = it stepped down).
    pub priority: u8,
    pub interval_cs: u32,
    pub adverts: u64,
    pub first_seen_ms_ago: u64,
    pub last_seen_ms_ago: u64,
    /// Sent by this host (seen as outgoing frames).
    pub own: bool,
    /// The addresses its last advert carried (the VIPs).
    pub addresses: Vec<IpAddr>,
}

/// A speaker advertising as master right now (in a [`WireAlarm::TwoMasters`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveMaster {
    pub source: IpAddr,
    pub priority: u8,
    /// This host's own adverts.
    pub own: bool,
    pub last_seen_ms_ago: u64,
}

/// Something on the wire an operator must look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireAlarm {
    /// Split brain: several speakers advertise as master at once.
    TwoMasters {
        router: RouterKey,
        instance: Option<String>,
        /// Each live master, by address.
        masters: Vec<LiveMaster>,
    },
    /// The master went quiet (or stepped down) and nobody took over
    /// within Master_Down_Interval: the VIPs may be owned by nobody.
    MasterSilent {
        router: RouterKey,
        instance: Option<String>,
        last_master: IpAddr,
        last_priority: u8,
        /// The last master's final advert carried priority 0.
        stepped_down: bool,
        silent_ms: u64,
        master_down_interval_ms: u64,
    },
    /// A configured instance nobody has advertised for since listening
    /// began, for longer than its Master_Down_Interval: no router is its
    /// master (both directors down, in FAULT, or VRRP filtered here).
    NeverHeard {
        /// The configured router (`any` interface when the instance names
        /// none).
        router: RouterKey,
        instance: String,
        listening_ms: u64,
    },
    /// A speaker's advertised priority changed (tracking scripts,
    /// interfaces, or a reconfiguration). Kept for a minute.
    PriorityChanged {
        router: RouterKey,
        instance: Option<String>,
        source: IpAddr,
        from: u8,
        to: u8,
        ms_ago: u64,
    },
    /// A speaker advertises another interval than the configuration says.
    IntervalMismatch {
        router: RouterKey,
        instance: String,
        source: IpAddr,
        expected_cs: u32,
        advertised_cs: u32,
    },
    /// A speaker advertises other addresses than the configured VIPs.
    VipMismatch {
        router: RouterKey,
        instance: String,
        source: IpAddr,
        expected: Vec<IpAddr>,
        advertised: Vec<IpAddr>,
    },
    /// A speaker advertises another VRRP version than the configuration.
    VersionMismatch {
        router: RouterKey,
        instance: String,
        source: IpAddr,
        expected: u8,
        advertised: u8,
    },
}

impl WireAlarm {
    /// The virtual router the alarm is about.
    pub fn router(&self) -> &RouterKey {
        match self {
            WireAlarm::TwoMasters { router, .. }
            | WireAlarm::MasterSilent { router, .. }
            | WireAlarm::PriorityChanged { router, .. }
            | WireAlarm::IntervalMismatch { router, .. }
            | WireAlarm::VipMismatch { router, .. }
            | WireAlarm::VersionMismatch { router, .. }
            | WireAlarm::NeverHeard { router, .. } => router,
        }
    }
}

impl WireAlarm {
    /// Whether this alarm means VIPs may be held twice or not at all.
    pub fn is_serious(&self) -> bool {
        matches!(
            self,
            WireAlarm::TwoMasters { .. }
                | WireAlarm::MasterSilent { .. }
                | WireAlarm::NeverHeard { .. }
        )
    }
}

impl std::fmt::Display for WireAlarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |instance: &Option<String>| {
            instance
                .as_deref()
                .map_or_else(String::new, |i| format!(" ({i})"))
        };
        match self {
            WireAlarm::TwoMasters {
                router,
                instance,
                masters,
            } => {
                let list: Vec<String> = masters
                    .iter()
                    .map(|m| {
                        let own = if m.own { ", this host" } else { "" };
                        format!("{} prio {}{own}", m.source, m.priority)
                    })
                    .collect();
                write!(
                    f,
                    "TWO MASTERS on {router}{}: {}",
                    name(instance),
                    list.join(" and ")
                )
            }
            WireAlarm::NeverHeard {
                router,
                instance,
                listening_ms,
            } => write!(
                f,
                "NO MASTER on {router} ({instance}): no advert heard in {} s of listening",
                listening_ms / 1000
            ),
            WireAlarm::MasterSilent {
                router,
                instance,
                last_master,
                silent_ms,
                stepped_down,
                ..
            } => {
                let how = if *stepped_down {
                    "stepped down"
                } else {
                    "went silent"
                };
                write!(
                    f,
                    "NO MASTER on {router}{}: {last_master} {how} {} s ago",
                    name(instance),
                    silent_ms / 1000
                )
            }
            WireAlarm::PriorityChanged {
                router,
                instance,
                source,
                from,
                to,
                ..
            } => write!(
                f,
                "priority of {source} on {router}{} changed {from} -> {to}",
                name(instance)
            ),
            WireAlarm::IntervalMismatch {
                router,
                instance,
                source,
                expected_cs,
                advertised_cs,
            } => write!(
                f,
                "{source} on {router} ({instance}) advertises every {advertised_cs} cs, \
                 configured {expected_cs} cs"
            ),
            WireAlarm::VipMismatch {
                router,
                instance,
                source,
                ..
            } => write!(
                f,
                "{source} on {router} ({instance}) advertises other VIPs than configured"
            ),
            WireAlarm::VersionMismatch {
                router,
                instance,
                source,
                ..
            } => write!(
                f,
                "{source} on {router} ({instance}) speaks another VRRP version than configured"
            ),
        }
    }
}
