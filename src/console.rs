//! `lvstop` with no command: the console. It never becomes a director by
//! itself: it attaches to a running daemon's control socket when one
//! answers (`--source daemon`, or `auto`), else it observes the host
//! read-only (`--source observe`: the kernel's IPVS, VRRP on the wire,
//! keepalived's own state; see [`crate::observe`]). Only `--engine` runs an
//! engine of its own from `-f FILE` — the console is then the director,
//! quitting it stops the director (it asks first while an instance is
//! MASTER), and it refuses to start beside another VRRP speaker.
//!
//! Nothing is logged to the terminal while the console owns it; an
//! embedded engine's log goes to `$XDG_STATE_HOME/lvstop/console.log`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::cli::{CommonOptions, SourceChoice};
use crate::config::running::{load_for_director, RefusedConfig};
use crate::control::remote;
use crate::control::ControlError;
use crate::dataplane::kernel::KernelDataplane;
use crate::dataplane::{Dataplane, DataplaneKind};
use crate::engine::director::EngineOptions;
use crate::engine::handle::Handle;
use crate::engine::host::{HostEngine, HostEngineError, HostOptions};
use crate::engine::overrides::Actor;
use crate::fleet::DirectorSpec;
use crate::ipvs::model::Connection;
use crate::observe;
use crate::ui::{self, ConsoleOptions};
use crate::vrrp::driver::VrrpOptions;

/// Why the console stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Ui(#[from] ui::UiError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Config(#[from] RefusedConfig),
    #[error(transparent)]
    Engine(#[from] HostEngineError),
    #[error("--engine: there is no {} to run; pass -f FILE, or try `lvstop demo`", .0.display())]
    NoConfig(PathBuf),
}

/// The refresh interval when `-d` is not given.
const DEFAULT_REFRESH: Duration = Duration::from_secs(1);

/// Entry point of `lvstop`; `directors` from `--director` (else the
/// user's config file lists them, unless `--engine` or `--source` says
/// otherwise).
pub fn run(common: &CommonOptions, engine: bool, directors: &[DirectorSpec]) -> ExitCode {
    let directors = match chosen_directors(common, engine, directors) {
        Ok(directors) => directors,
        Err(e) => {
            eprintln!("lvstop: {e}");
            return ExitCode::from(2);
        }
    };
    let options = match console_options(common) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("lvstop: {e}");
            return ExitCode::from(2);
        }
    };
    if engine && common.source != SourceChoice::Auto {
        eprintln!(
            "lvstop: --engine runs an engine in the console; --source chooses what to attach to \
             or observe instead: give one or the other"
        );
        return ExitCode::from(2);
    }
    if directors.is_empty() {
        return block_on("lvstop", console(common, options, engine));
    }
    block_on("lvstop", several(common, options, directors))
}

/// The directors to show: `--director`'s, else the user's config file's
/// when the console would otherwise pick its source itself.
pub fn chosen_directors(
    common: &CommonOptions,
    engine: bool,
    given: &[DirectorSpec],
) -> Result<Vec<DirectorSpec>, crate::fleet::SpecError> {
    if !given.is_empty() {
        return crate::fleet::spec::checked(given.to_vec());
    }
    if engine || common.source != SourceChoice::Auto {
        return Ok(Vec::new());
    }
    crate::fleet::spec::from_user_config()
}

/// Several directors: every one watched, one shown.
async fn several(
    common: &CommonOptions,
    mut options: ConsoleOptions,
    directors: Vec<DirectorSpec>,
) -> Result<(), ConsoleError> {
    let messages = crate::fleet::watch(&directors, refresh(common));
    if let Some(first) = directors.first() {
        options.source = format!("director {} {}", first.name, first.socket.display());
    }
    options.directors = directors;
    ui::run_fleet(options, messages, actor())
        .await
        .map_err(ConsoleError::from)
}

/// Run `job` on a fresh multi-threaded runtime; its error, or the
/// runtime's, is printed after `program:`.
pub fn block_on<E: std::fmt::Display>(
    program: &str,
    job: impl std::future::Future<Output = Result<(), E>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(program)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{program}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(job) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Keymap, theme and flags from the command line and the user's files.
pub fn console_options(common: &CommonOptions) -> Result<ConsoleOptions, ui::UiError> {
    let mut options = ConsoleOptions::load(
        common.keymap.as_deref().unwrap_or("default"),
        common.theme.as_deref().unwrap_or("default"),
    )?;
    options.read_only = common.read_only;
    options.ascii = common.ascii;
    Ok(options)
}

/// The refresh interval from `-d SECS`.
pub fn refresh(common: &CommonOptions) -> Duration {
    common
        .delay
        .filter(|d| d.is_finite() && *d > 0.0)
        .map_or(DEFAULT_REFRESH, Duration::from_secs_f64)
}

/// Who acts from this console: the user running it.
pub fn actor() -> Actor {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name);
    Actor {
        uid: uid.as_raw(),
        name: format!("{name} (console)"),
    }
}

async fn console(
    common: &CommonOptions,
    mut options: ConsoleOptions,
    engine: bool,
) -> Result<(), ConsoleError> {
    let interval = refresh(common);
    if engine {
        return embedded(common, options, interval).await;
    }
    match common.source {
        SourceChoice::Daemon => attached(common, options, interval).await,
        SourceChoice::Observe => observed(common, options, interval).await,
        SourceChoice::Auto => match remote::attach(&common.socket, interval).await {
            Ok(remote) => {
                options.source = format!("lvstop daemon {}", common.socket.display());
                run_remote(options, remote).await
            }
            Err(ControlError::NoDaemon { .. }) => observed(common, options, interval).await,
            Err(e) => Err(e.into()),
        },
    }
}

/// No daemon: watch the host read-only. The kernel's IPVS may be
/// unreadable (no IPVS module, no CAP_NET_ADMIN); the observer then says
/// so and shows what it can.
async fn observed(
    common: &CommonOptions,
    mut options: ConsoleOptions,
    interval: Duration,
) -> Result<(), ConsoleError> {
    let kernel = KernelDataplane::connect()
        .await
        .map(Arc::new)
        .map_err(|e| e.to_string());
    let keepalived = match crate::net::speakers::find_keepalived() {
        Some(crate::net::speakers::Speaker::Keepalived { pid, .. }) => Some(pid),
        _ => None,
    };
    options.source = observe::driver::label(keepalived);
    options.observer = true;
    let observed = observe::driver::start(
        kernel,
        observe::driver::ObserverOptions {
            config_path: Some(common.config.clone()),
            interval,
        },
    );
    options.connections = Some(observed.connections);
    ui::run(options, observed.updates, observed.commands, actor())
        .await
        .map_err(ConsoleError::from)
}

async fn attached(
    common: &CommonOptions,
    mut options: ConsoleOptions,
    interval: Duration,
) -> Result<(), ConsoleError> {
    let remote = remote::attach(&common.socket, interval).await?;
    options.source = format!("lvstop daemon {}", common.socket.display());
    run_remote(options, remote).await
}

async fn run_remote(
    mut options: ConsoleOptions,
    remote: remote::Remote,
) -> Result<(), ConsoleError> {
    options.connections = Some(remote.connections);
    ui::run(options, remote.updates, remote.commands, actor())
        .await
        .map_err(ConsoleError::from)
}

/// `--engine`: this console is the director.
async fn embedded(
    common: &CommonOptions,
    mut options: ConsoleOptions,
    interval: Duration,
) -> Result<(), ConsoleError> {
    if !common.config.exists() {
        return Err(ConsoleError::NoConfig(common.config.clone()));
    }
    log_to_file();
    let config = load_for_director(&common.config)?;
    options.embedded = true;
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
    let dataplane = engine.dataplane();
    options.source = match dataplane.kind() {
        DataplaneKind::Kernel => "embedded engine (kernel IPVS)".into(),
        DataplaneKind::Userspace => "embedded engine (userspace)".into(),
    };
    let result = watch_engine(engine.handle(), dataplane, options, interval).await;
    // The console is the director: quitting it stops it, services and all.
    engine.stop(false).await;
    result
}

/// Run the console on an engine in this process.
async fn watch_engine<D: Dataplane + 'static>(
    handle: Handle,
    dataplane: Arc<D>,
    mut options: ConsoleOptions,
    interval: Duration,
) -> Result<(), ConsoleError> {
    options.connections = Some(poll_connections(dataplane, interval));
    let updates = handle.subscribe(interval, 0);
    ui::run(options, updates, handle.commands().clone(), actor())
        .await
        .map_err(ConsoleError::from)
}

/// The dataplane's connection table every `interval`.
pub fn poll_connections<D: Dataplane + 'static>(
    dataplane: Arc<D>,
    interval: Duration,
) -> mpsc::Receiver<Vec<Connection>> {
    let (sender, receiver) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Ok(list) = dataplane.connections().await {
                if sender.send(list).await.is_err() {
                    return;
                }
            }
        }
    });
    receiver
}

/// The embedded engine logs to a file: the terminal belongs to the
/// console.
pub fn log_to_file() {
    let Some(dir) = state_dir() else { return };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("console.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LVSTOP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

fn state_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|d| d.join("lvstop"))
}
