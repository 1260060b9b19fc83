//! LVS blocks. (Being written.)

use super::Parser;
use crate::config::model::lvs::LvsConfig;
use crate::config::tree::Node;

pub fn virtual_server_group(parser: &mut Parser<'_>, node: &Node, _lvs: &mut LvsConfig) {
    parser.note_unacted(node);
}
pub fn virtual_server(parser: &mut Parser<'_>, node: &Node, _lvs: &mut LvsConfig) {
    parser.note_unacted(node);
}
