//! Power of two choices (`net/netfilter/ipvs/ip_vs_twos.c`): draw two
//! destinations at random, each with probability proportional to its
//! weight, and take the one with the lower overhead / weight.
//!
//! The selection rule is the kernel's: over the non-overloaded destinations
//! with weight > 0 (list order), draw `r1`, `r2` uniformly in
//! `[0, total weight]` (inclusive: the kernel adds 1 before
//! `get_random_u32_below`), subtract each destination's weight from both
//! and take, for each, the first destination where it drops to <= 0; the
//! second replaces the first when `w2 * overhead1 > w1 * overhead2` (32-bit
//! int products, as in the kernel). The random numbers come from an
//! injected, seedable generator (SplitMix64 with the kernel's
//! multiply-shift bounded draw), so sequences are reproducible in tests but
//! can never match a kernel, whose numbers come from its CSPRNG.

use std::time::Duration;

use super::{conn_overhead, DestChange, NoDestination, Packet, Scheduler};
use crate::ipvs::model::Dest;

#[derive(Debug, Clone)]
pub struct TwoChoices {
    state: u64,
}

impl TwoChoices {
    /// A generator with a fixed seed (tests, replay).
    pub fn with_seed(seed: u64) -> Self {
        TwoChoices { state: seed }
    }

    /// A generator seeded from the process's hash randomness.
    pub fn from_entropy() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x7477_6f73);
        Self::with_seed(hasher.finish())
    }

    /// SplitMix64.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `get_random_u32_below(ceil)`: Lemire's multiply-shift with rejection.
    fn below(&mut self, ceil: u32) -> u32 {
        if ceil <= 1 {
            return 0;
        }
        let mut product = u64::from(self.next_u64() as u32) * u64::from(ceil);
        if (product as u32) < ceil {
            let threshold = ceil.wrapping_neg() % ceil;
            while (product as u32) < threshold {
                product = u64::from(self.next_u64() as u32) * u64::from(ceil);
            }
        }
        (product >> 32) as u32
    }
}

impl Scheduler for TwoChoices {
    fn name(&self) -> &'static str {
        "twos"
    }

    fn dests_changed(&mut self, _dests: &[Dest], _change: DestChange) {}

    fn seed_rng(&mut self, seed: u64) {
        self.state = seed;
    }

    fn schedule(
        &mut self,
        dests: &[Dest],
        _packet: &Packet,
        _now: Duration,
    ) -> Result<usize, NoDestination> {
        let eligible = |d: &Dest| !d.overloaded && d.weight() > 0;
        let total: i32 = dests
            .iter()
            .filter(|d| eligible(d))
            .fold(0i32, |sum, d| sum.wrapping_add(d.weight()));
        if !dests.iter().any(eligible) {
            return Err(NoDestination);
        }
        let bound = total.wrapping_add(1) as u32;
        let mut r1 = self.below(bound) as i32;
        let mut r2 = self.below(bound) as i32;
        let mut first: Option<(usize, i32, i32)> = None;
        let mut second: Option<(usize, i32, i32)> = None;
        for (index, dest) in dests.iter().enumerate() {
            if !eligible(dest) {
                continue;
            }
            let weight = dest.weight();
            r1 = r1.wrapping_sub(weight);
            r2 = r2.wrapping_sub(weight);
            if r1 <= 0 && first.is_none() {
                first = Some((index, weight, conn_overhead(dest)));
            }
            if r2 <= 0 && second.is_none() {
                second = Some((index, weight, conn_overhead(dest)));
            }
            if first.is_some() && second.is_some() {
                break;
            }
        }
        match (first, second) {
            (Some((i1, w1, o1)), Some((i2, w2, o2))) => {
                if w2.wrapping_mul(o1) > w1.wrapping_mul(o2) {
                    Ok(i2)
                } else {
                    Ok(i1)
                }
            }
            (Some((i1, ..)), None) => Ok(i1),
            // The kernel's `choice1` starts as the last eligible destination.
            (None, _) => dests.iter().rposition(eligible).ok_or(NoDestination),
        }
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

    #[test]
    fn draws_are_inclusive_of_zero_as_in_the_kernel() {
        // With no connections the second choice never wins, so the pick is
        // the first draw: r in [0, 4] lands on A for r = 0..=3 (4 of 5).
        let dests = [dest(1, 3), dest(2, 1)];
        let packet = Packet {
            protocol: Protocol::Tcp,
            client: "203.0.113.1:1".parse().unwrap(),
            destination: "198.51.100.1:80".parse().unwrap(),
        };
        let mut twos = TwoChoices::with_seed(1);
        let picks = 20_000;
        let a = (0..picks)
            .filter(|_| twos.schedule(&dests, &packet, Duration::ZERO) == Ok(0))
            .count();
        let share = a as f64 / f64::from(picks);
        assert!((0.78..0.82).contains(&share), "A share {share}");
    }

    #[test]
    fn the_less_loaded_of_the_two_draws_wins() {
        // A is heavily loaded: whenever the draws differ, B wins.
        let mut dests = [dest(1, 1), dest(2, 1)];
        dests[0].active = 50;
        let packet = Packet {
            protocol: Protocol::Tcp,
            client: "203.0.113.1:1".parse().unwrap(),
            destination: "198.51.100.1:80".parse().unwrap(),
        };
        let mut twos = TwoChoices::with_seed(9);
        let b = (0..9_000)
            .filter(|_| twos.schedule(&dests, &packet, Duration::ZERO) == Ok(1))
            .count();
        // r in [0, 2]: A only when both draws are 0 or 1: (2/3)^2 = 4/9.
        let share = b as f64 / 9_000.0;
        assert!((0.53..0.58).contains(&share), "B share {share}");
    }
}
