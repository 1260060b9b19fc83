//! The generic-netlink socket under the IPVS client: family resolution,
//! request encoding, and a request/response loop that keeps requests in
//! flight on one socket and matches replies by sequence number.
//!
//! "Do" commands (add, edit, delete, ...) are served whole inside the
//! kernel's handling of the send, so a window of them goes out in one
//! datagram. Dumps are different: netlink runs one dump at a time per
//! socket and finishes it (NLMSG_DONE) only on the read after its data, so
//! a second dump sent before that read is refused with EBUSY. Dumps
//! therefore go one at a time per socket (EBUSY is still handled, by
//! sending again); the client runs several sockets side by side to overlap
//! them.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::AsFd;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket};

use super::genl::{IpvsMessage, IPVS_GENL_NAME};

/// Receive buffer per `recv`. The kernel sizes each dump datagram to the
/// largest buffer the reader has offered (capped at 32 KiB), and the
/// service dump rescans the service table from the start for every
/// datagram, so big buffers matter: 8 KiB measured clearly slower on a
/// 10,000-service table than this.
const RECV_BUFFER: usize = 64 * 1024;
/// What we ask the kernel to allow in the socket's receive queue.
const WANTED_RCVBUF: usize = 8 * 1024 * 1024;
/// Receive-queue room kept per in-flight command: its reply or ack is
/// small, this leaves a wide margin so the queue never overflows (an
/// overflow drops replies and fails the socket with ENOBUFS).
const DUMP_CHARGE: usize = 40 * 1024;
/// Most "do" commands in flight at once (one datagram's worth).
const MAX_WINDOW: usize = 64;

/// Why a netlink exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    #[error("this kernel has no IPVS (modprobe ip_vs)")]
    NoIpvs,
    #[error("IPVS needs CAP_NET_ADMIN (run as root)")]
    PermissionDenied,
    #[error("netlink {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot decode the kernel's reply: {0}")]
    Decode(String),
}

impl TransportError {
    fn io(context: &'static str, source: io::Error) -> Self {
        if source.raw_os_error() == Some(libc::EPERM) {
            return TransportError::PermissionDenied;
        }
        TransportError::Io { context, source }
    }
}

/// How a request ended: the messages it got back, or the kernel's errno.
pub type Reply = Result<Vec<IpvsMessage>, i32>;

/// What a request expects back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A "do" command, answered by zero or one message then an ACK.
    Do,
    /// A dump, answered by messages then NLMSG_DONE.
    Dump,
}

type Message = NetlinkMessage<GenlMessage<IpvsMessage>>;

/// One generic-netlink socket bound to the IPVS family.
pub struct Transport {
    socket: TokioSocket,
    family: u16,
    next_seq: u32,
    window: usize,
    rx: Vec<u8>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("family", &self.family)
            .field("next_seq", &self.next_seq)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Open a socket and resolve the IPVS family.
    pub async fn open() -> Result<Self, TransportError> {
        let mut socket =
            TokioSocket::new(NETLINK_GENERIC).map_err(|e| TransportError::io("socket", e))?;
        socket
            .socket_mut()
            .bind_auto()
            .map_err(|e| TransportError::io("bind", e))?;
        socket
            .socket_mut()
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| TransportError::io("connect", e))?;
        let rcvbuf = raise_rcvbuf(&socket);
        let mut transport = Transport {
            socket,
            family: 0,
            next_seq: 1,
            window: (rcvbuf / DUMP_CHARGE).clamp(1, MAX_WINDOW),
            rx: Vec::with_capacity(RECV_BUFFER),
        };
        transport.family = transport.resolve_family().await?;
        Ok(transport)
    }

    /// "Do" commands allowed in flight at once.
    pub fn window(&self) -> usize {
        self.window
    }

    async fn resolve_family(&mut self) -> Result<u16, TransportError> {
        let seq = self.take_seq();
        let mut message = NetlinkMessage::from(GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(IPVS_GENL_NAME.to_string())],
        }));
        message.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        message.header.sequence_number = seq;
        message.finalize();
        let mut bytes = vec![0u8; message.buffer_len()];
        message.serialize(&mut bytes);
        self.send(&bytes).await?;
        let mut family = None;
        loop {
            self.recv().await?;
            for bytes in split(&self.rx) {
                let reply = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(bytes)
                    .map_err(|e| TransportError::Decode(e.to_string()))?;
                if reply.header.sequence_number != seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(genl) => {
                        family = genl.payload.nlas.iter().find_map(|a| match a {
                            GenlCtrlAttrs::FamilyId(id) => Some(*id),
                            _ => None,
                        });
                    }
                    NetlinkPayload::Error(e) => {
                        return match e.code.map(|c| -c.get()) {
                            None => family.ok_or(TransportError::NoIpvs),
                            Some(libc::ENOENT) => Err(TransportError::NoIpvs),
                            Some(libc::EPERM) => Err(TransportError::PermissionDenied),
                            Some(errno) => Err(TransportError::io(
                                "family lookup",
                                io::Error::from_raw_os_error(errno),
                            )),
                        };
                    }
                    _ => {}
                }
            }
        }
    }

    fn take_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        seq
    }

    fn encode(&mut self, request: &IpvsMessage, kind: Kind, out: &mut Vec<u8>) -> u32 {
        let seq = self.take_seq();
        let mut genl = GenlMessage::from_payload(request.clone());
        genl.set_resolved_family_id(self.family);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST
            | NLM_F_ACK
            | match kind {
                Kind::Do => 0,
                Kind::Dump => NLM_F_DUMP,
            };
        header.sequence_number = seq;
        let mut message: Message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
        message.finalize();
        let start = out.len();
        out.resize(start + message.buffer_len(), 0);
        message.serialize(&mut out[start..]);
        seq
    }

    async fn send(&self, bytes: &[u8]) -> Result<(), TransportError> {
        self.socket
            .send(bytes)
            .await
            .map_err(|e| TransportError::io("send", e))?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<(), TransportError> {
        self.rx.clear();
        self.socket
            .recv(&mut self.rx)
            .await
            .map_err(|e| TransportError::io("receive", e))
    }

    /// Run `requests` (all of one kind): "do" commands with up to
    /// [`Self::window`] in flight, dumps one at a time. Replies come back in
    /// request order; a kernel error fails only its own request.
    pub async fn transact(
        &mut self,
        requests: &[IpvsMessage],
        kind: Kind,
    ) -> Result<Vec<Reply>, TransportError> {
        let mut replies: Vec<Option<Reply>> = vec![None; requests.len()];
        let mut collected: Vec<Vec<IpvsMessage>> = vec![Vec::new(); requests.len()];
        let mut pending: VecDeque<usize> = (0..requests.len()).collect();
        let mut in_flight: HashMap<u32, usize> = HashMap::new();
        // Set when the kernel refused a dump as busy: send nothing new
        // until the running dump has finished.
        let mut busy = false;
        let mut datagram = Vec::new();
        // The kernel finishes a dump only on the read after its data, so a
        // second dump sent before that read is always refused: dumps go one
        // at a time. "Do" commands are served whole inside the send.
        let window = match kind {
            Kind::Do => self.window,
            Kind::Dump => 1,
        };
        while !pending.is_empty() || !in_flight.is_empty() {
            if !busy {
                datagram.clear();
                while in_flight.len() < window {
                    let Some(index) = pending.pop_front() else {
                        break;
                    };
                    let seq = self.encode(&requests[index], kind, &mut datagram);
                    in_flight.insert(seq, index);
                }
                if !datagram.is_empty() {
                    self.send(&datagram).await?;
                }
            }
            if in_flight.is_empty() {
                continue;
            }
            self.recv().await?;
            for bytes in split(&self.rx) {
                let message = Message::deserialize(bytes)
                    .map_err(|e| TransportError::Decode(e.to_string()))?;
                let Some(&index) = in_flight.get(&message.header.sequence_number) else {
                    continue;
                };
                let seq = message.header.sequence_number;
                let done = match message.payload {
                    NetlinkPayload::InnerMessage(genl) => {
                        collected[index].push(genl.payload);
                        false
                    }
                    NetlinkPayload::Done(done) => {
                        busy = false;
                        replies[index] = Some(match -done.code {
                            0 => Ok(std::mem::take(&mut collected[index])),
                            errno => Err(errno),
                        });
                        true
                    }
                    NetlinkPayload::Error(error) => {
                        match error.code.map(|c| -c.get()) {
                            None => {
                                replies[index] = Some(Ok(std::mem::take(&mut collected[index])))
                            }
                            Some(libc::EBUSY) if kind == Kind::Dump => {
                                busy = true;
                                collected[index].clear();
                                pending.push_front(index);
                            }
                            Some(libc::EPERM) => return Err(TransportError::PermissionDenied),
                            Some(errno) => replies[index] = Some(Err(errno)),
                        }
                        true
                    }
                    _ => false,
                };
                if done {
                    in_flight.remove(&seq);
                }
            }
            if in_flight.is_empty() {
                busy = false;
            }
        }
        replies
            .into_iter()
            .map(|r| r.ok_or_else(|| TransportError::Decode("a request got no answer".into())))
            .collect()
    }
}

/// The netlink messages of one datagram.
fn split(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        let rest = datagram.get(offset..)?;
        let len = u32::from_ne_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        if len < 16 || len > rest.len() {
            return None;
        }
        offset += (len + 3) & !3;
        Some(&rest[..len])
    })
}

/// Ask for a receive queue big enough for a window of finished dumps;
/// returns what the kernel granted. `SO_RCVBUFFORCE` needs CAP_NET_ADMIN,
/// which IPVS needs anyway; without it `rmem_max` applies.
fn raise_rcvbuf(socket: &TokioSocket) -> usize {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    let fd = socket.socket_ref().as_fd();
    if setsockopt(&fd, sockopt::RcvBufForce, &WANTED_RCVBUF).is_err() {
        let _ = setsockopt(&fd, sockopt::RcvBuf, &WANTED_RCVBUF);
    }
    getsockopt(&fd, sockopt::RcvBuf).unwrap_or(DUMP_CHARGE)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_walks_aligned_messages_and_stops_at_garbage() {
        let mut datagram = Vec::new();
        for len in [20u32, 18, 16] {
            let mut message = vec![0u8; len as usize];
            message[..4].copy_from_slice(&len.to_ne_bytes());
            datagram.extend_from_slice(&message);
            datagram.resize((datagram.len() + 3) & !3, 0);
        }
        datagram.extend_from_slice(&[4, 0, 0, 0]);
        let lens: Vec<usize> = split(&datagram).map(<[u8]>::len).collect();
        assert_eq!(lens, [20, 18, 16]);
    }
}
