//! keepalived's verdict: the exit code `keepalived -t` (2.2.7) gives for a
//! configuration, reached from lvstop's own diagnostics and, unless told to
//! stay offline, from the host the check runs on.
//!
//! This module decides exit codes only; it never changes the model and
//! never runs keepalived. lvstop reports more than keepalived does (notes,
//! "parsed, not acted on", stricter advice); those findings are printed but
//! do not move the verdict unless `--strict` asks for lvstop's judgement.
//!
//! keepalived's order of precedence, as measured on 2.2.7:
//! 1. a keyword whose value is missing stops the parse at once (exit 2);
//! 2. otherwise each of its processes (VRRP, checker) judges the file and
//!    the test exits with the worst verdict, 6 over 5 over 0:
//!    - an interface that does not exist on the host ends the VRRP
//!      process once the configuration is read (5), before it looks at
//!      its scripts;
//!    - a script of the process that would run as root without
//!      `enable_script_security` gives 6, whatever else is wrong;
//!    - any configuration error gives 5;
//! 3. otherwise exit 0 (warnings keepalived only logs change nothing).

pub mod classify;
pub mod dropped;
pub mod fixups;
pub mod host;
pub mod missing;
pub mod readers;
pub mod scripts;

use std::collections::HashSet;

use super::diagnostic::{Diagnostic, Diagnostics, Severity};
use super::model::Config;
use super::source::Location;
use classify::Weight;
pub use host::{Host, LiveHost};
pub use scripts::Insecure;

/// keepalived's exit codes under `--config-test`.
pub mod exit {
    pub const OK: u8 = 0;
    /// keepalived stops reading at a keyword whose value is missing.
    pub const ABORTED: u8 = 2;
    pub const CONFIG_ERRORS: u8 = 5;
    pub const SCRIPT_SECURITY: u8 = 6;
}

/// The diagnostic code of a host finding: something keepalived checks on
/// the machine itself (users, script files).
pub const HOST: &str = "host";
/// The diagnostic code of an interface missing on the host: keepalived's
/// VRRP process ends there.
pub const HOST_INTERFACE: &str = "host-interface";
/// The diagnostic code of a script user or group missing on the host: an
/// error, and the scripts that needed that user are removed.
pub const HOST_USER: &str = "host-user";

/// Adds what keepalived would find on `host` (missing interfaces, users,
/// script files) to `diagnostics`, and returns the script-security outcome
/// the host gives.
pub fn check_host(config: &Config, host: &dyn Host, diagnostics: &mut Diagnostics) -> Insecure {
    host::interfaces(config, host, diagnostics);
    check_offline(config, Some(host), diagnostics)
}

/// What keepalived finds without looking at the host: its fix-ups, and
/// the script-security outcome (every script counted as present when
/// `host` is `None`).
pub fn check_offline(
    config: &Config,
    host: Option<&dyn Host>,
    diagnostics: &mut Diagnostics,
) -> Insecure {
    fixups::check(config, diagnostics);
    host::loopback(config, diagnostics);
    scripts::check(config, host, diagnostics)
}

/// keepalived's exit code for a configuration whose diagnostics (host
/// findings included when not offline) are `diagnostics`; `insecure`
/// says which process has a script that would run unguarded (see
/// [`scripts::check`]); findings at `unread` locations are in blocks no
/// keepalived process reads (see [`readers`]) or about virtual servers it
/// drops without a word (see [`dropped`]).
pub fn keepalived_exit(
    diagnostics: &Diagnostics,
    insecure: &Insecure,
    unread: &HashSet<Location>,
) -> u8 {
    let mut errors = false;
    let mut vrrp_ended = false;
    let judged = diagnostics
        .iter()
        .filter(|d| d.location.is_none_or(|at| !unread.contains(&at)));
    for diagnostic in judged {
        match classify::weight(diagnostic) {
            Weight::Aborts => return exit::ABORTED,
            Weight::EndsVrrp => vrrp_ended = true,
            Weight::Error => errors = true,
            Weight::LvstopOnly => {}
        }
    }
    let (vrrp_insecure, checker_insecure) = insecure.read(unread);
    if checker_insecure || (vrrp_insecure && !vrrp_ended) {
        exit::SCRIPT_SECURITY
    } else if vrrp_ended || errors {
        exit::CONFIG_ERRORS
    } else {
        exit::OK
    }
}

/// lvstop's own, stricter judgement (`--strict`): every warning and error
/// is a problem; scripts without `enable_script_security` alone give 6.
pub fn strict_exit(diagnostics: &Diagnostics) -> u8 {
    let mut security = false;
    for diagnostic in diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
    {
        if diagnostic.code == super::validate::SCRIPT_SECURITY {
            security = true;
        } else {
            return exit::CONFIG_ERRORS;
        }
    }
    if security {
        exit::SCRIPT_SECURITY
    } else {
        exit::OK
    }
}

fn host_problem(message: String) -> Diagnostic {
    Diagnostic::warning(HOST, message)
}
