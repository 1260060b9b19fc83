//! Defaults and inheritance, each checked against keepalived.conf(5) or the
//! messages of `keepalived -t` (2.2.7).

use std::time::Duration;

use crate::config::diagnostic::Diagnostics;
use crate::config::model::lvs::*;
use crate::config::model::Config;
use crate::config::parse::{parse, ParseOptions};
use crate::config::tree::build_str;

fn load(text: &str) -> Config {
    let mut diags = Diagnostics::new();
    let nodes = build_str(text, &mut diags);
    let config = parse(&nodes, ParseOptions::default(), &mut diags);
    assert!(!diags.has_errors(), "{diags:?}");
    config
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn timings(text: &str) -> Vec<EffectiveTiming> {
    let config = load(text);
    let vs = &config.lvs.virtual_servers[0];
    let rs = &vs.real_servers[0];
    rs.checkers
        .iter()
        .map(|c| c.effective_timing(rs, vs))
        .collect()
}

/// Man page: delay_loop 60 s, connect_timeout 5 s, retry 1 (DNS_CHECK 3,
/// MISC_CHECK 0), delay_before_retry 1 s (HTTP_GET/SSL_GET 3 s, DNS_CHECK
/// the delay loop), warmup up to the delay loop, alpha off.
#[test]
fn checker_defaults_per_kind() {
    let t = timings(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n  HTTP_GET {\n  }\n  DNS_CHECK {\n  }\n  MISC_CHECK {\n  }\n }\n}\n",
    );
    let tcp = t[0];
    assert_eq!(tcp.delay_loop, secs(60.0));
    assert_eq!(tcp.connect_timeout, secs(5.0));
    assert_eq!(tcp.retry, 1);
    assert_eq!(tcp.delay_before_retry, secs(1.0));
    assert_eq!(tcp.warmup, secs(60.0));
    assert!(!tcp.alpha);
    assert_eq!((t[1].retry, t[1].delay_before_retry), (1, secs(3.0)));
    assert_eq!((t[2].retry, t[2].delay_before_retry), (3, secs(60.0)));
    assert_eq!((t[3].retry, t[3].delay_before_retry), (0, secs(1.0)));
}

/// Man page: "the virtual server setting is the default for real servers,
/// and the real server setting is the default for checkers".
#[test]
fn timing_inherits_virtual_to_real_to_checker() {
    let t = timings(
        "virtual_server 10.0.0.1 80 {\n delay_loop 10\n retry 5\n connect_timeout 2\n alpha\n\
          real_server 10.0.0.2 80 {\n  retry 4\n  delay_before_retry 0.5\n\
          TCP_CHECK {\n   connect_timeout 1\n  }\n  DNS_CHECK {\n   delay_loop 7\n  }\n }\n}\n",
    );
    assert_eq!(
        t[0],
        EffectiveTiming {
            alpha: true,
            connect_timeout: secs(1.0),
            retry: 4,
            delay_before_retry: secs(0.5),
            warmup: secs(10.0),
            delay_loop: secs(10.0),
        }
    );
    assert_eq!(t[1].delay_loop, secs(7.0));
    assert_eq!(t[1].warmup, secs(7.0));
    assert_eq!(t[1].connect_timeout, secs(2.0));
}

/// keepalived 2.2.7 `-t`: "no scheduler set, setting default 'wlc'", "no
/// forwarding method set, setting default NAT", "no protocol set -
/// defaulting to UDP".
#[test]
fn virtual_server_defaults_follow_keepalived() {
    let config = load("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 {\n }\n}\n");
    let vs = &config.lvs.virtual_servers[0];
    assert_eq!(vs.effective_scheduler(), "wlc");
    assert_eq!(vs.effective_method(), ForwardMethod::Nat);
    assert_eq!(vs.effective_protocol(), Some(Protocol::Udp));
    assert_eq!(vs.effective_quorum(), 1);
    assert_eq!(vs.effective_persistence_timeout(), None);
    let rs = &vs.real_servers[0];
    assert_eq!(rs.effective_weight(), 1);
    assert_eq!(rs.effective_port(vs), 80);
    assert!(!rs.effective_inhibit_on_failure(vs));
    assert!(rs.effective_smtp_alert(vs, None));
    assert!(!rs.effective_smtp_alert(vs, Some(false)));
}

/// keepalived 2.2.7 `-t`: "zero port only valid for persistent services -
/// setting"; "hysteresis 5 >= quorum 1; setting hysteresis to 0".
#[test]
fn zero_port_is_persistent_and_hysteresis_stays_below_quorum() {
    let config = load("virtual_server 10.0.0.1 {\n hysteresis 5\n}\nvirtual_server 10.0.0.2 80 {\n quorum 4\n hysteresis 3\n}\n");
    let vs = &config.lvs.virtual_servers;
    assert_eq!(vs[0].effective_persistence_timeout(), Some(360));
    assert_eq!(vs[0].effective_hysteresis(), 0);
    assert_eq!(vs[1].effective_hysteresis(), 3);
}

/// keepalived 2.2.7 `-t`: DR/TUN "ports don't match - resetting"; fwmark
/// "real server … has port specified - clearing".
#[test]
fn real_server_ports_under_dr_and_fwmark() {
    let config = load(
        "virtual_server 10.0.0.1 80 {\n lvs_method DR\n real_server 10.0.0.2 8080 {\n  TCP_CHECK {\n  }\n  TCP_CHECK {\n   connect_port 9000\n   connect_ip 10.0.0.9\n  }\n }\n}\n\
         virtual_server fwmark 1 {\n real_server 10.0.0.2 8080 {\n }\n}\n\
         virtual_server 10.0.0.1 81 {\n real_server 10.0.0.2 8080 {\n }\n}\n",
    );
    let vs = &config.lvs.virtual_servers;
    let rs = &vs[0].real_servers[0];
    assert_eq!(rs.effective_port(&vs[0]), 80);
    assert_eq!(rs.checkers[0].effective_connect_port(rs, &vs[0]), 80);
    assert_eq!(
        rs.checkers[0].effective_connect_ip(rs),
        rs.endpoint.value.ip
    );
    assert_eq!(rs.checkers[1].effective_connect_port(rs, &vs[0]), 9000);
    assert_eq!(
        rs.checkers[1].effective_connect_ip(rs),
        "10.0.0.9".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(vs[1].real_servers[0].effective_port(&vs[1]), 0);
    assert_eq!(vs[2].real_servers[0].effective_port(&vs[2]), 8080);
}

#[test]
fn virtualhost_and_inhibit_inherit() {
    let config = load(
        "virtual_server 10.0.0.1 80 {\n virtualhost vs\n inhibit_on_failure\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n  }\n }\n real_server 10.0.0.3 80 {\n  virtualhost rs\n  inhibit_on_failure no\n  HTTP_GET {\n   virtualhost chk\n  }\n }\n}\n",
    );
    let vs = &config.lvs.virtual_servers[0];
    let (a, b) = (&vs.real_servers[0], &vs.real_servers[1]);
    assert_eq!(a.checkers[0].effective_virtualhost(a, vs), Some("vs"));
    assert_eq!(b.effective_virtualhost(vs), Some("rs"));
    assert_eq!(b.checkers[0].effective_virtualhost(b, vs), Some("chk"));
    assert!(a.effective_inhibit_on_failure(vs));
    assert!(!b.effective_inhibit_on_failure(vs));
}
