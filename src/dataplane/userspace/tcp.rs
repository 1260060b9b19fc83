//! TCP virtual services: the accept loop of one listener and the life of
//! one proxied connection (schedule, connect, pump, account, linger).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::ipvs::model::Protocol;
use crate::ipvs::sched::Packet;

use super::conntrack::{ConnState, Counters, Ticket, CLOSE_LINGER};
use super::{copy, socket, Shared};

/// How often a long connection's TCP_INFO segment counts are read.
const SEGMENT_POLL: Duration = Duration::from_secs(2);
/// Back-off after a failing `accept` (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Accept connections until `stop` fires (or its sender is dropped), then
/// close the listener and let the accepted connections finish. Aborting
/// this task aborts them too (they live in its `JoinSet`).
pub(super) async fn serve_listener(
    shared: Arc<Shared>,
    svc_id: u64,
    vaddr: SocketAddr,
    listener: TcpListener,
    mut stop: oneshot::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    let packet = Packet {
                        protocol: Protocol::Tcp,
                        client: peer,
                        destination: vaddr,
                    };
                    let ticket = shared.lock().open(
                        svc_id,
                        &packet,
                        shared.options.connect_timeout,
                        Instant::now(),
                    );
                    match ticket {
                        Some(ticket) => {
                            conns.spawn(proxy(Arc::clone(&shared), client, ticket));
                        }
                        // No destination available: refuse like a closed port.
                        None => socket::reset_on_close(&client),
                    }
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            }
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

/// One client connection: connect to the scheduled real server, pump both
/// ways, keep the table's state and counters current, then linger.
async fn proxy(shared: Arc<Shared>, client: TcpStream, ticket: Ticket) {
    let Ticket {
        id, dest, counters, ..
    } = ticket;
    let connect = tokio::time::timeout(shared.options.connect_timeout, connect(dest));
    let upstream = match connect.await {
        Ok(Ok(upstream)) => upstream,
        _ => {
            // Unreachable real server: the client sees a reset. The conn
            // was counted when it was scheduled, as in the kernel.
            socket::reset_on_close(&client);
            record_segments(&client, &counters);
            drop(client);
            close(&shared, id, ConnState::Close, CLOSE_LINGER);
            return;
        }
    };
    // The client socket inherited TCP_NODELAY from the listener; the
    // upstream one has it from `connect`.
    let epoch = {
        let mut table = shared.lock();
        table.set_state(id, ConnState::Established);
        table.epoch
    };

    let half_closed = AtomicBool::new(false);
    // End of stream from one side. The first FIN is passed on with a
    // half-close and moves the connection out of ESTABLISHED; after the
    // second, closing both sockets sends the last FIN, so no shutdown.
    let on_eof = |dst: &TcpStream| -> io::Result<()> {
        if half_closed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        socket::shutdown_write(dst)?;
        shared.lock().set_state(id, ConnState::FinWait);
        Ok(())
    };
    let options = &shared.options;
    let inbound = async {
        copy::pump(&client, &upstream, &counters.inbytes, options).await?;
        on_eof(&upstream)
    };
    let outbound = async {
        copy::pump(&upstream, &client, &counters.outbytes, options).await?;
        on_eof(&client)
    };
    let both = async { tokio::try_join!(inbound, outbound) };
    tokio::pin!(both);
    let mut poll =
        tokio::time::interval_at(tokio::time::Instant::now() + SEGMENT_POLL, SEGMENT_POLL);
    let outcome = loop {
        tokio::select! {
            outcome = &mut both => break outcome,
            _ = poll.tick() => {
                let idle = record_activity(&client, &upstream, &counters, epoch);
                let state = if half_closed.load(Ordering::Relaxed) {
                    ConnState::FinWait
                } else {
                    ConnState::Established
                };
                let timeout = state.idle_timeout(&shared.lock().timeouts);
                // The kernel forgets a connection idle past its state's
                // timeout; both ends learn it from a reset here.
                if timeout.is_some_and(|t| idle >= t) {
                    break Err(io::ErrorKind::TimedOut.into());
                }
            }
        }
    };
    record_segments(&client, &counters);
    match outcome {
        Ok(_) => close(&shared, id, ConnState::TimeWait, Duration::ZERO),
        Err(_) => {
            // One side reset or failed: reset the other, as a director
            // forwarding the RST would.
            socket::reset_on_close(&client);
            socket::reset_on_close(&upstream);
            close(&shared, id, ConnState::Close, CLOSE_LINGER);
        }
    }
}

/// Connect to a real server. Success is the first writable readiness
/// without an error (`EPOLLOUT` alone): a refused or failed connection
/// reports `EPOLLERR`/`EPOLLHUP` with it, so only failures pay for the
/// `SO_ERROR` read that says why.
async fn connect(dest: SocketAddr) -> io::Result<TcpStream> {
    let upstream = TcpStream::from_std(socket::tcp_connect_start(dest)?)?;
    let ready = upstream.ready(Interest::WRITABLE).await?;
    if ready.is_error() || ready.is_write_closed() {
        let error = upstream.take_error()?;
        return Err(error.unwrap_or_else(|| io::ErrorKind::ConnectionRefused.into()));
    }
    Ok(upstream)
}

/// Hand the entry back to the table; `TimeWait` lingers for the current
/// tcp_fin timeout.
fn close(shared: &Shared, id: u64, state: ConnState, linger: Duration) {
    let mut table = shared.lock();
    let linger = match state {
        ConnState::TimeWait => Duration::from_secs(u64::from(table.timeouts.tcp_fin)),
        _ => linger,
    };
    table.close(id, state, linger, Instant::now());
}

/// Packets as IPVS counts them, from the client-side socket: segments the
/// client sent us are InPkts, segments we sent it are OutPkts.
fn record_segments(client: &TcpStream, counters: &Counters) -> Option<Duration> {
    let info = socket::tcp_info(client).ok()?;
    counters.inpkts.store(info.segs_in, Ordering::Relaxed);
    counters.outpkts.store(info.segs_out, Ordering::Relaxed);
    Some(info.idle)
}

/// Segments, and how long neither end has sent anything (recorded as the
/// connection's last activity for the listing's expiry column).
fn record_activity(
    client: &TcpStream,
    upstream: &TcpStream,
    counters: &Counters,
    epoch: Instant,
) -> Duration {
    let client_idle = record_segments(client, counters).unwrap_or_default();
    let upstream_idle = socket::tcp_info(upstream).map_or(Duration::ZERO, |i| i.idle);
    let idle = client_idle.min(upstream_idle);
    let last = Instant::now()
        .saturating_duration_since(epoch)
        .saturating_sub(idle);
    counters
        .last_seen_ms
        .store(last.as_millis() as u64, Ordering::Relaxed);
    idle
}
