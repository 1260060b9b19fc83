//! Privileged tier: VRRP virtual MAC (`use_vmac`) between lvstop and the
//! real keepalived 2.2.7. Both directors make `vrrp.51`, a private-mode
//! macvlan over their segment interface with the RFC 5798 §7.3 virtual
//! MAC 00:00:5e:00:01:33, and the master holds the VIP there. A client on
//! the segment (the observer) pings the VIP and its ARP entry for it is
//! the virtual MAC whichever director is master, before and after a
//! failover both ways; lvstop's adverts leave with the virtual MAC as
//! their source, and a clean stop removes lvstop's VMAC and puts back the
//! ARP sysctls of the interface under it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::{always, eventually, vrrp_config, Capture, Director, Lan, A_ADDR, VIP};
use support::netns::Netns;

const WAIT: Duration = Duration::from_secs(15);
const VMAC: &str = "vrrp.51";
const VIRTUAL_MAC: &str = "00:00:5e:00:01:33";

fn text(out: std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip -d -o link show dev vrrp.51` in `ns` (empty when there is none).
fn vmac_link(ns: &Netns) -> String {
    text(ns.try_exec("ip", &["-d", "-o", "link", "show", "dev", VMAC]))
}

/// Whether `ns` has the VMAC as keepalived makes it.
fn has_vmac(ns: &Netns) -> bool {
    let link = vmac_link(ns);
    link.contains(&format!("link/ether {VIRTUAL_MAC}")) && link.contains("macvlan mode private")
}

/// Whether the VIP sits on the VMAC in `ns`.
fn vip_on_vmac(ns: &Netns) -> bool {
    addr_on_vmac(ns, VIP)
}

fn addr_on_vmac(ns: &Netns, addr: &str) -> bool {
    text(ns.try_exec("ip", &["-o", "addr", "show", "dev", VMAC])).contains(&format!(" {addr}/"))
}

fn sysctl(ns: &Netns, key: &str) -> String {
    text(ns.exec("sysctl", &["-n", key])).trim().to_string()
}

/// The client's ARP entry for the VIP after a ping (empty when the ping
/// fails); `flush` forgets the old entry first.
fn client_sees(lan: &Lan, flush: bool) -> String {
    if flush {
        lan.obs.exec("ip", &["neigh", "flush", "dev", &lan.obs_if]);
    }
    let ping = lan.obs.try_exec("ping", &["-c", "1", "-W", "1", VIP]);
    if !ping.status.success() {
        return String::new();
    }
    text(lan.obs.exec("ip", &["neigh", "show", VIP]))
}

fn client_sees_virtual_mac(lan: &Lan, flush: bool) -> bool {
    client_sees(lan, flush).contains(&format!("lladdr {VIRTUAL_MAC}"))
}

/// lvstop's adverts (IP protocol 112 from A's address) seen by the
/// observer, by Ethernet source MAC.
fn advert_macs_from_a(capture: &Capture) -> Vec<String> {
    let a: std::net::Ipv4Addr = A_ADDR.parse().unwrap();
    capture
        .frames()
        .iter()
        .filter(|(_, f)| {
            f.len() >= 34 && f[12..14] == [0x08, 0x00] && f[23] == 112 && f[26..30] == a.octets()
        })
        .map(|(_, f)| {
            f[6..12]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect()
}

#[test]
fn a_vmac_keeps_the_clients_arp_entry_across_failovers_with_keepalived() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "a_vmac_keeps_the_clients_arp_entry_across_failovers_with_keepalived",
    ) else {
        return;
    };
    let lan = Lan::new();
    // A director answers the client's ping from the base interface and
    // first asks for the client's MAC there; with the default
    // arp_announce=0 that request names the VIP as its sender and teaches
    // the client the base MAC (keepalived 2.2.7 behaves alike). An LVS
    // director runs with arp_announce=2, which names its own address.
    for (ns, ifname) in [(&lan.a, &lan.a_if), (&lan.b, &lan.b_if)] {
        ns.exec(
            "sysctl",
            &["-qw", &format!("net.ipv4.conf.{ifname}.arp_announce=2")],
        );
    }
    let capture = Capture::start(&lan.obs);
    let a_conf = vrrp_config(&lan.a_if, 150, 2, "1", "  use_vmac");
    let b_conf = vrrp_config(&lan.b_if, 100, 2, "1", "  use_vmac");
    let mut a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::keepalived(&lan.b, &b_conf);
    let logs = |a: &Director, b: &Director| format!("A:\n{}\nB:\n{}", a.log(), b.log());
    let arp_ignore = format!("net.ipv4.conf.{}.arp_ignore", lan.a_if);
    let arp_filter = format!("net.ipv4.conf.{}.arp_filter", lan.a_if);
    let before = (sysctl(&lan.a, &arp_ignore), sysctl(&lan.a, &arp_filter));

    // lvstop (priority 150) is master: the VIP on its VMAC, both VMACs
    // made, the client's entry the virtual MAC.
    assert!(
        eventually(WAIT, || lan.vip() == (true, false) && vip_on_vmac(&lan.a)),
        "lvstop never became master with the VIP on {VMAC}\n{}\n{}",
        text(lan.a.exec("ip", &["-o", "addr"])),
        logs(&a, &b)
    );
    assert!(has_vmac(&lan.a), "{}", vmac_link(&lan.a));
    assert!(has_vmac(&lan.b), "{}", vmac_link(&lan.b));
    assert_eq!(
        (sysctl(&lan.a, &arp_ignore), sysctl(&lan.a, &arp_filter)),
        ("1".to_string(), "1".to_string()),
        "the base interface should answer no ARP for the VMAC's addresses"
    );
    assert!(
        always(Duration::from_secs(2), || lan.vip() == (true, false)),
        "dual or no master\n{}",
        logs(&a, &b)
    );
    assert!(
        eventually(WAIT, || client_sees_virtual_mac(&lan, true)),
        "the client never saw {VIRTUAL_MAC} for the VIP on lvstop: {}",
        client_sees(&lan, false)
    );
    let macs = advert_macs_from_a(&capture);
    assert!(
        !macs.is_empty() && macs.iter().all(|m| m == VIRTUAL_MAC),
        "lvstop's adverts should leave from {VMAC}: {macs:?}"
    );

    // lvstop stops cleanly: keepalived takes the VIP onto its VMAC, the
    // client's entry stays the virtual MAC (also asked afresh), and
    // lvstop's VMAC is gone with the base interface's sysctls restored.
    a.stop();
    assert!(
        vmac_link(&lan.a).is_empty(),
        "{VMAC} left after stop: {}",
        vmac_link(&lan.a)
    );
    assert_eq!(
        (sysctl(&lan.a, &arp_ignore), sysctl(&lan.a, &arp_filter)),
        before,
        "the base interface's sysctls were not restored"
    );
    assert!(
        eventually(WAIT, || lan.vip() == (false, true) && vip_on_vmac(&lan.b)),
        "keepalived never took the VIP onto {VMAC}\n{}",
        logs(&a, &b)
    );
    assert!(
        eventually(WAIT, || client_sees_virtual_mac(&lan, false)),
        "{}",
        client_sees(&lan, false)
    );
    assert!(
        eventually(WAIT, || client_sees_virtual_mac(&lan, true)),
        "the client never saw {VIRTUAL_MAC} for the VIP on keepalived: {}",
        client_sees(&lan, false)
    );

    // lvstop returns and preempts: the VIP moves back onto lvstop's VMAC
    // and the client still reaches it under the virtual MAC.
    let mut a = Director::lvstop(&lan.a, &a_conf);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false) && vip_on_vmac(&lan.a)),
        "the VIP did not come back to lvstop's {VMAC}\n{}",
        logs(&a, &b)
    );
    assert!(has_vmac(&lan.b), "keepalived keeps its VMAC as backup");
    assert!(
        eventually(WAIT, || client_sees_virtual_mac(&lan, false)),
        "{}",
        client_sees(&lan, false)
    );
    assert!(
        eventually(WAIT, || client_sees_virtual_mac(&lan, true)),
        "the client never saw {VIRTUAL_MAC} for the VIP back on lvstop: {}",
        client_sees(&lan, false)
    );
    a.stop();
    assert!(vmac_link(&lan.a).is_empty(), "{}", vmac_link(&lan.a));
}

#[test]
fn vmac_xmit_base_sends_adverts_from_the_base_interface() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "vmac_xmit_base_sends_adverts_from_the_base_interface",
    ) else {
        return;
    };
    let lan = Lan::new();
    let capture = Capture::start(&lan.obs);
    let extra = "  use_vmac\n  vmac_xmit_base";
    let a_conf = vrrp_config(&lan.a_if, 150, 2, "1", extra);
    let b_conf = vrrp_config(&lan.b_if, 100, 2, "1", extra);
    let mut a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::keepalived(&lan.b, &b_conf);
    let logs = |a: &Director, b: &Director| format!("A:\n{}\nB:\n{}", a.log(), b.log());
    assert!(
        eventually(WAIT, || lan.vip() == (true, false) && vip_on_vmac(&lan.a)),
        "lvstop never became master with the VIP on {VMAC}\n{}",
        logs(&a, &b)
    );
    assert!(
        always(Duration::from_secs(3), || lan.vip() == (true, false)),
        "dual or no master\n{}",
        logs(&a, &b)
    );
    let base = Lan::mac(&lan.a, &lan.a_if)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let macs = advert_macs_from_a(&capture);
    assert!(
        !macs.is_empty() && macs.iter().all(|m| *m == base),
        "with vmac_xmit_base lvstop's adverts should carry {base}: {macs:?}"
    );
    // The GARPs still announce the virtual MAC.
    let garps = capture.garps(harness::vip4());
    assert!(
        garps
            .iter()
            .any(|(_, mac)| *mac == [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]),
        "{garps:?}"
    );

    // A crash leaves the VMAC; lvstop's next start takes it over.
    a.crash();
    assert!(has_vmac(&lan.a), "{}", vmac_link(&lan.a));
    // (The crashed run's VIP is still there: wait for the new MASTER.)
    let mut a = Director::lvstop(&lan.a, &a_conf);
    assert!(
        eventually(WAIT, || a.log().contains("Entering MASTER STATE")
            && lan.vip() == (true, false)
            && vip_on_vmac(&lan.a)),
        "lvstop did not take its leftover {VMAC} over\n{}",
        logs(&a, &b)
    );
    a.stop();
    assert!(vmac_link(&lan.a).is_empty(), "{}", vmac_link(&lan.a));
}

const VIP6: &str = "2001:db8::100";
const VIRTUAL_MAC6: &str = "00:00:5e:00:02:33";

fn vrrp6_config(interface: &str, priority: u8) -> String {
    format!(
        "global_defs {{\n  router_id test\n  vrrp_version 3\n}}\n\
         vrrp_instance VI_6 {{\n  state BACKUP\n  interface {interface}\n  virtual_router_id 51\n  \
         priority {priority}\n  advert_int 1\n  use_vmac\n  virtual_ipaddress {{\n    {VIP6}/64\n  }}\n}}\n"
    )
}

#[test]
fn an_ipv6_vmac_pairs_with_keepalived_and_answers_with_the_ipv6_virtual_mac() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "an_ipv6_vmac_pairs_with_keepalived_and_answers_with_the_ipv6_virtual_mac",
    ) else {
        return;
    };
    let lan = Lan::new();
    lan.obs.exec(
        "ip",
        &["addr", "add", "2001:db8::3/64", "dev", &lan.obs_if, "nodad"],
    );
    let mut a = Director::lvstop(&lan.a, &vrrp6_config(&lan.a_if, 150));
    let b = Director::keepalived(&lan.b, &vrrp6_config(&lan.b_if, 100));
    let logs = |a: &Director, b: &Director| format!("A:\n{}\nB:\n{}", a.log(), b.log());
    let where_vip = || (Lan::has(&lan.a, VIP6), Lan::has(&lan.b, VIP6));

    // lvstop sends from its VMAC with the base's link-local address, and
    // keepalived, whose adverts from the same virtual MAC reach only the
    // VMAC, is heard there: one master.
    assert!(
        eventually(WAIT, || where_vip() == (true, false)
            && addr_on_vmac(&lan.a, VIP6)),
        "lvstop never became master with {VIP6} on {VMAC}\n{}",
        logs(&a, &b)
    );
    assert!(
        always(Duration::from_secs(4), || where_vip() == (true, false)),
        "dual or no master\n{}",
        logs(&a, &b)
    );
    let link = vmac_link(&lan.a);
    assert!(
        link.contains(&format!("link/ether {VIRTUAL_MAC6}")),
        "{link}"
    );
    let neighbour = || {
        lan.obs
            .exec("ip", &["-6", "neigh", "flush", "dev", &lan.obs_if]);
        let ping = lan
            .obs
            .try_exec("ping", &["-6", "-c", "1", "-W", "1", VIP6]);
        ping.status.success()
            && text(lan.obs.exec("ip", &["-6", "neigh", "show", VIP6]))
                .contains(&format!("lladdr {VIRTUAL_MAC6}"))
    };
    assert!(
        eventually(WAIT, neighbour),
        "{}",
        text(lan.obs.exec("ip", &["-6", "neigh"]))
    );

    // lvstop stops: keepalived takes over on its VMAC, lvstop's is gone.
    a.stop();
    assert!(vmac_link(&lan.a).is_empty(), "{}", vmac_link(&lan.a));
    assert!(
        eventually(WAIT, || where_vip() == (false, true)
            && addr_on_vmac(&lan.b, VIP6)),
        "keepalived never took {VIP6}\n{}",
        logs(&a, &b)
    );
    assert!(
        eventually(WAIT, neighbour),
        "{}",
        text(lan.obs.exec("ip", &["-6", "neigh"]))
    );

    // lvstop returns below keepalived: it hears keepalived's adverts on
    // its VMAC and stays BACKUP, its VMAC with the base's link-local
    // address on it.
    let a = Director::lvstop(&lan.a, &vrrp6_config(&lan.a_if, 50));
    assert!(
        eventually(WAIT, || has_vmac6(&lan.a)),
        "{}",
        vmac_link(&lan.a)
    );
    assert!(
        always(Duration::from_secs(5), || where_vip() == (false, true)),
        "dual or no master with keepalived as master\n{}",
        logs(&a, &b)
    );
    let on_vmac = text(lan.a.exec("ip", &["-o", "-6", "addr", "show", "dev", VMAC]));
    assert!(on_vmac.contains(" fe80::"), "{on_vmac}");
}

fn has_vmac6(ns: &Netns) -> bool {
    let link = vmac_link(ns);
    link.contains(&format!("link/ether {VIRTUAL_MAC6}")) && link.contains("macvlan mode private")
}

#[test]
fn two_vmacs_on_one_interface_give_its_sysctls_back_after_both() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "two_vmacs_on_one_interface_give_its_sysctls_back_after_both",
    ) else {
        return;
    };
    let lan = Lan::new();
    // VI_1 (VRID 51) and VI_2 (VRID 52) run apart, each on its own VMAC
    // over the same interface.
    let second = "vrrp_instance VI_2 {\n  state BACKUP\n  interface IF\n  virtual_router_id 52\n  \
                  priority 150\n  advert_int 1\n  use_vmac\n  virtual_ipaddress {\n    \
                  198.51.100.101/24\n  }\n}\n";
    let conf = format!(
        "{}{}",
        vrrp_config(&lan.a_if, 150, 2, "1", "  use_vmac"),
        second.replace("IF", &lan.a_if)
    );
    // With all.rp_filter set, keepalived moves it onto the interface.
    lan.a
        .exec("sysctl", &["-qw", "net.ipv4.conf.all.rp_filter=1"]);
    let arp_ignore = format!("net.ipv4.conf.{}.arp_ignore", lan.a_if);
    let arp_filter = format!("net.ipv4.conf.{}.arp_filter", lan.a_if);
    let rp_filter = format!("net.ipv4.conf.{}.rp_filter", lan.a_if);
    let all_rp = "net.ipv4.conf.all.rp_filter";
    let settings = || {
        [&arp_ignore, &arp_filter, &rp_filter, all_rp]
            .map(|key| sysctl(&lan.a, key))
            .join(" ")
    };
    let before = settings();
    let mut a = Director::lvstop(&lan.a, &conf);
    let vrrp52 = || {
        text(
            lan.a
                .try_exec("ip", &["-o", "addr", "show", "dev", "vrrp.52"]),
        )
        .contains(" 198.51.100.101/")
    };
    assert!(
        eventually(WAIT, || vip_on_vmac(&lan.a) && vrrp52()),
        "both VIPs never reached their VMACs\n{}\n{}",
        text(lan.a.exec("ip", &["-o", "addr"])),
        a.log()
    );
    assert_eq!(
        settings(),
        "1 1 1 0",
        "arp_ignore arp_filter rp_filter all.rp_filter"
    );
    a.stop();
    assert!(vmac_link(&lan.a).is_empty(), "{}", vmac_link(&lan.a));
    assert!(
        text(
            lan.a
                .try_exec("ip", &["-o", "link", "show", "dev", "vrrp.52"])
        )
        .is_empty(),
        "vrrp.52 left after stop"
    );
    assert_eq!(settings(), before, "the sysctls were not given back");
}

/// The VMACs of `ns` as (name, lower interface, MAC), the lower interface
/// named `BASE` when it is `base`, sorted.
fn vmacs_of(ns: &Netns, base: &str) -> Vec<(String, String, String)> {
    let out = text(ns.exec("ip", &["-d", "-o", "link", "show", "type", "macvlan"]));
    let mut found: Vec<(String, String, String)> = out
        .lines()
        .filter(|l| l.contains("macvlan mode private"))
        .filter_map(|l| {
            let name_at = l.split_whitespace().nth(1)?.trim_end_matches(':');
            let (name, lower) = name_at.split_once('@')?;
            let mac = l.split("link/ether ").nth(1)?.split_whitespace().next()?;
            let lower = if lower == base { "BASE" } else { lower };
            Some((name.to_string(), lower.to_string(), mac.to_string()))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn use_vmac_addr_and_a_vips_use_vmac_make_the_vmacs_keepalived_makes() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "use_vmac_addr_and_a_vips_use_vmac_make_the_vmacs_keepalived_makes",
    ) else {
        return;
    };
    let lan = Lan::new();
    let conf = |base: &str| {
        format!(
            "vrrp_instance VI_A {{\n  interface {base}\n  virtual_router_id 53\n  priority 100\n  \
             advert_int 1\n  use_vmac\n  use_vmac_addr\n  virtual_ipaddress {{\n    \
             198.51.100.111/24\n    198.51.100.130/25 dev vmx0\n  }}\n}}\n\
             vrrp_instance VI_B {{\n  interface {base}\n  virtual_router_id 54\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    198.51.100.113/24\n    \
             198.51.100.140/25 dev vmx0 use_vmac\n  }}\n}}\n"
        )
    };
    for ns in [&lan.a, &lan.b] {
        // A second interface (this kernel has no dummy driver).
        ns.exec(
            "ip",
            &[
                "link", "add", "vmx0", "type", "veth", "peer", "name", "vmx1",
            ],
        );
        ns.exec("ip", &["link", "set", "vmx0", "up"]);
        ns.exec("ip", &["link", "set", "vmx1", "up"]);
    }
    let mut a = Director::lvstop(&lan.a, &conf(&lan.a_if));
    let b = Director::keepalived(&lan.b, &conf(&lan.b_if));
    let expected: Vec<(String, String, String)> = [
        ("vrrp.53", "BASE", "00:00:5e:00:01:35"),
        ("vrrp.54", "vmx0", "00:00:5e:00:01:36"),
        ("vrrp1.53", "vmx0", "00:00:5e:00:01:35"),
    ]
    .iter()
    .map(|(n, l, m)| (n.to_string(), l.to_string(), m.to_string()))
    .collect();
    assert!(
        eventually(WAIT, || vmacs_of(&lan.b, &lan.b_if) == expected),
        "keepalived made {:?}\n{}",
        vmacs_of(&lan.b, &lan.b_if),
        b.log()
    );
    assert!(
        eventually(WAIT, || vmacs_of(&lan.a, &lan.a_if) == expected),
        "lvstop made {:?}, keepalived {expected:?}\n{}",
        vmacs_of(&lan.a, &lan.a_if),
        a.log()
    );
    a.stop();
    assert_eq!(vmacs_of(&lan.a, &lan.a_if), Vec::new());
}

#[test]
fn a_sigterm_while_the_daemon_starts_still_removes_its_vmac() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "a_sigterm_while_the_daemon_starts_still_removes_its_vmac",
    ) else {
        return;
    };
    let lan = Lan::new();
    let conf = vrrp_config(&lan.a_if, 150, 2, "1", "  use_vmac");
    let before = sysctl(&lan.a, &format!("net.ipv4.conf.{}.arp_ignore", lan.a_if));
    // The VMAC is made early in the start, before the control socket: a
    // stop asked the moment it appears lands in the middle of the start.
    let mut a = Director::lvstop(&lan.a, &conf);
    let deadline = std::time::Instant::now() + WAIT;
    while vmac_link(&lan.a).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(has_vmac(&lan.a), "lvstop never made {VMAC}\n{}", a.log());
    a.stop();
    assert!(
        vmac_link(&lan.a).is_empty(),
        "{VMAC} left after a stop during the start: {}\n{}",
        vmac_link(&lan.a),
        a.log()
    );
    assert_eq!(
        sysctl(&lan.a, &format!("net.ipv4.conf.{}.arp_ignore", lan.a_if)),
        before
    );
}
