//! A `track_process` block (keepalived.conf(5) "VRRP track processes"):
//! which processes to count and how many make the tracker up. Plain data
//! and keepalived's defaults; never reads the process table.

use std::time::Duration;

use super::super::{RawSetting, Text};
use crate::config::source::Spanned;

/// `param_match initial|partial`, or how the absence of the keyword reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamMatch {
    /// No `param_match`: the parameters given must be all the process has
    /// (none given: parameters are not looked at).
    #[default]
    Unset,
    /// `partial`: the first n parameters match exactly; more may follow.
    Partial,
    /// `initial`: as `partial`, but the last configured parameter need
    /// only start the process's parameter.
    Initial,
}

/// One `track_process` (or `vrrp_track_process`) block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackProcess {
    pub name: Text,
    /// `process NAME [PARAM ...]`: the name (or path) first.
    pub process: Option<Spanned<Vec<String>>>,
    pub param_match: Option<Spanned<ParamMatch>>,
    pub weight: Option<Spanned<i32>>,
    /// `weight N reverse`.
    pub reverse: bool,
    pub quorum: Option<Spanned<u32>>,
    pub quorum_max: Option<Spanned<u32>>,
    pub fork_delay: Option<Spanned<Duration>>,
    pub terminate_delay: Option<Spanned<Duration>>,
    pub full_command: bool,
    pub other: Vec<RawSetting>,
}

impl TrackProcess {
    /// keepalived.conf(5): "default weight (default is 1)".
    pub fn effective_weight(&self) -> i32 {
        self.weight.map_or(1, |weight| weight.value)
    }

    /// "minimum number of processes for success": one by default.
    pub fn effective_quorum(&self) -> u32 {
        self.quorum.map_or(1, |quorum| quorum.value)
    }

    /// "maximum number of processes for success": no limit by default.
    pub fn effective_quorum_max(&self) -> u32 {
        self.quorum_max.map_or(u32::MAX, |max| max.value)
    }

    pub fn effective_fork_delay(&self) -> Duration {
        self.fork_delay.map_or(Duration::ZERO, |d| d.value)
    }

    pub fn effective_terminate_delay(&self) -> Duration {
        self.terminate_delay.map_or(Duration::ZERO, |d| d.value)
    }

    /// The process name (or path) and the parameters to match.
    pub fn command(&self) -> Option<(&str, &[String])> {
        let words = &self.process.as_ref()?.value;
        let (first, params) = words.split_first()?;
        Some((first.as_str(), params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_man_page() {
        let t = TrackProcess::default();
        assert_eq!(t.effective_weight(), 1);
        assert_eq!(t.effective_quorum(), 1);
        assert_eq!(t.effective_quorum_max(), u32::MAX);
        assert_eq!(t.effective_fork_delay(), Duration::ZERO);
        assert!(t.command().is_none());
    }
}
