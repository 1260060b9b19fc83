//! Weighted failover (`net/netfilter/ipvs/ip_vs_fo.c`): every new
//! connection goes to the non-overloaded destination with the highest
//! weight; among equal weights the first in list order (the newest) wins,
//! and weight <= 0 never does.

use std::time::Duration;

use super::{DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

#[derive(Debug, Default, Clone, Copy)]
pub struct WeightedFailover;

impl Scheduler for WeightedFailover {
    fn name(&self) -> &'static str {
        "fo"
    }

    fn dests_changed(&mut self, _dests: &[Dest], _change: DestChange) {}

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let mut highest: Option<usize> = None;
        let mut highest_weight = 0;
        for (index, dest) in dests.iter().enumerate() {
            if !dest.overloaded && dest.weight() > highest_weight {
                highest = Some(index);
                highest_weight = dest.weight();
            }
        }
        highest.ok_or(NoDestination)
    }
}
