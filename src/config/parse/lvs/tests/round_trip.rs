//! Round trips (parse → render → parse gives the same model, and canonical
//! output is a fixed point) over a fixture with every LVS keyword, the
//! reference deployment and keepalived's sample configurations; plus a timing
//! probe for large configurations.

use super::{load, load_with, with_code, SEED};
use crate::config::model::Config;

/// Every keyword of every LVS block, for the round trip.
const EVERYTHING: &str = r#"SSL {
    password "p w"
    ca /etc/ca.pem
    certificate /etc/cert.pem
    key /etc/key.pem
}
virtual_server_group G {
    10.0.0.1-10 80
    10.0.0.250-10.0.1.5 80
    10.0.2.8/29 80
    10.0.3.1
    fwmark 7 inet6
    2001:db8::1-ff 443
}
virtual_server group G {
    protocol TCP
    lb_algo sh
    sh-port
    sh-fallback
    flag-3
    real_server 10.0.0.2 80 {
    }
}
virtual_server 10.0.0.1 80 {
    lvs_sched wlc
    lb_kind TUN type gue port 5555 remcsum
    protocol UDP
    ops
    ip_family inet
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    persistence_engine sip
    ha_suspend
    virtualhost www.example.com
    alpha
    omega
    quorum 2
    hysteresis 1
    quorum_up "/bin/up 'a b'" root wheel
    quorum_down /bin/down
    sorry_server 10.0.0.9 8080
    sorry_server_inhibit
    sorry_server_lvs_method NAT
    connect_timeout 2.5
    retry 4
    delay_before_retry 0.25
    warmup 0
    delay_loop 10
    inhibit_on_failure
    smtp_alert no
    snmp_name web
    real_server 10.0.0.2 80 {
        weight 5
        lvs_method DR
        notify_up /bin/up
        notify_down "/bin/down now" nobody
        uthreshold 100
        lthreshold 10
        smtp_alert yes
        inhibit_on_failure no
        virtualhost rs.example.com
        alpha no
        retry 2
        snmp_name rs
        TCP_CHECK {
            connect_ip 10.0.0.3
            connect_port 81
            bindto 10.0.0.1
            bind_if eth0
            bind_port 4000
            fwmark 9
            log_all_failures
            warmup 1.000001
        }
        HTTP_GET {
            http_protocol 1.1
            virtualhost chk.example.com
            fast_recovery
            enable_sni
            url {
                path /a b
                digest 9b3a0c85a887a256d6939da88aabd8cd
                status_code 200-299 404
                virtualhost url.example.com
                regex "^o#k"
                regex_no_match
                regex_options caseless dotall
                regex_stack 10 20
                regex_min_offset 1
                regex_max_offset 1000
            }
        }
        SSL_GET {
            enable_sni
            url {
                path /
            }
        }
        MISC_CHECK {
            misc_path "/bin/check 'x y' z"
            misc_timeout 5
            misc_dynamic
            user nobody nogroup
            delay_loop 3
        }
        SMTP_CHECK {
            helo_name foo.example
            host {
                connect_ip 10.0.0.4
                connect_port 587
            }
        }
        DNS_CHECK {
            type MX
            name example.com
        }
        UDP_CHECK {
            payload Ab12f 3 456
            require_reply 12xx
            min_reply_length 1
            max_reply_length 100
        }
        UDP_CHECK {
            require_reply
        }
        PING_CHECK {
        }
        FILE_CHECK {
            track_file tf
            weight -3 reverse
        }
        BFD_CHECK {
            name b1
        }
    }
    real_server 2001:db8::2 {
        lvs_method TUN
    }
}
virtual_server fwmark 3 {
    protocol SCTP
    lvs_method TUN type ipip nocsum
    persistence_granularity 64
    real_server 10.0.0.2 {
    }
}
"#;

/// Renders only the LVS side (the other sides have their own round trips).
pub(crate) fn render_lvs(config: &Config) -> String {
    let only = Config {
        lvs: config.lvs.clone(),
        ..Config::default()
    };
    crate::config::render::render(&only)
}

/// Refused keywords (BFD, AH) are errors by design; any other error fails.
fn unexpected_errors(diags: &crate::config::diagnostic::Diagnostics) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == crate::config::diagnostic::Severity::Error)
        .filter(|d| d.code != crate::config::parse::context::REFUSED)
        .map(|d| d.message.clone())
        .collect()
}

pub(crate) fn assert_round_trip(text: &str, name: &str) {
    let (first, diags) = load(text);
    assert!(unexpected_errors(&diags).is_empty(), "{name}: {diags:?}");
    let rendered = render_lvs(&first);
    let (second, diags2) = load(&rendered);
    assert!(
        unexpected_errors(&diags2).is_empty(),
        "{name}: rendered text has errors: {diags2:?}\n{rendered}"
    );
    assert_eq!(
        first.lvs, second.lvs,
        "{name}: LVS model changed\n{rendered}"
    );
    // Canonical output is a fixed point.
    assert_eq!(render_lvs(&second), rendered, "{name}");
}

#[test]
fn every_keyword_round_trips_through_render() {
    let (config, diags) = load(EVERYTHING);
    assert_eq!(unexpected_errors(&diags), Vec::<String>::new(), "{diags:?}");
    assert!(with_code(&diags, "unknown-keyword").is_empty(), "{diags:?}");
    assert_eq!(config.lvs.virtual_servers.len(), 3);
    assert_round_trip(EVERYTHING, "EVERYTHING");
    let rendered = render_lvs(&config);
    assert!(rendered.contains("    lvs_sched sh\n"));
    assert!(rendered.contains("    lvs_method TUN type gue port 5555 remcsum\n"));
    assert!(!rendered.contains("lb_algo") && !rendered.contains("lb_kind"));
}

#[test]
fn seed_round_trips_with_modern_names() {
    assert_round_trip(SEED, "seed");
    let (config, _) = load_with(SEED, true);
    let rendered = render_lvs(&config);
    assert!(rendered.contains("        TCP_CHECK {\n            connect_port 80\n            connect_timeout 10\n            retry 3\n"), "{rendered}");
}

/// keepalived's sample configurations (see `tests/support/corpus.rs`):
/// every one renders back to the same model.
#[test]
fn corpus_samples_round_trip() {
    let Some(samples) = crate::config::test_corpus::keepalived_samples("corpus_samples_round_trip")
    else {
        return;
    };
    let mut count = 0;
    for sample in &samples {
        if sample.name.contains("conditional") || sample.name.ends_with(".in") {
            continue;
        }
        assert_round_trip(&sample.text, &sample.name);
        count += 1;
    }
    assert!(count > 20, "only {count} samples found");
}

/// Prints what lvstop says about each corpus sample (parse + validate), to
/// compare by eye with `keepalived -t`.
#[test]
#[ignore]
fn print_corpus_diagnostics() {
    let Some(samples) = crate::config::test_corpus::keepalived_samples("print_corpus_diagnostics")
    else {
        return;
    };
    for sample in samples {
        let (config, mut diags) = load(&sample.text);
        crate::config::validate::validate(&config, &mut diags);
        println!("== {}", sample.name);
        for d in diags.iter().filter(|d| d.code != "not-acted-on") {
            println!(
                "  {:?} {} {}: {}",
                d.location.map(|l| (l.line, l.column)),
                d.severity.as_str(),
                d.code,
                d.message
            );
        }
    }
}

/// 2,300 virtual servers × 16 real servers with a TCP_CHECK each (~300k
/// lines). Run with `cargo test --release --lib -- --ignored large_config`;
/// prints the time for tree + parse + validate (budget: 150 ms).
#[test]
#[ignore]
fn large_config_timing() {
    use std::fmt::Write;
    let mut text = String::with_capacity(12 << 20);
    for v in 0..2300u32 {
        let _ = write!(
            text,
            "virtual_server 10.{}.{}.1 80 {{\n    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n",
            v / 256,
            v % 256
        );
        for r in 0..16u32 {
            let _ = write!(
                text,
                "    real_server 172.16.{}.{} 8080 {{\n        weight 3\n        TCP_CHECK {{\n            connect_timeout 10\n            retry 3\n            delay_before_retry 3\n            connect_port 8080\n        }}\n    }}\n",
                v % 256,
                r + 1
            );
        }
        text.push_str("}\n");
    }
    let lines = text.lines().count();
    let started = std::time::Instant::now();
    let mut diags = crate::config::diagnostic::Diagnostics::new();
    let nodes = crate::config::tree::build_str(&text, &mut diags);
    let built = started.elapsed();
    let config = crate::config::parse::parse(
        &nodes,
        crate::config::parse::ParseOptions::default(),
        &mut diags,
    );
    let parsed = started.elapsed();
    crate::config::validate::validate(&config, &mut diags);
    let total = started.elapsed();
    assert!(!diags.has_errors());
    assert_eq!(config.lvs.virtual_servers.len(), 2300);
    eprintln!(
        "{lines} lines: tree {built:?}, +parse {:?}, +validate {:?}, total {total:?}, {} diagnostics",
        parsed - built,
        total - parsed,
        diags.len()
    );
}
