//! From a frame an AF_PACKET `SOCK_DGRAM` socket hands up (the IP packet,
//! link header stripped) and its link facts to an [`ObservedAdvert`].
//!
//! Owns only the IP header reading that the raw VRRP transport does not
//! (IPv6's fixed header, and telling the two families apart); the IPv4
//! header and the VRRP message go through the crate's codecs. It never
//! panics on any input and never judges an advert (TTL, VRID, interval):
//! the tracker watches, it does not filter.

#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv6Addr};

use thiserror::Error;

use super::machine::ObservedAdvert;
use crate::vrrp::packet::{Advertisement, PacketError, IPPROTO_VRRP};
use crate::vrrp::transport::raw::ipv4_header::{parse_ipv4, parse_ipv4_ah};

/// RFC 8200 §3: the fixed IPv6 header.
const IPV6_HEADER_LEN: usize = 40;

/// Where and how a frame was seen (from its `sockaddr_ll`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The interface name (ifindex resolved by the listener).
    pub interface: String,
    /// `sll_pkttype == PACKET_OUTGOING`: this host sent it.
    pub outgoing: bool,
}

/// Why a protocol-112 frame is not a VRRP advert.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("frame on {interface} is empty")]
    Empty { interface: String },
    #[error("frame on {interface} is IP version {version}, neither 4 nor 6")]
    NotIp { interface: String, version: u8 },
    #[error(
        "frame on {interface} is not a whole IPv4 packet of protocol 112 or 51 ({length} bytes)"
    )]
    BadIpv4 { interface: String, length: usize },
    #[error("frame on {interface} is not a whole IPv6 packet ({length} bytes)")]
    BadIpv6 { interface: String, length: usize },
    #[error(
        "IPv6 packet on {interface} from {source_addr} has next header {next_header}, not 112"
    )]
    NotVrrp {
        interface: String,
        source_addr: IpAddr,
        next_header: u8,
    },
    #[error("malformed VRRP advert on {interface} from {source_addr}: {error}")]
    Vrrp {
        interface: String,
        source_addr: IpAddr,
        #[source]
        error: PacketError,
    },
}

/// Decodes the IP packet `packet` seen at `at_ms` as described by `link`.
pub fn decode_frame(
    at_ms: u64,
    link: &LinkInfo,
    packet: &[u8],
) -> Result<ObservedAdvert, DecodeError> {
    let interface = || link.interface.clone();
    let first = *packet.first().ok_or_else(|| DecodeError::Empty {
        interface: interface(),
    })?;
    let (source, destination, payload) = match first >> 4 {
        4 => {
            // An `auth_type AH` advert is read, not authenticated: the
            // observer has no key.
            let facts = parse_ipv4(packet)
                .or_else(|| parse_ipv4_ah(packet).map(|(facts, _)| facts))
                .ok_or_else(|| DecodeError::BadIpv4 {
                    interface: interface(),
                    length: packet.len(),
                })?;
            let payload =
                packet
                    .get(facts.payload.clone())
                    .ok_or_else(|| DecodeError::BadIpv4 {
                        interface: interface(),
                        length: packet.len(),
                    })?;
            (
                IpAddr::V4(facts.source),
                IpAddr::V4(facts.destination),
                payload,
            )
        }
        6 => ipv6(link, packet)?,
        version => {
            return Err(DecodeError::NotIp {
                interface: interface(),
                version,
            })
        }
    };
    let advert =
        Advertisement::parse(source, destination, payload).map_err(|error| DecodeError::Vrrp {
            interface: interface(),
            source_addr: source,
            error,
        })?;
    Ok(ObservedAdvert {
        at_ms,
        interface: interface(),
        outgoing: link.outgoing,
        source,
        advert,
    })
}

/// RFC 8200 §3: version, payload length (bytes 4-5), next header (6),
/// source (8-23), destination (24-39). VRRP carries no extension headers
/// (RFC 5798 §5.1.2), so the next header must be 112 itself.
fn ipv6<'a>(link: &LinkInfo, packet: &'a [u8]) -> Result<(IpAddr, IpAddr, &'a [u8]), DecodeError> {
    let bad = || DecodeError::BadIpv6 {
        interface: link.interface.clone(),
        length: packet.len(),
    };
    let header = packet.get(..IPV6_HEADER_LEN).ok_or_else(bad)?;
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let address = |at: usize| -> Result<IpAddr, DecodeError> {
        let octets: [u8; 16] = header
            .get(at..at + 16)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(bad)?;
        Ok(IpAddr::V6(Ipv6Addr::from(octets)))
    };
    let source = address(8)?;
    let destination = address(24)?;
    if header[6] != IPPROTO_VRRP {
        return Err(DecodeError::NotVrrp {
            interface: link.interface.clone(),
            source_addr: source,
            next_header: header[6],
        });
    }
    let payload = packet
        .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)
        .ok_or_else(bad)?;
    Ok((source, destination, payload))
}
