#![allow(clippy::unwrap_used, clippy::expect_used)]
//! lvstop's rate estimator against the kernel's, on real traffic.
//!
//! `tests/fixtures/ipvsadm/estimator/kernel_rates.sh` (captured by
//! `capture.sh` in a VM running Debian's 6.1 kernel) sent timed bursts of
//! HTTP connections through IPVS and recorded every change of
//! `/proc/net/ip_vs_stats`: the table's total counters and the rates the
//! kernel's estimator reported, with the uptime. The estimator ticks every
//! 2 s. Replaying the counters of every tick through
//! [`Estimator::sample`] must give exactly the rates the kernel printed
//! after it, including ticks where nothing printed changed.

use std::path::PathBuf;

use lvstop::ipvs::estimator::Estimator;
use lvstop::ipvs::{Rates, Stats};

struct Row {
    uptime: f64,
    stats: Stats,
    rates: Rates,
}

fn rows() -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/ipvsadm/kernel_rates/samples.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .map(|line| {
            let (left, right) = line.split_once(" | ").unwrap();
            let mut l = left.split_whitespace();
            let uptime: f64 = l.next().unwrap().parse().unwrap();
            let s: Vec<u64> = l.map(|v| v.parse().unwrap()).collect();
            let r: Vec<u64> = right
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            Row {
                uptime,
                stats: Stats {
                    conns: s[0],
                    inpkts: s[1],
                    outpkts: s[2],
                    inbytes: s[3],
                    outbytes: s[4],
                },
                rates: Rates {
                    cps: r[0],
                    inpps: r[1],
                    outpps: r[2],
                    inbps: r[3],
                    outbps: r[4],
                },
            }
        })
        .collect()
}

#[test]
fn estimator_reproduces_the_kernels_rates_tick_by_tick() {
    let rows = rows();
    assert!(rows.len() > 10, "too few samples");
    assert_eq!(
        rows[0].stats,
        Stats::default(),
        "counters must start at zero"
    );
    assert_eq!(rows[0].rates, Rates::default());

    // On 6.1 the estimator timer is also what folds the per-CPU counters
    // into the totals /proc shows: counters and rates both change only at
    // a tick, and every recorded change after the first row is one. Ticks
    // that changed nothing (no traffic, rounded rates unchanged) are not
    // recorded; they fall 2 s apart between recorded ones.
    let mut est = Estimator::new();
    let mut ticks = 0;
    let mut prev = &rows[0];
    for (n, row) in rows.iter().enumerate().skip(1) {
        let gap = row.uptime - prev.uptime;
        // Before the first change everything is zero: silent ticks there
        // change nothing, and the first row is a sample, not a tick.
        let silent = if n == 1 {
            0
        } else {
            ((gap / 2.0).round() as i64 - 1).max(0)
        };
        assert!(
            n == 1 || (gap - 2.0 * (silent + 1) as f64).abs() < 0.6,
            "change at {} is not on the 2 s tick grid after {}",
            row.uptime,
            prev.uptime
        );
        for _ in 0..silent {
            est.sample(&prev.stats);
            assert_eq!(
                est.rates(),
                prev.rates,
                "a silent tick after {} must leave the printed rates",
                prev.uptime
            );
            ticks += 1;
        }
        est.sample(&row.stats);
        assert_eq!(
            est.rates(),
            row.rates,
            "tick at {}: kernel printed {:?} for counters {:?}",
            row.uptime,
            row.rates,
            row.stats
        );
        ticks += 1;
        prev = row;
    }
    assert!(ticks >= 20, "only {ticks} ticks");
}
