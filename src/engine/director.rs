//! The director: one loop that keeps the dataplane equal to the
//! configuration as the health checks, VRRP ownership and the operators'
//! overrides filter it; takes commands; and records what happens in the
//! timeline. It runs inside `lvstop daemon` and inside the console alike;
//! both reach it through [`Engine::handle`].
//!
//! Every change ends in one step ([`Director::converge`]): compute the
//! wanted table, reconcile the dataplane onto it, remember what was
//! applied, publish the overrides for snapshots. Configuration changes
//! (reload, apply, confirm) are in [`apply`]. Nothing here knows about
//! sockets, signals or terminals.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

mod apply;

use super::changes;
use super::channel::{command_channel, CommandRequest};
use super::command::{CommandError, Outcome, PriorityChange};
use super::converger::Converger;
use super::event::{wall_ms, EventKind, DEFAULT_CAPACITY};
use super::handle::{Handle, LoopView, Sources, Timeline};
use super::running::RunningConfig;
use super::snapshot::{DrainView, TargetOverrides};
use super::state::{EngineState, IoCommand, Next};
use super::sync_daemon::SyncDaemon;
use crate::config::model::Config;
use crate::dataplane::{ApplyError, Dataplane, DataplaneError, Operation};
use crate::health::report::ChecksReport;
use crate::health::service::{self as health, HealthError, HealthService};
use crate::ipvs::desired::{self, DesiredError};
use crate::ipvs::model::ServiceKey;
use crate::vrrp::driver::{NoticeSinks, VrrpError, VrrpOptions, VrrpService, VrrpStatus};
use apply::Phases;

/// How often the dataplane is compared with what was applied.
const DRIFT_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// How often check results are compared for flaps.
const CHECKS_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error("dataplane: {0}")]
    Dataplane(#[from] DataplaneError),
    #[error("dataplane: {0}")]
    Apply(Box<ApplyError>),
    #[error("health checks: {0}")]
    Health(#[from] HealthError),
    #[error("VRRP: {0}")]
    Vrrp(#[from] VrrpError),
}

impl From<ApplyError> for EngineError {
    fn from(error: ApplyError) -> Self {
        EngineError::Apply(Box::new(error))
    }
}

/// How an engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The file `reload` reads again.
    pub config_path: PathBuf,
    /// VRRP's sockets: the host's, or an in-memory segment (demo, tests).
    pub vrrp: VrrpOptions,
}

/// A running engine.
#[derive(Debug)]
pub struct Engine {
    handle: Handle,
    stop: watch::Sender<bool>,
    task: JoinHandle<HashSet<ServiceKey>>,
}

impl Engine {
    /// Program `dataplane` from `config`, start checks and VRRP, and run
    /// the director's loop on its own task.
    pub async fn start<D: Dataplane + 'static>(
        dataplane: Arc<D>,
        config: Config,
        options: EngineOptions,
    ) -> Result<Engine, EngineError> {
        let config_for_fifos = config.clone();
        let fifos = tokio::task::spawn_blocking(move || health::open_fifos(&config_for_fifos))
            .await
            .map_err(HealthError::from)?;
        let mut vrrp_options = options.vrrp.clone();
        vrrp_options.notices = NoticeSinks::from_config(&config, Arc::clone(&fifos))
            .unwrap_or_else(|e| {
                tracing::error!("VRRP e-mail alerts disabled: {e}");
                NoticeSinks::fifos_only(Arc::clone(&fifos))
            });
        let mut health = HealthService::start(&config, fifos).await?;
        let state = EngineState::new(desired::from_config(&config.lvs)?);
        // The table goes in first, as keepalived's checker process does
        // before VRRP runs: a director that is already MASTER (or a
        // standalone one) forwards from its first packet. A gated VIP
        // waits for its instance to become MASTER.
        let mut converger = Converger::new(Arc::clone(&dataplane), &config);
        converger
            .converge(state.wanted(&health.table()), &VrrpStatus::default())
            .await?;
        let vrrp = VrrpService::start(&config, vrrp_options).await?;
        let vrrp_status = vrrp.status();
        let timeline = Arc::new(Timeline::new(DEFAULT_CAPACITY));
        let (view, view_receiver) = watch::channel(LoopView::default());
        let (commands, command_queue) = command_channel();
        let handle = Handle::start(
            Sources {
                dataplane,
                health: health.reporter(),
                vrrp: vrrp.status(),
                director: view_receiver,
                timeline: Arc::clone(&timeline),
                clock_zero: state.clock_zero(),
                started_unix_ms: wall_ms(),
            },
            commands,
        );
        let mut director = Director {
            converger,
            sync_daemon: SyncDaemon::new(config.global.lvs_sync_daemon.clone()),
            running: RunningConfig::loaded(config, options.config_path),
            last_checks: health.report(),
            health,
            vrrp,
            vrrp_status,
            last_vrrp: VrrpStatus::default(),
            state,
            unfinished_apply: None,
            timeline,
            view,
        };
        let timeouts = director.running.config.global.lvs_timeouts.clone();
        director.converger.set_timeouts(timeouts.as_ref()).await;
        director.publish();
        director.follow_sync_daemon().await;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(director.run(command_queue, stopped));
        Ok(Engine { handle, stop, task })
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Stop checks and VRRP (priority-0 adverts, VIPs removed). Returns
    /// the services this engine programmed, for the caller to keep or
    /// remove.
    pub async fn stop(self) -> HashSet<ServiceKey> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// The director's loop and everything it holds.
struct Director<D> {
    /// The dataplane and what this director did to it.
    converger: Converger<D>,
    /// The configuration that runs, its text, file and pending apply.
    running: RunningConfig,
    sync_daemon: SyncDaemon,
    /// Overrides, drains, the timeline and the clock.
    state: EngineState,
    health: HealthService,
    vrrp: VrrpService,
    vrrp_status: watch::Receiver<VrrpStatus>,
    /// What the timeline last heard of, to record changes once.
    last_vrrp: VrrpStatus,
    last_checks: ChecksReport,
    /// An apply answered whose checks and VRRP still have to follow.
    unfinished_apply: Option<Phases>,
    timeline: Arc<Timeline>,
    view: watch::Sender<LoopView>,
}

impl<D: Dataplane + 'static> Director<D> {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<CommandRequest>,
        mut stopped: watch::Receiver<bool>,
    ) -> HashSet<ServiceKey> {
        // Drains and ramps are watched once a second while any is running.
        let mut state_tick = tokio::time::interval(std::time::Duration::from_secs(1));
        state_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut drift_poll = tokio::time::interval(DRIFT_POLL);
        // A full kernel read of a big table can take longer than the
        // period; keep a whole period between reads instead of catching up.
        drift_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Checkers change state with every probe; their flaps are looked
        // for a few times a second, not on every probe.
        let mut checks_poll = tokio::time::interval(CHECKS_POLL);
        checks_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let ticking = self.converger.retrying() || self.state.wants_ticks();
            tokio::select! {
                changed = stopped.changed() => {
                    if changed.is_err() || *stopped.borrow() {
                        break;
                    }
                }
                _ = self.health.changed() => {
                    self.converge_or_log("the health checks' table").await;
                }
                _ = checks_poll.tick() => {
                    if self.health.checks_changed() {
                        self.note_checks();
                    }
                }
                changed = self.vrrp_status.changed() => {
                    if changed.is_ok() {
                        self.note_vrrp();
                        if self.converger.gated() {
                            self.converge_or_log("VRRP's ownership of the VIPs").await;
                        }
                        self.follow_sync_daemon().await;
                    }
                }
                Some(request) = commands.recv() => self.take(request).await,
                _ = state_tick.tick(), if ticking => {
                    if self.converger.retrying() {
                        self.converge_or_log("the table (again)").await;
                    }
                    if let Ok(live) = self.converger.dataplane().snapshot().await {
                        if self.state.tick(&live) {
                            self.converge_or_log("the operators' table").await;
                        }
                        self.publish();
                    }
                }
                _ = drift_poll.tick() => self.check_drift().await,
                () = deadline(self.running.confirm_deadline()) => {
                    self.roll_back_unconfirmed().await;
                }
            }
        }
        tracing::info!("stopping");
        self.sync_daemon.stop(self.converger.dataplane()).await;
        self.health.shutdown().await;
        self.vrrp.stop().await;
        self.converger.into_owned()
    }

    /// The one director step: wanted table → dataplane, then publish.
    async fn converge(&mut self) -> Result<(), EngineError> {
        let wanted = self.state.wanted(&self.health.table());
        let vrrp = self.vrrp_status.borrow().clone();
        let result = self.converger.converge(wanted, &vrrp).await;
        self.publish();
        result
    }

    /// [`Director::converge`], recording a failure once (a retry runs
    /// every second until it succeeds) and the recovery.
    async fn converge_or_log(&mut self, what: &str) {
        let failing_before = self.converger.retrying();
        match self.converge().await {
            Err(e) if !failing_before => {
                tracing::error!("cannot apply {what}: {e}");
                self.state.record(
                    EventKind::Dataplane {
                        detail: e.to_string(),
                    },
                    format!("cannot apply {what}: {e}; retrying every second"),
                );
                self.publish();
            }
            Err(e) => tracing::debug!("still cannot apply {what}: {e}"),
            Ok(()) if failing_before => {
                tracing::info!("the table is applied again");
                self.state.record(
                    EventKind::Dataplane {
                        detail: "applied again".into(),
                    },
                    "the table is applied again".into(),
                );
                self.publish();
            }
            Ok(()) => {}
        }
    }

    /// Make the overrides, drains and new events visible to watchers.
    fn publish(&self) {
        let clock = self.state.now_ms();
        self.view.send_replace(LoopView {
            overrides: TargetOverrides::collect(&self.state.overrides, clock),
            drains: self.state.pending_drains().map(DrainView::from).collect(),
            config_path: self.running.path.display().to_string(),
            config_hash: self.running.hash.clone(),
            name: self.running.name.clone(),
        });
        self.timeline.mirror(&self.state.events);
    }

    /// Run the sync daemon `lvs_sync_daemon` asks for in the role VRRP
    /// gives now.
    async fn follow_sync_daemon(&mut self) {
        let vrrp = self.vrrp_status.borrow().clone();
        self.sync_daemon
            .follow(self.converger.dataplane(), &vrrp)
            .await;
    }

    fn record(&mut self, changes: Vec<changes::Change>) {
        for (kind, message) in changes {
            tracing::info!("{message}");
            self.state.record(kind, message);
        }
    }

    fn note_checks(&mut self) {
        let now = self.health.report();
        let mut found = changes::checks(&self.last_checks, &now);
        found.extend(changes::alerts(self.last_checks.alerts, now.alerts));
        self.record(found);
        self.last_checks = now;
        self.publish();
    }

    fn note_vrrp(&mut self) {
        let now = self.vrrp_status.borrow_and_update().clone();
        let found = changes::vrrp(&self.last_vrrp, &now);
        self.record(found);
        self.last_vrrp = now;
        self.publish();
    }

    /// One command, through the state: answered, reconciled, or carried
    /// out here.
    async fn take(&mut self, request: CommandRequest) {
        tracing::info!(
            "operator {} (uid {}): {}",
            request.actor.name,
            request.actor.uid,
            request.command.verb()
        );
        match self.state.take(request) {
            Next::Answered => self.publish(),
            Next::Reconcile(pending) => {
                let result = self.converge().await.map_err(|e| e.to_string());
                self.state.settled(pending, result);
                self.publish();
            }
            Next::NeedsIo {
                actor,
                command,
                reply,
            } => {
                let answer = self.carry_out(command).await;
                if let Ok(Outcome::Done { message }) = &answer {
                    self.state
                        .audit(&actor, "command", None, Some(message.clone()), wall_ms());
                }
                self.publish();
                let _ = reply.send(answer);
                // The waiting request task sits in this worker's LIFO slot,
                // which no other worker may steal; let it write the answer
                // before the rest of an apply keeps this worker busy.
                tokio::task::yield_now().await;
                self.finish_apply().await;
            }
        }
    }

    /// Commands that need the director's own I/O.
    async fn carry_out(&mut self, command: IoCommand) -> Result<Outcome, CommandError> {
        match command {
            IoCommand::Reload => self.reload().await,
            IoCommand::Apply {
                text,
                dry_run,
                confirm_within_s,
            } => self.apply(text, dry_run, confirm_within_s).await,
            IoCommand::Confirm => self.confirm(),
            IoCommand::Zero { service } => self
                .converger
                .dataplane()
                .apply(&[Operation::Zero(service)])
                .await
                .map(|()| Outcome::Done {
                    message: service.map_or_else(
                        || "counters zeroed".to_string(),
                        |s| format!("counters of {s} zeroed"),
                    ),
                })
                .map_err(|e| CommandError::Refused {
                    operation: "zero".into(),
                    why: e.to_string(),
                }),
            IoCommand::SetPriority { name, change } => {
                set_priority(&mut self.vrrp, &name, change).await
            }
            IoCommand::StepDown { name, hold_s } => failover(&self.vrrp, &name, hold_s).await,
        }
    }

    /// Record each difference between the dataplane and what was applied
    /// once. The director does not undo it: an operator may have meant
    /// it; a reload restores the file's table.
    async fn check_drift(&mut self) {
        for change in self.converger.new_drift().await {
            let message = format!(
                "drift: {change} outside lvstop; not undoing it (a reload re-applies the configuration)"
            );
            tracing::warn!("{message}");
            self.state
                .record(EventKind::Drift { detail: change }, message);
        }
        self.publish();
    }
}

/// Resolves at `at`, never without one.
async fn deadline(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `failover`: the instance (or sync group) steps down with a priority-0
/// advert and stays BACKUP for `hold_s` seconds.
async fn failover(vrrp: &VrrpService, name: &str, hold_s: u64) -> Result<Outcome, CommandError> {
    let runner = vrrp.runner().ok_or_else(|| CommandError::UnknownInstance {
        name: name.to_string(),
    })?;
    runner
        .force_failover(name, std::time::Duration::from_secs(hold_s))
        .await
        .map_err(|e| failover_error(name, e))?;
    Ok(Outcome::Done {
        message: format!("{name} steps down: priority 0 sent, BACKUP for {hold_s} s"),
    })
}

/// `failover --priority`: the instance (or sync group) runs at another
/// priority until set back; VRRP's own election moves the VIPs.
async fn set_priority(
    vrrp: &mut VrrpService,
    name: &str,
    change: PriorityChange,
) -> Result<Outcome, CommandError> {
    let priority = change.priority()?;
    vrrp.set_priority(name, priority)
        .await
        .map_err(|e| failover_error(name, e))?;
    Ok(Outcome::Done {
        message: match priority {
            Some(p) => format!("{name} runs at priority {p} until set back"),
            None => format!("{name} runs at its configured priority again"),
        },
    })
}

/// A failover the VRRP runners refused, in the command's terms.
fn failover_error(name: &str, error: VrrpError) -> CommandError {
    match error {
        VrrpError::UnknownInstance(_) => CommandError::UnknownInstance {
            name: name.to_string(),
        },
        e => CommandError::Refused {
            operation: "failover".into(),
            why: e.to_string(),
        },
    }
}
