//! Validation: rules that span blocks (duplicates, references, address
//! families, scheduler flags, …). Value ranges are checked while parsing;
//! this module only sees the finished model and never changes it.

mod lvs;
mod vrrp;

use crate::config::diagnostic::Diagnostics;
use crate::config::model::Config;

/// Checks a parsed configuration, adding diagnostics.
pub fn validate(config: &Config, diagnostics: &mut Diagnostics) {
    vrrp::validate(config, diagnostics);
    lvs::validate(config, diagnostics);
}
