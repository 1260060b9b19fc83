//! Privileged tier: tracking in a running `lvstop daemon`. A tracked
//! interface going down puts the instance in FAULT and releases the VIP to
//! the backup; link up brings it back. A `vrrp_script` whose exit status
//! flips lowers the effective priority by its weight, which lets the
//! backup preempt, and raises it again, which takes the VIP back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::{eventually, vrrp_config, Director, Lan};

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn tracked_interface_down_faults_the_master_and_up_brings_it_back() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "tracked_interface_down_faults_the_master_and_up_brings_it_back",
    ) else {
        return;
    };
    let lan = Lan::new();
    // A veth pair inside A (this kernel has no dummy driver).
    lan.a.exec(
        "ip",
        &[
            "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ],
    );
    lan.a.exec("ip", &["link", "set", "trk1", "up"]);
    lan.a.exec("ip", &["link", "set", "trk0", "up"]);
    let track = "  track_interface {\n    trk0\n  }";
    let a = Director::lvstop(&lan.a, &vrrp_config(&lan.a_if, 150, 3, "0.1", track));
    let b = Director::lvstop(&lan.b, &vrrp_config(&lan.b_if, 100, 3, "0.1", ""));
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );

    lan.a.exec("ip", &["link", "set", "trk0", "down"]);
    assert!(
        eventually(WAIT, || a.instance()["state"] == "FAULT"),
        "{}",
        a.log()
    );
    assert!(
        eventually(WAIT, || lan.vip() == (false, true)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let reasons = a.instance()["fault_reasons"].to_string();
    assert!(reasons.contains("trk0"), "{reasons}");

    lan.a.exec("ip", &["link", "set", "trk0", "up"]);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(a.instance()["state"], "MASTER");
}

#[test]
fn track_script_failure_lowers_priority_by_its_weight_and_the_backup_preempts() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "track_script_failure_lowers_priority_by_its_weight_and_the_backup_preempts",
    ) else {
        return;
    };
    let lan = Lan::new();
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("healthy");
    std::fs::write(&flag, "").unwrap();
    let script = format!(
        "vrrp_script chk {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  weight -60\n  rise 1\n  fall 1\n}}\n",
        flag.display()
    );
    let track = "  track_script {\n    chk\n  }";
    let a_conf = script + &vrrp_config(&lan.a_if, 150, 3, "0.1", track);
    let a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::lvstop(&lan.b, &vrrp_config(&lan.b_if, 100, 3, "0.1", ""));
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(a.instance()["effective_priority"], 150);

    // The check fails: 150 − 60 = 90 < 100, so B preempts.
    std::fs::remove_file(&flag).unwrap();
    assert!(
        eventually(WAIT, || lan.vip() == (false, true)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let a_vi = a.instance();
    assert_eq!(a_vi["effective_priority"], 90, "{a_vi}");
    assert_eq!(a_vi["state"], "BACKUP", "{a_vi}");
    assert!(a.log().contains("VRRP_Script(chk) failed"), "{}", a.log());

    // It succeeds again: back to 150, A takes the VIP back.
    std::fs::write(&flag, "").unwrap();
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(a.instance()["effective_priority"], 150);
    assert!(
        a.log().contains("VRRP_Script(chk) succeeded"),
        "{}",
        a.log()
    );
}
