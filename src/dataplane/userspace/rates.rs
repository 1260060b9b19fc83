//! STAND-IN, to be replaced by `crate::ipvs::estimator::Estimator` (being
//! written on another branch with the same `sample` / `rates` API).
//!
//! A minimal copy of the kernel's `ip_vs_est.c` arithmetic, sampled every
//! 2 s: rates are kept scaled (conns and packets by 2^10, bytes by 2^5)
//! and smoothed with a 1/4 EWMA, then rounded the way the kernel reads
//! them out (`ip_vs_read_estimator`).

use crate::ipvs::model::{Rates, Stats};

#[derive(Debug, Clone, Default)]
pub(super) struct Estimator {
    last: Stats,
    cps: i64,
    inpps: i64,
    outpps: i64,
    inbps: i64,
    outbps: i64,
}

/// `avg += (rate - avg) >> 2` with rate = per-2s delta shifted by `shift`.
fn smooth(avg: &mut i64, now: u64, last: u64, shift: u32) {
    let rate = (now.wrapping_sub(last) as i64).wrapping_shl(shift);
    *avg += (rate - *avg) >> 2;
}

impl Estimator {
    /// Feed the counters as they are 2 s after the previous sample.
    pub(super) fn sample(&mut self, stats: &Stats) {
        smooth(&mut self.cps, stats.conns, self.last.conns, 9);
        smooth(&mut self.inpps, stats.inpkts, self.last.inpkts, 9);
        smooth(&mut self.outpps, stats.outpkts, self.last.outpkts, 9);
        smooth(&mut self.inbps, stats.inbytes, self.last.inbytes, 4);
        smooth(&mut self.outbps, stats.outbytes, self.last.outbytes, 4);
        self.last = *stats;
    }

    pub(super) fn rates(&self) -> Rates {
        let read = |v: i64, round: i64, shift: u32| ((v.max(0) + round) >> shift) as u64;
        Rates {
            cps: read(self.cps, 0x1ff, 10),
            inpps: read(self.inpps, 0x1ff, 10),
            outpps: read(self.outpps, 0x1ff, 10),
            inbps: read(self.inbps, 0xf, 5),
            outbps: read(self.outbps, 0xf, 5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rate_converges_to_itself() {
        let mut est = Estimator::default();
        let mut stats = Stats::default();
        for _ in 0..100 {
            stats.conns += 200; // 100 conns/s over 2 s
            stats.inbytes += 2_000_000;
            est.sample(&stats);
        }
        assert_eq!(est.rates().cps, 100);
        assert_eq!(est.rates().inbps, 1_000_000);
    }
}
