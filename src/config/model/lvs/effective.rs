//! keepalived's defaults and inheritance for the LVS model: what a virtual
//! server, real server or checker means when a keyword is left unset.
//!
//! Inheritance runs virtual server → real server → checker (keepalived.conf(5),
//! "LVS CONFIGURATION": the virtual server setting is the default for real
//! servers, and the real server setting the default for checkers). Defaults
//! not visible in `keepalived -t` output are taken from the man page and say
//! so. Never reports diagnostics.

use std::net::IpAddr;
use std::time::Duration;

use super::{
    CheckTiming, Checker, CheckerKind, ForwardMethod, IpFamily, PersistenceMask, Protocol,
    RealServer, ServiceAddress, VirtualServer,
};

/// keepalived's `delay_loop` when nothing sets it (man page: 60 seconds).
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// `connect_timeout` default (man page: 5 seconds).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `persistence_timeout` written without a value (man page: 6 minutes).
pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 360;
/// keepalived 2.2.7: "no scheduler set, setting default 'wlc'".
pub const DEFAULT_SCHEDULER: &str = "wlc";

/// A checker's timing after inheritance and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveTiming {
    pub alpha: bool,
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
    pub delay_loop: Duration,
}

impl VirtualServer {
    /// Scheduler name; keepalived 2.2.7 defaults to `wlc`.
    pub fn effective_scheduler(&self) -> &str {
        self.scheduler
            .as_ref()
            .map_or(DEFAULT_SCHEDULER, |s| s.value.as_str())
    }

    /// Forwarding method; keepalived 2.2.7 defaults to NAT.
    pub fn effective_method(&self) -> ForwardMethod {
        self.method.map(|m| m.value).unwrap_or_default()
    }

    /// The protocol; `None` for fwmark services (keepalived 2.2.7:
    /// "protocol specified for fwmark - protocol will be ignored"). keepalived
    /// 2.2.7 reports "no protocol set - defaulting to UDP" and programs UDP
    /// when an address or group service has no `protocol` line.
    pub fn effective_protocol(&self) -> Option<Protocol> {
        match self.service.value {
            ServiceAddress::Fwmark(_) => None,
            _ => Some(self.protocol.map_or(Protocol::Udp, |p| p.value)),
        }
    }

    /// The address family keepalived 2.2.7 fixes for a fwmark service, as
    /// it reads the block: `ip_family` when written; otherwise the first of
    /// a `persistence_granularity` read before any real server (a prefix
    /// length means IPv6, a netmask IPv4) and the first real server. Real
    /// servers of the other family are then skipped ("Address family of
    /// virtual server and real server … don't match"). `None` for other
    /// services, and for a fwmark service nothing fixes.
    pub fn fwmark_family(&self) -> Option<IpFamily> {
        if !matches!(self.service.value, ServiceAddress::Fwmark(_)) {
            return None;
        }
        if let Some(family) = self.ip_family {
            return Some(family.value);
        }
        let first_server = self.real_servers.first().map(|rs| rs.endpoint);
        let granularity = self
            .persistence_granularity
            .filter(|g| first_server.is_none_or(|rs| g.at < rs.at))
            .map(|g| match g.value {
                PersistenceMask::PrefixLength(_) => IpFamily::Inet6,
                PersistenceMask::Netmask(_) => IpFamily::Inet,
            });
        granularity.or_else(|| first_server.map(|rs| IpFamily::of(rs.value.ip)))
    }

    /// The service port (0 when omitted or for fwmark/group services).
    pub fn port(&self) -> u16 {
        match self.service.value {
            ServiceAddress::Address { port, .. } => port.unwrap_or(0),
            _ => 0,
        }
    }

    /// Persistence timeout in seconds, if the service is persistent.
    /// keepalived makes an address service with port 0 persistent ("zero
    /// port only valid for persistent services - setting").
    pub fn effective_persistence_timeout(&self) -> Option<u32> {
        match self.persistence_timeout {
            Some(t) => Some(t.value),
            None if matches!(self.service.value, ServiceAddress::Address { .. })
                && self.port() == 0 =>
            {
                Some(DEFAULT_PERSISTENCE_TIMEOUT)
            }
            None => None,
        }
    }

    /// Quorum; default 1.
    pub fn effective_quorum(&self) -> u32 {
        self.quorum.map_or(1, |q| q.value)
    }

    /// Hysteresis; default 0, and keepalived resets it to 0 when it is not
    /// below the quorum ("hysteresis 5 >= quorum 1; setting hysteresis to 0").
    pub fn effective_hysteresis(&self) -> u32 {
        let h = self.hysteresis.map_or(0, |h| h.value);
        if h >= self.effective_quorum() {
            0
        } else {
            h
        }
    }
}

impl RealServer {
    /// Weight; default 1.
    pub fn effective_weight(&self) -> u32 {
        self.weight.map_or(1, |w| w.value)
    }

    /// Forwarding method: the real server's, else the virtual server's.
    pub fn effective_method(&self, vs: &VirtualServer) -> ForwardMethod {
        self.method
            .map(|m| m.value)
            .unwrap_or_else(|| vs.effective_method())
    }

    /// The port IPVS gets. keepalived clears it for fwmark services ("has
    /// port specified - clearing"), forces the virtual server's port for DR
    /// and TUN ("ports don't match - resetting"), and otherwise uses the
    /// virtual server's port when the real server has none.
    pub fn effective_port(&self, vs: &VirtualServer) -> u16 {
        match &vs.service.value {
            ServiceAddress::Fwmark(_) => 0,
            ServiceAddress::Address { .. } if self.effective_method(vs).keeps_port() => vs.port(),
            _ => self.endpoint.port.unwrap_or_else(|| vs.port()),
        }
    }

    pub fn effective_inhibit_on_failure(&self, vs: &VirtualServer) -> bool {
        self.inhibit_on_failure
            .or(vs.inhibit_on_failure)
            .is_some_and(|b| b.value)
    }

    /// Whether state changes send mail: the real server's setting, else the
    /// virtual server's, else the global default (`smtp_alert` /
    /// `smtp_alert_checker` in global_defs), else yes (man page).
    pub fn effective_smtp_alert(&self, vs: &VirtualServer, global: Option<bool>) -> bool {
        self.smtp_alert
            .or(vs.smtp_alert)
            .map(|b| b.value)
            .or(global)
            .unwrap_or(true)
    }

    /// `virtualhost` for HTTP checks: the real server's, else the virtual
    /// server's.
    pub fn effective_virtualhost<'a>(&'a self, vs: &'a VirtualServer) -> Option<&'a str> {
        self.virtualhost
            .as_ref()
            .or(vs.virtualhost.as_ref())
            .map(|t| t.value.as_str())
    }
}

impl Checker {
    /// Timing after inheritance (checker → real server → virtual server) and
    /// the per-kind defaults of keepalived.conf(5): retry 1 (DNS_CHECK 3,
    /// MISC_CHECK 0); delay_before_retry 1 s (HTTP_GET/SSL_GET 3 s,
    /// DNS_CHECK the delay loop); warmup the delay loop.
    pub fn effective_timing(&self, rs: &RealServer, vs: &VirtualServer) -> EffectiveTiming {
        let layers = [&self.timing, &rs.timing, &vs.timing];
        fn first<T: Copy>(
            layers: &[&CheckTiming; 3],
            get: impl Fn(&CheckTiming) -> Option<T>,
        ) -> Option<T> {
            layers.iter().find_map(|l| get(l))
        }
        let delay_loop =
            first(&layers, |t| t.delay_loop.map(|d| d.value)).unwrap_or(DEFAULT_DELAY_LOOP);
        let (default_retry, default_delay_before_retry) = match self.kind.value {
            CheckerKind::Dns(_) => (3, delay_loop),
            CheckerKind::Misc(_) => (0, Duration::from_secs(1)),
            CheckerKind::Http(_) | CheckerKind::Ssl(_) => (1, Duration::from_secs(3)),
            _ => (1, Duration::from_secs(1)),
        };
        EffectiveTiming {
            alpha: first(&layers, |t| t.alpha.map(|a| a.value)).unwrap_or(false),
            connect_timeout: first(&layers, |t| t.connect_timeout.map(|d| d.value))
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            retry: first(&layers, |t| t.retry.map(|r| r.value)).unwrap_or(default_retry),
            delay_before_retry: first(&layers, |t| t.delay_before_retry.map(|d| d.value))
                .unwrap_or(default_delay_before_retry),
            warmup: first(&layers, |t| t.warmup.map(|d| d.value)).unwrap_or(delay_loop),
            delay_loop,
        }
    }

    /// Address probed: `connect_ip`, else the real server's address.
    pub fn effective_connect_ip(&self, rs: &RealServer) -> IpAddr {
        self.connection
            .connect_ip
            .map_or(rs.endpoint.value.ip, |ip| ip.value)
    }

    /// Port probed: `connect_port`, else the real server's effective port.
    pub fn effective_connect_port(&self, rs: &RealServer, vs: &VirtualServer) -> u16 {
        self.connection
            .connect_port
            .map_or_else(|| rs.effective_port(vs), |p| p.value)
    }

    /// `virtualhost` for HTTP checks: checker, else real server, else
    /// virtual server. (A `url`'s own virtualhost overrides this.)
    pub fn effective_virtualhost<'a>(
        &'a self,
        rs: &'a RealServer,
        vs: &'a VirtualServer,
    ) -> Option<&'a str> {
        match &self.kind.value {
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => h
                .virtualhost
                .as_ref()
                .map(|t| t.value.as_str())
                .or_else(|| rs.effective_virtualhost(vs)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
