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
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

mod apply;

use super::changes;
use super::command::{Command, CommandError, Outcome, PriorityChange};
use super::desk::{wall_ms, Desk, Step};
use super::event::{EventKind, DEFAULT_CAPACITY};
use super::gate::VipOwners;
use super::handle::{command_channel, CommandRequest};
use super::lvs_globals;
use super::overrides::Actor;
use super::snapshot::{config_hash, DrainView, TargetOverrides};
use super::view::{DeskView, Handle, Sources, Timeline};
use crate::config::diagnostic::{render_text, Severity};
use crate::config::load::{self, Options};
use crate::config::model::global::{LvsSyncDaemon, LvsTimeouts};
use crate::config::model::Config;
use crate::dataplane::{ApplyError, Dataplane, DataplaneError, DataplaneKind, Operation};
use crate::health::report::ChecksReport;
use crate::health::service::{self as health, HealthError, HealthService};
use crate::ipvs::desired::{self, DesiredError, DesiredService};
use crate::ipvs::model::{Daemon, ServiceKey};
use crate::ipvs::reconcile;
use crate::vrrp::runner::{NoticeSinks, RunnerError, RunnerOptions, VrrpService, VrrpStatus};
use apply::{PendingApply, Phases};

/// How often the dataplane is compared with what was applied.
const DRIFT_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// How often check results are compared for flaps.
const CHECKS_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    ConfigLoad(#[from] crate::config::preprocess::LoadError),
    #[error("'{path}' has {errors} error(s); not starting")]
    ConfigInvalid { path: PathBuf, errors: usize },
    #[error(transparent)]
    Desired(#[from] DesiredError),
    #[error("dataplane: {0}")]
    Dataplane(#[from] DataplaneError),
    #[error("dataplane: {0}")]
    Apply(Box<ApplyError>),
    #[error("health checks: {0}")]
    Health(#[from] HealthError),
    #[error("VRRP: {0}")]
    Vrrp(#[from] RunnerError),
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
    pub vrrp: RunnerOptions,
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
        let desk = Desk::new(desired::from_config(&config.lvs)?);
        let gate = (dataplane.kind() == DataplaneKind::Userspace)
            .then(|| VipOwners::from_config(&config))
            .filter(|owners| !owners.is_empty());
        // The table goes in first, as keepalived's checker process does
        // before VRRP runs: a director that is already MASTER (or a
        // standalone one) forwards from its first packet. A gated VIP
        // waits for its instance to become MASTER.
        let mut owned = HashSet::new();
        let mut first = desk.wanted(&health.table());
        if let Some(gate) = &gate {
            first = gate.filter(first, &VrrpStatus::default());
        }
        let applied = converge(dataplane.as_ref(), first, &mut owned).await?;
        let vrrp = VrrpService::start(&config, vrrp_options).await?;
        let vrrp_status = vrrp.status();
        let timeline = Arc::new(Timeline::new(DEFAULT_CAPACITY));
        let (desk_view, desk_view_receiver) = watch::channel(DeskView::default());
        let (commands, command_queue) = command_channel();
        let handle = Handle::start(
            Sources {
                dataplane: Arc::clone(&dataplane),
                health: health.reporter(),
                vrrp: vrrp.status(),
                desk: desk_view_receiver,
                timeline: Arc::clone(&timeline),
                clock_zero: desk.clock_zero(),
                started_unix_ms: wall_ms(),
            },
            commands,
        );
        // The text the configuration came from: the base an apply's plan
        // re-parses from, and the configuration's fingerprint.
        let config_text = std::fs::read_to_string(&options.config_path).unwrap_or_default();
        let mut director = Director {
            dataplane,
            config_hash: config_hash(&config_text),
            config_path: options.config_path,
            health,
            vrrp,
            vrrp_status,
            last_vrrp: VrrpStatus::default(),
            last_checks: ChecksReport::default(),
            desk,
            gate,
            owned,
            applied,
            reported_drift: Vec::new(),
            retry: false,
            sync_config: config.global.lvs_sync_daemon.clone(),
            sync_running: None,
            config_text,
            config: config.clone(),
            pending_apply: None,
            unfinished_apply: None,
            timeline,
            desk_view,
            name: director_name(&config),
        };
        director.last_checks = director.health.report();
        director
            .set_timeouts(config.global.lvs_timeouts.as_ref())
            .await;
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

struct Director<D> {
    dataplane: Arc<D>,
    config_path: PathBuf,
    config_hash: String,
    name: String,
    health: HealthService,
    vrrp: VrrpService,
    vrrp_status: watch::Receiver<VrrpStatus>,
    last_vrrp: VrrpStatus,
    last_checks: ChecksReport,
    desk: Desk,
    /// Userspace only: VIPs served only while their instance is MASTER.
    gate: Option<VipOwners>,
    /// Services this director programmed.
    owned: HashSet<ServiceKey>,
    /// The table last applied, to detect drift.
    applied: Vec<DesiredService>,
    reported_drift: Vec<String>,
    /// The last converge failed (a VIP still held by the previous
    /// master, a refused operation): try again on the next tick.
    retry: bool,
    /// The running configuration and the text it came from.
    config: Config,
    config_text: String,
    /// An apply waiting for `confirm`.
    pending_apply: Option<PendingApply>,
    /// An apply answered whose checks and VRRP still have to follow.
    unfinished_apply: Option<Phases>,
    /// `lvs_sync_daemon`, and the daemon this director started.
    sync_config: Option<LvsSyncDaemon>,
    sync_running: Option<Daemon>,
    timeline: Arc<Timeline>,
    desk_view: watch::Sender<DeskView>,
}

impl<D: Dataplane + 'static> Director<D> {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<CommandRequest>,
        mut stopped: watch::Receiver<bool>,
    ) -> HashSet<ServiceKey> {
        // Drains and ramps are watched once a second while any is running.
        let mut desk_tick = tokio::time::interval(std::time::Duration::from_secs(1));
        desk_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut drift_poll = tokio::time::interval(DRIFT_POLL);
        // A full kernel read of a big table can take longer than the
        // period; keep a whole period between reads instead of catching up.
        drift_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Checkers change state with every probe; their flaps are looked
        // for a few times a second, not on every probe.
        let mut checks_poll = tokio::time::interval(CHECKS_POLL);
        checks_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
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
                        if self.gate.is_some() {
                            self.converge_or_log("VRRP's ownership of the VIPs").await;
                        }
                        self.follow_sync_daemon().await;
                    }
                }
                Some(request) = commands.recv() => self.take(request).await,
                _ = desk_tick.tick(), if self.retry || self.desk.wants_ticks() => {
                    if self.retry {
                        self.converge_or_log("the table (again)").await;
                    }
                    if let Ok(live) = self.dataplane.snapshot().await {
                        if self.desk.tick(&live) {
                            self.converge_or_log("the operators' table").await;
                        }
                        self.publish();
                    }
                }
                _ = drift_poll.tick() => self.check_drift().await,
                () = deadline(self.pending_apply.as_ref().map(|p| p.deadline)) => {
                    self.roll_back_unconfirmed().await;
                }
            }
        }
        tracing::info!("stopping");
        self.stop_sync_daemon().await;
        self.health.shutdown().await;
        self.vrrp.stop().await;
        self.owned
    }

    /// The one director step: wanted table → dataplane, then publish.
    async fn converge(&mut self) -> Result<(), EngineError> {
        let mut wanted = self.desk.wanted(&self.health.table());
        if let Some(gate) = &self.gate {
            wanted = gate.filter(wanted, &self.vrrp_status.borrow());
        }
        let result = converge(self.dataplane.as_ref(), wanted, &mut self.owned).await;
        self.retry = result.is_err();
        if let Ok(applied) = &result {
            self.applied.clone_from(applied);
            self.reported_drift.clear();
        }
        self.publish();
        result.map(|_| ())
    }

    /// [`Director::converge`], recording a failure once (a retry runs
    /// every second until it succeeds) and the recovery.
    async fn converge_or_log(&mut self, what: &str) {
        let failing_before = self.retry;
        match self.converge().await {
            Err(e) if !failing_before => {
                tracing::error!("cannot apply {what}: {e}");
                self.desk.record(
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
                self.desk.record(
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
        let state = self.desk.state();
        let clock = self.desk.now_ms();
        self.desk_view.send_replace(DeskView {
            overrides: TargetOverrides::collect(&state.overrides, clock),
            drains: state.pending_drains().map(DrainView::from).collect(),
            config_path: self.config_path.display().to_string(),
            config_hash: self.config_hash.clone(),
            name: self.name.clone(),
        });
        self.timeline.mirror(&state.events);
    }

    /// `lvs_timeouts`, when the configuration sets any.
    async fn set_timeouts(&mut self, config: Option<&LvsTimeouts>) {
        let Some(timeouts) = lvs_globals::timeouts(config) else {
            return;
        };
        match self
            .dataplane
            .apply(&[Operation::SetTimeouts(timeouts)])
            .await
        {
            Ok(()) => tracing::info!(
                "lvs_timeouts: tcp {} tcpfin {} udp {} (0: unchanged)",
                timeouts.tcp,
                timeouts.tcp_fin,
                timeouts.udp
            ),
            Err(e) => tracing::error!("cannot set lvs_timeouts: {e}"),
        }
    }

    /// Run the sync daemon `lvs_sync_daemon` asks for in the role VRRP
    /// gives now (kernel only; see [`lvs_globals`]).
    async fn follow_sync_daemon(&mut self) {
        let wanted = match &self.sync_config {
            Some(config) if self.dataplane.kind() == DataplaneKind::Kernel => {
                Some(lvs_globals::sync_daemon(config, &self.vrrp_status.borrow()))
            }
            Some(_) => {
                if self.sync_running.is_none() {
                    tracing::warn!("lvs_sync_daemon ignored: the userspace dataplane has no connection table to sync");
                }
                None
            }
            None => None,
        };
        if wanted == self.sync_running {
            return;
        }
        self.stop_sync_daemon().await;
        let Some(daemon) = wanted else { return };
        match self
            .dataplane
            .apply(&[Operation::StartDaemon(daemon.clone())])
            .await
        {
            Ok(()) => {
                tracing::info!(
                    "lvs_sync_daemon: {:?} on {} (syncid {})",
                    daemon.state,
                    daemon.mcast_ifn,
                    daemon.syncid
                );
                self.sync_running = Some(daemon);
            }
            Err(e) => tracing::error!("cannot start the sync daemon: {e}"),
        }
    }

    async fn stop_sync_daemon(&mut self) {
        if let Some(running) = self.sync_running.take() {
            if let Err(e) = self
                .dataplane
                .apply(&[Operation::StopDaemon(running.state)])
                .await
            {
                tracing::error!("cannot stop the sync daemon: {e}");
            }
        }
    }

    fn record(&mut self, changes: Vec<changes::Change>) {
        for (kind, message) in changes {
            tracing::info!("{message}");
            self.desk.record(kind, message);
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

    async fn take(&mut self, request: CommandRequest) {
        tracing::info!(
            "operator {} (uid {}): {}",
            request.actor.name,
            request.actor.uid,
            request.command.verb()
        );
        match self.desk.take(request) {
            Step::Answered => self.publish(),
            Step::Reconcile(pending) => {
                let result = self.converge().await.map_err(|e| e.to_string());
                self.desk.settled(pending, result);
                self.publish();
            }
            Step::Director {
                actor,
                command,
                reply,
            } => {
                let answer = self.carry_out(&actor, command).await;
                if let Ok(Outcome::Done { message }) = &answer {
                    self.desk.audit(&actor, "command", message.clone());
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
    async fn carry_out(
        &mut self,
        actor: &Actor,
        command: Command,
    ) -> Result<Outcome, CommandError> {
        match command {
            Command::Reload => self.reload().await,
            Command::Apply {
                text,
                dry_run,
                confirm_within_s,
            } => self.apply(text, dry_run, confirm_within_s).await,
            Command::Confirm => self.confirm(),
            Command::Zero { service } => self
                .dataplane
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
            Command::Failover {
                name,
                priority: Some(change),
                ..
            } => set_priority(&mut self.vrrp, &name, change).await,
            Command::Failover { name, hold_s, .. } => failover(&self.vrrp, &name, hold_s).await,
            other => Err(not_here(actor, &other)),
        }
    }

    /// Compare the dataplane with what was applied; record each difference
    /// once (IPVS has no change notifications, so this polls). The
    /// director does not undo it: an operator may have meant it; a reload
    /// restores the file's table.
    async fn check_drift(&mut self) {
        let table = match self.dataplane.snapshot().await {
            Ok(table) => table,
            Err(e) => {
                tracing::warn!("cannot read the dataplane to check for drift: {e}");
                return;
            }
        };
        let now: Vec<String> = reconcile::drift(&self.applied, &table)
            .iter()
            .map(|d| d.to_string())
            .collect();
        let new: Vec<String> = now
            .iter()
            .filter(|c| !self.reported_drift.contains(c))
            .cloned()
            .collect();
        for change in new {
            let message = format!(
                "drift: {change} outside lvstop; not undoing it (a reload re-applies the configuration)"
            );
            tracing::warn!("{message}");
            self.desk
                .record(EventKind::Drift { detail: change }, message);
        }
        self.reported_drift = now;
        self.publish();
    }
}

/// Make the dataplane's table equal to `wanted`. Services the director did
/// not program and the configuration does not name (someone else's, on a
/// kernel) are left alone. Returns what is applied now.
async fn converge<D: Dataplane>(
    dataplane: &D,
    wanted: Vec<DesiredService>,
    owned: &mut HashSet<ServiceKey>,
) -> Result<Vec<DesiredService>, EngineError> {
    let wanted_keys: HashSet<ServiceKey> = wanted.iter().map(|s| s.config.key).collect();
    let mut table = dataplane.snapshot().await?;
    table
        .services
        .retain(|s| owned.contains(&s.key()) || wanted_keys.contains(&s.key()));
    let operations = reconcile::plan(&wanted, &table);
    let count = operations.len();
    let result = dataplane.apply(&operations).await;
    // What was added before a failure is ours too.
    owned.extend(wanted_keys.iter().copied());
    if result.is_ok() {
        owned.retain(|k| wanted_keys.contains(k));
    }
    result?;
    if count > 0 {
        tracing::info!(
            "{} virtual service(s) programmed ({count} operation(s))",
            wanted.len()
        );
    }
    Ok(wanted)
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
fn failover_error(name: &str, error: RunnerError) -> CommandError {
    match error {
        RunnerError::UnknownInstance(_) => CommandError::UnknownInstance {
            name: name.to_string(),
        },
        e => CommandError::Refused {
            operation: "failover".into(),
            why: e.to_string(),
        },
    }
}

/// A command this engine cannot carry out yet, refused with the reason.
fn not_here(actor: &Actor, command: &Command) -> CommandError {
    tracing::warn!(
        "operator {} (uid {}): '{}' is not available in this engine",
        actor.name,
        actor.uid,
        command.verb()
    );
    match command {
        Command::Confirm => CommandError::NothingToConfirm,
        other => CommandError::Invalid {
            what: other.verb().to_string(),
            why: "not available in this engine yet".into(),
        },
    }
}

/// Load and validate; warnings are logged, errors stop here.
pub fn load_config(path: &Path) -> Result<Config, EngineError> {
    let outcome = load::load_file(path, &Options::default())?;
    log_diagnostics(&outcome);
    let errors = outcome.diagnostics.count(Severity::Error);
    if errors > 0 {
        return Err(EngineError::ConfigInvalid {
            path: path.to_path_buf(),
            errors,
        });
    }
    Ok(outcome.config)
}

/// Logs a load's errors and warnings ("parsed, not acted on" among them),
/// so the operator of a running director hears of them at every load.
fn log_diagnostics(outcome: &load::Outcome) {
    for diagnostic in &outcome.diagnostics {
        let text = render_text(&outcome.sources, diagnostic);
        match diagnostic.severity {
            Severity::Error => tracing::error!("{text}"),
            Severity::Warning => tracing::warn!("{text}"),
            Severity::Note => {}
        }
    }
}

/// Logs the warnings of configuration text just applied (a reload or an
/// apply), off the async runtime and after the apply has answered: the
/// apply itself may have reused parts of the running model and skipped
/// them.
pub(crate) fn log_applied_warnings(path: PathBuf, text: String) {
    tokio::task::spawn_blocking(move || {
        log_diagnostics(&load::load_str(&path, &text, &Options::default()));
    });
}

/// `router_id`, else the host name.
pub fn director_name(config: &Config) -> String {
    config
        .global
        .router_id
        .as_ref()
        .map(|r| r.value.clone())
        .or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
        })
        .unwrap_or_else(|| "lvstop".into())
}
