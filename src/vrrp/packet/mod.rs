//! The VRRP message codec: VRRPv2 (RFC 3768 §5) over IPv4 and VRRPv3
//! (RFC 5798 §5) over IPv4 and IPv6, with checksums, PASS authentication and
//! typed errors; [`ah`] adds the IP Authentication Header of `auth_type AH`.
//!
//! Owns bytes ⇄ [`Advertisement`] only. The IP header is the transport's:
//! it hands over the source and destination addresses (the VRRPv3 checksum
//! covers them) and the payload. This module never decides whether an
//! advert is acceptable to an instance (TTL, VRID, password, interval):
//! that is the state machine's receive check. It never panics on any input.

pub mod ah;
mod checksum;
mod error;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use checksum::IPPROTO_VRRP;
pub use error::PacketError;

/// RFC 3768 §5.3.2 / RFC 5798 §5.2.2: the only packet type.
pub const VRRP_TYPE_ADVERTISEMENT: u8 = 1;
/// RFC 3768 §5.3.6: authentication data is always 8 octets in VRRPv2.
pub const VRRP_AUTH_LEN: usize = 8;
/// RFC 3768 §5.2.3 / RFC 5798 §5.1.1.3: adverts are sent with TTL 255.
pub const VRRP_TTL: u8 = 255;
/// Fixed part of every VRRP message (before the addresses).
pub const VRRP_HEADER_LEN: usize = 8;

/// RFC 3768 §5.3.6 authentication types.
pub const VRRP_AUTH_NONE: u8 = 0;
pub const VRRP_AUTH_PASS: u8 = 1;
pub const VRRP_AUTH_AH: u8 = 2;

/// The protocol version in the high nibble of the first octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    #[serde(rename = "2")]
    V2,
    #[serde(rename = "3")]
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// VRRPv2 authentication (RFC 2338 §5.3.6, kept by keepalived; RFC 3768
/// dropped it and VRRPv3 has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// Auth type 0; the 8 authentication octets are sent as zeros.
    #[default]
    None,
    /// Auth type 1: a clear-text password, zero-padded to 8 octets.
    Pass([u8; VRRP_AUTH_LEN]),
    /// Auth type 2: the advert travels in an IP Authentication Header
    /// (RFC 2338 §5.3.6.2, [`ah`]) and its 8 authentication octets are
    /// zeros. Holds the HMAC key (`auth_pass`, as for PASS); the key never
    /// travels, so a parsed advert holds zeros.
    Ah([u8; VRRP_AUTH_LEN]),
}

impl Auth {
    /// A PASS authentication from a configured password; keepalived keeps
    /// the first 8 bytes and pads with zeros.
    pub fn pass(password: &str) -> Self {
        Auth::Pass(Self::padded(password))
    }

    /// An AH authentication keyed by a configured password, cut and padded
    /// as for PASS (keepalived keys HMAC-MD5 with those 8 bytes).
    pub fn ah(password: &str) -> Self {
        Auth::Ah(Self::padded(password))
    }

    fn padded(password: &str) -> [u8; VRRP_AUTH_LEN] {
        let mut data = [0u8; VRRP_AUTH_LEN];
        for (slot, byte) in data.iter_mut().zip(password.bytes()) {
            *slot = byte;
        }
        data
    }

    pub fn type_code(&self) -> u8 {
        match self {
            Auth::None => VRRP_AUTH_NONE,
            Auth::Pass(_) => VRRP_AUTH_PASS,
            Auth::Ah(_) => VRRP_AUTH_AH,
        }
    }

    /// The HMAC key when adverts travel in an Authentication Header.
    pub fn ah_key(&self) -> Option<&ah::AhKey> {
        match self {
            Auth::Ah(key) => Some(key),
            _ => None,
        }
    }
}

/// A VRRP ADVERTISEMENT, either version.
///
/// VRRPv2, RFC 3768 §5.1:
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Auth Type   |   Adver Int   |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         IP Address (1)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                            .                                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         IP Address (n)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (1)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Authentication Data (2)                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// VRRPv3, RFC 5798 §5.1 (addresses are IPv4 or IPv6, never mixed):
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |(rsvd) |     Max Adver Int     |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IPvX Address(es)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advertisement {
    pub version: Version,
    /// Virtual Router Identifier, 1-255.
    pub vrid: u8,
    /// 255 = address owner, 0 = the master is stopping (RFC 3768 §5.3.4).
    pub priority: u8,
    /// The advertisement interval as carried: whole seconds in VRRPv2
    /// (8 bits), centiseconds in VRRPv3 (12 bits). See [`Self::interval`].
    pub interval: u16,
    /// Always [`Auth::None`] in VRRPv3.
    #[serde(default, skip_serializing_if = "is_no_auth")]
    pub auth: Auth,
    pub addresses: Vec<IpAddr>,
}

fn is_no_auth(auth: &Auth) -> bool {
    *auth == Auth::None
}

impl Advertisement {
    /// The interval as a duration, whatever the version's unit.
    pub fn interval(&self) -> Duration {
        match self.version {
            Version::V2 => Duration::from_secs(u64::from(self.interval)),
            Version::V3 => Duration::from_millis(u64::from(self.interval) * 10),
        }
    }

    /// Decodes the VRRP message `payload` that arrived from `source` to
    /// `destination` (the IP header's addresses), verifying length and
    /// checksum. An AH advert's authentication header is the transport's
    /// and [`ah::verify`]'s; here it only has auth type 2.
    pub fn parse(
        source: IpAddr,
        destination: IpAddr,
        payload: &[u8],
    ) -> Result<Advertisement, PacketError> {
        if source.is_ipv4() != destination.is_ipv4() {
            return Err(PacketError::FamilyMismatch {
                source_addr: source,
                destination,
            });
        }
        if payload.len() < VRRP_HEADER_LEN {
            return Err(PacketError::TooShort {
                actual: payload.len(),
                minimum: VRRP_HEADER_LEN,
            });
        }
        let version = match payload[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            other => return Err(PacketError::BadVersion(other)),
        };
        let kind = payload[0] & 0x0f;
        if kind != VRRP_TYPE_ADVERTISEMENT {
            return Err(PacketError::BadType(kind));
        }
        if version == Version::V2 && source.is_ipv6() {
            return Err(PacketError::V2OverIpv6);
        }
        let count = payload[3];
        let address_len = if source.is_ipv4() { 4 } else { 16 };
        let auth_len = if version == Version::V2 {
            VRRP_AUTH_LEN
        } else {
            0
        };
        let expected = VRRP_HEADER_LEN + usize::from(count) * address_len + auth_len;
        if payload.len() != expected {
            return Err(PacketError::LengthMismatch {
                actual: payload.len(),
                expected,
                count,
            });
        }
        let received = u16::from_be_bytes([payload[6], payload[7]]);
        let mut zeroed = payload.to_vec();
        zeroed[6] = 0;
        zeroed[7] = 0;
        let computed = match version {
            Version::V2 => checksum::v2(&zeroed),
            Version::V3 => checksum::v3(source, destination, &zeroed),
        };
        if received != computed {
            return Err(PacketError::ChecksumMismatch { received, computed });
        }
        let (interval, auth) = match version {
            Version::V2 => {
                let auth = match payload[4] {
                    VRRP_AUTH_NONE => Auth::None,
                    VRRP_AUTH_PASS => {
                        let mut data = [0u8; VRRP_AUTH_LEN];
                        data.copy_from_slice(&payload[expected - VRRP_AUTH_LEN..]);
                        Auth::Pass(data)
                    }
                    VRRP_AUTH_AH => Auth::Ah([0; VRRP_AUTH_LEN]),
                    other => return Err(PacketError::UnknownAuthType(other)),
                };
                (u16::from(payload[5]), auth)
            }
            // The top 4 bits are reserved: ignored on receipt (RFC 5798
            // §5.2.6).
            Version::V3 => (
                u16::from_be_bytes([payload[4], payload[5]]) & 0x0fff,
                Auth::None,
            ),
        };
        // A zero interval would make every timer expire at once; no router
        // sends it (RFC 3768 §5.3.7: default 1 s; RFC 5798 §5.2.7), so the
        // advert is malformed rather than a mismatch to count.
        if interval == 0 {
            return Err(PacketError::IntervalOutOfRange(0));
        }
        let body = &payload[VRRP_HEADER_LEN..VRRP_HEADER_LEN + usize::from(count) * address_len];
        let addresses = body
            .chunks_exact(address_len)
            .map(|chunk| match <[u8; 4]>::try_from(chunk) {
                Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
                Err(_) => {
                    let mut v6 = [0u8; 16];
                    v6.copy_from_slice(chunk);
                    IpAddr::V6(Ipv6Addr::from(v6))
                }
            })
            .collect();
        Ok(Advertisement {
            version,
            vrid: payload[1],
            priority: payload[2],
            interval,
            auth,
            addresses,
        })
    }

    /// Encodes the message to send from `source` to `destination`, with its
    /// checksum. Fails only on values no VRRP message can carry.
    pub fn emit(&self, source: IpAddr, destination: IpAddr) -> Result<Vec<u8>, PacketError> {
        if source.is_ipv4() != destination.is_ipv4() {
            return Err(PacketError::FamilyMismatch {
                source_addr: source,
                destination,
            });
        }
        if self.version == Version::V2 && source.is_ipv6() {
            return Err(PacketError::V2OverIpv6);
        }
        let count = u8::try_from(self.addresses.len())
            .map_err(|_| PacketError::TooManyAddresses(self.addresses.len()))?;
        let interval_fits = match self.version {
            Version::V2 => (1..=255).contains(&self.interval),
            Version::V3 => (1..=0x0fff).contains(&self.interval),
        };
        if !interval_fits {
            return Err(PacketError::IntervalOutOfRange(self.interval));
        }
        let mut out = Vec::with_capacity(VRRP_HEADER_LEN + self.addresses.len() * 16 + 8);
        out.push((self.version.number() << 4) | VRRP_TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(count);
        match self.version {
            Version::V2 => {
                out.push(self.auth.type_code());
                out.extend_from_slice(&self.interval.to_be_bytes()[1..]);
            }
            Version::V3 => out.extend_from_slice(&self.interval.to_be_bytes()),
        }
        out.extend_from_slice(&[0, 0]);
        for address in &self.addresses {
            match (address, source) {
                (IpAddr::V4(v4), IpAddr::V4(_)) => out.extend_from_slice(&v4.octets()),
                (IpAddr::V6(v6), IpAddr::V6(_)) => out.extend_from_slice(&v6.octets()),
                _ => return Err(PacketError::AddressFamily { address: *address }),
            }
        }
        if self.version == Version::V2 {
            match self.auth {
                // RFC 2338 §5.3.10: with AH the field is zero.
                Auth::None | Auth::Ah(_) => out.extend_from_slice(&[0; VRRP_AUTH_LEN]),
                Auth::Pass(data) => out.extend_from_slice(&data),
            }
        }
        let sum = match self.version {
            Version::V2 => checksum::v2(&out),
            Version::V3 => checksum::v3(source, destination, &out),
        };
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        Ok(out)
    }
}
