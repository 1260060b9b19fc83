//! Tracking, sans-I/O: `track_interface`, `track_script` (`vrrp_script`
//! with interval, timeout, weight, rise, fall), `track_file` and
//! `track_process` (its quorum state lives in [`crate::vrrp::process`]), turned into
//! a priority adjustment or a FAULT for the instances that track them
//! (keepalived.conf(5) "VRRP script(s)", "Track files", `track_interface`).
//!
//! Inputs are script outcomes, link states and file values the adapters
//! observe; this module never runs a script, reads a file or a link.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::model::vrrp::{TrackFile, Tracked, VrrpScript};
use crate::vrrp::machine::{ScriptCommand, Timestamp};

/// How one run of a `vrrp_script` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptOutcome {
    /// Exit status 0.
    Success,
    /// Exited non-zero (`None`: killed by a signal).
    Failure { status: Option<i32> },
    /// Still running after `timeout`: counts as a failure.
    Timeout,
}

/// A script's health as rise/fall decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptStatus {
    /// No result yet (keepalived's INIT): no effect on priority.
    Init,
    Good,
    Bad,
}

/// One `vrrp_script`: its schedule and rise/fall counting.
#[derive(Debug, Clone)]
pub struct ScriptTracker {
    pub name: String,
    pub command: Option<ScriptCommand>,
    pub interval: Duration,
    pub timeout: Duration,
    pub weight: i32,
    pub reverse: bool,
    rise: u32,
    fall: u32,
    status: ScriptStatus,
    successes: u32,
    failures: u32,
    pub(crate) next_run: Option<Timestamp>,
}

impl ScriptTracker {
    pub fn from_model(script: &VrrpScript) -> Self {
        Self {
            name: script.name.value.clone(),
            command: script.script.as_ref().map(ScriptCommand::from),
            interval: script.effective_interval(),
            timeout: script.effective_timeout(),
            weight: script.effective_weight(),
            reverse: script.reverse,
            rise: script.effective_rise().max(1),
            fall: script.effective_fall().max(1),
            status: if script.init_fail {
                ScriptStatus::Bad
            } else {
                ScriptStatus::Init
            },
            successes: 0,
            failures: 0,
            next_run: None,
        }
    }

    pub fn status(&self) -> ScriptStatus {
        self.status
    }

    /// Counts one outcome; returns the new status when it changed, with
    /// keepalived's log line.
    pub fn record(&mut self, outcome: ScriptOutcome) -> Option<(ScriptStatus, String)> {
        let name = &self.name;
        if outcome == ScriptOutcome::Success {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if self.status != ScriptStatus::Good
                && (self.status == ScriptStatus::Init || self.successes >= self.rise)
            {
                self.status = ScriptStatus::Good;
                return Some((self.status, format!("VRRP_Script({name}) succeeded")));
            }
            return None;
        }
        self.successes = 0;
        self.failures = self.failures.saturating_add(1);
        if self.status != ScriptStatus::Bad
            && (self.status == ScriptStatus::Init || self.failures >= self.fall)
        {
            self.status = ScriptStatus::Bad;
            let why = match outcome {
                ScriptOutcome::Failure { status: Some(code) } => {
                    format!("failed (exited with status {code})")
                }
                ScriptOutcome::Failure { status: None } => "failed (killed by a signal)".into(),
                ScriptOutcome::Timeout | ScriptOutcome::Success => "timed_out".into(),
            };
            return Some((self.status, format!("VRRP_Script({name}) {why}")));
        }
        None
    }
}

/// One `track_file`: the last value the adapter read.
#[derive(Debug, Clone)]
pub struct FileTracker {
    pub name: String,
    pub path: Option<String>,
    pub weight: i32,
    pub reverse: bool,
    pub value: i64,
}

impl FileTracker {
    pub fn from_model(file: &TrackFile) -> Self {
        Self {
            name: file.name.value.clone(),
            path: file.file.as_ref().map(|f| f.value.clone()),
            weight: file.effective_weight(),
            reverse: file.reverse,
            value: file
                .init_file
                .as_ref()
                .and_then(|init| init.value)
                .unwrap_or(0),
        }
    }
}

/// What a tracked object does to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Effect {
    pub delta: i32,
    pub faults: Vec<String>,
}

impl Effect {
    pub fn add(&mut self, other: Effect) {
        self.delta = self.delta.saturating_add(other.delta);
        self.faults.extend(other.faults);
    }
}

/// The weight and direction of one reference (`NAME weight N reverse`),
/// the reference's values winning over the object's own.
pub fn reference_weight(tracked: &Tracked, own_weight: i32, own_reverse: bool) -> i32 {
    let weight = tracked.weight.map_or(own_weight, |w| w.value);
    if tracked.reverse.unwrap_or(own_reverse) {
        -weight
    } else {
        weight
    }
}

/// keepalived.conf(5) `track_script`: weight 0 faults the instance while
/// the script fails; a positive weight is added while it succeeds, a
/// negative one while it fails.
pub fn script_effect(name: &str, status: ScriptStatus, weight: i32) -> Effect {
    match (status, weight) {
        (ScriptStatus::Bad, 0) => Effect {
            delta: 0,
            faults: vec![format!("track_script {name} failed")],
        },
        (ScriptStatus::Good, w) if w > 0 => Effect {
            delta: w,
            faults: vec![],
        },
        (ScriptStatus::Bad, w) if w < 0 => Effect {
            delta: w,
            faults: vec![],
        },
        _ => Effect::default(),
    }
}

/// keepalived.conf(5) `track_process`: as a script whose status is the
/// quorum; with weight 0 the instance faults while the tracker is down, or
/// with `reverse` while it is up ("'weight 0 reverse' will cause the vrrp
/// instance to be down when the quorum is up, and vice versa"). `weight`
/// already carries the direction of a non-zero `reverse`.
pub fn process_effect(name: &str, status: ScriptStatus, weight: i32, reverse: bool) -> Effect {
    if weight != 0 {
        return script_effect(name, status, weight);
    }
    let fault = match status {
        ScriptStatus::Init => None,
        ScriptStatus::Bad if !reverse => Some("down"),
        ScriptStatus::Good if reverse => Some("up (reverse)"),
        _ => None,
    };
    Effect {
        delta: 0,
        faults: fault
            .map(|why| vec![format!("track_process {name} {why}")])
            .unwrap_or_default(),
    }
}

/// `track_interface`: like a script whose status is the link state.
pub fn interface_effect(name: &str, up: bool, weight: i32) -> Effect {
    let status = if up {
        ScriptStatus::Good
    } else {
        ScriptStatus::Bad
    };
    match (up, weight) {
        (false, 0) => Effect {
            delta: 0,
            faults: vec![format!("interface {name} down")],
        },
        _ => script_effect(name, status, weight),
    }
}

/// `track_file`: weight 0 faults on any non-zero value; otherwise the
/// value times the weight is added, and a result of -254 or less faults.
pub fn file_effect(name: &str, value: i64, weight: i32) -> Effect {
    if weight == 0 {
        if value == 0 {
            return Effect::default();
        }
        return Effect {
            delta: 0,
            faults: vec![format!("track_file {name} value {value}")],
        };
    }
    let product = value.saturating_mul(i64::from(weight));
    if product <= -254 {
        return Effect {
            delta: 0,
            faults: vec![format!("track_file {name} value {value}")],
        };
    }
    Effect {
        delta: i32::try_from(product.clamp(-254, 254)).unwrap_or(0),
        faults: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(rise: u32, fall: u32) -> ScriptTracker {
        let mut script = VrrpScript::default();
        let at = crate::config::source::Location::default();
        script.name = crate::config::source::Spanned::new("chk".into(), at);
        script.rise = Some(crate::config::source::Spanned::new(rise, at));
        script.fall = Some(crate::config::source::Spanned::new(fall, at));
        ScriptTracker::from_model(&script)
    }

    #[test]
    fn fall_needs_that_many_consecutive_failures_after_good() {
        let mut t = tracker(2, 3);
        let fail = ScriptOutcome::Failure { status: Some(1) };
        assert_eq!(
            t.record(ScriptOutcome::Success).map(|s| s.0),
            Some(ScriptStatus::Good)
        );
        assert_eq!(t.record(fail), None);
        assert_eq!(t.record(fail), None);
        let (status, line) = t.record(fail).unwrap();
        assert_eq!(status, ScriptStatus::Bad);
        assert_eq!(line, "VRRP_Script(chk) failed (exited with status 1)");
        assert_eq!(t.record(ScriptOutcome::Success), None);
        assert_eq!(
            t.record(ScriptOutcome::Success).map(|s| s.0),
            Some(ScriptStatus::Good)
        );
    }

    #[test]
    fn weights_follow_the_man_page() {
        assert_eq!(script_effect("a", ScriptStatus::Good, 10).delta, 10);
        assert_eq!(script_effect("a", ScriptStatus::Bad, 10).delta, 0);
        assert_eq!(script_effect("a", ScriptStatus::Bad, -20).delta, -20);
        assert_eq!(script_effect("a", ScriptStatus::Init, -20).delta, 0);
        assert_eq!(script_effect("a", ScriptStatus::Bad, 0).faults.len(), 1);
        assert_eq!(
            interface_effect("eth1", false, 0).faults,
            vec!["interface eth1 down"]
        );
        assert_eq!(
            process_effect("p", ScriptStatus::Bad, 0, false).faults,
            vec!["track_process p down"]
        );
        assert!(process_effect("p", ScriptStatus::Bad, 0, true)
            .faults
            .is_empty());
        assert_eq!(
            process_effect("p", ScriptStatus::Good, 0, true)
                .faults
                .len(),
            1
        );
        assert_eq!(
            process_effect("p", ScriptStatus::Bad, -60, false).delta,
            -60
        );
        assert_eq!(process_effect("p", ScriptStatus::Good, 5, false).delta, 5);
        assert_eq!(file_effect("f", 3, -10).delta, -30);
        assert_eq!(file_effect("f", 30, -10).faults.len(), 1);
        assert_eq!(file_effect("f", 1, 0).faults.len(), 1);
    }
}
