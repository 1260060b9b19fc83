//! Weighted round robin (`net/netfilter/ipvs/ip_vs_wrr.c`).
//!
//! The kernel keeps a cursor (`cl`: the list head or the last pick), a
//! current weight `cw`, the step `di` (gcd of the positive weights) and
//! `mw = max weight - (di - 1)`. Each pick walks on from the cursor and
//! takes the first non-overloaded destination with `weight >= cw`; at the
//! end of the list `cw` drops by `di`, and below 1 it wraps to `mw`. So
//! weights 4,3,2 give `A A B A B C A B C`.
//!
//! Reproduced exactly, including the corner cases: every add, edit and
//! delete puts the cursor back on the list head and recomputes `di`/`mw`,
//! keeping `cw` unless it is now above `mw` (or 0), and otherwise rounding
//! it to `k * di + 1` when `di > 1`; the error paths leave the cursor where
//! the failed walk stopped.

use std::time::Duration;

use super::{gcd, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

/// `struct ip_vs_wrr_mark`.
#[derive(Debug, Clone)]
pub struct WeightedRoundRobin {
    /// `cl`: `None` is the list head, `Some(i)` the destination picked last.
    cursor: Option<usize>,
    /// `cw`
    current_weight: i32,
    /// `mw`
    max_weight: i32,
    /// `di`
    step: i32,
}

/// `ip_vs_wrr_gcd_weight()`: gcd of the positive weights, 1 when none.
fn gcd_weight(dests: &[Dest]) -> i32 {
    let g = dests
        .iter()
        .map(Dest::weight)
        .filter(|w| *w > 0)
        .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
    if g == 0 {
        1
    } else {
        g
    }
}

/// `ip_vs_wrr_max_weight()`: the largest weight, 0 when none is positive.
fn max_weight(dests: &[Dest]) -> i32 {
    dests.iter().map(Dest::weight).fold(0, i32::max)
}

impl WeightedRoundRobin {
    /// `ip_vs_wrr_init_svc()` over the current list.
    pub fn new(dests: &[Dest]) -> Self {
        let step = gcd_weight(dests);
        let max_weight = max_weight(dests) - (step - 1);
        WeightedRoundRobin {
            cursor: None,
            current_weight: max_weight,
            max_weight,
            step,
        }
    }

    /// The current weight `cw` (exposed for tests and the console).
    pub fn current_weight(&self) -> i32 {
        self.current_weight
    }
}

impl Scheduler for WeightedRoundRobin {
    fn name(&self) -> &'static str {
        "wrr"
    }

    /// `ip_vs_wrr_dest_changed()`, the hook for add, edit and delete alike.
    fn dests_changed(&mut self, dests: &[Dest], _change: DestChange) {
        self.cursor = None;
        self.step = gcd_weight(dests);
        self.max_weight = max_weight(dests) - (self.step - 1);
        if self.current_weight > self.max_weight || self.current_weight == 0 {
            self.current_weight = self.max_weight;
        } else if self.step > 1 {
            self.current_weight = (self.current_weight / self.step) * self.step + 1;
        }
    }

    /// `ip_vs_wrr_schedule()`.
    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        if self.max_weight == 0 {
            return Err(NoDestination);
        }
        let last = self.cursor.filter(|i| *i < dests.len());
        let mut position = last;
        let mut stop: Option<usize> = None;
        let mut last_pass = false;
        let mut restarted = false;
        loop {
            // Walk the entries after `position` to the end of the list.
            let start = position.map_or(0, |i| i + 1);
            for (index, dest) in dests.iter().enumerate().skip(start) {
                if !dest.overloaded && dest.weight() >= self.current_weight {
                    self.cursor = Some(index);
                    return Ok(index);
                }
                if stop == Some(index) {
                    self.cursor = Some(index);
                    return Err(NoDestination);
                }
            }
            // Back on the list head.
            position = None;
            self.current_weight -= self.step;
            if self.current_weight <= 0 {
                self.current_weight = self.max_weight;
                if last_pass || last.is_none() {
                    self.cursor = None;
                    return Err(NoDestination);
                }
                restarted = true;
            }
            last_pass = self.current_weight <= self.step;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::model::{DestConfig, Forward, Protocol};

    fn dests(weights: &[i32]) -> Vec<Dest> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                Dest::new(DestConfig::new(
                    format!("10.0.0.{}:80", i + 1).parse().unwrap(),
                    Forward::Route,
                    *w,
                ))
            })
            .collect()
    }

    fn picks(weights: &[i32], n: usize) -> String {
        let list = dests(weights);
        let mut wrr = WeightedRoundRobin::new(&list);
        let packet = Packet {
            protocol: Protocol::Tcp,
            client: "203.0.113.1:1000".parse().unwrap(),
            destination: "198.51.100.1:80".parse().unwrap(),
        };
        (0..n)
            .map(|_| match wrr.schedule(&list, &packet, Duration::ZERO) {
                Ok(i) => char::from(b'A' + i as u8),
                Err(NoDestination) => '-',
            })
            .collect()
    }

    #[test]
    fn weights_4_3_2_interleave_as_the_kernel_does() {
        assert_eq!(picks(&[4, 3, 2], 18), "AABABCABCAABABCABC");
        assert_eq!(picks(&[4, 2], 6), "AABAAB");
        assert_eq!(picks(&[5, 1], 12), "AAAAABAAAAAB");
    }

    #[test]
    fn common_divisor_shortens_the_cycle() {
        // gcd 2: mw = 6 - 1 = 5, cw 5 → 3 → 1.
        assert_eq!(picks(&[6, 4, 2], 6), "AABABC");
    }

    #[test]
    fn all_weights_zero_is_no_destination() {
        assert_eq!(picks(&[0, 0], 2), "--");
        assert_eq!(picks(&[], 1), "-");
    }
}
