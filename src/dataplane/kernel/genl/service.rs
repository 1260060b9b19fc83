//! Attributes nested in `IPVS_CMD_ATTR_SERVICE`: a virtual service's
//! identity (family + protocol/address/port, or family + firewall mark),
//! its settings, and in replies its counters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use super::nla::{emit_string, fixed, string_len, string_of, u16_be, u16_ne, u32_ne, Nest};
use super::stats::{Stats32Attr, Stats64Attr};

pub const IPVS_SVC_ATTR_AF: u16 = 1;
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

/// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first four.
/// Both the kernel and ipvsadm send all 16 bytes for either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InetAddr(pub [u8; 16]);

impl InetAddr {
    pub fn from_ip(ip: IpAddr) -> Self {
        let mut bytes = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => bytes = v6.octets(),
        }
        InetAddr(bytes)
    }

    /// The address read with the family it belongs to (`AF_INET` /
    /// `AF_INET6`); `None` for any other family.
    pub fn to_ip(self, af: u16) -> Option<IpAddr> {
        if af == libc::AF_INET as u16 {
            let [a, b, c, d, ..] = self.0;
            Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
        } else if af == libc::AF_INET6 as u16 {
            Some(IpAddr::V6(Ipv6Addr::from(self.0)))
        } else {
            None
        }
    }
}

/// `struct ip_vs_flags`: the kernel applies `flags` under `mask`, so an
/// edit can change some bits and keep the others. Replies carry mask ~0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpVsFlags {
    pub flags: u32,
    pub mask: u32,
}

/// One attribute of a service nest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceAttr {
    /// `IPVS_SVC_ATTR_AF`, u16
    Af(u16),
    /// `IPVS_SVC_ATTR_PROTOCOL`, u16 (`IPPROTO_*`)
    Protocol(u16),
    /// `IPVS_SVC_ATTR_ADDR`, `union nf_inet_addr`
    Addr(InetAddr),
    /// `IPVS_SVC_ATTR_PORT`, network byte order on the wire
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK`, u32
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME`, NUL-terminated
    SchedName(String),
    /// `IPVS_SVC_ATTR_FLAGS`, `struct ip_vs_flags`
    Flags(IpVsFlags),
    /// `IPVS_SVC_ATTR_TIMEOUT`, persistence timeout in seconds
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK`, a `__be32` holding the four wire bytes as
    /// a big-endian number: an IPv4 mask reads naturally (`0xffffff00` is
    /// /24); for IPv6 the kernel stores the prefix length in host order
    /// in those bytes (see [`super::convert`]).
    Netmask(u32),
    /// `IPVS_SVC_ATTR_STATS`, 32-bit counters (replies)
    Stats(Nest<Stats32Attr>),
    /// `IPVS_SVC_ATTR_PE_NAME`, NUL-terminated
    PeName(String),
    /// `IPVS_SVC_ATTR_STATS64`, 64-bit counters (replies)
    Stats64(Nest<Stats64Attr>),
    Other(DefaultNla),
}

impl Nla for ServiceAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Af(_) | Self::Protocol(_) | Self::Port(_) => 2,
            Self::Addr(_) => 16,
            Self::Fwmark(_) | Self::Timeout(_) | Self::Netmask(_) => 4,
            Self::SchedName(s) | Self::PeName(s) => string_len(s),
            Self::Flags(_) => 8,
            Self::Stats(nest) => nest.value_len(),
            Self::Stats64(nest) => nest.value_len(),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Af(_) => IPVS_SVC_ATTR_AF,
            Self::Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Self::Addr(_) => IPVS_SVC_ATTR_ADDR,
            Self::Port(_) => IPVS_SVC_ATTR_PORT,
            Self::Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            Self::SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Self::Flags(_) => IPVS_SVC_ATTR_FLAGS,
            Self::Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Self::Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Self::Stats(nest) => nest.kind(IPVS_SVC_ATTR_STATS),
            Self::PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            Self::Stats64(nest) => nest.kind(IPVS_SVC_ATTR_STATS64),
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Af(v) | Self::Protocol(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Port(v) => buffer.copy_from_slice(&v.to_be_bytes()),
            Self::Addr(addr) => buffer.copy_from_slice(&addr.0),
            Self::Fwmark(v) | Self::Timeout(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Netmask(v) => buffer.copy_from_slice(&v.to_be_bytes()),
            Self::SchedName(s) | Self::PeName(s) => emit_string(s, buffer),
            Self::Flags(f) => {
                buffer[..4].copy_from_slice(&f.flags.to_ne_bytes());
                buffer[4..].copy_from_slice(&f.mask.to_ne_bytes());
            }
            Self::Stats(nest) => nest.emit_value(buffer),
            Self::Stats64(nest) => nest.emit_value(buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ServiceAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_SVC_ATTR_AF => Self::Af(u16_ne(v, "IPVS_SVC_ATTR_AF")?),
            IPVS_SVC_ATTR_PROTOCOL => Self::Protocol(u16_ne(v, "IPVS_SVC_ATTR_PROTOCOL")?),
            // A shorter address is legal for the kernel (nla_memcpy) but
            // would not re-emit identically: keep it raw.
            IPVS_SVC_ATTR_ADDR if v.len() == 16 => {
                Self::Addr(InetAddr(fixed(v, "IPVS_SVC_ATTR_ADDR")?))
            }
            IPVS_SVC_ATTR_PORT => Self::Port(u16_be(v, "IPVS_SVC_ATTR_PORT")?),
            IPVS_SVC_ATTR_FWMARK => Self::Fwmark(u32_ne(v, "IPVS_SVC_ATTR_FWMARK")?),
            IPVS_SVC_ATTR_SCHED_NAME => Self::SchedName(string_of(v, "IPVS_SVC_ATTR_SCHED_NAME")?),
            IPVS_SVC_ATTR_FLAGS => {
                let raw: [u8; 8] = fixed(v, "IPVS_SVC_ATTR_FLAGS")?;
                Self::Flags(IpVsFlags {
                    flags: u32_ne(&raw[..4], "IPVS_SVC_ATTR_FLAGS")?,
                    mask: u32_ne(&raw[4..], "IPVS_SVC_ATTR_FLAGS")?,
                })
            }
            IPVS_SVC_ATTR_TIMEOUT => Self::Timeout(u32_ne(v, "IPVS_SVC_ATTR_TIMEOUT")?),
            IPVS_SVC_ATTR_NETMASK => {
                Self::Netmask(u32::from_be_bytes(fixed(v, "IPVS_SVC_ATTR_NETMASK")?))
            }
            IPVS_SVC_ATTR_STATS => Self::Stats(Nest::parse(buf)?),
            IPVS_SVC_ATTR_PE_NAME => Self::PeName(string_of(v, "IPVS_SVC_ATTR_PE_NAME")?),
            IPVS_SVC_ATTR_STATS64 => Self::Stats64(Nest::parse(buf)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
