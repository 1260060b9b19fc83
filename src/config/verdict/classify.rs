//! Which of lvstop's diagnostics keepalived 2.2.7 also counts against a
//! configuration under `--config-test`, measured by the differential test
//! (`tests/tier2/tier2_check_differential.rs`).

use crate::config::diagnostic::{Diagnostic, Severity};

/// What a diagnostic weighs in keepalived's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// keepalived stops reading there (exit 2).
    Aborts,
    /// keepalived's VRRP process ends once the configuration is read
    /// (exit 5), before judging its scripts.
    EndsVrrp,
    /// keepalived reports a configuration error (exit 5).
    Error,
    /// lvstop's own finding: keepalived accepts this silently, only logs
    /// it, or fixes it up at run time.
    LvstopOnly,
}

/// Findings keepalived does not count as configuration errors.
const LVSTOP_ONLY: &[&str] = &[
    // lvstop's own advice about what it implements.
    "not-acted-on",
    "deprecated-keyword",
    "alias-keyword",
    "nb-get-retry-mapped",
    // keepalived ignores words after a keyword's last value.
    "extra-value",
    // keepalived drops a virtual server naming an undefined group silently.
    "undefined-group",
    // keepalived keeps a repeated virtual_server_group entry without a word.
    "duplicate-group-member",
    // keepalived reads the lines after a list keyword without '{' silently;
    // what it then finds in them is judged on its own.
    crate::config::tree::LINES_WITHOUT_BRACE,
    // keepalived ignores a '{' that opens no block ("Unexpected '{'");
    // the '}' balancing it is then an unknown keyword, an error.
    crate::config::tree::IGNORED_OPEN,
    super::missing::ACCEPTED,
    // keepalived judges scripts from the files themselves (see `scripts`).
    crate::config::validate::SCRIPT_SECURITY,
];

pub fn weight(diagnostic: &Diagnostic) -> Weight {
    if diagnostic.severity == Severity::Note || LVSTOP_ONLY.contains(&diagnostic.code) {
        return Weight::LvstopOnly;
    }
    // keepalived reads a keyword's value by position; when the value is
    // absent it reports the line and stops reading the configuration.
    if diagnostic.code == super::missing::ABORTS && diagnostic.severity == Severity::Error {
        return Weight::Aborts;
    }
    if diagnostic.code == super::HOST_INTERFACE {
        return Weight::EndsVrrp;
    }
    Weight::Error
}
