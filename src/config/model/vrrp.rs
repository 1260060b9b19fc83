//! VRRP: `vrrp_script`, `track_file`, `vrrp_sync_group`, `vrrp_instance`, and
//! the static addresses, routes and rules. (Being written.)

/// Every VRRP-side top-level block of a configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VrrpConfig {}
