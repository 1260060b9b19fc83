//! lvstop's userspace dataplane: an L4 proxy that behaves like IPVS for directors whose kernel has none — same schedulers (through
//! [`crate::ipvs::sched::bind`]), same ActiveConn / InActConn accounting,
//! same counters, same validation of table operations.
//!
//! Every virtual service gets a listening socket (TCP listener or UDP
//! socket) bound with `IP_FREEBIND`, so a VIP that is not local yet can be
//! served the moment VRRP moves it here. Whatever forwarding method a
//! destination is configured with (Masq, Route, Tunnel, Local), the proxy
//! always proxies: from the client's side every method looks like NAT, and
//! real servers see the director's address as the source. The configured
//! method is still recorded and shown in the table.
//!
//! TCP runs on reactor threads of its own, one per CPU the process may
//! use (`reactor`): each waits on one epoll instance, accepts from the
//! shared listeners and drives its connections as state machines, with
//! two syscalls of bookkeeping per connection (the two registrations)
//! beyond the I/O itself. UDP sessions and the housekeeping (expiry, rate
//! estimation) are tasks on the caller's tokio runtime.
//!
//! # What matches the kernel, and what cannot
//!
//! - **Scheduling** goes through the shared schedulers on the kernel's
//!   destination order; weight 0 takes no new connections, overloaded
//!   destinations (upper/lower thresholds) are skipped.
//! - **Accounting**: a connection is InActConn while the proxy connects to
//!   the real server (`SYN_RECV`), ActiveConn once both sides are open
//!   (`ESTABLISHED`), InActConn again after the first FIN (`FIN_WAIT`) and
//!   for the tcp_fin timeout after both sides closed (`TIME_WAIT`
//!   emulation). UDP sessions are InActConn. Idle connections expire after
//!   the tcp / tcpfin / udp timeouts.
//! - **Counters**: `conns` counts at scheduling time, so a connection to an
//!   unreachable real server (the client gets a RST) still counts.
//!   Packets are real TCP segments from `TCP_INFO` of the client-side
//!   socket (`tcpi_segs_in` = InPkts, `tcpi_segs_out` = OutPkts), read
//!   every 2 s and at close; bytes are the payload bytes the proxy moved in
//!   each direction. The kernel counts IP packet lengths, so its byte
//!   counts are higher by the headers (about 52 bytes per IPv4 segment).
//!   UDP counts datagrams and their payload.
//! - **Persistence** templates follow the kernel, including stickiness to
//!   a quiesced destination (`expire_quiescent_template` off, the default).
//! - **Removal**: a removed destination leaves the table at once and its
//!   connections run on (the kernel's trash); a deleted service stops
//!   listening at once and its connections run on, uncounted.
//! - **Not reproducible by a proxy**: real servers see the director's
//!   address, not the client's; DR, TUN and Local destinations are
//!   proxied like NAT; firewall-mark, SCTP and all-ports (port 0)
//!   services, persistence engines and sync daemons are refused or absent
//!   (`DataplaneError::Unsupported`).
//!
//! Module map: `table` (services, destinations, validation), `conntrack`
//! (connection entries, states, TIME_WAIT emulation, counters),
//! `lingering` (closed connections packed small while they linger),
//! `persistence` (templates), `reactor` (the TCP event loops: accept,
//! readiness, deadlines), `tcp` (one proxied connection), `copy` (the byte
//! pump, splice on bulk transfers), `udp` (sessions), `socket` (the only
//! `unsafe`: setsockopt/TCP_INFO/splice/epoll).
//!
//! Nothing here blocks for long: the table lock is a std mutex held only
//! for bookkeeping, never across a syscall that waits or an await.

mod conntrack;
mod copy;
mod lingering;
mod persistence;
mod reactor;
mod socket;
mod table;
mod tcp;
mod udp;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::{ApplyError, Dataplane, DataplaneError, DataplaneKind, Operation};
use crate::ipvs::model::{
    Connection, Daemon, Info, Origin, Protocol, ServiceConfig, ServiceKey, Table, Timeouts,
};

use table::State;

/// How the proxy behaves; [`Options::default`] suits most directors.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for a real server to accept a connection before
    /// resetting the client (default 5 s).
    pub connect_timeout: Duration,
    /// The most one read moves, in bytes (default 64 KiB). Data is kept
    /// per direction only while the other side cannot take it yet.
    pub buffer_size: usize,
    /// After this many bytes in one direction, move data with `splice(2)`
    /// through a pipe instead of copying it through userspace; `None`
    /// never splices (default 256 KiB).
    pub splice_after: Option<u64>,
    /// TCP reactor threads; 0 (the default) runs one per CPU the process
    /// may use (its affinity mask, as `taskset` sets it).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(5),
            buffer_size: 64 * 1024,
            splice_after: Some(256 * 1024),
            threads: 0,
        }
    }
}

/// The period of the rate estimators (the kernel's is 2 s too).
const ESTIMATOR_PERIOD: Duration = Duration::from_secs(2);
/// How often lingering entries and templates are reaped when nothing else
/// touches the table.
const REAP_PERIOD: Duration = Duration::from_secs(1);

/// What the I/O tasks share: the table and the options.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    options: Options,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind;
        // carrying on with them beats taking the dataplane down.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running service listener.
#[derive(Debug)]
pub(crate) enum ListenerHandle {
    /// Shared by every reactor; shutting its read side down stops
    /// listening at once, before the reactors let go of it.
    Tcp {
        svc_id: u64,
        socket: Arc<std::net::TcpListener>,
    },
    /// Dropping `stop` makes the task stop taking new sessions (its
    /// sessions finish); `task` aborts it and its sessions.
    Udp {
        stop: oneshot::Sender<()>,
        task: AbortHandle,
    },
}

/// The userspace dataplane. Create it inside a tokio runtime with
/// [`UserspaceDataplane::start`]; dropping it (or [`shutdown`]) closes
/// every listener and connection.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use lvstop::dataplane::userspace::{Options, UserspaceDataplane};
/// use lvstop::dataplane::{Dataplane, Operation};
/// use lvstop::ipvs::model::{DestConfig, Forward, ServiceConfig, ServiceKey};
///
/// let dataplane = UserspaceDataplane::start(Options {
///     connect_timeout: std::time::Duration::from_secs(3),
///     ..Options::default()
/// })?;
/// let vip = ServiceKey::tcp("192.0.2.80:80".parse()?);
/// dataplane
///     .apply(&[
///         Operation::AddService(ServiceConfig::new(vip, "rr")),
///         Operation::AddDest {
///             service: vip,
///             dest: DestConfig::new("192.0.2.82:80".parse()?, Forward::Route, 1),
///         },
///     ])
///     .await?;
/// let table = dataplane.snapshot().await?;
/// # Ok(()) }
/// ```
///
/// [`shutdown`]: UserspaceDataplane::shutdown
#[derive(Debug)]
pub struct UserspaceDataplane {
    shared: Arc<Shared>,
    /// The TCP reactors; emptied by shutdown.
    reactors: Mutex<Vec<reactor::Remote>>,
    /// Housekeeping and UDP sockets of deleted services still draining.
    background: Mutex<Vec<AbortHandle>>,
}

impl UserspaceDataplane {
    /// Start an empty dataplane: its TCP reactor threads, and its UDP and
    /// housekeeping tasks on the current tokio runtime.
    pub fn start(options: Options) -> Result<Self, DataplaneError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            DataplaneError::io(
                "the userspace dataplane needs a tokio runtime",
                std::io::Error::other(e),
            )
        })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(Instant::now())),
            options,
        });
        let threads = match shared.options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let reactors = (0..threads)
            .map(|index| reactor::spawn(Arc::clone(&shared), index))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DataplaneError::io("cannot start the dataplane's reactor threads", e))?;
        let housekeeping = runtime.spawn(housekeeping(Arc::clone(&shared)));
        Ok(UserspaceDataplane {
            shared,
            reactors: Mutex::new(reactors),
            background: Mutex::new(vec![housekeeping.abort_handle()]),
        })
    }

    fn reactors(&self) -> MutexGuard<'_, Vec<reactor::Remote>> {
        self.reactors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tell_reactors(&self, command: impl Fn() -> reactor::Command) {
        for remote in self.reactors().iter() {
            remote.send(command());
        }
    }

    /// Close every listener and abort every connection. Idempotent.
    pub fn shutdown(&self) {
        let mut state = self.shared.lock();
        for entry in &mut state.services {
            if let Some(ListenerHandle::Udp { task, .. }) = entry.listener.take() {
                task.abort();
            }
        }
        drop(state);
        for remote in self.reactors().drain(..) {
            remote.send(reactor::Command::Shutdown);
        }
        let mut background = self
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for task in background.drain(..) {
            task.abort();
        }
    }

    fn apply_one(&self, operation: &Operation) -> Result<(), DataplaneError> {
        let mut state = self.shared.lock();
        match operation {
            Operation::AddService(config) => {
                let scheduler = state.check_new_service(config)?;
                let id = state.next_id();
                let listener = self.listen(id, config)?;
                state.insert_service(id, config.clone(), scheduler, listener);
            }
            Operation::EditService(config) => state.edit_service(config.clone())?,
            Operation::DeleteService(key) => {
                let entry = state.delete_service(*key)?;
                drop(state);
                self.retire(entry.listener);
            }
            Operation::AddDest { service, dest } => state.add_dest(*service, *dest)?,
            Operation::EditDest { service, dest } => state.edit_dest(*service, *dest)?,
            Operation::DeleteDest { service, dest } => state.delete_dest(*service, *dest)?,
            Operation::Zero(key) => {
                state.flush_counters();
                state.zero(*key)?;
            }
            Operation::SetTimeouts(timeouts) => state.set_timeouts(*timeouts),
            Operation::StartDaemon(_) | Operation::StopDaemon(_) => {
                return Err(DataplaneError::Unsupported {
                    dataplane: "userspace",
                    what: "connection sync daemons (they replicate the kernel's connection table)"
                        .into(),
                });
            }
            Operation::Flush => {
                let entries = std::mem::take(&mut state.services);
                drop(state);
                for entry in entries {
                    self.retire(entry.listener);
                }
            }
        }
        Ok(())
    }

    /// Open the service's socket and start its listener task.
    fn listen(&self, id: u64, config: &ServiceConfig) -> Result<ListenerHandle, DataplaneError> {
        let ServiceKey::Inet { protocol, .. } = config.key else {
            return Err(DataplaneError::Unsupported {
                dataplane: "userspace",
                what: "firewall-mark services".into(),
            });
        };
        let addr: SocketAddr = config.key.socket_addr().ok_or_else(|| {
            DataplaneError::io(
                "service without an address",
                std::io::ErrorKind::Other.into(),
            )
        })?;
        let context = || format!("cannot listen on {} for {}", addr, config.key);
        match protocol {
            Protocol::Tcp => {
                let socket = Arc::new(
                    socket::tcp_listener(addr).map_err(|e| DataplaneError::io(context(), e))?,
                );
                self.tell_reactors(|| reactor::Command::Listen {
                    svc_id: id,
                    vaddr: addr,
                    listener: Arc::clone(&socket),
                });
                Ok(ListenerHandle::Tcp { svc_id: id, socket })
            }
            Protocol::Udp => {
                let socket = socket::udp_socket(addr)
                    .and_then(tokio::net::UdpSocket::from_std)
                    .map_err(|e| DataplaneError::io(context(), e))?;
                let (stop, stopped) = oneshot::channel();
                let shared = Arc::clone(&self.shared);
                let task = tokio::spawn(udp::serve_socket(shared, id, addr, socket, stopped));
                Ok(ListenerHandle::Udp {
                    stop,
                    task: task.abort_handle(),
                })
            }
            Protocol::Sctp => Err(DataplaneError::Unsupported {
                dataplane: "userspace",
                what: "SCTP services".into(),
            }),
        }
    }

    /// A deleted service's listener stops accepting; its connections run
    /// on, and shutdown can still abort them.
    fn retire(&self, listener: Option<ListenerHandle>) {
        let (stop, task) = match listener {
            None => return,
            Some(ListenerHandle::Tcp { svc_id, socket }) => {
                // Shutting a listening socket down leaves LISTEN now, so
                // the same address can be added again within one batch.
                let _ = socket2::SockRef::from(&*socket).shutdown(std::net::Shutdown::Read);
                self.tell_reactors(|| reactor::Command::Unlisten { svc_id });
                return;
            }
            Some(ListenerHandle::Udp { stop, task }) => (stop, task),
        };
        drop(stop);
        let mut background = self
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        background.retain(|t| !t.is_finished());
        background.push(task);
    }
}

impl Drop for UserspaceDataplane {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Reap lingering connections and templates every second; every two
/// seconds fold live counters into the table and run the estimators.
async fn housekeeping(shared: Arc<Shared>) {
    let mut reap = tokio::time::interval(REAP_PERIOD);
    reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_estimate = Instant::now();
    loop {
        reap.tick().await;
        let now = Instant::now();
        let mut state = shared.lock();
        state.expire(now);
        if now.duration_since(last_estimate) >= ESTIMATOR_PERIOD {
            last_estimate = now;
            state.flush_counters();
            // Hook for `crate::ipvs::estimator`: one sample per service and
            // destination every ESTIMATOR_PERIOD.
            state.estimate();
        }
    }
}

impl Dataplane for UserspaceDataplane {
    fn kind(&self) -> DataplaneKind {
        DataplaneKind::Userspace
    }

    async fn apply(&self, operations: &[Operation]) -> Result<(), ApplyError> {
        for (index, operation) in operations.iter().enumerate() {
            self.apply_one(operation).map_err(|error| ApplyError {
                index,
                operation: operation.clone(),
                error,
            })?;
        }
        Ok(())
    }

    async fn snapshot(&self) -> Result<Table, DataplaneError> {
        let mut state = self.shared.lock();
        state.expire(Instant::now());
        state.flush_counters();
        Ok(Table {
            origin: Origin::Userspace,
            info: Info::KERNEL_DEFAULT,
            services: state.services.iter().map(|s| s.service.clone()).collect(),
        })
    }

    async fn connections(&self) -> Result<Vec<Connection>, DataplaneError> {
        let now = Instant::now();
        let mut state = self.shared.lock();
        state.expire(now);
        Ok(state.list_connections(now))
    }

    async fn timeouts(&self) -> Result<Timeouts, DataplaneError> {
        Ok(self.shared.lock().timeouts)
    }

    async fn daemons(&self) -> Result<Vec<Daemon>, DataplaneError> {
        // Connection sync needs the kernel's sync daemon; none runs here.
        Ok(Vec::new())
    }
}
