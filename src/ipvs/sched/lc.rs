//! Least connection (`net/netfilter/ipvs/ip_vs_lc.c`): the destination with
//! the smallest `(active << 8) + inactive`, first in list order on ties.
//!
//! The kernel skips overloaded destinations and those whose weight is 0
//! (it tests `== 0`; weights below 0 never reach it, as adding or editing
//! one fails with `ERANGE`, so `<= 0` here is the same test on every weight
//! the kernel accepts), and compares the overhead as an unsigned int. It
//! keeps no state, so list changes need no handling.

use std::time::Duration;

use super::{conn_overhead, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

#[derive(Debug, Default, Clone, Copy)]
pub struct LeastConnection;

impl Scheduler for LeastConnection {
    fn name(&self) -> &'static str {
        "lc"
    }

    fn dests_changed(&mut self, _dests: &[Dest], _change: DestChange) {}

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let mut least: Option<(usize, u32)> = None;
        for (index, dest) in dests.iter().enumerate() {
            if dest.overloaded || dest.weight() <= 0 {
                continue;
            }
            let overhead = conn_overhead(dest) as u32;
            if least.is_none_or(|(_, lowest)| overhead < lowest) {
                least = Some((index, overhead));
            }
        }
        least.map(|(index, _)| index).ok_or(NoDestination)
    }
}
