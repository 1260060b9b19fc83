//! The gratuitous ARP frame a new VRRP master sends for each IPv4 VIP, so
//! that hosts and switches on the segment learn the VIP's new MAC.
//!
//! The frame is the ARP *request* form (RFC 5227 §3 "ARP Announcement",
//! RFC 3768 §8.1.2 / RFC 5798 §6.4.2): Ethernet broadcast, sender IP =
//! target IP = VIP, sender hardware address = the interface's MAC, target
//! hardware address all ones — field for field what keepalived 2.2.7 puts
//! on the wire (checked against `tests/fixtures/vrrp/keepalived_garp.hex`,
//! captured by `capture_keepalived_announce.sh` beside it). Ethernet pads
//! short frames itself, so the frame is the unpadded 42 bytes.
//!
//! This module only builds bytes; [`super::announcer`] sends them.

use std::net::Ipv4Addr;

/// EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;

/// Length of a gratuitous ARP frame: 14 bytes Ethernet + 28 bytes ARP.
pub const GARP_FRAME_LEN: usize = 42;

const BROADCAST: [u8; 6] = [0xff; 6];

/// ARP hardware type Ethernet (RFC 826).
const ARPHRD_ETHER: u16 = 1;
/// ARP protocol type IPv4.
const ETH_P_IP: u16 = 0x0800;
/// ARP opcode "request" (RFC 826).
const ARPOP_REQUEST: u16 = 1;

/// The gratuitous ARP announcing `vip` at `mac`.
pub fn gratuitous_arp(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut f = [0u8; GARP_FRAME_LEN];
    // Ethernet II header.
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    // ARP packet (RFC 826).
    f[14..16].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
    f[16..18].copy_from_slice(&ETH_P_IP.to_be_bytes());
    f[18] = 6; // hardware address length
    f[19] = 4; // protocol address length
    f[20..22].copy_from_slice(&ARPOP_REQUEST.to_be_bytes());
    f[22..28].copy_from_slice(&mac); // sender hardware address
    f[28..32].copy_from_slice(&vip.octets()); // sender protocol address
    f[32..38].copy_from_slice(&BROADCAST); // target hardware address
    f[38..42].copy_from_slice(&vip.octets()); // target protocol address
    f
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

    #[test]
    fn frame_equals_keepalived_capture_byte_for_byte() {
        let captured = unhex(include_str!(
            "../../tests/fixtures/vrrp/keepalived_garp.hex"
        ));
        // The capture's interface MAC and VIP (see the capture script).
        let frame = gratuitous_arp(
            [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01],
            Ipv4Addr::new(198, 51, 100, 88),
        );
        assert_eq!(frame.as_slice(), captured.as_slice());
    }

    #[test]
    fn sender_and_target_are_the_vip_and_sender_mac_is_ours() {
        let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        let f = gratuitous_arp(mac, Ipv4Addr::new(198, 51, 100, 200));
        assert_eq!(&f[0..6], &[0xff; 6], "Ethernet broadcast");
        assert_eq!(&f[6..12], &mac, "Ethernet source");
        assert_eq!(&f[22..28], &mac, "ARP sender MAC");
        assert_eq!(&f[28..32], &[198, 51, 100, 200]);
        assert_eq!(&f[38..42], &[198, 51, 100, 200]);
        assert_eq!(u16::from_be_bytes([f[20], f[21]]), 1, "request form");
    }
}
