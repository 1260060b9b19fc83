//! One test per rule, with the locations the operator would see.

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::parse::{parse, ParseOptions};
use crate::config::tree::build_str;

fn check(text: &str) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let nodes = build_str(text, &mut diags);
    let config = parse(&nodes, ParseOptions::default(), &mut diags);
    let mut out = Diagnostics::new();
    super::validate(&config, &mut out);
    out
}

fn codes(diags: &Diagnostics) -> Vec<(&'static str, u32)> {
    diags
        .iter()
        .map(|d: &Diagnostic| (d.code, d.location.map_or(0, |l| l.line)))
        .collect()
}

const TCP: &str = " protocol TCP\n";

#[test]
fn clean_configuration_has_nothing_to_say() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP} lvs_method DR\n quorum 2\n real_server 10.0.0.2 80 {{\n  weight 2\n }}\n}}\n"
    ));
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn duplicate_virtual_servers() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP}}}\nvirtual_server 10.0.0.1 80 {{\n{TCP}}}\nvirtual_server 10.0.0.1 80 {{\n protocol UDP\n}}\nvirtual_server fwmark 3 {{\n}}\nvirtual_server fwmark 3 {{\n}}\n"
    ));
    assert_eq!(
        codes(&d),
        [
            ("duplicate-virtual-server", 4),
            ("duplicate-virtual-server", 12)
        ]
    );
    assert!(d.iter().next().unwrap().message.contains("first at line 1"));
}

#[test]
fn duplicate_real_servers_compare_effective_ports() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP} real_server 10.0.0.2 80 {{\n }}\n real_server 10.0.0.2 {{\n }}\n real_server 10.0.0.3 80 {{\n }}\n}}\n"
    ));
    assert_eq!(
        codes(&d),
        [
            ("duplicate-real-server", 5),
            ("real-server-port-missing", 5)
        ]
    );
}

#[test]
fn dr_and_tun_keep_the_virtual_server_port() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP} lvs_method DR\n real_server 10.0.0.2 8080 {{\n }}\n real_server 10.0.0.3 8080 {{\n  lvs_method NAT\n }}\n}}\n"
    ));
    assert_eq!(codes(&d), [("real-server-port-mismatch", 4)]);
    let first = d.iter().next().unwrap();
    assert_eq!(
        first.help.as_deref(),
        Some("use port 80 or the NAT method (lvs_method NAT)")
    );
}

#[test]
fn fwmark_services_have_no_ports_or_protocol() {
    let d = check(
        "virtual_server fwmark 1 {\n protocol TCP\n sorry_server 10.0.0.9 80\n real_server 10.0.0.2 80 {\n }\n}\n",
    );
    assert_eq!(
        codes(&d),
        [
            ("fwmark-protocol", 2),
            ("fwmark-real-server-port", 4),
            ("fwmark-real-server-port", 3)
        ]
    );
}

#[test]
fn zero_port_needs_persistence() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 {{\n{TCP}}}\nvirtual_server 10.0.0.2 0 {{\n{TCP} persistence_timeout 30\n}}\n"
    ));
    assert_eq!(codes(&d), [("zero-port-not-persistent", 1)]);
}

#[test]
fn scheduler_names_and_flags() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP} lvs_sched wrrr\n}}\n\
         virtual_server 10.0.0.2 80 {{\n{TCP} lvs_sched sh\n sh-port\n flag-1\n lvs_sched wrr\n}}\n\
         virtual_server 10.0.0.3 80 {{\n{TCP} lvs_sched mh\n sh-fallback\n mh-port\n}}\n"
    ));
    assert_eq!(
        codes(&d),
        [
            ("unknown-scheduler", 3),
            ("sched-flag-scheduler", 8),
            ("sched-flag-scheduler", 15)
        ]
    );
    let messages: Vec<_> = d
        .iter()
        .map(|d| d.help.clone().unwrap_or_default())
        .collect();
    assert!(messages[1].contains("lvs_sched sh"), "{messages:?}");
    assert_eq!(messages[2], "write 'mh-fallback'");
}

#[test]
fn undefined_and_duplicate_groups() {
    let d = check(&format!(
        "virtual_server_group WEB {{\n 10.0.0.1 80\n 10.0.0.1 80\n}}\nvirtual_server_group WEB {{\n}}\nvirtual_server group WBE {{\n{TCP}}}\n"
    ));
    assert_eq!(
        codes(&d),
        [
            ("duplicate-group-member", 3),
            ("duplicate-group", 5),
            ("undefined-group", 7)
        ]
    );
    assert_eq!(
        d.iter().nth(2).unwrap().help.as_deref(),
        Some("did you mean 'WEB'?")
    );
}

#[test]
fn address_families_must_match_unless_tunnelled() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP} sorry_server 2001:db8::9 80\n real_server 2001:db8::2 80 {{\n }}\n real_server 2001:db8::3 80 {{\n  lvs_method TUN\n }}\n}}\n\
         virtual_server_group G6 {{\n 2001:db8::1 80\n}}\nvirtual_server group G6 {{\n{TCP} real_server 10.0.0.2 80 {{\n }}\n}}\n"
    ));
    assert_eq!(
        codes(&d),
        [
            ("address-family-mismatch", 4),
            ("address-family-mismatch", 3),
            ("address-family-mismatch", 15)
        ]
    );
}

#[test]
fn quorum_hysteresis_and_thresholds() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP} quorum 5\n hysteresis 5\n real_server 10.0.0.2 80 {{\n  weight 2\n  uthreshold 10\n  lthreshold 20\n }}\n real_server 10.0.0.3 80 {{\n }}\n}}\n"
    ));
    assert_eq!(
        codes(&d),
        [
            ("hysteresis-not-below-quorum", 4),
            ("threshold-order", 8),
            ("quorum-unreachable", 3)
        ]
    );
    assert!(d.iter().last().unwrap().message.contains("total weight 3"));
}

#[test]
fn protocol_unset_and_ops_without_udp() {
    let d = check("virtual_server 10.0.0.1 80 {\n ops\n}\nvirtual_server 10.0.0.2 80 {\n protocol TCP\n ops\n}\n");
    // Unset protocol means UDP in keepalived 2.2.7, so the first 'ops' holds.
    assert_eq!(codes(&d), [("protocol-unset", 1), ("ops-needs-udp", 6)]);
    let first = d.iter().next().unwrap();
    assert!(first.message.contains("keepalived 2.2.7 then uses UDP"));
    assert_eq!(
        first.help.as_deref(),
        Some("add 'protocol TCP' (or UDP/SCTP) to the block")
    );
}

#[test]
fn checkers_keepalived_would_drop() {
    let d = check(&format!(
        "virtual_server 10.0.0.1 80 {{\n{TCP} real_server 10.0.0.2 80 {{\n  HTTP_GET {{\n  }}\n  SSL_GET {{\n   url {{\n    digest 9b3a0c85a887a256d6939da88aabd8cd\n   }}\n  }}\n  UDP_CHECK {{\n   min_reply_length 300\n  }}\n  FILE_CHECK {{\n  }}\n  MISC_CHECK {{\n  }}\n }}\n}}\n"
    ));
    assert_eq!(
        codes(&d),
        [
            ("checker-without-url", 4),
            ("url-without-path", 7),
            ("reply-length-order", 12),
            ("checker-incomplete", 14),
            ("checker-incomplete", 16)
        ]
    );
}

#[test]
fn mixed_family_groups_need_tunnels() {
    let d = check(&format!(
        "virtual_server_group G {{\n 10.0.0.1 80\n 2001:db8::1 80\n}}\n\
         virtual_server group G {{\n{TCP} real_server 10.0.0.3 80 {{\n }}\n}}\n\
         virtual_server group G {{\n protocol UDP\n lvs_method TUN\n real_server 10.0.0.3 80 {{\n }}\n}}\n"
    ));
    assert_eq!(codes(&d), [("group-family-mix", 5)]);
}
