//! Locality-based least connection with replication
//! (`net/netfilter/ipvs/ip_vs_lblcr.c`): like `lblc`, but each packet
//! destination address maps to a *set* of destinations that grows under
//! load and shrinks when idle.
//!
//! Pick, as the kernel does it: with a cache entry (its last use
//! refreshed), take the weighted-least-loaded member of the set (members
//! newest first; the first candidate must be in the list, have weight > 0
//! and not be flagged overloaded; later ones must be in the list and not
//! flagged); then, if the set has more than one member and was last
//! modified more than the expiration ago, drop its weighted-most-loaded
//! member. Use the chosen member unless it is busier than its weight while
//! another destination is under half of its own (lblc's test); else pick
//! by weighted least connection over the service and add that to the set.
//! Without an entry, pick by weighted least connection and cache a set of
//! one. Adding or dropping a member stamps the set's modification time.
//!
//! Members are remembered by address and port. A member deleted from the
//! service stays in the set, as the kernel's reference keeps it in the
//! trash: it is never chosen (not available) but still counts for the set
//! size and can be the one dropped, using the weight and connection counts
//! it had when last seen in the list (the kernel's would keep draining).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::lblc::{busier_than_weight, index_by_key, live_index};
use super::locality::{CacheEntry, LocalityTable};
use super::wlc::least_loaded;
use super::{conn_overhead, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::{Dest, DestKey, Family};

/// What the set knows of a member: its key and last-seen state.
#[derive(Debug, Clone)]
struct Member {
    key: DestKey,
    weight: i32,
    overhead: i32,
    overloaded: bool,
    /// Index in the current list, `None` once deleted from the service.
    live: Option<usize>,
}

#[derive(Debug, Clone)]
struct Entry {
    addr: IpAddr,
    /// Newest member first (`list_add_rcu` at the head).
    set: Vec<Member>,
    set_last_mod: Duration,
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
pub struct LocalityLeastConnectionReplicated {
    table: LocalityTable<Entry>,
    index: HashMap<DestKey, usize>,
}

fn member(dests: &[Dest], index: usize) -> Member {
    let dest = &dests[index];
    Member {
        key: dest.key(),
        weight: dest.weight(),
        overhead: conn_overhead(dest),
        overloaded: dest.overloaded,
        live: Some(index),
    }
}

/// `ip_vs_dest_set_min()`: returns the member position.
fn set_min(set: &[Member]) -> Option<usize> {
    let first = set
        .iter()
        .position(|m| !m.overloaded && m.weight > 0 && m.live.is_some())?;
    let mut least = first;
    for (pos, m) in set.iter().enumerate().skip(first + 1) {
        if m.overloaded {
            continue;
        }
        if i64::from(set[least].overhead) * i64::from(m.weight)
            > i64::from(m.overhead) * i64::from(set[least].weight)
            && m.live.is_some()
        {
            least = pos;
        }
    }
    Some(least)
}

/// `ip_vs_dest_set_max()`: returns the member position.
fn set_max(set: &[Member]) -> Option<usize> {
    let first = set.iter().position(|m| m.weight > 0)?;
    let mut most = first;
    for (pos, m) in set.iter().enumerate().skip(first + 1) {
        if i64::from(set[most].overhead) * i64::from(m.weight)
            < i64::from(m.overhead) * i64::from(set[most].weight)
            && m.weight > 0
        {
            most = pos;
        }
    }
    Some(most)
}

impl LocalityLeastConnectionReplicated {
    /// `ip_vs_lblcr_init_svc()`.
    pub fn new(family: Family, dests: &[Dest]) -> Self {
        LocalityLeastConnectionReplicated {
            table: LocalityTable::new(family),
            index: index_by_key(dests),
        }
    }

    /// Set the `lblcr_expiration` sysctl (default 24 h).
    pub fn set_expiration(&mut self, expiration: Duration) {
        self.table.expiration = expiration;
    }

    /// Cache entries held now.
    pub fn cached(&self) -> usize {
        self.table.len()
    }

    /// The members of the set cached for `addr`, newest first.
    pub fn set_of(&mut self, addr: IpAddr) -> Vec<DestKey> {
        self.table
            .get_mut(addr)
            .map(|e| e.set.iter().map(|m| m.key).collect())
            .unwrap_or_default()
    }
}

impl Scheduler for LocalityLeastConnectionReplicated {
    fn name(&self) -> &'static str {
        "lblcr"
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
        let expiration = self.table.expiration;
        let index = &self.index;
        if let Some(entry) = self.table.get_mut(addr) {
            entry.last_use = now;
            // Refresh what the set knows of members still in the list.
            for m in entry.set.iter_mut() {
                match live_index(index, m.key, dests) {
                    Some(i) => *m = member(dests, i),
                    None => m.live = None,
                }
            }
            let chosen = set_min(&entry.set).and_then(|pos| entry.set[pos].live);
            if entry.set.len() > 1 && now > entry.set_last_mod + expiration {
                if let Some(pos) = set_max(&entry.set) {
                    entry.set.remove(pos);
                    entry.set_last_mod = now;
                }
            }
            if let Some(i) = chosen {
                if !busier_than_weight(&dests[i], dests) {
                    return Ok(i);
                }
            }
            let picked = least_loaded(dests, conn_overhead).ok_or(NoDestination)?;
            let key = dests[picked].key();
            if !entry.set.iter().any(|m| m.key == key) {
                entry.set.insert(0, member(dests, picked));
                entry.set_last_mod = now;
            }
            return Ok(picked);
        }
        let picked = least_loaded(dests, conn_overhead).ok_or(NoDestination)?;
        self.table.insert(Entry {
            addr,
            set: vec![member(dests, picked)],
            set_last_mod: now,
            last_use: now,
        });
        Ok(picked)
    }
}
