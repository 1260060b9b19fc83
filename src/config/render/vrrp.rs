//! Renders the VRRP blocks. (Being written.)

use super::Writer;
use crate::config::model::vrrp::VrrpConfig;

pub fn render(_writer: &mut Writer, _vrrp: &VrrpConfig) {}
