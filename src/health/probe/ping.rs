//! PING_CHECK: one ICMP (or ICMPv6) echo request; the real server passes
//! when the matching echo reply arrives within `connect_timeout`
//! (RFC 792, RFC 4443 §4.1/§4.2).
//!
//! Uses an unprivileged ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP`) when
//! `net.ipv4.ping_group_range` admits our group, else a raw socket (needs
//! CAP_NET_RAW). keepalived widens `ping_group_range` itself; lvstop never
//! changes a sysctl behind the operator's back.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{connect, down, within_timeout, ProbeSpec};
use crate::health::outcome::{Reason, Verdict};

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
/// Bytes after the 8-byte ICMP header, so a reply is recognisably ours.
const PAYLOAD: &[u8; 16] = b"lvstop PING_CHK\0";

pub(super) async fn probe(spec: &ProbeSpec) -> Verdict {
    within_timeout(spec.connect_timeout, async {
        match echo(spec).await {
            Ok(()) => Verdict::Up,
            Err(reason) => down(reason),
        }
    })
    .await
}

/// The socket to ping with; `true` when it is raw (replies then carry the
/// IPv4 header and the identifier is ours to match).
fn open(v6: bool) -> Result<(Socket, bool), Reason> {
    let (domain, protocol) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(socket) => Ok((socket, false)),
        Err(dgram) => Socket::new(domain, Type::RAW, Some(protocol))
            .map(|socket| (socket, true))
            .map_err(|raw| Reason::Io {
                detail: format!(
                    "cannot open an ICMP socket: ping socket: {}; raw socket: {} \
                     (allow our group in net.ipv4.ping_group_range or grant CAP_NET_RAW)",
                    connect::os_words(&dgram),
                    connect::os_words(&raw)
                ),
            }),
    }
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => u32::from(u16::from_be_bytes([*high, *low])),
            [high] => u32::from(*high) << 8,
            _ => 0,
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(v6: bool, identifier: u16, sequence: u16) -> Vec<u8> {
    let mut packet = vec![
        if v6 {
            ICMPV6_ECHO_REQUEST
        } else {
            ICMP_ECHO_REQUEST
        },
        0,
        0,
        0,
    ];
    packet.extend_from_slice(&identifier.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(PAYLOAD);
    // The kernel fills in the ICMPv6 checksum (it covers a pseudo-header).
    if !v6 {
        let sum = checksum(&packet).to_be_bytes();
        packet[2] = sum[0];
        packet[3] = sum[1];
    }
    packet
}

/// Whether `datagram` is the echo reply to our request.
fn is_our_reply(datagram: &[u8], v6: bool, raw: bool, identifier: u16, sequence: u16) -> bool {
    let icmp = if raw && !v6 {
        let header = datagram.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
        datagram.get(header..).unwrap_or_default()
    } else {
        datagram
    };
    let want = if v6 {
        ICMPV6_ECHO_REPLY
    } else {
        ICMP_ECHO_REPLY
    };
    let field = |at: usize| {
        icmp.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    icmp.first() == Some(&want)
        && field(6) == Some(sequence)
        // Ping sockets rewrite the identifier to their own port number.
        && (!raw || field(4) == Some(identifier))
        && icmp.get(8..) == Some(&PAYLOAD[..])
}

async fn echo(spec: &ProbeSpec) -> Result<(), Reason> {
    let v6 = spec.destination.is_ipv6();
    let (socket, raw) = open(v6)?;
    let io_reason = |e: io::Error| connect::reason_for(&e);
    socket.set_nonblocking(true).map_err(io_reason)?;
    if let Some(interface) = &spec.bind_interface {
        socket
            .bind_device(Some(interface.as_bytes()))
            .map_err(io_reason)?;
    }
    if let Some(source) = spec.bind_address {
        socket
            .bind(&SockAddr::from(SocketAddr::new(source, 0)))
            .map_err(io_reason)?;
    }
    socket
        .connect(&SockAddr::from(SocketAddr::new(spec.destination.ip(), 0)))
        .map_err(io_reason)?;
    let [a, b, c, d] = std::process::id().to_be_bytes();
    let identifier = u16::from_be_bytes([a ^ c, b ^ d]);
    let sequence = (super::random_u64() & 0xffff) as u16;
    let request = echo_request(v6, identifier, sequence);

    // tokio's UdpSocket only issues send/recv on the descriptor, which is
    // exactly what an ICMP datagram or raw socket needs; it saves an
    // `unsafe` AsyncFd registration.
    let socket =
        tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(io_reason)?;
    socket.send(&request).await.map_err(io_reason)?;
    let mut buffer = [0u8; 1500];
    loop {
        let received = socket.recv(&mut buffer).await.map_err(io_reason)?;
        if is_our_reply(
            buffer.get(..received).unwrap_or_default(),
            v6,
            raw,
            identifier,
            sequence,
        ) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_checksum_verifies_to_zero() {
        // RFC 1071: summing a packet that includes its checksum gives 0.
        let packet = echo_request(false, 0x1234, 0x0001);
        assert_eq!(checksum(&packet), 0);
        assert_eq!(packet[0], ICMP_ECHO_REQUEST);
    }
}
