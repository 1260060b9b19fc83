//! How VRRP adverts travel: the [`Transport`] trait, the [`Datagram`] a
//! receiver gets, and the errors both can raise.
//!
//! A transport moves opaque payload bytes (a VRRP packet, RFC 3768 §5 /
//! RFC 5798 §5) plus the IP facts a receiver must check — source,
//! destination, TTL / hop limit (RFC 5798 §7.1: must be 255). It never
//! parses or builds the VRRP packet itself; that is the codec's job.
//!
//! Two implementations: [`raw::RawTransport`] (real sockets, IP protocol
//! 112 on one interface) and [`memory::MemoryTransport`] (an in-process
//! segment for unit tests and the demo).

pub mod memory;
pub mod raw;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (RFC 3768 §5.2.4, RFC 5798 §5.1.1.3).
pub const IPPROTO_VRRP: u8 = 112;

/// The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// The TTL / hop limit every advert is sent with and must arrive with
/// (RFC 3768 §7.1, RFC 5798 §7.1).
pub const VRRP_TTL: u8 = 255;

/// An address family, for transports that carry exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4 (VRRPv2 or v3).
    V4,
    /// IPv6 (VRRPv3 only).
    V6,
}

impl IpFamily {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// The VRRP multicast group of this family.
    pub fn vrrp_group(self) -> IpAddr {
        match self {
            Self::V4 => IpAddr::V4(VRRP_GROUP_V4),
            Self::V6 => IpAddr::V6(VRRP_GROUP_V6),
        }
    }
}

impl std::fmt::Display for IpFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// One received advert: the VRRP payload and the IP header facts the
/// receive checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// IP source address (the sender's primary or link-local address).
    pub source: IpAddr,
    /// IP destination address (the VRRP group, or ours in unicast mode).
    pub destination: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl: u8,
    /// Index of the interface the packet arrived on.
    pub ifindex: u32,
    /// The VRRP packet, without any IP header.
    pub payload: Vec<u8>,
    /// For an advert in an IP Authentication Header (`auth_type AH`, IP
    /// protocol 51): the IPv4 header and the AH in front of `payload`, as
    /// received; the ICV covers them (`packet::ah::verify`). `None` for
    /// plain protocol 112.
    pub ah_prefix: Option<Vec<u8>>,
}

/// What an `auth_type AH` advert is sealed with: the instance's sequence
/// number and HMAC key (RFC 2402 §2.5, §3.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhSeal {
    pub sequence: u32,
    pub key: crate::vrrp::packet::ah::AhKey,
}

/// Errors of opening, sending on or receiving from a transport, worded for
/// an operator.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Raw sockets need CAP_NET_RAW.
    #[error("opening a raw socket for VRRP on '{0}' needs CAP_NET_RAW (run as root)")]
    PermissionDenied(String),
    /// The interface does not exist.
    #[error("no such interface '{0}'")]
    NoSuchInterface(String),
    /// No address to send from: the interface has none of the family.
    #[error("interface '{ifname}' has no {family} {what} address to send VRRP adverts from")]
    NoSourceAddress {
        /// Interface name.
        ifname: String,
        /// Address family wanted.
        family: IpFamily,
        /// Which kind: "primary" (IPv4) or "link-local" (IPv6).
        what: &'static str,
    },
    /// An address of the wrong family was given.
    #[error("{addr} is not an {family} address, but this transport carries {family}")]
    WrongFamily {
        /// The offending address.
        addr: IpAddr,
        /// The transport's family.
        family: IpFamily,
    },
    /// A payload too large for one IP packet.
    #[error("a VRRP payload of {0} bytes does not fit one IP packet")]
    PayloadTooLarge(usize),
    /// Interface lookups over rtnetlink failed.
    #[error("cannot read the addresses of '{ifname}': {reason}")]
    InterfaceLookup {
        /// Interface name.
        ifname: String,
        /// What went wrong.
        reason: String,
    },
    /// Any other socket error.
    #[error("cannot {action} on '{ifname}': {source}")]
    Io {
        /// What was attempted, e.g. "join 224.0.0.18".
        action: String,
        /// Interface name.
        ifname: String,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
}

/// Moves VRRP payloads to and from the other routers of one virtual router.
///
/// Methods return `Send` futures so an engine can drive transports from
/// spawned tasks; implementations may write them as `async fn`.
pub trait Transport: Send + Sync {
    /// The address adverts leave from. VRRPv3 checksums cover it
    /// (RFC 5798 §5.2.8 pseudo-header), so the codec needs it before
    /// sending.
    fn source_address(&self) -> IpAddr;

    /// Where each advert goes: the VRRP multicast group, or every
    /// `unicast_peer`. VRRPv3 checksums cover the destination, so the caller
    /// encodes one payload per destination and calls [`Transport::send`]
    /// for each.
    fn destinations(&self) -> Vec<IpAddr>;

    /// Sends one VRRP payload to `to` with TTL / hop limit 255.
    fn send(
        &self,
        to: IpAddr,
        payload: &[u8],
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Sends one VRRPv2 payload inside an IP Authentication Header sealed
    /// with `seal` (IPv4 only: keepalived has no AH over IPv6).
    fn send_authenticated(
        &self,
        to: IpAddr,
        payload: &[u8],
        seal: AhSeal,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Waits for the next advert from another router. Packets this
    /// transport sent itself are never returned.
    fn recv(&self) -> impl Future<Output = Result<Datagram, TransportError>> + Send;
}
