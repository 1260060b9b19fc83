//! The two worlds the runner can drive: the host (raw protocol 112
//! sockets, rtnetlink addresses, routes and rules, AF_PACKET
//! announcements) or an in-memory segment (tests, the demo) where VIPs,
//! routes and rules are sets in memory and announcements are only counted. This module owns that switch and
//! nothing else: it never decides what to send or when.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::net::address::{AddOutcome, AddressError, AddressSpec, Addresses, RemoveOutcome};
use crate::net::announcer::{AnnounceError, Announcer};
use crate::net::route::{RouteSpec, Routing, RoutingError};
use crate::net::rule::RuleSpec;
use crate::vrrp::transport::memory::MemoryTransport;
use crate::vrrp::transport::raw::RawTransport;
use crate::vrrp::transport::{AhSeal, Datagram, Transport, TransportError};

/// One open advert transport.
#[derive(Debug)]
pub enum Link {
    Raw(RawTransport),
    Memory(MemoryTransport),
}

impl Link {
    pub fn source_address(&self) -> IpAddr {
        match self {
            Link::Raw(t) => t.source_address(),
            Link::Memory(t) => t.source_address(),
        }
    }

    pub async fn send(&self, to: IpAddr, payload: &[u8]) -> Result<(), TransportError> {
        match self {
            Link::Raw(t) => t.send(to, payload).await,
            Link::Memory(t) => t.send(to, payload).await,
        }
    }

    pub async fn send_authenticated(
        &self,
        to: IpAddr,
        payload: &[u8],
        seal: AhSeal,
    ) -> Result<(), TransportError> {
        match self {
            Link::Raw(t) => t.send_authenticated(to, payload, seal).await,
            Link::Memory(t) => t.send_authenticated(to, payload, seal).await,
        }
    }

    pub async fn recv(&self) -> Result<Datagram, TransportError> {
        match self {
            Link::Raw(t) => t.recv().await,
            Link::Memory(t) => t.recv().await,
        }
    }
}

/// Where VIPs live and how they are announced.
#[derive(Debug)]
pub enum Host {
    System {
        addresses: Addresses,
        routing: Routing,
        /// One AF_PACKET sender per interface, opened on first use.
        announcers: tokio::sync::Mutex<HashMap<String, Arc<Announcer>>>,
    },
    Memory(MemoryHost),
}

/// The in-memory host: installed VIPs, routes and rules, and a count of
/// announcements.
#[derive(Debug, Clone, Default)]
pub struct MemoryHost {
    inner: Arc<Mutex<MemoryHostState>>,
}

#[derive(Debug, Default)]
struct MemoryHostState {
    vips: BTreeSet<(String, IpAddr)>,
    routes: BTreeSet<String>,
    rules: BTreeSet<String>,
    announcements: u64,
}

impl MemoryHost {
    /// The VIPs installed now, with their interfaces.
    pub fn vips(&self) -> Vec<(String, IpAddr)> {
        self.inner
            .lock()
            .map(|s| s.vips.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The routes and rules installed now, as `ip` would print them
    /// (roughly).
    pub fn routes_and_rules(&self) -> (Vec<String>, Vec<String>) {
        self.inner
            .lock()
            .map(|s| {
                (
                    s.routes.iter().cloned().collect(),
                    s.rules.iter().cloned().collect(),
                )
            })
            .unwrap_or_default()
    }

    /// How many gratuitous ARP / NA messages were "sent".
    pub fn announcements(&self) -> u64 {
        self.inner.lock().map(|s| s.announcements).unwrap_or(0)
    }

    fn with<R>(&self, f: impl FnOnce(&mut MemoryHostState) -> R) -> Option<R> {
        self.inner.lock().ok().map(|mut s| f(&mut s))
    }
}

impl Host {
    pub async fn add_vip(&self, spec: &AddressSpec) -> Result<bool, AddressError> {
        match self {
            Host::System { addresses, .. } => Ok(addresses.add(spec).await? == AddOutcome::Added),
            Host::Memory(memory) => Ok(memory
                .with(|s| s.vips.insert((spec.ifname.clone(), spec.addr)))
                .unwrap_or(false)),
        }
    }

    pub async fn remove_vip(&self, spec: &AddressSpec) -> Result<bool, AddressError> {
        match self {
            Host::System { addresses, .. } => {
                Ok(addresses.remove(spec).await? == RemoveOutcome::Removed)
            }
            Host::Memory(memory) => Ok(memory
                .with(|s| s.vips.remove(&(spec.ifname.clone(), spec.addr)))
                .unwrap_or(false)),
        }
    }

    pub async fn add_route(&self, spec: &RouteSpec) -> Result<bool, RoutingError> {
        match self {
            Host::System { routing, .. } => Ok(routing.add_route(spec).await? == AddOutcome::Added),
            Host::Memory(memory) => Ok(memory
                .with(|s| s.routes.insert(spec.to_string()))
                .unwrap_or(false)),
        }
    }

    pub async fn remove_route(&self, spec: &RouteSpec) -> Result<bool, RoutingError> {
        match self {
            Host::System { routing, .. } => {
                Ok(routing.remove_route(spec).await? == RemoveOutcome::Removed)
            }
            Host::Memory(memory) => Ok(memory
                .with(|s| s.routes.remove(&spec.to_string()))
                .unwrap_or(false)),
        }
    }

    pub async fn add_rule(&self, spec: &RuleSpec) -> Result<bool, RoutingError> {
        match self {
            Host::System { routing, .. } => Ok(routing.add_rule(spec).await? == AddOutcome::Added),
            Host::Memory(memory) => Ok(memory
                .with(|s| s.rules.insert(spec.to_string()))
                .unwrap_or(false)),
        }
    }

    pub async fn remove_rule(&self, spec: &RuleSpec) -> Result<bool, RoutingError> {
        match self {
            Host::System { routing, .. } => {
                Ok(routing.remove_rule(spec).await? == RemoveOutcome::Removed)
            }
            Host::Memory(memory) => Ok(memory
                .with(|s| s.rules.remove(&spec.to_string()))
                .unwrap_or(false)),
        }
    }

    /// Opens the announcer of `ifname` ahead of need, so the first
    /// gratuitous ARP after a takeover does not wait for it.
    pub async fn prepare_announcer(&self, ifname: &str) -> Result<(), AnnounceError> {
        if let Host::System { announcers, .. } = self {
            let mut map = announcers.lock().await;
            if !map.contains_key(ifname) {
                let announcer = Announcer::open(ifname).await?;
                map.insert(ifname.to_string(), Arc::new(announcer));
            }
        }
        Ok(())
    }

    /// Sends one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `vip`.
    pub async fn announce(&self, ifname: &str, vip: IpAddr) -> Result<(), AnnounceError> {
        match self {
            Host::System { announcers, .. } => {
                let announcer = {
                    let mut map = announcers.lock().await;
                    match map.get(ifname) {
                        Some(a) => Arc::clone(a),
                        None => {
                            let a = Arc::new(Announcer::open(ifname).await?);
                            map.insert(ifname.to_string(), Arc::clone(&a));
                            a
                        }
                    }
                };
                announcer.announce(vip).await
            }
            Host::Memory(memory) => {
                memory.with(|s| s.announcements += 1);
                Ok(())
            }
        }
    }
}
