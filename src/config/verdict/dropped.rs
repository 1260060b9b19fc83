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
/// defined, or a group with an address of another family than one of its
/// real servers that is not tunnelled (a group mixing IPv4 and IPv6 always
/// has one); measured on 2.2.7: exit 0, no output.
pub fn silently(config: &Config, vs: &VirtualServer) -> bool {
    let ServiceAddress::Group(name) = &vs.service.value else {
        return false;
    };
    let Some(group) = config.lvs.groups.iter().find(|g| g.name.value == *name) else {
        return true;
    };
    vs.real_servers
        .iter()
        .filter(|rs| !matches!(rs.effective_method(vs), ForwardMethod::Tun(_)))
        .any(|rs| has_other_family(group, rs.endpoint.value.ip.is_ipv4()))
}

/// Where each silently dropped virtual server and its real servers are
/// written (keepalived reports neither its defaults nor its real servers'
/// family).
pub fn locations(config: &Config) -> HashSet<Location> {
    config
        .lvs
        .virtual_servers
        .iter()
        .filter(|vs| silently(config, vs))
        .flat_map(|vs| {
            std::iter::once(vs.service.at).chain(vs.real_servers.iter().map(|rs| rs.endpoint.at))
        })
        .collect()
}

/// Whether an address of `group` is of the other family than IPv4 when
/// `ipv4`, IPv6 otherwise.
fn has_other_family(group: &VirtualServerGroup, ipv4: bool) -> bool {
    group.members.iter().any(|member| match member.value {
        GroupMember::Addresses { range, .. } => range.bounds().0.is_ipv4() != ipv4,
        _ => false,
    })
}
