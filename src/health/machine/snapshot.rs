//! The console's view of every checker (its shape lives in
//! [`crate::northbound::checks`]): target, kind, state, latency, reason,
//! consecutive failures and since when, built on demand from the
//! runner's state.

use std::borrow::Cow;

use super::actions::CheckerId;
use super::HealthMachine;
use crate::northbound::checks::{CheckerView, HealthSnapshot, RealServerView, VirtualServerView};

impl HealthMachine {
    /// Every virtual server, real server and checker as they stand.
    pub fn snapshot(&self) -> HealthSnapshot {
        let virtual_servers = self
            .plan
            .virtual_servers
            .iter()
            .enumerate()
            .map(|(vs, plan)| VirtualServerView {
                name: plan.name.clone(),
                quorum_up: self.virtual_servers[vs].quorum_up,
                quorum: plan.quorum,
                hysteresis: plan.hysteresis,
                weight_sum: self.weight_sum(vs),
                sorry_server: plan.sorry.as_ref().map(|s| s.name.clone()),
                sorry_server_active: self.virtual_servers[vs].sorry_active,
                real_servers: plan
                    .real_servers
                    .clone()
                    .map(|rs| self.real_server_view(rs))
                    .collect(),
            })
            .collect();
        HealthSnapshot { virtual_servers }
    }

    fn real_server_view(&self, rs: usize) -> RealServerView {
        let plan = &self.plan.real_servers[rs];
        RealServerView {
            name: plan.name.clone(),
            address: plan.address.to_string(),
            up: self.real_servers[rs].alive,
            weight: self.real_servers[rs].weight,
            inhibit_on_failure: plan.inhibit,
            checkers: plan
                .checkers
                .iter()
                .map(|&id| self.checker_view(id))
                .collect(),
        }
    }

    /// One checker as the console shows it.
    pub fn checker_view(&self, id: CheckerId) -> CheckerView {
        let state = &self.checkers[id.index()];
        let plan = &self.plan.checkers[id.index()];
        CheckerView {
            id,
            kind: Cow::Borrowed(plan.kind.keyword()),
            target: self.plan.targets[id.index()].connect.to_string(),
            up: state.up,
            checked: state.has_run,
            running: state.in_flight.is_some(),
            consecutive_failures: state.consecutive_failures,
            reason: (state.consecutive_failures > 0)
                .then(|| state.last_reason.as_ref().map(ToString::to_string))
                .flatten(),
            latency: state.last_latency,
            since: state.since,
            last_check: state.last_check,
            flaps: state.flaps,
        }
    }
}
