//! The director's configuration changes: `reload`, `apply` (dry run,
//! confirm window), `confirm`, and the rollback of an unconfirmed apply —
//! validate, plan, the IPVS part all or nothing, answer, then checks and
//! VRRP follow. The loop itself is in the parent module.

use super::Director;
use crate::config::model::Config;
use crate::dataplane::Dataplane;
use crate::engine::command::{CommandError, Outcome};
use crate::engine::event::{wall_ms, EventKind};
use crate::engine::overrides::Actor;
use crate::engine::plan::{
    load_candidate_reusing, operation_line, ApplyPlan, PlanError, Running, RunningText,
};
use crate::engine::snapshot::config_hash;
use crate::engine::transaction::apply_all_or_nothing;
use crate::ipvs::desired;
use crate::ipvs::model::Table;

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
        let path = self.running.path.clone();
        tracing::info!("reloading {}", path.display());
        let text = std::fs::read_to_string(&path).map_err(|e| CommandError::Invalid {
            what: "reload".into(),
            why: format!("cannot read {}: {e}", path.display()),
        })?;
        let plan = self.apply_text(text, false).await.inspect_err(|e| {
            tracing::error!("reload refused, keeping the running configuration: {e}");
        })?;
        Ok(Outcome::Done {
            message: format!(
                "reloaded {} ({} change(s))",
                path.display(),
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
        let previous_text = self.running.confirmed_text();
        let plan = self.apply_text(text, true).await?;
        let rollback_at_ms = match confirm_within_s {
            Some(seconds) => {
                let within = std::time::Duration::from_secs(seconds);
                self.running.await_confirm(previous_text, within);
                Some(wall_ms().saturating_add(seconds.saturating_mul(1000)))
            }
            None => {
                self.running.keep()?;
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
        self.running.confirm()?;
        Ok(Outcome::Done {
            message: format!(
                "apply confirmed and written to {}",
                self.running.path.display()
            ),
        })
    }

    /// The confirmation did not come in time: apply the previous text.
    pub(super) async fn roll_back_unconfirmed(&mut self) {
        let Some(previous_text) = self.running.take_unconfirmed() else {
            return;
        };
        tracing::warn!("apply not confirmed in time: rolling back");
        let system = Actor {
            uid: 0,
            name: "lvstop".into(),
        };
        let rolled_back = self.apply_text(previous_text, false).await;
        self.finish_apply().await;
        match rolled_back {
            Ok(plan) => self.audit(
                &system,
                "rollback",
                format!(
                    "apply not confirmed in time: rolled back ({} change(s))",
                    plan.lines().len()
                ),
            ),
            Err(e) => {
                tracing::error!("the rollback of an unconfirmed apply failed: {e}");
                self.audit(
                    &system,
                    "rollback",
                    format!("apply not confirmed in time; the rollback failed: {e}"),
                );
            }
        }
        self.publish();
    }

    /// The dataplane's table, for a command that cannot go on without it.
    async fn read_live(&self) -> Result<Table, CommandError> {
        self.converger
            .dataplane()
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
            &self.running.path,
            text,
            Some(RunningText {
                text: &self.running.text,
                config: &self.running.config,
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
                config: &self.running.config,
                wanted: self.converger.applied(),
                live: &live,
                owned: self.converger.owned(),
            },
            &candidate,
        )
        .map_err(|e| CommandError::Invalid {
            what: "apply".into(),
            why: e.to_string(),
        })?;
        let wanted = self.state.wanted(&plan.wanted);
        let vrrp = self.vrrp_status.borrow().clone();
        let wanted = self.converger.serveable_for(&candidate, wanted, &vrrp);
        plan.ipvs = self.converger.operations_to(&wanted, live);
        plan.wanted = wanted;
        Ok((candidate, plan))
    }

    /// The transactional apply: plan; the IPVS operations all or nothing
    /// (a refusal rolls the dataplane back and changes nothing else);
    /// then checks (unchanged real servers keep their state), VRRP
    /// (unchanged instances keep running), the operators' overrides and the
    /// IPVS globals follow. `persist` only marks an operator's text (the
    /// caller writes it); a reload's text is the file already.
    async fn apply_text(&mut self, text: String, persist: bool) -> Result<ApplyPlan, CommandError> {
        let mut phases = Phases::start();
        let (candidate, plan) = self.plan(&text).await?;
        phases.mark("plan");
        let before = self.read_live().await?;
        let hash = config_hash(&text);
        let dataplane = self.converger.dataplane();
        if let Err(e) = apply_all_or_nothing(dataplane, &plan.ipvs, &before).await {
            self.state.record(
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
        self.converger.adopt(&plan.wanted, &candidate);
        if let Ok(configured) = desired::from_config(&candidate.lvs) {
            self.state.set_configured(configured);
        }
        self.sync_daemon
            .set_config(candidate.global.lvs_sync_daemon.clone());
        self.running.adopt(candidate, text);
        self.state.record(
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
        if let Err(e) = self.health.reload(&self.running.config).await {
            tracing::error!("checks kept as they were: {e}");
        }
        phases.mark("checks");
        let vrrp = self.vrrp.reload_config(&self.running.config).await;
        phases.mark("vrrp");
        let timeouts = self.running.config.global.lvs_timeouts.clone();
        self.converger.set_timeouts(timeouts.as_ref()).await;
        self.last_checks = self.health.report();
        self.converge_or_log("the applied configuration").await;
        self.follow_sync_daemon().await;
        phases.mark("settle");
        tracing::info!("apply took {}", phases.report());
        self.state.record(
            EventKind::Config {
                hash: self.running.hash.clone(),
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

    /// Record an action the director carried out for `actor`.
    fn audit(&mut self, actor: &Actor, action: &str, detail: String) {
        self.state
            .audit(actor, action, None, Some(detail), wall_ms());
    }
}
