//! LVS: `virtual_server_group`, `virtual_server`, `real_server` and the
//! health checkers. (Being written.)

/// Every LVS-side top-level block of a configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LvsConfig {}
