//! The typed configuration model: everything a director configuration says,
//! as plain data with source locations.
//!
//! The model records what the operator wrote (after preprocessing and alias
//! resolution); effective values with keepalived's defaults and inheritance
//! come from the `effective_*` methods beside each type. This module never
//! reads files and never reports diagnostics.

pub mod common;
pub mod global;
pub mod lvs;
pub mod vrrp;

pub use common::{RawSetting, Script, Text, Timer};

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub global: global::GlobalDefs,
    pub vrrp: vrrp::VrrpConfig,
    pub lvs: lvs::LvsConfig,
    /// Top-level blocks lvstop recognises but does not act on (bfd_instance,
    /// linkbeat_interfaces, …).
    pub other: Vec<RawSetting>,
}

impl Config {
    /// How many checkers all real servers have together.
    pub fn checker_count(&self) -> usize {
        self.lvs
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .map(|rs| rs.checkers.len())
            .sum()
    }

    /// Every script the configuration would run (notify, tracking, checker
    /// and fifo scripts), in file order within each kind. Script security
    /// applies to all of them.
    pub fn scripts(&self) -> Vec<&Script> {
        let mut out: Vec<&Script> = Vec::new();
        let global = &self.global;
        for fifo in [
            &global.notify_fifo,
            &global.vrrp_notify_fifo,
            &global.lvs_notify_fifo,
        ] {
            out.extend(fifo.script.as_ref());
        }
        for script in &self.vrrp.scripts {
            out.extend(script.script.as_ref());
        }
        for group in &self.vrrp.sync_groups {
            notify_scripts(&group.notify, &mut out);
        }
        for instance in &self.vrrp.instances {
            notify_scripts(&instance.notify, &mut out);
        }
        for vs in &self.lvs.virtual_servers {
            out.extend(vs.quorum_up.as_ref());
            out.extend(vs.quorum_down.as_ref());
            for rs in &vs.real_servers {
                out.extend(rs.notify_up.as_ref());
                out.extend(rs.notify_down.as_ref());
                for checker in &rs.checkers {
                    if let lvs::CheckerKind::Misc(misc) = &checker.kind.value {
                        out.extend(misc.path.as_ref());
                    }
                }
            }
        }
        out
    }
}

fn notify_scripts<'a>(notify: &'a vrrp::Notify, out: &mut Vec<&'a Script>) {
    out.extend(notify.master.as_ref());
    out.extend(notify.backup.as_ref());
    out.extend(notify.fault.as_ref());
    out.extend(notify.stop.as_ref());
    out.extend(notify.deleted.as_ref().and_then(Option::as_ref));
    out.extend(notify.any.as_ref());
    out.extend(notify.master_rx_lower_pri.as_ref());
}
