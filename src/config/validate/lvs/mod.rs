//! Cross-block rules for the LVS side: duplicate services and real servers,
//! references to groups, address families, ports under DR/TUN and fwmark,
//! scheduler names and flags, quorum, and checkers that keepalived would
//! drop. Each rule has a stable kebab-case code and points at the culprit.
//!
//! Works in one pass with hash sets (configurations with tens of thousands
//! of real servers are normal); never changes the model.

mod checkers;

use crate::config::model::lvs::PersistenceMask;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::lvs::{
    ForwardMethod, GroupMember, IpFamily, LvsConfig, Protocol, SchedFlag, ServiceAddress,
    VirtualServer, VirtualServerGroup,
};
use crate::config::model::Config;
use crate::config::source::Location;

/// Scheduler names the Linux kernel ships (an open set: out-of-tree
/// schedulers exist, so an unknown name is a warning).
pub const KNOWN_SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

pub fn validate(config: &Config, diagnostics: &mut Diagnostics) {
    let lvs = &config.lvs;
    let groups = groups_by_name(lvs, diagnostics);
    let mut services: HashMap<ServiceKey<'_>, Location> =
        HashMap::with_capacity(lvs.virtual_servers.len());
    let mut seen_rs: HashSet<(IpAddr, u16)> = HashSet::new();
    for vs in &lvs.virtual_servers {
        duplicate_service(vs, &mut services, diagnostics);
        group_reference(vs, &groups, diagnostics);
        scheduler(vs, diagnostics);
        service_options(vs, diagnostics);
        let family = service_family(vs, &groups);
        group_family_mix(vs, family, &groups, diagnostics);
        real_servers(vs, family, &mut seen_rs, diagnostics);
        sorry_server(vs, family, diagnostics);
        quorum(vs, diagnostics);
        for rs in &vs.real_servers {
            for checker in &rs.checkers {
                checkers::checker(checker, diagnostics);
            }
        }
    }
}

/// What makes two virtual servers the same IPVS service.
#[derive(Debug, PartialEq, Eq, Hash)]
enum ServiceKey<'a> {
    Address(Option<Protocol>, IpAddr, u16),
    Fwmark(u32, Option<IpFamily>),
    Group(Option<Protocol>, &'a str),
}

fn groups_by_name<'a>(
    lvs: &'a LvsConfig,
    diagnostics: &mut Diagnostics,
) -> HashMap<&'a str, &'a VirtualServerGroup> {
    let mut groups: HashMap<&str, &VirtualServerGroup> = HashMap::new();
    for group in &lvs.groups {
        if let Some(first) = groups.insert(group.name.value.as_str(), group) {
            diagnostics.push(
                Diagnostic::warning(
                    "duplicate-group",
                    format!(
                        "virtual_server_group '{}' is defined twice (first at line {})",
                        group.name.value, first.name.at.line
                    ),
                )
                .spanning(group.name.at, group.name.value.chars().count())
                .with_help("merge the two groups or rename one"),
            );
        }
        let mut members = HashSet::new();
        for member in &group.members {
            if !members.insert(member.value) {
                diagnostics.push(
                    Diagnostic::warning(
                        "duplicate-group-member",
                        format!(
                            "this entry repeats an earlier one in virtual_server_group '{}'",
                            group.name.value
                        ),
                    )
                    .at(member.at),
                );
            }
        }
    }
    groups
}

fn duplicate_service<'a>(
    vs: &'a VirtualServer,
    services: &mut HashMap<ServiceKey<'a>, Location>,
    diagnostics: &mut Diagnostics,
) {
    let key = match &vs.service.value {
        ServiceAddress::Address { ip, .. } => {
            ServiceKey::Address(vs.effective_protocol(), *ip, vs.port())
        }
        ServiceAddress::Fwmark(mark) => ServiceKey::Fwmark(*mark, vs.ip_family.map(|f| f.value)),
        ServiceAddress::Group(name) => ServiceKey::Group(vs.effective_protocol(), name),
    };
    if let Some(first) = services.get(&key) {
        diagnostics.push(
            Diagnostic::warning(
                "duplicate-virtual-server",
                format!(
                    "virtual server {} is declared twice (first at line {}); both would \
                     program the same IPVS service",
                    describe(vs),
                    first.line
                ),
            )
            .at(vs.service.at)
            .with_help("merge the real servers into one virtual_server block"),
        );
    } else {
        services.insert(key, vs.service.at);
    }
}

fn group_reference(
    vs: &VirtualServer,
    groups: &HashMap<&str, &VirtualServerGroup>,
    diagnostics: &mut Diagnostics,
) {
    if let ServiceAddress::Group(name) = &vs.service.value {
        if !groups.contains_key(name.as_str()) {
            let mut diagnostic = Diagnostic::warning(
                "undefined-group",
                format!("virtual_server_group '{name}' is not defined; this virtual server does nothing"),
            )
            .at(vs.service.at);
            let names: Vec<&str> = groups.keys().copied().collect();
            if let Some(close) = names
                .iter()
                .min_by_key(|n| strsim::levenshtein(n, name))
                .filter(|n| strsim::levenshtein(n, name) <= 2)
            {
                diagnostic = diagnostic.with_help(format!("did you mean '{close}'?"));
            } else {
                diagnostic =
                    diagnostic.with_help("define it with 'virtual_server_group NAME { … }'");
            }
            diagnostics.push(diagnostic);
        }
    }
}

fn scheduler(vs: &VirtualServer, diagnostics: &mut Diagnostics) {
    let name = vs.effective_scheduler();
    if let Some(written) = &vs.scheduler {
        if !KNOWN_SCHEDULERS.contains(&name) {
            diagnostics.push(
                Diagnostic::warning(
                    "unknown-scheduler",
                    format!(
                        "lvs_sched '{name}' is not a scheduler the Linux kernel ships; \
                         keepalived 2.2.7 ignores it and uses 'wlc'"
                    ),
                )
                .spanning(written.at, name.chars().count())
                .with_help(format!("use one of {}", KNOWN_SCHEDULERS.join(" "))),
            );
        }
    }
    for flag in &vs.sched_flags {
        let Some(owner) = flag.value.scheduler() else {
            continue;
        };
        if owner == name {
            continue;
        }
        let keyword = flag.value.keyword();
        let diagnostic = if name == "sh" || name == "mh" {
            let other = match flag.value {
                SchedFlag::ShPort => "mh-port",
                SchedFlag::MhPort => "sh-port",
                SchedFlag::ShFallback => "mh-fallback",
                _ => "sh-fallback",
            };
            Diagnostic::warning(
                "sched-flag-scheduler",
                format!(
                    "'{keyword}' is written for the {owner} scheduler; with {name} it sets the \
                     same kernel flag as '{other}'"
                ),
            )
            .with_help(format!("write '{other}'"))
        } else {
            Diagnostic::warning(
                "sched-flag-scheduler",
                format!(
                    "'{keyword}' only applies to the {owner} scheduler; keepalived ignores it \
                     with '{name}'"
                ),
            )
            .with_help(format!("remove it, or set 'lvs_sched {owner}'"))
        };
        diagnostics.push(diagnostic.spanning(flag.at, keyword.len()));
    }
}

fn service_options(vs: &VirtualServer, diagnostics: &mut Diagnostics) {
    let at = vs.service.at;
    // keepalived 2.2.7: "Invalid IPv6 persistence_granularity specified -
    // 255.255.255.0": a netmask is IPv4 only; the setting is dropped.
    if let (ServiceAddress::Address { ip, .. }, Some(granularity)) =
        (&vs.service.value, vs.persistence_granularity)
    {
        if let (true, PersistenceMask::Netmask(mask)) = (ip.is_ipv6(), granularity.value) {
            diagnostics.push(
                Diagnostic::error(
                    "granularity-family",
                    format!(
                        "persistence_granularity {mask} is an IPv4 netmask, but the virtual server is IPv6: keepalived reports it and ignores it"
                    ),
                )
                .at(granularity.at)
                .with_help("give an IPv6 virtual server a prefix length, e.g. 'persistence_granularity 64'"),
            );
        }
    }
    if let (ServiceAddress::Fwmark(_), Some(protocol)) = (&vs.service.value, vs.protocol) {
        diagnostics.push(
            Diagnostic::warning(
                "fwmark-protocol",
                "a fwmark service has no protocol; keepalived ignores 'protocol' here",
            )
            .at(protocol.at)
            .with_help("remove the 'protocol' line"),
        );
    }
    if vs.protocol.is_none() && !matches!(vs.service.value, ServiceAddress::Fwmark(_)) {
        diagnostics.push(
            Diagnostic::warning(
                "protocol-unset",
                format!(
                    "virtual server {} has no 'protocol'; keepalived 2.2.7 then uses UDP",
                    describe(vs)
                ),
            )
            .at(at)
            .with_help("add 'protocol TCP' (or UDP/SCTP) to the block"),
        );
    }
    if let Some(ops) = vs.one_packet.filter(|o| o.value) {
        if vs.effective_protocol() != Some(Protocol::Udp) {
            diagnostics.push(
                Diagnostic::warning(
                    "ops-needs-udp",
                    "one-packet scheduling ('ops') only works for UDP; keepalived turns it off",
                )
                .spanning(ops.at, 3)
                .with_help("remove 'ops', or use 'protocol UDP'"),
            );
        }
    }
    if matches!(vs.service.value, ServiceAddress::Address { .. })
        && vs.port() == 0
        && vs.persistence_timeout.is_none()
    {
        diagnostics.push(
            Diagnostic::warning(
                "zero-port-not-persistent",
                "a virtual server without a port must be persistent; keepalived makes it \
                 persistent with the default timeout (360 s)",
            )
            .at(at)
            .with_help("add 'persistence_timeout N', or give the service a port"),
        );
    }
    if let Some(h) = vs.hysteresis {
        if h.value > 0 && h.value >= vs.effective_quorum() {
            diagnostics.push(
                Diagnostic::warning(
                    "hysteresis-not-below-quorum",
                    format!(
                        "hysteresis {} is not below quorum {}; keepalived sets it to 0",
                        h.value,
                        vs.effective_quorum()
                    ),
                )
                .at(h.at)
                .with_help("use a hysteresis smaller than the quorum"),
            );
        }
    }
}

/// The address family of the service, when it has one of its own.
fn service_family(
    vs: &VirtualServer,
    groups: &HashMap<&str, &VirtualServerGroup>,
) -> Option<IpFamily> {
    match &vs.service.value {
        ServiceAddress::Address { ip, .. } => Some(IpFamily::of(*ip)),
        ServiceAddress::Fwmark(_) => vs.fwmark_family(),
        ServiceAddress::Group(name) => {
            let group = groups.get(name.as_str())?;
            let mut family = None;
            for member in &group.members {
                if let GroupMember::Addresses { range, .. } = member.value {
                    let f = IpFamily::of(range.bounds().0);
                    if family.is_some_and(|known| known != f) {
                        return None;
                    }
                    family = Some(f);
                }
            }
            family
        }
    }
}

/// keepalived.conf(5): a group may mix IPv4 and IPv6 only when every real
/// and sorry server of the virtual servers using it is tunnelled.
fn group_family_mix(
    vs: &VirtualServer,
    family: Option<IpFamily>,
    groups: &HashMap<&str, &VirtualServerGroup>,
    diagnostics: &mut Diagnostics,
) {
    let ServiceAddress::Group(name) = &vs.service.value else {
        return;
    };
    let has_addresses = groups.get(name.as_str()).is_some_and(|g| {
        g.members
            .iter()
            .any(|m| matches!(m.value, GroupMember::Addresses { .. }))
    });
    if family.is_some() || !has_addresses {
        return;
    }
    let untunnelled = vs
        .real_servers
        .iter()
        .find(|rs| !matches!(rs.effective_method(vs), ForwardMethod::Tun(_)));
    if let Some(rs) = untunnelled {
        diagnostics.push(
            Diagnostic::warning(
                "group-family-mix",
                format!(
                    "virtual_server_group '{name}' mixes IPv4 and IPv6 addresses, which only \
                     works when every real server is tunnelled; real server {} is not",
                    rs.endpoint.value.ip
                ),
            )
            .at(vs.service.at)
            .with_help("split the group by address family, or use 'lvs_method TUN'"),
        );
    }
}

fn real_servers(
    vs: &VirtualServer,
    family: Option<IpFamily>,
    seen: &mut HashSet<(IpAddr, u16)>,
    diagnostics: &mut Diagnostics,
) {
    seen.clear();
    let fwmark = matches!(vs.service.value, ServiceAddress::Fwmark(_));
    let address_service = matches!(vs.service.value, ServiceAddress::Address { .. });
    for rs in &vs.real_servers {
        let endpoint = rs.endpoint.value;
        let at = rs.endpoint.at;
        let method = rs.effective_method(vs);
        if !seen.insert((endpoint.ip, rs.effective_port(vs))) {
            diagnostics.push(
                Diagnostic::warning(
                    "duplicate-real-server",
                    format!(
                        "real server {} is listed twice in virtual server {}; keepalived \
                         drops the second",
                        describe_endpoint(endpoint.ip, rs.effective_port(vs)),
                        describe(vs)
                    ),
                )
                .at(at)
                .with_help("remove one of the two real_server blocks"),
            );
        }
        if let (Some(vs_family), false) = (family, matches!(method, ForwardMethod::Tun(_))) {
            if IpFamily::of(endpoint.ip) != vs_family {
                diagnostics.push(
                    Diagnostic::warning(
                        "address-family-mismatch",
                        format!(
                            "real server {} is {} but virtual server {} is {}; keepalived skips \
                             this real server",
                            endpoint.ip,
                            IpFamily::of(endpoint.ip).as_str(),
                            describe(vs),
                            vs_family.as_str()
                        ),
                    )
                    .at(at)
                    .with_help("only tunnelled (lvs_method TUN) real servers may differ in family"),
                );
            }
        }
        match endpoint.port {
            Some(port) if fwmark && port != 0 => diagnostics.push(
                Diagnostic::warning(
                    "fwmark-real-server-port",
                    format!(
                        "real server port {port} is ignored: a fwmark service has no ports, \
                         keepalived clears it"
                    ),
                )
                .at(at)
                .with_help("drop the port from the real_server line"),
            ),
            Some(port) if address_service && method.keeps_port() && port != vs.port() => {
                diagnostics.push(
                    Diagnostic::warning(
                        "real-server-port-mismatch",
                        format!(
                            "real server port {port} differs from the virtual server port {}; \
                             DR and TUN cannot change ports, so keepalived uses {}",
                            vs.port(),
                            vs.port()
                        ),
                    )
                    .at(at)
                    .with_help(format!(
                        "use port {} or the NAT method (lvs_method NAT)",
                        vs.port()
                    )),
                )
            }
            None if address_service && vs.port() != 0 && !method.keeps_port() => diagnostics.push(
                Diagnostic::warning(
                    "real-server-port-missing",
                    format!(
                        "real server {} has no port; it gets the virtual server's port {}",
                        endpoint.ip,
                        vs.port()
                    ),
                )
                .at(at)
                .with_help(format!(
                    "write 'real_server {} {}'",
                    endpoint.ip,
                    vs.port()
                )),
            ),
            _ => {}
        }
        if let (Some(u), Some(l)) = (rs.uthreshold, rs.lthreshold) {
            if u.value != 0 && l.value > u.value {
                diagnostics.push(
                    Diagnostic::warning(
                        "threshold-order",
                        format!(
                            "lthreshold {} is above uthreshold {}; the server would never \
                             be re-enabled",
                            l.value, u.value
                        ),
                    )
                    .at(l.at)
                    .with_help("make lthreshold smaller than uthreshold"),
                );
            }
        }
    }
}

fn sorry_server(vs: &VirtualServer, family: Option<IpFamily>, diagnostics: &mut Diagnostics) {
    let Some(sorry) = vs.sorry_server else {
        return;
    };
    let method = vs
        .sorry_server_method
        .map(|m| m.value)
        .unwrap_or_else(|| vs.effective_method());
    if let Some(vs_family) = family {
        let tunnelled = matches!(method, ForwardMethod::Tun(_));
        if !tunnelled && IpFamily::of(sorry.value.ip) != vs_family {
            diagnostics.push(
                Diagnostic::warning(
                    "address-family-mismatch",
                    format!(
                        "sorry_server {} is {} but the virtual server is {}",
                        sorry.value.ip,
                        IpFamily::of(sorry.value.ip).as_str(),
                        vs_family.as_str()
                    ),
                )
                .at(sorry.at)
                .with_help("only a tunnelled sorry server may differ in family"),
            );
        }
    }
    if matches!(vs.service.value, ServiceAddress::Fwmark(_))
        && sorry.value.port.is_some_and(|p| p != 0)
    {
        diagnostics.push(
            Diagnostic::warning(
                "fwmark-real-server-port",
                "sorry_server port is ignored: a fwmark service has no ports, keepalived clears it",
            )
            .at(sorry.at)
            .with_help("drop the port from the sorry_server line"),
        );
    }
}

fn quorum(vs: &VirtualServer, diagnostics: &mut Diagnostics) {
    let Some(quorum) = vs.quorum else {
        return;
    };
    let total: u64 = vs
        .real_servers
        .iter()
        .map(|rs| u64::from(rs.effective_weight()))
        .sum();
    if u64::from(quorum.value) > total {
        diagnostics.push(
            Diagnostic::warning(
                "quorum-unreachable",
                format!(
                    "quorum {} is more than the total weight {total} of the real servers; \
                     quorum can never be reached",
                    quorum.value
                ),
            )
            .at(quorum.at)
            .with_help(format!(
                "use a quorum of at most {total}, or add real servers"
            )),
        );
    }
}

fn describe(vs: &VirtualServer) -> String {
    match &vs.service.value {
        ServiceAddress::Address { ip, port } => describe_endpoint(*ip, port.unwrap_or(0)),
        ServiceAddress::Fwmark(mark) => format!("fwmark {mark}"),
        ServiceAddress::Group(name) => format!("group {name}"),
    }
}

fn describe_endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}:{port}"),
        IpAddr::V6(_) => format!("[{ip}]:{port}"),
    }
}

#[cfg(test)]
mod tests;
