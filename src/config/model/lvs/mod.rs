//! LVS: `virtual_server_group`, `virtual_server`, `real_server`, the health
//! checkers and the top-level `SSL` block.
//!
//! Owns the plain-data shape of the LVS side as the operator wrote it
//! (`Option` for keywords left unset) and the `effective_*` methods that apply
//! keepalived's defaults and its inheritance virtual server → real server →
//! checker. It never reports diagnostics and never touches IPVS.

pub mod checker;
mod effective;

use std::net::IpAddr;

use crate::config::model::{RawSetting, Script, Text, Timer};
use crate::config::source::Spanned;

pub use checker::{
    BfdCheck, Checker, CheckerKind, Connection, DnsCheck, FileCheck, HttpCheck, HttpProtocol,
    MiscCheck, SmtpCheck, StatusRange, UdpCheck, Url,
};
pub use effective::{
    EffectiveTiming, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELAY_LOOP, DEFAULT_PERSISTENCE_TIMEOUT,
    DEFAULT_SCHEDULER,
};

/// Every LVS-side top-level block of a configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LvsConfig {
    pub groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    /// The `SSL { … }` block used by `SSL_GET` checkers; `None` when absent
    /// (keepalived then builds a default context).
    pub ssl: Option<SslConfig>,
}

/// `SSL { password ca certificate key }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SslConfig {
    /// Where the block starts.
    pub at: Spanned<()>,
    pub password: Option<Text>,
    pub ca: Option<Text>,
    pub certificate: Option<Text>,
    pub key: Option<Text>,
}

/// `virtual_server_group NAME { … }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VirtualServerGroup {
    pub name: Text,
    pub members: Vec<Spanned<GroupMember>>,
}

/// One line of a `virtual_server_group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupMember {
    /// `IP [PORT]` or `IP-RANGE [PORT]`.
    Addresses {
        range: AddressRange,
        port: Option<u16>,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark { mark: u32, family: Option<IpFamily> },
}

/// The address part of a group line, in the form it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressRange {
    /// `10.0.0.1`
    Single(IpAddr),
    /// `10.0.0.1-10` or `10.0.0.250-10.0.1.5` (both ends included).
    Span { first: IpAddr, last: IpAddr },
    /// `10.0.0.8/29`
    Prefix { address: IpAddr, length: u8 },
}

impl AddressRange {
    /// The first and last address covered.
    pub fn bounds(&self) -> (IpAddr, IpAddr) {
        match *self {
            AddressRange::Single(ip) => (ip, ip),
            AddressRange::Span { first, last } => (first, last),
            AddressRange::Prefix { address, length } => prefix_bounds(address, length),
        }
    }

    pub fn is_ipv4(&self) -> bool {
        self.bounds().0.is_ipv4()
    }
}

fn prefix_bounds(address: IpAddr, length: u8) -> (IpAddr, IpAddr) {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let host = u32::MAX.checked_shr(u32::from(length)).unwrap_or(0);
            (
                IpAddr::V4((bits & !host).into()),
                IpAddr::V4((bits | host).into()),
            )
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let host = u128::MAX.checked_shr(u32::from(length)).unwrap_or(0);
            (
                IpAddr::V6((bits & !host).into()),
                IpAddr::V6((bits | host).into()),
            )
        }
    }
}

/// Which service a `virtual_server` declares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceAddress {
    /// `virtual_server IP [PORT]` (no port: only valid for persistent
    /// services, keepalived then uses port 0).
    Address { ip: IpAddr, port: Option<u16> },
    /// `virtual_server fwmark N`
    Fwmark(u32),
    /// `virtual_server group NAME`
    Group(String),
}

impl Default for ServiceAddress {
    fn default() -> Self {
        ServiceAddress::Fwmark(0)
    }
}

/// An `IP [PORT]` pair (real and sorry servers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl Default for Endpoint {
    fn default() -> Self {
        Self {
            ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: None,
        }
    }
}

/// `protocol TCP|UDP|SCTP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// `ip_family inet|inet6` and the family suffix of a group's fwmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    Inet,
    Inet6,
}

impl IpFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            IpFamily::Inet => "inet",
            IpFamily::Inet6 => "inet6",
        }
    }

    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() {
            IpFamily::Inet
        } else {
            IpFamily::Inet6
        }
    }
}

/// A scheduler flag keyword (`-b` in ipvsadm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchedFlag {
    Flag1,
    Flag2,
    Flag3,
    ShPort,
    ShFallback,
    MhPort,
    MhFallback,
}

impl SchedFlag {
    pub const ALL: [SchedFlag; 7] = [
        SchedFlag::Flag1,
        SchedFlag::Flag2,
        SchedFlag::Flag3,
        SchedFlag::ShPort,
        SchedFlag::ShFallback,
        SchedFlag::MhPort,
        SchedFlag::MhFallback,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            SchedFlag::Flag1 => "flag-1",
            SchedFlag::Flag2 => "flag-2",
            SchedFlag::Flag3 => "flag-3",
            SchedFlag::ShPort => "sh-port",
            SchedFlag::ShFallback => "sh-fallback",
            SchedFlag::MhPort => "mh-port",
            SchedFlag::MhFallback => "mh-fallback",
        }
    }

    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.keyword() == word)
    }

    /// The scheduler a named flag belongs to (`None` for the generic ones).
    pub fn scheduler(self) -> Option<&'static str> {
        match self {
            SchedFlag::ShPort | SchedFlag::ShFallback => Some("sh"),
            SchedFlag::MhPort | SchedFlag::MhFallback => Some("mh"),
            _ => None,
        }
    }
}

/// `lvs_method NAT|DR|TUN …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForwardMethod {
    /// Masquerading, keepalived's default.
    #[default]
    Nat,
    /// Direct routing ("gatewaying").
    Dr,
    Tun(Tunnel),
}

impl ForwardMethod {
    /// Whether the real server port must equal the virtual server port.
    pub fn keeps_port(self) -> bool {
        matches!(self, ForwardMethod::Dr | ForwardMethod::Tun(_))
    }
}

/// `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub checksum: Option<TunnelChecksum>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelKind {
    #[default]
    Ipip,
    Gue {
        port: u16,
    },
    Gre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelChecksum {
    NoCsum,
    Csum,
    RemCsum,
}

impl TunnelChecksum {
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelChecksum::NoCsum => "nocsum",
            TunnelChecksum::Csum => "csum",
            TunnelChecksum::RemCsum => "remcsum",
        }
    }
}

/// `persistence_granularity`: an IPv4 netmask or a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersistenceMask {
    Netmask(std::net::Ipv4Addr),
    PrefixLength(u8),
}

/// Checker timing options that a virtual server passes to its real
/// servers, and a real server to its checkers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckTiming {
    pub alpha: Option<Spanned<bool>>,
    pub connect_timeout: Option<Timer>,
    pub retry: Option<Spanned<u32>>,
    pub delay_before_retry: Option<Timer>,
    pub warmup: Option<Timer>,
    pub delay_loop: Option<Timer>,
}

/// `virtual_server … { … }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VirtualServer {
    pub service: Spanned<ServiceAddress>,
    pub scheduler: Option<Text>,
    pub sched_flags: Vec<Spanned<SchedFlag>>,
    /// `ops`: one-packet scheduling (UDP only).
    pub one_packet: Option<Spanned<bool>>,
    pub method: Option<Spanned<ForwardMethod>>,
    pub persistence_timeout: Option<Spanned<u32>>,
    pub persistence_granularity: Option<Spanned<PersistenceMask>>,
    pub persistence_engine: Option<Text>,
    pub protocol: Option<Spanned<Protocol>>,
    pub ip_family: Option<Spanned<IpFamily>>,
    pub ha_suspend: Option<Spanned<bool>>,
    pub virtualhost: Option<Text>,
    pub omega: Option<Spanned<bool>>,
    pub quorum: Option<Spanned<u32>>,
    pub hysteresis: Option<Spanned<u32>>,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub sorry_server: Option<Spanned<Endpoint>>,
    pub sorry_server_inhibit: Option<Spanned<bool>>,
    pub sorry_server_method: Option<Spanned<ForwardMethod>>,
    pub inhibit_on_failure: Option<Spanned<bool>>,
    pub smtp_alert: Option<Spanned<bool>>,
    pub timing: CheckTiming,
    pub real_servers: Vec<RealServer>,
    /// Recognised keywords lvstop keeps but does not act on (`snmp_name`).
    pub other: Vec<RawSetting>,
}

/// `real_server IP [PORT] { … }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RealServer {
    pub endpoint: Spanned<Endpoint>,
    pub weight: Option<Spanned<u32>>,
    pub method: Option<Spanned<ForwardMethod>>,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    pub uthreshold: Option<Spanned<u32>>,
    pub lthreshold: Option<Spanned<u32>>,
    pub smtp_alert: Option<Spanned<bool>>,
    pub inhibit_on_failure: Option<Spanned<bool>>,
    pub virtualhost: Option<Text>,
    pub timing: CheckTiming,
    pub checkers: Vec<Checker>,
    pub other: Vec<RawSetting>,
}
