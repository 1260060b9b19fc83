//! Adverts of two real keepalived 2.2.7 directors, recorded by tcpdump in
//! the backup's network namespace (tests/fixtures/adverts/README.md), go
//! through the listener's decode path and then the tracker, as the socket
//! would hand them up: the IP packet plus the interface and packet type of
//! the `sockaddr_ll` (tcpdump's Linux cooked v2 header carries both).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use super::*;
use crate::observe::wire::machine::Tracker;
use crate::observe::wire::report::{WireAlarm, WireReport};
use crate::vrrp::packet::Version;

/// `LINKTYPE_LINUX_SLL2`, what `tcpdump -i any` writes.
const LINKTYPE_LINUX_SLL2: u32 = 276;
const SLL2_HEADER_LEN: usize = 20;
/// `PACKET_OUTGOING` in the cooked header's packet type.
const OUTGOING: u8 = 4;

/// A frame of a fixture: when (ms after the first), its link facts, the IP
/// packet.
struct Frame {
    at_ms: u64,
    link: LinkInfo,
    packet: Vec<u8>,
}

/// Reads a little-endian microsecond pcap of Linux cooked v2 frames.
fn frames(pcap: &[u8]) -> Vec<Frame> {
    let u32_at = |at: usize| u32::from_le_bytes(pcap[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xa1b2_c3d4, "little-endian microsecond pcap");
    assert_eq!(u32_at(20), LINKTYPE_LINUX_SLL2);
    let mut out = Vec::new();
    let mut at = 24;
    let mut first_us = None;
    while at < pcap.len() {
        let micros = u64::from(u32_at(at)) * 1_000_000 + u64::from(u32_at(at + 4));
        let length = u32_at(at + 8) as usize;
        let record = &pcap[at + 16..at + 16 + length];
        let first = *first_us.get_or_insert(micros);
        out.push(Frame {
            at_ms: (micros - first) / 1000,
            link: LinkInfo {
                // record.sh names the namespace's veth eth0.
                interface: "eth0".to_string(),
                outgoing: record[10] == OUTGOING,
            },
            packet: record[SLL2_HEADER_LEN..].to_vec(),
        });
        at += 16 + length;
    }
    out
}

fn fixture(name: &str) -> Vec<Frame> {
    let bytes = match name {
        "v2-ipv4-multicast" => {
            include_bytes!("../../../../tests/fixtures/adverts/v2-ipv4-multicast.pcap").as_slice()
        }
        "v2-ipv4-unicast" => {
            include_bytes!("../../../../tests/fixtures/adverts/v2-ipv4-unicast.pcap").as_slice()
        }
        "v3-ipv4-multicast" => {
            include_bytes!("../../../../tests/fixtures/adverts/v3-ipv4-multicast.pcap").as_slice()
        }
        "v3-ipv6-multicast" => {
            include_bytes!("../../../../tests/fixtures/adverts/v3-ipv6-multicast.pcap").as_slice()
        }
        other => panic!("no fixture {other}"),
    };
    frames(bytes)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// What each recording holds: A (priority 150) masters, steps down with
/// priority 0, then B (priority 100, where tcpdump ran) sends its own.
struct Recording {
    name: &'static str,
    version: Version,
    interval_cs: u32,
    a: &'static str,
    b: &'static str,
    vip: &'static str,
}

const RECORDINGS: [Recording; 4] = [
    Recording {
        name: "v2-ipv4-multicast",
        version: Version::V2,
        interval_cs: 100,
        a: "198.51.100.1",
        b: "198.51.100.2",
        vip: "198.51.100.100",
    },
    Recording {
        name: "v2-ipv4-unicast",
        version: Version::V2,
        interval_cs: 100,
        a: "198.51.100.1",
        b: "198.51.100.2",
        vip: "198.51.100.100",
    },
    Recording {
        name: "v3-ipv4-multicast",
        version: Version::V3,
        interval_cs: 50,
        a: "198.51.100.1",
        b: "198.51.100.2",
        vip: "198.51.100.100",
    },
    Recording {
        name: "v3-ipv6-multicast",
        version: Version::V3,
        interval_cs: 50,
        a: "fe80::ff:fe00:1",
        b: "fe80::ff:fe00:2",
        vip: "2001:db8::100",
    },
];

#[test]
fn every_recorded_advert_decodes_with_its_source_and_direction() {
    for recording in &RECORDINGS {
        let frames = fixture(recording.name);
        assert!(frames.len() >= 8, "{}", recording.name);
        for frame in &frames {
            let seen = decode_frame(frame.at_ms, &frame.link, &frame.packet)
                .unwrap_or_else(|e| panic!("{}: {e}", recording.name));
            assert_eq!(seen.advert.version, recording.version, "{}", recording.name);
            assert_eq!(seen.advert.vrid, 51);
            assert_eq!(seen.interval_cs(), recording.interval_cs);
            assert_eq!(seen.advert.addresses, vec![ip(recording.vip)]);
            assert_eq!(seen.interface, "eth0");
            // B recorded: its own adverts went out, A's came in.
            let expected_source = if seen.outgoing {
                recording.b
            } else {
                recording.a
            };
            assert_eq!(seen.source, ip(expected_source), "{}", recording.name);
            let priorities = if seen.outgoing { [100, 0] } else { [150, 0] };
            assert!(priorities.contains(&seen.advert.priority));
        }
    }
}

fn replay(frames: &[Frame], until_ms: u64, tracker: &mut Tracker) -> WireReport {
    for frame in frames.iter().filter(|f| f.at_ms <= until_ms) {
        tracker.observe(decode_frame(frame.at_ms, &frame.link, &frame.packet).unwrap());
        let report = tracker.report(frame.at_ms);
        assert!(
            !report
                .alarms
                .iter()
                .any(|a| matches!(a, WireAlarm::TwoMasters { .. })),
            "a clean handover is not split brain: {report:#?}"
        );
    }
    tracker.report(until_ms)
}

#[test]
fn replayed_recordings_show_the_handover_from_a_to_this_host() {
    for recording in &RECORDINGS {
        let frames = fixture(recording.name);
        let step_down = frames
            .iter()
            .position(|f| {
                !f.link.outgoing
                    && decode_frame(0, &f.link, &f.packet).unwrap().advert.priority == 0
            })
            .expect("A's priority-0 advert was recorded");
        let mut tracker = Tracker::new(Vec::new());
        // Just before A's step-down: A is master, heard from afar.
        let report = replay(&frames, frames[step_down - 1].at_ms, &mut tracker);
        let router = &report.routers[0];
        assert_eq!(router.master, Some(ip(recording.a)), "{}", recording.name);
        assert_eq!(router.master_priority, Some(150));
        assert!(!router.master_is_self);
        assert_eq!(router.interval_cs, recording.interval_cs);

        // The last of B's non-zero adverts: B is master, and it is us.
        let last_claim = frames
            .iter()
            .rev()
            .find(|f| {
                f.link.outgoing && {
                    decode_frame(0, &f.link, &f.packet).unwrap().advert.priority != 0
                }
            })
            .unwrap()
            .at_ms;
        let mut tracker = Tracker::new(Vec::new());
        let report = replay(&frames, last_claim, &mut tracker);
        let router = &report.routers[0];
        assert_eq!(router.master, Some(ip(recording.b)), "{}", recording.name);
        assert_eq!(router.master_priority, Some(100));
        assert!(router.master_is_self);
        let a = router
            .speakers
            .iter()
            .find(|s| s.source == ip(recording.a))
            .unwrap();
        assert_eq!((a.priority, a.own), (0, false), "A stepped down");
        assert!(report.alarms.is_empty(), "{:#?}", report.alarms);

        // B stopped too (priority 0): after Master_Down_Interval nobody
        // holds the VIP.
        let mut tracker = Tracker::new(Vec::new());
        let end = frames.last().unwrap().at_ms;
        let report = replay(&frames, end + 60_000, &mut tracker);
        assert!(
            matches!(
                report.alarms.as_slice(),
                [WireAlarm::MasterSilent {
                    stepped_down: true,
                    last_priority: 100,
                    ..
                }]
            ),
            "{}: {:#?}",
            recording.name,
            report.alarms
        );
    }
}

fn link() -> LinkInfo {
    LinkInfo {
        interface: "eth0".to_string(),
        outgoing: false,
    }
}

fn first_packet(name: &str) -> Vec<u8> {
    fixture(name).remove(0).packet
}

#[test]
fn malformed_frames_are_clear_errors_counted_by_the_tracker() {
    let v4 = first_packet("v2-ipv4-multicast");
    let v6 = first_packet("v3-ipv6-multicast");
    let mut bad_checksum = v4.clone();
    let last = bad_checksum.len() - 1;
    bad_checksum[last] ^= 0xff;
    let mut bad_version = v4.clone();
    bad_version[20] = 0x41; // VRRP version 4
    let mut ipv6_not_vrrp = v6.clone();
    ipv6_not_vrrp[6] = 58; // ICMPv6
    let mut ipv6_short_payload = v6.clone();
    ipv6_short_payload.truncate(50);
    let cases: [(&[u8], &str); 8] = [
        (&[], "frame on eth0 is empty"),
        (
            &[0x11, 0x22],
            "frame on eth0 is IP version 1, neither 4 nor 6",
        ),
        (
            &v4[..30],
            "frame on eth0 is not a whole IPv4 packet of protocol 112 or 51 (30 bytes)",
        ),
        (
            &bad_checksum,
            "malformed VRRP advert on eth0 from 198.51.100.1: VRRP checksum mismatch",
        ),
        (
            &bad_version,
            "malformed VRRP advert on eth0 from 198.51.100.1: unsupported VRRP version 4",
        ),
        (
            &ipv6_not_vrrp,
            "IPv6 packet on eth0 from fe80::ff:fe00:1 has next header 58, not 112",
        ),
        (
            &ipv6_short_payload,
            "frame on eth0 is not a whole IPv6 packet (50 bytes)",
        ),
        (
            &v6[..39],
            "frame on eth0 is not a whole IPv6 packet (39 bytes)",
        ),
    ];
    let mut tracker = Tracker::new(Vec::new());
    for (packet, message) in cases {
        let error = decode_frame(0, &link(), packet).unwrap_err();
        assert!(
            error.to_string().starts_with(message),
            "{error} should start with {message}"
        );
        tracker.malformed(error);
    }
    let report = tracker.report(0);
    assert_eq!(report.malformed, 8);
    assert!(report.routers.is_empty());
    assert!(report
        .last_error
        .unwrap()
        .contains("not a whole IPv6 packet"));
}

#[test]
fn an_ah_advert_of_keepalived_is_read_without_its_key() {
    // keepalived 2.2.7, `auth_type AH`: the golden vector of `packet::ah`.
    let packet = [
        0x45, 0xc0, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0xff, 0x33, 0xb0, 0x82, 0xc6, 0x33, 0x64,
        0x01, 0xe0, 0x00, 0x00, 0x12, 0x70, 0x04, 0x00, 0x00, 0xc6, 0x33, 0x64, 0x01, 0x00, 0x00,
        0x00, 0x01, 0x89, 0xf5, 0xed, 0xbd, 0xfe, 0x8c, 0x4a, 0xcf, 0xa8, 0xda, 0x62, 0x43, 0x21,
        0x33, 0x96, 0x01, 0x02, 0x01, 0x1c, 0x32, 0xc6, 0x33, 0x64, 0x64, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let link = LinkInfo {
        interface: "eth0".to_string(),
        outgoing: false,
    };
    let seen = decode_frame(0, &link, &packet).unwrap();
    assert_eq!(seen.source, "198.51.100.1".parse::<IpAddr>().unwrap());
    assert_eq!(seen.advert.vrid, 51);
    assert_eq!(seen.advert.priority, 150);
    assert_eq!(seen.advert.auth.type_code(), 2);
}
