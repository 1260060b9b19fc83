//! The tokio adapter around the sans-I/O VRRP [`Node`]: it opens the
//! transports the configuration's instances need, feeds the node received
//! adverts, timer ticks, link states, `vrrp_script` outcomes,
//! `track_file` values and `track_process` counts, and carries out every action it returns — adverts,
//! VIPs over rtnetlink (with the instance's `virtual_routes` and
//! `virtual_rules`, see `routes`), gratuitous ARP / unsolicited NA, notify scripts
//! (ordered per instance, script security enforced), keepalived's log
//! lines.
//!
//! [`VrrpRunner::start`] returns a [`VrrpRunnerHandle`]: the latest
//! [`VrrpStatus`] on a watch channel, [`VrrpEvent`]s on a broadcast
//! channel, a forced failover, and [`VrrpRunnerHandle::shutdown`] (priority
//! 0 adverts, VIPs removed, `notify_stop`, VMACs removed). Dropping the
//! handle without `shutdown` stops everything at once and leaves the VIPs
//! and VMACs behind — what a crash looks like to the peers (the next start
//! takes a leftover VMAC over).
//!
//! Nothing here blocks the runtime: script preparation (user database,
//! `stat`) runs on the blocking pool, everything else is async.
//!
//! - [`setup`]: interfaces, transports, VIP forms, prepared scripts.
//! - [`engine`]: the task that owns the node and executes actions.
//! - [`watch`]: receive tasks, link-state, `track_file` and process-table
//!   polls.
//! - [`io`]: real host or in-memory segment.
//! - `routes`: where an instance's routes and rules go in and out.
//! - `vmacs`: the VRRP virtual MAC interfaces (`use_vmac`) and their
//!   sysctls, made before the first advert and removed at stop.
//! - `timer`: the microsecond timer the engine sleeps on.
//! - [`status`]: what the control socket and `--once` show.
//! - [`service`]: the daemon's runners across reloads.
//! - [`units`]: which instances run together, and what a reload changes.

pub mod io;
mod node_task;
pub mod notices;
mod routes;
pub mod service;
pub mod setup;
pub mod status;
mod timer;
pub mod units;
mod vmacs;
mod watch;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, oneshot, watch as channel};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::model::Config;
use crate::net::address::Addresses;
use crate::net::announce::AnnounceSettings;
use crate::vrrp::machine::{
    BuildError, Input, InstanceConfig, InterfaceInfo, Interfaces, Node, VrrpAction,
};
use crate::vrrp::routing::TableNames;
use crate::vrrp::transport::memory::MemorySegment;
pub use io::MemoryHost;
use node_task::{Msg, NodeTask};
pub use notices::NoticeSinks;
pub use service::{VrrpReload, VrrpRunners, VrrpService};
pub use status::{render_section, InstanceStatus, Transition, VrrpEvent, VrrpStatus};
use vmacs::ActiveVmacs;
pub use vmacs::BaseSettings;

/// Inputs waiting for the engine before senders wait.
const INBOX_DEPTH: usize = 1024;

/// Why the runner could not start, or refused a command.
#[derive(Debug, thiserror::Error)]
pub enum VrrpError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("vrrp_instance '{0}' has no interface to send adverts on")]
    NoInterface(String),
    #[error("vrrp_instance '{instance}': {reason}")]
    Transport { instance: String, reason: String },
    #[error("rtnetlink: {0}")]
    Netlink(String),
    #[error("no vrrp_instance named '{0}'")]
    UnknownInstance(String),
    #[error("the VRRP runner has stopped")]
    Stopped,
    #[error("VMAC: {0}")]
    Vmac(String),
}

/// Where the runner does its I/O.
#[derive(Debug, Clone, Default)]
pub enum RunnerIo {
    /// Raw sockets, rtnetlink and AF_PACKET on the host (root).
    #[default]
    System,
    /// An in-memory segment, as `address`; VIPs land in `host`.
    Memory {
        segment: MemorySegment,
        address: IpAddr,
        host: MemoryHost,
    },
}

/// How to start a runner.
#[derive(Debug, Clone, Default)]
pub struct VrrpOptions {
    pub io: RunnerIo,
    /// Where notify FIFO lines and e-mail alerts go (none by default).
    pub notices: NoticeSinks,
    /// The sysctls of interfaces under VMACs, shared by the runners made
    /// with clones of these options.
    pub vmac_bases: BaseSettings,
}

/// Starts runners.
#[derive(Debug)]
pub struct VrrpRunner;

/// A running VRRP node.
#[derive(Debug)]
pub struct VrrpRunnerHandle {
    inbox: mpsc::Sender<Msg>,
    status: channel::Receiver<VrrpStatus>,
    events: broadcast::Sender<VrrpEvent>,
    engine: Option<JoinHandle<()>>,
    watchers: JoinSet<()>,
    notices: NoticeSinks,
    /// The VMAC interfaces, removed once the engine has stopped.
    vmacs: Option<ActiveVmacs>,
}

impl VrrpRunner {
    /// Builds the node of `config`'s `vrrp_instance`s and sync groups,
    /// opens what they need and starts them (Initialize → Backup, or
    /// Master for an owner / `state MASTER`).
    pub async fn start(
        config: &Config,
        options: VrrpOptions,
    ) -> Result<VrrpRunnerHandle, VrrpError> {
        let names = setup::interface_names(config);
        let (interfaces, host, memory) = match &options.io {
            RunnerIo::System => {
                let interfaces = setup::read_interfaces(&names).await?;
                let addresses =
                    Addresses::connect().map_err(|e| VrrpError::Netlink(e.to_string()))?;
                let routing = crate::net::route::Routing::connect()
                    .map_err(|e| VrrpError::Netlink(e.to_string()))?;
                let host = io::Host::System {
                    addresses,
                    routing,
                    announcers: tokio::sync::Mutex::new(HashMap::new()),
                };
                (interfaces, host, None)
            }
            RunnerIo::Memory {
                segment,
                address,
                host,
            } => {
                let interfaces: Interfaces = names
                    .iter()
                    .map(|n| {
                        let info = InterfaceInfo {
                            up: true,
                            addresses: vec![*address],
                        };
                        (n.clone(), info)
                    })
                    .collect();
                (
                    interfaces,
                    io::Host::Memory(host.clone()),
                    Some((segment.clone(), *address)),
                )
            }
        };
        let node = Node::from_config(config, &interfaces)?;
        let vmac_plan = vmacs::plan(config);
        let active_vmacs = match &memory {
            None => ActiveVmacs::create(&vmac_plan, &options.vmac_bases)
                .await
                .map_err(|e| VrrpError::Vmac(e.to_string()))?,
            Some(_) => ActiveVmacs::default(),
        };
        let links = match &memory {
            None => match setup::open_raw_links(&node, &vmac_plan.advert_device).await {
                Ok(links) => links,
                Err(e) => {
                    active_vmacs.remove_all().await;
                    return Err(e);
                }
            },
            Some((segment, address)) => setup::attach_memory_links(&node, segment, *address),
        };
        let vip_specs = setup::vip_specs(config, &vmac_plan.vip_device);
        if memory.is_none() {
            let mut vip_ifs: Vec<&str> = vip_specs.values().map(|s| s.ifname.as_str()).collect();
            vip_ifs.sort_unstable();
            vip_ifs.dedup();
            for ifname in vip_ifs {
                if let Err(e) = host.prepare_announcer(ifname).await {
                    tracing::warn!("gratuitous ARP / NA on {ifname}: {e}");
                }
            }
        }
        let scripts = Arc::new(setup::Scripts::prepare(config).await);
        let route_sets = if config
            .vrrp
            .instances
            .iter()
            .any(|i| !i.virtual_routes.is_empty() || !i.virtual_rules.is_empty())
        {
            let tables = tokio::task::spawn_blocking(TableNames::load)
                .await
                .unwrap_or_default();
            routes::route_sets(config, &tables)
        } else {
            HashMap::new()
        };

        let (inbox, inbox_rx) = mpsc::channel(INBOX_DEPTH);
        let (events, _) = broadcast::channel(256);
        let started = SystemTime::now();
        let (status_tx, status) = channel::channel(VrrpStatus::build(
            &node.snapshot(),
            &BTreeMap::new(),
            started,
        ));
        let mut watchers = JoinSet::new();
        for (interface, link, vrids) in &links.receivers {
            watchers.spawn(watch::receive(
                interface.clone(),
                Arc::clone(link),
                vrids.clone(),
                inbox.clone(),
            ));
        }
        if memory.is_none() {
            let known = interfaces.iter().map(|(n, i)| (n.clone(), i.up)).collect();
            watchers.spawn(watch::links(known, inbox.clone()));
        }
        let files: Vec<(String, String)> = node
            .track_files()
            .filter_map(|f| Some((f.name.clone(), f.path.clone()?)))
            .collect();
        if !files.is_empty() {
            watchers.spawn(watch::files(files, inbox.clone()));
        }
        let processes: Vec<_> = node
            .track_processes()
            .filter_map(|p| Some((p.name.clone(), p.pattern.clone()?)))
            .collect();
        if !processes.is_empty() {
            let counted = initial_process_counts(&processes, &inbox).await;
            watchers.spawn(watch::processes(processes, counted, inbox.clone()));
        }
        let engine = NodeTask {
            node,
            epoch: tokio::time::Instant::now(),
            started,
            links,
            host: Arc::new(host),
            vip_specs,
            route_sets,
            scripts,
            announce: announce_settings(config),
            inbox: inbox.clone(),
            status: status_tx,
            events: events.clone(),
            extras: BTreeMap::new(),
            queues: HashMap::new(),
            tasks: JoinSet::new(),
            bursts: HashMap::new(),
            running_scripts: HashSet::new(),
            reported: HashSet::new(),
            notices: options.notices.clone(),
        };
        let engine = tokio::spawn(engine.run(inbox_rx));
        Ok(VrrpRunnerHandle {
            inbox,
            status,
            events,
            engine: Some(engine),
            watchers,
            notices: options.notices,
            vmacs: Some(active_vmacs),
        })
    }
}

/// keepalived reads the process table at start and decides each
/// `track_process` at once: the first counts are queued before the engine
/// starts, so they follow its Startup immediately.
async fn initial_process_counts(
    processes: &[(String, crate::vrrp::process::ProcessPattern)],
    inbox: &mpsc::Sender<Msg>,
) -> HashMap<String, u32> {
    let scan_of = processes.to_vec();
    let counts = tokio::task::spawn_blocking(move || watch::count_processes(&scan_of)).await;
    let Ok(Ok(counts)) = counts else {
        tracing::warn!("cannot read the process table for track_process at start");
        return HashMap::new();
    };
    let mut out = HashMap::new();
    for ((name, _), count) in processes.iter().zip(counts) {
        out.insert(name.clone(), count);
        let input = Input::ProcessCount {
            process: name.clone(),
            count,
        };
        let _ = inbox.try_send(Msg::Input(input));
    }
    out
}

/// keepalived's pacing of announcements (`vrrp_garp_interval`,
/// `vrrp_gna_interval`); bursts and delays come from the state machine.
fn announce_settings(config: &Config) -> AnnounceSettings {
    let g = &config.global;
    AnnounceSettings {
        garp_interval: g.vrrp_garp_interval.map_or(Duration::ZERO, |t| t.value),
        gna_interval: g.vrrp_gna_interval.map_or(Duration::ZERO, |t| t.value),
        ..AnnounceSettings::default()
    }
}

/// Whether the VRRP side of two configurations differs (SIGHUP decides
/// from this whether the runner must restart). Source positions do not
/// count; resolved instance settings (global defaults included) do.
pub fn vrrp_changed(old: &Config, new: &Config) -> bool {
    let resolved = |c: &Config| -> Vec<Option<InstanceConfig>> {
        c.vrrp
            .instances
            .iter()
            .map(|i| InstanceConfig::from_model(i, &c.global))
            .collect()
    };
    old.vrrp != new.vrrp
        || resolved(old) != resolved(new)
        || announce_settings(old) != announce_settings(new)
        || old.global.enable_script_security != new.global.enable_script_security
        || old.global.script_user != new.global.script_user
}

impl VrrpRunnerHandle {
    /// The latest status; `changed()` wakes on every change.
    pub fn snapshot(&self) -> channel::Receiver<VrrpStatus> {
        self.status.clone()
    }

    /// State changes as they happen.
    pub fn events(&self) -> broadcast::Receiver<VrrpEvent> {
        self.events.subscribe()
    }

    /// Operator "force failover": a master sends priority 0, releases its
    /// VIPs and stays BACKUP for `hold`.
    pub async fn force_failover(&self, name: &str, hold: Duration) -> Result<(), VrrpError> {
        let instance = name.to_string();
        self.operate(name, Input::ForceFailover { instance, hold })
            .await
    }

    /// Operator priority change: `name` runs at `priority` (1-254)
    /// instead of its configured one until set back with `None`.
    pub async fn set_priority(&self, name: &str, priority: Option<u8>) -> Result<(), VrrpError> {
        let instance = name.to_string();
        self.operate(name, Input::SetPriority { instance, priority })
            .await
    }

    /// Feeds an operator's `input` to instance `name`, if it runs here.
    async fn operate(&self, name: &str, input: Input) -> Result<(), VrrpError> {
        let (reply, answer) = oneshot::channel();
        self.inbox
            .send(Msg::Operator {
                instance: name.to_string(),
                input,
                reply,
            })
            .await
            .map_err(|_| VrrpError::Stopped)?;
        match answer.await {
            Ok(true) => Ok(()),
            Ok(false) => Err(VrrpError::UnknownInstance(name.to_string())),
            Err(_) => Err(VrrpError::Stopped),
        }
    }

    /// Clean stop: masters send priority 0 and remove their VIPs,
    /// `notify_stop` scripts run (waited for a few seconds), then every
    /// socket closes.
    pub async fn shutdown(self) {
        let notices = self.notices.clone();
        for held in self.finish(Input::Shutdown).await {
            notices.deliver_action(&held);
        }
    }

    /// As [`Self::shutdown`], but the sync groups' STOP notices come back
    /// undelivered, for a caller stopping several runners to announce
    /// after all of them (keepalived's order).
    pub async fn shutdown_holding_group_stops(self) -> Vec<VrrpAction> {
        self.finish(Input::Shutdown).await
    }

    /// A reload removed these instances: stop as [`Self::shutdown`] does,
    /// announcing DELETED (`notify_deleted`) or FAULT instead of STOP.
    pub async fn delete(self) {
        let notices = self.notices.clone();
        for held in self.finish(Input::Delete).await {
            notices.deliver_action(&held);
        }
    }

    async fn finish(mut self, input: Input) -> Vec<VrrpAction> {
        let (reply, done) = oneshot::channel();
        let mut held = Vec::new();
        if self.inbox.send(Msg::Shutdown(input, reply)).await.is_ok() {
            held = done.await.unwrap_or_default();
        }
        self.watchers.abort_all();
        if let Some(engine) = self.engine.take() {
            let _ = engine.await;
        }
        if let Some(vmacs) = self.vmacs.take() {
            vmacs.remove_all().await;
        }
        held
    }
}

impl Drop for VrrpRunnerHandle {
    /// Without [`VrrpRunnerHandle::shutdown`], everything stops at once:
    /// no priority 0, VIPs left in place.
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.abort();
        }
        self.watchers.abort_all();
    }
}
