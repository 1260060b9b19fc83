//! Scripts as keepalived 2.2.7 judges them when testing a configuration.
//!
//! keepalived.conf(5), "SCRIPTS": without `enable_script_security`,
//! every script keepalived finds runs as root and the test fails with
//! "SECURITY VIOLATION" (exit 6). With it, scripts run as `script_user`
//! (by default the user `keepalived_script`, which must then exist). A
//! `vrrp_script` whose program is not found is disabled and counted as an
//! error; a MISC_CHECK or notify script that is not found is silently
//! skipped.

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::lvs::CheckerKind;
use crate::config::model::{Config, Script};

use super::host::Host;

/// keepalived's default script user under `enable_script_security`.
const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// How keepalived treats a script whose program is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `vrrp_script`: disabled, an error.
    Tracking,
    /// `MISC_CHECK`, notify and fifo scripts: skipped silently.
    Notify,
}

/// The scripts keepalived would look at, with their role. keepalived runs
/// its VRRP process only for a configuration with a `vrrp_instance`, and
/// its checker process only with a `virtual_server`: the scripts of a
/// process that does not run are never looked at.
fn notify<'c>(script: Option<&'c Script>, out: &mut Vec<(&'c Script, Role)>) {
    if let Some(script) = script {
        out.push((script, Role::Notify));
    }
}

fn scripts(config: &Config) -> Vec<(&Script, Role)> {
    let mut out: Vec<(&Script, Role)> = Vec::new();
    let global = &config.global;
    let vrrp = !config.vrrp.instances.is_empty();
    let checker = !config.lvs.virtual_servers.is_empty();
    if vrrp || checker {
        notify(global.notify_fifo.script.as_ref(), &mut out);
    }
    if vrrp {
        notify(global.vrrp_notify_fifo.script.as_ref(), &mut out);
        for tracker in &config.vrrp.scripts {
            // A vrrp_script's own `user` runs it as someone else.
            let as_other = tracker.user.as_ref().is_some_and(|u| u.value != "root");
            if let Some(script) = tracker.script.as_ref().filter(|_| !as_other) {
                out.push((script, Role::Tracking));
            }
        }
        let groups = config.vrrp.sync_groups.iter().map(|g| &g.notify);
        let instances = config.vrrp.instances.iter().map(|i| &i.notify);
        for n in groups.chain(instances) {
            for script in [
                &n.master,
                &n.backup,
                &n.fault,
                &n.stop,
                &n.any,
                &n.master_rx_lower_pri,
            ] {
                notify(script.as_ref(), &mut out);
            }
            notify(n.deleted.as_ref().and_then(Option::as_ref), &mut out);
        }
    }
    if checker {
        notify(global.lvs_notify_fifo.script.as_ref(), &mut out);
        for vs in &config.lvs.virtual_servers {
            notify(vs.quorum_up.as_ref(), &mut out);
            notify(vs.quorum_down.as_ref(), &mut out);
            for rs in &vs.real_servers {
                notify(rs.notify_up.as_ref(), &mut out);
                notify(rs.notify_down.as_ref(), &mut out);
                for checker in &rs.checkers {
                    if let CheckerKind::Misc(misc) = &checker.kind.value {
                        notify(misc.path.as_ref(), &mut out);
                    }
                }
            }
        }
    }
    out
}

/// A script given its own user other than root does not run as root.
fn runs_as_root(script: &Script) -> bool {
    script.user.as_deref().is_none_or(|user| user == "root")
}

/// Adds host findings about scripts and returns whether keepalived would
/// fail the test for script security. Without a host (`--offline`) every
/// script counts as found.
pub fn check(config: &Config, host: Option<&dyn Host>, diagnostics: &mut Diagnostics) -> bool {
    let global = &config.global;
    if let (Some(user), Some(host)) = (&global.script_user, host) {
        if !host.user_exists(&user.value) {
            diagnostics.push(
                Diagnostic::warning(
                    super::HOST_USER,
                    format!("script_user '{}' does not exist on this host", user.value),
                )
                .at(user.at),
            );
        }
        if let Some(group) = &global.script_group {
            if !host.group_exists(group) {
                diagnostics.push(
                    Diagnostic::warning(
                        super::HOST_USER,
                        format!("script group '{group}' does not exist on this host"),
                    )
                    .at(user.at),
                );
            }
        }
    }
    let mut found_any = false;
    for (script, role) in scripts(config) {
        let program = script.argv.first().map_or("", String::as_str);
        let found = host.is_none_or(|h| h.find_program(program).is_some());
        if found {
            found_any |= runs_as_root(script);
        } else if role == Role::Tracking {
            diagnostics.push(
                super::host_problem(format!(
                    "script '{program}' is not found on this host: keepalived disables it"
                ))
                .at(script.at),
            );
        }
    }
    if !found_any {
        return false;
    }
    if !global.enable_script_security {
        return true;
    }
    if let (None, Some(host)) = (&global.script_user, host) {
        if !host.user_exists(DEFAULT_SCRIPT_USER) {
            if let Some((script, _)) = scripts(config).first() {
                diagnostics.push(
                    super::host_problem(format!(
                        "no script_user is set and the default user '{DEFAULT_SCRIPT_USER}' does not exist on this host"
                    ))
                    .at(script.at),
                );
            }
        }
    }
    false
}
