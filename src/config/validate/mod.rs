//! Validation: rules that span blocks (duplicates, references, address
//! families, scheduler flags, …). Value ranges are checked while parsing;
//! this module only sees the finished model and never changes it.

mod lvs;
mod vrrp;

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::Config;

/// The code of the script-security diagnostic; on its own it makes `lvstop
/// check` exit 6, as keepalived's `--config-test` does.
pub const SCRIPT_SECURITY: &str = "script-security";

/// Checks a parsed configuration, adding diagnostics.
pub fn validate(config: &Config, diagnostics: &mut Diagnostics) {
    vrrp::validate(config, diagnostics);
    lvs::validate(config, diagnostics);
    script_security(config, diagnostics);
}

/// keepalived.conf(5), SCRIPTS: scripts run as root unless told otherwise,
/// so keepalived refuses to vouch for a configuration that runs scripts
/// without `enable_script_security` ("SECURITY VIOLATION", exit 6 under
/// `--config-test`).
fn script_security(config: &Config, diagnostics: &mut Diagnostics) {
    if config.global.enable_script_security {
        return;
    }
    let scripts = config.scripts();
    let Some(first) = scripts.first() else {
        return;
    };
    let count = scripts.len();
    let program = first.argv.first().map_or("", String::as_str);
    diagnostics.push(
        Diagnostic::warning(
            SCRIPT_SECURITY,
            format!(
                "{count} script(s) configured (first: '{program}') but enable_script_security is not set: they would run as root without checking who can change them"
            ),
        )
        .at(first.at)
        .with_help("add 'enable_script_security' to global_defs, and 'script_user USER' for a non-root user"),
    );
}
