//! Turning the tracker's state into a report: the routers as an operator
//! reads them, and the alarms that hold at a given moment.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::{Router, Speaker, Tracker, ALARM_MEMORY_MS, FORGET_UNEXPECTED_MS};
use crate::observe::wire::report::{
    Family, LiveMaster, RouterKey, RouterSeen, SpeakerSeen, WireAlarm, WireReport,
};
use crate::vrrp::machine::master_down_interval_us;
use crate::vrrp::packet::Version;

pub(super) fn report(tracker: &Tracker, now_ms: u64) -> WireReport {
    let mut routers = Vec::new();
    let mut alarms = Vec::new();
    for (key, router) in &tracker.routers {
        let expected = tracker.expectation(key);
        let age = now_ms.saturating_sub(router.last_seen_ms);
        if expected.is_none() && age > FORGET_UNEXPECTED_MS {
            continue;
        }
        let instance = expected.map(|e| e.instance.clone());
        routers.push(router_seen(key, router, instance.clone(), now_ms));
        let window =
            |speaker: &Speaker| tracker.window_ms(key, speaker.version, speaker.interval_cs);
        alarms.extend(two_masters(key, router, &instance, now_ms, window));
        alarms.extend(master_silent(key, router, &instance, now_ms, window));
        alarms.extend(priority_changes(key, router, &instance, now_ms));
        if let Some(expected) = expected {
            for (source, speaker) in &router.speakers {
                if now_ms.saturating_sub(speaker.last_seen_ms) <= ALARM_MEMORY_MS {
                    alarms.extend(mismatches(key, expected, *source, speaker));
                }
            }
        }
    }
    alarms.extend(never_heard(tracker, now_ms));
    alarms.sort_by(|a, b| (rank(a), a.router()).cmp(&(rank(b), b.router())));
    WireReport {
        routers,
        alarms,
        malformed: tracker.malformed,
        last_error: tracker.last_error.clone(),
    }
}

fn router_seen(
    key: &RouterKey,
    router: &Router,
    instance: Option<String>,
    now_ms: u64,
) -> RouterSeen {
    let master = router
        .master
        .and_then(|source| Some((source, router.speakers.get(&source)?)));
    let latest = router.speakers.values().max_by_key(|s| s.last_seen_ms);
    let ago = |at: u64| now_ms.saturating_sub(at);
    RouterSeen {
        interface: key.interface.clone(),
        family: key.family,
        version: router.version.number(),
        vrid: key.vrid,
        instance,
        master: master.map(|(source, _)| source),
        master_priority: master.map(|(_, speaker)| speaker.priority),
        master_is_self: master.is_some_and(|(_, speaker)| speaker.own),
        interval_cs: master
            .map(|(_, speaker)| speaker)
            .or(latest)
            .map_or(0, |speaker| speaker.interval_cs),
        adverts: router.adverts,
        last_seen_ms_ago: ago(router.last_seen_ms),
        speakers: router
            .speakers
            .iter()
            .map(|(source, speaker)| SpeakerSeen {
                source: *source,
                priority: speaker.priority,
                interval_cs: speaker.interval_cs,
                adverts: speaker.adverts,
                first_seen_ms_ago: ago(speaker.first_seen_ms),
                last_seen_ms_ago: ago(speaker.last_seen_ms),
                own: speaker.own,
                addresses: speaker.addresses.clone(),
            })
            .collect(),
    }
}

/// Split brain. In keepalived a backup never advertises, so any two
/// speakers claiming mastership (non-zero priority) within
/// Master_Down_Interval are two masters, RFC 5798 §6.4.3 notwithstanding.
/// A handover is not one: the old master's last claim precedes the new
/// one's first (a takeover after silence, or a preemption the old master
/// obeyed). Two masters is when each has claimed twice since the other
/// began claiming, which also ignores a single advert in flight during a
/// preemption; with both sending every interval that holds within two
/// intervals.
fn two_masters(
    key: &RouterKey,
    router: &Router,
    instance: &Option<String>,
    now_ms: u64,
    window: impl Fn(&Speaker) -> u64,
) -> Option<WireAlarm> {
    let live: Vec<(IpAddr, &Speaker, u64, u64)> = router
        .speakers
        .iter()
        .filter(|(_, speaker)| speaker.priority != 0)
        .filter_map(|(source, speaker)| {
            let (_, last) = speaker.last_claim?;
            let start = speaker.run_start_ms?;
            let previous = speaker.previous_claim_ms?;
            (now_ms.saturating_sub(last) <= window(speaker))
                .then_some((*source, speaker, start, previous))
        })
        .collect();
    let mut masters = BTreeSet::new();
    for (i, (a, _, a_start, a_previous)) in live.iter().enumerate() {
        for (b, _, b_start, b_previous) in &live[i + 1..] {
            if a_previous > b_start && b_previous > a_start {
                masters.insert(*a);
                masters.insert(*b);
            }
        }
    }
    if masters.len() < 2 {
        return None;
    }
    Some(WireAlarm::TwoMasters {
        router: key.clone(),
        instance: instance.clone(),
        masters: live
            .iter()
            .filter(|(source, ..)| masters.contains(source))
            .map(|(source, speaker, ..)| LiveMaster {
                source: *source,
                priority: speaker.priority,
                own: speaker.own,
                last_seen_ms_ago: now_ms.saturating_sub(speaker.last_seen_ms),
            })
            .collect(),
    })
}

/// RFC 5798 §6.4.2: a backup takes over once Master_Down_Interval passes
/// without an advert (or Skew_Time after a priority-0 one). When nothing
/// at all was heard for that long, nobody did.
fn master_silent(
    key: &RouterKey,
    router: &Router,
    instance: &Option<String>,
    now_ms: u64,
    window: impl Fn(&Speaker) -> u64,
) -> Option<WireAlarm> {
    let (source, speaker, priority) = router
        .speakers
        .iter()
        .filter_map(|(source, speaker)| {
            let (priority, at) = speaker.last_claim?;
            Some((at, *source, speaker, priority))
        })
        .max_by_key(|(at, ..)| *at)
        .map(|(_, source, speaker, priority)| (source, speaker, priority))?;
    let silent_ms = now_ms.saturating_sub(router.last_seen_ms);
    let master_down_interval_ms = window(speaker);
    (silent_ms > master_down_interval_ms).then(|| WireAlarm::MasterSilent {
        router: key.clone(),
        instance: instance.clone(),
        last_master: source,
        last_priority: priority,
        stepped_down: speaker.priority == 0,
        silent_ms,
        master_down_interval_ms,
    })
}

fn priority_changes<'a>(
    key: &'a RouterKey,
    router: &'a Router,
    instance: &'a Option<String>,
    now_ms: u64,
) -> impl Iterator<Item = WireAlarm> + 'a {
    router.speakers.iter().filter_map(move |(source, speaker)| {
        let change = speaker.priority_change?;
        let ms_ago = now_ms.saturating_sub(change.at_ms);
        (ms_ago <= ALARM_MEMORY_MS).then(|| WireAlarm::PriorityChanged {
            router: key.clone(),
            instance: instance.clone(),
            source: *source,
            from: change.from,
            to: change.to,
            ms_ago,
        })
    })
}

/// The speaker's last advert against the matched configuration.
fn mismatches(
    key: &RouterKey,
    expected: &super::Expected,
    source: IpAddr,
    speaker: &Speaker,
) -> Vec<WireAlarm> {
    let mut found = Vec::new();
    let instance = expected.instance.clone();
    if speaker.version.number() != expected.version {
        found.push(WireAlarm::VersionMismatch {
            router: key.clone(),
            instance: instance.clone(),
            source,
            expected: expected.version,
            advertised: speaker.version.number(),
        });
    }
    if speaker.interval_cs != expected.interval_cs {
        found.push(WireAlarm::IntervalMismatch {
            router: key.clone(),
            instance: instance.clone(),
            source,
            expected_cs: expected.interval_cs,
            advertised_cs: speaker.interval_cs,
        });
    }
    let wanted: BTreeSet<IpAddr> = expected.vips.iter().copied().collect();
    let carried: BTreeSet<IpAddr> = speaker.addresses.iter().copied().collect();
    if wanted != carried {
        found.push(WireAlarm::VipMismatch {
            router: key.clone(),
            instance,
            source,
            expected: wanted.into_iter().collect(),
            advertised: carried.into_iter().collect(),
        });
    }
    found
}

/// Most serious first: nobody or everybody owning the VIPs, then a
/// configuration that disagrees with the wire, then history.
/// Configured instances no advert was heard for since listening began,
/// once a Master_Down_Interval (RFC 5798 §6.1; RFC 3768 §6.1) has passed:
/// some router is always master, so silence means none is.
fn never_heard(tracker: &Tracker, now_ms: u64) -> Vec<WireAlarm> {
    let mut alarms = Vec::new();
    for expected in &tracker.expected {
        if tracker.routers.keys().any(|key| expected.matches(key)) {
            continue;
        }
        let since = tracker
            .expected_since_ms
            .get(&expected.instance)
            .copied()
            .unwrap_or(0);
        let listening_ms = now_ms.saturating_sub(since);
        let priority = expected.priority.clamp(1, 254);
        let interval_us = u64::from(expected.interval_cs) * 10_000;
        let master_down_interval_ms =
            master_down_interval_us(version_of(expected.version), priority, interval_us)
                .div_ceil(1000);
        if listening_ms > master_down_interval_ms {
            alarms.push(WireAlarm::NeverHeard {
                router: RouterKey {
                    interface: expected.interface.clone().unwrap_or_else(|| "any".into()),
                    family: expected
                        .vips
                        .first()
                        .map_or(Family::Ipv4, |vip| Family::of(*vip)),
                    vrid: expected.vrid,
                },
                instance: expected.instance.clone(),
                listening_ms,
            });
        }
    }
    alarms
}

fn version_of(number: u8) -> Version {
    if number == 3 {
        Version::V3
    } else {
        Version::V2
    }
}

fn rank(alarm: &WireAlarm) -> u8 {
    match alarm {
        WireAlarm::TwoMasters { .. } => 0,
        WireAlarm::MasterSilent { .. } | WireAlarm::NeverHeard { .. } => 1,
        WireAlarm::VipMismatch { .. } => 2,
        WireAlarm::VersionMismatch { .. } => 3,
        WireAlarm::IntervalMismatch { .. } => 4,
        WireAlarm::PriorityChanged { .. } => 5,
    }
}
