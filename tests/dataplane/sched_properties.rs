#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Properties every kernel scheduler keeps, checked over random services.
//! Destination lists are in kernel order (index 0 = newest).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use lvstop::ipvs::model::{
    Dest, DestConfig, Forward, Protocol, ServiceConfig, ServiceFlags, ServiceKey,
};
use lvstop::ipvs::sched::{self, conn_overhead, is_available, DestChange, Packet, KNOWN};
use proptest::prelude::*;

fn dest(n: usize, weight: i32) -> Dest {
    Dest::new(DestConfig::new(
        format!("198.51.100.{}:80", 10 + n).parse().unwrap(),
        Forward::Route,
        weight,
    ))
}

fn service(name: &str, flags: u32) -> ServiceConfig {
    let mut s = ServiceConfig::new(ServiceKey::tcp("198.51.100.1:80".parse().unwrap()), name);
    s.flags = ServiceFlags(flags);
    s
}

fn packet(n: u32) -> Packet {
    let client = std::net::Ipv4Addr::from(0xcb00_7100u32.wrapping_add(n.wrapping_mul(7919)));
    Packet {
        protocol: Protocol::Tcp,
        client: SocketAddr::new(client.into(), 1024 + (n % 50_000) as u16),
        destination: SocketAddr::new(std::net::Ipv4Addr::from(0xc000_0200u32 + n % 64).into(), 80),
    }
}

fn gcd(a: i32, b: i32) -> i32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Over one full cycle of sum(w)/gcd picks, wrr gives each destination
    /// exactly w/gcd picks, from any starting point in the sequence.
    #[test]
    fn wrr_cycle_picks_each_destination_its_weight(
        weights in prop::collection::vec(1i32..=12, 1..7),
        offset in 0usize..40,
    ) {
        let dests: Vec<Dest> = weights.iter().enumerate().map(|(i, w)| dest(i, *w)).collect();
        let mut s = sched::bind(&service("wrr", 0), &dests).unwrap();
        let g = weights.iter().copied().fold(0, gcd);
        let cycle: i32 = weights.iter().map(|w| w / g).sum();
        for n in 0..offset {
            s.schedule(&dests, &packet(n as u32), Duration::ZERO).unwrap();
        }
        let mut counts = vec![0; dests.len()];
        for n in 0..cycle {
            counts[s.schedule(&dests, &packet(n as u32), Duration::ZERO).unwrap()] += 1;
        }
        let expected: Vec<i32> = weights.iter().map(|w| w / g).collect();
        prop_assert_eq!(counts, expected);
    }

    /// rr picks each available destination exactly once per len(available)
    /// picks, whatever the quiesced/overloaded ones.
    #[test]
    fn rr_picks_each_available_destination_once_per_cycle(
        spec in prop::collection::vec((0i32..3, any::<bool>()), 1..8),
        offset in 0usize..10,
    ) {
        let dests: Vec<Dest> = spec.iter().enumerate().map(|(i, (w, o))| {
            let mut d = dest(i, *w);
            d.overloaded = *o;
            d
        }).collect();
        let available = dests.iter().filter(|d| is_available(d)).count();
        let mut s = sched::bind(&service("rr", 0), &dests).unwrap();
        if available == 0 {
            prop_assert!(s.schedule(&dests, &packet(0), Duration::ZERO).is_err());
            return Ok(());
        }
        for n in 0..offset {
            s.schedule(&dests, &packet(n as u32), Duration::ZERO).unwrap();
        }
        let mut seen = vec![0; dests.len()];
        for n in 0..available {
            seen[s.schedule(&dests, &packet(n as u32), Duration::ZERO).unwrap()] += 1;
        }
        for (d, count) in dests.iter().zip(&seen) {
            prop_assert_eq!(*count, usize::from(is_available(d)));
        }
    }

    /// No scheduler ever picks a destination with weight <= 0 (negative
    /// ones included, which the kernel never holds) or the overload flag
    /// (with flags and weights fixed from the start).
    #[test]
    fn no_scheduler_picks_a_quiesced_or_overloaded_destination(
        spec in prop::collection::vec((-2i32..4, any::<bool>(), 0u32..6, 0u32..6), 1..8),
        flags in prop_oneof![Just(0u32), Just(ServiceFlags::SCHED1), Just(ServiceFlags::SCHED1 | ServiceFlags::SCHED2)],
    ) {
        let dests: Vec<Dest> = spec.iter().enumerate().map(|(i, (w, o, a, ina))| {
            let mut d = dest(i, *w);
            d.overloaded = *o;
            d.active = *a;
            d.inactive = *ina;
            d
        }).collect();
        for name in KNOWN {
            let mut s = sched::bind(&service(name, flags), &dests).unwrap();
            s.seed_rng(7);
            for n in 0..40u32 {
                if let Ok(i) = s.schedule(&dests, &packet(n), Duration::from_secs(u64::from(n))) {
                    prop_assert!(is_available(&dests[i]), "{} picked {:?}", name, dests[i]);
                }
            }
        }
    }

    /// lc always picks a destination of minimum overhead among those it may
    /// use (weight != 0, not overloaded).
    #[test]
    fn lc_picks_a_minimum_overhead_destination(
        spec in prop::collection::vec((0i32..4, any::<bool>(), 0u32..5, 0u32..600), 1..8),
    ) {
        let dests: Vec<Dest> = spec.iter().enumerate().map(|(i, (w, o, a, ina))| {
            let mut d = dest(i, *w);
            d.overloaded = *o;
            d.active = *a;
            d.inactive = *ina;
            d
        }).collect();
        let mut s = sched::bind(&service("lc", 0), &dests).unwrap();
        let eligible: Vec<&Dest> = dests.iter().filter(|d| !d.overloaded && d.weight() != 0).collect();
        match s.schedule(&dests, &packet(0), Duration::ZERO) {
            Ok(i) => {
                let min = eligible.iter().map(|d| conn_overhead(d)).min().unwrap();
                prop_assert_eq!(conn_overhead(&dests[i]), min);
            }
            Err(_) => prop_assert!(eligible.is_empty()),
        }
    }

    /// wlc always picks a destination of minimum overhead / weight among the
    /// available ones.
    #[test]
    fn wlc_picks_a_minimum_weighted_overhead_destination(
        spec in prop::collection::vec((0i32..6, any::<bool>(), 0u32..5, 0u32..600), 1..8),
    ) {
        let dests: Vec<Dest> = spec.iter().enumerate().map(|(i, (w, o, a, ina))| {
            let mut d = dest(i, *w);
            d.overloaded = *o;
            d.active = *a;
            d.inactive = *ina;
            d
        }).collect();
        let mut s = sched::bind(&service("wlc", 0), &dests).unwrap();
        match s.schedule(&dests, &packet(0), Duration::ZERO) {
            Ok(i) => {
                let picked = &dests[i];
                for d in dests.iter().filter(|d| is_available(d)) {
                    prop_assert!(
                        i64::from(conn_overhead(picked)) * i64::from(d.weight())
                            <= i64::from(conn_overhead(d)) * i64::from(picked.weight())
                    );
                }
            }
            Err(_) => prop_assert!(!dests.iter().any(is_available)),
        }
    }

    /// With fallback, quiescing one destination moves exactly the clients
    /// that were on it, as long as the table is kept: always for mh (it
    /// fills by `last_weight`, the last non-zero weight), and for sh only
    /// when every weight is 1 (sh refills by the live weight on every edit,
    /// and weight 0 still takes one bucket, like weight 1; with larger
    /// weights quiescing reshuffles the fill).
    #[test]
    fn quiescing_moves_only_the_quiesced_destinations_clients(
        weights in prop::collection::vec(1i32..4, 2..6),
        victim in any::<prop::sample::Index>(),
    ) {
        for name in ["sh", "mh"] {
            let mut dests: Vec<Dest> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| dest(i, if name == "sh" { 1 } else { *w }))
                .collect();
            let mut s = sched::bind(&service(name, ServiceFlags::SCHED1), &dests).unwrap();
            let before: Vec<usize> = (0..300).map(|n| s.schedule(&dests, &packet(n), Duration::ZERO).unwrap()).collect();
            let v = victim.index(dests.len());
            dests[v].config.weight = 0;
            s.dests_changed(&dests, DestChange::Updated { index: v });
            for (n, old) in before.iter().enumerate() {
                let new = s.schedule(&dests, &packet(n as u32), Duration::ZERO).unwrap();
                if *old == v {
                    prop_assert_ne!(new, v);
                } else {
                    prop_assert_eq!(new, *old, "{} moved a client of another destination", name);
                }
            }
        }
    }

    /// sh after a removal: the table is the kernel's round-robin fill of the
    /// new list (bucket i to the destination whose cumulative weight range
    /// holds i mod total), so clients move wherever the fill moved.
    #[test]
    fn sh_table_is_the_weighted_round_robin_fill_of_the_list(
        weights in prop::collection::vec(0i32..5, 1..7),
        remove in any::<prop::sample::Index>(),
    ) {
        let mut dests: Vec<Dest> = weights.iter().enumerate().map(|(i, w)| dest(i, *w)).collect();
        let mut s = sched::SourceHashing::new(lvstop::ipvs::model::Family::Inet, ServiceFlags(0), &dests);
        let r = remove.index(dests.len());
        let key = dests.remove(r).key();
        lvstop::ipvs::sched::Scheduler::dests_changed(&mut s, &dests, DestChange::Removed { index: r, key });
        let slots: Vec<usize> = dests.iter().enumerate().flat_map(|(i, d)| std::iter::repeat_n(i, d.weight().max(1) as usize)).collect();
        for (bucket, got) in s.buckets().iter().enumerate() {
            let want = if slots.is_empty() { None } else { Some(slots[bucket % slots.len()]) };
            prop_assert_eq!(*got, want);
        }
    }
}

/// Maglev gives no zero-disruption guarantee: removing a destination
/// rebuilds the whole table, the removed destination's slots go to the
/// others, and a few slots of the others move too. With the kernel's
/// algorithm (weights equal) over 3..12 destinations, at least 90% of the
/// other destinations' slots stay put.
#[test]
fn mh_removal_keeps_most_slots_of_the_other_destinations() {
    for n in 3..12 {
        let mut dests: Vec<Dest> = (0..n).map(|i| dest(i, 1)).collect();
        let mut s =
            sched::MaglevHashing::new(lvstop::ipvs::model::Family::Inet, ServiceFlags(0), &dests);
        let before: Vec<_> = s
            .lookup()
            .iter()
            .map(|i| i.map(|i| dests[i].key()))
            .collect();
        let victim = n / 2;
        let key = dests.remove(victim).key();
        sched::Scheduler::dests_changed(&mut s, &dests, DestChange::Removed { index: victim, key });
        let after: Vec<_> = s
            .lookup()
            .iter()
            .map(|i| i.map(|i| dests[i].key()))
            .collect();
        assert!(after.iter().all(|k| k.is_some() && *k != Some(key)));
        let others = before.iter().filter(|k| **k != Some(key)).count();
        let kept = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| **b != Some(key) && b == a)
            .count();
        assert!(kept * 10 >= others * 9, "n={n}: kept {kept} of {others}");
    }
}

/// Every mh slot is filled, and the shares follow the weights.
#[test]
fn mh_table_is_full_and_shares_follow_weights() {
    let dests = vec![dest(0, 1), dest(1, 2), dest(2, 1)];
    let s = sched::MaglevHashing::new(lvstop::ipvs::model::Family::Inet, ServiceFlags(0), &dests);
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for slot in s.lookup() {
        *counts.entry(slot.unwrap()).or_default() += 1;
    }
    assert_eq!(counts.values().sum::<usize>(), sched::MH_TABLE_SIZE);
    // Weight 2 fills two slots per round: half the table, the others a
    // quarter each (the last round may be cut short).
    assert!((2045..=2048).contains(&counts[&1]), "{counts:?}");
    assert!((1022..=1024).contains(&counts[&0]), "{counts:?}");
}
