//! Virtual servers keepalived 2.2.7 drops without a word once the
//! configuration is read: nothing it would have reported about them
//! (defaults it fills in, their scripts) reaches its verdict.

use std::collections::HashSet;

use crate::config::model::lvs::{
    ForwardMethod, GroupMember, ServiceAddress, VirtualServer, VirtualServerGroup,
};
use crate::config::model::Config;
use crate::config::source::Location;

/// Whether keepalived drops `vs` silently: it names a group that is not
/// defined, or a group mixing IPv4 and IPv6 while one of its real servers
/// is not tunnelled (both measured on 2.2.7: exit 0, no output).
pub fn silently(config: &Config, vs: &VirtualServer) -> bool {
    let ServiceAddress::Group(name) = &vs.service.value else {
        return false;
    };
    let Some(group) = config.lvs.groups.iter().find(|g| g.name.value == *name) else {
        return true;
    };
    let untunnelled = vs
        .real_servers
        .iter()
        .any(|rs| !matches!(rs.effective_method(vs), ForwardMethod::Tun(_)));
    untunnelled && mixes_families(group)
}

/// Where each silently dropped virtual server is written.
pub fn locations(config: &Config) -> HashSet<Location> {
    config
        .lvs
        .virtual_servers
        .iter()
        .filter(|vs| silently(config, vs))
        .map(|vs| vs.service.at)
        .collect()
}

fn mixes_families(group: &VirtualServerGroup) -> bool {
    let mut families = group
        .members
        .iter()
        .filter_map(|member| match member.value {
            GroupMember::Addresses { range, .. } => Some(range.bounds().0.is_ipv4()),
            _ => None,
        });
    families
        .next()
        .is_some_and(|first| families.any(|other| other != first))
}
