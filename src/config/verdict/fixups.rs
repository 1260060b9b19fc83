//! Defaults keepalived 2.2.7 fills in while reporting them as
//! configuration errors: `keepalived -t` fails on them (exit 5) although
//! the daemon would run. lvstop applies the same defaults silently, so
//! these findings exist only to reach keepalived's verdict.

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::Config;

/// The diagnostic code of such a fix-up.
pub const FIXUP: &str = "keepalived-fixup";

fn fixup(message: String) -> Diagnostic {
    Diagnostic::warning(FIXUP, message)
}

/// keepalived.conf(5) makes `lb_algo` and `lb_kind` optional, but
/// keepalived reports a virtual server without them ("no scheduler set",
/// "no forwarding method set"), and one without real servers is ignored
/// with an error.
pub fn check(config: &Config, diagnostics: &mut Diagnostics) {
    for vs in &config.lvs.virtual_servers {
        let at = vs.service.at;
        if vs.scheduler.is_none() {
            diagnostics.push(
                fixup("keepalived reports a virtual server without 'lb_algo' (it uses wlc)".into())
                    .at(at),
            );
        }
        if vs.method.is_none() {
            diagnostics.push(
                fixup("keepalived reports a virtual server without 'lb_kind' (it uses NAT)".into())
                    .at(at),
            );
        }
        if vs.real_servers.is_empty() {
            diagnostics.push(
                fixup("keepalived ignores a virtual server without real servers".into()).at(at),
            );
        }
    }
    // An instance tracking its own interface: keepalived drops that entry
    // with an error (its own interface is always watched).
    for instance in &config.vrrp.instances {
        let Some(own) = &instance.interface else {
            continue;
        };
        for tracked in instance
            .track_interfaces
            .iter()
            .filter(|t| t.name.value == own.value)
        {
            diagnostics.push(
                fixup(format!(
                    "keepalived ignores tracking '{}', the instance's own interface, and reports it",
                    own.value
                ))
                .at(tracked.name.at),
            );
        }
    }
}
