//! Privileged tier: lvstop's VRRP I/O on real sockets between two network
//! namespaces — adverts over raw IP protocol 112 (multicast and unicast,
//! IPv4 and IPv6) with the TTL and addresses a receiver must check,
//! interop with the real keepalived in both directions, and gratuitous ARP
//! / unsolicited NA seen on the wire and accepted by the peer's kernel.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "tier2_vrrp_io/harness.rs"]
mod harness;
use crate::support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use harness::{
    advert_v2, advert_v3_ipv6, enter, eventually, in_thread, ip, Capture, Keepalived, Pair, A4, A6,
    B4, B6, MAC_A,
};
use lvstop::net::announce::{AnnounceSchedule, AnnounceSettings, Trigger};
use lvstop::net::announcer::Announcer;
use lvstop::net::garp::gratuitous_arp;
use lvstop::net::ndisc::unsolicited_na;
use lvstop::vrrp::transport::raw::{RawConfig, RawTransport};
use lvstop::vrrp::transport::{Datagram, IpFamily, Transport, TransportError};

const WAIT: Duration = Duration::from_secs(10);

/// The MAC a peer's neighbour table holds for the VIP before the takeover.
const OLD_MASTER_MAC: &str = "02:00:5e:20:00:99";

/// Makes B's neighbour table map `vip` to the old master's MAC.
fn stale_neighbour(pair: &Pair, vip: &str) {
    let args = [
        "neigh",
        "replace",
        vip,
        "lladdr",
        OLD_MASTER_MAC,
        "nud",
        "stale",
        "dev",
    ];
    let mut args: Vec<&str> = args.to_vec();
    args.push(&pair.b_if);
    pair.b.exec("ip", &args);
}

/// Opens a transport inside `ns` (sockets keep the namespace they were
/// created in, so one thread can then use transports of both namespaces).
async fn open_in(ns: &support::netns::Netns, config: RawConfig) -> RawTransport {
    enter(ns);
    RawTransport::open(config).await.unwrap()
}

/// Sends `payload` from `tx` until `rx` reports a datagram (bounded), and
/// returns it. Resending covers the moment the receiver's group join takes.
async fn exchange(tx: &RawTransport, to: IpAddr, payload: &[u8], rx: &RawTransport) -> Datagram {
    for _ in 0..50 {
        tx.send(to, payload).await.unwrap();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            return got.unwrap();
        }
    }
    panic!("no datagram arrived");
}

async fn silent(t: &RawTransport) -> bool {
    tokio::time::timeout(Duration::from_millis(300), t.recv())
        .await
        .is_err()
}

#[test]
fn ipv4_multicast_advert_arrives_with_ttl_255_from_the_primary_address() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "ipv4_multicast_advert_arrives_with_ttl_255_from_the_primary_address",
    ) else {
        return;
    };
    let pair = Pair::new();
    // A secondary address must not become the source.
    pair.a.exec(
        "ip",
        &["addr", "add", "198.51.100.77/24", "dev", &pair.a_if],
    );
    in_thread(|rt| {
        rt.block_on(async {
            let a = open_in(&pair.a, RawConfig::multicast(&pair.a_if, IpFamily::V4)).await;
            let b = open_in(&pair.b, RawConfig::multicast(&pair.b_if, IpFamily::V4)).await;
            assert_eq!(a.source_address(), IpAddr::V4(A4));
            assert_eq!(a.destinations(), vec![ip("224.0.0.18")]);
            let advert = advert_v2(51, 200, &[Ipv4Addr::new(198, 51, 100, 88)]);
            let got = exchange(&a, ip("224.0.0.18"), &advert, &b).await;
            assert_eq!(got.source, IpAddr::V4(A4));
            assert_eq!(got.destination, ip("224.0.0.18"));
            assert_eq!(got.ttl, 255);
            assert_eq!(got.ifindex, b.ifindex());
            assert_eq!(
                got.payload, advert,
                "payload handed up without the IP header"
            );
            assert!(silent(&a).await, "sender received its own advert");
        });
    });
}

#[test]
fn ipv6_multicast_advert_arrives_with_hop_limit_255_from_the_link_local() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "ipv6_multicast_advert_arrives_with_hop_limit_255_from_the_link_local",
    ) else {
        return;
    };
    let pair = Pair::new();
    let a_ll = Pair::link_local(&pair.a, &pair.a_if);
    in_thread(|rt| {
        rt.block_on(async {
            let a = open_in(&pair.a, RawConfig::multicast(&pair.a_if, IpFamily::V6)).await;
            let b = open_in(&pair.b, RawConfig::multicast(&pair.b_if, IpFamily::V6)).await;
            assert_eq!(a.source_address(), IpAddr::V6(a_ll));
            let group: Ipv6Addr = "ff02::12".parse().unwrap();
            let advert = advert_v3_ipv6(52, 200, &["2001:db8::88".parse().unwrap()], a_ll, group);
            let got = exchange(&a, IpAddr::V6(group), &advert, &b).await;
            assert_eq!(got.source, IpAddr::V6(a_ll));
            assert_eq!(got.destination, IpAddr::V6(group));
            assert_eq!(got.ttl, 255);
            assert_eq!(got.ifindex, b.ifindex());
            assert_eq!(got.payload, advert);
            assert!(silent(&a).await, "sender received its own advert");
        });
    });
}

#[test]
fn unicast_peers_receive_adverts_from_unicast_src_ip() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "unicast_peers_receive_adverts_from_unicast_src_ip",
    ) else {
        return;
    };
    let pair = Pair::new();
    pair.a.exec(
        "ip",
        &["addr", "add", "198.51.100.77/24", "dev", &pair.a_if],
    );
    in_thread(|rt| {
        rt.block_on(async {
            for (src, peer_of_a, peer_of_b) in [
                (ip("198.51.100.77"), IpAddr::V4(B4), IpAddr::V4(A4)),
                (IpAddr::V6(A6), IpAddr::V6(B6), IpAddr::V6(A6)),
            ] {
                let family = IpFamily::of(src);
                let unicast = |ifname: &str, source, peer| RawConfig {
                    ifname: ifname.to_string(),
                    family,
                    source,
                    unicast_peers: vec![peer],
                    authentication_header: false,
                };
                let a = open_in(&pair.a, unicast(&pair.a_if, Some(src), peer_of_a)).await;
                let b = open_in(&pair.b, unicast(&pair.b_if, None, peer_of_b)).await;
                assert_eq!(a.source_address(), src, "unicast_src_ip is the source");
                assert_eq!(a.destinations(), vec![peer_of_a]);
                let got = exchange(&a, peer_of_a, b"\x31\x33\x64\x01", &b).await;
                assert_eq!(got.source, src);
                assert_eq!(got.destination, peer_of_a);
                assert_eq!(got.ttl, 255);
                assert_eq!(got.payload, b"\x31\x33\x64\x01");
            }
        });
    });
}

#[test]
fn advert_sent_with_ttl_64_is_reported_with_ttl_64() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "advert_sent_with_ttl_64_is_reported_with_ttl_64",
    ) else {
        return;
    };
    let pair = Pair::new();
    let a_ll = Pair::link_local(&pair.a, &pair.a_if);
    in_thread(|rt| {
        rt.block_on(async {
            let b4 = open_in(&pair.b, RawConfig::multicast(&pair.b_if, IpFamily::V4)).await;
            let b6 = open_in(&pair.b, RawConfig::multicast(&pair.b_if, IpFamily::V6)).await;
            // A plain raw socket in A, letting the kernel write the header.
            enter(&pair.a);
            let proto = Some(socket2::Protocol::from(112));
            let plain4 =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::RAW, proto).unwrap();
            plain4.bind_device(Some(pair.a_if.as_bytes())).unwrap();
            plain4.set_multicast_ttl_v4(64).unwrap();
            plain4.set_multicast_if_v4(&A4).unwrap();
            let plain6 =
                socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::RAW, proto).unwrap();
            plain6.bind_device(Some(pair.a_if.as_bytes())).unwrap();
            plain6.set_multicast_hops_v6(64).unwrap();
            let ifindex = nix::net::if_::if_nametoindex(pair.a_if.as_str()).unwrap();
            plain6.set_multicast_if_v6(ifindex).unwrap();

            let advert = advert_v2(51, 200, &[Ipv4Addr::new(198, 51, 100, 88)]);
            let group4: socket2::SockAddr = "224.0.0.18:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into();
            let got = loop_until(&b4, || drop(plain4.send_to(&advert, &group4))).await;
            assert_eq!(
                (got.ttl, got.source, got.payload),
                (64, IpAddr::V4(A4), advert)
            );

            let group6 = std::net::SocketAddrV6::new("ff02::12".parse().unwrap(), 0, 0, ifindex);
            let group6: socket2::SockAddr = group6.into();
            let got = loop_until(&b6, || drop(plain6.send_to(b"\x31\x34", &group6))).await;
            assert_eq!((got.ttl, got.source), (64, IpAddr::V6(a_ll)));
        });
    });
}

async fn loop_until(rx: &RawTransport, mut send: impl FnMut()) -> Datagram {
    for _ in 0..50 {
        send();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            return got.unwrap();
        }
    }
    panic!("no datagram arrived");
}

const KEEPALIVED_CONF: &str = "
global_defs {
    router_id lvstop_vrrp_io
}
vrrp_instance V4 {
    state MASTER
    interface IFNAME
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.88/32
    }
}
vrrp_instance V6 {
    state MASTER
    interface IFNAME
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        2001:db8::88/128
    }
}
";

#[test]
fn keepalived_adverts_reach_lvstop_and_lvstop_adverts_make_keepalived_yield() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "keepalived_adverts_reach_lvstop_and_lvstop_adverts_make_keepalived_yield",
    ) else {
        return;
    };
    let pair = Pair::new();
    let a_ll = Pair::link_local(&pair.a, &pair.a_if);
    let keepalived = Keepalived::start(&pair.a, &KEEPALIVED_CONF.replace("IFNAME", &pair.a_if));
    let vip4 = Ipv4Addr::new(198, 51, 100, 88);
    let vip6: Ipv6Addr = "2001:db8::88".parse().unwrap();
    let master_of_both = || {
        Pair::has_address(&pair.a, &pair.a_if, "198.51.100.88")
            && Pair::has_address(&pair.a, &pair.a_if, "2001:db8::88")
    };
    assert!(
        eventually(Duration::from_secs(30), master_of_both),
        "keepalived never became master:\n{}",
        keepalived.log()
    );
    in_thread(|rt| {
        rt.block_on(async {
            let b4 = open_in(&pair.b, RawConfig::multicast(&pair.b_if, IpFamily::V4)).await;
            let b6 = open_in(&pair.b, RawConfig::multicast(&pair.b_if, IpFamily::V6)).await;

            // keepalived → lvstop: its adverts arrive whole, TTL 255.
            let got = tokio::time::timeout(WAIT, b4.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (got.source, got.destination, got.ttl),
                (IpAddr::V4(A4), ip("224.0.0.18"), 255)
            );
            assert_eq!(
                &got.payload[..3],
                &[0x21, 51, 100],
                "VRRPv2 advert, VRID 51, priority 100"
            );
            assert_eq!(&got.payload[8..12], &vip4.octets());
            let got = tokio::time::timeout(WAIT, b6.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (got.source, got.destination, got.ttl),
                (IpAddr::V6(a_ll), ip("ff02::12"), 255)
            );
            assert_eq!(
                &got.payload[..3],
                &[0x31, 52, 100],
                "VRRPv3 advert, VRID 52, priority 100"
            );
            assert_eq!(&got.payload[8..24], &vip6.octets());

            // lvstop → keepalived: higher-priority adverts pass all of
            // keepalived's receive checks, so it steps down and drops the VIPs.
            let b_ll = b6.source_address();
            let IpAddr::V6(b_ll) = b_ll else {
                panic!("IPv6 source expected")
            };
            let v2 = advert_v2(51, 250, &[vip4]);
            let v3 = advert_v3_ipv6(52, 250, &[vip6], b_ll, "ff02::12".parse().unwrap());
            let mut yielded = false;
            for _ in 0..50 {
                b4.send(ip("224.0.0.18"), &v2).await.unwrap();
                b6.send(ip("ff02::12"), &v3).await.unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
                if !Pair::has_address(&pair.a, &pair.a_if, "198.51.100.88")
                    && !Pair::has_address(&pair.a, &pair.a_if, "2001:db8::88")
                {
                    yielded = true;
                    break;
                }
            }
            assert!(yielded, "keepalived kept its VIPs:\n{}", keepalived.log());
        });
    });
    let log = keepalived.log();
    assert!(log.contains("(V4) Entering BACKUP STATE"), "{log}");
    assert!(log.contains("(V6) Entering BACKUP STATE"), "{log}");
}

#[test]
fn gratuitous_arp_is_on_the_wire_and_moves_the_peers_arp_entry_to_us() {
    let name = "gratuitous_arp_is_on_the_wire_and_moves_the_peers_arp_entry_to_us";
    let Some(_group) = support::privileged_test(module_path!(), name) else {
        return;
    };
    let pair = Pair::new();
    // The peer still maps the VIP to the old master's MAC, as after a failover.
    stale_neighbour(&pair, "198.51.100.88");
    let vip = Ipv4Addr::new(198, 51, 100, 88);
    let frames = in_thread(|rt| {
        enter(&pair.b);
        let capture = Capture::open();
        enter(&pair.a);
        rt.block_on(async {
            let announcer = Announcer::open(&pair.a_if).await.unwrap();
            assert_eq!(announcer.mac(), MAC_A);
            for _ in 0..3 {
                announcer.announce(IpAddr::V4(vip)).await.unwrap();
            }
        });
        capture.frames(
            WAIT,
            |f| f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[28..32] == vip.octets(),
            3,
        )
    });
    assert_eq!(frames.len(), 3, "three gratuitous ARPs on the wire");
    for f in &frames {
        assert_eq!(&f[..6], &[0xff; 6], "Ethernet broadcast");
        assert_eq!(&f[6..12], &MAC_A, "from A's MAC");
        assert_eq!(&f[20..22], &[0, 1], "ARP request form, as keepalived sends");
        assert_eq!(&f[22..28], &MAC_A, "sender MAC");
        assert_eq!(
            (&f[28..32], &f[38..42]),
            (&vip.octets()[..], &vip.octets()[..]),
            "sender IP = target IP = VIP"
        );
        assert_eq!(&f[..42], &gratuitous_arp(MAC_A, vip));
    }
    let moved = eventually(WAIT, || {
        let out = pair
            .b
            .exec("ip", &["neigh", "show", "198.51.100.88", "dev", &pair.b_if]);
        String::from_utf8_lossy(&out.stdout).contains("02:00:5e:20:00:01")
    });
    assert!(moved, "the peer's ARP entry still points at the old master");
}

#[test]
fn unsolicited_na_is_on_the_wire_and_overrides_the_peers_neighbour_entry() {
    let name = "unsolicited_na_is_on_the_wire_and_overrides_the_peers_neighbour_entry";
    let Some(_group) = support::privileged_test(module_path!(), name) else {
        return;
    };
    let pair = Pair::new();
    // The peer still maps the VIP to the old master's MAC; the Override
    // flag must replace it (RFC 4861 §7.2.5).
    stale_neighbour(&pair, "2001:db8::88");
    let forwarding = format!("net.ipv6.conf.{}.forwarding=1", pair.a_if);
    pair.a.exec("sysctl", &["-qw", &forwarding]);
    let vip: Ipv6Addr = "2001:db8::88".parse().unwrap();
    let frames = in_thread(|rt| {
        enter(&pair.b);
        let capture = Capture::open();
        enter(&pair.a);
        rt.block_on(async {
            let announcer = Announcer::open(&pair.a_if).await.unwrap();
            // A forwarding interface announces with the Router flag.
            assert!(announcer.ipv6_router());
            announcer.announce(IpAddr::V6(vip)).await.unwrap();
        });
        capture.frames(
            WAIT,
            |f| f.len() >= 86 && f[12..14] == [0x86, 0xdd] && f[54] == 136,
            1,
        )
    });
    assert_eq!(frames.len(), 1, "one neighbour advertisement on the wire");
    let f = &frames[0];
    assert_eq!(&f[..6], &[0x33, 0x33, 0, 0, 0, 1], "to the all-nodes MAC");
    assert_eq!(&f[6..12], &MAC_A);
    assert_eq!(f[21], 255, "hop limit 255");
    assert_eq!(&f[22..38], &vip.octets(), "from the VIP");
    assert_eq!(&f[38..54], &"ff02::1".parse::<Ipv6Addr>().unwrap().octets());
    assert_eq!(f[58], 0xa0, "Router and Override set, Solicited clear");
    assert_eq!(&f[62..78], &vip.octets(), "target is the VIP");
    assert_eq!(
        &f[78..86],
        &[2, 1, 0x02, 0x00, 0x5e, 0x20, 0x00, 0x01],
        "target link-layer option"
    );
    assert_eq!(&f[..86], &unsolicited_na(MAC_A, vip, true));
    let learned = eventually(WAIT, || {
        let out = pair.b.exec(
            "ip",
            &["-6", "neigh", "show", "2001:db8::88", "dev", &pair.b_if],
        );
        String::from_utf8_lossy(&out.stdout).contains("02:00:5e:20:00:01")
    });
    assert!(
        learned,
        "the peer's neighbour entry still points at the old master"
    );
}

#[test]
fn opening_on_a_missing_interface_says_so() {
    let Some(_group) =
        support::privileged_test(module_path!(), "opening_on_a_missing_interface_says_so")
    else {
        return;
    };
    in_thread(|rt| {
        rt.block_on(async {
            let err = RawTransport::open(RawConfig::multicast("nosuchvrrp0", IpFamily::V4))
                .await
                .unwrap_err();
            assert!(
                matches!(err, TransportError::NoSuchInterface(ref n) if n == "nosuchvrrp0"),
                "{err}"
            );
            assert_eq!(err.to_string(), "no such interface 'nosuchvrrp0'");
            let err = Announcer::open("nosuchvrrp0").await.unwrap_err();
            assert_eq!(err.to_string(), "no such interface 'nosuchvrrp0'");
        });
    });
}

/// Set in the child that [`raw_sockets_without_cap_net_raw_say_what_they_need`]
/// re-runs as `nobody`.
const UNPRIVILEGED_CHILD: &str = "LVSTOP_VRRP_IO_UNPRIVILEGED_CHILD";

#[test]
fn raw_sockets_without_cap_net_raw_say_what_they_need() {
    const NAME: &str = "raw_sockets_without_cap_net_raw_say_what_they_need";
    if std::env::var_os(UNPRIVILEGED_CHILD).is_some() {
        in_thread(|rt| {
            rt.block_on(async {
                let config = RawConfig {
                    ifname: "lo".to_string(),
                    family: IpFamily::V4,
                    source: Some(ip("127.0.0.1")),
                    unicast_peers: vec![ip("127.0.0.2")],
                    authentication_header: false,
                };
                let err = RawTransport::open(config).await.unwrap_err();
                assert_eq!(
                    err.to_string(),
                    "opening a raw socket for VRRP on 'lo' needs CAP_NET_RAW (run as root)"
                );
                let err = Announcer::open("lo").await.unwrap_err();
                assert_eq!(
                    err.to_string(),
                    "sending gratuitous ARP / NA on 'lo' needs CAP_NET_RAW (run as root)"
                );
            });
        });
        return;
    }
    let Some(_group) = support::privileged_test(module_path!(), NAME) else {
        return;
    };
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &support::test_path(module_path!(), NAME),
            "--test-threads=1",
        ])
        .env(UNPRIVILEGED_CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
fn keepalived_announces_vips_exactly_as_the_default_schedule_says() {
    const NAME: &str = "keepalived_announces_vips_exactly_as_the_default_schedule_says";
    let Some(_group) = support::privileged_test(module_path!(), NAME) else {
        return;
    };
    let pair = Pair::new();
    let vips = [ip("198.51.100.88"), ip("198.51.100.89")];
    let config = "
vrrp_instance V4 {
    state MASTER
    interface IFNAME
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {
        198.51.100.88/32
        198.51.100.89/32
    }
}
"
    .replace("IFNAME", &pair.a_if);
    let frames = in_thread(|_| {
        enter(&pair.b);
        let capture = Capture::open();
        let _keepalived = Keepalived::start(&pair.a, &config);
        let is_garp =
            |f: &[u8]| f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[28..32] == f[38..42];
        capture.timed_frames(Duration::from_secs(30), is_garp, 20)
    });
    assert_eq!(frames.len(), 20, "keepalived sent {} GARPs", frames.len());

    // lvstop's schedule with keepalived's defaults, started when the first
    // GARP arrived.
    let start = frames[0].0;
    let mut schedule = AnnounceSchedule::new(AnnounceSettings::default(), vips.to_vec());
    schedule.start(Trigger::BecameMaster, start);
    let mut planned = Vec::new();
    while let Some(at) = schedule.next_deadline() {
        planned.extend(schedule.poll(at));
    }
    assert_eq!(planned.len(), frames.len(), "same number of messages");
    for (i, ((seen_at, frame), plan)) in frames.iter().zip(&planned).enumerate() {
        let seen_vip = IpAddr::V4(Ipv4Addr::new(frame[28], frame[29], frame[30], frame[31]));
        assert_eq!(seen_vip, plan.vip, "message {i}: VIP order");
        // Which set (first, or the one 5 s later) each message belongs to:
        // coarse on purpose, this is about shape, not speed.
        let seen_offset = seen_at.duration_since(start).as_secs_f64();
        let planned_offset = plan.at.duration_since(start).as_secs_f64();
        assert!(
            (seen_offset - planned_offset).abs() < 1.5,
            "message {i}: keepalived at +{seen_offset:.3} s, schedule at +{planned_offset:.3} s"
        );
    }
}
