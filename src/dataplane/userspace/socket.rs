//! Socket set-up and the few Linux syscalls std, mio and socket2 do not
//! wrap: `getsockopt(TCP_INFO)`, `pipe2`, `splice` and an exclusive
//! epoll registration.
//!
//! This is the only module of the crate allowed `unsafe`; every block is a
//! single FFI call with a `// SAFETY:` line. It never blocks: every fd it
//! touches is non-blocking and every splice is `SPLICE_F_NONBLOCK`.

#![allow(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// Listen backlog for virtual-service sockets (the kernel clamps it to
/// `net.core.somaxconn`).
const BACKLOG: i32 = 4096;

/// A socket bound to a virtual address: `SO_REUSEADDR` so a restarted
/// director rebinds at once, and `IP_FREEBIND` / `IPV6_FREEBIND` so a VIP
/// that is not (yet) local can be bound — a VRRP backup listens before it
/// becomes master, with no rebind race at takeover.
fn vip_socket(addr: SocketAddr, ty: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    socket.set_reuse_address(true)?;
    match addr {
        SocketAddr::V4(_) => socket.set_freebind_v4(true)?,
        SocketAddr::V6(_) => {
            socket.set_only_v6(true)?;
            socket.set_freebind_v6(true)?;
        }
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// A non-blocking TCP listener on a virtual address.
pub fn tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = vip_socket(addr, Type::STREAM, Protocol::TCP)?;
    // Accepted sockets inherit TCP_NODELAY: one setsockopt per listener
    // instead of one per connection.
    socket.set_tcp_nodelay(true)?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Start a non-blocking TCP connection to a real server. The connection
/// is still in progress when this returns (`EINPROGRESS`). It has no
/// `TCP_NODELAY` yet: see [`set_nodelay`].
pub fn tcp_connect_start(dest: SocketAddr) -> io::Result<std::net::TcpStream> {
    let socket = Socket::new(
        Domain::for_address(dest),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    match socket.connect(&dest.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

/// Accept a connection as a non-blocking socket (`accept4` with
/// `SOCK_NONBLOCK`: no second syscall to set the flag), with the peer's
/// address.
pub fn accept_nonblocking(
    listener: &std::net::TcpListener,
) -> io::Result<(mio::net::TcpStream, SocketAddr)> {
    let (socket, peer) =
        SockRef::from(listener).accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    let peer = peer
        .as_socket()
        .ok_or_else(|| io::Error::other("accepted a peer without an IP address"))?;
    Ok((mio::net::TcpStream::from_std(socket.into()), peer))
}

/// A non-blocking UDP socket on a virtual address.
pub fn udp_socket(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = vip_socket(addr, Type::DGRAM, Protocol::UDP)?;
    Ok(socket.into())
}

/// Whether `IP_FREEBIND` (or `IPV6_FREEBIND`) is set on a socket.
#[cfg(test)]
pub fn freebind(socket: &impl std::os::fd::AsFd, v6: bool) -> io::Result<bool> {
    let sock = SockRef::from(socket);
    if v6 {
        sock.freebind_v6()
    } else {
        sock.freebind_v4()
    }
}

/// Abort a TCP connection with a RST on close (`SO_LINGER` 0), as a
/// director does when the real server cannot be reached.
pub fn reset_on_close(socket: &impl std::os::fd::AsFd) {
    // Best effort: the socket is about to be dropped either way.
    let _ = SockRef::from(socket).set_linger(Some(std::time::Duration::ZERO));
}

/// Shut down the write side (propagate a FIN).
pub fn shutdown_write(socket: &impl std::os::fd::AsFd) -> io::Result<()> {
    SockRef::from(socket).shutdown(std::net::Shutdown::Write)
}

/// Set `TCP_NODELAY`: the proxy writes whole messages as they arrive, and
/// Nagle's algorithm would hold a small one back while an earlier one is
/// unacknowledged. A connection's first write is never held back (nothing
/// is in flight yet), so the proxy sets it only before a second write —
/// one syscall fewer for the many connections that write once.
/// (Setting it also sends anything Nagle was holding.)
pub fn set_nodelay(socket: &impl std::os::fd::AsFd) -> io::Result<()> {
    SockRef::from(socket).set_tcp_nodelay(true)
}

/// Send (`MSG_NOSIGNAL`: a peer's reset is an error, not a signal).
pub fn send(socket: &impl std::os::fd::AsFd, data: &[u8]) -> io::Result<usize> {
    SockRef::from(socket).send_with_flags(data, libc::MSG_NOSIGNAL)
}

/// Send with `MSG_MORE`: the kernel holds the data back (corked) for what
/// follows. The proxy uses it for the last bytes before a FIN, so the
/// `shutdown` that follows sends data and FIN in one segment, as the real
/// server did.
pub fn send_before_fin(socket: &impl std::os::fd::AsFd, data: &[u8]) -> io::Result<usize> {
    SockRef::from(socket).send_with_flags(data, libc::MSG_MORE | libc::MSG_NOSIGNAL)
}

/// What the proxy reads from a TCP socket's `struct tcp_info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// `tcpi_segs_in`: segments received, SYN and pure ACKs included.
    pub segs_in: u64,
    /// `tcpi_segs_out`: segments sent, retransmissions included.
    pub segs_out: u64,
    /// Time since the peer last sent anything (data or ACK).
    pub idle: std::time::Duration,
}

/// Read `TCP_INFO` of a connected TCP socket.
pub fn tcp_info(socket: &impl AsRawFd) -> io::Result<TcpInfo> {
    let mut info = std::mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is a writable buffer of `len` bytes and `len` is a
    // valid in/out length; the kernel writes at most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zero-initialised, then (partly) filled by the kernel; every
    // bit pattern is a valid tcp_info (plain integers).
    let info = unsafe { info.assume_init() };
    let idle_ms = info.tcpi_last_data_recv.min(info.tcpi_last_ack_recv);
    Ok(TcpInfo {
        segs_in: u64::from(info.tcpi_segs_in),
        segs_out: u64::from(info.tcpi_segs_out),
        idle: std::time::Duration::from_millis(u64::from(idle_ms)),
    })
}

/// Register a listening socket with an epoll instance for `EPOLLIN`,
/// level-triggered and `EPOLLEXCLUSIVE`: when several reactors share the
/// listener, a new connection wakes one of them, not all (epoll(7)).
/// `token` comes back as the event's data.
pub fn epoll_add_exclusive(epoll: &impl AsRawFd, fd: &impl AsRawFd, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32,
        u64: token,
    };
    // SAFETY: both fds are open (borrowed from live owners) and `event` is
    // a valid epoll_event for the duration of the call.
    let rc = unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut event,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Remove `fd` from an epoll instance. Needed before closing a socket
/// whose file another descriptor still holds open: epoll forgets a file
/// only when its last descriptor closes.
pub fn epoll_delete(epoll: &impl AsRawFd, fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: both fds are open; EPOLL_CTL_DEL ignores the event argument.
    let rc = unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd.as_raw_fd(),
            std::ptr::null_mut(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A non-blocking pipe used to splice between two sockets.
#[derive(Debug)]
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

/// Pipe capacity asked for (the default is 64 KiB; a larger pipe moves
/// more per splice on bulk transfers). Failure to grow is harmless.
const PIPE_SIZE: libc::c_int = 1 << 20;

impl Pipe {
    pub fn new() -> io::Result<Pipe> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a valid array of two c_ints for pipe2 to fill.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both fds are open and owned by us alone.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: F_SETPIPE_SZ on a pipe fd we own takes an int argument.
        let _ = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
        Ok(Pipe { read, write })
    }

    /// Move up to `len` bytes from socket `from` into the pipe. `Ok(0)` is
    /// end of stream; `WouldBlock` means the socket has nothing to read.
    pub fn fill_from(&self, from: &impl AsRawFd, len: usize) -> io::Result<usize> {
        splice(from.as_raw_fd(), self.write.as_raw_fd(), len)
    }

    /// Move up to `len` bytes from the pipe into socket `to`;
    /// `WouldBlock` means the socket's send buffer is full.
    pub fn drain_to(&self, to: &impl AsRawFd, len: usize) -> io::Result<usize> {
        splice(self.read.as_raw_fd(), to.as_raw_fd(), len)
    }
}

fn splice(from: libc::c_int, to: libc::c_int, len: usize) -> io::Result<usize> {
    // SAFETY: both fds are open for the duration of the call (borrowed from
    // live owners by the callers); null offsets are valid for sockets and
    // pipes.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn vip_sockets_are_freebind_and_bind_a_non_local_address() {
        // 198.51.100.0/24 is documentation space, never local here; without
        // IP_FREEBIND the bind fails with EADDRNOTAVAIL. Nothing is sent.
        let listener = tcp_listener("198.51.100.201:9".parse().unwrap()).unwrap();
        assert!(freebind(&listener, false).unwrap());
        let udp = udp_socket("198.51.100.201:9".parse().unwrap()).unwrap();
        assert!(freebind(&udp, false).unwrap());
        let local = tcp_listener("127.77.200.1:0".parse().unwrap()).unwrap();
        assert!(SockRef::from(&local).reuse_address().unwrap());
        let client = std::net::TcpStream::connect(local.local_addr().unwrap()).unwrap();
        let (accepted, _) = local.accept().unwrap();
        assert!(accepted.nodelay().unwrap(), "TCP_NODELAY is inherited");
        drop(client);
    }

    #[test]
    fn ipv6_vip_sockets_are_freebind() {
        if std::net::TcpListener::bind("[::1]:0").is_err() {
            eprintln!("skipped: no IPv6 on this host");
            return;
        }
        // 2001:db8::/32 is documentation space; nothing is sent.
        let listener = tcp_listener("[2001:db8::77]:9".parse().unwrap()).unwrap();
        assert!(freebind(&listener, true).unwrap());
        assert!(SockRef::from(&listener).only_v6().unwrap());
    }

    #[test]
    fn tcp_info_counts_segments_and_splice_moves_bytes() {
        let listener = std::net::TcpListener::bind("127.77.200.2:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(b"spliced bytes").unwrap();
        client.flush().unwrap();
        let sink_listener = std::net::TcpListener::bind("127.77.200.2:0").unwrap();
        let sink_out = std::net::TcpStream::connect(sink_listener.local_addr().unwrap()).unwrap();
        let (mut sink_in, _) = sink_listener.accept().unwrap();

        let pipe = Pipe::new().unwrap();
        let mut moved = 0;
        while moved < 13 {
            match pipe.fill_from(&server, 1 << 16) {
                Ok(n) => moved += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(pipe.drain_to(&sink_out, moved).unwrap(), 13);
        let mut got = [0u8; 13];
        sink_in.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"spliced bytes");

        let counts = tcp_info(&server).unwrap();
        // At least the handshake ACK and the data segment.
        assert!(counts.segs_in >= 2, "{counts:?}");
        assert!(counts.segs_out >= 1, "{counts:?}");
        assert!(
            counts.idle < std::time::Duration::from_secs(60),
            "{counts:?}"
        );
    }
}
