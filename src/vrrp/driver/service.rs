//! The daemon's hold on VRRP across reloads: one runner per unit (a sync
//! group with its members, or a lone instance; see [`super::units`]), one
//! status feed and one event stream that outlive every runner (the
//! control socket reads them), a clean stop on SIGTERM. It never touches
//! the IPVS side.
//!
//! A reload never flaps what did not change: an unchanged unit's runner
//! keeps running untouched (same state, no election, no transition); a
//! removed unit stops cleanly (priority-0 advert, VIPs released,
//! `notify_deleted` or FAULT notices); a changed unit stops cleanly and starts again on its
//! new configuration; a new unit starts. keepalived also keeps unchanged
//! instances across a reload (keepalived.conf(5), "reload").
//!
//! Each runner opens its own sockets; raw sockets have multicast loop off,
//! so runners on one host never hear each other.
//!
//! The static blocks (`static_ipaddress`, `static_routes`,
//! `static_rules`) live here too, as they do in keepalived's VRRP process:
//! added before the first runner starts, brought in line with the new
//! configuration on reload, removed after the last runner stops (see
//! [`crate::vrrp::routing::statics`]). An in-memory service leaves the
//! host alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::units::{self, UnitKey};
use super::{
    RunnerIo, VrrpError, VrrpEvent, VrrpOptions, VrrpRunner, VrrpRunnerHandle, VrrpStatus,
};
use crate::config::load::{self, Options};
use crate::config::model::Config;
use crate::vrrp::routing::statics::{self, Statics};

/// Events kept for slow subscribers before the oldest are dropped.
const EVENT_DEPTH: usize = 256;

/// VRRP as the daemon runs it.
#[derive(Debug)]
pub struct VrrpService {
    config: Config,
    options: VrrpOptions,
    running: BTreeMap<UnitKey, Running>,
    merged: Arc<Mutex<Merged>>,
    feed: watch::Sender<VrrpStatus>,
    events: broadcast::Sender<VrrpEvent>,
    generation: u64,
    /// Operator priorities by instance name; they outlive a runner's
    /// restart and go with the instance's removal.
    operator_priorities: BTreeMap<String, u8>,
    /// The static addresses, routes and rules installed now.
    statics: Statics,
}

/// One unit's runner and the task forwarding its status and events.
#[derive(Debug)]
struct Running {
    instances: Vec<String>,
    generation: u64,
    runner: VrrpRunnerHandle,
    forward: JoinHandle<()>,
}

/// Every runner's latest status, joined into one in configuration order.
#[derive(Debug, Default)]
struct Merged {
    instance_order: Vec<String>,
    group_order: Vec<String>,
    parts: BTreeMap<u64, VrrpStatus>,
}

impl Merged {
    fn status(&self) -> VrrpStatus {
        let rank = |order: &[String], name: &str| {
            order.iter().position(|n| n == name).unwrap_or(usize::MAX)
        };
        let mut out = VrrpStatus::default();
        for part in self.parts.values() {
            out.instances.extend(part.instances.iter().cloned());
            out.sync_groups.extend(part.sync_groups.iter().cloned());
        }
        out.instances
            .sort_by_key(|i| rank(&self.instance_order, &i.name));
        out.sync_groups
            .sort_by_key(|g| rank(&self.group_order, &g.name));
        // Each runner counts the adverts of its siblings' VRIDs as
        // unknown; the smallest count is the one closest to the truth.
        out.unknown_vrid = self
            .parts
            .values()
            .map(|p| p.unknown_vrid)
            .min()
            .unwrap_or(0);
        out
    }
}

/// What a reload did, by instance name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VrrpReload {
    /// Kept running untouched.
    pub kept: Vec<String>,
    pub added: Vec<String>,
    /// Stopped with a priority-0 advert.
    pub removed: Vec<String>,
    /// Stopped and started on their new configuration.
    pub restarted: Vec<String>,
    /// Units that could not start, with the reason.
    pub failed: Vec<String>,
}

impl VrrpService {
    /// Starts one runner per unit of `config` (none without VRRP). When
    /// one cannot start, those already started stop again.
    pub async fn start(config: &Config, options: VrrpOptions) -> Result<Self, VrrpError> {
        let (feed, _) = watch::channel(VrrpStatus::default());
        let (events, _) = broadcast::channel(EVENT_DEPTH);
        let mut service = VrrpService {
            config: config.clone(),
            options,
            running: BTreeMap::new(),
            merged: Arc::default(),
            feed,
            events,
            generation: 0,
            operator_priorities: BTreeMap::new(),
            statics: Statics::default(),
        };
        service.change_statics(config).await;
        service.set_order();
        for (key, (unit, slice)) in units::slices(config) {
            if let Err(e) = service.launch(key, unit.instances, &slice).await {
                service.stop().await;
                return Err(e);
            }
        }
        if !service.running.is_empty() {
            tracing::info!("VRRP: {} instance(s) started", config.vrrp.instances.len());
        }
        Ok(service)
    }

    /// The merged status of every runner (empty without VRRP).
    pub fn status(&self) -> watch::Receiver<VrrpStatus> {
        self.feed.subscribe()
    }

    /// State changes of every instance, across reloads.
    pub fn events(&self) -> broadcast::Receiver<VrrpEvent> {
        self.events.subscribe()
    }

    /// The runners, when the configuration has VRRP instances (kept for
    /// callers that fail over through it).
    pub fn runner(&self) -> Option<VrrpRunners<'_>> {
        (!self.running.is_empty()).then_some(VrrpRunners(self))
    }

    /// Operator "force failover" of an instance, or of every member of a
    /// sync group: priority 0, VIPs released, BACKUP for `hold`.
    pub async fn force_failover(&self, name: &str, hold: Duration) -> Result<(), VrrpError> {
        for instance in self.members(name) {
            self.owner(&instance)?
                .runner
                .force_failover(&instance, hold)
                .await?;
        }
        Ok(())
    }

    /// Operator priority change of an instance, or of every member of a
    /// sync group: `priority` (1-254) in place of the configured one, or
    /// the configured one again with `None`. It holds across reloads
    /// until cleared.
    pub async fn set_priority(
        &mut self,
        name: &str,
        priority: Option<u8>,
    ) -> Result<(), VrrpError> {
        for instance in self.members(name) {
            self.owner(&instance)?
                .runner
                .set_priority(&instance, priority)
                .await?;
            match priority {
                Some(p) => self.operator_priorities.insert(instance, p),
                None => self.operator_priorities.remove(&instance),
            };
        }
        Ok(())
    }

    /// The instances an operator's `name` stands for: a sync group's
    /// members, else the name itself.
    fn members(&self, name: &str) -> Vec<String> {
        match self.running.get(&UnitKey::SyncGroup(name.to_string())) {
            Some(group) => group.instances.clone(),
            None => vec![name.to_string()],
        }
    }

    /// The runner that holds `instance`.
    fn owner(&self, instance: &str) -> Result<&Running, VrrpError> {
        self.running
            .values()
            .find(|r| r.instances.iter().any(|i| i == instance))
            .ok_or_else(|| VrrpError::UnknownInstance(instance.to_string()))
    }

    /// SIGHUP: reads `path` again and applies it with
    /// [`VrrpService::reload_config`]. An unreadable or invalid file keeps
    /// everything running as it is.
    pub async fn reload(&mut self, path: &Path) -> Option<VrrpReload> {
        let outcome = match load::load_file(path, &Options::default()) {
            Ok(outcome) if !outcome.has_errors() => outcome,
            Ok(_) => {
                tracing::error!(
                    "VRRP reload: {} has errors; nothing changes",
                    path.display()
                );
                return None;
            }
            Err(e) => {
                tracing::error!("VRRP reload: {e}; nothing changes");
                return None;
            }
        };
        Some(self.reload_config(&outcome.config).await)
    }

    /// Moves VRRP to `config` unit by unit (see the module docs): removed
    /// units stop first, then changed ones restart, then new ones start.
    pub async fn reload_config(&mut self, config: &Config) -> VrrpReload {
        if let Err(e) = self.options.notices.reconfigure(config) {
            tracing::error!("VRRP e-mail alerts keep their old settings: {e}");
        }
        self.change_statics(config).await;
        let diff = units::diff(&self.config, config);
        let mut after = units::slices(config);
        let mut report = VrrpReload::default();
        self.config = config.clone();
        self.set_order();
        self.operator_priorities
            .retain(|name, _| config.vrrp.instances.iter().any(|i| i.name.value == *name));
        for key in &diff.unchanged {
            if let Some(running) = self.running.get_mut(key) {
                report.kept.extend(running.instances.iter().cloned());
                if let Some((unit, _)) = after.remove(key) {
                    running.instances = unit.instances;
                }
            }
        }
        for key in &diff.removed {
            if let Some(running) = self.running.remove(key) {
                report.removed.extend(running.instances.iter().cloned());
                self.halt(running, true).await;
                tracing::info!("VRRP: {key} removed");
            }
        }
        for key in diff.changed.iter().chain(&diff.added) {
            let restarting = self.running.remove(key);
            let was_running = restarting.is_some();
            if let Some(running) = restarting {
                self.halt(running, false).await;
            }
            let Some((unit, slice)) = after.remove(key) else {
                continue;
            };
            let names = unit.instances.clone();
            match self.launch(key.clone(), unit.instances, &slice).await {
                Ok(()) if was_running => {
                    tracing::info!("VRRP: {key} restarted on its new configuration");
                    report.restarted.extend(names);
                }
                Ok(()) => {
                    tracing::info!("VRRP: {key} added");
                    report.added.extend(names);
                }
                Err(e) => {
                    tracing::error!("VRRP: {key} could not start: {e}");
                    report.failed.push(format!("{key}: {e}"));
                }
            }
        }
        self.publish();
        report
    }

    /// Clean stop of every runner: priority 0, VIPs removed,
    /// `notify_stop`.
    pub async fn stop(&mut self) {
        let running = std::mem::take(&mut self.running);
        let mut held = Vec::new();
        for (_, unit) in running {
            let Running {
                runner,
                forward,
                generation,
                instances: _,
            } = unit;
            held.extend(runner.shutdown_holding_group_stops().await);
            let _ = forward.await;
            lock(&self.merged).parts.remove(&generation);
        }
        // Sync groups announce STOP after every instance (keepalived's
        // order).
        for notice in &held {
            self.options.notices.deliver_action(notice);
        }
        let installed = std::mem::take(&mut self.statics);
        statics::apply(&installed, &Statics::default()).await;
        self.publish();
    }

    /// Brings the host's static addresses, routes and rules from what is
    /// installed to what `config` says (nothing for an in-memory service).
    async fn change_statics(&mut self, config: &Config) {
        if !matches!(self.options.io, RunnerIo::System) {
            return;
        }
        let wanted = Statics::load(config).await;
        let report = statics::apply(&self.statics, &wanted).await;
        if report != statics::StaticsReport::default() {
            tracing::info!(
                "static addresses, routes and rules: {} added, {} removed, {} failed",
                report.added,
                report.removed,
                report.failed
            );
        }
        self.statics = wanted;
    }

    async fn launch(
        &mut self,
        key: UnitKey,
        instances: Vec<String>,
        slice: &Config,
    ) -> Result<(), VrrpError> {
        let runner = VrrpRunner::start(slice, self.options.clone()).await?;
        for name in &instances {
            if let Some(&priority) = self.operator_priorities.get(name) {
                // The runner has only just started; should it refuse, the
                // instance runs at its configured priority and says so.
                if let Err(e) = runner.set_priority(name, Some(priority)).await {
                    tracing::warn!("VRRP: {name} keeps its configured priority, not the operator's {priority}: {e}");
                }
            }
        }
        self.generation += 1;
        let generation = self.generation;
        let mut status = runner.snapshot();
        let mut events = runner.events();
        lock(&self.merged)
            .parts
            .insert(generation, status.borrow_and_update().clone());
        self.publish();
        let merged = Arc::clone(&self.merged);
        let feed = self.feed.clone();
        let out = self.events.clone();
        let forward = tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = status.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let now = status.borrow_and_update().clone();
                        let mut merged = lock(&merged);
                        merged.parts.insert(generation, now);
                        feed.send_replace(merged.status());
                    }
                    event = events.recv() => match event {
                        Ok(event) => {
                            let _ = out.send(event);
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                }
            }
        });
        self.running.insert(
            key,
            Running {
                instances,
                generation,
                runner,
                forward,
            },
        );
        Ok(())
    }

    /// Stops one runner cleanly and drops its part of the status;
    /// `deleted` when a reload removed its instances (they announce
    /// DELETED or FAULT rather than STOP, keepalived.conf(5)
    /// `notify_deleted`).
    async fn halt(&mut self, running: Running, deleted: bool) {
        let Running {
            runner,
            forward,
            generation,
            instances: _,
        } = running;
        if deleted {
            runner.delete().await;
        } else {
            runner.shutdown().await;
        }
        let _ = forward.await;
        lock(&self.merged).parts.remove(&generation);
        self.publish();
    }

    fn set_order(&mut self) {
        let mut merged = lock(&self.merged);
        merged.instance_order = self
            .config
            .vrrp
            .instances
            .iter()
            .map(|i| i.name.value.clone())
            .collect();
        merged.group_order = self
            .config
            .vrrp
            .sync_groups
            .iter()
            .map(|g| g.name.value.clone())
            .collect();
    }

    fn publish(&self) {
        let status = lock(&self.merged).status();
        self.feed.send_replace(status);
    }
}

/// The running VRRP units, for failing over by name.
#[derive(Debug, Clone, Copy)]
pub struct VrrpRunners<'a>(&'a VrrpService);

impl VrrpRunners<'_> {
    /// See [`VrrpService::force_failover`].
    pub async fn force_failover(&self, name: &str, hold: Duration) -> Result<(), VrrpError> {
        self.0.force_failover(name, hold).await
    }
}

fn lock(merged: &Mutex<Merged>) -> std::sync::MutexGuard<'_, Merged> {
    // Plain data: a panic elsewhere cannot leave it half-written.
    merged.lock().unwrap_or_else(PoisonError::into_inner)
}
