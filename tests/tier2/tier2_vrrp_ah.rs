//! Privileged tier: `auth_type AH` between lvstop and the real keepalived
//! 2.2.7. With one password the pair elects one master and the VIP moves
//! both ways (lvstop to keepalived on a clean stop, back on preemption;
//! keepalived to lvstop on a crash); with different passwords each side
//! drops the other's adverts, both become MASTER, and lvstop counts and
//! logs the failed ICV.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::{always, eventually, vrrp_config, Director, Lan};

const WAIT: Duration = Duration::from_secs(15);

fn ah(interface: &str, priority: u8, password: &str) -> String {
    let auth = format!("  authentication {{\n    auth_type AH\n    auth_pass {password}\n  }}");
    vrrp_config(interface, priority, 2, "1", &auth)
}

fn logs(a: &Director, b: &Director) -> String {
    format!("A:\n{}\nB:\n{}", a.log(), b.log())
}

/// Neither side ever dropped the other's adverts.
fn no_ah_errors(a: &Director, b: &Director) {
    for log in [a.log(), b.log()] {
        assert!(!log.contains("IPSEC-AH"), "{}", logs(a, b));
    }
}

fn stat(director: &Director, name: &str) -> u64 {
    director.instance()["stats"][name].as_u64().unwrap()
}

#[test]
fn lvstop_master_hands_over_to_keepalived_and_takes_back_with_ah() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "lvstop_master_hands_over_to_keepalived_and_takes_back_with_ah",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a_conf = ah(&lan.a_if, 150, "secret12");
    let mut a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::keepalived(&lan.b, &ah(&lan.b_if, 100, "secret12"));

    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "lvstop never became the only master\n{}",
        logs(&a, &b)
    );
    assert!(
        always(Duration::from_secs(4), || lan.vip() == (true, false)),
        "dual or no master: keepalived does not accept lvstop's AH adverts\n{}",
        logs(&a, &b)
    );
    assert!(b.log().contains("Entering BACKUP STATE"), "{}", b.log());
    assert!(stat(&a, "advert_sent") >= 3, "{}", a.instance());
    no_ah_errors(&a, &b);

    // A clean stop: lvstop sends priority 0 and keepalived takes over.
    a.stop();
    assert!(
        eventually(WAIT, || lan.vip() == (false, true)),
        "keepalived never took the VIP\n{}",
        logs(&a, &b)
    );
    assert!(b.log().contains("Entering MASTER STATE"), "{}", b.log());

    // lvstop comes back with the higher priority, learns keepalived's
    // sequence number and preempts.
    drop(a);
    let a = Director::lvstop(&lan.a, &a_conf);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "lvstop never took the VIP back\n{}",
        logs(&a, &b)
    );
    assert!(
        always(Duration::from_secs(3), || lan.vip() == (true, false)),
        "dual or no master after the takeover\n{}",
        logs(&a, &b)
    );
    assert!(stat(&a, "advert_rcvd") >= 1, "{}", a.instance());
    assert_eq!(stat(&a, "auth_failure"), 0, "{}", a.instance());
    no_ah_errors(&a, &b);
}

#[test]
fn keepalived_master_hands_over_to_lvstop_with_ah() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "keepalived_master_hands_over_to_lvstop_with_ah",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a_conf = ah(&lan.a_if, 150, "secret12");
    let mut a = Director::keepalived(&lan.a, &a_conf);
    let b = Director::lvstop(&lan.b, &ah(&lan.b_if, 100, "secret12"));

    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "keepalived never became the only master\n{}",
        logs(&a, &b)
    );
    assert!(
        always(Duration::from_secs(3), || lan.vip() == (true, false)),
        "dual or no master: lvstop does not accept keepalived's AH adverts\n{}",
        logs(&a, &b)
    );
    let b_vi = b.instance();
    assert_eq!(b_vi["state"], "BACKUP", "{b_vi}");
    assert_eq!(b_vi["master_address"], harness::A_ADDR, "{b_vi}");
    assert!(
        b_vi["stats"]["advert_rcvd"].as_u64().unwrap() >= 2,
        "{b_vi}"
    );
    assert_eq!(b_vi["stats"]["auth_failure"], 0, "{b_vi}");

    // keepalived crashes (leaving its VIP behind); lvstop takes the VIP.
    a.crash();
    assert!(
        eventually(WAIT, || lan.vip().1),
        "lvstop never took the VIP\n{}",
        b.log()
    );

    // keepalived restarts with the higher priority and takes it back:
    // it accepts lvstop's adverts, and lvstop accepts its preempting ones.
    // The old guard goes first: it kills every process of the namespace.
    drop(a);
    let a = Director::keepalived(&lan.a, &a_conf);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "keepalived never took the VIP back\n{}",
        logs(&a, &b)
    );
    assert!(
        always(Duration::from_secs(3), || lan.vip() == (true, false)),
        "dual or no master after the takeover\n{}",
        logs(&a, &b)
    );
    assert_eq!(b.instance()["state"], "BACKUP");
    no_ah_errors(&a, &b);
}

#[test]
fn different_ah_passwords_make_both_master_and_lvstop_counts_the_failures() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "different_ah_passwords_make_both_master_and_lvstop_counts_the_failures",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a = Director::lvstop(&lan.a, &ah(&lan.a_if, 150, "secret12"));
    let b = Director::keepalived(&lan.b, &ah(&lan.b_if, 100, "other999"));

    assert!(
        eventually(WAIT, || lan.vip() == (true, true)),
        "the adverts were not rejected: not both MASTER\n{}",
        logs(&a, &b)
    );
    assert!(
        // keepalived's master sends only when a whole interval passed
        // without any packet, so lvstop's adverts (dropped, but received)
        // hold most of its adverts back: one is enough.
        eventually(WAIT, || stat(&a, "auth_failure") >= 1),
        "lvstop did not count keepalived's adverts as auth failures\n{}\n{}",
        a.instance(),
        logs(&a, &b)
    );
    let icv = "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !";
    assert!(
        eventually(WAIT, || a.log().contains(icv) && b.log().contains(icv)),
        "{}",
        logs(&a, &b)
    );
    assert_eq!(a.instance()["state"], "MASTER");
}
