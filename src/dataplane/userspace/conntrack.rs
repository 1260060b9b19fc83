//! The connection table: one entry per proxied connection or UDP session,
//! with the kernel's state names and its ActiveConn / InActConn accounting.
//!
//! States and what they count as (the kernel's `ip_vs_set_state` rules):
//!
//! | state         | when                                          | counts as |
//! |---------------|-----------------------------------------------|-----------|
//! | `SYN_RECV`    | accepted, connecting to the real server        | InActConn |
//! | `ESTABLISHED` | both sides connected and open                  | ActiveConn|
//! | `FIN_WAIT`    | one side has sent its FIN                      | InActConn |
//! | `TIME_WAIT`   | both closed; kept for the tcp_fin timeout      | InActConn |
//! | `CLOSE`       | reset or real server unreachable; kept 10 s    | InActConn |
//! | `UDP`         | a UDP session, until idle for the udp timeout  | InActConn |
//!
//! Live entries sit in a hash map, removed by the task that owns them.
//! Lingering ones (`TIME_WAIT`, `CLOSE`) move, packed to half their size
//! (`lingering`), to a timer wheel of 100 ms slots: a busy director keeps hundreds of thousands of them (two minutes
//! of closed connections, as the kernel does), and a wheel of small
//! vectors never rehashes or moves them all under the table lock. Counters of live
//! connections are atomics the I/O tasks bump; they are folded into the
//! service and destination `Stats` on every read and every 2-second tick.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ipvs::model::{Connection, Protocol, Stats, Timeouts};
use crate::ipvs::sched::Packet;

use super::lingering::{pack_template, Lingering, PackedAddr};
use super::table::State;

/// How long a reset or refused connection lingers (the kernel's
/// `IP_VS_TCP_S_CLOSE` timeout).
pub(super) const CLOSE_LINGER: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnState {
    SynRecv,
    Established,
    FinWait,
    TimeWait,
    Close,
    Udp,
}

impl ConnState {
    /// How long the connection may stay idle in this state before the
    /// kernel would expire it (`ipvsadm --set tcp tcpfin udp`).
    pub fn idle_timeout(self, timeouts: &Timeouts) -> Option<Duration> {
        let secs = match self {
            ConnState::Established => timeouts.tcp,
            ConnState::FinWait => timeouts.tcp_fin,
            ConnState::Udp => timeouts.udp,
            _ => return None,
        };
        Some(Duration::from_secs(u64::from(secs)))
    }

    /// Whether the state counts as ActiveConn. Only ESTABLISHED does:
    /// connections still connecting count as InActConn, as on kernels
    /// before 5.3; change it here to follow newer kernels.
    pub fn is_active(self) -> bool {
        self == ConnState::Established
    }

    pub fn name(self) -> &'static str {
        match self {
            ConnState::SynRecv => "SYN_RECV",
            ConnState::Established => "ESTABLISHED",
            ConnState::FinWait => "FIN_WAIT",
            ConnState::TimeWait => "TIME_WAIT",
            ConnState::Close => "CLOSE",
            ConnState::Udp => "UDP",
        }
    }
}

/// Counters of one live connection, written by its I/O task without the
/// table lock. In = client to director, as IPVS counts.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub inbytes: AtomicU64,
    pub outbytes: AtomicU64,
    pub inpkts: AtomicU64,
    pub outpkts: AtomicU64,
    /// Milliseconds since the table's epoch of the last packet seen: per
    /// datagram for UDP, from TCP_INFO every few seconds for TCP.
    pub last_seen_ms: AtomicU64,
}

impl Counters {
    fn load(&self) -> Stats {
        Stats {
            conns: 0,
            inpkts: self.inpkts.load(Ordering::Relaxed),
            outpkts: self.outpkts.load(Ordering::Relaxed),
            inbytes: self.inbytes.load(Ordering::Relaxed),
            outbytes: self.outbytes.load(Ordering::Relaxed),
        }
    }
}

/// What an I/O task gets for a scheduled connection.
#[derive(Debug)]
pub(super) struct Ticket {
    pub id: u64,
    pub dest: SocketAddr,
    pub counters: Arc<Counters>,
    /// The service schedules every datagram on its own (`ops`).
    pub one_packet: bool,
}

#[derive(Debug)]
pub(super) struct ConnEntry {
    protocol: Protocol,
    client: SocketAddr,
    vaddr: SocketAddr,
    dest_addr: SocketAddr,
    svc: u64,
    dest: u64,
    state: ConnState,
    /// Connect deadline (`SYN_RECV`).
    deadline: Option<Instant>,
    counters: Option<Arc<Counters>>,
    /// What of `counters` is already in the table's `Stats`.
    flushed: Stats,
    /// The persistence template controlling it: (key, template id).
    template: Option<(IpAddr, u64)>,
}

#[derive(Debug, Default)]
pub(super) struct Conntrack {
    entries: HashMap<u64, ConnEntry>,
    /// Slot number (100 ms units since the epoch, rounded up) → entries
    /// whose lingering ends in that slot.
    lingering: BTreeMap<u64, Vec<Lingering>>,
}

/// Granularity of lingering expiry.
const SLOT: Duration = Duration::from_millis(100);

fn slot_of(epoch: Instant, deadline: Instant) -> u64 {
    let since = deadline.saturating_duration_since(epoch).as_nanos();
    since.div_ceil(SLOT.as_nanos()) as u64
}

fn delta(now: &Stats, before: &Stats) -> Stats {
    Stats {
        conns: 0,
        inpkts: now.inpkts.wrapping_sub(before.inpkts),
        outpkts: now.outpkts.wrapping_sub(before.outpkts),
        inbytes: now.inbytes.wrapping_sub(before.inbytes),
        outbytes: now.outbytes.wrapping_sub(before.outbytes),
    }
}

impl State {
    /// Schedule a new connection (or UDP session) to service `svc_id` and
    /// enter it in the table. `None` when the service is gone or no
    /// destination is available (the kernel's `ip_vs_scheduler_err`).
    pub fn open(
        &mut self,
        svc_id: u64,
        packet: &Packet,
        connect_timeout: Duration,
        now: Instant,
    ) -> Option<Ticket> {
        self.expire_lingering(now);
        let elapsed = now.saturating_duration_since(self.epoch);
        let id = self.next_id();
        let template_id = self.next_id();
        let entry = self.services.iter_mut().find(|s| s.id == svc_id)?;
        let mut new_id = move || template_id;
        let (index, template_key) = entry.select_dest(packet, now, elapsed, &mut new_id)?;
        let template = match template_key {
            Some(key) => entry.templates.get_mut(&key).map(|t| {
                t.controlled += 1;
                (key, t.id)
            }),
            None => None,
        };
        let dest_id = entry.slots.get(index)?.id;
        let dest_addr = entry.upstream_addr(entry.service.dests.get(index)?);
        let dest = entry.service.dests.get_mut(index)?;
        // A new connection starts inactive (`IP_VS_CONN_F_INACTIVE`).
        dest.connection_bound(false);
        dest.stats.conns += 1;
        entry.service.stats.conns += 1;
        let (state, deadline) = match packet.protocol {
            Protocol::Udp => (ConnState::Udp, None),
            _ => (ConnState::SynRecv, Some(now + connect_timeout)),
        };
        let one_packet =
            packet.protocol == Protocol::Udp && entry.service.config.flags.one_packet();
        let counters = Arc::new(Counters::default());
        counters
            .last_seen_ms
            .store(elapsed.as_millis() as u64, Ordering::Relaxed);
        self.conns.entries.insert(
            id,
            ConnEntry {
                protocol: packet.protocol,
                client: packet.client,
                vaddr: packet.destination,
                dest_addr,
                svc: svc_id,
                dest: dest_id,
                state,
                deadline,
                counters: Some(Arc::clone(&counters)),
                flushed: Stats::default(),
                template,
            },
        );
        Some(Ticket {
            id,
            dest: dest_addr,
            counters,
            one_packet,
        })
    }

    /// Move a connection to `state`, moving it between ActiveConn and
    /// InActConn as the kernel does.
    pub fn set_state(&mut self, id: u64, state: ConnState) {
        let Some(conn) = self.conns.entries.get_mut(&id) else {
            return;
        };
        let was_active = conn.state.is_active();
        conn.state = state;
        if let Some(counters) = &conn.counters {
            let elapsed = Instant::now().saturating_duration_since(self.epoch);
            counters
                .last_seen_ms
                .store(elapsed.as_millis() as u64, Ordering::Relaxed);
        }
        if state != ConnState::SynRecv {
            conn.deadline = None;
        }
        if was_active == state.is_active() {
            return;
        }
        let (svc, dest) = (conn.svc, conn.dest);
        if let Some(dest) = self.service_by_id(svc).and_then(|s| s.dest_mut(dest)) {
            if was_active {
                dest.connection_became_inactive();
            } else {
                dest.connection_became_active();
            }
        }
    }

    /// The I/O task is done with a connection: fold in its last counters,
    /// then keep the entry in `state` for `linger` (TIME_WAIT emulation)
    /// or remove it at once when `linger` is zero.
    pub fn close(&mut self, id: u64, state: ConnState, linger: Duration, now: Instant) {
        self.flush_one(id);
        if linger.is_zero() {
            self.remove(id, now);
            return;
        }
        self.set_state(id, state);
        let Some(conn) = self.conns.entries.remove(&id) else {
            return;
        };
        let slot = slot_of(self.epoch, now + linger);
        self.conns
            .lingering
            .entry(slot)
            .or_default()
            .push(Lingering {
                client: PackedAddr::new(conn.client),
                vaddr: PackedAddr::new(conn.vaddr),
                dest_addr: PackedAddr::new(conn.dest_addr),
                svc: conn.svc,
                dest: conn.dest,
                protocol: conn.protocol,
                state: conn.state,
                template: pack_template(conn.template),
            });
    }

    /// Remove a live entry and release its destination and template.
    pub fn remove(&mut self, id: u64, now: Instant) {
        self.flush_one(id);
        if let Some(conn) = self.conns.entries.remove(&id) {
            self.release(conn.svc, conn.dest, conn.state, conn.template, now);
        }
    }

    /// An entry leaves the table: its destination loses a connection
    /// (maybe leaving overload), its template a controlled connection.
    fn release(
        &mut self,
        svc: u64,
        dest: u64,
        state: ConnState,
        template: Option<(IpAddr, u64)>,
        now: Instant,
    ) {
        let Some(entry) = self.service_by_id(svc) else {
            return;
        };
        if let Some(dest) = entry.dest_mut(dest) {
            dest.connection_unbound(state.is_active());
        }
        if let Some((key, template_id)) = template {
            entry.release_template(key, template_id, now);
        }
        entry.prune_trash();
    }

    /// Drop lingering entries whose time is up. Cheap when nothing is due,
    /// so it runs on every new connection.
    pub fn expire_lingering(&mut self, now: Instant) {
        // A slot is due once its whole 100 ms have passed.
        let due = (now.saturating_duration_since(self.epoch).as_nanos() / SLOT.as_nanos()) as u64;
        while let Some(entry) = self.conns.lingering.first_entry() {
            if *entry.key() > due {
                break;
            }
            for conn in entry.remove() {
                self.release(conn.svc, conn.dest, conn.state, conn.template(), now);
            }
        }
    }

    /// Everything time-driven: lingering entries and templates.
    pub fn expire(&mut self, now: Instant) {
        self.expire_lingering(now);
        for entry in &mut self.services {
            entry.expire_templates(now);
        }
    }

    fn flush_one(&mut self, id: u64) {
        let State {
            services, conns, ..
        } = self;
        if let Some(conn) = conns.entries.get_mut(&id) {
            flush_entry(services, conn);
        }
    }

    /// Fold every live connection's counters into the table.
    pub fn flush_counters(&mut self) {
        let State {
            services, conns, ..
        } = self;
        for conn in conns.entries.values_mut() {
            flush_entry(services, conn);
        }
    }

    /// The connection table as `/proc/net/ip_vs_conn` shows it.
    pub fn list_connections(&self, now: Instant) -> Vec<Connection> {
        let mut out = Vec::with_capacity(self.conns.entries.len());
        for conn in self.conns.entries.values() {
            let remaining = |timeout: Duration| {
                let last = conn
                    .counters
                    .as_ref()
                    .map_or(0, |c| c.last_seen_ms.load(Ordering::Relaxed));
                let idle = now
                    .saturating_duration_since(self.epoch)
                    .saturating_sub(Duration::from_millis(last));
                timeout.saturating_sub(idle).as_secs() as u32
            };
            let expires = match conn.state.idle_timeout(&self.timeouts) {
                Some(timeout) => remaining(timeout),
                None => conn
                    .deadline
                    .map_or(0, |d| d.saturating_duration_since(now).as_secs() as u32),
            };
            out.push(listed(
                conn.protocol,
                conn.client,
                conn.vaddr,
                conn.dest_addr,
                conn.state,
                expires,
            ));
        }
        for (slot, conns) in &self.conns.lingering {
            let deadline = self.epoch + SLOT * u32::try_from(*slot).unwrap_or(u32::MAX);
            let expires = deadline.saturating_duration_since(now).as_secs() as u32;
            for conn in conns {
                out.push(listed(
                    conn.protocol,
                    conn.client.get(),
                    conn.vaddr.get(),
                    conn.dest_addr.get(),
                    conn.state,
                    expires,
                ));
            }
        }
        for entry in &self.services {
            entry.list_templates(now, &mut out);
        }
        out
    }
}

/// One row of the connection listing.
fn listed(
    protocol: Protocol,
    client: SocketAddr,
    vaddr: SocketAddr,
    dest: SocketAddr,
    state: ConnState,
    expires: u32,
) -> Connection {
    Connection {
        protocol: protocol.as_str().into(),
        client,
        virtual_addr: vaddr,
        dest,
        state: state.name().into(),
        expires,
        template: false,
        pe_name: None,
        pe_data: None,
    }
}

fn flush_entry(services: &mut [super::table::ServiceEntry], conn: &mut ConnEntry) {
    let Some(counters) = &conn.counters else {
        return;
    };
    let current = counters.load();
    let d = delta(&current, &conn.flushed);
    if d == Stats::default() {
        return;
    }
    conn.flushed = current;
    if let Some(entry) = services.iter_mut().find(|s| s.id == conn.svc) {
        entry.service.stats.add(&d);
        if let Some(dest) = entry.dest_mut(conn.dest) {
            dest.stats.add(&d);
        }
    }
}
