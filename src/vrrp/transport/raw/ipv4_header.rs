//! The IPv4 header of VRRP adverts: the one this transport writes under
//! `IP_HDRINCL`, and reading the one a raw socket hands up in front of each
//! received payload (also what the observer's passive listener reads).
//! Pure functions over bytes; no sockets here.

use std::net::Ipv4Addr;
use std::ops::Range;

use crate::vrrp::transport::{IPPROTO_VRRP, VRRP_TTL};

/// DSCP CS6 ("network control"), the TOS / traffic class keepalived puts
/// on adverts.
pub(super) const TOS_NETWORK_CONTROL: u32 = 0xc0;

/// Length of the IPv4 header this transport writes (no options).
pub(super) const IPV4_HEADER_LEN: usize = 20;

/// The IPv4 header keepalived writes for an advert (RFC 791 §3.1): no
/// options, TOS 0xc0, no DF, TTL 255, protocol 112. Identification and
/// checksum stay zero for the kernel to fill (raw(7), `IP_HDRINCL`).
/// `None` when the payload cannot fit one packet.
pub(super) fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload_len: usize,
) -> Option<[u8; IPV4_HEADER_LEN]> {
    let total = u16::try_from(IPV4_HEADER_LEN + payload_len).ok()?;
    let mut h = [0u8; IPV4_HEADER_LEN];
    h[0] = 0x45; // version 4, IHL 5 words
    h[1] = TOS_NETWORK_CONTROL as u8;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[8] = VRRP_TTL;
    h[9] = IPPROTO_VRRP;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    Some(h)
}

/// The header facts of a received IPv4 packet and where its payload lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ipv4Facts {
    pub(crate) source: Ipv4Addr,
    pub(crate) destination: Ipv4Addr,
    pub(crate) ttl: u8,
    pub(crate) payload: Range<usize>,
}

/// Reads the IPv4 header a raw socket hands up in front of the payload.
/// `None` for anything that is not a whole IPv4 packet of protocol 112.
pub(crate) fn parse_ipv4(packet: &[u8]) -> Option<Ipv4Facts> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    if header_len < IPV4_HEADER_LEN
        || total < header_len
        || total > packet.len()
        || packet[9] != IPPROTO_VRRP
    {
        return None;
    }
    let octets =
        |at: usize| Ipv4Addr::new(packet[at], packet[at + 1], packet[at + 2], packet[at + 3]);
    Some(Ipv4Facts {
        source: octets(12),
        destination: octets(16),
        ttl: packet[8],
        payload: header_len..total,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_matches_keepalived_advert_header() {
        // keepalived 2.2.7 advert as tcpdump shows it: tos 0xc0, ttl 255,
        // flags [none], proto VRRP, length 40 (checksum/id left to kernel).
        let h = ipv4_header(
            Ipv4Addr::new(198, 51, 100, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            20,
        )
        .unwrap();
        assert_eq!(
            h,
            [
                0x45, 0xc0, 0x00, 0x28, // version/IHL, TOS, total length 40
                0x00, 0x00, 0x00, 0x00, // identification, flags (no DF), fragment offset
                0xff, 0x70, 0x00, 0x00, // TTL 255, protocol 112, checksum
                198, 51, 100, 1, // source
                224, 0, 0, 18, // destination
            ]
        );
    }

    #[test]
    fn oversized_payload_has_no_header() {
        assert!(ipv4_header(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 65_516).is_none());
        assert!(ipv4_header(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 65_515).is_some());
    }

    #[test]
    fn parse_reads_ttl_addresses_and_skips_options() {
        let mut packet = vec![
            0x46, 0xc0, 0x00, 0x1a, 0, 1, 0, 0, 64, 112, 0, 0, 198, 51, 100, 7, 224, 0, 0,
            18, // header
            1, 1, 1, 0, // 4 bytes of options (IHL 6)
            0x21, 0x33, // payload
        ];
        let facts = parse_ipv4(&packet).unwrap();
        assert_eq!(facts.ttl, 64);
        assert_eq!(facts.source, Ipv4Addr::new(198, 51, 100, 7));
        assert_eq!(facts.destination, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(&packet[facts.payload], &[0x21, 0x33]);
        // Trailing bytes beyond the total length are not payload.
        packet.push(0xee);
        assert_eq!(parse_ipv4(&packet).unwrap().payload, 24..26);
    }

    #[test]
    fn parse_refuses_what_is_not_a_whole_vrrp_ipv4_packet() {
        let good = ipv4_header(
            Ipv4Addr::new(198, 51, 100, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            0,
        )
        .unwrap();
        assert!(parse_ipv4(&good).is_some());
        assert!(parse_ipv4(&[]).is_none());
        assert!(parse_ipv4(&good[..19]).is_none(), "short header");
        let mut v6 = good;
        v6[0] = 0x65;
        assert!(parse_ipv4(&v6).is_none(), "not version 4");
        let mut ihl = good;
        ihl[0] = 0x44;
        assert!(parse_ipv4(&ihl).is_none(), "IHL below 5");
        let mut long = good;
        long[3] = 21;
        assert!(
            parse_ipv4(&long).is_none(),
            "total length beyond the buffer"
        );
        let mut tcp = good;
        tcp[9] = 6;
        assert!(parse_ipv4(&tcp).is_none(), "not protocol 112");
    }
}
