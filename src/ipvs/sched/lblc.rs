//! Locality-based least connection (`net/netfilter/ipvs/ip_vs_lblc.c`):
//! remembers which destination served each packet *destination* address
//! (a cache cluster's origin) and keeps sending that address there.
//!
//! Pick, as the kernel does it: look the address up (refreshing its last
//! use); keep the cached destination if it is still in the list, has a
//! positive weight and is not "overloaded" in lblc's own sense — more active
//! connections than its weight while some destination has fewer than half
//! its weight active (the `IP_VS_DEST_F_OVERLOAD` flag is *not* looked at
//! here). Otherwise pick by weighted least connection (which does skip
//! flagged destinations) and cache that. Replacing an entry bumps the
//! kernel's entry counter without lowering it, as the kernel does; entries
//! age out as [`super::locality`] describes.
//!
//! Cached destinations are remembered by address and port: a destination
//! deleted and added back is the same cache target again, as in the
//! kernel, where the cache's reference keeps the old one in the trash to be
//! revived.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::locality::{CacheEntry, LocalityTable};
use super::wlc::least_loaded;
use super::{conn_overhead, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::{Dest, DestKey, Family};

#[derive(Debug, Clone)]
struct Entry {
    addr: IpAddr,
    dest: DestKey,
    last_use: Duration,
}

impl CacheEntry for Entry {
    fn addr(&self) -> IpAddr {
        self.addr
    }
    fn last_use(&self) -> Duration {
        self.last_use
    }
}

#[derive(Debug, Clone)]
pub struct LocalityLeastConnection {
    table: LocalityTable<Entry>,
    index: HashMap<DestKey, usize>,
}

/// lblc's and lblcr's `is_overloaded()`: more active connections than
/// weight, while some destination is below half its weight.
pub(crate) fn busier_than_weight(dest: &Dest, dests: &[Dest]) -> bool {
    i64::from(dest.active) > i64::from(dest.weight())
        && dests
            .iter()
            .any(|d| i64::from(d.active) * 2 < i64::from(d.weight()))
}

pub(crate) fn index_by_key(dests: &[Dest]) -> HashMap<DestKey, usize> {
    dests
        .iter()
        .enumerate()
        .map(|(i, d)| (d.key(), i))
        .collect()
}

/// Where destination `key` sits in `dests` now: the cached position when
/// it still holds that destination, else a search.
pub(crate) fn live_index(
    index: &HashMap<DestKey, usize>,
    key: DestKey,
    dests: &[Dest],
) -> Option<usize> {
    index
        .get(&key)
        .copied()
        .filter(|i| dests.get(*i).is_some_and(|d| d.key() == key))
        .or_else(|| dests.iter().position(|d| d.key() == key))
}

impl LocalityLeastConnection {
    /// `ip_vs_lblc_init_svc()`.
    pub fn new(family: Family, dests: &[Dest]) -> Self {
        LocalityLeastConnection {
            table: LocalityTable::new(family),
            index: index_by_key(dests),
        }
    }

    /// Set the `lblc_expiration` sysctl (default 24 h).
    pub fn set_expiration(&mut self, expiration: Duration) {
        self.table.expiration = expiration;
    }

    /// Cache entries held now.
    pub fn cached(&self) -> usize {
        self.table.len()
    }
}

impl Scheduler for LocalityLeastConnection {
    fn name(&self) -> &'static str {
        "lblc"
    }

    fn dests_changed(&mut self, dests: &[Dest], _change: DestChange) {
        self.index = index_by_key(dests);
    }

    fn schedule(
        &mut self,
        dests: &[Dest],
        packet: &Packet,
        now: Duration,
    ) -> Result<usize, NoDestination> {
        self.table.advance(now);
        let addr = packet.destination.ip();
        let cached = self.table.get_mut(addr).map(|entry| {
            entry.last_use = now;
            entry.dest
        });
        if let Some(key) = cached {
            if let Some(i) = live_index(&self.index, key, dests) {
                if dests[i].weight() > 0 && !busier_than_weight(&dests[i], dests) {
                    return Ok(i);
                }
            }
        }
        let chosen = least_loaded(dests, conn_overhead).ok_or(NoDestination)?;
        let key = dests[chosen].key();
        // `ip_vs_lblc_new()`: keep an entry already naming this destination,
        // otherwise replace it (the counter only ever goes up here).
        if cached != Some(key) {
            if cached.is_some() {
                self.table.unlink(addr);
            }
            self.table.insert(Entry {
                addr,
                dest: key,
                last_use: now,
            });
        }
        Ok(chosen)
    }
}
