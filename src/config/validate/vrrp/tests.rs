use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::parse::{parse, ParseOptions};
use crate::config::tree::build_str;

fn check(text: &str) -> Vec<Diagnostic> {
    let mut diagnostics = Diagnostics::new();
    let nodes = build_str(text, &mut diagnostics);
    let config = parse(&nodes, ParseOptions::default(), &mut diagnostics);
    let mut found = Diagnostics::new();
    super::validate(&config, &mut found);
    found.into_vec()
}

fn codes(text: &str) -> Vec<&'static str> {
    check(text).iter().map(|d| d.code).collect()
}

const BASE: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 10\n virtual_ipaddress { 10.0.0.1 }\n}\n";

#[test]
fn a_complete_instance_is_clean() {
    assert!(codes(BASE).is_empty(), "{:?}", check(BASE));
}

#[test]
fn duplicate_vrid_on_one_interface_and_family() {
    let text = format!("{BASE}vrrp_instance B {{\n interface eth0\n virtual_router_id 10\n virtual_ipaddress {{ 10.0.0.2 }}\n}}\n");
    let found = check(&text);
    assert_eq!(found[0].code, "duplicate-vrid");
    assert_eq!(found[0].location.map(|l| (l.line, l.column)), Some((8, 20)));
}

#[test]
fn same_vrid_is_fine_for_the_other_family_or_unicast() {
    let text = format!("{BASE}vrrp_instance B {{\n interface eth0\n virtual_router_id 10\n virtual_ipaddress {{ fe80::2 }}\n}}\nvrrp_instance C {{\n interface eth0\n virtual_router_id 10\n virtual_ipaddress {{ 10.0.0.3 }}\n unicast_peer {{ 10.0.0.9 }}\n}}\n");
    assert!(codes(&text).is_empty(), "{:?}", check(&text));
}

#[test]
fn duplicate_names_and_missing_vrid_and_interface() {
    let text = format!("{BASE}vrrp_instance A {{\n virtual_ipaddress {{ 10.0.0.2 }}\n}}\n");
    let found = codes(&text);
    assert!(found.contains(&"duplicate-name"));
    assert!(found.contains(&"vrid-missing"));
    assert!(found.contains(&"interface-missing"));
}

#[test]
fn undefined_references_and_group_membership() {
    let text = format!(
        "{BASE}vrrp_sync_group G {{ group {{ A X }} }}\nvrrp_sync_group H {{ group {{ A }} track_script {{ s }} }}\n"
    );
    let found = codes(&text);
    assert_eq!(
        found,
        [
            "undefined-instance",
            "instance-in-two-groups",
            "undefined-reference"
        ]
    );
}

#[test]
fn script_without_command_and_track_file_reference() {
    let text = "vrrp_script s { interval 2 }\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n track_script { s }\n track_file { f }\n}\n";
    assert_eq!(codes(text), ["script-missing", "undefined-reference"]);
}

#[test]
fn family_mixing_and_peer_family() {
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n fe80::1\n }\n unicast_peer { fe80::5 }\n}\n";
    assert_eq!(codes(text), ["vip-family-mix", "peer-family-mismatch"]);
}

#[test]
fn owner_backup_and_nopreempt_master() {
    let text = "vrrp_instance A {\n state BACKUP\n priority 255\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\nvrrp_instance B {\n state MASTER\n nopreempt\n interface eth0\n virtual_router_id 2\n virtual_ipaddress { 10.0.0.2 }\n}\n";
    let found = check(text);
    assert_eq!(found[0].code, "owner-not-master");
    assert_eq!(found[1].code, "nopreempt-master");
    assert!(found[1]
        .help
        .as_deref()
        .is_some_and(|h| h.contains("BACKUP")));
}

const STRICT: &str = "global_defs {\n vrrp_strict\n}\n";

#[test]
fn strict_mode_corrections_are_reported_where_written() {
    let text = format!("{STRICT}vrrp_instance A {{\n state MASTER\n interface eth0\n virtual_router_id 10\n priority 100\n accept\n authentication {{\n  auth_type PASS\n  auth_pass x\n }}\n virtual_ipaddress {{ 10.0.0.1 }}\n}}\n");
    let found = check(&text);
    let at: Vec<_> = found
        .iter()
        .map(|d| (d.code, d.location.map(|l| (l.line, l.column))))
        .collect();
    assert!(
        at.contains(&("strict-master-not-owner", Some((5, 8)))),
        "{at:?}"
    );
    assert!(at.contains(&("strict-accept-v2", Some((9, 2)))), "{at:?}");
    assert!(
        at.contains(&("strict-authentication", Some((11, 13)))),
        "{at:?}"
    );
}

#[test]
fn strict_mode_accepts_the_owner_and_v3_accept() {
    let text = format!("{STRICT}vrrp_instance A {{\n state MASTER\n version 3\n interface eth0\n virtual_router_id 10\n priority 255\n accept\n virtual_ipaddress {{ 10.0.0.1 }}\n}}\n");
    assert!(codes(&text).is_empty(), "{:?}", check(&text));
}

#[test]
fn ah_authentication_with_state_master_is_flagged() {
    let text = "vrrp_instance A {\n state MASTER\n interface eth0\n virtual_router_id 10\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress { 10.0.0.1 }\n}\n";
    assert_eq!(codes(text), ["ah-master"]);
    let owner = text.replace(" state MASTER\n", " state MASTER\n priority 255\n");
    assert!(codes(&owner).is_empty(), "{:?}", check(&owner));
}

#[test]
fn ah_authentication_on_vrrpv3_or_ipv6_is_reported_as_ignored() {
    let v3 = "vrrp_instance A {\n version 3\n interface eth0\n virtual_router_id 10\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress { 10.0.0.1 }\n}\n";
    assert_eq!(codes(v3), ["ah-ignored"]);
    let v6 = "vrrp_instance A {\n interface eth0\n virtual_router_id 10\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress { 2001:db8::1 }\n}\n";
    assert_eq!(codes(v6), ["ah-ignored"]);
    let v2 = v3.replace(" version 3\n", "");
    assert!(codes(&v2).is_empty(), "{:?}", check(&v2));
}
