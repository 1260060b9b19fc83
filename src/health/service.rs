//! The daemon's health checking: the runner and its driver built from a
//! configuration with the real probes, and everything the runner asks for
//! besides probing — notify scripts through [`crate::notify`] with script
//! security, SMTP alerts through [`AlertSender`] (queued, never waited
//! for), `lvs_notify_fifo`/`notify_fifo` lines — plus the IPVS table health
//! wants, for the daemon to reconcile the dataplane to.
//!
//! A reload builds the new runner, hands it the old runner's state
//! ([`crate::health::machine::HealthMachine::inherit`]) and keeps the old clock,
//! so a real server that is down stays down and is not announced again.
//!
//! This module never touches the dataplane: the daemon applies
//! [`HealthService::table`]. Blocking preparation (user database, script
//! `stat`s, TLS files) runs on tokio's blocking pool.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::model::lvs::ServiceAddress;
use crate::config::model::{Config, Script};
use crate::health::driver::{self, DriverHandle, DriverOptions, StatsHandle};
use crate::health::machine::{
    texts, CheckAction, CheckOptions, CheckPlanError, HealthEvent, HealthMachine, HealthSnapshot,
    ScriptCall,
};
use crate::health::probe::{ProbeSpec, TlsSetupError};
use crate::health::report::{unix_millis, ChecksReport};
use crate::health::target::{probe_specs, RealProbes};
use crate::ipvs::desired::DesiredService;
use crate::notify::script::{ScriptError, SharedScript};
use crate::notify::{
    Alert, AlertSender, FifoEvent, NotifyFifos, NotifyQueue, ScriptPolicy, ServiceName,
    SmtpSettings,
};

/// How long a notify or quorum script may run before its process group
/// is killed. keepalived sets no limit on notify scripts; a bound keeps a
/// hung script from holding its channel for ever.
pub const NOTIFY_SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a stopping daemon waits for the last alerts and scripts.
pub const SETTLE_ON_STOP: Duration = Duration::from_secs(5);

/// Why health checking could not start.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    HealthMachine(#[from] CheckPlanError),
    #[error("SSL block: {0}")]
    Tls(#[from] TlsSetupError),
    #[error("script_user: {0}")]
    ScriptUser(#[from] crate::notify::user::UserError),
    #[error("notification_email: {0}")]
    Smtp(#[from] crate::notify::smtp::SmtpSettingsError),
    #[error("health check preparation failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Targets(#[from] driver::TargetCountMismatch),
}

/// A script as the runner names it.
type ScriptKey = (Vec<String>, Option<String>, Option<String>);

/// What the blocking preparation produced.
struct Prepared {
    runner: HealthMachine,
    specs: Vec<ProbeSpec>,
    scripts: HashMap<ScriptKey, Result<SharedScript, ScriptError>>,
    smtp: Option<SmtpSettings>,
    names: HashMap<String, ServiceName>,
}

/// Health checking as the daemon runs it. See the module docs.
#[derive(Debug)]
pub struct HealthService {
    /// `None` only after a reload failed half-way (no checks run then).
    driver: Option<DriverHandle>,
    desired: watch::Receiver<Arc<Vec<DesiredService>>>,
    /// The checkers' states, to notice every change (not only those that
    /// change the table).
    checks: watch::Receiver<Arc<HealthSnapshot>>,
    consumer: Option<JoinHandle<()>>,
    alerts: Option<(SmtpSettings, AlertSender)>,
    queues: Queues,
    fifos: Arc<NotifyFifos>,
    epoch_unix_ms: u64,
    reporter: HealthReporter,
}

/// Answers "how are the checks?" from any task, across reloads.
#[derive(Debug, Clone, Default)]
pub struct HealthReporter(Arc<Mutex<Option<ReportParts>>>);

#[derive(Debug)]
struct ReportParts {
    snapshot: watch::Receiver<Arc<HealthSnapshot>>,
    stats: StatsHandle,
    alerts: Option<AlertSender>,
    epoch_unix_ms: u64,
}

impl HealthReporter {
    /// Every checker's state now (empty when no checks run).
    pub fn report(&self) -> ChecksReport {
        let guard = lock(&self.0);
        let Some(parts) = guard.as_ref() else {
            return ChecksReport::default();
        };
        let snapshot = parts.snapshot.borrow().as_ref().clone();
        ChecksReport {
            epoch_unix_ms: parts.epoch_unix_ms,
            snapshot,
            driver: parts.stats.get(),
            alerts: parts.alerts.as_ref().map(|sender| sender.stats().into()),
        }
    }
}

/// Ordered notify channels, kept across reloads so a channel's order holds.
type Queues = Arc<Mutex<HashMap<String, NotifyQueue>>>;

impl HealthService {
    /// Builds the checkers of `config` and starts them. `fifos` are the
    /// daemon's notify FIFOs (shared with VRRP). The first
    /// [`HealthService::table`] is the start-up table (every real server
    /// up unless `alpha`).
    pub async fn start(config: &Config, fifos: Arc<NotifyFifos>) -> Result<Self, HealthError> {
        let prepared = prepare(config).await?;
        let alerts = sender_for(prepared.smtp.clone(), None)?;
        let (_, desired) = watch::channel(Arc::new(Vec::new()));
        let (_, checks) = watch::channel(Arc::new(HealthSnapshot::default()));
        let mut service = HealthService {
            driver: None,
            desired,
            checks,
            consumer: None,
            alerts,
            queues: Queues::default(),
            fifos,
            epoch_unix_ms: 0,
            reporter: HealthReporter::default(),
        };
        service.launch(prepared, None)?;
        Ok(service)
    }

    /// Replaces the checkers with those of `config`, keeping the state of
    /// every real server whose checkers did not change (see
    /// [`HealthMachine::inherit`]). When `config` cannot be prepared the running
    /// checkers are untouched.
    pub async fn reload(&mut self, config: &Config) -> Result<(), HealthError> {
        let prepared = prepare(config).await?;
        self.alerts = sender_for(prepared.smtp.clone(), self.alerts.take())?;
        let previous = match self.driver.take() {
            Some(driver) => {
                let epoch = driver.epoch();
                match driver.detach().await {
                    Ok(runner) => Some((runner, epoch)),
                    Err(e) => {
                        tracing::error!("the previous checkers ended badly ({e}); starting afresh");
                        None
                    }
                }
            }
            None => None,
        };
        self.launch(prepared, previous)
    }

    fn launch(
        &mut self,
        mut prepared: Prepared,
        previous: Option<(HealthMachine, tokio::time::Instant)>,
    ) -> Result<(), HealthError> {
        let mut options = DriverOptions::default();
        if let Some((old, epoch)) = &previous {
            let kept = prepared.runner.inherit(old);
            tracing::info!(
                "reload kept the state of {} real server(s) ({} checker(s))",
                kept.real_servers,
                kept.checkers
            );
            options.epoch = Some(*epoch);
        }
        let checkers = prepared.specs.len();
        let mut driver = driver::spawn(
            prepared.runner,
            prepared.specs,
            Arc::new(RealProbes),
            options,
        )?;
        if checkers > 0 {
            tracing::info!("health: {checkers} checker(s) running");
        }
        if previous.is_none() {
            let since = SystemTime::now()
                .checked_sub(driver.epoch().elapsed())
                .unwrap_or_else(SystemTime::now);
            self.epoch_unix_ms = unix_millis(since);
        }
        let actions = std::mem::replace(&mut driver.actions, mpsc::unbounded_channel().1);
        let notifier = Notifier {
            scripts: prepared.scripts,
            queues: Arc::clone(&self.queues),
            alerts: self.alerts.as_ref().map(|(_, sender)| sender.clone()),
            fifos: Arc::clone(&self.fifos),
            names: prepared.names,
        };
        // The previous consumer ends by itself once it has handled what
        // the previous driver sent.
        self.consumer = Some(tokio::spawn(notifier.run(actions)));
        self.desired = driver.desired.clone();
        self.checks = driver.snapshot.clone();
        *lock(&self.reporter.0) = Some(ReportParts {
            snapshot: driver.snapshot.clone(),
            stats: driver.stats_handle(),
            alerts: self.alerts.as_ref().map(|(_, sender)| sender.clone()),
            epoch_unix_ms: self.epoch_unix_ms,
        });
        self.driver = Some(driver);
        Ok(())
    }

    /// The IPVS table health wants now: the configuration's services with
    /// the live real servers (weight 0 for failed ones under
    /// `inhibit_on_failure`, the sorry server while the quorum is lost).
    pub fn table(&mut self) -> Vec<DesiredService> {
        self.desired.borrow_and_update().as_ref().clone()
    }

    /// Resolves when [`HealthService::table`] has changed since it was last
    /// read. Never resolves when the checks are not running.
    pub async fn changed(&mut self) {
        if self.desired.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Whether any checker's state changed since the last call (a
    /// verdict, a reason, a failure count, a latency).
    pub fn checks_changed(&mut self) -> bool {
        let changed = self.checks.has_changed().unwrap_or(false);
        if changed {
            self.checks.mark_unchanged();
        }
        changed
    }

    /// Every checker's state, for `Request::Checks`.
    pub fn report(&self) -> ChecksReport {
        self.reporter.report()
    }

    /// A handle that reports from another task (the control socket).
    pub fn reporter(&self) -> HealthReporter {
        self.reporter.clone()
    }

    /// Stops checking: the runner's shutdown (real servers leave; with
    /// `omega` the down scripts run and alerts go out), then waits up to
    /// [`SETTLE_ON_STOP`] for queued alerts and scripts.
    pub async fn shutdown(mut self) {
        if let Some(driver) = self.driver.take() {
            if let Err(e) = driver.shutdown().await {
                tracing::error!("the checkers ended badly: {e}");
            }
        }
        if let Some(consumer) = self.consumer.take() {
            let _ = consumer.await;
        }
        let deadline = tokio::time::Instant::now() + SETTLE_ON_STOP;
        while tokio::time::Instant::now() < deadline && !self.settled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn settled(&self) -> bool {
        let alerts_done = self.alerts.as_ref().is_none_or(|(_, sender)| {
            let stats = sender.stats();
            stats.queued == 0 && stats.sent + stats.failed + stats.dropped >= stats.submitted
        });
        let scripts_done = lock(&self.queues).values().all(|queue| {
            let stats = queue.stats();
            stats.queued == 0 && stats.succeeded + stats.failed + stats.dropped >= stats.submitted
        });
        alerts_done && scripts_done
    }
}

/// The daemon's notify FIFOs from `global_defs` (blocking: mkfifo, user
/// lookups). A FIFO that cannot be set up is logged and left out; the
/// daemon runs on without it.
pub fn open_fifos(config: &Config) -> Arc<NotifyFifos> {
    let opened = ScriptPolicy::from_global(&config.global)
        .map_err(|e| e.to_string())
        .and_then(|policy| NotifyFifos::open(&config.global, &policy).map_err(|e| e.to_string()));
    match opened {
        Ok(fifos) => Arc::new(fifos),
        Err(e) => {
            tracing::error!("notify FIFOs not opened: {e}");
            Arc::new(NotifyFifos::default())
        }
    }
}

/// The alert sender for `settings`: the running one when the settings did
/// not change (its queue and counters carry on), else a new one.
fn sender_for(
    settings: Option<SmtpSettings>,
    running: Option<(SmtpSettings, AlertSender)>,
) -> Result<Option<(SmtpSettings, AlertSender)>, crate::notify::smtp::SmtpSettingsError> {
    let Some(settings) = settings else {
        return Ok(None);
    };
    if let Some((old, sender)) = running {
        if old == settings {
            return Ok(Some((old, sender)));
        }
    }
    let sender = AlertSender::spawn(
        settings.clone(),
        crate::notify::smtp::DEFAULT_QUEUE_CAPACITY,
    )?;
    Ok(Some((settings, sender)))
}

/// The blocking part of building the checkers, on tokio's blocking pool.
async fn prepare(config: &Config) -> Result<Prepared, HealthError> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || prepare_blocking(&config)).await?
}

fn prepare_blocking(config: &Config) -> Result<Prepared, HealthError> {
    let policy = ScriptPolicy::from_global(&config.global)?;
    // MISC_CHECKs whose script may not run are left out, as keepalived
    // does; the real server is judged on its other checkers.
    let (allowed, misc) = crate::health::probe::misc_scripts(config, &policy);
    let config = allowed.as_ref().unwrap_or(config);
    let options = CheckOptions {
        seed: seed(),
        hostname: crate::notify::smtp::local_host_name(),
    };
    let runner = HealthMachine::new(config, options)?;
    let needs_tls = config.lvs.virtual_servers.iter().any(|vs| {
        vs.real_servers.iter().any(|rs| {
            rs.checkers
                .iter()
                .any(|c| matches!(c.kind.value, crate::config::model::lvs::CheckerKind::Ssl(_)))
        })
    });
    let tls = if needs_tls {
        Some(crate::health::probe::tls_client_for(&config.lvs)?)
    } else {
        None
    };
    let mut specs = probe_specs(config, tls.as_ref());
    for spec in &mut specs {
        crate::health::probe::attach_script(spec, &misc);
    }
    if specs.len() != runner.targets().len() {
        return Err(driver::TargetCountMismatch {
            targets: specs.len(),
            checkers: runner.targets().len(),
        }
        .into());
    }
    let mut scripts = HashMap::new();
    for script in notify_scripts(config) {
        let key = (
            script.argv.clone(),
            script.user.clone(),
            script.group.clone(),
        );
        if scripts.contains_key(&key) {
            continue;
        }
        let prepared = policy.prepare(script).map(Arc::new).inspect_err(|e| {
            tracing::error!("{e}");
        });
        scripts.insert(key, prepared);
    }
    Ok(Prepared {
        runner,
        specs,
        scripts,
        smtp: SmtpSettings::from_global(&config.global),
        names: service_names(config),
    })
}

/// The scripts the runner may ask for: `notify_up`/`notify_down` of real
/// servers, `quorum_up`/`quorum_down` of virtual servers.
fn notify_scripts(config: &Config) -> Vec<&Script> {
    let mut out = Vec::new();
    for vs in &config.lvs.virtual_servers {
        out.extend(vs.quorum_up.iter().chain(vs.quorum_down.iter()));
        for rs in &vs.real_servers {
            out.extend(rs.notify_up.iter().chain(rs.notify_down.iter()));
        }
    }
    out
}

/// keepalived's names of every virtual and real server, as FIFO lines
/// spell them, keyed by the runner's names (the same text).
fn service_names(config: &Config) -> HashMap<String, ServiceName> {
    let mut names = HashMap::new();
    for vs in &config.lvs.virtual_servers {
        let protocol = vs.effective_protocol();
        let vs_name = match &vs.service.value {
            ServiceAddress::Address { ip, port } => {
                protocol.map(|protocol| ServiceName::address(*ip, protocol, port.unwrap_or(0)))
            }
            ServiceAddress::Fwmark(mark) => Some(ServiceName::Fwmark(*mark)),
            ServiceAddress::Group(name) => Some(ServiceName::Group {
                name: name.clone(),
                port: 0,
            }),
        };
        if let Some(name) = vs_name {
            names.insert(texts::virtual_server_name(vs), name);
        }
        // A fwmark service without a protocol has no FIFO spelling.
        let Some(protocol) = protocol else {
            continue;
        };
        for rs in &vs.real_servers {
            let addr = SocketAddr::new(rs.endpoint.value.ip, rs.effective_port(vs));
            names.insert(
                texts::real_server_name(vs, addr),
                ServiceName::address(addr.ip(), protocol, addr.port()),
            );
        }
    }
    names
}

/// keepalived draws warmup delays at random; seed from the clock and pid.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Does what the runner asks besides probing and membership.
struct Notifier {
    scripts: HashMap<ScriptKey, Result<SharedScript, ScriptError>>,
    queues: Queues,
    alerts: Option<AlertSender>,
    fifos: Arc<NotifyFifos>,
    names: HashMap<String, ServiceName>,
}

impl Notifier {
    async fn run(self, mut actions: mpsc::UnboundedReceiver<CheckAction>) {
        while let Some(action) = actions.recv().await {
            self.handle(action);
        }
    }

    fn handle(&self, action: CheckAction) {
        match action {
            CheckAction::RunScript { script } => self.run_script(&script),
            CheckAction::SendAlert { subject, body } => match &self.alerts {
                Some(sender) => sender.send(Alert::new(subject, body)),
                None => tracing::debug!(
                    "alert not sent (no smtp_server or notification_email): {subject}"
                ),
            },
            CheckAction::Event { event } => self.fifo(&event),
            // Membership reaches the daemon through the desired table; the
            // driver logs the log lines; probes are the driver's.
            CheckAction::SetDest { .. }
            | CheckAction::RemoveDest { .. }
            | CheckAction::Log { .. }
            | CheckAction::StartProbe { .. } => {}
        }
    }

    fn run_script(&self, call: &ScriptCall) {
        let key = (call.argv.clone(), call.user.clone(), call.group.clone());
        match self.scripts.get(&key) {
            Some(Ok(script)) => {
                let mut queues = lock(&self.queues);
                let queue = queues.entry(call.channel.clone()).or_insert_with(|| {
                    NotifyQueue::spawn(
                        call.channel.clone(),
                        NOTIFY_SCRIPT_TIMEOUT,
                        crate::notify::ordered::DEFAULT_CAPACITY,
                    )
                });
                queue.push(Arc::clone(script), Vec::new());
            }
            Some(Err(refused)) => {
                tracing::error!("{} script not run: {refused}", call.hook);
            }
            None => tracing::error!(
                "{} script '{}' was not prepared; not run",
                call.hook,
                call.argv.join(" ")
            ),
        }
    }

    /// `lvs_notify_fifo` / `notify_fifo`: `RS <rs> <vs> UP|DOWN` when a
    /// real server changes, `VS <vs> UP|DOWN` when a quorum does.
    fn fifo(&self, event: &HealthEvent) {
        let line = match event {
            HealthEvent::RealServer {
                virtual_server,
                real_server,
                up,
                ..
            } => match (self.names.get(real_server), self.names.get(virtual_server)) {
                (Some(rs), Some(vs)) => FifoEvent::RealServer {
                    real_server: rs.clone(),
                    virtual_server: vs.clone(),
                    up: *up,
                },
                _ => return,
            },
            HealthEvent::Quorum {
                virtual_server, up, ..
            } => match self.names.get(virtual_server) {
                Some(vs) => FifoEvent::VirtualServer {
                    service: vs.clone(),
                    up: *up,
                },
                None => return,
            },
            _ => return,
        };
        self.fifos.write(&line);
    }
}
