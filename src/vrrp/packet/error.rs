//! What can be wrong with a received VRRP message, each variant naming the
//! field and both values, so a log line tells the operator exactly why an
//! advert was dropped.

use thiserror::Error;

/// A VRRP message that cannot be decoded (or an advert that cannot be
/// encoded). Produced by [`super::Advertisement::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PacketError {
    #[error("VRRP message too short: {actual} bytes, the fixed header alone needs {minimum}")]
    TooShort { actual: usize, minimum: usize },
    #[error("unsupported VRRP version {0} (lvstop speaks 2 and 3)")]
    BadVersion(u8),
    #[error("VRRP packet type {0} is not 1 (ADVERTISEMENT)")]
    BadType(u8),
    #[error("VRRPv2 is IPv4 only (RFC 3768); received over IPv6")]
    V2OverIpv6,
    #[error(
        "source {source_addr} and destination {destination} are of different address families"
    )]
    FamilyMismatch {
        source_addr: std::net::IpAddr,
        destination: std::net::IpAddr,
    },
    #[error(
        "VRRP message length {actual} does not match {expected} expected for {count} address(es)"
    )]
    LengthMismatch {
        actual: usize,
        expected: usize,
        count: u8,
    },
    #[error("VRRPv2 authentication type {0} is unknown (0 = none, 1 = PASS, 2 = AH)")]
    UnknownAuthType(u8),
    #[error("VRRP checksum mismatch: packet says {received:#06x}, computed {computed:#06x}")]
    ChecksumMismatch { received: u16, computed: u16 },
    #[error("advert has {0} addresses; the count field holds at most 255")]
    TooManyAddresses(usize),
    #[error("address {address} is not of the advert's family")]
    AddressFamily { address: std::net::IpAddr },
    #[error("advertisement interval {0} does not fit the field (v2: 1-255 s, v3: 1-4095 cs)")]
    IntervalOutOfRange(u16),
}
