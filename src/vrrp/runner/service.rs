//! The daemon's hold on VRRP across reloads: starts a runner when the
//! configuration has `vrrp_instance`s, restarts it on SIGHUP when the VRRP
//! side changed, stops it cleanly on SIGTERM, and keeps one status feed
//! that outlives each runner (the control socket reads it). It never
//! touches the IPVS side.

use std::path::Path;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{vrrp_changed, RunnerError, RunnerOptions, VrrpRunner, VrrpRunnerHandle, VrrpStatus};
use crate::config::load::{self, Options};
use crate::config::model::Config;

/// VRRP as the daemon runs it.
#[derive(Debug)]
pub struct VrrpService {
    config: Config,
    options: RunnerOptions,
    runner: Option<VrrpRunnerHandle>,
    forward: Option<JoinHandle<()>>,
    feed: watch::Sender<VrrpStatus>,
}

impl VrrpService {
    /// Starts the runner when `config` has VRRP instances.
    pub async fn start(config: &Config, options: RunnerOptions) -> Result<Self, RunnerError> {
        let (feed, _) = watch::channel(VrrpStatus::default());
        let mut service = VrrpService {
            config: config.clone(),
            options,
            runner: None,
            forward: None,
            feed,
        };
        service.launch().await?;
        Ok(service)
    }

    /// The status of whichever runner is current (empty without VRRP).
    pub fn status(&self) -> watch::Receiver<VrrpStatus> {
        self.feed.subscribe()
    }

    /// The current runner, if the configuration has VRRP instances.
    pub fn runner(&self) -> Option<&VrrpRunnerHandle> {
        self.runner.as_ref()
    }

    async fn launch(&mut self) -> Result<(), RunnerError> {
        if self.config.vrrp.instances.is_empty() {
            self.feed.send_replace(VrrpStatus::default());
            return Ok(());
        }
        let runner = VrrpRunner::start(&self.config, self.options.clone()).await?;
        let mut rx = runner.snapshot();
        let feed = self.feed.clone();
        feed.send_replace(rx.borrow_and_update().clone());
        self.forward = Some(tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let status = rx.borrow_and_update().clone();
                feed.send_replace(status);
            }
        }));
        self.runner = Some(runner);
        tracing::info!(
            "VRRP: {} instance(s) started",
            self.config.vrrp.instances.len()
        );
        Ok(())
    }

    /// SIGHUP: reads `path` again; when its VRRP side changed, stops the
    /// runner cleanly and starts one on the new configuration. An
    /// unreadable or invalid file keeps the running one.
    ///
    /// A restart moves every instance through a clean stop (priority 0,
    /// VIPs released) even when only one changed; keeping unchanged
    /// instances running is the engine's job.
    pub async fn reload(&mut self, path: &Path) {
        let outcome = match load::load_file(path, &Options::default()) {
            Ok(outcome) if !outcome.has_errors() => outcome,
            _ => return,
        };
        if !vrrp_changed(&self.config, &outcome.config) {
            tracing::info!("VRRP configuration unchanged; instances keep running");
            return;
        }
        tracing::info!("VRRP configuration changed; restarting VRRP");
        self.stop().await;
        self.config = outcome.config;
        if let Err(e) = self.launch().await {
            tracing::error!("VRRP could not restart on the new configuration: {e}");
        }
    }

    /// Clean stop of the current runner: priority 0, VIPs removed,
    /// `notify_stop`.
    pub async fn stop(&mut self) {
        if let Some(runner) = self.runner.take() {
            runner.shutdown().await;
        }
        // The feed ends with the runner's last status (INIT).
        if let Some(forward) = self.forward.take() {
            let _ = forward.await;
        }
    }
}
