//! `global_defs`. (Being written.)

use super::Parser;
use crate::config::model::global::GlobalDefs;
use crate::config::tree::Node;

pub fn global_defs(parser: &mut Parser<'_>, node: &Node, global: &mut GlobalDefs) {
    parser.keep(node, &mut global.other);
}
