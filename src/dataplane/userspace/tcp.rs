//! One proxied TCP connection as a state machine the reactor drives:
//! schedule (at accept), connect, pump both ways, account, linger.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use crate::ipvs::model::Protocol;
use crate::ipvs::sched::Packet;

use super::conntrack::{ConnState, Counters, Ticket, CLOSE_LINGER};
use super::copy::{Endpoint, Flow, Pumped};
use super::{socket, Shared};

/// Which socket of a connection an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Client,
    Upstream,
}

/// What driving a connection came to.
#[derive(Debug)]
pub(super) enum Progress {
    /// Waiting for readiness.
    Running,
    /// Out of turn with data still to move: drive it again after the
    /// other connections had theirs.
    Yielded,
    /// Both directions ended: the connection closes normally.
    Done,
}

/// A client connection and its real server connection.
#[derive(Debug)]
pub(super) struct Proxied {
    id: u64,
    counters: Arc<Counters>,
    pub client: Endpoint,
    pub upstream: Endpoint,
    /// The real server accepted; until then nothing is pumped.
    connected: bool,
    /// Client to real server.
    inbound: Flow,
    /// Real server to client.
    outbound: Flow,
    /// One FIN was passed on.
    half_closed: bool,
    /// The client's FIN came before the real server accepted: pass it on
    /// once it has.
    fin_deferred: bool,
    /// The table's epoch, for the last-activity time.
    epoch: Instant,
}

/// What became of an accepted client.
#[derive(Debug)]
pub(super) enum Opened {
    /// Scheduled, and connecting to its real server.
    Proxied(Proxied),
    /// No destination available: refused with a reset, as by the kernel.
    Refused,
    /// The connection to `dest` could not even be started (out of
    /// descriptors or memory): the client got a reset.
    Failed { dest: SocketAddr, error: io::Error },
}

/// Schedule an accepted client and start connecting to its real server.
pub(super) fn open(
    shared: &Shared,
    svc_id: u64,
    vaddr: SocketAddr,
    client: TcpStream,
    peer: SocketAddr,
) -> Opened {
    let packet = Packet {
        protocol: Protocol::Tcp,
        client: peer,
        destination: vaddr,
    };
    let now = Instant::now();
    let (ticket, epoch) = {
        let mut table = shared.lock();
        let ticket = table.open(svc_id, &packet, shared.options.connect_timeout, now);
        (ticket, table.epoch)
    };
    let Some(Ticket {
        id, dest, counters, ..
    }) = ticket
    else {
        // No destination available: refuse like a closed port.
        socket::reset_on_close(&client);
        return Opened::Refused;
    };
    // The client socket inherited TCP_NODELAY from the listener; the
    // upstream one gets it before its second write (`copy`).
    match socket::tcp_connect_start(dest) {
        Ok(upstream) => Opened::Proxied(Proxied {
            id,
            counters,
            client: Endpoint::accepted(client),
            upstream: Endpoint::connecting(TcpStream::from_std(upstream)),
            connected: false,
            inbound: Flow::default(),
            outbound: Flow::default(),
            half_closed: false,
            fin_deferred: false,
            epoch,
        }),
        Err(error) => {
            // Counted when scheduled, as in the kernel; the client sees a
            // reset, as from a director whose real server is unreachable.
            socket::reset_on_close(&client);
            close(shared, id, ConnState::Close, CLOSE_LINGER);
            Opened::Failed { dest, error }
        }
    }
}

impl Proxied {
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The first turn, right after accept. The client's request is
    /// usually there already, and a near real server has often completed
    /// the handshake before connect(2) returned. So read the request and
    /// send it on at once: a send succeeds only on an established
    /// connection (on one still connecting it would block), so success
    /// confirms the connect and saves a trip through the reactor for both
    /// events. Otherwise the connection waits for its events as usual.
    pub fn start(&mut self, shared: &Shared, scratch: &mut [u8]) -> io::Result<Progress> {
        self.client.readable = true;
        self.upstream.writable = true;
        let before = self.counters.inbytes.load(Ordering::Relaxed);
        self.fin_deferred = self.pump(Side::Upstream, shared, scratch)? == Pumped::Ended;
        if self.counters.inbytes.load(Ordering::Relaxed) == before {
            // Nothing confirmed the connect: its event will.
            self.upstream.writable = false;
            return Ok(Progress::Running);
        }
        self.establish(shared)?;
        self.drive(shared, scratch)
    }

    /// The real server accepted: count the connection active, and pass on
    /// a FIN the client sent before.
    fn establish(&mut self, shared: &Shared) -> io::Result<()> {
        self.connected = true;
        shared.lock().set_state(self.id, ConnState::Established);
        if self.fin_deferred {
            self.pass_fin(shared, Side::Upstream)?;
        }
        Ok(())
    }

    /// Make all the progress the sockets' readiness allows.
    pub fn drive(&mut self, shared: &Shared, scratch: &mut [u8]) -> io::Result<Progress> {
        if !self.connected {
            // Success is the first writable readiness without an error:
            // a refused or failed connection reports EPOLLERR/EPOLLHUP
            // with it, so only failures pay for the SO_ERROR read.
            if self.upstream.failed {
                let error = self.upstream.stream.take_error()?;
                return Err(error.unwrap_or_else(|| io::ErrorKind::ConnectionRefused.into()));
            }
            if !self.upstream.writable {
                return Ok(Progress::Running);
            }
            self.establish(shared)?;
        }
        let inbound = self.pump(Side::Upstream, shared, scratch)?;
        if inbound == Pumped::Ended {
            self.pass_fin(shared, Side::Upstream)?;
        }
        let outbound = self.pump(Side::Client, shared, scratch)?;
        if outbound == Pumped::Ended {
            self.pass_fin(shared, Side::Client)?;
        }
        Ok(if self.inbound.ended() && self.outbound.ended() {
            Progress::Done
        } else if inbound == Pumped::Yielded || outbound == Pumped::Yielded {
            Progress::Yielded
        } else {
            Progress::Running
        })
    }

    /// One turn of the direction towards `to`: inbound towards the real
    /// server, outbound towards the client.
    fn pump(&mut self, to: Side, shared: &Shared, scratch: &mut [u8]) -> io::Result<Pumped> {
        let splice_after = shared.options.splice_after;
        match to {
            Side::Upstream => self.inbound.pump(
                &mut self.client,
                &mut self.upstream,
                scratch,
                &self.counters.inbytes,
                splice_after,
            ),
            Side::Client => self.outbound.pump(
                &mut self.upstream,
                &mut self.client,
                scratch,
                &self.counters.outbytes,
                splice_after,
            ),
        }
    }

    /// End of stream from one side. The first FIN is passed on with a
    /// half-close and moves the connection out of ESTABLISHED; after the
    /// second, closing both sockets sends the last FIN, so no shutdown.
    fn pass_fin(&mut self, shared: &Shared, to: Side) -> io::Result<()> {
        if self.half_closed {
            return Ok(());
        }
        self.half_closed = true;
        let dst = match to {
            Side::Client => &self.client,
            Side::Upstream => &self.upstream,
        };
        socket::shutdown_write(&dst.stream)?;
        shared.lock().set_state(self.id, ConnState::FinWait);
        Ok(())
    }

    /// Every few seconds of a long connection: record its segment counts
    /// and last activity. `Err(TimedOut)` when it has been idle past its
    /// state's timeout: the kernel would have forgotten it.
    pub fn check_activity(&self, shared: &Shared) -> io::Result<()> {
        let client_idle = record_segments(&self.client.stream, &self.counters).unwrap_or_default();
        let upstream_idle =
            socket::tcp_info(&self.upstream.stream).map_or(Duration::ZERO, |i| i.idle);
        let idle = client_idle.min(upstream_idle);
        let last = Instant::now()
            .saturating_duration_since(self.epoch)
            .saturating_sub(idle);
        self.counters
            .last_seen_ms
            .store(last.as_millis() as u64, Ordering::Relaxed);
        let state = if self.half_closed {
            ConnState::FinWait
        } else {
            ConnState::Established
        };
        let timeout = state.idle_timeout(&shared.lock().timeouts);
        if timeout.is_some_and(|t| idle >= t) {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(())
    }

    /// Close both sockets and hand the entry back to the table: after a
    /// normal end it lingers in TIME_WAIT; after a failure (a reset, an
    /// unreachable real server, a timeout) both ends get a reset, as from
    /// a director forwarding the RST, and it lingers in CLOSE.
    pub fn finish(self, shared: &Shared, outcome: io::Result<()>) {
        record_segments(&self.client.stream, &self.counters);
        match outcome {
            Ok(()) => close(shared, self.id, ConnState::TimeWait, Duration::ZERO),
            Err(_) => {
                socket::reset_on_close(&self.client.stream);
                socket::reset_on_close(&self.upstream.stream);
                close(shared, self.id, ConnState::Close, CLOSE_LINGER);
            }
        }
        // Dropping the streams closes them; the kernel takes them out of
        // the epoll set on close (no EPOLL_CTL_DEL needed).
    }
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
/// client sent us are InPkts, segments we sent it are OutPkts. Returns
/// how long the client has been idle.
fn record_segments(client: &TcpStream, counters: &Counters) -> Option<Duration> {
    let info = socket::tcp_info(client).ok()?;
    counters.inpkts.store(info.segs_in, Ordering::Relaxed);
    counters.outpkts.store(info.segs_out, Ordering::Relaxed);
    Some(info.idle)
}
