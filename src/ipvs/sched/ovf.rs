//! Overflow (`net/netfilter/ipvs/ip_vs_ovf.c`): the highest-weight
//! destination whose active connections do not exceed its weight; when it
//! fills up, the next highest takes the overflow.
//!
//! The kernel skips overloaded destinations, those with
//! `active > weight`, and weight 0 (negative weights, which the kernel
//! never holds, fail `active > weight` anyway); the first in list order
//! wins a tie. Inactive connections are ignored (so it suits TCP, not UDP).

use std::time::Duration;

use super::{DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

#[derive(Debug, Default, Clone, Copy)]
pub struct Overflow;

impl Scheduler for Overflow {
    fn name(&self) -> &'static str {
        "ovf"
    }

    fn dests_changed(&mut self, _dests: &[Dest], _change: DestChange) {}

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let mut highest: Option<(usize, i32)> = None;
        for (index, dest) in dests.iter().enumerate() {
            let weight = dest.weight();
            if dest.overloaded || i64::from(dest.active) > i64::from(weight) || weight == 0 {
                continue;
            }
            if highest.is_none_or(|(_, top)| weight > top) {
                highest = Some((index, weight));
            }
        }
        highest.map(|(index, _)| index).ok_or(NoDestination)
    }
}
