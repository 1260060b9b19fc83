//! VRRP blocks. (Being written.)

use super::Parser;
use crate::config::model::vrrp::VrrpConfig;
use crate::config::tree::Node;

pub fn vrrp_script(parser: &mut Parser<'_>, node: &Node, _vrrp: &mut VrrpConfig) {
    parser.note_unacted(node);
}
pub fn track_file(parser: &mut Parser<'_>, node: &Node, _vrrp: &mut VrrpConfig) {
    parser.note_unacted(node);
}
pub fn sync_group(parser: &mut Parser<'_>, node: &Node, _vrrp: &mut VrrpConfig) {
    parser.note_unacted(node);
}
pub fn instance(parser: &mut Parser<'_>, node: &Node, _vrrp: &mut VrrpConfig) {
    parser.note_unacted(node);
}
pub fn static_addresses(parser: &mut Parser<'_>, node: &Node, _vrrp: &mut VrrpConfig) {
    parser.note_unacted(node);
}
pub fn static_routes(parser: &mut Parser<'_>, node: &Node, _vrrp: &mut VrrpConfig) {
    parser.note_unacted(node);
}
pub fn static_rules(parser: &mut Parser<'_>, node: &Node, _vrrp: &mut VrrpConfig) {
    parser.note_unacted(node);
}
