//! Privileged tier: lvstop stands in a VRRP pair with the real keepalived
//! 2.2.7, in either role, on VRRPv2 and v3. The VIP ends on the master and
//! only there (checked repeatedly), the master's gratuitous ARPs are seen
//! on the wire by a third host, and when the master crashes the other
//! implementation takes the VIP and announces it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::{always, eventually, vip4, vrrp_config, Capture, Director, Lan};

const WAIT: Duration = Duration::from_secs(15);

fn interop(test: &str, keepalived_is_master: bool, version: u8, advert_int: &str) {
    let Some(_group) = support::privileged_test(module_path!(), test) else {
        return;
    };
    let lan = Lan::new();
    let capture = Capture::start(&lan.obs);
    let a_conf = vrrp_config(&lan.a_if, 150, version, advert_int, "");
    let b_conf = vrrp_config(&lan.b_if, 100, version, advert_int, "");
    // A is the master (priority 150), B the backup.
    let (mut a, b) = if keepalived_is_master {
        (
            Director::keepalived(&lan.a, &a_conf),
            Director::lvstop(&lan.b, &b_conf),
        )
    } else {
        (
            Director::lvstop(&lan.a, &a_conf),
            Director::keepalived(&lan.b, &b_conf),
        )
    };
    let logs = |a: &Director, b: &Director| format!("A:\n{}\nB:\n{}", a.log(), b.log());

    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never became the only master\n{}",
        logs(&a, &b)
    );
    // No dual master: the VIP stays on A alone.
    assert!(
        always(Duration::from_secs(3), || lan.vip() == (true, false)),
        "dual or no master\n{}",
        logs(&a, &b)
    );
    assert!(b.log().contains("Entering BACKUP STATE"), "{}", b.log());
    if keepalived_is_master {
        let b_vi = b.instance();
        assert_eq!(b_vi["state"], "BACKUP", "{b_vi}");
        assert_eq!(b_vi["master_address"], harness::A_ADDR, "{b_vi}");
        assert_eq!(b_vi["master_priority"], 150, "{b_vi}");
        assert!(
            b_vi["stats"]["advert_rcvd"].as_u64().unwrap() >= 2,
            "{b_vi}"
        );
    }
    let a_mac = Lan::mac(&lan.a, &lan.a_if);
    assert!(
        eventually(WAIT, || capture
            .garps(vip4())
            .iter()
            .any(|(_, mac)| *mac == a_mac)),
        "no gratuitous ARP from A on the wire\n{}",
        a.log()
    );

    // The master crashes; the other implementation takes over and
    // announces the VIP from its own MAC.
    a.crash();
    assert!(
        eventually(WAIT, || lan.vip().1),
        "B never took the VIP\n{}",
        b.log()
    );
    let b_mac = Lan::mac(&lan.b, &lan.b_if);
    assert!(
        eventually(WAIT, || capture
            .garps(vip4())
            .iter()
            .any(|(_, mac)| *mac == b_mac)),
        "no gratuitous ARP from B on the wire\n{}",
        b.log()
    );
}

#[test]
fn keepalived_master_lvstop_backup_vrrpv2() {
    interop("keepalived_master_lvstop_backup_vrrpv2", true, 2, "1");
}

#[test]
fn keepalived_master_lvstop_backup_vrrpv3() {
    interop("keepalived_master_lvstop_backup_vrrpv3", true, 3, "0.1");
}

#[test]
fn lvstop_master_keepalived_backup_vrrpv2() {
    interop("lvstop_master_keepalived_backup_vrrpv2", false, 2, "1");
}

#[test]
fn lvstop_master_keepalived_backup_vrrpv3() {
    interop("lvstop_master_keepalived_backup_vrrpv3", false, 3, "0.1");
}
