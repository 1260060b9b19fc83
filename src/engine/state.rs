//! The engine's decisions without their I/O: which operator commands
//! hold, what they do to the overrides, when a drain is finished, what
//! goes in the timeline, and whom to answer. The director's loop hands it
//! every command ([`EngineState::take`]) and does what comes back
//! ([`Next`]): nothing more, a reconcile (then [`EngineState::settled`]),
//! or a command that needs the loop's own I/O.
//!
//! The state owns the director's clock and the replies of drains still
//! running; a command whose reconcile fails is undone (the overrides go
//! back to what they were) and its reply says the dataplane refused.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tokio::sync::oneshot;

use super::channel::CommandRequest;
use super::command::{Command, CommandError, Outcome, PriorityChange};
use super::event::{wall_ms, EventKind, EventRing};
use super::overrides::{
    effective_weight, Actor, DisableReason, NotDisabled, Overrides, Target, WeightOverride,
    WeightSource,
};
use crate::ipvs::desired::DesiredService;
use crate::ipvs::model::{DestKey, ServiceKey, Table};

/// The largest weight IPVS takes (`IP_VS_DEST_ATTR_WEIGHT` is a signed
/// 32-bit value; ipvsadm and keepalived accept 0–65535).
pub const MAX_WEIGHT: i32 = 65535;

/// Where a command's answer goes.
pub type Reply = oneshot::Sender<Result<Outcome, CommandError>>;

/// A drain waiting for its real server to go idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDrain {
    pub id: u64,
    pub service: ServiceKey,
    pub server: DestKey,
    pub deadline_ms: u64,
    pub remove: bool,
    pub actor: Actor,
}

/// What the director's loop does with a command after
/// [`EngineState::take`].
#[derive(Debug)]
pub enum Next {
    /// The answer is sent and the wanted table is as it was.
    Answered,
    /// The overrides changed: reconcile, then hand the result to
    /// [`EngineState::settled`], which answers (a drain answers later,
    /// from [`EngineState::tick`]).
    Reconcile(Pending),
    /// The loop carries this out with its own I/O and answers `reply`.
    NeedsIo {
        actor: Actor,
        command: IoCommand,
        reply: Reply,
    },
}

/// The commands the director's loop carries out itself: they read files,
/// talk to VRRP or change the dataplane beyond the overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoCommand {
    Reload,
    Apply {
        text: String,
        dry_run: bool,
        confirm_within_s: Option<u64>,
    },
    Confirm,
    Zero {
        service: Option<ServiceKey>,
    },
    /// Priority-0 advert, then BACKUP for `hold_s`.
    StepDown {
        name: String,
        hold_s: u64,
    },
    /// Run at another priority until set back.
    SetPriority {
        name: String,
        change: PriorityChange,
    },
}

/// A command applied to the overrides, waiting for its reconcile.
#[derive(Debug)]
pub struct Pending {
    /// The overrides before the command, to put back on failure.
    before: Overrides,
    verb: &'static str,
    awaits: Awaiting,
}

/// Whom a reconcile answers.
#[derive(Debug)]
enum Awaiting {
    /// The command's answer, sent once the dataplane took the change.
    Answer(Reply, Outcome),
    /// A drain, answered when it ends; only a refusal answers at once.
    Drain(u64),
}

/// Overrides, drains and the timeline, over the configured table, on the
/// director's clock.
#[derive(Debug)]
pub struct EngineState {
    /// The configuration's table, unfiltered (configured weights, and the
    /// services and real servers commands may name).
    configured: Vec<DesiredService>,
    pub overrides: Overrides,
    pub events: EventRing,
    drains: BTreeMap<u64, PendingDrain>,
    /// The replies of the drains still running.
    drain_replies: HashMap<u64, Reply>,
    next_drain: u64,
    /// The instant the director's clock counts from.
    started: Instant,
}

impl EngineState {
    pub fn new(configured: Vec<DesiredService>) -> Self {
        EngineState {
            configured,
            overrides: Overrides::default(),
            events: EventRing::default(),
            drains: BTreeMap::new(),
            drain_replies: HashMap::new(),
            next_drain: 0,
            started: Instant::now(),
        }
    }

    /// A new configuration (reload/apply): overrides stay, keyed by
    /// address, until cleared.
    pub fn set_configured(&mut self, configured: Vec<DesiredService>) {
        self.configured = configured;
    }

    pub fn configured(&self) -> &[DesiredService] {
        &self.configured
    }

    /// The instant the director's clock counts from.
    pub fn clock_zero(&self) -> Instant {
        self.started
    }

    /// Milliseconds on the director's clock.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The table to program now: the health-filtered table with the
    /// overrides applied.
    pub fn wanted(&self, healthy: &[DesiredService]) -> Vec<DesiredService> {
        self.wanted_at(healthy, self.now_ms())
    }

    /// [`EngineState::wanted`] at `now_ms` on the director's clock.
    pub fn wanted_at(&self, healthy: &[DesiredService], now_ms: u64) -> Vec<DesiredService> {
        self.overrides.apply(healthy, now_ms)
    }

    /// Record an event in the timeline.
    pub fn record(&mut self, kind: EventKind, message: String) {
        self.events.push(wall_ms(), kind, message);
    }

    fn configured_weight(&self, service: ServiceKey, server: DestKey) -> Result<i32, CommandError> {
        let svc = self
            .configured
            .iter()
            .find(|s| s.config.key == service)
            .ok_or_else(|| CommandError::UnknownService {
                service: service.to_string(),
            })?;
        svc.dests
            .iter()
            .find(|d| d.key == server)
            .map(|d| d.weight)
            .ok_or_else(|| CommandError::UnknownServer {
                service: service.to_string(),
                server: server.socket_addr().to_string(),
            })
    }

    fn check_target(&self, target: Target) -> Result<(), CommandError> {
        match target {
            Target::Service(service) => self
                .configured
                .iter()
                .any(|s| s.config.key == service)
                .then_some(())
                .ok_or_else(|| CommandError::UnknownService {
                    service: service.to_string(),
                }),
            Target::RealServer(service, server) => {
                self.configured_weight(service, server).map(|_| ())
            }
        }
    }

    /// Take one command off the channel, now.
    pub fn take(&mut self, request: CommandRequest) -> Next {
        let now = self.now_ms();
        self.take_at(request, now, wall_ms())
    }

    /// [`EngineState::take`] at `now_ms` (director clock) / `wall_ms`
    /// (timeline clock).
    pub fn take_at(&mut self, request: CommandRequest, now_ms: u64, wall_ms: u64) -> Next {
        let CommandRequest {
            actor,
            command,
            reply,
        } = request;
        let verb = command.verb();
        let before = self.overrides.clone();
        // Ok: decided here; Err: the loop's own I/O carries it out.
        let decided: Result<Result<Outcome, CommandError>, IoCommand> = match command {
            Command::SetWeight {
                service,
                server,
                weight,
                reason,
            } => Ok(self.set_weight(&actor, service, server, weight, reason, now_ms)),
            Command::Restore {
                service,
                server,
                ramp_s,
            } => Ok(self.restore(&actor, service, server, ramp_s, now_ms)),
            Command::Disable { target, reason } => Ok(self.disable(&actor, target, reason, now_ms)),
            Command::Enable { target, reason } => Ok(self.enable(target, reason.as_deref())),
            Command::Drain {
                service,
                server,
                timeout_s,
                remove,
                reason,
            } => {
                let started =
                    self.start_drain(&actor, service, server, timeout_s, remove, reason, now_ms);
                match started {
                    Ok(id) => {
                        let target = target_name(Target::RealServer(service, server));
                        self.audit(&actor, "drain", Some(target), None, wall_ms);
                        self.drain_replies.insert(id, reply);
                        return Next::Reconcile(Pending {
                            before,
                            verb,
                            awaits: Awaiting::Drain(id),
                        });
                    }
                    Err(e) => Ok(Err(e)),
                }
            }
            Command::Reload => Err(IoCommand::Reload),
            Command::Apply {
                text,
                dry_run,
                confirm_within_s,
            } => Err(IoCommand::Apply {
                text,
                dry_run,
                confirm_within_s,
            }),
            Command::Confirm => Err(IoCommand::Confirm),
            Command::Zero { service } => Err(IoCommand::Zero { service }),
            Command::Failover {
                name,
                priority: Some(change),
                ..
            } => Err(IoCommand::SetPriority { name, change }),
            Command::Failover { name, hold_s, .. } => Err(IoCommand::StepDown { name, hold_s }),
        };
        let result = match decided {
            Ok(result) => result,
            Err(command) => {
                return Next::NeedsIo {
                    actor,
                    command,
                    reply,
                }
            }
        };
        match result {
            Ok(outcome) => {
                if let Outcome::Done { message } = &outcome {
                    self.audit(&actor, "command", None, Some(message.clone()), wall_ms);
                }
                Next::Reconcile(Pending {
                    before,
                    verb,
                    awaits: Awaiting::Answer(reply, outcome),
                })
            }
            Err(error) => {
                let _ = reply.send(Err(error));
                Next::Answered
            }
        }
    }

    /// The reconcile after [`Next::Reconcile`] finished: answer, or undo
    /// and say why.
    pub fn settled(&mut self, pending: Pending, result: Result<(), String>) {
        let why = match result {
            Ok(()) => {
                if let Awaiting::Answer(reply, outcome) = pending.awaits {
                    let _ = reply.send(Ok(outcome));
                }
                return;
            }
            Err(why) => why,
        };
        self.overrides = pending.before;
        let error = CommandError::Refused {
            operation: pending.verb.to_string(),
            why,
        };
        match pending.awaits {
            Awaiting::Answer(reply, _) => {
                let _ = reply.send(Err(error));
            }
            Awaiting::Drain(id) => {
                self.drains.remove(&id);
                if let Some(reply) = self.drain_replies.remove(&id) {
                    let _ = reply.send(Err(error));
                }
            }
        }
    }

    /// Whether the loop should call [`EngineState::tick`] (a drain waits
    /// or a ramp climbs).
    pub fn wants_ticks(&self) -> bool {
        !self.drains.is_empty() || self.ramping()
    }

    /// Once a second while [`EngineState::wants_ticks`]: answer finished
    /// drains and move ramps. Returns whether the wanted table changed.
    pub fn tick(&mut self, live: &Table) -> bool {
        let now = self.now_ms();
        self.tick_at(live, now)
    }

    /// [`EngineState::tick`] at `now_ms` on the director's clock.
    pub fn tick_at(&mut self, live: &Table, now_ms: u64) -> bool {
        let mut changed = false;
        for (id, outcome) in self.finished_drains(live, now_ms) {
            if matches!(outcome, Outcome::Drained { removed: true, .. }) {
                changed = true;
            }
            if let Some(reply) = self.drain_replies.remove(&id) {
                let _ = reply.send(Ok(outcome));
            }
        }
        if self.ramping() {
            changed = true;
            self.overrides.finish_ramps(now_ms);
        }
        changed
    }

    fn ramping(&self) -> bool {
        self.overrides
            .weights()
            .any(|(_, o)| matches!(o.source, WeightSource::Ramp { .. }))
    }

    fn set_weight(
        &mut self,
        actor: &Actor,
        service: ServiceKey,
        server: DestKey,
        weight: i32,
        reason: Option<String>,
        now_ms: u64,
    ) -> Result<Outcome, CommandError> {
        let configured = self.configured_weight(service, server)?;
        if !(0..=MAX_WEIGHT).contains(&weight) {
            return Err(CommandError::Invalid {
                what: format!("weight '{weight}'"),
                why: format!("a weight is 0 to {MAX_WEIGHT}"),
            });
        }
        let before = self
            .overrides
            .weight(service, server)
            .map_or(configured, |o| effective_weight(o, now_ms));
        self.overrides.set_weight(
            service,
            server,
            WeightOverride {
                weight,
                source: WeightSource::Set,
                by: actor.clone(),
                reason: reason.unwrap_or_default(),
                since_ms: now_ms,
            },
        );
        Ok(Outcome::Done {
            message: format!(
                "weight of {} in {service}: {before} -> {weight} (configured {configured})",
                server.socket_addr()
            ),
        })
    }

    fn restore(
        &mut self,
        actor: &Actor,
        service: ServiceKey,
        server: DestKey,
        ramp_s: Option<u64>,
        now_ms: u64,
    ) -> Result<Outcome, CommandError> {
        let configured = self.configured_weight(service, server)?;
        self.drains
            .retain(|_, d| !(d.service == service && d.server == server));
        let current = self
            .overrides
            .weight(service, server)
            .map(|o| effective_weight(o, now_ms));
        match (ramp_s, current) {
            (Some(ramp), Some(from)) if ramp > 0 && from < configured => {
                self.overrides.set_weight(
                    service,
                    server,
                    WeightOverride {
                        weight: configured,
                        source: WeightSource::Ramp {
                            from,
                            to: configured,
                            start_ms: now_ms,
                            duration_ms: ramp.saturating_mul(1000),
                        },
                        by: actor.clone(),
                        reason: "restore".into(),
                        since_ms: now_ms,
                    },
                );
                Ok(Outcome::Done {
                    message: format!(
                        "weight of {} in {service}: {from} -> {configured} over {ramp} s",
                        server.socket_addr()
                    ),
                })
            }
            _ => {
                self.overrides.clear_weight(service, server);
                Ok(Outcome::Done {
                    message: format!(
                        "weight of {} in {service}: back to the configured {configured}",
                        server.socket_addr()
                    ),
                })
            }
        }
    }

    fn disable(
        &mut self,
        actor: &Actor,
        target: Target,
        reason: String,
        now_ms: u64,
    ) -> Result<Outcome, CommandError> {
        self.check_target(target)?;
        if reason.trim().is_empty() {
            return Err(CommandError::Invalid {
                what: "disable".into(),
                why: "give a reason (--reason TEXT): it shows beside the row until cleared".into(),
            });
        }
        self.overrides.disable(
            target,
            DisableReason {
                reason: reason.clone(),
                by: actor.clone(),
                since_ms: now_ms,
            },
        );
        Ok(Outcome::Done {
            message: format!(
                "{} disabled: {reason} ({} reason(s) in force)",
                target_name(target),
                self.overrides.disabled(target).len()
            ),
        })
    }

    fn enable(&mut self, target: Target, reason: Option<&str>) -> Result<Outcome, CommandError> {
        self.check_target(target)?;
        match self.overrides.enable(target, reason) {
            Ok(0) => Ok(Outcome::Done {
                message: format!("{} enabled", target_name(target)),
            }),
            Ok(left) => Ok(Outcome::Done {
                message: format!(
                    "{} stays disabled: {left} other reason(s) in force",
                    target_name(target)
                ),
            }),
            Err(NotDisabled::Target) => Err(CommandError::Invalid {
                what: target_name(target),
                why: "it is not disabled".into(),
            }),
            Err(e @ NotDisabled::Reason { .. }) => Err(CommandError::Invalid {
                what: target_name(target),
                why: e.to_string(),
            }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_drain(
        &mut self,
        actor: &Actor,
        service: ServiceKey,
        server: DestKey,
        timeout_s: u64,
        remove: bool,
        reason: Option<String>,
        now_ms: u64,
    ) -> Result<u64, CommandError> {
        self.configured_weight(service, server)?;
        let deadline_ms = now_ms.saturating_add(timeout_s.saturating_mul(1000));
        self.overrides.set_weight(
            service,
            server,
            WeightOverride {
                weight: 0,
                source: WeightSource::Drain {
                    deadline_ms,
                    remove,
                },
                by: actor.clone(),
                reason: reason.unwrap_or_else(|| "drain".into()),
                since_ms: now_ms,
            },
        );
        self.next_drain += 1;
        let id = self.next_drain;
        self.drains.insert(
            id,
            PendingDrain {
                id,
                service,
                server,
                deadline_ms,
                remove,
                actor: actor.clone(),
            },
        );
        Ok(id)
    }

    /// Drains that ended at `now_ms` given the dataplane's live `table`:
    /// the real server has no active connection left (idle), or the
    /// deadline passed. With `remove`, the server is disabled ("drained").
    /// A real server that left the table altogether counts as idle.
    fn finished_drains(&mut self, table: &Table, now_ms: u64) -> Vec<(u64, Outcome)> {
        let mut finished = Vec::new();
        for drain in self.drains.values() {
            let dest = table
                .service(drain.service)
                .and_then(|s| s.dests.iter().find(|d| d.key() == drain.server));
            let (active, inactive, persistent) =
                dest.map_or((0, 0, 0), |d| (d.active, d.inactive, d.persistent));
            let timed_out = now_ms >= drain.deadline_ms;
            if active == 0 || timed_out {
                finished.push((drain.id, active, inactive, persistent, timed_out));
            }
        }
        let mut out = Vec::new();
        for (id, active, inactive, persistent, timed_out) in finished {
            let Some(drain) = self.drains.remove(&id) else {
                continue;
            };
            let removed = drain.remove && active == 0;
            if removed {
                self.overrides.disable(
                    Target::RealServer(drain.service, drain.server),
                    DisableReason {
                        reason: "drained".into(),
                        by: drain.actor.clone(),
                        since_ms: now_ms,
                    },
                );
            }
            out.push((
                id,
                Outcome::Drained {
                    active,
                    inactive,
                    persistent,
                    timed_out,
                    removed,
                },
            ));
        }
        out
    }

    /// The drains still waiting.
    pub fn pending_drains(&self) -> impl Iterator<Item = &PendingDrain> {
        self.drains.values()
    }

    /// Record an operator action in the timeline.
    pub fn audit(
        &mut self,
        actor: &Actor,
        action: &str,
        target: Option<String>,
        detail: Option<String>,
        wall_ms: u64,
    ) {
        let message = match (&target, &detail) {
            (_, Some(detail)) => format!("{} (uid {}): {detail}", actor.name, actor.uid),
            (Some(target), None) => {
                format!("{} (uid {}): {action} {target}", actor.name, actor.uid)
            }
            (None, None) => format!("{} (uid {}): {action}", actor.name, actor.uid),
        };
        self.events.push(
            wall_ms,
            EventKind::Operator {
                uid: actor.uid,
                who: actor.name.clone(),
                action: action.to_string(),
                target,
                reason: detail,
            },
            message,
        );
    }
}

/// How a target reads in messages: `198.51.100.82:80 in TCP 198.51.100.88:80`.
pub fn target_name(target: Target) -> String {
    match target {
        Target::Service(service) => service.to_string(),
        Target::RealServer(service, server) => format!("{} in {service}", server.socket_addr()),
    }
}

#[cfg(test)]
mod tests;
