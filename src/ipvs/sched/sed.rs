//! Shortest expected delay (`net/netfilter/ipvs/ip_vs_sed.c`): weighted
//! least connection where a destination's overhead is `active + 1` (the
//! incoming connection counted, inactive connections ignored).
//!
//! Same two-stage walk as `wlc` (first non-overloaded destination with
//! weight > 0, then every non-overloaded one), same 64-bit comparison.

use std::time::Duration;

use super::wlc::least_loaded;
use super::{DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

#[derive(Debug, Default, Clone, Copy)]
pub struct ShortestExpectedDelay;

/// `ip_vs_sed_dest_overhead()` (also nq's): active connections + 1, int.
pub(crate) fn expected_delay_overhead(dest: &Dest) -> i32 {
    (dest.active as i32).wrapping_add(1)
}

impl Scheduler for ShortestExpectedDelay {
    fn name(&self) -> &'static str {
        "sed"
    }

    fn dests_changed(&mut self, _dests: &[Dest], _change: DestChange) {}

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        least_loaded(dests, expected_delay_overhead).ok_or(NoDestination)
    }
}
