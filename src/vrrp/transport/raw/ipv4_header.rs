//! The IPv4 header of VRRP adverts: the one this transport writes under
//! `IP_HDRINCL`, and reading the one a raw socket hands up in front of each
//! received payload (also what the observer's passive listener reads).
//! Pure functions over bytes; no sockets here.

use std::net::Ipv4Addr;
use std::ops::Range;

use crate::vrrp::packet::ah::{self, AhKey, IPPROTO_AH};
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
    header_of(src, dst, IPPROTO_VRRP, 0, payload_len)
}

/// The IPv4 header and Authentication Header in front of an `auth_type AH`
/// advert `vrrp` (RFC 2402; the layout is [`ah`]'s). The identification is
/// set here, never 0 (the kernel would replace 0 after the ICV was
/// computed): the low 16 bits of `sequence`, 1 in place of 0. `None` when
/// the packet cannot fit.
pub(crate) fn ah_prefix(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    vrrp: &[u8],
    sequence: u32,
    key: &AhKey,
) -> Option<Vec<u8>> {
    let id = (sequence as u16).max(1);
    let header = header_of(src, dst, IPPROTO_AH, id, ah::AH_LEN + vrrp.len())?;
    let auth = ah::seal(&header, sequence, key, vrrp).ok()?;
    let mut prefix = header.to_vec();
    prefix.extend_from_slice(&auth);
    Some(prefix)
}

fn header_of(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    id: u16,
    payload_len: usize,
) -> Option<[u8; IPV4_HEADER_LEN]> {
    let total = u16::try_from(IPV4_HEADER_LEN + payload_len).ok()?;
    let mut h = [0u8; IPV4_HEADER_LEN];
    h[0] = 0x45; // version 4, IHL 5 words
    h[1] = TOS_NETWORK_CONTROL as u8;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[8] = VRRP_TTL;
    h[9] = protocol;
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
    parse_ipv4_of(packet, IPPROTO_VRRP)
}

/// Reads an `auth_type AH` advert: the header facts with `payload` the
/// VRRP message, and how many bytes precede it (IPv4 header and AH, what
/// the ICV check needs). `None` for anything that is not a whole IPv4
/// packet of protocol 51 with room for its AH.
pub(crate) fn parse_ipv4_ah(packet: &[u8]) -> Option<(Ipv4Facts, usize)> {
    let mut facts = parse_ipv4_of(packet, IPPROTO_AH)?;
    let ah_len = ah::ah_length(&packet[facts.payload.clone()])?;
    let prefix = facts.payload.start + ah_len;
    facts.payload = prefix..facts.payload.end;
    Some((facts, prefix))
}

fn parse_ipv4_of(packet: &[u8], protocol: u8) -> Option<Ipv4Facts> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    if header_len < IPV4_HEADER_LEN
        || total < header_len
        || total > packet.len()
        || packet[9] != protocol
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
    fn ah_prefix_is_the_header_and_ah_keepalived_sends() {
        // The VRRP message of keepalived 2.2.7's AH advert, sequence 1,
        // `auth_pass secret12` (the golden vector of `packet::ah`).
        let vrrp = [
            0x21, 0x33, 0x96, 0x01, 0x02, 0x01, 0x1c, 0x32, 0xc6, 0x33, 0x64, 0x64, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        let prefix = ah_prefix(
            Ipv4Addr::new(198, 51, 100, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            &vrrp,
            1,
            b"secret12",
        )
        .unwrap();
        assert_eq!(
            prefix,
            [
                0x45, 0xc0, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, // id 1, no flags
                0xff, 0x33, 0x00, 0x00, // TTL 255, protocol 51, checksum left to the kernel
                198, 51, 100, 1, 224, 0, 0, 18, // addresses
                0x70, 0x04, 0x00, 0x00, 198, 51, 100, 1, 0, 0, 0, 1, // AH
                0x89, 0xf5, 0xed, 0xbd, 0xfe, 0x8c, 0x4a, 0xcf, 0xa8, 0xda, 0x62, 0x43, // ICV
            ]
        );
        let mut packet = prefix.clone();
        packet.extend_from_slice(&vrrp);
        let (facts, at) = parse_ipv4_ah(&packet).unwrap();
        assert_eq!(at, 44);
        assert_eq!(&packet[facts.payload], &vrrp);
        assert!(parse_ipv4(&packet).is_none(), "not protocol 112");
    }

    #[test]
    fn ah_identification_is_never_zero() {
        let prefix = ah_prefix(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            &[],
            0x1_0000,
            &[0; 8],
        );
        assert_eq!(prefix.unwrap()[4..6], [0, 1]);
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
