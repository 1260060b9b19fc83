//! The observer's read of the kernel's IPVS table, kept cheap enough for a
//! refresh every second on a table of 10,000 services × 10 real servers.
//!
//! A full netlink read costs one destination dump per service, as
//! `ipvsadm -Ln` does, and takes about as long as ipvsadm. The observer
//! instead reads the table's shape every refresh from the fast listing
//! (services with their counters in one netlink dump; destinations with
//! weight and ActiveConn/InActConn from one read of `/proc/net/ip_vs`),
//! and the destinations' counters and rates, which procfs lacks, for a
//! bounded slice of services per refresh over netlink, walking the table
//! round-robin. A destination outside this refresh's slice shows the
//! counters and rates last read for it: at most one walk of the table old
//! (the kernel's estimator averages rates over seconds anyway).
//!
//! It never writes to the kernel.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use crate::dataplane::kernel::KernelDataplane;
use crate::dataplane::{Dataplane, DataplaneError};
use crate::ipvs::model::{Dest, DestKey, Rates, ServiceKey, Stats, Table};

/// Services whose destinations are read in full per refresh. At this many
/// a refresh of a 10,000-service table costs about a quarter of
/// `ipvsadm -Ln` (benches/kernel_read_vs_ipvsadm.sh); a table this small
/// or smaller is read in full every time.
pub const SERVICES_READ_IN_FULL: usize = 500;

/// What the observer needs from the kernel's IPVS beyond [`Dataplane`].
pub trait KernelSource: Dataplane {
    /// The whole table fast: services with counters, destinations with
    /// weight and connection counts only.
    fn listing(&self) -> impl Future<Output = Result<Table, DataplaneError>> + Send;

    /// One service's destinations in full (thresholds, tunnel settings,
    /// counters and rates).
    fn dests(
        &self,
        service: ServiceKey,
    ) -> impl Future<Output = Result<Vec<Dest>, DataplaneError>> + Send;
}

impl KernelSource for KernelDataplane {
    fn listing(&self) -> impl Future<Output = Result<Table, DataplaneError>> + Send {
        KernelDataplane::listing(self)
    }

    fn dests(
        &self,
        service: ServiceKey,
    ) -> impl Future<Output = Result<Vec<Dest>, DataplaneError>> + Send {
        KernelDataplane::dests(self, service)
    }
}

/// The table a weight change is planned on: the listing, with the changed
/// service's destinations read in full, so the change carries the real
/// server's thresholds and tunnel settings unchanged.
pub async fn for_change<K: KernelSource>(
    kernel: &K,
    service: ServiceKey,
) -> Result<Table, DataplaneError> {
    let mut table = listing_or_full(kernel).await?;
    let dests = kernel.dests(service).await?;
    if let Some(found) = table.services.iter_mut().find(|s| s.key() == service) {
        found.dests = dests;
    }
    Ok(table)
}

/// The listing, or the full read when procfs cannot serve it (no
/// `/proc/net/ip_vs` in this mount namespace).
async fn listing_or_full<K: KernelSource>(kernel: &K) -> Result<Table, DataplaneError> {
    match kernel.listing().await {
        Ok(table) => Ok(table),
        Err(_) => kernel.snapshot().await,
    }
}

/// The refresh's reader: where the round-robin walk stands and the
/// counters last read for each destination.
#[derive(Debug, Default)]
pub struct TableReader {
    next: usize,
    counters: HashMap<(ServiceKey, DestKey), (Stats, Rates)>,
}

impl TableReader {
    /// One refresh: the table's shape and connection counts now, the
    /// counters of [`SERVICES_READ_IN_FULL`] services now and of the others
    /// as last read.
    pub async fn read<K: KernelSource>(&mut self, kernel: &K) -> Result<Table, DataplaneError> {
        let mut table = listing_or_full(kernel).await?;
        let count = table.services.len();
        let mut fresh = HashSet::new();
        let start = if self.next < count { self.next } else { 0 };
        for offset in 0..SERVICES_READ_IN_FULL.min(count) {
            let service = &mut table.services[(start + offset) % count];
            let key = service.key();
            // A service removed since the listing is simply skipped.
            if let Ok(dests) = kernel.dests(key).await {
                for dest in &dests {
                    self.counters
                        .insert((key, dest.key()), (dest.stats, dest.rates));
                }
                service.dests = dests;
                fresh.insert(key);
            }
        }
        self.next = match count {
            0 => 0,
            _ => (start + SERVICES_READ_IN_FULL) % count,
        };
        let mut present = HashSet::new();
        for service in &mut table.services {
            let key = service.key();
            for dest in &mut service.dests {
                present.insert((key, dest.key()));
                if fresh.contains(&key) {
                    continue;
                }
                if let Some((stats, rates)) = self.counters.get(&(key, dest.key())) {
                    dest.stats = *stats;
                    dest.rates = *rates;
                }
            }
        }
        self.counters.retain(|k, _| present.contains(k));
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::{ApplyError, DataplaneKind, Operation};
    use crate::ipvs::model::{
        Connection, Daemon, DestConfig, Forward, Info, Origin, Service, ServiceConfig, Timeouts,
    };

    /// A kernel stand-in for the walk's bookkeeping: a fixed table whose
    /// listing leaves destination counters out, as procfs does, and whose
    /// full read gives each destination `conns` = its service's port.
    struct Listed(Table);

    impl Dataplane for Listed {
        fn kind(&self) -> DataplaneKind {
            DataplaneKind::Kernel
        }
        async fn apply(&self, _: &[Operation]) -> Result<(), ApplyError> {
            Ok(())
        }
        async fn snapshot(&self) -> Result<Table, DataplaneError> {
            Ok(self.0.clone())
        }
        async fn connections(&self) -> Result<Vec<Connection>, DataplaneError> {
            Ok(Vec::new())
        }
        async fn timeouts(&self) -> Result<Timeouts, DataplaneError> {
            Ok(Timeouts::default())
        }
        async fn daemons(&self) -> Result<Vec<Daemon>, DataplaneError> {
            Ok(Vec::new())
        }
    }

    impl KernelSource for Listed {
        async fn listing(&self) -> Result<Table, DataplaneError> {
            Ok(self.0.clone())
        }
        async fn dests(&self, service: ServiceKey) -> Result<Vec<Dest>, DataplaneError> {
            let mut dests = self
                .0
                .service(service)
                .map(|s| s.dests.clone())
                .unwrap_or_default();
            for dest in &mut dests {
                dest.stats.conns = port(service);
            }
            Ok(dests)
        }
    }

    fn port(service: ServiceKey) -> u64 {
        match service {
            ServiceKey::Inet { port, .. } => u64::from(port),
            ServiceKey::Fwmark { .. } => 0,
        }
    }

    fn kernel_with(services: u16) -> Listed {
        let services = (0..services)
            .map(|index| {
                let key = ServiceKey::tcp(([192, 0, 2, 1], 1000 + index).into());
                let mut service = Service::new(ServiceConfig::new(key, "rr"));
                service.dests.push(Dest::new(DestConfig::new(
                    ([198, 51, 100, 10], 80).into(),
                    Forward::Masq,
                    1,
                )));
                service
            })
            .collect();
        Listed(Table {
            origin: Origin::Kernel,
            info: Info::KERNEL_DEFAULT,
            services,
        })
    }

    /// Every destination carries the counters of its own service's full read.
    fn all_counted(table: &Table) -> bool {
        table
            .services
            .iter()
            .all(|s| s.dests.iter().all(|d| d.stats.conns == port(s.key())))
    }

    #[tokio::test]
    async fn a_small_table_is_read_in_full_every_refresh() {
        let kernel = kernel_with(3);
        let mut reader = TableReader::default();
        assert!(all_counted(&reader.read(&kernel).await.unwrap()));
    }

    #[tokio::test]
    async fn a_large_table_is_walked_a_slice_per_refresh_and_keeps_the_counters_read() {
        let count = u16::try_from(SERVICES_READ_IN_FULL).unwrap() + 10;
        let kernel = kernel_with(count);
        let mut reader = TableReader::default();
        let first = reader.read(&kernel).await.unwrap();
        assert!(!all_counted(&first), "the first refresh reads one slice");
        assert_eq!(reader.counters.len(), SERVICES_READ_IN_FULL);
        // The second refresh reads the rest and wraps; the services it did
        // not read show the counters the first one read.
        let second = reader.read(&kernel).await.unwrap();
        assert!(all_counted(&second));
        assert_eq!(reader.counters.len(), usize::from(count));
    }

    #[tokio::test]
    async fn counters_of_removed_real_servers_are_forgotten() {
        let mut kernel = kernel_with(2);
        let mut reader = TableReader::default();
        reader.read(&kernel).await.unwrap();
        kernel.0.services[1].dests.clear();
        reader.read(&kernel).await.unwrap();
        assert_eq!(reader.counters.len(), 1);
    }
}
