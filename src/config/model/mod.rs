//! The typed configuration model: everything a director configuration says,
//! as plain data with source locations.
//!
//! The model records what the operator wrote (after preprocessing and alias
//! resolution); effective values with keepalived's defaults and inheritance
//! come from the `effective_*` methods beside each type. This module never
//! reads files and never reports diagnostics.

pub mod common;
pub mod global;
pub mod lvs;
pub mod vrrp;

pub use common::{RawSetting, Script, Text, Timer};

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub global: global::GlobalDefs,
    pub vrrp: vrrp::VrrpConfig,
    pub lvs: lvs::LvsConfig,
    /// Top-level blocks lvstop recognises but does not act on (bfd_instance,
    /// linkbeat_interfaces, …).
    pub other: Vec<RawSetting>,
}
