//! `lvstop daemon`: the headless director. It loads the configuration,
//! picks a dataplane (the kernel's IPVS, or lvstop's userspace one), starts
//! the engine (`engine::director`: checks, VRRP, overrides, the dataplane
//! kept equal to what they want), serves the control socket from the
//! engine's handle (reads, subscriptions, operator commands), reloads on
//! SIGHUP (checker state kept; VRRP restarts only when its part changed)
//! and stops on SIGTERM/SIGINT (VRRP priority 0, VIPs removed, IPVS
//! services removed unless `--keep-ipvs-on-exit`).

use std::process::ExitCode;
use std::sync::Arc;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

use crate::cli::{CommonOptions, DaemonArgs};
use crate::config::running::{load_for_director, RefusedConfig};
use crate::control::engine_backend::EngineBackend;
use crate::control::server::Server;
use crate::control::ControlError;
use crate::engine::command::Command;
use crate::engine::director::EngineOptions;
use crate::engine::host::{HostEngine, HostEngineError, HostOptions};
use crate::engine::overrides::Actor;
use crate::pidfile::PidFile;
use crate::vrrp::driver::VrrpOptions;

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] RefusedConfig),
    #[error(transparent)]
    Engine(#[from] HostEngineError),
    #[error("control socket: {0}")]
    Control(#[from] ControlError),
    #[error("{0}")]
    Unavailable(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// Entry point of `lvstop daemon`.
pub fn run(common: &CommonOptions, args: &DaemonArgs) -> ExitCode {
    crate::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lvstop")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("{}", DaemonError::Runtime(e));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(common, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(common: &CommonOptions, args: &DaemonArgs) -> Result<(), DaemonError> {
    let config = load_for_director(&common.config)?;
    let admin_gid = args.admin_group.as_deref().map(group_id).transpose()?;
    let _pid_file = args
        .pid_file
        .as_deref()
        .map(PidFile::create)
        .transpose()
        .map_err(|e| DaemonError::Unavailable(e.to_string()))?;
    let metrics = args.metrics.map(|addr| MetricsSetup {
        addr,
        options: crate::metrics::RenderOptions {
            per_real_server: !args.metrics_no_real_servers,
        },
    });
    // The handlers go in before the engine starts: a SIGTERM that arrives
    // while it is making VMACs, VIPs or services waits for the start to
    // finish and then stops it cleanly, instead of killing the process
    // with all of that left behind.
    let signals = Signals::install()?;
    let engine = HostEngine::start(
        config,
        HostOptions {
            dataplane: common.dataplane,
            allow_other_speaker: common.allow_other_speaker,
            engine: EngineOptions {
                config_path: common.config.clone(),
                vrrp: VrrpOptions::default(),
            },
        },
    )
    .await?;
    let served = direct(&engine, common, admin_gid, metrics, signals).await;
    engine.stop(args.keep_ipvs_on_exit).await;
    served
}

/// SIGTERM/SIGINT (stop) and SIGHUP (reload).
struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> Result<Self, DaemonError> {
        let install = |kind| {
            signal(kind).map_err(|e| {
                DaemonError::Unavailable(format!("cannot install signal handlers: {e}"))
            })
        };
        Ok(Signals {
            terminate: install(SignalKind::terminate())?,
            interrupt: install(SignalKind::interrupt())?,
            hangup: install(SignalKind::hangup())?,
        })
    }
}

/// Serve the control socket (and metrics) from the running engine,
/// reload on SIGHUP, until SIGTERM/SIGINT.
async fn direct(
    engine: &HostEngine,
    common: &CommonOptions,
    admin_gid: Option<u32>,
    metrics: Option<MetricsSetup>,
    mut signals: Signals,
) -> Result<(), DaemonError> {
    let dataplane = engine.dataplane();
    // The socket appears once the table is programmed: a script that
    // waits for it finds the director ready.
    let mut server = Server::bind(&common.socket)?;
    if let Some(gid) = admin_gid {
        server = server.with_admin_group(gid)?;
    }
    tracing::info!("control socket listening on {}", server.path().display());
    let backend = Arc::new(EngineBackend::new(
        dataplane,
        engine.handle(),
        common.config.display().to_string(),
    ));
    let (stop, stopped) = watch::channel(false);
    let metrics = match metrics {
        Some(setup) => {
            let listener = crate::metrics::bind(setup.addr).await?;
            tracing::info!("metrics on http://{}/metrics", setup.addr);
            let source = crate::metrics::EngineSource::start(engine.handle());
            Some(tokio::spawn(crate::metrics::http::serve(
                listener,
                source,
                setup.options,
                stopped.clone(),
            )))
        }
        None => None,
    };
    let control = tokio::spawn(server.serve(backend, stopped));

    let handle = engine.handle();
    loop {
        tokio::select! {
            _ = signals.terminate.recv() => break,
            _ = signals.interrupt.recv() => break,
            _ = signals.hangup.recv() => {
                let signal = Actor { uid: 0, name: "SIGHUP".into() };
                // The engine logs the outcome and keeps running either way.
                let _ = handle.execute(signal, Command::Reload).await;
            }
        }
    }
    let _ = stop.send(true);
    let _ = control.await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    Ok(())
}

/// `--metrics`: where to serve, and what.
#[derive(Debug, Clone, Copy)]
struct MetricsSetup {
    addr: std::net::SocketAddr,
    options: crate::metrics::RenderOptions,
}

/// The id of `--admin-group`'s group.
fn group_id(name: &str) -> Result<u32, DaemonError> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        Ok(None) => Err(DaemonError::Unavailable(format!(
            "--admin-group: no group '{name}' on this system"
        ))),
        Err(e) => Err(DaemonError::Unavailable(format!(
            "--admin-group: cannot look up '{name}': {e}"
        ))),
    }
}
