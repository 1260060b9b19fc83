//! Parser tests for the LVS blocks: typed values, aliases, ranges, the
//! reference deployment's `nb_get_retry`, and render → parse round trips.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::config::model::lvs::*;
use crate::config::model::Config;
use crate::config::parse::{parse, ParseOptions};
use crate::config::tree::build_str;

pub(crate) fn load_with(text: &str, compat: bool) -> (Config, Diagnostics) {
    let mut diags = Diagnostics::new();
    let nodes = build_str(text, &mut diags);
    let config = parse(&nodes, ParseOptions { compat }, &mut diags);
    (config, diags)
}

pub(crate) fn load(text: &str) -> (Config, Diagnostics) {
    load_with(text, false)
}

pub(crate) fn with_code<'d>(diags: &'d Diagnostics, code: &str) -> Vec<&'d Diagnostic> {
    diags.iter().filter(|d| d.code == code).collect()
}

fn line_col(d: &Diagnostic) -> (u32, u32) {
    let at = d.location.expect("diagnostic has a location");
    (at.line, at.column)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The reference deployment's virtual server, as written there (indentation
/// and trailing spaces included).
pub(crate) const SEED: &str = "virtual_server 192.168.100.88 80 {  \n    delay_loop 6                    \n    lb_algo wrr                    \n    lb_kind DR                    \n    persistence_timeout 60          \n    protocol TCP                  \n    real_server 192.168.100.82 80 {  \n        weight 3                 \n        TCP_CHECK {  \n        connect_timeout 10         \n        nb_get_retry 3  \n        delay_before_retry 3  \n        connect_port 80  \n        }  \n    }  \n    real_server 192.168.100.83 80 {  \n        weight 3  \n        TCP_CHECK {  \n        connect_timeout 10  \n        nb_get_retry 3  \n        delay_before_retry 3  \n        connect_port 80  \n        }  \n     }  \n} \n";

#[test]
fn seed_nb_get_retry_in_tcp_check_is_ignored_like_keepalived() {
    let (config, diags) = load(SEED);
    let found = with_code(&diags, "nb-get-retry-ignored");
    assert_eq!(found.len(), 2, "{diags:?}");
    assert_eq!(line_col(found[0]), (11, 9));
    assert_eq!(line_col(found[1]), (20, 9));
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(
        found[0].message.contains("retry stays 1"),
        "{}",
        found[0].message
    );
    assert_eq!(
        found[0].help.as_deref(),
        Some("write 'retry 3' to retry failed checks")
    );
    let vs = &config.lvs.virtual_servers[0];
    for rs in &vs.real_servers {
        let checker = &rs.checkers[0];
        assert_eq!(checker.timing.retry, None);
        assert_eq!(checker.effective_timing(rs, vs).retry, 1);
    }
    assert!(!diags.has_errors(), "{diags:?}");
}

#[test]
fn a_checker_may_retry_0_times_but_a_virtual_server_not() {
    let text = |vs_retry: &str| {
        format!(
            "virtual_server 192.0.2.1 80 {{\n    protocol TCP\n{vs_retry}    real_server 192.0.2.2 80 {{\n        \
             MISC_CHECK {{\n            misc_path /bin/true\n            retry 0\n        }}\n    }}\n}}\n"
        )
    };
    let (config, diags) = load(&text(""));
    assert!(!diags.has_errors(), "{diags:?}");
    let vs = &config.lvs.virtual_servers[0];
    let rs = &vs.real_servers[0];
    assert_eq!(rs.checkers[0].effective_timing(rs, vs).retry, 0);
    let (_, diags) = load(&text("    retry 0\n"));
    assert!(diags.has_errors(), "virtual_server retry 0 must be refused");
}

#[test]
fn seed_nb_get_retry_maps_to_retry_in_compat_mode() {
    let (config, diags) = load_with(SEED, true);
    assert!(with_code(&diags, "nb-get-retry-ignored").is_empty());
    let found = with_code(&diags, "nb-get-retry-mapped");
    assert_eq!(found.len(), 2);
    assert_eq!(line_col(found[0]), (11, 9));
    assert_eq!(line_col(found[1]), (20, 9));
    assert!(found[0].message.contains("'retry 3'"));
    let vs = &config.lvs.virtual_servers[0];
    let rs = &vs.real_servers[1];
    assert_eq!(rs.checkers[0].effective_timing(rs, vs).retry, 3);
}

#[test]
fn seed_virtual_server_is_typed() {
    let (config, diags) = load(SEED);
    // lb_algo / lb_kind are silent aliases.
    assert!(with_code(&diags, "deprecated-keyword").is_empty());
    let vs = &config.lvs.virtual_servers[0];
    assert_eq!(
        vs.service.value,
        ServiceAddress::Address {
            ip: ip("192.168.100.88"),
            port: Some(80)
        }
    );
    assert_eq!(vs.effective_scheduler(), "wrr");
    assert_eq!(vs.effective_method(), ForwardMethod::Dr);
    assert_eq!(vs.persistence_timeout.map(|p| p.value), Some(60));
    assert_eq!(vs.effective_protocol(), Some(Protocol::Tcp));
    assert_eq!(
        vs.timing.delay_loop.map(|d| d.value),
        Some(Duration::from_secs(6))
    );
    let rs = &vs.real_servers[0];
    assert_eq!(rs.effective_weight(), 3);
    let checker = &rs.checkers[0];
    assert_eq!(checker.kind.value, CheckerKind::Tcp);
    assert_eq!(checker.effective_connect_port(rs, vs), 80);
    let timing = checker.effective_timing(rs, vs);
    assert_eq!(timing.connect_timeout, Duration::from_secs(10));
    assert_eq!(timing.delay_before_retry, Duration::from_secs(3));
    assert_eq!(timing.delay_loop, Duration::from_secs(6));
}

#[test]
fn virtual_server_forms_and_groups() {
    let (config, diags) = load(
        "virtual_server_group G {\n 10.0.0.1-10 80\n 10.0.2.8/29 80\n 10.0.3.1\n fwmark 7 inet6\n 2001:db8::1-ff 443\n}\n\
         virtual_server group G {\n protocol TCP\n}\n\
         virtual_server fwmark 5 {\n}\n\
         virtual_server 2001:db8::5 443 {\n protocol TCP\n}\n",
    );
    assert!(!diags.has_errors(), "{diags:?}");
    let group = &config.lvs.groups[0];
    assert_eq!(group.name.value, "G");
    assert_eq!(group.members.len(), 5);
    assert_eq!(
        group.members[3].value,
        GroupMember::Fwmark {
            mark: 7,
            family: Some(IpFamily::Inet6)
        }
    );
    assert_eq!(group.members[0].at.line, 2);
    let services: Vec<_> = config
        .lvs
        .virtual_servers
        .iter()
        .map(|v| v.service.value.clone())
        .collect();
    assert_eq!(
        services,
        [
            ServiceAddress::Group("G".into()),
            ServiceAddress::Fwmark(5),
            ServiceAddress::Address {
                ip: ip("2001:db8::5"),
                port: Some(443)
            }
        ]
    );
}

#[test]
fn bad_group_entries_are_errors() {
    let (_, diags) = load("virtual_server_group G {\n bogus 80\n 10.0.0.9-3 80\n}\n");
    let found = with_code(&diags, "value-address");
    assert_eq!(found.len(), 2);
    assert_eq!(line_col(found[0]), (2, 2));
    assert!(found[0].message.contains("'bogus'"));
}

#[test]
fn tunnel_options_are_typed_and_checked() {
    let (config, diags) = load(
        "virtual_server 10.0.0.1 80 {\n lvs_method TUN type gue port 5555 csum\n real_server 10.0.0.2 80 {\n  lvs_method TUN type gre nocsum\n }\n}\n",
    );
    assert!(!diags.has_errors(), "{diags:?}");
    let vs = &config.lvs.virtual_servers[0];
    assert_eq!(
        vs.effective_method(),
        ForwardMethod::Tun(Tunnel {
            kind: TunnelKind::Gue { port: 5555 },
            checksum: Some(TunnelChecksum::Csum)
        })
    );
    assert_eq!(
        vs.real_servers[0].effective_method(vs),
        ForwardMethod::Tun(Tunnel {
            kind: TunnelKind::Gre,
            checksum: Some(TunnelChecksum::NoCsum)
        })
    );
    let (_, diags) = load("virtual_server 10.0.0.1 80 {\n lvs_method TUN type gue\n}\n");
    assert_eq!(with_code(&diags, "tunnel-port").len(), 1);
    let (_, diags) = load("virtual_server 10.0.0.1 80 {\n lvs_method TUN type gre remcsum\n}\n");
    assert_eq!(with_code(&diags, "tunnel-checksum").len(), 1);
}

#[test]
fn value_ranges_quote_the_value_and_point_at_it() {
    let (_, diags) = load(
        "virtual_server 10.0.0.1 80 {\n quorum 0\n persistence_timeout 0\n delay_loop 0\n retry 0\n connect_timeout 5000\n real_server 10.0.0.2 80 {\n  weight 65536\n  TCP_CHECK {\n   connect_port 70000\n  }\n }\n}\n",
    );
    let found = with_code(&diags, "value-range");
    let at: Vec<_> = found.iter().map(|d| line_col(d)).collect();
    assert_eq!(
        at,
        [(2, 9), (3, 22), (4, 13), (5, 8), (6, 18), (8, 10), (10, 17)]
    );
    assert_eq!(found[0].message, "quorum '0' is out of range 1-4294967295");
    assert_eq!(found[5].message, "weight '65536' is out of range 0-65535");
    assert_eq!(
        found[6].help.as_deref(),
        Some("use a whole number between 1 and 65535")
    );
}

#[test]
fn unknown_keywords_suggest_close_ones() {
    let (_, diags) = load(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  wieght 2\n  MISC_CHECK {\n   connect_ip 10.0.0.3\n  }\n }\n}\n",
    );
    let found = with_code(&diags, "unknown-keyword");
    assert_eq!(found.len(), 2, "{diags:?}");
    assert_eq!(line_col(found[0]), (3, 3));
    assert_eq!(found[0].help.as_deref(), Some("did you mean 'weight'?"));
    // keepalived 2.2.7: MISC_CHECK has no connection options.
    assert_eq!(line_col(found[1]), (5, 4));
}

#[test]
fn http_checker_and_urls_are_typed() {
    let (config, diags) = load(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n virtualhost vs.example\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   http_protocol 1.0C\n   nb_get_retry 4\n   fast_recovery\n   url {\n    path /health check\n    digest 9b3a0c85a887a256d6939da88aabd8cd\n    status_code 200-299 404\n    regex \"^ok\"\n    regex_no_match\n    regex_options caseless multiline\n    regex_stack 1000 2000\n    regex_max_offset 100\n   }\n  }\n }\n}\n",
    );
    assert!(!diags.has_errors(), "{diags:?}");
    let deprecated = with_code(&diags, "deprecated-keyword");
    assert_eq!(deprecated.len(), 1);
    assert_eq!(line_col(deprecated[0]), (7, 4));
    let vs = &config.lvs.virtual_servers[0];
    let rs = &vs.real_servers[0];
    let checker = &rs.checkers[0];
    let CheckerKind::Http(http) = &checker.kind.value else {
        panic!("not HTTP_GET");
    };
    assert_eq!(checker.timing.retry.map(|r| r.value), Some(4));
    assert_eq!(
        http.http_protocol.map(|p| p.value),
        Some(HttpProtocol::V1_0Close)
    );
    assert_eq!(checker.effective_virtualhost(rs, vs), Some("vs.example"));
    let url = &http.urls[0];
    assert_eq!(
        url.path.as_ref().map(|p| p.value.as_str()),
        Some("/health check")
    );
    let codes: Vec<_> = url.status_codes.iter().map(|c| c.value).collect();
    assert_eq!(
        codes,
        [
            StatusRange {
                first: 200,
                last: 299
            },
            StatusRange {
                first: 404,
                last: 404
            }
        ]
    );
    assert_eq!(url.regex.as_ref().map(|r| r.value.as_str()), Some("^ok"));
    assert_eq!(url.regex_stack.map(|s| s.value), Some((1000, Some(2000))));
    assert_eq!(url.regex_options.len(), 2);
}

#[test]
fn bad_status_codes_and_digests_are_errors() {
    let (_, diags) = load(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /\n    status_code 99 600 300-200 204\n    digest xyz\n   }\n  }\n }\n}\n",
    );
    let found = with_code(&diags, "value-status-code");
    let at: Vec<_> = found.iter().map(|d| line_col(d)).collect();
    assert_eq!(at, [(6, 17), (6, 20), (6, 24)]);
    assert_eq!(with_code(&diags, "value-digest").len(), 1);
}

#[test]
fn other_checkers_are_typed() {
    let (config, diags) = load(
        "virtual_server 10.0.0.1 53 {\n protocol UDP\n real_server 10.0.0.2 53 {\n\
          MISC_CHECK {\n   misc_path \"/bin/check a 'b c'\"\n   misc_timeout 5\n   misc_dynamic\n   user nobody nogroup\n  }\n\
          SMTP_CHECK {\n   helo_name foo.example\n   host {\n    connect_ip 10.0.0.3\n    connect_port 587\n   }\n  }\n\
          DNS_CHECK {\n   type aaaa\n   name example.com\n  }\n\
          UDP_CHECK {\n   payload Ab12f 3 456\n   require_reply 12xx\n   min_reply_length 2\n  }\n\
          FILE_CHECK {\n   track_file tf\n   weight -5 reverse\n  }\n\
          BFD_CHECK {\n   name b1\n  }\n  PING_CHECK {\n  }\n }\n}\n",
    );
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == crate::config::diagnostic::Severity::Error)
        .map(|d| d.code)
        .collect();
    assert_eq!(errors, ["not-supported"], "{diags:?}");
    let rs = &config.lvs.virtual_servers[0].real_servers[0];
    let kinds: Vec<_> = rs.checkers.iter().map(|c| c.kind.value.keyword()).collect();
    assert_eq!(
        kinds,
        [
            "MISC_CHECK",
            "SMTP_CHECK",
            "DNS_CHECK",
            "UDP_CHECK",
            "FILE_CHECK",
            "BFD_CHECK",
            "PING_CHECK"
        ]
    );
    let CheckerKind::Misc(misc) = &rs.checkers[0].kind.value else {
        panic!()
    };
    assert_eq!(misc.path.as_ref().unwrap().argv, ["/bin/check", "a", "b c"]);
    assert_eq!(
        misc.group.as_ref().map(|g| g.value.as_str()),
        Some("nogroup")
    );
    let CheckerKind::Smtp(smtp) = &rs.checkers[1].kind.value else {
        panic!()
    };
    assert_eq!(smtp.hosts[0].value.connect_port.map(|p| p.value), Some(587));
    let CheckerKind::Dns(dns) = &rs.checkers[2].kind.value else {
        panic!()
    };
    assert_eq!(
        dns.query_type.as_ref().map(|t| t.value.as_str()),
        Some("AAAA")
    );
    let CheckerKind::Udp(udp) = &rs.checkers[3].kind.value else {
        panic!()
    };
    assert_eq!(
        udp.payload.as_ref().map(|p| p.value.as_str()),
        Some("Ab12f 3 456")
    );
    assert_eq!(
        udp.require_reply.as_ref().map(|r| r.value.clone()),
        Some(Some("12xx".into()))
    );
    let CheckerKind::File(file) = &rs.checkers[4].kind.value else {
        panic!()
    };
    assert_eq!(
        (file.weight.map(|w| w.value), file.reverse),
        (Some(-5), true)
    );
    // BFD_CHECK is kept in the model, but the configuration is refused:
    // a real server behind it would never come up.
    let bfd = diags
        .iter()
        .find(|d| d.code == "not-supported")
        .expect("BFD_CHECK refused");
    assert!(
        bfd.message.contains("does not implement BFD"),
        "{}",
        bfd.message
    );
    assert_eq!(line_col(bfd), (30, 1));
}

#[test]
fn udp_payload_takes_the_rest_of_the_line() {
    // keepalived 2.2.7: "Invalid hex string for UDP_CHECK payload" when other
    // keywords share the line.
    let (_, diags) = load(
        "virtual_server 10.0.0.1 53 {\n real_server 10.0.0.2 53 {\n  UDP_CHECK {\n   payload ab12 require_reply\n  }\n }\n}\n",
    );
    let found = with_code(&diags, "value-hex");
    assert_eq!(found.len(), 1);
    assert_eq!(line_col(found[0]), (4, 12));
}

#[test]
fn ssl_block_is_typed() {
    let (config, diags) = load("SSL {\n password secret\n ca /etc/ca.pem\n certificate /etc/c.pem\n key /etc/k.pem\n bogus 1\n}\n");
    let ssl = config.lvs.ssl.as_ref().expect("SSL block");
    assert_eq!(
        ssl.key.as_ref().map(|k| k.value.as_str()),
        Some("/etc/k.pem")
    );
    assert_eq!(
        ssl.password.as_ref().map(|k| k.value.as_str()),
        Some("secret")
    );
    assert_eq!(with_code(&diags, "unknown-keyword").len(), 1);
}

#[test]
fn bare_persistence_timeout_means_six_minutes() {
    let (config, _) = load("virtual_server 10.0.0.1 80 {\n persistence_timeout\n}\n");
    let vs = &config.lvs.virtual_servers[0];
    assert_eq!(vs.persistence_timeout.map(|p| p.value), Some(360));
}

#[test]
fn snmp_name_is_kept_and_noted() {
    let (config, diags) = load(
        "virtual_server 10.0.0.1 80 {\n snmp_name web\n real_server 10.0.0.2 80 {\n  snmp_name rs1\n }\n}\n",
    );
    let vs = &config.lvs.virtual_servers[0];
    assert_eq!(vs.other[0].args, ["web"]);
    assert_eq!(vs.real_servers[0].other[0].args, ["rs1"]);
    assert_eq!(with_code(&diags, "not-acted-on").len(), 1);
}

#[test]
fn sorry_server_options_before_sorry_server_are_ignored_like_keepalived() {
    let (config, diags) = load(
        "virtual_server 10.0.0.1 80 {\n sorry_server_inhibit\n sorry_server_lvs_method DR\n sorry_server 10.0.0.9 80\n sorry_server_lvs_method TUN\n}\n",
    );
    let found = with_code(&diags, "sorry-server-order");
    let at: Vec<_> = found.iter().map(|d| line_col(d)).collect();
    assert_eq!(at, [(2, 2), (3, 2)]);
    let vs = &config.lvs.virtual_servers[0];
    assert_eq!(vs.sorry_server_inhibit, None);
    assert_eq!(
        vs.sorry_server_method.map(|m| m.value),
        Some(ForwardMethod::Tun(Tunnel::default()))
    );
}

#[test]
fn file_check_dynamic_is_rejected_like_keepalived_2_2_7() {
    let (_, diags) = load(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  FILE_CHECK {\n   track_file tf\n   dynamic\n  }\n }\n}\n",
    );
    let found = with_code(&diags, "obsolete-keyword");
    assert_eq!(found.len(), 1);
    assert_eq!(line_col(found[0]), (5, 4));
}

#[test]
fn scheduler_flags_need_the_scheduler_first_like_keepalived() {
    let (config, diags) = load(
        "virtual_server 10.0.0.1 80 {\n sh-fallback\n lvs_sched sh\n sh-port\n flag-2\n}\nvirtual_server 10.0.0.2 80 {\n lvs_sched wrr\n mh-port\n}\n",
    );
    let found = with_code(&diags, "sched-flag-scheduler");
    let at: Vec<_> = found.iter().map(|d| line_col(d)).collect();
    assert_eq!(at, [(2, 2), (9, 2)]);
    assert_eq!(
        found[0].help.as_deref(),
        Some("put 'lvs_sched sh' before it")
    );
    let flags: Vec<_> = config.lvs.virtual_servers[0]
        .sched_flags
        .iter()
        .map(|f| f.value)
        .collect();
    assert_eq!(flags, [SchedFlag::ShPort, SchedFlag::Flag2]);
    assert!(config.lvs.virtual_servers[1].sched_flags.is_empty());
}

mod round_trip;
