//! One checker's rules: retries, delays, and when a series of attempts
//! becomes a verdict (keepalived 2.2, the checkers' epilogue: a verdict
//! when the attempt succeeded or `retry` retries are used up; otherwise
//! another attempt after `delay_before_retry`).

use std::time::Duration;

use crate::config::model::lvs::CheckerKind;
use crate::health::outcome::{ProbeReport, Reason, Verdict};

use super::actions::{CheckAction, CheckerId, HealthEvent, LogLevel};
use super::{texts, HealthMachine};

impl HealthMachine {
    pub(super) fn on_result(&mut self, now: Duration, id: CheckerId, report: &ProbeReport) {
        let Some(state) = self.checkers.get_mut(id.index()) else {
            return;
        };
        let Some(started) = state.in_flight.take() else {
            return;
        };
        let plan = &self.plan.checkers[id.index()];
        let timing = plan.timing;
        state.last_check = Some(now);
        state.last_latency = Some(report.latency);
        let (success, reason, weight) = match &report.verdict {
            Verdict::Up => (true, None, None),
            Verdict::UpWithWeight { weight } => (true, None, Some(*weight)),
            Verdict::Down { reason } => (false, Some(reason.clone()), None),
        };
        if success {
            state.consecutive_failures = 0;
        } else {
            state.consecutive_failures = state.consecutive_failures.saturating_add(1);
            state.last_reason = reason.clone();
        }
        // misc_dynamic: exit 2..=255 sets the weight, exit 0 restores the
        // configured one (keepalived.conf(5), MISC_CHECK).
        if success {
            let dynamic =
                matches!(&plan.kind, CheckerKind::Misc(m) if m.dynamic.is_some_and(|d| d.value));
            let wanted = if dynamic {
                weight
            } else {
                weight.or(state.weight)
            };
            if wanted != state.weight {
                state.weight = wanted;
                self.apply_weight(self.plan.checkers[id.index()].rs, now);
            }
        }
        let state = &mut self.checkers[id.index()];
        let plan = &self.plan.checkers[id.index()];
        if let (false, Some(reason)) = (success, &reason) {
            if state.up {
                let rs = &self.plan.real_servers[plan.rs].name;
                let level = if plan.log_all_failures {
                    LogLevel::Info
                } else {
                    LogLevel::Debug
                };
                let line = texts::attempt_failure_line(&plan.kind, rs, reason);
                self.out.push(CheckAction::Log { level, line });
            }
        }
        let state = &mut self.checkers[id.index()];
        let delay = if success || state.retry_it >= timing.retry {
            state.retry_it = 0;
            let first = !state.has_run;
            if success && (!state.up || first) {
                self.verdict(id, true, None, now);
            } else if !success && (state.up || first) {
                self.verdict(id, false, reason.as_ref(), now);
            }
            timing.delay_loop
        } else {
            state.retry_it += 1;
            timing.delay_before_retry
        };
        let anchor = if self.plan.checkers[id.index()].anchor_at_start {
            started
        } else {
            now
        };
        self.checkers[id.index()].has_run = true;
        self.schedule(id, (anchor + delay).max(now));
    }

    /// A checker reached a verdict: log it, update the real server, alert.
    fn verdict(&mut self, id: CheckerId, up: bool, reason: Option<&Reason>, now: Duration) {
        let plan = &self.plan.checkers[id.index()];
        let rs_index = plan.rs;
        let rs_plan = &self.plan.real_servers[rs_index];
        let vs_name = &self.plan.virtual_servers[rs_plan.vs].name;
        let line = match reason {
            None => texts::success_line(&plan.kind, &rs_plan.name, vs_name, &plan.script),
            Some(reason) => {
                let retry = if self.checkers[id.index()].has_run {
                    plan.timing.retry
                } else {
                    0
                };
                texts::failure_line(
                    &plan.kind,
                    &rs_plan.name,
                    vs_name,
                    &plan.script,
                    retry,
                    reason,
                )
            }
        };
        self.out.push(CheckAction::Log {
            level: LogLevel::Info,
            line,
        });
        let checker_was_up = self.checkers[id.index()].up;
        let rs_was_alive = self.real_servers[rs_index].alive;
        self.update_checker_state(id, up, now);
        let rs_alive = self.real_servers[rs_index].alive;
        let changed = if up { !checker_was_up } else { checker_was_up };
        let rs_plan = &self.plan.real_servers[rs_index];
        if rs_plan.smtp_alert && changed && (rs_was_alive != rs_alive || !self.no_checker_emails) {
            let vs_name = &self.plan.virtual_servers[rs_plan.vs].name;
            let subject =
                texts::real_server_subject(&self.plan.router_id, &rs_plan.name, vs_name, rs_alive);
            let body = texts::alert_body(&self.plan.checkers[id.index()].kind, up, reason);
            self.out.push(CheckAction::SendAlert { subject, body });
        }
    }

    /// keepalived's update_svr_checker_state: the real server changes only
    /// when this checker is the last one failing (up) or the first (down).
    fn update_checker_state(&mut self, id: CheckerId, up: bool, now: Duration) {
        let rs_index = self.plan.checkers[id.index()].rs;
        let state = &self.checkers[id.index()];
        if state.up == up {
            // First verdict equal to the starting state: alpha checkers and
            // failures still tell the notify scripts.
            if !state.has_run && (self.plan.checkers[id.index()].timing.alpha || !up) {
                self.rs_notifies(rs_index);
            }
            self.checker_event(id, now);
            return;
        }
        let failed = self.real_servers[rs_index].failed_checkers;
        if up && failed <= 1 {
            self.set_real_server(rs_index, true, now);
        } else if !up && failed == 0 {
            self.set_real_server(rs_index, false, now);
        }
        let state = &mut self.checkers[id.index()];
        state.up = up;
        state.since = now;
        state.flaps += 1;
        let rs = &mut self.real_servers[rs_index];
        if up {
            rs.failed_checkers = rs.failed_checkers.saturating_sub(1);
        } else {
            rs.failed_checkers += 1;
        }
        self.checker_event(id, now);
    }

    fn checker_event(&mut self, id: CheckerId, _now: Duration) {
        let state = &self.checkers[id.index()];
        self.out.push(CheckAction::Event {
            event: HealthEvent::Checker {
                checker: id,
                up: state.up,
                consecutive_failures: state.consecutive_failures,
                reason: (!state.up)
                    .then(|| state.last_reason.as_ref().map(ToString::to_string))
                    .flatten(),
                latency: state.last_latency.unwrap_or_default(),
                since: state.since,
            },
        });
    }
}
