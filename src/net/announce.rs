//! When a VRRP master announces its VIPs: a sans-I/O schedule of gratuitous
//! ARPs (IPv4) and unsolicited neighbour advertisements (IPv6) with
//! keepalived's settings and defaults (keepalived.conf(5), `global_defs`).
//!
//! | keepalived keyword                | default | meaning                                       |
//! |-----------------------------------|---------|-----------------------------------------------|
//! | `vrrp_garp_master_delay`          | 5 s     | second set after becoming MASTER; 0 = none    |
//! | `vrrp_garp_master_repeat`         | 5       | messages per VIP in each set                  |
//! | `vrrp_garp_lower_prio_delay`      | = master_delay  | second set after a lower-priority advert |
//! | `vrrp_garp_lower_prio_repeat`     | = master_repeat | messages per VIP in those sets           |
//! | `vrrp_garp_master_refresh`        | 0 (off) | repeat period while MASTER                    |
//! | `vrrp_garp_master_refresh_repeat` | 1       | messages per VIP at each refresh              |
//! | `vrrp_garp_interval`              | 0       | minimum gap between two ARPs; 0 = none        |
//! | `vrrp_gna_interval`               | 0       | minimum gap between two NAs; 0 = none         |
//!
//! The VRRP daemon resolves these settings per instance (with
//! `vrrp_min_garp`, strict mode and the instance's own `garp_*` keywords)
//! in `vrrp::machine::GarpTiming`, whose state machine decides when each set
//! is due; it uses this schedule to pace one set. Within a set, the
//! messages go round the VIPs `repeat` times (VIP 1, VIP 2, VIP 1, VIP 2…),
//! as keepalived sends them. The intervals space messages of one kind;
//! keepalived applies them per interface, so an engine with several
//! instances on one interface should share one schedule per interface if
//! it needs that exactly.
//!
//! The schedule answers "what to send at which instant" for an injected
//! clock: any time type that can be compared and moved forward by a
//! `Duration` (`std::time::Instant`, `tokio::time::Instant`, or a plain
//! `Duration` since some origin in tests). It never sleeps or sends.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Add;
use std::time::Duration;

/// keepalived's gratuitous ARP / NA settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceSettings {
    /// `vrrp_garp_master_delay`: when the second set follows the first
    /// after becoming MASTER; zero sends no second set.
    pub master_delay: Duration,
    /// `vrrp_garp_master_repeat`: messages per VIP in each set.
    pub master_repeat: u32,
    /// `vrrp_garp_lower_prio_delay`.
    pub lower_prio_delay: Duration,
    /// `vrrp_garp_lower_prio_repeat`.
    pub lower_prio_repeat: u32,
    /// `vrrp_garp_master_refresh`: period of refresh sets while MASTER;
    /// zero turns refreshing off.
    pub master_refresh: Duration,
    /// `vrrp_garp_master_refresh_repeat`: messages per VIP in each refresh.
    pub master_refresh_repeat: u32,
    /// `vrrp_garp_interval`: minimum gap between two gratuitous ARPs.
    pub garp_interval: Duration,
    /// `vrrp_gna_interval`: minimum gap between two neighbour adverts.
    pub gna_interval: Duration,
}

impl Default for AnnounceSettings {
    /// keepalived's defaults (keepalived.conf(5)).
    fn default() -> Self {
        Self {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
        }
    }
}

impl AnnounceSettings {
    /// `vrrp_min_garp`: one message per VIP and no second set.
    pub fn min_garp(self) -> Self {
        Self {
            master_delay: Duration::ZERO,
            master_repeat: 1,
            lower_prio_delay: Duration::ZERO,
            lower_prio_repeat: 1,
            ..self
        }
    }
}

/// What starts a round of announcements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The instance entered MASTER (RFC 5798 §6.4.1/§6.4.2).
    BecameMaster,
    /// As MASTER, it received an advert of lower priority: another router
    /// may have briefly been master too, so announce again (keepalived's
    /// `garp_lower_prio_*`).
    LowerPriorityAdvert,
}

/// Which message announces a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnnounceKind {
    /// Gratuitous ARP (IPv4 VIP).
    Garp,
    /// Unsolicited neighbour advertisement (IPv6 VIP).
    UnsolicitedNa,
}

impl AnnounceKind {
    /// The message that announces `vip`.
    pub fn for_vip(vip: IpAddr) -> Self {
        match vip {
            IpAddr::V4(_) => Self::Garp,
            IpAddr::V6(_) => Self::UnsolicitedNa,
        }
    }

    fn slot(self) -> usize {
        match self {
            Self::Garp => 0,
            Self::UnsolicitedNa => 1,
        }
    }
}

/// One message to send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement<T> {
    /// The instant it was due.
    pub at: T,
    /// The VIP to announce.
    pub vip: IpAddr,
    /// ARP or NA.
    pub kind: AnnounceKind,
}

/// Messages of one kind waiting to go, ordered by the earliest instant each
/// may leave and then by the order they were queued.
#[derive(Debug, Clone)]
struct Lane<T> {
    pending: BTreeMap<(T, u64), IpAddr>,
    last_sent: Option<T>,
    interval: Duration,
}

impl<T: Copy + Ord + Add<Duration, Output = T>> Lane<T> {
    fn new(interval: Duration) -> Self {
        Self {
            pending: BTreeMap::new(),
            last_sent: None,
            interval,
        }
    }

    /// When the next message of this lane leaves, spacing included.
    fn next_due(&self) -> Option<T> {
        let (&(earliest, _), _) = self.pending.first_key_value()?;
        Some(match self.last_sent {
            Some(last) if !self.interval.is_zero() => earliest.max(last + self.interval),
            _ => earliest,
        })
    }
}

/// The announcement schedule of one VRRP instance (or one interface).
#[derive(Debug, Clone)]
pub struct AnnounceSchedule<T> {
    settings: AnnounceSettings,
    vips: Vec<IpAddr>,
    lanes: [Lane<T>; 2],
    next_refresh: Option<T>,
    sequence: u64,
}

impl<T: Copy + Ord + Add<Duration, Output = T>> AnnounceSchedule<T> {
    /// An idle schedule for `vips` (in configuration order).
    pub fn new(settings: AnnounceSettings, vips: Vec<IpAddr>) -> Self {
        Self {
            settings,
            vips,
            lanes: [
                Lane::new(settings.garp_interval),
                Lane::new(settings.gna_interval),
            ],
            next_refresh: None,
            sequence: 0,
        }
    }

    /// Replaces the VIP list (after a reload); later sets use the new one.
    pub fn set_vips(&mut self, vips: Vec<IpAddr>) {
        self.vips = vips;
    }

    /// Starts a round at `now`: a first set at once and a second set after
    /// the delay. `BecameMaster` also (re)starts the refresh period;
    /// `LowerPriorityAdvert` leaves it running. Pending messages of an
    /// earlier round are replaced.
    pub fn start(&mut self, trigger: Trigger, now: T) {
        let (delay, repeat) = match trigger {
            Trigger::BecameMaster => (self.settings.master_delay, self.settings.master_repeat),
            Trigger::LowerPriorityAdvert => (
                self.settings.lower_prio_delay,
                self.settings.lower_prio_repeat,
            ),
        };
        for lane in &mut self.lanes {
            lane.pending.clear();
        }
        self.enqueue_set(now, repeat);
        if !delay.is_zero() {
            self.enqueue_set(now + delay, repeat);
        }
        if trigger == Trigger::BecameMaster {
            let refresh = self.settings.master_refresh;
            self.next_refresh = (!refresh.is_zero()).then(|| now + refresh);
        }
    }

    /// Forgets everything pending: the instance left MASTER.
    pub fn stop(&mut self) {
        for lane in &mut self.lanes {
            lane.pending.clear();
        }
        self.next_refresh = None;
    }

    /// When [`AnnounceSchedule::poll`] next has something to return.
    pub fn next_deadline(&self) -> Option<T> {
        self.lanes
            .iter()
            .filter_map(Lane::next_due)
            .chain(self.next_refresh)
            .min()
    }

    /// Everything due at or before `now`, in sending order.
    pub fn poll(&mut self, now: T) -> Vec<Announcement<T>> {
        let refresh = self.settings.master_refresh;
        while let Some(at) = self.next_refresh.filter(|at| *at <= now) {
            self.enqueue_set(at, self.settings.master_refresh_repeat);
            self.next_refresh = Some(at + refresh);
        }
        let mut due = Vec::new();
        for (slot, kind) in [AnnounceKind::Garp, AnnounceKind::UnsolicitedNa]
            .into_iter()
            .enumerate()
        {
            let lane = &mut self.lanes[slot];
            while let Some(at) = lane.next_due().filter(|at| *at <= now) {
                let Some(((_, seq), vip)) = lane.pending.pop_first() else {
                    break;
                };
                lane.last_sent = Some(at);
                due.push((at, seq, Announcement { at, vip, kind }));
            }
        }
        due.sort_by_key(|&(at, seq, _)| (at, seq));
        due.into_iter().map(|(_, _, a)| a).collect()
    }

    fn enqueue_set(&mut self, at: T, repeat: u32) {
        for _ in 0..repeat {
            for &vip in &self.vips {
                let lane = &mut self.lanes[AnnounceKind::for_vip(vip).slot()];
                lane.pending.insert((at, self.sequence), vip);
                self.sequence += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Runs the schedule like an engine would: poll at each deadline until
    /// `until`, collecting (seconds, vip) pairs.
    fn run(schedule: &mut AnnounceSchedule<Duration>, until: f64) -> Vec<(f64, IpAddr)> {
        let mut out = Vec::new();
        while let Some(at) = schedule.next_deadline().filter(|at| *at <= s(until)) {
            for a in schedule.poll(at) {
                out.push(((a.at.as_secs_f64() * 1e6).round() / 1e6, a.vip));
            }
        }
        out
    }

    #[test]
    fn defaults_are_keepalived_defaults() {
        let d = AnnounceSettings::default();
        assert_eq!(d.master_delay, s(5.0));
        assert_eq!(d.master_repeat, 5);
        assert_eq!(d.master_refresh, Duration::ZERO);
        assert_eq!(d.master_refresh_repeat, 1);
        assert_eq!(d.garp_interval, Duration::ZERO);
        assert_eq!(d.gna_interval, Duration::ZERO);
    }

    #[test]
    fn new_master_sends_five_now_and_five_more_after_five_seconds() {
        let vip = ip("198.51.100.88");
        let mut sched = AnnounceSchedule::new(AnnounceSettings::default(), vec![vip]);
        sched.start(Trigger::BecameMaster, s(10.0));
        let sent = run(&mut sched, 100.0);
        let expected: Vec<_> = [10.0; 5]
            .iter()
            .chain(&[15.0; 5])
            .map(|t| (*t, vip))
            .collect();
        assert_eq!(sent, expected);
        assert_eq!(sched.next_deadline(), None, "nothing after the second set");
    }

    #[test]
    fn sets_go_round_the_vips_and_pick_arp_or_na_by_family() {
        let (a, b) = (ip("198.51.100.88"), ip("2001:db8::88"));
        let settings = AnnounceSettings {
            master_repeat: 2,
            master_delay: Duration::ZERO,
            ..AnnounceSettings::default()
        };
        let mut sched = AnnounceSchedule::new(settings, vec![a, b]);
        sched.start(Trigger::BecameMaster, s(0.0));
        let sent = sched.poll(s(0.0));
        let order: Vec<_> = sent.iter().map(|x| (x.vip, x.kind)).collect();
        assert_eq!(
            order,
            vec![
                (a, AnnounceKind::Garp),
                (b, AnnounceKind::UnsolicitedNa),
                (a, AnnounceKind::Garp),
                (b, AnnounceKind::UnsolicitedNa)
            ]
        );
    }

    #[test]
    fn garp_interval_spaces_arps_but_not_nas() {
        let (a, b, v6) = (ip("198.51.100.88"), ip("198.51.100.89"), ip("2001:db8::88"));
        let settings = AnnounceSettings {
            master_repeat: 2,
            master_delay: Duration::ZERO,
            garp_interval: s(0.1),
            ..AnnounceSettings::default()
        };
        let mut sched = AnnounceSchedule::new(settings, vec![a, b, v6]);
        sched.start(Trigger::BecameMaster, s(1.0));
        let sent = run(&mut sched, 10.0);
        assert_eq!(
            sent,
            vec![(1.0, a), (1.0, v6), (1.0, v6), (1.1, b), (1.2, a), (1.3, b)]
        );
    }

    #[test]
    fn gna_interval_spaces_nas() {
        let v6 = ip("2001:db8::88");
        let settings = AnnounceSettings {
            master_repeat: 3,
            master_delay: Duration::ZERO,
            gna_interval: s(0.5),
            ..AnnounceSettings::default()
        };
        let mut sched = AnnounceSchedule::new(settings, vec![v6]);
        sched.start(Trigger::BecameMaster, s(0.0));
        assert_eq!(run(&mut sched, 10.0), vec![(0.0, v6), (0.5, v6), (1.0, v6)]);
    }

    #[test]
    fn refresh_repeats_while_master_until_stopped() {
        let vip = ip("198.51.100.88");
        let settings = AnnounceSettings {
            master_delay: Duration::ZERO,
            master_repeat: 1,
            master_refresh: s(60.0),
            master_refresh_repeat: 2,
            ..AnnounceSettings::default()
        };
        let mut sched = AnnounceSchedule::new(settings, vec![vip]);
        sched.start(Trigger::BecameMaster, s(0.0));
        let sent = run(&mut sched, 130.0);
        assert_eq!(
            sent,
            vec![
                (0.0, vip),
                (60.0, vip),
                (60.0, vip),
                (120.0, vip),
                (120.0, vip)
            ]
        );
        assert_eq!(sched.next_deadline(), Some(s(180.0)));
        sched.stop();
        assert_eq!(sched.next_deadline(), None);
        assert!(sched.poll(s(1000.0)).is_empty());
    }

    #[test]
    fn late_poll_catches_up_on_every_missed_refresh() {
        let vip = ip("198.51.100.88");
        let settings = AnnounceSettings {
            master_refresh: s(10.0),
            ..AnnounceSettings::default().min_garp()
        };
        let mut sched = AnnounceSchedule::new(settings, vec![vip]);
        sched.start(Trigger::BecameMaster, s(0.0));
        let at: Vec<_> = sched.poll(s(35.0)).iter().map(|a| a.at).collect();
        assert_eq!(at, vec![s(0.0), s(10.0), s(20.0), s(30.0)]);
    }

    #[test]
    fn min_garp_sends_one_and_no_second_set() {
        let vip = ip("198.51.100.88");
        let mut sched = AnnounceSchedule::new(AnnounceSettings::default().min_garp(), vec![vip]);
        sched.start(Trigger::BecameMaster, s(2.0));
        assert_eq!(run(&mut sched, 100.0), vec![(2.0, vip)]);
    }

    #[test]
    fn lower_priority_advert_uses_its_own_settings_and_keeps_refresh() {
        let vip = ip("198.51.100.88");
        let settings = AnnounceSettings {
            master_delay: Duration::ZERO,
            master_repeat: 1,
            lower_prio_delay: s(3.0),
            lower_prio_repeat: 2,
            master_refresh: s(100.0),
            ..AnnounceSettings::default()
        };
        let mut sched = AnnounceSchedule::new(settings, vec![vip]);
        sched.start(Trigger::BecameMaster, s(0.0));
        assert_eq!(sched.poll(s(0.0)).len(), 1);
        sched.start(Trigger::LowerPriorityAdvert, s(50.0));
        let sent = run(&mut sched, 99.0);
        assert_eq!(
            sent,
            vec![(50.0, vip), (50.0, vip), (53.0, vip), (53.0, vip)]
        );
        assert_eq!(sched.next_deadline(), Some(s(100.0)), "refresh period kept");
    }

    #[test]
    fn leaving_master_cancels_the_second_set() {
        let vip = ip("198.51.100.88");
        let mut sched = AnnounceSchedule::new(AnnounceSettings::default(), vec![vip]);
        sched.start(Trigger::BecameMaster, s(0.0));
        assert_eq!(sched.poll(s(1.0)).len(), 5);
        sched.stop();
        assert!(sched.poll(s(10.0)).is_empty());
    }

    #[test]
    fn works_with_real_instants() {
        let vip = ip("198.51.100.88");
        let start = std::time::Instant::now();
        let mut sched = AnnounceSchedule::new(AnnounceSettings::default(), vec![vip]);
        sched.start(Trigger::BecameMaster, start);
        assert_eq!(sched.poll(start).len(), 5);
        assert_eq!(sched.next_deadline(), Some(start + s(5.0)));
    }
}
