//! `lvstop exporter`: Prometheus metrics of a director lvstop does not
//! run. It starts the observer (the kernel's IPVS over generic netlink,
//! keepalived's JSON and data dumps, the passive VRRP advert listener) and
//! serves its latest snapshot on `/metrics`.
//!
//! Read-only: the observer never sends VRRP and never signals keepalived
//! beyond its dump requests; this command sends it no commands at all.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::cli::{CommonOptions, ExporterArgs};
use crate::dataplane::kernel::KernelDataplane;
use crate::engine::channel::Update;
use crate::metrics::{LatestSource, RenderOptions};
use crate::observe::driver::{self, ObserverOptions};

/// Why the exporter cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error("--refresh must be a positive number of seconds, not '{0}'")]
    Refresh(f64),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

pub fn run(common: &CommonOptions, args: &ExporterArgs) -> ExitCode {
    crate::logging::init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lvstop-exporter")
        .build()
        .map_err(ExporterError::Runtime)
        .and_then(|runtime| runtime.block_on(serve(common, args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(common: &CommonOptions, args: &ExporterArgs) -> Result<(), ExporterError> {
    if !(args.refresh.is_finite() && args.refresh > 0.0) {
        return Err(ExporterError::Refresh(args.refresh));
    }
    let listener = crate::metrics::bind(args.listen).await?;
    let kernel = KernelDataplane::connect()
        .await
        .map(Arc::new)
        .map_err(|e| e.to_string());
    if let Err(why) = &kernel {
        tracing::warn!("the kernel's IPVS table cannot be read: {why}");
    }
    let mut observed = driver::start(
        kernel,
        ObserverOptions {
            config_path: Some(common.config.clone()),
            interval: Duration::from_secs_f64(args.refresh),
        },
    );
    let (latest_tx, latest) = watch::channel(None);
    tokio::spawn(async move {
        while let Some(update) = observed.updates.recv().await {
            if let Update::Snapshot(snapshot) = update {
                latest_tx.send_replace(Some(snapshot));
            }
        }
    });
    let (stop, stopped) = watch::channel(false);
    tracing::info!("exporter: metrics on http://{}/metrics", args.listen);
    let server = tokio::spawn(crate::metrics::http::serve(
        listener,
        Arc::new(LatestSource::new(latest)),
        RenderOptions {
            per_real_server: !args.no_real_servers,
        },
        stopped,
    ));
    let mut terminate = signal(SignalKind::terminate()).map_err(ExporterError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ExporterError::Signals)?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    let _ = stop.send(true);
    let _ = server.await;
    Ok(())
}
