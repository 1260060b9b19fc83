//! Source hashing (`net/netfilter/ipvs/ip_vs_sh.c`): a 256-bucket table
//! maps the hash of the client address (and, with `sh-port`, its port) to a
//! destination.
//!
//! - Bucket of a client: `hash_32(port + addr_fold, 8)`, with `port` 0
//!   unless `sh-port` (`IP_VS_SVC_F_SCHED2`) is set; IPv6 addresses fold to
//!   the XOR of their four words.
//! - Table fill (`ip_vs_sh_reassign`, on bind and after every add, edit
//!   and delete): walk the list in kernel order, giving each destination
//!   `weight` consecutive buckets (at least one, even at weight <= 0),
//!   wrapping around the list until all 256 are filled.
//! - Pick: the bucket's destination unless its weight is <= 0 or it is
//!   overloaded; then, with `sh-fallback` (`IP_VS_SVC_F_SCHED1`), the next
//!   available bucket going round the table from there, else no
//!   destination.

use std::time::Duration;

use super::hash::{fold_addr, hash_32};
use super::{
    fallback_flag, hashed_port, is_available, port_flag, DestChange, NoDestination, Packet,
    Scheduler,
};
use crate::ipvs::model::{Dest, Family, ServiceConfig, ServiceFlags};

/// `IP_VS_SH_TAB_SIZE` with the default `CONFIG_IP_VS_SH_TAB_BITS` 8.
pub const SH_TABLE_SIZE: usize = 1 << SH_TABLE_BITS;
const SH_TABLE_BITS: u32 = 8;

#[derive(Debug, Clone)]
pub struct SourceHashing {
    family: Family,
    fallback: bool,
    hash_port: bool,
    /// Bucket → index into the destination list.
    buckets: Vec<Option<usize>>,
}

impl SourceHashing {
    /// `ip_vs_sh_init_svc()`; the service flags are read here and on
    /// [`SourceHashing::set_flags`] (the kernel reads `svc->flags` live).
    pub fn new(family: Family, flags: ServiceFlags, dests: &[Dest]) -> Self {
        let mut sh = SourceHashing {
            family,
            fallback: fallback_flag(flags),
            hash_port: port_flag(flags),
            buckets: vec![None; SH_TABLE_SIZE],
        };
        sh.reassign(dests);
        sh
    }

    /// Follow an edit of the service flags (`ipvsadm -E ... -b sh-port`).
    pub fn set_flags(&mut self, flags: ServiceFlags) {
        self.fallback = fallback_flag(flags);
        self.hash_port = port_flag(flags);
    }

    /// The destination index each bucket holds (for tests and the console).
    pub fn buckets(&self) -> &[Option<usize>] {
        &self.buckets
    }

    /// `ip_vs_sh_hashkey()`: the bucket of `addr`/`port`, shifted by `offset`.
    pub fn bucket_of(family: Family, addr: std::net::IpAddr, port: u16, offset: u32) -> usize {
        let key = u32::from(port).wrapping_add(fold_addr(family, addr));
        (offset.wrapping_add(hash_32(key, SH_TABLE_BITS)) as usize) & (SH_TABLE_SIZE - 1)
    }

    /// `ip_vs_sh_reassign()`.
    fn reassign(&mut self, dests: &[Dest]) {
        if dests.is_empty() {
            self.buckets.fill(None);
            return;
        }
        let mut current = 0;
        let mut filled = 0i32;
        for bucket in self.buckets.iter_mut() {
            *bucket = Some(current);
            filled += 1;
            if filled >= dests[current].weight() {
                current = (current + 1) % dests.len();
                filled = 0;
            }
        }
    }
}

impl Scheduler for SourceHashing {
    fn name(&self) -> &'static str {
        "sh"
    }

    fn service_changed(&mut self, service: &ServiceConfig) {
        self.set_flags(service.flags);
    }

    fn dests_changed(&mut self, dests: &[Dest], _change: DestChange) {
        self.reassign(dests);
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
        let home = Self::bucket_of(self.family, addr, port, 0);
        let usable = |bucket: usize| -> Option<Result<usize, ()>> {
            // None: empty bucket; Some(Err): unavailable destination.
            let index = self.buckets[bucket]?;
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
        // `ip_vs_sh_get_fallback()`: go round the table from the home bucket.
        for offset in 0..SH_TABLE_SIZE as u32 {
            let shifted = (offset + home as u32) % SH_TABLE_SIZE as u32;
            match usable(Self::bucket_of(self.family, addr, port, shifted)) {
                None => break,
                Some(Ok(index)) => return Ok(index),
                Some(Err(())) => {}
            }
        }
        Err(NoDestination)
    }
}
