//! Maglev hashing (`net/netfilter/ipvs/ip_vs_mh.c`): a 4093-slot lookup
//! table (the default `CONFIG_IP_VS_MH_TAB_INDEX` 12) filled from each
//! destination's preference list, looked up by a SipHash of the client.
//!
//! Reproduced exactly:
//! - Keys: `hash1 = {2654435761, 2654435761}`, `hash2 = {2654446892,
//!   2654446892}` (two 64-bit words each), SipHash-1-3 as the 64-bit
//!   kernel's `hsiphash()` of the `u32` `offset + port + addr_fold`.
//! - Per destination (list order): `offset = h1(addr, port) % 4093`,
//!   `skip = h2(addr, port) % 4092 + 1`; its preference list is
//!   `offset, offset + skip, …` mod 4093.
//! - Weights: the kernel uses `last_weight`, the latest non-zero weight
//!   (a quiesced destination keeps its slots), divided by the gcd of the
//!   positive last weights and shifted right by `fls(max / gcd) - 6` when
//!   that is positive; a destination gets that many slots per round (at
//!   least 1 if its last weight is non-zero, none if it is 0).
//! - Fill: rounds over the list in kernel order, each destination taking
//!   its next free preferred slots, until all 4093 slots are taken.
//! - Pick: slot `h1(client addr, port) % 4093`, `port` being the source
//!   port with `mh-port` (`SCHED2`) and 0 otherwise; an unavailable
//!   destination (weight <= 0 or overloaded) gives no destination, or with
//!   `mh-fallback` (`SCHED1`) the walk `h1(addr, port, roffset)` for
//!   `roffset = ihash, ihash + 1, …`.
//!
//! `last_weight` is scheduler state here: at [`bind`](super::bind) it is
//! taken from the current weights (the kernel would remember an earlier
//! non-zero weight of a destination already quiesced before the scheduler
//! was bound), and it then follows the add/edit/delete notifications.
//! With more than 4093 destinations the kernel refuses to rebuild the
//! table (`-EINVAL`) and keeps the old one; so does this, with removed
//! destinations' slots emptied.

use std::time::Duration;

use super::hash::{fold_addr, hsiphash_u32};
use super::{
    fallback_flag, gcd, hashed_port, is_available, port_flag, DestChange, NoDestination, Packet,
    Scheduler,
};
use crate::ipvs::model::{Dest, Family, ServiceConfig, ServiceFlags};

/// `IP_VS_MH_TAB_SIZE`: `primes[12 - 8]`.
pub const MH_TABLE_SIZE: usize = 4093;
/// `IP_VS_MH_TAB_BITS`: `12 / 2`.
const MH_TABLE_BITS: i32 = 6;
/// `generate_hash_secret()`.
const HASH1: [u64; 2] = [2_654_435_761, 2_654_435_761];
const HASH2: [u64; 2] = [2_654_446_892, 2_654_446_892];

#[derive(Debug, Clone)]
pub struct MaglevHashing {
    family: Family,
    fallback: bool,
    hash_port: bool,
    /// Slot → index into the destination list.
    lookup: Vec<Option<usize>>,
    /// `dest->last_weight`, parallel to the destination list.
    last_weight: Vec<i32>,
}

/// `struct ip_vs_mh_dest_setup`.
#[derive(Debug, Clone, Copy)]
struct Setup {
    perm: usize,
    skip: usize,
    turns: i32,
}

/// `fls()`: 1-based index of the highest set bit, 0 for 0.
fn fls(x: i32) -> i32 {
    if x <= 0 {
        if x == 0 {
            0
        } else {
            32
        }
    } else {
        32 - x.leading_zeros() as i32
    }
}

impl MaglevHashing {
    /// `ip_vs_mh_init_svc()`.
    pub fn new(family: Family, flags: ServiceFlags, dests: &[Dest]) -> Self {
        let mut mh = MaglevHashing {
            family,
            fallback: fallback_flag(flags),
            hash_port: port_flag(flags),
            lookup: vec![None; MH_TABLE_SIZE],
            last_weight: dests.iter().map(Dest::weight).collect(),
        };
        mh.reassign(dests);
        mh
    }

    /// Follow an edit of the service flags.
    pub fn set_flags(&mut self, flags: ServiceFlags) {
        self.fallback = fallback_flag(flags);
        self.hash_port = port_flag(flags);
    }

    /// The destination index each slot holds.
    pub fn lookup(&self) -> &[Option<usize>] {
        &self.lookup
    }

    /// `ip_vs_mh_hashkey()`: the raw 32-bit hash (callers take `% 4093`).
    pub fn hashkey(
        family: Family,
        addr: std::net::IpAddr,
        port: u16,
        key: [u64; 2],
        offset: u32,
    ) -> u32 {
        let v = offset
            .wrapping_add(u32::from(port))
            .wrapping_add(fold_addr(family, addr));
        hsiphash_u32(v, key)
    }

    /// The home slot of a client (`ip_vs_mh_get`'s index).
    pub fn slot_of(family: Family, addr: std::net::IpAddr, port: u16) -> usize {
        Self::hashkey(family, addr, port, HASH1, 0) as usize % MH_TABLE_SIZE
    }

    /// `ip_vs_mh_gcd_weight()` and `ip_vs_mh_shift_weight()`.
    fn gcd_and_shift(&self) -> (i32, i32) {
        let g = self
            .last_weight
            .iter()
            .copied()
            .filter(|w| *w > 0)
            .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
        if g < 1 {
            return (g, 0);
        }
        let max = self.last_weight.iter().copied().fold(0, i32::max);
        let shift = fls(max / g) - MH_TABLE_BITS;
        (g, shift.max(0))
    }

    /// `ip_vs_mh_reassign()`: permutation setup, then population.
    fn reassign(&mut self, dests: &[Dest]) -> bool {
        if dests.len() > MH_TABLE_SIZE {
            return false;
        }
        if self.last_weight.len() != dests.len() {
            // Out of step with the list (a missed notification): resync.
            self.last_weight = dests.iter().map(Dest::weight).collect();
        }
        let (g, shift) = self.gcd_and_shift();
        if g < 1 {
            self.lookup.fill(None);
            return true;
        }
        let mut setup: Vec<Setup> = dests
            .iter()
            .zip(&self.last_weight)
            .map(|(dest, &lw)| {
                let addr = dest.key().addr;
                let port = dest.key().port;
                let offset =
                    Self::hashkey(self.family, addr, port, HASH1, 0) as usize % MH_TABLE_SIZE;
                let skip = Self::hashkey(self.family, addr, port, HASH2, 0) as usize
                    % (MH_TABLE_SIZE - 1)
                    + 1;
                let scaled = (lw / g) >> shift;
                let turns = if scaled != 0 {
                    scaled
                } else {
                    i32::from(lw != 0)
                };
                Setup {
                    perm: offset,
                    skip,
                    turns,
                }
            })
            .collect();
        let mut taken = vec![false; MH_TABLE_SIZE];
        let mut filled = 0;
        let mut turn = 0;
        'fill: loop {
            for (index, ds) in setup.iter_mut().enumerate() {
                if ds.turns < 1 {
                    continue;
                }
                loop {
                    while taken[ds.perm] {
                        ds.perm += ds.skip;
                        if ds.perm >= MH_TABLE_SIZE {
                            ds.perm -= MH_TABLE_SIZE;
                        }
                    }
                    taken[ds.perm] = true;
                    self.lookup[ds.perm] = Some(index);
                    filled += 1;
                    if filled == MH_TABLE_SIZE {
                        break 'fill;
                    }
                    turn += 1;
                    if turn >= ds.turns {
                        turn = 0;
                        break;
                    }
                }
            }
        }
        true
    }

    /// Keep slot indices pointing at the same destinations when the table
    /// could not be rebuilt.
    fn remap(&mut self, change: DestChange) {
        for slot in self.lookup.iter_mut() {
            *slot = match (*slot, change) {
                (Some(i), DestChange::Added { index }) if i >= index => Some(i + 1),
                (Some(i), DestChange::Removed { index, .. }) if i == index => None,
                (Some(i), DestChange::Removed { index, .. }) if i > index => Some(i - 1),
                (other, _) => other,
            };
        }
    }
}

impl Scheduler for MaglevHashing {
    fn name(&self) -> &'static str {
        "mh"
    }

    fn service_changed(&mut self, service: &ServiceConfig) {
        self.set_flags(service.flags);
    }

    fn dests_changed(&mut self, dests: &[Dest], change: DestChange) {
        match change {
            DestChange::Added { index } => {
                let weight = dests.get(index).map_or(0, Dest::weight);
                if index <= self.last_weight.len() {
                    self.last_weight.insert(index, weight);
                }
            }
            DestChange::Updated { index } => {
                let weight = dests.get(index).map_or(0, Dest::weight);
                if let Some(last) = self.last_weight.get_mut(index) {
                    if weight != 0 {
                        *last = weight;
                    }
                }
            }
            DestChange::Removed { index, .. } => {
                if index < self.last_weight.len() {
                    self.last_weight.remove(index);
                }
            }
        }
        if !self.reassign(dests) {
            self.remap(change);
        }
    }

    fn schedule(
        &mut self,
        dests: &[Dest],
        packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let addr = packet.client.ip();
        let port = if self.hash_port {
            hashed_port(packet)
        } else {
            0
        };
        let home = Self::slot_of(self.family, addr, port);
        let usable = |slot: usize| -> Option<Result<usize, ()>> {
            let index = self.lookup[slot]?;
            match dests.get(index) {
                Some(dest) if is_available(dest) => Some(Ok(index)),
                _ => Some(Err(())),
            }
        };
        match usable(home) {
            None => return Err(NoDestination),
            Some(Ok(index)) => return Ok(index),
            Some(Err(())) if !self.fallback => return Err(NoDestination),
            Some(Err(())) => {}
        }
        // `ip_vs_mh_get_fallback()`.
        for offset in 0..MH_TABLE_SIZE {
            let shifted = ((offset + home) % MH_TABLE_SIZE) as u32;
            let slot =
                Self::hashkey(self.family, addr, port, HASH1, shifted) as usize % MH_TABLE_SIZE;
            match usable(slot) {
                None => break,
                Some(Ok(index)) => return Ok(index),
                Some(Err(())) => {}
            }
        }
        Err(NoDestination)
    }
}
