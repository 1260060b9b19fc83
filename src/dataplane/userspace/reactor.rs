//! The TCP reactor: one thread with one epoll instance, accepting on every
//! TCP virtual service and driving its connections as state machines.
//!
//! The dataplane runs one reactor per CPU it may use. They share each
//! listening socket, registered `EPOLLEXCLUSIVE` so a new connection wakes
//! one reactor, and each keeps the connections it accepted. A connection
//! costs two sockets registered once, edge-triggered, and closed without
//! deregistering (close takes a socket out of the epoll set), and asked
//! for writable readiness only when a write has blocked; there is no
//! task, waker or timer per connection:
//!
//! - connect deadlines and the 2-second activity checks of established
//!   connections are FIFO queues (every entry of a queue has the same
//!   delay, so deadlines come out in order), checked between waits;
//! - a slot freed while handling a batch of events is reused only after
//!   the batch, so a late event in it never reaches a newer connection;
//! - a connection that used up its turn (a bulk transfer on a fast path)
//!   is driven again after the batch, without waiting: edge-triggered
//!   readiness would not report it again.
//!
//! The control side talks to a reactor through a mailbox and a
//! [`mio::Waker`].

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Poll, Token, Waker};

use super::socket;
use super::tcp::{self, Opened, Progress, Proxied, Side};
use super::Shared;

/// How often an established connection's TCP_INFO segment counts and idle
/// time are read.
const ACTIVITY_PERIOD: Duration = Duration::from_secs(2);
/// Back-off after a failing `accept` (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);
/// Connections accepted per listener event before the other events get a
/// turn (the listener is level-triggered: what is left fires again).
const ACCEPT_BATCH: usize = 64;
/// Events taken per wait.
const EVENT_CAPACITY: usize = 1024;

const WAKER: Token = Token(usize::MAX);
/// Listener tokens have this bit set and the service id below it;
/// connection tokens are a slot index shifted left by one, plus the side.
const LISTENER_BIT: usize = 1 << (usize::BITS - 2);

/// What the control side asks of a reactor.
#[derive(Debug)]
pub(super) enum Command {
    /// Accept on a service's listening socket.
    Listen {
        svc_id: u64,
        vaddr: SocketAddr,
        listener: Arc<std::net::TcpListener>,
    },
    /// Stop accepting for a service; its connections run on.
    Unlisten { svc_id: u64 },
    /// Close every listener and connection and end the thread.
    Shutdown,
}

/// The control side's end of a reactor.
#[derive(Debug)]
pub(super) struct Remote {
    mailbox: Arc<Mutex<Vec<Command>>>,
    waker: Waker,
}

impl Remote {
    /// Hand `command` over and wake the reactor. A reactor that has ended
    /// drops it.
    pub fn send(&self, command: Command) {
        self.mailbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(command);
        if let Err(e) = self.waker.wake() {
            tracing::warn!("cannot wake a dataplane reactor: {e}");
        }
    }
}

/// Start reactor number `index` on its own thread.
pub(super) fn spawn(shared: Arc<Shared>, index: usize) -> io::Result<Remote> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let mailbox = Arc::new(Mutex::new(Vec::new()));
    let mut reactor = Reactor {
        poll,
        shared,
        mailbox: Arc::clone(&mailbox),
        listeners: HashMap::new(),
        slots: Vec::new(),
        free: Vec::new(),
        freed: Vec::new(),
        connecting: VecDeque::new(),
        activity: VecDeque::new(),
        paused: VecDeque::new(),
        yielded: Vec::new(),
        start_failures: Throttled::default(),
        scratch: Vec::new(),
    };
    reactor.scratch = vec![0; reactor.shared.options.buffer_size.max(1)];
    // Detached: after a shutdown command the thread closes everything and
    // ends on its own.
    std::thread::Builder::new()
        .name(format!("lvstop-dp{index}"))
        .spawn(move || {
            let run = std::panic::AssertUnwindSafe(|| reactor.run());
            if std::panic::catch_unwind(run).is_err() {
                // A director that holds its VIPs but no longer forwards is
                // worse than one that stops: stop, so that VRRP moves the
                // VIPs to a backup and the service manager restarts us.
                tracing::error!("dataplane reactor {index} failed; stopping lvstop");
                std::process::abort();
            }
        })?;
    Ok(Remote { mailbox, waker })
}

struct Listening {
    vaddr: SocketAddr,
    listener: Arc<std::net::TcpListener>,
    /// Taken out of the epoll set after an accept failure, until then.
    paused: bool,
    /// Accepts failed in a row (logged at the first and at recovery).
    failures: u32,
}

/// A connection slot; `generation` tells a queued deadline whether the
/// slot still holds the connection it was queued for.
#[derive(Default)]
struct Slot {
    generation: u32,
    conn: Option<Box<Proxied>>,
}

/// How often a recurring failure is reported.
const REPORT_PERIOD: Duration = Duration::from_secs(10);

/// A failure that can recur thousands of times a second, reported at once
/// and then at most every [`REPORT_PERIOD`], with how many there were.
#[derive(Default)]
struct Throttled {
    count: u64,
    reported: Option<Instant>,
}

impl Throttled {
    fn note(&mut self, report: impl FnOnce(u64)) {
        self.count += 1;
        let now = Instant::now();
        if self
            .reported
            .is_none_or(|at| now.duration_since(at) >= REPORT_PERIOD)
        {
            report(self.count);
            self.count = 0;
            self.reported = Some(now);
        }
    }
}

/// Why a connection is driven.
#[derive(Debug, Clone, Copy)]
enum Turn {
    /// Just accepted: try the request at once.
    First,
    /// Its readiness changed, or it yielded its last turn.
    Ready,
}

/// A queued deadline's connection.
#[derive(Debug, Clone, Copy)]
struct Key {
    index: usize,
    generation: u32,
}

struct Reactor {
    poll: Poll,
    shared: Arc<Shared>,
    mailbox: Arc<Mutex<Vec<Command>>>,
    listeners: HashMap<u64, Listening>,
    slots: Vec<Slot>,
    /// Slots free for new connections.
    free: Vec<usize>,
    /// Slots freed during the current batch of events.
    freed: Vec<usize>,
    /// Connect deadlines, in order.
    connecting: VecDeque<(Instant, Key)>,
    /// Next activity check of established connections, in order.
    activity: VecDeque<(Instant, Key)>,
    /// Listeners paused after an accept failure, and when to resume.
    paused: VecDeque<(Instant, u64)>,
    /// Connections that yielded their turn, to drive after the batch.
    yielded: Vec<Key>,
    /// Connections to real servers that could not be started.
    start_failures: Throttled,
    /// Where reads land before they are written on.
    scratch: Vec<u8>,
}

impl Reactor {
    fn run(mut self) {
        let mut events = Events::with_capacity(EVENT_CAPACITY);
        loop {
            let timeout = if self.yielded.is_empty() {
                self.next_deadline().map(|at| {
                    // Round up: waking a little early only waits again.
                    at.saturating_duration_since(Instant::now()) + Duration::from_millis(1)
                })
            } else {
                Some(Duration::ZERO)
            };
            let yielded = std::mem::take(&mut self.yielded);
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::error!("dataplane reactor stopped: epoll_wait: {e}");
                    return;
                }
            }
            for event in &events {
                match event.token() {
                    WAKER => {}
                    Token(token) if token & LISTENER_BIT != 0 => {
                        self.accept((token & !LISTENER_BIT) as u64);
                    }
                    Token(token) => {
                        let side = if token & 1 == 0 {
                            Side::Client
                        } else {
                            Side::Upstream
                        };
                        self.on_ready(token >> 1, side, event);
                    }
                }
            }
            for key in yielded {
                if self.live(key).is_some() {
                    self.drive(key.index, Turn::Ready);
                }
            }
            self.free.append(&mut self.freed);
            if !self.take_commands() {
                return;
            }
            self.expire(Instant::now());
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.connecting.front().map(|(at, _)| *at),
            self.activity.front().map(|(at, _)| *at),
            self.paused.front().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Carry out the control side's commands; `false` after a shutdown.
    fn take_commands(&mut self) -> bool {
        let commands =
            std::mem::take(&mut *self.mailbox.lock().unwrap_or_else(PoisonError::into_inner));
        for command in commands {
            match command {
                Command::Listen {
                    svc_id,
                    vaddr,
                    listener,
                } => {
                    let token = LISTENER_BIT | svc_id as usize;
                    let registry = self.poll.registry();
                    if let Err(e) = socket::epoll_add_exclusive(registry, &*listener, token as u64)
                    {
                        tracing::error!("cannot accept on {vaddr}: epoll_ctl: {e}");
                        continue;
                    }
                    self.listeners.insert(
                        svc_id,
                        Listening {
                            vaddr,
                            listener,
                            paused: false,
                            failures: 0,
                        },
                    );
                }
                Command::Unlisten { svc_id } => {
                    if let Some(listening) = self.listeners.remove(&svc_id) {
                        self.unregister(&listening);
                    }
                }
                Command::Shutdown => {
                    for listening in self.listeners.values() {
                        self.unregister(listening);
                    }
                    // Dropping the connections closes their sockets.
                    return false;
                }
            }
        }
        true
    }

    /// Take a listener out of this reactor's epoll set. The socket stays
    /// open while another reactor or the control side holds it, and epoll
    /// would go on reporting it until then.
    fn unregister(&self, listening: &Listening) {
        if !listening.paused {
            let _ = socket::epoll_delete(self.poll.registry(), &*listening.listener);
        }
    }

    /// Accept what the listener of `svc_id` has, up to a batch.
    fn accept(&mut self, svc_id: u64) {
        for _ in 0..ACCEPT_BATCH {
            let Some(listening) = self.listeners.get_mut(&svc_id) else {
                return;
            };
            let vaddr = listening.vaddr;
            match socket::accept_nonblocking(&listening.listener) {
                Ok((client, peer)) => {
                    if listening.failures > 0 {
                        tracing::info!(
                            "accepting on {vaddr} again after {} failed attempts",
                            listening.failures
                        );
                        listening.failures = 0;
                    }
                    self.start(svc_id, vaddr, client, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // The client gave up before it was accepted.
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The control side shut the listener down (service deleted);
                // its Unlisten is on the way.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    if let Some(listening) = self.listeners.remove(&svc_id) {
                        self.unregister(&listening);
                    }
                    return;
                }
                Err(e) => {
                    // Out of descriptors or memory: the listener would fire
                    // again at once; rest it a moment. The clients wait in
                    // the listen queue meanwhile.
                    if listening.failures == 0 {
                        tracing::warn!("accept on {vaddr}: {e}; retrying every {ACCEPT_BACKOFF:?}");
                    }
                    listening.failures = listening.failures.saturating_add(1);
                    self.pause(svc_id);
                    return;
                }
            }
        }
    }

    fn pause(&mut self, svc_id: u64) {
        if let Some(listening) = self.listeners.get_mut(&svc_id) {
            let _ = socket::epoll_delete(self.poll.registry(), &*listening.listener);
            listening.paused = true;
            self.paused
                .push_back((Instant::now() + ACCEPT_BACKOFF, svc_id));
        }
    }

    fn resume(&mut self, svc_id: u64) {
        let Some(listening) = self.listeners.get_mut(&svc_id) else {
            return;
        };
        let token = (LISTENER_BIT | svc_id as usize) as u64;
        match socket::epoll_add_exclusive(self.poll.registry(), &*listening.listener, token) {
            Ok(()) => listening.paused = false,
            Err(e) => {
                tracing::warn!("cannot resume accepting on {}: {e}", listening.vaddr);
                self.paused
                    .push_back((Instant::now() + ACCEPT_BACKOFF, svc_id));
            }
        }
    }

    /// Schedule a new client, start its connect, and register both sockets.
    fn start(&mut self, svc_id: u64, vaddr: SocketAddr, client: TcpStream, peer: SocketAddr) {
        let conn = match tcp::open(&self.shared, svc_id, vaddr, client, peer) {
            Opened::Proxied(conn) => conn,
            Opened::Refused => return,
            Opened::Failed { dest, error } => {
                self.start_failures.note(|n| {
                    tracing::warn!(
                        "cannot open a connection to real server {dest}: {error} \
                         ({n} such failure(s) since the last report)"
                    );
                });
                return;
            }
        };
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            self.slots.len() - 1
        });
        let slot = &mut self.slots[index];
        slot.generation = slot.generation.wrapping_add(1);
        slot.conn = Some(Box::new(conn));
        let key = Key {
            index,
            generation: slot.generation,
        };
        // The first turn runs before the sockets are registered, so what
        // it already took care of (the request, the connect) raises no
        // event.
        self.drive(index, Turn::First);
        let registry = self.poll.registry();
        // A slot freed in its first turn stays empty until the batch ends.
        let Some(conn) = self.slots[index].conn.as_deref_mut() else {
            return;
        };
        let registered = conn
            .client
            .register(registry, Token(index << 1))
            .and_then(|()| conn.upstream.register(registry, Token(index << 1 | 1)));
        match registered {
            // A connect the first turn confirmed needs no deadline.
            Ok(()) if conn.is_connected() => {}
            Ok(()) => {
                let deadline = Instant::now() + self.shared.options.connect_timeout;
                self.connecting.push_back((deadline, key));
            }
            Err(e) => self.end(index, Err(e)),
        }
    }

    fn on_ready(&mut self, index: usize, side: Side, event: &mio::event::Event) {
        let Some(conn) = self.slots.get_mut(index).and_then(|s| s.conn.as_mut()) else {
            return;
        };
        match side {
            Side::Client => conn.client.absorb(event),
            Side::Upstream => conn.upstream.absorb(event),
        }
        self.drive(index, Turn::Ready);
    }

    /// Let the connection in slot `index` make progress, and act on where
    /// it got to.
    fn drive(&mut self, index: usize, turn: Turn) {
        let Some(conn) = self.slots.get_mut(index).and_then(|s| s.conn.as_mut()) else {
            return;
        };
        let was_connected = conn.is_connected();
        let outcome = match turn {
            Turn::First => conn.start(&self.shared, &mut self.scratch),
            Turn::Ready => conn.drive(&self.shared, &mut self.scratch),
        }
        .and_then(|progress| {
            // A write that blocked needs writable readiness reported.
            let registry = self.poll.registry();
            conn.client.watch_writable(registry, Token(index << 1))?;
            conn.upstream
                .watch_writable(registry, Token(index << 1 | 1))?;
            Ok(progress)
        });
        let key = Key {
            index,
            generation: self.slots[index].generation,
        };
        if !was_connected && outcome.is_ok() && self.live(key).is_some_and(|c| c.is_connected()) {
            self.activity
                .push_back((Instant::now() + ACTIVITY_PERIOD, key));
        }
        match outcome {
            Ok(Progress::Running) => {}
            Ok(Progress::Yielded) => self.yielded.push(key),
            Ok(Progress::Done) => self.end(index, Ok(())),
            Err(e) => self.end(index, Err(e)),
        }
    }

    fn end(&mut self, index: usize, outcome: io::Result<()>) {
        if let Some(conn) = self.slots[index].conn.take() {
            conn.finish(&self.shared, outcome);
            self.freed.push(index);
        }
    }

    fn live(&mut self, key: Key) -> Option<&mut Proxied> {
        let slot = self.slots.get_mut(key.index)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.conn.as_deref_mut()
    }

    /// Connect timeouts, activity checks and listener resumptions due by
    /// `now`.
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.connecting.front() {
            if at > now {
                break;
            }
            self.connecting.pop_front();
            if self.live(key).is_some_and(|c| !c.is_connected()) {
                self.end(key.index, Err(io::ErrorKind::TimedOut.into()));
            }
        }
        while let Some(&(at, key)) = self.activity.front() {
            if at > now {
                break;
            }
            self.activity.pop_front();
            let shared = Arc::clone(&self.shared);
            let Some(conn) = self.live(key) else {
                continue;
            };
            match conn.check_activity(&shared) {
                Ok(()) => self.activity.push_back((now + ACTIVITY_PERIOD, key)),
                Err(e) => self.end(key.index, Err(e)),
            }
        }
        while let Some(&(at, svc_id)) = self.paused.front() {
            if at > now {
                break;
            }
            self.paused.pop_front();
            self.resume(svc_id);
        }
        self.free.append(&mut self.freed);
    }
}
