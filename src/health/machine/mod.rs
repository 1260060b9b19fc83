//! The checker runner: keepalived's checker semantics as a sans-I/O state
//! machine with an injected clock.
//!
//! Inputs are the time (a [`Duration`] since the runner started), probe
//! results ([`ProbeFinished`]) and shutdown. Outputs are [`CheckAction`]s: start
//! a probe, set or remove an IPVS destination, run a script, send an alert,
//! log a line, tell the console; plus the desired table
//! ([`HealthMachine::desired`]) and a [`HealthSnapshot`] of every checker.
//!
//! Rules follow keepalived.conf(5) and keepalived 2.2's checker: a checker
//! retries `retry` times `delay_before_retry` apart before it declares its
//! real server down (one failure suffices before the first verdict), checks
//! again `delay_loop` after a verdict, starts after a random part of
//! `warmup`, starts down under `alpha`; a real server is up only when all
//! its checkers are; quorum, hysteresis and the sorry server act per
//! virtual server. The runner never does I/O, never reads the clock and
//! never touches IPVS: the driver and the engine do.

mod actions;
mod checker;
mod plan;
mod pool;
mod reload;
mod snapshot;
pub mod texts;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

pub use crate::northbound::checks::{
    CheckerView, HealthSnapshot, RealServerView, VirtualServerView,
};
pub(crate) use actions::{
    from_millis as deserialize_millis, from_millis_opt as deserialize_millis_opt,
    millis as serialize_millis, millis_opt as serialize_millis_opt,
};
pub use actions::{CheckAction, CheckerId, HealthEvent, LogLevel, ScriptCall};
pub use plan::CheckPlanError;
pub use reload::Inherited;

use crate::config::model::Config;
use crate::health::outcome::{ProbeReport, Reason};
use crate::health::target::ProbeTarget;
use crate::ipvs::desired::DesiredService;
use crate::ipvs::model::DestConfig;

use plan::Plan;

/// A probe of `checker` ended with `report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFinished {
    pub checker: CheckerId,
    pub report: ProbeReport,
}

/// What the runner needs besides the configuration.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Seed of the warmup delays (keepalived draws them at random; a fixed
    /// seed makes a replay reproducible).
    pub seed: u64,
    /// Names the director in alert subjects when `router_id` is unset
    /// (keepalived uses the host name).
    pub hostname: String,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            seed: 0x6c76_7374_6f70,
            hostname: "localhost".into(),
        }
    }
}

/// The changing state of one checker.
#[derive(Debug, Clone, Default)]
struct CheckerState {
    up: bool,
    has_run: bool,
    retry_it: u32,
    /// When the running attempt started.
    in_flight: Option<Duration>,
    /// When the next attempt is due.
    due: Option<Duration>,
    consecutive_failures: u32,
    last_reason: Option<Reason>,
    last_latency: Option<Duration>,
    last_check: Option<Duration>,
    since: Duration,
    /// Changes of verdict (up to down or back) since the checker started.
    flaps: u64,
    /// Weight asked for by MISC_CHECK `misc_dynamic`.
    weight: Option<u32>,
}

#[derive(Debug, Clone, Default)]
struct RsState {
    alive: bool,
    failed_checkers: u32,
    weight: u32,
}

#[derive(Debug, Clone, Default)]
struct VsState {
    quorum_up: bool,
    sorry_active: bool,
    stopped: bool,
    /// The membership last announced, per service.
    announced: Vec<Vec<DestConfig>>,
}

/// keepalived's checkers for one configuration. See the module docs.
pub struct HealthMachine {
    plan: Plan,
    checkers: Vec<CheckerState>,
    real_servers: Vec<RsState>,
    virtual_servers: Vec<VsState>,
    queue: BinaryHeap<Reverse<(Duration, CheckerId)>>,
    rng: SplitMix64,
    no_checker_emails: bool,
    started: bool,
    out: Vec<CheckAction>,
    dirty: Vec<usize>,
    /// Checkers and virtual servers whose state came from the runner of
    /// the previous configuration ([`HealthMachine::inherit`]).
    inherited_checkers: Vec<bool>,
    inherited_virtual_servers: Vec<bool>,
}

impl std::fmt::Debug for HealthMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthMachine")
            .field("checkers", &self.checkers.len())
            .field("real_servers", &self.real_servers.len())
            .field("virtual_servers", &self.virtual_servers.len())
            .finish()
    }
}

impl HealthMachine {
    /// Builds the runner for every checker of `config`. Nothing runs until
    /// [`HealthMachine::start`].
    pub fn new(config: &Config, options: CheckOptions) -> Result<Self, CheckPlanError> {
        let plan = Plan::build(config, &options.hostname)?;
        Ok(HealthMachine {
            checkers: vec![CheckerState::default(); plan.checkers.len()],
            real_servers: vec![RsState::default(); plan.real_servers.len()],
            virtual_servers: plan
                .virtual_servers
                .iter()
                .map(|vs| VsState {
                    announced: vec![Vec::new(); vs.services.len()],
                    ..VsState::default()
                })
                .collect(),
            plan,
            queue: BinaryHeap::new(),
            rng: SplitMix64(options.seed),
            no_checker_emails: plan::has_keyword(config, "no_checker_emails"),
            started: false,
            out: Vec::new(),
            dirty: Vec::new(),
            inherited_checkers: Vec::new(),
            inherited_virtual_servers: Vec::new(),
        })
    }

    /// Every checker's resolved target, indexed by [`CheckerId`].
    pub fn targets(&self) -> &[ProbeTarget] {
        &self.plan.targets
    }

    /// Sets the initial state at `now` (real servers up unless `alpha`,
    /// initial quorum, sorry server) and schedules each checker's first
    /// attempt after its warmup. Returns the initial membership as
    /// `SetDest` actions and the start-up log lines.
    pub fn start(&mut self, now: Duration) -> Vec<CheckAction> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        for (index, rs) in self.plan.real_servers.iter().enumerate() {
            self.real_servers[index].weight = rs.weight;
        }
        for index in 0..self.plan.checkers.len() {
            let id = CheckerId(index as u32);
            if self.inherited_checkers.get(index).copied().unwrap_or(false) {
                let due = self.resume(id, now);
                self.schedule(id, due);
                continue;
            }
            let checker = &self.plan.checkers[index];
            let state = &mut self.checkers[index];
            state.up = !checker.timing.alpha;
            // "For non alpha mode, one failure is enough initially."
            state.retry_it = checker.timing.retry;
            state.since = now;
            let warmup_limit = checker.timing.warmup;
            let warmup = self.rng.below(warmup_limit);
            self.schedule(id, now + warmup);
        }
        for (index, checker) in self.plan.checkers.iter().enumerate() {
            if !self.checkers[index].up {
                self.real_servers[checker.rs].failed_checkers += 1;
            }
        }
        for rs in 0..self.real_servers.len() {
            self.real_servers[rs].alive = self.real_servers[rs].failed_checkers == 0;
            self.resume_weight(rs);
        }
        for vs in 0..self.virtual_servers.len() {
            let inherited = self
                .inherited_virtual_servers
                .get(vs)
                .copied()
                .unwrap_or(false);
            if !inherited {
                let sum = self.weight_sum(vs);
                let plan = &self.plan.virtual_servers[vs];
                self.virtual_servers[vs].quorum_up =
                    sum >= u64::from(plan.quorum) + u64::from(plan.hysteresis);
            }
            // An inherited virtual server only reports a change the new
            // configuration causes (a new quorum, a removed real server).
            self.update_quorum(vs, !inherited, now);
            self.dirty.push(vs);
        }
        self.flush()
    }

    /// When the next probe is due, if any.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.queue.peek().map(|Reverse((due, _))| *due)
    }

    /// Starts every probe due at or before `now`.
    pub fn poll(&mut self, now: Duration) -> Vec<CheckAction> {
        while let Some(&Reverse((due, id))) = self.queue.peek() {
            if due > now {
                break;
            }
            self.queue.pop();
            let state = &mut self.checkers[id.index()];
            if state.due != Some(due) {
                continue;
            }
            state.due = None;
            state.in_flight = Some(now);
            self.out.push(CheckAction::StartProbe {
                checker: id,
                scheduled: due,
                timeout: self.plan.checkers[id.index()].timeout,
            });
        }
        std::mem::take(&mut self.out)
    }

    /// Feeds the result of a probe started by [`HealthMachine::poll`]. A result
    /// for a checker with no attempt running is ignored.
    pub fn probe_finished(&mut self, now: Duration, finished: ProbeFinished) -> Vec<CheckAction> {
        self.on_result(now, finished.checker, &finished.report);
        self.flush()
    }

    /// Stops checking: every real server leaves its pool; with `omega`,
    /// notify_down / quorum_down scripts run and alerts are sent
    /// (keepalived.conf(5), `omega`).
    pub fn shutdown(&mut self, now: Duration) -> Vec<CheckAction> {
        self.queue.clear();
        for state in &mut self.checkers {
            state.due = None;
            state.in_flight = None;
        }
        for vs in 0..self.virtual_servers.len() {
            self.stop_virtual_server(vs, now);
        }
        self.flush()
    }

    /// The IPVS table as health wants it now: the configured services with
    /// live real servers (weight 0 for failed ones under
    /// `inhibit_on_failure`) and the sorry server when it is in.
    pub fn desired(&self) -> Vec<DesiredService> {
        let mut out = Vec::new();
        for (index, vs) in self.plan.virtual_servers.iter().enumerate() {
            for (service_index, service) in vs.services.iter().enumerate() {
                out.push(DesiredService {
                    config: service.config.clone(),
                    dests: self.membership(index, service_index),
                });
            }
        }
        out
    }

    fn schedule(&mut self, id: CheckerId, due: Duration) {
        self.checkers[id.index()].due = Some(due);
        self.queue.push(Reverse((due, id)));
    }

    /// Announces membership changes of the virtual servers touched since
    /// the last flush, then hands over the actions.
    fn flush(&mut self) -> Vec<CheckAction> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for vs in dirty {
            self.announce(vs);
        }
        std::mem::take(&mut self.out)
    }
}

/// A small seeded generator (SplitMix64) for warmup delays: reproducible
/// with a fixed seed, no global state.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number of milliseconds in `0..=limit`.
    fn below(&mut self, limit: Duration) -> Duration {
        let millis = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(self.next() % (millis + 1))
    }
}
