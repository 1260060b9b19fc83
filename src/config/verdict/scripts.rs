//! Scripts as keepalived 2.2.7 judges them when testing a configuration.
//!
//! keepalived.conf(5), "SCRIPTS": without `enable_script_security`,
//! every script keepalived finds runs as root and the test fails with
//! "SECURITY VIOLATION" (exit 6). With it, scripts run as `script_user`
//! (by default the user `keepalived_script`, which must then exist). A
//! tracking script or MISC_CHECK whose program is not found is disabled
//! and counted as an error; a notify script that is not found is
//! silently skipped.

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::lvs::CheckerKind;
use crate::config::model::{Config, Script};

use super::host::Host;

/// keepalived's default script user under `enable_script_security`.
const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// How keepalived treats a script whose program is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `vrrp_script` and `MISC_CHECK`: disabled, an error.
    Tracking,
    /// notify and fifo scripts: skipped silently.
    Notify,
}

fn scripts(config: &Config) -> Vec<(&Script, Role)> {
    // Without a vrrp_instance keepalived runs no VRRP process, so its
    // vrrp_scripts are never looked at.
    let unused: Vec<&Script> = if config.vrrp.instances.is_empty() {
        config
            .vrrp
            .scripts
            .iter()
            .filter_map(|s| s.script.as_ref())
            .collect()
    } else {
        Vec::new()
    };
    let tracking: Vec<&Script> = config
        .vrrp
        .scripts
        .iter()
        .filter_map(|s| s.script.as_ref())
        .chain(
            config
                .lvs
                .virtual_servers
                .iter()
                .flat_map(|vs| &vs.real_servers)
                .flat_map(|rs| &rs.checkers)
                .filter_map(|c| match &c.kind.value {
                    CheckerKind::Misc(misc) => misc.path.as_ref(),
                    _ => None,
                }),
        )
        .collect();
    config
        .scripts()
        .into_iter()
        .filter(|s| !unused.iter().any(|u| std::ptr::eq(*u, *s)))
        .map(|s| {
            let role = if tracking.iter().any(|t| std::ptr::eq(*t, s)) {
                Role::Tracking
            } else {
                Role::Notify
            };
            (s, role)
        })
        .collect()
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
            found_any = true;
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
