//! The console's view of every checker: target, kind, state, latency,
//! reason, consecutive failures and since when. Built on demand from the
//! runner's state; serialisable for the control socket and `--json`, and
//! readable back by the client.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::actions::{from_millis, from_millis_opt, millis, millis_opt, CheckerId};
use super::Runner;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HealthSnapshot {
    pub virtual_servers: Vec<VirtualServerView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerView {
    /// keepalived's name: `[192.0.2.1]:tcp:80`, `FWM 7`, `[GROUP]:0`.
    pub name: String,
    pub quorum_up: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    /// Sum of the weights of the live real servers.
    pub weight_sum: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<String>,
    pub sorry_server_active: bool,
    pub real_servers: Vec<RealServerView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerView {
    pub name: String,
    /// Address and port as ipvsadm prints them (`192.0.2.1:80`,
    /// `[2001:db8::1]:80`).
    pub address: String,
    /// All checkers up.
    pub up: bool,
    /// Current weight (configured, or set by misc_dynamic).
    pub weight: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inhibit_on_failure: bool,
    /// Left out when empty (a real server without checkers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkers: Vec<CheckerView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerView {
    pub id: CheckerId,
    /// `TCP_CHECK`, `HTTP_GET`, …
    pub kind: Cow<'static, str>,
    /// Where it connects (`ip:port`; port 0 for PING/MISC/FILE).
    pub target: String,
    pub up: bool,
    /// False until the first verdict.
    pub checked: bool,
    /// An attempt is running.
    pub running: bool,
    pub consecutive_failures: u32,
    /// Why the last failing attempt failed, in an operator's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(
        rename = "latency_ms",
        serialize_with = "millis_opt",
        deserialize_with = "from_millis_opt"
    )]
    pub latency: Option<Duration>,
    /// Time of the last state change, since the runner started.
    #[serde(
        rename = "since_ms",
        serialize_with = "millis",
        deserialize_with = "from_millis"
    )]
    pub since: Duration,
    #[serde(
        rename = "last_check_ms",
        serialize_with = "millis_opt",
        deserialize_with = "from_millis_opt"
    )]
    pub last_check: Option<Duration>,
    /// Changes of verdict (up to down or back) since the checker started.
    #[serde(default)]
    pub flaps: u64,
}

impl Runner {
    /// Every virtual server, real server and checker as they stand.
    pub fn snapshot(&self) -> super::HealthSnapshot {
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
