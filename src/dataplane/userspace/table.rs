//! The userspace dataplane's IPVS table: services with their destinations
//! in kernel list order, the scheduler bound to each service, removed
//! destinations kept in a trash while connections still use them, and the
//! kernel's validation of every table operation.
//!
//! Plain data behind one mutex: nothing here does I/O or awaits. Connection
//! accounting lives in `conntrack.rs`, persistence templates in
//! `persistence.rs`; both are `impl State` blocks over this table.

use std::net::SocketAddr;
use std::time::Instant;

use crate::dataplane::DataplaneError;
use crate::ipvs::model::{
    Dest, DestConfig, DestKey, Protocol, Service, ServiceConfig, ServiceKey, Stats, Timeouts,
};
use crate::ipvs::sched::{self, DestChange, Scheduler};

use super::conntrack::Conntrack;
use super::persistence::Templates;
use super::ListenerHandle;
use crate::ipvs::estimator::Estimator;

const DATAPLANE: &str = "userspace";

/// Everything the dataplane knows, guarded by one mutex in `Shared`.
#[derive(Debug)]
pub(super) struct State {
    pub services: Vec<ServiceEntry>,
    pub conns: Conntrack,
    pub timeouts: Timeouts,
    /// Origin of the monotonic time handed to schedulers.
    pub epoch: Instant,
    next_id: u64,
}

/// A virtual service as the userspace dataplane runs it.
#[derive(Debug)]
pub(super) struct ServiceEntry {
    /// Unique for the dataplane's lifetime: connections of a deleted and
    /// re-added service never touch the new one's counters.
    pub id: u64,
    pub service: Service,
    /// Parallel to `service.dests` (same index, same kernel order).
    pub slots: Vec<DestSlot>,
    /// Removed destinations still referenced by connections or templates
    /// (the kernel's `dest_trash`); re-adding one revives it.
    pub trash: Vec<TrashedDest>,
    pub scheduler: Box<dyn Scheduler>,
    pub templates: Templates,
    pub estimator: Estimator,
    pub listener: Option<ListenerHandle>,
}

#[derive(Debug)]
pub(super) struct DestSlot {
    pub id: u64,
    pub estimator: Estimator,
}

#[derive(Debug)]
pub(super) struct TrashedDest {
    pub slot: DestSlot,
    pub dest: Dest,
}

impl ServiceEntry {
    /// A destination by id, live or in the trash.
    pub fn dest_mut(&mut self, id: u64) -> Option<&mut Dest> {
        if let Some(index) = self.live_index(id) {
            return self.service.dests.get_mut(index);
        }
        self.trash
            .iter_mut()
            .find(|t| t.slot.id == id)
            .map(|t| &mut t.dest)
    }

    pub fn live_index(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id)
    }

    /// Forget trashed destinations nothing refers to any more.
    pub fn prune_trash(&mut self) {
        self.trash
            .retain(|t| t.dest.total_conns() > 0 || t.dest.persistent > 0);
    }

    /// Where the proxy connects for a destination: a port of 0 means "the
    /// port the client asked for", as with direct routing.
    pub fn upstream_addr(&self, dest: &Dest) -> SocketAddr {
        let port = match dest.config.key.port {
            0 => self
                .service
                .config
                .key
                .socket_addr()
                .map_or(0, |a| a.port()),
            port => port,
        };
        SocketAddr::new(dest.config.key.addr, port)
    }
}

fn invalid(what: &str, why: impl Into<String>) -> DataplaneError {
    DataplaneError::Invalid {
        what: what.to_string(),
        why: why.into(),
    }
}

fn unsupported(what: impl Into<String>) -> DataplaneError {
    DataplaneError::Unsupported {
        dataplane: DATAPLANE,
        what: what.into(),
    }
}

/// What the kernel checks in `ip_vs_add_dest` / `ip_vs_edit_dest`.
fn validate_dest(dest: &DestConfig) -> Result<(), DataplaneError> {
    if dest.weight < 0 {
        return Err(invalid(
            "weight",
            format!("{} is less than zero", dest.weight),
        ));
    }
    if dest.lower_threshold > dest.upper_threshold {
        return Err(invalid(
            "thresholds",
            format!(
                "lower threshold {} is higher than upper threshold {}",
                dest.lower_threshold, dest.upper_threshold
            ),
        ));
    }
    Ok(())
}

impl State {
    pub fn new(now: Instant) -> Self {
        State {
            services: Vec::new(),
            conns: Conntrack::default(),
            timeouts: Timeouts::default(),
            epoch: now,
            next_id: 1,
        }
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn service_index(&self, key: ServiceKey) -> Result<usize, DataplaneError> {
        self.services
            .iter()
            .position(|s| s.service.key() == key)
            .ok_or(DataplaneError::NoSuchService(key))
    }

    pub fn service_by_id(&mut self, id: u64) -> Option<&mut ServiceEntry> {
        self.services.iter_mut().find(|s| s.id == id)
    }

    /// Everything `AddService` checks before a listener is opened; returns
    /// the scheduler bound to the new (empty) service.
    pub fn check_new_service(
        &self,
        config: &ServiceConfig,
    ) -> Result<Box<dyn Scheduler>, DataplaneError> {
        check_service_config(config)?;
        if self.services.iter().any(|s| s.service.key() == config.key) {
            return Err(DataplaneError::ServiceExists(config.key));
        }
        Ok(sched::bind(config, &[])?)
    }

    pub fn insert_service(
        &mut self,
        id: u64,
        config: ServiceConfig,
        scheduler: Box<dyn Scheduler>,
        listener: ListenerHandle,
    ) {
        self.services.push(ServiceEntry {
            id,
            service: Service::new(config),
            slots: Vec::new(),
            trash: Vec::new(),
            scheduler,
            templates: Templates::default(),
            estimator: Estimator::default(),
            listener: Some(listener),
        });
    }

    /// `EditService`: flags, timeout, netmask and scheduler change in
    /// place; live connections are untouched. A new scheduler name binds a
    /// fresh scheduler to the current destination list.
    pub fn edit_service(&mut self, config: ServiceConfig) -> Result<(), DataplaneError> {
        let index = self.service_index(config.key)?;
        check_service_config(&config)?;
        let entry = &mut self.services[index];
        if entry.service.config.scheduler != config.scheduler {
            entry.scheduler = sched::bind(&config, &entry.service.dests)?;
        }
        entry.service.config = config;
        Ok(())
    }

    /// `DeleteService`: the service leaves the table at once; its listener
    /// stops accepting (the handle is returned so the caller drops it) and
    /// its connections run to their end without being counted anywhere.
    pub fn delete_service(&mut self, key: ServiceKey) -> Result<ServiceEntry, DataplaneError> {
        let index = self.service_index(key)?;
        Ok(self.services.remove(index))
    }

    pub fn add_dest(&mut self, key: ServiceKey, config: DestConfig) -> Result<(), DataplaneError> {
        let index = self.service_index(key)?;
        validate_dest(&config)?;
        let id = self.next_id();
        let entry = &mut self.services[index];
        if entry.service.dest(config.key).is_some() {
            return Err(DataplaneError::DestExists {
                service: key,
                dest: config.key,
            });
        }
        // `ip_vs_trash_get_dest`: a removed destination still in use comes
        // back with its connections, counters and persistence.
        let (slot, mut dest) = match entry.trash.iter().position(|t| t.dest.key() == config.key) {
            Some(t) => {
                let TrashedDest { slot, dest } = entry.trash.remove(t);
                (slot, dest)
            }
            None => (
                DestSlot {
                    id,
                    estimator: Estimator::default(),
                },
                Dest::new(config),
            ),
        };
        dest.config = config;
        // The kernel adds at the head of the list.
        entry.service.dests.insert(0, dest);
        entry.slots.insert(0, slot);
        entry
            .scheduler
            .dests_changed(&entry.service.dests, DestChange::Added { index: 0 });
        Ok(())
    }

    pub fn edit_dest(&mut self, key: ServiceKey, config: DestConfig) -> Result<(), DataplaneError> {
        let index = self.service_index(key)?;
        validate_dest(&config)?;
        let entry = &mut self.services[index];
        let Some(d) = entry
            .service
            .dests
            .iter()
            .position(|d| d.key() == config.key)
        else {
            return Err(DataplaneError::NoSuchDest {
                service: key,
                dest: config.key,
            });
        };
        let dest = &mut entry.service.dests[d];
        // `__ip_vs_update_dest`: raising or clearing the upper threshold
        // lifts the overload at once.
        dest.set_config(config);
        entry
            .scheduler
            .dests_changed(&entry.service.dests, DestChange::Updated { index: d });
        Ok(())
    }

    /// `DeleteDest`: the destination disappears from the table; while
    /// connections or templates still point at it, it waits in the trash
    /// and keeps their accounting.
    pub fn delete_dest(&mut self, key: ServiceKey, dest: DestKey) -> Result<(), DataplaneError> {
        let index = self.service_index(key)?;
        let entry = &mut self.services[index];
        let Some(d) = entry.service.dests.iter().position(|x| x.key() == dest) else {
            return Err(DataplaneError::NoSuchDest { service: key, dest });
        };
        let removed = entry.service.dests.remove(d);
        let slot = entry.slots.remove(d);
        entry.scheduler.dests_changed(
            &entry.service.dests,
            DestChange::Removed {
                index: d,
                key: dest,
            },
        );
        entry.trash.push(TrashedDest {
            slot,
            dest: removed,
        });
        entry.prune_trash();
        Ok(())
    }

    /// `Zero`: counters and rate estimators of one service or all.
    pub fn zero(&mut self, key: Option<ServiceKey>) -> Result<(), DataplaneError> {
        let targets: Vec<usize> = match key {
            Some(key) => vec![self.service_index(key)?],
            None => (0..self.services.len()).collect(),
        };
        for index in targets {
            let entry = &mut self.services[index];
            entry.service.stats = Stats::default();
            entry.service.rates = Default::default();
            entry.estimator = Estimator::default();
            for (dest, slot) in entry.service.dests.iter_mut().zip(&mut entry.slots) {
                dest.stats = Stats::default();
                dest.rates = Default::default();
                slot.estimator = Estimator::default();
            }
        }
        Ok(())
    }

    /// `SetTimeouts`: a zero field leaves that timeout as it is.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        if timeouts.tcp != 0 {
            self.timeouts.tcp = timeouts.tcp;
        }
        if timeouts.tcp_fin != 0 {
            self.timeouts.tcp_fin = timeouts.tcp_fin;
        }
        if timeouts.udp != 0 {
            self.timeouts.udp = timeouts.udp;
        }
    }

    /// The 2-second estimator tick: feed every service's and destination's
    /// counters to its estimator and publish the rates. (The kernel runs
    /// its estimators on the same period.)
    pub fn estimate(&mut self) {
        for entry in &mut self.services {
            entry.estimator.sample(&entry.service.stats);
            entry.service.rates = entry.estimator.rates();
            for (dest, slot) in entry.service.dests.iter_mut().zip(&mut entry.slots) {
                slot.estimator.sample(&dest.stats);
                dest.rates = slot.estimator.rates();
            }
        }
    }
}

/// What the userspace proxy can run, and the kernel's own service checks.
fn check_service_config(config: &ServiceConfig) -> Result<(), DataplaneError> {
    let (protocol, port) = match config.key {
        ServiceKey::Fwmark { mark, .. } => {
            return Err(unsupported(format!(
                "firewall-mark services (FWM {mark}): a proxy cannot match packet marks; use the kernel dataplane"
            )))
        }
        ServiceKey::Inet { protocol, port, .. } => (protocol, port),
    };
    if protocol == Protocol::Sctp {
        return Err(unsupported(format!(
            "SCTP services ({}): only TCP and UDP are proxied",
            config.key
        )));
    }
    if port == 0 {
        return Err(unsupported(format!(
            "all-ports services ({}): a proxy listens on one port",
            config.key
        )));
    }
    if let Some(pe) = &config.pe_name {
        return Err(unsupported(format!("persistence engine '{pe}'")));
    }
    if config.key.family() == crate::ipvs::model::Family::Inet6
        && !(1..=128).contains(&config.netmask)
    {
        return Err(invalid(
            "netmask",
            format!("IPv6 prefix length {} is not within 1-128", config.netmask),
        ));
    }
    Ok(())
}
