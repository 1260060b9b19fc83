//! Privileged tier: two `lvstop daemon` directors on one bridged segment,
//! VI_1 and VI_2 MASTER on A. A SIGHUP after an edit of VI_2 alone
//! restarts VI_2 (B sees its priority-0 advert) while VI_1 records no
//! transition on either director and its VIP never leaves A. Real raw
//! sockets, one runner per instance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::process::Command;
use std::time::Duration;

use harness::{always, eventually, Director, Lan};

const WAIT: Duration = Duration::from_secs(15);
const VIP_1: &str = "198.51.100.101";
const VIP_2: &str = "198.51.100.102";

fn config(interface: &str, priority_1: u8, priority_2: u8) -> String {
    let instance = |name: &str, vrid: u8, priority: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface {interface}\n  virtual_router_id {vrid}\n  \
             priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n  router_id test\n  vrrp_version 3\n}}\n{}{}",
        instance("VI_1", 61, priority_1, VIP_1),
        instance("VI_2", 62, priority_2, VIP_2)
    )
}

fn instance(director: &Director, name: &str) -> serde_json::Value {
    let json = director.once_json();
    json["vrrp"]["instances"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["name"] == name).cloned())
        .unwrap_or_default()
}

/// `(since, transitions)`: what a flap would change.
fn history(director: &Director, name: &str) -> (u64, usize) {
    let vi = instance(director, name);
    (
        vi["since_unix_ms"].as_u64().unwrap_or_default(),
        vi["transitions"].as_array().map_or(0, Vec::len),
    )
}

#[test]
fn sighup_after_editing_one_instance_never_flaps_the_other() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "sighup_after_editing_one_instance_never_flaps_the_other",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a = Director::lvstop(&lan.a, &config(&lan.a_if, 150, 150));
    let b = Director::lvstop(&lan.b, &config(&lan.b_if, 100, 100));
    assert!(
        eventually(WAIT, || {
            Lan::has(&lan.a, VIP_1)
                && Lan::has(&lan.a, VIP_2)
                && instance(&b, "VI_1")["state"] == "BACKUP"
                && instance(&b, "VI_2")["state"] == "BACKUP"
        }),
        "A never became master of both\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let a_before = history(&a, "VI_1");
    let b_before = history(&b, "VI_1");

    // Only VI_2 changes; A reloads it.
    let conf = a.socket().with_file_name("keepalived.conf");
    std::fs::write(&conf, config(&lan.a_if, 150, 140)).unwrap();
    let listed = Command::new("ip")
        .args(["netns", "pids", &lan.a.name])
        .output()
        .unwrap();
    for pid in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-HUP", pid]).status();
    }

    assert!(
        eventually(WAIT, || {
            let vi = instance(&a, "VI_2");
            vi["base_priority"] == 140 && vi["state"] == "MASTER"
        }),
        "VI_2 never came back as MASTER with priority 140\n{}",
        a.log()
    );
    let b_vi2 = instance(&b, "VI_2");
    assert!(
        b_vi2["stats"]["pri_zero_rcvd"].as_u64().unwrap_or(0) >= 1,
        "VI_2 did not restart: {b_vi2}"
    );
    assert!(
        always(Duration::from_secs(2), || Lan::has(&lan.a, VIP_1)
            && !Lan::has(&lan.b, VIP_1)),
        "VI_1's VIP moved"
    );
    assert_eq!(
        history(&a, "VI_1"),
        a_before,
        "A's VI_1 flapped\n{}",
        a.log()
    );
    assert_eq!(
        history(&b, "VI_1"),
        b_before,
        "B's VI_1 flapped\n{}",
        b.log()
    );
    assert!(
        a.log().contains("VRRP: instance VI_2 restarted"),
        "{}",
        a.log()
    );
}
