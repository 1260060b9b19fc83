//! Sends gratuitous ARPs and unsolicited neighbour advertisements on one
//! interface through an AF_PACKET socket (packet(7)).
//!
//! This module owns the packet socket and the interface's MAC address
//! (read over rtnetlink, which sees the caller's network namespace — unlike
//! `/sys/class/net`, which shows the namespace `/sys` was mounted in). It
//! never decides when to announce ([`super::announce`] does) and never
//! receives: the socket is opened with protocol 0, so the kernel hands it no
//! frames at all.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::stream::TryStreamExt;
use rtnetlink::packet_route::link::LinkAttribute;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::garp::{gratuitous_arp, ETH_P_ARP};
use super::ndisc::{unsolicited_na, ETH_P_IPV6};

/// Errors of opening an announcer or sending with it.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    /// AF_PACKET sockets need CAP_NET_RAW.
    #[error("sending gratuitous ARP / NA on '{0}' needs CAP_NET_RAW (run as root)")]
    PermissionDenied(String),
    /// The interface does not exist.
    #[error("no such interface '{0}'")]
    NoSuchInterface(String),
    /// The interface has no 6-byte (Ethernet) hardware address.
    #[error("interface '{0}' has no Ethernet address to announce VIPs with")]
    NoEthernetAddress(String),
    /// Any other failure.
    #[error("cannot {action} on '{ifname}': {source}")]
    Io {
        /// What was attempted.
        action: String,
        /// Interface name.
        ifname: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// An AF_PACKET sender bound to one Ethernet interface.
#[derive(Debug)]
pub struct Announcer {
    ifname: String,
    ifindex: u32,
    mac: [u8; 6],
    ipv6_router: bool,
    socket: AsyncFd<Socket>,
}

impl Announcer {
    /// Looks up the interface's index and MAC and opens the packet socket.
    /// Needs CAP_NET_RAW and a tokio runtime.
    pub async fn open(ifname: &str) -> Result<Self, AnnounceError> {
        let (ifindex, mac) = link_facts(ifname).await?;
        let io_err = |action: &str, source: io::Error| AnnounceError::Io {
            action: action.to_string(),
            ifname: ifname.to_string(),
            source,
        };
        // Protocol 0: this socket sends only and is handed no frames.
        let socket =
            Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0))).map_err(|e| {
                if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) {
                    AnnounceError::PermissionDenied(ifname.to_string())
                } else {
                    io_err("open an AF_PACKET socket", e)
                }
            })?;
        socket
            .set_nonblocking(true)
            .map_err(|e| io_err("make the socket non-blocking", e))?;
        let socket = super::sys::register(socket)
            .map_err(|e| io_err("register the socket with tokio", e))?;
        Ok(Self {
            ifname: ifname.to_string(),
            ifindex,
            mac,
            ipv6_router: ipv6_forwarding(ifname),
            socket,
        })
    }

    /// The interface's MAC address, which the announcements carry.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The interface index frames leave on.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends one gratuitous ARP for `vip`.
    pub async fn send_garp(&self, vip: Ipv4Addr) -> Result<(), AnnounceError> {
        self.send_frame(
            ETH_P_ARP,
            &gratuitous_arp(self.mac, vip),
            "send a gratuitous ARP",
        )
        .await
    }

    /// Sends one unsolicited neighbour advertisement for `vip`; `router`
    /// sets the Router flag.
    pub async fn send_unsolicited_na(
        &self,
        vip: Ipv6Addr,
        router: bool,
    ) -> Result<(), AnnounceError> {
        self.send_frame(
            ETH_P_IPV6,
            &unsolicited_na(self.mac, vip, router),
            "send an unsolicited neighbour advertisement",
        )
        .await
    }

    /// Whether the interface forwarded IPv6 when the announcer was opened;
    /// [`Announcer::announce`] then sets the NA Router flag, as keepalived
    /// does (RFC 4861 §4.4: R is set when the sender is a router).
    pub fn ipv6_router(&self) -> bool {
        self.ipv6_router
    }

    /// Announces `vip`: a gratuitous ARP for IPv4, an unsolicited NA for
    /// IPv6 with the Router flag when the interface forwards IPv6.
    pub async fn announce(&self, vip: IpAddr) -> Result<(), AnnounceError> {
        match vip {
            IpAddr::V4(v4) => self.send_garp(v4).await,
            IpAddr::V6(v6) => self.send_unsolicited_na(v6, self.ipv6_router).await,
        }
    }

    async fn send_frame(
        &self,
        ethertype: u16,
        frame: &[u8],
        action: &str,
    ) -> Result<(), AnnounceError> {
        let io_err = |source: io::Error| AnnounceError::Io {
            action: action.to_string(),
            ifname: self.ifname.clone(),
            source,
        };
        let to: SockAddr =
            super::sys::link_address(self.ifindex, ethertype, None).map_err(io_err)?;
        loop {
            let mut guard = self.socket.writable().await.map_err(io_err)?;
            match guard.try_io(|fd| fd.get_ref().send_to(frame, &to)) {
                Ok(result) => return result.map(drop).map_err(io_err),
                Err(_would_block) => continue,
            }
        }
    }
}

/// `net.ipv6.conf.<ifname>.forwarding`, read from the caller's network
/// namespace; false when IPv6 is off. A `/proc/sys` read never waits on a
/// device, so it is done inline rather than on the blocking pool (whose
/// threads could sit in another namespace).
fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .is_ok_and(|value| value.trim() != "0")
}

/// The interface's index and Ethernet address, over rtnetlink.
async fn link_facts(ifname: &str) -> Result<(u32, [u8; 6]), AnnounceError> {
    let io_err = |action: &str, source: io::Error| AnnounceError::Io {
        action: action.to_string(),
        ifname: ifname.to_string(),
        source,
    };
    crate::net::address::validate_ifname(ifname)
        .map_err(|_| AnnounceError::NoSuchInterface(ifname.to_string()))?;
    let (connection, handle, _) =
        rtnetlink::new_connection().map_err(|e| io_err("open a netlink route socket", e))?;
    let task = tokio::spawn(connection);
    let reply = handle
        .link()
        .get()
        .match_name(ifname.to_string())
        .execute()
        .try_next()
        .await;
    task.abort();
    let link = match reply {
        Ok(Some(link)) => link,
        Ok(None) => return Err(AnnounceError::NoSuchInterface(ifname.to_string())),
        Err(rtnetlink::Error::NetlinkError(msg)) if msg.raw_code() == -libc::ENODEV => {
            return Err(AnnounceError::NoSuchInterface(ifname.to_string()))
        }
        Err(e) => {
            return Err(io_err(
                "look up the interface",
                io::Error::other(e.to_string()),
            ))
        }
    };
    let mac = link
        .attributes
        .iter()
        .find_map(|attr| match attr {
            LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
            _ => None,
        })
        .ok_or_else(|| AnnounceError::NoEthernetAddress(ifname.to_string()))?;
    Ok((link.header.index, mac))
}
