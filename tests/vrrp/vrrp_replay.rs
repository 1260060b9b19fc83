//! Replay conformance: each folder under tests/fixtures/vrrp/replay/ feeds
//! recorded inputs to the VRRP state machine and compares every action
//! (adverts, VIP changes, notify scripts, keepalived log lines) with
//! `expected.jsonl`. Each case's test says in one line what goes in and
//! what must come out; `keepalived.conf` of the case says it at length.
//! `LVSTOP_BLESS=1 cargo test --test vrrp vrrp_replay` regenerates the
//! expected files; review the diff before committing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn case(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vrrp/replay")
        .join(name);
    if let Err(message) = lvstop::vrrp::replay::check_case(&dir) {
        panic!("{message}");
    }
}

#[test]
fn every_case_folder_has_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vrrp/replay");
    let source = include_str!("vrrp_replay.rs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            source.contains(&format!("case(\"{name}\")")),
            "replay case {name} has no test line"
        );
    }
}

/// BACKUP 100 hears a 150 master that falls silent after 1.5 s → MASTER at 5109.375 ms (3 × 1 s + 156/256 s later), VIP added, 5 GARPs.
#[test]
fn master_down_timer() {
    case("master_down_timer")
}
/// BACKUP 150 hears adverts of a 100 master → discards them, MASTER when Master_Down (3.4140625 s) runs out, answers the old master's next advert at once.
#[test]
fn preemption_higher_priority() {
    case("preemption_higher_priority")
}
/// `nopreempt` BACKUP 150 hears a 100 master every second → stays BACKUP and counts 9 adverts.
#[test]
fn nopreempt() {
    case("nopreempt")
}
/// `preempt_delay 5` BACKUP 150 hears a 100 master → accepts its adverts for 5 s, then discards them and becomes MASTER at 7414.0625 ms.
#[test]
fn preempt_delay() {
    case("preempt_delay")
}
/// BACKUP 100 hears the 150 master send priority 0 at 1.5 s → MASTER after the skew time only, at 2109.375 ms.
#[test]
fn priority_zero_received() {
    case("priority_zero_received")
}
/// MASTER 100 hears priority 200 → logs keepalived's line, goes BACKUP and removes its VIP.
#[test]
fn higher_priority_while_master() {
    case("higher_priority_while_master")
}
/// MASTER 100 hears priority 50 → answers at once with its own advert, sends GARPs again and stays MASTER.
#[test]
fn lower_priority_while_master() {
    case("lower_priority_while_master")
}
/// MASTER 198.51.100.1 hears equal priority from .0 and .2 → keeps MASTER against .0, yields to .2 (higher primary address).
#[test]
fn equal_priority_tie() {
    case("equal_priority_tie")
}
/// BACKUP with PASS `secret` hears a wrong password, no authentication, then the right one → drops and counts the first two, accepts the third.
#[test]
fn pass_auth_mismatch() {
    case("pass_auth_mismatch")
}
/// VRRPv2 BACKUP (1 s) hears adverts with a 2 s interval → logs the mismatch, drops them and becomes MASTER at 3.609375 s.
#[test]
fn advert_interval_mismatch() {
    case("advert_interval_mismatch")
}
/// VRRPv3 BACKUP hears a master advertising every 2 s → learns the interval, MASTER 7.21875 s after the last advert.
#[test]
fn v3_interval_learned() {
    case("v3_interval_learned")
}
/// BACKUP hears adverts with a wrong VIP count, a missing VIP, then the VIPs reordered → drops the first two, accepts the third.
#[test]
fn address_list_mismatch() {
    case("address_list_mismatch")
}
/// BACKUP hears multicast adverts with TTL 64 → logs and drops them, becomes MASTER as if it heard nothing.
#[test]
fn ttl_not_255() {
    case("ttl_not_255")
}
/// VRRPv3 BACKUP with `advert_int 0.1` hears nothing → MASTER at 360.937 ms, then an advert every 100 ms.
#[test]
fn v3_centiseconds() {
    case("v3_centiseconds")
}
/// Address owner (priority 255) starts → MASTER at once, VIP added and announced.
#[test]
fn owner_priority_255() {
    case("owner_priority_255")
}
/// MASTER with notify scripts shuts down → sends priority 0, removes its VIP, runs notify_stop and notify with keepalived's arguments.
#[test]
fn shutdown_sends_priority_zero() {
    case("shutdown_sends_priority_zero")
}
/// MASTER's interface goes down, then up → priority 0, VIP removed, FAULT; then BACKUP and MASTER again after Master_Down.
#[test]
fn interface_down_fault() {
    case("interface_down_fault")
}
/// `track_process` counts with fork/terminate delays → a loss faults the instance only after terminate_delay, a short return is ignored, a lasting one brings it back.
#[test]
fn track_process_delays() {
    case("track_process_delays")
}
/// `track_script` weight 60 succeeds, later fails → priority 100 → 160 preempts the 120 master; back to 100 on failure.
#[test]
fn track_script_weight() {
    case("track_script_weight")
}
/// Sync group VI_1 + VI_2, eth1 goes down then up → VI_2 and VI_1 both FAULT, both back together.
#[test]
fn sync_group_fault() {
    case("sync_group_fault")
}
/// Sync group of two MASTERs, VI_1 hears priority 200 → VI_1 goes BACKUP and VI_2 follows.
#[test]
fn sync_group_backup() {
    case("sync_group_backup")
}
/// MASTER gets a forced failover with a 10 s hold → priority 0, VIP released, BACKUP for 10 s with nobody else, then MASTER again.
#[test]
fn force_failover_hold() {
    case("force_failover_hold")
}
/// MASTER 100 set to 50 by the operator, peer 80 → peer takes over; back at 100 it discards the peer's adverts and becomes MASTER after Master_Down.
#[test]
fn operator_priority() {
    case("operator_priority")
}
/// Unicast BACKUP hears a stranger, then its peer with TTL 64 → drops the stranger, accepts the peer (no TTL rule for unicast), MASTER 3.609375 s after it.
#[test]
fn unicast_peers() {
    case("unicast_peers")
}
