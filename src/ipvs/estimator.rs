//! The kernel's rate estimator (`net/netfilter/ipvs/ip_vs_est.c`), for
//! tables whose counters lvstop keeps itself (the userspace dataplane).
//!
//! Every 2 seconds the estimator takes the difference of the cumulative
//! counters since the previous sample and folds it into an exponentially
//! weighted average with weight 1/4: `avg += (rate - avg) / 4`, computed in
//! fixed point with an arithmetic shift. Connection and packet rates are
//! kept scaled by 2^10, byte rates by 2^5; because the difference covers
//! two seconds, the per-second scaled rate is `delta << 9` (resp.
//! `delta << 4`). Reported rates round the scaled average to the nearest
//! unit with halves down: `(avg + 0x1FF) >> 10` and `(avg + 0xF) >> 5`.
//!
//! This module owns arithmetic only: the caller owns the 2-second timer
//! and calls [`Estimator::sample`] on every tick.

use crate::ipvs::model::{Rates, Stats};

/// The sampling period the arithmetic assumes.
pub const PERIOD: std::time::Duration = std::time::Duration::from_secs(2);

/// One scaled average and the counter value it last saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Average {
    last: u64,
    /// Scaled rate per second (2^10 or 2^5 units).
    avg: u64,
}

impl Average {
    /// Fold the counter's new value in. `shift` turns a 2-second delta
    /// into the scaled per-second rate (9 for 2^10 scaling, 4 for 2^5).
    fn fold(&mut self, now: u64, shift: u32) {
        // The kernel works in u64 and reinterprets as s64 for the
        // difference; wrapping arithmetic reproduces that exactly.
        let rate = now.wrapping_sub(self.last).wrapping_shl(shift);
        self.last = now;
        let step = (rate as i64).wrapping_sub(self.avg as i64) >> 2;
        self.avg = self.avg.wrapping_add(step as u64);
    }
}

/// Rate estimator of one service, destination or the whole table, fed by
/// its cumulative [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimator {
    conns: Average,
    inpkts: Average,
    outpkts: Average,
    inbytes: Average,
    outbytes: Average,
}

impl Estimator {
    /// A fresh estimator for counters that start at zero (a new service
    /// or destination, as in the kernel).
    pub fn new() -> Self {
        Estimator::default()
    }

    /// An estimator that starts from counters that are already running:
    /// rates are zero and the next sample measures only what happens from
    /// now on (the kernel's `ip_vs_zero_estimator`, also what `-Z` does).
    pub fn starting_at(stats: &Stats) -> Self {
        let mut e = Estimator::default();
        e.zero(stats);
        e
    }

    /// Reset the rates to zero and take `stats` as the new baseline.
    pub fn zero(&mut self, stats: &Stats) {
        self.conns = Average {
            last: stats.conns,
            avg: 0,
        };
        self.inpkts = Average {
            last: stats.inpkts,
            avg: 0,
        };
        self.outpkts = Average {
            last: stats.outpkts,
            avg: 0,
        };
        self.inbytes = Average {
            last: stats.inbytes,
            avg: 0,
        };
        self.outbytes = Average {
            last: stats.outbytes,
            avg: 0,
        };
    }

    /// Take one sample of the cumulative counters; call every [`PERIOD`].
    pub fn sample(&mut self, stats: &Stats) {
        self.conns.fold(stats.conns, 9);
        self.inpkts.fold(stats.inpkts, 9);
        self.outpkts.fold(stats.outpkts, 9);
        self.inbytes.fold(stats.inbytes, 4);
        self.outbytes.fold(stats.outbytes, 4);
    }

    /// The rates as the kernel reports them (`ip_vs_read_estimator`).
    pub fn rates(&self) -> Rates {
        Rates {
            cps: self.conns.avg.wrapping_add(0x1FF) >> 10,
            inpps: self.inpkts.avg.wrapping_add(0x1FF) >> 10,
            outpps: self.outpkts.avg.wrapping_add(0x1FF) >> 10,
            inbps: self.inbytes.avg.wrapping_add(0xF) >> 5,
            outbps: self.outbytes.avg.wrapping_add(0xF) >> 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(conns: u64, pkts: u64, bytes: u64) -> Stats {
        Stats {
            conns,
            inpkts: pkts,
            outpkts: pkts / 2,
            inbytes: bytes,
            outbytes: bytes * 3,
        }
    }

    #[test]
    fn first_sample_reports_a_quarter_of_the_rate() {
        // 200 connections in 2 s = 100/s; scaled 100 << 10 = 102400;
        // avg = 102400 >> 2 = 25600; reported (25600 + 511) >> 10 = 25.
        let mut e = Estimator::new();
        e.sample(&stats(200, 2000, 20_000));
        let r = e.rates();
        assert_eq!(r.cps, 25);
        // 1000 pkts/s: 1000 << 10 >> 2 = 256000 -> (256000 + 511) >> 10 = 250.
        assert_eq!(r.inpps, 250);
        assert_eq!(r.outpps, 125);
        // 10000 B/s: (20000 << 4) = 320000, >> 2 = 80000 -> (80000 + 15) >> 5 = 2500.
        assert_eq!(r.inbps, 2500);
        assert_eq!(r.outbps, 7500);
    }

    #[test]
    fn constant_rate_converges_to_the_rate() {
        let mut e = Estimator::new();
        let mut total = Stats::default();
        for _ in 0..60 {
            total.conns += 200;
            total.inpkts += 2000;
            total.inbytes += 20_000;
            e.sample(&total);
        }
        let r = e.rates();
        assert_eq!(r.cps, 100);
        assert_eq!(r.inpps, 1000);
        assert_eq!(r.inbps, 10_000);
    }

    #[test]
    fn second_and_third_samples_follow_the_kernel_arithmetic() {
        // cps avg: 25600, then 25600 + (102400 - 25600) / 4 = 44800,
        // then 44800 + (102400 - 44800) / 4 = 59200.
        let mut e = Estimator::new();
        e.sample(&stats(200, 0, 0));
        e.sample(&stats(400, 0, 0));
        assert_eq!(e.rates().cps, (44800 + 0x1FF) >> 10); // 44
        e.sample(&stats(600, 0, 0));
        assert_eq!(e.rates().cps, (59200 + 0x1FF) >> 10); // 58
    }

    #[test]
    fn integer_averaging_settles_just_below_the_target() {
        // avg += (target - avg) >> 2 stops moving once the gap is under 4
        // units: a steady 100/s settles at 102397, not 102400, and the
        // +0x1FF rounding still reports 100.
        let mut e = Estimator::new();
        let mut total = Stats::default();
        for _ in 0..60 {
            total.conns += 200;
            e.sample(&total);
        }
        assert_eq!(e.conns.avg, (100 << 10) - 3);
        assert_eq!(e.rates().cps, 100);
    }

    #[test]
    fn idle_counters_decay_by_a_quarter_per_sample() {
        let mut e = Estimator::new();
        let mut total = Stats::default();
        for _ in 0..60 {
            total.conns += 200;
            e.sample(&total);
        }
        e.sample(&total);
        // (0 - 102397) >> 2 = -25600 (arithmetic shift floors): 76797.
        assert_eq!(e.conns.avg, 76_797);
        assert_eq!(e.rates().cps, 75);
        e.sample(&total);
        // (0 - 76797) >> 2 = -19200: 57597.
        assert_eq!(e.conns.avg, 57_597);
        assert_eq!(e.rates().cps, 56);
        for _ in 0..100 {
            e.sample(&total);
        }
        assert_eq!(e.conns.avg, 0);
        assert_eq!(e.rates().cps, 0);
    }

    #[test]
    fn rounding_reports_half_units_down() {
        // 1 conn in 2 s: scaled 512, avg 128 -> (128 + 511) >> 10 = 0.
        let mut e = Estimator::new();
        e.sample(&stats(1, 0, 0));
        assert_eq!(e.conns.avg, 128);
        assert_eq!(e.rates().cps, 0);
        // An average of exactly half a connection (512) reports 0, one
        // unit more reports 1.
        e.conns.avg = 512;
        assert_eq!(e.rates().cps, 0);
        e.conns.avg = 513;
        assert_eq!(e.rates().cps, 1);
        // Bytes: 16 = half a byte/s reports 0, 17 reports 1.
        e.inbytes.avg = 16;
        assert_eq!(e.rates().inbps, 0);
        e.inbytes.avg = 17;
        assert_eq!(e.rates().inbps, 1);
    }

    #[test]
    fn starting_at_running_counters_measures_only_new_traffic() {
        let running = stats(1_000_000, 5_000_000, 1 << 40);
        let mut e = Estimator::starting_at(&running);
        assert_eq!(e.rates(), Rates::default());
        let mut later = running;
        later.conns += 200;
        e.sample(&later);
        assert_eq!(e.rates().cps, 25);
        assert_eq!(e.rates().inbps, 0);
    }

    #[test]
    fn zero_resets_rates_and_baseline() {
        let mut e = Estimator::new();
        e.sample(&stats(200, 2000, 20_000));
        e.zero(&stats(200, 2000, 20_000));
        assert_eq!(e.rates(), Rates::default());
        e.sample(&stats(200, 2000, 20_000));
        assert_eq!(e.rates(), Rates::default());
    }
}
