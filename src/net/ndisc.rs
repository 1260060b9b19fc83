//! The unsolicited neighbour advertisement a new VRRP master sends for each
//! IPv6 VIP (RFC 4861 §7.2.6, RFC 5798 §6.4.2), so neighbours update their
//! caches to the interface's MAC.
//!
//! The frame is built whole — Ethernet, IPv6 and ICMPv6 with its checksum
//! (RFC 4443 §2.3) — exactly as keepalived 2.2.7 sends it: to ff02::1 from
//! the VIP itself, hop limit 255, Override flag set (Router when the
//! interface forwards IPv6), Solicited clear, one Target Link-Layer Address
//! option (checked against `tests/fixtures/vrrp/keepalived_na.hex` and
//! `keepalived_na_router.hex`). Sending from the VIP works even while its
//! duplicate address detection is still running, because the frame
//! bypasses the IPv6 stack.
//!
//! This module only builds bytes; [`super::announcer`] sends them.

use std::net::Ipv6Addr;

/// EtherType of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;

/// Length of the frame: 14 Ethernet + 40 IPv6 + 24 NA + 8 option bytes.
pub const NA_FRAME_LEN: usize = 86;

/// The all-nodes multicast group the advertisement goes to.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_ADVERT: u8 = 136;
/// NA flags (RFC 4861 §4.4): Router, Solicited, Override.
const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_OVERRIDE: u8 = 0x20;
/// Option type "Target Link-Layer Address" (RFC 4861 §4.6.1).
const ND_OPT_TARGET_LINKADDR: u8 = 2;

const ICMP_LEN: usize = 32;

/// The unsolicited NA announcing `vip` at `mac`; `router` sets the R flag
/// (keepalived does when the interface forwards IPv6).
pub fn unsolicited_na(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_FRAME_LEN] {
    let mut f = [0u8; NA_FRAME_LEN];
    // Ethernet: IPv6 multicast MAC 33:33 + low 32 bits of ff02::1 (RFC 2464 §7).
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    // IPv6 header (RFC 8200 §3): version 6, class 0, flow 0.
    f[14] = 0x60;
    f[18..20].copy_from_slice(&(ICMP_LEN as u16).to_be_bytes());
    f[20] = IPPROTO_ICMPV6;
    f[21] = 255; // hop limit: receivers drop ND with anything else
    f[22..38].copy_from_slice(&vip.octets());
    f[38..54].copy_from_slice(&ALL_NODES.octets());
    // Neighbour advertisement (RFC 4861 §4.4).
    let icmp = &mut f[54..];
    icmp[0] = ND_NEIGHBOR_ADVERT;
    icmp[4] = NA_FLAG_OVERRIDE | if router { NA_FLAG_ROUTER } else { 0 };
    icmp[8..24].copy_from_slice(&vip.octets());
    icmp[24] = ND_OPT_TARGET_LINKADDR;
    icmp[25] = 1; // option length in units of 8 bytes
    icmp[26..32].copy_from_slice(&mac);
    let checksum = icmpv6_checksum(vip, ALL_NODES, icmp);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    f
}

/// The ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1) and the
/// message, whose checksum field must be zero.
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).copied().map_or(0, u32::from);
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, IPPROTO_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        let text = text.trim();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];

    #[test]
    fn frame_equals_keepalived_capture_byte_for_byte() {
        let captured = unhex(include_str!("../../tests/fixtures/vrrp/keepalived_na.hex"));
        let frame = unsolicited_na(MAC, "2001:db8::88".parse().unwrap(), false);
        assert_eq!(frame.as_slice(), captured.as_slice());
    }

    #[test]
    fn router_frame_equals_keepalived_capture_on_a_forwarding_interface() {
        let captured = unhex(include_str!(
            "../../tests/fixtures/vrrp/keepalived_na_router.hex"
        ));
        let frame = unsolicited_na(MAC, "2001:db8::88".parse().unwrap(), true);
        assert_eq!(frame.as_slice(), captured.as_slice());
    }

    #[test]
    fn router_flag_changes_flags_and_checksum_stays_valid() {
        let vip: Ipv6Addr = "2001:db8::99".parse().unwrap();
        let frame = unsolicited_na(MAC, vip, true);
        assert_eq!(frame[54 + 4], 0xa0, "Router and Override, not Solicited");
        // A message carrying its correct checksum sums to zero.
        assert_eq!(icmpv6_checksum(vip, ALL_NODES, &frame[54..]), 0);
        assert_eq!(frame[21], 255, "hop limit");
    }
}
