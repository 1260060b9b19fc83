//! What the daemon tells a client about its checks (`Request::Checks`,
//! `lvstop --once`, `--json`; the [`ChecksReport`] shape lives in
//! [`crate::northbound::checks`]), and the terse text `--once` prints
//! after the IPVS table.
//!
//! Text layout (one block per virtual server, one line per checker, every
//! real server listed, including those the checks took out of the table;
//! fields are separated by two spaces and only present when they say
//! something):
//!
//! ```text
//! Checks
//! TCP  192.0.2.1:80  quorum up  live weight 2/1
//!   -> 127.0.0.2:80  UP  TCP_CHECK  since 12:03:01
//!   -> 127.0.0.3:80  DOWN  TCP_CHECK  connection refused  since 12:03:04  failures 3
//!   -> 127.0.0.4:80  DOWN  HTTP_GET  HTTP 503  since 12:03:04  failures 1  weight 0 (inhibit_on_failure)
//!   -> 127.0.0.5:80  UP  no checker
//! ```
//!
//! The virtual server line gives keepalived's quorum state, the sum of the
//! live weights against the quorum, and the sorry server when one is
//! configured (`sorry 127.0.0.9:80 in`). A checker line gives the real
//! server's state from this checker's point of view (`UP`, `DOWN`, or
//! `UP?` before its first verdict), the checker kind, the last failure's
//! reason while it keeps failing, the local time of its last change
//! (`since`, with the date when not today), and the consecutive failures.
//! Pure formatting: no I/O except reading the local time zone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::northbound::checks::{AlertCounters, ChecksReport};
use crate::northbound::checks::{CheckerView, RealServerView, VirtualServerView};

impl From<crate::notify::AlertStats> for AlertCounters {
    fn from(stats: crate::notify::AlertStats) -> Self {
        Self {
            submitted: stats.submitted,
            sent: stats.sent,
            failed: stats.failed,
            dropped: stats.dropped,
            queued: stats.queued,
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch of `time`.
pub fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Appends the `Checks` block described in the module docs.
pub fn format_checks(report: &ChecksReport, out: &mut String) {
    let zone = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned(zone.clone()).date();
    let clock = Clock {
        epoch_unix_ms: report.epoch_unix_ms,
        zone,
        today,
    };
    out.push_str("Checks\n");
    for vs in &report.snapshot.virtual_servers {
        virtual_server_line(vs, out);
        for rs in &vs.real_servers {
            real_server_lines(rs, &clock, out);
        }
    }
}

struct Clock {
    epoch_unix_ms: u64,
    zone: jiff::tz::TimeZone,
    today: jiff::civil::Date,
}

impl Clock {
    /// `12:03:04`, or `2024-05-01 12:03:04` when not today.
    fn local(&self, since_epoch: Duration) -> String {
        let millis = self
            .epoch_unix_ms
            .saturating_add(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX));
        let Ok(stamp) = jiff::Timestamp::from_millisecond(i64::try_from(millis).unwrap_or(0))
        else {
            return "?".into();
        };
        let zoned = stamp.to_zoned(self.zone.clone());
        if zoned.date() == self.today {
            zoned.strftime("%H:%M:%S").to_string()
        } else {
            zoned.strftime("%Y-%m-%d %H:%M:%S").to_string()
        }
    }
}

fn virtual_server_line(vs: &VirtualServerView, out: &mut String) {
    let mut fields = vec![ipvsadm_service(&vs.name)];
    fields.push(format!(
        "quorum {}",
        if vs.quorum_up { "up" } else { "down" }
    ));
    fields.push(format!("live weight {}/{}", vs.weight_sum, vs.quorum));
    if let Some(sorry) = &vs.sorry_server {
        let state = if vs.sorry_server_active { "in" } else { "out" };
        fields.push(format!("sorry {} {state}", ipvsadm_address(sorry)));
    }
    out.push_str(&fields.join("  "));
    out.push('\n');
}

fn real_server_lines(rs: &RealServerView, clock: &Clock, out: &mut String) {
    if rs.checkers.is_empty() {
        let state = if rs.up { "UP" } else { "DOWN" };
        out.push_str(&format!("  -> {}  {state}  no checker\n", rs.address));
        return;
    }
    for checker in &rs.checkers {
        out.push_str(&checker_line(rs, checker, clock));
        out.push('\n');
    }
}

fn checker_line(rs: &RealServerView, checker: &CheckerView, clock: &Clock) -> String {
    let state = match (checker.up, checker.checked) {
        (true, false) => "UP?",
        (true, true) => "UP",
        (false, _) => "DOWN",
    };
    let mut fields = vec![
        format!("  -> {}", rs.address),
        state.to_string(),
        checker.kind.to_string(),
    ];
    if let Some(reason) = &checker.reason {
        fields.push(reason.clone());
    }
    fields.push(format!("since {}", clock.local(checker.since)));
    if checker.consecutive_failures > 0 {
        fields.push(format!("failures {}", checker.consecutive_failures));
    }
    if !rs.up && rs.inhibit_on_failure {
        fields.push("weight 0 (inhibit_on_failure)".into());
    }
    fields.join("  ")
}

/// keepalived's `[192.0.2.1]:tcp:80` as ipvsadm's `TCP  192.0.2.1:80`;
/// `FWM 7` and group names stay as they are.
fn ipvsadm_service(name: &str) -> String {
    match split_trio(name) {
        Some((address, protocol)) => format!("{}  {address}", protocol.to_uppercase()),
        None => name.to_string(),
    }
}

/// keepalived's `[192.0.2.1]:tcp:80` as `192.0.2.1:80`.
fn ipvsadm_address(name: &str) -> String {
    split_trio(name).map_or_else(|| name.to_string(), |(address, _)| address)
}

/// `[ip]:proto:port` → (`ip:port` or `[v6]:port`, `proto`).
fn split_trio(name: &str) -> Option<(String, &str)> {
    let rest = name.strip_prefix('[')?;
    let (ip, rest) = rest.split_once("]:")?;
    let (protocol, port) = rest.split_once(':')?;
    let ip: std::net::IpAddr = ip.parse().ok()?;
    let port: u16 = port.parse().ok()?;
    Some((std::net::SocketAddr::new(ip, port).to_string(), protocol))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn checker(up: bool, reason: Option<&str>, failures: u32, since_s: u64) -> CheckerView {
        CheckerView {
            id: crate::health::machine::CheckerId(0),
            kind: Cow::Borrowed("TCP_CHECK"),
            target: "127.0.0.3:80".into(),
            up,
            checked: true,
            running: false,
            consecutive_failures: failures,
            reason: reason.map(str::to_string),
            latency: None,
            since: Duration::from_secs(since_s),
            last_check: None,
            flaps: 0,
        }
    }

    #[test]
    fn a_down_real_server_reads_with_its_reason_time_and_failures() {
        let zone = jiff::tz::TimeZone::UTC;
        let epoch: jiff::Timestamp = "2024-05-01T12:03:00Z".parse().unwrap();
        let clock = Clock {
            epoch_unix_ms: u64::try_from(epoch.as_millisecond()).unwrap(),
            today: epoch.to_zoned(zone.clone()).date(),
            zone,
        };
        let rs = RealServerView {
            name: "[127.0.0.3]:tcp:80".into(),
            address: "127.0.0.3:80".into(),
            up: false,
            weight: 1,
            inhibit_on_failure: false,
            checkers: vec![checker(false, Some("connection refused"), 3, 4)],
        };
        assert_eq!(
            checker_line(&rs, &rs.checkers[0], &clock),
            "  -> 127.0.0.3:80  DOWN  TCP_CHECK  connection refused  since 12:03:04  failures 3"
        );
        let inhibited = RealServerView {
            inhibit_on_failure: true,
            ..rs.clone()
        };
        assert!(checker_line(&inhibited, &inhibited.checkers[0], &clock)
            .ends_with("failures 3  weight 0 (inhibit_on_failure)"));
        let tomorrow = Clock {
            today: clock.today.tomorrow().unwrap(),
            ..clock
        };
        assert!(checker_line(&rs, &rs.checkers[0], &tomorrow).contains("since 2024-05-01 12:03:04"));
    }

    #[test]
    fn virtual_servers_read_like_ipvsadm_services() {
        assert_eq!(ipvsadm_service("[192.0.2.1]:tcp:80"), "TCP  192.0.2.1:80");
        assert_eq!(
            ipvsadm_service("[2001:db8::1]:udp:53"),
            "UDP  [2001:db8::1]:53"
        );
        assert_eq!(ipvsadm_service("FWM 7"), "FWM 7");
        let mut out = String::new();
        virtual_server_line(
            &VirtualServerView {
                name: "[192.0.2.1]:tcp:80".into(),
                quorum_up: false,
                quorum: 2,
                hysteresis: 0,
                weight_sum: 1,
                sorry_server: Some("[127.0.0.9]:tcp:80".into()),
                sorry_server_active: true,
                real_servers: Vec::new(),
            },
            &mut out,
        );
        assert_eq!(
            out,
            "TCP  192.0.2.1:80  quorum down  live weight 1/2  sorry 127.0.0.9:80 in\n"
        );
    }
}
