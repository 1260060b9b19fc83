//! The VRRP side of a plan: for each unit (a sync group with its members,
//! or a lone instance; [`crate::vrrp::driver::units`]) whether a reload
//! adds, removes, restarts or keeps it, and what changed, in the
//! configuration's words. It uses the same comparison as
//! [`crate::vrrp::driver::VrrpService::reload_config`], so the plan says
//! exactly what the reload will do. Pure.

use serde::{Deserialize, Serialize};

use super::textdiff;
use crate::config::model::Config;
use crate::config::render;
use crate::vrrp::driver::units::{self, UnitKey};

/// What a reload does to one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VrrpChangeKind {
    /// Starts (initial state, then election).
    Add,
    /// Stops: priority-0 advert, VIPs released, `notify_stop`.
    Remove,
    /// Stops as above and starts on its new configuration.
    Restart,
    /// Keeps running untouched: same state, no election.
    Keep,
}

/// One unit in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpChange {
    pub unit: UnitKey,
    pub action: VrrpChangeKind,
    /// Its instances (the new configuration's, or the old one's when it
    /// goes away).
    pub instances: Vec<String>,
    /// What changed, one line each, already prefixed
    /// (`VRRP VI_1: priority 100 -> 90`).
    pub details: Vec<String>,
}

impl VrrpChange {
    /// The human lines of this change; none for a kept unit.
    pub fn lines(&self) -> Vec<String> {
        let who = match &self.unit {
            UnitKey::Instance(name) => name.clone(),
            UnitKey::SyncGroup(name) => format!("sync group {name}"),
        };
        let members = || match &self.unit {
            UnitKey::SyncGroup(_) => format!(" ({})", self.instances.join(", ")),
            UnitKey::Instance(_) => String::new(),
        };
        match self.action {
            VrrpChangeKind::Keep => Vec::new(),
            VrrpChangeKind::Add => vec![format!("VRRP {who}: added{}", members())],
            VrrpChangeKind::Remove => vec![format!(
                "VRRP {who}: removed{} (priority 0 sent, VIPs released)",
                members()
            )],
            VrrpChangeKind::Restart => {
                let mut out = self.details.clone();
                out.push(format!(
                    "VRRP {who}: restarts{} on its new configuration",
                    members()
                ));
                out
            }
        }
    }
}

/// How one changed unit's configuration differs, outside `global_defs`
/// (reported with the settings).
fn restart_details(old: &Config, new: &Config) -> Vec<String> {
    let strip = |c: &Config| {
        let mut c = c.clone();
        c.global = Default::default();
        render::render(&c)
    };
    let mut out: Vec<String> = textdiff::changes(&strip(old), &strip(new), 1)
        .into_iter()
        .map(|change| match change.outer.strip_prefix("vrrp_instance ") {
            Some(name) => format!("VRRP {name}: {}", change.phrase),
            None => format!("VRRP {}: {}", change.outer, change.phrase),
        })
        .collect();
    if out.is_empty() {
        out.push("VRRP: global settings its instances inherit changed".to_string());
    }
    out
}

/// Every unit of `running` and `candidate` with what a reload does to it,
/// in the candidate's order, removed units last.
pub fn diff(running: &Config, candidate: &Config) -> Vec<VrrpChange> {
    let before = units::slices(running);
    let after = units::slices(candidate);
    let changed = units::diff(running, candidate);
    let mut out = Vec::new();
    for unit in units::units(candidate) {
        let Some((_, new_slice)) = after.get(&unit.key) else {
            continue;
        };
        let (action, details) = match before.get(&unit.key) {
            None => (VrrpChangeKind::Add, Vec::new()),
            Some((_, old_slice)) if changed.changed.contains(&unit.key) => (
                VrrpChangeKind::Restart,
                restart_details(old_slice, new_slice),
            ),
            Some(_) => (VrrpChangeKind::Keep, Vec::new()),
        };
        out.push(VrrpChange {
            unit: unit.key,
            action,
            instances: unit.instances,
            details,
        });
    }
    for unit in units::units(running) {
        if !after.contains_key(&unit.key) {
            out.push(VrrpChange {
                unit: unit.key,
                action: VrrpChangeKind::Remove,
                instances: unit.instances,
                details: Vec::new(),
            });
        }
    }
    out
}
