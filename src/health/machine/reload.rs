//! Reload: a runner built from a new configuration takes over the state of
//! the previous runner wherever the checking did not change, so a reload
//! (SIGHUP) neither resets a down real server to up nor sends its alerts
//! again: a reload is a diff, not a restart, and keeps checker state, as
//! keepalived keeps a real server's state across a reload when its
//! checkers compare equal.
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
use super::HealthMachine;

/// What [`HealthMachine::inherit`] took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inherited {
    pub checkers: usize,
    pub real_servers: usize,
    pub virtual_servers: usize,
}

impl HealthMachine {
    /// Takes over the state of `previous` (the runner of the configuration
    /// being replaced) for everything that did not change; see the module
    /// docs. Call before [`HealthMachine::start`], with times on the same clock as
    /// `previous` (the driver keeps its epoch across a reload). Does
    /// nothing once started.
    pub fn inherit(&mut self, previous: &HealthMachine) -> Inherited {
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
                    state.retry_it = state
                        .retry_it
                        .min(self.plan.checkers[new_id.index()].timing.retry);
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
    fn same_checking(
        &self,
        new: &[CheckerId],
        previous: &HealthMachine,
        old: &[CheckerId],
    ) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{load_str, Options};
    use crate::health::machine::{CheckAction, CheckOptions, ProbeFinished};
    use crate::health::outcome::{ProbeReport, Reason, Verdict};
    use crate::ipvs::model::DestKey;

    fn config(extra_vs: &str, b_delay: u32) -> crate::config::model::Config {
        let text = format!(
            "global_defs {{\n router_id T\n smtp_alert\n}}\n\
             virtual_server 192.0.2.1 80 {{\n delay_loop 3\n lb_kind NAT\n protocol TCP\n\
             \x20real_server 127.0.0.2 80 {{\n  TCP_CHECK {{\n   connect_timeout 1\n  }}\n }}\n\
             \x20real_server 127.0.0.3 80 {{\n  TCP_CHECK {{\n   connect_timeout 1\n   delay_before_retry {b_delay}\n  }}\n }}\n\
             }}\n{extra_vs}"
        );
        let loaded = load_str(std::path::Path::new("t.conf"), &text, &Options::default());
        assert!(!loaded.has_errors());
        loaded.config
    }

    fn dests(runner: &HealthMachine) -> Vec<DestKey> {
        runner
            .desired()
            .iter()
            .flat_map(|s| s.dests.iter().map(|d| d.key))
            .collect()
    }

    /// Starts a runner and fails 127.0.0.3 until it is down; returns the
    /// runner and the time.
    fn with_b_down(config: &crate::config::model::Config) -> (HealthMachine, Duration) {
        let mut runner = HealthMachine::new(config, CheckOptions::default()).unwrap();
        runner.start(Duration::ZERO);
        let mut now = Duration::ZERO;
        for _ in 0..20 {
            now += Duration::from_millis(500);
            for action in runner.poll(now) {
                if let CheckAction::StartProbe { checker, .. } = action {
                    let down = runner.targets()[checker.index()].connect.port() == 80
                        && runner.targets()[checker.index()].connect.ip().to_string()
                            == "127.0.0.3";
                    let verdict = if down {
                        Verdict::Down {
                            reason: Reason::ConnectionRefused,
                        }
                    } else {
                        Verdict::Up
                    };
                    let report = ProbeReport {
                        verdict,
                        latency: Duration::from_millis(1),
                    };
                    runner.probe_finished(now, ProbeFinished { checker, report });
                }
            }
        }
        (runner, now)
    }

    fn flaps(runner: &HealthMachine) -> Vec<(String, u64)> {
        runner
            .snapshot()
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| rs.checkers.iter().map(|c| (rs.address.clone(), c.flaps)))
            .collect()
    }

    #[test]
    fn a_checker_counts_its_changes_of_verdict_and_a_reload_keeps_the_count() {
        let config = config("", 1);
        let (old, now) = with_b_down(&config);
        let counted = vec![
            ("127.0.0.2:80".to_string(), 0),
            ("127.0.0.3:80".to_string(), 1),
        ];
        assert_eq!(flaps(&old), counted);
        let mut new = HealthMachine::new(&config, CheckOptions::default()).unwrap();
        new.inherit(&old);
        new.start(now);
        assert_eq!(flaps(&new), counted);
    }

    #[test]
    fn a_reload_with_an_unrelated_change_keeps_a_down_real_server_down_silently() {
        let before = config("", 1);
        let (old, now) = with_b_down(&before);
        let b = DestKey {
            addr: "127.0.0.3".parse().unwrap(),
            port: 80,
        };
        assert!(
            !dests(&old).contains(&b),
            "127.0.0.3 is down before the reload"
        );

        let after = config(
            "virtual_server 192.0.2.9 80 {\n protocol TCP\n real_server 127.0.0.9 80 {\n }\n}\n",
            1,
        );
        let mut new = HealthMachine::new(&after, CheckOptions::default()).unwrap();
        let kept = new.inherit(&old);
        assert_eq!((kept.real_servers, kept.virtual_servers), (2, 1));
        let actions = new.start(now);
        assert!(
            !dests(&new).contains(&b),
            "still out of the table after the reload"
        );
        assert!(
            !actions.iter().any(|a| matches!(
                a,
                CheckAction::SendAlert { .. } | CheckAction::RunScript { .. }
            )),
            "no alert or script for a state that did not change: {actions:?}"
        );
        let view = new.snapshot();
        let rs = &view.virtual_servers[0].real_servers[1];
        assert!(!rs.up);
        assert_eq!(rs.checkers[0].reason.as_deref(), Some("connection refused"));
    }

    #[test]
    fn a_real_server_whose_checker_changed_starts_afresh() {
        let (old, now) = with_b_down(&config("", 1));
        let mut new = HealthMachine::new(&config("", 2), CheckOptions::default()).unwrap();
        let kept = new.inherit(&old);
        assert_eq!(kept.real_servers, 1, "only 127.0.0.2 kept its checker");
        new.start(now);
        let b = DestKey {
            addr: "127.0.0.3".parse().unwrap(),
            port: 80,
        };
        assert!(
            dests(&new).contains(&b),
            "a new checker starts up, as at start-up"
        );
    }
}
