//! `lvstop daemon`: the headless director. It loads the configuration,
//! picks a dataplane (the kernel's IPVS, or lvstop's userspace one), starts
//! the engine (`engine::director`: checks, VRRP, overrides, the dataplane
//! kept equal to what they want), serves the control socket from the
//! engine's handle (reads, subscriptions, operator commands), reloads on
//! SIGHUP (checker state kept; VRRP restarts only when its part changed)
//! and stops on SIGTERM/SIGINT (VRRP priority 0, VIPs removed, IPVS
//! services removed unless `--keep-ipvs-on-exit`).

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::cli::{CommonOptions, DaemonArgs, DataplaneChoice};
use crate::config::model::Config;
use crate::control::peer::Peer;
use crate::control::protocol::{ErrorKind, Hello, Request, Response, PROTOCOL_VERSION};
use crate::control::server::{Backend, Server};
use crate::control::ControlError;
use crate::dataplane::kernel::KernelDataplane;
use crate::dataplane::userspace::UserspaceDataplane;
use crate::dataplane::{Dataplane, DataplaneError, Operation};
use crate::engine::command::Command;
use crate::engine::director::{self, Engine, EngineError, EngineOptions};
use crate::engine::handle::Update;
use crate::engine::overrides::Actor;
use crate::engine::view::Handle;
use crate::ipvs::model::ServiceKey;
use crate::net::speakers::{self, EngineClaim, SpeakerError};
use crate::pidfile::PidFile;
use crate::vrrp::runner::RunnerOptions;

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("dataplane: {0}")]
    Dataplane(#[from] DataplaneError),
    #[error("control socket: {0}")]
    Control(#[from] ControlError),
    #[error(transparent)]
    Speaker(#[from] SpeakerError),
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
    let config = load_config(&common.config)?;
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
    let chosen = choose_dataplane(common.dataplane).await?;
    let _claim = claim_place(&config, &chosen, common.allow_other_speaker)?;
    match chosen {
        Chosen::Kernel(kernel) => {
            let kernel = Arc::new(kernel);
            let owned = direct(Arc::clone(&kernel), common, admin_gid, config, metrics).await?;
            if args.keep_ipvs_on_exit {
                tracing::info!(
                    "leaving {} virtual service(s) in IPVS (--keep-ipvs-on-exit)",
                    owned.len()
                );
            } else {
                release(kernel.as_ref(), &owned).await;
            }
        }
        Chosen::Userspace(userspace) => {
            let userspace = Arc::new(userspace);
            direct(Arc::clone(&userspace), common, admin_gid, config, metrics).await?;
            userspace.shutdown();
        }
    }
    Ok(())
}

/// Start the engine, serve the control socket, reload on SIGHUP, until
/// SIGTERM/SIGINT. Returns the services the engine programmed.
async fn direct<D: Dataplane + 'static>(
    dataplane: Arc<D>,
    common: &CommonOptions,
    admin_gid: Option<u32>,
    config: Config,
    metrics: Option<MetricsSetup>,
) -> Result<HashSet<ServiceKey>, DaemonError> {
    // The handlers go in before the engine starts: a SIGTERM that arrives
    // while it is making VMACs, VIPs or services waits for the start to
    // finish and then stops it cleanly, instead of killing the process
    // with all of that left behind.
    let signal_error = |e| DaemonError::Unavailable(format!("cannot install signal handlers: {e}"));
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let engine = Engine::start(
        Arc::clone(&dataplane),
        config,
        EngineOptions {
            config_path: common.config.clone(),
            vrrp: RunnerOptions::default(),
        },
    )
    .await?;
    // The socket appears once the table is programmed: a script that
    // waits for it finds the director ready.
    let mut server = match Server::bind(&common.socket) {
        Ok(server) => server,
        Err(e) => {
            engine.stop().await;
            return Err(e.into());
        }
    };
    if let Some(gid) = admin_gid {
        server = server.with_admin_group(gid)?;
    }
    tracing::info!("control socket listening on {}", server.path().display());
    let backend = Arc::new(DaemonBackend {
        dataplane: Arc::clone(&dataplane),
        engine: engine.handle(),
        hello: Hello {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            dataplane: dataplane.kind(),
            config_path: common.config.display().to_string(),
            pid: std::process::id(),
        },
    });
    let (stop, stopped) = watch::channel(false);
    let metrics = match metrics {
        Some(setup) => match crate::metrics::bind(setup.addr).await {
            Ok(listener) => {
                tracing::info!("metrics on http://{}/metrics", setup.addr);
                let source = crate::metrics::EngineSource::start(engine.handle());
                Some(tokio::spawn(crate::metrics::http::serve(
                    listener,
                    source,
                    setup.options,
                    stopped.clone(),
                )))
            }
            Err(e) => {
                engine.stop().await;
                return Err(e.into());
            }
        },
        None => None,
    };
    let control = tokio::spawn(server.serve(backend, stopped));

    let handle = engine.handle();
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => {
                let signal = Actor { uid: 0, name: "SIGHUP".into() };
                // The engine logs the outcome and keeps running either way.
                let _ = handle.execute(signal, Command::Reload).await;
            }
        }
    }
    let owned = engine.stop().await;
    let _ = stop.send(true);
    let _ = control.await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    Ok(owned)
}

/// On stop, a kernel director removes the services it programmed (as
/// keepalived does by default); services it never owned stay.
/// `--metrics`: where to serve, and what.
#[derive(Debug, Clone, Copy)]
struct MetricsSetup {
    addr: std::net::SocketAddr,
    options: crate::metrics::RenderOptions,
}

pub(crate) async fn release(kernel: &KernelDataplane, owned: &HashSet<ServiceKey>) {
    let mut keys: Vec<ServiceKey> = owned.iter().copied().collect();
    keys.sort();
    let operations: Vec<Operation> = keys.into_iter().map(Operation::DeleteService).collect();
    match kernel.apply(&operations).await {
        Ok(()) => tracing::info!("removed {} virtual service(s) from IPVS", operations.len()),
        Err(e) => tracing::error!("could not remove every virtual service from IPVS: {e}"),
    }
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

/// Load and validate; warnings are logged, errors stop here.
fn load_config(path: &Path) -> Result<Config, DaemonError> {
    Ok(director::load_config(path)?)
}

/// Before an engine speaks VRRP or programs the kernel's IPVS: no other
/// speaker may run in this network namespace (see [`speakers`]). An
/// engine that does neither (userspace dataplane, no VRRP instance)
/// needs no place of its own. A refused start leaves nothing running.
pub(crate) fn claim_place(
    config: &Config,
    chosen: &Chosen,
    allow_other: bool,
) -> Result<Option<EngineClaim>, SpeakerError> {
    let kernel = matches!(chosen, Chosen::Kernel(_));
    if !kernel && config.vrrp.instances.is_empty() {
        return Ok(None);
    }
    match speakers::claim(allow_other) {
        Ok(claim) => Ok(Some(claim)),
        Err(e) => {
            if let Chosen::Userspace(userspace) = chosen {
                userspace.shutdown();
            }
            Err(e)
        }
    }
}

pub(crate) enum Chosen {
    Kernel(KernelDataplane),
    Userspace(UserspaceDataplane),
}

/// `--dataplane`: `kernel` insists on IPVS; `auto` takes it when this
/// kernel has IPVS and the process may use it, else the userspace
/// dataplane, and says which and why.
pub(crate) async fn choose_dataplane(choice: DataplaneChoice) -> Result<Chosen, DaemonError> {
    let userspace = || -> Result<Chosen, DaemonError> {
        Ok(Chosen::Userspace(UserspaceDataplane::start(
            Default::default(),
        )?))
    };
    match choice {
        DataplaneChoice::Kernel => {
            let kernel = KernelDataplane::connect().await?;
            tracing::info!("dataplane: kernel IPVS");
            Ok(Chosen::Kernel(kernel))
        }
        DataplaneChoice::Userspace => {
            tracing::info!("dataplane: userspace");
            userspace()
        }
        DataplaneChoice::Auto => match KernelDataplane::connect().await {
            Ok(kernel) => {
                tracing::info!("dataplane: kernel IPVS (auto)");
                Ok(Chosen::Kernel(kernel))
            }
            Err(e) => {
                tracing::info!("dataplane: userspace (auto: the kernel's IPVS is not usable: {e})");
                userspace()
            }
        },
    }
}

/// Answers control requests from the engine and its dataplane.
struct DaemonBackend<D> {
    dataplane: Arc<D>,
    engine: Handle,
    hello: Hello,
}

impl<D: Dataplane + 'static> Backend for DaemonBackend<D> {
    async fn handle(&self, peer: &Peer, request: Request) -> Response {
        let failed = |e: DataplaneError| Response::error(ErrorKind::Failed, e.to_string());
        let gone = |e: String| Response::error(ErrorKind::Failed, e);
        match request {
            Request::Hello => Response::Hello(self.hello.clone()),
            Request::Table => self
                .dataplane
                .snapshot()
                .await
                .map_or_else(failed, Response::Table),
            Request::Connections => self
                .dataplane
                .connections()
                .await
                .map_or_else(failed, Response::Connections),
            Request::Timeouts => self
                .dataplane
                .timeouts()
                .await
                .map_or_else(failed, Response::Timeouts),
            Request::Daemons => self
                .dataplane
                .daemons()
                .await
                .map_or_else(failed, Response::Daemons),
            Request::Command(command) => {
                let actor = Actor {
                    uid: peer.uid,
                    name: peer.name(),
                };
                match self.engine.execute(actor, command).await {
                    Ok(outcome) => Response::Outcome(outcome),
                    Err(error) => Response::CommandError(error),
                }
            }
            Request::Checks => self
                .engine
                .snapshot()
                .await
                .map_or_else(gone, |s| Response::Checks(Box::new(s.checks.clone()))),
            Request::Vrrp => self
                .engine
                .snapshot()
                .await
                .map_or_else(gone, |s| Response::Vrrp(s.vrrp.clone())),
            Request::Snapshot => self
                .engine
                .snapshot()
                .await
                .map_or_else(gone, |s| Response::Snapshot(Box::new((*s).clone()))),
            Request::Events { since } => {
                let (events, missed) = self.engine.events_since(since);
                Response::Events { events, missed }
            }
            Request::Subscribe { .. } => Response::error(
                ErrorKind::BadRequest,
                "subscribe is served by the socket itself",
            ),
        }
    }

    fn subscribe(&self, interval: Duration, since: u64) -> Option<mpsc::Receiver<Update>> {
        Some(self.engine.subscribe(interval, since))
    }
}
