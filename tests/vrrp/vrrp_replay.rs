//! Replay conformance: each folder under tests/fixtures/vrrp/replay/ feeds
//! recorded inputs to the VRRP state machine and compares every action
//! (adverts, VIP changes, notify scripts, keepalived log lines) with
//! `expected.jsonl`. `LVSTOP_BLESS=1 cargo test --test vrrp vrrp_replay`
//! regenerates the expected files; review the diff before committing.

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

#[test]
fn master_down_timer() {
    case("master_down_timer")
}
#[test]
fn preemption_higher_priority() {
    case("preemption_higher_priority")
}
#[test]
fn nopreempt() {
    case("nopreempt")
}
#[test]
fn preempt_delay() {
    case("preempt_delay")
}
#[test]
fn priority_zero_received() {
    case("priority_zero_received")
}
#[test]
fn higher_priority_while_master() {
    case("higher_priority_while_master")
}
#[test]
fn lower_priority_while_master() {
    case("lower_priority_while_master")
}
#[test]
fn equal_priority_tie() {
    case("equal_priority_tie")
}
#[test]
fn pass_auth_mismatch() {
    case("pass_auth_mismatch")
}
#[test]
fn advert_interval_mismatch() {
    case("advert_interval_mismatch")
}
#[test]
fn v3_interval_learned() {
    case("v3_interval_learned")
}
#[test]
fn address_list_mismatch() {
    case("address_list_mismatch")
}
#[test]
fn ttl_not_255() {
    case("ttl_not_255")
}
#[test]
fn v3_centiseconds() {
    case("v3_centiseconds")
}
#[test]
fn owner_priority_255() {
    case("owner_priority_255")
}
#[test]
fn shutdown_sends_priority_zero() {
    case("shutdown_sends_priority_zero")
}
#[test]
fn interface_down_fault() {
    case("interface_down_fault")
}
#[test]
fn track_process_delays() {
    case("track_process_delays")
}

#[test]
fn track_script_weight() {
    case("track_script_weight")
}
#[test]
fn sync_group_fault() {
    case("sync_group_fault")
}
#[test]
fn sync_group_backup() {
    case("sync_group_backup")
}
#[test]
fn force_failover_hold() {
    case("force_failover_hold")
}
#[test]
fn operator_priority() {
    case("operator_priority")
}
#[test]
fn unicast_peers() {
    case("unicast_peers")
}
