//! One virtual router: its state, timers and counters, and one handler per
//! input. Every transition goes through `enter_*`, which logs in
//! keepalived's words, emits the side effects in keepalived's order and
//! runs the notify scripts.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

mod effects;
#[cfg(test)]
mod tests;

use super::receive::{self, Received};
use super::{
    Event, InstanceConfig, InstanceSnapshot, NoticeState, NotifyKind, State, Stats, Timestamp,
    VrrpAction,
};
use crate::config::model::vrrp::InitialState;
use crate::vrrp::packet::{Advertisement, Version};

/// RFC 3768 §5.3.4: the address owner's priority.
const PRIORITY_OWNER: u8 = 255;
/// RFC 3768 §5.3.4: a master that stops sends priority 0.
const PRIORITY_STOP: u8 = 0;

/// One `vrrp_instance` running.
#[derive(Debug, Clone)]
pub struct Instance {
    config: InstanceConfig,
    sync_group: Option<String>,
    state: State,
    /// A sync-group member whose Master_Down timer expired waits here
    /// until every member wants MASTER (keepalived: prefer BACKUP).
    wants_master: bool,
    base_priority: u8,
    /// The operator's priority, in place of the configured one.
    operator_priority: Option<u8>,
    effective_priority: u8,
    track_delta: i32,
    faults: Vec<String>,
    group_fault: bool,
    /// RFC 5798 §6.1: Master_Adver_Interval, learnt from the master (µs).
    master_adver_int: u64,
    master_address: Option<IpAddr>,
    master_priority: Option<u8>,
    local_address: Option<IpAddr>,
    advert_due: Option<Timestamp>,
    master_down_due: Option<Timestamp>,
    garp_delay_due: Option<Timestamp>,
    garp_refresh_due: Option<Timestamp>,
    /// The second sets after lower-priority adverts
    /// (`garp_lower_prio_delay`), earliest first: each advert has its own.
    lower_prio_garp_due: VecDeque<Timestamp>,
    /// The next `garp_extra_if` round.
    garp_extra_due: Option<Timestamp>,
    preempt_at: Option<Timestamp>,
    hold_until: Option<Timestamp>,
    last_transition: Option<Timestamp>,
    /// `auth_type AH`: the last Authentication Header sequence number sent
    /// or accepted (keepalived keeps one counter per instance for both).
    ah_sequence: u32,
    stats: Stats,
}

impl Instance {
    pub fn new(config: InstanceConfig) -> Self {
        let master_adver_int = micros(config.advert_interval);
        Self {
            base_priority: config.priority,
            operator_priority: None,
            effective_priority: config.priority,
            local_address: config.unicast_src,
            config,
            sync_group: None,
            state: State::Initialize,
            wants_master: false,
            track_delta: 0,
            faults: Vec::new(),
            group_fault: false,
            master_adver_int,
            master_address: None,
            master_priority: None,
            advert_due: None,
            master_down_due: None,
            garp_delay_due: None,
            garp_refresh_due: None,
            lower_prio_garp_due: VecDeque::new(),
            garp_extra_due: None,
            preempt_at: None,
            hold_until: None,
            last_transition: None,
            ah_sequence: 0,
            stats: Stats::default(),
        }
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// Whether a sync group holds this member back from MASTER.
    pub fn wants_master(&self) -> bool {
        self.wants_master && self.state == State::Backup
    }

    /// Whether this instance's own trackers fault it (not the group's).
    pub fn has_own_fault(&self) -> bool {
        !self.faults.is_empty()
    }

    /// Whether a sync group holds this member in FAULT.
    pub fn group_fault(&self) -> bool {
        self.group_fault
    }

    pub(crate) fn set_sync_group(&mut self, group: Option<String>) {
        self.sync_group = group;
    }

    /// The earliest timer; call `handle(deadline, Event::Tick)` then.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        [
            self.advert_due,
            self.master_down_due,
            self.garp_delay_due,
            self.garp_refresh_due,
            self.lower_prio_garp_due.front().copied(),
            self.garp_extra_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn snapshot(&self) -> InstanceSnapshot {
        let mut fault_reasons = self.faults.clone();
        if self.group_fault {
            fault_reasons.push("sync group member in FAULT".into());
        }
        InstanceSnapshot {
            name: self.config.name.clone(),
            state: self.state,
            vrid: self.config.vrid,
            version: self.config.version.number(),
            interface: self.config.interface.clone(),
            base_priority: self.base_priority,
            operator_priority: self.operator_priority,
            effective_priority: self.effective_priority,
            master_address: match self.state {
                State::Master => self.local_address,
                _ => self.master_address,
            },
            master_priority: match self.state {
                State::Master => Some(self.effective_priority),
                _ => self.master_priority,
            },
            vips: self.config.vips.iter().map(|vip| vip.address).collect(),
            sync_group: self.sync_group.clone(),
            fault_reasons,
            hold_until: self.hold_until,
            last_transition: self.last_transition,
            stats: self.stats,
        }
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, now: Timestamp, event: Event) -> Vec<VrrpAction> {
        let mut out = Vec::new();
        match event {
            Event::Startup => self.on_startup(now, &mut out),
            Event::Shutdown => self.on_shutdown(now, NotifyKind::Stop, &mut out),
            Event::Delete => {
                // keepalived.conf(5) `notify_deleted`: DELETED instead of
                // the default FAULT. keepalived 2.2.7 runs `notify` with
                // FAULT then, but not `notify_fault` (recorded).
                let kind = if self.config.notify.deleted.is_some() {
                    NotifyKind::Deleted
                } else {
                    NotifyKind::DeletedAsFault
                };
                self.on_shutdown(now, kind, &mut out);
            }
            Event::AdvertReceived {
                from,
                to,
                ttl,
                payload,
                ah_prefix,
            } => {
                let received = Received {
                    from,
                    to,
                    ttl,
                    payload: &payload,
                    ah_prefix: ah_prefix.as_deref(),
                    check_addresses: true,
                };
                self.on_advert(now, received, &mut out)
            }
            Event::Tick => self.on_tick(now, &mut out),
            Event::Tracking { delta, faults } => self.on_tracking(now, delta, faults, &mut out),
            Event::GroupFault(fault) => {
                self.group_fault = fault;
                self.reconcile_fault(now, &mut out);
            }
            Event::ForceFailover { hold } => self.on_force_failover(now, hold, &mut out),
            Event::SetPriority(priority) => self.on_set_priority(now, priority, &mut out),
            Event::LocalAddress(address) => {
                self.local_address = self.config.unicast_src.or(address);
            }
            Event::SyncGoMaster => {
                if self.wants_master() {
                    self.enter_master(now, &mut out);
                }
            }
            Event::SyncGoBackup => {
                if self.state == State::Master {
                    self.enter_backup(now, "", &mut out);
                }
            }
        }
        out
    }

    // RFC 5798 §6.4.1: Initialize.
    fn on_startup(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        if self.state != State::Initialize {
            return;
        }
        if self.is_faulty() {
            self.enter_fault(now, out);
        } else if self.base_priority == PRIORITY_OWNER
            && self.config.initial_state == InitialState::Master
        {
            // The address owner goes straight to MASTER.
            self.enter_master(now, out);
        } else {
            // keepalived 2.2.7 logs "(VI_1) Entering BACKUP STATE (init)"
            // for every other start, `state MASTER` included, and sends its
            // first advert one Master_Down_Interval later (measured in a
            // namespace: 3.65 s for priority 100 with either state; 0.02 s
            // for the owner).
            self.enter_backup(now, " (init)", out);
        }
    }

    fn on_shutdown(&mut self, now: Timestamp, kind: NotifyKind, out: &mut Vec<VrrpAction>) {
        if self.state == State::Initialize {
            return;
        }
        if self.state == State::Master {
            // RFC 3768 §6.4.3: send an ADVERTISEMENT with Priority = 0.
            self.send_advert(PRIORITY_STOP, out);
            self.remove_vips(out);
            self.stats.release_master += 1;
        }
        self.clear_timers();
        self.change(now, State::Initialize, out);
        self.notify(kind, out);
    }

    fn on_advert(&mut self, now: Timestamp, mut received: Received<'_>, out: &mut Vec<VrrpAction>) {
        let from = received.from;
        received.check_addresses = match self.state {
            State::Backup => !self.config.skip_check_adv_addr || self.master_address != Some(from),
            State::Master => true,
            State::Initialize | State::Fault => return,
        };
        let Some(advert) = receive::check(
            &self.config,
            &mut self.stats,
            &mut self.ah_sequence,
            &received,
            out,
        ) else {
            return;
        };
        match self.state {
            State::Backup => self.backup_received(now, from, &advert, out),
            State::Master => self.master_received(now, from, &advert, out),
            State::Initialize | State::Fault => {}
        }
    }

    // RFC 5798 §6.4.2 (Backup), "If an ADVERTISEMENT is received".
    fn backup_received(
        &mut self,
        now: Timestamp,
        from: IpAddr,
        advert: &Advertisement,
        out: &mut Vec<VrrpAction>,
    ) {
        let holding = self.hold_until.is_some_and(|until| now < until);
        if advert.priority == PRIORITY_STOP {
            // Set Master_Down_Timer to Skew_Time.
            self.master_down_due = Some(now.plus_us(self.skew()));
            return;
        }
        let preempt_delayed =
            !self.config.preempt_delay.is_zero() && self.preempt_at.is_none_or(|at| at > now);
        if self.config.nopreempt
            || advert.priority >= self.effective_priority
            || preempt_delayed
            || holding
        {
            if self.config.version == Version::V3 {
                let theirs = u64::from(advert.interval) * 10_000;
                if theirs != self.master_adver_int {
                    self.log(
                        format!(
                            "advertisement interval updated from {}ms to {}ms by master",
                            self.master_adver_int / 1000,
                            theirs / 1000
                        ),
                        out,
                    );
                    self.master_adver_int = theirs;
                }
            }
            self.master_down_due = Some(now.plus_us(self.master_down_interval()));
            self.master_address = Some(from);
            self.master_priority = Some(advert.priority);
            if !self.config.preempt_delay.is_zero() {
                if advert.priority >= self.effective_priority {
                    self.preempt_at = None;
                } else if self.preempt_at.is_none() {
                    self.preempt_at = Some(now.plus(self.config.preempt_delay));
                }
            }
            self.wants_master = false;
        } else {
            // Preempt: discard, and let Master_Down_Timer run out.
            self.log(
                format!(
                    "received lower priority ({}) advert from {from} - discarding",
                    advert.priority
                ),
                out,
            );
            self.master_address = Some(from);
        }
    }

    // RFC 5798 §6.4.3 (Master), "If an ADVERTISEMENT is received".
    fn master_received(
        &mut self,
        now: Timestamp,
        from: IpAddr,
        advert: &Advertisement,
        out: &mut Vec<VrrpAction>,
    ) {
        if advert.priority == PRIORITY_STOP {
            // Send an ADVERTISEMENT at once so the stopping router's
            // backups hear a master.
            self.send_advert(self.effective_priority, out);
            return;
        }
        let ours = self.effective_priority;
        let address_order = self
            .local_address
            .map_or(Ordering::Equal, |local| compare_addresses(from, local));
        if advert.priority == ours {
            if address_order == Ordering::Equal {
                self.log(
                    "WARNING - equal priority advert received from remote host with our IP address."
                        .into(),
                    out,
                );
            } else if ours == PRIORITY_OWNER {
                self.log("CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority".into(), out);
                self.base_priority = PRIORITY_OWNER - 1;
                self.effective_priority = PRIORITY_OWNER - 1;
            }
        }
        let ours = self.effective_priority;
        if advert.priority < ours || (advert.priority == ours && address_order == Ordering::Less) {
            self.log(
                format!(
                    "Received advert from {from} with lower priority {}, ours {ours}, forcing new election",
                    advert.priority
                ),
                out,
            );
            self.answer_lower_priority(now, out);
            if advert.priority < ours {
                // keepalived.conf(5) `notify_master_rx_lower_pri`; the
                // FIFO line goes out with or without the script.
                self.notify(NotifyKind::MasterRxLowerPri, out);
            }
        } else if advert.priority > ours || address_order == Ordering::Greater {
            let line = if advert.priority > ours {
                format!(
                    "Master received advert from {from} with higher priority {}, ours {ours}",
                    advert.priority
                )
            } else {
                format!(
                    "Master received advert from {from} with same priority {} but higher IP address than ours",
                    advert.priority
                )
            };
            if self.config.higher_prio_send_advert {
                // keepalived.conf(5) `higher_prio_send_advert`: the other
                // master hears our lower priority and announces its VIPs
                // again (its `garp_lower_prio_*`), in case ours were the
                // last gratuitous ARPs its segment saw.
                self.send_advert(ours, out);
            }
            self.log(line, out);
            if self.config.version == Version::V3 {
                self.master_adver_int = u64::from(advert.interval) * 10_000;
            }
            self.master_address = Some(from);
            self.master_priority = Some(advert.priority);
            self.enter_backup(now, "", out);
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        let due = |deadline: Option<Timestamp>| deadline.is_some_and(|at| at <= now);
        match self.state {
            State::Master => {
                if due(self.advert_due) {
                    self.send_advert(self.effective_priority, out);
                    self.advert_due = Some(now.plus(self.config.advert_interval));
                }
                if due(self.garp_delay_due) {
                    self.garp_delay_due = None;
                    self.gratuitous(self.config.garp.master_repeat, out);
                }
                if due(self.garp_refresh_due) {
                    self.garp_refresh_due = Some(now.plus(self.config.garp.master_refresh));
                    self.gratuitous(self.config.garp.master_refresh_repeat, out);
                }
                while due(self.lower_prio_garp_due.front().copied()) {
                    self.lower_prio_garp_due.pop_front();
                    self.gratuitous(self.config.garp.lower_prio_repeat, out);
                }
                if due(self.garp_extra_due) {
                    self.garp_extra_due = Some(now.plus(self.config.garp.extra_if));
                    self.gratuitous_extra_if(out);
                }
            }
            State::Backup if due(self.master_down_due) => {
                if let Some(until) = self.hold_until.filter(|until| now < *until) {
                    // A forced failover keeps us BACKUP until `until`.
                    self.master_down_due = Some(until);
                } else if self.sync_group.is_some() {
                    // keepalived waits until every member of the group
                    // wants MASTER; the node decides.
                    self.wants_master = true;
                    self.master_down_due = Some(now.plus_us(self.master_down_interval()));
                } else {
                    self.enter_master(now, out);
                }
            }
            _ => {}
        }
    }

    fn on_tracking(
        &mut self,
        now: Timestamp,
        delta: i32,
        faults: Vec<String>,
        out: &mut Vec<VrrpAction>,
    ) {
        self.track_delta = delta;
        self.faults = faults;
        self.update_effective_priority(out);
        self.reconcile_fault(now, out);
    }

    /// Base priority plus the trackers' delta. keepalived keeps a tracked
    /// priority within 1-254; the owner's 255 is not adjusted.
    fn update_effective_priority(&mut self, out: &mut Vec<VrrpAction>) {
        let effective = if self.base_priority == PRIORITY_OWNER {
            PRIORITY_OWNER
        } else {
            let sum = i32::from(self.base_priority) + self.track_delta;
            u8::try_from(sum.clamp(1, 254)).unwrap_or(1)
        };
        if effective != self.effective_priority {
            self.log(
                format!(
                    "Changing effective priority from {} to {effective}",
                    self.effective_priority
                ),
                out,
            );
            self.effective_priority = effective;
            if self.config.notify.priority_changes && self.state != State::Initialize {
                let state = if self.state == State::Master {
                    NoticeState::MasterPriority
                } else {
                    NoticeState::BackupPriority
                };
                self.notice(state, out);
            }
        }
    }

    fn on_set_priority(&mut self, now: Timestamp, priority: Option<u8>, out: &mut Vec<VrrpAction>) {
        // 0 and 255 are the protocol's own (RFC 5798 §5.2.4); the caller
        // refuses them, and they are clamped here all the same.
        let priority = priority.map(|p| p.clamp(1, PRIORITY_OWNER - 1));
        self.operator_priority = priority;
        self.base_priority = priority.unwrap_or(self.config.priority);
        let line = match priority {
            Some(p) => format!(
                "operator set priority {p} (configured {})",
                self.config.priority
            ),
            None => format!(
                "operator cleared priority: back to configured {}",
                self.config.priority
            ),
        };
        self.log(line, out);
        let before = self.effective_priority;
        self.update_effective_priority(out);
        if self.state == State::Master && self.effective_priority != before {
            // Tell the peers now rather than at the next interval.
            self.send_advert(self.effective_priority, out);
            self.advert_due = Some(now.plus(self.config.advert_interval));
        }
    }

    fn on_force_failover(&mut self, now: Timestamp, hold: Duration, out: &mut Vec<VrrpAction>) {
        let until = now.plus(hold);
        self.hold_until = Some(until);
        self.log(
            format!(
                "forced failover: staying BACKUP for {:.3}s",
                hold.as_secs_f64()
            ),
            out,
        );
        if self.state == State::Master {
            self.send_advert(PRIORITY_STOP, out);
            self.enter_backup(now, "", out);
        }
    }

    fn is_faulty(&self) -> bool {
        !self.faults.is_empty() || self.group_fault
    }

    fn reconcile_fault(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        let faulty = self.is_faulty();
        match self.state {
            State::Backup | State::Master if faulty => self.enter_fault(now, out),
            State::Fault if !faulty => {
                self.master_adver_int = micros(self.config.advert_interval);
                if self.base_priority == PRIORITY_OWNER {
                    self.enter_master(now, out);
                } else {
                    self.enter_backup(now, "", out);
                }
            }
            _ => {}
        }
    }

    fn enter_master(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        // keepalived sends the advert first so the old master drops the
        // VIPs before our gratuitous ARPs go out.
        self.send_advert(self.effective_priority, out);
        self.change(now, State::Master, out);
        self.add_vips(out);
        self.gratuitous(self.config.garp.master_repeat, out);
        self.notify(NotifyKind::Master, out);
        self.stats.became_master += 1;
        self.wants_master = false;
        self.master_down_due = None;
        self.preempt_at = None;
        self.advert_due = Some(now.plus(self.config.advert_interval));
        self.garp_delay_due = (!self.config.garp.master_delay.is_zero())
            .then(|| now.plus(self.config.garp.master_delay));
        self.garp_refresh_due = (!self.config.garp.master_refresh.is_zero())
            .then(|| now.plus(self.config.garp.master_refresh));
        self.lower_prio_garp_due.clear();
        self.garp_extra_due = (!self.config.garp.extra_if.is_zero()
            && !self.extra_if_addresses().is_empty())
        .then(|| now.plus(self.config.garp.extra_if));
    }

    /// A master heard a lower priority (RFC 5798 §6.4.3: "discard"): by
    /// default keepalived answers with an advert of its own at once and
    /// counts its advert interval from that one; `lower_prio_no_advert`
    /// keeps quiet and the interval runs on. Either way the VIPs are
    /// announced again (`garp_lower_prio_repeat` now, as many again after
    /// `garp_lower_prio_delay`), since the other router may have been
    /// master for a moment and the segment may have learnt its MAC.
    fn answer_lower_priority(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        if !self.config.lower_prio_no_advert {
            self.send_advert(self.effective_priority, out);
            self.advert_due = Some(now.plus(self.config.advert_interval));
        }
        let garp = self.config.garp;
        self.gratuitous(garp.lower_prio_repeat, out);
        if garp.lower_prio_repeat > 0 && !garp.lower_prio_delay.is_zero() {
            // A second lower-priority advert within the delay leaves the
            // first one's set in place (keepalived 2.2.7, two adverts
            // 2.2 s apart: 5 GARPs after each, and 5 more 5 s after each).
            self.lower_prio_garp_due
                .push_back(now.plus(garp.lower_prio_delay));
        }
    }

    fn enter_backup(&mut self, now: Timestamp, suffix: &str, out: &mut Vec<VrrpAction>) {
        let was_master = self.state == State::Master;
        if was_master {
            self.stats.release_master += 1;
        }
        self.change_with(now, State::Backup, suffix, out);
        if was_master {
            self.remove_vips(out);
        }
        self.notify(NotifyKind::Backup, out);
        self.clear_timers();
        self.preempt_at = None;
        self.wants_master = false;
        self.master_down_due = Some(now.plus_us(self.master_down_interval()));
    }

    fn enter_fault(&mut self, now: Timestamp, out: &mut Vec<VrrpAction>) {
        if self.state == State::Master {
            self.send_advert(PRIORITY_STOP, out);
            self.stats.release_master += 1;
            self.change(now, State::Fault, out);
            self.remove_vips(out);
        } else {
            self.change(now, State::Fault, out);
        }
        self.notify(NotifyKind::Fault, out);
        self.clear_timers();
        self.wants_master = false;
    }

    fn change(&mut self, now: Timestamp, to: State, out: &mut Vec<VrrpAction>) {
        self.change_with(now, to, "", out);
    }

    fn change_with(&mut self, now: Timestamp, to: State, suffix: &str, out: &mut Vec<VrrpAction>) {
        let from = self.state;
        if to != State::Initialize {
            self.log(format!("Entering {} STATE{suffix}", to.keyword()), out);
        }
        self.state = to;
        self.last_transition = Some(now);
        out.push(VrrpAction::StateChanged {
            instance: self.config.name.clone(),
            from,
            to,
        });
    }

    fn clear_timers(&mut self) {
        self.advert_due = None;
        self.master_down_due = None;
        self.garp_delay_due = None;
        self.garp_refresh_due = None;
        self.lower_prio_garp_due.clear();
        self.garp_extra_due = None;
    }

    /// RFC 3768 §6.1 Skew_Time = (256 - Priority) / 256 s; RFC 5798 §6.1
    /// Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
    fn skew(&self) -> u64 {
        super::skew_time_us(
            self.config.version,
            self.effective_priority,
            self.master_adver_int,
        )
    }

    /// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
    fn master_down_interval(&self) -> u64 {
        super::master_down_interval_us(
            self.config.version,
            self.effective_priority,
            self.master_adver_int,
        )
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// RFC 5798 §6.4.3: the primary addresses compared as unsigned integers
/// (network byte order); addresses of different families never tie-break.
fn compare_addresses(theirs: IpAddr, ours: IpAddr) -> Ordering {
    match (theirs, ours) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.cmp(&b),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.cmp(&b),
        _ => Ordering::Equal,
    }
}
