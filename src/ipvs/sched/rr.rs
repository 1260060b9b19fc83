//! Round robin (`net/netfilter/ipvs/ip_vs_rr.c`): walk the list circularly
//! from the last pick, taking the next destination that is not overloaded
//! and has weight > 0.
//!
//! As in the kernel: from the list head (after binding) one pass is made;
//! from a destination, the entries after it and then around up to and
//! including it. Only deletion has a hook: deleting the destination picked
//! last moves the cursor to its predecessor (the head if it was first);
//! adds (at the head) and edits leave the cursor on its destination.

use std::time::Duration;

use super::{is_available, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

/// The cursor is the kernel's `svc->sched_data`: the list head (`None`,
/// before the first pick) or the destination picked last.
#[derive(Debug, Default)]
pub struct RoundRobin {
    cursor: Option<usize>,
}

impl RoundRobin {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Scheduler for RoundRobin {
    fn name(&self) -> &'static str {
        "rr"
    }

    fn dests_changed(&mut self, _dests: &[Dest], change: DestChange) {
        let Some(cursor) = self.cursor else { return };
        self.cursor = match change {
            DestChange::Added { index } if index <= cursor => Some(cursor + 1),
            // `ip_vs_rr_del_dest`: a cursor on the removed entry steps back
            // to its predecessor (the head when it was first).
            DestChange::Removed { index, .. } if index == cursor => cursor.checked_sub(1),
            DestChange::Removed { index, .. } if index < cursor => Some(cursor - 1),
            _ => Some(cursor),
        };
    }

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let len = dests.len();
        // From the head one pass over the list; from a destination, the
        // entries after it, then around to it (inclusive).
        let (start, steps) = match self.cursor {
            None => (0, len),
            Some(last) => (last + 1, len),
        };
        for step in 0..steps {
            let index = (start + step) % len.max(1);
            if dests.get(index).is_some_and(is_available) {
                self.cursor = Some(index);
                return Ok(index);
            }
        }
        Err(NoDestination)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::model::{DestConfig, Forward, Protocol};

    fn dest(n: u8, weight: i32) -> Dest {
        Dest::new(DestConfig::new(
            format!("10.0.0.{n}:80").parse().unwrap(),
            Forward::Route,
            weight,
        ))
    }

    fn packet() -> Packet {
        Packet {
            protocol: Protocol::Tcp,
            client: "203.0.113.1:40000".parse().unwrap(),
            destination: "198.51.100.1:80".parse().unwrap(),
        }
    }

    fn picks(rr: &mut RoundRobin, dests: &[Dest], n: usize) -> Vec<usize> {
        (0..n)
            .map(|_| rr.schedule(dests, &packet(), Duration::ZERO).unwrap())
            .collect()
    }

    #[test]
    fn walks_the_list_in_kernel_order_and_skips_weight_zero() {
        let dests = [dest(3, 1), dest(2, 0), dest(1, 1)];
        let mut rr = RoundRobin::new();
        assert_eq!(picks(&mut rr, &dests, 4), [0, 2, 0, 2]);
    }

    #[test]
    fn removing_the_last_pick_resumes_after_its_predecessor() {
        let mut dests = vec![dest(3, 1), dest(2, 1), dest(1, 1)];
        let mut rr = RoundRobin::new();
        assert_eq!(picks(&mut rr, &dests, 2), [0, 1]);
        let removed = dests.remove(1);
        rr.dests_changed(
            &dests,
            DestChange::Removed {
                index: 1,
                key: removed.key(),
            },
        );
        assert_eq!(picks(&mut rr, &dests, 2), [1, 0]);
    }

    #[test]
    fn no_available_destination_is_an_error() {
        let dests = [dest(1, 0)];
        let mut rr = RoundRobin::new();
        assert_eq!(
            rr.schedule(&dests, &packet(), Duration::ZERO),
            Err(NoDestination)
        );
        assert_eq!(
            RoundRobin::new().schedule(&[], &packet(), Duration::ZERO),
            Err(NoDestination)
        );
    }
}
