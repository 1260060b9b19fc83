//! From a keepalived configuration to the IPVS services and destinations
//! it asks for, the way keepalived programs them: one IPVS service per
//! `virtual_server` (one per address, port or fwmark of a
//! `virtual_server_group`), every `real_server` as a destination with its
//! effective port, method, weight and thresholds.
//!
//! Health, quorum and sorry servers are not applied here; this is the
//! configured table before the checkers filter it.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::model::{
    default_netmask, DestConfig, DestKey, Family, Forward, ServiceConfig, ServiceFlags, ServiceKey,
    TunnelConfig, TunnelType,
};
use crate::config::model::lvs::{
    ForwardMethod, GroupMember, IpFamily, LvsConfig, PersistenceMask, SchedFlag, ServiceAddress,
    TunnelChecksum, TunnelKind, VirtualServer, VirtualServerGroup,
};

/// Upper bound on the services one group may expand to; a range like
/// `10.0.0.0/8` would otherwise ask for millions of IPVS services.
pub const MAX_GROUP_EXPANSION: u64 = 65_536;

/// One IPVS service as the configuration wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredService {
    pub config: ServiceConfig,
    pub dests: Vec<DestConfig>,
}

/// Why a configuration cannot be turned into an IPVS table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error("virtual_server group '{0}' is not defined")]
    UnknownGroup(String),
    #[error("virtual_server_group '{group}' expands to {count} services (at most {MAX_GROUP_EXPANSION})")]
    GroupTooLarge { group: String, count: u64 },
}

/// The configured table, services in configuration order. Later duplicates
/// of a service key are dropped, as keepalived programs a service once.
pub fn from_config(lvs: &LvsConfig) -> Result<Vec<DesiredService>, DesiredError> {
    let groups: HashMap<&str, &VirtualServerGroup> = lvs
        .groups
        .iter()
        .map(|g| (g.name.value.as_str(), g))
        .collect();
    let mut services: Vec<DesiredService> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for vs in &lvs.virtual_servers {
        for key in service_keys(vs, &groups)? {
            if !seen.insert(key) {
                continue;
            }
            let port_of_service = match key {
                ServiceKey::Inet { port, .. } => port,
                ServiceKey::Fwmark { .. } => 0,
            };
            services.push(DesiredService {
                config: service_config(vs, key),
                dests: vs
                    .real_servers
                    .iter()
                    .map(|rs| {
                        let method = rs.effective_method(vs);
                        let port = match key {
                            ServiceKey::Fwmark { .. } => 0,
                            // Groups: each member's own port stands in for
                            // the virtual server's under DR and TUN.
                            _ if method.keeps_port() => port_of_service,
                            _ => rs.endpoint.value.port.unwrap_or(port_of_service),
                        };
                        let (forward, tunnel) = forward(method);
                        DestConfig {
                            key: DestKey {
                                addr: rs.endpoint.value.ip,
                                port,
                            },
                            forward,
                            weight: i32::try_from(rs.effective_weight()).unwrap_or(i32::MAX),
                            upper_threshold: rs.uthreshold.map_or(0, |t| t.value),
                            lower_threshold: rs.lthreshold.map_or(0, |t| t.value),
                            tunnel,
                        }
                    })
                    .collect(),
            });
        }
    }
    Ok(services)
}

fn service_keys(
    vs: &VirtualServer,
    groups: &HashMap<&str, &VirtualServerGroup>,
) -> Result<Vec<ServiceKey>, DesiredError> {
    let protocol = vs.effective_protocol();
    match &vs.service.value {
        ServiceAddress::Address { ip, port } => Ok(vec![ServiceKey::Inet {
            protocol: protocol.unwrap_or(crate::config::model::lvs::Protocol::Tcp),
            addr: *ip,
            port: port.unwrap_or(0),
        }]),
        ServiceAddress::Fwmark(mark) => Ok(vec![ServiceKey::Fwmark {
            family: fwmark_family(vs, None),
            mark: *mark,
        }]),
        ServiceAddress::Group(name) => {
            let group = groups
                .get(name.as_str())
                .ok_or_else(|| DesiredError::UnknownGroup(name.clone()))?;
            let mut keys = Vec::new();
            for member in &group.members {
                match member.value {
                    GroupMember::Addresses { range, port } => {
                        let (first, last) = range.bounds();
                        let count = span_len(first, last);
                        if count.saturating_add(keys.len() as u64) > MAX_GROUP_EXPANSION {
                            return Err(DesiredError::GroupTooLarge {
                                group: name.clone(),
                                count,
                            });
                        }
                        let mut addr = Some(first);
                        while let Some(ip) = addr {
                            keys.push(ServiceKey::Inet {
                                protocol: protocol
                                    .unwrap_or(crate::config::model::lvs::Protocol::Tcp),
                                addr: ip,
                                port: port.unwrap_or(0),
                            });
                            addr = (ip != last).then(|| next_address(ip)).flatten();
                        }
                    }
                    GroupMember::Fwmark { mark, family } => keys.push(ServiceKey::Fwmark {
                        family: fwmark_family(vs, family),
                        mark,
                    }),
                }
            }
            Ok(keys)
        }
    }
}

/// A fwmark service's family: the group line's suffix, else `ip_family`,
/// else the real servers' family, else IPv4 (keepalived's order).
fn fwmark_family(vs: &VirtualServer, member: Option<IpFamily>) -> Family {
    let explicit = member.or(vs.ip_family.map(|f| f.value));
    match explicit {
        Some(IpFamily::Inet) => Family::Inet,
        Some(IpFamily::Inet6) => Family::Inet6,
        None => vs
            .real_servers
            .first()
            .map_or(Family::Inet, |rs| Family::of(rs.endpoint.value.ip)),
    }
}

fn span_len(first: IpAddr, last: IpAddr) -> u64 {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u64::from(u32::from(b).saturating_sub(u32::from(a))) + 1,
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let n = u128::from(b).saturating_sub(u128::from(a));
            u64::try_from(n).unwrap_or(u64::MAX).saturating_add(1)
        }
        _ => 1,
    }
}

fn next_address(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) => u32::from(v4).checked_add(1).map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(v6) => u128::from(v6).checked_add(1).map(|n| IpAddr::V6(n.into())),
    }
}

fn service_config(vs: &VirtualServer, key: ServiceKey) -> ServiceConfig {
    // keepalived programs `wlc` for a scheduler name the kernel lacks
    // (`lvstop check` warns about it).
    let scheduler = match vs.effective_scheduler() {
        known if super::sched::KNOWN.contains(&known) => known,
        _ => crate::config::model::lvs::DEFAULT_SCHEDULER,
    };
    let mut config = ServiceConfig::new(key, scheduler);
    let mut flags = ServiceFlags::default();
    for flag in &vs.sched_flags {
        flags = flags.with(sched_bit(flag.value), true);
    }
    if vs.one_packet.is_some_and(|o| o.value) {
        flags = flags.with(ServiceFlags::ONEPACKET, true);
    }
    if let Some(timeout) = vs.effective_persistence_timeout() {
        flags = flags.with(ServiceFlags::PERSISTENT, true);
        config.timeout = timeout;
    }
    config.flags = flags;
    config.netmask = match (vs.persistence_granularity.map(|g| g.value), key.family()) {
        (Some(PersistenceMask::Netmask(mask)), Family::Inet) => u32::from(mask),
        (Some(PersistenceMask::PrefixLength(len)), Family::Inet) => u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0),
        (Some(PersistenceMask::PrefixLength(len)), Family::Inet6) => u32::from(len.min(128)),
        (_, family) => default_netmask(family),
    };
    config.pe_name = vs
        .persistence_engine
        .as_ref()
        .map(|pe| pe.value.as_str().into());
    config
}

/// The `IP_VS_SVC_F_SCHED*` bit a flag keyword sets (`-b` in ipvsadm).
fn sched_bit(flag: SchedFlag) -> u32 {
    match flag {
        SchedFlag::Flag1 | SchedFlag::ShFallback | SchedFlag::MhFallback => ServiceFlags::SCHED1,
        SchedFlag::Flag2 | SchedFlag::ShPort | SchedFlag::MhPort => ServiceFlags::SCHED2,
        SchedFlag::Flag3 => ServiceFlags::SCHED3,
    }
}

fn forward(method: ForwardMethod) -> (Forward, TunnelConfig) {
    match method {
        ForwardMethod::Nat => (Forward::Masq, TunnelConfig::default()),
        ForwardMethod::Dr => (Forward::Route, TunnelConfig::default()),
        ForwardMethod::Tun(tunnel) => {
            let (kind, port) = match tunnel.kind {
                TunnelKind::Ipip => (TunnelType::Ipip, 0),
                TunnelKind::Gue { port } => (TunnelType::Gue, port),
                TunnelKind::Gre => (TunnelType::Gre, 0),
            };
            let flags = match tunnel.checksum {
                None | Some(TunnelChecksum::NoCsum) => 0,
                Some(TunnelChecksum::Csum) => TunnelConfig::FLAG_CSUM,
                Some(TunnelChecksum::RemCsum) => TunnelConfig::FLAG_REMCSUM,
            };
            (Forward::Tunnel, TunnelConfig { kind, port, flags })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{load_str, Options};

    fn desired(text: &str) -> Vec<DesiredService> {
        let outcome = load_str(std::path::Path::new("test.conf"), text, &Options::default());
        from_config(&outcome.config.lvs).unwrap()
    }

    #[test]
    fn the_seed_service_becomes_one_persistent_wrr_dr_service() {
        let text = std::fs::read_to_string("examples/seed/keepalived.conf").unwrap();
        let services = desired(&text);
        assert_eq!(services.len(), 1);
        let svc = &services[0];
        assert_eq!(svc.config.key.to_string(), "TCP 192.168.100.88:80");
        assert_eq!(svc.config.scheduler, "wrr");
        assert!(svc.config.flags.persistent());
        assert_eq!(svc.config.timeout, 60);
        assert_eq!(svc.dests.len(), 2);
        assert!(svc.dests.iter().all(|d| d.forward == Forward::Route));
        assert!(svc.dests.iter().all(|d| d.key.port == 80));
    }

    #[test]
    fn groups_expand_to_one_service_per_address_and_fwmark() {
        let services = desired(
            "virtual_server_group G {\n 10.0.0.1-3 80\n fwmark 7\n}\n\
             virtual_server group G {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n persistence_timeout 30\n persistence_granularity 255.255.255.0\n\
             real_server 10.1.0.1 8080 {\n weight 3\n uthreshold 100\n lthreshold 10\n }\n}\n",
        );
        let keys: Vec<String> = services.iter().map(|s| s.config.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "TCP 10.0.0.1:80",
                "TCP 10.0.0.2:80",
                "TCP 10.0.0.3:80",
                "FWM 7"
            ]
        );
        let first = &services[0];
        assert_eq!(first.config.netmask, 0xffff_ff00);
        assert_eq!(first.dests[0].key.port, 8080);
        assert_eq!(first.dests[0].weight, 3);
        assert_eq!(
            (
                first.dests[0].upper_threshold,
                first.dests[0].lower_threshold
            ),
            (100, 10)
        );
        assert_eq!(services[3].dests[0].key.port, 0);
    }

    #[test]
    fn sched_flags_ops_and_tunnels_map_to_kernel_bits() {
        let services = desired(
            "virtual_server 10.0.0.1 53 {\n protocol UDP\n lb_algo sh\n sh-port\n sh-fallback\n ops\n\
             lb_kind TUN type gue port 6080 csum\n real_server 10.1.0.1 53 {\n }\n}\n",
        );
        let svc = &services[0];
        assert!(svc.config.flags.has(ServiceFlags::SCHED1));
        assert!(svc.config.flags.has(ServiceFlags::SCHED2));
        assert!(svc.config.flags.one_packet());
        let dest = &svc.dests[0];
        assert_eq!(dest.forward, Forward::Tunnel);
        assert_eq!(dest.tunnel.kind, TunnelType::Gue);
        assert_eq!(dest.tunnel.port, 6080);
        assert_eq!(dest.tunnel.flags, TunnelConfig::FLAG_CSUM);
    }
}
