//! Closed connections kept for the TIME_WAIT emulation, packed small.
//!
//! A busy director keeps two minutes of closed connections (the tcp_fin
//! timeout), as the kernel does: at 14,000 new connections a second that
//! is 1.7 million entries. A live entry carries counters and deadlines a
//! closed one no longer needs, and `SocketAddr` spends 32 bytes on what
//! fits in 19; this form is about half the size, which halves the memory
//! and the page faults of growing it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::ipvs::model::Protocol;

use super::conntrack::ConnState;

/// An IPv4 or IPv6 socket address in 19 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PackedAddr {
    octets: [u8; 16],
    port: u16,
    v6: bool,
}

impl PackedAddr {
    pub fn new(addr: SocketAddr) -> Self {
        let (octets, v6) = match addr.ip() {
            IpAddr::V4(v4) => {
                let mut octets = [0; 16];
                octets[..4].copy_from_slice(&v4.octets());
                (octets, false)
            }
            IpAddr::V6(v6) => (v6.octets(), true),
        };
        PackedAddr {
            octets,
            port: addr.port(),
            v6,
        }
    }

    pub fn get(self) -> SocketAddr {
        SocketAddr::new(packed_ip(self.octets, self.v6), self.port)
    }
}

fn packed_ip(octets: [u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(octets))
    } else {
        IpAddr::V4(Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
    }
}

/// A closed connection waiting out its linger in a wheel slot (the slot
/// gives its deadline).
#[derive(Debug, Clone)]
pub(super) struct Lingering {
    pub client: PackedAddr,
    pub vaddr: PackedAddr,
    pub dest_addr: PackedAddr,
    pub svc: u64,
    pub dest: u64,
    pub protocol: Protocol,
    pub state: ConnState,
    /// The persistence template controlling it: (key, template id).
    pub template: Option<(PackedAddr, u64)>,
}

impl Lingering {
    /// The template key back as the address it was made from.
    pub fn template(&self) -> Option<(IpAddr, u64)> {
        self.template.map(|(key, id)| (key.get().ip(), id))
    }
}

/// Pack a template key (an address; the port is unused).
pub(super) fn pack_template(template: Option<(IpAddr, u64)>) -> Option<(PackedAddr, u64)> {
    template.map(|(ip, id)| (PackedAddr::new(SocketAddr::new(ip, 0)), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_survive_packing() {
        for text in [
            "198.51.100.7:80",
            "[2001:db8::1]:443",
            "0.0.0.0:0",
            "[::ffff:198.51.100.1]:1",
        ] {
            let addr: SocketAddr = text.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(PackedAddr::new(addr).get(), addr, "{text}");
        }
    }

    #[test]
    fn a_lingering_entry_is_about_half_a_live_one() {
        assert!(
            std::mem::size_of::<Lingering>() <= 112,
            "{}",
            std::mem::size_of::<Lingering>()
        );
    }
}
