//! The director's configuration changes: `reload`, `apply` (dry run,
//! confirm window), `confirm`, and the rollback of an unconfirmed apply —
//! validate, plan, the IPVS part all or nothing, answer, then checks and
//! VRRP follow. The loop itself is in the parent module.

use std::collections::HashSet;

use super::{director_name, Director};
use crate::config::model::Config;
use crate::dataplane::{Dataplane, DataplaneKind};
use crate::engine::command::{CommandError, Outcome};
use crate::engine::desk::wall_ms;
use crate::engine::event::EventKind;
use crate::engine::gate::VipOwners;
use crate::engine::overrides::Actor;
use crate::engine::plan::{
    load_candidate_reusing, operation_line, ApplyPlan, PlanError, Running, RunningText,
};
use crate::engine::snapshot::config_hash;
use crate::engine::transaction::apply_all_or_nothing;
use crate::ipvs::desired;
use crate::ipvs::model::{ServiceKey, Table};
use crate::ipvs::reconcile;

/// An apply made with `confirm_within_s`, and how to undo it.
pub(super) struct PendingApply {
    pub(super) previous_text: String,
    pub(super) deadline: tokio::time::Instant,
}

/// How long each phase of an apply took, for the log.
pub(super) struct Phases {
    last: std::time::Instant,
    marks: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    pub(super) fn start() -> Phases {
        Phases {
            last: std::time::Instant::now(),
            marks: Vec::new(),
        }
    }

    pub(super) fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.marks.push((phase, now - self.last));
        self.last = now;
    }

    /// `plan 21 ms, ipvs 3 ms, …`.
    pub(super) fn report(&self) -> String {
        self.marks
            .iter()
            .map(|(phase, took)| format!("{phase} {} ms", took.as_millis()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl<D: Dataplane + 'static> Director<D> {
    /// `reload` (SIGHUP, `lvstop ctl reload`): apply the file's text as
    /// it is now. A file that does not load, or a change the dataplane
    /// refuses, leaves the director running on what it had.
    pub(super) async fn reload(&mut self) -> Result<Outcome, CommandError> {
        tracing::info!("reloading {}", self.config_path.display());
        let text =
            std::fs::read_to_string(&self.config_path).map_err(|e| CommandError::Invalid {
                what: "reload".into(),
                why: format!("cannot read {}: {e}", self.config_path.display()),
            })?;
        let plan = self.apply_text(text, false).await.inspect_err(|e| {
            tracing::error!("reload refused, keeping the running configuration: {e}");
        })?;
        Ok(Outcome::Done {
            message: format!(
                "reloaded {} ({} change(s))",
                self.config_path.display(),
                plan.lines().len()
            ),
        })
    }

    /// `apply`: configuration text from an operator. A dry run only plans;
    /// otherwise the text is applied, written to the file (atomically),
    /// and with `confirm_within_s` rolled back unless confirmed in time.
    pub(super) async fn apply(
        &mut self,
        text: String,
        dry_run: bool,
        confirm_within_s: Option<u64>,
    ) -> Result<Outcome, CommandError> {
        if dry_run {
            let (_, plan) = self.plan(&text).await?;
            return Ok(Outcome::Plan {
                operations: plan.lines(),
                applied: false,
                rollback_at_ms: None,
            });
        }
        // Roll back to what was last confirmed, even when an unconfirmed
        // apply is replaced by another.
        let previous_text = match &self.pending_apply {
            Some(pending) => pending.previous_text.clone(),
            None => self.config_text.clone(),
        };
        let plan = self.apply_text(text, true).await?;
        let rollback_at_ms = match confirm_within_s {
            Some(seconds) => {
                let within = std::time::Duration::from_secs(seconds);
                self.pending_apply = Some(PendingApply {
                    previous_text,
                    deadline: tokio::time::Instant::now() + within,
                });
                Some(wall_ms().saturating_add(seconds.saturating_mul(1000)))
            }
            None => {
                self.pending_apply = None;
                self.save_config_text()?;
                None
            }
        };
        Ok(Outcome::Plan {
            operations: plan.lines(),
            applied: true,
            rollback_at_ms,
        })
    }

    /// `confirm`: keep the apply that waits for it, and write it to the
    /// file.
    pub(super) fn confirm(&mut self) -> Result<Outcome, CommandError> {
        if self.pending_apply.take().is_none() {
            return Err(CommandError::NothingToConfirm);
        }
        self.save_config_text()?;
        Ok(Outcome::Done {
            message: format!(
                "apply confirmed and written to {}",
                self.config_path.display()
            ),
        })
    }

    /// The confirmation did not come in time: apply the previous text.
    pub(super) async fn roll_back_unconfirmed(&mut self) {
        let Some(pending) = self.pending_apply.take() else {
            return;
        };
        tracing::warn!("apply not confirmed in time: rolling back");
        let system = Actor {
            uid: 0,
            name: "lvstop".into(),
        };
        let rolled_back = self.apply_text(pending.previous_text, false).await;
        self.finish_apply().await;
        match rolled_back {
            Ok(plan) => self.desk.audit(
                &system,
                "rollback",
                format!(
                    "apply not confirmed in time: rolled back ({} change(s))",
                    plan.lines().len()
                ),
            ),
            Err(e) => {
                tracing::error!("the rollback of an unconfirmed apply failed: {e}");
                self.desk.audit(
                    &system,
                    "rollback",
                    format!("apply not confirmed in time; the rollback failed: {e}"),
                );
            }
        }
        self.publish();
    }

    /// Write the running text to the configuration file: a temporary file
    /// beside it, then a rename, so the file is never half written.
    fn save_config_text(&self) -> Result<(), CommandError> {
        let temporary = self.config_path.with_extension("lvstop-apply.tmp");
        std::fs::write(&temporary, &self.config_text)
            .and_then(|()| std::fs::rename(&temporary, &self.config_path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                CommandError::Invalid {
                    what: "apply".into(),
                    why: format!(
                        "applied, but {} could not be written: {e}; a reload would undo it",
                        self.config_path.display()
                    ),
                }
            })
    }

    /// The dataplane's table, for a command that cannot go on without it.
    async fn read_live(&self) -> Result<Table, CommandError> {
        self.dataplane
            .snapshot()
            .await
            .map_err(|e| CommandError::Refused {
                operation: "read the dataplane".into(),
                why: e.to_string(),
            })
    }

    /// Validate `text` and plan it against what runs now. The IPVS part
    /// is what this director will do: the candidate's table with today's
    /// health and the operators' overrides, as VRRP lets it serve.
    async fn plan(&mut self, text: &str) -> Result<(Config, ApplyPlan), CommandError> {
        let candidate = load_candidate_reusing(
            &self.config_path,
            text,
            Some(RunningText {
                text: &self.config_text,
                config: &self.config,
            }),
        )
        .map_err(|e| match e {
            PlanError::Invalid(diagnostics) => CommandError::InvalidConfig { diagnostics },
            other => CommandError::Invalid {
                what: "apply".into(),
                why: other.to_string(),
            },
        })?;
        let live = self.read_live().await?;
        let mut plan = ApplyPlan::between(
            Running {
                config: &self.config,
                wanted: &self.applied,
                live: &live,
                owned: &self.owned,
            },
            &candidate,
        )
        .map_err(|e| CommandError::Invalid {
            what: "apply".into(),
            why: e.to_string(),
        })?;
        let mut wanted = self
            .desk
            .state()
            .overrides
            .apply(&plan.wanted, self.desk.now_ms());
        if self.dataplane.kind() == DataplaneKind::Userspace {
            let gate = VipOwners::from_config(&candidate);
            wanted = gate.filter(wanted, &self.vrrp_status.borrow());
        }
        let keys: HashSet<ServiceKey> = wanted.iter().map(|s| s.config.key).collect();
        let mut current = live;
        current
            .services
            .retain(|s| self.owned.contains(&s.key()) || keys.contains(&s.key()));
        plan.ipvs = reconcile::plan(&wanted, &current);
        plan.wanted = wanted;
        Ok((candidate, plan))
    }

    /// The transactional apply: plan; the IPVS operations all or nothing
    /// (a refusal rolls the dataplane back and changes nothing else);
    /// then checks (unchanged real servers keep their state), VRRP
    /// (unchanged instances keep running), the operators' desk and the
    /// IPVS globals follow. `persist` only marks an operator's text (the
    /// caller writes it); a reload's text is the file already.
    async fn apply_text(&mut self, text: String, persist: bool) -> Result<ApplyPlan, CommandError> {
        let mut phases = Phases::start();
        let (candidate, plan) = self.plan(&text).await?;
        phases.mark("plan");
        let before = self.read_live().await?;
        let hash = config_hash(&text);
        if let Err(e) = apply_all_or_nothing(self.dataplane.as_ref(), &plan.ipvs, &before).await {
            self.desk.record(
                EventKind::Config {
                    hash,
                    applied: false,
                    operations: plan.ipvs.len(),
                },
                format!("apply refused: {e}"),
            );
            self.publish();
            return Err(CommandError::Refused {
                operation: operation_line(&e.refused().operation),
                why: if e.rolled_back() {
                    e.to_string()
                } else {
                    format!("{e}; the table may differ from both configurations")
                },
            });
        }
        phases.mark("ipvs");
        let keys: HashSet<ServiceKey> = plan.wanted.iter().map(|s| s.config.key).collect();
        self.owned.extend(keys.iter().copied());
        self.owned.retain(|k| keys.contains(k));
        self.applied.clone_from(&plan.wanted);
        self.reported_drift.clear();
        if let Ok(configured) = desired::from_config(&candidate.lvs) {
            self.desk.set_configured(configured);
        }
        if self.gate.is_some() || self.dataplane.kind() == DataplaneKind::Userspace {
            self.gate = Some(VipOwners::from_config(&candidate)).filter(|o| !o.is_empty());
        }
        self.sync_config = candidate.global.lvs_sync_daemon.clone();
        self.name = director_name(&candidate);
        self.config = candidate;
        super::log_applied_warnings(self.config_path.clone(), text.clone());
        self.config_text = text;
        self.config_hash = hash.clone();
        self.desk.record(
            EventKind::Config {
                hash,
                applied: true,
                operations: plan.ipvs.len(),
            },
            format!(
                "configuration applied{}: {} change(s)",
                if persist { "" } else { " from the file" },
                plan.lines().len()
            ),
        );
        self.publish();
        self.unfinished_apply = Some(phases);
        Ok(plan)
    }

    /// The rest of an apply, right after its answer: the checkers move to
    /// the new configuration (unchanged real servers keep their state),
    /// VRRP reloads (unchanged instances keep running), timeouts and the
    /// sync daemon follow, and the usual step settles the table. The
    /// dataplane already holds the new table; nothing else runs between
    /// the answer and this.
    pub(super) async fn finish_apply(&mut self) {
        let Some(mut phases) = self.unfinished_apply.take() else {
            return;
        };
        if let Err(e) = self.health.reload(&self.config).await {
            tracing::error!("checks kept as they were: {e}");
        }
        phases.mark("checks");
        let vrrp = self.vrrp.reload_config(&self.config).await;
        phases.mark("vrrp");
        let timeouts = self.config.global.lvs_timeouts.clone();
        self.set_timeouts(timeouts.as_ref()).await;
        self.last_checks = self.health.report();
        self.converge_or_log("the applied configuration").await;
        self.follow_sync_daemon().await;
        phases.mark("settle");
        tracing::info!("apply took {}", phases.report());
        self.desk.record(
            EventKind::Config {
                hash: self.config_hash.clone(),
                applied: true,
                operations: 0,
            },
            format!(
                "checks and VRRP follow: VRRP kept {}, restarted {}, added {}, removed {}",
                vrrp.kept.len(),
                vrrp.restarted.len(),
                vrrp.added.len(),
                vrrp.removed.len()
            ),
        );
        self.publish();
    }
}
