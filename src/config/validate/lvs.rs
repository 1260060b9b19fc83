//! Cross-block rules for the LVS side. (Being written.)

use crate::config::diagnostic::Diagnostics;
use crate::config::model::Config;

pub fn validate(_config: &Config, _diagnostics: &mut Diagnostics) {}
