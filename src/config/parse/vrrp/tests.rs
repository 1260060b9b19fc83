use std::time::Duration;

use crate::config::diagnostic::{Diagnostics, Severity};
use crate::config::model::vrrp::{AuthType, InitialState};
use crate::config::model::Config;
use crate::config::parse::{parse, ParseOptions};
use crate::config::render::render;
use crate::config::tree::build_str;

fn load(text: &str) -> (Config, Diagnostics) {
    let mut diagnostics = Diagnostics::new();
    let nodes = build_str(text, &mut diagnostics);
    let config = parse(&nodes, ParseOptions::default(), &mut diagnostics);
    (config, diagnostics)
}

/// Warning and error codes, leaving out "parsed, not acted on" (checked
/// by the tests about it).
fn codes(diagnostics: &Diagnostics) -> Vec<&'static str> {
    diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note && d.code != "not-acted-on")
        .map(|d| d.code)
        .collect()
}

const FIXTURE: &str = r#"
global_defs {
    router_id LVS_DEVEL
    notification_email {
        ops@example.com
    }
    notification_email_from lvs@example.com
    smtp_server 192.168.200.1 2525
    smtp_connect_timeout 30
    vrrp_garp_master_delay 3
    vrrp_version 3
    lvs_sync_daemon eth1 VI_1 id 5 port 8849
    lvs_timeouts tcp 900 udp 60
    vrrp_notify_fifo /run/k.fifo root
    enable_script_security
    script_user nobody nogroup
    vrrp_garp_interval 0.001
    vrrp_strict
    nftables kp
    dynamic_interfaces allow_if_changes
}
static_ipaddress {
    192.168.1.1/24 dev eth0 scope global
}
static_routes {
    192.168.2.0/24 via 192.168.1.100 dev eth0 track_group G1
    192.168.100.0/24 table 6909 nexthop via 192.168.101.1 dev wlan0 onlink weight 1
}
static_rules {
    from 192.168.2.0/24 table 1 preference 10
}
vrrp_script chk {
    script "/bin/check 'a b' c"
    interval 2
    weight -4 reverse
    rise 2
    fall 3
    user nobody
    init_fail
}
track_file tf {
    file /run/tf
    weight 2
    init_file 5 overwrite
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_script {
        chk weight 3 noreverse
    }
    notify_master "/bin/m a"
    notify_deleted
    smtp_alert
    global_tracking
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 0.5
    mcast_src_ip 192.168.1.1
    nopreempt
    preempt_delay 2.5
    no_accept
    use_vmac vrrp51
    garp_master_delay 10
    garp_master_refresh 60
    authentication {
        auth_type PASS
        auth_pass 123456789
    }
    virtual_ipaddress {
        192.168.200.16/24 brd 192.168.200.255 dev eth1 label eth1:1 no_track
        192.168.200.17 use_vmac
    }
    virtual_ipaddress_excluded {
        fe80::10/64 -nodad
    }
    virtual_routes {
        src 192.168.100.1 192.168.109.0/24 gw 192.168.200.254 dev eth1 metric 5
        blackhole 192.168.113.1/32
    }
    virtual_rules {
        to 192.168.2.0/24 table 1 priority 20 no_track
    }
    track_interface {
        eth1 weight -2
    }
    track_file {
        tf
    }
    notify "/bin/n" root
    smtp_alert off
    unicast_ttl 10
}
"#;

#[test]
fn fixture_parses_into_typed_values() {
    let (config, diagnostics) = load(FIXTURE);
    assert!(!diagnostics.has_errors(), "{diagnostics:?}");
    let global = &config.global;
    assert_eq!(
        global.router_id.as_ref().map(|r| r.as_str()),
        Some("LVS_DEVEL")
    );
    assert_eq!(
        global.smtp_server.as_ref().map(|s| s.effective_port()),
        Some(2525)
    );
    let sync = global
        .lvs_sync_daemon
        .as_ref()
        .map(|d| (d.instance.as_ref().map(|i| i.value.clone()), d.id, d.port));
    assert_eq!(sync, Some((Some("VI_1".into()), Some(5), Some(8849))));
    assert_eq!(global.lvs_timeouts.as_ref().and_then(|t| t.udp), Some(60));
    assert_eq!(
        global.vrrp_garp_interval.map(|t| t.value),
        Some(Duration::from_micros(1000))
    );
    assert_eq!(global.other.len(), 1);

    let vrrp = &config.vrrp;
    let script = &vrrp.scripts[0];
    assert_eq!(
        script.script.as_ref().map(|s| s.argv.clone()),
        Some(vec!["/bin/check".into(), "a b".into(), "c".into()])
    );
    assert_eq!(
        (
            script.effective_weight(),
            script.reverse,
            script.effective_fall()
        ),
        (-4, true, 3)
    );
    assert_eq!(
        vrrp.track_files[0]
            .init_file
            .as_ref()
            .map(|i| (i.value, i.overwrite)),
        Some((Some(5), true))
    );
    assert_eq!(vrrp.sync_groups[0].track_scripts[0].reverse, Some(false));
    assert_eq!(vrrp.sync_groups[0].notify.deleted, Some(None));

    let vi = &vrrp.instances[0];
    assert_eq!(vi.effective_state(), InitialState::Master);
    assert_eq!(vi.virtual_router_id.map(|v| v.value), Some(51));
    assert_eq!(
        vi.effective_version(global.vrrp_version.map(|v| v.value)),
        3
    );
    assert_eq!(vi.effective_advert_int(Some(3)), Duration::from_millis(500));
    assert_eq!(vi.effective_advert_int(Some(2)), Duration::from_secs(1));
    assert_eq!(
        vi.unicast_src_ip.map(|a| a.value.to_string()),
        Some("192.168.1.1".into())
    );
    assert_eq!(vi.accept.map(|a| a.value), Some(false));
    let auth = vi.authentication.as_ref();
    assert_eq!(
        auth.and_then(|a| a.auth_type).map(|t| t.value),
        Some(AuthType::Pass)
    );
    assert_eq!(
        auth.and_then(|a| a.auth_pass.as_ref())
            .map(|p| p.value.clone()),
        Some("12345678".into())
    );
    let vip = &vi.virtual_addresses[0];
    assert_eq!(
        (vip.prefix, vip.label.as_deref(), vip.no_track),
        (Some(24), Some("eth1:1"), true)
    );
    assert_eq!(vi.virtual_addresses[1].use_vmac, Some(None));
    let route = &vi.virtual_routes[0];
    assert_eq!(
        route.src.map(|a| a.to_string()),
        Some("192.168.100.1".into())
    );
    assert_eq!(
        route.via.map(|a| a.to_string()),
        Some("192.168.200.254".into())
    );
    assert_eq!(route.metric, Some(5));
    assert_eq!(
        vi.virtual_routes[1].route_type.as_deref(),
        Some("blackhole")
    );
    assert_eq!(vi.virtual_rules[0].preference, Some(20));
    assert_eq!(vrrp.static_routes[1].options[0], "nexthop");
    assert_eq!(vi.other.len(), 1);
}

#[test]
fn fixture_warns_where_keepalived_does() {
    let (_, diagnostics) = load(FIXTURE);
    let found = codes(&diagnostics);
    assert_eq!(found, ["auth-pass-truncated", "deprecated-keyword"]);
    let gw = diagnostics.iter().find(|d| d.code == "deprecated-keyword");
    assert_eq!(
        gw.and_then(|d| d.help.clone()).as_deref(),
        Some("write 'via' instead")
    );
}

#[test]
fn render_then_parse_gives_the_same_model() {
    let (config, _) = load(FIXTURE);
    let text = render(&config);
    let (again, diagnostics) = load(&text);
    assert!(!diagnostics.has_errors(), "{text}\n{diagnostics:?}");
    assert_eq!(config, again, "{text}");
}

#[test]
fn corpus_samples_round_trip() {
    let Some(samples) = crate::config::test_corpus::keepalived_samples("corpus_samples_round_trip")
    else {
        return;
    };
    for sample in samples {
        let (config, _) = load(&sample.text);
        let rendered = render(&config);
        let (again, _) = load(&rendered);
        assert_eq!(config.global, again.global, "{}", sample.name);
        assert_eq!(config.vrrp, again.vrrp, "{}\n{rendered}", sample.name);
    }
}

#[test]
fn out_of_range_values_are_errors_with_help() {
    let (_, diagnostics) =
        load("vrrp_instance A {\n    priority 256\n    virtual_router_id 0\n}\n");
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].location.map(|l| (l.line, l.column)),
        Some((2, 14))
    );
    assert!(errors[0].help.is_some());
}

#[test]
fn deprecated_and_alias_spellings_map_to_modern_fields() {
    let (config, diagnostics) = load(
        "vrrp_track_file f {\n file /x\n}\nvrrp_instance A {\n lvs_sync_daemon_interface eth1\n preempt\n accept\n}\n",
    );
    assert_eq!(config.vrrp.track_files.len(), 1);
    let vi = &config.vrrp.instances[0];
    assert_eq!(
        vi.lvs_sync_daemon_interface.as_ref().map(|i| i.as_str()),
        Some("eth1")
    );
    assert_eq!(vi.nopreempt.map(|p| p.value), Some(false));
    assert_eq!(vi.accept.map(|a| a.value), Some(true));
    assert_eq!(
        codes(&diagnostics),
        ["deprecated-keyword", "deprecated-keyword"]
    );
}

#[test]
fn invalid_rule_addresses_are_skipped_with_a_warning() {
    let (config, diagnostics) = load("static_rules {\n from 192.168.100./24 table 1\n}\n");
    assert!(config.vrrp.static_rules.is_empty());
    assert_eq!(codes(&diagnostics), ["invalid-address"]);
}

#[test]
fn rules_without_a_preference_get_keepalived_s_in_file_order() {
    let (config, diagnostics) = load(
        "vrrp_instance A {\n virtual_rules {\n  from 198.51.100.0/28 table 1\n }\n}\n\
         static_rules {\n from 198.51.100.16/28 table 2 preference 7\n to 198.51.100.32/28 table 3\n}\n",
    );
    let virtual_rule = &config.vrrp.instances[0].virtual_rules[0];
    assert_eq!(virtual_rule.preference, Some(16384));
    let statics: Vec<_> = config
        .vrrp
        .static_rules
        .iter()
        .map(|r| r.preference)
        .collect();
    assert_eq!(statics, [Some(7), Some(16383)]);
    assert_eq!(
        codes(&diagnostics),
        ["rule-no-preference", "rule-no-preference"]
    );
}

#[test]
fn inet6_before_a_route_destination_is_kept() {
    let (config, diagnostics) = load("static_routes {\n inet6 default dev lo\n}\n");
    let route = &config.vrrp.static_routes[0];
    assert_eq!(route.destination.value, "default");
    assert_eq!(route.options, ["inet6"]);
    assert!(codes(&diagnostics).is_empty(), "{:?}", codes(&diagnostics));
}

#[test]
fn route_and_rule_options_lvstop_does_not_pass_on_are_reported_once() {
    let (config, diagnostics) = load(
        "static_routes {\n 198.51.100.0/24 dev lo advmss lock 101 mtu 1400 tos 4\n \
         198.51.100.64/26 dev lo tos 8\n}\n\
         static_rules {\n from 198.51.100.0/24 table 1 preference 5 fwmark 3 tun_id 9\n}\n",
    );
    assert_eq!(
        config.vrrp.static_routes[0].options,
        ["advmss", "lock", "101", "mtu", "1400", "tos", "4"]
    );
    let unacted: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.code == "not-acted-on")
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(unacted.len(), 3, "{unacted:?}");
    assert!(unacted[0].contains("'advmss'"), "{unacted:?}");
    assert!(unacted[1].contains("'tos'"), "{unacted:?}");
    assert!(unacted[2].contains("'tun_id'"), "{unacted:?}");
}

#[test]
fn unacted_keywords_are_kept_and_warned_about_once() {
    let (config, diagnostics) = load("global_defs {\n vrrp_iptables\n vrrp_iptables x\n}\n");
    assert_eq!(config.global.other.len(), 2);
    let warnings: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.code == "not-acted-on")
        .collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].severity, Severity::Warning);
    assert_eq!(
        warnings[0].message,
        "parsed, not acted on: 'vrrp_iptables' (lvstop adds no nftables, iptables or ipset rules)"
    );
}

#[test]
fn vip_options_lvstop_ignores_are_warnings_at_the_option() {
    let (config, diagnostics) = load(
        "vrrp_instance A {\n virtual_ipaddress {\n  198.51.100.10/24 dev eth0 nodad home\n  198.51.100.11/24 -nodad\n }\n}\n",
    );
    assert_eq!(config.vrrp.instances[0].virtual_addresses.len(), 2);
    let found: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.code == "not-acted-on")
        .map(|d| (d.message.clone(), d.location.map(|l| (l.line, l.column))))
        .collect();
    // Once per spelling and load, at the first place it is used.
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[0].0.starts_with("parsed, not acted on: 'nodad' ("),
        "{found:?}"
    );
    assert_eq!(found[0].1, Some((3, 29)));
    assert!(
        found[1].0.starts_with("parsed, not acted on: 'home' ("),
        "{found:?}"
    );
    assert!(
        found[2].0.starts_with("parsed, not acted on: '-nodad' ("),
        "{found:?}"
    );
}

#[test]
fn ah_authentication_is_parsed_and_acted_on() {
    let (config, diagnostics) =
        load("vrrp_instance A {\n authentication {\n  auth_type AH\n  auth_pass secret\n }\n}\n");
    assert!(
        diagnostics.iter().all(|d| d.severity != Severity::Error),
        "{diagnostics:?}"
    );
    let auth = config.vrrp.instances[0].authentication.as_ref().unwrap();
    assert_eq!(auth.auth_type.map(|t| t.value), Some(AuthType::Ah));
}

#[test]
fn track_process_is_parsed_acted_on_and_rendered_back() {
    use crate::config::model::vrrp::ParamMatch;
    let text = r#"
vrrp_track_process web {
    process "/usr/sbin/haproxy" -f "/etc/h a.cfg"
    param_match initial
    weight -20 reverse
    quorum 2
    quorum_max 4
    delay 1.5
    terminate_delay 3
    full_command
}
vrrp_sync_group G {
    group {
        VI_1
    }
    track_process {
        web weight 0
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    track_process {
        web weight 10 noreverse
    }
}
"#;
    let (config, diagnostics) = load(text);
    assert!(
        !diagnostics.iter().any(|d| d.code == "not-acted-on"),
        "{diagnostics:?}"
    );
    // Debian's keepalived 2.2.7 does not know the block; lvstop says so.
    assert_eq!(
        codes(&diagnostics),
        ["deprecated-keyword", "unknown-to-keepalived"]
    );
    let tp = &config.vrrp.track_processes[0];
    assert_eq!(tp.name.value, "web");
    assert_eq!(
        tp.command(),
        Some((
            "/usr/sbin/haproxy",
            &["-f".to_string(), "/etc/h a.cfg".to_string()][..]
        ))
    );
    assert_eq!(tp.param_match.map(|m| m.value), Some(ParamMatch::Initial));
    assert_eq!((tp.effective_weight(), tp.reverse), (-20, true));
    assert_eq!((tp.effective_quorum(), tp.effective_quorum_max()), (2, 4));
    assert_eq!(tp.effective_fork_delay(), Duration::from_millis(1500));
    assert_eq!(tp.effective_terminate_delay(), Duration::from_secs(3));
    assert!(tp.full_command);
    let vi = &config.vrrp.instances[0];
    assert_eq!(vi.track_processes[0].weight.map(|w| w.value), Some(10));
    assert_eq!(vi.track_processes[0].reverse, Some(false));
    assert_eq!(config.vrrp.sync_groups[0].track_processes.len(), 1);

    let again = load(&render(&config)).0;
    assert_eq!(again.vrrp, config.vrrp);
}

#[test]
fn track_process_values_out_of_range_are_errors() {
    let text =
        "track_process t {\n process x\n weight 300\n param_match sometimes\n quorum -1\n}\n";
    let (_, diagnostics) = load(text);
    assert_eq!(
        codes(&diagnostics),
        [
            "unknown-to-keepalived",
            "value-range",
            "value-choice",
            "value-range"
        ]
    );
}
