//! Privileged tier: `track_process` in a running `lvstop daemon`. Two
//! lvstop directors form a VRRP pair; the master tracks real processes
//! the test starts (a `sleep` with an argument no other process has).
//! Killing them fails the VIP over to the backup; starting them again
//! (preempt is the default) brings it back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;
use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use harness::{eventually, vrrp_config, Director, Lan};

/// Generous: the directors react within a scan (0.25 s) and an advert or
/// two, but the machine may be busy.
const WAIT: Duration = Duration::from_secs(20);

/// A `sleep` the test owns, killed on drop even when an assertion fails.
struct Tracked(Child);

impl Tracked {
    fn start(argument: &str) -> Self {
        let child = Command::new("sleep")
            .arg(argument)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Tracked(child)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A sleep argument unique to this test run: the process table is shared
/// by every namespace and every test.
fn unique_seconds(salt: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}{salt}.{nanos}", 100_000 + std::process::id())
}

fn track_process_block(argument: &str, extra: &str) -> String {
    format!("track_process sleeper {{\n  process sleep {argument}\n{extra}}}\n")
}

#[test]
fn killing_the_tracked_process_faults_the_master_and_restarting_it_brings_the_vip_back() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "killing_the_tracked_process_faults_the_master_and_restarting_it_brings_the_vip_back",
    ) else {
        return;
    };
    let argument = unique_seconds(1);
    let mut sleeper = Some(Tracked::start(&argument));
    let lan = Lan::new();
    let track = "  track_process {\n    sleeper weight 0\n  }";
    let a_conf = track_process_block(&argument, "  weight 0\n")
        + &vrrp_config(&lan.a_if, 150, 3, "0.1", track);
    let a = Director::lvstop(&lan.a, &a_conf);
    let b = Director::lvstop(&lan.b, &vrrp_config(&lan.b_if, 100, 3, "0.1", ""));
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );

    drop(sleeper.take());
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
    assert!(reasons.contains("track_process sleeper down"), "{reasons}");
    assert!(
        a.log().contains("Track_process(sleeper) down"),
        "{}",
        a.log()
    );

    let _sleeper = Tracked::start(&argument);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(a.instance()["state"], "MASTER");
    assert!(a.log().contains("Track_process(sleeper) up"), "{}", a.log());
}

#[test]
fn losing_the_process_quorum_lowers_priority_by_its_weight_and_the_backup_preempts() {
    let Some(_group) = support::privileged_test(
        module_path!(),
        "losing_the_process_quorum_lowers_priority_by_its_weight_and_the_backup_preempts",
    ) else {
        return;
    };
    let argument = unique_seconds(2);
    let first = Tracked::start(&argument);
    let mut second = Some(Tracked::start(&argument));
    let lan = Lan::new();
    let block = track_process_block(
        &argument,
        "  quorum 2\n  weight -60\n  terminate_delay 0.5\n",
    );
    let track = "  track_process {\n    sleeper\n  }";
    let a = Director::lvstop(
        &lan.a,
        &(block + &vrrp_config(&lan.a_if, 150, 3, "0.1", track)),
    );
    let b = Director::lvstop(&lan.b, &vrrp_config(&lan.b_if, 100, 3, "0.1", ""));
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(a.instance()["effective_priority"], 150);

    // One of two left: below quorum, 150 − 60 = 90 < 100, B preempts.
    drop(second.take());
    assert!(
        eventually(WAIT, || lan.vip() == (false, true)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    let a_vi = a.instance();
    assert_eq!(a_vi["effective_priority"], 90, "{a_vi}");
    assert_eq!(a_vi["state"], "BACKUP", "{a_vi}");

    // Two again: back to 150 and A takes the VIP back.
    let _again = Tracked::start(&argument);
    assert!(
        eventually(WAIT, || lan.vip() == (true, false)),
        "A:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(a.instance()["effective_priority"], 150);
    drop(first);
}
