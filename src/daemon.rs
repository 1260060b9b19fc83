//! `lvstop daemon`: the headless director. Today it loads the
//! configuration, programs a dataplane with the configured virtual servers,
//! serves the control socket read-only, reloads on SIGHUP and stops on
//! SIGTERM/SIGINT. VRRP, health checks and operator commands join it as the
//! engine grows.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::cli::{CommonOptions, DataplaneChoice};
use crate::config::diagnostic::{render_text, Severity};
use crate::config::load::{self, Options};
use crate::config::model::Config;
use crate::control::protocol::{ErrorKind, Hello, Request, Response, PROTOCOL_VERSION};
use crate::control::server::{Backend, Server};
use crate::control::ControlError;
use crate::dataplane::userspace::UserspaceDataplane;
use crate::dataplane::{ApplyError, Dataplane, DataplaneError};
use crate::ipvs::desired::{self, DesiredError};
use crate::ipvs::reconcile;

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
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
    #[error("control socket: {0}")]
    Control(#[from] ControlError),
    #[error("{0}")]
    Unavailable(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<ApplyError> for DaemonError {
    fn from(error: ApplyError) -> Self {
        DaemonError::Apply(Box::new(error))
    }
}

/// Entry point of `lvstop daemon`.
pub fn run(common: &CommonOptions) -> ExitCode {
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
    match runtime.block_on(serve(common)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(common: &CommonOptions) -> Result<(), DaemonError> {
    let config = load_config(&common.config)?;
    let dataplane = Arc::new(start_dataplane(common.dataplane)?);
    converge(dataplane.as_ref(), &config).await?;

    let server = Server::bind(&common.socket)?;
    tracing::info!("control socket listening on {}", server.path().display());
    let backend = Arc::new(DaemonBackend {
        dataplane: Arc::clone(&dataplane),
        hello: Hello {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            dataplane: dataplane.kind(),
            config_path: common.config.display().to_string(),
            pid: std::process::id(),
        },
    });
    let (stop, stopped) = watch::channel(false);
    let control = tokio::spawn(server.serve(backend, stopped));

    let signal_error = |e| DaemonError::Unavailable(format!("cannot install signal handlers: {e}"));
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(signal_error)?;
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => reload(dataplane.as_ref(), &common.config).await,
        }
    }
    tracing::info!("stopping");
    let _ = stop.send(true);
    let _ = control.await;
    dataplane.shutdown();
    Ok(())
}

/// SIGHUP: load the file again and converge on it. A configuration that
/// does not load, or an apply that fails, leaves the director running on
/// what it had.
async fn reload<D: Dataplane>(dataplane: &D, path: &Path) {
    tracing::info!("reloading {}", path.display());
    match load_config(path) {
        Ok(config) => {
            if let Err(e) = converge(dataplane, &config).await {
                tracing::error!("reload failed, the previous table stays partly applied: {e}");
            }
        }
        Err(e) => tracing::error!("reload refused, keeping the running configuration: {e}"),
    }
}

/// Load and validate; warnings are logged, errors stop here.
fn load_config(path: &Path) -> Result<Config, DaemonError> {
    let outcome = load::load_file(path, &Options::default())?;
    for diagnostic in &outcome.diagnostics {
        let text = render_text(&outcome.sources, diagnostic);
        match diagnostic.severity {
            Severity::Error => tracing::error!("{text}"),
            Severity::Warning => tracing::warn!("{text}"),
            _ => {}
        }
    }
    let errors = outcome.diagnostics.count(Severity::Error);
    if errors > 0 {
        return Err(DaemonError::ConfigInvalid {
            path: path.to_path_buf(),
            errors,
        });
    }
    Ok(outcome.config)
}

fn start_dataplane(choice: DataplaneChoice) -> Result<UserspaceDataplane, DaemonError> {
    match choice {
        DataplaneChoice::Kernel => Err(DaemonError::Unavailable(
            "the kernel IPVS dataplane is not built yet; use --dataplane userspace".into(),
        )),
        DataplaneChoice::Auto | DataplaneChoice::Userspace => {
            let why = if choice == DataplaneChoice::Auto {
                " (auto: the kernel IPVS backend is not built yet)"
            } else {
                ""
            };
            tracing::info!("dataplane: userspace{why}");
            Ok(UserspaceDataplane::start(Default::default())?)
        }
    }
}

/// Make the dataplane's table equal to the configuration's.
async fn converge<D: Dataplane>(dataplane: &D, config: &Config) -> Result<(), DaemonError> {
    let wanted = desired::from_config(&config.lvs)?;
    let table = dataplane.snapshot().await?;
    let operations = reconcile::plan(&wanted, &table);
    let count = operations.len();
    dataplane.apply(&operations).await?;
    tracing::info!(
        "{} virtual service(s) programmed ({count} operation(s))",
        wanted.len()
    );
    Ok(())
}

/// Answers control requests from the dataplane.
struct DaemonBackend<D> {
    dataplane: Arc<D>,
    hello: Hello,
}

impl<D: Dataplane + 'static> Backend for DaemonBackend<D> {
    async fn handle(&self, request: Request) -> Response {
        let failed = |e: DataplaneError| Response::error(ErrorKind::Failed, e.to_string());
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
        }
    }
}
