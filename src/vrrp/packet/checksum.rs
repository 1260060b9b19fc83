//! The Internet checksum (RFC 1071) over a VRRP message, with the IPv4 or
//! IPv6 pseudo-header that VRRPv3 adds (RFC 5798 §5.2.8). Never allocates.

use std::net::IpAddr;

/// IANA protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;

/// Ones'-complement running sum of 16-bit big-endian words.
#[derive(Debug, Default, Clone, Copy)]
struct Sum(u32);

impl Sum {
    fn add(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(2);
        for pair in &mut chunks {
            self.0 += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        if let [last] = chunks.remainder() {
            self.0 += u32::from(*last) << 8;
        }
        self.fold();
    }

    fn fold(&mut self) {
        while self.0 > 0xffff {
            self.0 = (self.0 & 0xffff) + (self.0 >> 16);
        }
    }

    fn finish(self) -> u16 {
        !(self.0 as u16)
    }
}

/// RFC 3768 §5.3.8: the VRRPv2 checksum covers the VRRP message only.
pub fn v2(message: &[u8]) -> u16 {
    let mut sum = Sum::default();
    sum.add(message);
    sum.finish()
}

/// RFC 5798 §5.2.8: the VRRPv3 checksum covers the IPv4 pseudo-header
/// (RFC 768: source, destination, zero, protocol, length) or the IPv6 one
/// (RFC 8200 §8.1: source, destination, upper-layer length, next header).
/// `source` and `destination` must be of one family; the caller checks.
pub fn v3(source: IpAddr, destination: IpAddr, message: &[u8]) -> u16 {
    let mut sum = Sum::default();
    let length = message.len() as u32;
    match (source, destination) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum.add(&s.octets());
            sum.add(&d.octets());
            sum.add(&[0, IPPROTO_VRRP]);
            sum.add(&(length as u16).to_be_bytes());
        }
        (s, d) => {
            sum.add(&to_v6(s));
            sum.add(&to_v6(d));
            sum.add(&length.to_be_bytes());
            sum.add(&[0, 0, 0, IPPROTO_VRRP]);
        }
    }
    sum.add(message);
    sum.finish()
}

fn to_v6(address: IpAddr) -> [u8; 16] {
    match address {
        IpAddr::V6(v6) => v6.octets(),
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_the_published_value() {
        // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2; checksum is
        // its complement.
        assert_eq!(
            v2(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_a_zero_byte() {
        assert_eq!(v2(&[0x12]), !0x1200);
    }
}
