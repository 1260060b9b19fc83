//! The IPVS table as the kernel keeps it: virtual services, their
//! destinations (real servers), 64-bit counters and rates.
//!
//! Field meanings and numeric values follow `include/uapi/linux/ip_vs.h`
//! so the kernel backend converts without interpretation; names follow the
//! operator's words (`Service`, `Dest`, `Forward`). Nothing here does I/O.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

pub use crate::config::model::lvs::Protocol;

/// Address family of a service or destination (`AF_INET` / `AF_INET6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }

    /// The C constant (`AF_INET` = 2, `AF_INET6` = 10), which is also the
    /// order ipvsadm sorts by.
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => libc::AF_INET as u16,
            Family::Inet6 => libc::AF_INET6 as u16,
        }
    }
}

/// The IP protocol number of a service protocol.
pub fn protocol_number(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => libc::IPPROTO_TCP as u8,
        Protocol::Udp => libc::IPPROTO_UDP as u8,
        Protocol::Sctp => libc::IPPROTO_SCTP as u8,
    }
}

/// What identifies a virtual service: protocol + address + port, or a
/// firewall mark (with the family it applies to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceKey {
    Inet {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        family: Family,
        mark: u32,
    },
}

impl ServiceKey {
    pub fn tcp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: addr.ip(),
            port: addr.port(),
        }
    }

    pub fn udp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Udp,
            addr: addr.ip(),
            port: addr.port(),
        }
    }

    pub fn family(&self) -> Family {
        match *self {
            ServiceKey::Inet { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => family,
        }
    }

    /// The socket address of an address-based service.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match *self {
            ServiceKey::Inet { addr, port, .. } => Some(SocketAddr::new(addr, port)),
            ServiceKey::Fwmark { .. } => None,
        }
    }

    /// ipvsadm's listing order: fwmark, family, protocol, address, port
    /// (address-based services have fwmark 0 and so come first).
    fn sort_key(&self) -> (u32, u16, u8, IpSortKey, u16) {
        match *self {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => (
                0,
                Family::of(addr).af(),
                protocol_number(protocol),
                IpSortKey::of(addr),
                port,
            ),
            ServiceKey::Fwmark { family, mark } => {
                (mark, family.af(), 0, IpSortKey::of(unspecified(family)), 0)
            }
        }
    }
}

impl Ord for ServiceKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for ServiceKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => write!(f, "{} {}", protocol.as_str(), SocketAddr::new(addr, port)),
            ServiceKey::Fwmark { family, mark } => match family {
                Family::Inet => write!(f, "FWM {mark}"),
                Family::Inet6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

/// Addresses compare as the kernel's network-order bytes do (what ipvsadm's
/// `memcmp`-style sort sees); IPv4 and IPv6 never meet because the family
/// sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct IpSortKey([u8; 16]);

impl IpSortKey {
    fn of(ip: IpAddr) -> Self {
        let mut bytes = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => bytes = v6.octets(),
        }
        IpSortKey(bytes)
    }
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// Service flags (`IP_VS_SVC_F_*`), kept as the kernel's bit set so
/// unknown bits survive a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// `IP_VS_SVC_F_PERSISTENT`
    pub const PERSISTENT: u32 = 0x0001;
    /// `IP_VS_SVC_F_HASHED` (set by the kernel; ignored on input)
    pub const HASHED: u32 = 0x0002;
    /// `IP_VS_SVC_F_ONEPACKET`
    pub const ONEPACKET: u32 = 0x0004;
    /// `IP_VS_SVC_F_SCHED1` (sh-fallback, mh-fallback)
    pub const SCHED1: u32 = 0x0008;
    /// `IP_VS_SVC_F_SCHED2` (sh-port, mh-port)
    pub const SCHED2: u32 = 0x0010;
    /// `IP_VS_SVC_F_SCHED3`
    pub const SCHED3: u32 = 0x0020;

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    pub fn with(self, bit: u32, on: bool) -> Self {
        if on {
            ServiceFlags(self.0 | bit)
        } else {
            ServiceFlags(self.0 & !bit)
        }
    }

    pub fn persistent(self) -> bool {
        self.has(Self::PERSISTENT)
    }

    pub fn one_packet(self) -> bool {
        self.has(Self::ONEPACKET)
    }

    /// The three scheduler flag bits (`SCHED1..3`).
    pub fn sched_bits(self) -> u32 {
        self.0 & (Self::SCHED1 | Self::SCHED2 | Self::SCHED3)
    }
}

/// How a virtual service is configured (what `ipvsadm -A/-E` sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConfig {
    pub key: ServiceKey,
    /// Scheduler name; an open type because kernels grow schedulers.
    pub scheduler: CompactString,
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity as the kernel stores it: a network-order
    /// IPv4 netmask held in host order (`0xffff_ffff` = /32) for IPv4, a
    /// prefix length (default 128) for IPv6.
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<CompactString>,
}

impl ServiceConfig {
    /// A non-persistent service with the given scheduler and the kernel's
    /// default mask.
    pub fn new(key: ServiceKey, scheduler: &str) -> Self {
        ServiceConfig {
            key,
            scheduler: CompactString::from(scheduler),
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask: default_netmask(key.family()),
            pe_name: None,
        }
    }

    /// Make the service persistent for `timeout` seconds.
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags = self.flags.with(ServiceFlags::PERSISTENT, true);
        self.timeout = timeout;
        self
    }

    /// The persistence granularity as a prefix length.
    pub fn persistence_prefix(&self) -> u8 {
        match self.key.family() {
            Family::Inet => self.netmask.leading_ones().min(32) as u8,
            Family::Inet6 => self.netmask.min(128) as u8,
        }
    }

    /// Mask a client address with the persistence granularity: the key of
    /// the client's persistence template.
    pub fn persistence_key(&self, client: IpAddr) -> IpAddr {
        let prefix = u32::from(self.persistence_prefix());
        match client {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - prefix.min(32)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - prefix.min(128)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

/// The kernel's default persistence mask: /32 for IPv4, /128 for IPv6.
pub fn default_netmask(family: Family) -> u32 {
    match family {
        Family::Inet => 0xffff_ffff,
        Family::Inet6 => 128,
    }
}

/// Forwarding method (`IP_VS_CONN_F_FWD_MASK` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// NAT, `IP_VS_CONN_F_MASQ` = 0
    #[default]
    Masq,
    /// `IP_VS_CONN_F_LOCALNODE` = 1
    Local,
    /// `IP_VS_CONN_F_TUNNEL` = 2
    Tunnel,
    /// Direct routing, `IP_VS_CONN_F_DROUTE` = 3
    Route,
    /// `IP_VS_CONN_F_BYPASS` = 4
    Bypass,
}

impl Forward {
    pub fn from_kernel(value: u32) -> Option<Self> {
        Some(match value & 0x7 {
            0 => Forward::Masq,
            1 => Forward::Local,
            2 => Forward::Tunnel,
            3 => Forward::Route,
            4 => Forward::Bypass,
            _ => return None,
        })
    }

    pub fn to_kernel(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
        }
    }

    /// ipvsadm's "Forward" column.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Tunnel => "Tunnel",
            Forward::Route => "Route",
            Forward::Bypass => "Bypass",
        }
    }
}

/// Tunnel encapsulation (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

impl TunnelType {
    pub fn from_kernel(value: u8) -> Option<Self> {
        Some(match value {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            _ => return None,
        })
    }

    pub fn to_kernel(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        }
    }
}

/// Tunnel settings of a `Tunnel` destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TunnelConfig {
    pub kind: TunnelType,
    /// GUE destination port.
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*` bits: NOCSUM 0, CSUM 1, REMCSUM 2.
    pub flags: u16,
}

impl TunnelConfig {
    pub const FLAG_CSUM: u16 = 1 << 0;
    pub const FLAG_REMCSUM: u16 = 1 << 1;
}

/// A destination's identity inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl DestKey {
    pub fn new(addr: SocketAddr) -> Self {
        DestKey {
            addr: addr.ip(),
            port: addr.port(),
        }
    }

    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.addr, self.port)
    }
}

/// ipvsadm lists destinations by address bytes, then port.
impl Ord for DestKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (Family::of(self.addr), IpSortKey::of(self.addr), self.port).cmp(&(
            Family::of(other.addr),
            IpSortKey::of(other.addr),
            other.port,
        ))
    }
}

impl PartialOrd for DestKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for DestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.socket_addr().fmt(f)
    }
}

/// How a destination is configured (what `ipvsadm -a/-e` sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestConfig {
    pub key: DestKey,
    pub forward: Forward,
    /// The kernel keeps a signed weight; schedulers skip weight <= 0.
    pub weight: i32,
    /// Upper connection threshold; 0 = none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upper_threshold: u32,
    /// Lower connection threshold; 0 = three quarters of the upper one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lower_threshold: u32,
    /// Tunnel settings (meaningful for `Forward::Tunnel`).
    #[serde(default, skip_serializing_if = "TunnelConfig::is_default")]
    pub tunnel: TunnelConfig,
}

// Serialized tables leave out zero counters, rates and unset settings: a
// snapshot of 10,000 idle destinations is a fifth of the size, which is
// what subscribers and the console pay for every second. Reading fills
// them back in (`#[serde(default)]`).

fn is_zero(value: &u32) -> bool {
    *value == 0
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl TunnelConfig {
    pub fn is_default(&self) -> bool {
        *self == TunnelConfig::default()
    }
}

impl DestConfig {
    pub fn new(addr: SocketAddr, forward: Forward, weight: i32) -> Self {
        DestConfig {
            key: DestKey::new(addr),
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: TunnelConfig::default(),
        }
    }
}

/// 64-bit cumulative counters (`IPVS_STATS_ATTR_*64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

impl Stats {
    pub fn is_zero(&self) -> bool {
        *self == Stats::default()
    }

    pub fn add(&mut self, other: &Stats) {
        self.conns = self.conns.wrapping_add(other.conns);
        self.inpkts = self.inpkts.wrapping_add(other.inpkts);
        self.outpkts = self.outpkts.wrapping_add(other.outpkts);
        self.inbytes = self.inbytes.wrapping_add(other.inbytes);
        self.outbytes = self.outbytes.wrapping_add(other.outbytes);
    }
}

/// Smoothed rates per second, as the kernel's estimator reports them
/// (`IPVS_STATS_ATTR_CPS` …): connections, packets and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rates {
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

impl Rates {
    pub fn is_zero(&self) -> bool {
        *self == Rates::default()
    }
}

/// A destination with its live connection counts and counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    pub config: DestConfig,
    /// ActiveConn: TCP connections in ESTABLISHED (and SYN states).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub active: u32,
    /// InActConn: every other connection, including UDP and closed TCP
    /// connections lingering for the FIN timeout.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inactive: u32,
    /// PersistConn: persistence templates pointing at this destination.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub persistent: u32,
    /// `IP_VS_DEST_F_OVERLOAD`: set when the upper threshold is reached,
    /// cleared below the lower one; schedulers skip overloaded dests.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overloaded: bool,
    #[serde(default, skip_serializing_if = "Stats::is_zero")]
    pub stats: Stats,
    #[serde(default, skip_serializing_if = "Rates::is_zero")]
    pub rates: Rates,
}

impl Dest {
    pub fn new(config: DestConfig) -> Self {
        Dest {
            config,
            active: 0,
            inactive: 0,
            persistent: 0,
            overloaded: false,
            stats: Stats::default(),
            rates: Rates::default(),
        }
    }

    pub fn key(&self) -> DestKey {
        self.config.key
    }

    pub fn weight(&self) -> i32 {
        self.config.weight
    }

    /// `ip_vs_dest_totalconns()`: what the thresholds compare against.
    pub fn total_conns(&self) -> u32 {
        self.active.saturating_add(self.inactive)
    }
}

/// A virtual service with its destinations.
///
/// `dests` is in the kernel's list order: the most recently added first
/// (`list_add_rcu` at the head in `ip_vs_add_dest`). Schedulers walk it in
/// this order; listings sort it by [`DestKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub config: ServiceConfig,
    #[serde(default, skip_serializing_if = "Stats::is_zero")]
    pub stats: Stats,
    #[serde(default, skip_serializing_if = "Rates::is_zero")]
    pub rates: Rates,
    pub dests: Vec<Dest>,
}

impl Service {
    pub fn new(config: ServiceConfig) -> Self {
        Service {
            config,
            stats: Stats::default(),
            rates: Rates::default(),
            dests: Vec::new(),
        }
    }

    pub fn key(&self) -> ServiceKey {
        self.config.key
    }

    pub fn dest(&self, key: DestKey) -> Option<&Dest> {
        self.dests.iter().find(|d| d.key() == key)
    }

    /// Destinations in ipvsadm's listing order.
    pub fn sorted_dests(&self) -> Vec<&Dest> {
        let mut dests: Vec<&Dest> = self.dests.iter().collect();
        dests.sort_by_key(|d| d.key());
        dests
    }
}

mod table;
pub use table::{Connection, Daemon, DaemonState, Info, Origin, Table, Timeouts};

#[cfg(test)]
mod tests;
