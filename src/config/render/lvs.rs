//! Renders the LVS blocks. (Being written.)

use super::Writer;
use crate::config::model::lvs::LvsConfig;

pub fn render(_writer: &mut Writer, _lvs: &LvsConfig) {}
