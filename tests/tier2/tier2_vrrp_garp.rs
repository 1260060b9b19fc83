//! Privileged tier: the gratuitous ARPs and adverts a master sends under
//! keepalived's announcement and advert-tuning settings (`vrrp_min_garp`,
//! `garp_lower_prio_*`, `garp_extra_if`, `lower_prio_no_advert`,
//! `higher_prio_send_advert`), counted on the wire for the real
//! keepalived 2.2.7 and for lvstop in the same seat.
//!
//! Director A (priority 150, advert_int 1, a VIP on its segment interface
//! and an eVIP on a second link to the observer) becomes MASTER; the
//! observer captures every frame on both links and plays another router
//! by injecting VRRPv2 adverts of a lower or a higher priority. Each case
//! runs both daemons at once, each on a segment of its own, and asserts
//! that lvstop's counts equal keepalived's and the counts keepalived gave
//! when the case was written. Only counts and order are compared: the
//! reply to a lower priority is "A's adverts between the injected advert
//! and A's first gratuitous ARP after it".
//!
//! The same behaviour was first measured by hand, keepalived alone in
//! namespaces, with `tests/fixtures/vrrp/garp_tuning/measure.sh` (tcpdump
//! `-i any -w cap.pcap 'arp or proto 112'` on the observer, `inject.py`
//! sending one advert about 0.3 s after one of keepalived's; advert_int 1,
//! priority 150, one VIP), e.g.
//! `measure.sh d lower '' 'garp_lower_prio_repeat 2'; summary.sh d`:
//!
//! | settings | on becoming MASTER | on a lower priority | on a higher priority |
//! |---|---|---|---|
//! | defaults | 5 GARPs, 5 more @5 s | 1 advert, 5 GARPs, 5 more @5 s | no advert, BACKUP |
//! | `vrrp_min_garp` | 1 GARP | 1 advert, 1 GARP | |
//! | `vrrp_min_garp` and `vrrp_garp_master_repeat 3`, `vrrp_garp_lower_prio_delay 2` (either order) | 3 GARPs | 1 advert, 3 GARPs, 3 more @2 s | |
//! | `garp_lower_prio_repeat 2`, `garp_lower_prio_delay 2` | 5, 5 more @5 s | 1 advert, 2 GARPs, 2 more @2 s | |
//! | `garp_master_repeat 2`, `garp_master_delay 1` (instance) | 2, 2 more @1 s | 1 advert, 5 GARPs, 5 more @5 s | |
//! | the same and global `vrrp_garp_lower_prio_repeat 3` | 2, 2 more @1 s | 1 advert, 3 GARPs, 3 more @5 s | |
//! | `lower_prio_no_advert`, or `vrrp_lower_prio_no_advert` | 5, 5 more @5 s | no advert, 5 GARPs, 5 more @5 s | |
//! | `higher_prio_send_advert`, or `vrrp_higher_prio_send_advert` | | | 1 advert, BACKUP (also for an equal priority from a higher address) |
//! | `vrrp_strict` (with any of the above) | 5, 5 more @5 s | no advert, no GARP | no advert, BACKUP |
//! | `garp_extra_if all 3`, a VIP or eVIP `dev eth1` | all addresses 5, 5 more @5 s; the eth1 one alone every 3 s | | |
//! | `garp_extra_if 3` (no `all`, no VMAC) | 5, 5 more @5 s, nothing more | | |
//!
//! A BACKUP with `higher_prio_send_advert` that hears a lower priority
//! sends nothing; the reply advert restarts the master's advert interval;
//! two lower-priority adverts 2.2 s apart got 5 GARPs each at once and 5
//! more 5 s after each (the second does not replace the first one's set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use harness::{eventually, vip4, Capture, Director, Lan, A_ADDR, OBS_ADDR, VIP};
use lvstop::vrrp::packet::{Advertisement, Auth, Version};
use support::netns::{link, Netns};

const WAIT: Duration = Duration::from_secs(15);
/// The eVIP, on A's second link.
const EVIP: &str = "198.51.100.201";
const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const PRIORITY: u8 = 150;

/// A frame of interest, in capture order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Advert { from: Ipv4Addr, priority: u8 },
    Garp { vip: Ipv4Addr },
}

fn classify(f: &[u8]) -> Option<Seen> {
    let ethertype = f.get(12..14)?;
    if ethertype == [0x08, 0x06] && f.len() >= 42 && f[28..32] == f[38..42] {
        let vip = Ipv4Addr::new(f[28], f[29], f[30], f[31]);
        return Some(Seen::Garp { vip });
    }
    // IPv4, protocol 112 (VRRP).
    if ethertype == [0x08, 0x00] && f.len() >= 34 && f[23] == 112 {
        let ihl = usize::from(f[14] & 0x0f) * 4;
        let priority = *f.get(14 + ihl + 2)?;
        let from = Ipv4Addr::new(f[26], f[27], f[28], f[29]);
        return Some(Seen::Advert { from, priority });
    }
    None
}

/// One run's plan: A's settings, how long A stays MASTER before the
/// observer injects, what it injects (priority, how many, 1 s apart) and
/// how long the capture goes on after the last injected advert.
struct Case {
    global: &'static str,
    instance: &'static str,
    after_master: Duration,
    inject: Option<(u8, u32)>,
    after_inject: Duration,
}

/// What one run put on the wire, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    /// Gratuitous ARPs (VIP, eVIP) before the first injected advert.
    master_garps: (usize, usize),
    /// A's adverts after the first injected advert and before A's first
    /// gratuitous ARP after it (a reply to a lower priority), or up to
    /// the last injected advert when A sends none (a higher priority).
    replies: usize,
    /// Gratuitous ARPs (VIP, eVIP) after the first injected advert.
    later_garps: (usize, usize),
}

fn count(seen: &[Seen]) -> Counts {
    let obs: Ipv4Addr = OBS_ADDR.parse().unwrap();
    let a: Ipv4Addr = A_ADDR.parse().unwrap();
    let (vip, evip) = (vip4(), EVIP.parse::<Ipv4Addr>().unwrap());
    let injected: Vec<usize> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Seen::Advert { from, .. } if *from == obs))
        .map(|(i, _)| i)
        .collect();
    let first = injected.first().copied().unwrap_or(seen.len());
    let last = injected.last().copied().unwrap_or(seen.len());
    let garps = |part: &[Seen]| {
        let of = |addr: Ipv4Addr| {
            part.iter()
                .filter(|s| **s == Seen::Garp { vip: addr })
                .count()
        };
        (of(vip), of(evip))
    };
    let after = &seen[first.min(seen.len())..];
    let first_garp = after
        .iter()
        .position(|s| matches!(s, Seen::Garp { .. }))
        .unwrap_or(last.saturating_sub(first));
    let replies = after[..first_garp]
        .iter()
        .filter(|s| {
            **s == Seen::Advert {
                from: a,
                priority: PRIORITY,
            }
        })
        .count();
    Counts {
        master_garps: garps(&seen[..first.min(seen.len())]),
        replies,
        later_garps: garps(after),
    }
}

/// Sends `count` VRRPv2 adverts (VRID 51, our VIP, no authentication)
/// of `priority` from the observer, 1 s apart.
fn inject(obs: &Netns, priority: u8, count: u32) {
    let path = format!("/run/netns/{}", obs.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .unwrap();
        let source: Ipv4Addr = OBS_ADDR.parse().unwrap();
        // RFC 5798 §5.1.1.3: TTL 255.
        socket.set_multicast_ttl_v4(255).unwrap();
        socket.set_ttl_v4(255).unwrap();
        socket.set_multicast_if_v4(&source).unwrap();
        socket.set_multicast_loop_v4(false).unwrap();
        let advert = Advertisement {
            version: Version::V2,
            vrid: 51,
            priority,
            interval: 1,
            auth: Auth::None,
            addresses: vec![IpAddr::V4(vip4())],
        };
        let payload = advert
            .emit(IpAddr::V4(source), IpAddr::V4(VRRP_GROUP))
            .unwrap();
        let to = socket2::SockAddr::from(SocketAddrV4::new(VRRP_GROUP, 0));
        for i in 0..count {
            if i > 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
            socket.send_to(&payload, &to).unwrap();
        }
    })
    .join()
    .unwrap();
}

fn config(case: &Case, interface: &str, second: &str) -> String {
    format!(
        "global_defs {{\n  router_id test\n{}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface {interface}\n  virtual_router_id 51\n  \
         priority {PRIORITY}\n  advert_int 1\n{}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n  \
         virtual_ipaddress_excluded {{\n    {EVIP}/32 dev {second}\n  }}\n}}\n",
        case.global, case.instance
    )
}

/// Runs `case` with keepalived or lvstop as A and returns what was seen.
fn run(case: &Case, keepalived: bool) -> (Vec<Seen>, String) {
    let lan = Lan::new();
    let (second, _) = link(&lan.a, "198.51.100.129/25", &lan.obs, "198.51.100.130/25");
    let capture = Capture::start(&lan.obs);
    let conf = config(case, &lan.a_if, &second);
    let mut a = if keepalived {
        Director::keepalived(&lan.a, &conf)
    } else {
        Director::lvstop(&lan.a, &conf)
    };
    let a_addr: Ipv4Addr = A_ADDR.parse().unwrap();
    let adverts_of_a = || {
        capture
            .frames()
            .iter()
            .filter_map(|(_, f)| classify(f))
            .filter(|s| matches!(s, Seen::Advert { from, .. } if *from == a_addr))
            .count()
    };
    assert!(
        eventually(WAIT, || adverts_of_a() > 0),
        "A never became MASTER\n{}",
        a.log()
    );
    std::thread::sleep(case.after_master);
    if let Some((priority, n)) = case.inject {
        // Between two of A's adverts, so a reply is not mistaken for one
        // of its periodic adverts.
        let before = adverts_of_a();
        assert!(eventually(WAIT, || adverts_of_a() > before), "{}", a.log());
        std::thread::sleep(Duration::from_millis(300));
        inject(&lan.obs, priority, n);
    }
    std::thread::sleep(case.after_inject);
    // A crash, not a stop: no priority-0 advert at the end.
    a.crash();
    let log = a.log();
    let seen = capture
        .frames()
        .iter()
        .filter_map(|(_, f)| classify(f))
        .collect();
    (seen, log)
}

/// Runs `case` against keepalived and lvstop at once; both must give
/// `expected`.
fn compare(test: &str, case: Case, expected: Counts) {
    let Some(_group) = support::privileged_test(module_path!(), test) else {
        return;
    };
    let (keepalived, lvstop) = std::thread::scope(|s| {
        let k = s.spawn(|| run(&case, true));
        let l = s.spawn(|| run(&case, false));
        (k.join().unwrap(), l.join().unwrap())
    });
    let (k_counts, l_counts) = (count(&keepalived.0), count(&lvstop.0));
    assert_eq!(
        k_counts, expected,
        "keepalived no longer does what it did when measured: {:?}\n{}",
        keepalived.0, keepalived.1
    );
    assert_eq!(
        l_counts, k_counts,
        "lvstop differs from keepalived:\nlvstop {:?}\nkeepalived {:?}\n{}",
        lvstop.0, keepalived.0, lvstop.1
    );
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

#[test]
fn a_lower_priority_gets_a_reply_and_both_sets_by_default() {
    compare(
        "a_lower_priority_gets_a_reply_and_both_sets_by_default",
        Case {
            global: "  vrrp_garp_master_delay 2",
            instance: "",
            after_master: secs(3),
            inject: Some((50, 1)),
            after_inject: ms(3500),
        },
        Counts {
            master_garps: (10, 10),
            replies: 1,
            later_garps: (10, 10),
        },
    );
}

#[test]
fn each_lower_priority_advert_gets_its_own_second_set() {
    compare(
        "each_lower_priority_advert_gets_its_own_second_set",
        Case {
            global: "  vrrp_garp_master_delay 2",
            instance: "",
            after_master: secs(3),
            inject: Some((50, 2)),
            after_inject: ms(2500),
        },
        Counts {
            master_garps: (10, 10),
            replies: 1,
            later_garps: (20, 20),
        },
    );
}

#[test]
fn garp_lower_prio_repeat_and_delay_shape_the_sets() {
    compare(
        "garp_lower_prio_repeat_and_delay_shape_the_sets",
        Case {
            global: "",
            instance:
                "  garp_master_delay 0\n  garp_lower_prio_repeat 2\n  garp_lower_prio_delay 1",
            after_master: ms(1500),
            inject: Some((50, 1)),
            after_inject: ms(2500),
        },
        Counts {
            master_garps: (5, 5),
            replies: 1,
            later_garps: (4, 4),
        },
    );
}

#[test]
fn min_garp_sends_one_set_and_lower_prio_no_advert_no_reply() {
    compare(
        "min_garp_sends_one_set_and_lower_prio_no_advert_no_reply",
        Case {
            global: "  vrrp_min_garp",
            instance: "  lower_prio_no_advert",
            // Past keepalived's default 5 s, where a second set would be.
            after_master: ms(6500),
            inject: Some((50, 1)),
            after_inject: ms(6500),
        },
        Counts {
            master_garps: (1, 1),
            replies: 0,
            later_garps: (1, 1),
        },
    );
}

#[test]
fn a_master_yields_to_a_higher_priority_without_an_advert_by_default() {
    compare(
        "a_master_yields_to_a_higher_priority_without_an_advert_by_default",
        Case {
            global: "",
            instance: "  garp_master_delay 0",
            after_master: ms(1500),
            inject: Some((200, 3)),
            after_inject: ms(500),
        },
        Counts {
            master_garps: (5, 5),
            replies: 0,
            later_garps: (0, 0),
        },
    );
}

#[test]
fn higher_prio_send_advert_sends_one_advert_before_yielding() {
    compare(
        "higher_prio_send_advert_sends_one_advert_before_yielding",
        Case {
            global: "  vrrp_higher_prio_send_advert",
            instance: "  garp_master_delay 0",
            after_master: ms(1500),
            inject: Some((200, 3)),
            after_inject: ms(500),
        },
        Counts {
            master_garps: (5, 5),
            replies: 1,
            later_garps: (0, 0),
        },
    );
}

#[test]
fn garp_extra_if_all_repeats_the_other_links_address_alone() {
    // Rounds 2, 4 and 6 s after becoming MASTER; the capture ends at
    // about 7 s.
    compare(
        "garp_extra_if_all_repeats_the_other_links_address_alone",
        Case {
            global: "",
            instance: "  garp_master_delay 0\n  garp_extra_if all 2",
            after_master: ms(7000),
            inject: None,
            after_inject: Duration::ZERO,
        },
        Counts {
            master_garps: (5, 8),
            replies: 0,
            later_garps: (0, 0),
        },
    );
}
