//! UDP virtual services: one session per client address and port, each
//! with its own connected socket to the scheduled real server. Replies go
//! back to the client from the VIP socket. A session ends after the udp
//! timeout without traffic in either direction; while it lives it is one
//! InActConn entry in state `UDP`.
//!
//! `ops` services (one-packet scheduling) schedule every datagram on its
//! own and keep no session: the entry is released as soon as the datagram
//! is sent, and replies to it are still relayed until the socket idles out.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::ipvs::model::Protocol;
use crate::ipvs::sched::Packet;

use super::conntrack::{Counters, Ticket};
use super::Shared;

/// Largest datagram relayed.
const DATAGRAM: usize = 65_536;

#[derive(Debug, Clone)]
struct Session {
    upstream: Arc<UdpSocket>,
    counters: Arc<Counters>,
}

type Sessions = Arc<Mutex<HashMap<SocketAddr, Session>>>;

fn sessions_lock(sessions: &Sessions) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Session>> {
    sessions.lock().unwrap_or_else(PoisonError::into_inner)
}

fn millis_since(epoch: Instant) -> u64 {
    Instant::now().saturating_duration_since(epoch).as_millis() as u64
}

/// Receive datagrams on the VIP socket; once `stop` fires (or its sender
/// is dropped), open no new sessions and end when the last one idles out.
pub(super) async fn serve_socket(
    shared: Arc<Shared>,
    svc_id: u64,
    vaddr: SocketAddr,
    socket: UdpSocket,
    mut stop: oneshot::Receiver<()>,
) {
    let socket = Arc::new(socket);
    let epoch = shared.lock().epoch;
    let sessions: Sessions = Arc::default();
    let mut relays = JoinSet::new();
    let mut buffer = vec![0u8; DATAGRAM];
    let mut accepting = true;
    loop {
        // A deleted service keeps relaying its sessions' datagrams (the
        // kernel forwards existing connections without their service) and
        // ends with the last of them.
        if !accepting && relays.is_empty() {
            break;
        }
        let (n, client) = tokio::select! {
            biased;
            _ = &mut stop, if accepting => {
                accepting = false;
                continue;
            }
            Some(_) = relays.join_next(), if !relays.is_empty() => continue,
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                // ICMP errors surface here on some kernels; keep serving.
                Err(_) => continue,
            },
        };
        let datagram = &buffer[..n];
        let existing = sessions_lock(&sessions).get(&client).cloned();
        if let Some(session) = existing {
            forward(&session, datagram, epoch);
            continue;
        }
        if !accepting {
            continue;
        }
        let packet = Packet {
            protocol: Protocol::Udp,
            client,
            destination: vaddr,
        };
        let ticket = shared.lock().open(
            svc_id,
            &packet,
            shared.options.connect_timeout,
            Instant::now(),
        );
        // No destination: the datagram is dropped, as the kernel does.
        let Some(Ticket {
            id,
            dest,
            counters,
            one_packet,
        }) = ticket
        else {
            continue;
        };
        let upstream = match connect_upstream(dest) {
            Ok(upstream) => Arc::new(upstream),
            Err(_) => {
                shared.lock().remove(id, Instant::now());
                continue;
            }
        };
        let session = Session { upstream, counters };
        forward(&session, datagram, epoch);
        let relay = Relay {
            shared: Arc::clone(&shared),
            vip: Arc::clone(&socket),
            client,
            session: session.clone(),
            epoch,
        };
        if one_packet {
            shared.lock().remove(id, Instant::now());
            relays.spawn(relay.run(None));
        } else {
            sessions_lock(&sessions).insert(client, session);
            relays.spawn(relay.run(Some((id, Arc::clone(&sessions)))));
        }
    }
}

/// Client to real server. A full socket buffer drops the datagram, as a
/// congested path would. The send is a plain non-blocking syscall rather
/// than tokio's `try_send`, which refuses until the reactor has reported a
/// new socket writable — and would drop a session's first datagram.
fn forward(session: &Session, datagram: &[u8], epoch: Instant) {
    let counters = &session.counters;
    counters.inpkts.fetch_add(1, Ordering::Relaxed);
    counters
        .inbytes
        .fetch_add(datagram.len() as u64, Ordering::Relaxed);
    counters
        .last_seen_ms
        .store(millis_since(epoch), Ordering::Relaxed);
    let _ = socket2::SockRef::from(&*session.upstream).send(datagram);
}

/// A socket connected to the real server from an ephemeral port.
fn connect_upstream(dest: SocketAddr) -> std::io::Result<UdpSocket> {
    let any = match dest {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = std::net::UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(dest)?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket)
}

struct Relay {
    shared: Arc<Shared>,
    vip: Arc<UdpSocket>,
    client: SocketAddr,
    session: Session,
    epoch: Instant,
}

impl Relay {
    /// Relay replies to the client until the session idles out; then drop
    /// the session and its table entry (`registered`).
    async fn run(self, registered: Option<(u64, Sessions)>) {
        let mut timeout = self.udp_timeout();
        let mut buffer = vec![0u8; DATAGRAM];
        let counters = &self.session.counters;
        let idle_end = |timeout: Duration| {
            let last = counters.last_seen_ms.load(Ordering::Relaxed);
            tokio::time::Instant::from_std(self.epoch + Duration::from_millis(last) + timeout)
        };
        let sleep = tokio::time::sleep_until(idle_end(timeout));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                received = self.session.upstream.recv(&mut buffer) => {
                    // A refused datagram (ICMP port unreachable) is not a reply.
                    let Ok(n) = received else { continue };
                    counters.outpkts.fetch_add(1, Ordering::Relaxed);
                    counters.outbytes.fetch_add(n as u64, Ordering::Relaxed);
                    counters.last_seen_ms.store(millis_since(self.epoch), Ordering::Relaxed);
                    let _ = self.vip.send_to(&buffer[..n], self.client).await;
                }
                _ = &mut sleep => {
                    // The timeout may have changed since the timer was set.
                    timeout = self.udp_timeout();
                    let end = idle_end(timeout);
                    if end <= tokio::time::Instant::now() {
                        break;
                    }
                    sleep.as_mut().reset(end);
                }
            }
        }
        if let Some((id, sessions)) = registered {
            sessions_lock(&sessions).remove(&self.client);
            self.shared.lock().remove(id, Instant::now());
        }
    }

    fn udp_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.shared.lock().timeouts.udp))
    }
}
