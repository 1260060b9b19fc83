//! Privileged tier: two `lvstop daemon` directors on one bridged segment
//! move a VIP as an operator expects — the backup takes it when the master
//! crashes (SIGKILL) or stops (SIGTERM: priority 0, VIP released), the
//! master takes it back when it returns, on VRRPv2 and v3; with PASS
//! authentication the pair elects one master when passwords match, and
//! when they do not each side drops the other's adverts, counts them, and
//! holds the VIP itself. `lvstop ctl failover` moves the VIP by a hold
//! (priority 0) and by a priority change, the latter against a real
//! keepalived peer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::{always, eventually, vrrp_config, Director, Lan};

const WAIT: Duration = Duration::from_secs(15);

/// `lvstop ctl ARGS…` against a director's control socket.
fn ctl(director: &Director, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lvstop"))
        .args(["ctl", "--socket"])
        .arg(director.socket())
        .args(args)
        .output()
        .unwrap()
}

fn failover_cycle(test: &str, version: u8, advert_int: &str) {
    let Some(_group) = support::privileged_test(module_path!(), test) else {
        return;
    };
    let lan = Lan::new();
    let a_conf = vrrp_config(&lan.a_if, 150, version, advert_int, "");
    let b_conf = vrrp_config(&lan.b_if, 100, version, advert_int, "");
    let mut a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::lvstop(&lan.b, &b_conf);
    let logs = |a: &Director, b: &Director| format!("A:\n{}\nB:\n{}", a.log(), b.log());

    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never became the only master\n{}",
        logs(&a, &b)
    );
    assert!(
        a.log().contains("(VI_1) Entering MASTER STATE"),
        "{}",
        a.log()
    );
    assert!(
        always(Duration::from_secs(1), || lan.vip() == (true, false)),
        "{}",
        logs(&a, &b)
    );

    // Crash: the backup waits out Master_Down_Interval and takes the VIP.
    a.crash();
    assert!(
        eventually(WAIT, || lan.vip().1),
        "B never took the VIP after A's crash\n{}",
        b.log()
    );
    assert!(
        b.log().contains("(VI_1) Entering MASTER STATE"),
        "{}",
        b.log()
    );

    // The master returns with its higher priority and preempts.
    let mut a = Director::lvstop(&lan.a, &a_conf);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never took the VIP back\n{}",
        logs(&a, &b)
    );
    assert!(
        b.log().contains("(VI_1) Entering BACKUP STATE"),
        "{}",
        b.log()
    );

    // Clean stop: priority 0, VIP released, the backup takes over after
    // the skew alone.
    a.stop();
    assert!(!Lan::has(&lan.a, harness::VIP), "SIGTERM left the VIP on A");
    assert!(
        eventually(WAIT, || lan.vip().1),
        "B never took the VIP after A stopped\n{}",
        b.log()
    );
    let stats = &b.instance()["stats"];
    assert!(stats["pri_zero_rcvd"].as_u64().unwrap() >= 1, "{stats}");
    drop(b);
}

#[test]
fn vrrpv2_crash_clean_stop_and_preemption_move_the_vip() {
    failover_cycle(
        "vrrpv2_crash_clean_stop_and_preemption_move_the_vip",
        2,
        "1",
    );
}

#[test]
fn vrrpv3_crash_clean_stop_and_preemption_move_the_vip() {
    failover_cycle(
        "vrrpv3_crash_clean_stop_and_preemption_move_the_vip",
        3,
        "0.1",
    );
}

const AUTH: &str = "  authentication {\n    auth_type PASS\n    auth_pass PASSWORD\n  }";

#[test]
fn matching_pass_authentication_elects_one_master() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "matching_pass_authentication_elects_one_master",
    ) else {
        return;
    };
    let lan = Lan::new();
    let auth = AUTH.replace("PASSWORD", "s3cret");
    let a = Director::lvstop(&lan.a, &vrrp_config(&lan.a_if, 150, 2, "1", &auth));
    let b = Director::lvstop(&lan.b, &vrrp_config(&lan.b_if, 100, 2, "1", &auth));
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert!(
        always(Duration::from_secs(3), || lan.vip() == (true, false)),
        "B:\n{}",
        b.log()
    );
    let b_vi = b.instance();
    assert_eq!(b_vi["state"], "BACKUP");
    assert_eq!(b_vi["master_address"], harness::A_ADDR);
    assert_eq!(b_vi["stats"]["auth_failure"], 0);
    assert!(
        b_vi["stats"]["advert_rcvd"].as_u64().unwrap() >= 2,
        "{b_vi}"
    );
    // --once prints the section after the table; --ipvs-only does not.
    let text = b.once_text(&["-n"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("VI_1 "))
        .unwrap_or_else(|| panic!("{text}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words,
        ["VI_1", "BACKUP", "100/100", harness::A_ADDR, harness::VIP]
    );
    assert!(!b.once_text(&["-n", "--ipvs-only"]).contains("VI_1"));
}

#[test]
fn mismatched_pass_authentication_drops_and_counts_adverts_and_both_hold_the_vip() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "mismatched_pass_authentication_drops_and_counts_adverts_and_both_hold_the_vip",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a_auth = AUTH.replace("PASSWORD", "alpha");
    let b_auth = AUTH.replace("PASSWORD", "bravo");
    let a = Director::lvstop(&lan.a, &vrrp_config(&lan.a_if, 150, 2, "1", &a_auth));
    let b = Director::lvstop(&lan.b, &vrrp_config(&lan.b_if, 100, 2, "1", &b_auth));
    assert!(
        eventually(WAIT, || lan.vip() == (true, true)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert!(
        eventually(WAIT, || {
            let a_vi = a.instance();
            let b_vi = b.instance();
            a_vi["state"] == "MASTER"
                && b_vi["state"] == "MASTER"
                && a_vi["stats"]["auth_failure"].as_u64().unwrap() >= 1
                && b_vi["stats"]["auth_failure"].as_u64().unwrap() >= 1
        }),
        "A: {}\nB: {}",
        a.instance(),
        b.instance()
    );
}

/// `lvstop ctl failover VI_1 --hold S` on the master: it sends priority
/// 0 and steps down, the backup takes the VIP, and after the hold the
/// master's higher priority takes it back.
#[test]
fn ctl_failover_hands_the_vip_over_and_takes_it_back_after_the_hold() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "ctl_failover_hands_the_vip_over_and_takes_it_back_after_the_hold",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a = Director::lvstop(&lan.a, &vrrp_config(&lan.a_if, 150, 2, "1", ""));
    let b = Director::lvstop(&lan.b, &vrrp_config(&lan.b_if, 100, 2, "1", ""));
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never became the only master\n{}",
        a.log()
    );
    let output = ctl(&a, &["failover", "VI_1", "--hold", "4"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("VI_1 steps down"));
    assert!(
        eventually(WAIT, || lan.vip() == (false, true)),
        "B never took the VIP after the forced failover\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A never took the VIP back after the hold\n{}",
        a.log()
    );
    let unknown = ctl(&a, &["failover", "VI_9"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("'VI_9'"));
}

/// `lvstop ctl failover VI_1 --priority 50` on an lvstop master (150)
/// with a real keepalived backup (100, preempting): lvstop advertises 50
/// at once, keepalived preempts and takes the VIP; the snapshot shows the
/// operator's priority; `--priority configured` brings 150 back and
/// lvstop preempts in turn. Out-of-range priorities are refused.
#[test]
fn ctl_failover_by_priority_hands_the_vip_to_keepalived_and_back() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "ctl_failover_by_priority_hands_the_vip_to_keepalived_and_back",
    ) else {
        return;
    };
    let lan = Lan::new();
    let a = Director::lvstop(&lan.a, &vrrp_config(&lan.a_if, 150, 2, "1", ""));
    let b = Director::keepalived(&lan.b, &vrrp_config(&lan.b_if, 100, 2, "1", ""));
    let logs =
        |a: &Director, b: &Director| format!("lvstop:\n{}\nkeepalived:\n{}", a.log(), b.log());
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "lvstop never became the only master\n{}",
        logs(&a, &b)
    );

    let lowered = ctl(&a, &["failover", "VI_1", "--priority", "50"]);
    assert!(
        lowered.status.success(),
        "{}",
        String::from_utf8_lossy(&lowered.stderr)
    );
    assert!(String::from_utf8_lossy(&lowered.stdout).contains("priority 50"));
    assert!(
        eventually(WAIT, || lan.vip() == (false, true)),
        "keepalived never preempted the lowered master\n{}",
        logs(&a, &b)
    );
    let instance = a.instance();
    assert_eq!(instance["state"], "BACKUP", "{instance}");
    assert_eq!(instance["operator_priority"], 50, "{instance}");
    assert_eq!(instance["effective_priority"], 50, "{instance}");
    assert!(
        always(Duration::from_secs(3), || lan.vip() == (false, true)),
        "the VIP moved back while the operator's priority held\n{}",
        logs(&a, &b)
    );

    let restored = ctl(&a, &["failover", "VI_1", "--priority", "configured"]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "lvstop never preempted back at its configured priority\n{}",
        logs(&a, &b)
    );
    let instance = a.instance();
    assert!(instance.get("operator_priority").is_none(), "{instance}");
    assert_eq!(instance["effective_priority"], 150, "{instance}");

    for bad in ["0", "255", "high"] {
        let refused = ctl(&a, &["failover", "VI_1", "--priority", bad]);
        assert_eq!(refused.status.code(), Some(2), "--priority {bad}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("not a VRRP priority"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    let both = ctl(&a, &["failover", "VI_1", "--priority", "60", "--hold", "5"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        always(Duration::from_secs(2), || lan.vip() == (true, false)),
        "a refused command moved the VIP\n{}",
        logs(&a, &b)
    );
}
