//! `lvstop daemon`: the headless director. Today it loads the
//! configuration, runs its health checks and VRRP instances, programs a
//! dataplane (the kernel's IPVS, or lvstop's userspace one) with the
//! configured virtual servers as the checks and the operators' overrides
//! filter them (`health::service`, `engine::desk`), serves the control
//! socket (reads, and operator commands), reloads on SIGHUP (keeping
//! checker state; VRRP restarts only when its part changed) and stops on
//! SIGTERM/SIGINT (VRRP priority 0, VIPs removed). The engine issue grows
//! it further.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::cli::{CommonOptions, DaemonArgs, DataplaneChoice};
use crate::config::diagnostic::{render_text, Severity};
use crate::config::load::{self, Options};
use crate::config::model::Config;
use crate::control::peer::Peer;
use crate::control::protocol::{ErrorKind, Hello, Request, Response, PROTOCOL_VERSION};
use crate::control::server::{Backend, Server};
use crate::control::ControlError;
use crate::dataplane::kernel::KernelDataplane;
use crate::dataplane::userspace::UserspaceDataplane;
use crate::dataplane::{ApplyError, Dataplane, DataplaneError, Operation};
use crate::engine::command::{Command, CommandError, Outcome};
use crate::engine::desk::{Desk, Step};
use crate::engine::handle::{command_channel, Commands};
use crate::engine::overrides::Actor;
use crate::health::service::{self as health, HealthError, HealthReporter, HealthService};
use crate::ipvs::desired::{self, DesiredError, DesiredService};
use crate::ipvs::model::ServiceKey;
use crate::ipvs::reconcile;
use crate::pidfile::PidFile;
use crate::vrrp::runner::{RunnerError, RunnerOptions, VrrpService, VrrpStatus};

/// How often the dataplane is compared with what was applied.
const DRIFT_POLL: std::time::Duration = std::time::Duration::from_secs(5);

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
    #[error("health checks: {0}")]
    Health(#[from] HealthError),
    #[error("VRRP: {0}")]
    Vrrp(#[from] RunnerError),
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
    match choose_dataplane(common.dataplane).await? {
        Chosen::Kernel(kernel) => {
            let kernel = Arc::new(kernel);
            let owned = direct(Arc::clone(&kernel), common, admin_gid, &config).await?;
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
            direct(Arc::clone(&userspace), common, admin_gid, &config).await?;
            userspace.shutdown();
        }
    }
    Ok(())
}

/// Program the dataplane, serve the control socket, reload on SIGHUP,
/// until SIGTERM/SIGINT. Returns the services the daemon programmed.
async fn direct<D: Dataplane + 'static>(
    dataplane: Arc<D>,
    common: &CommonOptions,
    admin_gid: Option<u32>,
    config: &Config,
) -> Result<HashSet<ServiceKey>, DaemonError> {
    let mut owned = HashSet::new();
    let config_for_fifos = config.clone();
    let fifos = tokio::task::spawn_blocking(move || health::open_fifos(&config_for_fifos))
        .await
        .map_err(HealthError::from)?;
    let mut health = HealthService::start(config, fifos).await?;
    let mut desk = Desk::new(desired::from_config(&config.lvs)?);
    let (commands, mut command_queue) = command_channel();
    let mut applied =
        converge(dataplane.as_ref(), desk.wanted(&health.table()), &mut owned).await?;
    // Drains and ramps are watched once a second while any is running.
    let mut desk_tick = tokio::time::interval(std::time::Duration::from_secs(1));
    desk_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported_drift = Vec::new();
    let mut drift_poll = tokio::time::interval(DRIFT_POLL);
    // A full kernel read of a big table can take longer than the period;
    // keep a whole period between reads instead of catching up.
    drift_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let mut server = Server::bind(&common.socket)?;
    if let Some(gid) = admin_gid {
        server = server.with_admin_group(gid)?;
    }
    tracing::info!("control socket listening on {}", server.path().display());
    let mut vrrp = VrrpService::start(config, RunnerOptions::default()).await?;
    let backend = Arc::new(DaemonBackend {
        dataplane: Arc::clone(&dataplane),
        health: health.reporter(),
        commands,
        hello: Hello {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            dataplane: dataplane.kind(),
            config_path: common.config.display().to_string(),
            pid: std::process::id(),
        },
        vrrp: vrrp.status(),
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
            _ = hangup.recv() => {
                if let Ok(now) = reload(dataplane.as_ref(), &common.config, &mut health, &mut desk, &mut owned).await {
                    applied = now;
                    reported_drift.clear();
                }
                vrrp.reload(&common.config).await;
            }
            _ = health.changed() => {
                match converge(dataplane.as_ref(), desk.wanted(&health.table()), &mut owned).await {
                    Ok(now) => {
                        applied = now;
                        reported_drift.clear();
                    }
                    Err(e) => tracing::error!("cannot apply the health checks' table: {e}"),
                }
            }
            Some(request) = command_queue.recv() => {
                tracing::info!(
                    "operator {} (uid {}): {}",
                    request.actor.name,
                    request.actor.uid,
                    request.command.verb()
                );
                match desk.take(request) {
                    Step::Answered => {}
                    Step::Reconcile(pending) => {
                        match converge(dataplane.as_ref(), desk.wanted(&health.table()), &mut owned).await {
                            Ok(now) => {
                                applied = now;
                                reported_drift.clear();
                                desk.settled(pending, Ok(()));
                            }
                            Err(e) => desk.settled(pending, Err(e.to_string())),
                        }
                    }
                    Step::Director { actor, command, reply } => {
                        let answer = match command {
                            Command::Reload => {
                                match reload(dataplane.as_ref(), &common.config, &mut health, &mut desk, &mut owned).await {
                                    Ok(now) => {
                                        applied = now;
                                        reported_drift.clear();
                                        Ok(Outcome::Done { message: format!("reloaded {}", common.config.display()) })
                                    }
                                    Err(why) => Err(CommandError::Invalid { what: "reload".into(), why }),
                                }
                            }
                            Command::Zero { service } => dataplane
                                .apply(&[Operation::Zero(service)])
                                .await
                                .map(|()| Outcome::Done {
                                    message: service.map_or_else(
                                        || "counters zeroed".to_string(),
                                        |s| format!("counters of {s} zeroed"),
                                    ),
                                })
                                .map_err(|e| CommandError::Refused { operation: "zero".into(), why: e.to_string() }),
                            Command::Failover { name, hold_s } => {
                                failover(&vrrp, &name, hold_s).await
                            }
                            other => Err(not_here(&actor, &other)),
                        };
                        let _ = reply.send(answer);
                    }
                }
            }
            _ = desk_tick.tick(), if desk.wants_ticks() => {
                if let Ok(live) = dataplane.snapshot().await {
                    if desk.tick(&live) {
                        match converge(dataplane.as_ref(), desk.wanted(&health.table()), &mut owned).await {
                            Ok(now) => {
                                applied = now;
                                reported_drift.clear();
                            }
                            Err(e) => tracing::error!("cannot apply the operators' table: {e}"),
                        }
                    }
                }
            }
            _ = drift_poll.tick() => {
                check_drift(dataplane.as_ref(), &applied, &mut reported_drift).await;
            }
        }
    }
    tracing::info!("stopping");
    health.shutdown().await;
    vrrp.stop().await;
    let _ = stop.send(true);
    let _ = control.await;
    Ok(owned)
}

/// On stop, a kernel director removes the services it programmed (as
/// keepalived does by default); services it never owned stay.
async fn release(kernel: &KernelDataplane, owned: &HashSet<ServiceKey>) {
    let mut keys: Vec<ServiceKey> = owned.iter().copied().collect();
    keys.sort();
    let operations: Vec<Operation> = keys.into_iter().map(Operation::DeleteService).collect();
    match kernel.apply(&operations).await {
        Ok(()) => tracing::info!("removed {} virtual service(s) from IPVS", operations.len()),
        Err(e) => tracing::error!("could not remove every virtual service from IPVS: {e}"),
    }
}

/// SIGHUP (or `lvstop ctl reload`): load the file again and converge on
/// it. A configuration that does not load, or an apply that fails, leaves
/// the director running on what it had; the error says why.
/// Returns what is applied now.
async fn reload<D: Dataplane>(
    dataplane: &D,
    path: &Path,
    health: &mut HealthService,
    desk: &mut Desk,
    owned: &mut HashSet<ServiceKey>,
) -> Result<Vec<DesiredService>, String> {
    tracing::info!("reloading {}", path.display());
    let refused = |e: String| {
        tracing::error!("reload refused, keeping the running configuration: {e}");
        e
    };
    let config = load_config(path).map_err(|e| refused(e.to_string()))?;
    let configured = desired::from_config(&config.lvs).map_err(|e| refused(e.to_string()))?;
    health
        .reload(&config)
        .await
        .map_err(|e| refused(e.to_string()))?;
    desk.set_configured(configured);
    converge(dataplane, desk.wanted(&health.table()), owned)
        .await
        .map_err(|e| {
            let e = format!("the previous table stays partly applied: {e}");
            tracing::error!("reload failed, {e}");
            e
        })
}

/// `lvstop ctl failover`: the instance (or sync group) steps down with a
/// priority-0 advert and stays BACKUP for `hold_s` seconds.
async fn failover(vrrp: &VrrpService, name: &str, hold_s: u64) -> Result<Outcome, CommandError> {
    let unknown = || CommandError::UnknownInstance {
        name: name.to_string(),
    };
    let runner = vrrp.runner().ok_or_else(unknown)?;
    match runner
        .force_failover(name, std::time::Duration::from_secs(hold_s))
        .await
    {
        Ok(()) => Ok(Outcome::Done {
            message: format!("{name} steps down: priority 0 sent, BACKUP for {hold_s} s"),
        }),
        Err(RunnerError::UnknownInstance(_)) => Err(unknown()),
        Err(e) => Err(CommandError::Refused {
            operation: "failover".into(),
            why: e.to_string(),
        }),
    }
}

/// A command this daemon cannot carry out yet, refused with the reason.
fn not_here(actor: &Actor, command: &Command) -> CommandError {
    tracing::warn!(
        "operator {} (uid {}): '{}' is not available in this daemon",
        actor.name,
        actor.uid,
        command.verb()
    );
    match command {
        Command::Failover { name, .. } => CommandError::UnknownInstance { name: name.clone() },
        other => CommandError::Invalid {
            what: other.verb().to_string(),
            why: "not available in this daemon yet".into(),
        },
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

enum Chosen {
    Kernel(KernelDataplane),
    Userspace(UserspaceDataplane),
}

/// `--dataplane`: `kernel` insists on IPVS; `auto` takes it when this
/// kernel has IPVS and the process may use it, else the userspace
/// dataplane, and says which and why.
async fn choose_dataplane(choice: DataplaneChoice) -> Result<Chosen, DaemonError> {
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

/// Make the dataplane's table equal to `wanted` (the configuration's, as
/// the health checks filter it). Services the daemon did not program and
/// the configuration does not name (someone else's, on a kernel) are left
/// alone.
async fn converge<D: Dataplane>(
    dataplane: &D,
    wanted: Vec<DesiredService>,
    owned: &mut HashSet<ServiceKey>,
) -> Result<Vec<DesiredService>, DaemonError> {
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
    tracing::info!(
        "{} virtual service(s) programmed ({count} operation(s))",
        wanted.len()
    );
    Ok(wanted)
}

/// Compare the dataplane with what was applied; log each difference once
/// (IPVS has no change notifications, so this polls). The director does
/// not undo it: an operator may have meant it; SIGHUP restores the file's
/// table.
async fn check_drift<D: Dataplane>(
    dataplane: &D,
    applied: &[DesiredService],
    reported: &mut Vec<String>,
) {
    let table = match dataplane.snapshot().await {
        Ok(table) => table,
        Err(e) => {
            tracing::warn!("cannot read the dataplane to check for drift: {e}");
            return;
        }
    };
    let now: Vec<String> = reconcile::drift(applied, &table)
        .iter()
        .map(|d| d.to_string())
        .collect();
    for change in now.iter().filter(|c| !reported.contains(c)) {
        tracing::warn!(
            "drift: {change} outside lvstop; not undoing it (SIGHUP re-applies the configuration)"
        );
    }
    *reported = now;
}

/// Answers control requests from the dataplane.
struct DaemonBackend<D> {
    dataplane: Arc<D>,
    health: HealthReporter,
    commands: Commands,
    hello: Hello,
    vrrp: watch::Receiver<VrrpStatus>,
}

impl<D: Dataplane + 'static> Backend for DaemonBackend<D> {
    async fn handle(&self, peer: &Peer, request: Request) -> Response {
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
            Request::Command(command) => {
                let actor = Actor {
                    uid: peer.uid,
                    name: peer.name(),
                };
                match self.commands.execute(actor, command).await {
                    Ok(outcome) => Response::Outcome(outcome),
                    Err(error) => Response::CommandError(error),
                }
            }
            Request::Checks => Response::Checks(Box::new(self.health.report())),
            Request::Vrrp => Response::Vrrp(self.vrrp.borrow().clone()),
        }
    }
}
