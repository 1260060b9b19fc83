//! The engine's decisions without its I/O: which operator commands hold,
//! what they do to the overrides, when a drain is finished, and what goes
//! in the timeline. The director feeds it the configured table, the
//! health-filtered table and the dataplane's live table, and carries out
//! what it returns (a reconcile, a reply, an event).
//!
//! Commands that need I/O of their own (reload, apply, zero, failover) are
//! handed back to the director untouched.

use std::collections::BTreeMap;

use super::command::{Command, CommandError, Outcome};
use super::event::{EventKind, EventRing};
use super::overrides::{
    effective_weight, Actor, DisableReason, NotDisabled, Overrides, Target, WeightOverride,
    WeightSource,
};
use crate::ipvs::desired::DesiredService;
use crate::ipvs::model::{DestKey, ServiceKey, Table};

/// The largest weight IPVS takes (`IP_VS_DEST_ATTR_WEIGHT` is a signed
/// 32-bit value; ipvsadm and keepalived accept 0–65535).
pub const MAX_WEIGHT: i32 = 65535;

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

/// What the director does with a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// Answered now; the wanted table may have changed (reconcile).
    Done(Result<Outcome, CommandError>),
    /// A drain began: reply when [`EngineState::finished_drains`] says so.
    Draining(u64),
    /// Needs the director's own I/O (reload, apply, zero, failover).
    Director(Command),
}

/// Overrides, drains and the timeline, over the configured table.
#[derive(Debug, Default)]
pub struct EngineState {
    /// The configuration's table, unfiltered (configured weights, and the
    /// services and real servers commands may name).
    configured: Vec<DesiredService>,
    pub overrides: Overrides,
    pub events: EventRing,
    drains: BTreeMap<u64, PendingDrain>,
    next_drain: u64,
}

impl EngineState {
    pub fn new(configured: Vec<DesiredService>) -> Self {
        EngineState {
            configured,
            ..EngineState::default()
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

    /// The table to program: the health-filtered table with the
    /// overrides applied.
    pub fn wanted(&self, healthy: &[DesiredService], now_ms: u64) -> Vec<DesiredService> {
        self.overrides.apply(healthy, now_ms)
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

    /// Carry out a command at `now_ms` (director clock) / `wall_ms`
    /// (timeline clock).
    pub fn execute(
        &mut self,
        actor: &Actor,
        command: Command,
        now_ms: u64,
        wall_ms: u64,
    ) -> Execution {
        let result = match command {
            Command::SetWeight {
                service,
                server,
                weight,
                reason,
            } => self.set_weight(actor, service, server, weight, reason, now_ms),
            Command::Restore {
                service,
                server,
                ramp_s,
            } => self.restore(actor, service, server, ramp_s, now_ms),
            Command::Disable { target, reason } => self.disable(actor, target, reason, now_ms),
            Command::Enable { target, reason } => self.enable(target, reason.as_deref()),
            Command::Drain {
                service,
                server,
                timeout_s,
                remove,
                reason,
            } => {
                return match self
                    .start_drain(actor, service, server, timeout_s, remove, reason, now_ms)
                {
                    Ok(id) => {
                        self.audit(
                            actor,
                            "drain",
                            Some(target_name(Target::RealServer(service, server))),
                            None,
                            wall_ms,
                        );
                        Execution::Draining(id)
                    }
                    Err(e) => Execution::Done(Err(e)),
                }
            }
            other => return Execution::Director(other),
        };
        if let Ok(Outcome::Done { message }) = &result {
            self.audit(actor, "command", None, Some(message.clone()), wall_ms);
        }
        Execution::Done(result)
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
    pub fn finished_drains(&mut self, table: &Table, now_ms: u64) -> Vec<(u64, Outcome)> {
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

    /// Forget a drain (its reconcile failed; the caller answers it).
    pub fn cancel_drain(&mut self, id: u64) {
        self.drains.remove(&id);
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
#[path = "state_tests.rs"]
mod tests;
