//! The tracker driven with plain adverts and times: what an operator would
//! read in the report at each moment. No sleeping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use super::*;
use crate::observe::wire::report::{WireAlarm, WireReport};
use crate::vrrp::packet::Auth;

const A: &str = "198.51.100.1";
const B: &str = "198.51.100.2";
const VIP: &str = "198.51.100.100";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A VRRPv2 advert of VRID 51 on eth0, interval 1 s, carrying the VIP.
fn v2(at_ms: u64, source: &str, priority: u8) -> ObservedAdvert {
    ObservedAdvert {
        at_ms,
        interface: "eth0".to_string(),
        outgoing: false,
        source: ip(source),
        advert: Advertisement {
            version: Version::V2,
            vrid: 51,
            priority,
            interval: 1,
            auth: Auth::None,
            addresses: vec![ip(VIP)],
        },
    }
}

/// A VRRPv3 advert of VRID 51 on eth0 every `interval_cs`.
fn v3(at_ms: u64, source: &str, priority: u8, interval_cs: u16) -> ObservedAdvert {
    let mut seen = v2(at_ms, source, priority);
    seen.advert.version = Version::V3;
    seen.advert.interval = interval_cs;
    seen
}

fn own(mut seen: ObservedAdvert) -> ObservedAdvert {
    seen.outgoing = true;
    seen
}

fn expected_vi1() -> Expected {
    Expected {
        instance: "VI_1".to_string(),
        interface: Some("eth0".to_string()),
        vrid: 51,
        version: 2,
        interval_cs: 100,
        vips: vec![ip(VIP)],
        priority: 100,
    }
}

fn two_masters(report: &WireReport) -> Option<Vec<IpAddr>> {
    report.alarms.iter().find_map(|alarm| match alarm {
        WireAlarm::TwoMasters { masters, .. } => Some(masters.iter().map(|m| m.source).collect()),
        _ => None,
    })
}

fn silent(report: &WireReport) -> Option<&WireAlarm> {
    report
        .alarms
        .iter()
        .find(|alarm| matches!(alarm, WireAlarm::MasterSilent { .. }))
}

/// Every 100 ms over `from..to`, the report must hold no two masters.
fn never_two_masters(tracker: &Tracker, from: u64, to: u64) {
    for now in (from..to).step_by(100) {
        let report = tracker.report(now);
        assert_eq!(two_masters(&report), None, "at {now} ms: {report:#?}");
    }
}

#[test]
fn the_master_its_priority_and_its_speakers_are_reported() {
    let mut tracker = Tracker::new(Vec::new());
    for at in [0, 1000, 2000] {
        tracker.observe(v2(at, A, 150));
    }
    let report = tracker.report(2500);
    assert_eq!(report.routers.len(), 1);
    let router = &report.routers[0];
    assert_eq!(
        (router.interface.as_str(), router.family, router.vrid),
        ("eth0", Family::Ipv4, 51)
    );
    assert_eq!(router.version, 2);
    assert_eq!(router.master, Some(ip(A)));
    assert_eq!(router.master_priority, Some(150));
    assert!(!router.master_is_self);
    assert_eq!(router.interval_cs, 100);
    assert_eq!(router.adverts, 3);
    assert_eq!(router.last_seen_ms_ago, 500);
    assert_eq!(router.instance, None);
    let speaker = &router.speakers[0];
    assert_eq!(speaker.source, ip(A));
    assert_eq!((speaker.first_seen_ms_ago, speaker.adverts), (2500, 3));
    assert_eq!(speaker.addresses, vec![ip(VIP)]);
    assert!(report.alarms.is_empty(), "{:#?}", report.alarms);
}

#[test]
fn adverts_this_host_sent_mark_it_as_the_master() {
    let mut tracker = Tracker::new(Vec::new());
    tracker.observe(own(v2(0, A, 150)));
    let router = &tracker.report(10).routers[0];
    assert!(router.master_is_self);
    assert!(router.speakers[0].own);
}

#[test]
fn a_master_stepping_down_hands_over_without_an_alarm() {
    let mut tracker = Tracker::new(Vec::new());
    for at in [0, 1000, 2000, 3000] {
        tracker.observe(v2(at, A, 150));
    }
    // RFC 5798 §6.4.3: priority 0, then the backup takes over after skew.
    tracker.observe(v2(3100, A, 0));
    let report = tracker.report(3200);
    assert_eq!(report.routers[0].master, None, "A stepped down");
    assert!(report.alarms.is_empty(), "{:#?}", report.alarms);
    for at in [3700, 4700, 5700, 6700, 7700] {
        tracker.observe(own(v2(at, B, 100)));
    }
    let router = &tracker.report(8000).routers[0];
    assert_eq!(router.master, Some(ip(B)));
    assert_eq!(router.master_priority, Some(100));
    assert!(router.master_is_self);
    let a = router.speakers.iter().find(|s| s.source == ip(A)).unwrap();
    assert_eq!(a.priority, 0, "A's last advert is its step-down");
    never_two_masters(&tracker, 3700, 8000);
}

#[test]
fn a_takeover_after_a_crash_is_not_two_masters() {
    let mut tracker = Tracker::new(Vec::new());
    for at in [0, 1000, 2000, 3000] {
        tracker.observe(v2(at, A, 150));
    }
    // A crashes after 3000; B takes over 3.61 s later (priority 100).
    for at in [6610, 7610, 8610, 9610] {
        tracker.observe(v2(at, B, 100));
    }
    never_two_masters(&tracker, 6610, 10_000);
    assert_eq!(tracker.report(10_000).routers[0].master, Some(ip(B)));
}

#[test]
fn a_preemption_with_one_advert_in_flight_is_not_two_masters() {
    let mut tracker = Tracker::new(Vec::new());
    for at in [0, 1000, 2000, 3000, 4000, 5000] {
        tracker.observe(v2(at, B, 100));
    }
    // A (150) preempts at 5500; B's advert crossing it on the wire is its
    // last.
    tracker.observe(v2(5500, A, 150));
    tracker.observe(v2(5501, B, 100));
    for at in [6500, 7500, 8500, 9500, 10_500] {
        tracker.observe(v2(at, A, 150));
    }
    never_two_masters(&tracker, 5500, 11_000);
    assert_eq!(tracker.report(11_000).routers[0].master, Some(ip(A)));
}

#[test]
fn split_brain_is_raised_within_three_intervals_of_both_advertising() {
    let mut tracker = Tracker::new(vec![expected_vi1()]);
    let mut at = 0;
    while at <= 20_000 {
        tracker.observe(own(v2(at, A, 150)));
        // B stops hearing A at 10 s and becomes master at 10.3 s.
        if at >= 10_000 {
            tracker.observe(v2(at + 300, B, 100));
        }
        if at == 10_000 {
            assert_eq!(two_masters(&tracker.report(at + 300)), None);
        }
        if at == 11_000 {
            assert_eq!(
                two_masters(&tracker.report(at)),
                None,
                "B claimed only once since A began"
            );
        }
        if at + 300 >= 10_300 + 3 * 1000 {
            let report = tracker.report(at + 300);
            assert_eq!(
                two_masters(&report),
                Some(vec![ip(A), ip(B)]),
                "at {}: {report:#?}",
                at + 300
            );
            assert!(
                matches!(&report.alarms[0], WireAlarm::TwoMasters { instance: Some(name), .. } if name == "VI_1"),
                "split brain comes first and names the instance: {:#?}",
                report.alarms
            );
        }
        at += 1000;
    }
    // B hears A again and goes back to backup: the alarm clears once B's
    // last claim is older than Master_Down_Interval.
    for at in (21_000..30_000).step_by(1000) {
        tracker.observe(own(v2(at, A, 150)));
    }
    assert_eq!(two_masters(&tracker.report(29_500)), None);
}

#[test]
fn split_brain_on_vrrpv3_at_half_second_intervals() {
    let mut tracker = Tracker::new(Vec::new());
    let mut first_raised = None;
    for step in 0..10u64 {
        for seen in [v3(step * 500, A, 150, 50), v3(step * 500 + 120, B, 100, 50)] {
            let at = seen.at_ms;
            tracker.observe(seen);
            if first_raised.is_none() && two_masters(&tracker.report(at)).is_some() {
                first_raised = Some(at);
            }
        }
    }
    // Both have claimed twice since the other began when A sends at 1 s:
    // 880 ms (under two intervals) after B's first advert.
    assert_eq!(first_raised, Some(1000));
    assert_eq!(two_masters(&tracker.report(4620)), Some(vec![ip(A), ip(B)]));
}

#[test]
fn a_master_silent_past_master_down_interval_is_raised() {
    let mut tracker = Tracker::new(Vec::new());
    for at in [0, 1000, 2000] {
        tracker.observe(v2(at, A, 150));
    }
    // No expectation: the slowest backup (priority 1) waits
    // 3 s + 255/256 s = 3996.09 ms, rounded up.
    assert!(silent(&tracker.report(2000 + 3997)).is_none());
    let report = tracker.report(2000 + 3998);
    assert_eq!(
        silent(&report),
        Some(&WireAlarm::MasterSilent {
            router: RouterKey {
                interface: "eth0".to_string(),
                family: Family::Ipv4,
                vrid: 51
            },
            instance: None,
            last_master: ip(A),
            last_priority: 150,
            stepped_down: false,
            silent_ms: 3998,
            master_down_interval_ms: 3997,
        })
    );
    // The master is still shown: nobody replaced it.
    assert_eq!(report.routers[0].master, Some(ip(A)));
    // Another speaker taking over ends the alarm.
    tracker.observe(v2(6100, B, 100));
    assert!(silent(&tracker.report(6200)).is_none());
}

#[test]
fn master_down_interval_uses_this_hosts_configured_priority() {
    let mut tracker = Tracker::new(vec![expected_vi1()]);
    tracker.observe(v2(0, A, 150));
    // Backup priority 100: 3 s + 156/256 s = 3609.375 ms, rounded up.
    assert!(silent(&tracker.report(3610)).is_none());
    match silent(&tracker.report(3611)) {
        Some(WireAlarm::MasterSilent {
            master_down_interval_ms,
            instance,
            ..
        }) => {
            assert_eq!(*master_down_interval_ms, 3610);
            assert_eq!(instance.as_deref(), Some("VI_1"));
        }
        other => panic!("expected MasterSilent, got {other:?}"),
    }
}

#[test]
fn a_step_down_nobody_answers_is_a_silent_master() {
    let mut tracker = Tracker::new(Vec::new());
    tracker.observe(v2(0, A, 150));
    tracker.observe(v2(500, A, 0));
    match silent(&tracker.report(10_000)) {
        Some(WireAlarm::MasterSilent {
            last_master,
            last_priority,
            stepped_down,
            silent_ms,
            ..
        }) => {
            assert_eq!(
                (*last_master, *last_priority, *stepped_down, *silent_ms),
                (ip(A), 150, true, 9500)
            );
        }
        other => panic!("expected MasterSilent, got {other:?}"),
    }
}

#[test]
fn a_priority_change_is_shown_for_a_minute() {
    let mut tracker = Tracker::new(Vec::new());
    tracker.observe(v2(0, A, 150));
    tracker.observe(v2(1000, A, 150));
    tracker.observe(v2(2000, A, 130));
    let change = |report: &WireReport| {
        report.alarms.iter().find_map(|alarm| match alarm {
            WireAlarm::PriorityChanged {
                source,
                from,
                to,
                ms_ago,
                ..
            } => Some((*source, *from, *to, *ms_ago)),
            _ => None,
        })
    };
    assert_eq!(change(&tracker.report(2500)), Some((ip(A), 150, 130, 500)));
    assert_eq!(tracker.report(2500).routers[0].master_priority, Some(130));
    for at in (3000..=62_000).step_by(1000) {
        tracker.observe(v2(at, A, 130));
    }
    assert!(change(&tracker.report(2000 + ALARM_MEMORY_MS)).is_some());
    assert_eq!(change(&tracker.report(2001 + ALARM_MEMORY_MS)), None);
}

#[test]
fn a_step_down_is_not_a_priority_change() {
    let mut tracker = Tracker::new(Vec::new());
    tracker.observe(v2(0, A, 150));
    tracker.observe(v2(100, A, 0));
    tracker.observe(v2(5000, A, 150));
    let report = tracker.report(5100);
    assert!(
        !report
            .alarms
            .iter()
            .any(|alarm| matches!(alarm, WireAlarm::PriorityChanged { .. })),
        "{:#?}",
        report.alarms
    );
}

#[test]
fn adverts_disagreeing_with_the_configuration_are_raised() {
    let mut tracker = Tracker::new(vec![expected_vi1()]);
    let mut seen = v3(0, A, 150, 200);
    seen.advert.addresses = vec![ip("198.51.100.101")];
    tracker.observe(seen);
    let report = tracker.report(100);
    assert_eq!(report.routers[0].instance.as_deref(), Some("VI_1"));
    let kinds: Vec<&str> = report
        .alarms
        .iter()
        .map(|alarm| match alarm {
            WireAlarm::VipMismatch {
                expected,
                advertised,
                ..
            } => {
                assert_eq!(expected, &vec![ip(VIP)]);
                assert_eq!(advertised, &vec![ip("198.51.100.101")]);
                "vip"
            }
            WireAlarm::VersionMismatch {
                expected,
                advertised,
                ..
            } => {
                assert_eq!((*expected, *advertised), (2, 3));
                "version"
            }
            WireAlarm::IntervalMismatch {
                expected_cs,
                advertised_cs,
                instance,
                ..
            } => {
                assert_eq!((*expected_cs, *advertised_cs), (100, 200));
                assert_eq!(instance, "VI_1");
                "interval"
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["vip", "version", "interval"]);
    // The configuration is fixed and reloaded: the expectation follows.
    tracker.set_expected(
        vec![Expected {
            version: 3,
            interval_cs: 200,
            vips: vec![ip("198.51.100.101")],
            ..expected_vi1()
        }],
        100,
    );
    assert!(tracker.report(100).alarms.is_empty());
}

#[test]
fn an_expectation_matches_interface_vrid_and_family_only() {
    let mut other_interface = expected_vi1();
    other_interface.interface = Some("eth1".to_string());
    let mut ipv6 = expected_vi1();
    ipv6.instance = "VI_6".to_string();
    ipv6.vips = vec![ip("2001:db8::100")];
    let mut tracker = Tracker::new(vec![other_interface, ipv6]);
    tracker.observe(v2(0, A, 150));
    assert_eq!(tracker.report(10).routers[0].instance, None);
    let mut any_interface = expected_vi1();
    any_interface.interface = None;
    any_interface.instance = "VI_any".to_string();
    tracker.set_expected(vec![any_interface, expected_vi1()], 10);
    assert_eq!(
        tracker.report(10).routers[0].instance.as_deref(),
        Some("VI_1"),
        "the expectation naming the interface wins"
    );
}

#[test]
fn ipv4_and_ipv6_routers_of_one_vrid_are_kept_apart() {
    let mut tracker = Tracker::new(Vec::new());
    tracker.observe(v3(0, A, 150, 100));
    let mut six = v3(10, "fe80::1", 120, 100);
    six.advert.addresses = vec![ip("2001:db8::100")];
    tracker.observe(six);
    let report = tracker.report(20);
    let routers: Vec<(Family, Option<IpAddr>)> = report
        .routers
        .iter()
        .map(|r| (r.family, r.master))
        .collect();
    assert_eq!(
        routers,
        [
            (Family::Ipv4, Some(ip(A))),
            (Family::Ipv6, Some(ip("fe80::1")))
        ]
    );
}

#[test]
fn malformed_packets_are_counted_with_the_last_reason() {
    let mut tracker = Tracker::new(Vec::new());
    tracker.malformed("first");
    tracker.malformed("VRRP checksum mismatch");
    let report = tracker.report(0);
    assert_eq!(report.malformed, 2);
    assert_eq!(report.last_error.as_deref(), Some("VRRP checksum mismatch"));
}

#[test]
fn forged_sources_cannot_grow_the_tracker_without_bound() {
    let mut tracker = Tracker::new(Vec::new());
    for n in 0..200u32 {
        let source = std::net::Ipv4Addr::from(0xc633_6400 + n).to_string();
        tracker.observe(v2(u64::from(n), &source, 100));
        let mut other_vrid = v2(u64::from(n), &source, 100);
        other_vrid.interface = format!("if{n}");
        tracker.observe(other_vrid);
    }
    let report = tracker.report(300);
    assert!(report.routers.len() <= MAX_ROUTERS);
    let eth0 = report
        .routers
        .iter()
        .find(|r| r.interface == "eth0")
        .unwrap();
    assert_eq!(eth0.speakers.len(), MAX_SPEAKERS);
    assert!(
        eth0.speakers
            .iter()
            .any(|s| s.source == ip("198.51.100.199")),
        "the most recent speaker is kept"
    );
}

#[test]
fn a_router_nobody_configured_is_forgotten_after_ten_silent_minutes() {
    let mut tracker = Tracker::new(vec![expected_vi1()]);
    tracker.observe(v2(0, A, 150));
    let mut stranger = v2(0, B, 150);
    stranger.advert.vrid = 77;
    tracker.observe(stranger);
    assert_eq!(tracker.report(FORGET_UNEXPECTED_MS).routers.len(), 2);
    let later = tracker.report(FORGET_UNEXPECTED_MS + 1);
    let vrids: Vec<u8> = later.routers.iter().map(|r| r.vrid).collect();
    assert_eq!(vrids, [51], "the configured router stays, silent or not");
}

#[test]
fn the_report_survives_a_trip_through_json() {
    let mut tracker = Tracker::new(vec![expected_vi1()]);
    for at in (0..5000).step_by(1000) {
        tracker.observe(own(v2(at, A, 150)));
        tracker.observe(v2(at + 300, B, 100));
    }
    tracker.observe(v2(5300, B, 90));
    tracker.malformed("bad");
    let report = tracker.report(5400);
    assert!(report.alarms.len() >= 2, "{:#?}", report.alarms);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains(r#""kind":"two_masters""#), "{json}");
    let back: WireReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

fn never_heard(report: &WireReport) -> Option<&WireAlarm> {
    report
        .alarms
        .iter()
        .find(|alarm| matches!(alarm, WireAlarm::NeverHeard { .. }))
}

#[test]
fn a_configured_instance_nobody_advertises_for_has_no_master() {
    let tracker = Tracker::new(vec![expected_vi1()]);
    // Master_Down_Interval for priority 100 at 1 s: 3 s + skew (0.61 s).
    assert!(never_heard(&tracker.report(3000)).is_none());
    let report = tracker.report(3700);
    let alarm = never_heard(&report).expect("no master after Master_Down_Interval");
    assert!(alarm.is_serious());
    assert_eq!(
        alarm.to_string(),
        "NO MASTER on VRID 51 (IPv4) on eth0 (VI_1): no advert heard in 3 s of listening"
    );
}

#[test]
fn an_instance_heard_or_newly_configured_raises_no_never_heard_alarm() {
    let mut tracker = Tracker::new(vec![expected_vi1()]);
    tracker.observe(v2(500, A, 150));
    assert!(never_heard(&tracker.report(60_000)).is_none());
    // A second instance configured by a reload at 60 s is given its own
    // Master_Down_Interval from then, not from the start.
    let mut vi2 = expected_vi1();
    vi2.instance = "VI_2".into();
    vi2.vrid = 52;
    tracker.set_expected(vec![expected_vi1(), vi2], 60_000);
    assert!(never_heard(&tracker.report(61_000)).is_none());
    assert!(never_heard(&tracker.report(64_000)).is_some());
}
