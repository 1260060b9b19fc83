//! VRRPv2 adverts carried in an IP Authentication Header (RFC 2338
//! §5.3.6.2; AH is RFC 2402) with HMAC-MD5-96 (RFC 2403 over RFC 2104),
//! laid out as keepalived 2.2.7 sends and checks them.
//!
//! Owns the AH bytes between the IPv4 header and the VRRP message and the
//! integrity check value (ICV) over the three. It keeps no state: the
//! sequence number belongs to the instance, the socket to the transport.
//! It never panics on any input.
//!
//! What keepalived 2.2.7 puts on the wire (measured, not assumed — see the
//! golden vector in the tests):
//! - IPv4 protocol 51; the AH's next header is 112 (VRRP), its payload
//!   length 4 (24 bytes: 12 fixed + a 96-bit ICV), reserved 0.
//! - SPI = the sender's IPv4 source address.
//! - The IP identification is set by the sender (the ICV covers it); the
//!   kernel only fills an identification of 0, so one is never sent.
//! - The ICV is HMAC-MD5 truncated to 96 bits, keyed by the first 8 bytes of
//!   `auth_pass`, over the IPv4 header with TOS, flags/fragment offset and
//!   checksum zeroed (the TTL stays in: adverts always carry 255), the AH
//!   with its ICV zeroed, and the VRRP message.
//! - The VRRP message itself has auth type 2 and 8 zero authentication
//!   octets, with its usual checksum.

use hmac::{Hmac, Mac};
use md5::Md5;
use thiserror::Error;

use super::checksum::IPPROTO_VRRP;

/// IANA protocol number of the IP Authentication Header.
pub const IPPROTO_AH: u8 = 51;
/// The AH keepalived sends: 12 fixed octets and a 96-bit ICV.
pub const AH_LEN: usize = 24;
/// HMAC-MD5-96 (RFC 2403 §2): the first 96 bits of the HMAC.
pub const ICV_LEN: usize = 12;
/// RFC 2402 §2.2: the AH length in 32-bit words, minus 2.
const AH_PAYLOAD_LEN: u8 = (AH_LEN / 4 - 2) as u8;
/// The smallest IPv4 header (no options).
const IPV4_MIN_HEADER: usize = 20;

/// The key of HMAC-MD5-96: `auth_pass`, at most 8 bytes, zero padded
/// (HMAC pads short keys with zeros, so the padding changes nothing).
pub type AhKey = [u8; 8];

/// The fixed fields of an Authentication Header.
///
/// RFC 2402 §2:
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Header   |  Payload Len  |          RESERVED             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Security Parameters Index (SPI)               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Sequence Number Field                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                Authentication Data (variable)                 |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhHeader {
    pub spi: u32,
    pub sequence: u32,
}

/// Why an AH packet was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AhError {
    #[error("AH packet too short: {actual} bytes in front of the VRRP message, {minimum} needed")]
    TooShort { actual: usize, minimum: usize },
    #[error("AH next header is {0}, not 112 (VRRP)")]
    NextHeader(u8),
    #[error("AH payload length is {0}, not 4 (HMAC-MD5-96)")]
    PayloadLength(u8),
    #[error("invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !")]
    IcvMismatch,
}

/// Builds the AH for `vrrp` sent under `ip_header` (the IPv4 header as it
/// will leave: protocol 51, its total length and identification set),
/// with `sequence` and the ICV keyed by `key`. The SPI is the header's
/// source address.
pub fn seal(
    ip_header: &[u8],
    sequence: u32,
    key: &AhKey,
    vrrp: &[u8],
) -> Result<[u8; AH_LEN], AhError> {
    let source = ip_header
        .get(12..16)
        .ok_or(AhError::TooShort {
            actual: ip_header.len(),
            minimum: IPV4_MIN_HEADER,
        })?
        .to_vec();
    let mut ah = [0u8; AH_LEN];
    ah[0] = IPPROTO_VRRP;
    ah[1] = AH_PAYLOAD_LEN;
    ah[4..8].copy_from_slice(&source);
    ah[8..12].copy_from_slice(&sequence.to_be_bytes());
    let icv = mac(ip_header, &ah, vrrp, key).finalize().into_bytes();
    ah[12..].copy_from_slice(&icv[..ICV_LEN]);
    Ok(ah)
}

/// Checks a received packet: `prefix` is what precedes the VRRP message
/// (the IPv4 header, options included, then the AH), `vrrp` the message.
/// Returns the AH's SPI and sequence number when the ICV matches `key`.
pub fn verify(prefix: &[u8], vrrp: &[u8], key: &AhKey) -> Result<AhHeader, AhError> {
    let header_len = prefix
        .first()
        .map_or(0, |first| usize::from(first & 0x0f) * 4);
    let minimum = header_len.max(IPV4_MIN_HEADER) + AH_LEN;
    if header_len < IPV4_MIN_HEADER || prefix.len() != minimum {
        return Err(AhError::TooShort {
            actual: prefix.len(),
            minimum,
        });
    }
    let (ip_header, ah) = prefix.split_at(header_len);
    if ah[0] != IPPROTO_VRRP {
        return Err(AhError::NextHeader(ah[0]));
    }
    if ah[1] != AH_PAYLOAD_LEN {
        return Err(AhError::PayloadLength(ah[1]));
    }
    let mut zeroed = [0u8; AH_LEN];
    zeroed[..12].copy_from_slice(&ah[..12]);
    mac(ip_header, &zeroed, vrrp, key)
        .verify_truncated_left(&ah[12..])
        .map_err(|_| AhError::IcvMismatch)?;
    let word = |at: usize| u32::from_be_bytes([ah[at], ah[at + 1], ah[at + 2], ah[at + 3]]);
    Ok(AhHeader {
        spi: word(4),
        sequence: word(8),
    })
}

/// The length of the AH at the start of `after_ip` (RFC 2402 §2.2), so a
/// receiver can find the VRRP message; `None` when it does not fit.
pub fn ah_length(after_ip: &[u8]) -> Option<usize> {
    let words = usize::from(*after_ip.get(1)?) + 2;
    let len = words * 4;
    (len <= after_ip.len()).then_some(len)
}

/// HMAC-MD5 over the IPv4 header with its mutable fields zeroed, the AH
/// (ICV zeroed by the caller) and the VRRP message.
fn mac(ip_header: &[u8], ah: &[u8], vrrp: &[u8], key: &AhKey) -> Hmac<Md5> {
    let mut header = ip_header.to_vec();
    // RFC 2402 §3.3.3.1.1.1: TOS, flags and fragment offset, and the
    // header checksum are mutable; keepalived keeps the TTL in.
    for at in [1, 6, 7, 10, 11] {
        if let Some(byte) = header.get_mut(at) {
            *byte = 0;
        }
    }
    let mut hmac = <Hmac<Md5> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    hmac.update(&header);
    hmac.update(ah);
    hmac.update(vrrp);
    hmac
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// keepalived 2.2.7 as MASTER of VRID 51, priority 150, advert_int 1,
    /// `auth_type AH`, `auth_pass secret12`, VIP 198.51.100.100, sending
    /// from 198.51.100.1, captured in a network namespace with
    /// `ip netns exec B tcpdump -i ahvb -nn -xx -vv 'ip proto 51'`
    /// (the Ethernet header left out).
    const KEEPALIVED_ADVERT: [u8; 64] = [
        0x45, 0xc0, 0x00, 0x40, // IPv4, IHL 5, TOS 0xc0, total length 64
        0x00, 0x01, 0x00, 0x00, // identification 1, no flags
        0xff, 0x33, 0xb0, 0x82, // TTL 255, protocol 51 (AH), checksum
        0xc6, 0x33, 0x64, 0x01, // source 198.51.100.1
        0xe0, 0x00, 0x00, 0x12, // destination 224.0.0.18
        0x70, 0x04, 0x00, 0x00, // AH: next header 112, payload length 4, reserved
        0xc6, 0x33, 0x64, 0x01, // SPI = the source address
        0x00, 0x00, 0x00, 0x01, // sequence number 1
        0x89, 0xf5, 0xed, 0xbd, 0xfe, 0x8c, 0x4a, 0xcf, 0xa8, 0xda, 0x62, 0x43, // ICV
        0x21, 0x33, 0x96, 0x01, // VRRPv2 advert, VRID 51, priority 150, 1 address
        0x02, 0x01, 0x1c, 0x32, // auth type 2 (AH), interval 1 s, checksum
        0xc6, 0x33, 0x64, 0x64, // 198.51.100.100
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // authentication data: zeros
    ];
    const KEY: AhKey = *b"secret12";

    #[test]
    fn verifies_keepalived_advert() {
        let (prefix, vrrp) = KEEPALIVED_ADVERT.split_at(44);
        let header = verify(prefix, vrrp, &KEY).unwrap();
        assert_eq!(header.spi, 0xc633_6401);
        assert_eq!(header.sequence, 1);
    }

    #[test]
    fn seals_byte_for_byte_as_keepalived() {
        let ip_header = &KEEPALIVED_ADVERT[..20];
        let ah = seal(ip_header, 1, &KEY, &KEEPALIVED_ADVERT[44..]).unwrap();
        assert_eq!(ah, KEEPALIVED_ADVERT[20..44]);
    }

    #[test]
    fn the_kernel_filled_checksum_and_tos_do_not_matter() {
        let mut packet = KEEPALIVED_ADVERT;
        packet[1] = 0;
        packet[10] = 0x12;
        packet[11] = 0x34;
        packet[6] = 0x40; // DF set on the way
        let (prefix, vrrp) = packet.split_at(44);
        assert!(verify(prefix, vrrp, &KEY).is_ok());
    }

    #[test]
    fn a_wrong_password_or_changed_field_fails_the_icv() {
        let (prefix, vrrp) = KEEPALIVED_ADVERT.split_at(44);
        assert_eq!(verify(prefix, vrrp, b"secret13"), Err(AhError::IcvMismatch));
        for at in [4, 8, 12, 16, 28, 31, 34, 46] {
            let mut packet = KEEPALIVED_ADVERT;
            packet[at] ^= 1;
            let (prefix, vrrp) = packet.split_at(44);
            assert!(verify(prefix, vrrp, &KEY).is_err(), "byte {at} changed");
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        let (prefix, vrrp) = KEEPALIVED_ADVERT.split_at(44);
        assert!(matches!(
            verify(&prefix[..43], vrrp, &KEY),
            Err(AhError::TooShort { .. })
        ));
        let mut packet = KEEPALIVED_ADVERT;
        packet[20] = 6;
        assert_eq!(
            verify(&packet[..44], vrrp, &KEY),
            Err(AhError::NextHeader(6))
        );
        let mut packet = KEEPALIVED_ADVERT;
        packet[21] = 5;
        assert_eq!(
            verify(&packet[..44], vrrp, &KEY),
            Err(AhError::PayloadLength(5))
        );
        assert!(verify(&[], vrrp, &KEY).is_err());
    }

    #[test]
    fn ah_length_follows_the_payload_length_field() {
        assert_eq!(ah_length(&KEEPALIVED_ADVERT[20..]), Some(24));
        assert_eq!(ah_length(&KEEPALIVED_ADVERT[20..40]), None);
        assert_eq!(ah_length(&[]), None);
    }
}
