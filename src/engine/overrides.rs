//! Operator overrides: what an operator decided about a virtual service or
//! real server, layered over what the configuration and the health checks
//! want. Plain data with an injected clock; the director applies the
//! result through the usual reconcile.
//!
//! Rules:
//! - a **weight** override (`set_weight`, `drain`, `restore` with a ramp)
//!   replaces the weight the checks would give, but never brings back a
//!   real server the checks took out;
//! - **disable** takes a real server (or a whole virtual service) out of
//!   the table for a reason; several reasons may hold at once, and it
//!   comes back only when every reason is cleared;
//! - overrides are keyed by service and real-server address, so they
//!   survive check cycles and configuration reloads until cleared; an
//!   override whose target left the configuration stays listed (and
//!   inert) so the operator sees it.
//!
//! This module never touches a dataplane and never reads a clock.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ipvs::desired::DesiredService;
use crate::ipvs::model::{DestKey, ServiceKey};

/// Who asked for an override, for the audit trail and the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The peer's user id (SO_PEERCRED), or the console's own.
    pub uid: u32,
    /// A name to show: the user name, or `console`.
    pub name: String,
}

/// A virtual service, or one real server in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Target {
    Service(ServiceKey),
    RealServer(ServiceKey, DestKey),
}

/// How a weight override came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WeightSource {
    /// `set_weight`: this weight until restored.
    Set,
    /// `drain`: weight 0 until the real server is idle or `deadline`;
    /// then, with `remove`, the director disables it.
    Drain { deadline_ms: u64, remove: bool },
    /// `restore` with a ramp: from `from` to `to` over the ramp, then the
    /// override ends by itself.
    Ramp {
        from: i32,
        to: i32,
        start_ms: u64,
        duration_ms: u64,
    },
}

/// One weight override and who set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightOverride {
    pub weight: i32,
    pub source: WeightSource,
    pub by: Actor,
    pub reason: String,
    /// Milliseconds on the director's clock.
    pub since_ms: u64,
}

/// One reason a target is disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisableReason {
    pub reason: String,
    pub by: Actor,
    pub since_ms: u64,
}

/// Every override in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    weights: BTreeMap<(ServiceKey, DestKey), WeightOverride>,
    disabled: BTreeMap<Target, Vec<DisableReason>>,
}

impl Overrides {
    /// Set (or replace) a real server's weight override.
    pub fn set_weight(&mut self, service: ServiceKey, dest: DestKey, weight: WeightOverride) {
        self.weights.insert((service, dest), weight);
    }

    /// The weight override of a real server, if any.
    pub fn weight(&self, service: ServiceKey, dest: DestKey) -> Option<&WeightOverride> {
        self.weights.get(&(service, dest))
    }

    /// Drop a real server's weight override; `true` if there was one.
    pub fn clear_weight(&mut self, service: ServiceKey, dest: DestKey) -> bool {
        self.weights.remove(&(service, dest)).is_some()
    }

    /// Add a reason for `target` to stay out of the table. The same reason
    /// text given twice is one reason (the first holder is kept).
    pub fn disable(&mut self, target: Target, reason: DisableReason) {
        let reasons = self.disabled.entry(target).or_default();
        if !reasons.iter().any(|r| r.reason == reason.reason) {
            reasons.push(reason);
        }
    }

    /// Clear one reason (or every reason with `None`). Returns the reasons
    /// still holding the target out.
    pub fn enable(&mut self, target: Target, reason: Option<&str>) -> Result<usize, NotDisabled> {
        let Some(reasons) = self.disabled.get_mut(&target) else {
            return Err(NotDisabled::Target);
        };
        match reason {
            None => reasons.clear(),
            Some(text) => {
                let before = reasons.len();
                reasons.retain(|r| r.reason != text);
                if reasons.len() == before {
                    return Err(NotDisabled::Reason {
                        held: reasons.iter().map(|r| r.reason.clone()).collect(),
                    });
                }
            }
        }
        let left = reasons.len();
        if left == 0 {
            self.disabled.remove(&target);
        }
        Ok(left)
    }

    /// The reasons a target is disabled (empty when it is not).
    pub fn disabled(&self, target: Target) -> &[DisableReason] {
        self.disabled.get(&target).map_or(&[], Vec::as_slice)
    }

    /// End ramps that are complete at `now_ms`; returns the real servers
    /// whose override ended.
    pub fn finish_ramps(&mut self, now_ms: u64) -> Vec<(ServiceKey, DestKey)> {
        let done: Vec<_> = self
            .weights
            .iter()
            .filter(|(_, o)| match o.source {
                WeightSource::Ramp {
                    start_ms,
                    duration_ms,
                    ..
                } => now_ms >= start_ms.saturating_add(duration_ms),
                _ => false,
            })
            .map(|(key, _)| *key)
            .collect();
        for key in &done {
            self.weights.remove(key);
        }
        done
    }

    /// Every weight override, in key order.
    pub fn weights(&self) -> impl Iterator<Item = (&(ServiceKey, DestKey), &WeightOverride)> {
        self.weights.iter()
    }

    /// Every disabled target with its reasons, in key order.
    pub fn disabled_targets(&self) -> impl Iterator<Item = (&Target, &[DisableReason])> {
        self.disabled.iter().map(|(t, r)| (t, r.as_slice()))
    }

    /// The table the dataplane should hold: `wanted` (the configuration
    /// filtered by health) with these overrides applied at `now_ms`.
    pub fn apply(&self, wanted: &[DesiredService], now_ms: u64) -> Vec<DesiredService> {
        let mut out = Vec::with_capacity(wanted.len());
        for service in wanted {
            let key = service.config.key;
            if self.disabled.contains_key(&Target::Service(key)) {
                continue;
            }
            let dests = service
                .dests
                .iter()
                .filter(|d| !self.disabled.contains_key(&Target::RealServer(key, d.key)))
                .map(|d| {
                    let mut dest = *d;
                    if let Some(o) = self.weights.get(&(key, d.key)) {
                        dest.weight = effective_weight(o, now_ms);
                    }
                    dest
                })
                .collect();
            out.push(DesiredService {
                config: service.config.clone(),
                dests,
            });
        }
        out
    }
}

/// The weight an override gives at `now_ms` (a ramp interpolates).
pub fn effective_weight(o: &WeightOverride, now_ms: u64) -> i32 {
    match o.source {
        WeightSource::Ramp {
            from,
            to,
            start_ms,
            duration_ms,
        } => {
            if duration_ms == 0 {
                return to;
            }
            let elapsed = now_ms.saturating_sub(start_ms).min(duration_ms);
            let span = i64::from(to) - i64::from(from);
            let weight = i64::from(from) + span * elapsed as i64 / duration_ms as i64;
            i32::try_from(weight).unwrap_or(to)
        }
        _ => o.weight,
    }
}

/// The next instant a ramp changes a weight, for the director's timer:
/// ramps move in steps of one weight unit, so the next step is due when
/// the interpolated weight next changes (at most every `granularity`).
pub fn next_ramp_step(overrides: &Overrides, now_ms: u64, granularity: Duration) -> Option<u64> {
    overrides
        .weights
        .values()
        .filter_map(|o| match o.source {
            WeightSource::Ramp {
                start_ms,
                duration_ms,
                ..
            } if now_ms < start_ms.saturating_add(duration_ms) => {
                Some((now_ms + granularity.as_millis() as u64).min(start_ms + duration_ms))
            }
            _ => None,
        })
        .min()
}

/// Why an `enable` did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotDisabled {
    #[error("it is not disabled")]
    Target,
    #[error("it is not disabled for that reason; reasons in force: {}", held.join("; "))]
    Reason { held: Vec<String> },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::model::{DestConfig, Forward, ServiceConfig};

    fn svc() -> ServiceKey {
        ServiceKey::tcp("198.51.100.88:80".parse().unwrap())
    }

    fn rs(last: u8) -> DestKey {
        DestKey::new(format!("198.51.100.{last}:80").parse().unwrap())
    }

    fn wanted() -> Vec<DesiredService> {
        vec![DesiredService {
            config: ServiceConfig::new(svc(), "wrr"),
            dests: vec![
                DestConfig::new(rs(82).socket_addr(), Forward::Route, 3),
                DestConfig::new(rs(83).socket_addr(), Forward::Route, 3),
            ],
        }]
    }

    fn op() -> Actor {
        Actor {
            uid: 0,
            name: "root".into(),
        }
    }

    fn reason(text: &str) -> DisableReason {
        DisableReason {
            reason: text.into(),
            by: op(),
            since_ms: 0,
        }
    }

    fn weights(table: &[DesiredService]) -> Vec<(u8, i32)> {
        table[0]
            .dests
            .iter()
            .map(|d| match d.key.addr {
                std::net::IpAddr::V4(a) => (a.octets()[3], d.weight),
                std::net::IpAddr::V6(_) => (0, d.weight),
            })
            .collect()
    }

    #[test]
    fn no_overrides_leave_the_table_as_wanted() {
        assert_eq!(Overrides::default().apply(&wanted(), 0), wanted());
    }

    #[test]
    fn a_weight_override_replaces_the_weight_but_never_adds_a_server() {
        let mut o = Overrides::default();
        let w = |weight| WeightOverride {
            weight,
            source: WeightSource::Set,
            by: op(),
            reason: "canary".into(),
            since_ms: 0,
        };
        o.set_weight(svc(), rs(82), w(10));
        o.set_weight(svc(), rs(99), w(5));
        assert_eq!(weights(&o.apply(&wanted(), 0)), [(82, 10), (83, 3)]);
        assert!(o.clear_weight(svc(), rs(82)));
        assert_eq!(weights(&o.apply(&wanted(), 0)), [(82, 3), (83, 3)]);
    }

    #[test]
    fn a_disabled_server_returns_only_when_every_reason_is_cleared() {
        let mut o = Overrides::default();
        let target = Target::RealServer(svc(), rs(83));
        o.disable(target, reason("kernel upgrade"));
        o.disable(target, reason("disk check"));
        o.disable(target, reason("disk check"));
        assert_eq!(o.disabled(target).len(), 2);
        assert_eq!(weights(&o.apply(&wanted(), 0)), [(82, 3)]);
        assert_eq!(o.enable(target, Some("disk check")), Ok(1));
        assert_eq!(weights(&o.apply(&wanted(), 0)), [(82, 3)]);
        assert_eq!(
            o.enable(target, Some("typo")),
            Err(NotDisabled::Reason {
                held: vec!["kernel upgrade".into()]
            })
        );
        assert_eq!(o.enable(target, Some("kernel upgrade")), Ok(0));
        assert_eq!(weights(&o.apply(&wanted(), 0)), [(82, 3), (83, 3)]);
        assert_eq!(o.enable(target, None), Err(NotDisabled::Target));
    }

    #[test]
    fn a_disabled_service_leaves_the_table() {
        let mut o = Overrides::default();
        o.disable(Target::Service(svc()), reason("maintenance"));
        assert!(o.apply(&wanted(), 0).is_empty());
        assert_eq!(o.enable(Target::Service(svc()), None), Ok(0));
        assert_eq!(o.apply(&wanted(), 0), wanted());
    }

    #[test]
    fn a_ramp_climbs_to_its_target_then_ends() {
        let mut o = Overrides::default();
        o.set_weight(
            svc(),
            rs(82),
            WeightOverride {
                weight: 3,
                source: WeightSource::Ramp {
                    from: 0,
                    to: 3,
                    start_ms: 1_000,
                    duration_ms: 3_000,
                },
                by: op(),
                reason: "restore".into(),
                since_ms: 1_000,
            },
        );
        let at = |ms| weights(&o.apply(&wanted(), ms))[0].1;
        assert_eq!([at(1_000), at(2_000), at(3_000), at(4_000)], [0, 1, 2, 3]);
        assert_eq!(
            next_ramp_step(&o, 1_500, Duration::from_secs(1)),
            Some(2_500)
        );
        assert!(o.finish_ramps(3_999).is_empty());
        assert_eq!(o.finish_ramps(4_000), vec![(svc(), rs(82))]);
        assert_eq!(next_ramp_step(&o, 4_000, Duration::from_secs(1)), None);
    }
}
