//! Turns successive states of the checks and of VRRP into timeline
//! events: a real server going up or down (with the failing checker's
//! reason), a virtual server's quorum changing, an instance changing
//! state, alerts handed to the SMTP server. Pure: it compares two values
//! and says what changed; the director records and logs the result.

use std::collections::HashMap;

use super::event::EventKind;
use crate::health::report::{AlertCounters, ChecksReport};
use crate::vrrp::driver::VrrpStatus;

/// One change, ready for [`super::event::EventRing::push`].
pub type Change = (EventKind, String);

/// Real servers and quorums that changed between two check reports.
pub fn checks(before: &ChecksReport, after: &ChecksReport) -> Vec<Change> {
    let mut was_up: HashMap<(&str, &str), bool> = HashMap::new();
    let mut quorum: HashMap<&str, bool> = HashMap::new();
    for vs in &before.snapshot.virtual_servers {
        quorum.insert(&vs.name, vs.quorum_up);
        for rs in &vs.real_servers {
            was_up.insert((&vs.name, &rs.address), rs.up);
        }
    }
    let mut changes = Vec::new();
    for vs in &after.snapshot.virtual_servers {
        if quorum
            .get(vs.name.as_str())
            .is_some_and(|&up| up != vs.quorum_up)
        {
            let word = if vs.quorum_up { "gained" } else { "lost" };
            changes.push((
                EventKind::Check {
                    service: vs.name.clone(),
                    server: None,
                    up: vs.quorum_up,
                    reason: None,
                },
                format!(
                    "{word} quorum {}/{} on {}",
                    vs.weight_sum, vs.quorum, vs.name
                ),
            ));
        }
        for rs in &vs.real_servers {
            let Some(&up) = was_up.get(&(vs.name.as_str(), rs.address.as_str())) else {
                continue;
            };
            if up == rs.up {
                continue;
            }
            let reason = rs.checkers.iter().find(|c| !c.up).map(|c| match &c.reason {
                Some(reason) => format!("{}: {reason}", c.kind),
                None => c.kind.to_string(),
            });
            let message = match (&reason, rs.up) {
                (_, true) => format!("{} in {} is up", rs.address, vs.name),
                (Some(reason), false) => {
                    format!("{} in {} is down ({reason})", rs.address, vs.name)
                }
                (None, false) => format!("{} in {} is down", rs.address, vs.name),
            };
            changes.push((
                EventKind::Check {
                    service: vs.name.clone(),
                    server: Some(rs.address.clone()),
                    up: rs.up,
                    reason,
                },
                message,
            ));
        }
    }
    changes
}

/// Alerts handed over (or failed) since the last report.
pub fn alerts(before: Option<AlertCounters>, after: Option<AlertCounters>) -> Vec<Change> {
    let (Some(before), Some(after)) = (before, after) else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    let sent = after.sent.saturating_sub(before.sent);
    let failed = after.failed.saturating_sub(before.failed);
    if sent > 0 {
        changes.push((
            EventKind::Alert {
                subject: format!("{sent} alert(s)"),
                delivered: true,
            },
            format!("{sent} e-mail alert(s) handed to the SMTP server"),
        ));
    }
    if failed > 0 {
        changes.push((
            EventKind::Alert {
                subject: format!("{failed} alert(s)"),
                delivered: false,
            },
            format!("{failed} e-mail alert(s) could not be delivered"),
        ));
    }
    changes
}

/// Instances and sync groups whose state changed. An instance the
/// previous status did not list counts as coming from INIT.
pub fn vrrp(before: &VrrpStatus, after: &VrrpStatus) -> Vec<Change> {
    let mut changes = Vec::new();
    for instance in &after.instances {
        let from = before
            .instances
            .iter()
            .find(|i| i.name == instance.name)
            .map_or("INIT", |i| i.state.keyword());
        let to = instance.state.keyword();
        if from != to {
            changes.push((
                EventKind::Vrrp {
                    name: instance.name.clone(),
                    from: from.to_string(),
                    to: to.to_string(),
                },
                format!("({}) Entering {to} STATE", instance.name),
            ));
        }
    }
    for group in &after.sync_groups {
        let from = before
            .sync_groups
            .iter()
            .find(|g| g.name == group.name)
            .map_or("INIT", |g| g.state.keyword());
        let to = group.state.keyword();
        if from != to {
            changes.push((
                EventKind::Vrrp {
                    name: group.name.clone(),
                    from: from.to_string(),
                    to: to.to_string(),
                },
                format!("VRRP_Group({}) Syncing instances to {to} state", group.name),
            ));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rs_up: bool, reason: Option<&str>, quorum_up: bool) -> ChecksReport {
        let snapshot = serde_json::json!({"virtual_servers": [{
            "name": "[127.0.0.88]:tcp:8088", "quorum_up": quorum_up, "quorum": 1,
            "hysteresis": 0, "weight_sum": 1, "sorry_server_active": false,
            "real_servers": [{
                "name": "[127.0.0.81]:tcp:8081", "address": "127.0.0.81:8081",
                "up": rs_up, "weight": 1, "inhibit_on_failure": false,
                "checkers": [{
                    "id": 0, "kind": "HTTP_GET", "target": "127.0.0.81:8081",
                    "up": rs_up, "checked": true, "running": false,
                    "consecutive_failures": 0, "reason": reason,
                    "latency_ms": null, "since_ms": 0, "last_check_ms": null
                }]
            }]
        }]});
        ChecksReport {
            snapshot: serde_json::from_value(snapshot).unwrap_or_else(|e| panic!("{e}")),
            ..ChecksReport::default()
        }
    }

    #[test]
    fn a_real_server_going_down_says_which_checker_and_why() {
        let changes = checks(
            &report(true, None, true),
            &report(false, Some("connection refused"), false),
        );
        let messages: Vec<&str> = changes.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "lost quorum 1/1 on [127.0.0.88]:tcp:8088",
                "127.0.0.81:8081 in [127.0.0.88]:tcp:8088 is down (HTTP_GET: connection refused)"
            ]
        );
        assert!(checks(&report(true, None, true), &report(true, None, true)).is_empty());
        let back = checks(&report(false, Some("x"), true), &report(true, None, true));
        assert!(
            matches!(back[0].0, EventKind::Check { up: true, .. }),
            "{back:?}"
        );
    }

    #[test]
    fn alerts_count_what_was_sent_and_what_failed() {
        let before = AlertCounters::default();
        let after = AlertCounters {
            sent: 2,
            failed: 1,
            ..before
        };
        let changes = alerts(Some(before), Some(after));
        assert_eq!(changes.len(), 2);
        assert!(alerts(None, Some(after)).is_empty());
    }
}
