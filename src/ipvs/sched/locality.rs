//! The cache table shared by `lblc` and `lblcr` (`ip_vs_lblc.c`,
//! `ip_vs_lblcr.c`): 1024 hash buckets keyed by `hash_32(addr_fold, 10)` of
//! the packet's destination address, and the kernel's garbage collection,
//! driven only by the `now` the scheduler is given.
//!
//! The kernel's periodic timer fires every 60 s. Every 30th firing does a
//! full check (drop entries unused for the expiration, 24 h by default, the
//! `lblc_expiration` / `lblcr_expiration` sysctl); the others do nothing
//! unless the table holds more than 16384 entries, in which case entries
//! unused for 6 minutes are dropped bucket by bucket from a rover until
//! `4/3` of the excess (at most 8192) went. Here the timer is armed at the
//! first pick and every firing due by `now` runs, at its own time, before
//! the pick. The kernel arms it when the scheduler is bound, so the phase
//! can differ; which entries exist and when they expire does not.

use std::net::IpAddr;
use std::time::Duration;

use super::hash::{fold_addr, hash_32};
use crate::ipvs::model::Family;

const TABLE_BITS: u32 = 10;
const TABLE_SIZE: usize = 1 << TABLE_BITS;
const TABLE_MASK: usize = TABLE_SIZE - 1;
/// `CHECK_EXPIRE_INTERVAL`
const CHECK_EXPIRE_INTERVAL: Duration = Duration::from_secs(60);
/// `ENTRY_TIMEOUT`
const ENTRY_TIMEOUT: Duration = Duration::from_secs(6 * 60);
/// `DEFAULT_EXPIRATION`: the sysctl's default.
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);
/// `COUNT_FOR_FULL_EXPIRATION`
const COUNT_FOR_FULL_EXPIRATION: u32 = 30;
/// `max_size = IP_VS_LBLC_TAB_SIZE * 16`
const MAX_SIZE: i64 = (TABLE_SIZE * 16) as i64;

/// What the table needs to know about an entry.
pub(crate) trait CacheEntry {
    fn addr(&self) -> IpAddr;
    fn last_use(&self) -> Duration;
}

#[derive(Debug, Clone)]
pub(crate) struct LocalityTable<E> {
    family: Family,
    buckets: Vec<Vec<E>>,
    /// `tbl->entries`: the kernel's counter, which is not always the real
    /// count (lblc adds without subtracting when it replaces an entry).
    pub(crate) entries: i64,
    rover: usize,
    counter: u32,
    next_check: Option<Duration>,
    pub(crate) expiration: Duration,
}

impl<E: CacheEntry> LocalityTable<E> {
    pub(crate) fn new(family: Family) -> Self {
        LocalityTable {
            family,
            buckets: (0..TABLE_SIZE).map(|_| Vec::new()).collect(),
            entries: 0,
            rover: 0,
            counter: 1,
            next_check: None,
            expiration: DEFAULT_EXPIRATION,
        }
    }

    /// `ip_vs_lblc_hashkey()` / `ip_vs_lblcr_hashkey()`.
    pub(crate) fn bucket_of(family: Family, addr: IpAddr) -> usize {
        hash_32(fold_addr(family, addr), TABLE_BITS) as usize
    }

    pub(crate) fn get_mut(&mut self, addr: IpAddr) -> Option<&mut E> {
        let bucket = Self::bucket_of(self.family, addr);
        self.buckets[bucket].iter_mut().find(|e| e.addr() == addr)
    }

    /// Remove the entry for `addr` (without touching the counter).
    pub(crate) fn unlink(&mut self, addr: IpAddr) {
        let bucket = Self::bucket_of(self.family, addr);
        self.buckets[bucket].retain(|e| e.addr() != addr);
    }

    /// Hash a new entry in (`ip_vs_lblc_hash`): the counter goes up.
    pub(crate) fn insert(&mut self, entry: E) {
        let bucket = Self::bucket_of(self.family, entry.addr());
        self.buckets[bucket].push(entry);
        self.entries += 1;
    }

    /// Entries actually held.
    pub(crate) fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    /// Run every timer firing due by `now`.
    pub(crate) fn advance(&mut self, now: Duration) {
        let Some(mut next) = self.next_check else {
            self.next_check = Some(now + CHECK_EXPIRE_INTERVAL);
            return;
        };
        while next <= now {
            if self.len() == 0 {
                // Nothing can expire, so the remaining firings can be
                // counted instead of run: a full check circles the rover
                // back to where it was, and the counter either walks its
                // 30-step cycle or, above the size limit, stays put after
                // any pending full check.
                let firings = (now - next).as_secs() / CHECK_EXPIRE_INTERVAL.as_secs() + 1;
                if self.entries <= MAX_SIZE {
                    let steps = (firings % u64::from(COUNT_FOR_FULL_EXPIRATION)) as u32;
                    self.counter = (self.counter - 1 + steps) % COUNT_FOR_FULL_EXPIRATION + 1;
                } else if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
                    self.counter = 1;
                }
                let skipped =
                    Duration::from_secs(firings.saturating_mul(CHECK_EXPIRE_INTERVAL.as_secs()));
                next = next
                    .checked_add(skipped)
                    .unwrap_or(now + CHECK_EXPIRE_INTERVAL);
                break;
            }
            self.check_expire(next);
            next += CHECK_EXPIRE_INTERVAL;
        }
        self.next_check = Some(next);
    }

    /// `ip_vs_lblc_check_expire()` at time `now`.
    fn check_expire(&mut self, now: Duration) {
        if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
            self.full_check(now);
            self.counter = 1;
            return;
        }
        if self.entries <= MAX_SIZE {
            self.counter += 1;
            return;
        }
        let mut goal = ((self.entries - MAX_SIZE) * 4 / 3).min(MAX_SIZE / 2);
        let mut j = self.rover;
        for _ in 0..TABLE_SIZE {
            j = (j + 1) & TABLE_MASK;
            let before = self.buckets[j].len();
            self.buckets[j].retain(|e| now < e.last_use() + ENTRY_TIMEOUT);
            let removed = (before - self.buckets[j].len()) as i64;
            self.entries -= removed;
            goal -= removed;
            if goal <= 0 {
                break;
            }
        }
        self.rover = j;
    }

    /// `ip_vs_lblc_full_check()`.
    fn full_check(&mut self, now: Duration) {
        let expiration = self.expiration;
        let mut j = self.rover;
        for _ in 0..TABLE_SIZE {
            j = (j + 1) & TABLE_MASK;
            let before = self.buckets[j].len();
            self.buckets[j].retain(|e| now < e.last_use() + expiration);
            self.entries -= (before - self.buckets[j].len()) as i64;
        }
        self.rover = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[derive(Debug)]
    struct E(IpAddr, Duration);

    impl CacheEntry for E {
        fn addr(&self) -> IpAddr {
            self.0
        }
        fn last_use(&self) -> Duration {
            self.1
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn addr(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0xc000_0000 + n))
    }

    #[test]
    fn expired_entries_go_only_at_the_thirtieth_timer_run() {
        let mut t: LocalityTable<E> = LocalityTable::new(Family::Inet);
        t.expiration = secs(100);
        t.advance(secs(0)); // arms the timer: first run at 60 s
        t.insert(E(addr(1), secs(0)));
        t.advance(secs(1799));
        assert_eq!(t.len(), 1, "runs 1..29 do not look at the entry");
        t.advance(secs(1800));
        assert_eq!(t.len(), 0, "run 30 is the full check");
        assert_eq!(t.entries, 0);
    }

    #[test]
    fn over_the_size_limit_stale_entries_go_four_thirds_of_the_excess() {
        let mut t: LocalityTable<E> = LocalityTable::new(Family::Inet);
        t.advance(secs(0));
        let total = MAX_SIZE as u32 + 300;
        for n in 0..total {
            t.insert(E(addr(n), secs(0)));
        }
        t.advance(secs(359));
        assert_eq!(t.len(), total as usize, "nothing is 6 minutes old yet");
        t.advance(secs(360));
        let removed = total as usize - t.len();
        // Whole buckets go until 400 entries are gone.
        assert!((400..600).contains(&removed), "removed {removed}");
        assert_eq!(t.entries, i64::from(total) - removed as i64);
    }

    #[test]
    fn a_long_idle_gap_is_counted_not_looped() {
        let mut t: LocalityTable<E> = LocalityTable::new(Family::Inet);
        t.advance(secs(0));
        t.advance(secs(10 * 365 * 24 * 3600));
        t.insert(E(addr(1), secs(10 * 365 * 24 * 3600)));
        assert_eq!(t.len(), 1);
    }
}
