//! One `track_process` as a state machine: the count of matching
//! processes in, up or down out, with keepalived.conf(5)'s quorum,
//! quorum_max, fork_delay and terminate_delay. Time comes in as a value;
//! a pending change is a deadline the caller wakes the tracker at.

use std::time::Duration;

use super::pattern::ProcessPattern;
use crate::config::model::vrrp::TrackProcess;
use crate::vrrp::machine::Timestamp;
use crate::vrrp::track::ScriptStatus;

/// One `track_process` block's state.
#[derive(Debug, Clone)]
pub struct ProcessTracker {
    pub name: String,
    /// `None` when the block has no `process` line: never counted.
    pub pattern: Option<ProcessPattern>,
    pub weight: i32,
    pub reverse: bool,
    quorum: u32,
    quorum_max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    status: ScriptStatus,
    count: Option<u32>,
    /// A change waiting for its delay: the status it leads to, and when.
    pending: Option<(ScriptStatus, Timestamp)>,
}

impl ProcessTracker {
    pub fn from_model(model: &TrackProcess) -> Self {
        Self {
            name: model.name.value.clone(),
            pattern: ProcessPattern::from_model(model),
            weight: model.effective_weight(),
            reverse: model.reverse,
            quorum: model.effective_quorum(),
            quorum_max: model.effective_quorum_max(),
            fork_delay: model.effective_fork_delay(),
            terminate_delay: model.effective_terminate_delay(),
            status: ScriptStatus::Init,
            count: None,
            pending: None,
        }
    }

    /// Up, down, or `Init` before the first count.
    pub fn status(&self) -> ScriptStatus {
        self.status
    }

    /// The last count observed.
    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// When a pending change takes effect.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.pending.map(|(_, at)| at)
    }

    /// "Quorum is the number of matching processes that must be run for
    /// an OK status"; `quorum_max` caps it.
    fn wanted(&self, count: u32) -> ScriptStatus {
        if (self.quorum..=self.quorum_max).contains(&count) {
            ScriptStatus::Good
        } else {
            ScriptStatus::Bad
        }
    }

    /// A new count at `now`. The first count decides at once (the
    /// process table as found at start); later changes wait `fork_delay`
    /// (quorum gained) or `terminate_delay` (quorum lost), and a count
    /// that returns to the current status within the delay cancels it.
    /// Returns the new status and a log line when it changed now.
    pub fn observe(&mut self, now: Timestamp, count: u32) -> Option<(ScriptStatus, String)> {
        self.count = Some(count);
        let wanted = self.wanted(count);
        if self.status == ScriptStatus::Init {
            return Some(self.settle(wanted));
        }
        if wanted == self.status {
            self.pending = None;
            return None;
        }
        let delay = if wanted == ScriptStatus::Good {
            self.fork_delay
        } else {
            self.terminate_delay
        };
        if delay.is_zero() {
            return Some(self.settle(wanted));
        }
        if self.pending.map(|(to, _)| to) != Some(wanted) {
            self.pending = Some((wanted, now.plus(delay)));
        }
        None
    }

    /// Applies a pending change whose delay has run out.
    pub fn tick(&mut self, now: Timestamp) -> Option<(ScriptStatus, String)> {
        let (to, at) = self.pending?;
        (at <= now).then(|| self.settle(to))
    }

    fn settle(&mut self, to: ScriptStatus) -> (ScriptStatus, String) {
        self.pending = None;
        self.status = to;
        let count = self.count.unwrap_or(0);
        let verdict = if to == ScriptStatus::Good {
            "up"
        } else {
            "down"
        };
        let max = if self.quorum_max == u32::MAX {
            String::from("any")
        } else {
            self.quorum_max.to_string()
        };
        let line = format!(
            "Track_process({}) {verdict}: {count} matching process(es), quorum {}-{max}",
            self.name, self.quorum
        );
        (to, line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::{Location, Spanned};

    fn tracker(quorum: Option<u32>, max: Option<u32>, fork: u64, term: u64) -> ProcessTracker {
        let at = Location::default();
        let model = TrackProcess {
            name: Spanned::new("tp".into(), at),
            quorum: quorum.map(|q| Spanned::new(q, at)),
            quorum_max: max.map(|q| Spanned::new(q, at)),
            fork_delay: Some(Spanned::new(Duration::from_secs(fork), at)),
            terminate_delay: Some(Spanned::new(Duration::from_secs(term), at)),
            ..TrackProcess::default()
        };
        ProcessTracker::from_model(&model)
    }

    fn secs(s: u64) -> Timestamp {
        Timestamp::from_duration(Duration::from_secs(s))
    }

    #[test]
    fn the_first_count_decides_at_once_and_one_process_is_the_default_quorum() {
        let mut t = tracker(None, None, 5, 5);
        let (status, line) = t.observe(secs(0), 1).unwrap();
        assert_eq!(status, ScriptStatus::Good);
        assert_eq!(
            line,
            "Track_process(tp) up: 1 matching process(es), quorum 1-any"
        );
        let mut t = tracker(None, None, 5, 5);
        assert_eq!(t.observe(secs(0), 0).unwrap().0, ScriptStatus::Bad);
    }

    #[test]
    fn outside_quorum_and_quorum_max_is_down() {
        let mut t = tracker(Some(2), Some(3), 0, 0);
        assert_eq!(t.observe(secs(0), 1).unwrap().0, ScriptStatus::Bad);
        assert_eq!(t.observe(secs(1), 2).unwrap().0, ScriptStatus::Good);
        assert_eq!(t.observe(secs(2), 3), None);
        assert_eq!(t.observe(secs(3), 4).unwrap().0, ScriptStatus::Bad);
        // quorum_max 0: down whenever the process runs at all.
        let mut none = tracker(Some(0), Some(0), 0, 0);
        assert_eq!(none.observe(secs(0), 0).unwrap().0, ScriptStatus::Good);
        assert_eq!(none.observe(secs(1), 1).unwrap().0, ScriptStatus::Bad);
    }

    #[test]
    fn terminate_delay_holds_a_loss_and_a_return_in_time_cancels_it() {
        let mut t = tracker(None, None, 2, 3);
        t.observe(secs(0), 1);
        assert_eq!(t.observe(secs(10), 0), None);
        assert_eq!(t.deadline(), Some(secs(13)));
        assert_eq!(t.tick(secs(12)), None);
        // Restarted within the delay: no change, nothing pending.
        assert_eq!(t.observe(secs(12), 1), None);
        assert_eq!(t.deadline(), None);
        assert_eq!(t.tick(secs(20)), None);
        assert_eq!(t.status(), ScriptStatus::Good);
        // Lost for good: down once the delay is over.
        t.observe(secs(30), 0);
        assert_eq!(t.tick(secs(33)).unwrap().0, ScriptStatus::Bad);
        // Back: up only after fork_delay.
        assert_eq!(t.observe(secs(40), 1), None);
        assert_eq!(t.deadline(), Some(secs(42)));
        assert_eq!(t.tick(secs(42)).unwrap().0, ScriptStatus::Good);
    }

    #[test]
    fn another_count_on_the_same_side_keeps_the_first_deadline() {
        let mut t = tracker(Some(2), None, 0, 3);
        t.observe(secs(0), 2);
        t.observe(secs(1), 1);
        t.observe(secs(2), 0);
        assert_eq!(t.deadline(), Some(secs(4)));
    }
}
