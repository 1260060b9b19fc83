//! Runs a [`HealthMachine`] on tokio against real probes.
//!
//! One task owns the runner: it sleeps until the next probe is due, spawns
//! every probe as its own task (so no probe, however slow, holds up the
//! loop or another probe), feeds results back, forwards the runner's
//! actions on a channel, logs its log lines through `tracing`, and
//! publishes the snapshot and, at once on every membership change, the
//! table health wants. It counts how late each probe started against
//! its schedule. It never blocks: no blocking call, and the outbound
//! channel is unbounded (its traffic is state changes, not probe results).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::health::machine::{
    CheckAction, CheckerId, HealthMachine, HealthSnapshot, LogLevel, ProbeFinished,
};
use crate::health::outcome::{ProbeReport, Reason, Verdict};
use crate::health::target::Prober;
use crate::ipvs::desired::DesiredService;

/// How the driver behaves.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// A probe that starts later than this after its scheduled time counts
    /// as late.
    pub late_tolerance: Duration,
    /// How often the snapshot is republished when something changed.
    pub snapshot_interval: Duration,
    /// How soon the snapshot is republished after a state change (a
    /// verdict, a membership or quorum change), so that what the console
    /// shows agrees with the table within this. Changes closer together
    /// share one publication.
    pub change_publish_delay: Duration,
    /// Extra time a probe gets beyond its own timeout before the driver
    /// cuts it off and reports a timeout itself.
    pub probe_grace: Duration,
    /// Time zero of the runner's clock; `None` is "now". A reload passes
    /// the previous driver's epoch so inherited times stay on one clock.
    pub epoch: Option<Instant>,
}

impl Default for DriverOptions {
    fn default() -> Self {
        Self {
            late_tolerance: Duration::from_millis(50),
            snapshot_interval: Duration::from_millis(500),
            change_publish_delay: Duration::from_millis(20),
            probe_grace: Duration::from_secs(1),
            epoch: None,
        }
    }
}

/// Counters for the benchmark and the console: how many probes ran and
/// how late they started.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DriverStats {
    pub probes_started: u64,
    pub probes_finished: u64,
    /// Probes that started more than `late_tolerance` after schedule.
    pub probes_late: u64,
    #[serde(
        serialize_with = "crate::health::machine::serialize_millis",
        deserialize_with = "crate::health::machine::deserialize_millis"
    )]
    pub lateness_p50: Duration,
    #[serde(
        serialize_with = "crate::health::machine::serialize_millis",
        deserialize_with = "crate::health::machine::deserialize_millis"
    )]
    pub lateness_p99: Duration,
    #[serde(
        serialize_with = "crate::health::machine::serialize_millis",
        deserialize_with = "crate::health::machine::deserialize_millis"
    )]
    pub lateness_max: Duration,
}

/// Lateness in whole milliseconds, one bucket each up to 10 s.
#[derive(Debug)]
struct Lateness {
    buckets: Vec<u64>,
    stats: DriverStats,
    tolerance: Duration,
}

const LATENESS_BUCKETS: usize = 10_001;

/// Results handled between two looks at the schedule.
const RESULT_BATCH: u32 = 64;

impl Lateness {
    fn record(&mut self, late: Duration) {
        let millis = usize::try_from(late.as_millis()).unwrap_or(usize::MAX);
        self.buckets[millis.min(LATENESS_BUCKETS - 1)] += 1;
        self.stats.probes_started += 1;
        if late > self.tolerance {
            self.stats.probes_late += 1;
        }
        self.stats.lateness_max = self.stats.lateness_max.max(late);
    }

    fn quantile(&self, q: f64) -> Duration {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (millis, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_millis(millis as u64);
            }
        }
        Duration::from_millis(LATENESS_BUCKETS as u64 - 1)
    }

    fn snapshot(&self) -> DriverStats {
        DriverStats {
            lateness_p50: self.quantile(0.50),
            lateness_p99: self.quantile(0.99),
            ..self.stats.clone()
        }
    }
}

/// The running driver: its outputs and how to stop it.
#[derive(Debug)]
pub struct DriverHandle {
    /// The latest snapshot of every checker.
    pub snapshot: watch::Receiver<Arc<HealthSnapshot>>,
    /// Every action but `StartProbe` (the driver runs those itself):
    /// membership changes, scripts, alerts, log lines, events.
    pub actions: mpsc::UnboundedReceiver<CheckAction>,
    /// The IPVS table health wants ([`HealthMachine::desired`]), republished as
    /// soon as a batch of actions changed the membership.
    pub desired: watch::Receiver<Arc<Vec<DesiredService>>>,
    stats: Arc<Mutex<Lateness>>,
    stop: Option<oneshot::Sender<Stop>>,
    task: tokio::task::JoinHandle<HealthMachine>,
    epoch: Instant,
}

/// Reads a driver's [`DriverStats`]; stays valid after the driver ends.
#[derive(Debug, Clone)]
pub struct StatsHandle(Arc<Mutex<Lateness>>);

impl StatsHandle {
    pub fn get(&self) -> DriverStats {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot()
    }
}

/// How the driver stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The runner's shutdown: real servers leave, `omega` notifies.
    Shutdown,
    /// Hand the runner back as it is, for a reload to inherit from.
    Detach,
}

impl DriverHandle {
    pub fn stats(&self) -> DriverStats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot()
    }

    /// Stops checking (the runner's shutdown actions are still sent) and
    /// returns the runner.
    pub async fn shutdown(self) -> Result<HealthMachine, tokio::task::JoinError> {
        self.stop(Stop::Shutdown).await
    }

    /// Stops checking without the runner's shutdown: running probes are
    /// dropped, nothing is notified, and the runner comes back as it
    /// stood, for [`HealthMachine::inherit`] on a reload.
    pub async fn detach(self) -> Result<HealthMachine, tokio::task::JoinError> {
        self.stop(Stop::Detach).await
    }

    /// A cheap handle that reads [`DriverHandle::stats`] from elsewhere.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(Arc::clone(&self.stats))
    }

    /// Time zero of the runner's clock (see [`DriverOptions::epoch`]).
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    async fn stop(mut self, how: Stop) -> Result<HealthMachine, tokio::task::JoinError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(how);
        }
        self.task.await
    }
}

/// The targets given to [`spawn`] do not match the runner's checkers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{targets} probe targets for {checkers} checkers")]
pub struct TargetCountMismatch {
    pub targets: usize,
    pub checkers: usize,
}

/// Starts driving `runner` with `prober` on the current tokio runtime;
/// `targets` holds one target per checker, in [`CheckerId`] order
/// ([`HealthMachine::targets`] for [`ProbeTarget`],
/// [`crate::health::target::probe_specs`] for the real probes).
///
/// The runner is started here, before this returns: the first
/// [`DriverHandle::desired`] is already the start-up table and the start-up
/// actions are already on [`DriverHandle::actions`].
pub fn spawn<P: Prober>(
    runner: HealthMachine,
    targets: Vec<P::Target>,
    prober: Arc<P>,
    options: DriverOptions,
) -> Result<DriverHandle, TargetCountMismatch> {
    if targets.len() != runner.targets().len() {
        return Err(TargetCountMismatch {
            targets: targets.len(),
            checkers: runner.targets().len(),
        });
    }
    let epoch = options.epoch.unwrap_or_else(Instant::now);
    let (snapshot_tx, snapshot) = watch::channel(Arc::new(runner.snapshot()));
    let (desired_tx, desired) = watch::channel(Arc::new(Vec::new()));
    let (actions_tx, actions) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = oneshot::channel();
    let stats = Arc::new(Mutex::new(Lateness {
        buckets: vec![0; LATENESS_BUCKETS],
        stats: DriverStats::default(),
        tolerance: options.late_tolerance,
    }));
    let targets = targets.into_iter().map(Arc::new).collect();
    let mut driver = Driver {
        runner,
        prober,
        targets,
        options,
        epoch,
        actions: actions_tx,
        snapshot: snapshot_tx,
        desired: desired_tx,
        stats: Arc::clone(&stats),
        probes: JoinSet::new(),
        running: HashMap::new(),
        dirty: true,
        publish_soon: None,
    };
    let initial = driver.runner.start(driver.epoch.elapsed());
    driver.forward(initial);
    driver
        .desired
        .send_replace(Arc::new(driver.runner.desired()));
    driver.publish();
    let task = tokio::spawn(driver.run(stop_rx));
    Ok(DriverHandle {
        snapshot,
        actions,
        desired,
        stats,
        stop: Some(stop_tx),
        task,
        epoch,
    })
}

struct Driver<P: Prober> {
    runner: HealthMachine,
    prober: Arc<P>,
    targets: Vec<Arc<P::Target>>,
    options: DriverOptions,
    epoch: Instant,
    actions: mpsc::UnboundedSender<CheckAction>,
    snapshot: watch::Sender<Arc<HealthSnapshot>>,
    desired: watch::Sender<Arc<Vec<DesiredService>>>,
    stats: Arc<Mutex<Lateness>>,
    probes: JoinSet<(CheckerId, ProbeReport)>,
    /// Which checker each probe task serves, to report a panicked probe.
    running: HashMap<tokio::task::Id, CheckerId>,
    dirty: bool,
    /// When to publish because of a state change.
    publish_soon: Option<Instant>,
}

impl<P: Prober> Driver<P> {
    async fn run(mut self, mut stop: oneshot::Receiver<Stop>) -> HealthMachine {
        let mut publish = tokio::time::interval(self.options.snapshot_interval);
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let how = loop {
            // Due probes first: under a steady stream of results the
            // select below would otherwise keep picking results and let
            // the schedule slip.
            if self.due_now() {
                self.start_due();
            }
            let deadline = self.runner.next_deadline().map(|due| self.epoch + due);
            tokio::select! {
                biased;
                how = &mut stop => break how.unwrap_or(Stop::Shutdown),
                Some(joined) = self.probes.join_next_with_id(), if !self.probes.is_empty() => {
                    self.finished(joined);
                    // Take every result already waiting, but keep starting
                    // due probes between batches: a burst of thousands of
                    // results must not hold up the schedule.
                    let mut batch = 0u32;
                    while let Some(joined) = self.probes.try_join_next_with_id() {
                        self.finished(joined);
                        batch += 1;
                        if batch % RESULT_BATCH == 0 && self.due_now() {
                            self.start_due();
                        }
                    }
                }
                _ = sleep_until(deadline) => self.start_due(),
                _ = sleep_until(self.publish_soon) => self.publish(),
                _ = publish.tick() => self.publish(),
            }
        };
        self.probes.abort_all();
        if how == Stop::Detach {
            return self.runner;
        }
        let now = self.epoch.elapsed();
        let last = self.runner.shutdown(now);
        self.forward(last);
        self.dirty = true;
        self.publish();
        self.runner
    }

    fn due_now(&self) -> bool {
        self.runner
            .next_deadline()
            .is_some_and(|due| due <= self.epoch.elapsed())
    }

    fn start_due(&mut self) {
        let now = self.epoch.elapsed();
        let actions = self.runner.poll(now);
        let mut lateness = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        for action in actions {
            let CheckAction::StartProbe {
                checker,
                scheduled,
                timeout,
            } = action
            else {
                continue;
            };
            lateness.record(now.saturating_sub(scheduled));
            let prober = Arc::clone(&self.prober);
            let target = Arc::clone(&self.targets[checker.index()]);
            let limit = timeout + self.options.probe_grace;
            let handle = self.probes.spawn(async move {
                let started = Instant::now();
                let report = match tokio::time::timeout(limit, prober.probe(&target)).await {
                    Ok(report) => report,
                    Err(_) => ProbeReport {
                        verdict: Verdict::Down {
                            reason: Reason::Timeout { after: timeout },
                        },
                        latency: started.elapsed(),
                    },
                };
                (checker, report)
            });
            self.running.insert(handle.id(), checker);
        }
    }

    fn finished(
        &mut self,
        joined: Result<(tokio::task::Id, (CheckerId, ProbeReport)), tokio::task::JoinError>,
    ) {
        let (checker, report) = match joined {
            Ok((id, result)) => {
                self.running.remove(&id);
                result
            }
            Err(error) => {
                let Some(checker) = self.running.remove(&error.id()) else {
                    return;
                };
                let report = ProbeReport {
                    verdict: Verdict::Down {
                        reason: Reason::Io {
                            detail: format!("probe failed: {error}"),
                        },
                    },
                    latency: Duration::ZERO,
                };
                (checker, report)
            }
        };
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
            .probes_finished += 1;
        let now = self.epoch.elapsed();
        let actions = self
            .runner
            .probe_finished(now, ProbeFinished { checker, report });
        self.dirty = true;
        self.forward(actions);
    }

    fn forward(&mut self, actions: Vec<CheckAction>) {
        let membership = actions.iter().any(|a| {
            matches!(
                a,
                CheckAction::SetDest { .. } | CheckAction::RemoveDest { .. }
            )
        });
        if membership {
            self.desired.send_replace(Arc::new(self.runner.desired()));
        }
        if self.publish_soon.is_none()
            && actions
                .iter()
                .any(|a| matches!(a, CheckAction::Event { .. }))
        {
            self.publish_soon = Some(Instant::now() + self.options.change_publish_delay);
        }
        for action in actions {
            if let CheckAction::Log { level, line } = &action {
                match level {
                    LogLevel::Info => tracing::info!(target: "lvstop::health", "{line}"),
                    LogLevel::Debug => tracing::debug!(target: "lvstop::health", "{line}"),
                }
            }
            // A dropped receiver only means nobody listens any more.
            let _ = self.actions.send(action);
        }
    }

    fn publish(&mut self) {
        self.publish_soon = None;
        if self.dirty {
            self.dirty = false;
            self.snapshot.send_replace(Arc::new(self.runner.snapshot()));
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
