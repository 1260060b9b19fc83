//! VRRP over raw IP protocol 112 sockets on one interface, IPv4 or IPv6,
//! multicast or unicast (`unicast_peer`); or, for `auth_type AH`, over IP
//! protocol 51 (RFC 2402), the VRRP message behind an Authentication
//! Header, as keepalived opens its AH sockets.
//!
//! This module owns the socket options that make adverts interoperate with
//! other VRRP routers (keepalived included): TTL / hop limit 255 on send
//! (RFC 3768 §7.1, RFC 5798 §7.1), the group joined on the interface only,
//! multicast loop off, DSCP CS6 (TOS / traffic class 0xc0, what keepalived
//! sends), and the IP header facts handed up on receive. It never looks
//! inside the VRRP payload: checksums, versions and VRIDs are the codec's
//! and the state machine's business.
//!
//! IPv4 is sent with `IP_HDRINCL` so the header matches keepalived's (no DF,
//! TOS 0xc0, TTL 255, the chosen source); the kernel fills the checksum and
//! the identification. IPv6 cannot include its header, so the source and
//! interface ride in an `IPV6_PKTINFO` control message, and the hop limit
//! and destination of received packets come back in `IPV6_HOPLIMIT` /
//! `IPV6_PKTINFO` control messages (RFC 3542 §6).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    SockaddrIn6,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::{AhSeal, Datagram, IpFamily, Transport, TransportError, IPPROTO_VRRP, VRRP_TTL};
use crate::net::address::{AddressError, Addresses};
use crate::vrrp::packet::ah::IPPROTO_AH;

pub(crate) mod ipv4_header;

use ipv4_header::{
    ah_prefix, ipv4_header, parse_ipv4, parse_ipv4_ah, IPV4_HEADER_LEN, TOS_NETWORK_CONTROL,
};

/// Receive buffer: larger than any VRRP packet (255 IPv6 addresses make
/// 4,088 bytes) plus an IPv4 header with options.
const RECV_BUFFER: usize = 8192;

/// What to open: the interface, the family, and the keepalived options
/// that change addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawConfig {
    /// The instance's `interface`.
    pub ifname: String,
    /// IPv4 or IPv6.
    pub family: IpFamily,
    /// `unicast_src_ip`; `None` uses the interface's primary IPv4 address
    /// or its IPv6 link-local address.
    pub source: Option<IpAddr>,
    /// `unicast_peer` list; empty means multicast to the VRRP group.
    pub unicast_peers: Vec<IpAddr>,
    /// `auth_type AH`: the socket carries IP protocol 51 (the kernel hands
    /// a raw socket every packet of its protocol, so AH adverts need a
    /// socket of their own), IPv4 only.
    pub authentication_header: bool,
}

impl RawConfig {
    /// Multicast on `ifname` with the default source.
    pub fn multicast(ifname: &str, family: IpFamily) -> Self {
        Self {
            ifname: ifname.to_string(),
            family,
            source: None,
            unicast_peers: Vec::new(),
            authentication_header: false,
        }
    }
}

/// A raw protocol-112 socket bound to one interface.
#[derive(Debug)]
pub struct RawTransport {
    ifname: String,
    ifindex: u32,
    family: IpFamily,
    source: IpAddr,
    destinations: Vec<IpAddr>,
    authentication_header: bool,
    socket: AsyncFd<Socket>,
}

fn io_error(action: impl Into<String>, ifname: &str, source: io::Error) -> TransportError {
    TransportError::Io {
        action: action.into(),
        ifname: ifname.to_string(),
        source,
    }
}

impl RawTransport {
    /// Opens the socket, binds it to the interface and, in multicast mode,
    /// joins the VRRP group there. Needs CAP_NET_RAW and a tokio runtime.
    pub async fn open(config: RawConfig) -> Result<Self, TransportError> {
        let RawConfig {
            ifname,
            family,
            source,
            unicast_peers,
            authentication_header,
        } = config;
        let ifindex = nix::net::if_::if_nametoindex(ifname.as_str())
            .map_err(|_| TransportError::NoSuchInterface(ifname.clone()))?;
        for addr in source.iter().chain(&unicast_peers) {
            if IpFamily::of(*addr) != family {
                return Err(TransportError::WrongFamily {
                    addr: *addr,
                    family,
                });
            }
        }
        let source = match source {
            Some(addr) => addr,
            None => default_source(&ifname, family).await?,
        };
        let multicast = unicast_peers.is_empty();
        let destinations = if multicast {
            vec![family.vrrp_group()]
        } else {
            unicast_peers
        };

        let domain = match family {
            IpFamily::V4 => Domain::IPV4,
            IpFamily::V6 => Domain::IPV6,
        };
        let number = if authentication_header {
            if family == IpFamily::V6 {
                return Err(TransportError::WrongFamily {
                    addr: source,
                    family: IpFamily::V4,
                });
            }
            IPPROTO_AH
        } else {
            IPPROTO_VRRP
        };
        let protocol = Protocol::from(i32::from(number));
        let socket = Socket::new(domain, Type::RAW, Some(protocol)).map_err(|e| {
            if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) {
                TransportError::PermissionDenied(ifname.clone())
            } else {
                io_error(
                    format!("open a raw IP protocol {number} socket"),
                    &ifname,
                    e,
                )
            }
        })?;
        let set =
            |what: &str, result: io::Result<()>| result.map_err(|e| io_error(what, &ifname, e));
        set(
            "bind to the interface (SO_BINDTODEVICE)",
            socket.bind_device(Some(ifname.as_bytes())),
        )?;
        match (family, source) {
            (IpFamily::V4, IpAddr::V4(src)) => {
                set(
                    "include the IP header (IP_HDRINCL)",
                    socket.set_header_included_v4(true),
                )?;
                set("set IP_TTL 255", socket.set_ttl_v4(u32::from(VRRP_TTL)))?;
                set(
                    "set IP_MULTICAST_TTL 255",
                    socket.set_multicast_ttl_v4(u32::from(VRRP_TTL)),
                )?;
                set(
                    "turn IP_MULTICAST_LOOP off",
                    socket.set_multicast_loop_v4(false),
                )?;
                set("set IP_TOS", socket.set_tos_v4(TOS_NETWORK_CONTROL))?;
                if multicast {
                    match socket.set_multicast_if_v4(&src) {
                        Ok(()) => {}
                        // A VMAC has no address: the base interface's
                        // source names another interface, which the kernel
                        // refuses beside SO_BINDTODEVICE (ip(7)); the bound
                        // device then chooses the way out alone.
                        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                            tracing::debug!(%ifname, %src, "IP_MULTICAST_IF left to the bound device");
                        }
                        Err(e) => return Err(io_error("set IP_MULTICAST_IF", &ifname, e)),
                    }
                    set(
                        "turn IP_MULTICAST_ALL off",
                        socket.set_multicast_all_v4(false),
                    )?;
                    set(
                        "join 224.0.0.18 (IP_ADD_MEMBERSHIP)",
                        socket.join_multicast_v4_n(
                            &super::VRRP_GROUP_V4,
                            &InterfaceIndexOrAddress::Index(ifindex),
                        ),
                    )?;
                }
            }
            (IpFamily::V6, IpAddr::V6(_)) => {
                set(
                    "set IPV6_UNICAST_HOPS 255",
                    socket.set_unicast_hops_v6(u32::from(VRRP_TTL)),
                )?;
                set(
                    "set IPV6_MULTICAST_HOPS 255",
                    socket.set_multicast_hops_v6(u32::from(VRRP_TTL)),
                )?;
                set(
                    "turn IPV6_MULTICAST_LOOP off",
                    socket.set_multicast_loop_v6(false),
                )?;
                set("set IPV6_MULTICAST_IF", socket.set_multicast_if_v6(ifindex))?;
                set("set IPV6_TCLASS", socket.set_tclass_v6(TOS_NETWORK_CONTROL))?;
                set("set IPV6_RECVHOPLIMIT", socket.set_recv_hoplimit_v6(true))?;
                set(
                    "set IPV6_RECVPKTINFO",
                    setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
                        .map_err(io::Error::from),
                )?;
                if multicast {
                    set(
                        "turn IPV6_MULTICAST_ALL off",
                        socket.set_multicast_all_v6(false),
                    )?;
                    set(
                        "join ff02::12 (IPV6_ADD_MEMBERSHIP)",
                        socket.join_multicast_v6(&super::VRRP_GROUP_V6, ifindex),
                    )?;
                }
            }
            (_, addr) => return Err(TransportError::WrongFamily { addr, family }),
        }
        set("make the socket non-blocking", socket.set_nonblocking(true))?;
        let socket = crate::net::sys::register(socket)
            .map_err(|e| io_error("register the socket with tokio", &ifname, e))?;
        tracing::debug!(%ifname, ifindex, %source, ?destinations, protocol = number, "VRRP raw transport open");
        Ok(Self {
            ifname,
            ifindex,
            family,
            source,
            destinations,
            authentication_header,
            socket,
        })
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface name the socket is bound to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    async fn send_v4(
        &self,
        src: Ipv4Addr,
        to: Ipv4Addr,
        payload: &[u8],
    ) -> Result<(), TransportError> {
        let header = ipv4_header(src, to, payload.len())
            .ok_or(TransportError::PayloadTooLarge(payload.len()))?;
        let mut packet = Vec::with_capacity(IPV4_HEADER_LEN + payload.len());
        packet.extend_from_slice(&header);
        packet.extend_from_slice(payload);
        self.send_packet_v4(to, &packet).await
    }

    async fn send_packet_v4(&self, to: Ipv4Addr, packet: &[u8]) -> Result<(), TransportError> {
        let address = SockAddr::from(SocketAddrV4::new(to, 0));
        self.write(&format!("send to {to}"), |socket| {
            socket.send_to(packet, &address).map(drop)
        })
        .await
    }

    async fn send_v6(
        &self,
        src: Ipv6Addr,
        to: Ipv6Addr,
        payload: &[u8],
    ) -> Result<(), TransportError> {
        let scope = if needs_scope(to) { self.ifindex } else { 0 };
        let address = SockaddrIn6::from(SocketAddrV6::new(to, 0, 0, scope));
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        self.write(&format!("send to {to}"), |socket| {
            let iov = [IoSlice::new(payload)];
            let cmsgs = [ControlMessage::Ipv6PacketInfo(&info)];
            sendmsg(
                socket.as_raw_fd(),
                &iov,
                &cmsgs,
                MsgFlags::empty(),
                Some(&address),
            )
            .map(drop)
            .map_err(io::Error::from)
        })
        .await
    }

    async fn write(
        &self,
        action: &str,
        mut op: impl FnMut(&Socket) -> io::Result<()>,
    ) -> Result<(), TransportError> {
        loop {
            let mut guard = self
                .socket
                .writable()
                .await
                .map_err(|e| io_error(action, &self.ifname, e))?;
            match guard.try_io(|fd| op(fd.get_ref())) {
                Ok(result) => return result.map_err(|e| io_error(action, &self.ifname, e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Reads one packet; `Ok(None)` for one that must be skipped.
    async fn read_one(&self, buffer: &mut [u8]) -> Result<Option<Datagram>, TransportError> {
        loop {
            let mut guard = self
                .socket
                .readable()
                .await
                .map_err(|e| io_error("receive", &self.ifname, e))?;
            let result = guard.try_io(|fd| {
                let raw = fd.get_ref().as_raw_fd();
                match self.family {
                    IpFamily::V4 => {
                        receive_v4(raw, buffer, self.ifindex, self.authentication_header)
                    }
                    IpFamily::V6 => receive_v6(raw, buffer, self.ifindex),
                }
            });
            match result {
                Ok(result) => return result.map_err(|e| io_error("receive", &self.ifname, e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Transport for RawTransport {
    fn source_address(&self) -> IpAddr {
        self.source
    }

    fn destinations(&self) -> Vec<IpAddr> {
        self.destinations.clone()
    }

    async fn send(&self, to: IpAddr, payload: &[u8]) -> Result<(), TransportError> {
        match (self.source, to) {
            (IpAddr::V4(src), IpAddr::V4(to)) => self.send_v4(src, to, payload).await,
            (IpAddr::V6(src), IpAddr::V6(to)) => self.send_v6(src, to, payload).await,
            _ => Err(TransportError::WrongFamily {
                addr: to,
                family: self.family,
            }),
        }
    }

    async fn send_authenticated(
        &self,
        to: IpAddr,
        payload: &[u8],
        seal: AhSeal,
    ) -> Result<(), TransportError> {
        let (IpAddr::V4(src), IpAddr::V4(dst), true) =
            (self.source, to, self.authentication_header)
        else {
            return Err(TransportError::WrongFamily {
                addr: to,
                family: self.family,
            });
        };
        let mut packet = ah_prefix(src, dst, payload, seal.sequence, &seal.key)
            .ok_or(TransportError::PayloadTooLarge(payload.len()))?;
        packet.extend_from_slice(payload);
        self.send_packet_v4(dst, &packet).await
    }

    async fn recv(&self) -> Result<Datagram, TransportError> {
        let mut buffer = vec![0u8; RECV_BUFFER];
        loop {
            match self.read_one(&mut buffer).await? {
                // Our own adverts can come back when a unicast peer is also
                // us or another socket loops them; never hand them up.
                Some(datagram) if datagram.source == self.source => continue,
                Some(datagram) => return Ok(datagram),
                None => continue,
            }
        }
    }
}

/// IPv6 destinations that need the interface as scope: link-local unicast
/// and link- or interface-local multicast.
fn needs_scope(addr: Ipv6Addr) -> bool {
    let first = addr.segments()[0];
    (first & 0xffc0) == 0xfe80 || (addr.is_multicast() && matches!(first & 0x000f, 1 | 2))
}

/// The interface's primary IPv4 address or its IPv6 link-local address,
/// what keepalived sends from when `unicast_src_ip` is not set.
pub(crate) async fn default_source(
    ifname: &str,
    family: IpFamily,
) -> Result<IpAddr, TransportError> {
    let lookup_error = |e: AddressError| match e {
        AddressError::NoSuchInterface(name) => TransportError::NoSuchInterface(name),
        other => TransportError::InterfaceLookup {
            ifname: ifname.to_string(),
            reason: other.to_string(),
        },
    };
    let addresses = Addresses::connect().map_err(lookup_error)?;
    let list = addresses.list(ifname).await.map_err(lookup_error)?;
    let found = list
        .iter()
        .map(|a| a.addr)
        .find(|addr| match (family, addr) {
            // The kernel lists the primary address of each prefix first.
            (IpFamily::V4, IpAddr::V4(_)) => true,
            (IpFamily::V6, IpAddr::V6(v6)) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            _ => false,
        });
    found.ok_or_else(|| TransportError::NoSourceAddress {
        ifname: ifname.to_string(),
        family,
        what: match family {
            IpFamily::V4 => "primary",
            IpFamily::V6 => "link-local",
        },
    })
}

fn receive_v4(
    fd: std::os::fd::RawFd,
    buffer: &mut [u8],
    ifindex: u32,
    authentication_header: bool,
) -> io::Result<Option<Datagram>> {
    let (bytes, flags) = {
        let mut iov = [IoSliceMut::new(buffer)];
        let msg = recvmsg::<()>(fd, &mut iov, None, MsgFlags::empty()).map_err(io::Error::from)?;
        (msg.bytes, msg.flags)
    };
    if flags.contains(MsgFlags::MSG_TRUNC) {
        tracing::debug!(bytes, "dropped a truncated protocol 112 packet");
        return Ok(None);
    }
    let packet = &buffer[..bytes.min(buffer.len())];
    let parsed = if authentication_header {
        parse_ipv4_ah(packet).map(|(facts, prefix)| (facts, Some(packet[..prefix].to_vec())))
    } else {
        parse_ipv4(packet).map(|facts| (facts, None))
    };
    let Some((facts, ah_prefix)) = parsed else {
        tracing::debug!(
            bytes,
            authentication_header,
            "dropped a VRRP packet with a bad IPv4 or AH header"
        );
        return Ok(None);
    };
    Ok(Some(Datagram {
        source: IpAddr::V4(facts.source),
        destination: IpAddr::V4(facts.destination),
        ttl: facts.ttl,
        ifindex,
        payload: packet[facts.payload].to_vec(),
        ah_prefix,
    }))
}

fn receive_v6(
    fd: std::os::fd::RawFd,
    buffer: &mut [u8],
    ifindex: u32,
) -> io::Result<Option<Datagram>> {
    let mut control = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
    let mut iov = [IoSliceMut::new(buffer)];
    let msg = recvmsg::<SockaddrIn6>(fd, &mut iov, Some(&mut control), MsgFlags::empty())
        .map_err(io::Error::from)?;
    if msg.flags.contains(MsgFlags::MSG_TRUNC) {
        tracing::debug!(bytes = msg.bytes, "dropped a truncated protocol 112 packet");
        return Ok(None);
    }
    let Some(source) = msg.address.map(|a| SocketAddr::V6(a.into()).ip()) else {
        return Ok(None);
    };
    let (mut destination, mut ttl, mut arrived_on) = (None, None, ifindex);
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        match cmsg {
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                destination = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                arrived_on = info.ipi6_ifindex;
            }
            ControlMessageOwned::Ipv6HopLimit(limit) => ttl = u8::try_from(limit).ok(),
            _ => {}
        }
    }
    let (Some(destination), Some(ttl)) = (destination, ttl) else {
        tracing::debug!("dropped a protocol 112 packet without pktinfo or hop limit");
        return Ok(None);
    };
    let bytes = msg.bytes;
    Ok(Some(Datagram {
        source,
        destination: IpAddr::V6(destination),
        ttl,
        ifindex: arrived_on,
        payload: buffer[..bytes].to_vec(),
        ah_prefix: None,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn link_scoped_destinations_need_the_interface() {
        assert!(needs_scope("ff02::12".parse().unwrap()));
        assert!(needs_scope("fe80::1".parse().unwrap()));
        assert!(!needs_scope("2001:db8::1".parse().unwrap()));
        assert!(!needs_scope("ff05::12".parse().unwrap()));
    }

    #[tokio::test]
    async fn missing_interface_is_named_in_the_error() {
        let err = RawTransport::open(RawConfig::multicast("nosuchvrrp0", IpFamily::V4))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "no such interface 'nosuchvrrp0'");
    }

    #[tokio::test]
    async fn peer_of_the_other_family_is_refused_before_any_socket() {
        let config = RawConfig {
            ifname: "lo".to_string(),
            family: IpFamily::V4,
            source: None,
            unicast_peers: vec!["2001:db8::2".parse().unwrap()],
            authentication_header: false,
        };
        let err = RawTransport::open(config).await.unwrap_err();
        assert!(matches!(err, TransportError::WrongFamily { .. }), "{err}");
    }
}
