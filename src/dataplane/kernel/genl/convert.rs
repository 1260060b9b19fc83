//! Conversions between the wire attributes and the domain model
//! ([`crate::ipvs::model`]). Requests are built in the attribute order
//! ipvsadm uses, so what lvstop sends can be compared with what ipvsadm
//! sends byte for byte.

use std::net::IpAddr;

use compact_str::CompactString;

use crate::ipvs::model::{
    Daemon, DaemonState, Dest, DestConfig, DestKey, Family, Forward, Info, Protocol, Rates,
    Service, ServiceConfig, ServiceFlags, ServiceKey, Stats, Timeouts, TunnelConfig, TunnelType,
};

use super::daemon::DaemonAttr;
use super::dest::DestAttr;
use super::message::IpvsAttr;
use super::service::{InetAddr, IpVsFlags, ServiceAttr};
use super::stats::{Stats32Attr, Stats64Attr};
use super::{IP_VS_STATE_BACKUP, IP_VS_STATE_MASTER};

/// A reply the domain model cannot represent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    #[error("the kernel's {0} attribute is missing")]
    Missing(&'static str),
    #[error("the kernel sent {what} {value}, which lvstop does not know")]
    Unknown { what: &'static str, value: u64 },
}

fn family_of_af(af: u16) -> Result<Family, ConvertError> {
    if af == Family::Inet.af() {
        Ok(Family::Inet)
    } else if af == Family::Inet6.af() {
        Ok(Family::Inet6)
    } else {
        Err(ConvertError::Unknown {
            what: "address family",
            value: af.into(),
        })
    }
}

fn protocol_of(number: u16) -> Result<Protocol, ConvertError> {
    match i32::from(number) {
        libc::IPPROTO_TCP => Ok(Protocol::Tcp),
        libc::IPPROTO_UDP => Ok(Protocol::Udp),
        libc::IPPROTO_SCTP => Ok(Protocol::Sctp),
        _ => Err(ConvertError::Unknown {
            what: "protocol",
            value: number.into(),
        }),
    }
}

/// The identifying attributes of a service (what DEL_SERVICE, GET_DEST and
/// the destination commands need).
pub fn service_key_attrs(key: &ServiceKey) -> Vec<ServiceAttr> {
    match *key {
        ServiceKey::Inet {
            protocol,
            addr,
            port,
        } => vec![
            ServiceAttr::Af(Family::of(addr).af()),
            ServiceAttr::Protocol(crate::ipvs::model::protocol_number(protocol).into()),
            ServiceAttr::Addr(InetAddr::from_ip(addr)),
            ServiceAttr::Port(port),
        ],
        ServiceKey::Fwmark { family, mark } => {
            vec![ServiceAttr::Af(family.af()), ServiceAttr::Fwmark(mark)]
        }
    }
}

/// The wire form of the persistence netmask: an IPv4 mask travels in
/// network order; an IPv6 prefix length travels as a host-order u32 in the
/// same `__be32` slot (what the kernel and ipvsadm both do).
fn netmask_to_wire(family: Family, netmask: u32) -> u32 {
    match family {
        Family::Inet => netmask,
        Family::Inet6 => u32::from_be_bytes(netmask.to_ne_bytes()),
    }
}

fn netmask_from_wire(family: Family, wire: u32) -> u32 {
    match family {
        Family::Inet => wire,
        Family::Inet6 => u32::from_ne_bytes(wire.to_be_bytes()),
    }
}

/// A full service (NEW_SERVICE / SET_SERVICE). Flags go with mask ~0: the
/// service's flags become exactly `config.flags`.
pub fn service_attrs(config: &ServiceConfig) -> Vec<ServiceAttr> {
    let mut attrs = service_key_attrs(&config.key);
    attrs.push(ServiceAttr::SchedName(config.scheduler.to_string()));
    if let Some(pe) = &config.pe_name {
        attrs.push(ServiceAttr::PeName(pe.to_string()));
    }
    attrs.push(ServiceAttr::Flags(IpVsFlags {
        flags: config.flags.0 & !ServiceFlags::HASHED,
        mask: !0,
    }));
    attrs.push(ServiceAttr::Timeout(config.timeout));
    attrs.push(ServiceAttr::Netmask(netmask_to_wire(
        config.key.family(),
        config.netmask,
    )));
    attrs
}

fn stats_from(attrs32: Option<&[Stats32Attr]>, attrs64: Option<&[Stats64Attr]>) -> (Stats, Rates) {
    let mut stats = Stats::default();
    let mut rates = Rates::default();
    if let Some(attrs) = attrs64 {
        for attr in attrs {
            match *attr {
                Stats64Attr::Conns(v) => stats.conns = v,
                Stats64Attr::Inpkts(v) => stats.inpkts = v,
                Stats64Attr::Outpkts(v) => stats.outpkts = v,
                Stats64Attr::Inbytes(v) => stats.inbytes = v,
                Stats64Attr::Outbytes(v) => stats.outbytes = v,
                Stats64Attr::Cps(v) => rates.cps = v,
                Stats64Attr::Inpps(v) => rates.inpps = v,
                Stats64Attr::Outpps(v) => rates.outpps = v,
                Stats64Attr::Inbps(v) => rates.inbps = v,
                Stats64Attr::Outbps(v) => rates.outbps = v,
                Stats64Attr::Other(_) => {}
            }
        }
    } else if let Some(attrs) = attrs32 {
        // Kernels before 4.x only send the 32-bit nest.
        for attr in attrs {
            match *attr {
                Stats32Attr::Conns(v) => stats.conns = v.into(),
                Stats32Attr::Inpkts(v) => stats.inpkts = v.into(),
                Stats32Attr::Outpkts(v) => stats.outpkts = v.into(),
                Stats32Attr::Inbytes(v) => stats.inbytes = v,
                Stats32Attr::Outbytes(v) => stats.outbytes = v,
                Stats32Attr::Cps(v) => rates.cps = v.into(),
                Stats32Attr::Inpps(v) => rates.inpps = v.into(),
                Stats32Attr::Outpps(v) => rates.outpps = v.into(),
                Stats32Attr::Inbps(v) => rates.inbps = v.into(),
                Stats32Attr::Outbps(v) => rates.outbps = v.into(),
                Stats32Attr::Other(_) => {}
            }
        }
    }
    (stats, rates)
}

/// A service from a NEW_SERVICE reply (no destinations yet). The kernel's
/// `IP_VS_SVC_F_HASHED` bit is dropped: it is bookkeeping, never config.
pub fn service_from_attrs(attrs: &[ServiceAttr]) -> Result<Service, ConvertError> {
    let (mut af, mut protocol, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut pe, mut flags, mut timeout, mut netmask) = (None, None, None, 0, None);
    let (mut s32, mut s64) = (None, None);
    for attr in attrs {
        match attr {
            ServiceAttr::Af(v) => af = Some(*v),
            ServiceAttr::Protocol(v) => protocol = Some(*v),
            ServiceAttr::Addr(v) => addr = Some(*v),
            ServiceAttr::Port(v) => port = Some(*v),
            ServiceAttr::Fwmark(v) => fwmark = Some(*v),
            ServiceAttr::SchedName(v) => sched = Some(v.as_str()),
            ServiceAttr::PeName(v) => pe = Some(v.as_str()),
            ServiceAttr::Flags(v) => flags = Some(v.flags),
            ServiceAttr::Timeout(v) => timeout = *v,
            ServiceAttr::Netmask(v) => netmask = Some(*v),
            ServiceAttr::Stats(n) => s32 = Some(n.attrs.as_slice()),
            ServiceAttr::Stats64(n) => s64 = Some(n.attrs.as_slice()),
            ServiceAttr::Other(_) => {}
        }
    }
    let family = family_of_af(af.ok_or(ConvertError::Missing("IPVS_SVC_ATTR_AF"))?)?;
    let key = match fwmark {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { family, mark },
        _ => {
            let protocol =
                protocol_of(protocol.ok_or(ConvertError::Missing("IPVS_SVC_ATTR_PROTOCOL"))?)?;
            let addr = addr
                .ok_or(ConvertError::Missing("IPVS_SVC_ATTR_ADDR"))?
                .to_ip(family.af())
                .ok_or(ConvertError::Missing("IPVS_SVC_ATTR_ADDR"))?;
            let port = port.ok_or(ConvertError::Missing("IPVS_SVC_ATTR_PORT"))?;
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            }
        }
    };
    let flags = flags.ok_or(ConvertError::Missing("IPVS_SVC_ATTR_FLAGS"))?;
    let config = ServiceConfig {
        key,
        scheduler: CompactString::from(
            sched.ok_or(ConvertError::Missing("IPVS_SVC_ATTR_SCHED_NAME"))?,
        ),
        flags: ServiceFlags(flags & !ServiceFlags::HASHED),
        timeout,
        netmask: netmask
            .map(|wire| netmask_from_wire(family, wire))
            .unwrap_or_else(|| crate::ipvs::model::default_netmask(family)),
        pe_name: pe.map(CompactString::from),
    };
    let (stats, rates) = stats_from(s32, s64);
    Ok(Service {
        config,
        stats,
        rates,
        dests: Vec::new(),
    })
}

/// The identifying attributes of a destination (DEL_DEST).
pub fn dest_key_attrs(key: &DestKey) -> Vec<DestAttr> {
    vec![
        DestAttr::AddrFamily(Family::of(key.addr).af()),
        DestAttr::Addr(InetAddr::from_ip(key.addr)),
        DestAttr::Port(key.port),
    ]
}

/// A full destination (NEW_DEST / SET_DEST), in ipvsadm's order: tunnel
/// attributes always sent (zeros unless tunnelling), thresholds last.
pub fn dest_attrs(config: &DestConfig) -> Vec<DestAttr> {
    let mut attrs = dest_key_attrs(&config.key);
    attrs.extend([
        DestAttr::FwdMethod(config.forward.to_kernel()),
        DestAttr::Weight(config.weight),
        DestAttr::TunType(config.tunnel.kind.to_kernel()),
        DestAttr::TunPort(config.tunnel.port),
        DestAttr::TunFlags(config.tunnel.flags),
        DestAttr::UThresh(config.upper_threshold),
        DestAttr::LThresh(config.lower_threshold),
    ]);
    attrs
}

/// A destination from a NEW_DEST reply. `service_family` stands in when
/// the kernel is too old to send `IPVS_DEST_ATTR_ADDR_FAMILY`.
pub fn dest_from_attrs(attrs: &[DestAttr], service_family: Family) -> Result<Dest, ConvertError> {
    let (mut addr, mut port, mut fwd, mut weight, mut af) = (None, None, None, None, None);
    let mut tunnel = TunnelConfig::default();
    let mut dest_counts = (0, 0, 0);
    let (mut upper, mut lower) = (0, 0);
    let (mut s32, mut s64) = (None, None);
    for attr in attrs {
        match attr {
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = Some(*v),
            DestAttr::UThresh(v) => upper = *v,
            DestAttr::LThresh(v) => lower = *v,
            DestAttr::ActiveConns(v) => dest_counts.0 = *v,
            DestAttr::InactConns(v) => dest_counts.1 = *v,
            DestAttr::PersistConns(v) => dest_counts.2 = *v,
            DestAttr::Stats(n) => s32 = Some(n.attrs.as_slice()),
            DestAttr::Stats64(n) => s64 = Some(n.attrs.as_slice()),
            DestAttr::AddrFamily(v) => af = Some(*v),
            DestAttr::TunType(v) => {
                tunnel.kind = TunnelType::from_kernel(*v).ok_or(ConvertError::Unknown {
                    what: "tunnel type",
                    value: (*v).into(),
                })?
            }
            DestAttr::TunPort(v) => tunnel.port = *v,
            DestAttr::TunFlags(v) => tunnel.flags = *v,
            DestAttr::Other(_) => {}
        }
    }
    let family = match af {
        Some(af) => family_of_af(af)?,
        None => service_family,
    };
    let ip: IpAddr = addr
        .ok_or(ConvertError::Missing("IPVS_DEST_ATTR_ADDR"))?
        .to_ip(family.af())
        .ok_or(ConvertError::Missing("IPVS_DEST_ATTR_ADDR"))?;
    let fwd = fwd.ok_or(ConvertError::Missing("IPVS_DEST_ATTR_FWD_METHOD"))?;
    let forward = Forward::from_kernel(fwd).ok_or(ConvertError::Unknown {
        what: "forwarding method",
        value: fwd.into(),
    })?;
    let config = DestConfig {
        key: DestKey {
            addr: ip,
            port: port.ok_or(ConvertError::Missing("IPVS_DEST_ATTR_PORT"))?,
        },
        forward,
        weight: weight.ok_or(ConvertError::Missing("IPVS_DEST_ATTR_WEIGHT"))?,
        upper_threshold: upper,
        lower_threshold: lower,
        tunnel,
    };
    let (stats, rates) = stats_from(s32, s64);
    let mut dest = Dest::new(config);
    dest.active = dest_counts.0;
    dest.inactive = dest_counts.1;
    dest.persistent = dest_counts.2;
    dest.stats = stats;
    dest.rates = rates;
    Ok(dest)
}

fn daemon_state_value(state: DaemonState) -> u32 {
    match state {
        DaemonState::Master => IP_VS_STATE_MASTER,
        DaemonState::Backup => IP_VS_STATE_BACKUP,
    }
}

/// A sync daemon to start (NEW_DAEMON). Zero / empty optional settings
/// are left out so the kernel picks its defaults, as ipvsadm does.
pub fn daemon_attrs(daemon: &Daemon) -> Vec<DaemonAttr> {
    let mut attrs = vec![
        DaemonAttr::State(daemon_state_value(daemon.state)),
        DaemonAttr::McastIfn(daemon.mcast_ifn.to_string()),
        DaemonAttr::SyncId(daemon.syncid),
    ];
    if daemon.sync_maxlen != 0 {
        attrs.push(DaemonAttr::SyncMaxlen(daemon.sync_maxlen));
    }
    match daemon.mcast_group {
        Some(IpAddr::V4(group)) => attrs.push(DaemonAttr::McastGroup(group)),
        Some(IpAddr::V6(group)) => attrs.push(DaemonAttr::McastGroup6(group)),
        None => {}
    }
    if daemon.mcast_port != 0 {
        attrs.push(DaemonAttr::McastPort(daemon.mcast_port));
    }
    if daemon.mcast_ttl != 0 {
        attrs.push(DaemonAttr::McastTtl(daemon.mcast_ttl));
    }
    attrs
}

/// Which daemon to stop (DEL_DAEMON): only the state matters.
pub fn daemon_state_attrs(state: DaemonState) -> Vec<DaemonAttr> {
    vec![DaemonAttr::State(daemon_state_value(state))]
}

/// A daemon from a NEW_DAEMON reply.
pub fn daemon_from_attrs(attrs: &[DaemonAttr]) -> Result<Daemon, ConvertError> {
    let mut state = None;
    let mut daemon = Daemon {
        state: DaemonState::Master,
        mcast_ifn: CompactString::default(),
        syncid: 0,
        sync_maxlen: 0,
        mcast_group: None,
        mcast_port: 0,
        mcast_ttl: 0,
    };
    for attr in attrs {
        match attr {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(v) => daemon.mcast_ifn = CompactString::from(v.as_str()),
            DaemonAttr::SyncId(v) => daemon.syncid = *v,
            DaemonAttr::SyncMaxlen(v) => daemon.sync_maxlen = *v,
            DaemonAttr::McastGroup(v) => daemon.mcast_group = Some(IpAddr::V4(*v)),
            DaemonAttr::McastGroup6(v) => daemon.mcast_group = Some(IpAddr::V6(*v)),
            DaemonAttr::McastPort(v) => daemon.mcast_port = *v,
            DaemonAttr::McastTtl(v) => daemon.mcast_ttl = *v,
            DaemonAttr::Other(_) => {}
        }
    }
    daemon.state = match state.ok_or(ConvertError::Missing("IPVS_DAEMON_ATTR_STATE"))? {
        IP_VS_STATE_MASTER => DaemonState::Master,
        IP_VS_STATE_BACKUP => DaemonState::Backup,
        other => {
            return Err(ConvertError::Unknown {
                what: "sync daemon state",
                value: other.into(),
            })
        }
    };
    Ok(daemon)
}

/// SET_CONFIG attributes; a zero timeout is left out (unchanged), as the
/// kernel would ignore it anyway.
pub fn timeouts_attrs(timeouts: &Timeouts) -> Vec<IpvsAttr> {
    let mut attrs = Vec::new();
    if timeouts.tcp != 0 {
        attrs.push(IpvsAttr::TimeoutTcp(timeouts.tcp));
    }
    if timeouts.tcp_fin != 0 {
        attrs.push(IpvsAttr::TimeoutTcpFin(timeouts.tcp_fin));
    }
    if timeouts.udp != 0 {
        attrs.push(IpvsAttr::TimeoutUdp(timeouts.udp));
    }
    attrs
}

/// Timeouts from a GET_CONFIG reply (a kernel built without TCP or UDP
/// support leaves those out: they read as 0).
pub fn timeouts_from_attrs(attrs: &[IpvsAttr]) -> Timeouts {
    let mut timeouts = Timeouts {
        tcp: 0,
        tcp_fin: 0,
        udp: 0,
    };
    for attr in attrs {
        match attr {
            IpvsAttr::TimeoutTcp(v) => timeouts.tcp = *v,
            IpvsAttr::TimeoutTcpFin(v) => timeouts.tcp_fin = *v,
            IpvsAttr::TimeoutUdp(v) => timeouts.udp = *v,
            _ => {}
        }
    }
    timeouts
}

/// Version and connection table size from a GET_INFO reply.
pub fn info_from_attrs(attrs: &[IpvsAttr]) -> Result<Info, ConvertError> {
    let mut version = None;
    let mut size = None;
    for attr in attrs {
        match attr {
            IpvsAttr::InfoVersion(v) => version = Some(*v),
            IpvsAttr::InfoConnTabSize(v) => size = Some(*v),
            _ => {}
        }
    }
    Ok(Info {
        version: version.ok_or(ConvertError::Missing("IPVS_INFO_ATTR_VERSION"))?,
        conn_tab_size: size.ok_or(ConvertError::Missing("IPVS_INFO_ATTR_CONN_TAB_SIZE"))?,
    })
}
