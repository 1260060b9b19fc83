//! The observer's driver: at the console's refresh interval it reads the
//! kernel's IPVS table (counters and rates included), finds keepalived,
//! compares the table with the configuration file when one is readable,
//! and hands the console a [`Snapshot`] just as an engine would. Commands
//! from the console are answered here: weight set, drain and restore go
//! to kernel IPVS over generic netlink; everything else is refused with
//! the keepalived way to do it.
//!
//! It never sends VRRP, never signals keepalived, and writes nothing but
//! the operator's explicit weight changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use super::keepalived;
use super::report::{KeepalivedView, MissingRealServer, Observation};
use super::table::{self, KernelSource, TableReader};
use super::weights::{WeightChange, Weights};
use super::wire::{Expected, WireWatch};
use crate::config::load::{self, Options};
use crate::config::model::Config;
use crate::dataplane::{Dataplane, DataplaneKind};
use crate::engine::channel::{command_channel, CommandRequest, Commands, Update};
use crate::engine::command::{Command, CommandError, Outcome};
use crate::engine::overrides::Actor;
use crate::engine::snapshot::{DirectorInfo, DrainView, Snapshot};
use crate::health::report::ChecksReport;
use crate::ipvs::desired::{self, DesiredService};
use crate::ipvs::model::{DestKey, Info, Origin, ServiceKey, Table};
use crate::net::speakers;
use crate::vrrp::driver::VrrpStatus;

/// What the observer is pointed at.
#[derive(Debug, Clone)]
pub struct ObserverOptions {
    /// keepalived's configuration, for names, configured weights and the
    /// real servers missing from the table; unreadable is not an error.
    pub config_path: Option<PathBuf>,
    /// How often the console gets a new snapshot.
    pub interval: Duration,
}

/// What the console reads from the observer.
#[derive(Debug)]
pub struct Observed {
    pub updates: mpsc::Receiver<Update>,
    pub commands: Commands,
    pub connections: mpsc::Receiver<Vec<crate::ipvs::model::Connection>>,
}

/// Start observing. `kernel` is the kernel's IPVS, or why it cannot be
/// read (the observer then shows VRRP and keepalived without a table).
pub fn start<D: KernelSource + 'static>(
    kernel: Result<Arc<D>, String>,
    options: ObserverOptions,
) -> Observed {
    let (wire, wire_error) = match WireWatch::start(Vec::new()) {
        Ok(watch) => (Some(watch), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let shared = Arc::new(Shared {
        kernel,
        wire,
        wire_error,
        options,
        state: Mutex::new(State {
            keepalived_pid: speakers::find_keepalived_process().map(|p| p.pid),
            ..State::default()
        }),
        clock_zero: Instant::now(),
        started_unix_ms: unix_ms(SystemTime::now()),
    });
    let (update_tx, updates) = mpsc::channel(4);
    tokio::spawn(publish(Arc::clone(&shared), update_tx));
    let (commands, queue) = command_channel();
    tokio::spawn(answer(Arc::clone(&shared), queue));
    tokio::spawn(read_keepalived(Arc::clone(&shared)));
    let (connection_tx, connections) = mpsc::channel(2);
    tokio::spawn(poll_connections(shared, connection_tx));
    Observed {
        updates,
        commands,
        connections,
    }
}

struct Shared<D> {
    kernel: Result<Arc<D>, String>,
    wire: Option<WireWatch>,
    wire_error: Option<String>,
    options: ObserverOptions,
    state: Mutex<State>,
    clock_zero: Instant,
    started_unix_ms: u64,
}

/// What the observer remembers between refreshes.
#[derive(Default)]
struct State {
    weights: Weights,
    drains: Vec<DrainView>,
    config: Option<LoadedConfig>,
    /// The keepalived found by the last background look (the process
    /// table is read there, never on the refresh path).
    keepalived_pid: Option<u32>,
    keepalived: Option<KeepalivedView>,
}

/// The configuration file as last read, and when it changed.
struct LoadedConfig {
    modified: Option<SystemTime>,
    result: Result<ConfigFacts, ConfigError>,
}

/// Why the observer has no facts from the configuration file; shown as
/// the snapshot's configuration error.
#[derive(Debug, Clone, thiserror::Error)]
enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        /// Shared: the observer keeps the last result and hands out copies.
        source: Arc<crate::config::preprocess::LoadError>,
    },
    #[error("{}: {source}", path.display())]
    Table {
        path: PathBuf,
        source: desired::DesiredError,
    },
}

/// What the observer takes from the configuration.
#[derive(Clone)]
struct ConfigFacts {
    name: String,
    services: Vec<DesiredService>,
    /// What the listener should hear for each configured instance.
    expected: Vec<Expected>,
}

impl<D> Shared<D> {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep
        // serving it rather than stopping the console.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn clock_ms(&self) -> u64 {
        u64::try_from(self.clock_zero.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

async fn publish<D: KernelSource + 'static>(shared: Arc<Shared<D>>, out: mpsc::Sender<Update>) {
    let mut ticker = tokio::time::interval(shared.options.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reader = TableReader::default();
    loop {
        ticker.tick().await;
        let started = Instant::now();
        let snapshot = assemble(&shared, &mut reader).await;
        let spent = started.elapsed();
        // Shown as soon as it is read: the pause below is before the next
        // read, never before this one is seen.
        if out
            .send(Update::Snapshot(Arc::new(snapshot)))
            .await
            .is_err()
        {
            return;
        }
        let rest = pause_after(spent, shared.options.interval);
        if !rest.is_zero() {
            tokio::time::sleep(rest).await;
        }
    }
}

/// The pause to add before the next read after one that took `spent`: on
/// a table so big that reading it takes a good part of the interval, the
/// observer refreshes less often rather than read without pause, so that
/// reading takes at most one part in [`READING_SHARE_INVERSE`] of the wall
/// time.
///
/// The next tick is due one interval after the last, so a cycle lasts
/// the longer of the interval and the read plus this pause.
fn pause_after(spent: Duration, interval: Duration) -> Duration {
    if spent.saturating_mul(READING_SHARE_INVERSE) > interval {
        spent.saturating_mul(READING_SHARE_INVERSE - 1)
    } else {
        Duration::ZERO
    }
}

/// One snapshot of everything the observer can see now.
async fn assemble<D: KernelSource>(shared: &Shared<D>, reader: &mut TableReader) -> Snapshot {
    let (table, ipvs_error) = match &shared.kernel {
        Ok(kernel) => match reader.read(kernel.as_ref()).await {
            Ok(table) => (table, None),
            Err(e) => (empty_table(), Some(e.to_string())),
        },
        Err(why) => (empty_table(), Some(why.clone())),
    };
    // Two small netlink reads: the settings keepalived's lvs_sync_daemon
    // and the kernel's timeouts leave in place.
    let (timeouts, sync_daemons) = match &shared.kernel {
        Ok(kernel) => (
            kernel.timeouts().await.ok(),
            kernel.daemons().await.unwrap_or_default(),
        ),
        Err(_) => (None, Vec::new()),
    };
    let facts = refresh_config(shared);
    let mut state = shared.state();
    if ipvs_error.is_none() {
        state.weights.forget_overwritten(&table);
    }
    let (name, missing, config_error) = match &facts {
        Some(Ok(facts)) => (facts.name.clone(), missing(&facts.services, &table), None),
        Some(Err(e)) => (host_name(), Vec::new(), Some(e.to_string())),
        None => (host_name(), Vec::new(), None),
    };
    let keepalived_pid = state.keepalived_pid;
    let observation = Observation {
        label: label(keepalived_pid),
        keepalived_pid,
        ipvs_error,
        config_path: shared
            .options
            .config_path
            .as_ref()
            .map(|p| p.display().to_string()),
        config_error,
        missing,
        weights_set: state.weights.list(),
        wire: shared.wire.as_ref().map(WireWatch::report),
        wire_error: shared.wire_error.clone(),
        keepalived: keepalived_pid.and(state.keepalived.clone()),
        timeouts,
        sync_daemons,
    };
    Snapshot {
        taken_unix_ms: unix_ms(SystemTime::now()),
        clock_ms: shared.clock_ms(),
        director: DirectorInfo {
            name,
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: keepalived_pid.unwrap_or(0),
            dataplane: DataplaneKind::Kernel,
            config_path: observation.config_path.clone().unwrap_or_default(),
            config_hash: String::new(),
            started_unix_ms: shared.started_unix_ms,
        },
        table,
        checks: ChecksReport::default(),
        vrrp: VrrpStatus::default(),
        overrides: Vec::new(),
        drains: state.drains.clone(),
        last_event_seq: 0,
        observed: Some(observation),
    }
}

/// The header's words for what the console is attached to.
pub fn label(keepalived_pid: Option<u32>) -> String {
    match keepalived_pid {
        Some(pid) => format!("observing keepalived (pid {pid})"),
        None => "observing the kernel".to_string(),
    }
}

fn empty_table() -> Table {
    Table {
        origin: Origin::Kernel,
        info: Info::KERNEL_DEFAULT,
        services: Vec::new(),
    }
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "director".into())
}

/// The configuration's facts, re-read when the file changed (keepalived
/// reloads rewrite it).
fn refresh_config<D>(shared: &Shared<D>) -> Option<Result<ConfigFacts, ConfigError>> {
    let path = shared.options.config_path.as_deref()?;
    // No file is no error: the observer works without one.
    let modified = std::fs::metadata(path).ok()?.modified().ok();
    let mut state = shared.state();
    let stale = state
        .config
        .as_ref()
        .is_none_or(|loaded| loaded.modified != modified);
    if stale {
        let result = read_config(path);
        if let (Ok(facts), Some(wire)) = (&result, &shared.wire) {
            wire.set_expected(facts.expected.clone());
        }
        state.config = Some(LoadedConfig { modified, result });
    }
    state.config.as_ref().map(|loaded| loaded.result.clone())
}

fn read_config(path: &Path) -> Result<ConfigFacts, ConfigError> {
    let outcome = load::load_file(path, &Options::default()).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        source: Arc::new(e),
    })?;
    let config: Config = outcome.config;
    let services = desired::from_config(&config.lvs).map_err(|source| ConfigError::Table {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(ConfigFacts {
        name: crate::config::running::director_name(&config),
        services,
        expected: expected_routers(&config),
    })
}

/// Each configured VRRP instance as the wire should show it, with
/// keepalived's defaults (priority 100, one-second adverts, the global
/// VRRP version) where the file is silent.
fn expected_routers(config: &Config) -> Vec<Expected> {
    let version = config.global.effective_vrrp_version();
    config
        .vrrp
        .instances
        .iter()
        .filter_map(|instance| {
            let interval = instance
                .advert_int
                .as_ref()
                .map_or(Duration::from_secs(1), |t| t.value);
            Some(Expected {
                instance: instance.name.value.clone(),
                interface: instance.interface.as_ref().map(|i| i.value.clone()),
                vrid: instance.virtual_router_id.as_ref()?.value,
                version: instance.version.as_ref().map_or(version, |v| v.value),
                interval_cs: u32::try_from(interval.as_millis() / 10).unwrap_or(u32::MAX),
                vips: instance
                    .virtual_addresses
                    .iter()
                    .map(|a| a.address.value)
                    .collect(),
                priority: instance.priority.as_ref().map_or(100, |p| p.value),
            })
        })
        .collect()
}

/// What the observer adds to one read of the table (`lvstop --once`).
pub fn observe_once(table: &Table, config_path: Option<&Path>) -> Observation {
    let process = speakers::find_keepalived_process();
    let keepalived_pid = process.as_ref().map(|p| p.pid);
    // keepalived's own view: one dump each (keepalived logs a line for it).
    let keepalived =
        process.map(|p| view_of(keepalived::read_state(&p, keepalived::DEFAULT_DUMP_WAIT)));
    let facts = config_path
        .filter(|path| path.exists())
        .map(|path| (path, read_config(path)));
    let (missing, config_error) = match &facts {
        Some((_, Ok(facts))) => (missing(&facts.services, table), None),
        Some((_, Err(e))) => (Vec::new(), Some(e.to_string())),
        None => (Vec::new(), None),
    };
    Observation {
        label: label(keepalived_pid),
        keepalived_pid,
        ipvs_error: None,
        config_path: facts.map(|(path, _)| path.display().to_string()),
        config_error,
        missing,
        weights_set: Vec::new(),
        wire: None,
        wire_error: None,
        keepalived,
        timeouts: None,
        sync_daemons: Vec::new(),
    }
}

/// The observer spends at most one part in this many of the wall time
/// reading the table: a refresh that took a quarter of the interval or
/// more delays the next one.
const READING_SHARE_INVERSE: u32 = 4;

/// keepalived logs a line for every dump it writes: ask no more often
/// than this, however fast the console refreshes.
const KEEPALIVED_READ_EVERY: Duration = Duration::from_secs(5);

/// keepalived's own view, refreshed in the background: the dumps take up
/// to a few seconds and must never hold up the table.
async fn read_keepalived<D: Send + Sync + 'static>(shared: Arc<Shared<D>>) {
    let every = shared.options.interval.max(KEEPALIVED_READ_EVERY);
    loop {
        if Arc::strong_count(&shared) == 1 {
            return;
        }
        let found = tokio::task::spawn_blocking(speakers::find_keepalived_process)
            .await
            .ok()
            .flatten();
        shared.state().keepalived_pid = found.as_ref().map(|p| p.pid);
        let view = match found {
            Some(process) => Some(view_of(
                keepalived::read_state_async(process, keepalived::DEFAULT_DUMP_WAIT).await,
            )),
            None => None,
        };
        shared.state().keepalived = view;
        tokio::time::sleep(every).await;
    }
}

/// What the console shows of keepalived's dumps.
fn view_of(state: keepalived::KeepalivedState) -> KeepalivedView {
    let (instances, instances_error) = split(state.instances);
    let (virtual_servers, virtual_servers_error) = split(state.virtual_servers);
    KeepalivedView {
        instances,
        instances_error,
        virtual_servers,
        virtual_servers_error,
        read_at_unix_ms: state.read_at_unix_ms,
    }
}

fn split<T>(result: Result<Vec<T>, keepalived::DumpError>) -> (Vec<T>, Option<String>) {
    match result {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    }
}

/// Configured real servers the kernel's table lacks.
fn missing(configured: &[DesiredService], table: &Table) -> Vec<MissingRealServer> {
    let mut out = Vec::new();
    for service in configured {
        let key = service.config.key;
        let live = table.service(key);
        for dest in &service.dests {
            let present = live.is_some_and(|s| s.dests.iter().any(|d| d.key() == dest.key));
            if !present {
                out.push(MissingRealServer {
                    service: key,
                    server: dest.key,
                    weight: dest.weight,
                    service_missing: live.is_none(),
                });
            }
        }
    }
    out
}

/// The configured weight of a real server, when the file names it.
fn configured_weight<D>(shared: &Shared<D>, service: ServiceKey, server: DestKey) -> Option<i32> {
    let state = shared.state();
    let facts = state.config.as_ref()?.result.as_ref().ok()?;
    facts
        .services
        .iter()
        .find(|s| s.config.key == service)?
        .dests
        .iter()
        .find(|d| d.key == server)
        .map(|d| d.weight)
}

async fn answer<D: KernelSource + 'static>(
    shared: Arc<Shared<D>>,
    mut queue: mpsc::Receiver<CommandRequest>,
) {
    while let Some(request) = queue.recv().await {
        let shared = Arc::clone(&shared);
        // A drain waits for idle; other commands must not wait behind it.
        tokio::spawn(async move {
            let outcome = execute(&shared, &request.actor, request.command).await;
            let _ = request.reply.send(outcome);
        });
    }
}

/// Why a command has no place in the observer, and the keepalived way.
fn not_here(command: &Command) -> CommandError {
    let why = match command {
        Command::Failover { .. } => {
            "keepalived runs VRRP here; to move the VIP, lower this director's priority in \
             keepalived.conf and reload keepalived (systemctl reload keepalived), or stop \
             keepalived on the master"
        }
        Command::Reload | Command::Apply { .. } | Command::Confirm => {
            "keepalived owns this configuration; check it with `lvstop check`, then \
             `systemctl reload keepalived`"
        }
        Command::Disable { .. } | Command::Enable { .. } => {
            "keepalived's checkers would put a removed real server back; drain it to weight 0 \
             instead"
        }
        _ => "not available while observing keepalived",
    };
    CommandError::Invalid {
        what: command.verb().to_string(),
        why: why.to_string(),
    }
}

async fn execute<D: KernelSource>(
    shared: &Shared<D>,
    actor: &Actor,
    command: Command,
) -> Result<Outcome, CommandError> {
    if !matches!(
        command,
        Command::SetWeight { .. } | Command::Drain { .. } | Command::Restore { .. }
    ) {
        return Err(not_here(&command));
    }
    let kernel = match &shared.kernel {
        Ok(kernel) => kernel,
        Err(why) => {
            return Err(CommandError::Invalid {
                what: command.verb().to_string(),
                why: format!("the kernel's IPVS cannot be read: {why}"),
            })
        }
    };
    match command {
        Command::SetWeight {
            service,
            server,
            weight,
            ..
        } => {
            let table = table_for_change(kernel.as_ref(), service).await?;
            let change = shared
                .state()
                .weights
                .plan_set(&table, service, server, weight)?;
            send(shared, kernel.as_ref(), &change, actor).await?;
            Ok(Outcome::Done {
                message: format!(
                    "weight of {server} in {service} set to {weight} in kernel IPVS \
                     (was {}); keepalived rewrites it at its next check transition or reload",
                    change.previous
                ),
            })
        }
        Command::Restore {
            service,
            server,
            ramp_s: None,
        } => {
            let configured = configured_weight(shared, service, server);
            let table = table_for_change(kernel.as_ref(), service).await?;
            let change = shared
                .state()
                .weights
                .plan_restore(&table, service, server, configured)?;
            send(shared, kernel.as_ref(), &change, actor).await?;
            Ok(Outcome::Done {
                message: format!(
                    "weight of {server} in {service} restored to {}",
                    change.weight
                ),
            })
        }
        Command::Restore {
            ramp_s: Some(_), ..
        } => Err(CommandError::Invalid {
            what: "restore --ramp".into(),
            why: "a ramp needs an engine to climb the weight; the observer restores at once".into(),
        }),
        Command::Drain {
            service,
            server,
            timeout_s,
            remove: false,
            ..
        } => drain(shared, kernel.as_ref(), actor, service, server, timeout_s).await,
        Command::Drain { remove: true, .. } => Err(CommandError::Invalid {
            what: "drain --remove".into(),
            why: "keepalived's checkers would put a removed real server back; the observer \
                  drains to weight 0 and leaves it in the table"
                .into(),
        }),
        other => Err(not_here(&other)),
    }
}

/// The table a weight change on `service` is planned on (see
/// [`table::for_change`]), or why it cannot be read.
async fn table_for_change<D: KernelSource>(
    kernel: &D,
    service: ServiceKey,
) -> Result<Table, CommandError> {
    table::for_change(kernel, service)
        .await
        .map_err(|e| CommandError::Refused {
            operation: "read the IPVS table".into(),
            why: e.to_string(),
        })
}

/// Send one weight change and remember it.
async fn send<D: Dataplane>(
    shared: &Shared<D>,
    kernel: &D,
    change: &WeightChange,
    actor: &Actor,
) -> Result<(), CommandError> {
    kernel
        .apply(std::slice::from_ref(&change.operation))
        .await
        .map_err(|e| CommandError::Refused {
            operation: format!("weight {} for {}", change.weight, change.server),
            why: e.to_string(),
        })?;
    tracing::info!(
        "{}: weight of {} in {} set to {} (was {})",
        actor.name,
        change.server,
        change.service,
        change.weight,
        change.previous
    );
    shared.state().weights.record(change, &actor.name);
    Ok(())
}

/// Weight 0, then wait until ActiveConn is 0 or the timeout passed.
async fn drain<D: KernelSource>(
    shared: &Shared<D>,
    kernel: &D,
    actor: &Actor,
    service: ServiceKey,
    server: DestKey,
    timeout_s: u64,
) -> Result<Outcome, CommandError> {
    let table = table_for_change(kernel, service).await?;
    let change = shared
        .state()
        .weights
        .plan_set(&table, service, server, 0)?;
    send(shared, kernel, &change, actor).await?;
    let timeout_ms = timeout_s.saturating_mul(1000);
    let deadline_ms = shared.clock_ms().saturating_add(timeout_ms);
    shared.state().drains.push(DrainView {
        service,
        server,
        deadline_ms,
        remove: false,
        by: actor.name.clone(),
    });
    let poll = shared.options.interval.min(Duration::from_secs(1));
    let result = loop {
        let counts = kernel.dests(service).await.ok().and_then(|dests| {
            dests
                .iter()
                .find(|d| d.key() == server)
                .map(|d| (d.active, d.inactive, d.persistent))
        });
        let timed_out = shared.clock_ms() >= deadline_ms;
        match counts {
            None => {
                break Err(CommandError::UnknownServer {
                    service: service.to_string(),
                    server: server.to_string(),
                })
            }
            Some((active, inactive, persistent)) if active == 0 || timed_out => {
                break Ok(Outcome::Drained {
                    active,
                    inactive,
                    persistent,
                    timed_out: active > 0,
                    removed: false,
                })
            }
            Some(_) => tokio::time::sleep(poll).await,
        }
    };
    shared
        .state()
        .drains
        .retain(|d| !(d.service == service && d.server == server));
    result
}

async fn poll_connections<D: Dataplane + 'static>(
    shared: Arc<Shared<D>>,
    out: mpsc::Sender<Vec<crate::ipvs::model::Connection>>,
) {
    let Ok(kernel) = &shared.kernel else { return };
    let mut ticker = tokio::time::interval(shared.options.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Ok(list) = kernel.connections().await {
            if out.send(list).await.is_err() {
                return;
            }
        } else if out.is_closed() {
            return;
        }
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    crate::health::report::unix_millis(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_read_adds_no_pause_to_the_interval() {
        let interval = Duration::from_secs(1);
        assert_eq!(
            pause_after(Duration::from_millis(200), interval),
            Duration::ZERO
        );
        assert_eq!(
            pause_after(Duration::from_millis(250), interval),
            Duration::ZERO
        );
    }

    #[test]
    fn a_slow_read_spreads_the_reads_to_a_quarter_of_the_time() {
        let interval = Duration::from_secs(1);
        // 400 ms of reading, then 1.2 s of rest: a 1.6 s cycle.
        assert_eq!(
            pause_after(Duration::from_millis(400), interval),
            Duration::from_millis(1200)
        );
        // 5 s of reading, then 15 s of rest: a 20 s cycle.
        assert_eq!(
            pause_after(Duration::from_secs(5), interval),
            Duration::from_secs(15)
        );
    }
}
