//! Renders `global_defs`. (Being written.)

use super::Writer;
use crate::config::model::global::GlobalDefs;

pub fn render(writer: &mut Writer, global: &GlobalDefs) {
    if global.other.is_empty() {
        return;
    }
    writer.open(&["global_defs"]);
    for setting in &global.other {
        writer.raw(setting);
    }
    writer.close();
    writer.blank();
}
