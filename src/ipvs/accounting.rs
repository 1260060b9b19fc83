//! Connection accounting on a destination, with the kernel's overload
//! hysteresis, for the dataplanes to call as connections come and go.
//!
//! It reproduces `net/netfilter/ipvs/ip_vs_conn.c` and `ip_vs_ctl.c`:
//! - `ip_vs_bind_dest`: a new connection counts as active or inactive (a
//!   persistence template as persistent); then, with an upper threshold,
//!   reaching `active + inactive >= upper` sets the overload flag.
//! - `ip_vs_unbind_dest`: the counter drops; then the flag clears when the
//!   total is below the lower threshold, or, with no lower threshold, when
//!   `total * 4 < upper * 3`; with no thresholds at all it always clears.
//!   Templates run the same test (their count is not part of the total).
//! - `set_tcp_state` moving a connection between active and inactive only
//!   moves the counters; the flag is left alone.
//! - `__ip_vs_update_dest` (an edit): the flag clears when the new upper
//!   threshold is 0 or higher than the old one, and is otherwise kept, even
//!   if the total now stands below the new thresholds (it clears at the
//!   next unbind).
//!
//! Counters are the kernel's ints held as `u32`: they saturate at 0 rather
//! than going negative. The threshold arithmetic is the kernel's unsigned
//! 32-bit arithmetic. Nothing here tells the scheduler: after
//! [`Dest::set_config`] the caller still reports
//! [`DestChange::Updated`](crate::ipvs::sched::DestChange).

use super::model::{Dest, DestConfig};

impl Dest {
    /// A new connection was bound to this destination (`ip_vs_bind_dest`).
    /// `active` is whether it starts active: the kernel binds new
    /// connections inactive and TCP then turns them active on its first
    /// state change, so most callers pass `false` and then call
    /// [`Dest::connection_became_active`]; synced connections keep theirs.
    pub fn connection_bound(&mut self, active: bool) {
        if active {
            self.active = self.active.saturating_add(1);
        } else {
            self.inactive = self.inactive.saturating_add(1);
        }
        self.check_upper_threshold();
    }

    /// A persistence template was bound to this destination.
    pub fn template_bound(&mut self) {
        self.persistent = self.persistent.saturating_add(1);
        self.check_upper_threshold();
    }

    /// A connection bound here expired (`ip_vs_unbind_dest`); `was_active`
    /// is whether it counted as active when it went.
    pub fn connection_unbound(&mut self, was_active: bool) {
        if was_active {
            self.active = self.active.saturating_sub(1);
        } else {
            self.inactive = self.inactive.saturating_sub(1);
        }
        self.check_lower_threshold();
    }

    /// A persistence template bound here expired.
    pub fn template_unbound(&mut self) {
        self.persistent = self.persistent.saturating_sub(1);
        self.check_lower_threshold();
    }

    /// A connection left the active states (e.g. TCP FIN): it now counts as
    /// inactive. The overload flag is not re-evaluated, as in the kernel.
    pub fn connection_became_inactive(&mut self) {
        self.active = self.active.saturating_sub(1);
        self.inactive = self.inactive.saturating_add(1);
    }

    /// A connection entered an active state (e.g. TCP SYN/ESTABLISHED).
    pub fn connection_became_active(&mut self) {
        self.inactive = self.inactive.saturating_sub(1);
        self.active = self.active.saturating_add(1);
    }

    /// Apply an edit of weight, thresholds or forwarding
    /// (`__ip_vs_update_dest`): the overload flag clears when the upper
    /// threshold is removed or raised.
    pub fn set_config(&mut self, config: DestConfig) {
        if config.upper_threshold == 0 || config.upper_threshold > self.config.upper_threshold {
            self.overloaded = false;
        }
        self.config = config;
    }

    /// The end of `ip_vs_bind_dest`.
    fn check_upper_threshold(&mut self) {
        let upper = self.config.upper_threshold;
        if upper != 0 && self.total_conns() >= upper {
            self.overloaded = true;
        }
    }

    /// The end of `ip_vs_unbind_dest`.
    fn check_lower_threshold(&mut self) {
        let total = self.total_conns();
        let lower = self.config.lower_threshold;
        let upper = self.config.upper_threshold;
        if lower != 0 {
            if total < lower {
                self.overloaded = false;
            }
        } else if upper != 0 {
            if total.wrapping_mul(4) < upper.wrapping_mul(3) {
                self.overloaded = false;
            }
        } else {
            self.overloaded = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ipvs::model::{Dest, DestConfig, Forward};

    fn dest(upper: u32, lower: u32) -> Dest {
        let mut config = DestConfig::new("10.0.0.1:80".parse().unwrap(), Forward::Route, 1);
        config.upper_threshold = upper;
        config.lower_threshold = lower;
        Dest::new(config)
    }

    #[test]
    fn reaching_the_upper_threshold_sets_overload() {
        let mut d = dest(3, 0);
        d.connection_bound(false);
        d.connection_bound(true);
        assert!(!d.overloaded);
        d.connection_bound(false);
        assert!(d.overloaded, "3 connections reach upper 3");
    }

    #[test]
    fn without_lower_threshold_it_clears_below_three_quarters_of_upper() {
        let mut d = dest(8, 0);
        for _ in 0..8 {
            d.connection_bound(false);
        }
        assert!(d.overloaded);
        d.connection_unbound(false); // 7: 28 < 24? no
        d.connection_unbound(false); // 6: 24 < 24? no
        assert!(d.overloaded);
        d.connection_unbound(false); // 5: 20 < 24
        assert!(!d.overloaded);
    }

    #[test]
    fn with_lower_threshold_it_clears_strictly_below_it() {
        let mut d = dest(4, 2);
        for _ in 0..4 {
            d.connection_bound(true);
        }
        assert!(d.overloaded);
        d.connection_unbound(true); // 3
        d.connection_unbound(true); // 2: not < 2
        assert!(d.overloaded);
        d.connection_unbound(true); // 1
        assert!(!d.overloaded);
    }

    #[test]
    fn without_thresholds_any_unbind_clears_the_flag() {
        let mut d = dest(0, 0);
        d.overloaded = true;
        d.connection_bound(false);
        assert!(d.overloaded, "bind never clears");
        d.connection_unbound(false);
        assert!(!d.overloaded);
    }

    #[test]
    fn state_changes_move_counters_but_not_the_flag() {
        let mut d = dest(2, 0);
        d.connection_bound(false);
        d.connection_bound(false);
        assert!(d.overloaded);
        d.connection_became_active();
        assert_eq!((d.active, d.inactive), (1, 1));
        d.connection_became_inactive();
        assert_eq!((d.active, d.inactive), (0, 2));
        assert!(d.overloaded);
    }

    #[test]
    fn templates_count_as_persistent_and_do_not_add_to_the_total() {
        let mut d = dest(1, 0);
        d.template_bound();
        assert_eq!(d.persistent, 1);
        assert!(!d.overloaded, "templates are not in the total");
        d.connection_bound(false);
        assert!(d.overloaded);
        d.template_unbound();
        assert!(d.overloaded, "total 1: 4 < 3 is false");
    }

    #[test]
    fn editing_thresholds_clears_only_when_upper_is_removed_or_raised() {
        let mut d = dest(2, 0);
        d.connection_bound(false);
        d.connection_bound(false);
        assert!(d.overloaded);
        let mut lower_upper = d.config;
        lower_upper.upper_threshold = 1;
        d.set_config(lower_upper);
        assert!(d.overloaded, "lowering keeps the flag");
        let mut same = d.config;
        same.weight = 5;
        d.set_config(same);
        assert!(d.overloaded, "same upper keeps the flag");
        let mut raised = d.config;
        raised.upper_threshold = 10;
        d.set_config(raised);
        assert!(!d.overloaded, "raising clears it");
        d.overloaded = true;
        let mut removed = d.config;
        removed.upper_threshold = 0;
        d.set_config(removed);
        assert!(!d.overloaded, "removing clears it");
    }
}
