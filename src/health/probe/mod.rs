//! The probes: one attempt of one checker against one real server, with
//! keepalived.conf(5) semantics, returning a [`ProbeReport`] whose reason an
//! operator can act on.
//!
//! One file per checker kind; [`run`] dispatches on the checker's kind.
//! Every probe is bounded by a timeout, never blocks the runtime (blocking
//! work such as user lookups or file reads goes to `spawn_blocking` or
//! `tokio::fs`), and never retries: retry, delay and up/down decisions belong
//! to the runner.

mod connect;
mod dns;
mod file;
mod http;
mod misc;
mod ping;
mod smtp;
mod tcp;
pub mod tls;
mod udp;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::config::model::lvs::{Checker, CheckerKind, LvsConfig, RealServer, VirtualServer};
use crate::config::model::vrrp::TrackFile;

pub use file::TrackFileTarget;
pub use misc::{attach_script, misc_scripts, MiscScripts};
pub use tls::{TlsClient, TlsSetupError};

use super::outcome::{ProbeReport, Reason, Verdict};

/// Everything one probe needs, resolved from the configuration once so a
/// probe never walks the config tree.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    /// The checker block as configured (kind and kind-specific options).
    pub checker: Checker,
    /// Where to connect: `connect_ip`/`connect_port` already applied.
    pub destination: SocketAddr,
    /// `bindto`: the source address of the probe's packets.
    pub bind_address: Option<IpAddr>,
    /// `bind_port`: the source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: the interface the probe's socket is bound to.
    pub bind_interface: Option<String>,
    /// The effective `connect_timeout`: bounds each whole attempt (connect
    /// and exchange) of every network checker.
    pub connect_timeout: Duration,
    /// The effective `delay_loop`: MISC_CHECK's timeout when `misc_timeout`
    /// is unset (keepalived uses the delay loop).
    pub delay_loop: Duration,
    /// `virtualhost` inherited from the real or virtual server (the
    /// checker's own and each `url`'s override it).
    pub virtualhost: Option<String>,
    /// The real server's configured weight: FILE_CHECK adds to it.
    pub real_server_weight: u32,
    /// TLS client settings for SSL_GET (from the top-level `SSL` block);
    /// `None` means keepalived's default: no certificate verification.
    pub tls: Option<TlsClient>,
    /// FILE_CHECK's `track_file`, resolved to its file and weight.
    pub track_file: Option<TrackFileTarget>,
    /// MISC_CHECK's script as keepalived's script security let it run:
    /// absolute program, arguments, and the user (`user`, else
    /// `script_user`, else keepalived's default). The daemon always sets
    /// it ([`crate::health::service`]); without it the script runs as
    /// configured `user` or as lvstop's own.
    pub script: Option<std::sync::Arc<crate::notify::PreparedScript>>,
}

impl ProbeSpec {
    /// Resolves a checker of real server `rs` in virtual server `vs`.
    /// `tls` is built once per configuration with
    /// [`TlsClient::from_config`]; `track_files` are the top-level
    /// `track_file` blocks that FILE_CHECK refers to by name.
    pub fn resolve(
        checker: &Checker,
        rs: &RealServer,
        vs: &VirtualServer,
        tls: Option<TlsClient>,
        track_files: &[TrackFile],
    ) -> Self {
        let timing = checker.effective_timing(rs, vs);
        let track_file = match &checker.kind.value {
            CheckerKind::File(file) => TrackFileTarget::resolve(file, track_files),
            _ => None,
        };
        Self {
            destination: SocketAddr::new(
                checker.effective_connect_ip(rs),
                checker.effective_connect_port(rs, vs),
            ),
            bind_address: checker.connection.bindto.map(|b| b.value),
            bind_port: checker.connection.bind_port.map(|p| p.value),
            bind_interface: checker.connection.bind_if.as_ref().map(|i| i.value.clone()),
            connect_timeout: timing.connect_timeout,
            delay_loop: timing.delay_loop,
            virtualhost: rs.effective_virtualhost(vs).map(str::to_owned),
            real_server_weight: rs.effective_weight(),
            tls,
            track_file,
            script: None,
            checker: checker.clone(),
        }
    }

    /// The source address to bind before connecting, when `bindto` or
    /// `bind_port` asks for one.
    fn bind_socket_address(&self) -> Option<SocketAddr> {
        if self.bind_address.is_none() && self.bind_port.is_none() {
            return None;
        }
        let ip = self.bind_address.unwrap_or(match self.destination {
            SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
            SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
        });
        Some(SocketAddr::new(ip, self.bind_port.unwrap_or(0)))
    }
}

/// Convenience for callers holding the whole LVS config: the TLS client of
/// its `SSL` block. Reads files: call it once per load, off the runtime.
pub fn tls_client_for(lvs: &LvsConfig) -> Result<TlsClient, TlsSetupError> {
    TlsClient::from_config(lvs.ssl.as_ref())
}

/// Runs one probe of `spec`'s checker and reports what it found.
pub async fn run(spec: &ProbeSpec) -> ProbeReport {
    let started = Instant::now();
    let verdict = match &spec.checker.kind.value {
        CheckerKind::Tcp => tcp::probe(spec).await,
        CheckerKind::Http(http) => http::probe(spec, http, false).await,
        CheckerKind::Ssl(http) => http::probe(spec, http, true).await,
        CheckerKind::Smtp(smtp) => smtp::probe(spec, smtp).await,
        CheckerKind::Dns(dns) => dns::probe(spec, dns).await,
        CheckerKind::Udp(udp) => udp::probe(spec, udp).await,
        CheckerKind::Ping => ping::probe(spec).await,
        CheckerKind::Misc(misc) => misc::probe(spec, misc).await,
        CheckerKind::File(_) => file::probe(spec).await,
        // BFD needs a BFD session engine; the checker is parsed and shown
        // but always reports down so nobody mistakes it for a passing check.
        CheckerKind::Bfd(_) => Verdict::Down {
            reason: Reason::Unsupported {
                what: "BFD_CHECK".into(),
            },
        },
    };
    ProbeReport {
        verdict,
        latency: started.elapsed(),
    }
}

/// A number nobody outside can predict (DNS ids, ICMP sequences, UDP
/// payloads: a blind spoofer should not be able to fake an answer), without
/// a random-number crate: std's hasher keys are random per `RandomState`.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

/// Shorthand for a failed probe.
fn down(reason: Reason) -> Verdict {
    Verdict::Down { reason }
}

/// Runs `attempt` under the probe's timeout; on expiry the attempt (and
/// every socket it holds) is dropped and the verdict says how long we waited.
async fn within_timeout(
    timeout: Duration,
    attempt: impl std::future::Future<Output = Verdict>,
) -> Verdict {
    match tokio::time::timeout(timeout, attempt).await {
        Ok(verdict) => verdict,
        Err(_) => down(Reason::Timeout { after: timeout }),
    }
}
