//! Opening the probe's sockets with the checker's `bindto`, `bind_port` and
//! `bind_if`, and translating OS errors into operator words.
//!
//! Binding happens before connecting (keepalived.conf(5): "bindto: address
//! to use to originate the connection"). Never closes a socket in a way
//! that can block: TCP probes use an abortive close (see [`close_now`]).

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use super::ProbeSpec;
use crate::health::outcome::Reason;

/// Connects a TCP stream to the spec's destination (no timeout: callers
/// wrap the whole attempt in one).
pub(super) async fn tcp(spec: &ProbeSpec, destination: SocketAddr) -> Result<TcpStream, Reason> {
    let socket = match destination {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| reason_for(&e))?;
    if let Some(interface) = &spec.bind_interface {
        socket
            .bind_device(Some(interface.as_bytes()))
            .map_err(|e| bind_failed("bind_if", interface, &e))?;
    }
    if let Some(source) = spec.bind_socket_address() {
        // A fixed source port would otherwise stay unusable for the
        // TIME_WAIT period after each probe.
        if source.port() != 0 {
            socket.set_reuseaddr(true).map_err(|e| reason_for(&e))?;
        }
        socket
            .bind(source)
            .map_err(|e| bind_failed("bindto", &source.to_string(), &e))?;
    }
    socket
        .connect(destination)
        .await
        .map_err(|e| reason_for(&e))
}

/// A UDP socket bound as the spec asks and connected to `destination`, so
/// ICMP errors (port unreachable) come back as errors on receive.
pub(super) async fn udp(spec: &ProbeSpec, destination: SocketAddr) -> Result<UdpSocket, Reason> {
    let source = spec.bind_socket_address().unwrap_or(match destination {
        SocketAddr::V4(_) => SocketAddr::from(([0u8; 4], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    });
    let socket = UdpSocket::bind(source)
        .await
        .map_err(|e| bind_failed("bindto", &source.to_string(), &e))?;
    if let Some(interface) = &spec.bind_interface {
        socket2::SockRef::from(&socket)
            .bind_device(Some(interface.as_bytes()))
            .map_err(|e| bind_failed("bind_if", interface, &e))?;
    }
    socket
        .connect(destination)
        .await
        .map_err(|e| reason_for(&e))?;
    Ok(socket)
}

/// Drops a TCP connection with an immediate reset: `close()` returns at
/// once, and no TIME_WAIT entry piles up on the director for every probe
/// (thousands of checkers each second). keepalived once stalled its whole
/// checker process for 5 s on a lingering close; this cannot.
pub(super) fn close_now(stream: TcpStream) {
    // SO_LINGER {on, 0 s}: the kernel discards unsent data and sends RST.
    let _ = socket2::SockRef::from(&stream).set_linger(Some(std::time::Duration::ZERO));
    drop(stream);
}

fn bind_failed(keyword: &str, value: &str, error: &io::Error) -> Reason {
    Reason::Io {
        detail: format!("cannot bind to {keyword} '{value}': {}", os_words(error)),
    }
}

/// The reason for an I/O error of a probe: refused, unreachable, or the
/// OS's own words.
pub(super) fn reason_for(error: &io::Error) -> Reason {
    match error.raw_os_error() {
        Some(libc::ECONNREFUSED) => Reason::ConnectionRefused,
        Some(libc::EHOSTUNREACH)
        | Some(libc::ENETUNREACH)
        | Some(libc::EHOSTDOWN)
        | Some(libc::ENETDOWN) => Reason::Unreachable {
            detail: os_words(error),
        },
        _ if error.kind() == io::ErrorKind::ConnectionRefused => Reason::ConnectionRefused,
        _ => Reason::Io {
            detail: os_words(error),
        },
    }
}

/// "No route to host", without Rust's " (os error 113)" suffix.
pub(super) fn os_words(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_lowercase(),
        None => text.to_lowercase(),
    }
}
