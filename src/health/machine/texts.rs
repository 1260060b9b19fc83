//! keepalived's wording: how it names virtual and real servers, and the
//! log lines, alert subjects and alert bodies its checker emits.
//!
//! Facts read from keepalived 2.2's behaviour (check_tcp.c, check_misc.c,
//! check_ping.c, ipwrapper.c, smtp.c) and restated here; nothing here is
//! copied. Pure string building, no I/O.

use std::net::{IpAddr, SocketAddr};

use crate::config::model::lvs::{CheckerKind, Protocol, ServiceAddress, VirtualServer};
use crate::health::outcome::Reason;

/// keepalived's "trio" form of an address: `[192.0.2.1]:tcp:80`.
pub fn trio(ip: IpAddr, protocol: Option<Protocol>, port: u16) -> String {
    let proto = match protocol {
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        None => "none",
    };
    format!("[{ip}]:{proto}:{port}")
}

/// How keepalived names a virtual server: the trio, `FWM 7`, or
/// `[GROUP]:0` for a `virtual_server group`.
pub fn virtual_server_name(vs: &VirtualServer) -> String {
    match &vs.service.value {
        ServiceAddress::Address { ip, port } => {
            trio(*ip, vs.effective_protocol(), port.unwrap_or(0))
        }
        ServiceAddress::Fwmark(mark) => format!("FWM {mark}"),
        ServiceAddress::Group(name) => format!("[{name}]:0"),
    }
}

/// How keepalived names a real server of `vs`.
pub fn real_server_name(vs: &VirtualServer, addr: SocketAddr) -> String {
    trio(addr.ip(), vs.effective_protocol(), addr.port())
}

/// `[<router_id>] Realserver <RS> of virtual server <VS> - UP|DOWN`
/// (smtp.c, SMTP_MSG_RS).
pub fn real_server_subject(router_id: &str, rs: &str, vs: &str, up: bool) -> String {
    format!(
        "[{router_id}] Realserver {rs} of virtual server {vs} - {}",
        up_down(up)
    )
}

/// `[<router_id>] Virtualserver <VS> - UP|DOWN` (smtp.c, SMTP_MSG_VS).
pub fn virtual_server_subject(router_id: &str, vs: &str, up: bool) -> String {
    format!("[{router_id}] Virtualserver {vs} - {}", up_down(up))
}

pub fn up_down(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}

/// The alert body a checker sends when it changes state.
pub fn alert_body(kind: &CheckerKind, up: bool, reason: Option<&Reason>) -> String {
    let verb = if up { "succeed" } else { "failed" };
    match kind {
        CheckerKind::Tcp => format!("=> TCP CHECK {verb} on service <="),
        CheckerKind::Udp(_) => format!("=> UDP CHECK {verb} on service <="),
        CheckerKind::Ping => format!("=> ICMP CHECK {verb} on service <="),
        CheckerKind::Dns(_) => format!("=> DNS_CHECK: {verb} on service <="),
        CheckerKind::File(_) => format!("=> FILE CHECK {verb} on service <="),
        CheckerKind::Bfd(_) => format!("=> BFD CHECK {verb} on service <="),
        CheckerKind::Misc(_) => format!("=> MISC CHECK {} on service <=", misc_outcome(up, reason)),
        // HTTP_GET, SSL_GET and SMTP_CHECK say what failed after a colon.
        CheckerKind::Http(_) | CheckerKind::Ssl(_) | CheckerKind::Smtp(_) => match reason {
            Some(reason) if !up => format!("=> CHECK failed on service : {reason} <="),
            _ => format!("=> CHECK {verb} on service <="),
        },
    }
}

/// MISC_CHECK says "succeeded", "failed" or "timed out".
fn misc_outcome(up: bool, reason: Option<&Reason>) -> &'static str {
    match (up, reason) {
        (true, _) => "succeeded",
        (false, Some(Reason::Timeout { .. })) => "timed out",
        (false, _) => "failed",
    }
}

/// The line logged when a checker declares its real server up.
pub fn success_line(kind: &CheckerKind, rs: &str, vs: &str, script: &str) -> String {
    match kind {
        CheckerKind::Tcp => format!("TCP connection to {rs} success."),
        CheckerKind::Ping => format!("ICMP connection to {rs} success."),
        CheckerKind::Http(_) | CheckerKind::Ssl(_) => {
            format!("Remote Web server {rs} succeed on service.")
        }
        CheckerKind::Smtp(_) => format!("Remote SMTP server {rs} succeed on service."),
        CheckerKind::Misc(_) => format!("Misc check for [{rs} VS {vs}] by [{script}] succeeded."),
        other => format!("{} on service {rs} succeed.", other.keyword()),
    }
}

/// The line logged when a checker declares its real server down after
/// `retry` retries.
pub fn failure_line(
    kind: &CheckerKind,
    rs: &str,
    vs: &str,
    script: &str,
    retry: u32,
    reason: &Reason,
) -> String {
    let after = if retry > 0 {
        format!(" after {retry} retries")
    } else {
        String::new()
    };
    match kind {
        CheckerKind::Ping if retry > 0 => {
            format!("ICMP CHECK on service {rs} of {vs} failed{after}.")
        }
        CheckerKind::Ping => format!("ICMP CHECK on service {rs} failed."),
        CheckerKind::Misc(_) => match reason {
            Reason::Timeout { .. } => {
                format!("Misc check for [{rs} VS {vs}] by [{script}] timed out{after}.")
            }
            Reason::Exit { code, .. } => format!(
                "Misc check for [{rs} VS {vs}] by [{script}] failed{after} (exited with status {code})."
            ),
            Reason::Signal { signal } => format!(
                "Misc check for [{rs} VS {vs}] by [{script}] failed{after} (due to signal {signal})."
            ),
            _ => format!("Misc check for [{rs} VS {vs}] by [{script}] failed{after}."),
        },
        other => format!("{} on service {rs} failed{after}.", other.keyword()),
    }
}

/// The per-attempt failure line keepalived prints only with
/// `log_all_failures` (TCP_CHECK: "failed." or "timedout.").
pub fn attempt_failure_line(kind: &CheckerKind, rs: &str, reason: &Reason) -> String {
    let timed_out = matches!(reason, Reason::Timeout { .. });
    match kind {
        CheckerKind::Tcp if timed_out => format!("TCP connection to {rs} timedout."),
        CheckerKind::Tcp => format!("TCP connection to {rs} failed."),
        CheckerKind::Ping if timed_out => format!("ICMP connection to address {rs} timeout."),
        CheckerKind::Ping => format!("ICMP connection to {rs} failed."),
        other => format!("{} on service {rs}: {reason}.", other.keyword()),
    }
}

/// `Adding service RS to VS` and its three siblings (ipwrapper.c,
/// perform_svr_state): `Enabling`/`Disabling … of VS` with
/// `inhibit_on_failure`.
pub fn service_change_line(up: bool, inhibit: bool, rs: &str, vs: &str) -> String {
    let (verb, preposition) = match (up, inhibit) {
        (true, false) => ("Adding", "to"),
        (false, false) => ("Removing", "from"),
        (true, true) => ("Enabling", "of"),
        (false, true) => ("Disabling", "of"),
    };
    format!("{verb} service {rs} {preposition} VS {vs}")
}

/// `Changing weight from A to B for [in]active service RS of VS`.
pub fn weight_change_line(from: u32, to: u32, alive: bool, rs: &str, vs: &str) -> String {
    let prefix = if alive { "" } else { "in" };
    format!("Changing weight from {from} to {to} for {prefix}active service {rs} of VS {vs}")
}

/// `Gained quorum Q+H=T <= SUM for VS X`.
pub fn gained_quorum_line(
    quorum: u32,
    hysteresis: u32,
    threshold: i64,
    sum: u64,
    vs: &str,
) -> String {
    format!("Gained quorum {quorum}+{hysteresis}={threshold} <= {sum} for VS {vs}")
}

/// `Lost quorum Q-H=T > SUM for VS X` (or `Starting with quorum down …`).
pub fn lost_quorum_line(
    init: bool,
    quorum: u32,
    hysteresis: u32,
    threshold: i64,
    sum: u64,
    vs: &str,
) -> String {
    let what = if init {
        "Starting with quorum down"
    } else {
        "Lost quorum"
    };
    format!("{what} {quorum}-{hysteresis}={threshold} > {sum} for VS {vs}")
}

/// The quorum alert body: keepalived writes `+` and `<=` in both
/// directions.
pub fn quorum_alert_body(
    up: bool,
    init: bool,
    quorum: u32,
    hysteresis: u32,
    threshold: i64,
    sum: u64,
) -> String {
    let what = match (up, init) {
        (true, true) => "Starting with quorum up",
        (true, false) => "Gained quorum",
        (false, true) => "Starting with quorum down",
        (false, false) => "Lost quorum",
    };
    format!("=> {what} {quorum}+{hysteresis}={threshold} <= {sum} <=")
}

/// `Adding sorry server S to VS X` / `Enabling …` with
/// `sorry_server_inhibit`; `Removing … from` / `Disabling … from`.
pub fn sorry_server_line(active: bool, inhibit: bool, sorry: &str, vs: &str) -> String {
    match (active, inhibit) {
        (true, false) => format!("Adding sorry server {sorry} to VS {vs}"),
        (true, true) => format!("Enabling sorry server {sorry} to VS {vs}"),
        (false, false) => format!("Removing sorry server {sorry} from VS {vs}"),
        (false, true) => format!("Disabling sorry server {sorry} from VS {vs}"),
    }
}

/// `Adding alive servers to the pool for VS X` / `Removing alive servers
/// from the pool for VS X`.
pub fn pool_line(add: bool, vs: &str) -> String {
    if add {
        format!("Adding alive servers to the pool for VS {vs}")
    } else {
        format!("Removing alive servers from the pool for VS {vs}")
    }
}

/// `Shutting down service RS from VS X` (on stop).
pub fn shutdown_line(rs: &str, vs: &str) -> String {
    format!("Shutting down service {rs} from VS {vs}")
}

/// The body of the alerts sent on stop with `omega`.
pub const SHUTDOWN_BODY: &str = "=> Shutting down <=";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_seed_alert_reads_as_keepalived_writes_it() {
        let rs = trio("192.168.100.82".parse().unwrap(), Some(Protocol::Tcp), 80);
        let vs = trio("192.168.100.88".parse().unwrap(), Some(Protocol::Tcp), 80);
        assert_eq!(
            real_server_subject("LVS_DEVEL", &rs, &vs, false),
            "[LVS_DEVEL] Realserver [192.168.100.82]:tcp:80 of virtual server [192.168.100.88]:tcp:80 - DOWN"
        );
        assert_eq!(
            alert_body(&CheckerKind::Tcp, false, None),
            "=> TCP CHECK failed on service <="
        );
        assert_eq!(
            service_change_line(false, false, &rs, &vs),
            "Removing service [192.168.100.82]:tcp:80 from VS [192.168.100.88]:tcp:80"
        );
    }

    #[test]
    fn misc_check_says_timed_out_when_the_script_was_killed_for_time() {
        let timeout = Reason::Timeout {
            after: Duration::from_secs(3),
        };
        let kind = CheckerKind::Misc(Default::default());
        assert_eq!(
            alert_body(&kind, false, Some(&timeout)),
            "=> MISC CHECK timed out on service <="
        );
        assert_eq!(
            alert_body(&kind, true, None),
            "=> MISC CHECK succeeded on service <="
        );
    }

    #[test]
    fn http_failures_say_why_after_a_colon() {
        let kind = CheckerKind::Http(Default::default());
        assert_eq!(
            alert_body(&kind, false, Some(&Reason::HttpStatus { code: 503 })),
            "=> CHECK failed on service : HTTP 503 <="
        );
    }
}
