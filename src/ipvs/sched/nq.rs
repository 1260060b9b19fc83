//! Never queue (`net/netfilter/ipvs/ip_vs_nq.c`): the first idle
//! destination (no active connections) in list order; when none is idle,
//! the one with the shortest expected delay, `(active + 1) / weight`.
//!
//! The kernel skips overloaded destinations and those with weight 0 in one
//! walk (`== 0` there; negative weights cannot exist in the kernel, so
//! `<= 0` is the same test); ties keep the earlier destination.

use std::time::Duration;

use super::sed::expected_delay_overhead;
use super::{DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

#[derive(Debug, Default, Clone, Copy)]
pub struct NeverQueue;

impl Scheduler for NeverQueue {
    fn name(&self) -> &'static str {
        "nq"
    }

    fn dests_changed(&mut self, _dests: &[Dest], _change: DestChange) {}

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let mut least: Option<(usize, i32)> = None;
        for (index, dest) in dests.iter().enumerate() {
            if dest.overloaded || dest.weight() <= 0 {
                continue;
            }
            let overhead = expected_delay_overhead(dest);
            if dest.active == 0 {
                return Ok(index);
            }
            let better = match least {
                None => true,
                Some((lowest, lowest_overhead)) => {
                    i64::from(lowest_overhead) * i64::from(dest.weight())
                        > i64::from(overhead) * i64::from(dests[lowest].weight())
                }
            };
            if better {
                least = Some((index, overhead));
            }
        }
        least.map(|(index, _)| index).ok_or(NoDestination)
    }
}
