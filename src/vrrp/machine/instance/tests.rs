//! What a MASTER does when it hears another router, and when it announces
//! its addresses, under keepalived's advert and GARP settings. The counts
//! are keepalived 2.2.7's, measured on the wire (see
//! `tests/tier2/tier2_vrrp_garp.rs`, which compares both daemons live).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::Instance;
use crate::config::load::{load_str, Options};
use crate::vrrp::machine::{Event, InstanceConfig, State, Timestamp, VrrpAction};
use crate::vrrp::packet::{Advertisement, Auth, Version};

const PEER: &str = "198.51.100.2";
const VIP: &str = "198.51.100.10";
/// A VIP on another interface than the instance's.
const VIP_ETH1: &str = "198.51.100.11";
const EVIP_ETH1: &str = "198.51.100.12";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn secs(s: f64) -> Timestamp {
    Timestamp::from_duration(Duration::from_secs_f64(s))
}

/// Instance `VI_1` (priority 100, advert_int 1) on eth0 with one VIP on
/// eth0, one on eth1 and an eVIP on eth1.
fn instance(global: &str, extra: &str) -> Instance {
    let text = format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n \
         virtual_router_id 51\n priority 100\n advert_int 1\n{extra}\n virtual_ipaddress {{\n  \
         {VIP}/24\n  {VIP_ETH1}/32 dev eth1\n }}\n virtual_ipaddress_excluded {{\n  \
         {EVIP_ETH1}/32 dev eth1\n }}\n}}\n"
    );
    let loaded = load_str(Path::new("keepalived.conf"), &text, &Options::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let config =
        InstanceConfig::from_model(&loaded.config.vrrp.instances[0], &loaded.config.global)
            .unwrap();
    Instance::new(config)
}

/// The instance as MASTER at 10 s, and the actions of that transition.
fn master(global: &str, extra: &str) -> (Instance, Vec<VrrpAction>) {
    let mut vi = instance(global, extra);
    vi.handle(secs(0.0), Event::Startup);
    let out = vi.handle(secs(10.0), Event::Tick);
    assert_eq!(vi.state(), State::Master);
    (vi, out)
}

fn advert(priority: u8) -> Event {
    let advert = Advertisement {
        version: Version::V2,
        vrid: 51,
        priority,
        interval: 1,
        auth: Auth::None,
        addresses: vec![ip(VIP), ip(VIP_ETH1)],
    };
    let to = ip("224.0.0.18");
    Event::AdvertReceived {
        from: ip(PEER),
        to,
        ttl: 255,
        payload: advert.emit(ip(PEER), to).unwrap(),
        ah_prefix: None,
    }
}

fn adverts(out: &[VrrpAction]) -> Vec<u8> {
    out.iter()
        .filter_map(|a| match a {
            VrrpAction::SendAdvert { advert, .. } => Some(advert.priority),
            _ => None,
        })
        .collect()
}

/// (addresses, repeat) of each announcement request.
fn announcements(out: &[VrrpAction]) -> Vec<(Vec<IpAddr>, u32)> {
    out.iter()
        .filter_map(|a| match a {
            VrrpAction::SendGratuitous {
                addresses, repeat, ..
            } => Some((addresses.clone(), *repeat)),
            _ => None,
        })
        .collect()
}

fn all_addresses() -> Vec<IpAddr> {
    vec![ip(VIP), ip(VIP_ETH1), ip(EVIP_ETH1)]
}

/// Feeds ticks at every deadline up to `until`, collecting the actions.
fn run_until(vi: &mut Instance, until: Timestamp) -> Vec<(Timestamp, VrrpAction)> {
    let mut out = Vec::new();
    while let Some(at) = vi.next_deadline().filter(|at| *at <= until) {
        out.extend(vi.handle(at, Event::Tick).into_iter().map(|a| (at, a)));
    }
    out
}

fn announcements_at(timed: &[(Timestamp, VrrpAction)]) -> Vec<(Timestamp, Vec<IpAddr>, u32)> {
    timed
        .iter()
        .filter_map(|(at, a)| match a {
            VrrpAction::SendGratuitous {
                addresses, repeat, ..
            } => Some((*at, addresses.clone(), *repeat)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_master_announces_its_vips_and_evips_together() {
    let (_, out) = master("", "");
    assert_eq!(announcements(&out), vec![(all_addresses(), 5)]);
}

#[test]
fn a_master_answers_a_lower_priority_with_an_advert_and_two_announcement_sets() {
    let (mut vi, _) = master("", "");
    let _ = run_until(&mut vi, secs(15.5));
    let out = vi.handle(secs(15.5), advert(50));
    assert_eq!(adverts(&out), vec![100], "one advert in reply");
    assert_eq!(announcements(&out), vec![(all_addresses(), 5)]);
    let first = out
        .iter()
        .position(|a| matches!(a, VrrpAction::SendAdvert { .. }))
        .unwrap();
    let garp = out
        .iter()
        .position(|a| matches!(a, VrrpAction::SendGratuitous { .. }))
        .unwrap();
    assert!(first < garp, "the advert leaves before the ARPs: {out:?}");
    let later = run_until(&mut vi, secs(30.0));
    assert_eq!(
        announcements_at(&later),
        vec![(secs(20.5), all_addresses(), 5)],
        "the second set follows the global master delay"
    );
    // The advert interval restarts from the reply.
    let next: Vec<_> = later
        .iter()
        .filter(|(_, a)| matches!(a, VrrpAction::SendAdvert { .. }))
        .map(|(at, _)| *at)
        .take(2)
        .collect();
    assert_eq!(next, vec![secs(16.5), secs(17.5)]);
}

#[test]
fn lower_prio_no_advert_keeps_quiet_but_still_announces() {
    for (global, extra) in [
        ("", "lower_prio_no_advert"),
        ("vrrp_lower_prio_no_advert", ""),
        ("vrrp_lower_prio_no_advert", "lower_prio_no_advert yes"),
    ] {
        let (mut vi, _) = master(global, extra);
        let _ = run_until(&mut vi, secs(15.5));
        let out = vi.handle(secs(15.5), advert(50));
        assert!(adverts(&out).is_empty(), "{global} / {extra}: {out:?}");
        assert_eq!(announcements(&out), vec![(all_addresses(), 5)]);
        assert_eq!(vi.next_deadline(), Some(secs(16.0)), "interval runs on");
    }
    let (mut vi, _) = master("vrrp_lower_prio_no_advert", "lower_prio_no_advert off");
    let _ = run_until(&mut vi, secs(15.5));
    let out = vi.handle(secs(15.5), advert(50));
    assert_eq!(adverts(&out), vec![100], "the instance's 'off' wins");
}

#[test]
fn garp_lower_prio_settings_shape_the_two_sets() {
    let (mut vi, _) = master("", "garp_lower_prio_repeat 2\ngarp_lower_prio_delay 2");
    let _ = run_until(&mut vi, secs(15.5));
    let out = vi.handle(secs(15.5), advert(50));
    assert_eq!(announcements(&out), vec![(all_addresses(), 2)]);
    let later = run_until(&mut vi, secs(30.0));
    assert_eq!(
        announcements_at(&later),
        vec![(secs(17.5), all_addresses(), 2)]
    );
}

#[test]
fn each_lower_priority_advert_gets_its_own_second_set() {
    let (mut vi, _) = master("", "");
    let _ = run_until(&mut vi, secs(15.5));
    let first = vi.handle(secs(15.5), advert(50));
    let _ = run_until(&mut vi, secs(17.7));
    let second = vi.handle(secs(17.7), advert(50));
    assert_eq!(announcements(&first), vec![(all_addresses(), 5)]);
    assert_eq!(announcements(&second), vec![(all_addresses(), 5)]);
    let later = run_until(&mut vi, secs(30.0));
    assert_eq!(
        announcements_at(&later),
        vec![
            (secs(20.5), all_addresses(), 5),
            (secs(22.7), all_addresses(), 5)
        ]
    );
}

#[test]
fn lower_prio_delay_zero_sends_one_set() {
    let (mut vi, _) = master("vrrp_min_garp", "");
    let _ = run_until(&mut vi, secs(15.5));
    let out = vi.handle(secs(15.5), advert(50));
    assert_eq!(announcements(&out), vec![(all_addresses(), 1)]);
    assert!(announcements_at(&run_until(&mut vi, secs(40.0))).is_empty());
}

#[test]
fn strict_mode_neither_answers_nor_announces_a_lower_priority() {
    let (mut vi, _) = master(
        "vrrp_strict",
        "garp_lower_prio_repeat 2\nlower_prio_no_advert off",
    );
    let _ = run_until(&mut vi, secs(15.5));
    let out = vi.handle(secs(15.5), advert(50));
    assert!(adverts(&out).is_empty(), "{out:?}");
    assert!(announcements(&out).is_empty(), "{out:?}");
}

#[test]
fn a_master_yields_to_a_higher_priority_silently_by_default() {
    let (mut vi, _) = master("", "");
    let out = vi.handle(secs(11.5), advert(200));
    assert_eq!(vi.state(), State::Backup);
    assert!(adverts(&out).is_empty(), "{out:?}");
}

#[test]
fn higher_prio_send_advert_sends_one_advert_before_yielding() {
    for (global, extra) in [
        ("", "higher_prio_send_advert"),
        ("vrrp_higher_prio_send_advert", ""),
    ] {
        let (mut vi, _) = master(global, extra);
        let out = vi.handle(secs(11.5), advert(200));
        assert_eq!(vi.state(), State::Backup);
        assert_eq!(adverts(&out), vec![100], "{out:?}");
        let sent = out
            .iter()
            .position(|a| matches!(a, VrrpAction::SendAdvert { .. }))
            .unwrap();
        let left = out
            .iter()
            .position(|a| matches!(a, VrrpAction::StateChanged { .. }))
            .unwrap();
        assert!(sent < left, "the advert goes out while still MASTER");
    }
    let (mut vi, _) = master("vrrp_strict", "higher_prio_send_advert");
    let out = vi.handle(secs(11.5), advert(200));
    assert!(adverts(&out).is_empty(), "strict mode clears it: {out:?}");
}

#[test]
fn higher_prio_send_advert_also_answers_an_equal_priority_from_a_higher_address() {
    // keepalived 2.2.7: "same priority 150 but higher IP address than
    // ours", one advert of its own, then BACKUP.
    let (mut vi, _) = master("", "higher_prio_send_advert");
    vi.handle(secs(11.0), Event::LocalAddress(Some(ip("198.51.100.1"))));
    let out = vi.handle(secs(11.5), advert(100));
    assert_eq!(vi.state(), State::Backup);
    assert_eq!(adverts(&out), vec![100], "{out:?}");
}

#[test]
fn a_backup_with_higher_prio_send_advert_still_discards_a_lower_priority() {
    let mut vi = instance("", "higher_prio_send_advert");
    vi.handle(secs(0.0), Event::Startup);
    let out = vi.handle(secs(1.0), advert(50));
    assert_eq!(vi.state(), State::Backup);
    assert!(adverts(&out).is_empty(), "{out:?}");
}

#[test]
fn garp_extra_if_all_announces_the_other_interfaces_addresses_each_period() {
    let (mut vi, _) = master("", "garp_extra_if all 3\ngarp_master_delay 0");
    let timed = run_until(&mut vi, secs(19.5));
    let extra = vec![ip(VIP_ETH1), ip(EVIP_ETH1)];
    assert_eq!(
        announcements_at(&timed),
        vec![
            (secs(13.0), extra.clone(), 1),
            (secs(16.0), extra.clone(), 1),
            (secs(19.0), extra, 1)
        ]
    );
    vi.handle(secs(19.5), advert(200));
    // BACKUP until its Master_Down timer (3.6 s) runs out: no rounds.
    assert!(announcements_at(&run_until(&mut vi, secs(23.0))).is_empty());
}

#[test]
fn garp_extra_if_without_all_or_with_zero_sends_nothing_more() {
    for (global, extra) in [
        ("", "garp_extra_if 3"),
        ("vrrp_garp_extra_if 3", ""),
        ("", "garp_extra_if all 0"),
    ] {
        let (mut vi, _) = master(global, &format!("{extra}\ngarp_master_delay 0"));
        let timed = run_until(&mut vi, secs(30.0));
        assert!(announcements_at(&timed).is_empty(), "{global} / {extra}");
    }
    let (mut vi, _) = master("vrrp_garp_extra_if all 4", "garp_master_delay 0");
    let timed = run_until(&mut vi, secs(14.5));
    assert_eq!(announcements_at(&timed).len(), 1, "the global form");
}
