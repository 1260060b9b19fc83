//! What a probe needs to know to check one real server, and the trait the
//! probes implement.
//!
//! [`ProbeTarget`] is built from the configuration once (inheritance and
//! defaults applied) so a probe never looks at the virtual server or real
//! server blocks itself. [`Prober`] is the one seam between the runner's
//! driver and real I/O. This module does no I/O.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::config::model::lvs::{Checker, CheckerKind, RealServer, VirtualServer};
use crate::config::model::Config;
use crate::health::outcome::ProbeReport;
use crate::health::probe::{ProbeSpec, TlsClient};

/// One checker, resolved: where to connect, from where, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTarget {
    /// The checker block as configured (kind-specific options: urls,
    /// misc_path, payload…).
    pub checker: Checker,
    /// `connect_ip`/`connect_port`, else the real server's address and
    /// effective port. Port 0 for checkers without one (PING, MISC, FILE).
    pub connect: SocketAddr,
    /// `bindto`/`bind_port`, when set (`bind_port` alone binds the
    /// unspecified address of the target's family).
    pub bind: Option<SocketAddr>,
    /// `bind_if`, when set (needed for IPv6 link-local targets).
    pub bind_if: Option<String>,
    /// `fwmark` to set on the probe's socket, when set.
    pub fwmark: Option<u32>,
    /// How long one attempt may take before it counts as a timeout: the
    /// effective `connect_timeout` (MISC_CHECK: `misc_timeout`, else the
    /// delay loop, keepalived.conf(5)).
    pub timeout: Duration,
    /// `virtualhost` for HTTP_GET/SSL_GET: checker, else real server, else
    /// virtual server (a `url`'s own virtualhost still wins).
    pub virtualhost: Option<String>,
    /// The real server this checker belongs to (address and effective
    /// port), for messages.
    pub real_server: SocketAddr,
}

impl ProbeTarget {
    /// Resolves `checker` of real server `rs` in virtual server `vs`.
    pub fn from_config(checker: &Checker, rs: &RealServer, vs: &VirtualServer) -> Self {
        let connect_ip = checker.effective_connect_ip(rs);
        let connect = SocketAddr::new(connect_ip, checker.effective_connect_port(rs, vs));
        let bind_port = checker.connection.bind_port.map(|p| p.value);
        let bind = match (checker.connection.bindto.map(|b| b.value), bind_port) {
            (Some(ip), port) => Some(SocketAddr::new(ip, port.unwrap_or(0))),
            (None, Some(port)) => Some(SocketAddr::new(unspecified_like(connect_ip), port)),
            (None, None) => None,
        };
        ProbeTarget {
            checker: checker.clone(),
            connect,
            bind,
            bind_if: checker.connection.bind_if.as_ref().map(|t| t.value.clone()),
            fwmark: checker.connection.fwmark.map(|f| f.value),
            timeout: probe_timeout(checker, rs, vs),
            virtualhost: checker.effective_virtualhost(rs, vs).map(str::to_owned),
            real_server: SocketAddr::new(rs.endpoint.value.ip, rs.effective_port(vs)),
        }
    }
}

/// The time one attempt of `checker` may take (see [`ProbeTarget::timeout`]).
pub fn probe_timeout(checker: &Checker, rs: &RealServer, vs: &VirtualServer) -> Duration {
    let timing = checker.effective_timing(rs, vs);
    match &checker.kind.value {
        // keepalived.conf(5), MISC_CHECK: "misc_timeout: timeout in seconds
        // for the script; default: delay_loop".
        CheckerKind::Misc(misc) => misc.timeout.map_or(timing.delay_loop, |t| {
            Duration::from_secs(u64::from(t.value))
        }),
        _ => timing.connect_timeout,
    }
}

fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

/// Runs one attempt of a checker against its target.
///
/// `Target` is whatever the implementation resolved per checker, one per
/// [`crate::health::machine::CheckerId`] in configuration order
/// ([`ProbeTarget`], or the probes' own [`ProbeSpec`]). Implementations
/// must finish within the checker's timeout (the driver still cuts an
/// attempt off a little later and reports a timeout) and must never block
/// the thread: they run as tokio tasks beside thousands of others.
pub trait Prober: Send + Sync + 'static {
    type Target: Send + Sync + 'static;
    fn probe(&self, target: &Self::Target) -> impl Future<Output = ProbeReport> + Send;
}

/// The real probes of [`crate::health::probe`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RealProbes;

impl Prober for RealProbes {
    type Target = ProbeSpec;

    fn probe(&self, target: &ProbeSpec) -> impl Future<Output = ProbeReport> + Send {
        crate::health::probe::run(target)
    }
}

/// One [`ProbeSpec`] per checker of `config`, in the runner's checker
/// order (virtual server, real server, checker). `tls` comes from
/// [`crate::health::probe::tls_client_for`] (it reads files: build it off
/// the runtime).
pub fn probe_specs(config: &Config, tls: Option<&TlsClient>) -> Vec<ProbeSpec> {
    let mut specs = Vec::with_capacity(config.checker_count());
    for vs in &config.lvs.virtual_servers {
        for rs in &vs.real_servers {
            for checker in &rs.checkers {
                specs.push(ProbeSpec::resolve(
                    checker,
                    rs,
                    vs,
                    tls.cloned(),
                    &config.vrrp.track_files,
                ));
            }
        }
    }
    specs
}
