//! The plan of an `apply`: what moving the director from its running
//! configuration to a candidate would change — IPVS operations, VRRP units
//! added, removed, restarted or kept, real servers whose checking changes
//! (the others keep their check state), and `global_defs` settings — as
//! serde data and as one human line per change (`Outcome::Plan`).
//!
//! The IPVS part starts from the table the director applies now (health
//! and operator overrides included), so a real server that is down stays
//! out and a weight held at 0 stays 0: the plan is what applying would
//! really do, not what a fresh start would do. Pure: no I/O, no clock;
//! [`super::transaction`] carries the IPVS part out.

mod checks;
mod ipvs_lines;
mod reuse;
mod textdiff;
mod vrrp;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::diagnostic;
use crate::config::load::{self, Options};
use crate::config::model::Config;
use crate::config::render;
use crate::dataplane::Operation;
use crate::ipvs::desired::{self, DesiredError, DesiredService};
use crate::ipvs::model::{DestConfig, DestKey, ServiceKey, Table};
use crate::ipvs::reconcile;

pub use checks::{CheckChange, CheckChangeKind};
pub use ipvs_lines::line as operation_line;
pub use reuse::RunningText;
pub use vrrp::{VrrpChange, VrrpChangeKind};

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The candidate has errors (`lvstop check` would refuse it); one
    /// rendered diagnostic each.
    #[error("the candidate configuration is invalid:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error("the {which} configuration: {error}")]
    Desired {
        which: &'static str,
        error: DesiredError,
    },
}

/// What the director has now, besides the candidate.
#[derive(Debug, Clone, Copy)]
pub struct Running<'a> {
    pub config: &'a Config,
    /// The table applied now: the configuration filtered by health, with
    /// operator overrides (what the daemon last converged to).
    pub wanted: &'a [DesiredService],
    /// The dataplane's table as just read.
    pub live: &'a Table,
    /// Services the director programmed (others in `live` are left alone).
    pub owned: &'a HashSet<ServiceKey>,
}

/// Everything an apply would change. See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyPlan {
    /// In the order to apply them (adds, edits, removals).
    pub ipvs: Vec<Operation>,
    /// Every VRRP unit, kept ones included.
    pub vrrp: Vec<VrrpChange>,
    /// Real servers whose checking is added, removed or restarted.
    pub checks: Vec<CheckChange>,
    /// Real servers with checkers that keep their check state.
    pub checks_kept: usize,
    /// `global_defs` changes (`router_id A -> B`, `smtp_server … added`).
    pub settings: Vec<String>,
    /// The table to converge to after the apply (candidate configuration,
    /// today's health carried over).
    #[serde(skip)]
    pub wanted: Vec<DesiredService>,
}

/// Loads candidate text as `lvstop check` would; errors refuse it.
pub fn load_candidate(path: &Path, text: &str) -> Result<Config, PlanError> {
    let outcome = load::load_str(path, text, &Options::default());
    if outcome.has_errors() {
        let errors = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == diagnostic::Severity::Error)
            .map(|d| {
                diagnostic::render_text(&outcome.sources, d)
                    .trim_end()
                    .to_string()
            })
            .collect();
        return Err(PlanError::Invalid(errors));
    }
    Ok(outcome.config)
}

/// Loads candidate text like [`load_candidate`], re-parsing only the
/// `virtual_server` blocks that differ from `running`'s text when that
/// gives the same model (see `reuse`); a large director's one-line
/// change then costs milliseconds, not a full load.
pub fn load_candidate_reusing(
    path: &Path,
    text: &str,
    running: Option<RunningText<'_>>,
) -> Result<Config, PlanError> {
    if let Some(config) = running.and_then(|r| reuse::reuse(r, path, text)) {
        return Ok(config);
    }
    load_candidate(path, text)
}

impl ApplyPlan {
    /// The plan from `running` to `candidate`.
    pub fn between(running: Running<'_>, candidate: &Config) -> Result<ApplyPlan, PlanError> {
        let configured =
            desired::from_config(&running.config.lvs).map_err(|error| PlanError::Desired {
                which: "running",
                error,
            })?;
        let wanted_configured =
            desired::from_config(&candidate.lvs).map_err(|error| PlanError::Desired {
                which: "candidate",
                error,
            })?;
        let checks = checks::diff(running.config, candidate);
        let wanted = carry_health(
            wanted_configured,
            &configured,
            running.wanted,
            &checks.restarted,
        );
        let wanted_keys: HashSet<ServiceKey> = wanted.iter().map(|s| s.config.key).collect();
        let mut live = running.live.clone();
        live.services
            .retain(|s| running.owned.contains(&s.key()) || wanted_keys.contains(&s.key()));
        Ok(ApplyPlan {
            ipvs: reconcile::plan(&wanted, &live),
            vrrp: vrrp::diff(running.config, candidate),
            checks: checks.changes,
            checks_kept: checks.kept,
            settings: settings(running.config, candidate),
            wanted,
        })
    }

    /// Nothing to do: no IPVS operation, no VRRP unit touched, no
    /// checking or setting changed.
    pub fn is_empty(&self) -> bool {
        self.ipvs.is_empty()
            && self.vrrp.iter().all(|v| v.action == VrrpChangeKind::Keep)
            && self.checks.is_empty()
            && self.settings.is_empty()
    }

    /// One human line per change: IPVS operations as ipvsadm commands,
    /// then VRRP, checks and settings.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.ipvs.iter().map(operation_line).collect();
        out.extend(self.vrrp.iter().flat_map(VrrpChange::lines));
        out.extend(self.checks.iter().flat_map(CheckChange::lines));
        out.extend(self.settings.iter().map(|s| format!("global {s}")));
        out
    }
}

/// `global_defs` edits, in the configuration's words.
fn settings(running: &Config, candidate: &Config) -> Vec<String> {
    if running.global == candidate.global {
        return Vec::new();
    }
    let only_global = |c: &Config| {
        render::render(&Config {
            global: c.global.clone(),
            ..Config::default()
        })
    };
    textdiff::changes(&only_global(running), &only_global(candidate), 1)
        .into_iter()
        .map(|c| c.phrase)
        .collect()
}

/// The candidate's table with today's health: a real server that stays
/// (same service, same destination, checking unchanged) keeps what health
/// and overrides made of it — out while down, its live weight while that
/// differs from the configured one — and takes the candidate's weight
/// otherwise. New real servers, and those whose checking restarts, come
/// in as configured (the health runner starts them up unless `alpha`).
/// Destinations health added (a sorry server) stay while their service
/// stays.
pub fn carry_health(
    candidate: Vec<DesiredService>,
    configured: &[DesiredService],
    wanted: &[DesiredService],
    restarted: &HashSet<(ServiceKey, DestKey)>,
) -> Vec<DesiredService> {
    fn by_key(services: &[DesiredService]) -> HashMap<ServiceKey, &[DestConfig]> {
        services
            .iter()
            .map(|s| (s.config.key, s.dests.as_slice()))
            .collect()
    }
    let before = by_key(configured);
    let now = by_key(wanted);
    let index = |dests: &[DestConfig]| -> HashMap<DestKey, DestConfig> {
        dests.iter().map(|d| (d.key, *d)).collect()
    };
    candidate
        .into_iter()
        .filter_map(|mut service| {
            let key = service.config.key;
            let (Some(&old), live) = (before.get(&key), now.get(&key)) else {
                return Some(service);
            };
            // Health or an operator took the whole service out.
            let &live = live?;
            if old == live {
                // Every real server runs as configured: nothing to carry
                // (the common case, and the cheap one).
                return Some(service);
            }
            let held_dests = live;
            let (old, live) = (index(old), index(live));
            service.dests.retain_mut(|dest| {
                if restarted.contains(&(key, dest.key)) {
                    return true;
                }
                let Some(was) = old.get(&dest.key) else {
                    return true;
                };
                match live.get(&dest.key) {
                    None => false,
                    Some(held) if held.weight != was.weight => {
                        dest.weight = held.weight;
                        true
                    }
                    Some(_) => true,
                }
            });
            for extra in held_dests {
                if !old.contains_key(&extra.key)
                    && !service.dests.iter().any(|d| d.key == extra.key)
                {
                    service.dests.push(*extra);
                }
            }
            Some(service)
        })
        .collect()
}
