//! The two socket calls in `net` and `vrrp` that need `unsafe`, wrapped
//! once so every caller stays safe: registering an owned socket with
//! tokio's reactor, and the `sockaddr_ll` an AF_PACKET socket is bound with.
//!
//! Nothing else belongs here; keep each block small and justified.

#![allow(unsafe_code)]

use std::io;

use socket2::{SockAddr, SockAddrStorage, Socket};
use tokio::io::unix::AsyncFd;

/// Registers `socket` with the current tokio runtime (which must exist).
pub fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: `Socket` owns its descriptor and closes it only on drop; the
    // AsyncFd takes ownership of the Socket, so the descriptor stays open and
    // refers to the same socket for the AsyncFd's whole life.
    unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)
}

/// The link-layer address of interface `ifindex` for an AF_PACKET socket
/// (packet(7)): protocol `ethertype`, destination `mac` (only the first six
/// bytes matter to Ethernet), or no destination when `mac` is `None`.
pub fn link_address(ifindex: u32, ethertype: u16, mac: Option<[u8; 6]>) -> io::Result<SockAddr> {
    let ifindex = i32::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is one of this platform's sockaddr types, and
    // the storage (a zeroed `sockaddr_storage`) is larger than it.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = ethertype.to_be();
    ll.sll_ifindex = ifindex;
    if let Some(mac) = mac {
        ll.sll_halen = 6;
        ll.sll_addr[..6].copy_from_slice(&mac);
    }
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised `sockaddr_ll` of family
    // AF_PACKET and `len` is exactly its size.
    Ok(unsafe { SockAddr::new(storage, len) })
}
