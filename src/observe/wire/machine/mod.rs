//! The advert tracker: what every virtual router heard on the wire is
//! doing, from decoded adverts alone, sans-I/O.
//!
//! Inputs are [`ObservedAdvert`]s stamped with a monotonic time in
//! milliseconds and malformed-packet notes; [`Tracker::report`] turns the
//! state into a [`WireReport`] at a given `now`. Like `vrrp::machine`, this
//! module never reads a clock, a socket or a file, and it never decides
//! anything for a router: it only watches.
//!
//! Memory is bounded: at most [`MAX_ROUTERS`] routers and
//! [`MAX_SPEAKERS`] speakers per router (the least recently heard is
//! forgotten first, so a flood of forged sources cannot grow it), and a
//! router no configured instance matches is forgotten after
//! [`FORGET_UNEXPECTED_MS`] of silence.

mod alarms;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::report::{Family, RouterKey, WireReport};
use crate::vrrp::machine::master_down_interval_us;
use crate::vrrp::packet::{Advertisement, Version};

/// Routers tracked at most.
pub const MAX_ROUTERS: usize = 1024;
/// Speakers tracked per router at most.
pub const MAX_SPEAKERS: usize = 64;
/// How long a router no expectation matches is remembered after its last
/// advert (its `MasterSilent` alarm goes with it).
pub const FORGET_UNEXPECTED_MS: u64 = 10 * 60 * 1000;
/// How long a priority change, and a mismatch of a speaker no longer
/// heard, stay in the alarms: long enough for an operator glancing at the
/// console every few seconds to notice a flap, short enough that the list
/// does not fill with history (the logs keep that).
pub const ALARM_MEMORY_MS: u64 = 60 * 1000;

/// One advert as the listener saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAdvert {
    /// When it was seen, in milliseconds on the caller's monotonic clock.
    pub at_ms: u64,
    /// The interface it was seen on.
    pub interface: String,
    /// Sent by this host (`PACKET_OUTGOING`), not received.
    pub outgoing: bool,
    /// The IP source address.
    pub source: IpAddr,
    pub advert: Advertisement,
}

impl ObservedAdvert {
    /// The advertised interval in centiseconds, whatever the version's
    /// unit (v2 whole seconds, RFC 3768 §5.3.7; v3 centiseconds,
    /// RFC 5798 §5.2.7).
    pub fn interval_cs(&self) -> u32 {
        interval_cs(&self.advert)
    }
}

fn interval_cs(advert: &Advertisement) -> u32 {
    match advert.version {
        Version::V2 => u32::from(advert.interval) * 100,
        Version::V3 => u32::from(advert.interval),
    }
}

/// What the configuration says a virtual router should advertise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// The `vrrp_instance` name.
    pub instance: String,
    /// Its `interface`; `None` matches any interface.
    pub interface: Option<String>,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    pub interval_cs: u32,
    /// The addresses the adverts carry; their family is the router's
    /// (an empty list matches either family).
    pub vips: Vec<IpAddr>,
    /// This host's configured priority.
    pub priority: u8,
}

impl Expected {
    fn matches(&self, key: &RouterKey) -> bool {
        self.vrid == key.vrid
            && self
                .interface
                .as_ref()
                .is_none_or(|name| *name == key.interface)
            && self
                .vips
                .first()
                .is_none_or(|vip| Family::of(*vip) == key.family)
    }
}

/// A priority change of one speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PriorityChange {
    from: u8,
    to: u8,
    at_ms: u64,
}

/// One source advertising for a router.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Speaker {
    /// Priority of the last advert, zero included.
    priority: u8,
    interval_cs: u32,
    version: Version,
    addresses: Vec<IpAddr>,
    adverts: u64,
    first_seen_ms: u64,
    last_seen_ms: u64,
    own: bool,
    /// Its last non-zero priority and when it was advertised.
    last_claim: Option<(u8, u64)>,
    /// When its current run of master adverts began (none since a
    /// priority-0 advert or a silence longer than the window).
    run_start_ms: Option<u64>,
    /// The claim before `last_claim` in the current run, if any.
    previous_claim_ms: Option<u64>,
    priority_change: Option<PriorityChange>,
}

/// One (interface, family, VRID).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Router {
    version: Version,
    adverts: u64,
    last_seen_ms: u64,
    /// RFC 5798 §6.4.3: the source of the last non-zero-priority advert;
    /// cleared when that source steps down with priority 0.
    master: Option<IpAddr>,
    speakers: BTreeMap<IpAddr, Speaker>,
}

/// The tracker of every virtual router heard.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    expected: Vec<Expected>,
    /// When each expectation (by instance name) was first set: a
    /// configured instance nobody has advertised for a Master_Down_Interval
    /// since then has no master.
    expected_since_ms: BTreeMap<String, u64>,
    routers: BTreeMap<RouterKey, Router>,
    malformed: u64,
    last_error: Option<String>,
}

impl Tracker {
    /// A tracker listening from time 0 of the caller's clock.
    pub fn new(expected: Vec<Expected>) -> Self {
        let mut tracker = Self::default();
        tracker.set_expected(expected, 0);
        tracker
    }

    /// Replaces the expectations (after a configuration reload); what was
    /// heard is kept, and an instance already expected keeps its start.
    pub fn set_expected(&mut self, expected: Vec<Expected>, now_ms: u64) {
        self.expected_since_ms
            .retain(|name, _| expected.iter().any(|e| e.instance == *name));
        for e in &expected {
            self.expected_since_ms
                .entry(e.instance.clone())
                .or_insert(now_ms);
        }
        self.expected = expected;
    }

    /// Counts a protocol-112 packet that could not be decoded.
    pub fn malformed(&mut self, error: impl std::fmt::Display) {
        self.malformed += 1;
        self.last_error = Some(error.to_string());
    }

    /// Takes one advert in.
    pub fn observe(&mut self, seen: ObservedAdvert) {
        let key = RouterKey {
            interface: seen.interface.clone(),
            family: Family::of(seen.source),
            vrid: seen.advert.vrid,
        };
        self.forget_before(seen.at_ms);
        if !self.routers.contains_key(&key) && self.routers.len() >= MAX_ROUTERS {
            evict_oldest(&mut self.routers, |router| router.last_seen_ms);
        }
        let window = self.window_ms(&key, seen.advert.version, interval_cs(&seen.advert));
        let router = self.routers.entry(key).or_insert_with(|| Router {
            version: seen.advert.version,
            adverts: 0,
            last_seen_ms: seen.at_ms,
            master: None,
            speakers: BTreeMap::new(),
        });
        if !router.speakers.contains_key(&seen.source) && router.speakers.len() >= MAX_SPEAKERS {
            evict_oldest(&mut router.speakers, |speaker| speaker.last_seen_ms);
        }
        router.version = seen.advert.version;
        router.adverts += 1;
        router.last_seen_ms = router.last_seen_ms.max(seen.at_ms);
        let speaker = router
            .speakers
            .entry(seen.source)
            .or_insert_with(|| Speaker {
                priority: seen.advert.priority,
                interval_cs: 0,
                version: seen.advert.version,
                addresses: Vec::new(),
                adverts: 0,
                first_seen_ms: seen.at_ms,
                last_seen_ms: seen.at_ms,
                own: false,
                last_claim: None,
                run_start_ms: None,
                previous_claim_ms: None,
                priority_change: None,
            });
        speaker.adverts += 1;
        speaker.last_seen_ms = seen.at_ms;
        speaker.own |= seen.outgoing;
        speaker.interval_cs = interval_cs(&seen.advert);
        speaker.version = seen.advert.version;
        speaker.priority = seen.advert.priority;
        speaker.addresses = seen.advert.addresses;
        if seen.advert.priority == 0 {
            // RFC 5798 §6.4.3: priority 0 is the master stepping down; the
            // backups take over after Skew_Time.
            speaker.run_start_ms = None;
            if router.master == Some(seen.source) {
                router.master = None;
            }
            return;
        }
        let continuing = speaker.run_start_ms.is_some()
            && speaker
                .last_claim
                .is_some_and(|(_, at)| seen.at_ms.saturating_sub(at) <= window);
        if continuing {
            speaker.previous_claim_ms = speaker.last_claim.map(|(_, at)| at);
        } else {
            speaker.run_start_ms = Some(seen.at_ms);
            speaker.previous_claim_ms = None;
        }
        if let Some((from, _)) = speaker.last_claim {
            if from != seen.advert.priority {
                speaker.priority_change = Some(PriorityChange {
                    from,
                    to: seen.advert.priority,
                    at_ms: seen.at_ms,
                });
            }
        }
        speaker.last_claim = Some((seen.advert.priority, seen.at_ms));
        router.master = Some(seen.source);
    }

    /// Everything heard, with the alarms that hold at `now_ms`.
    pub fn report(&self, now_ms: u64) -> WireReport {
        alarms::report(self, now_ms)
    }

    /// The configured instance for a router, preferring an expectation
    /// that names the interface over one that does not.
    fn expectation(&self, key: &RouterKey) -> Option<&Expected> {
        let mut matching = self.expected.iter().filter(|e| e.matches(key));
        let first = matching.next()?;
        if first.interface.is_some() {
            return Some(first);
        }
        Some(matching.find(|e| e.interface.is_some()).unwrap_or(first))
    }

    /// Master_Down_Interval for a router whose master advertises
    /// `interval_cs` (RFC 3768 §6.1, RFC 5798 §6.1), in milliseconds,
    /// rounded up. The
    /// skew is a backup's: this host's configured priority when an
    /// expectation matches (this host is then the backup that would take
    /// over), else priority 1, the longest any backup waits. An address
    /// owner (255) is never the backup, so it falls back to 1 too.
    fn window_ms(&self, key: &RouterKey, version: Version, interval_cs: u32) -> u64 {
        let backup_priority = self
            .expectation(key)
            .map(|expected| expected.priority)
            .filter(|priority| (1..=254).contains(priority))
            .unwrap_or(1);
        let interval_us = u64::from(interval_cs) * 10_000;
        master_down_interval_us(version, backup_priority, interval_us).div_ceil(1000)
    }

    /// Drops routers no expectation matches that have been silent for
    /// [`FORGET_UNEXPECTED_MS`].
    fn forget_before(&mut self, now_ms: u64) {
        let expected = &self.expected;
        self.routers.retain(|key, router| {
            now_ms.saturating_sub(router.last_seen_ms) <= FORGET_UNEXPECTED_MS
                || expected.iter().any(|e| e.matches(key))
        });
    }
}

fn evict_oldest<K: Ord + Clone, V>(map: &mut BTreeMap<K, V>, last_seen: impl Fn(&V) -> u64) {
    let oldest = map
        .iter()
        .min_by_key(|(_, value)| last_seen(value))
        .map(|(key, _)| key.clone());
    if let Some(key) = oldest {
        map.remove(&key);
    }
}
