//! Weighted least connection (`net/netfilter/ipvs/ip_vs_wlc.c`): the
//! destination with the smallest overhead / weight, compared without
//! division as `loh * dw > doh * lw` in 64 bits.
//!
//! The kernel starts from the first destination (list order) that is not
//! overloaded and has weight > 0; after it, only the overload flag is
//! tested, so a weight-0 destination can never win the comparison but is
//! still walked. Ties keep the earlier destination. The same walk serves
//! `lblc` and `lblcr` ([`least_loaded`]) and, with `active + 1` as the
//! overhead, `sed`.

use std::time::Duration;

use super::{conn_overhead, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

#[derive(Debug, Default, Clone, Copy)]
pub struct WeightedLeastConnection;

/// The kernel's two-stage weighted-least walk with the given overhead.
pub(crate) fn least_loaded(dests: &[Dest], overhead: fn(&Dest) -> i32) -> Option<usize> {
    let first = dests.iter().position(|d| !d.overloaded && d.weight() > 0)?;
    let mut least = first;
    let mut least_overhead = i64::from(overhead(&dests[first]));
    let mut least_weight = i64::from(dests[first].weight());
    for (index, dest) in dests.iter().enumerate().skip(first + 1) {
        if dest.overloaded {
            continue;
        }
        let dest_overhead = i64::from(overhead(dest));
        let dest_weight = i64::from(dest.weight());
        if least_overhead * dest_weight > dest_overhead * least_weight {
            least = index;
            least_overhead = dest_overhead;
            least_weight = dest_weight;
        }
    }
    Some(least)
}

impl Scheduler for WeightedLeastConnection {
    fn name(&self) -> &'static str {
        "wlc"
    }

    fn dests_changed(&mut self, _dests: &[Dest], _change: DestChange) {}

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        least_loaded(dests, conn_overhead).ok_or(NoDestination)
    }
}
