//! Destination hashing (`net/netfilter/ipvs/ip_vs_dh.c`): a 256-bucket
//! table maps the hash of the packet's destination address to a
//! destination.
//!
//! - Bucket: `hash_32(addr_fold, 8)` of the destination address.
//! - Table fill (on bind, add and delete; the kernel has no edit hook, and
//!   weights do not matter): one bucket per destination in list order,
//!   round and round until all 256 are filled.
//! - Pick: the bucket's destination unless its weight is <= 0 or it is
//!   overloaded; there is no fallback.

use std::net::IpAddr;
use std::time::Duration;

use super::hash::{fold_addr, hash_32};
use super::{is_available, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::{Dest, Family};

const DH_TABLE_BITS: u32 = 8;
const DH_TABLE_SIZE: usize = 1 << DH_TABLE_BITS;

#[derive(Debug, Clone)]
pub struct DestinationHashing {
    family: Family,
    buckets: Vec<Option<usize>>,
}

impl DestinationHashing {
    /// `ip_vs_dh_init_svc()`.
    pub fn new(family: Family, dests: &[Dest]) -> Self {
        let mut dh = DestinationHashing {
            family,
            buckets: vec![None; DH_TABLE_SIZE],
        };
        dh.reassign(dests);
        dh
    }

    /// `ip_vs_dh_hashkey()`.
    pub fn bucket_of(family: Family, addr: IpAddr) -> usize {
        hash_32(fold_addr(family, addr), DH_TABLE_BITS) as usize
    }

    /// `ip_vs_dh_reassign()`.
    fn reassign(&mut self, dests: &[Dest]) {
        for (bucket, slot) in self.buckets.iter_mut().enumerate() {
            *slot = if dests.is_empty() {
                None
            } else {
                Some(bucket % dests.len())
            };
        }
    }
}

impl Scheduler for DestinationHashing {
    fn name(&self) -> &'static str {
        "dh"
    }

    fn dests_changed(&mut self, dests: &[Dest], change: DestChange) {
        // No `upd_dest` hook in the kernel: an edit leaves the table alone
        // (the fill ignores weights, so the result is the same anyway).
        if !matches!(change, DestChange::Updated { .. }) {
            self.reassign(dests);
        }
    }

    fn schedule(
        &mut self,
        dests: &[Dest],
        packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let bucket = Self::bucket_of(self.family, packet.destination.ip());
        self.buckets[bucket]
            .filter(|index| dests.get(*index).is_some_and(is_available))
            .ok_or(NoDestination)
    }
}
