//! What the runner tells the outside about VRRP: it builds the
//! [`VrrpStatus`] served on the control socket and printed by `lvstop
//! --once` (its shape lives in [`crate::northbound::vrrp`]), and prints
//! the terse text section. Plain data; this module never touches the
//! state machine or any socket.
//!
//! The status is the state machine's [`NodeSnapshot`] plus what only the
//! adapter knows: wall-clock times (when each instance entered its state,
//! its last transitions), I/O errors, and the VIPs actually installed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::northbound::vrrp::{
    GroupStatus, InstanceStatus, IoErrors, Transition, VrrpEvent, VrrpStatus,
};
use crate::vrrp::machine::{InstanceSnapshot, NodeSnapshot};

/// How many transitions each instance remembers.
pub const TRANSITIONS_KEPT: usize = 8;

/// Milliseconds since the Unix epoch, as the wire carries times.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Adapter-side facts about one instance.
#[derive(Debug, Clone, Default)]
pub struct InstanceExtra {
    pub since: Option<SystemTime>,
    pub transitions: Vec<Transition>,
    pub vips_installed: Vec<IpAddr>,
    pub io_errors: IoErrors,
}

impl InstanceExtra {
    pub fn record(&mut self, transition: Transition, at: SystemTime) {
        self.since = Some(at);
        if self.transitions.len() == TRANSITIONS_KEPT {
            self.transitions.remove(0);
        }
        self.transitions.push(transition);
    }
}

impl VrrpStatus {
    /// Joins the state machine's snapshot with the adapter's facts;
    /// `started` stands in for instances that never changed state.
    pub fn build(
        node: &NodeSnapshot,
        extras: &BTreeMap<String, InstanceExtra>,
        started: SystemTime,
    ) -> Self {
        let empty = InstanceExtra::default();
        let instances = node
            .instances
            .iter()
            .map(|i| {
                let extra = extras.get(&i.name).unwrap_or(&empty);
                instance_status(i, extra, started)
            })
            .collect();
        VrrpStatus {
            instances,
            sync_groups: node
                .sync_groups
                .iter()
                .map(|g| GroupStatus {
                    name: g.name.clone(),
                    state: g.state,
                    members: g.members.clone(),
                })
                .collect(),
            unknown_vrid: node.unknown_vrid,
        }
    }
}

fn instance_status(
    i: &InstanceSnapshot,
    extra: &InstanceExtra,
    started: SystemTime,
) -> InstanceStatus {
    let stats = match serde_json::to_value(i.stats) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_u64()?)))
            .collect(),
        _ => BTreeMap::new(),
    };
    InstanceStatus {
        name: i.name.clone(),
        state: i.state,
        vrid: i.vrid,
        version: i.version,
        interface: i.interface.clone(),
        base_priority: i.base_priority,
        operator_priority: i.operator_priority,
        effective_priority: i.effective_priority,
        master_address: i.master_address,
        master_priority: i.master_priority,
        vips: i.vips.clone(),
        vips_installed: extra.vips_installed.clone(),
        sync_group: i.sync_group.clone(),
        fault_reasons: i.fault_reasons.clone(),
        since_unix_ms: unix_ms(extra.since.unwrap_or(started)),
        transitions: extra.transitions.clone(),
        stats,
        io_errors: extra.io_errors,
    }
}

/// The VRRP section `lvstop --once` prints after the IPVS table.
///
/// ```text
///
/// VRRP Instance    State   Prio    Master           VIPs
/// VI_1             MASTER  100/100 198.51.100.1     198.51.100.100,198.51.100.101
/// VI_2             BACKUP  90/100  198.51.100.2     198.51.100.200
/// ```
///
/// A blank line, a title line, then one line per instance: its name,
/// keepalived's state word (`INIT`, `BACKUP`, `MASTER`, `FAULT`), the
/// effective and the configured priority, the current master's address
/// (`-` when none is known), and the configured VIPs comma-separated (`-`
/// when none). Columns are separated by at least one space; names longer
/// than their column push the rest of the line right. Nothing is printed
/// when the configuration has no `vrrp_instance`.
pub fn render_section(status: &VrrpStatus, out: &mut String) {
    if status.instances.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<16} {:<7} {:<7} {:<16} VIPs",
        "VRRP Instance", "State", "Prio", "Master"
    );
    for i in &status.instances {
        let master = i
            .master_address
            .map_or_else(|| "-".to_string(), |a| a.to_string());
        let vips = if i.vips.is_empty() {
            "-".to_string()
        } else {
            i.vips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let prio = format!("{}/{}", i.effective_priority, i.base_priority);
        let _ = writeln!(
            out,
            "{:<16} {:<7} {:<7} {:<16} {}",
            i.name,
            i.state.keyword(),
            prio,
            master,
            vips
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::vrrp::machine::State;

    fn status() -> VrrpStatus {
        VrrpStatus {
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                state: State::Backup,
                vrid: 51,
                version: 2,
                interface: Some("eth0".into()),
                base_priority: 100,
                operator_priority: None,
                effective_priority: 90,
                master_address: Some("198.51.100.1".parse().unwrap()),
                master_priority: Some(150),
                vips: vec![
                    "198.51.100.100".parse().unwrap(),
                    "198.51.100.101".parse().unwrap(),
                ],
                vips_installed: vec![],
                sync_group: None,
                fault_reasons: vec![],
                since_unix_ms: 1,
                transitions: vec![],
                stats: BTreeMap::from([("advert_rcvd".to_string(), 3)]),
                io_errors: IoErrors::default(),
            }],
            sync_groups: vec![],
            unknown_vrid: 0,
        }
    }

    #[test]
    fn section_has_one_line_per_instance_with_state_priorities_master_and_vips() {
        let mut out = String::new();
        render_section(&status(), &mut out);
        assert_eq!(
            out,
            "\nVRRP Instance    State   Prio    Master           VIPs\n\
             VI_1             BACKUP  90/100  198.51.100.1     198.51.100.100,198.51.100.101\n"
        );
    }

    #[test]
    fn no_instances_print_nothing() {
        let mut out = String::new();
        render_section(&VrrpStatus::default(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn status_round_trips_through_json() {
        let text = serde_json::to_string(&status()).unwrap();
        let back: VrrpStatus = serde_json::from_str(&text).unwrap();
        assert_eq!(back, status());
        assert!(text.contains(r#""state":"BACKUP""#), "{text}");
    }

    #[test]
    fn only_the_last_transitions_are_kept() {
        let mut extra = InstanceExtra::default();
        for n in 0..20 {
            let t = Transition {
                from: State::Backup,
                to: State::Master,
                at_unix_ms: n,
            };
            extra.record(t, UNIX_EPOCH);
        }
        assert_eq!(extra.transitions.len(), TRANSITIONS_KEPT);
        assert_eq!(extra.transitions[0].at_unix_ms, 12);
    }
}
