//! Reload: a runner built from a new configuration takes over the state of
//! the previous runner wherever the checking did not change, so a reload
//! (SIGHUP) neither resets a down real server to up nor sends its alerts
//! again (DESIGN.md §3: "reload is a diff, not a restart, and must keep
//! checker state"; keepalived keeps a real server's state across a reload
//! when its checkers compare equal).
//!
//! A real server keeps its state when the new configuration has a real
//! server of the same name in a virtual server of the same name, with the
//! same checkers in the same order (same kind and options, same target,
//! same effective timing). A virtual server of the same name keeps its
//! quorum and sorry-server state. Everything else starts afresh, as at
//! start-up. Pure state copying: no I/O, no clock.

use std::collections::HashMap;
use std::time::Duration;

use super::actions::CheckerId;
use super::Runner;

/// What [`Runner::inherit`] took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inherited {
    pub checkers: usize,
    pub real_servers: usize,
    pub virtual_servers: usize,
}

impl Runner {
    /// Takes over the state of `previous` (the runner of the configuration
    /// being replaced) for everything that did not change; see the module
    /// docs. Call before [`Runner::start`], with times on the same clock as
    /// `previous` (the driver keeps its epoch across a reload). Does
    /// nothing once started.
    pub fn inherit(&mut self, previous: &Runner) -> Inherited {
        let mut inherited = Inherited::default();
        if self.started {
            return inherited;
        }
        self.inherited_checkers = vec![false; self.checkers.len()];
        self.inherited_virtual_servers = vec![false; self.virtual_servers.len()];

        let old_real_servers: HashMap<(&str, &str), usize> = previous
            .plan
            .real_servers
            .iter()
            .enumerate()
            .map(|(index, rs)| {
                let vs = previous.plan.virtual_servers[rs.vs].name.as_str();
                ((vs, rs.name.as_str()), index)
            })
            .collect();
        for rs_plan in &self.plan.real_servers {
            let vs_name = self.plan.virtual_servers[rs_plan.vs].name.as_str();
            let Some(&old_rs) = old_real_servers.get(&(vs_name, rs_plan.name.as_str())) else {
                continue;
            };
            let old_checkers = &previous.plan.real_servers[old_rs].checkers;
            if !self.same_checking(&rs_plan.checkers, previous, old_checkers) {
                continue;
            }
            for (new_id, old_id) in rs_plan.checkers.iter().zip(old_checkers) {
                let mut state = previous.checkers[old_id.index()].clone();
                // An attempt cut short by the reload runs again at once.
                if state.in_flight.take().is_some() {
                    state.due = None;
                    state.retry_it = state.retry_it.min(self.plan.checkers[new_id.index()].timing.retry);
                }
                self.checkers[new_id.index()] = state;
                self.inherited_checkers[new_id.index()] = true;
                inherited.checkers += 1;
            }
            inherited.real_servers += 1;
        }

        let old_virtual_servers: HashMap<&str, usize> = previous
            .plan
            .virtual_servers
            .iter()
            .enumerate()
            .map(|(index, vs)| (vs.name.as_str(), index))
            .collect();
        for (new_vs, plan) in self.plan.virtual_servers.iter().enumerate() {
            let Some(&old_vs) = old_virtual_servers.get(plan.name.as_str()) else {
                continue;
            };
            let old = &previous.virtual_servers[old_vs];
            if old.stopped {
                continue;
            }
            let state = &mut self.virtual_servers[new_vs];
            state.quorum_up = old.quorum_up;
            state.sorry_active = old.sorry_active && plan.sorry.is_some();
            self.inherited_virtual_servers[new_vs] = true;
            inherited.virtual_servers += 1;
        }
        inherited
    }

    /// Whether two lists of checkers check the same way.
    fn same_checking(&self, new: &[CheckerId], previous: &Runner, old: &[CheckerId]) -> bool {
        new.len() == old.len()
            && new.iter().zip(old).all(|(n, o)| {
                let (np, op) = (
                    &self.plan.checkers[n.index()],
                    &previous.plan.checkers[o.index()],
                );
                np.kind == op.kind
                    && np.timing == op.timing
                    && np.timeout == op.timeout
                    && self.plan.targets[n.index()] == previous.plan.targets[o.index()]
            })
    }

    /// When an inherited checker runs next: when it was due, or now if
    /// that has passed or its attempt was cut short.
    pub(super) fn resume(&mut self, id: CheckerId, now: Duration) -> Duration {
        let state = &mut self.checkers[id.index()];
        let due = state.due.take().unwrap_or(now).max(now);
        state.in_flight = None;
        due
    }

    /// A real server's weight at start: what its checkers ask for
    /// (an inherited `misc_dynamic` weight), else the configured one.
    pub(super) fn resume_weight(&mut self, rs: usize) {
        let plan = &self.plan.real_servers[rs];
        let weight = plan
            .checkers
            .iter()
            .find_map(|id| self.checkers[id.index()].weight)
            .unwrap_or(plan.weight);
        self.real_servers[rs].weight = weight;
    }
}
