//! Shared by the `health_probe_*` tests: turn a keepalived.conf snippet into
//! a probe spec through the real config pipeline, and read verdicts.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use lvstop::config::load::{load_str, Options};
use lvstop::health::outcome::Verdict;
use lvstop::health::probe::{self, ProbeSpec};

/// The spec of the first checker of the first real server of the first
/// virtual server in `conf`; the config must load without errors.
pub fn spec(conf: &str) -> ProbeSpec {
    let outcome = load_str(Path::new("test.conf"), conf, &Options::default());
    assert!(
        !outcome.has_errors(),
        "config has errors: {:#?}",
        outcome.diagnostics
    );
    let config = outcome.config;
    let vs = config
        .lvs
        .virtual_servers
        .first()
        .expect("a virtual_server");
    let rs = vs.real_servers.first().expect("a real_server");
    let checker = rs.checkers.first().expect("a checker");
    let tls = probe::tls_client_for(&config.lvs).expect("SSL block usable");
    ProbeSpec::resolve(checker, rs, vs, Some(tls), &config.vrrp.track_files)
}

/// Wraps `checker` (a checker block) in a virtual server whose real server
/// is `rs` ("IP PORT").
pub fn conf(rs: &str, checker: &str) -> String {
    format!(
        "virtual_server 127.0.0.1 80 {{\n protocol TCP\n lb_kind NAT\n real_server {rs} {{\n  weight 4\n{checker}\n }}\n}}\n"
    )
}

/// Runs the probe of the first checker in `conf`.
pub async fn verdict(conf: &str) -> Verdict {
    probe::run(&spec(conf)).await.verdict
}

/// The operator-facing reason of a down verdict; panics on up.
pub fn reason(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Down { reason } => reason.to_string(),
        other => panic!("expected a down verdict, got {other:?}"),
    }
}
